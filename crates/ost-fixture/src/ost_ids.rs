//! The Exchange ids an OST keeps for the mailbox it caches: message and
//! folder ids (MIDs / FIDs), the replica map that names their replicas
//! (NID 0x801), the store's local namespace (0x7C07) and the long-term entry
//! ids built from them ([MS-OXCDATA] 2.2.1 and 2.2.4).
//!
//! The byte layouts here were read from real Outlook OSTs (a 4K wVer 36 file
//! and a wVer 23 one); see `crates/ost-fixture/README.md`.

use crate::manifest::{hex, MidRecord};

/// Replica 0 of every OST seen: {108EB6C3-75F7-CE11-B4CD-00AA00BBB6E6}, the
/// replica of the default folders (Inbox, Sent Items, root folders ...).
pub const DEFAULT_FOLDERS_REPLICA: [u8; 16] = [
    0xc3, 0xb6, 0x8e, 0x10, 0xf7, 0x75, 0x11, 0xce, 0xb4, 0xcd, 0x00, 0xaa, 0x00, 0xbb, 0xb6, 0xe6,
];

/// Replica id of the mailbox's server replica (its GUID is the namespace of
/// server change keys).
pub const SERVER_REPLICA_ID: u16 = 1;

/// Largest GLOBCNT (6 bytes).
const GLOBCNT_MAX: u64 = (1 << 48) - 1;

/// A message or folder id ([MS-OXCDATA] 2.2.1.2): a replica id and a
/// 6-byte global counter. Stored (PidTagMid 0x67F4, PT_I8) as the replica id
/// little-endian, then the counter big-endian.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mid {
    /// Index into the replica map.
    pub replica_id: u16,
    /// GLOBCNT, below 2^48.
    pub globcnt: u64,
}

impl Mid {
    /// A MID; panics when `globcnt` does not fit in 6 bytes.
    pub fn new(replica_id: u16, globcnt: u64) -> Mid {
        assert!(globcnt <= GLOBCNT_MAX, "GLOBCNT {globcnt:#x} above 2^48");
        Mid {
            replica_id,
            globcnt,
        }
    }

    /// The 8 stored bytes.
    pub fn to_bytes(self) -> [u8; 8] {
        let mut b = [0u8; 8];
        b[..2].copy_from_slice(&self.replica_id.to_le_bytes());
        b[2..].copy_from_slice(&globcnt_bytes(self.globcnt));
        b
    }

    /// The PT_I8 value whose little-endian bytes are [`Mid::to_bytes`].
    pub fn as_i64(self) -> i64 {
        i64::from_le_bytes(self.to_bytes())
    }

    /// The inverse of [`Mid::to_bytes`].
    pub fn from_bytes(b: [u8; 8]) -> Mid {
        let mut counter = [0u8; 8];
        counter[2..].copy_from_slice(&b[2..]);
        Mid {
            replica_id: u16::from_le_bytes([b[0], b[1]]),
            globcnt: u64::from_be_bytes(counter),
        }
    }
}

/// A GLOBCNT as stored in ids and XIDs: 6 bytes big-endian.
pub fn globcnt_bytes(globcnt: u64) -> [u8; 6] {
    let mut b = [0u8; 6];
    b.copy_from_slice(&globcnt.to_be_bytes()[2..]);
    b
}

/// Hands out GLOBCNTs of one replica in increasing order.
#[derive(Debug, Clone)]
pub struct GlobcntCounter {
    replica_id: u16,
    next: u64,
}

impl GlobcntCounter {
    /// Counting from `first`.
    pub fn new(replica_id: u16, first: u64) -> GlobcntCounter {
        GlobcntCounter {
            replica_id,
            next: first,
        }
    }

    /// The next id.
    pub fn allocate(&mut self) -> Mid {
        let mid = Mid::new(self.replica_id, self.next);
        self.next += 1;
        mid
    }

    /// The counter the next [`GlobcntCounter::allocate`] returns.
    pub fn peek(&self) -> u64 {
        self.next
    }
}

/// Who an OST store is: the replicas its ids refer to, its own namespace
/// for local change keys, and the provider UID of its long-term entry ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OstIdentity {
    /// Replica GUIDs by replica id (written as the replica map, NID 0x801).
    /// Id 0 is [`DEFAULT_FOLDERS_REPLICA`], id 1 the server's.
    pub replicas: Vec<[u8; 16]>,
    /// The OST's own namespace GUID: change keys made by this client
    /// (4-byte LocalIds). Stored in the message store's 0x7C07.
    pub local_guid: [u8; 16],
    /// Provider UID of the store's long-term entry ids (message store
    /// property 0x6615, PT_CLSID; unlike PSTs, not the PR_RECORD_KEY).
    pub provider_uid: [u8; 16],
}

impl OstIdentity {
    /// The server replica's GUID: the namespace of server change keys
    /// (6-byte change numbers).
    pub fn server_guid(&self) -> [u8; 16] {
        self.replicas[SERVER_REPLICA_ID as usize]
    }

    /// The GUID of a MID's replica.
    pub fn replica_guid(&self, mid: Mid) -> [u8; 16] {
        self.replicas[mid.replica_id as usize]
    }

    /// The source key an id stands for: replica GUID + GLOBCNT (22 bytes).
    pub fn source_key(&self, mid: Mid) -> Vec<u8> {
        let mut k = self.replica_guid(mid).to_vec();
        k.extend_from_slice(&globcnt_bytes(mid.globcnt));
        k
    }

    /// A folder's long-term entry id ([MS-OXCDATA] 2.2.4.1, 46 bytes): 4
    /// flag bytes, provider UID, folder type eitLTPrivateFolder (1), the
    /// FID's replica GUID and GLOBCNT, 2 pad bytes.
    pub fn folder_entry_id(&self, fid: Mid) -> Vec<u8> {
        let mut e = vec![0u8; 4];
        e.extend_from_slice(&self.provider_uid);
        e.extend_from_slice(&1u16.to_le_bytes());
        e.extend_from_slice(&self.source_key(fid));
        e.extend_from_slice(&[0, 0]);
        e
    }

    /// A message's long-term entry id ([MS-OXCDATA] 2.2.4.2, 70 bytes): 4
    /// flag bytes, provider UID, message type eitLTPrivateMessage (7), the
    /// folder's replica GUID + GLOBCNT, 2 pad bytes, the message's replica
    /// GUID + GLOBCNT (its source key), 2 pad bytes.
    pub fn message_entry_id(&self, fid: Mid, mid: Mid) -> Vec<u8> {
        let mut e = vec![0u8; 4];
        e.extend_from_slice(&self.provider_uid);
        e.extend_from_slice(&7u16.to_le_bytes());
        e.extend_from_slice(&self.source_key(fid));
        e.extend_from_slice(&[0, 0]);
        e.extend_from_slice(&self.source_key(mid));
        e.extend_from_slice(&[0, 0]);
        e
    }

    /// The message store's 0x7C07 (PT_BINARY, 80 bytes) in the shape real
    /// OSTs have: 01000000, the local namespace GUID, 12 bytes seen as
    /// `0110000000f0000000000000` in real files (meaning unknown), the
    /// server replica GUID, a 6-byte GLOBCNT (`next_server_globcnt`: in
    /// real files a counter just above the ids in use), 26 zero bytes.
    pub fn local_namespace_record(&self, next_server_globcnt: u64) -> Vec<u8> {
        let mut b = vec![1, 0, 0, 0];
        b.extend_from_slice(&self.local_guid);
        b.extend_from_slice(&[0x01, 0x10, 0, 0, 0, 0xf0, 0, 0, 0, 0, 0, 0]);
        b.extend_from_slice(&self.server_guid());
        b.extend_from_slice(&globcnt_bytes(next_server_globcnt));
        b.resize(80, 0);
        b
    }
}

impl From<Mid> for MidRecord {
    fn from(m: Mid) -> MidRecord {
        MidRecord {
            replica_id: m.replica_id,
            globcnt: m.globcnt,
            hex: hex(&m.to_bytes()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mid_bytes_are_replica_le_then_globcnt_be() {
        let m = Mid::new(1, 0xa01);
        assert_eq!(m.to_bytes(), [1, 0, 0, 0, 0, 0, 0x0a, 0x01]);
        assert_eq!(Mid::from_bytes(m.to_bytes()), m);
        assert_eq!(m.as_i64().to_le_bytes(), m.to_bytes());
        assert_eq!(Mid::new(0, 0x0c).to_bytes(), [0, 0, 0, 0, 0, 0, 0, 0x0c]);
    }

    #[test]
    fn entry_ids_have_the_documented_sizes() {
        let id = OstIdentity {
            replicas: vec![DEFAULT_FOLDERS_REPLICA, [0xbc; 16]],
            local_guid: [0x26; 16],
            provider_uid: [0xb1; 16],
        };
        let f = id.folder_entry_id(Mid::new(1, 0x1e26));
        assert_eq!(f.len(), 46);
        assert_eq!(&f[4..20], &[0xb1; 16]);
        assert_eq!(&f[20..22], &[1, 0]);
        assert_eq!(&f[22..38], &[0xbc; 16]);
        assert_eq!(&f[38..44], &[0, 0, 0, 0, 0x1e, 0x26]);
        let m = id.message_entry_id(Mid::new(0, 0x0c), Mid::new(1, 0xa01));
        assert_eq!(m.len(), 70);
        assert_eq!(&m[20..22], &[7, 0]);
        assert_eq!(&m[22..38], &DEFAULT_FOLDERS_REPLICA);
        assert_eq!(&m[46..68], id.source_key(Mid::new(1, 0xa01)).as_slice());
        let r = id.local_namespace_record(0x85a3);
        assert_eq!(r.len(), 80);
        assert_eq!(&r[4..20], &[0x26; 16]);
        assert_eq!(&r[32..48], &[0xbc; 16]);
        assert_eq!(&r[48..54], &[0, 0, 0, 0, 0x85, 0xa3]);
    }
}
