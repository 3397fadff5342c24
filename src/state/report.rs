//! `--report FILE`: one row per recipient, streamed from the state as CSV or NDJSON.

use std::io::{self, BufWriter, ErrorKind, Write};
use std::path::Path;

use super::{Record, StateError, Store};

/// The columns of a CSV report, in order.
pub const COLUMNS: [&str; 11] = [
    "campaign",
    "target",
    "key",
    "to",
    "tracking_number",
    "status",
    "message_id",
    "track_uuid",
    "error",
    "attempts",
    "warning",
];

/// Write the records of `slots` of `store` to `path`: CSV (with [`COLUMNS`]) or NDJSON (every
/// [`Record`] field, one compact object a line) by the file's extension (`.csv`, or `.ndjson`
/// / `.jsonl`), atomically: a temporary file beside it, synced, then renamed over `path`.
pub fn write(path: &Path, store: &dyn Store, slots: &[usize]) -> io::Result<()> {
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
        let mut failed: Option<io::Error> = None;
        if csv {
            let mut writer = csv::Writer::from_writer(&mut out);
            writer.write_record(COLUMNS)?;
            each_record(store, slots, &mut |r| {
                if failed.is_none()
                    && let Err(e) = writer.write_record(csv_row(&r))
                {
                    failed = Some(e.into());
                }
            })?;
            writer.flush()?;
        } else {
            each_record(store, slots, &mut |r| {
                if failed.is_none() {
                    let line = serde_json::to_vec(&r).map_err(io::Error::other);
                    if let Err(e) = line.and_then(|l| out.write_all(&l).and(out.write_all(b"\n"))) {
                        failed = Some(e);
                    }
                }
            })?;
        }
        if let Some(e) = failed {
            return Err(e);
        }
        out.flush()?;
    }
    tmp.as_file().sync_data()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

fn each_record(store: &dyn Store, slots: &[usize], each: &mut dyn FnMut(Record)) -> io::Result<()> {
    for &slot in slots {
        store
            .records(slot, each)
            .map_err(|StateError { cause, .. }| cause)?;
    }
    Ok(())
}

fn csv_row(r: &Record) -> [String; 11] {
    [
        r.campaign.clone(),
        r.target.clone(),
        r.key.clone(),
        r.to.clone(),
        r.tracking_number.clone().unwrap_or_default(),
        r.status.as_str().to_owned(),
        r.message_id.clone().unwrap_or_default(),
        r.track_uuid.clone().unwrap_or_default(),
        r.error.clone().unwrap_or_default(),
        r.attempts.to_string(),
        r.warning.clone().unwrap_or_default(),
    ]
}
