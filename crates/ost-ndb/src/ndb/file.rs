//! [`Pst`]: an opened PST or OST file, what callers ask of it. It holds
//! the `Reader` of `reader.rs` (the bytes, the header, the options and the
//! issue log) and the `BTrees` of `lookup.rs` (what lookups keep between
//! calls), and joins them: B-tree lookups and iteration, blocks read by
//! BID, and the read-ahead of a batch of blocks or nodes on a cold file. Nodes (`node.rs`) and
//! whole-file statistics (`stats.rs`) are built on it.

use std::borrow::Cow;
use std::path::Path;

use super::block::RawBlock;
use super::btree::{BTreeIter, BbtEntry, BtPage, LeafEntry, NbtEntry, Tree};
use super::error::{NdbError, Result};
use super::format::Format;
use super::header::{Bref, Header};
use super::ids::{Bid, Nid, NidType};
use super::internal_block::{self, btype};
use super::lookup::BTrees;
use super::reader::Reader;

// Where callers first found them.
pub use super::issues::Validation;
pub use super::reader::ReadOptions;

/// An opened PST/OST file.
pub struct Pst<'a> {
    reader: Reader<'a>,
    trees: BTrees,
}

impl Pst<'static> {
    /// Open a file read-only and map it. The file is never written.
    pub fn open(path: impl AsRef<Path>) -> Result<Pst<'static>> {
        Pst::open_with(path, ReadOptions::default())
    }

    pub fn open_with(path: impl AsRef<Path>, options: ReadOptions) -> Result<Pst<'static>> {
        Reader::open(path.as_ref(), options).map(Pst::new)
    }

    /// Take ownership of bytes already in memory.
    pub fn from_vec(bytes: Vec<u8>) -> Result<Pst<'static>> {
        Reader::from_vec(bytes, ReadOptions::default()).map(Pst::new)
    }
}

impl<'a> Pst<'a> {
    /// Read a file held in memory, borrowing it.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Pst<'a>> {
        Pst::from_bytes_with(bytes, ReadOptions::default())
    }

    pub fn from_bytes_with(bytes: &'a [u8], options: ReadOptions) -> Result<Pst<'a>> {
        Reader::from_slice(bytes, options).map(Pst::new)
    }

    fn new(reader: Reader<'a>) -> Pst<'a> {
        let trees = BTrees::new(reader.len());
        Pst { reader, trees }
    }

    /// Keep the offset and size of every block read from now on (for
    /// tests that check what a walk reads: [`Pst::logged_reads`]).
    pub fn log_reads(mut self) -> Self {
        self.reader.log_reads();
        self
    }

    /// The blocks read since [`Pst::log_reads`] (offset, size): those read
    /// for callers in the order they were read, then, on a cold file, those
    /// read ahead (taken or not); empty without it.
    pub fn logged_reads(&self) -> Vec<(u64, u64)> {
        self.reader.logged_reads()
    }

    /// The whole file.
    pub fn bytes(&self) -> &[u8] {
        self.reader.bytes()
    }

    /// The whole file, in order, a piece at a time, to `each` (the bytes
    /// of [`Pst::bytes`]), read the way a whole file reads fastest, cold
    /// or not: for a hash of the file.
    pub fn read_whole(&self, each: impl FnMut(&[u8])) -> std::io::Result<()> {
        self.reader.read_whole(each)
    }

    pub fn len(&self) -> u64 {
        self.reader.len()
    }

    pub fn is_empty(&self) -> bool {
        self.reader.bytes().is_empty()
    }

    pub fn header(&self) -> &Header {
        self.reader.header()
    }

    pub fn format(&self) -> Format {
        self.reader.format()
    }

    pub fn options(&self) -> ReadOptions {
        self.reader.options()
    }

    /// `len` bytes at `offset`, or an `OutOfBounds` error naming `structure`.
    pub fn slice(&self, structure: &'static str, offset: u64, len: u64) -> Result<&[u8]> {
        self.reader.slice(structure, offset, len)
    }

    /// True once a read-ahead found this file out of the page cache.
    pub fn reading_ahead(&self) -> bool {
        self.reader.reading_ahead()
    }

    /// True when the file was not found in the page cache when it was
    /// opened (and direct reads are possible): a caller may then spend some
    /// work to say what it will read next ([`Pst::prefetch_nodes`]). A
    /// store of small folders may never read a multi-block heap, whose
    /// read-ahead would make [`Pst::reading_ahead`] true.
    pub fn may_read_ahead(&self) -> bool {
        self.reader.may_read_ahead()
    }

    /// Handle an integrity failure: an error in strict mode, a recorded issue
    /// in lenient mode.
    pub fn integrity(&self, e: NdbError) -> Result<()> {
        self.reader.integrity(e)
    }

    /// Remember a problem for [`Pst::issues`] (once per structure, offset and
    /// kind of problem), unless inside a quiet read-ahead.
    pub fn record(&self, e: NdbError) {
        self.reader.record(e)
    }

    /// Problems recorded so far, in file order, and how many more were
    /// dropped past the cap.
    pub fn issues(&self) -> (Vec<NdbError>, u64) {
        self.reader.issues()
    }

    // B-trees (`btree.rs`, `lookup.rs`).

    /// Read and check the B-tree page `bref` points at. `level` is the level
    /// the parent implies (`None` for the root).
    pub fn bt_page(&self, tree: Tree, bref: Bref, level: Option<u8>) -> Result<BtPage<'_>> {
        self.trees.page(&self.reader, tree, bref, level)
    }

    /// Find the leaf entry with `key` in its tree.
    pub fn bt_lookup<E: LeafEntry>(&self, key: u64) -> Result<E> {
        self.trees.lookup(&self.reader, key)
    }

    /// The NBT entry of a node.
    pub fn nbt_lookup(&self, nid: Nid) -> Result<NbtEntry> {
        self.bt_lookup::<NbtEntry>(nid.0 as u64)
            .map_err(|e| e.with_nid(nid))
    }

    /// The BBT entry of a block.
    pub fn bbt_lookup(&self, bid: Bid) -> Result<BbtEntry> {
        self.bt_lookup::<BbtEntry>(bid.0)
            .map_err(|e| e.with_bid(bid.0))
    }

    /// Every NBT leaf entry in key order. Unreadable pages come out as
    /// errors in their place and the walk goes on.
    pub fn nbt_iter(&self) -> BTreeIter<'_, 'a, NbtEntry> {
        // The walk reads every leaf, one page fault after the other: on a
        // cold file, ask for all of them at once first.
        if let Some(leaves) = self.trees.leaf_pages(&self.reader, Tree::Node) {
            if self.reader.pages_uncached(&leaves) {
                self.reader.read_ahead(&leaves, &[]);
            }
        }
        self.trees.iter(&self.reader)
    }

    /// Every BBT leaf entry in key order.
    pub fn bbt_iter(&self) -> BTreeIter<'_, 'a, BbtEntry> {
        self.trees.iter(&self.reader)
    }

    // Blocks (`block.rs`).

    /// Look a block up in the BBT and read it (checks included).
    pub fn raw_block(&self, bid: Bid) -> Result<RawBlock<'_>> {
        let entry = self.bbt_lookup(bid)?;
        self.raw_block_at(&entry)
    }

    /// Read and check the block a BBT entry describes.
    pub fn raw_block_at(&self, entry: &BbtEntry) -> Result<RawBlock<'_>> {
        RawBlock::read(&self.reader, entry)
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
        raw.decode(self.header().crypt)
    }

    // Read-ahead on a cold file (`cold.rs`).

    /// Say that the blocks `bids` are about to be read. Where the file was
    /// not found cached when opened, their BBT leaf pages are asked of the
    /// kernel at once, then the blocks not in the page cache are read
    /// ahead, many at a time, at sector granularity, and kept until read
    /// (see `cold.rs`): a cold scan then waits for the device once per
    /// batch instead of once per block, and reads a few percent of the
    /// file. True when it read ahead.
    ///
    /// Cached BBT leaves say nothing of the blocks: a scan that read the
    /// file before leaves its B-tree pages cached and, read direct, none
    /// of its blocks (skipping such batches made a second scan of a PST
    /// of small messages 8x slower than the first).
    pub fn prefetch_blocks(&self, bids: &[Bid]) -> bool {
        if !self.reader.may_read_ahead() {
            return false;
        }
        let bids = &bids[..bids.len().min(MAX_PREFETCH)];
        let mut leaves: Vec<u64> = bids
            .iter()
            .filter_map(|&b| self.trees.leaf_of(&self.reader, Tree::Block, b.0))
            .collect();
        leaves.sort_unstable();
        leaves.dedup();
        let leaves_uncached = self.reader.pages_uncached(&leaves);
        if leaves_uncached {
            self.reader.read_ahead(&leaves, &[]);
        }
        let f = self.format();
        // The leaves' routes were built above, with their checks recorded;
        // the leaves themselves are looked up quietly (a warm read may
        // never look at some of them).
        let blocks: Vec<(u64, u64)> = self.reader.quietly(|| {
            bids.iter()
                .filter_map(|&b| self.bbt_lookup(b).ok())
                .map(|e| (e.ib, f.block_size_for(e.cb as u64)))
                .filter(|&(_, size)| size <= f.max_block_size())
                .collect()
        });
        self.reader.read_ahead(&[], &blocks) || leaves_uncached
    }

    /// Say that the nodes `nids` are about to be opened, their property
    /// context or table read, and with `subnodes` their subnode trees too:
    /// on a file not found cached when opened, their NBT leaves where not
    /// cached, then their first data blocks (and subnode blocks) are read
    /// ahead as [`Pst::prefetch_blocks`] does. A subnode block asked for
    /// and never read costs the device a read for nothing.
    pub fn prefetch_nodes(&self, nids: &[Nid], subnodes: bool) {
        if !self.reader.may_read_ahead() {
            return;
        }
        let nids = &nids[..nids.len().min(MAX_PREFETCH / 2)];
        let mut leaves: Vec<u64> = nids
            .iter()
            .filter_map(|&n| self.trees.leaf_of(&self.reader, Tree::Node, n.0 as u64))
            .collect();
        leaves.sort_unstable();
        leaves.dedup();
        if self.reader.pages_uncached(&leaves) {
            self.reader.read_ahead(&leaves, &[]);
        }
        let bids: Vec<Bid> = self.reader.quietly(|| {
            nids.iter()
                .filter_map(|&n| self.nbt_lookup(n).ok())
                .flat_map(|e| [Some(e.bid_data), subnodes.then_some(e.bid_sub)])
                .flatten()
                .filter(|b| !b.is_null())
                .collect()
        });
        self.prefetch_blocks(&bids);
    }

    /// On a cold file, read ahead the start of the property values the
    /// nodes `nids` keep in subnodes (NID type LTP: a long body, not the
    /// recipient or attachment tables), whose subnode blocks
    /// [`Pst::prefetch_nodes`] was asked for: each value's first data block
    /// (or XBLOCK), and of an XBLOCK's blocks the first `first_blocks`.
    /// Each step looks into the blocks the one before read ahead (waiting
    /// for them) without taking them, and never reads from the device
    /// itself: what was not read ahead is left to the walk. Costs nothing
    /// on a file found cached when opened.
    ///
    /// Without it a walk that reads the start of a long value (a log's
    /// text) waits for the device twice an item, one item after the other.
    pub fn prefetch_subnode_data(&self, nids: &[Nid], first_blocks: usize) {
        if !self.reader.may_read_ahead() || nids.is_empty() {
            return;
        }
        let f = self.format();
        let nids = &nids[..nids.len().min(MAX_SUBNODE_PREFETCH)];
        self.reader.quietly(|| {
            self.reader.peeking(|| {
                let streams: Vec<Bid> = nids
                    .iter()
                    .filter_map(|&n| self.nbt_lookup(n).ok())
                    .filter_map(|e| self.subnodes(e.bid_sub).ok())
                    .flatten()
                    .filter(|s| s.nid.nid_type() == NidType::Ltp)
                    .map(|s| s.bid_data)
                    .filter(|b| !b.is_null())
                    .take(MAX_SUBNODE_PREFETCH)
                    .collect();
                self.prefetch_blocks(&streams);
                let firsts: Vec<Bid> = streams
                    .iter()
                    .filter(|b| b.is_internal())
                    .filter_map(|&b| self.internal_block(b, btype::XBLOCK, "XBLOCK").ok())
                    .filter(|(hdr, _)| hdr.level == 1)
                    .flat_map(|(hdr, data)| {
                        let mut ids = internal_block::entry_ids(&hdr, &data, 0, f);
                        ids.truncate(first_blocks);
                        ids
                    })
                    .collect();
                self.prefetch_blocks(&firsts);
            })
        });
    }
}

/// Nodes, and subnode streams, [`Pst::prefetch_subnode_data`] looks at in
/// one call at most.
const MAX_SUBNODE_PREFETCH: usize = 4096;

/// Blocks read ahead at most in one call of [`Pst::prefetch_blocks`].
const MAX_PREFETCH: usize = 8192;
