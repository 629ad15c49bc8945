//! Blocks ([MS-PST] 2.2.2.8): payload, padding to the format's alignment,
//! then a trailer with size, signature, CRC and back pointer. External
//! (data) blocks are encoded with the file's crypt method; in 4K files they
//! may also be zlib-compressed. Internal blocks hold the data trees (XBLOCK,
//! XXBLOCK) and subnode trees (SLBLOCK, SIBLOCK).

use std::borrow::Cow;
use std::io::Read;

use super::btree::BbtEntry;
use super::bytes::{u16_at, u32_at, u8_at, uint_at};
use super::crc::crc32;
use super::crypt::CryptMethod;
use super::error::{NdbError, NdbErrorKind, Result};
use super::file::Pst;
use super::format::Format;
use super::ids::Bid;
use super::page::compute_sig;

/// A decoded block trailer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockTrailer {
    pub cb: u16,
    pub sig: u16,
    pub crc: u32,
    pub bid: u64,
    /// 4K only: the payload size after inflation (equal to `cb` when the
    /// block is stored uncompressed).
    pub cb_inflated: Option<u16>,
}

impl BlockTrailer {
    pub fn parse(t: &[u8], format: Format) -> Option<BlockTrailer> {
        let cb = u16_at(t, 0)?;
        let sig = u16_at(t, 2)?;
        Some(match format {
            // ANSI puts the BID before the CRC.
            Format::Ansi => BlockTrailer {
                cb,
                sig,
                crc: u32_at(t, 8)?,
                bid: uint_at(t, 4, false)?,
                cb_inflated: None,
            },
            Format::Unicode => BlockTrailer {
                cb,
                sig,
                crc: u32_at(t, 4)?,
                bid: uint_at(t, 8, true)?,
                cb_inflated: None,
            },
            Format::Unicode4k => BlockTrailer {
                cb,
                sig,
                crc: u32_at(t, 4)?,
                bid: uint_at(t, 8, true)?,
                cb_inflated: Some(u16_at(t, 18)?),
            },
        })
    }

    /// True when the payload is stored deflated (4K only).
    pub fn is_compressed(&self) -> bool {
        self.cb_inflated.is_some_and(|n| n != self.cb)
    }
}

/// A block as stored: its payload bytes still encoded / compressed.
#[derive(Debug, Clone)]
pub struct RawBlock<'a> {
    pub bid: Bid,
    /// File offset of the block.
    pub ib: u64,
    /// The `cb` stored payload bytes: borrowed from a slice, or read from
    /// the file into a buffer that decoding then reuses.
    pub stored: Cow<'a, [u8]>,
    pub trailer: BlockTrailer,
}

impl RawBlock<'_> {
    /// Payload size once decoded and inflated.
    pub fn data_size(&self) -> usize {
        match self.trailer.cb_inflated {
            Some(n) if self.trailer.is_compressed() => n as usize,
            _ => self.stored.len(),
        }
    }
}

/// The internal block types.
pub mod btype {
    pub const XBLOCK: u8 = 0x01;
    pub const SLBLOCK: u8 = 0x02;
}

/// Blocks read ahead at most in one call of [`Pst::prefetch_blocks`].
const MAX_PREFETCH: usize = 8192;

impl<'p> Pst<'p> {
    /// Say that the blocks `bids` are about to be read. Where the file is
    /// not in the page cache, their BBT leaf pages are asked of the kernel
    /// at once, then the blocks are read ahead, many at a time, at sector
    /// granularity, and kept until read (see `cold.rs`): a cold scan then
    /// waits for the device once per batch instead of once per block, and
    /// reads a few percent of the file. Does nothing when the leaves are
    /// cached (a warm file costs one residency check per leaf). True when
    /// it read ahead: the file is cold.
    pub fn prefetch_blocks(&self, bids: &[Bid]) -> bool {
        let bids = &bids[..bids.len().min(MAX_PREFETCH)];
        let mut leaves: Vec<u64> = bids.iter().filter_map(|&b| self.bbt_leaf_of(b)).collect();
        leaves.dedup();
        if !self.pages_uncached(&leaves) {
            return false;
        }
        self.read_ahead(&leaves, &[]);
        let f = self.format();
        // The leaves' routes were built above, with their checks recorded;
        // the leaves themselves are looked up quietly (a warm read may
        // never look at some of them).
        let blocks: Vec<(u64, u64)> = self.quietly(|| {
            bids.iter()
                .filter_map(|&b| self.bbt_lookup(b).ok())
                .map(|e| (e.ib, f.block_size_for(e.cb as u64)))
                .filter(|&(_, size)| size <= f.max_block_size())
                .collect()
        });
        self.read_ahead(&[], &blocks);
        true
    }

    /// Say that the nodes `nids` are about to be opened, their property
    /// context or table and their subnode trees read: on a cold file their
    /// NBT leaves, then their first data blocks and subnode blocks are read
    /// ahead ([`Pst::prefetch_blocks`]). Does nothing when the NBT leaves
    /// are cached.
    pub fn prefetch_nodes(&self, nids: &[super::ids::Nid]) {
        let nids = &nids[..nids.len().min(MAX_PREFETCH / 2)];
        let mut leaves: Vec<u64> = nids.iter().filter_map(|&n| self.nbt_leaf_of(n)).collect();
        leaves.dedup();
        if !self.pages_uncached(&leaves) {
            return;
        }
        self.read_ahead(&leaves, &[]);
        let bids: Vec<Bid> = self.quietly(|| {
            nids.iter()
                .filter_map(|&n| self.nbt_lookup(n).ok())
                .flat_map(|e| [e.bid_data, e.bid_sub])
                .filter(|b| !b.is_null())
                .collect()
        });
        self.prefetch_blocks(&bids);
    }

    /// Look a block up in the BBT and read it (checks included).
    pub fn raw_block(&self, bid: Bid) -> Result<RawBlock<'_>> {
        let entry = self.bbt_lookup(bid)?;
        self.raw_block_at(&entry)
    }

    /// Read and check the block a BBT entry describes.
    pub fn raw_block_at(&self, entry: &BbtEntry) -> Result<RawBlock<'_>> {
        let f = self.format();
        let cb = entry.cb as u64;
        let size = f.block_size_for(cb);
        let err = |kind| NdbError::new("block", entry.ib, kind).with_id(entry.bid.0);
        if size > f.max_block_size() {
            return Err(err(NdbErrorKind::BadField {
                field: "cb",
                value: cb,
            }));
        }
        if entry.ib % f.block_alignment() != 0 {
            return Err(err(NdbErrorKind::BadField {
                field: "ib (alignment)",
                value: entry.ib,
            }));
        }
        let bytes = self.block_bytes("block", entry.ib, size)?;
        let t_off = size as usize - f.block_trailer_size();
        let trailer = BlockTrailer::parse(&bytes[t_off..], f).ok_or_else(|| {
            err(NdbErrorKind::OutOfBounds {
                needed: entry.ib + size,
                available: self.len(),
            })
        })?;
        if trailer.cb != entry.cb {
            // The trailer and the BBT disagree on the size: the bytes we would
            // read are not this block.
            return Err(err(NdbErrorKind::BadField {
                field: "cb (trailer vs BBT)",
                value: trailer.cb as u64,
            }));
        }
        if trailer.bid & !1 != entry.bid.key() {
            self.integrity(err(NdbErrorKind::BidMismatch {
                expected: entry.bid.0,
                found: trailer.bid,
            }))?;
        }
        let sig = compute_sig(entry.ib, trailer.bid);
        if trailer.sig != sig {
            self.integrity(err(NdbErrorKind::SignatureMismatch {
                stored: trailer.sig,
                computed: sig,
            }))?;
        }
        if self.options().verify_block_crc {
            let computed = crc32(&bytes[..cb as usize]);
            if computed != trailer.crc {
                self.integrity(err(NdbErrorKind::CrcMismatch {
                    stored: trailer.crc,
                    computed,
                }))?;
            }
        }
        let stored = match bytes {
            Cow::Borrowed(b) => Cow::Borrowed(&b[..cb as usize]),
            Cow::Owned(mut v) => {
                v.truncate(cb as usize);
                Cow::Owned(v)
            }
        };
        Ok(RawBlock {
            bid: entry.bid,
            ib: entry.ib,
            stored,
            trailer,
        })
    }

    /// The payload of a block, decoded and inflated. Borrowed from the map
    /// when nothing needs undoing (internal blocks, unencrypted files).
    pub fn block_data(&self, bid: Bid) -> Result<Cow<'_, [u8]>> {
        let raw = self.raw_block(bid)?;
        self.decode_block(raw)
    }

    /// Decode (and inflate) a block already read. A block read into a
    /// buffer of its own is decoded in place.
    pub fn decode_block<'b>(&self, raw: RawBlock<'b>) -> Result<Cow<'b, [u8]>> {
        let crypt = if raw.bid.is_internal() {
            CryptMethod::None
        } else {
            self.header().crypt
        };
        if raw.trailer.is_compressed() {
            let size = raw.data_size();
            let first = match inflate(&raw.stored, raw.ib, raw.bid, size) {
                Ok(inflated) => return Ok(Cow::Owned(inflated)),
                Err(e) => e,
            };
            // Compressed blocks seen so far are not encoded; if the bytes
            // are not a zlib stream, try decoding them first.
            if crypt == CryptMethod::None {
                return Err(first);
            }
            let mut decoded = raw.stored.into_owned();
            crypt.decode(&mut decoded, raw.bid.0);
            return inflate(&decoded, raw.ib, raw.bid, size)
                .map(Cow::Owned)
                .map_err(|_| first);
        }
        if crypt == CryptMethod::None {
            return Ok(raw.stored);
        }
        let mut data = raw.stored.into_owned();
        crypt.decode(&mut data, raw.bid.0);
        Ok(Cow::Owned(data))
    }
}

/// Inflate the stored bytes of the compressed 4K block `bid` at `ib` into
/// exactly `size` bytes.
fn inflate(stored: &[u8], ib: u64, bid: Bid, size: usize) -> Result<Vec<u8>> {
    let err =
        |m: String| NdbError::new("compressed block", ib, NdbErrorKind::Inflate(m)).with_id(bid.0);
    let mut out = Vec::with_capacity(size);
    // Read one byte past the stated size to notice a stream that is longer.
    let mut decoder = flate2::read::ZlibDecoder::new(stored).take(size as u64 + 1);
    decoder
        .read_to_end(&mut out)
        .map_err(|e| err(e.to_string()))?;
    if out.len() != size {
        return Err(err(format!(
            "inflated to {} bytes, trailer says {size}",
            out.len()
        )));
    }
    Ok(out)
}

/// The header of an internal block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InternalHeader {
    pub btype: u8,
    pub level: u8,
    pub c_ent: usize,
    /// XBLOCK / XXBLOCK only: total bytes of the data tree.
    pub lcb_total: u32,
}

impl InternalHeader {
    /// Size of the header before the entries.
    pub fn size(btype: u8, format: Format) -> usize {
        match (btype, format.wide()) {
            (btype::SLBLOCK, false) => 4,
            _ => 8,
        }
    }

    pub fn parse(data: &[u8]) -> Option<InternalHeader> {
        Some(InternalHeader {
            btype: u8_at(data, 0)?,
            level: u8_at(data, 1)?,
            c_ent: u16_at(data, 2)? as usize,
            lcb_total: u32_at(data, 4).unwrap_or(0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailers_per_format() {
        let mut t = [0u8; 24];
        t[0..2].copy_from_slice(&456u16.to_le_bytes());
        t[2..4].copy_from_slice(&0xF9B6u16.to_le_bytes());
        t[4..8].copy_from_slice(&0xE62A_0EBFu32.to_le_bytes());
        t[8..16].copy_from_slice(&69820u64.to_le_bytes());
        t[16..18].copy_from_slice(&2u16.to_le_bytes());
        t[18..20].copy_from_slice(&456u16.to_le_bytes());
        let k = BlockTrailer::parse(&t, Format::Unicode4k).unwrap();
        assert_eq!(k.cb, 456);
        assert_eq!(k.bid, 69820);
        assert!(!k.is_compressed());
        t[18..20].copy_from_slice(&1000u16.to_le_bytes());
        assert!(BlockTrailer::parse(&t, Format::Unicode4k)
            .unwrap()
            .is_compressed());
        let u = BlockTrailer::parse(&t, Format::Unicode).unwrap();
        assert_eq!(u.cb_inflated, None);
        let a = BlockTrailer::parse(&t, Format::Ansi).unwrap();
        assert_eq!(a.bid, 0xE62A_0EBF);
    }
}
