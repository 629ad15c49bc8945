//! The "weak" CRC-32 of [MS-PST] 5.3: the reflected polynomial 0xEDB88320 of
//! zlib's CRC, but started at 0 and never inverted, so the standard crc32
//! crates give different values. Used for the header, page and block trailers.

const fn make_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
}

const TABLE: [u32; 256] = make_table();

/// CRC of `data` as [MS-PST] computes it (initial value 0, no final xor).
pub fn crc32(data: &[u8]) -> u32 {
    crc32_update(0, data)
}

/// Continue a CRC over more bytes.
pub fn crc32_update(mut crc: u32, data: &[u8]) -> u32 {
    for &b in data {
        crc = TABLE[((crc ^ b as u32) & 0xFF) as usize] ^ (crc >> 8);
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn update_is_incremental() {
        let whole = crc32(b"hello world");
        let part = crc32_update(crc32(b"hello "), b"world");
        assert_eq!(whole, part);
    }
}
