//! A compact set of `u64` keys for "seen before?" checks over millions of recipients: about 8
//! bytes per key (a sorted vector, plus a small hash set of recent keys merged into it), where
//! a `HashSet<u64>` alone takes 18 to 27.

use std::collections::HashSet;

/// Recent keys are buffered up to this many (or an eighth of the set) before being merged into
/// the sorted vector.
const BUFFER: usize = 16 * 1024;

/// A set of `u64` keys.
#[derive(Debug, Default, Clone)]
pub struct SeenSet {
    sorted: Vec<u64>,
    buffer: HashSet<u64>,
}

impl SeenSet {
    /// An empty set.
    pub fn new() -> SeenSet {
        SeenSet::default()
    }

    /// Add a key; true when it was not in the set yet.
    pub fn insert(&mut self, key: u64) -> bool {
        if self.sorted.binary_search(&key).is_ok() || !self.buffer.insert(key) {
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

    fn merge(&mut self) {
        let mut recent: Vec<u64> = self.buffer.drain().collect();
        recent.sort_unstable();
        let mut merged = Vec::with_capacity(self.sorted.len() + recent.len());
        let (mut i, mut j) = (0, 0);
        while i < self.sorted.len() && j < recent.len() {
            if self.sorted[i] <= recent[j] {
                merged.push(self.sorted[i]);
                i += 1;
            } else {
                merged.push(recent[j]);
                j += 1;
            }
        }
        merged.extend_from_slice(&self.sorted[i..]);
        merged.extend_from_slice(&recent[j..]);
        self.sorted = merged;
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
}
