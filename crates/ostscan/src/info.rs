//! `ostscan info`: what a file's header and B-trees say, as one typed
//! report; the JSON and the text are both rendered from it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use ost_ndb::Pst;
use serde::Serialize;

use crate::paths::{self, FilePath};
use crate::report::count;
use crate::report::style::{Painted, Palette};
use crate::scan::{file_info, FileInfo};

/// The `info` report. Its JSON goes through a `serde_json::Value`, whose
/// objects keep their keys sorted: the key order `info --json` has always
/// had.
#[derive(Clone, Debug, Serialize)]
pub struct InfoReport {
    /// The path, exactly as given (as in NDJSON records).
    pub path: FilePath,
    /// The same object as `scan`'s `file`.
    pub file: FileInfo,
    pub client: &'static str,
    pub format: &'static str,
    pub wver: u16,
    pub wver_client: u16,
    pub crypt: &'static str,
    pub file_size: u64,
    pub file_eof: u64,
    pub size_matches_eof: bool,
    pub header_crc_ok: bool,
    pub header_crc_partial: CrcView,
    pub header_crc_full: Option<CrcView>,
    pub amap_valid: u8,
    pub nbt_root: BrefView,
    pub bbt_root: BrefView,
    pub nodes: u64,
    pub nodes_by_type: BTreeMap<&'static str, u64>,
    pub blocks: u64,
    pub blocks_by_kind: BTreeMap<&'static str, u64>,
    /// Counted only with `--verify` (every block read).
    pub compressed_blocks: Option<u64>,
    pub nbt_pages: u64,
    pub bbt_pages: u64,
    /// `--verify`: every page and block was read and checked.
    pub verified: bool,
    pub problems: Vec<InfoProblem>,
    pub problems_dropped: u64,
}

/// A stored CRC beside the one computed.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct CrcView {
    pub stored: u32,
    pub computed: u32,
}

/// A B-tree root: its page's BID and file offset.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct BrefView {
    pub bid: u64,
    pub ib: u64,
}

/// A CRC, signature or structure problem, located.
#[derive(Clone, Debug, Serialize)]
pub struct InfoProblem {
    pub structure: &'static str,
    pub offset: u64,
    pub id: Option<u64>,
    pub message: String,
}

impl InfoReport {
    /// Read the header and count the B-trees (with `verify`, read and check
    /// every page and block too).
    pub fn new(path: &Path, pst: &Pst<'_>, verify: bool) -> InfoReport {
        let h = pst.header();
        let stats = pst.stats(verify);
        let crc = |c: ost_ndb::ndb::header::CrcCheck| CrcView {
            stored: c.stored,
            computed: c.computed,
        };
        InfoReport {
            path: FilePath::new(path),
            file: file_info(path, pst, None),
            client: h.client.name(),
            format: h.format.name(),
            wver: h.wver,
            wver_client: h.wver_client,
            crypt: h.crypt.name(),
            file_size: pst.len(),
            file_eof: h.root.file_eof,
            size_matches_eof: pst.len() == h.root.file_eof,
            header_crc_ok: h.crc_ok(),
            header_crc_partial: crc(h.crc_partial),
            header_crc_full: h.crc_full.map(crc),
            amap_valid: h.root.amap_valid,
            nbt_root: BrefView {
                bid: h.root.nbt.bid,
                ib: h.root.nbt.ib,
            },
            bbt_root: BrefView {
                bid: h.root.bbt.bid,
                ib: h.root.bbt.ib,
            },
            nodes: stats.nodes,
            nodes_by_type: stats.nodes_by_type,
            blocks: stats.blocks,
            blocks_by_kind: stats.blocks_by_kind,
            compressed_blocks: verify.then_some(stats.compressed_blocks),
            nbt_pages: stats.nbt_pages,
            bbt_pages: stats.bbt_pages,
            verified: verify,
            problems: stats
                .problems
                .iter()
                .map(|e| InfoProblem {
                    structure: e.structure,
                    offset: e.offset,
                    id: e.id.map(ost_ndb::NdbId::value),
                    message: e.kind.to_string(),
                })
                .collect(),
            problems_dropped: stats.problems_dropped,
        }
    }

    /// The JSON form, pretty-printed, keys sorted.
    pub fn to_json(&self) -> String {
        crate::report::pretty_json_sorted(self)
    }

    /// The text form.
    pub fn to_text(&self, path: &Path, palette: &Palette) -> String {
        let mut o = String::new();
        // Lines into a String, written out in one piece by the caller.
        macro_rules! p {
            ($($arg:tt)*) => {{
                let _ = writeln!(o, $($arg)*);
            }};
        }
        p!(
            "file:        {}",
            Painted(palette.heading, paths::display(path))
        );
        p!(
            "client:      {} (wVerClient {})",
            self.client,
            self.wver_client
        );
        p!("format:      {} (wVer {})", self.format, self.wver);
        p!("encryption:  {}", self.crypt);
        let eof_note = if self.size_matches_eof {
            Painted(Default::default(), "matches ibFileEof")
        } else {
            Painted(palette.problem, "DIFFERS from ibFileEof")
        };
        p!(
            "size:        {} bytes, {eof_note} ({})",
            self.file_size,
            self.file_eof
        );
        p!(
            "header CRC:  {}",
            if self.header_crc_ok {
                Painted(Default::default(), "ok")
            } else {
                Painted(palette.problem, "MISMATCH")
            }
        );
        p!(
            "nodes:       {} in {}",
            self.nodes,
            count(self.nbt_pages, "NBT page", "NBT pages")
        );
        for (k, v) in &self.nodes_by_type {
            p!("  {k:<24}{v}");
        }
        p!(
            "blocks:      {} in {}",
            self.blocks,
            count(self.bbt_pages, "BBT page", "BBT pages")
        );
        for (k, v) in &self.blocks_by_kind {
            p!("  {k:<24}{v}");
        }
        if let Some(c) = self.compressed_blocks {
            p!("  {:<24}{c}", "compressed");
        }
        if self.problems.is_empty() {
            if self.verified {
                p!("verify:      every page and block checked, no problem");
            }
        } else {
            p!(
                "problems:    {}",
                Painted(palette.problem, self.problems.len())
            );
            for p in &self.problems {
                p!("  {} at offset {:#x}: {}", p.structure, p.offset, p.message);
            }
            if self.problems_dropped > 0 {
                p!("  ... and {} more", self.problems_dropped);
            }
        }
        o
    }
}
