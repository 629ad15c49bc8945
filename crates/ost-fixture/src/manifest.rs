//! The manifest: one JSON line per written message, in the shape of
//! `ostscan items` and of the pff-oracle's lines.

use serde::Serialize;

use crate::format::SyncPlacement;

/// Which table lists the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemKind {
    /// A row of the folder's contents table.
    Contents,
    /// A row of the folder's associated (FAI) contents table.
    Associated,
}

/// What was written for one message.
///
/// `change_key`, `pcl`, `source_key` and `last_modified` are what the
/// message's property context holds (what libpff reads), except that in a
/// store with [`SyncPlacement::Rows`] `source_key` is derived from the MID
/// (replica GUID + GLOBCNT), as real OSTs store none. The fields after
/// `planted` are written only for stores with sync metadata in rows, so
/// that the manifests of other stores stay as they were.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManifestRecord {
    /// Message NID.
    pub nid: u32,
    /// "/" + display names from the root folder down.
    pub folder: String,
    /// PR_SUBJECT as a reader decodes it (ANSI files: the 8-bit form).
    pub subject: String,
    /// PR_MESSAGE_CLASS.
    pub message_class: String,
    /// PR_CHANGE_KEY, lower-case hex; None when absent.
    pub change_key: Option<String>,
    /// PR_PREDECESSOR_CHANGE_LIST, lower-case hex.
    pub pcl: Option<String>,
    /// PR_SOURCE_KEY, lower-case hex.
    pub source_key: Option<String>,
    /// PR_LAST_MODIFICATION_TIME, RFC 3339 UTC with 7 fraction digits.
    pub last_modified: Option<String>,
    /// Contents or associated.
    pub kind: ItemKind,
    /// Fault rule ids planted on this message.
    pub planted: Vec<String>,
    /// Where this message's change key and PCL went: `item` (property
    /// context only; the row's cells are empty), `row` (row only) or `both`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placement: Option<SyncPlacement>,
    /// PR_CHANGE_KEY in the contents-table row, hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row_change_key: Option<String>,
    /// PR_PREDECESSOR_CHANGE_LIST in the row, hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row_pcl: Option<String>,
    /// PR_LAST_MODIFICATION_TIME in the row, RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row_last_modified: Option<String>,
    /// PidTagMid (0x67F4), in the property context and the row.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mid: Option<MidRecord>,
    /// Namespace of the change key a reader should take (the row's, else
    /// the property context's): `server` (the server replica's GUID, 6-byte
    /// change number) or `local` (the OST's own GUID, 4-byte counter).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_key_namespace: Option<&'static str>,
}

/// A replica of the replica map (NID 0x801).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReplicaRecord {
    /// Replica id (the first two bytes of a MID).
    pub id: u16,
    /// Replica GUID, hex of the stored bytes.
    pub guid: String,
}

/// A folder of a store with an OST identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FolderRecord {
    /// Folder NID.
    pub nid: u32,
    /// "/" + display names from the root folder down.
    pub path: String,
    /// PidTagFolderId (0x67F4), if written.
    pub fid: Option<MidRecord>,
}

/// What was written for a store with an OST identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoreRecord {
    /// The store's sync placement.
    pub placement: SyncPlacement,
    /// GUID of replica 1, the namespace of server change keys, hex.
    pub server_guid: String,
    /// The OST's own namespace (local change keys; store property 0x7C07), hex.
    pub local_guid: String,
    /// Provider UID of long-term entry ids (store property 0x6615), hex.
    pub provider_uid: String,
    /// The replica map, by id.
    pub replicas: Vec<ReplicaRecord>,
    /// Every folder, root first.
    pub folders: Vec<FolderRecord>,
}

/// A MID in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MidRecord {
    /// Replica id.
    pub replica_id: u16,
    /// GLOBCNT.
    pub globcnt: u64,
    /// The 8 stored bytes of PidTagMid / PidTagFolderId (0x67F4), hex.
    pub hex: String,
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// FILETIME (100 ns ticks since 1601-01-01 UTC) as RFC 3339 with 7 fraction digits.
pub fn filetime_rfc3339(ft: u64) -> String {
    let secs = ft / 10_000_000;
    let frac = ft % 10_000_000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // days since 1601-01-01 -> days since 1970-01-01
    let (y, m, d) = civil_from_days(days - 134_774);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{frac:07}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + (m <= 2) as i64;
    (y, m, d)
}

/// FILETIME of a UTC date and time (for building test data).
pub fn filetime(year: i64, month: u32, day: u32, h: u32, min: u32, s: u32, ticks: u32) -> u64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days_1970 = era * 146_097 + doe - 719_468;
    let secs = (days_1970 + 134_774) * 86_400 + (h * 3600 + min * 60 + s) as i64;
    secs as u64 * 10_000_000 + ticks as u64
}

/// The manifest as JSON lines.
pub fn to_json_lines(records: &[ManifestRecord]) -> String {
    let mut s = String::new();
    for r in records {
        s.push_str(&serde_json::to_string(r).expect("manifest record serializes"));
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filetime_round_trips_through_rfc3339() {
        let ft = filetime(2024, 1, 2, 3, 4, 5, 1_234_567);
        assert_eq!(filetime_rfc3339(ft), "2024-01-02T03:04:05.1234567Z");
        assert_eq!(filetime_rfc3339(0), "1601-01-01T00:00:00.0000000Z");
        assert_eq!(
            filetime_rfc3339(filetime(2000, 2, 29, 23, 59, 59, 0)),
            "2000-02-29T23:59:59.0000000Z"
        );
    }

    #[test]
    fn hex_is_lower_case() {
        assert_eq!(hex(&[0xAB, 0x01]), "ab01");
    }
}
