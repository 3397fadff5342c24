//! A large output file written in full or not at all, whose data reaches the disk while it is
//! being written rather than all at the end.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;

use tempfile::NamedTempFile;

mod direct;

/// Bytes written between two requests to write the file back (buffered writing).
const WRITE_BACK_EVERY: u64 = 64 << 20;

/// A temporary file beside its destination, renamed into place by [`OutputFile::commit`]
/// once synced; dropped without a commit, it is deleted and the destination is untouched.
///
/// Where the file system allows it (Linux), the file is written with direct I/O: whole
/// blocks go from aligned buffers to the disk on a helper thread, with no copy into the page
/// cache (for a plan of a million messages, a gigabyte the kernel would first have to find,
/// fill, and then write back anyway before the final sync). Otherwise it is written through
/// the page cache, and every [`WRITE_BACK_EVERY`] bytes a helper thread syncs what was written
/// so far, so the disk works while the caller computes and the final sync has little left.
pub struct OutputFile {
    /// First, so that on a drop the writer stops before the temporary file is deleted.
    sink: Sink,
    temp: NamedTempFile,
    path: PathBuf,
}

/// How the bytes reach the temporary file.
enum Sink {
    Buffered(Buffered),
    Direct(direct::DirectWriter),
}

/// Writing through the page cache, with periodic write-back.
struct Buffered {
    writer: BufWriter<std::fs::File>,
    since_write_back: u64,
    write_back_every: u64,
    write_back: Option<WriteBack>,
}

/// The helper thread and the queue that wakes it.
struct WriteBack {
    wake: SyncSender<()>,
    thread: Option<JoinHandle<()>>,
}

impl OutputFile {
    /// Create the temporary file in `path`'s folder.
    pub fn create(path: &Path) -> std::io::Result<OutputFile> {
        OutputFile::with(path, WRITE_BACK_EVERY, true)
    }

    fn with(path: &Path, write_back_every: u64, try_direct: bool) -> std::io::Result<OutputFile> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let temp = NamedTempFile::new_in(dir)?;
        let direct = if try_direct {
            direct::DirectWriter::start(temp.as_file())
        } else {
            None
        };
        let sink = match direct {
            Some(direct) => Sink::Direct(direct),
            None => Sink::Buffered(Buffered::new(temp.as_file().try_clone()?, write_back_every)),
        };
        Ok(OutputFile {
            sink,
            temp,
            path: path.to_path_buf(),
        })
    }

    /// Whether the file is being written with direct I/O.
    #[cfg(test)]
    fn is_direct(&self) -> bool {
        matches!(self.sink, Sink::Direct(_))
    }

    /// Write out what is buffered, sync and rename the file into place.
    pub fn commit(self) -> std::io::Result<()> {
        let OutputFile { sink, temp, path } = self;
        match sink {
            Sink::Buffered(buffered) => buffered.finish()?,
            Sink::Direct(direct) => direct.finish()?,
        }
        temp.as_file().sync_all()?;
        temp.persist(&path).map_err(|e| e.error)?;
        Ok(())
    }
}

impl Buffered {
    fn new(file: std::fs::File, write_back_every: u64) -> Buffered {
        let write_back = file.try_clone().ok().and_then(|file| {
            let (wake, woken) = sync_channel::<()>(1);
            let thread = std::thread::Builder::new()
                .name("write-back".into())
                .spawn(move || {
                    for () in woken {
                        // A failure shows again in the final sync, which reports it.
                        let _ = file.sync_data();
                    }
                })
                .ok()?;
            Some(WriteBack {
                wake,
                thread: Some(thread),
            })
        });
        Buffered {
            writer: BufWriter::with_capacity(1 << 16, file),
            since_write_back: 0,
            write_back_every,
            write_back,
        }
    }

    /// Flush, after the helper has finished any sync in progress.
    fn finish(mut self) -> std::io::Result<()> {
        drop(self.write_back.take());
        self.writer.flush()
    }

    /// Count `n` more bytes written, and wake the helper every `write_back_every` bytes.
    fn wrote(&mut self, n: usize) {
        self.since_write_back += n as u64;
        if self.since_write_back < self.write_back_every {
            return;
        }
        self.since_write_back = 0;
        if let Some(write_back) = &self.write_back
            && let Err(TrySendError::Disconnected(())) = write_back.wake.try_send(())
        {
            self.write_back = None;
        }
    }
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match &mut self.sink {
            Sink::Buffered(b) => {
                b.writer.write_all(buf)?;
                b.wrote(buf.len());
                Ok(())
            }
            Sink::Direct(d) => d.write_all(buf),
        }
    }

    /// Hand what is buffered on (direct I/O keeps a partial block until the commit).
    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.sink {
            Sink::Buffered(b) => b.writer.flush(),
            Sink::Direct(_) => Ok(()),
        }
    }
}

impl Drop for WriteBack {
    /// Close the queue and wait for a sync in progress.
    fn drop(&mut self) {
        let (wake, _) = sync_channel(0);
        drop(std::mem::replace(&mut self.wake, wake));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Everything written is in the destination after the commit, and not before; write-backs
    /// along the way change nothing of it.
    #[test]
    fn commit_puts_the_whole_file_in_place() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("out.ndjson");
        let mut file = OutputFile::with(&path, 1000, false).expect("create");
        let mut expected = Vec::new();
        for i in 0..5000 {
            let line = format!("{{\"n\":{i}}}\n");
            file.write_all(line.as_bytes()).expect("write");
            expected.extend_from_slice(line.as_bytes());
        }
        assert!(!path.exists());
        file.commit().expect("commit");
        assert_eq!(std::fs::read(&path).expect("read"), expected);
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 1);
    }

    /// A file dropped without a commit leaves the destination as it was and no temporary file.
    #[test]
    fn dropping_leaves_the_destination_alone() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("out.ndjson");
        std::fs::write(&path, "before\n").expect("write");
        let mut file = OutputFile::with(&path, 10, false).expect("create");
        for _ in 0..100 {
            file.write_all(b"half-written line\n").expect("write");
        }
        drop(file);
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "before\n");
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 1);
    }

    /// With direct I/O, blocks of every length (whole, partial, a last block of exactly one
    /// aligned size, an empty file) arrive in the destination byte for byte.
    #[test]
    fn direct_writes_every_length_exactly() {
        let dir = tempfile::tempdir().expect("temp dir");
        let block = direct::BLOCK;
        for total in [0, 1, 4096, 8191, block - 1, block, block + 4096, 5_000_003] {
            let path = dir.path().join(format!("out-{total}.ndjson"));
            let mut file = OutputFile::create(&path).expect("create");
            if !file.is_direct() {
                eprintln!("no direct I/O in {}: nothing to test", dir.path().display());
                return;
            }
            let expected: Vec<u8> = (0..total).map(|i| (i % 251) as u8).collect();
            for piece in expected.chunks(7919) {
                file.write_all(piece).expect("write");
            }
            file.commit().expect("commit");
            assert_eq!(
                std::fs::read(&path).expect("read"),
                expected,
                "{total} bytes"
            );
        }
    }

    /// A directly written file dropped without a commit leaves no temporary file behind.
    #[test]
    fn dropping_a_direct_file_leaves_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("out.ndjson");
        let mut file = OutputFile::create(&path).expect("create");
        file.write_all(&vec![b'x'; 3 << 20]).expect("write");
        drop(file);
        assert!(!path.exists());
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 0);
    }
}
