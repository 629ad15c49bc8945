//! The lists, tables and properties layer ([MS-PST] 2.3): heap-on-node,
//! BTH, property contexts (PC) and table contexts (TC).

use std::io::{self, Seek, Write};

use crate::format::Format;
use crate::ndb_writer::{NdbWriter, NidType, SubnodeEntry};

/// Largest single heap allocation ([MS-PST] 2.3.1.1); bigger values go to subnodes.
pub const MAX_HEAP_ALLOC: usize = 3580;

/// bClientSig of a property context heap.
const CLIENT_SIG_PC: u8 = 0xBC;
/// bClientSig of a table context heap.
const CLIENT_SIG_TC: u8 = 0x7C;
/// bClientSig of an OST's replica map heap (NID 0x801; not in [MS-PST]).
const CLIENT_SIG_REPLICA_MAP: u8 = 0x6C;

/// Property types ([MS-OXCDATA] 2.11.1).
pub mod ptype {
    pub const SHORT: u16 = 0x0002;
    pub const LONG: u16 = 0x0003;
    pub const FLOAT: u16 = 0x0004;
    pub const DOUBLE: u16 = 0x0005;
    pub const BOOLEAN: u16 = 0x000B;
    pub const I8: u16 = 0x0014;
    pub const STRING8: u16 = 0x001E;
    pub const UNICODE: u16 = 0x001F;
    pub const SYSTIME: u16 = 0x0040;
    pub const CLSID: u16 = 0x0048;
    pub const BINARY: u16 = 0x0102;
    pub const MV_LONG: u16 = 0x1003;
    pub const MV_I8: u16 = 0x1014;
    pub const MV_STRING8: u16 = 0x101E;
    pub const MV_UNICODE: u16 = 0x101F;
    pub const MV_SYSTIME: u16 = 0x1040;
    pub const MV_BINARY: u16 = 0x1102;
}

/// A property value.
#[derive(Debug, Clone, PartialEq)]
pub enum PropValue {
    /// PT_SHORT.
    Short(i16),
    /// PT_LONG.
    Long(i32),
    /// PT_FLOAT.
    Float(f32),
    /// PT_DOUBLE.
    Double(f64),
    /// PT_BOOLEAN.
    Bool(bool),
    /// PT_I8.
    I64(i64),
    /// PT_SYSTIME (FILETIME: 100 ns ticks since 1601).
    SysTime(u64),
    /// PT_UNICODE (PT_STRING8 in ANSI files, non-ASCII replaced by '?').
    String(String),
    /// PT_BINARY.
    Binary(Vec<u8>),
    /// PT_CLSID.
    Guid([u8; 16]),
    /// PT_MV_LONG.
    MvLong(Vec<i32>),
    /// PT_MV_I8.
    MvI64(Vec<i64>),
    /// PT_MV_SYSTIME.
    MvSysTime(Vec<u64>),
    /// PT_MV_UNICODE (PT_MV_STRING8 in ANSI files).
    MvString(Vec<String>),
    /// PT_MV_BINARY.
    MvBinary(Vec<Vec<u8>>),
}

/// The 8-bit form of a string in an ANSI file: ASCII kept, anything else '?'.
pub fn ansi_string(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii() { c } else { '?' })
        .collect()
}

pub(crate) fn utf16(s: &str) -> Vec<u8> {
    if s.is_ascii() {
        // The common case (all generated bodies), without the UTF-16 walk.
        let mut out = vec![0u8; 2 * s.len()];
        for (pair, &b) in out.chunks_exact_mut(2).zip(s.as_bytes()) {
            pair[0] = b;
        }
        return out;
    }
    let mut out = Vec::with_capacity(2 * s.len());
    for u in s.encode_utf16() {
        out.extend_from_slice(&u.to_le_bytes());
    }
    out
}

/// Bytes of `s` as stored: UTF-16LE, or one byte a char in ANSI files.
fn string_len(s: &str, ansi: bool) -> usize {
    if s.is_ascii() {
        s.len() * if ansi { 1 } else { 2 }
    } else if ansi {
        s.chars().count()
    } else {
        s.encode_utf16().count() * 2
    }
}

impl PropValue {
    /// The property type as stored in a file of `format`.
    pub fn prop_type(&self, format: Format) -> u16 {
        let ansi = format.is_ansi();
        match self {
            PropValue::Short(_) => ptype::SHORT,
            PropValue::Long(_) => ptype::LONG,
            PropValue::Float(_) => ptype::FLOAT,
            PropValue::Double(_) => ptype::DOUBLE,
            PropValue::Bool(_) => ptype::BOOLEAN,
            PropValue::I64(_) => ptype::I8,
            PropValue::SysTime(_) => ptype::SYSTIME,
            PropValue::String(_) if ansi => ptype::STRING8,
            PropValue::String(_) => ptype::UNICODE,
            PropValue::Binary(_) => ptype::BINARY,
            PropValue::Guid(_) => ptype::CLSID,
            PropValue::MvLong(_) => ptype::MV_LONG,
            PropValue::MvI64(_) => ptype::MV_I8,
            PropValue::MvSysTime(_) => ptype::MV_SYSTIME,
            PropValue::MvString(_) if ansi => ptype::MV_STRING8,
            PropValue::MvString(_) => ptype::MV_UNICODE,
            PropValue::MvBinary(_) => ptype::MV_BINARY,
        }
    }

    /// Value that fits in the 4-byte dwValueHnid / a small TC cell.
    fn inline_bytes(&self) -> Option<Vec<u8>> {
        match self {
            PropValue::Short(v) => Some(v.to_le_bytes().to_vec()),
            PropValue::Long(v) => Some(v.to_le_bytes().to_vec()),
            PropValue::Float(v) => Some(v.to_le_bytes().to_vec()),
            PropValue::Bool(v) => Some(vec![*v as u8]),
            _ => None,
        }
    }

    /// `self.encode(format).len()`, without building the bytes.
    pub fn encoded_len(&self, format: Format) -> usize {
        let ansi = format.is_ansi();
        match self {
            PropValue::Short(_) => 2,
            PropValue::Long(_) | PropValue::Float(_) => 4,
            PropValue::Bool(_) => 1,
            PropValue::Double(_) | PropValue::I64(_) | PropValue::SysTime(_) => 8,
            PropValue::String(s) => string_len(s, ansi),
            PropValue::Binary(b) => b.len(),
            PropValue::Guid(_) => 16,
            PropValue::MvLong(v) => 4 * v.len(),
            PropValue::MvI64(v) => 8 * v.len(),
            PropValue::MvSysTime(v) => 8 * v.len(),
            PropValue::MvString(v) => 4 + v.iter().map(|s| 4 + string_len(s, ansi)).sum::<usize>(),
            PropValue::MvBinary(v) => 4 + v.iter().map(|b| 4 + b.len()).sum::<usize>(),
        }
    }

    /// The bytes of the value as stored in a heap item or subnode.
    pub fn encode(&self, format: Format) -> Vec<u8> {
        let ansi = format.is_ansi();
        let string = |s: &str| {
            if ansi {
                ansi_string(s).into_bytes()
            } else {
                utf16(s)
            }
        };
        match self {
            PropValue::Short(v) => v.to_le_bytes().to_vec(),
            PropValue::Long(v) => v.to_le_bytes().to_vec(),
            PropValue::Float(v) => v.to_le_bytes().to_vec(),
            PropValue::Double(v) => v.to_le_bytes().to_vec(),
            PropValue::Bool(v) => vec![*v as u8],
            PropValue::I64(v) => v.to_le_bytes().to_vec(),
            PropValue::SysTime(v) => v.to_le_bytes().to_vec(),
            PropValue::String(s) => string(s),
            PropValue::Binary(b) => b.clone(),
            PropValue::Guid(g) => g.to_vec(),
            PropValue::MvLong(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            PropValue::MvI64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            PropValue::MvSysTime(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            PropValue::MvString(v) => mv_variable(v.iter().map(|s| string(s)).collect()),
            PropValue::MvBinary(v) => mv_variable(v.clone()),
        }
    }
}

/// Multi-valued variable-size layout: count, offsets from the start, data.
fn mv_variable(items: Vec<Vec<u8>>) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(items.len() as u32).to_le_bytes());
    let mut off = 4 + 4 * items.len();
    for it in &items {
        out.extend_from_slice(&(off as u32).to_le_bytes());
        off += it.len();
    }
    for it in items {
        out.extend_from_slice(&it);
    }
    out
}

/// A heap-on-node being built: allocations packed into pages of at most
/// one block each.
pub struct Heap {
    format: Format,
    client_sig: u8,
    /// Allocations of each page.
    pages: Vec<Vec<Vec<u8>>>,
    root: u32,
}

impl Heap {
    /// An empty heap for a PC or TC.
    fn new(format: Format, client_sig: u8) -> Heap {
        Heap {
            format,
            client_sig,
            pages: vec![Vec::new()],
            root: 0,
        }
    }

    /// Header size of heap page `i`: HNHDR, HNBITMAPHDR (pages 8, 136, ...) or HNPAGEHDR.
    fn header_size(i: usize) -> usize {
        if i == 0 {
            12
        } else if i >= 8 && (i - 8) % 128 == 0 {
            66
        } else {
            2
        }
    }

    fn page_size_with(&self, i: usize, extra: Option<usize>) -> usize {
        let items = &self.pages[i];
        let n = items.len() + extra.is_some() as usize;
        let data: usize = items.iter().map(|x| x.len()).sum::<usize>() + extra.unwrap_or(0);
        let body = (Self::header_size(i) + data).div_ceil(2) * 2;
        body + 4 + 2 * (n + 1)
    }

    /// Store `bytes`; returns its HID.
    pub fn alloc(&mut self, bytes: Vec<u8>) -> u32 {
        assert!(bytes.len() <= MAX_HEAP_ALLOC, "heap allocation too big");
        let mut i = self.pages.len() - 1;
        if self.page_size_with(i, Some(bytes.len())) > self.format.max_block_data() {
            self.pages.push(Vec::new());
            i += 1;
        }
        self.pages[i].push(bytes);
        let index = self.pages[i].len() as u32;
        let block_shift = if self.format.is_4k() { 19 } else { 16 };
        ((i as u32) << block_shift) | (index << 5)
    }

    /// Replace the bytes of an allocation (same length), for items that
    /// must point at allocations made after them.
    fn replace(&mut self, hid: u32, bytes: Vec<u8>) {
        let block_shift = if self.format.is_4k() { 19 } else { 16 };
        let page = (hid >> block_shift) as usize;
        let index = ((hid >> 5) & ((1 << (block_shift - 5)) - 1)) as usize;
        let item = &mut self.pages[page][index - 1];
        assert_eq!(item.len(), bytes.len(), "heap item {hid:#x} changes size");
        *item = bytes;
    }

    /// The bytes of each page.
    fn serialize(&self) -> Vec<Vec<u8>> {
        let mut out = Vec::with_capacity(self.pages.len());
        for (i, items) in self.pages.iter().enumerate() {
            let hs = Self::header_size(i);
            let mut p = vec![0u8; hs];
            if i == 0 {
                p[2] = 0xEC;
                p[3] = self.client_sig;
                p[4..8].copy_from_slice(&self.root.to_le_bytes());
            }
            let mut offsets = Vec::with_capacity(items.len() + 1);
            for it in items {
                offsets.push(p.len() as u16);
                p.extend_from_slice(it);
            }
            offsets.push(p.len() as u16);
            if p.len() % 2 == 1 {
                p.push(0);
            }
            let ib_hnpm = p.len() as u16;
            p[0..2].copy_from_slice(&ib_hnpm.to_le_bytes());
            p.extend_from_slice(&(items.len() as u16).to_le_bytes());
            p.extend_from_slice(&0u16.to_le_bytes());
            for o in offsets {
                p.extend_from_slice(&o.to_le_bytes());
            }
            out.push(p);
        }
        out
    }
}

/// Builds one node's heap plus the subnodes its large values need.
pub struct NodeBuilder<'a, W: Write + Seek> {
    ndb: &'a mut NdbWriter<W>,
    heap: Heap,
    /// Subnodes made for large values (merged into the node's subnode tree).
    pub subnodes: Vec<SubnodeEntry>,
    next_subnode: &'a mut u32,
}

impl<'a, W: Write + Seek> NodeBuilder<'a, W> {
    fn new(ndb: &'a mut NdbWriter<W>, client_sig: u8, next_subnode: &'a mut u32) -> Self {
        let format = ndb.format();
        NodeBuilder {
            ndb,
            heap: Heap::new(format, client_sig),
            subnodes: Vec::new(),
            next_subnode,
        }
    }

    /// Store variable-size bytes: a HID, or a subnode NID when too big for the heap.
    fn store(&mut self, bytes: Vec<u8>) -> io::Result<u32> {
        if bytes.is_empty() {
            return Ok(0);
        }
        if bytes.len() <= MAX_HEAP_ALLOC {
            return Ok(self.heap.alloc(bytes));
        }
        let bid = self.ndb.write_data(&bytes)?;
        Ok(self.subnode(bid))
    }

    /// A new LTP subnode of the node whose data is the block `bid`.
    fn subnode(&mut self, bid: u64) -> u32 {
        let nid = NidType::Ltp.nid(*self.next_subnode);
        *self.next_subnode += 1;
        self.subnodes.push(SubnodeEntry {
            nid,
            bid_data: bid,
            bid_sub: 0,
        });
        nid
    }

    /// Build a BTH over sorted records; returns the HID of its BTHHEADER.
    fn bth(&mut self, key_size: usize, data_size: usize, records: Vec<Vec<u8>>) -> u32 {
        let mut level = 0u8;
        let mut root = 0u32;
        if !records.is_empty() {
            let mut items = records;
            let mut rec_size = key_size + data_size;
            loop {
                let per = MAX_HEAP_ALLOC / rec_size;
                let mut next = Vec::new();
                for chunk in items.chunks(per) {
                    let hid = self.heap.alloc(chunk.concat());
                    let mut e = chunk[0][..key_size].to_vec();
                    e.extend_from_slice(&hid.to_le_bytes());
                    next.push(e);
                }
                if next.len() == 1 {
                    root = u32::from_le_bytes(next[0][key_size..].try_into().expect("hid"));
                    break;
                }
                items = next;
                rec_size = key_size + 4;
                level += 1;
            }
        }
        let mut h = vec![0xB5, key_size as u8, data_size as u8, level];
        h.extend_from_slice(&root.to_le_bytes());
        self.heap.alloc(h)
    }

    /// Write the heap; returns the data BID.
    fn write_heap(self, root: u32) -> io::Result<(u64, Vec<SubnodeEntry>)> {
        let mut heap = self.heap;
        heap.root = root;
        let pages = heap.serialize();
        let refs: Vec<&[u8]> = pages.iter().map(|p| p.as_slice()).collect();
        let bid = self.ndb.write_pages(&refs)?;
        Ok((bid, self.subnodes))
    }
}

/// A written PC or TC: its data BID and the subnodes it needs.
pub struct WrittenNode {
    /// Heap data (block or data tree).
    pub bid_data: u64,
    /// Subnodes holding large values; the caller adds them to the node's
    /// subnode tree.
    pub subnodes: Vec<SubnodeEntry>,
}

/// Write a property context. `props` are (property id, value); sorted here.
/// `next_subnode` numbers the LTP subnodes of the owning node.
pub fn write_pc<W: Write + Seek>(
    ndb: &mut NdbWriter<W>,
    props: &[(u16, PropValue)],
    next_subnode: &mut u32,
) -> io::Result<WrittenNode> {
    let format = ndb.format();
    let mut sorted: Vec<&(u16, PropValue)> = props.iter().collect();
    sorted.sort_by_key(|p| p.0);
    for w in sorted.windows(2) {
        assert!(w[0].0 != w[1].0, "property {:#06x} given twice", w[0].0);
    }
    let mut b = NodeBuilder::new(ndb, CLIENT_SIG_PC, next_subnode);
    let mut records = Vec::with_capacity(sorted.len());
    for (id, value) in sorted {
        let hnid = match value.inline_bytes() {
            Some(mut v) => {
                v.resize(4, 0);
                u32::from_le_bytes(v.try_into().expect("4 bytes"))
            }
            None => b.store(value.encode(format))?,
        };
        let mut r = Vec::with_capacity(8);
        r.extend_from_slice(&id.to_le_bytes());
        r.extend_from_slice(&value.prop_type(format).to_le_bytes());
        r.extend_from_slice(&hnid.to_le_bytes());
        records.push(r);
    }
    let root = b.bth(2, 6, records);
    let (bid_data, subnodes) = b.write_heap(root)?;
    Ok(WrittenNode { bid_data, subnodes })
}

/// Write an OST's replica map (the heap of NID 0x801, client signature
/// 0x6C), laid out as Outlook does: the user root (HID 0x20) is 8 bytes, the
/// HID of a BTH header and the HID of a GUID array; the BTH (16-byte keys,
/// 2-byte data, one leaf) maps each replica GUID to its replica id (u16
/// LE); the array holds the GUIDs in replica id order. Outlook sorts the
/// BTH's GUID keys bytewise (memcmp), not as little-endian integers like the
/// 2- and 4-byte keys of PCs and TCs; so do we.
pub fn write_replica_map<W: Write + Seek>(
    ndb: &mut NdbWriter<W>,
    guids: &[[u8; 16]],
) -> io::Result<WrittenNode> {
    assert!(
        guids.len() <= MAX_HEAP_ALLOC / 18,
        "too many replicas for one BTH leaf"
    );
    let mut heap = Heap::new(ndb.format(), CLIENT_SIG_REPLICA_MAP);
    let root = heap.alloc(vec![0; 8]);
    let header = heap.alloc(vec![0; 8]);
    let array = heap.alloc(guids.concat());
    let mut records: Vec<Vec<u8>> = guids
        .iter()
        .enumerate()
        .map(|(id, g)| {
            let mut r = g.to_vec();
            r.extend_from_slice(&(id as u16).to_le_bytes());
            r
        })
        .collect();
    records.sort();
    let leaf = heap.alloc(records.concat());
    let mut h = vec![0xB5, 16, 2, 0];
    h.extend_from_slice(&leaf.to_le_bytes());
    heap.replace(header, h);
    let mut r = header.to_le_bytes().to_vec();
    r.extend_from_slice(&array.to_le_bytes());
    heap.replace(root, r);
    heap.root = root;
    let pages = heap.serialize();
    let refs: Vec<&[u8]> = pages.iter().map(|p| p.as_slice()).collect();
    let bid_data = ndb.write_pages(&refs)?;
    Ok(WrittenNode {
        bid_data,
        subnodes: Vec::new(),
    })
}

/// PidTagLtpRowId / PidTagLtpRowVer: the two columns every TC has.
const TAG_LTP_ROW_ID: u32 = 0x67F2_0003;
const TAG_LTP_ROW_VER: u32 = 0x67F3_0003;

/// A table column: property id and type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// Property id.
    pub id: u16,
    /// Property type (for strings: PT_UNICODE; ANSI files store PT_STRING8).
    pub ptype: u16,
}

fn cell_size(ptype: u16) -> usize {
    match ptype {
        ptype::SHORT => 2,
        ptype::BOOLEAN => 1,
        ptype::DOUBLE | ptype::I8 | ptype::SYSTIME => 8,
        _ => 4,
    }
}

/// One table row: its row id and one optional value per column.
pub struct Row {
    /// dwRowID (the NID of the object the row stands for, or a row number).
    pub id: u32,
    /// Values in column order; `None` leaves the cell's CEB bit clear.
    pub values: Vec<Option<PropValue>>,
}

/// Write a table context with `columns` (LtpRowId/LtpRowVer are added).
pub fn write_tc<W: Write + Seek>(
    ndb: &mut NdbWriter<W>,
    columns: &[Column],
    rows: &[Row],
    next_subnode: &mut u32,
) -> io::Result<WrittenNode> {
    let format = ndb.format();
    let max_block = ndb.max_block_data();
    let col_type = |c: &Column| {
        if format.is_ansi() && c.ptype == ptype::UNICODE {
            ptype::STRING8
        } else if format.is_ansi() && c.ptype == ptype::MV_UNICODE {
            ptype::MV_STRING8
        } else {
            c.ptype
        }
    };
    // (tag, size, user column index or None for row id / row ver)
    let mut cols: Vec<(u32, usize, Option<usize>)> =
        vec![(TAG_LTP_ROW_ID, 4, None), (TAG_LTP_ROW_VER, 4, None)];
    for (i, c) in columns.iter().enumerate() {
        let t = col_type(c);
        cols.push((((c.id as u32) << 16) | t as u32, cell_size(t), Some(i)));
    }
    // Row layout: row id, row ver, then 8-, 4-, 2- and 1-byte cells, then the CEB.
    let mut offsets = vec![0usize; cols.len()];
    offsets[1] = 4;
    let mut off = 8;
    for size in [8, 4, 2, 1] {
        for (k, c) in cols.iter().enumerate().skip(2) {
            if c.1 == size {
                offsets[k] = off;
                off += size;
            }
        }
    }
    let end_4b = 8 + cols
        .iter()
        .skip(2)
        .filter(|c| c.1 >= 4)
        .map(|c| c.1)
        .sum::<usize>();
    let end_2b = end_4b + cols.iter().filter(|c| c.1 == 2).count() * 2;
    let end_1b = end_2b + cols.iter().filter(|c| c.1 == 1).count();
    let ceb_size = cols.len().div_ceil(8);
    let row_size = end_1b + ceb_size;
    // Column descriptors are sorted by tag; CEB bits (iBit) follow the row
    // layout, so that bit 0 is the row id at offset 0 (libpff insists).
    let mut order: Vec<usize> = (0..cols.len()).collect();
    order.sort_by_key(|&k| cols[k].0);
    let ibit: Vec<usize> = (0..cols.len()).collect();

    let mut b = NodeBuilder::new(ndb, CLIENT_SIG_TC, next_subnode);
    let mut matrix = Vec::with_capacity(rows.len() * row_size);
    for (ri, row) in rows.iter().enumerate() {
        let mut r = vec![0u8; row_size];
        r[0..4].copy_from_slice(&row.id.to_le_bytes());
        r[4..8].copy_from_slice(&(ri as u32 + 1).to_le_bytes());
        let ceb = end_1b;
        for k in [0, 1] {
            r[ceb + ibit[k] / 8] |= 0x80 >> (ibit[k] % 8);
        }
        for (k, c) in cols.iter().enumerate().skip(2) {
            let ci = c.2.expect("user column");
            let Some(v) = row.values.get(ci).and_then(|v| v.as_ref()) else {
                continue;
            };
            let cell = match (c.1, v.inline_bytes()) {
                (8, _) => v.encode(format),
                (4, Some(x))
                    if c.0 & 0xFFFF != ptype::BOOLEAN as u32
                        && c.0 & 0xFFFF != ptype::SHORT as u32 =>
                {
                    x
                }
                (2, Some(x)) => x,
                (1, Some(x)) => x,
                _ => b.store(v.encode(format))?.to_le_bytes().to_vec(),
            };
            let o = offsets[k];
            r[o..o + cell.len().min(c.1)].copy_from_slice(&cell[..cell.len().min(c.1)]);
            r[ceb + ibit[k] / 8] |= 0x80 >> (ibit[k] % 8);
        }
        matrix.extend_from_slice(&r);
    }
    let hnid_rows = if matrix.is_empty() {
        0
    } else if matrix.len() <= MAX_HEAP_ALLOC {
        b.heap.alloc(matrix)
    } else {
        // Rows never span blocks: every block but the last holds the same
        // number of rows, which readers derive from the first block's size.
        let per_block = max_block / row_size;
        let blocks: Vec<&[u8]> = matrix.chunks(per_block * row_size).collect();
        let bid = b.ndb.write_pages(&blocks)?;
        b.subnode(bid)
    };
    // Row index: BTH of (row id -> row number).
    let index_data = if format.is_ansi() { 2 } else { 4 };
    let mut index: Vec<(u32, usize)> = rows.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
    index.sort_by_key(|x| x.0);
    let records = index
        .iter()
        .map(|(id, i)| {
            let mut rec = id.to_le_bytes().to_vec();
            rec.extend_from_slice(&(*i as u32).to_le_bytes()[..index_data]);
            rec
        })
        .collect();
    let hid_index = b.bth(4, index_data, records);

    let mut info = vec![0x7C, cols.len() as u8];
    for v in [end_4b, end_2b, end_1b, row_size] {
        info.extend_from_slice(&(v as u16).to_le_bytes());
    }
    info.extend_from_slice(&hid_index.to_le_bytes());
    info.extend_from_slice(&hnid_rows.to_le_bytes());
    info.extend_from_slice(&0u32.to_le_bytes());
    for &k in &order {
        info.extend_from_slice(&cols[k].0.to_le_bytes());
        info.extend_from_slice(&(offsets[k] as u16).to_le_bytes());
        info.push(cols[k].1 as u8);
        info.push(ibit[k] as u8);
    }
    let root = b.heap.alloc(info);
    let (bid_data, subnodes) = b.write_heap(root)?;
    Ok(WrittenNode { bid_data, subnodes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_len_matches_encode() {
        let values = [
            PropValue::Short(1),
            PropValue::Long(2),
            PropValue::Float(1.5),
            PropValue::Double(2.5),
            PropValue::Bool(true),
            PropValue::I64(-3),
            PropValue::SysTime(4),
            PropValue::String("Grüße 𝄞 x".into()),
            PropValue::Binary(vec![1, 2, 3]),
            PropValue::Guid([7; 16]),
            PropValue::MvLong(vec![1, 2]),
            PropValue::MvI64(vec![1, 2, 3]),
            PropValue::MvSysTime(vec![9]),
            PropValue::MvString(vec!["a".into(), "Köln 𝄞".into(), String::new()]),
            PropValue::MvBinary(vec![vec![1], vec![], vec![2, 3]]),
        ];
        for format in Format::ALL {
            for v in &values {
                assert_eq!(
                    v.encoded_len(format),
                    v.encode(format).len(),
                    "{format} {v:?}"
                );
            }
        }
    }

    #[test]
    fn heap_ids_encode_page_and_index() {
        let mut h = Heap::new(Format::Unicode, CLIENT_SIG_PC);
        assert_eq!(h.alloc(vec![1; 10]), 0x20);
        assert_eq!(h.alloc(vec![1; 10]), 0x40);
        for _ in 0..3 {
            h.alloc(vec![0; 3000]);
        }
        // the third 3000-byte item no longer fits in page 0
        let hid = h.alloc(vec![0; 10]);
        assert_eq!(hid >> 16, 1);
        let mut h4 = Heap::new(Format::Ost4k, CLIENT_SIG_PC);
        for _ in 0..3 {
            h4.alloc(vec![0; 3000]);
        }
        assert_eq!(h4.alloc(vec![0; 3000]) >> 19, 1);
    }

    #[test]
    fn heap_page_map_points_past_the_items() {
        let mut h = Heap::new(Format::Unicode, CLIENT_SIG_TC);
        h.alloc(vec![0xAA; 5]);
        h.alloc(vec![0xBB; 3]);
        let pages = h.serialize();
        let p = &pages[0];
        assert_eq!(p[2], 0xEC);
        assert_eq!(p[3], 0x7C);
        let hnpm = u16::from_le_bytes([p[0], p[1]]) as usize;
        assert_eq!(hnpm % 2, 0);
        assert_eq!(u16::from_le_bytes([p[hnpm], p[hnpm + 1]]), 2);
        let offs: Vec<u16> = (0..3)
            .map(|i| u16::from_le_bytes([p[hnpm + 4 + 2 * i], p[hnpm + 5 + 2 * i]]))
            .collect();
        assert_eq!(offs, vec![12, 17, 20]);
    }

    #[test]
    fn multi_valued_strings_have_offsets() {
        let v = PropValue::MvString(vec!["a".into(), "bc".into()]).encode(Format::Unicode);
        assert_eq!(&v[0..4], &2u32.to_le_bytes());
        assert_eq!(&v[4..8], &12u32.to_le_bytes());
        assert_eq!(&v[8..12], &14u32.to_le_bytes());
        assert_eq!(v.len(), 18);
    }
}
