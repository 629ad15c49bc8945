//! Hand-written vector code, each next to the scalar code it must equal
//! (the reference its tests compare it with). Kept only where it pays 5% or
//! more of a scan on real-sized stores (docs/performance.md, "Vector
//! code"): today the permute decoding of blocks.

/// Substitute every byte of `data` through `table`. Every block of a
/// permute-encoded file goes through here; with AVX2 it takes 32 bytes at
/// a time: a whole scan takes 13% less CPU than with the byte loop (200k
/// messages with real-sized bodies, docs/performance.md, "Vector code").
pub(crate) fn permute(data: &mut [u8], table: &[u8; 256]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, checked just above (std caches it).
        unsafe { permute_avx2(data, table) };
        return;
    }
    permute_bytes(data, table);
}

/// The scalar reference: one table lookup a byte.
pub(crate) fn permute_bytes(data: &mut [u8], table: &[u8; 256]) {
    for b in data {
        *b = table[*b as usize];
    }
}

/// [`permute_bytes`], 32 bytes at a time. The table is 16 rows of 16
/// bytes; a byte shuffle looks a row up by the low nibble of each byte,
/// and returns 0 for a byte whose bit 7 is set. So the rows 0-7 are looked
/// up by the bytes as they are (0 for bytes from 0x80), the rows 8-15 by
/// the bytes with bit 7 flipped (0 for bytes below 0x80), and each half's
/// eight lookups are narrowed to one by a tree of blends on bits 4, 5 and
/// 6 of the byte (a blend takes each byte from one of two vectors by the
/// top bit of a mask byte: the byte shifted left by 3, 2 and 1). The two
/// halves, each zero where the other holds the value, are ORed. 14 blends
/// and 16 shuffles a vector, where a compare, an AND and an OR per row
/// took 1.6x as long; 3.6x the speed of the byte loop.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn permute_avx2(data: &mut [u8], table: &[u8; 256]) {
    use std::arch::x86_64::*;
    let mut rows = [_mm256_setzero_si256(); 16];
    for (row, bytes) in rows.iter_mut().zip(table.chunks_exact(16)) {
        // SAFETY: `bytes` is 16 bytes long; the load is unaligned.
        let row16 = unsafe { _mm_loadu_si128(bytes.as_ptr().cast()) };
        *row = _mm256_broadcastsi128_si256(row16);
    }
    let flip = _mm256_set1_epi8(i8::MIN);
    let mut chunks = data.chunks_exact_mut(32);
    for chunk in &mut chunks {
        // SAFETY: `chunk` is 32 bytes long; load and store are unaligned.
        let v = unsafe { _mm256_loadu_si256(chunk.as_ptr().cast()) };
        let flipped = _mm256_xor_si256(v, flip);
        // Bit 7 of each byte of `bit4` is bit 4 of that byte of `v`, and so
        // on (a 16-bit shift carries the low byte's bits into the high
        // byte's low bits only).
        let bit4 = _mm256_slli_epi16(v, 3);
        let bit5 = _mm256_slli_epi16(v, 2);
        let bit6 = _mm256_slli_epi16(v, 1);
        // Each half: blends of row pairs by bit 4, of those by bit 5, then
        // bit 6. Plain loops, not closures: a closure takes on the
        // function's target features only from Rust 1.86, and this crate
        // builds with 1.85.
        let mut halves = [_mm256_setzero_si256(); 2];
        for (half, (half_rows, index)) in halves
            .iter_mut()
            .zip([(&rows[..8], v), (&rows[8..], flipped)])
        {
            let mut pairs = [_mm256_setzero_si256(); 4];
            for (k, pair) in pairs.iter_mut().enumerate() {
                *pair = _mm256_blendv_epi8(
                    _mm256_shuffle_epi8(half_rows[2 * k], index),
                    _mm256_shuffle_epi8(half_rows[2 * k + 1], index),
                    bit4,
                );
            }
            let low = _mm256_blendv_epi8(pairs[0], pairs[1], bit5);
            let high = _mm256_blendv_epi8(pairs[2], pairs[3], bit5);
            *half = _mm256_blendv_epi8(low, high, bit6);
        }
        let out = _mm256_or_si256(halves[0], halves[1]);
        // SAFETY: as for the load.
        unsafe { _mm256_storeu_si256(chunk.as_mut_ptr().cast(), out) };
    }
    permute_bytes(chunks.into_remainder(), table);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ndb::crypt::{MPBB_I, MPBB_R};

    #[test]
    fn permute_is_the_byte_substitution_at_every_length_and_offset() {
        #[cfg(target_arch = "x86_64")]
        if !std::arch::is_x86_feature_detected!("avx2") {
            println!("note: no AVX2 here; only the byte loop is tested");
        }
        // Every byte value, at every position of a 32-byte lane, in slices
        // that start at any offset and end anywhere.
        let data: Vec<u8> = (0..700u32).map(|i| (i * 37 + i / 256) as u8).collect();
        for table in [&MPBB_I, &MPBB_R] {
            for start in 0..33 {
                for len in (0..100).chain([255, 256, 257, 640]) {
                    let Some(slice) = data.get(start..start + len) else {
                        continue;
                    };
                    let mut fast = slice.to_vec();
                    permute(&mut fast, table);
                    let want: Vec<u8> = slice.iter().map(|&b| table[b as usize]).collect();
                    assert_eq!(fast, want, "start {start} len {len}");
                }
            }
        }
    }
}
