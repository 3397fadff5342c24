//! A compact set of `u64` keys for "seen before?" checks over millions of recipients.
//!
//! In memory, an open-addressing hash table of mixed keys, at most half full (16 bytes per
//! key; a `HashSet<u64>` takes 18 to 27): one cache miss per lookup. Past [`MEMORY_KEYS`]
//! keys the table's keys are spilled, sorted, to an unnamed temporary file, so memory stays
//! bounded whatever the number of recipients: spilled keys are found through a fixed-size
//! filter and one page read per file.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;

/// Keys kept in memory before they are spilled to disk (in a table of twice as many slots,
/// 4 MiB).
pub const MEMORY_KEYS: usize = 1 << 18;

/// Slots of a new table.
const FIRST_SLOTS: usize = 1 << 10;

/// Keys per page of a spilled run: one read of 4 KiB finds a key.
const PAGE: usize = 512;

/// Words of the filter over spilled keys (4 MiB).
const FILTER_WORDS: usize = 1 << 19;

/// A set of `u64` keys.
#[derive(Debug)]
pub struct SeenSet {
    /// Mixed keys by their top bits, linear probing; 0 is an empty slot.
    table: Vec<u64>,
    /// Keys in the table.
    in_table: usize,
    /// The key that mixes to 0 (it cannot sit in the table) was seen.
    zero: bool,
    /// Keys held in memory before a spill.
    limit: usize,
    /// Keys written to disk, if any were.
    spilled: Option<Box<Spilled>>,
    /// A spill failed (no room for temporary files): everything stays in memory.
    spill_failed: bool,
}

impl Default for SeenSet {
    fn default() -> Self {
        SeenSet::with_limit(MEMORY_KEYS)
    }
}

/// Keys spilled to disk: sorted runs, and a filter that rules out most keys without a read.
#[derive(Debug)]
struct Spilled {
    /// One word per filter block; a key sets four bits of one word.
    filter: Vec<u64>,
    runs: Vec<Run>,
    /// Scratch space for one page.
    page: Vec<u8>,
}

/// A sorted run of keys in a temporary file (little-endian `u64`s).
#[derive(Debug)]
struct Run {
    file: File,
    len: usize,
    /// The first key of every page.
    fences: Vec<u64>,
    /// How many spills were merged into it (runs of equal level are merged).
    level: u32,
}

/// A bijection of `u64` that spreads keys evenly (the splitmix64 finaliser): distinct keys
/// stay distinct, and phone numbers, which share long prefixes, fill the buckets evenly.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

impl SeenSet {
    /// An empty set.
    pub fn new() -> SeenSet {
        SeenSet::default()
    }

    /// An empty set that spills to disk past `limit` keys in memory (rounded up to a power of
    /// two).
    pub fn with_limit(limit: usize) -> SeenSet {
        SeenSet {
            table: Vec::new(),
            in_table: 0,
            zero: false,
            limit: limit.max(1).next_power_of_two(),
            spilled: None,
            spill_failed: false,
        }
    }

    /// Empty the set, keeping its memory (the table, and the filter once keys were spilled)
    /// for the next keys: campaigns run one after the other reuse the same memory, instead of
    /// each taking new pages while the last one's wait to go back to the system.
    pub fn clear(&mut self) {
        self.table.fill(0);
        self.in_table = 0;
        self.zero = false;
        self.spill_failed = false;
        if let Some(spilled) = self.spilled.as_mut() {
            spilled.filter.fill(0);
            spilled.runs.clear();
        }
    }

    /// Add a key; true when it was not in the set yet. An error when a spilled run could not
    /// be read back: the set cannot tell, and the key is not added.
    pub fn insert(&mut self, key: u64) -> std::io::Result<bool> {
        let key = mix(key);
        if key == 0 {
            return Ok(!std::mem::replace(&mut self.zero, true));
        }
        if self.table.is_empty() {
            self.table = vec![0; FIRST_SLOTS];
        }
        let slot = match self.find(key) {
            Ok(_) => return Ok(false),
            Err(empty) => empty,
        };
        if let Some(spilled) = self.spilled.as_mut()
            && spilled.contains(key)?
        {
            return Ok(false);
        }
        self.table[slot] = key;
        self.in_table += 1;
        if self.in_table * 2 > self.table.len() {
            self.make_room();
        }
        Ok(true)
    }

    /// Read the memory [`SeenSet::insert`] of `key` reads first (its table slot and, once
    /// keys were spilled, its filter word) and return it. Touching the keys of the next
    /// inserts together lets their cache misses overlap, instead of one at a time.
    pub fn touch(&self, key: u64) -> u64 {
        let key = mix(key);
        let slot = match self.table.len() {
            0 => return 0,
            len => (key >> (64 - len.trailing_zeros())) as usize,
        };
        let word = self
            .spilled
            .as_ref()
            .and_then(|s| s.filter.get(filter_word(key)).copied())
            .unwrap_or(0);
        self.table.get(slot).copied().unwrap_or(0) ^ word
    }

    /// The key's slot, or the empty slot where it would go.
    fn find(&self, key: u64) -> Result<usize, usize> {
        let mask = self.table.len() - 1;
        let mut slot = (key >> (64 - self.table.len().trailing_zeros())) as usize;
        loop {
            match self.table[slot] {
                0 => return Err(slot),
                k if k == key => return Ok(slot),
                _ => slot = (slot + 1) & mask,
            }
        }
    }

    /// The table is half full: double it, or spill it past the limit.
    fn make_room(&mut self) {
        if self.in_table > self.limit && !self.spill_failed {
            match self.spill() {
                Ok(()) => return,
                Err(_) => self.spill_failed = true,
            }
        }
        let doubled = vec![0; self.table.len() * 2];
        let old = std::mem::replace(&mut self.table, doubled);
        for key in old.into_iter().filter(|&k| k != 0) {
            if let Err(slot) = self.find(key) {
                self.table[slot] = key;
            }
        }
    }

    /// How many keys the set holds.
    pub fn len(&self) -> usize {
        let spilled = self
            .spilled
            .as_ref()
            .map_or(0, |s| s.runs.iter().map(|r| r.len).sum());
        self.in_memory() + spilled
    }

    /// True when the set holds no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many keys are held in memory.
    pub fn in_memory(&self) -> usize {
        self.in_table + usize::from(self.zero)
    }

    /// Write the table's keys, sorted, to a new run and empty the table (keeping its memory).
    fn spill(&mut self) -> std::io::Result<()> {
        let mut keys: Vec<u64> = self.table.iter().copied().filter(|&k| k != 0).collect();
        keys.sort_unstable();
        let run = Run::write(&keys, 0)?;
        let spilled = self.spilled.get_or_insert_with(|| {
            Box::new(Spilled {
                filter: vec![0; FILTER_WORDS],
                runs: Vec::new(),
                page: vec![0; PAGE * 8],
            })
        });
        for &key in &keys {
            spilled.filter[filter_word(key)] |= filter_bits(key);
        }
        spilled.runs.push(run);
        spilled.compact()?;
        self.table.fill(0);
        self.in_table = 0;
        Ok(())
    }
}

/// The filter word of a mixed key (its top bits).
fn filter_word(key: u64) -> usize {
    (key >> (64 - FILTER_WORDS.trailing_zeros())) as usize
}

/// The four bits a mixed key sets in its filter word (from its low bits).
fn filter_bits(key: u64) -> u64 {
    (0..4).fold(0, |bits, i| bits | 1 << ((key >> (6 * i)) & 63))
}

impl Spilled {
    fn contains(&mut self, key: u64) -> std::io::Result<bool> {
        let bits = filter_bits(key);
        if self.filter[filter_word(key)] & bits != bits {
            return Ok(false);
        }
        for run in &self.runs {
            if run.contains(key, &mut self.page)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Merge runs of equal level, so that there are at most log2(spills) of them.
    fn compact(&mut self) -> std::io::Result<()> {
        while let [.., a, b] = self.runs.as_slice()
            && a.level == b.level
        {
            let merged = Run::merge(a, b)?;
            self.runs.truncate(self.runs.len() - 2);
            self.runs.push(merged);
        }
        Ok(())
    }
}

impl Run {
    /// Write sorted keys to an unnamed temporary file.
    fn write(keys: &[u64], level: u32) -> std::io::Result<Run> {
        let mut writer = RunWriter::new(level)?;
        for &key in keys {
            writer.push(key)?;
        }
        writer.finish()
    }

    /// Merge two runs into a new one.
    fn merge(a: &Run, b: &Run) -> std::io::Result<Run> {
        let mut writer = RunWriter::new(a.level.max(b.level) + 1)?;
        let (mut a_keys, mut b_keys) = (a.keys()?, b.keys()?);
        let (mut x, mut y) = (a_keys.next().transpose()?, b_keys.next().transpose()?);
        loop {
            match (x, y) {
                (Some(k), Some(l)) if k <= l => {
                    writer.push(k)?;
                    x = a_keys.next().transpose()?;
                    if k == l {
                        y = b_keys.next().transpose()?;
                    }
                }
                (_, Some(l)) => {
                    writer.push(l)?;
                    y = b_keys.next().transpose()?;
                }
                (Some(k), None) => {
                    writer.push(k)?;
                    x = a_keys.next().transpose()?;
                }
                (None, None) => break,
            }
        }
        writer.finish()
    }

    /// The run's keys, in order.
    fn keys(&self) -> std::io::Result<impl Iterator<Item = std::io::Result<u64>> + '_> {
        let mut file = self.file.try_clone()?;
        file.seek(SeekFrom::Start(0))?;
        let mut reader = BufReader::with_capacity(1 << 16, file);
        let mut left = self.len;
        Ok(std::iter::from_fn(move || {
            if left == 0 {
                return None;
            }
            left -= 1;
            let mut word = [0u8; 8];
            Some(
                reader
                    .read_exact(&mut word)
                    .map(|()| u64::from_le_bytes(word)),
            )
        }))
    }

    fn contains(&self, key: u64, page: &mut [u8]) -> std::io::Result<bool> {
        let Some(at) = self.fences.partition_point(|&f| f <= key).checked_sub(1) else {
            return Ok(false);
        };
        let count = PAGE.min(self.len - at * PAGE);
        let bytes = &mut page[..count * 8];
        self.file.read_exact_at(bytes, (at * PAGE * 8) as u64)?;
        let (mut low, mut high) = (0, count);
        while low < high {
            let mid = (low + high) / 2;
            let word: [u8; 8] = bytes[mid * 8..mid * 8 + 8].try_into().unwrap_or_default();
            match u64::from_le_bytes(word).cmp(&key) {
                std::cmp::Ordering::Less => low = mid + 1,
                std::cmp::Ordering::Greater => high = mid,
                std::cmp::Ordering::Equal => return Ok(true),
            }
        }
        Ok(false)
    }
}

/// Writes one run, noting its fences.
struct RunWriter {
    out: BufWriter<File>,
    len: usize,
    fences: Vec<u64>,
    level: u32,
}

impl RunWriter {
    fn new(level: u32) -> std::io::Result<RunWriter> {
        Ok(RunWriter {
            out: BufWriter::with_capacity(1 << 16, tempfile::tempfile()?),
            len: 0,
            fences: Vec::new(),
            level,
        })
    }

    fn push(&mut self, key: u64) -> std::io::Result<()> {
        if self.len.is_multiple_of(PAGE) {
            self.fences.push(key);
        }
        self.len += 1;
        self.out.write_all(&key.to_le_bytes())
    }

    fn finish(self) -> std::io::Result<Run> {
        let file = self.out.into_inner().map_err(|e| e.into_error())?;
        Ok(Run {
            file,
            len: self.len,
            fences: self.fences,
            level: self.level,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::testing::xorshift;

    /// Past its memory limit the set spills to disk and still answers exactly like a
    /// `HashSet`, across many spills and merges of runs, also with keys touched in between;
    /// memory holds at most the limit (plus the key that went over it).
    #[test]
    fn spilled_set_behaves_like_a_hash_set() {
        let limit = 2_048;
        let mut seen = SeenSet::with_limit(limit);
        assert_eq!(seen.touch(7), 0);
        let mut reference = HashSet::new();
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for i in 0..150_000u64 {
            let x = xorshift(&mut x);
            let key = if i % 3 == 0 { x % 40_000 } else { x };
            std::hint::black_box(seen.touch(key ^ 1));
            assert_eq!(
                seen.insert(key).expect("readable"),
                reference.insert(key),
                "key {key} at {i}"
            );
            assert!(
                seen.in_memory() <= limit + 1,
                "{} in memory",
                seen.in_memory()
            );
        }
        assert_eq!(seen.len(), reference.len());
        let runs = seen.spilled.as_ref().map_or(0, |s| s.runs.len());
        assert!(!seen.spill_failed);
        assert!((1..=6).contains(&runs), "{runs} runs");
        for key in reference.iter().take(5_000) {
            assert!(!seen.insert(*key).expect("readable"));
        }
    }

    /// The set answers exactly like a `HashSet` over many keys, across table growths.
    #[test]
    fn behaves_like_a_hash_set() {
        let mut seen = SeenSet::new();
        let mut reference = HashSet::new();
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for i in 0..200_000u64 {
            let x = xorshift(&mut x);
            let key = if i % 5 == 0 { i / 5 } else { x % 150_000 };
            assert_eq!(
                seen.insert(key).expect("readable"),
                reference.insert(key),
                "key {key}"
            );
        }
        assert_eq!(seen.len(), reference.len());
    }

    /// Keys that share their high bits (phone numbers of one country) are told apart.
    #[test]
    fn close_keys_are_distinct() {
        let mut seen = SeenSet::new();
        for i in 0..100_000u64 {
            assert!(seen.insert(573_000_000_000 + i * 7).expect("readable"));
        }
        for i in 0..100_000u64 {
            assert!(!seen.insert(573_000_000_000 + i * 7).expect("readable"));
            assert!(seen.insert(573_000_000_000 + i * 7 + 1).expect("readable") || i * 7 + 1 == 0);
        }
    }

    /// A spilled run that cannot be read back is an error, never "not seen" (which could send
    /// a message twice), and the key is not added.
    #[test]
    fn an_unreadable_run_is_an_error() {
        let mut seen = SeenSet::with_limit(64);
        for key in 0..1_000u64 {
            assert!(seen.insert(key).expect("readable"));
        }
        let spilled = seen.spilled.as_mut().expect("keys were spilled");
        let dir = tempfile::tempdir().expect("temporary folder");
        for run in &mut spilled.runs {
            // Write-only: every read of it fails.
            run.file = File::create(dir.path().join("run")).expect("file");
        }
        let before = seen.len();
        let spilled_key = (0..1_000u64)
            .find(|&k| seen.find(mix(k)).is_err() && mix(k) != 0)
            .expect("a key that is only on disk");
        assert!(seen.insert(spilled_key).is_err());
        assert_eq!(seen.len(), before);
    }

    /// A cleared set answers like a new one, whether or not it had spilled keys to disk.
    #[test]
    fn a_cleared_set_is_empty() {
        let mut seen = SeenSet::with_limit(64);
        for key in 0..1_000u64 {
            assert!(seen.insert(key).expect("readable"));
        }
        assert!(seen.spilled.is_some());
        seen.clear();
        assert_eq!(seen.len(), 0);
        assert!(seen.is_empty());
        for key in (0..1_000u64).rev() {
            assert!(seen.insert(key).expect("readable"), "key {key}");
            assert!(!seen.insert(key).expect("readable"), "key {key}");
        }
        assert_eq!(seen.len(), 1_000);
    }
}
