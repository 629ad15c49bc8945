//! The node database layer ([MS-PST] 2.2): file header, allocation maps,
//! blocks with trailers, data trees, subnode trees and the two B-trees.
//!
//! The file is written front to back in one pass: blocks go out as they are
//! made, the B-trees last, then the writer seeks back to fill in the map
//! pages (whose bits are only known at the end), the density list and the
//! header. Only the AMap bitmaps and the B-tree entries stay in memory.
//!
//! Map pages ([MS-PST] 2.2.2.7.2-2.2.2.7.6), 512-byte formats: an AMap opens
//! every 253,952-byte region; a PMap follows every 8th AMap (regions 0, 8,
//! 16, ...); an FMap follows the AMap (and its PMap) of regions 128 + 496k,
//! i.e. from 0x1F04800, once the file passes ~32 MB (the header's rgbFM
//! covers the first 128 AMaps); an FPMap follows regions 8192 + 31744k, the
//! first at 0x7C004800 (~2 GB; rgbFP covers the first 8192 AMaps, and FMap
//! and FPMap regions never coincide). Each reserved page is marked in its
//! region's AMap. PMaps, FMaps and FPMaps are deprecated but must be present
//! with valid trailers: PMap bits all 1; an FMap byte per AMap from its own
//! on, the longest run of free AMap bits capped at 255 (0 past the end); an
//! FPMap bit per PMap, 0 for the PMaps that exist, 1 past the end (as the
//! pre-2007 corpus files fill the header's copies); the header's rgbFM and
//! rgbFP themselves are all 0xFF, as [MS-PST] requires. 4K files have AMaps only: libpff's document has not
//! seen a 4K PMap, FMap or FPMap, and a 16 MiB region makes 128 of them 2 GB.
//!
//! Density list ([MS-PST] 2.2.2.7.4, DLISTPAGE, ptype 0x86) at 0x4200
//! (512-byte formats) or 0x21000 (4K, where libpff's document saw it):
//! bFlags, cEntDList, 2 bytes padding, ulCurrentPage, then 4-byte
//! DLISTPAGEENTs (20-bit AMap index, 12-bit free slot count; at most 119 in
//! Unicode, 120 in ANSI), padding, trailer. Like the Outlook 2007+ files of
//! the corpus: DFL_BACKFILL_COMPLETE, ulCurrentPage = the AMap the next
//! allocation goes to (our last one, which holds the free tail), every other
//! AMap listed by descending free slots (ties by index; the 119 or 120 with
//! the most when there are more), and the trailer's BID is the header's
//! bidNextP with wSig = ComputeSig(offset, BID). The 4K
//! entry layout is undocumented (a 4K AMap has 32,576 slots, more than 12
//! bits hold), so 4K files get an empty list (bFlags 0, no entries), the
//! state Outlook itself leaves before it first builds the list (17 of the
//! corpus's 43 Unicode files and 2 of its 5 ANSI files have it; 18 have a
//! built list, 8 none). libpff does not read the density list.

use std::collections::HashMap;
use std::io::{self, Seek, SeekFrom, Write};

use flate2::{Compress, Compression, FlushCompress, Status};
use ost_ndb::ndb::crc::crc32;
use ost_ndb::ndb::crypt::CryptMethod;

use crate::format::Format;

/// Page types ([MS-PST] 2.2.2.7.1).
const PTYPE_BBT: u8 = 0x80;
const PTYPE_NBT: u8 = 0x81;
const PTYPE_FMAP: u8 = 0x82;
const PTYPE_PMAP: u8 = 0x83;
const PTYPE_AMAP: u8 = 0x84;
const PTYPE_FPMAP: u8 = 0x85;
const PTYPE_DLIST: u8 = 0x86;

/// DLISTPAGE bFlags: no backfill in progress.
pub const DFL_BACKFILL_COMPLETE: u8 = 0x01;

/// AMap index of the first FMap, and FMaps' spacing in AMaps.
const FMAP_FIRST: usize = 128;
const FMAP_EVERY: usize = 496;
/// AMap index of the first FPMap, and FPMaps' spacing in AMaps.
const FPMAP_FIRST: usize = 8192;
const FPMAP_EVERY: usize = 31744;

/// Reference count written in every BBT entry: one for the node or parent
/// block that uses the block, one for the BBT itself (what Outlook writes).
const BLOCK_REF_COUNT: u16 = 2;

/// [MS-PST] 5.5 ComputeSig: the block/page signature from its offset and BID.
pub fn compute_sig(ib: u64, bid: u64) -> u16 {
    let v = (ib ^ bid) as u32;
    ((v >> 16) ^ (v & 0xFFFF)) as u16
}

/// Which B-tree a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreeKind {
    /// Node B-tree (ptype 0x81).
    Nbt,
    /// Block B-tree (ptype 0x80).
    Bbt,
}

/// One block as written (what its BBT entry says).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockRecord {
    /// Block id (bit 1 set for internal blocks).
    pub bid: u64,
    /// File offset.
    pub ib: u64,
    /// Stored payload size (compressed size for zlib blocks).
    pub cb: u16,
    /// Payload size after inflation (equal to `cb` unless compressed).
    pub inflated: u16,
    /// Bytes the block occupies on disk (payload, padding and trailer).
    pub total_size: u32,
}

/// One NBT leaf entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeRecord {
    /// Node id.
    pub nid: u32,
    /// Data block or data tree root.
    pub bid_data: u64,
    /// Subnode tree root, 0 when none.
    pub bid_sub: u64,
    /// Parent node (folders: the parent folder; messages: their folder).
    pub nid_parent: u32,
}

/// One B-tree page as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRecord {
    /// NBT or BBT.
    pub tree: TreeKind,
    /// 0 for leaves.
    pub level: u8,
    /// File offset.
    pub ib: u64,
    /// Page BID.
    pub bid: u64,
    /// Number of entries.
    pub entries: u16,
}

/// Where everything went: for fault planting and for tests.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    /// Every block, in BID order.
    pub blocks: Vec<BlockRecord>,
    /// Every node, in NID order.
    pub nodes: Vec<NodeRecord>,
    /// Every B-tree page, leaves first.
    pub pages: Vec<PageRecord>,
    /// File offsets of the AMap pages.
    pub amaps: Vec<u64>,
    /// File offsets of the PMap pages.
    pub pmaps: Vec<u64>,
    /// File offsets of the FMap pages.
    pub fmaps: Vec<u64>,
    /// File offsets of the FPMap pages.
    pub fpmaps: Vec<u64>,
    /// File offset of the density list page.
    pub dlist: u64,
    /// Root page of the NBT.
    pub nbt_root: u64,
    /// Root page of the BBT.
    pub bbt_root: u64,
    /// Final file size (ibFileEof).
    pub file_size: u64,
}

impl Layout {
    /// The block record of a BID (bit 0 ignored).
    pub fn block(&self, bid: u64) -> Option<&BlockRecord> {
        let bid = bid & !1;
        self.blocks
            .binary_search_by_key(&bid, |b| b.bid)
            .ok()
            .map(|i| &self.blocks[i])
    }

    /// The NBT entry of a NID.
    pub fn node(&self, nid: u32) -> Option<&NodeRecord> {
        self.nodes
            .binary_search_by_key(&nid, |n| n.nid)
            .ok()
            .map(|i| &self.nodes[i])
    }
}

/// The type of a NID ([MS-PST] 2.2.2.1): its low five bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NidType {
    NormalFolder = 0x02,
    NormalMessage = 0x04,
    Attachment = 0x05,
    AssocMessage = 0x08,
    HierarchyTable = 0x0D,
    ContentsTable = 0x0E,
    AssocContentsTable = 0x0F,
    /// LTP-private subnodes: large values, row matrices.
    Ltp = 0x1F,
}

impl NidType {
    /// The NID of this type with index `index`.
    pub fn nid(self, index: u32) -> u32 {
        (index << 5) | self as u32
    }
}

/// One SLENTRY of a subnode tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubnodeEntry {
    /// Subnode id (local to its node).
    pub nid: u32,
    /// Data of the subnode.
    pub bid_data: u64,
    /// Nested subnode tree, 0 when none.
    pub bid_sub: u64,
}

/// Header fields that the layers above decide.
#[derive(Debug, Clone)]
pub struct HeaderInfo {
    /// rgnid: the next free NID index for each of the 32 NID types.
    pub next_nid_index: [u32; 32],
    /// dwUnique.
    pub unique: u32,
}

/// Streaming writer of the node database.
pub struct NdbWriter<W: Write + Seek> {
    out: W,
    format: Format,
    crypt: CryptMethod,
    /// Next byte to write (the stream is always positioned here).
    pos: u64,
    /// AMap bitmap of each region started so far.
    amap_bits: Vec<Vec<u8>>,
    /// Next BID index (BID = index * 4, + 2 for internal blocks).
    next_bid_index: u64,
    blocks: Vec<BlockRecord>,
    nodes: Vec<NodeRecord>,
    zeros: Vec<u8>,
    /// One deflate state for every 4K block (making one zeroes ~300 KB of
    /// tables, which cost more than the compression itself), and its output.
    deflate: Compress,
    zbuf: Vec<u8>,
    /// Recent compression results by a sample hash of the input: generated
    /// stores repeat whole blocks (every message's body text), and the
    /// compressor is deterministic, so a repeat costs a compare.
    zcache: HashMap<u64, (Vec<u8>, Option<Vec<u8>>)>,
}

/// Entries kept in [`NdbWriter::zcache`] before it is emptied.
const ZCACHE_MAX: usize = 256;

impl<W: Write + Seek> NdbWriter<W> {
    /// Start a file: leaves room for the header, which [`NdbWriter::finish`] writes.
    pub fn new(mut out: W, format: Format, crypt: CryptMethod) -> io::Result<Self> {
        out.seek(SeekFrom::Start(0))?;
        let zeros = vec![0u8; 64 * 1024];
        let mut w = NdbWriter {
            out,
            format,
            crypt,
            pos: 0,
            amap_bits: Vec::new(),
            next_bid_index: 1,
            blocks: Vec::new(),
            nodes: Vec::new(),
            zeros,
            deflate: Compress::new(Compression::fast(), true),
            zbuf: Vec::new(),
            zcache: HashMap::new(),
        };
        w.pad_to(format.first_amap())?;
        Ok(w)
    }

    /// The file variant.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The block encoding.
    pub fn crypt(&self) -> CryptMethod {
        self.crypt
    }

    /// Largest payload of one block.
    pub fn max_block_data(&self) -> usize {
        self.format.max_block_data()
    }

    fn new_bid(&mut self, internal: bool) -> u64 {
        let bid = self.next_bid_index * 4 + if internal { 2 } else { 0 };
        self.next_bid_index += 1;
        bid
    }

    /// Write zeros up to `target` (which may lie in a later region: the
    /// regions' map pages are reserved on the way).
    fn pad_to(&mut self, target: u64) -> io::Result<()> {
        if self.pos < self.format.first_amap() {
            let n = (target.min(self.format.first_amap()) - self.pos) as usize;
            self.write_zeros(n)?;
        }
        while self.pos < target {
            self.enter_region_if_at_start()?;
            if self.pos >= target {
                break;
            }
            let region_end =
                self.region_start(self.region_of(self.pos)) + self.format.amap_interval();
            let stop = target.min(region_end).max(self.pos);
            let n = (stop - self.pos) as usize;
            self.write_zeros(n)?;
        }
        self.enter_region_if_at_start()
    }

    fn write_zeros(&mut self, mut n: usize) -> io::Result<()> {
        while n > 0 {
            let k = n.min(self.zeros.len());
            self.out.write_all(&self.zeros[..k])?;
            self.pos += k as u64;
            n -= k;
        }
        Ok(())
    }

    fn region_of(&self, ib: u64) -> usize {
        ((ib - self.format.first_amap()) / self.format.amap_interval()) as usize
    }

    fn region_start(&self, r: usize) -> u64 {
        self.format.first_amap() + r as u64 * self.format.amap_interval()
    }

    /// PMaps (deprecated, 512-byte formats only) follow every eighth AMap.
    fn has_pmap(&self, r: usize) -> bool {
        !self.format.is_4k() && r % 8 == 0
    }

    /// FMaps (deprecated, 512-byte formats only): regions 128 + 496k.
    fn has_fmap(&self, r: usize) -> bool {
        !self.format.is_4k() && r >= FMAP_FIRST && (r - FMAP_FIRST) % FMAP_EVERY == 0
    }

    /// FPMaps (deprecated, 512-byte formats only): regions 8192 + 31744k.
    fn has_fpmap(&self, r: usize) -> bool {
        !self.format.is_4k() && r >= FPMAP_FIRST && (r - FPMAP_FIRST) % FPMAP_EVERY == 0
    }

    /// The map pages that open region `r`, in file order after its AMap.
    fn extra_maps(&self, r: usize) -> impl Iterator<Item = u8> {
        [
            (self.has_pmap(r), PTYPE_PMAP),
            (self.has_fmap(r), PTYPE_FMAP),
            (self.has_fpmap(r), PTYPE_FPMAP),
        ]
        .into_iter()
        .filter(|m| m.0)
        .map(|m| m.1)
    }

    /// At the first byte of a region: reserve its AMap (and PMap) page.
    fn enter_region_if_at_start(&mut self) -> io::Result<()> {
        if self.pos < self.format.first_amap() {
            return Ok(());
        }
        let r = self.region_of(self.pos);
        if self.pos != self.region_start(r) || r < self.amap_bits.len() {
            return Ok(());
        }
        self.amap_bits
            .push(vec![0u8; self.format.amap_bitmap_size()]);
        let page = self.format.page_size();
        let reserved = page * (1 + self.extra_maps(r).count());
        let start = self.pos;
        self.write_zeros(reserved)?;
        self.mark(start, reserved as u64);
        Ok(())
    }

    /// Set the AMap bits of `[ib, ib + len)`.
    fn mark(&mut self, ib: u64, len: u64) {
        let unit = self.format.amap_unit();
        let r = self.region_of(ib);
        let first = (ib - self.region_start(r)) / unit;
        let count = len.div_ceil(unit);
        let bits = &mut self.amap_bits[r];
        for i in first..first + count {
            bits[(i / 8) as usize] |= 0x80 >> (i % 8);
        }
    }

    /// Move to an offset aligned to `align` where `size` bytes fit before
    /// the next AMap page; returns that offset.
    fn place(&mut self, size: u64, align: u64) -> io::Result<u64> {
        assert!(size <= self.format.amap_interval() - 4 * self.format.page_size() as u64);
        loop {
            self.enter_region_if_at_start()?;
            let aligned = self.pos.div_ceil(align) * align;
            let region_end =
                self.region_start(self.region_of(self.pos)) + self.format.amap_interval();
            if aligned + size <= region_end {
                self.pad_to(aligned)?;
                return Ok(aligned);
            }
            self.pad_to(region_end)?;
        }
    }

    fn emit(&mut self, bytes: &[u8]) -> io::Result<()> {
        let ib = self.pos;
        self.out.write_all(bytes)?;
        self.pos += bytes.len() as u64;
        self.mark(ib, bytes.len() as u64);
        Ok(())
    }

    /// Write one block; external blocks are encoded with the file's crypt
    /// method (and in 4K files zlib-compressed when that saves space).
    pub fn write_block(&mut self, payload: &[u8], internal: bool) -> io::Result<u64> {
        assert!(
            payload.len() <= self.format.max_block_data(),
            "block payload too big"
        );
        let bid = self.new_bid(internal);
        let mut data = payload.to_vec();
        if !internal {
            self.crypt.encode(&mut data, bid);
        }
        let inflated = data.len();
        // Only unencoded 4K blocks are compressed. Which comes first for an
        // encoded block is not settled (libpff inflates then decodes, and
        // seems to decode compressed permute blocks twice), so we never
        // write a block that needs both.
        if self.format.is_4k() && !internal && self.crypt == CryptMethod::None {
            self.compress(&mut data);
        }
        let cb = data.len();
        let trailer_size = self.format.block_trailer_size();
        let align = self.format.block_align();
        let total = ((cb + trailer_size) as u64).div_ceil(align) * align;
        let ib = self.place(total, align)?;
        let crc = crc32(&data);
        let sig = compute_sig(ib, bid);
        data.resize(total as usize - trailer_size, 0);
        match self.format {
            Format::Ansi => {
                data.extend_from_slice(&(cb as u16).to_le_bytes());
                data.extend_from_slice(&sig.to_le_bytes());
                data.extend_from_slice(&(bid as u32).to_le_bytes());
                data.extend_from_slice(&crc.to_le_bytes());
            }
            Format::Unicode | Format::Ost => {
                data.extend_from_slice(&(cb as u16).to_le_bytes());
                data.extend_from_slice(&sig.to_le_bytes());
                data.extend_from_slice(&crc.to_le_bytes());
                data.extend_from_slice(&bid.to_le_bytes());
            }
            Format::Ost4k => {
                data.extend_from_slice(&(cb as u16).to_le_bytes());
                data.extend_from_slice(&sig.to_le_bytes());
                data.extend_from_slice(&crc.to_le_bytes());
                data.extend_from_slice(&bid.to_le_bytes());
                data.extend_from_slice(&0u16.to_le_bytes());
                data.extend_from_slice(&(inflated as u16).to_le_bytes());
                data.extend_from_slice(&0u32.to_le_bytes());
            }
        }
        self.emit(&data)?;
        self.blocks.push(BlockRecord {
            bid,
            ib,
            cb: cb as u16,
            inflated: inflated as u16,
            total_size: total as u32,
        });
        Ok(bid)
    }

    /// Replace `data` by its zlib stream when that takes fewer 512-byte
    /// units on disk. The output room is capped at the largest size that
    /// saves a unit, so a block that will not shrink enough stops
    /// compressing as soon as it overflows that room.
    fn compress(&mut self, data: &mut Vec<u8>) {
        let trailer = self.format.block_trailer_size();
        let align = self.format.block_align() as usize;
        let units = (data.len() + trailer).div_ceil(align);
        let room = (units - 1) * align;
        if room <= trailer {
            return;
        }
        let room = room - trailer;
        let key = sample_hash(data);
        if let Some((input, z)) = self.zcache.get(&key) {
            if input == data {
                if let Some(z) = z {
                    data.clear();
                    data.extend_from_slice(z);
                }
                return;
            }
        }
        self.deflate.reset();
        self.zbuf.clear();
        self.zbuf.reserve_exact(room);
        // compress_vec writes into the spare capacity only, which may be a
        // little more than asked for: check the size after.
        let z = match self
            .deflate
            .compress_vec(data, &mut self.zbuf, FlushCompress::Finish)
        {
            Ok(Status::StreamEnd) if self.zbuf.len() <= room => Some(self.zbuf.clone()),
            _ => None,
        };
        if self.zcache.len() >= ZCACHE_MAX {
            self.zcache.clear();
        }
        self.zcache.insert(key, (data.clone(), z.clone()));
        if let Some(z) = z {
            *data = z;
        }
    }

    fn id_bytes(&self, v: u64, out: &mut Vec<u8>) {
        if self.format.is_ansi() {
            out.extend_from_slice(&(v as u32).to_le_bytes());
        } else {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }

    /// Write a stream of bytes as a node's data: one block, or a data tree
    /// (XBLOCK / XXBLOCK) of full blocks.
    pub fn write_data(&mut self, data: &[u8]) -> io::Result<u64> {
        let max = self.format.max_block_data();
        if data.len() <= max {
            return self.write_block(data, false);
        }
        let pieces: Vec<&[u8]> = data.chunks(max).collect();
        self.write_pages(&pieces)
    }

    /// Write pre-cut blocks (heap pages, row blocks) as one data tree.
    pub fn write_pages(&mut self, pages: &[&[u8]]) -> io::Result<u64> {
        if pages.len() == 1 {
            return self.write_block(pages[0], false);
        }
        let mut leaves = Vec::with_capacity(pages.len());
        for p in pages {
            leaves.push((self.write_block(p, false)?, p.len() as u64));
        }
        let per_x = (self.format.max_block_data() - 8) / self.format.id_size();
        if leaves.len() <= per_x {
            return self.write_xblock(1, &leaves);
        }
        let mut xblocks = Vec::new();
        for chunk in leaves.chunks(per_x) {
            let total: u64 = chunk.iter().map(|c| c.1).sum();
            xblocks.push((self.write_xblock(1, chunk)?, total));
        }
        assert!(xblocks.len() <= per_x, "data too big for an XXBLOCK");
        self.write_xblock(2, &xblocks)
    }

    fn write_xblock(&mut self, level: u8, children: &[(u64, u64)]) -> io::Result<u64> {
        let total: u64 = children.iter().map(|c| c.1).sum();
        let mut b = vec![0x01, level];
        b.extend_from_slice(&(children.len() as u16).to_le_bytes());
        b.extend_from_slice(&(total as u32).to_le_bytes());
        for (bid, _) in children {
            self.id_bytes(*bid, &mut b);
        }
        self.write_block(&b, true)
    }

    /// Write a subnode tree (SLBLOCK, or SIBLOCK over SLBLOCKs); 0 when empty.
    pub fn write_subnodes(&mut self, entries: &mut [SubnodeEntry]) -> io::Result<u64> {
        if entries.is_empty() {
            return Ok(0);
        }
        entries.sort_by_key(|e| e.nid);
        let id = self.format.id_size();
        let head = if self.format.is_ansi() { 4 } else { 8 };
        let per_sl = (self.format.max_block_data() - head) / (3 * id);
        if entries.len() <= per_sl {
            return self.write_slblock(entries);
        }
        let mut children = Vec::new();
        for chunk in entries.chunks(per_sl) {
            children.push((chunk[0].nid, self.write_slblock(chunk)?));
        }
        let per_si = (self.format.max_block_data() - head) / (2 * id);
        assert!(children.len() <= per_si, "too many subnodes");
        let mut b = vec![0x02, 1];
        b.extend_from_slice(&(children.len() as u16).to_le_bytes());
        if !self.format.is_ansi() {
            b.extend_from_slice(&[0; 4]);
        }
        for (nid, bid) in children {
            self.id_bytes(nid as u64, &mut b);
            self.id_bytes(bid, &mut b);
        }
        self.write_block(&b, true)
    }

    fn write_slblock(&mut self, entries: &[SubnodeEntry]) -> io::Result<u64> {
        let mut b = vec![0x02, 0];
        b.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        if !self.format.is_ansi() {
            b.extend_from_slice(&[0; 4]);
        }
        for e in entries {
            self.id_bytes(e.nid as u64, &mut b);
            self.id_bytes(e.bid_data, &mut b);
            self.id_bytes(e.bid_sub, &mut b);
        }
        self.write_block(&b, true)
    }

    /// Add a node to the NBT.
    pub fn add_node(&mut self, nid: u32, bid_data: u64, bid_sub: u64, nid_parent: u32) {
        self.nodes.push(NodeRecord {
            nid,
            bid_data,
            bid_sub,
            nid_parent,
        });
    }

    /// Write the B-trees, the AMaps and the header; returns the output and
    /// the layout of what was written.
    pub fn finish(mut self, info: &HeaderInfo) -> io::Result<(W, Layout)> {
        let mut nodes = std::mem::take(&mut self.nodes);
        nodes.sort_by_key(|n| n.nid);
        for w in nodes.windows(2) {
            assert!(w[0].nid != w[1].nid, "NID {:#x} written twice", w[0].nid);
        }
        let blocks = std::mem::take(&mut self.blocks);
        let mut pages = Vec::new();

        let nbt_leaves: Vec<(u64, Vec<u8>)> = nodes
            .iter()
            .map(|n| {
                let mut e = Vec::with_capacity(32);
                if self.format.is_ansi() {
                    e.extend_from_slice(&n.nid.to_le_bytes());
                    e.extend_from_slice(&(n.bid_data as u32).to_le_bytes());
                    e.extend_from_slice(&(n.bid_sub as u32).to_le_bytes());
                    e.extend_from_slice(&n.nid_parent.to_le_bytes());
                } else {
                    e.extend_from_slice(&(n.nid as u64).to_le_bytes());
                    e.extend_from_slice(&n.bid_data.to_le_bytes());
                    e.extend_from_slice(&n.bid_sub.to_le_bytes());
                    e.extend_from_slice(&n.nid_parent.to_le_bytes());
                    e.extend_from_slice(&0u32.to_le_bytes());
                }
                (n.nid as u64, e)
            })
            .collect();
        let nbt_root = self.write_btree(TreeKind::Nbt, nbt_leaves, &mut pages)?;

        let bbt_leaves: Vec<(u64, Vec<u8>)> = blocks
            .iter()
            .map(|b| {
                let mut e = Vec::with_capacity(24);
                if self.format.is_ansi() {
                    e.extend_from_slice(&(b.bid as u32).to_le_bytes());
                    e.extend_from_slice(&(b.ib as u32).to_le_bytes());
                    e.extend_from_slice(&b.cb.to_le_bytes());
                    e.extend_from_slice(&BLOCK_REF_COUNT.to_le_bytes());
                } else if self.format.is_4k() {
                    e.extend_from_slice(&b.bid.to_le_bytes());
                    e.extend_from_slice(&b.ib.to_le_bytes());
                    e.extend_from_slice(&b.cb.to_le_bytes());
                    e.extend_from_slice(&b.inflated.to_le_bytes());
                    e.extend_from_slice(&BLOCK_REF_COUNT.to_le_bytes());
                    e.extend_from_slice(&0u16.to_le_bytes());
                } else {
                    e.extend_from_slice(&b.bid.to_le_bytes());
                    e.extend_from_slice(&b.ib.to_le_bytes());
                    e.extend_from_slice(&b.cb.to_le_bytes());
                    e.extend_from_slice(&BLOCK_REF_COUNT.to_le_bytes());
                    e.extend_from_slice(&0u32.to_le_bytes());
                }
                (b.bid, e)
            })
            .collect();
        let bbt_root = self.write_btree(TreeKind::Bbt, bbt_leaves, &mut pages)?;

        // Outlook grows 512-byte-page files an AMap region at a time, so they
        // end on a region boundary. A 4K region is 16 MiB: those files end
        // at the next page boundary instead (the AMap marks the rest free).
        let last = self.region_of(self.pos - 1);
        let eof = if self.format.is_4k() {
            let page = self.format.page_size() as u64;
            self.pos.div_ceil(page) * page
        } else {
            self.region_start(last) + self.format.amap_interval()
        };
        let tail = (eof - self.pos) as usize;
        self.write_zeros(tail)?;
        debug_assert_eq!(self.amap_bits.len(), last + 1);

        let page_size = self.format.page_size() as u64;
        let mut amaps = Vec::new();
        let (mut pmaps, mut fmaps, mut fpmaps) = (Vec::new(), Vec::new(), Vec::new());
        let mut amap_free = 0u64;
        let all_bits = std::mem::take(&mut self.amap_bits);
        let free_slots: Vec<u32> = all_bits
            .iter()
            .map(|bits| bits.iter().map(|b| b.count_zeros()).sum())
            .collect();
        for (r, bits) in all_bits.iter().enumerate() {
            let ib = self.region_start(r);
            amap_free += free_slots[r] as u64 * self.format.amap_unit();
            let page = self.map_page(PTYPE_AMAP, ib, bits);
            self.out.seek(SeekFrom::Start(ib))?;
            self.out.write_all(&page)?;
            amaps.push(ib);
            let mut pib = ib;
            for ptype in self.extra_maps(r).collect::<Vec<_>>() {
                pib += page_size;
                let map = match ptype {
                    PTYPE_FMAP => {
                        fmaps.push(pib);
                        fmap_bytes(&all_bits, r, self.format.amap_bitmap_size())
                    }
                    PTYPE_FPMAP => {
                        fpmaps.push(pib);
                        fpmap_bits(all_bits.len(), r, self.format.amap_bitmap_size())
                    }
                    _ => {
                        pmaps.push(pib);
                        vec![0xFF; self.format.amap_bitmap_size()]
                    }
                };
                let page = self.map_page(ptype, pib, &map);
                self.out.seek(SeekFrom::Start(pib))?;
                self.out.write_all(&page)?;
            }
        }
        let dlist = self.format.dlist_offset();
        let dlist_page = self.dlist_page(&free_slots);
        self.out.seek(SeekFrom::Start(dlist))?;
        self.out.write_all(&dlist_page)?;

        // Each tree's root is its last page written.
        let root = |tree| {
            pages
                .iter()
                .rev()
                .find(|p| p.tree == tree)
                .copied()
                .expect("every tree has a page")
        };
        let (root_nbt, root_bbt) = (root(TreeKind::Nbt), root(TreeKind::Bbt));
        let header = self.header(
            info,
            eof,
            *amaps.last().expect("amap"),
            amap_free,
            root_nbt,
            root_bbt,
        );
        self.out.seek(SeekFrom::Start(0))?;
        self.out.write_all(&header)?;
        self.out.seek(SeekFrom::Start(eof))?;
        self.out.flush()?;
        let layout = Layout {
            blocks,
            nodes,
            pages,
            amaps,
            pmaps,
            fmaps,
            fpmaps,
            dlist,
            nbt_root: nbt_root.1,
            bbt_root: bbt_root.1,
            file_size: eof,
        };
        Ok((self.out, layout))
    }

    /// Write one B-tree bottom-up; returns the root (bid, ib).
    fn write_btree(
        &mut self,
        tree: TreeKind,
        leaves: Vec<(u64, Vec<u8>)>,
        pages: &mut Vec<PageRecord>,
    ) -> io::Result<(u64, u64)> {
        let leaf_size = leaves
            .first()
            .map(|l| l.1.len())
            .unwrap_or(if tree == TreeKind::Nbt {
                if self.format.is_ansi() {
                    16
                } else {
                    32
                }
            } else if self.format.is_ansi() {
                12
            } else {
                24
            });
        let branch_size = 3 * self.format.id_size();
        let mut level = 0u8;
        let mut items = leaves;
        loop {
            let entry_size = if level == 0 { leaf_size } else { branch_size };
            let per_page = self.format.bt_entries_size() / entry_size;
            let mut next = Vec::new();
            let chunks: Vec<&[(u64, Vec<u8>)]> = if items.is_empty() {
                vec![&[]]
            } else {
                items.chunks(per_page).collect()
            };
            for chunk in chunks {
                let (bid, ib) = self.write_bt_page(tree, level, entry_size, chunk, pages)?;
                let key = chunk.first().map(|c| c.0).unwrap_or(0);
                let mut e = Vec::with_capacity(branch_size);
                self.id_bytes(key, &mut e);
                self.id_bytes(bid, &mut e);
                self.id_bytes(ib, &mut e);
                next.push((key, e, bid, ib));
            }
            if next.len() == 1 {
                return Ok((next[0].2, next[0].3));
            }
            items = next.into_iter().map(|(k, e, _, _)| (k, e)).collect();
            level += 1;
        }
    }

    fn write_bt_page(
        &mut self,
        tree: TreeKind,
        level: u8,
        entry_size: usize,
        entries: &[(u64, Vec<u8>)],
        pages: &mut Vec<PageRecord>,
    ) -> io::Result<(u64, u64)> {
        let size = self.format.page_size();
        let ib = self.place(size as u64, size as u64)?;
        let bid = self.new_bid(false);
        let mut p = vec![0u8; size];
        let mut off = 0;
        for (_, e) in entries {
            p[off..off + e.len()].copy_from_slice(e);
            off += e.len();
        }
        let meta = self.format.bt_entries_size();
        let max = (meta / entry_size) as u16;
        if self.format.is_4k() {
            p[meta..meta + 2].copy_from_slice(&(entries.len() as u16).to_le_bytes());
            p[meta + 2..meta + 4].copy_from_slice(&max.to_le_bytes());
            p[meta + 4] = entry_size as u8;
            p[meta + 5] = level;
        } else {
            p[meta] = entries.len() as u8;
            p[meta + 1] = max as u8;
            p[meta + 2] = entry_size as u8;
            p[meta + 3] = level;
        }
        let ptype = if tree == TreeKind::Nbt {
            PTYPE_NBT
        } else {
            PTYPE_BBT
        };
        self.page_trailer(&mut p, ptype, compute_sig(ib, bid), bid);
        self.emit(&p)?;
        pages.push(PageRecord {
            tree,
            level,
            ib,
            bid,
            entries: entries.len() as u16,
        });
        Ok((bid, ib))
    }

    /// Fill a page's trailer (the CRC covers everything before it).
    fn page_trailer(&self, p: &mut [u8], ptype: u8, sig: u16, bid: u64) {
        let t = self.format.page_size() - self.format.page_trailer_size();
        p[t] = ptype;
        p[t + 1] = ptype;
        p[t + 2..t + 4].copy_from_slice(&sig.to_le_bytes());
        let crc = crc32(&p[..t]);
        if self.format.is_ansi() {
            p[t + 4..t + 8].copy_from_slice(&(bid as u32).to_le_bytes());
            p[t + 8..t + 12].copy_from_slice(&crc.to_le_bytes());
        } else {
            p[t + 4..t + 8].copy_from_slice(&crc.to_le_bytes());
            p[t + 8..t + 16].copy_from_slice(&bid.to_le_bytes());
        }
    }

    /// An AMap or PMap page; its "BID" is its own offset.
    fn map_page(&self, ptype: u8, ib: u64, bits: &[u8]) -> Vec<u8> {
        let mut p = vec![0u8; self.format.page_size()];
        // ANSI map pages start with 4 bytes of padding.
        let start = if self.format.is_ansi() { 4 } else { 0 };
        p[start..start + bits.len()].copy_from_slice(bits);
        self.page_trailer(&mut p, ptype, 0, ib);
        p
    }

    /// The density list page (see the module comment).
    fn dlist_page(&self, free_slots: &[u32]) -> Vec<u8> {
        let size = self.format.page_size();
        let mut p = vec![0u8; size];
        if !self.format.is_4k() {
            let current = free_slots.len() - 1;
            let mut entries: Vec<(u32, u32)> = free_slots[..current]
                .iter()
                .enumerate()
                .map(|(i, &free)| (i as u32, free))
                .collect();
            entries.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            entries.truncate(self.format.dlist_max_entries());
            p[0] = DFL_BACKFILL_COMPLETE;
            p[1] = entries.len() as u8;
            p[4..8].copy_from_slice(&(current as u32).to_le_bytes());
            for (k, &(page, free)) in entries.iter().enumerate() {
                let e = (page & 0xF_FFFF) | (free.min(0xFFF) << 20);
                p[8 + 4 * k..12 + 4 * k].copy_from_slice(&e.to_le_bytes());
            }
        }
        let ib = self.format.dlist_offset();
        let bid = self.next_bid_index * 4;
        self.page_trailer(&mut p, PTYPE_DLIST, compute_sig(ib, bid), bid);
        p
    }

    fn header(
        &self,
        info: &HeaderInfo,
        eof: u64,
        amap_last: u64,
        amap_free: u64,
        nbt: PageRecord,
        bbt: PageRecord,
    ) -> Vec<u8> {
        let f = self.format;
        let mut h = vec![0u8; 564];
        h[0..4].copy_from_slice(b"!BDN");
        h[8..10].copy_from_slice(f.client_magic());
        h[10..12].copy_from_slice(&f.version().to_le_bytes());
        h[12..14].copy_from_slice(&f.client_version().to_le_bytes());
        h[14] = 1; // bPlatformCreate
        h[15] = 1; // bPlatformAccess
        let next_bid = self.next_bid_index * 4;
        if f.is_ansi() {
            h[24..28].copy_from_slice(&(next_bid as u32).to_le_bytes()); // bidNextB
            h[28..32].copy_from_slice(&(next_bid as u32).to_le_bytes()); // bidNextP
            h[32..36].copy_from_slice(&info.unique.to_le_bytes());
            for (i, n) in info.next_nid_index.iter().enumerate() {
                h[36 + 4 * i..40 + 4 * i].copy_from_slice(&n.to_le_bytes());
            }
            let r = 164;
            h[r + 4..r + 8].copy_from_slice(&(eof as u32).to_le_bytes());
            h[r + 8..r + 12].copy_from_slice(&(amap_last as u32).to_le_bytes());
            h[r + 12..r + 16].copy_from_slice(&(amap_free as u32).to_le_bytes());
            h[r + 20..r + 24].copy_from_slice(&(nbt.bid as u32).to_le_bytes());
            h[r + 24..r + 28].copy_from_slice(&(nbt.ib as u32).to_le_bytes());
            h[r + 28..r + 32].copy_from_slice(&(bbt.bid as u32).to_le_bytes());
            h[r + 32..r + 36].copy_from_slice(&(bbt.ib as u32).to_le_bytes());
            h[r + 36] = 2; // fAMapValid: VALID_AMAP2
            h[204..460].fill(0xFF); // rgbFM, rgbFP (deprecated, MUST be 0xFF)
            h[460] = 0x80; // bSentinel
            h[461] = self.crypt.to_byte();
            h.truncate(512);
        } else {
            h[24..28].copy_from_slice(&4u32.to_le_bytes()); // bidUnused, as Outlook leaves it
            h[28..32].copy_from_slice(&1u32.to_le_bytes());
            h[32..40].copy_from_slice(&next_bid.to_le_bytes()); // bidNextP
            h[40..44].copy_from_slice(&info.unique.to_le_bytes());
            for (i, n) in info.next_nid_index.iter().enumerate() {
                h[44 + 4 * i..48 + 4 * i].copy_from_slice(&n.to_le_bytes());
            }
            let r = 180;
            h[r + 4..r + 12].copy_from_slice(&eof.to_le_bytes());
            h[r + 12..r + 20].copy_from_slice(&amap_last.to_le_bytes());
            h[r + 20..r + 28].copy_from_slice(&amap_free.to_le_bytes());
            h[r + 36..r + 44].copy_from_slice(&nbt.bid.to_le_bytes());
            h[r + 44..r + 52].copy_from_slice(&nbt.ib.to_le_bytes());
            h[r + 52..r + 60].copy_from_slice(&bbt.bid.to_le_bytes());
            h[r + 60..r + 68].copy_from_slice(&bbt.ib.to_le_bytes());
            h[r + 68] = 2; // fAMapValid: VALID_AMAP2
            h[256..512].fill(0xFF); // rgbFM, rgbFP (deprecated, MUST be 0xFF)
            h[512] = 0x80; // bSentinel
            h[513] = self.crypt.to_byte();
            h[516..524].copy_from_slice(&next_bid.to_le_bytes()); // bidNextB
            let full = crc32(&h[8..524]);
            h[524..528].copy_from_slice(&full.to_le_bytes());
        }
        let partial = crc32(&h[8..479]);
        h[4..8].copy_from_slice(&partial.to_le_bytes());
        h
    }
}

/// A cheap key for the compression cache: the length and 32 words spread
/// over the data (a collision only costs a compare and a recompression).
fn sample_hash(data: &[u8]) -> u64 {
    let mut h = data.len() as u64;
    if data.len() >= 8 {
        let step = (data.len() - 8) / 31;
        for i in 0..32 {
            let at = (i * step).min(data.len() - 8);
            let w = u64::from_le_bytes(data[at..at + 8].try_into().unwrap());
            h = (h.rotate_left(5) ^ w).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    } else {
        for &b in data {
            h = (h.rotate_left(5) ^ b as u64).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }
    h
}

/// FMap bytes for the FMap in region `r`: one per AMap from `r` on, the
/// longest run of free AMap bits (capped at 255); 0 past the last AMap.
fn fmap_bytes(amaps: &[Vec<u8>], r: usize, size: usize) -> Vec<u8> {
    (0..size)
        .map(|i| {
            amaps
                .get(r + i)
                .map_or(0, |bits| longest_free_run(bits).min(255) as u8)
        })
        .collect()
}

/// FPMap bits for the FPMap in region `r`: one per PMap from region `r` on
/// (8 AMaps each), 0 for the PMaps that exist (ours never have free pages),
/// 1 past the end, as in the rgbFP of the corpus's pre-2007 files.
fn fpmap_bits(amap_count: usize, r: usize, size: usize) -> Vec<u8> {
    let pmaps = amap_count.saturating_sub(r).div_ceil(8);
    let mut bits = vec![0xFFu8; size];
    for i in 0..pmaps.min(size * 8) {
        bits[i / 8] &= !(0x80 >> (i % 8));
    }
    bits
}

/// Longest run of zero bits (most significant bit first).
fn longest_free_run(bits: &[u8]) -> u32 {
    let (mut best, mut run) = (0, 0);
    for &b in bits {
        if b == 0 {
            run += 8;
        } else {
            for k in 0..8 {
                if b & (0x80 >> k) == 0 {
                    run += 1;
                } else {
                    best = best.max(run);
                    run = 0;
                }
            }
        }
    }
    best.max(run)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn compute_sig_folds_the_xor() {
        assert_eq!(compute_sig(0x1_0000, 0x4), 0x0005);
        assert_eq!(compute_sig(0, 0), 0);
    }

    #[test]
    fn blocks_get_trailers_and_stay_inside_their_amap_region() {
        for format in Format::ALL {
            let mut w = NdbWriter::new(Cursor::new(Vec::new()), format, CryptMethod::None).unwrap();
            let payload = vec![7u8; 5000];
            let mut bids = Vec::new();
            for _ in 0..80 {
                bids.push(w.write_block(&payload, false).unwrap());
            }
            w.add_node(0x21, bids[0], 0, 0);
            let info = HeaderInfo {
                next_nid_index: [0x400; 32],
                unique: 1,
            };
            let (out, layout) = w.finish(&info).unwrap();
            let file = out.into_inner();
            assert_eq!(file.len() as u64, layout.file_size);
            let interval = format.amap_interval();
            for b in &layout.blocks {
                let rel = (b.ib - format.first_amap()) % interval;
                assert!(rel >= format.page_size() as u64, "block over an AMap page");
                assert!(
                    rel + b.total_size as u64 <= interval,
                    "block crosses a region"
                );
                assert_eq!(b.ib % format.block_align(), 0);
                let end = (b.ib + b.total_size as u64) as usize;
                let t = end - format.block_trailer_size();
                let cb = u16::from_le_bytes([file[t], file[t + 1]]) as usize;
                assert_eq!(cb, b.cb as usize);
                let data = &file[b.ib as usize..b.ib as usize + cb];
                let crc_off = if format.is_ansi() { t + 8 } else { t + 4 };
                let crc = u32::from_le_bytes(file[crc_off..crc_off + 4].try_into().unwrap());
                assert_eq!(crc, crc32(data));
            }
            // header CRCs
            let partial = u32::from_le_bytes(file[4..8].try_into().unwrap());
            assert_eq!(partial, crc32(&file[8..479]));
            if !format.is_ansi() {
                let full = u32::from_le_bytes(file[524..528].try_into().unwrap());
                assert_eq!(full, crc32(&file[8..524]));
            }
        }
    }

    #[test]
    fn fmaps_follow_amap_128_and_every_496th_after() {
        for format in [Format::Unicode, Format::Ansi] {
            let mut w = NdbWriter::new(Cursor::new(Vec::new()), format, CryptMethod::None).unwrap();
            let payload = vec![1u8; 8000];
            let mut first = 0;
            while w.pos < 0x1F04400 + 300_000 {
                first = w.write_block(&payload, false).unwrap();
            }
            w.add_node(0x21, first, 0, 0);
            let info = HeaderInfo {
                next_nid_index: [0x400; 32],
                unique: 1,
            };
            let (out, layout) = w.finish(&info).unwrap();
            let file = out.into_inner();
            // AMap 128 is followed by its PMap (128 % 8 == 0) and the first FMap.
            assert_eq!(layout.amaps[128], 0x1F04400);
            assert_eq!(layout.fmaps, vec![0x1F04800], "{format}");
            assert!(layout.fpmaps.is_empty());
            let ib = 0x1F04800usize;
            let t = format.page_size() - format.page_trailer_size();
            let page = &file[ib..ib + 512];
            assert_eq!((page[t], page[t + 1]), (PTYPE_FMAP, PTYPE_FMAP));
            let (bid, crc) = if format.is_ansi() {
                (
                    u32::from_le_bytes(page[t + 4..t + 8].try_into().unwrap()) as u64,
                    u32::from_le_bytes(page[t + 8..t + 12].try_into().unwrap()),
                )
            } else {
                (
                    u64::from_le_bytes(page[t + 8..t + 16].try_into().unwrap()),
                    u32::from_le_bytes(page[t + 4..t + 8].try_into().unwrap()),
                )
            };
            assert_eq!(bid, ib as u64);
            assert_eq!(crc, crc32(&page[..t]));
            // AMap 128 reserves its three map pages (24 bits).
            let a = 0x1F04400usize + if format.is_ansi() { 4 } else { 0 };
            assert_eq!(&file[a..a + 3], &[0xFF; 3]);
            // Byte 0 covers AMap 128, byte 1 AMap 129 (the last), then none.
            let start = if format.is_ansi() { 4 } else { 0 };
            let amap = |r: usize| {
                let ib = layout.amaps[r] as usize + start;
                file[ib..ib + 496].to_vec()
            };
            assert_eq!(page[start] as u32, longest_free_run(&amap(128)).min(255));
            assert_eq!(
                page[start + 1] as u32,
                longest_free_run(&amap(129)).min(255)
            );
            assert!(page[start + 1] > 0, "the last AMap has a free tail");
            assert!(page[start + 2..start + 496].iter().all(|&b| b == 0));
            // Region 129 has no map page but its AMap: data follows at once.
            let next = layout.amaps[129] + 512;
            assert!(layout.blocks.iter().any(|b| b.ib == next));
        }
    }

    #[test]
    fn fpmaps_sit_after_the_pmap_of_amap_8192() {
        let w =
            NdbWriter::new(Cursor::new(Vec::new()), Format::Unicode, CryptMethod::None).unwrap();
        let maps = |r| w.extra_maps(r).collect::<Vec<u8>>();
        assert_eq!(maps(0), vec![PTYPE_PMAP]);
        assert!(maps(1).is_empty());
        assert_eq!(maps(128), vec![PTYPE_PMAP, PTYPE_FMAP]);
        assert_eq!(maps(624), vec![PTYPE_PMAP, PTYPE_FMAP]);
        assert_eq!(maps(8192), vec![PTYPE_PMAP, PTYPE_FPMAP]);
        assert_eq!(maps(8192 + 31744), vec![PTYPE_PMAP, PTYPE_FPMAP]);
        // The first FPMap lands where [MS-PST]'s numbers put it.
        assert_eq!(w.region_start(8192) + 2 * 512, 0x7C00_4800);
        let w4 = NdbWriter::new(Cursor::new(Vec::new()), Format::Ost4k, CryptMethod::None).unwrap();
        assert_eq!(w4.extra_maps(0).count() + w4.extra_maps(128).count(), 0);
        // Two PMaps' worth of AMaps: two zero bits, the rest ones.
        let bits = fpmap_bits(8192 + 9, 8192, 496);
        assert_eq!(bits[0], 0b0011_1111);
        assert!(bits[1..].iter().all(|&b| b == 0xFF));
    }

    #[test]
    fn longest_free_run_counts_zero_bits_across_bytes() {
        assert_eq!(longest_free_run(&[0xFF, 0xF0, 0x00, 0x0F]), 4 + 8 + 4);
        assert_eq!(longest_free_run(&[0xFF]), 0);
        assert_eq!(longest_free_run(&[0x81]), 6);
    }
}
