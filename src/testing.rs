//! Helpers shared by the unit tests.

/// The next number of a xorshift64 sequence: reproducible pseudo-random inputs from a fixed
/// seed (which must not be zero).
pub(crate) fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}
