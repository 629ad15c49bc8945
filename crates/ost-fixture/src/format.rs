//! The four file variants and the sizes that follow from each.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// Which kind of file to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Unicode PST: wVer 23, client "SM", 512-byte pages, 64-bit ids.
    Unicode,
    /// ANSI PST: wVer 14, client "SM", 512-byte pages, 32-bit ids.
    Ansi,
    /// Unicode OST: wVer 23, client "SO", otherwise like [`Format::Unicode`].
    Ost,
    /// 4K OST: wVer 36, client "SO", 4096-byte pages, 512-byte block
    /// alignment, 24-byte block trailers, zlib-compressed data blocks.
    Ost4k,
}

impl Format {
    /// All variants, in the order tests iterate them.
    pub const ALL: [Format; 4] = [Format::Unicode, Format::Ost, Format::Ansi, Format::Ost4k];

    /// The CLI name: `unicode`, `ansi`, `ost`, `ost4k`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Unicode => "unicode",
            Format::Ansi => "ansi",
            Format::Ost => "ost",
            Format::Ost4k => "ost4k",
        }
    }

    /// True for the 32-bit (ANSI) layout.
    pub fn is_ansi(self) -> bool {
        self == Format::Ansi
    }

    /// True for the 4K-page layout.
    pub fn is_4k(self) -> bool {
        self == Format::Ost4k
    }

    /// True when the header says OST ("SO").
    pub fn is_ost(self) -> bool {
        matches!(self, Format::Ost | Format::Ost4k)
    }

    /// Header wVer.
    pub fn version(self) -> u16 {
        match self {
            Format::Ansi => 14,
            Format::Unicode | Format::Ost => 23,
            Format::Ost4k => 36,
        }
    }

    /// Header wMagicClient.
    pub fn client_magic(self) -> &'static [u8; 2] {
        if self.is_ost() {
            b"SO"
        } else {
            b"SM"
        }
    }

    /// Header wVerClient.
    pub fn client_version(self) -> u16 {
        if self.is_ost() {
            12
        } else {
            19
        }
    }

    /// Size of a page (B-tree, AMap, PMap).
    pub fn page_size(self) -> usize {
        if self.is_4k() {
            4096
        } else {
            512
        }
    }

    /// Size of a page trailer.
    pub fn page_trailer_size(self) -> usize {
        match self {
            Format::Ansi => 12,
            Format::Unicode | Format::Ost => 16,
            Format::Ost4k => 24,
        }
    }

    /// Bytes of a B-tree page usable for entries.
    pub fn bt_entries_size(self) -> usize {
        match self {
            Format::Ansi => 496,
            Format::Unicode | Format::Ost => 488,
            Format::Ost4k => 4056,
        }
    }

    /// Blocks start at multiples of this.
    pub fn block_align(self) -> u64 {
        if self.is_4k() {
            512
        } else {
            64
        }
    }

    /// Size of a block trailer.
    pub fn block_trailer_size(self) -> usize {
        match self {
            Format::Ansi => 12,
            Format::Unicode | Format::Ost => 16,
            Format::Ost4k => 24,
        }
    }

    /// Largest payload of one data block. 4K files allow bigger blocks, but
    /// we keep 8 KiB ones everywhere so that heap pages and row blocks have
    /// the size every reader expects.
    pub fn max_block_data(self) -> usize {
        8192 - self.block_trailer_size().min(16)
    }

    /// Size of a BID / NID-in-BT-entry / ib field: 4 (ANSI) or 8 bytes.
    pub fn id_size(self) -> usize {
        if self.is_ansi() {
            4
        } else {
            8
        }
    }

    /// Offset of the first AMap page.
    pub fn first_amap(self) -> u64 {
        if self.is_4k() {
            0x22000
        } else {
            0x4400
        }
    }

    /// Offset of the density list page.
    pub fn dlist_offset(self) -> u64 {
        if self.is_4k() {
            0x21000
        } else {
            0x4200
        }
    }

    /// Most DLISTPAGEENTs a density list page holds (476 or 480 bytes of
    /// entries in 512-byte pages; the 4K layout is not documented).
    pub fn dlist_max_entries(self) -> usize {
        match self {
            Format::Ansi => 120,
            Format::Unicode | Format::Ost => 119,
            Format::Ost4k => 0,
        }
    }

    /// Bytes covered by one AMap page (including itself).
    pub fn amap_interval(self) -> u64 {
        if self.is_4k() {
            4072 * 8 * 512
        } else {
            496 * 8 * 64
        }
    }

    /// Bytes one AMap bit stands for.
    pub fn amap_unit(self) -> u64 {
        if self.is_4k() {
            512
        } else {
            64
        }
    }

    /// Bytes of AMap bitmap in one AMap page.
    pub fn amap_bitmap_size(self) -> usize {
        if self.is_4k() {
            4072
        } else {
            496
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Format, String> {
        match s {
            "unicode" | "pst" => Ok(Format::Unicode),
            "ansi" => Ok(Format::Ansi),
            "ost" => Ok(Format::Ost),
            "ost4k" => Ok(Format::Ost4k),
            _ => Err(format!(
                "unknown format {s:?} (expected unicode, ansi, ost or ost4k)"
            )),
        }
    }
}

/// Where a store keeps each message's change key, PCL and last
/// modification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub enum SyncPlacement {
    /// In the message's property context (as in PSTs).
    #[default]
    #[serde(rename = "item")]
    Item,
    /// In the message's row of its folder's contents table, as real OSTs
    /// keep them; the property context has none of them, nor a source key.
    #[serde(rename = "row")]
    Rows,
    /// In both, with the same values.
    #[serde(rename = "both")]
    Both,
}

impl SyncPlacement {
    /// The name used by the CLI and the manifest: `item`, `row`, `both`.
    pub fn name(self) -> &'static str {
        match self {
            SyncPlacement::Item => "item",
            SyncPlacement::Rows => "row",
            SyncPlacement::Both => "both",
        }
    }

    /// The property context carries the metadata.
    pub fn in_item(self) -> bool {
        self != SyncPlacement::Rows
    }

    /// The contents-table row carries the metadata.
    pub fn in_row(self) -> bool {
        self != SyncPlacement::Item
    }
}

impl fmt::Display for SyncPlacement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SyncPlacement {
    type Err = String;
    fn from_str(s: &str) -> Result<SyncPlacement, String> {
        match s {
            "item" | "items" | "pc" => Ok(SyncPlacement::Item),
            "row" | "rows" => Ok(SyncPlacement::Rows),
            "both" => Ok(SyncPlacement::Both),
            _ => Err(format!(
                "unknown sync placement {s:?} (expected item, rows or both)"
            )),
        }
    }
}
