//! The node B-tree (NBT) and block B-tree (BBT), [MS-PST] 2.2.2.7.7: their
//! pages and leaf entries, the checked read of a page, the descent from a
//! page to a key and lazy in-order iteration. Every page read is checked
//! (type, signature, CRC, back pointer, entry sizes); levels must descend
//! by one at each step, which bounds lookups, and iteration remembers the
//! pages it has been through, which bounds walks over crafted files.
//!
//! Reads go through the `Reader` of `reader.rs`, below; the lookup state a
//! file keeps between calls (pages verified, routes) is `lookup.rs`'s,
//! above.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};

use super::bytes::{u16_at, u32_at, uint_at};
use super::crc::crc32;
use super::error::{NdbError, NdbErrorKind, NdbId, Result};
use super::format::Format;
use super::header::{Bref, Header};
use super::ids::{Bid, Nid};
use super::page::{compute_sig, ptype, BtPageFooter, PageTrailer};
use super::reader::Reader;

/// Deeper trees than this are refused. Real files stay under 6 levels; a
/// fan-out of 15 over 12 levels would address more nodes than a file can hold.
pub const MAX_LEVEL: u8 = 12;

/// Which of the two B-trees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tree {
    Node,
    Block,
}

impl Tree {
    fn ptype(self) -> u8 {
        match self {
            Tree::Node => ptype::NBT,
            Tree::Block => ptype::BBT,
        }
    }

    pub(crate) fn page_name(self) -> &'static str {
        match self {
            Tree::Node => "NBT page",
            Tree::Block => "BBT page",
        }
    }

    /// The error of a key the tree does not hold, met at the page at `ib`.
    pub(crate) fn not_found(self, ib: u64, key: u64) -> NdbError {
        let key = match self {
            // `key` keeps a NID's 32 bits.
            Tree::Node => NdbId::Nid(Nid(self.key(key) as u32)),
            Tree::Block => NdbId::Bid(Bid(self.key(key))),
        };
        NdbError::new(self.page_name(), ib, NdbErrorKind::NotFound { key })
    }

    fn leaf_entry_size(self, f: Format) -> usize {
        match self {
            Tree::Node => f.nbt_entry_size(),
            Tree::Block => f.bbt_entry_size(),
        }
    }

    /// The comparable part of a key: NIDs are 32 bits even in 64-bit
    /// entries; BIDs ignore their reserved bit.
    pub(crate) fn key(self, raw: u64) -> u64 {
        match self {
            Tree::Node => raw & 0xFFFF_FFFF,
            Tree::Block => raw & !1,
        }
    }

    /// The root page of this tree, as the header names it.
    pub(crate) fn root(self, header: &Header) -> Bref {
        match self {
            Tree::Node => header.root.nbt,
            Tree::Block => header.root.bbt,
        }
    }
}

/// An NBT leaf entry: a node and where its data and subnodes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NbtEntry {
    pub nid: Nid,
    pub bid_data: Bid,
    pub bid_sub: Bid,
    pub nid_parent: Nid,
    /// File offset of this entry (for error reports).
    pub offset: u64,
}

/// A BBT leaf entry: where a block is and how many bytes it stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BbtEntry {
    pub bid: Bid,
    pub ib: u64,
    /// Stored payload size (compressed size in 4K files).
    pub cb: u16,
    /// 4K only: payload size after inflation.
    pub cb_inflated: Option<u16>,
    pub cref: u16,
    /// File offset of this entry.
    pub offset: u64,
}

/// A leaf entry type of one of the trees.
pub trait LeafEntry: Sized {
    const TREE: Tree;
    fn parse(e: &[u8], format: Format, offset: u64) -> Option<Self>;
}

impl LeafEntry for NbtEntry {
    const TREE: Tree = Tree::Node;
    fn parse(e: &[u8], f: Format, offset: u64) -> Option<NbtEntry> {
        let w = f.wide();
        let s = f.id_size();
        Some(NbtEntry {
            nid: Nid(uint_at(e, 0, w)? as u32),
            bid_data: Bid(uint_at(e, s, w)?),
            bid_sub: Bid(uint_at(e, 2 * s, w)?),
            nid_parent: Nid(u32_at(e, 3 * s)?),
            offset,
        })
    }
}

impl LeafEntry for BbtEntry {
    const TREE: Tree = Tree::Block;
    fn parse(e: &[u8], f: Format, offset: u64) -> Option<BbtEntry> {
        let w = f.wide();
        let s = f.id_size();
        // 4K entries put the inflated size between the stored size and the
        // reference count (seen in Windows 11 OSTs: 0xac, 0xac, 0x2a).
        let (cb_inflated, cref_at) = match f {
            Format::Unicode4k => (Some(u16_at(e, 2 * s + 2)?), 2 * s + 4),
            _ => (None, 2 * s + 2),
        };
        Some(BbtEntry {
            bid: Bid(uint_at(e, 0, w)?),
            ib: uint_at(e, s, w)?,
            cb: u16_at(e, 2 * s)?,
            cb_inflated,
            cref: u16_at(e, cref_at)?,
            offset,
        })
    }
}

/// A checked B-tree page.
#[derive(Debug, Clone, Copy)]
pub struct BtPage<'a> {
    pub bref: Bref,
    pub tree: Tree,
    pub footer: BtPageFooter,
    entries: &'a [u8],
    format: Format,
}

impl<'a> BtPage<'a> {
    /// Structural checks of a whole B-tree page (type, level bound, entry
    /// size and count); integrity checks (CRC, signature, back pointer) are
    /// the caller's, since lenient reading goes on past them.
    pub fn parse(
        page: &'a [u8],
        bref: Bref,
        tree: Tree,
        f: Format,
    ) -> Result<(BtPage<'a>, PageTrailer)> {
        let err = |kind| NdbError::new(tree.page_name(), bref.ib, kind).with_bid(bref.bid);
        let short = || {
            err(NdbErrorKind::OutOfBounds {
                needed: f.page_size() as u64,
                available: page.len() as u64,
            })
        };
        if page.len() != f.page_size() {
            return Err(short());
        }
        let trailer = PageTrailer::parse(page, f).ok_or_else(short)?;
        let footer = BtPageFooter::parse(page, f).ok_or_else(short)?;
        if trailer.ptype != tree.ptype() || trailer.ptype_repeat != trailer.ptype {
            let found = if trailer.ptype != tree.ptype() {
                trailer.ptype
            } else {
                trailer.ptype_repeat
            };
            return Err(err(NdbErrorKind::TypeMismatch {
                expected: tree.ptype(),
                found,
            }));
        }
        if footer.level > MAX_LEVEL {
            return Err(err(NdbErrorKind::BadDepth {
                level: footer.level as u64,
            }));
        }
        let want = if footer.level == 0 {
            tree.leaf_entry_size(f)
        } else {
            f.bt_entry_size()
        };
        if footer.cb_ent < want {
            return Err(err(NdbErrorKind::BadField {
                field: "cbEnt",
                value: footer.cb_ent as u64,
            }));
        }
        let area = f.btpage_entries_size();
        if footer.c_ent * footer.cb_ent > area {
            return Err(err(NdbErrorKind::BadField {
                field: "cEnt",
                value: footer.c_ent as u64,
            }));
        }
        let bt = BtPage {
            bref,
            tree,
            footer,
            entries: &page[..area],
            format: f,
        };
        Ok((bt, trailer))
    }

    pub fn level(&self) -> u8 {
        self.footer.level
    }

    pub fn len(&self) -> usize {
        self.footer.c_ent
    }

    pub fn is_empty(&self) -> bool {
        self.footer.c_ent == 0
    }

    /// Bytes of entry `i` (checked against the page when it was read).
    fn entry(&self, i: usize) -> &'a [u8] {
        let cb = self.footer.cb_ent;
        self.entries.get(i * cb..(i + 1) * cb).unwrap_or(&[])
    }

    fn entry_offset(&self, i: usize) -> u64 {
        self.bref.ib + (i * self.footer.cb_ent) as u64
    }

    /// The key of entry `i`, as the tree compares it.
    fn key(&self, i: usize) -> u64 {
        self.tree
            .key(uint_at(self.entry(i), 0, self.format.wide()).unwrap_or(0))
    }

    /// The child reference of branch entry `i`.
    fn child(&self, i: usize) -> Bref {
        let e = self.entry(i);
        let (w, s) = (self.format.wide(), self.format.id_size());
        Bref {
            bid: uint_at(e, s, w).unwrap_or(0),
            ib: uint_at(e, 2 * s, w).unwrap_or(0),
        }
    }

    /// Key of entry `i` (public form, for tests and tools).
    pub fn key_at(&self, i: usize) -> u64 {
        self.key(i)
    }

    /// Child reference of branch entry `i`.
    pub fn child_at(&self, i: usize) -> Bref {
        self.child(i)
    }

    /// Leaf entry `i`.
    pub fn leaf<E: LeafEntry>(&self, i: usize) -> Option<E> {
        E::parse(self.entry(i), self.format, self.entry_offset(i))
    }

    /// Index of the last entry whose key is <= `key`, if any.
    fn floor(&self, key: u64) -> Option<usize> {
        // Entries are sorted; a binary search over a damaged page gives some
        // answer, and the leaf check below rejects a wrong one.
        let (mut lo, mut hi) = (0usize, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.key(mid) <= key {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo.checked_sub(1)
    }
}

/// The B-tree pages of a file that were read before and passed every
/// check: one bit per 512-byte unit, set for the unit a page starts at, so
/// that lookups (one per message on the hot path) do not recompute the CRC
/// of the same upper-level pages again and again.
pub(crate) struct VerifiedPages {
    units: Vec<AtomicU64>,
}

impl VerifiedPages {
    /// Room for every page of a file of `file_len` bytes.
    pub(crate) fn new(file_len: u64) -> VerifiedPages {
        let words = file_len.div_ceil(512).div_ceil(64) as usize;
        VerifiedPages {
            units: (0..words).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// True when the page at `ib` was read before and passed every check.
    fn contains(&self, ib: u64) -> bool {
        let unit = ib / 512;
        self.units
            .get((unit / 64) as usize)
            .is_some_and(|w| w.load(Ordering::Relaxed) & (1 << (unit % 64)) != 0)
    }

    fn insert(&self, ib: u64) {
        let unit = ib / 512;
        if let Some(w) = self.units.get((unit / 64) as usize) {
            w.fetch_or(1 << (unit % 64), Ordering::Relaxed);
        }
    }
}

/// Read and check the B-tree page `bref` points at. `level` is the level
/// the parent implies (`None` for the root). Integrity failures go to the
/// reader's issue log; a page that passes every check is remembered in
/// `verified` and not checked again.
pub(crate) fn read_page<'a>(
    reader: &'a Reader<'_>,
    verified: &VerifiedPages,
    tree: Tree,
    bref: Bref,
    level: Option<u8>,
) -> Result<BtPage<'a>> {
    let f = reader.format();
    let page = reader.slice(tree.page_name(), bref.ib, f.page_size() as u64)?;
    let (bt, trailer) = BtPage::parse(page, bref, tree, f)?;
    let err = |kind| NdbError::new(tree.page_name(), bref.ib, kind).with_bid(bref.bid);
    if level.is_some_and(|l| l != bt.level()) {
        return Err(err(NdbErrorKind::BadDepth {
            level: bt.level() as u64,
        }));
    }
    if verified.contains(bref.ib) && trailer.bid == bref.bid {
        return Ok(bt);
    }
    let mut clean = true;
    let computed = crc32(&page[..f.page_trailer_offset()]);
    if computed != trailer.crc {
        clean = false;
        reader.integrity(err(NdbErrorKind::CrcMismatch {
            stored: trailer.crc,
            computed,
        }))?;
    }
    if trailer.bid != bref.bid {
        clean = false;
        reader.integrity(err(NdbErrorKind::BidMismatch {
            expected: bref.bid,
            found: trailer.bid,
        }))?;
    }
    let sig = compute_sig(bref.ib, bref.bid);
    if trailer.sig != sig {
        clean = false;
        reader.integrity(err(NdbErrorKind::SignatureMismatch {
            stored: trailer.sig,
            computed: sig,
        }))?;
    }
    if clean {
        verified.insert(bref.ib);
    }
    Ok(bt)
}

/// Find the leaf entry with `key` below the page `bref`, which its parent
/// says is at `level` (`None` for the root): the descent every lookup made
/// before routes, and the reference they are tested against.
pub(crate) fn descend<E: LeafEntry>(
    reader: &Reader<'_>,
    verified: &VerifiedPages,
    key: u64,
    mut bref: Bref,
    mut level: Option<u8>,
) -> Result<E> {
    let tree = E::TREE;
    let key = tree.key(key);
    let not_found = |ib| tree.not_found(ib, key);
    // Levels strictly descend (checked in read_page), so this ends.
    loop {
        let page = read_page(reader, verified, tree, bref, level)?;
        let i = page.floor(key).ok_or_else(|| not_found(bref.ib))?;
        if page.level() == 0 {
            if page.key(i) != key {
                return Err(not_found(bref.ib));
            }
            return page.leaf(i).ok_or_else(|| not_found(bref.ib));
        }
        level = Some(page.level() - 1);
        bref = page.child(i);
    }
}

/// Lazy in-order iterator over the leaf entries of a B-tree.
pub struct BTreeIter<'a, 'p, E> {
    reader: &'a Reader<'p>,
    verified: &'a VerifiedPages,
    stack: Vec<(BtPage<'a>, usize)>,
    pending_root: Option<Bref>,
    visited: HashSet<u64>,
    /// Pages read, for statistics.
    pub pages: u64,
    _entry: std::marker::PhantomData<E>,
}

impl<'a, 'p, E: LeafEntry> BTreeIter<'a, 'p, E> {
    pub(crate) fn new(reader: &'a Reader<'p>, verified: &'a VerifiedPages) -> Self {
        BTreeIter {
            reader,
            verified,
            stack: Vec::new(),
            pending_root: Some(E::TREE.root(reader.header())),
            visited: HashSet::new(),
            pages: 0,
            _entry: std::marker::PhantomData,
        }
    }

    fn enter(&mut self, bref: Bref, level: Option<u8>) -> Result<()> {
        if self.visited.contains(&bref.ib) {
            return Err(
                NdbError::new(E::TREE.page_name(), bref.ib, NdbErrorKind::Cycle).with_bid(bref.bid),
            );
        }
        // Only a page that was read is marked seen: a damaged entry naming a
        // good page at the wrong level must not hide it from its real parent.
        // A page that fails is never entered, so it cannot loop either.
        let page = read_page(self.reader, self.verified, E::TREE, bref, level)?;
        self.visited.insert(bref.ib);
        self.pages += 1;
        self.stack.push((page, 0));
        Ok(())
    }
}

impl<E: LeafEntry> Iterator for BTreeIter<'_, '_, E> {
    type Item = Result<E>;

    fn next(&mut self) -> Option<Result<E>> {
        if let Some(root) = self.pending_root.take() {
            if let Err(e) = self.enter(root, None) {
                return Some(Err(e));
            }
        }
        loop {
            let (page, i) = self.stack.last_mut()?;
            let page = *page;
            if *i >= page.len() {
                self.stack.pop();
                continue;
            }
            let idx = *i;
            *i += 1;
            if page.level() == 0 {
                let entry = page.leaf::<E>(idx).ok_or_else(|| {
                    NdbError::new(
                        E::TREE.page_name(),
                        page.entry_offset(idx),
                        NdbErrorKind::OutOfBounds {
                            needed: page.entry_offset(idx + 1),
                            available: page.entry_offset(idx),
                        },
                    )
                });
                return Some(entry);
            }
            let child = page.child(idx);
            if let Err(e) = self.enter(child, Some(page.level() - 1)) {
                return Some(Err(e));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Tree;

    #[test]
    fn a_missing_key_is_named_by_its_tree_and_compared_as_the_tree_compares() {
        // A BID's reserved bit and a NID's high 32 bits are not part of the key.
        assert_eq!(
            Tree::Block.not_found(0x7e00, 0x35).to_string(),
            "BBT page at offset 0x7e00: BID 0x34 not found"
        );
        assert_eq!(
            Tree::Node.not_found(0x26200, 0x1_0020_0344).to_string(),
            "NBT page at offset 0x26200: NID 0x200344 not found"
        );
    }
}
