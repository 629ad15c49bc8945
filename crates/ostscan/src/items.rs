//! `ostscan items`: one line per message (the shape `ost-fixture`'s
//! manifests share). The fields are in alphabetical order: the key order
//! the lines have always had, which scripts may rely on.

use ost_props::{ItemRecord, Nid, Source};
use serde::Serialize;

use crate::scan::nid_hex;

/// One message, as `ostscan items` prints it, borrowing its text from the
/// record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ItemLine<'r> {
    /// PR_CHANGE_KEY, lower hex.
    pub change_key: Option<String>,
    pub folder: &'r str,
    /// `contents`, `associated` or `orphan`.
    pub kind: &'static str,
    /// PR_LAST_MODIFICATION_TIME, RFC 3339.
    pub last_modified: Option<String>,
    pub message_class: Option<&'r str>,
    pub nid: Nid,
    /// `nid` as the text shows it (`0x…`).
    pub nid_hex: String,
    /// PidTagMid (0x67F4) of OST items.
    pub object_id: Option<ItemObjectId>,
    /// PR_PREDECESSOR_CHANGE_LIST, lower hex.
    pub pcl: Option<String>,
    /// With `--verify-rows`: the contents-table row's values, beside the
    /// item's.
    pub row: Option<ItemRowValues>,
    /// PR_SOURCE_KEY (stored, or derived from the MID), lower hex.
    pub source_key: Option<String>,
    /// The source key was derived from the MID and the replica map.
    pub source_key_derived: bool,
    /// Where each sync value came from: `item` or `row`.
    pub sources: ItemSources,
    pub subject: Option<&'r str>,
}

/// A MID: replica id and global counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ItemObjectId {
    pub globcnt: u64,
    pub replica_id: u16,
}

/// A contents-table row's sync values, lower hex.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ItemRowValues {
    pub change_key: Option<String>,
    pub last_modified: Option<String>,
    pub pcl: Option<String>,
}

/// Where each sync value came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ItemSources {
    pub change_key: Option<&'static str>,
    pub last_modified: Option<&'static str>,
    pub pcl: Option<&'static str>,
}

impl ItemLine<'_> {
    pub fn new(r: &ItemRecord) -> ItemLine<'_> {
        let hex = |b: &Option<Vec<u8>>| b.as_deref().map(ost_props::hex);
        let source = |s: Option<Source>| s.map(|s| s.name());
        ItemLine {
            change_key: hex(&r.change_key),
            folder: &r.folder,
            kind: r.kind.name(),
            last_modified: r.last_modified.map(|t| t.to_string()),
            message_class: r.message_class.as_deref(),
            nid: r.nid,
            nid_hex: nid_hex(r.nid),
            object_id: r.object_id.map(|id| ItemObjectId {
                globcnt: id.globcnt,
                replica_id: id.replica_id,
            }),
            pcl: hex(&r.pcl),
            row: r.row.as_ref().map(|row| ItemRowValues {
                change_key: hex(&row.change_key),
                last_modified: row.last_modified.map(|t| t.to_string()),
                pcl: hex(&row.pcl),
            }),
            source_key: hex(&r.source_key),
            source_key_derived: r.source_key_derived,
            sources: ItemSources {
                change_key: source(r.sources.change_key),
                last_modified: source(r.sources.last_modified),
                pcl: source(r.sources.pcl),
            },
            subject: r.subject.as_deref(),
        }
    }
}
