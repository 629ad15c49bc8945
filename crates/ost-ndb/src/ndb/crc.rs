//! The "weak" CRC-32 of [MS-PST] 5.3: the reflected polynomial 0xEDB88320 of
//! zlib's CRC, but started at 0 and never inverted, so the standard crc32
//! crates give different values unless the register is inverted around them
//! (below). Used for the header, page and block trailers.

/// CRC of `data` as [MS-PST] computes it (initial value 0, no final xor).
pub fn crc32(data: &[u8]) -> u32 {
    crc32_update(0, data)
}

/// Continue a CRC over more bytes.
///
/// `crc32fast` computes zlib's CRC (register inverted before and after) with
/// carry-less multiplication where the CPU has it, several times faster than
/// a table; every page and block read on the hot path is checked, so this
/// matters. Inverting our register on the way in and its result on the way
/// out turns one CRC into the other.
pub fn crc32_update(crc: u32, data: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new_with_initial(!crc);
    h.update(data);
    !h.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytewise definition, as a reference.
    fn reference(data: &[u8]) -> u32 {
        let mut crc = 0u32;
        for &b in data {
            crc ^= b as u32;
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    0xEDB8_8320 ^ (crc >> 1)
                } else {
                    crc >> 1
                };
            }
        }
        crc
    }

    #[test]
    fn empty_is_zero() {
        assert_eq!(crc32(&[]), 0);
    }

    #[test]
    fn differs_from_zlib_crc_by_the_pre_and_post_inversion() {
        // zlib's crc32("123456789") is 0xCBF43926; with no inversion of the
        // register before and after, the same table gives 0x2DFD2D88.
        assert_eq!(crc32(b"123456789"), 0x2DFD_2D88);
    }

    #[test]
    fn matches_bytewise_at_every_length_and_alignment() {
        // Lengths past 128 reach crc32fast's vectorised path.
        let data: Vec<u8> = (0..600u32).map(|i| (i * 31 + 7) as u8).collect();
        for start in 0..16 {
            for end in start..data.len() {
                let slice = &data[start..end];
                assert_eq!(crc32(slice), reference(slice), "{start}..{end}");
            }
        }
    }

    #[test]
    fn update_is_incremental() {
        let whole = crc32(b"hello world");
        let part = crc32_update(crc32(b"hello "), b"world");
        assert_eq!(whole, part);
    }
}
