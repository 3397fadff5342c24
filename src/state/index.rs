//! A compact index of a slot's recipients: 16 bytes a key (an [`Entry`]), whatever the length of the keys,
//! so that a million recipients take 16 MB.

use super::Status;

/// A recipient's latest entry: its outcome, attempts and the digest of its message as sent,
/// packed in 64 bits (status 2, digest known 1, attempts 13, digest 48).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry(u64);

const DIGEST_BITS: u32 = 48;
const DIGEST_MASK: u64 = (1 << DIGEST_BITS) - 1;
const ATTEMPT_BITS: u32 = 13;
const MAX_ATTEMPTS: u32 = (1 << ATTEMPT_BITS) - 1;

impl Entry {
    /// An entry; attempts saturate at 8,191 and the digest keeps its low 48 bits.
    pub fn new(status: Status, attempts: u32, digest: Option<u64>) -> Entry {
        let status = match status {
            Status::Sent => 0,
            Status::Failed => 1,
            Status::Unsent => 2,
            Status::Uncertain => 3,
        };
        let known = u64::from(digest.is_some());
        let attempts = u64::from(attempts.min(MAX_ATTEMPTS));
        Entry(
            status << 62
                | known << 61
                | attempts << DIGEST_BITS
                | (digest.unwrap_or(0) & DIGEST_MASK),
        )
    }

    /// The outcome.
    pub fn status(self) -> Status {
        match self.0 >> 62 {
            0 => Status::Sent,
            1 => Status::Failed,
            2 => Status::Unsent,
            _ => Status::Uncertain,
        }
    }

    /// Attempts so far.
    pub fn attempts(self) -> u32 {
        ((self.0 >> DIGEST_BITS) & u64::from(MAX_ATTEMPTS)) as u32
    }

    /// Whether a message with `digest` differs from the one recorded (false when the
    /// recorded digest is unknown, as in a legacy journal).
    pub fn changed(self, digest: u64) -> bool {
        self.0 & (1 << 61) != 0 && self.0 & DIGEST_MASK != digest & DIGEST_MASK
    }
}

/// The hash a key is indexed by.
pub fn key_hash(key: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(key.as_bytes())
}

/// Entries by key hash. Entries are appended as the journal is read, and compacted (sorted,
/// the last entry of each key kept) whenever the appended ones outnumber the kept ones, so
/// that memory follows the number of keys, not of lines.
#[derive(Debug)]
pub struct KeyIndex<V = Entry> {
    entries: Vec<(u64, V)>,
    /// How many leading entries are sorted and unique.
    sorted: usize,
}

/// Below this many entries the index is not compacted until it is finished.
const COMPACT_FROM: usize = 1 << 16;

impl<V> Default for KeyIndex<V> {
    fn default() -> Self {
        KeyIndex {
            entries: Vec::new(),
            sorted: 0,
        }
    }
}

impl<V: Copy> KeyIndex<V> {
    /// Record `entry` as the latest of `key`.
    pub fn insert(&mut self, key: &str, entry: V) {
        self.insert_hash(key_hash(key), entry);
    }

    /// [`KeyIndex::insert`] by hash.
    pub fn insert_hash(&mut self, hash: u64, entry: V) {
        self.entries.push((hash, entry));
        let appended = self.entries.len() - self.sorted;
        if appended >= COMPACT_FROM && appended > self.sorted {
            self.compact();
        }
    }

    /// Sort and keep the last entry of each key (a stable sort keeps their order).
    fn compact(&mut self) {
        self.entries.sort_by_key(|(hash, _)| *hash);
        let mut kept = 0;
        for i in 0..self.entries.len() {
            let last_of_key = self
                .entries
                .get(i + 1)
                .is_none_or(|next| next.0 != self.entries[i].0);
            if last_of_key {
                self.entries[kept] = self.entries[i];
                kept += 1;
            }
        }
        self.entries.truncate(kept);
        self.sorted = kept;
    }

    /// Compact what was appended and give back spare memory; call before looking up.
    pub fn finish(&mut self) {
        if self.sorted != self.entries.len() {
            self.compact();
        }
        self.entries.shrink_to_fit();
    }

    /// The latest entry of `key` ([`KeyIndex::finish`] first).
    pub fn get(&self, key: &str) -> Option<V> {
        self.get_hash(key_hash(key))
    }

    /// [`KeyIndex::get`] by hash.
    pub fn get_hash(&self, hash: u64) -> Option<V> {
        let sorted = &self.entries[..self.sorted];
        sorted
            .binary_search_by_key(&hash, |(h, _)| *h)
            .ok()
            .map(|at| sorted[at].1)
    }

    /// Every entry, in hash order.
    pub fn entries(&self) -> impl Iterator<Item = V> + '_ {
        self.entries[..self.sorted].iter().map(|(_, e)| *e)
    }

    /// How many keys.
    pub fn len(&self) -> usize {
        self.sorted
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.sorted == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An entry gives back what it was made of, with attempts saturating and the digest cut to 48 bits.
    #[test]
    fn entries_pack_and_unpack() {
        for status in [
            Status::Sent,
            Status::Failed,
            Status::Unsent,
            Status::Uncertain,
        ] {
            let e = Entry::new(status, 7, Some(u64::MAX));
            assert_eq!(e.status(), status);
            assert_eq!(e.attempts(), 7);
            assert!(!e.changed(u64::MAX));
            assert!(e.changed(0));
        }
        assert_eq!(Entry::new(Status::Sent, 1_000_000, None).attempts(), 8191);
    }

    /// The last entry of a key wins, across compactions, and memory follows the keys.
    #[test]
    fn last_entry_wins_across_compactions() {
        let mut index = KeyIndex::default();
        let keys = 100_000u32;
        for round in 0..3u32 {
            for k in 0..keys {
                let status = if round == 2 && k % 2 == 0 {
                    Status::Sent
                } else {
                    Status::Uncertain
                };
                index.insert(&k.to_string(), Entry::new(status, round + 1, None));
            }
        }
        index.finish();
        assert_eq!(index.len(), keys as usize);
        assert_eq!(index.get("0").map(Entry::status), Some(Status::Sent));
        assert_eq!(index.get("1").map(Entry::status), Some(Status::Uncertain));
        assert_eq!(index.get("99999").map(Entry::attempts), Some(3));
        assert_eq!(index.get("100000"), None);
    }
}
