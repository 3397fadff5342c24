//! Delivery state: whom `apply` has sent to, so that no recipient of a campaign is sent twice
//! and none that provably never left is lost.
//!
//! State is kept per **slot**: a campaign, the [`Target`] it sends to (provider, host and
//! account) and the recipient key expression it was sent with. A run against the sandbox or
//! an `--endpoint` has its own target, so it never counts for the provider's real host.
//!
//! [`Store`] is the one interface `apply`, `plan`, `status` and `--report` use; [`Location`]
//! says where a store lives and opens it. The local folder ([`local`]) is the default backend;
//! PostgreSQL ([`postgres`]) is the other.

pub mod import;
pub mod index;
pub mod local;
pub mod postgres;
pub mod report;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::emit::Endpoints;
use crate::message::Message;
use crate::model::{Environment, Provider, Sender};

pub use index::{Entry, KeyIndex};

/// The outcome recorded for a recipient. A recipient with none is *pending* (not yet tried).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The provider accepted the message.
    Sent,
    /// The provider refused the message; sent again only with `--retry-failed`.
    Failed,
    /// The request provably never reached the provider (no connection, throttled past the
    /// last attempt, the run stopped before sending it); sent again by the next run.
    Unsent,
    /// The message may have been received (timeout, connection lost after sending, 5xx, or
    /// the run died with the request in flight); sent again only with `--retry-uncertain`.
    Uncertain,
}

impl Status {
    /// The status as written in the state and in reports (`sent`, `failed`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Sent => "sent",
            Status::Failed => "failed",
            Status::Unsent => "unsent",
            Status::Uncertain => "uncertain",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a campaign's messages go: the provider, the host (base URL) and the account (Aldeamo
/// `from`, Mayten `source_id`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Target {
    /// The provider.
    pub provider: String,
    /// The base URL requests go to, without a trailing `/`.
    pub host: String,
    /// The account sent from.
    pub account: String,
}

impl Target {
    /// The target of a sender, with `--endpoint` overrides.
    pub fn of(sender: &Sender, endpoints: &Endpoints) -> Target {
        let account = match sender.provider {
            Provider::Aldeamo => sender.from.clone().unwrap_or_default(),
            Provider::Mayten => sender
                .source_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
        };
        Target {
            provider: sender.provider.as_str().to_owned(),
            host: crate::emit::base_url(sender, endpoints).to_owned(),
            account,
        }
    }

    /// The name of the account field (`from`, `source_id`).
    fn account_field(&self) -> &'static str {
        if self.provider == "mayten" {
            "source_id"
        } else {
            "from"
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {}",
            self.provider,
            self.host,
            self.account_field(),
            self.account
        )
    }
}

/// Whether a sender's requests go to its provider's real host, where every message is real:
/// such sends need the production gate (`--yes`, a plan, or `yes` typed).
pub fn is_real_host(sender: &Sender, endpoints: &Endpoints) -> bool {
    !endpoints.contains_key(&*sender.name)
        && match sender.provider {
            Provider::Aldeamo => sender.environment == Environment::Production,
            Provider::Mayten => true,
        }
}

/// The state of one campaign at one target under one key expression.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slot {
    /// The campaign's name.
    pub campaign: String,
    /// Where its messages go; `None` for a legacy journal (from before targets were kept).
    pub target: Option<Target>,
    /// The campaign's `key:` expression; `None` for the default (the normalised number).
    pub key: Option<String>,
    /// Whether the target is the sender's default host (no `--endpoint`): there the
    /// campaign's legacy journal counts too, under the default key.
    pub default_host: bool,
}

impl Slot {
    /// The slot a campaign sends to now.
    pub fn current(campaign: &crate::model::Campaign, endpoints: &Endpoints) -> Slot {
        let sender = &campaign.target.sender;
        let key = campaign.key.as_ref().map(|e| e.source.clone());
        Slot {
            campaign: campaign.target.campaign.to_string(),
            target: Some(Target::of(sender, endpoints)),
            default_host: !endpoints.contains_key(&*sender.name),
            key,
        }
    }

    /// How the slot is shown: its target, or `legacy`.
    pub fn target_text(&self) -> String {
        match &self.target {
            Some(t) => t.to_string(),
            None => "legacy".to_owned(),
        }
    }
}

/// A slot's counts of recipients per outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Accepted by the provider.
    pub sent: u64,
    /// Refused by the provider.
    pub failed: u64,
    /// Provably never reached the provider.
    pub unsent: u64,
    /// May have been received.
    pub uncertain: u64,
}

impl Counts {
    /// Count one more recipient with `status`.
    pub fn add(&mut self, status: Status, n: i64) {
        let field = match status {
            Status::Sent => &mut self.sent,
            Status::Failed => &mut self.failed,
            Status::Unsent => &mut self.unsent,
            Status::Uncertain => &mut self.uncertain,
        };
        *field = field.saturating_add_signed(n);
    }

    /// Count a recipient that had `before` (as the slot was opened) and now has `now`.
    pub fn moved(&mut self, before: Option<Entry>, now: Status) {
        if let Some(before) = before {
            self.add(before.status(), -1);
        }
        self.add(now, 1);
    }

    /// Recipients with any outcome.
    pub fn total(&self) -> u64 {
        self.sent + self.failed + self.unsent + self.uncertain
    }
}

/// One recipient's latest record, as reports show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The campaign's name.
    pub campaign: String,
    /// Where it was sent (`legacy` for a legacy journal).
    pub target: String,
    /// The recipient's key.
    pub key: String,
    /// The normalised recipient number.
    pub to: String,
    /// The tracking number given with the recipient, if any.
    pub tracking_number: Option<String>,
    /// The latest outcome.
    pub status: Status,
    /// The provider's message id, if it answered with one.
    pub message_id: Option<String>,
    /// The provider's tracking uuid, if it answered with one.
    pub track_uuid: Option<String>,
    /// Why the message failed, is unsent or uncertain.
    pub error: Option<String>,
    /// How many times a request for this recipient was attempted.
    pub attempts: u32,
    /// A warning the provider gave with an accepted message.
    pub warning: Option<String>,
}

/// The intent to send one recipient, durable before its request leaves.
#[derive(Debug, Clone)]
pub struct Intent<'a> {
    /// The slot (by position in the store's slots).
    pub slot: usize,
    /// The recipient's key.
    pub key: &'a str,
    /// The number.
    pub to: &'a str,
    /// The tracking number, if any.
    pub tracking: Option<&'a str>,
    /// The digest of the message as sent ([`crate::emit::digest`]).
    pub digest: u64,
    /// The provider JSON of this recipient, kept to show what changed later.
    pub body: Option<&'a str>,
    /// The attempt's number for this recipient (1 for the first run that tries it).
    pub attempt: u32,
}

/// The outcome of one recipient's request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The slot (by position in the store's slots).
    pub slot: usize,
    /// The recipient's key.
    pub key: String,
    /// The number.
    pub to: String,
    /// The tracking number, if any.
    pub tracking: Option<String>,
    /// The digest of the message as sent.
    pub digest: u64,
    /// What came of it.
    pub status: Status,
    /// The provider's message id.
    pub message_id: Option<String>,
    /// The provider's tracking uuid.
    pub track_uuid: Option<String>,
    /// Why it failed, is unsent or uncertain.
    pub error: Option<String>,
    /// Attempts for this recipient so far.
    pub attempts: u32,
    /// A warning the provider gave with an accepted message.
    pub warning: Option<String>,
}

/// What makes everything written so far durable; run it outside the store's lock, so that
/// the intents of every request waiting meanwhile share one sync (group commit).
pub type Syncer = Box<dyn FnOnce() -> std::io::Result<()> + Send>;

/// Unreadable lines met while reading a store: how many, and where the first was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// How many lines were skipped.
    pub lines: u64,
    /// The file and line number of the first.
    pub first: String,
}

/// Why the state could not be read or written: where, and the cause. Never holds a secret.
#[derive(Debug)]
pub struct StateError {
    /// The state's location as shown (a folder, or a URL without its password).
    pub location: String,
    /// What failed.
    pub cause: std::io::Error,
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the state in `{}`: {}", self.location, self.cause)
    }
}

impl std::error::Error for StateError {}

/// A change of key expression or account that would make every recipient look new: the
/// campaign has outcomes at the same host under another slot, and none under its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The slot with outcomes.
    pub other: Slot,
    /// How many outcomes it has.
    pub outcomes: u64,
}

/// The delivery state of the slots a command works on.
pub trait Store: Send + Sync {
    /// The slots, in the order they were opened with.
    fn slots(&self) -> &[Slot];
    /// The latest entry of a key in a slot (at the default host under the default key, the
    /// legacy journal's when the slot has none), as it was when the store was opened.
    fn lookup(&self, slot: usize, key: &str) -> Option<Entry>;
    /// Claim keys of a slot for this process to send; true for each one claimed. A store
    /// used by one process at a time (under its lock) claims every key.
    fn claim(&mut self, slot: usize, keys: &[&str]) -> Result<Vec<bool>, StateError>;
    /// Join the processes sending a slot, as one whose sources compile to messages with the
    /// digest `sources`: refused (an error of kind `AlreadyExists`, nothing written) when
    /// others are sending it now from other sources. A store used by one process at a time
    /// (under its lock) has nobody to join.
    fn join(&mut self, slot: usize, sources: u64) -> Result<(), StateError>;
    /// A request id, unique within the store across runs.
    fn next_request_id(&mut self) -> Result<u64, StateError>;
    /// Record the intents of one request. They are written, but durable only once the
    /// [`Syncer`] of a later [`Store::syncer`] has run.
    fn intent(&mut self, request: u64, intents: &[Intent<'_>]) -> Result<(), StateError>;
    /// What makes every intent and outcome written so far durable.
    fn syncer(&mut self) -> Result<Syncer, StateError>;
    /// Record the outcomes of one request.
    fn outcome(&mut self, request: u64, outcomes: &[Outcome]) -> Result<(), StateError>;
    /// Make everything written durable now.
    fn sync(&mut self) -> Result<(), StateError>;
    /// A slot's counts: as opened, plus the outcomes recorded since (a legacy journal that
    /// counts for the slot is counted apart, as its own slot).
    fn counts(&self, slot: usize) -> Counts;
    /// Every recipient's latest record of a slot, in the order of their latest line.
    fn records(&self, slot: usize, each: &mut dyn FnMut(Record)) -> Result<(), StateError>;
    /// The provider JSON last recorded as sent for each of `keys` in a slot.
    fn sent_bodies(
        &self,
        slot: usize,
        keys: &[String],
    ) -> Result<HashMap<String, String>, StateError>;
    /// Changes of key or account that would make every recipient of a slot look new.
    fn conflicts(&self, slot: usize) -> Vec<Conflict>;
    /// Lines that could not be read, if any.
    fn unreadable(&self) -> Option<Unreadable>;
    /// Reserve `sends` messages of `sender`, paced at one every `interval` across every
    /// process that shares this store: how long to wait before sending them. `None` when the
    /// store is one process's alone (the folder), which then paces itself.
    fn pace(
        &mut self,
        sender: &str,
        interval: std::time::Duration,
        sends: usize,
    ) -> Result<Option<std::time::Duration>, StateError> {
        let _ = (sender, interval, sends);
        Ok(None)
    }
}

/// Where the state lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A local folder (`.waform/` by default).
    Folder(PathBuf),
    /// A PostgreSQL database (`postgres://USER@HOST:PORT/DB`).
    Postgres(Box<postgres::PgLocation>),
}

impl Location {
    /// Where `--state` points: a `postgres://` or `postgresql://` URL is a database, anything
    /// else a folder. The error names the URL without its password.
    pub fn parse(text: &str) -> Result<Location, String> {
        if postgres::is_url(text) {
            postgres::PgLocation::parse(text).map(|db| Location::Postgres(Box::new(db)))
        } else {
            Ok(Location::Folder(PathBuf::from(text)))
        }
    }

    /// How the location is shown (a URL never with its password).
    pub fn shown(&self) -> String {
        match self {
            Location::Folder(dir) => dir.display().to_string(),
            Location::Postgres(db) => db.shown().to_owned(),
        }
    }

    /// The slots the state holds for `campaigns`, current or not, in a stable order.
    pub fn discover(&self, campaigns: &[&str]) -> Result<Vec<Slot>, StateError> {
        match self {
            Location::Folder(dir) => local::discover(dir, campaigns),
            Location::Postgres(db) => postgres::discover(db, campaigns),
        }
    }

    /// This location with `lease` as how long a writer's claims hold unless renewed (only
    /// PostgreSQL has claims).
    pub fn with_lease(self, lease: std::time::Duration) -> Location {
        match self {
            Location::Postgres(mut db) => {
                db.set_lease(lease);
                Location::Postgres(db)
            }
            folder => folder,
        }
    }

    /// Open the state of `slots` to write: the folder holding its lock (one writer at a
    /// time); PostgreSQL for one of the workers that split its slots by claims.
    pub fn open(&self, slots: Vec<Slot>) -> Result<Box<dyn Store>, StateError> {
        match self {
            Location::Folder(dir) => Ok(Box::new(local::Folder::open(dir, slots)?)),
            Location::Postgres(db) => Ok(Box::new(postgres::Postgres::open(db, slots)?)),
        }
    }

    /// Read the state of `slots`, without the lock (a run may be going on).
    pub fn read(&self, slots: Vec<Slot>) -> Result<Box<dyn Store>, StateError> {
        match self {
            Location::Folder(dir) => Ok(Box::new(local::Folder::read(dir, slots)?)),
            Location::Postgres(db) => Ok(Box::new(postgres::Postgres::read(db, slots)?)),
        }
    }

    /// Whether nothing is stored here at all (no folder): callers may skip the lookups. A
    /// database is never known empty without connecting, so it is read (and a database where
    /// waform never wrote reads as empty).
    pub fn is_empty(&self) -> bool {
        match self {
            Location::Folder(dir) => !dir.join(local::JOURNAL_DIR).exists(),
            Location::Postgres(_) => false,
        }
    }

    /// The folder, for a local location.
    pub fn folder(&self) -> Option<&Path> {
        match self {
            Location::Folder(dir) => Some(dir),
            Location::Postgres(_) => None,
        }
    }

    /// What to check when the state cannot be opened.
    pub fn help(&self) -> &'static str {
        match self {
            Location::Folder(_) => {
                "check that the folder exists, is writable, and is not used by another `waform apply`"
            }
            Location::Postgres(_) => {
                "check that PostgreSQL is running and reachable at that address, and the user, database and password (from the URL, PGPASSWORD or ~/.pgpass)"
            }
        }
    }
}

/// What a run does with a recipient, given its entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Never tried: send.
    New,
    /// Tried and provably never left: send.
    Unsent,
    /// Refused: send only with `--retry-failed`.
    Failed,
    /// May have been received: send only with `--retry-uncertain`.
    Uncertain,
    /// Sent, and its message is unchanged (or its digest unknown).
    Sent,
    /// Sent, and its message has changed since: send only with `--resend-changed`.
    Changed,
}

/// Which recipients with an outcome a run sends again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resend {
    /// `--retry-failed`.
    pub failed: bool,
    /// `--retry-uncertain`.
    pub uncertain: bool,
    /// `--resend-changed`.
    pub changed: bool,
}

impl Plan {
    /// Classify a recipient by its entry and its message's digest now (computed only when
    /// needed, for a sent one).
    pub fn of(entry: Option<Entry>, digest: impl FnOnce() -> u64) -> Plan {
        let Some(entry) = entry else {
            return Plan::New;
        };
        match entry.status() {
            Status::Unsent => Plan::Unsent,
            Status::Failed => Plan::Failed,
            Status::Uncertain => Plan::Uncertain,
            Status::Sent if entry.changed(digest()) => Plan::Changed,
            Status::Sent => Plan::Sent,
        }
    }

    /// Whether a run with these flags sends the recipient.
    pub fn sends(self, resend: Resend) -> bool {
        match self {
            Plan::New | Plan::Unsent => true,
            Plan::Failed => resend.failed,
            Plan::Uncertain => resend.uncertain,
            Plan::Changed => resend.changed,
            Plan::Sent => false,
        }
    }
}

/// The digest of a message as it would be sent: [`crate::emit::digest`] of its provider
/// JSON.
pub fn digest_of(message: &Message) -> u64 {
    match &message.encoded {
        Some(json) => crate::emit::digest(json),
        None => crate::emit::encode(message).map_or(0, |json| crate::emit::digest(&json)),
    }
}

/// The texts of a provider JSON (its string values, in order), to show what changed.
pub fn texts(json: &str) -> Vec<String> {
    fn walk(value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::String(s) => out.push(s.clone()),
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            serde_json::Value::Object(map) => map.values().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(json) {
        walk(&value, &mut out);
    }
    out
}

/// What changed between an old and a new provider JSON, as `"old" → "new"` pairs of the texts
/// that differ (the whole texts when their number changed).
pub fn changes(old: &str, new: &str) -> Vec<(String, String)> {
    let (old, new) = (texts(old), texts(new));
    if old.len() == new.len() {
        old.into_iter().zip(new).filter(|(a, b)| a != b).collect()
    } else {
        vec![(old.join(" · "), new.join(" · "))]
    }
}

/// Recipients whose message has changed since it was sent, per slot: how many, and a few
/// examples to show.
#[derive(Debug, Default)]
pub struct Drift {
    /// Changed recipients per slot.
    pub changed: Vec<u64>,
    /// Up to [`Drift::EXAMPLES`] per slot: the key, the number and the provider JSON now.
    examples: Vec<Vec<(String, String, String)>>,
}

impl Drift {
    /// How many changed recipients of a slot are shown.
    pub const EXAMPLES: usize = 3;

    /// Note a changed recipient of `slot`.
    pub fn note(&mut self, slot: usize, message: &Message, key: &str) {
        if self.changed.len() <= slot {
            self.changed.resize(slot + 1, 0);
            self.examples.resize_with(slot + 1, Vec::new);
        }
        self.changed[slot] += 1;
        if self.examples[slot].len() < Drift::EXAMPLES {
            let json = match &message.encoded {
                Some(json) => json.clone(),
                None => crate::emit::encode(message).unwrap_or_default(),
            };
            self.examples[slot].push((key.to_owned(), message.to.clone(), json));
        }
    }

    /// Changed recipients of `slot`.
    pub fn count(&self, slot: usize) -> u64 {
        self.changed.get(slot).copied().unwrap_or(0)
    }

    /// Lines showing the examples of `slot`: number, key, and what changed, old → new.
    pub fn lines(&self, store: &dyn Store, slot: usize) -> Result<Vec<String>, StateError> {
        let Some(examples) = self.examples.get(slot).filter(|e| !e.is_empty()) else {
            return Ok(Vec::new());
        };
        let keys: Vec<String> = examples.iter().map(|(k, ..)| k.clone()).collect();
        let old = store.sent_bodies(slot, &keys)?;
        let mut lines = Vec::new();
        for (key, to, new) in examples {
            let who = if key == to {
                to.clone()
            } else {
                format!("{to} (key {key})")
            };
            match old.get(key) {
                Some(old) => {
                    let shown: Vec<String> = changes(old, new)
                        .into_iter()
                        .map(|(a, b)| format!("{a:?} → {b:?}"))
                        .collect();
                    lines.push(format!("{who}: {}", shown.join(", ")));
                }
                None => lines.push(format!("{who}: the message as sent was not kept")),
            }
        }
        Ok(lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each recipient state maps to the documented behaviour: new and unsent are sent, the rest only with their flag.
    #[test]
    fn plans_follow_the_flags() {
        let none = Resend::default();
        let all = Resend {
            failed: true,
            uncertain: true,
            changed: true,
        };
        for (plan, default) in [
            (Plan::New, true),
            (Plan::Unsent, true),
            (Plan::Failed, false),
            (Plan::Uncertain, false),
            (Plan::Changed, false),
            (Plan::Sent, false),
        ] {
            assert_eq!(plan.sends(none), default, "{plan:?}");
            assert_eq!(plan.sends(all), plan != Plan::Sent, "{plan:?}");
        }
        let only_failed = Resend {
            failed: true,
            ..none
        };
        assert!(Plan::Failed.sends(only_failed));
        assert!(!Plan::Uncertain.sends(only_failed));
    }

    /// A sent entry is changed only when its digest differs from the message's now.
    #[test]
    fn changed_is_by_digest() {
        let entry = Entry::new(Status::Sent, 1, Some(0xabcdef));
        assert_eq!(Plan::of(Some(entry), || 0xabcdef), Plan::Sent);
        assert_eq!(Plan::of(Some(entry), || 0xabcdee), Plan::Changed);
        let unknown = Entry::new(Status::Sent, 1, None);
        assert_eq!(Plan::of(Some(unknown), || 1), Plan::Sent);
        assert_eq!(Plan::of(None, || 1), Plan::New);
    }

    /// The changed texts of two provider bodies are paired in order.
    #[test]
    fn changes_pair_the_texts_that_differ() {
        let old = r#"{"to":"57300","params":["Ana","10:00"]}"#;
        let new = r#"{"to":"57300","params":["Ana","11:00"]}"#;
        assert_eq!(
            changes(old, new),
            vec![("10:00".to_owned(), "11:00".to_owned())]
        );
    }
}
