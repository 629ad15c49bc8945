//! What the walk yields per message: the record the rules and reports
//! consume. Owned, so records can cross threads and be sorted back into
//! walk order after parallel extraction.

use std::sync::Arc;

use ost_ndb::ltp::{LtpError, PropertyContext};
use ost_ndb::{Nid, Pst};

use crate::object_id::ObjectId;
use crate::problem::Problem;
use crate::time::FileTime;

/// Where a message was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ItemKind {
    /// A row of a folder's contents table.
    Contents,
    /// A row of a folder's associated (FAI) contents table.
    Associated,
    /// A message node in the NBT that no contents table lists.
    Orphan,
}

impl ItemKind {
    /// `contents`, `associated` or `orphan`, as reports print it.
    pub fn name(self) -> &'static str {
        match self {
            ItemKind::Contents => "contents",
            ItemKind::Associated => "associated",
            ItemKind::Orphan => "orphan",
        }
    }
}

/// A message to read: found by the walk, read by [`crate::Store::read_item`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemRef {
    pub nid: Nid,
    /// Index into [`crate::Store::folders`], [`ItemRef::NO_FOLDER`] when
    /// the folder is unknown (see [`ItemRef::folder`]). Not an
    /// `Option<usize>`: a store has one ref per message, and 16 bytes a
    /// ref instead of 32 is 3 MB on 200,000 messages.
    pub(crate) folder: u32,
    pub kind: ItemKind,
    /// Where [`crate::Store::item_refs`] found the message's NBT entry, so
    /// that reading it needs no search ([`ItemRef::NO_NODE`] when the NBT
    /// walk did not meet it: the read then looks the node up).
    pub(crate) node: u32,
    /// Whether its contents table carries the sync columns: then its row
    /// is a source of its properties, read as the walk lists it
    /// ([`crate::Store::list_folder_visiting`]).
    pub row_carries_sync: bool,
}

impl ItemRef {
    pub(crate) const NO_NODE: u32 = u32::MAX;
    const NO_FOLDER: u32 = u32::MAX;

    pub(crate) fn new(nid: Nid, folder: Option<usize>, kind: ItemKind, node: u32) -> ItemRef {
        ItemRef {
            nid,
            folder: folder
                .and_then(|f| u32::try_from(f).ok())
                .unwrap_or(Self::NO_FOLDER),
            kind,
            node,
            row_carries_sync: false,
        }
    }

    /// Index into [`crate::Store::folders`], `None` when the folder is
    /// unknown (an orphan whose parent is not a folder of the walk).
    pub fn folder(&self) -> Option<usize> {
        (self.folder != Self::NO_FOLDER).then_some(self.folder as usize)
    }
}

/// Where a value was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// The item's own property context.
    Item,
    /// The row of its folder's contents table.
    Row,
}

impl Source {
    /// `item` or `row`, as reports print it.
    pub fn name(self) -> &'static str {
        match self {
            Source::Item => "item",
            Source::Row => "row",
        }
    }
}

/// Where an item's change key, PCL and modification time came from
/// (`None` for a value that neither had).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sources {
    pub change_key: Option<Source>,
    pub pcl: Option<Source>,
    pub last_modified: Option<Source>,
}

impl Sources {
    /// Whether any of the three came from the row.
    pub fn any_row(&self) -> bool {
        [self.change_key, self.pcl, self.last_modified].contains(&Some(Source::Row))
    }
}

/// A row's sync values, kept beside the item's own when both were read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowValues {
    pub change_key: Option<Vec<u8>>,
    pub pcl: Option<Vec<u8>>,
    pub last_modified: Option<FileTime>,
}

/// The sync-relevant properties of one message: each value is the item's
/// own where it has one, else its contents-table row's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemRecord {
    pub nid: Nid,
    pub kind: ItemKind,
    /// Folder NID (0 when unknown).
    pub folder_nid: Nid,
    /// Folder path like `/Top of Personal Folders/Inbox` (root is `/`).
    pub folder: Arc<str>,
    /// PR_SUBJECT without the 0x01+length prefix marker.
    pub subject: Option<String>,
    /// PR_MESSAGE_CLASS.
    pub message_class: Option<String>,
    /// PR_CHANGE_KEY (0x65E2), raw bytes.
    pub change_key: Option<Vec<u8>>,
    /// PR_PREDECESSOR_CHANGE_LIST (0x65E3), raw bytes.
    pub pcl: Option<Vec<u8>>,
    /// PR_SOURCE_KEY (0x65E0), or in OSTs, which do not store it, the one
    /// the object id stands for (`source_key_derived`).
    pub source_key: Option<Vec<u8>>,
    /// Whether `source_key` was derived from the object id and the replica
    /// map rather than stored.
    pub source_key_derived: bool,
    /// PR_PARENT_SOURCE_KEY (0x65E1).
    pub parent_source_key: Option<Vec<u8>>,
    /// PR_SEARCH_KEY (0x300B), a fallback identity for diffs.
    pub search_key: Option<Vec<u8>>,
    /// PR_LAST_MODIFICATION_TIME (0x3008).
    pub last_modified: Option<FileTime>,
    /// PR_CHANGE_NUM (0x67A4), where present.
    pub change_num: Option<u64>,
    /// PR_MESSAGE_STATUS (0x0E17).
    pub message_status: Option<u32>,
    /// PR_CONFLICT_ENTRYID (0x3FF0), raw bytes.
    pub conflict_entry_id: Option<Vec<u8>>,
    /// Property 0x67F4 (OSTs): the message id.
    pub object_id: Option<ObjectId>,
    /// Where the change key, PCL and modification time came from.
    pub sources: Sources,
    /// Whether the item's property context was read (OST items whose row
    /// carries their sync properties are read from the row alone).
    pub item_read: bool,
    /// The row's change key, PCL and modification time, when both the row
    /// and the item were read (the values above are then the item's).
    pub row: Option<RowValues>,
    /// Problems reading this message (its record may be partial).
    pub errors: Vec<Problem>,
}

/// The property context of node `nid` (a folder or a message).
pub fn open_pc<'p>(pst: &'p Pst<'p>, nid: Nid) -> Result<PropertyContext<'p>, LtpError> {
    pst.node(nid)
        .map_err(LtpError::from)
        .and_then(PropertyContext::open)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store holds one ref per message for the whole scan (200,000 on
    /// the bench's OST): its size is part of the scan's memory budget
    /// (docs/performance.md).
    #[test]
    fn an_item_ref_is_16_bytes_and_keeps_its_folder() {
        assert_eq!(std::mem::size_of::<ItemRef>(), 16);
        let r = ItemRef::new(Nid(0x2004), Some(7), ItemKind::Contents, 3);
        assert_eq!((r.nid, r.folder(), r.node), (Nid(0x2004), Some(7), 3));
        assert_eq!(
            ItemRef::new(Nid(1), None, ItemKind::Orphan, 0).folder(),
            None
        );
        // An index that does not fit is no folder, never another one.
        let huge = usize::try_from(u64::from(u32::MAX) + 5).unwrap_or(usize::MAX);
        assert_eq!(
            ItemRef::new(Nid(1), Some(huge), ItemKind::Orphan, 0).folder(),
            None
        );
    }
}
