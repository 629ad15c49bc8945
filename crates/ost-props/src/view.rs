//! [`ItemView`]: one message's sync properties as read, borrowed from its
//! open property context. A scan looks at every message but keeps few:
//! the rules need only the change key and the PCL, so the strings are
//! decoded and the bytes copied (into an [`ItemRecord`]) only for the
//! messages the caller keeps.

use std::sync::Arc;

use ost_ndb::ltp::PropValue;

use crate::item::{ItemKind, ItemRecord, WalkError};
use crate::store::prop_string;
use crate::strings::strip_subject_marker;
use crate::time::FileTime;

/// The properties [`crate::Store::visit_item`] reads, before any copy.
#[derive(Debug)]
pub struct ItemView<'v> {
    pub nid: u32,
    pub kind: ItemKind,
    /// Folder NID (0 when unknown).
    pub folder_nid: u32,
    /// Folder path, borrowed from the store: cloning the `Arc` for every
    /// message made both threads of a scan bounce its reference count.
    pub folder: &'v Arc<str>,
    pub(crate) codepage: u32,
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
    /// Problems reading this message, in the order they were met.
    pub errors: Vec<WalkError>,
}

impl<'v> ItemView<'v> {
    /// A view with no properties (the message could not be opened).
    pub(crate) fn empty(nid: u32, kind: ItemKind, folder_nid: u32, folder: &'v Arc<str>) -> Self {
        ItemView {
            nid,
            kind,
            folder_nid,
            folder,
            codepage: crate::store::DEFAULT_CODEPAGE,
            subject: None,
            message_class: None,
            change_key: None,
            pcl: None,
            source_key: None,
            parent_source_key: None,
            search_key: None,
            conflict_entry_id: None,
            last_modified: None,
            change_num: None,
            message_status: None,
            errors: Vec::new(),
        }
    }

    /// PR_CHANGE_KEY, raw bytes.
    pub fn change_key(&self) -> Option<&[u8]> {
        self.change_key.as_ref().map(PropValue::as_bytes)
    }

    /// PR_PREDECESSOR_CHANGE_LIST, raw bytes.
    pub fn pcl(&self) -> Option<&[u8]> {
        self.pcl.as_ref().map(PropValue::as_bytes)
    }

    /// PR_SOURCE_KEY.
    pub fn source_key(&self) -> Option<&[u8]> {
        self.source_key.as_ref().map(PropValue::as_bytes)
    }

    /// PR_CONFLICT_ENTRYID, raw bytes.
    pub fn conflict_entry_id(&self) -> Option<&[u8]> {
        self.conflict_entry_id.as_ref().map(PropValue::as_bytes)
    }

    /// PR_SUBJECT, decoded, without the prefix marker.
    pub fn subject(&self) -> Option<String> {
        let mut s = prop_string(self.subject.as_ref()?, self.codepage)?;
        // The marker is a prefix: drop it in place rather than copy the rest.
        let marker = s.len() - strip_subject_marker(&s).len();
        s.drain(..marker);
        Some(s)
    }

    /// PR_MESSAGE_CLASS, decoded.
    pub fn message_class(&self) -> Option<String> {
        self.message_class
            .as_ref()
            .and_then(|v| prop_string(v, self.codepage))
    }

    /// Everything, decoded and copied out of the property context.
    pub fn into_record(self) -> ItemRecord {
        let bytes = |v: &Option<PropValue<'_>>| v.as_ref().map(|v| v.as_bytes().to_vec());
        ItemRecord {
            subject: self.subject(),
            message_class: self.message_class(),
            nid: self.nid,
            kind: self.kind,
            folder_nid: self.folder_nid,
            folder: Arc::clone(self.folder),
            change_key: bytes(&self.change_key),
            pcl: bytes(&self.pcl),
            source_key: bytes(&self.source_key),
            parent_source_key: bytes(&self.parent_source_key),
            search_key: bytes(&self.search_key),
            last_modified: self.last_modified,
            change_num: self.change_num,
            message_status: self.message_status,
            conflict_entry_id: bytes(&self.conflict_entry_id),
            errors: self.errors,
        }
    }
}
