//! The NDB layer ([MS-PST] 2.2): header, pages, B-trees, blocks, nodes.
//! One file per structure.
//!
//! From the bottom up, no file using one above it: the formats of fields
//! (`bytes`, `format`, `ids`, `crc`, `crypt`, `page`, `header`); the
//! `reader` of an opened file and its [`issues`] log; the B-tree pages
//! (`btree`), their `routes` and the lookup state over both (`lookup`);
//! blocks and internal blocks (`block`, `internal_block`); then [`Pst`],
//! the opened file, and what is built on it (`node`, `stats`).

pub mod block;
pub mod btree;
pub mod bytes;
#[cfg(target_os = "linux")]
mod cold;
pub mod crc;
pub mod crypt;
pub mod error;
pub mod file;
pub mod format;
pub mod header;
pub mod ids;
mod internal_block;
pub mod issues;
mod lookup;
pub mod node;
mod os_file;
pub mod page;
mod reader;
mod routes;
pub mod stats;

pub use block::{BlockTrailer, RawBlock};
pub use btree::{BbtEntry, NbtEntry, Tree};
pub use crypt::CryptMethod;
pub use error::{file_kind_name, io_words, NdbError, NdbErrorKind, NdbId};
pub use file::Pst;
pub use format::Format;
pub use header::{Client, Header};
pub use ids::{Bid, Nid, NidType};
pub use internal_block::SubnodeEntry;
pub use issues::Validation;
pub use node::{DataTree, Node};
pub use reader::{Access, ReadOptions};
pub use stats::Stats;
