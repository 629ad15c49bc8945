//! The NDB layer ([MS-PST] 2.2): header, pages, B-trees, blocks, nodes.
//! One file per structure.

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
pub mod node;
mod os_file;
pub mod page;
mod routes;
pub mod stats;

pub use block::{BlockTrailer, RawBlock};
pub use btree::{BbtEntry, NbtEntry, Tree};
pub use crypt::CryptMethod;
pub use error::{io_words, NdbError, NdbErrorKind};
pub use file::{Pst, ReadOptions, Validation};
pub use format::Format;
pub use header::{Client, Header};
pub use ids::{Bid, Nid, NidType};
pub use node::{DataTree, Node, SubnodeEntry};
pub use stats::Stats;
