//! A compact set of `u64` keys for "seen before?" checks over millions of recipients: about 8.5
//! bytes per key (a sorted vector with a bucket index, plus a small hash set of recent keys
//! merged into it), where a `HashSet<u64>` alone takes 18 to 27.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

/// Recent keys are buffered up to this many (or an eighth of the set) before being merged into
/// the sorted vector.
const BUFFER: usize = 16 * 1024;

/// Keys per bucket of the index, on average.
const PER_BUCKET: usize = 8;

/// A set of `u64` keys.
#[derive(Debug, Default, Clone)]
pub struct SeenSet {
    /// Mixed keys, sorted.
    sorted: Vec<u64>,
    /// `index[b]..index[b + 1]` is the range of `sorted` whose top `bits` bits are `b`.
    index: Vec<u32>,
    bits: u32,
    buffer: HashSet<u64, BuildHasherDefault<Mixed>>,
}

/// Hashes a key that is already mixed: the key itself.
#[derive(Debug, Default, Clone, Copy)]
struct Mixed(u64);

impl Hasher for Mixed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, key: u64) {
        self.0 = key;
    }
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

    /// Add a key; true when it was not in the set yet.
    pub fn insert(&mut self, key: u64) -> bool {
        let key = mix(key);
        if self.in_sorted(key) || !self.buffer.insert(key) {
            return false;
        }
        if self.buffer.len() >= BUFFER.max(self.sorted.len() / 8) {
            self.merge();
        }
        true
    }

    /// How many keys the set holds.
    pub fn len(&self) -> usize {
        self.sorted.len() + self.buffer.len()
    }

    /// True when the set holds no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn in_sorted(&self, key: u64) -> bool {
        if self.index.is_empty() {
            return false;
        }
        let bucket = (key >> (64 - self.bits)) as usize;
        let (start, end) = (self.index[bucket] as usize, self.index[bucket + 1] as usize);
        self.sorted[start..end].binary_search(&key).is_ok()
    }

    /// Merge the buffer into the sorted vector, in place from the back: the vector grows by
    /// doubling, so a set of N keys never holds more than one old copy of itself.
    fn merge(&mut self) {
        let mut recent: Vec<u64> = self.buffer.drain().collect();
        recent.sort_unstable();
        let (mut i, mut j) = (self.sorted.len(), recent.len());
        self.sorted.resize(i + j, 0);
        let sorted = &mut self.sorted;
        while j > 0 {
            let k = i + j - 1;
            if i > 0 && sorted[i - 1] > recent[j - 1] {
                sorted[k] = sorted[i - 1];
                i -= 1;
            } else {
                sorted[k] = recent[j - 1];
                j -= 1;
            }
        }
        self.reindex();
    }

    fn reindex(&mut self) {
        let buckets = (self.sorted.len() / PER_BUCKET).max(1).next_power_of_two();
        self.bits = buckets.trailing_zeros().max(1);
        let buckets = 1usize << self.bits;
        self.index.clear();
        self.index.reserve_exact(buckets + 1);
        let mut at = 0usize;
        for bucket in 0..buckets {
            while at < self.sorted.len()
                && ((self.sorted[at] >> (64 - self.bits)) as usize) < bucket
            {
                at += 1;
            }
            self.index.push(at as u32);
        }
        self.index.push(self.sorted.len() as u32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The set answers exactly like a `HashSet` over many keys, across merges.
    #[test]
    fn behaves_like_a_hash_set() {
        let mut seen = SeenSet::new();
        let mut reference = HashSet::new();
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for i in 0..200_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let key = if i % 5 == 0 { i / 5 } else { x % 150_000 };
            assert_eq!(seen.insert(key), reference.insert(key), "key {key}");
        }
        assert_eq!(seen.len(), reference.len());
    }

    /// Keys that share their high bits (phone numbers of one country) are told apart.
    #[test]
    fn close_keys_are_distinct() {
        let mut seen = SeenSet::new();
        for i in 0..100_000u64 {
            assert!(seen.insert(573_000_000_000 + i * 7));
        }
        for i in 0..100_000u64 {
            assert!(!seen.insert(573_000_000_000 + i * 7));
            assert!(seen.insert(573_000_000_000 + i * 7 + 1) || i * 7 + 1 == 0);
        }
    }
}
