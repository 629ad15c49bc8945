//! Table context (TC), [MS-PST] 2.3.4: a heap whose user root is a TCINFO
//! (columns and the layout of a row), with a row index BTH (dwRowID ->
//! dwRowIndex) and a row matrix held in a heap item or, when large, in a
//! subnode whose data blocks each hold a whole number of rows. Every row is
//! fixed-size: 4- and 8-byte cells, then 2-byte, then 1-byte cells, then the
//! cell existence bitmap (CEB). Variable-size cells hold HNIDs.

use std::borrow::Cow;
use std::cell::OnceCell;

use super::bth::Bth;
use super::error::{LtpError, LtpErrorKind, Result};
use super::heap::{client_sig, hnid_is_hid, Blocks, Heap};
use super::value::{prop_type, storage, PropValue, Storage};
use crate::ndb::bytes::{u16_at, u32_at, u8_at};
use crate::ndb::Node;

/// bType of the TCINFO.
pub const TC_SIGNATURE: u8 = 0x7C;

/// Size of the TCINFO before its column descriptors.
pub const TCINFO_SIZE: usize = 22;

/// Indexes into rgib.
pub const TCI_4B: usize = 0;
pub const TCI_2B: usize = 1;
pub const TCI_1B: usize = 2;
pub const TCI_BM: usize = 3;

/// PidTagLtpRowId, the first column of every TC.
pub const PID_TAG_LTP_ROW_ID: u32 = 0x67F2_0003;

/// A column descriptor (TCOLDESC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// Property tag: id << 16 | type.
    pub tag: u32,
    /// ibData: offset of the cell in the row.
    pub offset: u16,
    /// cbData: size of the cell.
    pub size: u8,
    /// iBit: the cell's bit in the CEB.
    pub bit: u8,
}

impl Column {
    pub fn id(&self) -> u16 {
        (self.tag >> 16) as u16
    }

    pub fn prop_type(&self) -> u16 {
        self.tag as u16
    }
}

/// The TCINFO header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcInfo {
    /// Ending offsets of the 4/8-byte, 2-byte and 1-byte cell groups and of
    /// the CEB (which is also the row size).
    pub rgib: [u16; 4],
    pub hid_row_index: u32,
    pub hnid_rows: u32,
    pub hid_index: u32,
    pub columns: Vec<Column>,
}

impl TcInfo {
    /// Parse and check a TCINFO held in a heap item.
    pub fn parse(b: &[u8]) -> Result<TcInfo> {
        if b.len() < TCINFO_SIZE {
            return Err(LtpError::oob(
                "TCINFO",
                0,
                TCINFO_SIZE as u64,
                b.len() as u64,
            ));
        }
        let sig = u8_at(b, 0).unwrap_or(0);
        if sig != TC_SIGNATURE {
            return Err(LtpError::new(
                "TCINFO",
                0,
                LtpErrorKind::TypeMismatch {
                    expected: TC_SIGNATURE,
                    found: sig,
                },
            ));
        }
        let c_cols = u8_at(b, 1).unwrap_or(0) as usize;
        let mut rgib = [0u16; 4];
        for (i, r) in rgib.iter_mut().enumerate() {
            *r = u16_at(b, 2 + 2 * i).unwrap_or(0);
        }
        if rgib[TCI_4B] > rgib[TCI_2B] || rgib[TCI_2B] > rgib[TCI_1B] || rgib[TCI_1B] > rgib[TCI_BM]
        {
            return Err(LtpError::bad(
                "TCINFO rgib",
                2,
                "rgib order",
                rgib[TCI_BM] as u64,
            ));
        }
        // The CEB needs a bit per column.
        if ((rgib[TCI_BM] - rgib[TCI_1B]) as usize) < c_cols.div_ceil(8) {
            return Err(LtpError::bad("TCINFO rgib", 8, "CEB size", c_cols as u64));
        }
        let needed = TCINFO_SIZE + 8 * c_cols;
        if needed > b.len() {
            return Err(LtpError::bad("TCINFO", 1, "cCols", c_cols as u64));
        }
        let columns = (0..c_cols)
            .map(|i| {
                let o = TCINFO_SIZE + 8 * i;
                Column {
                    tag: u32_at(b, o).unwrap_or(0),
                    offset: u16_at(b, o + 4).unwrap_or(0),
                    size: u8_at(b, o + 6).unwrap_or(0),
                    bit: u8_at(b, o + 7).unwrap_or(0),
                }
            })
            .collect();
        Ok(TcInfo {
            rgib,
            hid_row_index: u32_at(b, 10).unwrap_or(0),
            hnid_rows: u32_at(b, 14).unwrap_or(0),
            hid_index: u32_at(b, 18).unwrap_or(0),
            columns,
        })
    }

    /// Bytes in one row (rgib[TCI_bm]).
    pub fn row_size(&self) -> usize {
        self.rgib[TCI_BM] as usize
    }
}

enum RowMatrix<'a> {
    Empty,
    Heap(u32),
    Blocks {
        blocks: Blocks<'a>,
        per_block: OnceCell<usize>,
        /// Blocks `..released` were let go ([`TableContext::release_rows_before`]).
        released: usize,
    },
}

/// A table context.
pub struct TableContext<'a> {
    heap: Heap<'a>,
    info: TcInfo,
    matrix: RowMatrix<'a>,
    /// (dwRowID, dwRowIndex) in row index order, read on first use.
    index: OnceCell<Vec<(u32, u32)>>,
}

impl<'a> TableContext<'a> {
    /// Open a node as a TC: reads the HNHDR and the TCINFO, and the subnode
    /// tree when the row matrix is in a subnode. Rows are read on demand.
    pub fn open(node: Node<'a>) -> Result<TableContext<'a>> {
        let heap = Heap::open(node)?;
        Self::assemble(heap, |heap, hnid| Blocks::of_node(heap.subnode(hnid)?))
    }

    /// A TC over a heap already open, with the row matrix's blocks given
    /// when hnidRows names a subnode (hand-built buffers, tests).
    pub fn from_heap(heap: Heap<'a>, row_blocks: Vec<Cow<'a, [u8]>>) -> Result<TableContext<'a>> {
        Self::assemble(heap, |_, _| Ok(Blocks::from_vec(row_blocks)))
    }

    /// Read the header and place the row matrix: empty, a heap item, or the
    /// blocks `subnode_blocks` gives for the subnode hnidRows names.
    fn assemble(
        heap: Heap<'a>,
        subnode_blocks: impl FnOnce(&Heap<'a>, u32) -> Result<Blocks<'a>>,
    ) -> Result<TableContext<'a>> {
        let (heap, info) = Self::header(heap)?;
        let matrix = if info.hnid_rows == 0 {
            RowMatrix::Empty
        } else if hnid_is_hid(info.hnid_rows) {
            RowMatrix::Heap(info.hnid_rows)
        } else {
            RowMatrix::Blocks {
                blocks: subnode_blocks(&heap, info.hnid_rows)?,
                per_block: OnceCell::new(),
                released: 0,
            }
        };
        Ok(TableContext {
            heap,
            info,
            matrix,
            index: OnceCell::new(),
        })
    }

    fn header(heap: Heap<'a>) -> Result<(Heap<'a>, TcInfo)> {
        let nid = heap.nid();
        heap.expect_client_sig(client_sig::TC, "HNHDR bClientSig")?;
        let info = TcInfo::parse(heap.get(heap.user_root())?).map_err(|e| e.with_nid(nid))?;
        Ok((heap, info))
    }

    pub fn heap(&self) -> &Heap<'a> {
        &self.heap
    }

    pub fn info(&self) -> &TcInfo {
        &self.info
    }

    pub fn columns(&self) -> &[Column] {
        &self.info.columns
    }

    /// The column of a property: a full tag (id << 16 | type) when the value
    /// is above 0xFFFF, else the first column with that property id.
    pub fn column(&self, tag_or_id: u32) -> Option<&Column> {
        if tag_or_id > 0xFFFF {
            self.info.columns.iter().find(|c| c.tag == tag_or_id)
        } else {
            self.info.columns.iter().find(|c| c.tag >> 16 == tag_or_id)
        }
    }

    /// The row index entries (dwRowID, dwRowIndex), sorted by row index.
    pub fn row_index(&self) -> Result<&[(u32, u32)]> {
        if let Some(v) = self.index.get() {
            return Ok(v);
        }
        let mut v = Vec::new();
        if self.info.hid_row_index != 0 {
            let bth = Bth::open(&self.heap, self.info.hid_row_index)?;
            let h = bth.header();
            if h.key_size != 4 || !matches!(h.entry_size, 2 | 4) {
                return Err(LtpError::bad(
                    "TC row index BTHHEADER",
                    1,
                    "cbKey/cbEnt",
                    ((h.key_size as u64) << 8) | h.entry_size as u64,
                )
                .with_nid(self.heap.nid()));
            }
            for e in bth.iter() {
                let e = e?;
                let index = if h.entry_size == 2 {
                    u16_at(e.data, 0).map(u32::from)
                } else {
                    u32_at(e.data, 0)
                }
                .unwrap_or(0);
                v.push((e.key as u32, index));
            }
        }
        v.sort_by_key(|&(_, i)| i);
        let _ = self.index.set(v);
        Ok(self.index.get().map(Vec::as_slice).unwrap_or(&[]))
    }

    /// [`TableContext::row_index`], taken out of the table: for a reader
    /// that walks the rows while the table is its own (it is read again
    /// from the BTH if asked for afterwards).
    pub fn take_row_index(&mut self) -> Result<Vec<(u32, u32)>> {
        self.row_index()?;
        Ok(self.index.take().unwrap_or_default())
    }

    /// Number of rows (entries of the row index).
    pub fn row_count(&self) -> Result<usize> {
        Ok(self.row_index()?.len())
    }

    /// The bytes of row `index` of the row matrix.
    pub fn row_bytes(&self, index: u32) -> Result<&[u8]> {
        let rs = self.info.row_size();
        let nid = self.heap.nid();
        let oob = |needed: u64, available: u64| {
            LtpError::oob("TC row matrix", index as u64, needed, available).with_nid(nid)
        };
        if rs == 0 {
            return Err(LtpError::bad("TCINFO rgib", 8, "row size", 0).with_nid(nid));
        }
        let (b, within) = match &self.matrix {
            RowMatrix::Empty => return Err(oob(rs as u64, 0)),
            RowMatrix::Heap(hid) => (self.heap.get(*hid)?, index as usize),
            RowMatrix::Blocks {
                blocks, per_block, ..
            } => {
                let per = match per_block.get() {
                    Some(&p) => p,
                    None => {
                        // Each block but the last is full: as many whole rows
                        // as fit ([MS-PST] 2.3.4.4.1). The first block says
                        // how many that is for this file's block size.
                        let p = if blocks.len() <= 1 {
                            usize::MAX
                        } else {
                            blocks.get(0)?.len() / rs
                        };
                        if p == 0 {
                            return Err(LtpError::bad("TC row matrix", 0, "rows per block", 0)
                                .with_nid(nid));
                        }
                        let _ = per_block.set(p);
                        p
                    }
                };
                let bi = index as usize / per;
                if bi >= blocks.len() {
                    return Err(oob(bi as u64, blocks.len() as u64));
                }
                (blocks.get(bi)?, index as usize % per)
            }
        };
        let start = within
            .checked_mul(rs)
            .ok_or_else(|| oob(u64::MAX, b.len() as u64))?;
        b.get(start..start + rs)
            .ok_or_else(|| oob((start + rs) as u64, b.len() as u64))
    }

    /// Let go of the decoded row-matrix blocks that hold only rows before
    /// row index `index`. A reader going through the rows in row index
    /// order ([`TableContext::row_index`]) then holds a block or two at a
    /// time rather than the whole matrix (several MB for a folder of
    /// 80,000 items). Those rows can still be read: their block is decoded
    /// again.
    pub fn release_rows_before(&mut self, index: u32) {
        if let RowMatrix::Blocks {
            blocks,
            per_block,
            released,
        } = &mut self.matrix
        {
            // Known once a row past the first block has been read.
            let Some(&per) = per_block.get() else {
                return;
            };
            let end = (index as usize / per.max(1)).min(blocks.len());
            if end > *released {
                blocks.release(*released, end);
                *released = end;
            }
        }
    }

    /// How many row-matrix blocks are decoded and held (0 when the matrix
    /// is in the heap).
    pub fn row_blocks_held(&self) -> usize {
        match &self.matrix {
            RowMatrix::Blocks { blocks, .. } => blocks.held(),
            _ => 0,
        }
    }

    /// The row with this dwRowID at this dwRowIndex (an entry of
    /// [`TableContext::row_index`]).
    pub fn row(&self, id: u32, index: u32) -> Result<Row<'_, 'a>> {
        self.make_row(id, index)
    }

    fn make_row(&self, id: u32, index: u32) -> Result<Row<'_, 'a>> {
        Ok(Row {
            tc: self,
            id,
            index,
            data: self.row_bytes(index)?,
        })
    }

    /// Where the row matrix is: `None` when in the heap (or absent), else
    /// the number of data blocks of its subnode.
    pub fn row_matrix_blocks(&self) -> Option<usize> {
        match &self.matrix {
            RowMatrix::Blocks { blocks, .. } => Some(blocks.len()),
            _ => None,
        }
    }

    /// The rows in row matrix order. A row that cannot be read is an error
    /// item; the walk goes on.
    pub fn rows(&self) -> Result<impl Iterator<Item = Result<Row<'_, 'a>>> + '_> {
        let index = self.row_index()?;
        Ok(index.iter().map(move |&(id, i)| self.make_row(id, i)))
    }

    /// The row with this dwRowID.
    pub fn row_by_id(&self, id: u32) -> Result<Option<Row<'_, 'a>>> {
        match self
            .row_index()?
            .iter()
            .find(|&&(rid, _)| rid == id)
            .copied()
        {
            Some((id, i)) => self.make_row(id, i).map(Some),
            None => Ok(None),
        }
    }
}

/// One row of a TC.
#[derive(Clone, Copy)]
pub struct Row<'t, 'a> {
    tc: &'t TableContext<'a>,
    id: u32,
    index: u32,
    data: &'t [u8],
}

impl<'t> Row<'t, '_> {
    /// dwRowID: for hierarchy and contents tables the NID of the folder or
    /// message the row describes.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// dwRowIndex: the row's position in the row matrix.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The row's bytes.
    pub fn bytes(&self) -> &'t [u8] {
        self.data
    }

    /// True when the CEB marks column `bit` as present.
    fn exists(&self, c: &Column) -> Result<bool> {
        let rgib = &self.tc.info.rgib;
        let byte = rgib[TCI_1B] as usize + c.bit as usize / 8;
        if byte >= rgib[TCI_BM] as usize {
            return Err(
                LtpError::bad("TCOLDESC", 7, "iBit", c.bit as u64).with_nid(self.tc.heap.nid())
            );
        }
        let b = self.data.get(byte).copied().unwrap_or(0);
        Ok(b & (0x80 >> (c.bit % 8)) != 0)
    }

    /// The value of a column (see [`TableContext::column`] for
    /// `tag_or_id`): `None` when the table has no such column or the CEB
    /// says the cell is empty. Fixed-size cells are read in place;
    /// variable-size ones through their HNID. PT_OBJECT cells (a subnode
    /// NID) and cells of unknown types are returned as stored.
    pub fn get(&self, tag_or_id: u32) -> Result<Option<PropValue<'t>>> {
        let Some(c) = self.tc.column(tag_or_id) else {
            return Ok(None);
        };
        self.value(c)
    }

    /// The value of a given column.
    pub fn value(&self, c: &Column) -> Result<Option<PropValue<'t>>> {
        let nid = self.tc.heap.nid();
        let end = c.offset as usize + c.size as usize;
        if end > self.tc.info.rgib[TCI_1B] as usize {
            return Err(LtpError::bad("TCOLDESC", 4, "ibData + cbData", end as u64).with_nid(nid));
        }
        if !self.exists(c)? {
            return Ok(None);
        }
        let cell = self.data.get(c.offset as usize..end).ok_or_else(|| {
            LtpError::oob(
                "TC row",
                c.offset as u64,
                end as u64,
                self.data.len() as u64,
            )
        })?;
        let ty = c.prop_type();
        let data: Cow<'t, [u8]> = match storage(ty) {
            Storage::Fixed(n) if cell.len() >= n => Cow::Borrowed(&cell[..n]),
            _ if ty == prop_type::OBJECT => Cow::Borrowed(cell),
            Storage::Fixed(_) | Storage::Variable => {
                let hnid = u32_at(cell, 0).ok_or_else(|| {
                    LtpError::bad("TCOLDESC", 6, "cbData", c.size as u64).with_nid(nid)
                })?;
                let d = self.tc.heap.resolve_hnid(hnid)?;
                if let Storage::Fixed(n) = storage(ty) {
                    if d.len() < n {
                        return Err(LtpError::oob("TC cell value", 0, n as u64, d.len() as u64)
                            .with_nid(nid));
                    }
                }
                d
            }
            Storage::Unknown => Cow::Borrowed(cell),
        };
        Ok(Some(PropValue::new(c.id(), ty, data)))
    }

    /// Every column present in this row with its value.
    pub fn values(&self) -> Vec<(Column, Result<PropValue<'t>>)> {
        self.tc
            .info
            .columns
            .iter()
            .filter_map(|c| match self.value(c) {
                Ok(Some(v)) => Some((*c, Ok(v))),
                Ok(None) => None,
                Err(e) => Some((*c, Err(e))),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::heap::tests::{heap_of, hnhdr, page};
    use super::*;
    use crate::ndb::Format;

    fn coldesc(tag: u32, off: u16, size: u8, bit: u8) -> Vec<u8> {
        let mut c = tag.to_le_bytes().to_vec();
        c.extend_from_slice(&off.to_le_bytes());
        c.extend_from_slice(&[size, bit]);
        c
    }

    /// Row layout: 0 row id (4), 4 subject HNID (4), 8 long (4), 12 bool
    /// (1), 13 CEB (1): row size 14.
    fn tcinfo(hnid_rows: u32, rgib: [u16; 4]) -> Vec<u8> {
        let cols = [
            coldesc(0x0037_001F, 4, 4, 1),
            coldesc(0x0E07_0003, 8, 4, 2),
            coldesc(0x0E1B_000B, 12, 1, 3),
            coldesc(PID_TAG_LTP_ROW_ID, 0, 4, 0),
        ];
        let mut t = vec![0x7C, cols.len() as u8];
        for r in rgib {
            t.extend_from_slice(&r.to_le_bytes());
        }
        t.extend_from_slice(&0x40u32.to_le_bytes()); // hidRowIndex
        t.extend_from_slice(&hnid_rows.to_le_bytes());
        t.extend_from_slice(&0u32.to_le_bytes());
        for c in cols {
            t.extend_from_slice(&c);
        }
        t
    }

    fn row(id: u32, subj_hid: u32, n: u32, flag: u8, ceb: u8) -> Vec<u8> {
        let mut r = id.to_le_bytes().to_vec();
        r.extend_from_slice(&subj_hid.to_le_bytes());
        r.extend_from_slice(&n.to_le_bytes());
        r.extend_from_slice(&[flag, ceb]);
        r
    }

    fn index_items(ids: &[(u32, u32)], cb_ent: u8) -> (Vec<u8>, Vec<u8>) {
        let mut h = vec![0xB5, 4, cb_ent, 0];
        h.extend_from_slice(&0x60u32.to_le_bytes());
        let mut leaf = Vec::new();
        for &(id, i) in ids {
            leaf.extend_from_slice(&id.to_le_bytes());
            leaf.extend_from_slice(&i.to_le_bytes()[..cb_ent as usize]);
        }
        (h, leaf)
    }

    const RGIB: [u16; 4] = [12, 12, 13, 14];

    #[test]
    fn rows_in_heap() {
        // Items: 0x20 TCINFO, 0x40 index header, 0x60 index leaf, 0x80
        // matrix, 0xA0 a subject.
        let (ih, il) = index_items(&[(0x200024, 1), (0x200044, 0)], 4);
        let mut matrix = row(0x200044, 0, 5, 0, 0b1010_0000);
        matrix.extend(row(0x200024, 0xA0, 7, 1, 0b1111_0000));
        let p = page(
            &hnhdr(0x7C, 0x20),
            &[&tcinfo(0x80, RGIB), &ih, &il, &matrix, b"H\0i\0"],
        );
        let tc = TableContext::from_heap(heap_of(Format::Unicode, vec![p]), vec![]).unwrap();
        assert_eq!(tc.columns().len(), 4);
        assert_eq!(tc.row_count().unwrap(), 2);
        let rows: Vec<_> = tc.rows().unwrap().map(|r| r.unwrap()).collect();
        assert_eq!(rows[0].id(), 0x200044);
        assert_eq!(rows[1].id(), 0x200024);
        assert_eq!(
            rows[0].get(PID_TAG_LTP_ROW_ID).unwrap().unwrap().as_i32(),
            Some(0x200044)
        );
        // Row 0: subject and flag absent per CEB, long present.
        assert!(rows[0].get(0x0037).unwrap().is_none());
        assert_eq!(rows[0].get(0x0E07).unwrap().unwrap().as_i32(), Some(5));
        assert!(rows[0].get(0x0E1B).unwrap().is_none());
        let r1 = tc.row_by_id(0x200024).unwrap().unwrap();
        assert_eq!(
            r1.get(0x0037_001F).unwrap().unwrap().as_string().unwrap(),
            "Hi"
        );
        assert_eq!(r1.get(0x0E1B).unwrap().unwrap().as_bool(), Some(true));
        assert!(r1.get(0x0037_001E).unwrap().is_none()); // no such tag
        assert!(r1.get(0x1234).unwrap().is_none());
        assert_eq!(r1.values().len(), 4);
        assert!(tc.row_by_id(1).unwrap().is_none());
    }

    #[test]
    fn ansi_two_byte_row_index() {
        let (ih, il) = index_items(&[(0x21, 0)], 2);
        let matrix = row(0x21, 0, 9, 0, 0b1010_0000);
        let p = page(
            &hnhdr(0x7C, 0x20),
            &[&tcinfo(0x80, RGIB), &ih, &il, &matrix],
        );
        let tc = TableContext::from_heap(heap_of(Format::Ansi, vec![p]), vec![]).unwrap();
        let rows: Vec<_> = tc.rows().unwrap().map(|r| r.unwrap()).collect();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].get(0x0E07).unwrap().unwrap().as_i32(), Some(9));
    }

    #[test]
    fn rows_across_subnode_blocks() {
        // Matrix in a subnode: 3 rows of 14 bytes per block (block 0 is 42
        // bytes plus padding that holds no whole row), 5 rows in all.
        let ids: Vec<(u32, u32)> = (0..5).map(|i| (100 + i, i)).collect();
        let (ih, il) = index_items(&ids, 4);
        let mut b0 = Vec::new();
        for i in 0..3 {
            b0.extend(row(100 + i, 0, i, 0, 0b1010_0000));
        }
        b0.extend_from_slice(&[0xEE; 10]);
        let mut b1 = Vec::new();
        for i in 3..5 {
            b1.extend(row(100 + i, 0, i, 0, 0b1010_0000));
        }
        let p = page(
            &hnhdr(0x7C, 0x20),
            &[&tcinfo(0x1234_5678 | 0x1F, RGIB), &ih, &il],
        );
        let tc = TableContext::from_heap(
            heap_of(Format::Unicode, vec![p]),
            vec![Cow::Owned(b0), Cow::Owned(b1)],
        )
        .unwrap();
        for r in tc.rows().unwrap() {
            let r = r.unwrap();
            assert_eq!(
                r.get(PID_TAG_LTP_ROW_ID).unwrap().unwrap().as_i32(),
                Some(r.id() as i32)
            );
            assert_eq!(
                r.get(0x0E07).unwrap().unwrap().as_i32(),
                Some(r.index() as i32)
            );
        }
        // A row index past the matrix.
        assert!(tc.row_bytes(6).is_err());
        assert!(tc.row_bytes(u32::MAX).is_err());
    }

    #[test]
    fn hostile_tcinfo() {
        let parse = |t: &[u8]| TcInfo::parse(t);
        let good = tcinfo(0x80, RGIB);
        assert!(parse(&good).is_ok());
        // cCols huge: descriptors past the item.
        let mut t = good.clone();
        t[1] = 0xFF;
        assert!(parse(&t).is_err());
        // rgib out of order.
        assert!(parse(&tcinfo(0x80, [14, 12, 13, 14])).is_err());
        // CEB too small for the columns.
        assert!(parse(&tcinfo(0x80, [12, 12, 14, 14])).is_err());
        // Wrong signature, short item.
        let mut t = good.clone();
        t[0] = 0x7D;
        assert!(parse(&t).is_err());
        assert!(parse(&good[..10]).is_err());

        // A column whose cell lies beyond the row's data: that cell fails,
        // the others read.
        let mut t = good.clone();
        let c0 = TCINFO_SIZE; // subject column
        t[c0 + 4..c0 + 6].copy_from_slice(&200u16.to_le_bytes());
        // and one whose CEB bit is beyond the CEB.
        let c1 = TCINFO_SIZE + 8;
        t[c1 + 7] = 64;
        let (ih, il) = index_items(&[(7, 0)], 4);
        let matrix = row(7, 0, 3, 0, 0xF0);
        let p = page(&hnhdr(0x7C, 0x20), &[&t, &ih, &il, &matrix]);
        let tc = TableContext::from_heap(heap_of(Format::Unicode, vec![p]), vec![]).unwrap();
        let r = tc.rows().unwrap().next().unwrap().unwrap();
        assert!(r.get(0x0037).is_err());
        assert!(r.get(0x0E07).is_err());
        assert_eq!(r.get(0x0E1B).unwrap().unwrap().as_bool(), Some(false));

        // Row index naming a row past the matrix; zero row size.
        let (ih, il) = index_items(&[(7, 5)], 4);
        let p = page(&hnhdr(0x7C, 0x20), &[&good, &ih, &il, &matrix]);
        let tc = TableContext::from_heap(heap_of(Format::Unicode, vec![p]), vec![]).unwrap();
        assert!(tc.rows().unwrap().next().unwrap().is_err());
        let (ih, il) = index_items(&[(7, 0)], 4);
        let p = page(
            &hnhdr(0x7C, 0x20),
            &[&tcinfo(0x80, [0, 0, 0, 0]), &ih, &il, &matrix],
        );
        // Four columns need a CEB byte: rejected at open.
        assert!(TableContext::from_heap(heap_of(Format::Unicode, vec![p]), vec![]).is_err());
        // Not a TC.
        let p = page(&hnhdr(0xBC, 0x20), &[&good]);
        assert!(TableContext::from_heap(heap_of(Format::Unicode, vec![p]), vec![]).is_err());
        // Row index with 8-byte values.
        let (ih, il) = index_items(&[(7, 0)], 4);
        let mut ih = ih;
        ih[2] = 8;
        let p = page(&hnhdr(0x7C, 0x20), &[&good, &ih, &il, &matrix]);
        let tc = TableContext::from_heap(heap_of(Format::Unicode, vec![p]), vec![]).unwrap();
        assert!(tc.row_count().is_err());
    }

    #[test]
    fn empty_table() {
        let mut h = vec![0xB5, 4, 4, 0];
        h.extend_from_slice(&0u32.to_le_bytes());
        let p = page(&hnhdr(0x7C, 0x20), &[&tcinfo(0, RGIB), &h]);
        let tc = TableContext::from_heap(heap_of(Format::Unicode, vec![p]), vec![]).unwrap();
        assert_eq!(tc.row_count().unwrap(), 0);
        assert_eq!(tc.rows().unwrap().count(), 0);
        assert!(tc.row_bytes(0).is_err());
    }
}
