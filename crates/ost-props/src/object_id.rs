//! Exchange object ids ([MS-OXCDATA] 2.2.1.2): PidTagMid of a message and
//! PidTagFolderId of a folder, which OSTs keep as property 0x67F4 (PT_I8)
//! on both the object and its contents-table row.
//!
//! The 8 stored bytes are a 2-byte little-endian replica id, then a 6-byte
//! big-endian global counter (GLOBCNT). With the replica map (NID 0x801)
//! the replica id becomes a GUID, and GUID + GLOBCNT is the object's
//! PidTagSourceKey, which real OSTs do not store.

use core::fmt;

use crate::guid::Guid;

/// Property 0x67F4 (PT_I8): the object id Outlook keeps on OST items and
/// folders (and on their table rows).
pub const PR_OST_OBJECT_ID: u16 = 0x67F4;

/// Length of a source key: replica GUID (16) + GLOBCNT (6).
pub const SOURCE_KEY_LEN: usize = 22;

/// A message or folder id: replica id + global counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId {
    pub replica_id: u16,
    /// 48 bits.
    pub globcnt: u64,
}

impl ObjectId {
    /// Decode the 8 stored bytes; `None` for any other length.
    pub fn from_bytes(bytes: &[u8]) -> Option<ObjectId> {
        let b: &[u8; 8] = bytes.try_into().ok()?;
        Some(ObjectId {
            replica_id: u16::from_le_bytes([b[0], b[1]]),
            globcnt: b[2..]
                .iter()
                .fold(0u64, |acc, &byte| (acc << 8) | u64::from(byte)),
        })
    }

    /// The 8 stored bytes.
    pub fn to_bytes(self) -> [u8; 8] {
        let mut b = [0u8; 8];
        b[..2].copy_from_slice(&self.replica_id.to_le_bytes());
        b[2..].copy_from_slice(&self.globcnt.to_be_bytes()[2..]);
        b
    }

    /// The GLOBCNT's 6 big-endian bytes.
    pub fn globcnt_bytes(self) -> [u8; 6] {
        let mut g = [0u8; 6];
        g.copy_from_slice(&self.globcnt.to_be_bytes()[2..]);
        g
    }

    /// The source key of this object when its replica is `replica`.
    pub fn source_key(self, replica: &Guid) -> [u8; SOURCE_KEY_LEN] {
        let mut key = [0u8; SOURCE_KEY_LEN];
        key[..16].copy_from_slice(replica.as_bytes());
        key[16..].copy_from_slice(&self.globcnt_bytes());
        key
    }
}

impl fmt::Display for ObjectId {
    /// `1-0x000000000A01`: replica id, then the GLOBCNT as MFCMAPI shows it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{:#014X}", self.replica_id, self.globcnt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_real_mid() {
        // The "Get started with OneDrive" row of the shared 4K OST.
        let id = ObjectId::from_bytes(&[1, 0, 0, 0, 0, 0, 0x0a, 0x01]).unwrap();
        assert_eq!(id.replica_id, 1);
        assert_eq!(id.globcnt, 0xa01);
        assert_eq!(id.to_bytes(), [1, 0, 0, 0, 0, 0, 0x0a, 0x01]);
        assert_eq!(id.to_string(), "1-0x000000000A01");
        let guid = Guid::from_bytes([0xbc; 16]);
        let key = id.source_key(&guid);
        assert_eq!(&key[..16], &[0xbc; 16]);
        assert_eq!(&key[16..], &[0, 0, 0, 0, 0x0a, 0x01]);
        assert!(ObjectId::from_bytes(&[1, 2, 3]).is_none());
        assert!(ObjectId::from_bytes(&[0; 9]).is_none());
    }

    #[test]
    fn round_trips_every_replica_and_the_top_of_the_counter() {
        for id in [
            ObjectId {
                replica_id: 0xFFFF,
                globcnt: 0xFFFF_FFFF_FFFF,
            },
            ObjectId {
                replica_id: 0,
                globcnt: 0,
            },
        ] {
            assert_eq!(ObjectId::from_bytes(&id.to_bytes()), Some(id));
        }
    }
}
