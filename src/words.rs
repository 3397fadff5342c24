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
pub(crate) fn overlapping(bytes: &[u8]) -> impl Iterator<Item = (usize, u64)> + '_ {
    let whole = bytes.chunks_exact(8);
    let last = (bytes.len() >= 8 && !whole.remainder().is_empty()).then(|| bytes.len() - 8);
    let word = |at: usize| {
        let eight = bytes.get(at..at + 8).and_then(|b| b.try_into().ok());
        u64::from_le_bytes(eight.unwrap_or_default())
    };
    (0..bytes.len() / 8)
        .map(|i| i * 8)
        .chain(last)
        .map(move |at| (at, word(at)))
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
