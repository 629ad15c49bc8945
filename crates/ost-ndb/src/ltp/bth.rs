//! BTree-on-heap (BTH), [MS-PST] 2.3.2: a B-tree whose pages are heap items.
//! The BTHHEADER gives the key and entry sizes, the number of intermediate
//! levels and the root item. Intermediate records are (key, HID of the next
//! level); leaf records are (key, data).

use std::collections::HashSet;

use super::error::{LtpError, LtpErrorKind, Result};
use super::heap::Heap;
use crate::ndb::bytes::{u32_at, u8_at};

/// bType of the BTHHEADER.
pub const BTH_SIGNATURE: u8 = 0xB5;

/// Deepest tree accepted. A heap item holds at most a few KB, so even with
/// 16-byte keys eight levels cover far more entries than a file can hold.
pub const MAX_BTH_LEVELS: u8 = 8;

/// The BTHHEADER.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BthHeader {
    /// HID of the header itself.
    pub hid: u32,
    /// cbKey: 2, 4, 8 or 16.
    pub key_size: u8,
    /// cbEnt: 1..=32.
    pub entry_size: u8,
    /// bIdxLevels: 0 when the root is a leaf.
    pub levels: u8,
    /// hidRoot: 0 for an empty tree.
    pub root: u32,
}

impl BthHeader {
    pub const SIZE: usize = 8;

    /// Parse and check a BTHHEADER held in a heap item.
    pub fn parse(b: &[u8], hid: u32) -> Result<BthHeader> {
        if b.len() < Self::SIZE {
            return Err(LtpError::oob(
                "BTHHEADER",
                0,
                Self::SIZE as u64,
                b.len() as u64,
            ));
        }
        let sig = u8_at(b, 0).unwrap_or(0);
        if sig != BTH_SIGNATURE {
            return Err(LtpError::new(
                "BTHHEADER",
                0,
                LtpErrorKind::TypeMismatch {
                    expected: BTH_SIGNATURE,
                    found: sig,
                },
            ));
        }
        let key_size = u8_at(b, 1).unwrap_or(0);
        let entry_size = u8_at(b, 2).unwrap_or(0);
        let levels = u8_at(b, 3).unwrap_or(0);
        let root = u32_at(b, 4).unwrap_or(0);
        if !matches!(key_size, 2 | 4 | 8 | 16) {
            return Err(LtpError::bad("BTHHEADER", 1, "cbKey", key_size as u64));
        }
        if entry_size == 0 || entry_size > 32 {
            return Err(LtpError::bad("BTHHEADER", 2, "cbEnt", entry_size as u64));
        }
        if levels > MAX_BTH_LEVELS {
            return Err(LtpError::new(
                "BTHHEADER",
                3,
                LtpErrorKind::BadDepth {
                    level: levels as u64,
                },
            ));
        }
        Ok(BthHeader {
            hid,
            key_size,
            entry_size,
            levels,
            root,
        })
    }
}

/// One leaf record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BthEntry<'h> {
    /// The key, read as a little-endian unsigned number.
    pub key: u128,
    /// The cbEnt data bytes.
    pub data: &'h [u8],
}

/// A BTH over a heap: the header and a borrow of the heap.
#[derive(Clone, Copy)]
pub struct Bth<'h, 'a> {
    heap: &'h Heap<'a>,
    header: BthHeader,
}

fn key_at(rec: &[u8], size: usize) -> u128 {
    // The common sizes directly: PC keys are 2 bytes, TC row ids 4; this is
    // the inner loop of every property lookup.
    match size {
        2 if rec.len() >= 2 => return u16::from_le_bytes([rec[0], rec[1]]) as u128,
        4 if rec.len() >= 4 => {
            return u32::from_le_bytes([rec[0], rec[1], rec[2], rec[3]]) as u128;
        }
        _ => {}
    }
    let mut k = [0u8; 16];
    let n = size.min(16).min(rec.len());
    k[..n].copy_from_slice(&rec[..n]);
    u128::from_le_bytes(k)
}

impl<'h, 'a> Bth<'h, 'a> {
    /// Open the BTH whose header is the heap item `hid`.
    pub fn open(heap: &'h Heap<'a>, hid: u32) -> Result<Bth<'h, 'a>> {
        let b = heap.get(hid)?;
        let header = BthHeader::parse(b, hid).map_err(|e| e.with_nid(heap.nid()))?;
        Ok(Bth { heap, header })
    }

    /// A BTH from a header already parsed.
    pub fn with_header(heap: &'h Heap<'a>, header: BthHeader) -> Bth<'h, 'a> {
        Bth { heap, header }
    }

    pub fn header(&self) -> BthHeader {
        self.header
    }

    /// Ok when the tree's keys and entries have the sizes its reader
    /// expects; else a bad cbKey/cbEnt in `structure` (the BTHHEADER).
    pub(crate) fn expect_sizes(
        &self,
        key_size: u8,
        entry_size: u8,
        structure: &'static str,
    ) -> Result<()> {
        let h = self.header;
        if (h.key_size, h.entry_size) == (key_size, entry_size) {
            return Ok(());
        }
        let value = ((h.key_size as u64) << 8) | h.entry_size as u64;
        Err(LtpError::bad(structure, 1, "cbKey/cbEnt", value).with_nid(self.heap.nid()))
    }

    fn leaf_size(&self) -> usize {
        self.header.key_size as usize + self.header.entry_size as usize
    }

    fn index_size(&self) -> usize {
        self.header.key_size as usize + 4
    }

    /// The records item of one tree page, checked to be whole records.
    pub(crate) fn records(&self, hid: u32, level: u8) -> Result<&'h [u8]> {
        let b = self.heap.get(hid)?;
        let rs = if level == 0 {
            self.leaf_size()
        } else {
            self.index_size()
        };
        if b.len() % rs != 0 {
            return Err(LtpError::bad(
                if level == 0 {
                    "BTH leaf records"
                } else {
                    "BTH index records"
                },
                0,
                "item size",
                b.len() as u64,
            )
            .with_nid(self.heap.nid()));
        }
        Ok(b)
    }

    /// The data of the record with this key, if there is one.
    pub fn get(&self, key: u128) -> Result<Option<&'h [u8]>> {
        if self.header.root == 0 {
            return Ok(None);
        }
        let ks = self.header.key_size as usize;
        let mut hid = self.header.root;
        let mut level = self.header.levels;
        loop {
            let recs = self.records(hid, level)?;
            let rs = if level == 0 {
                self.leaf_size()
            } else {
                self.index_size()
            };
            let n = recs.len() / rs;
            // Last record whose key is <= the one sought (keys ascend).
            let (mut lo, mut hi) = (0usize, n);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                if key_at(&recs[mid * rs..], ks) <= key {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            if lo == 0 {
                return Ok(None);
            }
            let rec = &recs[(lo - 1) * rs..lo * rs];
            if level == 0 {
                return Ok((key_at(rec, ks) == key).then(|| &rec[ks..]));
            }
            hid = u32_at(rec, ks).unwrap_or(0);
            level -= 1;
        }
    }

    /// All leaf records in key order. Each tree page is visited at most
    /// once; a page reached twice ends the walk with a `Cycle` error.
    pub fn iter(&self) -> BthIter<'h, 'a> {
        let mut it = BthIter {
            bth: *self,
            stack: [(&[], 0, 0); ITER_STACK],
            depth: 0,
            visited: HashSet::new(),
            pending: None,
        };
        if self.header.root != 0 {
            if self.header.levels == 0 {
                // A root that is a leaf is the only page: nothing can reach
                // it again, so the visited set (and its allocation) is not
                // needed. PCs of messages are almost always this case.
                match self.records(self.header.root, 0) {
                    Ok(r) => it.push(r, 0),
                    Err(e) => it.fail(e),
                }
            } else {
                it.descend(self.header.root, self.header.levels);
            }
        }
        it
    }

    /// Number of leaf records (walks the whole tree).
    pub fn count(&self) -> Result<usize> {
        let mut n = 0;
        for e in self.iter() {
            e?;
            n += 1;
        }
        Ok(n)
    }
}

/// Pages on the iterator's stack at most: one per level (levels descend
/// by one at each step and the header allows at most MAX_BTH_LEVELS).
const ITER_STACK: usize = MAX_BTH_LEVELS as usize + 1;

/// In-order iterator over a BTH's leaf records.
pub struct BthIter<'h, 'a> {
    bth: Bth<'h, 'a>,
    /// (records, level, next record); `stack[..depth]` is in use. A fixed
    /// array: no allocation per iteration.
    stack: [(&'h [u8], u8, usize); ITER_STACK],
    depth: usize,
    visited: HashSet<u32>,
    pending: Option<LtpError>,
}

impl<'h> BthIter<'h, '_> {
    fn descend(&mut self, hid: u32, level: u8) {
        if !self.visited.insert(hid) {
            self.fail(LtpError::new("BTH", 0, LtpErrorKind::Cycle).with_nid(self.bth.heap.nid()));
            return;
        }
        match self.bth.records(hid, level) {
            Ok(r) => self.push(r, level),
            Err(e) => self.fail(e),
        }
    }

    fn push(&mut self, records: &'h [u8], level: u8) {
        match self.stack.get_mut(self.depth) {
            Some(slot) => {
                *slot = (records, level, 0);
                self.depth += 1;
            }
            // Unreachable (levels descend from at most MAX_BTH_LEVELS), but
            // a deeper walk is refused rather than assumed away.
            None => self.fail(
                LtpError::new(
                    "BTH",
                    0,
                    LtpErrorKind::BadDepth {
                        level: level as u64,
                    },
                )
                .with_nid(self.bth.heap.nid()),
            ),
        }
    }

    fn fail(&mut self, e: LtpError) {
        self.depth = 0;
        self.pending = Some(e);
    }
}

impl<'h> Iterator for BthIter<'h, '_> {
    type Item = Result<BthEntry<'h>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            // Test before taking: `take` would move the (large) error
            // value on every record.
            if self.pending.is_some() {
                return self.pending.take().map(Err);
            }
            let ks = self.bth.header.key_size as usize;
            let top = self.depth.checked_sub(1)?;
            let (recs, level, pos) = self.stack.get_mut(top)?;
            let rs = if *level == 0 {
                self.bth.leaf_size()
            } else {
                self.bth.index_size()
            };
            let Some(rec) = recs.get(*pos * rs..(*pos + 1) * rs) else {
                self.depth = top;
                continue;
            };
            *pos += 1;
            if *level == 0 {
                return Some(Ok(BthEntry {
                    key: key_at(rec, ks),
                    data: &rec[ks..],
                }));
            }
            let child = u32_at(rec, ks).unwrap_or(0);
            let next_level = *level - 1;
            self.descend(child, next_level);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::heap::tests::{heap_of, hnhdr, page};
    use super::*;
    use crate::ndb::Format;

    fn header(cb_key: u8, cb_ent: u8, levels: u8, root: u32) -> Vec<u8> {
        let mut h = vec![0xB5, cb_key, cb_ent, levels];
        h.extend_from_slice(&root.to_le_bytes());
        h
    }

    fn leaf(recs: &[(u16, u32)]) -> Vec<u8> {
        recs.iter()
            .flat_map(|(k, v)| {
                let mut r = k.to_le_bytes().to_vec();
                r.extend_from_slice(&v.to_le_bytes());
                r
            })
            .collect()
    }

    fn index(recs: &[(u16, u32)]) -> Vec<u8> {
        leaf(recs)
    }

    #[test]
    fn one_level_lookup_and_iteration() {
        // hid 0x20: header, 0x40: leaf.
        let l = leaf(&[(1, 10), (5, 50), (9, 90)]);
        let p = page(&hnhdr(0xB5, 0x20), &[&header(2, 4, 0, 0x40), &l]);
        let heap = heap_of(Format::Unicode, vec![p]);
        let bth = Bth::open(&heap, 0x20).unwrap();
        assert_eq!(bth.get(5).unwrap(), Some(&50u32.to_le_bytes()[..]));
        assert_eq!(bth.get(4).unwrap(), None);
        assert_eq!(bth.get(0).unwrap(), None);
        assert_eq!(bth.get(10).unwrap(), None);
        let keys: Vec<u128> = bth.iter().map(|e| e.unwrap().key).collect();
        assert_eq!(keys, vec![1, 5, 9]);
        assert_eq!(bth.count().unwrap(), 3);
    }

    #[test]
    fn two_levels() {
        // 0x20 header (levels 1, root 0x40), 0x40 index, 0x60 and 0x80 leaves.
        let idx = index(&[(1, 0x60), (100, 0x80)]);
        let l1 = leaf(&[(1, 1), (7, 7)]);
        let l2 = leaf(&[(100, 100), (200, 200)]);
        let p = page(
            &hnhdr(0xB5, 0x20),
            &[&header(2, 4, 1, 0x40), &idx, &l1, &l2],
        );
        let heap = heap_of(Format::Unicode, vec![p]);
        let bth = Bth::open(&heap, 0x20).unwrap();
        for k in [1u128, 7, 100, 200] {
            assert_eq!(bth.get(k).unwrap(), Some(&(k as u32).to_le_bytes()[..]));
        }
        assert_eq!(bth.get(50).unwrap(), None);
        let keys: Vec<u128> = bth.iter().map(|e| e.unwrap().key).collect();
        assert_eq!(keys, vec![1, 7, 100, 200]);
    }

    #[test]
    fn empty_tree() {
        let p = page(&hnhdr(0xB5, 0x20), &[&header(4, 4, 0, 0)]);
        let heap = heap_of(Format::Unicode, vec![p]);
        let bth = Bth::open(&heap, 0x20).unwrap();
        assert_eq!(bth.get(1).unwrap(), None);
        assert_eq!(bth.iter().count(), 0);
    }

    #[test]
    fn cycle_is_reported_not_followed() {
        // An index page that points at itself, at a level that claims 2.
        let idx = index(&[(1, 0x40), (5, 0x40)]);
        let p = page(&hnhdr(0xB5, 0x20), &[&header(2, 4, 2, 0x40), &idx]);
        let heap = heap_of(Format::Unicode, vec![p]);
        let bth = Bth::open(&heap, 0x20).unwrap();
        let all: Vec<_> = bth.iter().collect();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].as_ref().unwrap_err().kind, LtpErrorKind::Cycle);
        // Lookup terminates: level 0 reads the index item as a leaf, which
        // has no matching key (the item is 12 bytes = 2 leaf records).
        assert!(bth.get(1).is_ok());
        // Shared subtree: two index records naming the same leaf.
        let idx = index(&[(1, 0x60), (5, 0x60)]);
        let l = leaf(&[(1, 1)]);
        let p = page(&hnhdr(0xB5, 0x20), &[&header(2, 4, 1, 0x40), &idx, &l]);
        let heap = heap_of(Format::Unicode, vec![p]);
        let bth = Bth::open(&heap, 0x20).unwrap();
        let all: Vec<_> = bth.iter().collect();
        assert!(all[0].is_ok());
        assert_eq!(
            all.last().unwrap().as_ref().unwrap_err().kind,
            LtpErrorKind::Cycle
        );
    }

    #[test]
    fn hostile_headers() {
        let mk = |h: Vec<u8>| {
            let p = page(&hnhdr(0xB5, 0x20), &[&h]);
            heap_of(Format::Unicode, vec![p])
        };
        assert!(Bth::open(&mk(header(3, 4, 0, 0)), 0x20).is_err());
        assert!(Bth::open(&mk(header(2, 0, 0, 0)), 0x20).is_err());
        assert!(Bth::open(&mk(header(2, 33, 0, 0)), 0x20).is_err());
        assert!(matches!(
            Bth::open(&mk(header(2, 4, 200, 0x40)), 0x20)
                .err()
                .unwrap()
                .kind,
            LtpErrorKind::BadDepth { .. }
        ));
        let mut h = header(2, 4, 0, 0);
        h[0] = 0xB6;
        assert!(Bth::open(&mk(h), 0x20).is_err());
        assert!(Bth::open(&mk(vec![0xB5, 2]), 0x20).is_err());
        // Root HID naming nothing.
        let heap = mk(header(2, 4, 0, 0x1234_0040));
        let bth = Bth::open(&heap, 0x20).unwrap();
        assert!(bth.get(1).is_err());
        assert!(bth.iter().next().unwrap().is_err());
        // Leaf item not a whole number of records.
        let p = page(
            &hnhdr(0xB5, 0x20),
            &[&header(2, 4, 0, 0x40), &[1, 2, 3, 4, 5]],
        );
        let heap = heap_of(Format::Unicode, vec![p]);
        let bth = Bth::open(&heap, 0x20).unwrap();
        assert!(bth.get(1).is_err());
    }
}
