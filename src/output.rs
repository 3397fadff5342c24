//! A large output file written in full or not at all, whose data reaches the disk while it is
//! being written rather than all at the end.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;

use tempfile::NamedTempFile;

/// Bytes written between two requests to write the file back.
const WRITE_BACK_EVERY: u64 = 64 << 20;

/// A temporary file beside its destination, renamed into place by [`OutputFile::commit`]
/// once synced; dropped without a commit, it is deleted and the destination is untouched.
///
/// Every [`WRITE_BACK_EVERY`] bytes a helper thread syncs what was written so far, so the disk
/// works while the caller computes, and the final sync has little left to wait for.
pub struct OutputFile {
    writer: BufWriter<NamedTempFile>,
    path: PathBuf,
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
        OutputFile::with_write_back_every(path, WRITE_BACK_EVERY)
    }

    fn with_write_back_every(path: &Path, every: u64) -> std::io::Result<OutputFile> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let temp = NamedTempFile::new_in(dir)?;
        let write_back = temp.as_file().try_clone().ok().and_then(|file| {
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
        Ok(OutputFile {
            writer: BufWriter::with_capacity(1 << 16, temp),
            path: path.to_path_buf(),
            since_write_back: 0,
            write_back_every: every,
            write_back,
        })
    }

    /// Flush, sync and rename the file into place.
    pub fn commit(mut self) -> std::io::Result<()> {
        drop(self.write_back.take());
        let temp = self.writer.into_inner().map_err(|e| e.into_error())?;
        temp.as_file().sync_all()?;
        temp.persist(&self.path).map_err(|e| e.error)?;
        Ok(())
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
        let n = self.writer.write(buf)?;
        self.wrote(n);
        Ok(n)
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.writer.write_all(buf)?;
        self.wrote(buf.len());
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.writer.flush()
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
        let mut file = OutputFile::with_write_back_every(&path, 1000).expect("create");
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
        let mut file = OutputFile::with_write_back_every(&path, 10).expect("create");
        for _ in 0..100 {
            file.write_all(b"half-written line\n").expect("write");
        }
        drop(file);
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "before\n");
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 1);
    }
}
