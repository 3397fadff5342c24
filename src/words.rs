//! Byte strings read eight bytes at a time, as little-endian words, for scans that test eight
//! bytes with a few integer operations instead of one byte at a time.

/// `0x01` in every byte: `ONES * b` has `b` in every byte.
pub(crate) const ONES: u64 = 0x0101_0101_0101_0101;
/// The high bit of every byte.
pub(crate) const HIGH: u64 = 0x8080_8080_8080_8080;

/// The words of `bytes` with their offsets: the whole words, then, when the length is not a
/// multiple of eight, the last eight bytes, overlapping the word before. Nothing for fewer
/// than eight bytes. A scan that stops at the first word holding a match finds the first
/// match: the overlapped bytes had none.
pub(crate) fn overlapping(bytes: &[u8]) -> Overlapping<'_> {
    Overlapping { bytes, at: 0 }
}

/// The iterator of [`overlapping`]: one small `next` that inlines into a scan's loop (a
/// `chain` of the whole words and the last one did not, costing a call per string).
pub(crate) struct Overlapping<'a> {
    bytes: &'a [u8],
    /// Where the next whole word would start.
    at: usize,
}

impl Iterator for Overlapping<'_> {
    type Item = (usize, u64);

    #[inline]
    fn next(&mut self) -> Option<(usize, u64)> {
        let len = self.bytes.len();
        if self.at >= len || len < 8 {
            return None;
        }
        let at = self.at.min(len - 8);
        self.at += 8;
        let eight = self.bytes.get(at..at + 8)?.try_into().ok()?;
        Some((at, u64::from_le_bytes(eight)))
    }
}

#[cfg(test)]
mod tests {
    use super::overlapping;

    /// Every length gets whole words, then the overlapping last eight bytes when needed.
    #[test]
    fn words_cover_every_byte_once_or_overlapping() {
        let bytes: Vec<u8> = (1..=20).collect();
        let offsets = |n: usize| {
            overlapping(&bytes[..n])
                .map(|(at, _)| at)
                .collect::<Vec<_>>()
        };
        assert_eq!(offsets(7), Vec::<usize>::new());
        assert_eq!(offsets(8), [0]);
        assert_eq!(offsets(13), [0, 5]);
        assert_eq!(offsets(16), [0, 8]);
        assert_eq!(offsets(20), [0, 8, 12]);
        let words: Vec<u64> = overlapping(&bytes[..13]).map(|(_, w)| w).collect();
        assert_eq!(words[1], u64::from_le_bytes([6, 7, 8, 9, 10, 11, 12, 13]));
    }
}
