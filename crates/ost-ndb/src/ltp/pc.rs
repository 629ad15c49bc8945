//! Property context (PC), [MS-PST] 2.3.3: a heap whose user root is a BTH
//! of 2-byte keys (property ids) and 6-byte entries (wPropType,
//! dwValueHnid). Values of at most 4 bytes are inline in dwValueHnid;
//! others are in the heap item or subnode the HNID names. Only the
//! properties asked for are resolved.

use std::borrow::Cow;

use super::bth::{Bth, BthHeader, BthIter};
use super::error::{LtpError, Result};
use super::heap::{client_sig, hnid_is_hid, Heap};
use super::value::{storage, PropValue, Storage};
use crate::ndb::bytes::{u16_at, u32_at};
use crate::ndb::{Bid, Node};

/// One record of a PC's BTH: the property id and type, and the stored
/// dwValueHnid (inline value or HNID). Resolve it with
/// [`PropertyContext::value`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PcEntry<'h> {
    pub id: u16,
    pub prop_type: u16,
    /// The 4 bytes of dwValueHnid.
    pub raw: &'h [u8],
}

impl PcEntry<'_> {
    /// dwValueHnid as a number.
    pub fn hnid(&self) -> u32 {
        u32_at(self.raw, 0).unwrap_or(0)
    }
}

/// A property context.
pub struct PropertyContext<'a> {
    heap: Heap<'a>,
    bth: BthHeader,
}

impl<'a> PropertyContext<'a> {
    /// Open a node as a PC: reads the HNHDR and the BTHHEADER only.
    pub fn open(node: Node<'a>) -> Result<PropertyContext<'a>> {
        PropertyContext::from_heap(Heap::open(node)?)
    }

    /// A PC over a heap already open.
    pub fn from_heap(heap: Heap<'a>) -> Result<PropertyContext<'a>> {
        heap.expect_client_sig(client_sig::PC, "HNHDR bClientSig")?;
        let bth = Bth::open(&heap, heap.user_root())?;
        bth.expect_sizes(2, 6, "PC BTHHEADER")?;
        let bth = bth.header();
        Ok(PropertyContext { heap, bth })
    }

    pub fn heap(&self) -> &Heap<'a> {
        &self.heap
    }

    fn tree(&self) -> Bth<'_, 'a> {
        Bth::with_header(&self.heap, self.bth)
    }

    /// The record of a property, unresolved.
    pub fn entry(&self, id: u16) -> Result<Option<PcEntry<'_>>> {
        Ok(self.tree().get(id as u128)?.map(|data| entry_of(id, data)))
    }

    /// The value of a property, or `None` when the PC does not have it.
    pub fn get(&self, id: u16) -> Result<Option<PropValue<'_>>> {
        match self.entry(id)? {
            Some(e) => self.value(&e).map(Some),
            None => Ok(None),
        }
    }

    /// Resolve a record to its value.
    pub fn value<'s>(&'s self, e: &PcEntry<'s>) -> Result<PropValue<'s>> {
        let data: Cow<'s, [u8]> = match storage(e.prop_type) {
            Storage::Fixed(n) if n <= 4 => Cow::Borrowed(&e.raw[..n.min(e.raw.len())]),
            Storage::Fixed(n) => {
                let d = self.heap.resolve_hnid(e.hnid())?;
                if d.len() < n {
                    return Err(LtpError::oob("PC value", 0, n as u64, d.len() as u64)
                        .with_nid(self.heap.nid()));
                }
                match d {
                    Cow::Borrowed(b) => Cow::Borrowed(&b[..n]),
                    Cow::Owned(mut v) => {
                        v.truncate(n);
                        Cow::Owned(v)
                    }
                }
            }
            Storage::Variable => self.heap.resolve_hnid(e.hnid())?,
            Storage::Unknown => Cow::Borrowed(e.raw),
        };
        Ok(PropValue::new(e.id, e.prop_type, data))
    }

    /// A record's value piece by piece, for values a reader wants only the
    /// start of, or wants to hash without holding (bodies, logs): a value
    /// in the heap is one piece; a value in a subnode is one piece per data
    /// block, each read and decoded only when the iterator reaches it.
    pub fn value_pieces<'s>(&'s self, e: &PcEntry<'s>) -> Result<ValuePieces<'s>> {
        let hnid = e.hnid();
        let in_subnode =
            matches!(storage(e.prop_type), Storage::Variable) && hnid != 0 && !hnid_is_hid(hnid);
        if !in_subnode {
            let value = self.value(e)?;
            return Ok(ValuePieces {
                total: Some(value.data.len() as u64),
                state: Pieces::Whole(Some(value.data)),
            });
        }
        let node = self.heap.subnode(hnid)?;
        let tree = node.data_blocks().map_err(LtpError::from)?;
        let total = match tree.blocks.len() {
            0 => Some(0),
            _ => tree.total,
        };
        Ok(ValuePieces {
            total,
            state: Pieces::Blocks {
                node,
                blocks: tree.blocks.into_iter(),
                read: 0,
            },
        })
    }

    /// The first `max` bytes of a record's value (whole pieces are read,
    /// then cut), and whether the value is longer.
    pub fn value_prefix<'s>(
        &'s self,
        e: &PcEntry<'s>,
        max: usize,
    ) -> Result<(Cow<'s, [u8]>, bool)> {
        let mut pieces = self.value_pieces(e)?;
        let mut out: Option<Cow<'s, [u8]>> = None;
        let mut longer = false;
        for piece in pieces.by_ref() {
            let piece = piece?;
            match out.as_mut() {
                // Most values are one piece: kept as it came (borrowed, or
                // the one decoded block).
                None => out = Some(piece),
                Some(o) => o.to_mut().extend_from_slice(&piece),
            }
            if out.as_ref().map_or(0, |o| o.len()) >= max {
                longer = pieces.has_more();
                break;
            }
        }
        let mut out = out.unwrap_or(Cow::Borrowed(&[]));
        if out.len() > max {
            longer = true;
            match &mut out {
                Cow::Borrowed(b) => *b = &b[..max],
                Cow::Owned(v) => v.truncate(max),
            }
        }
        Ok((out, longer))
    }

    /// The records in property id order, unresolved.
    pub fn entries(&self) -> PcEntries<'_, 'a> {
        let tree = self.tree();
        // A leaf root (a message's PC, nearly always) is read straight from
        // its records, 8 bytes each; anything else, or a root whose records
        // are not whole (which the tree iterator reports), goes through the
        // BTH iterator.
        if self.bth.root != 0 && self.bth.levels == 0 {
            if let Ok(recs) = tree.records(self.bth.root, 0) {
                return PcEntries {
                    inner: PcEntriesInner::Leaf(recs.chunks_exact(PC_RECORD)),
                };
            }
        }
        PcEntries {
            inner: PcEntriesInner::Tree(Box::new(tree.iter())),
        }
    }

    /// Every property with its value, in id order. A value that cannot be
    /// resolved is an inner error and does not end the walk; a broken tree
    /// is an outer error.
    pub fn iter(&self) -> PcIter<'_, 'a> {
        PcIter {
            pc: self,
            inner: self.entries(),
        }
    }

    /// Number of properties (walks the tree).
    pub fn len(&self) -> Result<usize> {
        self.tree().count()
    }

    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.bth.root == 0 || self.len()? == 0)
    }
}

/// A property value in pieces ([`PropertyContext::value_pieces`]).
pub struct ValuePieces<'s> {
    total: Option<u64>,
    state: Pieces<'s>,
}

enum Pieces<'s> {
    /// A value read whole (inline or in the heap); `None` once handed out.
    Whole(Option<Cow<'s, [u8]>>),
    /// A value in a subnode: its data blocks still to read, and the bytes
    /// read so far (checked against the stated total at the end).
    Blocks {
        node: Node<'s>,
        blocks: std::vec::IntoIter<Bid>,
        read: u64,
    },
}

impl ValuePieces<'_> {
    /// The value's length when it is known before reading it all: a value
    /// in the heap, or a tree of blocks (its XBLOCK's lcbTotal). `None` for
    /// one data block, whose length is that of the one piece.
    pub fn total_len(&self) -> Option<u64> {
        self.total
    }

    /// Whether pieces are left.
    pub fn has_more(&self) -> bool {
        match &self.state {
            Pieces::Whole(v) => v.is_some(),
            Pieces::Blocks { blocks, .. } => blocks.len() > 0,
        }
    }
}

impl<'s> Iterator for ValuePieces<'s> {
    type Item = Result<Cow<'s, [u8]>>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.state {
            Pieces::Whole(v) => v.take().map(Ok),
            Pieces::Blocks { node, blocks, read } => match blocks.next() {
                Some(bid) => {
                    let piece = node.block(bid).map_err(LtpError::from);
                    if let Ok(p) = &piece {
                        *read += p.len() as u64;
                    }
                    Some(piece)
                }
                None => {
                    // Read to its end: the blocks must hold what the
                    // XBLOCK says (recorded as an issue when not, as
                    // `Node::read_data` does; an error in strict mode).
                    let checked = match self.total {
                        Some(total) => node.check_total(total, *read),
                        None => Ok(()),
                    };
                    // Checked once: the iterator ends here either way.
                    self.state = Pieces::Whole(None);
                    checked.err().map(|e| Err(LtpError::from(e)))
                }
            },
        }
    }
}

fn entry_of(id: u16, data: &[u8]) -> PcEntry<'_> {
    PcEntry {
        id,
        prop_type: u16_at(data, 0).unwrap_or(0),
        raw: data.get(2..6).unwrap_or(&[]),
    }
}

/// Size of a PC leaf record: 2-byte key, 6-byte entry (checked at open).
const PC_RECORD: usize = 8;

/// Iterator over a PC's records.
pub struct PcEntries<'h, 'a> {
    inner: PcEntriesInner<'h, 'a>,
}

enum PcEntriesInner<'h, 'a> {
    /// The records of a leaf root, already checked to be whole.
    Leaf(std::slice::ChunksExact<'h, u8>),
    /// Boxed: rare (index levels), and the iterator is large.
    Tree(Box<BthIter<'h, 'a>>),
}

impl<'h> Iterator for PcEntries<'h, '_> {
    type Item = Result<PcEntry<'h>>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            PcEntriesInner::Leaf(recs) => {
                let r = recs.next()?;
                let id = u16_at(r, 0).unwrap_or(0);
                Some(Ok(entry_of(id, r.get(2..).unwrap_or(&[]))))
            }
            PcEntriesInner::Tree(it) => Some(it.next()?.map(|e| entry_of(e.key as u16, e.data))),
        }
    }
}

/// Iterator over a PC's properties with their values: (id, type, value).
pub struct PcIter<'h, 'a> {
    pc: &'h PropertyContext<'a>,
    inner: PcEntries<'h, 'a>,
}

impl<'h> Iterator for PcIter<'h, '_> {
    type Item = Result<(u16, u16, Result<PropValue<'h>>)>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(
            self.inner
                .next()?
                .map(|e| (e.id, e.prop_type, self.pc.value(&e))),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::heap::tests::{heap_of, hnhdr, page, pc_record as rec};
    use super::super::value::prop_type as pt;
    use super::*;
    use crate::ndb::Format;

    /// A PC: header at 0x20, leaf at 0x40, then value items from 0x60.
    fn pc_with(format: Format, recs: &[Vec<u8>], values: &[&[u8]]) -> PropertyContext<'static> {
        let mut h = vec![0xB5, 2, 6, 0];
        h.extend_from_slice(&0x40u32.to_le_bytes());
        let leaf: Vec<u8> = recs.concat();
        let mut items: Vec<&[u8]> = vec![&h, &leaf];
        items.extend_from_slice(values);
        let p = page(&hnhdr(0xBC, 0x20), &items);
        PropertyContext::from_heap(heap_of(format, vec![p])).unwrap()
    }

    #[test]
    fn all_storage_kinds() {
        let ft = 0x01D6_8C0E_1234_5678u64.to_le_bytes();
        let subj = b"S\0u\0b\0";
        let guid = [9u8; 16];
        let recs = [
            rec(0x0017, pt::LONG, 7),
            rec(0x0037, pt::UNICODE, 0x60),
            rec(0x0057, pt::BOOLEAN, 1),
            rec(0x0E07, pt::SHORT, 0xFFFE),
            rec(0x0FFF, pt::UNSPECIFIED, 0xDEAD_BEEF),
            rec(0x3008, pt::SYSTIME, 0x80),
            rec(0x3009, 0x0999, 0x1234),
            rec(0x300A, pt::CLSID, 0xA0),
            rec(0x300B, pt::BINARY, 0),
            rec(0x65E2, pt::BINARY, 0xC0),
        ];
        let pc = pc_with(Format::Unicode, &recs, &[subj, &ft, &guid, b"\x01\x02"]);
        assert_eq!(pc.get(0x0017).unwrap().unwrap().as_i32(), Some(7));
        assert_eq!(pc.get(0x0037).unwrap().unwrap().as_string().unwrap(), "Sub");
        assert_eq!(pc.get(0x0057).unwrap().unwrap().as_bool(), Some(true));
        assert_eq!(pc.get(0x0E07).unwrap().unwrap().as_i32(), Some(-2));
        let raw = pc.get(0x0FFF).unwrap().unwrap();
        assert_eq!(raw.as_bytes(), &0xDEAD_BEEFu32.to_le_bytes());
        assert_eq!(
            pc.get(0x3008).unwrap().unwrap().as_filetime(),
            Some(0x01D6_8C0E_1234_5678)
        );
        assert_eq!(
            pc.get(0x3009).unwrap().unwrap().as_bytes(),
            &0x1234u32.to_le_bytes()
        );
        assert_eq!(pc.get(0x300A).unwrap().unwrap().as_guid(), Some(guid));
        assert!(pc.get(0x300B).unwrap().unwrap().as_bytes().is_empty());
        assert_eq!(pc.get(0x65E2).unwrap().unwrap().as_bytes(), &[1, 2]);
        assert!(pc.get(0x0018).unwrap().is_none());
        let all: Vec<_> = pc.iter().map(|r| r.unwrap()).collect();
        assert_eq!(all.len(), recs.len());
        assert!(all.iter().all(|(_, _, v)| v.is_ok()));
        assert_eq!(pc.len().unwrap(), recs.len());
    }

    #[test]
    fn bad_values_fail_alone() {
        // A SYSTIME whose HNID names a missing item; a string whose HNID is
        // a subnode (no node here); an I8 whose item is too short.
        let recs = [
            rec(0x0001, pt::LONG, 1),
            rec(0x0002, pt::SYSTIME, 0x7FE0),
            rec(0x0003, pt::UNICODE, 0x0021_0004),
            rec(0x0004, pt::I8, 0x60),
        ];
        let pc = pc_with(Format::Unicode, &recs, &[b"abc"]);
        let all: Vec<_> = pc.iter().map(|r| r.unwrap()).collect();
        assert!(all[0].2.is_ok());
        assert!(all[1].2.is_err());
        assert!(all[2].2.is_err());
        assert!(all[3].2.is_err());
        assert!(pc.get(0x0002).is_err());
    }

    #[test]
    fn rejects_wrong_client_and_shapes() {
        let p = page(&hnhdr(0x7C, 0x20), &[&[0xB5, 2, 6, 0, 0, 0, 0, 0]]);
        assert!(PropertyContext::from_heap(heap_of(Format::Unicode, vec![p])).is_err());
        let p = page(&hnhdr(0xBC, 0x20), &[&[0xB5, 4, 4, 0, 0, 0, 0, 0]]);
        assert!(PropertyContext::from_heap(heap_of(Format::Unicode, vec![p])).is_err());
        let p = page(&hnhdr(0xBC, 0x40), &[&[0xB5, 2, 6, 0, 0, 0, 0, 0]]);
        assert!(PropertyContext::from_heap(heap_of(Format::Unicode, vec![p])).is_err());
        let p = page(&hnhdr(0xBC, 0x20), &[&[0xB5, 2, 6, 0, 0, 0, 0, 0]]);
        let pc = PropertyContext::from_heap(heap_of(Format::Unicode, vec![p])).unwrap();
        assert!(pc.is_empty().unwrap());
        assert!(pc.get(1).unwrap().is_none());
    }
}
