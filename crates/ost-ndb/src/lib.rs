//! # ost-ndb
//!
//! The node database (NDB) and lists-tables-properties (LTP) layers of
//! Outlook PST and OST files ([MS-PST] 2.2 and 2.3), read from a read-only
//! memory map or any byte slice. Structures borrow from the file; nothing
//! is read until asked for. This crate knows nothing of mail semantics.

pub mod ltp;
pub mod ndb;
mod simd;

pub use ndb::{
    file_kind_name, io_words, Access, Bid, BlockTrailer, Client, CryptMethod, Format, Header,
    NbtEntry, NdbError, NdbErrorKind, NdbId, Nid, NidType, Node, Pst, ReadOptions, Validation,
};
