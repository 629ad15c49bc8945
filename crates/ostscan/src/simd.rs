//! Word-at-a-time code, each next to the scalar code it must equal (the
//! reference its tests compare it with), kept only where it pays 5% or more
//! of a scan (docs/performance.md, "Vector code").
//!
//! Whether a text holds 8 ASCII hex digits in a row: the prefilter before
//! the word scan for HRESULT codes in Sync Issues logs. Every byte of every
//! log goes through it, and log text almost never has such a run, so it
//! only has to say "no" fast: 8 bytes at a time in a `u64` (SWAR), which
//! runs 5% fewer instructions in a whole scan than the byte loop. (SSE2,
//! 64 bytes at a time, saved another 1% and was removed.)

/// Whether `bytes` holds 8 ASCII hex digits in a row.
pub(crate) fn has_eight_hex_digits(bytes: &[u8]) -> bool {
    // Hex digits in a row up to the end of the previous chunk. A run of 8
    // either fills a chunk or ends in one chunk and goes on in the next.
    let mut carry = 0;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let mask = hex_digit_mask(u64::from_le_bytes(word));
        if carry + mask.trailing_ones() >= 8 {
            return true;
        }
        carry = mask.leading_ones();
    }
    finish(chunks.remainder(), carry)
}

/// The scalar reference: [`has_eight_hex_digits`] a byte at a time.
#[cfg(test)]
fn has_eight_hex_digits_bytes(bytes: &[u8]) -> bool {
    finish(bytes, 0)
}

/// The byte loop, from a run of `run` digits before `rest`.
fn finish(rest: &[u8], mut run: u32) -> bool {
    for &b in rest {
        run = if b.is_ascii_hexdigit() { run + 1 } else { 0 };
        if run >= 8 {
            return true;
        }
    }
    false
}

/// Which of the 8 bytes of `x` (little-endian) are ASCII hex digits: bit i
/// for byte i. Bytewise range tests on the low 7 bits, where adding a
/// constant of at most 0x80 cannot carry into the next byte; bytes with
/// the high bit set (UTF-8 beyond ASCII) are never digits.
fn hex_digit_mask(x: u64) -> u8 {
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const fn each(b: u8) -> u64 {
        0x0101_0101_0101_0101 * b as u64
    }
    // High bit of each byte set where that byte of `t` is >= `c`.
    let at_least = |t: u64, c: u8| t.wrapping_add(each(0x80 - c)) & HIGH;
    let t = x & LOW7;
    let digit = at_least(t, b'0') & !at_least(t, b'9' + 1);
    let folded = t | each(0x20);
    let letter = at_least(folded, b'a') & !at_least(folded, b'f' + 1);
    let hex = (digit | letter) & !x & HIGH;
    // Gather the eight high bits into one byte.
    ((hex >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_digit_mask_marks_exactly_the_hex_digits() {
        for b in 0..=255u8 {
            for at in 0..8 {
                let mut word = [b'g'; 8];
                word[at] = b;
                let want = if b.is_ascii_hexdigit() { 1 << at } else { 0 };
                assert_eq!(
                    hex_digit_mask(u64::from_le_bytes(word)),
                    want,
                    "byte {b:#x} at {at}"
                );
            }
        }
    }

    fn naive(bytes: &[u8]) -> bool {
        bytes
            .windows(8)
            .any(|w| w.iter().all(u8::is_ascii_hexdigit))
    }

    #[test]
    fn every_byte_value_at_every_position_of_a_chunk() {
        // One byte that is (or is not) a digit inside a run of 7 digits, at
        // every position of a 64-byte chunk and across its ends.
        for b in 0..=255u8 {
            for at in 0..80 {
                let mut bytes = vec![b'g'; 144];
                bytes[at + 1..at + 8].fill(b'7');
                bytes[at] = b;
                assert_eq!(
                    has_eight_hex_digits(&bytes),
                    naive(&bytes),
                    "{b:#x} at {at}"
                );
                assert_eq!(has_eight_hex_digits_bytes(&bytes), naive(&bytes));
                // The run ends with the byte instead.
                let mut bytes = vec![b'g'; 144];
                bytes[at..at + 7].fill(b'c');
                bytes[at + 7] = b;
                assert_eq!(
                    has_eight_hex_digits(&bytes),
                    naive(&bytes),
                    "{b:#x} at {at}+7"
                );
                assert_eq!(has_eight_hex_digits_bytes(&bytes), naive(&bytes));
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn eight_hex_digits_found_at_any_alignment(
            bytes in proptest::collection::vec(
                proptest::sample::select(b"0a9FfGx \xe9-".to_vec()), 0..300),
        ) {
            proptest::prop_assert_eq!(has_eight_hex_digits(&bytes), naive(&bytes));
            proptest::prop_assert_eq!(has_eight_hex_digits_bytes(&bytes), naive(&bytes));
        }

        #[test]
        fn long_runs_across_chunks(
            lead in 0usize..140,
            run in 0usize..20,
            tail in 0usize..70,
        ) {
            let mut bytes = vec![b' '; lead];
            bytes.extend(std::iter::repeat_n(b'E', run));
            bytes.extend(std::iter::repeat_n(b'.', tail));
            proptest::prop_assert_eq!(has_eight_hex_digits(&bytes), run >= 8);
            proptest::prop_assert_eq!(has_eight_hex_digits_bytes(&bytes), run >= 8);
        }
    }
}
