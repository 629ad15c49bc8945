//! Change keys and PCLs as people read them. [`XidView`] is one XID as
//! every output shows it (`scan` and `diff` reports, `dump`, `decode`);
//! [`ChangeKeyView`] and [`PclEntryView`] are the decoded proof every
//! report carries: the raw hex plus what it decodes to, one shape for
//! `scan`, `diff` and their schemas.

use ost_props::{Namespaces, Pcl, Xid};
use serde::Serialize;

/// Lowercase hex of `bytes`.
pub use ost_props::hex;

/// One XID decoded: its namespace GUID (registry form and stored bytes),
/// its LocalId and the counter that encodes, and whose change it is by
/// [MS-OXCFXICS] 3.3.5.2.3 (servers use 6-byte GLOBCNTs; a client must use
/// another length for its own, "foreign", XIDs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct XidView {
    /// Registry form, `{9D8647F2-...}`.
    pub guid: String,
    /// The 16 stored bytes, lowercase hex.
    pub guid_hex: String,
    pub local_id_len: usize,
    /// LocalId bytes, uppercase hex as MFCMAPI prints them.
    pub local_id: String,
    pub counter: u64,
    pub counter_hex: String,
    /// `server` (6-byte GLOBCNT) or `client`.
    pub origin: &'static str,
}

impl XidView {
    pub fn new(xid: &Xid<'_>) -> XidView {
        XidView {
            guid: xid.namespace().to_string(),
            guid_hex: xid.namespace().hex().to_string(),
            local_id_len: xid.local_id_len(),
            local_id: xid.local_id_hex().to_string(),
            counter: xid.counter().value(),
            counter_hex: format!("{:#x}", xid.counter()),
            origin: if xid.has_globcnt_len() {
                "server"
            } else {
                "client"
            },
        }
    }

    /// `origin` said in full, for text.
    pub fn origin_note(&self) -> &'static str {
        if self.origin == "server" {
            "server (6-byte GLOBCNT)"
        } else {
            "client (foreign XID, LocalId not 6 bytes)"
        }
    }

    /// The counter as text shows it: `23720 (0x5ca8)`.
    pub fn counter_text(&self) -> String {
        format!("{} ({})", self.counter, self.counter_hex)
    }

    /// One line: `{GUID} counter 23720 (0x5ca8)`.
    pub fn brief(&self) -> String {
        format!("{} counter {}", self.guid, self.counter_text())
    }
}

/// A change key: its bytes, and their decoding when they are an XID.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChangeKeyView {
    /// The raw value.
    pub hex: String,
    /// Namespace GUID in registry form; `None` when the value is not an XID.
    pub guid: Option<String>,
    /// The LocalId as a big-endian number.
    pub counter: Option<u64>,
    /// `counter` as a decimal string: a JSON reader with only doubles
    /// (JavaScript, jq) rounds numbers above 2^53, and an 8-byte LocalId
    /// can be one.
    pub counter_decimal: Option<String>,
    /// LocalId length in bytes (server change numbers: 6; Outlook: 4).
    pub local_id_len: Option<usize>,
    /// Whose change it names: `server`, `local` (this cache's own) or
    /// `unknown`; `None` when the value is not an XID.
    pub namespace: Option<&'static str>,
}

impl ChangeKeyView {
    /// The view of a change key of a store whose namespaces are unknown.
    pub fn new(bytes: &[u8]) -> ChangeKeyView {
        ChangeKeyView::in_store(bytes, &Namespaces::default())
    }

    /// The view of a change key of a store with these namespaces.
    pub fn in_store(bytes: &[u8], namespaces: &Namespaces) -> ChangeKeyView {
        let xid = Xid::parse(bytes).ok();
        let view = xid.as_ref().map(XidView::new);
        ChangeKeyView {
            hex: hex(bytes),
            counter: view.as_ref().map(|v| v.counter),
            counter_decimal: view.as_ref().map(|v| v.counter.to_string()),
            local_id_len: view.as_ref().map(|v| v.local_id_len),
            guid: view.map(|v| v.guid),
            namespace: xid.map(|x| namespaces.role(&x).name()),
        }
    }
}

/// One decoded PCL entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PclEntryView {
    pub guid: String,
    pub counter: u64,
    /// `counter` as a decimal string (see [`ChangeKeyView::counter_decimal`]).
    pub counter_decimal: String,
    pub local_id_len: usize,
    /// The XID bytes without the size prefix.
    pub hex: String,
    /// `server`, `local` or `unknown` (see [`ChangeKeyView::namespace`]).
    pub namespace: &'static str,
}

/// The decoded entries of a PCL of a store whose namespaces are unknown;
/// `None` when it does not decode.
pub fn pcl_view(bytes: &[u8]) -> Option<Vec<PclEntryView>> {
    pcl_view_in_store(bytes, &Namespaces::default())
}

/// The decoded entries of a PCL of a store with these namespaces.
pub fn pcl_view_in_store(bytes: &[u8], namespaces: &Namespaces) -> Option<Vec<PclEntryView>> {
    let pcl = Pcl::parse(bytes).ok()?;
    Some(
        pcl.entries()
            .map(|entry| {
                let view = XidView::new(&entry.xid);
                PclEntryView {
                    counter: view.counter,
                    counter_decimal: view.counter.to_string(),
                    local_id_len: view.local_id_len,
                    guid: view.guid,
                    hex: hex(&entry.xid.to_vec()),
                    namespace: namespaces.role(&entry.xid).name(),
                }
            })
            .collect(),
    )
}

/// XIDs listed in most details.
const XIDS_LISTED: usize = 8;

/// XIDs as a finding's detail names them, `[{GUID} counter, ...]`: the
/// first [`XIDS_LISTED`], then how many more.
pub fn xid_list(xids: &[Xid<'_>]) -> String {
    let parts: Vec<String> = xids
        .iter()
        .take(XIDS_LISTED)
        .map(|x| format!("{} {}", x.namespace(), x.counter()))
        .collect();
    match xids.len().saturating_sub(XIDS_LISTED) {
        0 => format!("[{}]", parts.join(", ")),
        more => format!("[{}, {more} more]", parts.join(", ")),
    }
}

/// A change key, PCL and modification time as one place holds them (an
/// item, its contents-table row, the server's listing), decoded: one shape
/// for `scan`'s rows and both sides of `reconcile`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SyncValuesView {
    pub change_key: Option<ChangeKeyView>,
    /// Decoded PCL entries; `None` when absent or undecodable.
    pub pcl: Option<Vec<PclEntryView>>,
    pub pcl_hex: Option<String>,
    /// RFC 3339 (PR_LAST_MODIFICATION_TIME; a listing's as given).
    pub last_modified: Option<String>,
}

impl SyncValuesView {
    /// The view of these values in a store with these namespaces.
    pub fn in_store(
        change_key: Option<&[u8]>,
        pcl: Option<&[u8]>,
        last_modified: Option<String>,
        namespaces: &Namespaces,
    ) -> SyncValuesView {
        SyncValuesView {
            change_key: change_key.map(|b| ChangeKeyView::in_store(b, namespaces)),
            pcl: pcl.and_then(|b| pcl_view_in_store(b, namespaces)),
            pcl_hex: pcl.map(hex),
            last_modified,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xid_lists_name_the_first_eight_and_count_the_rest() {
        let bytes: Vec<Vec<u8>> = (1..=9u8)
            .map(|i| {
                let mut x = vec![i; 16];
                x.extend([0, 0, 0, i]);
                x
            })
            .collect();
        let xids: Vec<Xid<'_>> = bytes.iter().map(|b| Xid::parse(b).unwrap()).collect();
        let first = "{01010101-0101-0101-0101-010101010101} 1 (0x1)";
        assert_eq!(xid_list(&xids[..1]), format!("[{first}]"));
        let nine = xid_list(&xids);
        assert!(nine.starts_with(&format!("[{first}, ")), "{nine}");
        assert!(
            nine.contains("{08080808-0808-0808-0808-080808080808} 8 (0x8), 1 more]"),
            "{nine}"
        );
        assert!(!nine.contains("09090909"), "{nine}");
        assert_eq!(xid_list(&[]), "[]");
    }

    #[test]
    fn hex_is_two_lowercase_digits_a_byte() {
        let all: Vec<u8> = (0..=255).collect();
        let want: String = all.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex(&all), want);
        assert_eq!(hex(&[]), "");
    }

    #[test]
    fn decodes_what_decodes_and_keeps_the_bytes_of_what_does_not() {
        let mut ck = vec![0x11u8; 16];
        ck.extend([0, 0, 1, 0]);
        let v = ChangeKeyView::new(&ck);
        assert_eq!(v.counter, Some(256));
        assert_eq!(v.local_id_len, Some(4));
        assert_eq!(v.hex.len(), 40);
        let bad = ChangeKeyView::new(&[1, 2, 3]);
        assert_eq!(
            (bad.hex.as_str(), bad.guid, bad.counter),
            ("010203", None, None)
        );
        let mut pcl = vec![20u8];
        pcl.extend(&ck);
        let entries = pcl_view(&pcl).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].counter, 256);
        assert!(pcl_view(&[30]).is_none());
    }
}
