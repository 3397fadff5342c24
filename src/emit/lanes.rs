//! The requests of campaigns compiled in one pass ([`crate::compile::Sink::interleave`]), put
//! back in campaign order: the same requests, in the same order, as if the campaigns had been
//! compiled one after the other.
//!
//! The campaign at the head (the first one not done) feeds the main [`Emitter`], whose
//! requests go out at once. A later campaign feeds an emitter of its own, and its requests
//! wait as plan lines in a temporary file. When every campaign before it is done, its lines
//! are copied out and its open Mayten batches move into the main emitter, which it then
//! feeds directly.
//!
//! This matches the one-after-the-other order only for a campaign whose Mayten destinations
//! share no request with another campaign's: [`Lanes::can_wait`] says which campaigns those
//! are.

use std::collections::BTreeMap;
use std::io::{Read, Seek, Write};
use std::sync::Arc;

use super::{Emitter, Endpoints, NdjsonWriter, Request};
use crate::message::Message;
use crate::model::{Campaign, Provider, Sender};

/// Bytes copied at a time from a waiting campaign's lines to the output.
const COPY_CHUNK: usize = 1 << 20;

/// A request made by [`Lanes::push`].
pub enum Emitted<'r> {
    /// Of the head campaign: to go out now.
    Now(Request),
    /// Of a later campaign: kept (as a plan line, when writing) until its turn.
    Later(&'r Request),
}

/// The emitters of campaigns compiled together, and the lines of those waiting their turn.
pub struct Lanes {
    senders: Vec<Arc<Sender>>,
    endpoints: Endpoints,
    /// Whether requests are written out (a waiting campaign's are spooled) or only counted.
    writing: bool,
    /// The first campaign not done.
    head: usize,
    main: Emitter,
    waiting: BTreeMap<usize, Lane>,
}

/// A campaign that is not at the head yet.
struct Lane {
    emitter: Emitter,
    lines: NdjsonWriter,
    /// Its plan lines so far (when writing).
    spool: Option<Spool>,
}

/// Bytes a [`Spool`] gathers before writing them to its file.
const SPOOL_BUFFER: usize = 1 << 16;

/// A waiting campaign's plan lines: in an unnamed temporary file (in `TMPDIR`), and in
/// memory once the file cannot take more (a full disk), as the seen-sets do, rather than
/// fail the plan.
struct Spool {
    /// The file, and how many bytes it holds for sure.
    file: Option<(std::fs::File, u64)>,
    /// The file failed a write: everything from then on stays in `buffer`.
    full: bool,
    buffer: Vec<u8>,
}

impl Spool {
    fn new() -> Spool {
        Spool::in_file(tempfile::tempfile().ok())
    }

    fn in_file(file: Option<std::fs::File>) -> Spool {
        Spool {
            file: file.map(|f| (f, 0)),
            full: false,
            buffer: Vec::with_capacity(SPOOL_BUFFER),
        }
    }

    /// Move the buffer to the file, unless the file is full.
    fn spill(&mut self) {
        let Some((file, held)) = self.file.as_mut().filter(|_| !self.full) else {
            return;
        };
        if file.write_all(&self.buffer).is_ok() {
            *held += self.buffer.len() as u64;
            self.buffer.clear();
        } else {
            self.full = true;
        }
    }

    /// Copy every byte written, in order, to `out`.
    fn copy_to(mut self, out: &mut dyn Write) -> std::io::Result<()> {
        if let Some((mut file, held)) = self.file.take() {
            file.rewind()?;
            let mut file = file.take(held);
            let mut chunk = vec![0; COPY_CHUNK];
            loop {
                let n = file.read(&mut chunk)?;
                if n == 0 {
                    break;
                }
                out.write_all(&chunk[..n])?;
            }
        }
        out.write_all(&self.buffer)
    }
}

impl Write for Spool {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= SPOOL_BUFFER {
            self.spill();
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Lanes {
    /// Lanes for these senders, `endpoints` overriding their base URLs; `writing` says
    /// whether requests are written out (with [`Lanes::done`]'s `out`) or only counted.
    pub fn new(senders: &[Arc<Sender>], endpoints: &Endpoints, writing: bool) -> Lanes {
        Lanes {
            senders: senders.to_vec(),
            endpoints: endpoints.clone(),
            writing,
            head: 0,
            main: Emitter::new(senders, endpoints),
            waiting: BTreeMap::new(),
        }
    }

    /// Whether `campaign`'s requests can wait in a lane of their own and still come out as
    /// they would one campaign after the other: always for Aldeamo (one request per
    /// message); for Mayten only when no other campaign's destinations can join its
    /// requests (no other Mayten campaign has its sender or its sender's token).
    pub fn can_wait(campaigns: &[Campaign], campaign: &Campaign) -> bool {
        let sender = &campaign.target.sender;
        sender.provider != Provider::Mayten
            || campaigns
                .iter()
                .filter(|c| !std::ptr::eq(*c, campaign))
                .map(|c| &c.target.sender)
                .all(|s| {
                    s.provider != Provider::Mayten
                        || (s.name != sender.name && (s.token.is_none() || s.token != sender.token))
                })
    }

    /// Feed a message of campaign number `campaign`, its requests given to `out`.
    pub fn push(
        &mut self,
        campaign: usize,
        message: Box<Message>,
        out: &mut dyn FnMut(Emitted<'_>),
    ) {
        if campaign <= self.head {
            self.main
                .push_owned(message, &mut |request| out(Emitted::Now(request)));
            return;
        }
        let lane = self.waiting.entry(campaign).or_insert_with(|| Lane {
            emitter: Emitter::new(&self.senders, &self.endpoints),
            lines: NdjsonWriter::default(),
            spool: self.writing.then(Spool::new),
        });
        let Lane {
            emitter,
            lines,
            spool,
        } = lane;
        emitter.push_owned(message, &mut |request: Request| {
            out(Emitted::Later(&request));
            if let Some(spool) = spool.as_mut() {
                // A spool takes every byte (in memory when its file is full).
                let _ = lines.write(&request, spool);
            }
            super::recycle(request.body);
        });
    }

    /// Campaign number `campaign` is done (campaigns are done in order): the next campaign
    /// comes to the head, its waiting lines are copied to `out` and its open batches move
    /// into the main emitter. Returns the requests of batches that could not move (a group
    /// open in both, which [`Lanes::can_wait`] rules out), to go out after the lines.
    pub fn done(
        &mut self,
        campaign: usize,
        out: Option<&mut dyn Write>,
    ) -> std::io::Result<Vec<Request>> {
        let mut flushed = Vec::new();
        if campaign != self.head {
            return Ok(flushed);
        }
        self.head += 1;
        let Some(lane) = self.waiting.remove(&self.head) else {
            return Ok(flushed);
        };
        self.main
            .adopt(lane.emitter, &mut |request| flushed.push(request));
        if let (Some(spool), Some(out)) = (lane.spool, out) {
            spool.copy_to(out)?;
        }
        Ok(flushed)
    }

    /// Flush the open batches (see [`Emitter::finish`]).
    pub fn finish(&mut self, out: &mut dyn FnMut(Request)) {
        self.main.finish(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A spool gives back every byte in order: from its file, then, once the file is full
    /// (`/dev/full` fails every write), from memory; and with no file at all.
    #[test]
    fn a_spool_keeps_every_byte() {
        let bytes: Vec<u8> = (0..5 * SPOOL_BUFFER + 123)
            .map(|i| (i % 251) as u8)
            .collect();
        let full = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/full")
            .ok();
        for file in [tempfile::tempfile().ok(), full, None] {
            let mut spool = Spool::in_file(file);
            for piece in bytes.chunks(1000) {
                spool.write_all(piece).expect("a spool takes every write");
            }
            let mut out = Vec::new();
            spool.copy_to(&mut out).expect("copy");
            assert_eq!(out, bytes);
        }
    }
}
