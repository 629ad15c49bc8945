//! Heap-on-node (HN), [MS-PST] 2.3.1: a node's data blocks read as heap
//! pages. Every page starts with ibHnpm (offset of its HNPAGEMAP); the first
//! page has the HNHDR, pages 8, 136, 264, ... an HNBITMAPHDR, the others an
//! HNPAGEHDR. Items are addressed by HIDs. Blocks are decoded only when an
//! HID points into them, and kept once decoded.

use std::borrow::Cow;
use std::cell::OnceCell;

use super::error::{LtpError, LtpErrorKind, Result};
use crate::ndb::bytes::{u16_at, u32_at, u8_at};
use crate::ndb::{Bid, Format, Nid, Node, SubnodeEntry};

/// bSig of the HNHDR.
pub const HN_SIGNATURE: u8 = 0xEC;

/// bClientSig values ([MS-PST] 2.3.1.2).
pub mod client_sig {
    pub const TC: u8 = 0x7C;
    pub const BTH: u8 = 0xB5;
    pub const PC: u8 = 0xBC;
    pub const RESERVED1: u8 = 0x6C;
    pub const RESERVED2: u8 = 0x8C;
    pub const RESERVED3: u8 = 0x9C;
    pub const RESERVED4: u8 = 0xA5;
    pub const RESERVED5: u8 = 0xAC;
    pub const RESERVED6: u8 = 0xCC;
}

/// Size of the HNHDR at the start of the first heap page.
pub const HNHDR_SIZE: usize = 12;

/// An HID split into its parts. The layout depends on the format: in ANSI
/// and Unicode files 5 bits of type, 11 of index and 16 of block index; in
/// 4K files 5, 14 and 13.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hid {
    pub raw: u32,
    /// hidType: 0 (NID_TYPE_HID) for a heap item.
    pub hid_type: u8,
    /// hidIndex: 1-based index into the page's rgibAlloc.
    pub index: u32,
    /// hidBlockIndex: which heap page (data block).
    pub block: u32,
}

impl Hid {
    pub fn parse(raw: u32, format: Format) -> Hid {
        let hid_type = (raw & 0x1F) as u8;
        let (index, block) = match format {
            Format::Unicode4k => ((raw >> 5) & 0x3FFF, raw >> 19),
            _ => ((raw >> 5) & 0x7FF, raw >> 16),
        };
        Hid {
            raw,
            hid_type,
            index,
            block,
        }
    }

    /// The HID naming item `index` (1-based) of page `block`, or `None`
    /// when the parts do not fit the format's bit layout.
    pub fn make(format: Format, block: u32, index: u32) -> Option<u32> {
        let (ibits, bshift, bbits) = match format {
            Format::Unicode4k => (14, 19, 13),
            _ => (11, 16, 16),
        };
        if index >= 1 << ibits || (bbits < 32 && block >= 1u32 << bbits) {
            return None;
        }
        Some((index << 5) | (block << bshift))
    }
}

/// True when an HNID ([MS-PST] 2.3.3.2) names a heap item rather than a
/// subnode: its low five bits (the NID type) are zero.
pub fn hnid_is_hid(hnid: u32) -> bool {
    hnid & 0x1F == 0
}

/// A block decoded on first use.
type BlockCell<'a> = OnceCell<Cow<'a, [u8]>>;

/// A lazily decoded sequence of data blocks (heap pages or row matrix
/// blocks). Block 0 is held apart so that the common one-block node (a
/// message's PC) needs no allocation beyond its decoded bytes.
pub struct Blocks<'a> {
    node: Option<Node<'a>>,
    /// Number of blocks.
    len: usize,
    /// BID of block 0 (when `len > 0` and the blocks come from a node).
    first_bid: Bid,
    first: OnceCell<Cow<'a, [u8]>>,
    /// BIDs and cells of blocks 1.. (empty, unallocated, for one block).
    more_bids: Vec<Bid>,
    more: Vec<OnceCell<Cow<'a, [u8]>>>,
    /// Set once the blocks were asked for together (on a cold file).
    read_ahead: OnceCell<()>,
}

impl<'a> Blocks<'a> {
    /// The data blocks of a node; nothing is decoded yet.
    pub fn of_node(node: Node<'a>) -> Result<Blocks<'a>> {
        // One data block (not an XBLOCK): no data tree to read or collect.
        if !node.bid_data.is_null() && !node.bid_data.is_internal() {
            return Ok(Blocks {
                node: Some(node),
                len: 1,
                first_bid: node.bid_data,
                first: OnceCell::new(),
                more_bids: Vec::new(),
                more: Vec::new(),
                read_ahead: OnceCell::new(),
            });
        }
        let tree = node
            .data_blocks()
            .map_err(|e| LtpError::from(e).with_nid(node.nid.0))?;
        let len = tree.blocks.len();
        let first_bid = tree.blocks.first().copied().unwrap_or(Bid(0));
        let more_bids: Vec<Bid> = tree.blocks.into_iter().skip(1).collect();
        let more = more_bids.iter().map(|_| OnceCell::new()).collect();
        Ok(Blocks {
            node: Some(node),
            len,
            first_bid,
            first: OnceCell::new(),
            more_bids,
            more,
            read_ahead: OnceCell::new(),
        })
    }

    /// Blocks already in memory (hand-built buffers, tests).
    pub fn from_vec(blocks: Vec<Cow<'a, [u8]>>) -> Blocks<'a> {
        let len = blocks.len();
        let cell = |b| {
            let c = OnceCell::new();
            let _ = c.set(b);
            c
        };
        let mut it = blocks.into_iter();
        let first = it.next().map(cell).unwrap_or_default();
        Blocks {
            node: None,
            len,
            first_bid: Bid(0),
            first,
            more_bids: Vec::new(),
            more: it.map(cell).collect(),
            read_ahead: OnceCell::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Cell and BID of block `i` (the BID only for blocks of a node).
    fn slot(&self, i: usize) -> Option<(&BlockCell<'a>, Option<Bid>)> {
        if i >= self.len {
            return None;
        }
        if i == 0 {
            let bid = self.node.map(|_| self.first_bid);
            return Some((&self.first, bid));
        }
        let cell = self.more.get(i - 1)?;
        Some((cell, self.more_bids.get(i - 1).copied()))
    }

    /// The decoded payload of block `i`, decoding it on first use.
    pub fn get(&self, i: usize) -> Result<&[u8]> {
        let bad = || LtpError::bad("data tree", 0, "block index", i as u64).with_nid(self.nid());
        let (cell, bid) = self.slot(i).ok_or_else(bad)?;
        if let Some(b) = cell.get() {
            return Ok(b);
        }
        let (node, bid) = match (self.node, bid) {
            (Some(n), Some(b)) => (n, b),
            _ => return Err(bad()),
        };
        if !self.more_bids.is_empty() {
            // Blocks of a heap or row matrix are read whole, mostly: on a
            // cold file, all of them are read ahead at the first read of
            // one. Not when the node is opened: a table whose rows are
            // never read (a PST's contents tables) would have its row
            // matrix read for nothing, and fill the read-ahead's memory.
            self.read_ahead.get_or_init(|| {
                let mut bids = Vec::with_capacity(self.len);
                bids.push(self.first_bid);
                bids.extend_from_slice(&self.more_bids);
                node.pst().prefetch_blocks(&bids);
            });
        }
        let data = node
            .block(bid)
            .map_err(|e| LtpError::from(e).with_nid(node.nid.0).with_block(i as u32))?;
        let _ = cell.set(data);
        cell.get().map(|c| &**c).ok_or_else(bad)
    }

    /// Drop the decoded bytes of blocks `from..to` of a node, to be
    /// decoded again if asked for (blocks in memory, which have no node,
    /// are kept). For a reader done with them: a large table's row
    /// matrix, read in order, need not stay in memory whole.
    pub fn release(&mut self, from: usize, to: usize) {
        if self.node.is_none() {
            return;
        }
        for i in from..to.min(self.len) {
            let cell = match i {
                0 => &mut self.first,
                _ => match self.more.get_mut(i - 1) {
                    Some(cell) => cell,
                    None => break,
                },
            };
            cell.take();
        }
    }

    /// How many blocks are decoded and held.
    pub fn held(&self) -> usize {
        usize::from(self.first.get().is_some())
            + self.more.iter().filter(|c| c.get().is_some()).count()
    }

    /// The node these blocks belong to (`None` for in-memory blocks).
    pub fn node(&self) -> Option<Node<'a>> {
        self.node
    }

    fn nid(&self) -> u32 {
        self.node.map(|n| n.nid.0).unwrap_or(0)
    }
}

/// A heap-on-node.
pub struct Heap<'a> {
    format: Format,
    blocks: Blocks<'a>,
    client_sig: u8,
    user_root: u32,
    fill_levels: u32,
    subnodes: OnceCell<Vec<SubnodeEntry>>,
}

impl<'a> Heap<'a> {
    /// Open a node's data as a heap: reads and checks the HNHDR only.
    pub fn open(node: Node<'a>) -> Result<Heap<'a>> {
        let format = node.pst().format();
        Heap::new(format, Blocks::of_node(node)?).map_err(|e| e.with_nid(node.nid.0))
    }

    /// A heap over blocks already in memory (hand-built buffers, tests).
    /// HNIDs naming subnodes cannot be resolved in such a heap.
    pub fn from_blocks(format: Format, blocks: Vec<Cow<'a, [u8]>>) -> Result<Heap<'a>> {
        Heap::new(format, Blocks::from_vec(blocks))
    }

    fn new(format: Format, blocks: Blocks<'a>) -> Result<Heap<'a>> {
        if blocks.is_empty() {
            return Err(LtpError::oob("HNHDR", 0, HNHDR_SIZE as u64, 0).with_block(0));
        }
        let b0 = blocks.get(0)?;
        if b0.len() < HNHDR_SIZE {
            return Err(
                LtpError::oob("HNHDR", 0, HNHDR_SIZE as u64, b0.len() as u64).with_block(0),
            );
        }
        let sig = u8_at(b0, 2).unwrap_or(0);
        if sig != HN_SIGNATURE {
            return Err(LtpError::new(
                "HNHDR",
                2,
                LtpErrorKind::TypeMismatch {
                    expected: HN_SIGNATURE,
                    found: sig,
                },
            )
            .with_block(0));
        }
        let client_sig = u8_at(b0, 3).unwrap_or(0);
        let user_root = u32_at(b0, 4).unwrap_or(0);
        let fill_levels = u32_at(b0, 8).unwrap_or(0);
        Ok(Heap {
            format,
            blocks,
            client_sig,
            user_root,
            fill_levels,
            subnodes: OnceCell::new(),
        })
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// bClientSig: what the heap holds (0x7C TC, 0xBC PC, 0xB5 BTH, ...).
    pub fn client_sig(&self) -> u8 {
        self.client_sig
    }

    /// Ok when the heap holds what its reader expects (`expected`, one of
    /// [`client_sig`]); else a type mismatch at the HNHDR's bClientSig,
    /// named `structure`.
    pub(crate) fn expect_client_sig(&self, expected: u8, structure: &'static str) -> Result<()> {
        if self.client_sig == expected {
            return Ok(());
        }
        let found = self.client_sig;
        let kind = LtpErrorKind::TypeMismatch { expected, found };
        Err(LtpError::new(structure, 3, kind).with_nid(self.nid()))
    }

    /// hidUserRoot: the client's root item (TCINFO, BTHHEADER, ...).
    pub fn user_root(&self) -> u32 {
        self.user_root
    }

    /// rgbFillLevel of the HNHDR (fill levels of pages 0..8, 4 bits each).
    pub fn fill_levels(&self) -> u32 {
        self.fill_levels
    }

    /// Number of heap pages (data blocks).
    pub fn page_count(&self) -> usize {
        self.blocks.len()
    }

    /// The node of this heap (`None` for an in-memory heap).
    pub fn node(&self) -> Option<Node<'a>> {
        self.blocks.node()
    }

    /// NID of the heap's node, 0 for an in-memory heap.
    pub fn nid(&self) -> u32 {
        self.blocks.nid()
    }

    /// The decoded bytes of heap page `i`.
    pub fn page(&self, i: usize) -> Result<&[u8]> {
        self.blocks.get(i)
    }

    /// The page map of page `i`: cAlloc, cFree and the offset of rgibAlloc,
    /// checked to lie within the page.
    fn page_map(&self, i: usize) -> Result<(&[u8], usize, usize)> {
        let b = self.blocks.get(i)?;
        let err = |e: LtpError| e.with_block(i as u32).with_nid(self.nid());
        let ib = u16_at(b, 0)
            .ok_or_else(|| err(LtpError::oob("HNPAGEHDR", 0, 2, b.len() as u64)))?
            as usize;
        let c_alloc = u16_at(b, ib).ok_or_else(|| {
            err(LtpError::oob(
                "HNPAGEMAP",
                ib as u64,
                ib as u64 + 4,
                b.len() as u64,
            ))
        })? as usize;
        if u16_at(b, ib + 2).is_none() {
            return Err(err(LtpError::oob(
                "HNPAGEMAP",
                ib as u64,
                ib as u64 + 4,
                b.len() as u64,
            )));
        }
        let needed = ib + 4 + 2 * (c_alloc + 1);
        if needed > b.len() {
            return Err(err(LtpError::bad(
                "HNPAGEMAP",
                ib as u64,
                "cAlloc",
                c_alloc as u64,
            )));
        }
        Ok((b, c_alloc, ib + 4))
    }

    /// Number of items allocated on page `i` (cAlloc).
    pub fn item_count(&self, i: usize) -> Result<usize> {
        Ok(self.page_map(i)?.1)
    }

    /// The bytes of the heap item an HID names.
    pub fn get(&self, hid: u32) -> Result<&[u8]> {
        let h = Hid::parse(hid, self.format);
        let bad = || LtpError::new("HID", 0, LtpErrorKind::BadHid(hid)).with_nid(self.nid());
        if h.hid_type != 0 || h.index == 0 || h.block as usize >= self.blocks.len() {
            return Err(bad());
        }
        let (b, c_alloc, rgib) = self.page_map(h.block as usize)?;
        let idx = h.index as usize;
        if idx > c_alloc {
            return Err(bad().with_block(h.block));
        }
        let start = u16_at(b, rgib + 2 * (idx - 1)).unwrap_or(0) as usize;
        let end = u16_at(b, rgib + 2 * idx).unwrap_or(0) as usize;
        if start > end || end > b.len() {
            return Err(
                LtpError::bad("HNPAGEMAP rgibAlloc", rgib as u64, "item end", end as u64)
                    .with_block(h.block)
                    .with_nid(self.nid()),
            );
        }
        Ok(&b[start..end])
    }

    /// The bytes an HNID names: a heap item, or the data of a subnode of the
    /// heap's node. 0 is an empty value.
    pub fn resolve_hnid(&self, hnid: u32) -> Result<Cow<'_, [u8]>> {
        if hnid == 0 {
            return Ok(Cow::Borrowed(&[]));
        }
        if hnid_is_hid(hnid) {
            return self.get(hnid).map(Cow::Borrowed);
        }
        let sub = self.subnode(hnid)?;
        sub.read_data()
            .map_err(|e| LtpError::from(e).with_nid(hnid))
    }

    /// The subnode of the heap's node with this NID.
    pub fn subnode(&self, nid: u32) -> Result<Node<'a>> {
        let node = self.blocks.node().ok_or_else(|| {
            LtpError::bad("HNID", 0, "subnode NID (heap has no node)", nid as u64)
        })?;
        if self.subnodes.get().is_none() {
            let list = node
                .subnodes()
                .map_err(|e| LtpError::from(e).with_nid(node.nid.0))?;
            let _ = self.subnodes.set(list);
        }
        let list = self.subnodes.get().map(Vec::as_slice).unwrap_or(&[]);
        list.iter()
            .find(|e| e.nid == Nid(nid))
            .map(|e| node.subnode_from_entry(e))
            .ok_or_else(|| {
                LtpError::bad("HNID", 0, "subnode NID not in subnode tree", nid as u64)
                    .with_nid(node.nid.0)
            })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Build one heap page: `header` bytes (HNHDR or HNPAGEHDR without its
    /// ibHnpm, which is filled in), then the items, then the page map.
    pub(crate) fn page(header: &[u8], items: &[&[u8]]) -> Vec<u8> {
        let mut b = vec![0u8, 0];
        b.extend_from_slice(header);
        let mut offs = vec![b.len() as u16];
        for it in items {
            b.extend_from_slice(it);
            offs.push(b.len() as u16);
        }
        while b.len() % 2 != 0 {
            b.push(0);
        }
        let ib = b.len() as u16;
        b[0..2].copy_from_slice(&ib.to_le_bytes());
        b.extend_from_slice(&(items.len() as u16).to_le_bytes());
        b.extend_from_slice(&0u16.to_le_bytes());
        for o in offs {
            b.extend_from_slice(&o.to_le_bytes());
        }
        b
    }

    /// HNHDR after ibHnpm: bSig, bClientSig, hidUserRoot, rgbFillLevel.
    pub(crate) fn hnhdr(client: u8, root: u32) -> Vec<u8> {
        let mut h = vec![HN_SIGNATURE, client];
        h.extend_from_slice(&root.to_le_bytes());
        h.extend_from_slice(&[0; 4]);
        h
    }

    /// An 8-byte property record as PCs and the name map store them: id,
    /// type, then a value or an HNID.
    pub(crate) fn pc_record(id: u16, ty: u16, v: u32) -> Vec<u8> {
        let mut r = id.to_le_bytes().to_vec();
        r.extend_from_slice(&ty.to_le_bytes());
        r.extend_from_slice(&v.to_le_bytes());
        r
    }

    pub(crate) fn heap_of(format: Format, pages: Vec<Vec<u8>>) -> Heap<'static> {
        Heap::from_blocks(format, pages.into_iter().map(Cow::Owned).collect()).unwrap()
    }

    #[test]
    fn hid_layouts() {
        let h = Hid::parse(0x0001_0040, Format::Unicode);
        assert_eq!((h.hid_type, h.index, h.block), (0, 2, 1));
        let h = Hid::parse(0x0001_0040, Format::Ansi);
        assert_eq!((h.hid_type, h.index, h.block), (0, 2, 1));
        // 4K: index has 14 bits (5..18), block 13 bits (19..31).
        let raw = (0x2345u32 << 5) | (0x0ABC << 19);
        let h = Hid::parse(raw, Format::Unicode4k);
        assert_eq!((h.hid_type, h.index, h.block), (0, 0x2345, 0x0ABC));
        // The same bits read as Unicode give other parts.
        let h = Hid::parse(raw, Format::Unicode);
        assert_eq!(h.index, 0x2345 & 0x7FF);
        assert_eq!(Hid::make(Format::Unicode4k, 0x0ABC, 0x2345), Some(raw));
        assert_eq!(Hid::make(Format::Unicode, 1, 0x800), None);
        assert_eq!(Hid::make(Format::Unicode4k, 0x2000, 1), None);
        assert_eq!(Hid::make(Format::Unicode, 0xFFFF, 0x7FF), Some(0xFFFF_FFE0));
    }

    #[test]
    fn a_heap_of_another_client_is_a_located_type_mismatch() {
        let tc = heap_of(
            Format::Unicode,
            vec![page(&hnhdr(client_sig::TC, 0x20), &[b"x"])],
        );
        assert!(tc
            .expect_client_sig(client_sig::TC, "HNHDR bClientSig")
            .is_ok());
        let e = tc
            .expect_client_sig(client_sig::PC, "HNHDR bClientSig")
            .unwrap_err();
        assert_eq!((e.structure, e.offset), ("HNHDR bClientSig", 3));
        assert_eq!(
            e.kind,
            LtpErrorKind::TypeMismatch {
                expected: client_sig::PC,
                found: client_sig::TC
            }
        );
        // A TC opened as a PC fails the same way, before its BTH is read.
        let Err(pc) = crate::ltp::PropertyContext::from_heap(tc) else {
            panic!("a TC opened as a PC");
        };
        assert_eq!(pc.structure, "HNHDR bClientSig");
    }

    #[test]
    fn items_across_pages() {
        let p0 = page(&hnhdr(client_sig::PC, 0x20), &[b"abc", b"", b"hello"]);
        let p1 = page(&[], &[b"second page"]);
        let heap = heap_of(Format::Unicode, vec![p0, p1]);
        assert_eq!(heap.client_sig(), client_sig::PC);
        assert_eq!(heap.user_root(), 0x20);
        assert_eq!(heap.get(0x20).unwrap(), b"abc");
        assert_eq!(heap.get(0x40).unwrap(), b"");
        assert_eq!(heap.get(0x60).unwrap(), b"hello");
        assert_eq!(heap.get(0x0001_0020).unwrap(), b"second page");
        assert_eq!(heap.item_count(0).unwrap(), 3);
        assert_eq!(&*heap.resolve_hnid(0x60).unwrap(), b"hello");
        assert!(heap.resolve_hnid(0).unwrap().is_empty());
    }

    #[test]
    fn four_k_hids_address_pages() {
        let p0 = page(&hnhdr(client_sig::PC, 0x20), &[b"zero"]);
        let p1 = page(&[], &[b"one-a", b"one-b"]);
        let heap = heap_of(Format::Unicode4k, vec![p0, p1]);
        let hid = Hid::make(Format::Unicode4k, 1, 2).unwrap();
        assert_eq!(hid, (2 << 5) | (1 << 19));
        assert_eq!(heap.get(hid).unwrap(), b"one-b");
        // In Unicode layout the same HID would name block 8: out of range.
        assert!(matches!(
            heap_of(Format::Unicode, vec![page(&hnhdr(0xBC, 0), &[])])
                .get(hid)
                .unwrap_err()
                .kind,
            LtpErrorKind::BadHid(_)
        ));
    }

    #[test]
    fn hostile_hids_and_page_maps() {
        let p0 = page(&hnhdr(client_sig::PC, 0x20), &[b"abc"]);
        let heap = heap_of(Format::Unicode, vec![p0.clone()]);
        for hid in [0u32, 0x21, 0x40, 0x0001_0020, 0xFFFF_FFE0] {
            assert!(
                matches!(heap.get(hid).unwrap_err().kind, LtpErrorKind::BadHid(_)),
                "{hid:#x}"
            );
        }
        // Subnode HNIDs cannot be resolved without a node.
        assert!(heap.resolve_hnid(0x41).is_err());
        // ibHnpm past the end.
        let mut bad = p0.clone();
        bad[0..2].copy_from_slice(&0xFFF0u16.to_le_bytes());
        let heap = heap_of(Format::Unicode, vec![bad]);
        assert!(heap.get(0x20).is_err());
        // cAlloc huge.
        let mut bad = p0.clone();
        let ib = u16::from_le_bytes([bad[0], bad[1]]) as usize;
        bad[ib..ib + 2].copy_from_slice(&0xFFFFu16.to_le_bytes());
        let heap = heap_of(Format::Unicode, vec![bad]);
        assert!(matches!(
            heap.get(0x20).unwrap_err().kind,
            LtpErrorKind::BadField { .. }
        ));
        // An item end beyond the page.
        let mut bad = p0.clone();
        bad[ib + 6..ib + 8].copy_from_slice(&0x7FFFu16.to_le_bytes());
        let heap = heap_of(Format::Unicode, vec![bad]);
        assert!(heap.get(0x20).is_err());
        // Decreasing offsets.
        let mut bad = p0;
        bad[ib + 4..ib + 6].copy_from_slice(&0x0010u16.to_le_bytes());
        bad[ib + 6..ib + 8].copy_from_slice(&0x000Eu16.to_le_bytes());
        let heap = heap_of(Format::Unicode, vec![bad]);
        assert!(heap.get(0x20).is_err());
    }

    #[test]
    fn bad_headers() {
        assert!(Heap::from_blocks(Format::Unicode, vec![]).is_err());
        assert!(Heap::from_blocks(Format::Unicode, vec![Cow::Borrowed(&[0u8; 5][..])]).is_err());
        let mut p = page(&hnhdr(client_sig::PC, 0x20), &[]);
        p[2] = 0xED;
        let e = Heap::from_blocks(Format::Unicode, vec![Cow::Owned(p)])
            .err()
            .unwrap();
        assert_eq!(
            e.kind,
            LtpErrorKind::TypeMismatch {
                expected: 0xEC,
                found: 0xED
            }
        );
    }
}
