//! What the walk yields per message: the record the rules and reports
//! consume. Owned, so records can cross threads and be sorted back into
//! walk order after parallel extraction.

use std::sync::Arc;

use ost_ndb::ltp::{LtpError, PropertyContext};
use ost_ndb::{Nid, Pst};

use crate::object_id::ObjectId;
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
    pub nid: u32,
    /// Index into [`crate::Store::folders`], `None` when the folder is unknown
    /// (an orphan whose parent is not a folder of the walk).
    pub folder: Option<usize>,
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
}

/// A problem met while reading a message or a folder; the walk goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkError {
    /// The structure that failed: "message PC", "contents table", "BBT page", ...
    pub structure: String,
    /// File offset when known (0 otherwise).
    pub offset: u64,
    /// The node being read.
    pub nid: Option<u32>,
    pub message: String,
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
    pub nid: u32,
    pub kind: ItemKind,
    /// Folder NID (0 when unknown).
    pub folder_nid: u32,
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
    pub errors: Vec<WalkError>,
}

/// A walk error for an LTP failure met while reading node `nid`, with a
/// file offset an analyst can go to. NDB failures carry one already; LTP
/// failures (heap, BTH, PC, TC) know only their position inside the heap
/// structure, so the offset becomes that of the node's data block holding
/// it (found through the BBT) and the in-structure position moves into the
/// message.
pub fn walk_error_at(pst: &Pst<'_>, e: &LtpError, nid: u32, structure: &str) -> WalkError {
    let mut w = WalkError::from(e);
    if w.structure.is_empty() {
        w.structure = structure.to_string();
    }
    if e.ndb().is_none() {
        let block = e.block.unwrap_or(0) as usize;
        // The failing node may be a subnode (not in the NBT); then the
        // block of the node being read is the closest file position.
        let ib = [e.nid.unwrap_or(nid), nid]
            .into_iter()
            .find_map(|n| data_block_offset(pst, n, block));
        if let Some(ib) = ib {
            // The structure and the block's offset are the error's own
            // fields; the message adds only where in the block.
            let inner = if e.structure == w.structure {
                String::new()
            } else {
                format!(" {}", e.structure)
            };
            w.message = format!(
                "{} (at +{:#x}{inner} in data block {block})",
                w.message, e.offset
            );
            w.offset = ib;
        }
    }
    // The node being read (the item or table), not an inner subnode: what
    // an analyst looks up.
    w.nid = Some(nid);
    w
}

/// A problem with no place of its own inside node `nid` (a value that was
/// read but decodes wrong, such as damaged compressed RTF), located at the
/// node's first data block: the closest place the file has.
pub fn problem_at_node(pst: &Pst<'_>, nid: u32, structure: &str, message: String) -> WalkError {
    WalkError {
        structure: structure.to_string(),
        offset: data_block_offset(pst, nid, 0).unwrap_or(0),
        nid: Some(nid),
        message,
    }
}

/// The file offset of data block `block` of node `nid` (its first block
/// when it has fewer), found through the NBT and the BBT.
fn data_block_offset(pst: &Pst<'_>, nid: u32, block: usize) -> Option<u64> {
    let tree = pst.node(Nid(nid)).ok()?.data_blocks().ok()?;
    let bid = *tree.blocks.get(block).or(tree.blocks.first())?;
    pst.bbt_lookup(bid).ok().map(|b| b.ib)
}

/// The property context of node `nid` (a folder or a message).
pub fn open_pc<'p>(pst: &'p Pst<'p>, nid: u32) -> Result<PropertyContext<'p>, LtpError> {
    pst.node(Nid(nid))
        .map_err(LtpError::from)
        .and_then(PropertyContext::open)
}
