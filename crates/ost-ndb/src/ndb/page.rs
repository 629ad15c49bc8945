//! Pages ([MS-PST] 2.2.2.7): the fixed-size units of the B-trees and
//! allocation maps, each ending in a trailer that names its type, carries a
//! signature and a CRC, and points back to its own BID.

use super::bytes::{u16_at, u32_at, u8_at, uint_at};
use super::format::Format;

/// Page types (ptype).
pub mod ptype {
    pub const BBT: u8 = 0x80;
    pub const NBT: u8 = 0x81;
    pub const FMAP: u8 = 0x82;
    pub const PMAP: u8 = 0x83;
    pub const AMAP: u8 = 0x84;
    pub const FPMAP: u8 = 0x85;
    pub const DLIST: u8 = 0x86;
}

/// The decoded trailer of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageTrailer {
    pub ptype: u8,
    pub ptype_repeat: u8,
    pub sig: u16,
    pub crc: u32,
    pub bid: u64,
}

impl PageTrailer {
    /// Read the trailer of a whole page (`page.len() == format.page_size()`).
    pub fn parse(page: &[u8], format: Format) -> Option<PageTrailer> {
        let t = format.page_trailer_offset();
        let ptype = u8_at(page, t)?;
        let ptype_repeat = u8_at(page, t + 1)?;
        let sig = u16_at(page, t + 2)?;
        let (crc, bid) = match format {
            // ANSI puts the BID before the CRC.
            Format::Ansi => (u32_at(page, t + 8)?, uint_at(page, t + 4, false)?),
            _ => (u32_at(page, t + 4)?, uint_at(page, t + 8, true)?),
        };
        Some(PageTrailer {
            ptype,
            ptype_repeat,
            sig,
            crc,
            bid,
        })
    }
}

/// The signature of a page or block: [MS-PST] 5.5 ComputeSig.
pub fn compute_sig(ib: u64, bid: u64) -> u16 {
    let v = ib ^ bid;
    ((v >> 16) as u16) ^ (v as u16)
}

/// The footer fields of a B-tree page (the bytes between entries and trailer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BtPageFooter {
    pub c_ent: usize,
    pub c_ent_max: usize,
    pub cb_ent: usize,
    pub level: u8,
}

impl BtPageFooter {
    pub fn parse(page: &[u8], format: Format) -> Option<BtPageFooter> {
        let e = format.btpage_entries_size();
        Some(match format {
            Format::Unicode4k => BtPageFooter {
                c_ent: u16_at(page, e)? as usize,
                c_ent_max: u16_at(page, e + 2)? as usize,
                cb_ent: u8_at(page, e + 4)? as usize,
                level: u8_at(page, e + 5)?,
            },
            _ => BtPageFooter {
                c_ent: u8_at(page, e)? as usize,
                c_ent_max: u8_at(page, e + 1)? as usize,
                cb_ent: u8_at(page, e + 2)? as usize,
                level: u8_at(page, e + 3)?,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sig_folds_the_xor_of_ib_and_bid() {
        assert_eq!(compute_sig(0, 0), 0);
        assert_eq!(compute_sig(0x1234_5678, 0), 0x1234 ^ 0x5678);
        assert_eq!(compute_sig(0x4400, 0x4400), 0);
    }

    #[test]
    fn ansi_trailer_has_bid_before_crc() {
        let mut p = vec![0u8; 512];
        p[500] = 0x81;
        p[501] = 0x81;
        p[502..504].copy_from_slice(&0xBEEFu16.to_le_bytes());
        p[504..508].copy_from_slice(&0x42u32.to_le_bytes());
        p[508..512].copy_from_slice(&0xCAFE_F00Du32.to_le_bytes());
        let t = PageTrailer::parse(&p, Format::Ansi).unwrap();
        assert_eq!(t.bid, 0x42);
        assert_eq!(t.crc, 0xCAFE_F00D);
        assert_eq!(t.sig, 0xBEEF);
    }
}
