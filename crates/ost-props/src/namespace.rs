//! Whose change an XID names: the server's or this cache's own.
//!
//! An OST's change keys come from two kinds of namespace ([MS-OXCFXICS]
//! 2.2.2.2, 3.3.5.2.3):
//! - **server**: the mailbox's replica GUIDs, with 6-byte LocalIds (change
//!   numbers the server assigned);
//! - **local**: a GUID of the OST's own, with 4-byte LocalIds, for changes
//!   Outlook made in the cache and has not had confirmed by the server.
//!
//! The evidence, strongest first (docs/format.md, "Namespaces"):
//! 1. the replica map (NID 0x801) lists the server's replica GUIDs;
//! 2. the message store's property 0x7C07 holds the OST's local namespace
//!    GUID at bytes 4..20 (seen in both real OSTs we have: the GUID of every
//!    20-byte change key there);
//! 3. without either, a 6-byte LocalId is a server's (clients must not use
//!    that length), and any other length is unknown.

use ost_ndb::ltp::ReplicaMap;
use ost_ndb::{Nid, Pst};

use crate::guid::Guid;
use crate::item::open_pc;
use crate::object_id::{ObjectId, SOURCE_KEY_LEN};
use crate::problem::Problem;
use crate::xid::Xid;

/// The message store property holding the local namespace GUID at bytes
/// 4..20 (undocumented; docs/format.md).
pub const PR_OST_LOCAL_NAMESPACE: u16 = 0x7C07;

/// Whose change an XID names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NamespaceRole {
    /// A change the server made (or confirmed): a replica GUID of the
    /// mailbox, or a 6-byte LocalId.
    Server,
    /// A change made in this cache: the OST's own namespace.
    Local,
    /// Neither can be told.
    Unknown,
}

impl NamespaceRole {
    /// `server`, `local` or `unknown`, as reports print it.
    pub fn name(self) -> &'static str {
        match self {
            NamespaceRole::Server => "server",
            NamespaceRole::Local => "local",
            NamespaceRole::Unknown => "unknown",
        }
    }
}

/// The namespaces of one store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Namespaces {
    /// (replica id, GUID) of every replica the map lists, by id.
    pub replicas: Vec<(u16, Guid)>,
    /// The OST's local namespace, when the store names it.
    pub local: Option<Guid>,
}

impl Namespaces {
    /// Read the replica map and the store's local namespace. Missing
    /// structures are no error (PSTs have neither); damaged ones are
    /// returned as errors and left out.
    pub fn read(pst: &Pst<'_>) -> (Namespaces, Vec<Problem>) {
        let mut errors = Vec::new();
        let mut ns = Namespaces::default();
        match ReplicaMap::read(pst) {
            Ok(Some(map)) => {
                ns.replicas = map
                    .entries()
                    .into_iter()
                    .map(|(id, g)| (id, Guid::from_bytes(g)))
                    .collect();
            }
            Ok(None) => {}
            Err(e) => errors.push(Problem::ltp(
                pst,
                &e,
                ost_ndb::ltp::replica_map::REPLICA_MAP_NID,
            )),
        }
        let store = open_pc(pst, Nid::MESSAGE_STORE);
        match store.and_then(|pc| Ok(pc.get(PR_OST_LOCAL_NAMESPACE)?.map(|v| v.into_owned()))) {
            Ok(Some(v)) => {
                ns.local = v
                    .as_bytes()
                    .get(4..20)
                    .and_then(Guid::from_prefix)
                    // A replica GUID is the server's, whatever 0x7C07 says.
                    .filter(|g| !ns.replicas.iter().any(|(_, r)| r == g));
            }
            Ok(None) => {}
            // The store node is read (and its problems reported) by the walk.
            Err(_) => {}
        }
        (ns, errors)
    }

    /// Whether the store says anything about its namespaces (an OST with
    /// a replica map or a local namespace).
    pub fn is_known(&self) -> bool {
        !self.replicas.is_empty() || self.local.is_some()
    }

    /// The role of an XID's namespace.
    pub fn role(&self, xid: &Xid<'_>) -> NamespaceRole {
        let guid = xid.namespace();
        if self.replicas.iter().any(|(_, g)| *g == guid) {
            NamespaceRole::Server
        } else if self.local == Some(guid) {
            NamespaceRole::Local
        } else if xid.has_globcnt_len() {
            NamespaceRole::Server
        } else {
            NamespaceRole::Unknown
        }
    }

    /// The GUID of replica `id`.
    pub fn replica(&self, id: u16) -> Option<Guid> {
        self.replicas.iter().find(|e| e.0 == id).map(|e| e.1)
    }

    /// The replica id of a GUID.
    pub fn replica_id(&self, guid: &Guid) -> Option<u16> {
        self.replicas.iter().find(|e| e.1 == *guid).map(|e| e.0)
    }

    /// The source key an object id stands for, when the map knows its
    /// replica.
    pub fn source_key(&self, id: ObjectId) -> Option<[u8; SOURCE_KEY_LEN]> {
        Some(id.source_key(&self.replica(id.replica_id)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xid(guid: u8, len: usize) -> Vec<u8> {
        let mut x = vec![guid; 16];
        x.extend(std::iter::repeat_n(1, len));
        x
    }

    #[test]
    fn roles_by_map_store_and_length() {
        let ns = Namespaces {
            replicas: vec![(1, Guid::from_bytes([0xbc; 16]))],
            local: Some(Guid::from_bytes([0x26; 16])),
        };
        let role = |b: &[u8]| ns.role(&Xid::parse(b).unwrap());
        assert_eq!(role(&xid(0xbc, 6)), NamespaceRole::Server);
        // The map decides, whatever the length.
        assert_eq!(role(&xid(0xbc, 4)), NamespaceRole::Server);
        assert_eq!(role(&xid(0x26, 4)), NamespaceRole::Local);
        // A foreign GUID: a 6-byte LocalId is a server's, others unknown.
        assert_eq!(role(&xid(0x99, 6)), NamespaceRole::Server);
        assert_eq!(role(&xid(0x99, 4)), NamespaceRole::Unknown);
        let none = Namespaces::default();
        assert!(!none.is_known());
        assert_eq!(
            none.role(&Xid::parse(&xid(0x26, 4)).unwrap()),
            NamespaceRole::Unknown
        );
        let id = ObjectId {
            replica_id: 1,
            globcnt: 0x507,
        };
        assert_eq!(ns.source_key(id).unwrap()[..16], [0xbc; 16]);
        assert!(ns
            .source_key(ObjectId {
                replica_id: 2,
                globcnt: 1
            })
            .is_none());
    }
}
