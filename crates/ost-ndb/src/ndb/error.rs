//! The NDB layer's error: what went wrong, in which structure, where.

use std::fmt;

use super::ids::{Bid, Nid};

/// An error of the NDB layer. Every error names the structure it was found
/// in and its file offset, so a report can point an analyst at the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NdbError {
    /// The structure being read: "header", "NBT page", "block", "XBLOCK", ...
    pub structure: &'static str,
    /// File offset of that structure (0 when it has none, e.g. a missing file).
    pub offset: u64,
    /// The NID or BID involved, when there is one.
    pub id: Option<NdbId>,
    /// What is wrong.
    pub kind: NdbErrorKind,
}

/// The node or block an error involves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NdbId {
    Nid(Nid),
    Bid(Bid),
}

impl NdbId {
    /// The id's number, whichever it is.
    pub fn value(self) -> u64 {
        match self {
            NdbId::Nid(nid) => u64::from(nid.0),
            NdbId::Bid(bid) => bid.0,
        }
    }
}

/// `NID 0x200044` or `BID 0x6184`.
impl fmt::Display for NdbId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NdbId::Nid(nid) => write!(f, "NID {:#x}", nid.0),
            NdbId::Bid(bid) => write!(f, "BID {:#x}", bid.0),
        }
    }
}

/// What is wrong with a structure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NdbErrorKind {
    /// The file could not be opened or mapped.
    Io(String),
    /// The path names something other than a regular file: a directory, a
    /// FIFO, a socket or a device. Such a path is never read (a FIFO would
    /// block, a device read may have side effects). The text names it:
    /// "directory", "FIFO (named pipe)", ...
    NotAFile(&'static str),
    /// The structure runs past the end of the file (or of its enclosing block).
    OutOfBounds { needed: u64, available: u64 },
    /// The file has no bytes at all.
    Empty,
    /// The file is shorter than its header says (ibFileEof): a copy cut
    /// short. Everything past `len` reads as out of bounds.
    CutShort { len: u64, eof: u64 },
    /// The magic "!BDN" is missing.
    BadMagic,
    /// wVer is none of 14, 15, 21, 23, 36.
    UnknownVersion(u16),
    /// bCryptMethod is none of 0, 1, 2.
    UnknownCrypt(u8),
    /// A stored CRC differs from the computed one.
    CrcMismatch { stored: u32, computed: u32 },
    /// A stored signature (wSig) differs from the computed one.
    SignatureMismatch { stored: u16, computed: u16 },
    /// A page or block type byte is not the expected one.
    TypeMismatch { expected: u8, found: u8 },
    /// The back pointer (BID) in a trailer is not the one that led here.
    BidMismatch { expected: u64, found: u64 },
    /// A size or count field holds an impossible value.
    BadField { field: &'static str, value: u64 },
    /// A lookup key is not in the tree: a NID (node B-tree, subnodes) or a
    /// BID (block B-tree).
    NotFound { key: NdbId },
    /// A tree is deeper than the format allows, or its levels do not descend.
    BadDepth { level: u64 },
    /// A page was reached twice in one walk (a cycle or a shared subtree).
    Cycle,
    /// A compressed block did not inflate to its stated size.
    Inflate(String),
}

impl NdbError {
    pub fn new(structure: &'static str, offset: u64, kind: NdbErrorKind) -> NdbError {
        NdbError {
            structure,
            offset,
            id: None,
            kind,
        }
    }

    /// The same error, naming the node involved.
    pub fn with_nid(mut self, nid: Nid) -> NdbError {
        self.id = Some(NdbId::Nid(nid));
        self
    }

    /// The same error, naming the block (or page) involved.
    pub fn with_bid(mut self, bid: u64) -> NdbError {
        self.id = Some(NdbId::Bid(Bid(bid)));
        self
    }

    /// Whether the message of `kind` already names `id` ("NID 0x21 not
    /// found"), so that "(NID 0x21)" beside it would say it twice.
    pub fn kind_names(&self, id: NdbId) -> bool {
        self.kind.names(id)
    }

    /// True for integrity-check failures (CRC, signature, back pointer) that
    /// lenient reading records and reads past.
    pub fn is_integrity(&self) -> bool {
        matches!(
            self.kind,
            NdbErrorKind::CrcMismatch { .. }
                | NdbErrorKind::SignatureMismatch { .. }
                | NdbErrorKind::BidMismatch { .. }
        )
    }
}

impl fmt::Display for NdbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Said of the file as a whole: no structure or offset to name.
        if let NdbErrorKind::Io(_) | NdbErrorKind::NotAFile(_) | NdbErrorKind::Empty = &self.kind {
            return write!(f, "{}", self.kind);
        }
        write!(f, "{} at offset {:#x}", self.structure, self.offset)?;
        if let Some(id) = self.id.filter(|&id| !self.kind_names(id)) {
            write!(f, " ({id})")?;
        }
        write!(f, ": {}", self.kind)
    }
}

impl NdbErrorKind {
    /// Whether this kind's message names `id` already ("NID 0x21 not found").
    pub fn names(&self, id: NdbId) -> bool {
        matches!(self, NdbErrorKind::NotFound { key } if *key == id)
    }
}

impl fmt::Display for NdbErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NdbErrorKind::Io(e) => write!(f, "{e}"),
            NdbErrorKind::Empty => write!(f, "empty file (0 bytes): not a PST/OST file"),
            NdbErrorKind::CutShort { len, eof } => write!(
                f,
                "the file is {len} bytes but its header says {eof}: the copy was cut short"
            ),
            NdbErrorKind::NotAFile(kind) => write!(f, "is a {kind}, not a regular file"),
            NdbErrorKind::OutOfBounds { needed, available } => write!(
                f,
                "needs bytes up to {needed:#x} but only {available:#x} are there"
            ),
            NdbErrorKind::BadMagic => write!(f, "not a PST/OST file (no !BDN magic)"),
            NdbErrorKind::UnknownVersion(v) => write!(f, "unknown format version wVer={v}"),
            NdbErrorKind::UnknownCrypt(c) => write!(f, "unknown encryption method {c:#x}"),
            NdbErrorKind::CrcMismatch { stored, computed } => {
                write!(
                    f,
                    "CRC mismatch: stored {stored:#010x}, computed {computed:#010x}"
                )
            }
            NdbErrorKind::SignatureMismatch { stored, computed } => write!(
                f,
                "signature mismatch: stored {stored:#06x}, computed {computed:#06x}"
            ),
            NdbErrorKind::TypeMismatch { expected, found } => {
                write!(f, "type {found:#04x}, expected {expected:#04x}")
            }
            NdbErrorKind::BidMismatch { expected, found } => {
                write!(f, "back pointer {found:#x}, expected {expected:#x}")
            }
            NdbErrorKind::BadField { field, value } => {
                write!(f, "impossible {field} = {value} ({value:#x})")
            }
            NdbErrorKind::NotFound { key } => write!(f, "{key} not found"),
            NdbErrorKind::BadDepth { level } => write!(f, "bad tree level {level}"),
            NdbErrorKind::Cycle => write!(f, "page reached twice (cycle or shared subtree)"),
            NdbErrorKind::Inflate(e) => write!(f, "compressed block: {e}"),
        }
    }
}

impl std::error::Error for NdbError {}

/// An I/O error in plain words: "no such file or directory", "permission denied"; the
/// system's own text otherwise, without its "(os error N)".
pub fn io_words(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => {
            let text = e.to_string();
            match text.find(" (os error ") {
                Some(at) => text[..at].to_string(),
                None => text,
            }
        }
    }
}

/// What a file type is, in words: "regular file", "directory", "FIFO
/// (named pipe)", ...
pub fn file_kind_name(kind: std::fs::FileType) -> &'static str {
    if kind.is_file() {
        return "regular file";
    }
    if kind.is_dir() {
        return "directory";
    }
    if kind.is_symlink() {
        return "symbolic link";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "FIFO (named pipe)";
        }
        if kind.is_socket() {
            return "socket";
        }
        if kind.is_char_device() {
            return "character device";
        }
        if kind.is_block_device() {
            return "block device";
        }
    }
    "special file"
}

pub type Result<T> = std::result::Result<T, NdbError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_in_plain_words() {
        use std::io::{Error, ErrorKind};
        assert_eq!(
            io_words(&Error::from(ErrorKind::NotFound)),
            "no such file or directory"
        );
        assert_eq!(
            io_words(&Error::from(ErrorKind::PermissionDenied)),
            "permission denied"
        );
        // The system's text, without its "(os error N)".
        let eio = Error::from_raw_os_error(5);
        assert!(eio.to_string().contains("(os error 5)"));
        assert!(!io_words(&eio).contains("os error"));
        assert!(!io_words(&eio).is_empty());
    }

    #[test]
    fn whole_file_errors_name_no_structure() {
        let empty = NdbError::new("file", 0, NdbErrorKind::Empty);
        assert_eq!(
            empty.to_string(),
            "empty file (0 bytes): not a PST/OST file"
        );
        let short = NdbError::new(
            "header ibFileEof",
            0x42400,
            NdbErrorKind::CutShort {
                len: 100_000,
                eof: 0x42400,
            },
        );
        assert_eq!(
            short.to_string(),
            "header ibFileEof at offset 0x42400: the file is 100000 bytes but its header \
             says 271360: the copy was cut short"
        );
    }

    #[test]
    fn an_id_is_said_once() {
        let e = NdbError::new(
            "NBT page",
            0x26200,
            NdbErrorKind::NotFound {
                key: NdbId::Nid(Nid(0x200344)),
            },
        )
        .with_nid(Nid(0x200344));
        assert_eq!(
            e.to_string(),
            "NBT page at offset 0x26200: NID 0x200344 not found"
        );
        let not_found = NdbErrorKind::NotFound {
            key: NdbId::Nid(Nid(0x21)),
        };
        let e = NdbError::new("NBT page", 0x26200, not_found.clone()).with_nid(Nid(0x200344));
        assert_eq!(
            e.to_string(),
            "NBT page at offset 0x26200 (NID 0x200344): NID 0x21 not found"
        );
        // A BID of the same number is another thing: said.
        let e = NdbError::new("NBT page", 0x26200, not_found).with_bid(0x21);
        assert_eq!(
            e.to_string(),
            "NBT page at offset 0x26200 (BID 0x21): NID 0x21 not found"
        );
    }
}
