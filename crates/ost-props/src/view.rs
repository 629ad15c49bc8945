//! [`ItemView`]: one message's sync properties as read, borrowed from its
//! open property context and its contents-table row. A scan looks at every
//! message but keeps few: the rules need only the change key and the PCL,
//! so the strings are decoded and the bytes copied (into an
//! [`ItemRecord`]) only for the messages the caller keeps.
//!
//! An item's properties have two sources: the item itself (its property
//! context) and the row of its folder's contents table. Real Outlook OSTs
//! keep the change key, PCL and modification time only in the row; PSTs
//! keep them in the item. A view holds both; each value it reports is the
//! item's own where present, else the row's ([`ItemView::change_key`] and
//! friends), and [`ItemView::sources`] says which.

use std::sync::Arc;

use ost_ndb::ltp::PropValue;
use ost_ndb::Nid;

use crate::item::{ItemKind, ItemRecord, RowValues, Source, Sources};
use crate::object_id::{ObjectId, SOURCE_KEY_LEN};
use crate::problem::Problem;
use crate::strings::strip_subject_marker;
use crate::strings::{prop_string, DEFAULT_CODEPAGE};
use crate::time::FileTime;

/// The properties one source (the item or its row) provides, borrowed.
#[derive(Debug, Default)]
pub struct SourceProps<'v> {
    pub(crate) subject: Option<PropValue<'v>>,
    pub(crate) message_class: Option<PropValue<'v>>,
    pub(crate) change_key: Option<PropValue<'v>>,
    pub(crate) pcl: Option<PropValue<'v>>,
    pub(crate) source_key: Option<PropValue<'v>>,
    pub(crate) parent_source_key: Option<PropValue<'v>>,
    pub(crate) search_key: Option<PropValue<'v>>,
    pub(crate) conflict_entry_id: Option<PropValue<'v>>,
    pub last_modified: Option<FileTime>,
    pub change_num: Option<u64>,
    pub message_status: Option<u32>,
    /// Property 0x67F4 (OSTs): the item's MID.
    pub object_id: Option<ObjectId>,
}

impl<'v> SourceProps<'v> {
    /// PR_CHANGE_KEY, raw bytes.
    pub fn change_key(&self) -> Option<&[u8]> {
        self.change_key.as_ref().map(PropValue::as_bytes)
    }

    /// PR_PREDECESSOR_CHANGE_LIST, raw bytes.
    pub fn pcl(&self) -> Option<&[u8]> {
        self.pcl.as_ref().map(PropValue::as_bytes)
    }

    /// Whether this source has a change key or a PCL.
    pub fn has_sync(&self) -> bool {
        self.change_key.is_some() || self.pcl.is_some()
    }

    /// Props holding only a change key, a PCL and a modification time, as a
    /// test of the rules builds them.
    #[doc(hidden)]
    pub fn for_tests(
        change_key: Option<PropValue<'v>>,
        pcl: Option<PropValue<'v>>,
        last_modified: Option<FileTime>,
    ) -> Self {
        SourceProps {
            change_key,
            pcl,
            last_modified,
            ..SourceProps::default()
        }
    }
}

/// The properties [`crate::Store::visit_item`] and the row walk read,
/// before any copy.
#[derive(Debug)]
pub struct ItemView<'v> {
    pub nid: Nid,
    pub kind: ItemKind,
    /// Folder NID (0 when unknown).
    pub folder_nid: Nid,
    /// Folder path, borrowed from the store: cloning the `Arc` for every
    /// message made both threads of a scan bounce its reference count.
    pub folder: &'v Arc<str>,
    pub(crate) codepage: u32,
    /// The item's own properties; empty when its property context was not
    /// read (see `item_read`).
    pub item: SourceProps<'v>,
    /// Its contents-table row's; empty when the table carries none of the
    /// sync columns (then the row is not read).
    pub row: SourceProps<'v>,
    /// Whether the item's property context was opened.
    pub item_read: bool,
    /// The source key the object id stands for (replica GUID + GLOBCNT),
    /// when the item stores none and the store's replica map knows it.
    pub(crate) derived_source_key: Option<[u8; SOURCE_KEY_LEN]>,
    /// Problems reading this message, in the order they were met.
    pub errors: Vec<Problem>,
}

/// The item's value, else the row's, with its source.
fn pick<T>(item: Option<T>, row: Option<T>) -> (Option<T>, Option<Source>) {
    match (item, row) {
        (Some(v), _) => (Some(v), Some(Source::Item)),
        (None, Some(v)) => (Some(v), Some(Source::Row)),
        (None, None) => (None, None),
    }
}

impl<'v> ItemView<'v> {
    /// A view with no properties (nothing read yet, or the message could
    /// not be opened).
    pub(crate) fn empty(nid: Nid, kind: ItemKind, folder_nid: Nid, folder: &'v Arc<str>) -> Self {
        ItemView {
            nid,
            kind,
            folder_nid,
            folder,
            codepage: DEFAULT_CODEPAGE,
            item: SourceProps::default(),
            row: SourceProps::default(),
            item_read: false,
            derived_source_key: None,
            errors: Vec::new(),
        }
    }

    /// A value of the item's property context, else of its row: the rule
    /// every accessor of the view follows.
    fn item_else_row(
        &self,
        value: for<'s> fn(&'s SourceProps<'v>) -> &'s Option<PropValue<'v>>,
    ) -> Option<&PropValue<'v>> {
        value(&self.item).as_ref().or(value(&self.row).as_ref())
    }

    /// PR_CHANGE_KEY, raw bytes: the item's, else the row's.
    pub fn change_key(&self) -> Option<&[u8]> {
        self.item.change_key().or_else(|| self.row.change_key())
    }

    /// PR_PREDECESSOR_CHANGE_LIST, raw bytes: the item's, else the row's.
    pub fn pcl(&self) -> Option<&[u8]> {
        self.item.pcl().or_else(|| self.row.pcl())
    }

    /// PR_LAST_MODIFICATION_TIME: the item's, else the row's.
    pub fn last_modified(&self) -> Option<FileTime> {
        self.item.last_modified.or(self.row.last_modified)
    }

    /// PR_MESSAGE_STATUS: the item's, else the row's.
    pub fn message_status(&self) -> Option<u32> {
        self.item.message_status.or(self.row.message_status)
    }

    /// The object id (0x67F4): the item's, else the row's.
    pub fn object_id(&self) -> Option<ObjectId> {
        self.item.object_id.or(self.row.object_id)
    }

    /// PR_SOURCE_KEY: the item's, else the row's, else the one its object
    /// id stands for (see [`ItemView::source_key_derived`]).
    pub fn source_key(&self) -> Option<&[u8]> {
        self.item_else_row(|p| &p.source_key)
            .map(PropValue::as_bytes)
            .or(self.derived_source_key.as_ref().map(|k| &k[..]))
    }

    /// Whether [`ItemView::source_key`] was derived from the object id
    /// rather than stored.
    pub fn source_key_derived(&self) -> bool {
        self.item.source_key.is_none()
            && self.row.source_key.is_none()
            && self.derived_source_key.is_some()
    }

    /// PR_CONFLICT_ENTRYID, raw bytes: the item's, else the row's.
    pub fn conflict_entry_id(&self) -> Option<&[u8]> {
        self.item_else_row(|p| &p.conflict_entry_id)
            .map(PropValue::as_bytes)
    }

    /// Where the change key, PCL and modification time came from.
    pub fn sources(&self) -> Sources {
        Sources {
            change_key: pick(self.item.change_key(), self.row.change_key()).1,
            pcl: pick(self.item.pcl(), self.row.pcl()).1,
            last_modified: pick(self.item.last_modified, self.row.last_modified).1,
        }
    }

    /// Whether both the item and its row were read and the row has sync
    /// values to compare with the item's.
    pub fn row_and_item_read(&self) -> bool {
        self.item_read && (self.row.has_sync() || self.row.last_modified.is_some())
    }

    /// PR_SUBJECT, decoded, without the prefix marker: the item's, else the
    /// row's.
    pub fn subject(&self) -> Option<String> {
        let v = self.item_else_row(|p| &p.subject)?;
        let mut s = prop_string(v, self.codepage)?;
        // The marker is a prefix: drop it in place rather than copy the rest.
        let marker = s.len() - strip_subject_marker(&s).len();
        s.drain(..marker);
        Some(s)
    }

    /// PR_MESSAGE_CLASS, decoded: the item's, else the row's.
    pub fn message_class(&self) -> Option<String> {
        self.item_else_row(|p| &p.message_class)
            .and_then(|v| prop_string(v, self.codepage))
    }

    /// Everything, decoded and copied out of the property context and row.
    pub fn into_record(self) -> ItemRecord {
        let bytes = |v: Option<&PropValue<'_>>| v.map(|v| v.as_bytes().to_vec());
        let row = self.row_and_item_read().then(|| RowValues {
            change_key: bytes(self.row.change_key.as_ref()),
            pcl: bytes(self.row.pcl.as_ref()),
            last_modified: self.row.last_modified,
        });
        ItemRecord {
            subject: self.subject(),
            message_class: self.message_class(),
            nid: self.nid,
            kind: self.kind,
            folder_nid: self.folder_nid,
            folder: Arc::clone(self.folder),
            change_key: bytes(self.item_else_row(|p| &p.change_key)),
            pcl: bytes(self.item_else_row(|p| &p.pcl)),
            source_key: self.source_key().map(<[u8]>::to_vec),
            source_key_derived: self.source_key_derived(),
            parent_source_key: bytes(self.item_else_row(|p| &p.parent_source_key)),
            search_key: bytes(self.item_else_row(|p| &p.search_key)),
            last_modified: self.last_modified(),
            change_num: self.item.change_num.or(self.row.change_num),
            message_status: self.message_status(),
            conflict_entry_id: bytes(self.item_else_row(|p| &p.conflict_entry_id)),
            object_id: self.object_id(),
            sources: self.sources(),
            item_read: self.item_read,
            row,
            errors: self.errors,
        }
    }
}
