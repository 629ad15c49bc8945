//! # ost-props
//!
//! Store, folder and message walk over `ost-ndb`, and the typed model of
//! synchronization metadata: XIDs (PR_CHANGE_KEY) and predecessor change
//! lists (PR_PREDECESSOR_CHANGE_LIST), with validation and comparison.

// Synchronization metadata model: change keys, PCLs and their comparison.
pub mod compare;
pub mod entry_id;
pub mod guid;
pub mod pcl;
pub mod xid;

pub use compare::{compare, pcl_includes_change_key, LengthMismatch, PclOrdering, XidList};
pub use guid::Guid;
pub use hex::hex;
pub use pcl::{Pcl, PclEntry, RawPclEntries};
pub use xid::{ChangeKey, Counter, DecodeError, Xid};

// The messaging walk: store, folders, messages and their sync properties.
pub mod folder_ids;
pub mod item;
pub mod namespace;
pub mod object_id;
pub mod problem;
mod read_ahead;
pub mod rows;
pub mod store;
pub mod strings;
pub mod tags;
pub mod time;
pub mod view;
// Message bodies stored as compressed RTF ([MS-OXRTFCP]).
pub mod rtf_compressed;
// The start of a message's text: PR_BODY, else PR_RTF_COMPRESSED.
pub mod body;
// Hex text of keys, PCLs and GUIDs.
mod hex;

pub use item::{open_pc, ItemKind, ItemRecord, ItemRef, RowValues, Source, Sources};
pub use namespace::{NamespaceRole, Namespaces};
pub use object_id::ObjectId;
pub use problem::{Problem, ProblemKind};
pub use store::{Folder, FolderListing, JoinedRefs, MessageNodes, RowPolicy, Store};
pub use time::FileTime;
pub use view::{ItemView, SourceProps};

// The types of the layer below that this crate's API takes and hands out
// (a file, the node ids of its folders and messages, the property context
// a walk visits a message with, an LTP failure to locate), so that its users need not name `ost-ndb` for them.
pub use ost_ndb::ltp::{LtpError, PropertyContext};
pub use ost_ndb::{Nid, Pst};
