//! The three on-disk variants and the sizes that differ between them.

/// The file format, from the header's wVer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// wVer 14 or 15: 32-bit ids and offsets, 512-byte pages.
    Ansi,
    /// wVer 21 or 23: 64-bit ids and offsets, 512-byte pages.
    Unicode,
    /// wVer 36: 64-bit, 4096-byte pages, 512-byte block alignment, blocks may
    /// be zlib-compressed (Outlook 2013 and later OSTs).
    Unicode4k,
}

impl Format {
    /// The format a header version number denotes.
    pub fn from_wver(wver: u16) -> Option<Format> {
        match wver {
            14 | 15 => Some(Format::Ansi),
            21..=23 => Some(Format::Unicode),
            36 => Some(Format::Unicode4k),
            _ => None,
        }
    }

    /// Lower-case name used in reports: `ansi`, `unicode`, `unicode4k`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Ansi => "ansi",
            Format::Unicode => "unicode",
            Format::Unicode4k => "unicode4k",
        }
    }

    /// 64-bit ids and offsets.
    pub fn wide(self) -> bool {
        self != Format::Ansi
    }

    /// Bytes in a BID, IB or B-tree key.
    pub fn id_size(self) -> usize {
        if self.wide() {
            8
        } else {
            4
        }
    }

    /// Bytes in a page (B-tree, AMap, ...).
    pub fn page_size(self) -> usize {
        match self {
            Format::Unicode4k => 4096,
            _ => 512,
        }
    }

    /// Bytes at the end of a page covered by the page trailer (and, in 4K
    /// pages, the 8 unknown bytes after it).
    pub fn page_trailer_size(self) -> usize {
        match self {
            Format::Ansi => 12,
            Format::Unicode => 16,
            Format::Unicode4k => 24,
        }
    }

    /// Offset of the page trailer in a page; also the number of bytes the
    /// page CRC covers.
    pub fn page_trailer_offset(self) -> usize {
        self.page_size() - self.page_trailer_size()
    }

    /// Bytes of B-tree entries a BT page can hold.
    pub fn btpage_entries_size(self) -> usize {
        match self {
            Format::Ansi => 496,
            Format::Unicode => 488,
            Format::Unicode4k => 4056,
        }
    }

    /// Bytes in a block trailer.
    pub fn block_trailer_size(self) -> usize {
        match self {
            Format::Ansi => 12,
            Format::Unicode => 16,
            Format::Unicode4k => 24,
        }
    }

    /// Blocks start at multiples of this and occupy multiples of it.
    pub fn block_alignment(self) -> u64 {
        match self {
            Format::Unicode4k => 512,
            _ => 64,
        }
    }

    /// The largest block on disk, trailer included.
    pub fn max_block_size(self) -> u64 {
        match self {
            Format::Unicode4k => 65536,
            _ => 8192,
        }
    }

    /// Largest number of payload bytes in one data block.
    pub fn max_block_data(self) -> usize {
        self.max_block_size() as usize - self.block_trailer_size()
    }

    /// On-disk size of a block holding `cb` payload bytes.
    pub fn block_size_for(self, cb: u64) -> u64 {
        let a = self.block_alignment();
        (cb + self.block_trailer_size() as u64).div_ceil(a) * a
    }

    /// Size of an intermediate B-tree entry (key + BREF).
    pub fn bt_entry_size(self) -> usize {
        3 * self.id_size()
    }

    /// Size of an NBT leaf entry.
    pub fn nbt_entry_size(self) -> usize {
        if self.wide() {
            32
        } else {
            16
        }
    }

    /// Size of a BBT leaf entry.
    pub fn bbt_entry_size(self) -> usize {
        if self.wide() {
            24
        } else {
            12
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_sizes_round_up_to_alignment() {
        assert_eq!(Format::Unicode.block_size_for(0), 64);
        assert_eq!(Format::Unicode.block_size_for(48), 64);
        assert_eq!(Format::Unicode.block_size_for(49), 128);
        assert_eq!(Format::Unicode.block_size_for(8176), 8192);
        assert_eq!(Format::Ansi.block_size_for(8180), 8192);
        assert_eq!(Format::Unicode4k.block_size_for(456), 512);
        assert_eq!(Format::Unicode4k.block_size_for(489), 1024);
    }

    #[test]
    fn versions() {
        assert_eq!(Format::from_wver(14), Some(Format::Ansi));
        assert_eq!(Format::from_wver(23), Some(Format::Unicode));
        assert_eq!(Format::from_wver(36), Some(Format::Unicode4k));
        assert_eq!(Format::from_wver(24), None);
    }
}
