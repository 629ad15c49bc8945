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

/// Slicing-by-8 tables: TABLES[k][b] is the CRC register contribution of
/// byte b followed by k zero bytes, so eight bytes fold in one step.
const fn make_tables() -> [[u32; 256]; 8] {
    let mut t = [[0u32; 256]; 8];
    t[0] = make_table();
    let mut k = 1;
    while k < 8 {
        let mut i = 0;
        while i < 256 {
            let prev = t[k - 1][i];
            t[k][i] = (prev >> 8) ^ t[0][(prev & 0xFF) as usize];
            i += 1;
        }
        k += 1;
    }
    t
}

static TABLES: [[u32; 256]; 8] = make_tables();

/// CRC of `data` as [MS-PST] computes it (initial value 0, no final xor).
pub fn crc32(data: &[u8]) -> u32 {
    crc32_update(0, data)
}

/// Continue a CRC over more bytes.
pub fn crc32_update(mut crc: u32, data: &[u8]) -> u32 {
    let t = &TABLES;
    let mut chunks = data.chunks_exact(8);
    for c in chunks.by_ref() {
        let lo = crc ^ u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        crc = t[7][(lo & 0xFF) as usize]
            ^ t[6][((lo >> 8) & 0xFF) as usize]
            ^ t[5][((lo >> 16) & 0xFF) as usize]
            ^ t[4][(lo >> 24) as usize]
            ^ t[3][c[4] as usize]
            ^ t[2][c[5] as usize]
            ^ t[1][c[6] as usize]
            ^ t[0][c[7] as usize];
    }
    for &b in chunks.remainder() {
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
    fn sliced_matches_bytewise_at_every_length_and_alignment() {
        let data: Vec<u8> = (0..300u32).map(|i| (i * 31 + 7) as u8).collect();
        for start in 0..8 {
            for end in start..data.len() {
                let mut slow = 0u32;
                for &b in &data[start..end] {
                    slow = TABLE[((slow ^ b as u32) & 0xFF) as usize] ^ (slow >> 8);
                }
                assert_eq!(crc32(&data[start..end]), slow, "{start}..{end}");
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
