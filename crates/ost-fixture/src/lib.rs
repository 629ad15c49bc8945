//! # ost-fixture
//!
//! A writer of valid PST and OST files of every variant, for tests and
//! benchmarks. Not published.
//!
//! Layers, bottom up: [`ndb_writer`] (pages, blocks, B-trees, file layout),
//! [`ltp_writer`] (heap, BTH, PC, TC), [`messaging`] (store, folders,
//! messages), [`ost_ids`] (MIDs, FIDs, replica map and long-term entry ids
//! of OSTs), [`generator`] (ready-made content), [`faults`] (planted
//! sync-metadata faults and structural damage), [`manifest`] (what was written),
//! [`sync_log`] (Sync Issues logs, RTF as Outlook writes them or plain).
//!
//! Where a store keeps each message's change key, PCL and modification
//! time is a [`SyncPlacement`]: in the message (as PSTs do), in its row of
//! the folder's contents table (as real OSTs do), or both.
//!
//! ```no_run
//! use ost_fixture::{FixtureBuilder, Format, Rule};
//! let fixture = FixtureBuilder::new(Format::Ost4k)
//!     .messages(50)
//!     .plant(Rule::Sync002, 3)
//!     .build()
//!     .unwrap();
//! assert_eq!(fixture.manifest.iter().filter(|r| r.planted == ["SYNC002"]).count(), 3);
//! ```

pub mod faults;
pub mod format;
pub mod generator;
pub mod ltp_writer;
pub mod manifest;
pub mod messaging;
pub mod ndb_writer;
pub mod ost_ids;
pub mod rng;
pub mod sync_log;

pub use faults::{damage, Damage, Rule};
pub use format::{Format, SyncPlacement};
pub use generator::{standard_folders, Fixture, FixtureBuilder, StandardFolders};
pub use ltp_writer::PropValue;
pub use manifest::{ItemKind, ManifestRecord, StoreRecord};
pub use messaging::{
    Attachment, FolderId, Message, NamedProp, PropName, Recipient, StoreWriter, SyncValues, Written,
};
pub use ndb_writer::{Layout, TreeKind};
pub use ost_ids::{Mid, OstIdentity};
pub use ost_ndb::ndb::crypt::CryptMethod;
