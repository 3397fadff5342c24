//! The local state folder (`.waform/` by default): one append-only journal file per slot.
//!
//! ```text
//! .waform/journal/<campaign>-<hash>/<provider>-<hash>.ndjson   a slot: campaign, target, key
//! .waform/journal/<campaign>-<hash>.ndjson                     a legacy journal (before slots)
//! .waform/journal/lock, request-ids
//! ```
//!
//! A slot file starts with a `slot` line naming its campaign, target and key expression. Before
//! a request is sent, one `intent` line per recipient is appended (with the digest and the
//! provider JSON of its message), and synced to disk before the request leaves; after it, one
//! `outcome` line per recipient:
//!
//! ```text
//! {"v":2,"kind":"slot","campaign":"c","provider":"aldeamo","host":"https://…","account":"57…","key":null}
//! {"v":2,"kind":"intent","req":12,"key":"57…","to":"57…","tracking":null,"attempt":1,"digest":"…","body":{…}}
//! {"v":2,"kind":"outcome","req":12,"key":"57…","to":"57…","tracking":null,"digest":"…","status":"sent","message_id":"…","track_uuid":null,"error":null,"attempts":1,"warning":null}
//! ```
//!
//! Replaying a file keeps each key's latest entry in a [`KeyIndex`] (16 bytes a key); an intent
//! with no later outcome replays as uncertain. A crash can leave a torn last line: replay
//! ignores it, and a writable open truncates it away. Other unreadable lines are skipped and
//! counted, with the first one's place ([`Store::unreadable`]). Reports and old bodies are
//! streamed from the files again, never held in memory.
//!
//! A writable folder holds an exclusive lock, so two runs cannot send from it at once.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, ErrorKind, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::index::key_hash;
use super::{
    Conflict, Counts, Entry, Intent, KeyIndex, Outcome, Record, Slot, StateError, Status, Store,
    Syncer, Target, Unreadable,
};

/// The folder under the state folder that holds the journal files.
pub const JOURNAL_DIR: &str = "journal";
/// The version of slot files' lines.
const LINE_VERSION: u32 = 2;
/// The version of legacy journals' lines.
const LEGACY_VERSION: u32 = 1;
const LOCK_FILE: &str = "lock";
const REQUEST_ID_FILE: &str = "request-ids";
/// How many request ids are reserved in [`REQUEST_ID_FILE`] at a time.
const REQUEST_ID_BLOCK: u64 = 1024;
/// How many characters of a campaign's name its file names keep.
const MAX_NAME_CHARS: usize = 64;
/// The error of a recipient whose intent has no outcome.
pub const IN_FLIGHT_ERROR: &str =
    "no outcome recorded: the run stopped while this request was in flight";

/// The file-name stem of a campaign: its name with characters outside `[A-Za-z0-9._-]`
/// replaced by `_` (64 at most), `-`, and a 16-hex-digit FNV-1a hash of the exact name, so
/// that distinct names stay distinct on case-insensitive file systems.
pub fn campaign_stem(campaign: &str) -> String {
    format!("{}-{:016x}", safe(campaign), fnv1a64(campaign.as_bytes()))
}

fn safe(text: &str) -> String {
    text.chars()
        .take(MAX_NAME_CHARS)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
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

/// Where a slot's journal is, below the journal folder; `None` for a legacy slot.
fn slot_path(dir: &Path, slot: &Slot) -> PathBuf {
    let stem = campaign_stem(&slot.campaign);
    match &slot.target {
        Some(t) => {
            let identity = format!(
                "{}\n{}\n{}\n{}",
                t.provider,
                t.host,
                t.account,
                slot.key.as_deref().unwrap_or("")
            );
            dir.join(stem).join(format!(
                "{}-{:016x}.ndjson",
                safe(&t.provider),
                fnv1a64(identity.as_bytes())
            ))
        }
        None => dir.join(format!("{stem}.ndjson")),
    }
}

/// The first line of a slot file.
#[derive(Serialize, Deserialize)]
struct Header {
    v: u32,
    kind: String,
    campaign: String,
    provider: String,
    host: String,
    account: String,
    key: Option<String>,
}

/// An intent line, as written (its body is appended raw).
#[derive(Serialize)]
struct IntentLine<'a> {
    v: u32,
    kind: &'static str,
    req: u64,
    key: &'a str,
    to: &'a str,
    tracking: Option<&'a str>,
    attempt: u32,
    digest: String,
}

/// An outcome line, as written.
#[derive(Serialize)]
struct OutcomeLine<'a> {
    v: u32,
    kind: &'static str,
    req: u64,
    key: &'a str,
    to: &'a str,
    tracking: Option<&'a str>,
    digest: String,
    status: Status,
    message_id: Option<&'a str>,
    track_uuid: Option<&'a str>,
    error: Option<&'a str>,
    attempts: u32,
    warning: Option<&'a str>,
}

/// Any line, as read back (slot files and legacy journals); which fields are required depends
/// on `v` and `kind`.
#[derive(Deserialize)]
struct LineIn<'a> {
    v: u32,
    #[serde(borrow)]
    kind: Cow<'a, str>,
    #[serde(default)]
    req: u64,
    #[serde(borrow, default)]
    key: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    campaign: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    to: Option<Cow<'a, str>>,
    #[serde(default)]
    tracking: Option<String>,
    #[serde(default)]
    attempt: Option<u32>,
    #[serde(borrow, default)]
    digest: Option<Cow<'a, str>>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    message_id: Option<String>,
    #[serde(default)]
    track_uuid: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    attempts: Option<u32>,
    #[serde(default)]
    warning: Option<String>,
}

/// A line read back, once understood.
struct Line<'a> {
    req: u64,
    key: Cow<'a, str>,
    status: Status,
    attempts: u32,
    digest: Option<u64>,
    intent: bool,
    raw: LineIn<'a>,
}

/// Understand one complete line of a file of `version` (a legacy journal names its campaign
/// in every line: lines of another are unreadable). `None` for an unreadable line; the
/// header of a slot file is `Some(None)`.
fn parse_line<'a>(text: &'a [u8], version: u32, campaign: &str) -> Option<Option<Line<'a>>> {
    let line: LineIn<'a> = serde_json::from_slice(text).ok()?;
    if line.v != version {
        return None;
    }
    if version == LINE_VERSION && line.kind == "slot" {
        return Some(None);
    }
    let key = if version == LEGACY_VERSION {
        if line.campaign.as_deref() != Some(campaign) {
            return None;
        }
        line.to.clone()?
    } else {
        line.key.clone()?
    };
    let digest = match &line.digest {
        Some(hex) => Some(u64::from_str_radix(hex, 16).ok()?),
        None => None,
    };
    let (status, attempts, intent) = match &*line.kind {
        "intent" => (Status::Uncertain, line.attempt?, true),
        "outcome" => {
            let status = match line.status.as_deref()? {
                "sent" => Status::Sent,
                "failed" => Status::Failed,
                "unsent" => Status::Unsent,
                // `uncertain`, and a legacy `pending` outcome: nothing is known.
                "uncertain" | "pending" => Status::Uncertain,
                _ => return None,
            };
            (status, line.attempts?, false)
        }
        _ => return None,
    };
    Some(Some(Line {
        req: line.req,
        key,
        status,
        attempts,
        digest,
        intent,
        raw: line,
    }))
}

/// Read every complete line of a file; `each` gets the line number (from 1) and the line's
/// bytes. Returns the file open (for appending when `writable`) and the number of torn last
/// lines (0 or 1), truncated away when `writable`. A missing file gives `None`.
fn read_lines(
    path: &Path,
    writable: bool,
    each: &mut dyn FnMut(u64, &[u8]),
) -> io::Result<Option<(File, u64)>> {
    let opened = if writable {
        OpenOptions::new().read(true).append(true).open(path)
    } else {
        File::open(path)
    };
    let file = match opened {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut reader = BufReader::with_capacity(1 << 16, &file);
    let mut line = Vec::new();
    let mut complete_end = 0u64;
    let mut number = 0u64;
    let mut torn = 0;
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)?;
        if n == 0 {
            break;
        }
        if line.last() != Some(&b'\n') {
            torn = 1;
            break;
        }
        complete_end += n as u64;
        number += 1;
        let text = line.trim_ascii();
        if !text.is_empty() {
            each(number, text);
        }
    }
    drop(reader);
    if writable && torn > 0 {
        file.set_len(complete_end)?;
        file.sync_data()?;
    }
    Ok(Some((file, torn)))
}

/// Counts unreadable lines and keeps the first one's place.
#[derive(Default)]
struct Skipped {
    lines: u64,
    first: Option<String>,
}

impl Skipped {
    fn note(&mut self, path: &Path, line: u64) {
        self.lines += 1;
        self.first
            .get_or_insert_with(|| format!("{}:{line}", path.display()));
    }
}

/// What replaying one file gave.
struct Replayed {
    index: KeyIndex,
    file: Option<File>,
    max_req: u64,
}

fn replay(
    path: &Path,
    version: u32,
    campaign: &str,
    writable: bool,
    skipped: &mut Skipped,
) -> io::Result<Replayed> {
    let mut index = KeyIndex::default();
    let mut max_req = 0;
    let opened = read_lines(path, writable, &mut |number, text| match parse_line(
        text, version, campaign,
    ) {
        Some(Some(line)) => {
            max_req = max_req.max(line.req);
            index.insert(
                &line.key,
                Entry::new(line.status, line.attempts, line.digest),
            );
        }
        Some(None) => {}
        None => skipped.note(path, number),
    })?;
    index.finish();
    Ok(Replayed {
        index,
        file: opened.map(|(file, _)| file),
        max_req,
    })
}

/// The slots the folder holds for `campaigns`: each campaign's slot files (by their header
/// lines) in name order, then its legacy journal if there is one.
pub fn discover(state_dir: &Path, campaigns: &[&str]) -> Result<Vec<Slot>, StateError> {
    let dir = state_dir.join(JOURNAL_DIR);
    let fail = |cause| StateError {
        location: state_dir.display().to_string(),
        cause,
    };
    let mut slots = Vec::new();
    for &campaign in campaigns {
        let folder = dir.join(campaign_stem(campaign));
        let mut found = Vec::new();
        match fs::read_dir(&folder) {
            Ok(entries) => {
                for entry in entries {
                    let path = entry.map_err(fail)?.path();
                    if path.extension().is_none_or(|e| e != "ndjson") {
                        continue;
                    }
                    if let Some(header) = read_header(&path).map_err(fail)?
                        && header.campaign == campaign
                    {
                        found.push(Slot {
                            campaign: campaign.to_owned(),
                            target: Some(Target {
                                provider: header.provider,
                                host: header.host,
                                account: header.account,
                            }),
                            key: header.key,
                            default_host: false,
                        });
                    }
                }
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(fail(e)),
        }
        found.sort();
        slots.extend(found);
        if slot_path(&dir, &legacy(campaign)).is_file() {
            slots.push(legacy(campaign));
        }
    }
    Ok(slots)
}

/// Where a campaign's legacy journal is (it may not exist).
pub fn legacy_path(state_dir: &Path, campaign: &str) -> PathBuf {
    slot_path(&state_dir.join(JOURNAL_DIR), &legacy(campaign))
}

/// The legacy slot of a campaign.
fn legacy(campaign: &str) -> Slot {
    Slot {
        campaign: campaign.to_owned(),
        target: None,
        key: None,
        default_host: false,
    }
}

fn read_header(path: &Path) -> io::Result<Option<Header>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut first = String::new();
    BufReader::new(file).read_line(&mut first)?;
    Ok(serde_json::from_str::<Header>(first.trim())
        .ok()
        .filter(|h| h.v == LINE_VERSION && h.kind == "slot"))
}

/// Every slot of the folder (by the header lines of its slot files), in a stable order, and
/// the legacy journals it holds (which name no target). For `waform state import`.
pub fn discover_all(state_dir: &Path) -> Result<(Vec<Slot>, Vec<PathBuf>), StateError> {
    let fail = |cause| StateError {
        location: state_dir.display().to_string(),
        cause,
    };
    let dir = state_dir.join(JOURNAL_DIR);
    let mut slots = Vec::new();
    let mut legacies = Vec::new();
    let mut entries: Vec<PathBuf> = fs::read_dir(&dir)
        .map_err(fail)?
        .map(|e| e.map(|e| e.path()))
        .collect::<io::Result<_>>()
        .map_err(fail)?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            for file in fs::read_dir(&path).map_err(fail)? {
                let file = file.map_err(fail)?.path();
                if file.extension().is_none_or(|e| e != "ndjson") {
                    continue;
                }
                if let Some(header) = read_header(&file).map_err(fail)? {
                    slots.push(Slot {
                        campaign: header.campaign,
                        target: Some(Target {
                            provider: header.provider,
                            host: header.host,
                            account: header.account,
                        }),
                        key: header.key,
                        default_host: false,
                    });
                }
            }
        } else if path.extension().is_some_and(|e| e == "ndjson") {
            legacies.push(path);
        }
    }
    slots.sort();
    Ok((slots, legacies))
}

/// A key's latest record in a slot file, with its digest and the provider JSON of its latest
/// intent that had one: what `waform state import` copies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    /// The request of the latest line.
    pub req: u64,
    /// The recipient's key.
    pub key: String,
    /// The number.
    pub to: String,
    /// The tracking number (of the latest line, else of an earlier intent).
    pub tracking: Option<String>,
    /// The latest outcome (`uncertain` for an intent with no outcome).
    pub status: Status,
    /// Whether the latest line is an intent with no outcome.
    pub in_flight: bool,
    /// Attempts so far.
    pub attempts: u32,
    /// The digest of the message as sent.
    pub digest: Option<u64>,
    /// The provider JSON of the latest intent that kept one, as written.
    pub body: Option<String>,
    /// The provider's message id.
    pub message_id: Option<String>,
    /// The provider's tracking uuid.
    pub track_uuid: Option<String>,
    /// Why it failed, is unsent or uncertain.
    pub error: Option<String>,
    /// A warning the provider gave with an accepted message.
    pub warning: Option<String>,
}

/// The body of an intent line, as written: what follows its first `,"body":` (the other
/// fields come first, and no string of theirs holds an unescaped quote).
fn raw_body(text: &[u8]) -> Option<&[u8]> {
    const MARK: &[u8] = b",\"body\":";
    let at = text.windows(MARK.len()).position(|w| w == MARK)?;
    let body = &text[at + MARK.len()..];
    body.strip_suffix(b"}")
}

/// Each key's latest record of a slot (not a legacy one), in the order of their latest line.
/// The file is read twice and nothing of it held but an index; unreadable lines are skipped.
pub fn export(
    state_dir: &Path,
    slot: &Slot,
    each: &mut dyn FnMut(Exported) -> io::Result<()>,
) -> Result<(), StateError> {
    let fail = |cause| StateError {
        location: state_dir.display().to_string(),
        cause,
    };
    if slot.target.is_none() {
        return Ok(());
    }
    let path = slot_path(&state_dir.join(JOURNAL_DIR), slot);
    let mut last: KeyIndex<u64> = KeyIndex::default();
    let mut last_body: KeyIndex<u64> = KeyIndex::default();
    read_lines(&path, false, &mut |number, text| {
        if let Some(Some(line)) = parse_line(text, LINE_VERSION, "") {
            last.insert(&line.key, number);
            if line.intent && raw_body(text).is_some() {
                last_body.insert(&line.key, number);
            }
        }
    })
    .map_err(fail)?;
    last.finish();
    last_body.finish();
    let mut tracking: HashMap<u64, String> = HashMap::new();
    let mut bodies: HashMap<u64, String> = HashMap::new();
    let mut failed = None;
    read_lines(&path, false, &mut |number, text| {
        if failed.is_some() {
            return;
        }
        let Some(Some(line)) = parse_line(text, LINE_VERSION, "") else {
            return;
        };
        let hash = key_hash(&line.key);
        if last_body.get_hash(hash) == Some(number)
            && let Some(body) = raw_body(text)
        {
            bodies.insert(hash, String::from_utf8_lossy(body).into_owned());
        }
        let raw = line.raw;
        if last.get_hash(hash) != Some(number) {
            if let (true, Some(t)) = (line.intent, raw.tracking) {
                tracking.insert(hash, t);
            }
            return;
        }
        let exported = Exported {
            req: line.req,
            key: line.key.into_owned(),
            to: raw.to.map(Cow::into_owned).unwrap_or_default(),
            tracking: raw.tracking.or_else(|| tracking.remove(&hash)),
            status: line.status,
            in_flight: line.intent,
            attempts: line.attempts,
            digest: line.digest,
            body: bodies.remove(&hash),
            message_id: raw.message_id,
            track_uuid: raw.track_uuid,
            error: raw.error,
            warning: raw.warning,
        };
        if let Err(e) = each(exported) {
            failed = Some(e);
        }
    })
    .map_err(fail)?;
    match failed {
        Some(e) => Err(fail(e)),
        None => Ok(()),
    }
}

/// One open slot.
struct Open {
    path: PathBuf,
    index: KeyIndex,
    /// The campaign's legacy journal, for a slot at the default host under the default key.
    legacy: Option<KeyIndex>,
    counts: Counts,
    conflicts: Vec<Conflict>,
    file: Option<BufWriter<File>>,
    dirty: bool,
}

/// The state folder, opened for some slots.
pub struct Folder {
    state_dir: PathBuf,
    dir: PathBuf,
    writable: bool,
    _lock: Option<File>,
    slots: Vec<Slot>,
    open: Vec<Open>,
    next_req: u64,
    reserved_req: u64,
    skipped: Skipped,
    /// Set after a failed write: the files' tails are unknown, so nothing more is appended.
    poisoned: Option<String>,
}

impl std::fmt::Debug for Folder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Folder")
            .field("state_dir", &self.state_dir)
            .field("slots", &self.slots)
            .finish_non_exhaustive()
    }
}

impl Folder {
    /// Open `slots` to write: create the folder (with a `.gitignore` of `*`), take its lock
    /// (a second writer fails with a clear error until this one is dropped), and replay them.
    pub fn open(state_dir: &Path, slots: Vec<Slot>) -> Result<Folder, StateError> {
        let fail = |cause| StateError {
            location: state_dir.display().to_string(),
            cause,
        };
        let dir = state_dir.join(JOURNAL_DIR);
        fs::create_dir_all(&dir).map_err(fail)?;
        write_gitignore(state_dir).map_err(fail)?;
        let lock = lock_folder(&dir, state_dir).map_err(fail)?;
        Folder::replay_all(state_dir, slots, true, lock)
    }

    /// Read `slots` without the lock; a missing folder reads as empty.
    pub fn read(state_dir: &Path, slots: Vec<Slot>) -> Result<Folder, StateError> {
        Folder::replay_all(state_dir, slots, false, None)
    }

    fn replay_all(
        state_dir: &Path,
        slots: Vec<Slot>,
        writable: bool,
        lock: Option<File>,
    ) -> Result<Folder, StateError> {
        let dir = state_dir.join(JOURNAL_DIR);
        let persisted = read_request_ids(&dir);
        let mut folder = Folder {
            state_dir: state_dir.to_owned(),
            dir,
            writable,
            _lock: lock,
            slots: Vec::new(),
            open: Vec::new(),
            next_req: persisted.max(1),
            reserved_req: persisted,
            skipped: Skipped::default(),
            poisoned: None,
        };
        for slot in slots {
            folder.replay_slot(slot).map_err(|e| folder.error(e))?;
        }
        Ok(folder)
    }

    fn replay_slot(&mut self, slot: Slot) -> io::Result<()> {
        let path = slot_path(&self.dir, &slot);
        let version = if slot.target.is_some() {
            LINE_VERSION
        } else {
            LEGACY_VERSION
        };
        let writable = self.writable && slot.target.is_some();
        let replayed = replay(&path, version, &slot.campaign, writable, &mut self.skipped)?;
        self.next_req = self.next_req.max(replayed.max_req.saturating_add(1));
        let mut counts = Counts::default();
        replayed
            .index
            .entries()
            .for_each(|e| counts.add(e.status(), 1));
        let legacy_path = slot_path(&self.dir, &legacy(&slot.campaign));
        let legacy = if slot.target.is_some() && slot.default_host && slot.key.is_none() {
            let old = replay(
                &legacy_path,
                LEGACY_VERSION,
                &slot.campaign,
                false,
                &mut self.skipped,
            )?;
            self.next_req = self.next_req.max(old.max_req.saturating_add(1));
            Some(old.index).filter(|i| !i.is_empty())
        } else {
            None
        };
        let conflicts = if counts.total() == 0 && legacy.is_none() {
            self.conflicts_of(&slot)?
        } else {
            Vec::new()
        };
        self.open.push(Open {
            path,
            index: replayed.index,
            legacy,
            counts,
            conflicts,
            // An empty file (a crash right after creating it) still needs its header line.
            file: replayed
                .file
                .filter(|f| f.metadata().is_ok_and(|m| m.len() > 0))
                .map(BufWriter::new),
            dirty: false,
        });
        self.slots.push(slot);
        Ok(())
    }

    /// The campaign's other slots at the same host (and its legacy journal, for the default
    /// host) that have outcomes.
    fn conflicts_of(&mut self, slot: &Slot) -> io::Result<Vec<Conflict>> {
        let Some(target) = &slot.target else {
            return Ok(Vec::new());
        };
        let others = discover(&self.state_dir, &[&slot.campaign]).map_err(|e| e.cause)?;
        let mut conflicts = Vec::new();
        for other in others {
            let same_host = match &other.target {
                Some(t) => t.provider == target.provider && t.host == target.host,
                None => slot.default_host,
            };
            if !same_host || (other.target == slot.target && other.key == slot.key) {
                continue;
            }
            let version = if other.target.is_some() {
                LINE_VERSION
            } else {
                LEGACY_VERSION
            };
            let path = slot_path(&self.dir, &other);
            let mut ignored = Skipped::default();
            let outcomes = replay(&path, version, &other.campaign, false, &mut ignored)?
                .index
                .len() as u64;
            if outcomes > 0 {
                conflicts.push(Conflict { other, outcomes });
            }
        }
        Ok(conflicts)
    }

    fn error(&self, cause: io::Error) -> StateError {
        StateError {
            location: self.state_dir.display().to_string(),
            cause,
        }
    }

    fn check_writable(&self) -> Result<(), StateError> {
        if !self.writable {
            return Err(self.error(io::Error::new(
                ErrorKind::PermissionDenied,
                "the state was opened read-only",
            )));
        }
        if let Some(why) = &self.poisoned {
            return Err(self.error(io::Error::other(format!(
                "nothing more can be recorded after an earlier write failed: {why}"
            ))));
        }
        Ok(())
    }

    /// Write encoded lines to their slots' files (creating a file with its header line), and
    /// flush them to the OS. Any failure poisons the store.
    fn append(&mut self, lines: Vec<(usize, Vec<u8>)>) -> Result<(), StateError> {
        match self.append_inner(lines) {
            Ok(()) => Ok(()),
            Err(e) => {
                self.poisoned = Some(e.to_string());
                // Drop what is still buffered rather than let a later flush append it.
                for open in &mut self.open {
                    if let Some(file) = open.file.take() {
                        drop(file.into_parts());
                    }
                }
                Err(self.error(e))
            }
        }
    }

    fn append_inner(&mut self, lines: Vec<(usize, Vec<u8>)>) -> io::Result<()> {
        let mut touched: Vec<usize> = Vec::new();
        for (at, line) in lines {
            if !touched.contains(&at) {
                touched.push(at);
            }
            if self.open[at].file.is_none() {
                let file = create_slot_file(&self.open[at].path, &self.slots[at])?;
                self.open[at].file = Some(BufWriter::new(file));
            }
            if let Some(file) = self.open[at].file.as_mut() {
                file.write_all(&line)?;
            }
        }
        for at in touched {
            let open = &mut self.open[at];
            if let Some(file) = open.file.as_mut() {
                file.flush()?;
                open.dirty = true;
            }
        }
        Ok(())
    }

    fn reserve_request_id(&mut self, request: u64) -> Result<(), StateError> {
        self.next_req = self.next_req.max(request.saturating_add(1));
        if request < self.reserved_req {
            return Ok(());
        }
        let reserved = request.saturating_add(REQUEST_ID_BLOCK);
        match write_request_ids(&self.dir, reserved) {
            Ok(()) => {
                self.reserved_req = reserved;
                Ok(())
            }
            Err(e) => {
                self.poisoned = Some(e.to_string());
                Err(self.error(e))
            }
        }
    }

    fn slot_file(&self, slot: usize) -> &Path {
        &self.open[slot].path
    }

    /// Stream the records of one file, each key's latest line (`skip` leaves out keys).
    fn stream_records(
        &self,
        slot: &Slot,
        path: &Path,
        skip: &dyn Fn(u64) -> bool,
        each: &mut dyn FnMut(Record),
    ) -> io::Result<()> {
        let version = if slot.target.is_some() {
            LINE_VERSION
        } else {
            LEGACY_VERSION
        };
        let mut last: KeyIndex<u64> = KeyIndex::default();
        read_lines(path, false, &mut |number, text| {
            if let Some(Some(line)) = parse_line(text, version, &slot.campaign) {
                last.insert(&line.key, number);
            }
        })?;
        last.finish();
        let target = slot.target_text();
        // The tracking number of a key's intent, for an outcome line that has none.
        let mut tracking: HashMap<u64, String> = HashMap::new();
        read_lines(path, false, &mut |number, text| {
            let Some(Some(line)) = parse_line(text, version, &slot.campaign) else {
                return;
            };
            let hash = key_hash(&line.key);
            if skip(hash) {
                return;
            }
            let raw = line.raw;
            if last.get_hash(hash) != Some(number) {
                if let (true, Some(t)) = (line.intent, raw.tracking) {
                    tracking.insert(hash, t);
                }
                return;
            }
            let tracking_number = raw.tracking.or_else(|| tracking.remove(&hash));
            each(Record {
                campaign: slot.campaign.clone(),
                target: target.clone(),
                key: line.key.into_owned(),
                to: raw.to.map(Cow::into_owned).unwrap_or_default(),
                tracking_number,
                status: line.status,
                message_id: raw.message_id,
                track_uuid: raw.track_uuid,
                error: if line.intent {
                    Some(IN_FLIGHT_ERROR.to_owned())
                } else {
                    raw.error
                },
                attempts: line.attempts,
                warning: raw.warning,
            });
        })?;
        Ok(())
    }
}

impl Store for Folder {
    fn slots(&self) -> &[Slot] {
        &self.slots
    }

    fn lookup(&self, slot: usize, key: &str) -> Option<Entry> {
        let open = &self.open[slot];
        let hash = key_hash(key);
        open.index
            .get_hash(hash)
            .or_else(|| open.legacy.as_ref()?.get_hash(hash))
    }

    fn claim(&mut self, _slot: usize, keys: &[&str]) -> Result<Vec<bool>, StateError> {
        Ok(vec![true; keys.len()])
    }

    fn join(&mut self, _slot: usize, _sources: u64) -> Result<(), StateError> {
        Ok(())
    }

    fn next_request_id(&mut self) -> Result<u64, StateError> {
        let id = self.next_req;
        self.reserve_request_id(id)?;
        Ok(id)
    }

    fn intent(&mut self, request: u64, intents: &[Intent<'_>]) -> Result<(), StateError> {
        self.check_writable()?;
        self.reserve_request_id(request)?;
        let mut lines = Vec::with_capacity(intents.len());
        for intent in intents {
            let line = IntentLine {
                v: LINE_VERSION,
                kind: "intent",
                req: request,
                key: intent.key,
                to: intent.to,
                tracking: intent.tracking,
                attempt: intent.attempt,
                digest: format!("{:016x}", intent.digest),
            };
            let mut bytes = serde_json::to_vec(&line).map_err(|e| self.error(e.into()))?;
            if let Some(body) = intent.body {
                bytes.pop();
                bytes.extend_from_slice(b",\"body\":");
                bytes.extend_from_slice(body.as_bytes());
                bytes.push(b'}');
            }
            bytes.push(b'\n');
            lines.push((intent.slot, bytes));
        }
        self.append(lines)
    }

    fn syncer(&mut self) -> Result<Syncer, StateError> {
        // After a failed write, what was written before it may never reach the disk.
        self.check_writable()?;
        let mut handles = Vec::new();
        for open in &mut self.open {
            if open.dirty {
                if let Some(file) = open.file.as_mut() {
                    let handle = file.flush().and_then(|()| file.get_ref().try_clone());
                    match handle {
                        Ok(h) => handles.push(h),
                        Err(e) => {
                            let location = self.state_dir.display().to_string();
                            self.poisoned = Some(e.to_string());
                            return Err(StateError { location, cause: e });
                        }
                    }
                }
                open.dirty = false;
            }
        }
        Ok(Box::new(move || {
            handles.iter().try_for_each(|h| h.sync_data())
        }))
    }

    fn outcome(&mut self, request: u64, outcomes: &[Outcome]) -> Result<(), StateError> {
        self.check_writable()?;
        self.next_req = self.next_req.max(request.saturating_add(1));
        let mut lines = Vec::with_capacity(outcomes.len());
        for o in outcomes {
            let line = OutcomeLine {
                v: LINE_VERSION,
                kind: "outcome",
                req: request,
                key: &o.key,
                to: &o.to,
                tracking: o.tracking.as_deref(),
                digest: format!("{:016x}", o.digest),
                status: o.status,
                message_id: o.message_id.as_deref(),
                track_uuid: o.track_uuid.as_deref(),
                error: o.error.as_deref(),
                attempts: o.attempts,
                warning: o.warning.as_deref(),
            };
            let mut bytes = serde_json::to_vec(&line).map_err(|e| self.error(e.into()))?;
            bytes.push(b'\n');
            lines.push((o.slot, bytes));
        }
        self.append(lines)?;
        for o in outcomes {
            let before = self.open[o.slot].index.get(&o.key);
            self.open[o.slot].counts.moved(before, o.status);
        }
        Ok(())
    }

    fn sync(&mut self) -> Result<(), StateError> {
        if !self.writable {
            return Ok(());
        }
        let syncer = self.syncer()?;
        syncer().map_err(|e| {
            self.poisoned = Some(e.to_string());
            self.error(e)
        })
    }

    fn counts(&self, slot: usize) -> Counts {
        self.open[slot].counts
    }

    fn records(&self, slot: usize, each: &mut dyn FnMut(Record)) -> Result<(), StateError> {
        let spec = &self.slots[slot];
        let open = &self.open[slot];
        self.stream_records(spec, self.slot_file(slot), &|_| false, each)
            .map_err(|e| self.error(e))?;
        if open.legacy.is_some() {
            let old = legacy(&spec.campaign);
            let path = slot_path(&self.dir, &old);
            let known = |hash| open.index.get_hash(hash).is_some();
            self.stream_records(&old, &path, &known, each)
                .map_err(|e| self.error(e))?;
        }
        Ok(())
    }

    fn sent_bodies(
        &self,
        slot: usize,
        keys: &[String],
    ) -> Result<HashMap<String, String>, StateError> {
        let wanted: HashSet<&str> = keys.iter().map(String::as_str).collect();
        let mut bodies = HashMap::new();
        if wanted.is_empty() || self.slots[slot].target.is_none() {
            return Ok(bodies);
        }
        read_lines(self.slot_file(slot), false, &mut |_, text| {
            let Some(Some(line)) = parse_line(text, LINE_VERSION, "") else {
                return;
            };
            if !line.intent || !wanted.contains(&*line.key) {
                return;
            }
            if let Ok(value) = serde_json::from_slice::<serde_json::Value>(text)
                && let Some(body) = value.get("body")
            {
                bodies.insert(line.key.into_owned(), body.to_string());
            }
        })
        .map_err(|e| self.error(e))?;
        Ok(bodies)
    }

    fn conflicts(&self, slot: usize) -> Vec<Conflict> {
        self.open[slot].conflicts.clone()
    }

    fn unreadable(&self) -> Option<Unreadable> {
        self.skipped.first.clone().map(|first| Unreadable {
            lines: self.skipped.lines,
            first,
        })
    }
}

/// Open a slot's file for appending, creating it (and its campaign folder) with its header
/// line, synced with the folder entries, if it is missing or empty.
fn create_slot_file(path: &Path, slot: &Slot) -> io::Result<File> {
    let folder = path.parent().unwrap_or(Path::new("."));
    if !folder.exists() {
        fs::create_dir_all(folder)?;
        if let Some(journal) = folder.parent() {
            sync_dir(journal)?;
        }
    }
    let mut file = match OpenOptions::new().append(true).create_new(true).open(path) {
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            OpenOptions::new().append(true).open(path)?
        }
        other => other?,
    };
    if file.metadata()?.len() == 0 {
        let target = slot.target.clone().unwrap_or(Target {
            provider: String::new(),
            host: String::new(),
            account: String::new(),
        });
        let header = Header {
            v: LINE_VERSION,
            kind: "slot".to_owned(),
            campaign: slot.campaign.clone(),
            provider: target.provider,
            host: target.host,
            account: target.account,
            key: slot.key.clone(),
        };
        let mut bytes = serde_json::to_vec(&header)?;
        bytes.push(b'\n');
        file.write_all(&bytes)?;
        file.sync_data()?;
        sync_dir(folder)?;
    }
    Ok(file)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(campaign: &str) -> Slot {
        Slot {
            campaign: campaign.to_owned(),
            target: Some(Target {
                provider: "aldeamo".to_owned(),
                host: "http://127.0.0.1:1".to_owned(),
                account: "573001112233".to_owned(),
            }),
            key: None,
            default_host: false,
        }
    }

    fn intent<'a>(key: &'a str, body: Option<&'a str>) -> Intent<'a> {
        Intent {
            slot: 0,
            key,
            to: key,
            tracking: None,
            digest: 7,
            body,
            attempt: 1,
        }
    }

    fn outcome(key: &str, status: Status) -> Outcome {
        Outcome {
            slot: 0,
            key: key.to_owned(),
            to: key.to_owned(),
            tracking: None,
            digest: 7,
            status,
            message_id: Some(format!("m-{key}")),
            track_uuid: None,
            error: None,
            attempts: 1,
            warning: None,
        }
    }

    fn records(store: &Folder) -> Vec<Record> {
        let mut out = Vec::new();
        store.records(0, &mut |r| out.push(r)).unwrap();
        out
    }

    /// An intent with no outcome replays as uncertain; one with an outcome as that outcome; the counts follow.
    #[test]
    fn intents_without_outcomes_replay_as_uncertain() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut store = Folder::open(dir.path(), vec![slot("c")]).unwrap();
            let req = store.next_request_id().unwrap();
            store
                .intent(
                    req,
                    &[intent("1", Some(r#"{"to":"1"}"#)), intent("2", None)],
                )
                .unwrap();
            store.outcome(req, &[outcome("1", Status::Sent)]).unwrap();
            store.sync().unwrap();
        }
        let store = Folder::read(dir.path(), vec![slot("c")]).unwrap();
        assert_eq!(store.lookup(0, "1").map(Entry::status), Some(Status::Sent));
        assert_eq!(
            store.lookup(0, "2").map(Entry::status),
            Some(Status::Uncertain)
        );
        assert_eq!(store.lookup(0, "3"), None);
        assert_eq!(
            store.counts(0),
            Counts {
                sent: 1,
                uncertain: 1,
                ..Counts::default()
            }
        );
        let rows = records(&store);
        assert_eq!(rows.len(), 2);
        let in_flight = rows.iter().find(|r| r.key == "2").unwrap();
        assert_eq!(in_flight.error.as_deref(), Some(IN_FLIGHT_ERROR));
        let bodies = store.sent_bodies(0, &["1".to_owned()]).unwrap();
        assert_eq!(bodies["1"], r#"{"to":"1"}"#);
    }

    /// A torn last line is ignored by readers, truncated away by the next writer, and lines after it are whole.
    #[test]
    fn a_torn_last_line_is_ignored_and_truncated() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut store = Folder::open(dir.path(), vec![slot("c")]).unwrap();
            store.intent(1, &[intent("1", None)]).unwrap();
            store.outcome(1, &[outcome("1", Status::Sent)]).unwrap();
        }
        let path = slot_path(&dir.path().join(JOURNAL_DIR), &slot("c"));
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(b"{\"v\":2,\"kind\":\"intent\",\"req\":2,\"ke")
            .unwrap();
        drop(file);
        let read = Folder::read(dir.path(), vec![slot("c")]).unwrap();
        assert_eq!(read.unreadable(), None, "a torn line is not unreadable");
        assert!(fs::read_to_string(&path).unwrap().ends_with("\"ke"));
        {
            let mut store = Folder::open(dir.path(), vec![slot("c")]).unwrap();
            store.intent(2, &[intent("2", None)]).unwrap();
            store.outcome(2, &[outcome("2", Status::Failed)]).unwrap();
        }
        let text = fs::read_to_string(&path).unwrap();
        for line in text.lines() {
            serde_json::from_str::<serde_json::Value>(line).unwrap();
        }
        let store = Folder::read(dir.path(), vec![slot("c")]).unwrap();
        assert_eq!(
            store.lookup(0, "2").map(Entry::status),
            Some(Status::Failed)
        );
    }

    /// Request ids keep increasing across reopens, even when the high-water file is gone.
    #[test]
    fn request_ids_increase_across_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let first = {
            let mut store = Folder::open(dir.path(), vec![slot("a")]).unwrap();
            let id = store.next_request_id().unwrap();
            store.intent(id, &[intent("1", None)]).unwrap();
            id
        };
        let second = {
            let mut store = Folder::open(dir.path(), vec![slot("b")]).unwrap();
            let id = store.next_request_id().unwrap();
            assert!(id > first);
            store.intent(id, &[intent("1", None)]).unwrap();
            id
        };
        fs::remove_file(dir.path().join(JOURNAL_DIR).join(REQUEST_ID_FILE)).unwrap();
        let mut store = Folder::open(dir.path(), vec![slot("a"), slot("b")]).unwrap();
        assert!(store.next_request_id().unwrap() > second);
    }

    /// A second writer is refused while the first holds the folder; readers are not, and cannot write.
    #[test]
    fn one_writer_at_a_time_and_readers_cannot_write() {
        let dir = tempfile::tempdir().unwrap();
        let _writer = Folder::open(dir.path(), vec![slot("c")]).unwrap();
        let second = Folder::open(dir.path(), vec![slot("c")]).unwrap_err();
        assert_eq!(second.cause.kind(), ErrorKind::WouldBlock);
        assert!(second.to_string().contains("in use by another waform run"));
        let mut reader = Folder::read(dir.path(), vec![slot("c")]).unwrap();
        let refused = reader.intent(1, &[intent("1", None)]).unwrap_err();
        assert_eq!(refused.cause.kind(), ErrorKind::PermissionDenied);
    }

    /// Slots of one campaign at two targets are kept apart, and both are discovered.
    #[test]
    fn targets_are_kept_apart_and_discovered() {
        let dir = tempfile::tempdir().unwrap();
        let mut other = slot("c");
        other.target.as_mut().unwrap().host = "http://127.0.0.1:2".to_owned();
        {
            let mut store = Folder::open(dir.path(), vec![slot("c"), other.clone()]).unwrap();
            store.intent(1, &[intent("1", None)]).unwrap();
            store.outcome(1, &[outcome("1", Status::Sent)]).unwrap();
        }
        let store = Folder::read(dir.path(), vec![slot("c"), other.clone()]).unwrap();
        assert_eq!(store.lookup(0, "1").map(Entry::status), Some(Status::Sent));
        assert_eq!(store.lookup(1, "1"), None);
        assert_eq!(discover(dir.path(), &["c"]).unwrap(), vec![slot("c")]);
    }

    /// After a failed write nothing more is recorded, and no syncer is handed out: intents written before the failure are not known durable.
    #[cfg(unix)]
    #[test]
    fn a_failed_write_refuses_every_later_record_and_sync() {
        let dir = tempfile::tempdir().unwrap();
        let path = slot_path(&dir.path().join(JOURNAL_DIR), &slot("c"));
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, b"").unwrap();
        let mut store = Folder::open(dir.path(), vec![slot("c")]).unwrap();
        store.intent(1, &[intent("1", None)]).unwrap();
        fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink("/dev/full", &path).unwrap();
        store.open[0].file = Some(BufWriter::new(
            OpenOptions::new().append(true).open(&path).unwrap(),
        ));
        let full = store.intent(2, &[intent("2", None)]).unwrap_err();
        assert!(full.to_string().contains("No space left"), "{full}");
        assert!(store.syncer().is_err(), "no syncer after a failed write");
        assert!(store.outcome(1, &[outcome("1", Status::Sent)]).is_err());
        assert!(store.sync().is_err());
    }

    /// A slot file left empty by a crash right after its creation gets its header line at the next write, so it is found again.
    #[test]
    fn an_empty_slot_file_gets_its_header() {
        let dir = tempfile::tempdir().unwrap();
        let path = slot_path(&dir.path().join(JOURNAL_DIR), &slot("c"));
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, b"").unwrap();
        let mut store = Folder::open(dir.path(), vec![slot("c")]).unwrap();
        store.intent(1, &[intent("1", None)]).unwrap();
        assert_eq!(discover(dir.path(), &["c"]).unwrap(), vec![slot("c")]);
    }

    /// A CSV and an NDJSON report hold one row per key with the documented columns.
    #[test]
    fn reports_have_one_row_per_key() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Folder::open(dir.path(), vec![slot("c")]).unwrap();
        store.intent(1, &[intent("1", None)]).unwrap();
        store.outcome(1, &[outcome("1", Status::Unsent)]).unwrap();
        store.intent(2, &[intent("1", None)]).unwrap();
        store.outcome(2, &[outcome("1", Status::Sent)]).unwrap();
        let csv = dir.path().join("r.csv");
        crate::state::report::write(&csv, &store, &[0]).unwrap();
        let text = fs::read_to_string(&csv).unwrap();
        assert_eq!(
            text,
            "campaign,target,key,to,tracking_number,status,message_id,track_uuid,error,attempts,warning\n\
             c,aldeamo http://127.0.0.1:1 from 573001112233,1,1,,sent,m-1,,,1,\n"
        );
        let ndjson = dir.path().join("r.ndjson");
        crate::state::report::write(&ndjson, &store, &[0]).unwrap();
        let row: serde_json::Value =
            serde_json::from_str(fs::read_to_string(&ndjson).unwrap().trim()).unwrap();
        assert_eq!(row["status"], "sent");
        assert_eq!(row["key"], "1");
        let bad = crate::state::report::write(&dir.path().join("r.txt"), &store, &[0]);
        assert_eq!(bad.unwrap_err().kind(), ErrorKind::InvalidInput);
    }
}
