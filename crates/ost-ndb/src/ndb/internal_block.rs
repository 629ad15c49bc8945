//! Internal blocks ([MS-PST] 2.2.2.8.3): the XBLOCK / XXBLOCK of a data
//! tree, listing the data blocks of one logical stream, and the SLBLOCK /
//! SIBLOCK of a subnode tree, listing a node's subnodes.
//!
//! Parsed here from a block's decoded payload: the header, the type and
//! entry count checked against the payload, the entries read. Reading the
//! block is `block.rs`'s; walking the trees (which reads more blocks) is
//! `node.rs`'s.

use super::bytes::{u16_at, u32_at, u8_at, uint_at};
use super::error::{NdbError, NdbErrorKind, Result};
use super::format::Format;
use super::ids::{Bid, Nid};

/// The internal block types.
pub mod btype {
    pub const XBLOCK: u8 = 0x01;
    pub const SLBLOCK: u8 = 0x02;
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

    /// Size of one entry: a BID in an XBLOCK / XXBLOCK, a key NID and a
    /// BID in an SIBLOCK, a NID and two BIDs in an SLBLOCK.
    fn entry_size(&self, format: Format) -> usize {
        match (self.btype, self.level) {
            (btype::SLBLOCK, 0) => 3 * format.id_size(),
            (btype::SLBLOCK, _) => 2 * format.id_size(),
            _ => format.id_size(),
        }
    }
}

/// A subnode entry of an SLBLOCK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubnodeEntry {
    pub nid: Nid,
    pub bid_data: Bid,
    pub bid_sub: Bid,
}

/// Check the decoded payload `data` of the internal block `bid` (at `ib`)
/// as a block of type `want`, called `name` in errors: its header is there,
/// of that type, and its entries fit.
pub(crate) fn check(
    data: &[u8],
    want: u8,
    name: &'static str,
    bid: Bid,
    ib: u64,
    format: Format,
) -> Result<InternalHeader> {
    let hdr = InternalHeader::parse(data).ok_or_else(|| {
        NdbError::new(
            name,
            ib,
            NdbErrorKind::OutOfBounds {
                needed: 8,
                available: data.len() as u64,
            },
        )
        .with_bid(bid.0)
    })?;
    if hdr.btype != want {
        return Err(NdbError::new(
            name,
            ib,
            NdbErrorKind::TypeMismatch {
                expected: want,
                found: hdr.btype,
            },
        )
        .with_bid(bid.0));
    }
    let needed = InternalHeader::size(want, format) + hdr.c_ent * hdr.entry_size(format);
    if needed > data.len() {
        return Err(NdbError::new(
            name,
            ib,
            NdbErrorKind::BadField {
                field: "cEnt",
                value: hdr.c_ent as u64,
            },
        )
        .with_bid(bid.0));
    }
    Ok(hdr)
}

/// The id at `at` in each entry of a checked internal block: `at` 0 is the
/// BID of an XBLOCK / XXBLOCK entry, `format.id_size()` the child BID of an
/// SIBLOCK entry.
pub(crate) fn entry_ids(hdr: &InternalHeader, data: &[u8], at: usize, format: Format) -> Vec<Bid> {
    let off = InternalHeader::size(hdr.btype, format);
    let esize = hdr.entry_size(format);
    (0..hdr.c_ent)
        .map(|i| Bid(uint_at(data, off + i * esize + at, format.wide()).unwrap_or(0)))
        .collect()
}

/// The entries of a checked SLBLOCK.
pub(crate) fn sl_entries(hdr: &InternalHeader, data: &[u8], format: Format) -> Vec<SubnodeEntry> {
    let (w, s) = (format.wide(), format.id_size());
    let off = InternalHeader::size(btype::SLBLOCK, format);
    (0..hdr.c_ent)
        .map(|i| {
            let e = off + i * 3 * s;
            SubnodeEntry {
                nid: Nid(uint_at(data, e, w).unwrap_or(0) as u32),
                bid_data: Bid(uint_at(data, e + s, w).unwrap_or(0)),
                bid_sub: Bid(uint_at(data, e + 2 * s, w).unwrap_or(0)),
            }
        })
        .collect()
}
