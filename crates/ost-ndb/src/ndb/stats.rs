//! Whole-file statistics and verification: node counts by type, block
//! counts by kind, and (on request) every block read and checked. Backs
//! `ostscan info`. Built on [`Pst`], like the nodes.

use std::collections::BTreeMap;

use super::error::NdbError;
use super::file::Pst;
use super::internal_block::btype;

/// What a walk of both B-trees found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Nodes by NID type name.
    pub nodes_by_type: BTreeMap<&'static str, u64>,
    pub nodes: u64,
    /// Blocks by kind: `data`, `xblock`, `xxblock`, `slblock`, `siblock`,
    /// `internal_unknown`; kinds of internal blocks are known only after
    /// reading them, so without `verify` internal blocks count as `internal`.
    pub blocks_by_kind: BTreeMap<&'static str, u64>,
    pub blocks: u64,
    /// 4K files: data blocks stored compressed (counted when verifying).
    pub compressed_blocks: u64,
    /// B-tree pages read.
    pub nbt_pages: u64,
    pub bbt_pages: u64,
    /// Problems met, in file order (integrity failures and unreadable
    /// structures), and how many more were not kept.
    pub problems: Vec<NdbError>,
    pub problems_dropped: u64,
}

impl Pst<'_> {
    /// Walk the NBT and BBT; with `verify`, also read every block and check
    /// its trailer, signature and CRC (and inflate compressed ones).
    pub fn stats(&self, verify: bool) -> Stats {
        let mut s = Stats::default();
        let mut errors = Vec::new();
        let mut it = self.nbt_iter();
        for e in it.by_ref() {
            match e {
                Ok(e) => {
                    s.nodes += 1;
                    *s.nodes_by_type.entry(e.nid.nid_type().name()).or_default() += 1;
                }
                Err(e) => errors.push(e),
            }
        }
        s.nbt_pages = it.pages;
        let mut it = self.bbt_iter();
        for e in it.by_ref() {
            let e = match e {
                Ok(e) => e,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            s.blocks += 1;
            let mut kind = if e.bid.is_internal() {
                "internal"
            } else {
                "data"
            };
            if verify {
                match self.raw_block_at(&e) {
                    Ok(raw) => {
                        if raw.trailer.is_compressed() {
                            s.compressed_blocks += 1;
                        }
                        match self.decode_block(raw) {
                            Ok(data) if e.bid.is_internal() => {
                                kind = match (data.first(), data.get(1)) {
                                    (Some(&btype::XBLOCK), Some(1)) => "xblock",
                                    (Some(&btype::XBLOCK), Some(2)) => "xxblock",
                                    (Some(&btype::SLBLOCK), Some(0)) => "slblock",
                                    (Some(&btype::SLBLOCK), Some(1)) => "siblock",
                                    _ => "internal_unknown",
                                }
                            }
                            Ok(_) => {}
                            Err(err) => errors.push(err),
                        }
                    }
                    Err(err) => errors.push(err),
                }
            }
            *s.blocks_by_kind.entry(kind).or_default() += 1;
        }
        s.bbt_pages = it.pages;
        for e in errors {
            self.record(e);
        }
        let (problems, dropped) = self.issues();
        s.problems = problems;
        s.problems_dropped = dropped;
        s
    }
}
