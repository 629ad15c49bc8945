//! The LTP layer's error: what went wrong, in which structure, where in the
//! node (or heap), and in which node.

use std::fmt;

use crate::ndb::{NdbError, NdbErrorKind, Nid, Pst};

/// An error of the LTP layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LtpError {
    /// The structure being read: "HNHDR", "HNPAGEMAP", "BTHHEADER", "TCINFO", ...
    pub structure: &'static str,
    /// Offset of that structure: within the heap block for heap structures
    /// (see `block`), within the row matrix or value for others.
    pub offset: u64,
    /// Index of the heap block (data block of the node), when it applies.
    pub block: Option<u32>,
    /// The node the structure belongs to, when known.
    pub nid: Option<u32>,
    /// What is wrong.
    pub kind: LtpErrorKind,
}

/// Where an LTP error lies in the file: the node's data block holding the
/// failing structure ([`LtpError::data_block`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataBlockPlace {
    /// Index of the block among the node's data blocks: the error's heap
    /// block, 0 when it names none.
    pub block: u32,
    /// File offset of that block (of the node's first block when the node
    /// has fewer blocks than `block`).
    pub offset: u64,
}

/// What is wrong with an LTP structure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LtpErrorKind {
    /// The NDB layer below failed (block missing, CRC in strict mode, ...).
    Ndb(NdbError),
    /// The structure runs past the end of its block, item or value.
    OutOfBounds { needed: u64, available: u64 },
    /// A signature or type byte is not the expected one.
    TypeMismatch { expected: u8, found: u8 },
    /// A field holds an impossible value.
    BadField { field: &'static str, value: u64 },
    /// An HID that names no heap item (wrong type bits, index or block).
    BadHid(u32),
    /// A tree is deeper than allowed or its levels do not descend.
    BadDepth { level: u64 },
    /// A tree page was reached twice in one walk.
    Cycle,
}

impl LtpError {
    pub fn new(structure: &'static str, offset: u64, kind: LtpErrorKind) -> LtpError {
        LtpError {
            structure,
            offset,
            block: None,
            nid: None,
            kind,
        }
    }

    pub(crate) fn oob(structure: &'static str, offset: u64, needed: u64, available: u64) -> Self {
        LtpError::new(
            structure,
            offset,
            LtpErrorKind::OutOfBounds { needed, available },
        )
    }

    pub(crate) fn bad(
        structure: &'static str,
        offset: u64,
        field: &'static str,
        value: u64,
    ) -> Self {
        LtpError::new(structure, offset, LtpErrorKind::BadField { field, value })
    }

    /// The same error, naming the node.
    pub fn with_nid(mut self, nid: u32) -> LtpError {
        if self.nid.is_none() {
            self.nid = Some(nid);
        }
        self
    }

    /// The same error, naming the heap block.
    pub fn with_block(mut self, block: u32) -> LtpError {
        self.block = Some(block);
        self
    }

    /// The NDB error beneath, if this is one.
    pub fn ndb(&self) -> Option<&NdbError> {
        match &self.kind {
            LtpErrorKind::Ndb(e) => Some(e),
            _ => None,
        }
    }

    /// True when a requested key is simply absent at the NDB level (e.g. a
    /// subnode that is not there).
    pub fn is_not_found(&self) -> bool {
        matches!(
            self.ndb(),
            Some(NdbError {
                kind: NdbErrorKind::NotFound { .. },
                ..
            })
        )
    }
}

impl LtpError {
    /// Where in the file this error lies, for one met while reading node
    /// `reading`, so that a report can point an analyst at the bytes. An
    /// NDB error carries its file offset already (`None` here). An LTP
    /// error (heap, BTH, PC, TC) knows only its position inside its heap
    /// block: this is that block's place, found through the node's data
    /// tree and the BBT. The failing node may be a subnode, which is not in
    /// the NBT; then the block of `reading` is the closest file position.
    /// `None` too when neither node's blocks can be found.
    pub fn data_block(&self, pst: &Pst<'_>, reading: Nid) -> Option<DataBlockPlace> {
        if self.ndb().is_some() {
            return None;
        }
        let block = self.block.unwrap_or(0);
        let offset = [self.nid.map_or(reading, Nid), reading]
            .into_iter()
            .find_map(|nid| pst.data_block_offset(nid, block))?;
        Some(DataBlockPlace { block, offset })
    }
}

impl From<NdbError> for LtpError {
    fn from(e: NdbError) -> LtpError {
        LtpError {
            structure: e.structure,
            offset: e.offset,
            block: None,
            nid: None,
            kind: LtpErrorKind::Ndb(e),
        }
    }
}

impl fmt::Display for LtpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let LtpErrorKind::Ndb(e) = &self.kind {
            if let Some(nid) = self.nid {
                write!(f, "node {nid:#x}: ")?;
            }
            return write!(f, "{e}");
        }
        write!(f, "{} at offset {:#x}", self.structure, self.offset)?;
        if let Some(b) = self.block {
            write!(f, " of heap block {b}")?;
        }
        if let Some(nid) = self.nid {
            write!(f, " (node {nid:#x})")?;
        }
        write!(f, ": {}", self.kind)
    }
}

impl fmt::Display for LtpErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LtpErrorKind::Ndb(e) => write!(f, "{e}"),
            LtpErrorKind::OutOfBounds { needed, available } => write!(
                f,
                "needs bytes up to {needed:#x} but only {available:#x} are there"
            ),
            LtpErrorKind::TypeMismatch { expected, found } => {
                write!(f, "type {found:#04x}, expected {expected:#04x}")
            }
            LtpErrorKind::BadField { field, value } => {
                write!(f, "impossible {field} = {value} ({value:#x})")
            }
            LtpErrorKind::BadHid(h) => write!(f, "HID {h:#010x} names no heap item"),
            LtpErrorKind::BadDepth { level } => write!(f, "bad tree level {level}"),
            LtpErrorKind::Cycle => write!(f, "tree node reached twice (cycle or shared subtree)"),
        }
    }
}

impl std::error::Error for LtpError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            LtpErrorKind::Ndb(e) => Some(e),
            _ => None,
        }
    }
}

pub type Result<T> = std::result::Result<T, LtpError>;
