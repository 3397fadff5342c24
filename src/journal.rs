//! The send journal: what `waform apply` has sent, so that no recipient of a campaign is sent
//! twice, across crashes and re-runs.
//!
//! A state folder (`.waform/` by default) holds `journal/<campaign file name>.ndjson`, one file
//! per campaign, append-only. Before a request is sent, one `intent` line per recipient is
//! appended and synced to disk; after it, one `outcome` line per recipient. Replaying the files
//! gives each recipient's latest [`Status`]; an intent with no later outcome means the process
//! died with the request in flight, so it replays as [`Status::Uncertain`] and is not sent again
//! unless the user asks (`--retry-uncertain`).
//!
//! Lines are compact JSON:
//!
//! ```text
//! {"v":1,"kind":"intent","req":12,"campaign":"c","to":"+5731...","tracking":"x","attempt":1}
//! {"v":1,"kind":"outcome","req":12,"campaign":"c","to":"+5731...","tracking":"x","status":"sent","message_id":"...","track_uuid":"...","error":null,"attempts":1,"warning":null}
//! ```
//!
//! A crash can leave a torn last line (a partial write); replay ignores it and a writable
//! journal truncates the file back to its last complete line before appending. Any other
//! unreadable line is skipped and counted ([`Journal::skipped_lines`]), never a panic.
//!
//! A writable journal ([`Journal::open`]) holds an exclusive lock on the state folder, so two
//! runs cannot send the same campaign at once; [`Journal::read_all`] reads a snapshot without
//! the lock, for `waform status` and reports. The journal stores only what it is given: callers
//! must not hand it secrets.

use std::collections::HashMap;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, ErrorKind, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The version written in every journal line (`"v"`); lines of another version are skipped.
const LINE_VERSION: u32 = 1;
/// The folder under the state folder that holds the journal files.
const JOURNAL_DIR: &str = "journal";
/// The lock file (inside [`JOURNAL_DIR`]) that a writable journal holds exclusively.
const LOCK_FILE: &str = "lock";
/// The file (inside [`JOURNAL_DIR`]) that keeps the request-id high-water mark.
const REQUEST_ID_FILE: &str = "request-ids";
/// How many request ids are reserved in [`REQUEST_ID_FILE`] at a time.
const REQUEST_ID_BLOCK: u64 = 1024;
/// How many characters of a campaign's name its journal file name keeps.
const MAX_NAME_CHARS: usize = 64;
/// The error given to a recipient whose intent has no outcome on replay.
const IN_FLIGHT_ERROR: &str =
    "no outcome recorded: the run stopped while this request was in flight";

/// A recipient's state in the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// An intent was written and no outcome yet: the request is in flight in this run.
    Pending,
    /// The provider accepted the message.
    Sent,
    /// The provider refused the message; it is not sent again.
    Failed,
    /// The outcome is unknown (connection lost after sending, timeout, 5xx, or the process
    /// died with the request in flight); sent again only with `--retry-uncertain`.
    Uncertain,
    /// The request was certainly not sent (the run stopped before sending it: credentials
    /// refused, interrupted while waiting to retry); sent again by the next run.
    Unsent,
}

impl Status {
    /// The status as written in the journal and reports (`sent`, `failed`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Sent => "sent",
            Status::Failed => "failed",
            Status::Uncertain => "uncertain",
            Status::Unsent => "unsent",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One recipient's latest record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The campaign's name.
    pub campaign: String,
    /// The normalised recipient number.
    pub to: String,
    /// The tracking number given with the recipient, if any.
    pub tracking_number: Option<String>,
    /// The latest status.
    pub status: Status,
    /// The provider's message id, if it answered with one.
    pub message_id: Option<String>,
    /// The provider's tracking uuid, if it answered with one.
    pub track_uuid: Option<String>,
    /// Why the message failed or is uncertain.
    pub error: Option<String>,
    /// How many times a request for this recipient was attempted.
    pub attempts: u32,
    /// A warning the provider gave with an accepted message.
    pub warning: Option<String>,
}

/// A campaign's counts of recipients per status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignCounts {
    /// The campaign's name.
    pub campaign: String,
    /// Recipients whose message was sent.
    pub sent: u64,
    /// Recipients whose message failed.
    pub failed: u64,
    /// Recipients whose outcome is unknown.
    pub uncertain: u64,
    /// Recipients with a request in flight in this run (0 right after opening).
    pub pending: u64,
    /// Recipients whose request was certainly not sent (to be sent by the next run).
    pub unsent: u64,
}

/// One campaign's replayed state and its journal file.
struct Campaign {
    name: String,
    path: PathBuf,
    /// Latest record per recipient, in first-seen order.
    records: Vec<Record>,
    /// Recipient number to position in `records`.
    index: HashMap<String, usize>,
    /// The open file to append to; opened at replay if the file exists, else at first write.
    file: Option<BufWriter<File>>,
    /// Written to the OS but not yet synced to disk (deferred-sync mode only).
    dirty: bool,
}

/// The journal of one state folder.
pub struct Journal {
    /// `<state_dir>/journal`.
    dir: PathBuf,
    /// Whether this journal may append (opened with [`Journal::open`]).
    writable: bool,
    /// The exclusive lock on the state folder, held while the journal lives.
    _lock: Option<File>,
    campaigns: Vec<Campaign>,
    by_name: HashMap<String, usize>,
    /// The next id [`Journal::next_request_id`] hands out.
    next_req: u64,
    /// Ids below this are reserved in the request-id file.
    reserved_req: u64,
    skipped: u64,
    torn: u64,
    /// When set, appends are flushed to the OS but synced only by [`Journal::take_dirty`] /
    /// [`Journal::sync`] (group commit by the caller).
    deferred: bool,
    /// Set after a failed write: the file's tail is unknown, so nothing more may be appended.
    poisoned: Option<String>,
}

impl fmt::Debug for Journal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Journal")
            .field("dir", &self.dir)
            .field("writable", &self.writable)
            .field("campaigns", &self.by_name.len())
            .field("next_req", &self.next_req)
            .field("skipped", &self.skipped)
            .field("torn", &self.torn)
            .finish_non_exhaustive()
    }
}

/// An intent line, as written.
#[derive(Serialize)]
struct IntentLine<'a> {
    v: u32,
    kind: &'static str,
    req: u64,
    campaign: &'a str,
    to: &'a str,
    tracking: Option<&'a str>,
    attempt: u32,
}

/// An outcome line, as written.
#[derive(Serialize)]
struct OutcomeLine<'a> {
    v: u32,
    kind: &'static str,
    req: u64,
    campaign: &'a str,
    to: &'a str,
    tracking: Option<&'a str>,
    status: Status,
    message_id: Option<&'a str>,
    track_uuid: Option<&'a str>,
    error: Option<&'a str>,
    attempts: u32,
    warning: Option<&'a str>,
}

/// Any line, as read back; which fields are required depends on `kind`.
#[derive(Deserialize)]
struct LineIn {
    v: u32,
    kind: String,
    req: u64,
    campaign: String,
    to: String,
    tracking: Option<String>,
    attempt: Option<u32>,
    status: Option<Status>,
    message_id: Option<String>,
    track_uuid: Option<String>,
    error: Option<String>,
    attempts: Option<u32>,
    warning: Option<String>,
}

/// What replaying one journal file gave.
struct Replayed {
    /// The campaign named by the file's lines (the first valid line's, for [`Journal::read_all`]).
    name: Option<String>,
    records: Vec<Record>,
    index: HashMap<String, usize>,
    max_req: u64,
    skipped: u64,
    torn: u64,
    /// The file, open for appending (writable replays of existing files only).
    file: Option<File>,
}

/// The journal file name of a campaign: its name with characters outside `[A-Za-z0-9._-]`
/// replaced by `_` (at most 64 of them kept), a `-`, a 16-hex-digit stable hash (FNV-1a 64) of
/// the exact name, and `.ndjson`. Distinct names give distinct files even on case-insensitive
/// file systems, since the hash part differs.
pub fn journal_file_name(campaign: &str) -> String {
    let safe: String = campaign
        .chars()
        .take(MAX_NAME_CHARS)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{safe}-{:016x}.ndjson", fnv1a64(campaign.as_bytes()))
}

/// FNV-1a, 64 bits: a hash that never changes across Rust versions or platforms.
fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

impl Journal {
    /// Open the writable journal of `state_dir`, creating the folder (with its parents, and a
    /// `.gitignore` of `*` if it has none) and taking an exclusive lock on it: a second writable
    /// journal on the same folder fails with [`ErrorKind::WouldBlock`] until this one is dropped.
    ///
    /// The files of `campaigns` are replayed into memory: per (campaign, to) the latest status,
    /// an intent without a later outcome replaying as [`Status::Uncertain`]. A torn last line is
    /// ignored and truncated away. Files are created lazily, at the first write. Campaigns not
    /// listed are replayed when first written to.
    pub fn open(state_dir: &Path, campaigns: &[&str]) -> io::Result<Journal> {
        let dir = state_dir.join(JOURNAL_DIR);
        fs::create_dir_all(&dir)?;
        write_gitignore(state_dir)?;
        let lock = lock_folder(&dir, state_dir)?;
        let persisted = read_request_ids(&dir);
        let mut journal = Journal::empty(dir, true, lock, persisted);
        for name in campaigns {
            journal.ensure_campaign(name)?;
        }
        Ok(journal)
    }

    /// Read a snapshot of every campaign journal in `state_dir`, without locking or changing
    /// anything (for `waform status` and `--report` while a run may be going on). Campaigns are
    /// ordered by name. A missing folder gives an empty journal. A torn last line is ignored
    /// (it may be a write in progress). The snapshot cannot be written to: [`Journal::intent`]
    /// and [`Journal::outcome`] fail with [`ErrorKind::PermissionDenied`].
    pub fn read_all(state_dir: &Path) -> io::Result<Journal> {
        let dir = state_dir.join(JOURNAL_DIR);
        let persisted = read_request_ids(&dir);
        let mut journal = Journal::empty(dir.clone(), false, None, persisted);
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(journal),
            Err(e) => return Err(e),
        };
        let mut paths = Vec::new();
        for entry in entries {
            let path = entry?.path();
            if path.extension().is_some_and(|ext| ext == "ndjson") && path.is_file() {
                paths.push(path);
            }
        }
        paths.sort();
        let mut found = Vec::new();
        for path in paths {
            let replayed = replay_file(&path, None, false)?;
            journal.skipped += replayed.skipped;
            journal.torn += replayed.torn;
            journal.next_req = journal.next_req.max(replayed.max_req.saturating_add(1));
            if let Some(name) = replayed.name.clone() {
                found.push((name, path, replayed));
            }
        }
        found.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, path, replayed) in found {
            match journal.by_name.get(&name) {
                // Two files naming the same campaign (copied by hand?): merge them.
                Some(&i) => {
                    let campaign = &mut journal.campaigns[i];
                    for record in replayed.records {
                        upsert(campaign, record);
                    }
                }
                None => {
                    journal
                        .by_name
                        .insert(name.clone(), journal.campaigns.len());
                    journal.campaigns.push(Campaign {
                        name,
                        path,
                        records: replayed.records,
                        index: replayed.index,
                        file: None,
                        dirty: false,
                    });
                }
            }
        }
        Ok(journal)
    }

    fn empty(dir: PathBuf, writable: bool, lock: Option<File>, persisted_req: u64) -> Journal {
        Journal {
            dir,
            writable,
            _lock: lock,
            campaigns: Vec::new(),
            by_name: HashMap::new(),
            next_req: persisted_req.max(1),
            reserved_req: persisted_req,
            skipped: 0,
            torn: 0,
            deferred: false,
            poisoned: None,
        }
    }

    /// The index of a campaign, replaying its file on first use.
    fn ensure_campaign(&mut self, name: &str) -> io::Result<usize> {
        if let Some(&i) = self.by_name.get(name) {
            return Ok(i);
        }
        let path = self.dir.join(journal_file_name(name));
        let replayed = replay_file(&path, Some(name), self.writable)?;
        self.skipped += replayed.skipped;
        self.torn += replayed.torn;
        self.next_req = self.next_req.max(replayed.max_req.saturating_add(1));
        let i = self.campaigns.len();
        self.campaigns.push(Campaign {
            name: name.to_owned(),
            path,
            records: replayed.records,
            index: replayed.index,
            file: replayed.file.map(BufWriter::new),
            dirty: false,
        });
        self.by_name.insert(name.to_owned(), i);
        Ok(i)
    }

    fn record_of(&self, campaign: &str, to: &str) -> Option<&Record> {
        let c = &self.campaigns[*self.by_name.get(campaign)?];
        c.index.get(to).map(|&i| &c.records[i])
    }

    /// The latest status of a recipient, if any.
    pub fn status(&self, campaign: &str, to: &str) -> Option<Status> {
        self.record_of(campaign, to).map(|r| r.status)
    }

    /// The latest record of a recipient, if any (its `attempts` gives the next attempt's number).
    pub fn record(&self, campaign: &str, to: &str) -> Option<&Record> {
        self.record_of(campaign, to)
    }

    /// Whether the recipient must be skipped: Sent, Failed or Pending (in flight) always;
    /// Uncertain unless `retry_uncertain`. Unknown and Unsent recipients are not done.
    pub fn is_done(&self, campaign: &str, to: &str, retry_uncertain: bool) -> bool {
        match self.status(campaign, to) {
            None | Some(Status::Unsent) => false,
            Some(Status::Sent | Status::Failed | Status::Pending) => true,
            Some(Status::Uncertain) => !retry_uncertain,
        }
    }

    fn check_writable(&self) -> io::Result<()> {
        if !self.writable {
            return Err(io::Error::new(
                ErrorKind::PermissionDenied,
                "the journal was opened read-only",
            ));
        }
        if let Some(why) = &self.poisoned {
            return Err(io::Error::other(format!(
                "the journal cannot be written to after an earlier write failed: {why}"
            )));
        }
        Ok(())
    }

    /// Append intents for the recipients of one request (one line per recipient: campaign, to,
    /// tracking number, with `request_id` and `attempt`), and flush and fsync them before
    /// returning: they are on disk before the request is sent. Nothing is written, and an
    /// [`ErrorKind::InvalidInput`] error returned, if a recipient is already Sent or Failed.
    /// After a failed write the journal refuses further writes (the run must stop).
    pub fn intent(
        &mut self,
        request_id: u64,
        recipients: &[(String, String, Option<String>)],
        attempt: u32,
    ) -> io::Result<()> {
        self.check_writable()?;
        let mut targets = Vec::with_capacity(recipients.len());
        for (campaign, to, _) in recipients {
            let i = self.ensure_campaign(campaign)?;
            if let Some(status @ (Status::Sent | Status::Failed)) = self.status(campaign, to) {
                return Err(io::Error::new(
                    ErrorKind::InvalidInput,
                    format!("{to} of campaign {campaign} is already {status}; not sending again"),
                ));
            }
            targets.push(i);
        }
        self.reserve_request_id(request_id)?;
        let mut lines = Vec::with_capacity(recipients.len());
        for ((campaign, to, tracking), &i) in recipients.iter().zip(&targets) {
            let line = IntentLine {
                v: LINE_VERSION,
                kind: "intent",
                req: request_id,
                campaign,
                to,
                tracking: tracking.as_deref(),
                attempt,
            };
            lines.push((i, encode(&line)?));
        }
        self.append(lines)?;
        for ((campaign, to, tracking), &i) in recipients.iter().zip(&targets) {
            let c = &mut self.campaigns[i];
            let tracking_number = match c.index.get(to.as_str()) {
                Some(&at) => tracking
                    .clone()
                    .or_else(|| c.records[at].tracking_number.take()),
                None => tracking.clone(),
            };
            upsert(
                c,
                Record {
                    campaign: campaign.clone(),
                    to: to.clone(),
                    tracking_number,
                    status: Status::Pending,
                    message_id: None,
                    track_uuid: None,
                    error: None,
                    attempts: attempt,
                    warning: None,
                },
            );
        }
        Ok(())
    }

    /// Append outcome records of one request, then flush and fsync. A record without a
    /// tracking number keeps the one its intent had. Nothing is written, and an
    /// [`ErrorKind::InvalidInput`] error returned, if a record's status is Pending.
    /// After a failed write the journal refuses further writes (the run must stop).
    pub fn outcome(&mut self, request_id: u64, records: &[Record]) -> io::Result<()> {
        self.check_writable()?;
        let mut targets = Vec::with_capacity(records.len());
        for record in records {
            if record.status == Status::Pending {
                return Err(io::Error::new(
                    ErrorKind::InvalidInput,
                    format!(
                        "the outcome for {} of campaign {} cannot be pending",
                        record.to, record.campaign
                    ),
                ));
            }
            targets.push(self.ensure_campaign(&record.campaign)?);
        }
        self.next_req = self.next_req.max(request_id.saturating_add(1));
        let mut lines = Vec::with_capacity(records.len());
        let mut merged = Vec::with_capacity(records.len());
        for (record, &i) in records.iter().zip(&targets) {
            let mut record = record.clone();
            if record.tracking_number.is_none() {
                let c = &self.campaigns[i];
                if let Some(&at) = c.index.get(record.to.as_str()) {
                    record.tracking_number = c.records[at].tracking_number.clone();
                }
            }
            let line = OutcomeLine {
                v: LINE_VERSION,
                kind: "outcome",
                req: request_id,
                campaign: &record.campaign,
                to: &record.to,
                tracking: record.tracking_number.as_deref(),
                status: record.status,
                message_id: record.message_id.as_deref(),
                track_uuid: record.track_uuid.as_deref(),
                error: record.error.as_deref(),
                attempts: record.attempts,
                warning: record.warning.as_deref(),
            };
            lines.push((i, encode(&line)?));
            merged.push((i, record));
        }
        self.append(lines)?;
        for (i, record) in merged {
            upsert(&mut self.campaigns[i], record);
        }
        Ok(())
    }

    /// Write encoded lines to their campaigns' files, then flush and fsync each file touched.
    /// Any failure poisons the journal.
    fn append(&mut self, lines: Vec<(usize, Vec<u8>)>) -> io::Result<()> {
        let result = self.append_inner(lines);
        if let Err(e) = &result {
            self.poisoned = Some(e.to_string());
            // Drop whatever is still buffered rather than let a later flush append it.
            for c in &mut self.campaigns {
                if let Some(file) = c.file.take() {
                    drop(file.into_parts());
                }
            }
        }
        result
    }

    fn append_inner(&mut self, lines: Vec<(usize, Vec<u8>)>) -> io::Result<()> {
        let mut touched: Vec<usize> = Vec::new();
        for (i, line) in lines {
            if !touched.contains(&i) {
                touched.push(i);
            }
            let c = &mut self.campaigns[i];
            if c.file.is_none() {
                c.file = Some(BufWriter::new(create_journal_file(&c.path, &self.dir)?));
            }
            if let Some(file) = c.file.as_mut() {
                file.write_all(&line)?;
            }
        }
        for i in touched {
            let deferred = self.deferred;
            let c = &mut self.campaigns[i];
            if let Some(file) = c.file.as_mut() {
                file.flush()?;
                if deferred {
                    c.dirty = true;
                } else {
                    file.get_ref().sync_data()?;
                }
            }
        }
        Ok(())
    }

    /// Switch to group commit: appends are written to the OS at once but synced to disk only
    /// when the caller syncs the handles from [`Journal::take_dirty`] (or calls
    /// [`Journal::sync`]), so that one fsync covers the intents of many requests.
    pub fn defer_sync(&mut self) {
        self.deferred = true;
    }

    /// Handles of the files written since the last call, to sync outside the journal's lock;
    /// every line appended before this call is durable once they are synced.
    pub fn take_dirty(&mut self) -> io::Result<Vec<File>> {
        let mut handles = Vec::new();
        for c in &mut self.campaigns {
            if c.dirty {
                if let Some(file) = c.file.as_mut() {
                    file.flush()?;
                    handles.push(file.get_ref().try_clone()?);
                }
                c.dirty = false;
            }
        }
        Ok(handles)
    }

    /// Sync every file written since the last sync.
    pub fn sync(&mut self) -> io::Result<()> {
        for handle in self.take_dirty()? {
            handle.sync_data()?;
        }
        Ok(())
    }

    /// Make sure `request_id` is below the high-water mark persisted in the request-id file,
    /// reserving a new block of ids if it is not.
    fn reserve_request_id(&mut self, request_id: u64) -> io::Result<()> {
        self.next_req = self.next_req.max(request_id.saturating_add(1));
        if request_id < self.reserved_req {
            return Ok(());
        }
        let reserved = request_id.saturating_add(REQUEST_ID_BLOCK);
        let result = write_request_ids(&self.dir, reserved);
        match result {
            Ok(()) => {
                self.reserved_req = reserved;
                Ok(())
            }
            Err(e) => {
                self.poisoned = Some(e.to_string());
                Err(e)
            }
        }
    }

    /// Counts per campaign, in the order of [`Journal::records`]; campaigns opened but without
    /// recipients count zeros. `pending` is 0 right after opening (in-flight intents replay as
    /// uncertain).
    pub fn counts(&self) -> Vec<CampaignCounts> {
        self.campaigns
            .iter()
            .map(|c| {
                let mut counts = CampaignCounts {
                    campaign: c.name.clone(),
                    sent: 0,
                    failed: 0,
                    uncertain: 0,
                    pending: 0,
                    unsent: 0,
                };
                for r in &c.records {
                    match r.status {
                        Status::Sent => counts.sent += 1,
                        Status::Failed => counts.failed += 1,
                        Status::Uncertain => counts.uncertain += 1,
                        Status::Pending => counts.pending += 1,
                        Status::Unsent => counts.unsent += 1,
                    }
                }
                counts
            })
            .collect()
    }

    /// Every recipient's latest record, in a deterministic order: campaign by campaign (for
    /// [`Journal::open`], the order given, then campaigns first written to in this run; for
    /// [`Journal::read_all`], by name), and within one campaign in first-seen order.
    pub fn records(&self) -> impl Iterator<Item = &Record> {
        self.campaigns.iter().flat_map(|c| c.records.iter())
    }

    /// A new request id, unique within the state folder across runs: above every id replayed
    /// and every id reserved by earlier runs.
    pub fn next_request_id(&mut self) -> u64 {
        let id = self.next_req;
        self.next_req = self.next_req.saturating_add(1);
        id
    }

    /// How many complete journal lines were unreadable (not JSON, unknown version or kind,
    /// missing fields, or naming another campaign) and skipped while replaying.
    pub fn skipped_lines(&self) -> u64 {
        self.skipped
    }

    /// How many torn last lines (partial writes, from a crash or a write in progress) were
    /// ignored while replaying.
    pub fn torn_lines(&self) -> u64 {
        self.torn
    }
}

/// Insert a record, or replace the recipient's record keeping its first-seen position.
fn upsert(campaign: &mut Campaign, record: Record) {
    match campaign.index.get(record.to.as_str()) {
        Some(&at) => campaign.records[at] = record,
        None => {
            campaign
                .index
                .insert(record.to.clone(), campaign.records.len());
            campaign.records.push(record);
        }
    }
}

/// Serialize a line as compact JSON with its newline.
fn encode<T: Serialize>(line: &T) -> io::Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec(line).map_err(io::Error::other)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Replay one journal file. `expected` is the campaign the file belongs to (lines naming
/// another are skipped); without it, the first valid line names the campaign. A writable replay
/// truncates a torn last line away and keeps the file open for appending.
fn replay_file(path: &Path, expected: Option<&str>, writable: bool) -> io::Result<Replayed> {
    let mut out = Replayed {
        name: expected.map(str::to_owned),
        records: Vec::new(),
        index: HashMap::new(),
        max_req: 0,
        skipped: 0,
        torn: 0,
        file: None,
    };
    let opened = if writable {
        OpenOptions::new().read(true).append(true).open(path)
    } else {
        File::open(path)
    };
    let file = match opened {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    let mut campaign = Campaign {
        name: String::new(),
        path: path.to_owned(),
        records: Vec::new(),
        index: HashMap::new(),
        file: None,
        dirty: false,
    };
    let mut reader = BufReader::new(&file);
    let mut line = Vec::new();
    let mut complete_end: u64 = 0;
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)?;
        if n == 0 {
            break;
        }
        if line.last() != Some(&b'\n') {
            out.torn += 1;
            break;
        }
        complete_end += n as u64;
        let text = line.trim_ascii();
        if text.is_empty() {
            continue;
        }
        if !apply_line(text, &mut out, &mut campaign) {
            out.skipped += 1;
        }
    }
    drop(reader);
    for record in &mut campaign.records {
        if record.status == Status::Pending {
            record.status = Status::Uncertain;
            record.error = Some(IN_FLIGHT_ERROR.to_owned());
        }
    }
    out.records = campaign.records;
    out.index = campaign.index;
    if writable {
        if out.torn > 0 {
            file.set_len(complete_end)?;
            file.sync_data()?;
        }
        out.file = Some(file);
    }
    Ok(out)
}

/// Apply one complete, non-blank line to the replayed state; false if it is unreadable.
fn apply_line(text: &[u8], out: &mut Replayed, campaign: &mut Campaign) -> bool {
    let Ok(line) = serde_json::from_slice::<LineIn>(text) else {
        return false;
    };
    if line.v != LINE_VERSION {
        return false;
    }
    match &out.name {
        Some(name) if *name != line.campaign => return false,
        Some(_) => {}
        None => out.name = Some(line.campaign.clone()),
    }
    let previous_tracking = campaign
        .index
        .get(line.to.as_str())
        .and_then(|&at| campaign.records[at].tracking_number.clone());
    let record = match line.kind.as_str() {
        "intent" => {
            let Some(attempt) = line.attempt else {
                return false;
            };
            Record {
                campaign: line.campaign,
                to: line.to,
                tracking_number: line.tracking.or(previous_tracking),
                status: Status::Pending,
                message_id: None,
                track_uuid: None,
                error: None,
                attempts: attempt,
                warning: None,
            }
        }
        "outcome" => {
            let (Some(status), Some(attempts)) = (line.status, line.attempts) else {
                return false;
            };
            Record {
                campaign: line.campaign,
                to: line.to,
                tracking_number: line.tracking.or(previous_tracking),
                // An outcome is never written as pending; if one is, nothing is known.
                status: if status == Status::Pending {
                    Status::Uncertain
                } else {
                    status
                },
                message_id: line.message_id,
                track_uuid: line.track_uuid,
                error: line.error,
                attempts,
                warning: line.warning,
            }
        }
        _ => return false,
    };
    out.max_req = out.max_req.max(line.req);
    upsert(campaign, record);
    true
}

/// Create (or open) a journal file for appending; a new file's folder entry is synced too.
fn create_journal_file(path: &Path, dir: &Path) -> io::Result<File> {
    match OpenOptions::new().append(true).create_new(true).open(path) {
        Ok(file) => {
            sync_dir(dir)?;
            Ok(file)
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            OpenOptions::new().append(true).open(path)
        }
        Err(e) => Err(e),
    }
}

/// Write `<state_dir>/.gitignore` (`*`) unless it exists.
fn write_gitignore(state_dir: &Path) -> io::Result<()> {
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(state_dir.join(".gitignore"))
    {
        Ok(mut file) => file.write_all(b"*\n"),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Take the exclusive lock of a state folder. File systems without locks are used unlocked.
fn lock_folder(dir: &Path, state_dir: &Path) -> io::Result<Option<File>> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(dir.join(LOCK_FILE))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(fs::TryLockError::WouldBlock) => Err(io::Error::new(
            ErrorKind::WouldBlock,
            format!(
                "the state folder {} is in use by another waform run",
                state_dir.display()
            ),
        )),
        Err(fs::TryLockError::Error(e)) if e.kind() == ErrorKind::Unsupported => Ok(None),
        Err(fs::TryLockError::Error(e)) => Err(e),
    }
}

/// The persisted request-id high-water mark; 0 if missing or unreadable (replay covers it).
fn read_request_ids(dir: &Path) -> u64 {
    fs::read_to_string(dir.join(REQUEST_ID_FILE))
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(0)
}

/// Persist the request-id high-water mark atomically (temp file, fsync, rename, fsync folder).
fn write_request_ids(dir: &Path, reserved: u64) -> io::Result<()> {
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    writeln!(tmp, "{reserved}")?;
    tmp.as_file().sync_data()?;
    tmp.persist(dir.join(REQUEST_ID_FILE))
        .map_err(|e| e.error)?;
    sync_dir(dir)
}

/// Sync a folder, so that files created or renamed in it survive a crash.
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Write `records` to `path` as CSV (header
/// `campaign,to,tracking_number,status,message_id,track_uuid,error,attempts`) or as NDJSON
/// (every [`Record`] field, one compact object a line), by the file's extension (`.csv`, or
/// `.ndjson` / `.jsonl`; case-insensitive), atomically: a temp file in the same folder, synced,
/// then renamed over `path`. Another extension is an [`ErrorKind::InvalidInput`] error.
pub fn write_report<'a>(path: &Path, records: impl Iterator<Item = &'a Record>) -> io::Result<()> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let csv = match ext.as_deref() {
        Some("csv") => true,
        Some("ndjson" | "jsonl") => false,
        _ => {
            return Err(io::Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "cannot tell the report format of {}: name it .csv, .ndjson or .jsonl",
                    path.display()
                ),
            ));
        }
    };
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    {
        let mut out = BufWriter::new(tmp.as_file_mut());
        if csv {
            let mut writer = csv::Writer::from_writer(&mut out);
            writer.write_record([
                "campaign",
                "to",
                "tracking_number",
                "status",
                "message_id",
                "track_uuid",
                "error",
                "attempts",
            ])?;
            for r in records {
                let attempts = r.attempts.to_string();
                writer.write_record([
                    r.campaign.as_str(),
                    r.to.as_str(),
                    r.tracking_number.as_deref().unwrap_or(""),
                    r.status.as_str(),
                    r.message_id.as_deref().unwrap_or(""),
                    r.track_uuid.as_deref().unwrap_or(""),
                    r.error.as_deref().unwrap_or(""),
                    attempts.as_str(),
                ])?;
            }
            writer.flush()?;
        } else {
            for r in records {
                out.write_all(&encode(r)?)?;
            }
        }
        out.flush()?;
    }
    tmp.as_file().sync_data()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipient(
        campaign: &str,
        to: &str,
        tracking: Option<&str>,
    ) -> (String, String, Option<String>) {
        (
            campaign.to_owned(),
            to.to_owned(),
            tracking.map(str::to_owned),
        )
    }

    fn sent(campaign: &str, to: &str, message_id: &str) -> Record {
        Record {
            campaign: campaign.to_owned(),
            to: to.to_owned(),
            tracking_number: None,
            status: Status::Sent,
            message_id: Some(message_id.to_owned()),
            track_uuid: Some(format!("uuid-{message_id}")),
            error: None,
            attempts: 1,
            warning: None,
        }
    }

    fn with_status(mut record: Record, status: Status, error: &str) -> Record {
        record.status = status;
        record.message_id = None;
        record.track_uuid = None;
        record.error = Some(error.to_owned());
        record
    }

    fn journal_path(state: &Path, campaign: &str) -> PathBuf {
        state.join(JOURNAL_DIR).join(journal_file_name(campaign))
    }

    /// In deferred-sync mode lines reach the file at once, each written file is handed out
    /// once for syncing, and the journal replays the same.
    #[test]
    fn deferred_sync_hands_out_dirty_files_once() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join(".waform");
        {
            let mut j = Journal::open(&state, &["a", "b"]).unwrap();
            j.defer_sync();
            let req = j.next_request_id();
            j.intent(
                req,
                &[recipient("a", "1", None), recipient("b", "2", None)],
                1,
            )
            .unwrap();
            let on_disk = fs::read_to_string(journal_path(&state, "a")).unwrap();
            assert!(
                on_disk.contains("\"kind\":\"intent\""),
                "written to the OS at once"
            );
            let handles = j.take_dirty().unwrap();
            assert_eq!(handles.len(), 2);
            for h in &handles {
                h.sync_data().unwrap();
            }
            assert!(j.take_dirty().unwrap().is_empty(), "nothing new to sync");
            j.outcome(req, &[sent("a", "1", "m1")]).unwrap();
            assert_eq!(j.take_dirty().unwrap().len(), 1);
            j.sync().unwrap();
        }
        let j = Journal::open(&state, &["a", "b"]).unwrap();
        assert_eq!(j.status("a", "1"), Some(Status::Sent));
        assert_eq!(j.status("b", "2"), Some(Status::Uncertain));
    }

    /// An intent followed by its outcome replays as Sent, with the outcome's fields.
    #[test]
    fn intent_then_outcome_replays_as_sent() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join(".waform");
        {
            let mut j = Journal::open(&state, &["promo"]).unwrap();
            let req = j.next_request_id();
            j.intent(req, &[recipient("promo", "+573001", Some("T1"))], 1)
                .unwrap();
            assert_eq!(j.status("promo", "+573001"), Some(Status::Pending));
            assert!(j.is_done("promo", "+573001", true));
            j.outcome(req, &[sent("promo", "+573001", "m1")]).unwrap();
        }
        assert_eq!(fs::read_to_string(state.join(".gitignore")).unwrap(), "*\n");
        let j = Journal::open(&state, &["promo"]).unwrap();
        assert_eq!(j.status("promo", "+573001"), Some(Status::Sent));
        let record = j.record("promo", "+573001").unwrap();
        assert_eq!(record.tracking_number.as_deref(), Some("T1"));
        assert_eq!(record.message_id.as_deref(), Some("m1"));
        assert!(j.is_done("promo", "+573001", true));
        assert_eq!((j.skipped_lines(), j.torn_lines()), (0, 0));
        let text = fs::read_to_string(journal_path(&state, "promo")).unwrap();
        assert_eq!(
            text,
            "{\"v\":1,\"kind\":\"intent\",\"req\":1,\"campaign\":\"promo\",\"to\":\"+573001\",\"tracking\":\"T1\",\"attempt\":1}\n\
             {\"v\":1,\"kind\":\"outcome\",\"req\":1,\"campaign\":\"promo\",\"to\":\"+573001\",\"tracking\":\"T1\",\"status\":\"sent\",\"message_id\":\"m1\",\"track_uuid\":\"uuid-m1\",\"error\":null,\"attempts\":1,\"warning\":null}\n"
        );
    }

    /// An intent with no outcome (the process died mid-request) replays as Uncertain, which is
    /// done unless retry_uncertain; retrying it with a new intent and outcome works.
    #[test]
    fn intent_without_outcome_replays_as_uncertain() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path();
        {
            let mut j = Journal::open(state, &["c"]).unwrap();
            let req = j.next_request_id();
            j.intent(req, &[recipient("c", "+1", None)], 1).unwrap();
        }
        let mut j = Journal::open(state, &["c"]).unwrap();
        assert_eq!(j.status("c", "+1"), Some(Status::Uncertain));
        assert_eq!(
            j.record("c", "+1").unwrap().error.as_deref(),
            Some(IN_FLIGHT_ERROR)
        );
        assert!(j.is_done("c", "+1", false));
        assert!(!j.is_done("c", "+1", true));
        assert_eq!(j.counts()[0].uncertain, 1);
        assert_eq!(j.counts()[0].pending, 0);
        let req = j.next_request_id();
        j.intent(req, &[recipient("c", "+1", None)], 2).unwrap();
        let mut record = sent("c", "+1", "m2");
        record.attempts = 2;
        j.outcome(req, &[record]).unwrap();
        drop(j);
        let j = Journal::open(state, &["c"]).unwrap();
        assert_eq!(j.status("c", "+1"), Some(Status::Sent));
        assert_eq!(j.record("c", "+1").unwrap().attempts, 2);
    }

    /// Failed and Sent recipients are done whatever retry_uncertain says, and the journal
    /// refuses an intent for them.
    #[test]
    fn failed_is_done() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(dir.path(), &["c"]).unwrap();
        j.intent(
            1,
            &[recipient("c", "+1", None), recipient("c", "+2", None)],
            1,
        )
        .unwrap();
        j.outcome(
            1,
            &[
                with_status(
                    sent("c", "+1", "x"),
                    Status::Failed,
                    "131026: undeliverable",
                ),
                sent("c", "+2", "m"),
            ],
        )
        .unwrap();
        drop(j);
        let mut j = Journal::open(dir.path(), &["c"]).unwrap();
        assert_eq!(j.status("c", "+1"), Some(Status::Failed));
        assert!(j.is_done("c", "+1", false));
        assert!(j.is_done("c", "+1", true));
        assert!(j.is_done("c", "+2", true));
        let err = j.intent(2, &[recipient("c", "+1", None)], 2).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        let err = j.intent(2, &[recipient("c", "+2", None)], 2).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }

    /// A torn final line is ignored, truncated away, and appending afterwards gives a file
    /// whose every line is valid; corrupt complete lines (not JSON, another version, another
    /// campaign, missing fields) are skipped and counted, not a panic.
    #[test]
    fn torn_final_line_is_ignored_and_truncated() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path();
        {
            let mut j = Journal::open(state, &["c"]).unwrap();
            j.intent(1, &[recipient("c", "+1", None)], 1).unwrap();
            j.outcome(1, &[sent("c", "+1", "m1")]).unwrap();
        }
        let path = journal_path(state, "c");
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        let corrupt = concat!(
            "not json at all\n",
            "{\"v\":2,\"kind\":\"intent\",\"req\":2,\"campaign\":\"c\",\"to\":\"+3\",\"attempt\":1}\n",
            "{\"v\":1,\"kind\":\"intent\",\"req\":2,\"campaign\":\"other\",\"to\":\"+3\",\"attempt\":1}\n",
            "{\"v\":1,\"kind\":\"outcome\",\"req\":2,\"campaign\":\"c\",\"to\":\"+3\"}\n",
        );
        file.write_all(corrupt.as_bytes()).unwrap();
        file.write_all(b"{\"v\":1,\"kind\":\"intent\",\"req\":2,\"camp")
            .unwrap();
        drop(file);

        let snapshot = Journal::read_all(state).unwrap();
        assert_eq!((snapshot.skipped_lines(), snapshot.torn_lines()), (4, 1));
        assert!(fs::read_to_string(&path).unwrap().ends_with("\"camp"));

        let mut j = Journal::open(state, &["c"]).unwrap();
        assert_eq!((j.skipped_lines(), j.torn_lines()), (4, 1));
        assert_eq!(j.status("c", "+1"), Some(Status::Sent));
        assert_eq!(j.status("c", "+2"), None);
        assert_eq!(j.status("c", "+3"), None);
        let req = j.next_request_id();
        j.intent(req, &[recipient("c", "+2", None)], 1).unwrap();
        j.outcome(req, &[sent("c", "+2", "m2")]).unwrap();
        drop(j);

        let text = fs::read_to_string(&path).unwrap();
        assert!(text.ends_with('\n'));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 8);
        for line in lines.iter().filter(|l| **l != "not json at all") {
            serde_json::from_str::<serde_json::Value>(line).unwrap();
        }
        let j = Journal::open(state, &["c"]).unwrap();
        assert_eq!((j.skipped_lines(), j.torn_lines()), (4, 0));
        assert_eq!(j.status("c", "+2"), Some(Status::Sent));
    }

    /// Request ids keep increasing across reopens, also across campaigns not replayed.
    #[test]
    fn request_ids_increase_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path();
        let first = {
            let mut j = Journal::open(state, &["a"]).unwrap();
            let a = j.next_request_id();
            let b = j.next_request_id();
            assert!(b > a);
            j.intent(b, &[recipient("a", "+1", None)], 1).unwrap();
            b
        };
        let second = {
            // Campaign "a" is not replayed: the persisted high-water mark still counts.
            let mut j = Journal::open(state, &["b"]).unwrap();
            let id = j.next_request_id();
            assert!(id > first, "{id} > {first}");
            j.intent(id, &[recipient("b", "+1", None)], 1).unwrap();
            id
        };
        // Without the high-water file, the replayed lines still count.
        fs::remove_file(state.join(JOURNAL_DIR).join(REQUEST_ID_FILE)).unwrap();
        let mut j = Journal::open(state, &["a", "b"]).unwrap();
        assert!(j.next_request_id() > second);
    }

    /// Counts per campaign, in the order opened, with zeros for a campaign without recipients.
    #[test]
    fn counts_per_campaign() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path();
        {
            let mut j = Journal::open(state, &["b", "a", "empty"]).unwrap();
            let batch: Vec<_> = ["+1", "+2", "+3", "+4"]
                .iter()
                .map(|to| recipient("b", to, None))
                .chain([recipient("a", "+1", None)])
                .collect();
            j.intent(1, &batch, 1).unwrap();
            j.outcome(
                1,
                &[
                    sent("b", "+1", "m1"),
                    sent("b", "+2", "m2"),
                    with_status(sent("b", "+3", "m3"), Status::Failed, "bad number"),
                    sent("a", "+1", "m4"),
                ],
            )
            .unwrap();
            assert_eq!(j.counts()[0].pending, 1);
        }
        let j = Journal::open(state, &["b", "a", "empty"]).unwrap();
        let counts = |campaign: &str, sent, failed, uncertain| CampaignCounts {
            campaign: campaign.to_owned(),
            sent,
            failed,
            uncertain,
            pending: 0,
            unsent: 0,
        };
        assert_eq!(
            j.counts(),
            vec![
                counts("b", 2, 1, 1),
                counts("a", 1, 0, 0),
                counts("empty", 0, 0, 0)
            ]
        );
        let snapshot = Journal::read_all(state).unwrap();
        assert_eq!(
            snapshot.counts(),
            vec![counts("a", 1, 0, 0), counts("b", 2, 1, 1)]
        );
    }

    /// Reports in CSV and NDJSON hold one row per recipient, exactly; another extension fails.
    #[test]
    fn report_csv_and_ndjson() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(&dir.path().join("state"), &["c"]).unwrap();
        j.intent(
            1,
            &[recipient("c", "+1", Some("T1")), recipient("c", "+2", None)],
            1,
        )
        .unwrap();
        let mut warned = sent("c", "+1", "m1");
        warned.warning = Some("slow".to_owned());
        j.outcome(
            1,
            &[
                warned,
                with_status(sent("c", "+2", "x"), Status::Failed, "bad, \"quoted\""),
            ],
        )
        .unwrap();

        let csv_path = dir.path().join("report.csv");
        write_report(&csv_path, j.records()).unwrap();
        assert_eq!(
            fs::read_to_string(&csv_path).unwrap(),
            "campaign,to,tracking_number,status,message_id,track_uuid,error,attempts\n\
             c,+1,T1,sent,m1,uuid-m1,,1\n\
             c,+2,,failed,,,\"bad, \"\"quoted\"\"\",1\n"
        );

        let ndjson_path = dir.path().join("report.NDJSON");
        write_report(&ndjson_path, j.records()).unwrap();
        assert_eq!(
            fs::read_to_string(&ndjson_path).unwrap(),
            "{\"campaign\":\"c\",\"to\":\"+1\",\"tracking_number\":\"T1\",\"status\":\"sent\",\"message_id\":\"m1\",\"track_uuid\":\"uuid-m1\",\"error\":null,\"attempts\":1,\"warning\":\"slow\"}\n\
             {\"campaign\":\"c\",\"to\":\"+2\",\"tracking_number\":null,\"status\":\"failed\",\"message_id\":null,\"track_uuid\":null,\"error\":\"bad, \\\"quoted\\\"\",\"attempts\":1,\"warning\":null}\n"
        );
        let jsonl_path = dir.path().join("report.jsonl");
        write_report(&jsonl_path, j.records()).unwrap();
        assert_eq!(
            fs::read(&jsonl_path).unwrap(),
            fs::read(&ndjson_path).unwrap()
        );

        let err = write_report(&dir.path().join("report.txt"), j.records()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(!dir.path().join("report.txt").exists());
    }

    /// Campaign names with `/`, spaces or differing only in case map to safe, distinct files.
    #[test]
    fn campaign_names_map_to_safe_distinct_files() {
        let names = ["a/b", "a b", "a_b", "A_b", "../x", "", "ñandú"];
        let files: Vec<String> = names.iter().map(|n| journal_file_name(n)).collect();
        for file in &files {
            assert!(file.ends_with(".ndjson"));
            assert!(
                file.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')),
                "{file}"
            );
        }
        let lower: std::collections::HashSet<String> =
            files.iter().map(|f| f.to_ascii_lowercase()).collect();
        assert_eq!(lower.len(), names.len());
        assert_eq!(journal_file_name("a/b"), journal_file_name("a/b"));
        assert!(journal_file_name(&"x".repeat(500)).len() < 100);

        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(dir.path(), &["a/b", "a b"]).unwrap();
        j.intent(1, &[recipient("a/b", "+1", None)], 1).unwrap();
        j.outcome(1, &[sent("a/b", "+1", "m")]).unwrap();
        drop(j);
        let j = Journal::open(dir.path(), &["a/b", "a b"]).unwrap();
        assert_eq!(j.status("a/b", "+1"), Some(Status::Sent));
        assert_eq!(j.status("a b", "+1"), None);
        assert!(journal_path(dir.path(), "a/b").is_file());
    }

    /// Unknown recipients and campaigns are not done, whatever retry_uncertain says.
    #[test]
    fn unknown_recipients_are_not_done() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path(), &["c"]).unwrap();
        assert!(!j.is_done("c", "+1", false));
        assert!(!j.is_done("other", "+1", false));
        assert_eq!(j.status("c", "+1"), None);
        assert_eq!(j.records().count(), 0);
    }

    /// A second writable journal on the same state folder is refused while the first lives.
    #[test]
    fn second_writer_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path(), &["c"]).unwrap();
        let err = Journal::open(dir.path(), &["c"]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::WouldBlock);
        drop(j);
        Journal::open(dir.path(), &["c"]).unwrap();
    }

    /// A read-only snapshot sees campaigns by name, creates nothing and refuses writes.
    #[test]
    fn read_all_is_read_only() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let mut empty = Journal::read_all(&missing).unwrap();
        assert!(empty.counts().is_empty());
        assert!(!missing.exists());
        let err = empty
            .intent(1, &[recipient("c", "+1", None)], 1)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PermissionDenied);

        let mut j = Journal::open(dir.path(), &[]).unwrap();
        j.intent(
            1,
            &[recipient("z", "+1", None), recipient("y", "+1", None)],
            1,
        )
        .unwrap();
        let snapshot = Journal::read_all(dir.path()).unwrap();
        let campaigns: Vec<_> = snapshot.counts().into_iter().map(|c| c.campaign).collect();
        assert_eq!(campaigns, ["y", "z"]);
        assert_eq!(snapshot.status("z", "+1"), Some(Status::Uncertain));
    }

    /// Outcomes cannot be pending; nothing is written for them.
    #[test]
    fn pending_outcome_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(dir.path(), &["c"]).unwrap();
        let err = j
            .outcome(1, &[with_status(sent("c", "+1", "m"), Status::Pending, "")])
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(!journal_path(dir.path(), "c").exists());
    }

    /// An Unsent outcome (stopped before sending) replays as Unsent, is not done, counts as
    /// unsent, and the recipient can be sent by the next run.
    #[test]
    fn unsent_is_sent_again() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut j = Journal::open(dir.path(), &["c"]).unwrap();
            j.intent(1, &[recipient("c", "+1", None)], 1).unwrap();
            j.outcome(
                1,
                &[with_status(sent("c", "+1", "m"), Status::Unsent, "401")],
            )
            .unwrap();
        }
        let mut j = Journal::open(dir.path(), &["c"]).unwrap();
        assert_eq!(j.status("c", "+1"), Some(Status::Unsent));
        assert!(!j.is_done("c", "+1", false));
        assert_eq!(j.counts()[0].unsent, 1);
        let req = j.next_request_id();
        j.intent(req, &[recipient("c", "+1", None)], 2).unwrap();
        j.outcome(req, &[sent("c", "+1", "m")]).unwrap();
        assert_eq!(j.status("c", "+1"), Some(Status::Sent));
    }
}
