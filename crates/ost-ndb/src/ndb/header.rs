//! The file header ([MS-PST] 2.2.2.6) and its ROOT ([MS-PST] 2.2.2.5).
//! ANSI and Unicode lay the same fields out at different offsets; the 4K
//! variant uses the Unicode layout.

use super::bytes::{u16_at, u32_at, u8_at, uint_at};
use super::crc::crc32;
use super::crypt::CryptMethod;
use super::error::{NdbError, NdbErrorKind, Result};
use super::format::Format;

/// "!BDN", little-endian.
pub const MAGIC: u32 = 0x4E44_4221;

/// Who wrote the file, from wMagicClient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Client {
    /// "SM": a personal store (.pst).
    Pst,
    /// "SO": an offline store (.ost).
    Ost,
    /// "AB": a personal address book.
    Pab,
    /// Anything else, as stored.
    Other(u16),
}

impl Client {
    fn from_magic(m: u16) -> Client {
        match &m.to_le_bytes() {
            b"SM" => Client::Pst,
            b"SO" => Client::Ost,
            b"AB" => Client::Pab,
            _ => Client::Other(m),
        }
    }

    /// "PST", "OST", "PAB" or "unknown".
    pub fn name(self) -> &'static str {
        match self {
            Client::Pst => "PST",
            Client::Ost => "OST",
            Client::Pab => "PAB",
            Client::Other(_) => "unknown",
        }
    }
}

/// A reference to a page or block: its id and file offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Bref {
    pub bid: u64,
    pub ib: u64,
}

/// A stored CRC next to the one computed over the same bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrcCheck {
    pub stored: u32,
    pub computed: u32,
}

impl CrcCheck {
    pub fn ok(&self) -> bool {
        self.stored == self.computed
    }
}

/// The ROOT structure: where the trees start and how big the file should be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Root {
    /// ibFileEof: the size the file should have.
    pub file_eof: u64,
    /// ibAMapLast: offset of the last AMap page.
    pub amap_last: u64,
    pub amap_free: u64,
    pub pmap_free: u64,
    /// Root page of the node B-tree.
    pub nbt: Bref,
    /// Root page of the block B-tree.
    pub bbt: Bref,
    /// fAMapValid: 0 invalid, 1 or 2 valid.
    pub amap_valid: u8,
}

/// The decoded header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub client: Client,
    pub format: Format,
    /// wVer as stored.
    pub wver: u16,
    /// wVerClient as stored.
    pub wver_client: u16,
    pub crypt: CryptMethod,
    /// dwCRCPartial, over the 471 bytes from offset 8.
    pub crc_partial: CrcCheck,
    /// dwCRCFull, over the 516 bytes from offset 8 (Unicode and 4K only).
    pub crc_full: Option<CrcCheck>,
    /// bidNextB: the next BID the writer would have used.
    pub bid_next_b: u64,
    /// bidNextP: the next page BID.
    pub bid_next_p: u64,
    /// dwUnique.
    pub unique: u32,
    pub root: Root,
}

impl Header {
    /// Bytes of the header each format needs to be present.
    pub fn size(format: Format) -> usize {
        match format {
            Format::Ansi => 512,
            _ => 564,
        }
    }

    /// Decode the header at the start of `file`. Checks the magic, version
    /// and crypt method; CRCs are computed and reported in the result, not
    /// enforced (see [`Header::crc_ok`]).
    pub fn parse(file: &[u8]) -> Result<Header> {
        let oob = |needed: usize| {
            NdbError::new(
                "header",
                0,
                NdbErrorKind::OutOfBounds {
                    needed: needed as u64,
                    available: file.len() as u64,
                },
            )
        };
        let magic = u32_at(file, 0).ok_or_else(|| oob(4))?;
        if magic != MAGIC {
            return Err(NdbError::new("header", 0, NdbErrorKind::BadMagic));
        }
        let wver = u16_at(file, 10).ok_or_else(|| oob(12))?;
        let format = Format::from_wver(wver)
            .ok_or_else(|| NdbError::new("header", 10, NdbErrorKind::UnknownVersion(wver)))?;
        let size = Header::size(format);
        if file.len() < size {
            return Err(oob(size));
        }
        // Every read below is within `size` bytes, checked above.
        let client = Client::from_magic(u16_at(file, 8).unwrap_or(0));
        let wver_client = u16_at(file, 12).unwrap_or(0);
        let crc_partial = CrcCheck {
            stored: u32_at(file, 4).unwrap_or(0),
            computed: crc32(&file[8..8 + 471]),
        };
        let wide = format.wide();
        let (crypt_off, root_off, crc_full, bid_next_b, bid_next_p, unique) = if wide {
            let crc_full = CrcCheck {
                stored: u32_at(file, 524).unwrap_or(0),
                computed: crc32(&file[8..8 + 516]),
            };
            (
                513,
                180,
                Some(crc_full),
                uint_at(file, 516, true).unwrap_or(0),
                uint_at(file, 32, true).unwrap_or(0),
                u32_at(file, 40).unwrap_or(0),
            )
        } else {
            (
                461,
                164,
                None,
                uint_at(file, 24, false).unwrap_or(0),
                uint_at(file, 28, false).unwrap_or(0),
                u32_at(file, 32).unwrap_or(0),
            )
        };
        let crypt_byte = u8_at(file, crypt_off).unwrap_or(0);
        let crypt = CryptMethod::from_byte(crypt_byte).ok_or_else(|| {
            NdbError::new(
                "header",
                crypt_off as u64,
                NdbErrorKind::UnknownCrypt(crypt_byte),
            )
        })?;
        let root = parse_root(file, root_off, wide);
        Ok(Header {
            client,
            format,
            wver,
            wver_client,
            crypt,
            crc_partial,
            crc_full,
            bid_next_b,
            bid_next_p,
            unique,
            root,
        })
    }

    /// True when every header CRC the format has matches.
    pub fn crc_ok(&self) -> bool {
        self.crc_partial.ok() && self.crc_full.is_none_or(|c| c.ok())
    }

    /// The first failing header CRC as an error, for strict mode.
    pub fn crc_error(&self) -> Option<NdbError> {
        if let Some(c) = self.crc_full.filter(|c| !c.ok()) {
            return Some(NdbError::new(
                "header dwCRCFull",
                524,
                NdbErrorKind::CrcMismatch {
                    stored: c.stored,
                    computed: c.computed,
                },
            ));
        }
        if !self.crc_partial.ok() {
            return Some(NdbError::new(
                "header dwCRCPartial",
                4,
                NdbErrorKind::CrcMismatch {
                    stored: self.crc_partial.stored,
                    computed: self.crc_partial.computed,
                },
            ));
        }
        None
    }
}

fn parse_root(file: &[u8], off: usize, wide: bool) -> Root {
    let w = if wide { 8 } else { 4 };
    let at = |i: usize| uint_at(file, off + 4 + i * w, wide).unwrap_or(0);
    Root {
        file_eof: at(0),
        amap_last: at(1),
        amap_free: at(2),
        pmap_free: at(3),
        nbt: Bref {
            bid: at(4),
            ib: at(5),
        },
        bbt: Bref {
            bid: at(6),
            ib: at(7),
        },
        amap_valid: u8_at(file, off + 4 + 8 * w).unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unicode_header() -> Vec<u8> {
        let mut h = vec![0u8; 564];
        h[0..4].copy_from_slice(b"!BDN");
        h[8..10].copy_from_slice(b"SO");
        h[10..12].copy_from_slice(&23u16.to_le_bytes());
        h[12..14].copy_from_slice(&12u16.to_le_bytes());
        h[184..192].copy_from_slice(&0x10000u64.to_le_bytes()); // ibFileEof
        h[216..224].copy_from_slice(&0x44u64.to_le_bytes()); // NBT bid
        h[224..232].copy_from_slice(&0x4600u64.to_le_bytes()); // NBT ib
        h[232..240].copy_from_slice(&0x48u64.to_le_bytes()); // BBT bid
        h[240..248].copy_from_slice(&0x4800u64.to_le_bytes()); // BBT ib
        h[248] = 2;
        h[513] = 2;
        let partial = crc32(&h[8..8 + 471]);
        h[4..8].copy_from_slice(&partial.to_le_bytes());
        let full = crc32(&h[8..8 + 516]);
        h[524..528].copy_from_slice(&full.to_le_bytes());
        h
    }

    #[test]
    fn parses_a_unicode_ost_header() {
        let h = Header::parse(&unicode_header()).unwrap();
        assert_eq!(h.client, Client::Ost);
        assert_eq!(h.format, Format::Unicode);
        assert_eq!(h.wver_client, 12);
        assert_eq!(h.crypt, CryptMethod::Cyclic);
        assert!(h.crc_ok());
        assert_eq!(h.root.file_eof, 0x10000);
        assert_eq!(
            h.root.nbt,
            Bref {
                bid: 0x44,
                ib: 0x4600
            }
        );
        assert_eq!(
            h.root.bbt,
            Bref {
                bid: 0x48,
                ib: 0x4800
            }
        );
        assert_eq!(h.root.amap_valid, 2);
    }

    #[test]
    fn reports_a_bad_crc_without_failing() {
        let mut b = unicode_header();
        b[200] ^= 1;
        let h = Header::parse(&b).unwrap();
        assert!(!h.crc_ok());
        let e = h.crc_error().unwrap();
        assert_eq!(e.offset, 524);
        assert!(e.is_integrity());
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(
            Header::parse(b"").unwrap_err().kind,
            NdbErrorKind::OutOfBounds {
                needed: 4,
                available: 0
            }
        );
        assert_eq!(
            Header::parse(b"XXXXXXXXXXXXXXXX").unwrap_err().kind,
            NdbErrorKind::BadMagic
        );
        let mut b = unicode_header();
        b[10] = 99;
        assert_eq!(
            Header::parse(&b).unwrap_err().kind,
            NdbErrorKind::UnknownVersion(99)
        );
        let b = unicode_header();
        assert!(matches!(
            Header::parse(&b[..300]).unwrap_err().kind,
            NdbErrorKind::OutOfBounds { .. }
        ));
        let mut b = unicode_header();
        b[513] = 7;
        assert_eq!(
            Header::parse(&b).unwrap_err().kind,
            NdbErrorKind::UnknownCrypt(7)
        );
    }
}
