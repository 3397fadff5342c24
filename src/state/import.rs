//! `waform state import`: copy a local state folder's slots into PostgreSQL, each key's latest
//! record with its digest and body, in one transaction. Importing again is a no-op; a key that
//! already has another record in the database makes the whole import refused, and nothing is
//! written. Legacy journals (which name no target) are not imported.

use std::io::{self, ErrorKind};
use std::path::{Path, PathBuf};

use super::local::{self, Exported};
use super::postgres::{Imported, PgLocation, Postgres};
use super::{Slot, StateError};

/// How many records are sent to the database at a time.
const BATCH: usize = 5000;

/// What an import did.
#[derive(Debug)]
pub struct Summary {
    /// The slots imported, with their record counts.
    pub slots: Vec<(Slot, u64)>,
    /// Legacy journals left out.
    pub legacy: Vec<PathBuf>,
    /// The outcome: committed, or refused.
    pub imported: Imported,
}

/// Import every slot of the folder `from` into `to`, holding the folder's lock (no `apply`
/// may run on it meanwhile); a key the database already holds otherwise (another record, or
/// a worker's claim) refuses the whole import.
pub fn import(from: &Path, to: &PgLocation) -> Result<Summary, StateError> {
    if !from.join(local::JOURNAL_DIR).is_dir() {
        return Err(StateError {
            location: from.display().to_string(),
            cause: io::Error::new(
                ErrorKind::NotFound,
                "there is no state here (no journal folder): give the folder `apply` used (`--state-dir`, `.waform` by default)",
            ),
        });
    }
    let _folder = local::Folder::open(from, Vec::new())?;
    let (slots, legacy) = local::discover_all(from)?;
    let mut db = Postgres::open(to, slots.clone())?;
    db.import_begin()?;
    let mut counted = Vec::new();
    let mut ord = 0u64;
    for (at, slot) in slots.iter().enumerate() {
        let mut batch: Vec<Exported> = Vec::with_capacity(BATCH);
        let mut records = 0u64;
        let mut failed: Option<StateError> = None;
        local::export(from, slot, &mut |row| {
            batch.push(row);
            records += 1;
            if batch.len() >= BATCH {
                let rows = std::mem::take(&mut batch);
                let first = ord;
                ord += rows.len() as u64;
                if let Err(e) = db.import_batch(at, first, rows) {
                    let cause = io::Error::new(e.cause.kind(), e.to_string());
                    failed = Some(e);
                    return Err(cause);
                }
            }
            Ok(())
        })
        .map_err(|e| failed.take().unwrap_or(e))?;
        if !batch.is_empty() {
            let first = ord;
            ord += batch.len() as u64;
            db.import_batch(at, first, batch)?;
        }
        counted.push((slot.clone(), records));
    }
    let imported = db.import_finish()?;
    Ok(Summary {
        slots: counted,
        legacy,
        imported,
    })
}
