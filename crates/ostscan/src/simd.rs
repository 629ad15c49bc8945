//! Whether a text holds 8 ASCII hex digits in a row: the prefilter before
//! the word scan for HRESULT codes in Sync Issues logs. Every byte of every
//! log goes through it, and log text almost never has such a run, so it
//! only has to say "no" fast: 64 bytes at a time with SSE2 (part of every
//! x86-64 CPU, so known at compile time), 8 at a time (SWAR) elsewhere.

/// Whether `bytes` holds 8 ASCII hex digits in a row.
pub(crate) fn has_eight_hex_digits(bytes: &[u8]) -> bool {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    return has_eight_hex_digits_sse2(bytes);
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    has_eight_hex_digits_swar(bytes)
}

/// Whether `mask` (bit i: byte i is a hex digit) has 8 set bits in a row,
/// or a run that continues the `carry` digits ending the previous chunk.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline]
fn run_of_eight(mask: u64, carry: u32) -> bool {
    // Runs of 2, 4, then 8 set bits, by doubling.
    let two = mask & (mask >> 1);
    let four = two & (two >> 2);
    let eight = four & (four >> 4);
    eight != 0 || carry + mask.trailing_ones() >= 8
}

/// The byte loop for what is left after the last whole chunk.
fn finish(rest: &[u8], mut run: u32) -> bool {
    for &b in rest {
        run = if b.is_ascii_hexdigit() { run + 1 } else { 0 };
        if run >= 8 {
            return true;
        }
    }
    false
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
fn has_eight_hex_digits_sse2(bytes: &[u8]) -> bool {
    use std::arch::x86_64::*;

    /// Bit i set where byte i of the 16 at `chunk` is an ASCII hex digit.
    #[inline(always)]
    fn mask16(chunk: &[u8; 16]) -> u64 {
        // SAFETY: SSE2 is enabled (the cfg of this function); the load
        // reads the 16 bytes of `chunk` (unaligned load).
        unsafe {
            let v = _mm_loadu_si128(chunk.as_ptr().cast());
            // Unsigned "x < n" as a signed compare with both sides moved by
            // 0x80 (SSE2 has no unsigned byte compare).
            let flip = _mm_set1_epi8(i8::MIN);
            let below = |x: __m128i, n: u8| {
                _mm_cmplt_epi8(_mm_xor_si128(x, flip), _mm_set1_epi8((n ^ 0x80) as i8))
            };
            let digit = below(_mm_sub_epi8(v, _mm_set1_epi8(b'0' as i8)), 10);
            let folded = _mm_or_si128(v, _mm_set1_epi8(0x20));
            let letter = below(_mm_sub_epi8(folded, _mm_set1_epi8(b'a' as i8)), 6);
            _mm_movemask_epi8(_mm_or_si128(digit, letter)) as u32 as u64
        }
    }

    let quarter = |chunk: &[u8], at: usize| -> u64 {
        chunk
            .get(at..at + 16)
            .and_then(|q| <&[u8; 16]>::try_from(q).ok())
            .map_or(0, mask16)
    };
    let mut carry = 0;
    let mut chunks = bytes.chunks_exact(64);
    for chunk in &mut chunks {
        let mask = quarter(chunk, 0)
            | quarter(chunk, 16) << 16
            | quarter(chunk, 32) << 32
            | quarter(chunk, 48) << 48;
        if run_of_eight(mask, carry) {
            return true;
        }
        // Under 64: a full mask has a run of eight.
        carry = mask.leading_ones();
    }
    finish(chunks.remainder(), carry)
}

/// 8 bytes at a time in a `u64` (SWAR), for CPUs without SSE2 code here.
#[cfg(any(test, not(all(target_arch = "x86_64", target_feature = "sse2"))))]
fn has_eight_hex_digits_swar(bytes: &[u8]) -> bool {
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

/// Which of the 8 bytes of `x` (little-endian) are ASCII hex digits: bit i
/// for byte i. Bytewise range tests on the low 7 bits, where adding a
/// constant of at most 0x80 cannot carry into the next byte; bytes with
/// the high bit set (UTF-8 beyond ASCII) are never digits.
#[cfg(any(test, not(all(target_arch = "x86_64", target_feature = "sse2"))))]
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
                assert_eq!(has_eight_hex_digits_swar(&bytes), naive(&bytes));
                // The run ends with the byte instead.
                let mut bytes = vec![b'g'; 144];
                bytes[at..at + 7].fill(b'c');
                bytes[at + 7] = b;
                assert_eq!(
                    has_eight_hex_digits(&bytes),
                    naive(&bytes),
                    "{b:#x} at {at}+7"
                );
                assert_eq!(has_eight_hex_digits_swar(&bytes), naive(&bytes));
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
            proptest::prop_assert_eq!(has_eight_hex_digits_swar(&bytes), naive(&bytes));
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
            proptest::prop_assert_eq!(has_eight_hex_digits_swar(&bytes), run >= 8);
        }
    }
}
