//! Writing a file with direct I/O: whole aligned blocks go from memory to the disk on a helper
//! thread, without passing through the page cache.

use std::fs::File;
use std::io::{Error, ErrorKind};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

/// The alignment direct I/O needs for buffer addresses, file offsets and lengths (no common
/// disk has larger logical blocks; a write refused for alignment switches to buffered I/O).
const ALIGN: usize = 4096;
/// Bytes per block handed to the helper thread.
pub(super) const BLOCK: usize = 256 << 10;
/// Blocks that exist at most: one being filled, the others queued or being written.
const BLOCKS: usize = 4;
/// What a write answers once an earlier one failed (and reported why).
const EARLIER_FAILURE: &str = "the file can no longer be written: an earlier write failed";

/// Fills aligned blocks and hands each full one to a helper thread that writes it with
/// direct I/O; the last, partial block is written at [`DirectWriter::finish`].
pub(super) struct DirectWriter {
    block: Block,
    to_disk: Option<SyncSender<Block>>,
    back: Receiver<Block>,
    allocated: usize,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

/// A buffer of [`BLOCK`] bytes starting at an [`ALIGN`]ed address, and how much of it is used.
struct Block {
    bytes: Vec<u8>,
    start: usize,
    len: usize,
}

impl Block {
    fn new() -> Option<Block> {
        let bytes = vec![0; BLOCK + ALIGN];
        let start = bytes.as_ptr().align_offset(ALIGN);
        (start < ALIGN).then_some(Block {
            bytes,
            start,
            len: 0,
        })
    }

    /// A block with no room, left in place once the last one is sent.
    fn none() -> Block {
        Block {
            bytes: Vec::new(),
            start: 0,
            len: 0,
        }
    }

    fn filled(&self) -> &[u8] {
        &self.bytes[self.start..self.start + self.len]
    }

    fn room(&mut self) -> &mut [u8] {
        let end = self.bytes.len().min(self.start + BLOCK);
        &mut self.bytes[self.start + self.len..end]
    }
}

impl DirectWriter {
    /// Switch `file` (empty, at offset 0) to direct I/O and start the helper thread; `None`
    /// where the operating system or file system does not offer direct I/O, or the thread
    /// cannot start, leaving the file as it was.
    pub(super) fn start(file: &File) -> Option<DirectWriter> {
        let first = Block::new()?;
        let clone = file.try_clone().ok()?;
        set_direct(file, true).ok()?;
        let (to_disk, blocks) = sync_channel::<Block>(BLOCKS);
        let (back, returned) = sync_channel::<Block>(BLOCKS);
        let thread = std::thread::Builder::new()
            .name("direct-write".into())
            .spawn(move || write_blocks(&clone, blocks, back));
        let Ok(thread) = thread else {
            let _ = set_direct(file, false);
            return None;
        };
        Some(DirectWriter {
            block: first,
            to_disk: Some(to_disk),
            back: returned,
            allocated: 1,
            thread: Some(thread),
        })
    }

    /// Copy `buf` into blocks, handing each full one to the helper.
    pub(super) fn write_all(&mut self, mut buf: &[u8]) -> std::io::Result<()> {
        while !buf.is_empty() {
            let room = self.block.room();
            if room.is_empty() {
                return Err(self.failure());
            }
            let n = room.len().min(buf.len());
            room[..n].copy_from_slice(&buf[..n]);
            self.block.len += n;
            buf = &buf[n..];
            if self.block.len == BLOCK {
                let next = self.next_block()?;
                let full = std::mem::replace(&mut self.block, next);
                self.send(full)?;
            }
        }
        Ok(())
    }

    /// Write the last block, and wait until every block is written.
    pub(super) fn finish(mut self) -> std::io::Result<()> {
        let last = std::mem::replace(&mut self.block, Block::none());
        if last.len > 0 {
            self.send(last)?;
        }
        self.stop()
    }

    /// A block to fill: one the helper has written, a new one while fewer than [`BLOCKS`]
    /// exist, or else the next one the helper gives back.
    fn next_block(&mut self) -> std::io::Result<Block> {
        if let Ok(block) = self.back.try_recv() {
            return Ok(block);
        }
        if self.allocated < BLOCKS
            && let Some(block) = Block::new()
        {
            self.allocated += 1;
            return Ok(block);
        }
        self.back.recv().map_err(|_| self.failure())
    }

    fn send(&mut self, block: Block) -> std::io::Result<()> {
        match &self.to_disk {
            Some(to_disk) if to_disk.send(block).is_ok() => Ok(()),
            _ => Err(self.failure()),
        }
    }

    /// The error that stopped the helper thread.
    fn failure(&mut self) -> Error {
        self.stop()
            .err()
            .unwrap_or_else(|| Error::other(EARLIER_FAILURE))
    }

    /// Close the queue and wait for the helper: what it answered, or an error when it was
    /// already stopped (an earlier write failed and reported why: the file is incomplete).
    fn stop(&mut self) -> std::io::Result<()> {
        drop(self.to_disk.take());
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(Error::other("the thread writing the file panicked")),
            None => Err(Error::other(EARLIER_FAILURE)),
        }
    }
}

impl Drop for DirectWriter {
    /// Stop the helper once it has written what it was given.
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// The helper thread: write each block at the end of the file and give it back. Whole
/// [`ALIGN`]ed lengths go with direct I/O; a partial last block's tail, or every block once a
/// direct write is refused as invalid (stricter alignment), goes through the page cache.
fn write_blocks(
    file: &File,
    blocks: Receiver<Block>,
    back: SyncSender<Block>,
) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    let mut direct = true;
    let mut offset: u64 = 0;
    for mut block in blocks {
        let data = block.filled();
        let aligned = if direct {
            data.len() / ALIGN * ALIGN
        } else {
            data.len()
        };
        match file.write_all_at(&data[..aligned], offset) {
            Err(err) if direct && err.kind() == ErrorKind::InvalidInput => {
                set_direct(file, false)?;
                direct = false;
                file.write_all_at(data, offset)?;
            }
            result => {
                result?;
                if aligned < data.len() {
                    set_direct(file, false)?;
                    direct = false;
                    file.write_all_at(&data[aligned..], offset + aligned as u64)?;
                }
            }
        }
        offset += data.len() as u64;
        block.len = 0;
        let _ = back.send(block);
    }
    Ok(())
}

/// Turn direct I/O on or off for `file` (and every handle sharing its open file description).
#[cfg(target_os = "linux")]
fn set_direct(file: &File, on: bool) -> std::io::Result<()> {
    use rustix::fs::{OFlags, fcntl_getfl, fcntl_setfl};
    let flags = fcntl_getfl(file)?;
    let flags = if on {
        flags | OFlags::DIRECT
    } else {
        flags - OFlags::DIRECT
    };
    fcntl_setfl(file, flags)?;
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn set_direct(_file: &File, on: bool) -> std::io::Result<()> {
    if on {
        Err(Error::from(ErrorKind::Unsupported))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A write that fails (here, to a file opened read-only) is reported by a later write,
    /// and finishing after it answers an error too, never success.
    #[test]
    fn a_failed_write_is_never_reported_as_success() {
        let temp = tempfile::NamedTempFile::new().expect("temp file");
        let read_only = File::open(temp.path()).expect("reopen");
        let Some(mut writer) = DirectWriter::start(&read_only) else {
            eprintln!("no direct I/O for temporary files here: nothing to test");
            return;
        };
        let block = vec![b'x'; BLOCK];
        let failed = (0..4 * BLOCKS).any(|_| writer.write_all(&block).is_err());
        assert!(failed, "no write reported the failure");
        assert!(writer.finish().is_err());
    }

    /// A block the disk refuses for direct I/O (here, a buffer off its alignment) is written
    /// through the page cache instead, and so is every block after it.
    #[test]
    fn a_refused_direct_write_falls_back_to_the_page_cache() {
        let mut file = tempfile::tempfile().expect("temp file");
        if set_direct(&file, true).is_err() {
            eprintln!("no direct I/O for temporary files here: nothing to test");
            return;
        }
        let mut misaligned = Block::new().expect("block");
        misaligned.start += 1;
        let first: Vec<u8> = (0..BLOCK - 1).map(|i| (i % 253) as u8).collect();
        misaligned.room()[..first.len()].copy_from_slice(&first);
        misaligned.len = first.len();
        let mut second = Block::new().expect("block");
        second.room()[..5].copy_from_slice(b"tail\n");
        second.len = 5;
        let (to_disk, blocks) = sync_channel(2);
        let (back, _returned) = sync_channel(2);
        to_disk.send(misaligned).expect("queue");
        to_disk.send(second).expect("queue");
        drop(to_disk);
        write_blocks(&file, blocks, back).expect("written");
        let mut written = Vec::new();
        std::io::Read::read_to_end(&mut file, &mut written).expect("read");
        assert_eq!(written.len(), first.len() + 5);
        assert_eq!(&written[..first.len()], &first[..]);
        assert_eq!(&written[first.len()..], b"tail\n");
    }
}
