//! The LTP layer ([MS-PST] 2.3): heap-on-node, BTree-on-heap, property
//! contexts, table contexts and the name-to-id map. Read lazily over the
//! NDB layer's nodes: a block is decoded only when an item in it is asked
//! for, and values borrow from the decoded blocks where they can.

pub mod bth;
pub mod error;
pub mod heap;
pub mod namemap;
pub mod pc;
pub mod replica_map;
pub mod tc;
pub mod value;

pub use bth::{Bth, BthEntry, BthHeader};
pub use error::{DataBlockPlace, LtpError, LtpErrorKind};
pub use heap::{Heap, Hid};
pub use namemap::{NameMap, NamedProp, PropName};
pub use pc::{PcEntry, PropertyContext, ValuePieces};
pub use replica_map::ReplicaMap;
pub use tc::{Column, Row, TableContext, TcInfo};
pub use value::{prop_type, PropValue};
