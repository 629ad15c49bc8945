//! The replica map of an OST (NID 0x801): which replica GUID each 2-byte
//! replica id stands for. Not in [MS-PST] (the NID is reserved there); read
//! from real Outlook OSTs (docs/format.md, "Replica map"):
//!
//! - a heap-on-node with bClientSig 0x6C;
//! - its user root is an 8-byte item holding two HIDs: a BTH header and a
//!   GUID array;
//! - the BTH (cbKey 16, cbEnt 2) maps a replica GUID (stored bytes) to its
//!   replica id (u16, little-endian);
//! - the array holds 16 bytes per replica id, in id order.
//!
//! Item and folder ids (PidTagMid / PidTagFolderId, [MS-OXCDATA] 2.2.1.2)
//! name their replica by id; the map turns one into a source key (replica
//! GUID + global counter) and tells which namespace GUIDs are the server's.

use super::bth::Bth;
use super::error::{LtpError, Result};
use super::heap::{client_sig, Heap};
use crate::ndb::bytes::u32_at;
use crate::ndb::{NdbErrorKind, Nid, Pst};

/// The NID of the replica map.
pub const REPLICA_MAP_NID: Nid = Nid(0x801);

/// Replica ids past this are not read: Exchange gives a mailbox a handful,
/// and the array is one heap item (under 4 KiB), so a larger count is damage.
pub const MAX_REPLICAS: usize = 256;

/// The replica map: id → GUID, as the GUID array says, and GUID → id, as
/// the BTH says. Both are kept: they should agree, and a reader that finds
/// they do not can say so.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplicaMap {
    /// The GUID array, indexed by replica id (stored GUID bytes).
    pub by_id: Vec<[u8; 16]>,
    /// The BTH's records (GUID, id), in key order.
    pub by_guid: Vec<([u8; 16], u16)>,
}

impl ReplicaMap {
    /// Read the map of `pst`; `Ok(None)` when the file has no node 0x801
    /// (every PST, and OSTs of other writers).
    pub fn read(pst: &Pst<'_>) -> Result<Option<ReplicaMap>> {
        let node = match pst.node(REPLICA_MAP_NID) {
            Ok(n) => n,
            Err(e) if matches!(e.kind, NdbErrorKind::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(LtpError::from(e).with_nid(REPLICA_MAP_NID.0)),
        };
        let heap = Heap::open(node)?;
        ReplicaMap::from_heap(&heap).map(Some)
    }

    /// Parse the map from its heap.
    pub fn from_heap(heap: &Heap<'_>) -> Result<ReplicaMap> {
        let nid = heap.nid();
        heap.expect_client_sig(client_sig::RESERVED1, "replica map HNHDR bClientSig")?;
        let root = heap.get(heap.user_root())?;
        let (Some(hid_bth), Some(hid_array)) = (u32_at(root, 0), u32_at(root, 4)) else {
            return Err(LtpError::oob("replica map root", 0, 8, root.len() as u64).with_nid(nid));
        };
        let array = heap.get(hid_array)?;
        if array.len() % 16 != 0 {
            return Err(LtpError::bad(
                "replica map GUID array",
                0,
                "item size",
                array.len() as u64,
            )
            .with_nid(nid));
        }
        let by_id: Vec<[u8; 16]> = array
            .chunks_exact(16)
            .take(MAX_REPLICAS)
            .map(|c| {
                let mut g = [0u8; 16];
                g.copy_from_slice(c);
                g
            })
            .collect();
        let bth = Bth::open(heap, hid_bth)?;
        bth.expect_sizes(16, 2, "replica map BTHHEADER")?;
        let mut by_guid = Vec::new();
        for e in bth.iter().take(MAX_REPLICAS) {
            let e = e?;
            let id = match e.data {
                [lo, hi, ..] => u16::from_le_bytes([*lo, *hi]),
                _ => continue,
            };
            by_guid.push((e.key.to_le_bytes(), id));
        }
        Ok(ReplicaMap { by_id, by_guid })
    }

    /// The GUID of replica `id`: from the array, else from the BTH.
    pub fn guid(&self, id: u16) -> Option<[u8; 16]> {
        self.by_id
            .get(id as usize)
            .copied()
            .or_else(|| self.by_guid.iter().find(|e| e.1 == id).map(|e| e.0))
    }

    /// The replica id of a GUID, from the BTH, else from the array.
    pub fn id(&self, guid: &[u8; 16]) -> Option<u16> {
        self.by_guid
            .iter()
            .find(|e| &e.0 == guid)
            .map(|e| e.1)
            .or_else(|| {
                let i = self.by_id.iter().position(|g| g == guid)?;
                u16::try_from(i).ok()
            })
    }

    /// Every (id, GUID) the map knows, by id, each id once.
    pub fn entries(&self) -> Vec<(u16, [u8; 16])> {
        let mut out: Vec<(u16, [u8; 16])> = self
            .by_id
            .iter()
            .enumerate()
            .filter_map(|(i, g)| Some((u16::try_from(i).ok()?, *g)))
            .collect();
        for &(g, id) in &self.by_guid {
            if !out.iter().any(|e| e.0 == id) {
                out.push((id, g));
            }
        }
        out.sort_by_key(|e| e.0);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::heap::tests::{heap_of, hnhdr, page};
    use super::*;
    use crate::ndb::Format;

    const G0: [u8; 16] = [0xc3; 16];
    const G1: [u8; 16] = [0xbc; 16];

    fn map_heap(sig: u8, array: &[u8], leaf: &[u8], key_size: u8) -> Heap<'static> {
        // Items: 0x20 root, 0x40 BTH header, 0x60 array, 0x80 leaf.
        let mut root = 0x40u32.to_le_bytes().to_vec();
        root.extend(0x60u32.to_le_bytes());
        let mut bth = vec![0xB5, key_size, 2, 0];
        bth.extend(0x80u32.to_le_bytes());
        heap_of(
            Format::Unicode,
            vec![page(&hnhdr(sig, 0x20), &[&root, &bth, array, leaf])],
        )
    }

    fn leaf(records: &[([u8; 16], u16)]) -> Vec<u8> {
        let mut sorted = records.to_vec();
        sorted.sort_by_key(|r| u128::from_le_bytes(r.0));
        let mut out = Vec::new();
        for (g, id) in sorted {
            out.extend(g);
            out.extend(id.to_le_bytes());
        }
        out
    }

    #[test]
    fn reads_both_directions() {
        let mut array = G0.to_vec();
        array.extend(G1);
        let heap = map_heap(0x6C, &array, &leaf(&[(G0, 0), (G1, 1)]), 16);
        let map = ReplicaMap::from_heap(&heap).unwrap();
        assert_eq!(map.guid(1), Some(G1));
        assert_eq!(map.guid(0), Some(G0));
        assert_eq!(map.guid(2), None);
        assert_eq!(map.id(&G1), Some(1));
        assert_eq!(map.id(&[7; 16]), None);
        assert_eq!(map.entries(), vec![(0, G0), (1, G1)]);
    }

    #[test]
    fn hostile_maps_are_errors() {
        let array = G0.to_vec();
        // Wrong client signature.
        assert!(ReplicaMap::from_heap(&map_heap(0x7C, &array, &leaf(&[(G0, 0)]), 16)).is_err());
        // An array that is not whole GUIDs.
        assert!(
            ReplicaMap::from_heap(&map_heap(0x6C, &array[..15], &leaf(&[(G0, 0)]), 16)).is_err()
        );
        // A BTH with other key sizes.
        assert!(ReplicaMap::from_heap(&map_heap(0x6C, &array, &[0; 6], 4)).is_err());
    }
}
