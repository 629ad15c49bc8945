//! Property tests: decoding never panics, parse/serialize round-trips, and
//! PCL comparison obeys the laws of a partial order on comparable lists.

use ost_props::pcl::{serialize, RawPclEntries};
use ost_props::{compare, DecodeError, Guid, Pcl, PclOrdering, Xid};
use proptest::collection::vec;
use proptest::prelude::*;

/// An owned XID for generation: GUID bytes + LocalId bytes (1..=8).
#[derive(Clone, Debug)]
struct OwnedXid {
    guid: [u8; 16],
    local_id: Vec<u8>,
}

impl OwnedXid {
    fn xid(&self) -> Xid<'_> {
        Xid::new(Guid::from_bytes(self.guid), &self.local_id).unwrap()
    }
}

fn any_xid() -> impl Strategy<Value = OwnedXid> {
    (any::<[u8; 16]>(), vec(any::<u8>(), 1..=8))
        .prop_map(|(guid, local_id)| OwnedXid { guid, local_id })
}

/// PCLs drawn from a small GUID pool with one fixed LocalId length per
/// GUID, so that lists are comparable and namespaces overlap often.
/// Counters stay small so that inclusion happens often too.
fn comparable_pcl() -> impl Strategy<Value = Vec<OwnedXid>> {
    const POOL: [(u8, usize); 4] = [(0x11, 6), (0x22, 4), (0x33, 1), (0x44, 8)];
    vec((0..POOL.len(), 0u8..4), 1..5).prop_map(|picks| {
        picks
            .into_iter()
            .map(|(which, low)| pooled_xid(POOL[which], low))
            .collect()
    })
}

/// An XID of namespace `[guid_byte; 16]` whose `len`-byte LocalId is `low`.
fn pooled_xid((guid_byte, len): (u8, usize), low: u8) -> OwnedXid {
    let mut local_id = vec![0u8; len];
    if let Some(last) = local_id.last_mut() {
        *last = low;
    }
    OwnedXid {
        guid: [guid_byte; 16],
        local_id,
    }
}

/// Like [`comparable_pcl`] but from two namespaces and three counter
/// values, so that chains A >= B >= C occur often enough for the
/// transitivity law to be exercised.
fn tiny_comparable_pcl() -> impl Strategy<Value = Vec<OwnedXid>> {
    vec((any::<bool>(), 0u8..3), 1..3).prop_map(|picks| {
        picks
            .into_iter()
            .map(|(first, low)| pooled_xid(if first { (0x11, 6) } else { (0x22, 4) }, low))
            .collect()
    })
}

fn encode(xids: &[OwnedXid]) -> Vec<u8> {
    serialize(xids.iter().map(OwnedXid::xid))
}

proptest! {
    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in vec(any::<u8>(), 0..200)) {
        let _ = Xid::parse(&bytes);
        match Pcl::parse(&bytes) {
            Ok(pcl) => {
                // A valid PCL re-encodes to exactly its input.
                prop_assert_eq!(pcl.to_vec(), bytes.clone());
                let _ = pcl.duplicate_namespaces();
                let _ = pcl.first_unsorted();
            }
            Err(error) => {
                prop_assert!(error.offset() <= bytes.len());
                // The lazy decoder reports the same first error.
                let first_error = RawPclEntries::new(&bytes).find_map(Result::err);
                if !bytes.is_empty() {
                    prop_assert_eq!(first_error, Some(error));
                } else {
                    prop_assert_eq!(error, DecodeError::Empty);
                }
            }
        }
    }

    #[test]
    fn xid_round_trips(owned in any_xid()) {
        let bytes = owned.xid().to_vec();
        let parsed = Xid::parse(&bytes).unwrap();
        prop_assert_eq!(parsed, owned.xid());
        prop_assert_eq!(&parsed.to_vec(), &bytes);
        let mut be = [0u8; 8];
        be[8 - owned.local_id.len()..].copy_from_slice(&owned.local_id);
        prop_assert_eq!(parsed.counter().value(), u64::from_be_bytes(be));
    }

    #[test]
    fn pcl_round_trips(owned in vec(any_xid(), 1..20)) {
        let bytes = encode(&owned);
        let pcl = Pcl::parse(&bytes).unwrap();
        prop_assert_eq!(pcl.len(), owned.len());
        let decoded: Vec<Xid> = pcl.xids().collect();
        let original: Vec<Xid> = owned.iter().map(OwnedXid::xid).collect();
        prop_assert_eq!(decoded, original);
        prop_assert_eq!(&pcl.to_vec(), &bytes);
    }

    #[test]
    fn truncated_pcl_is_an_error(owned in vec(any_xid(), 1..6), cut in 1usize..24) {
        let bytes = encode(&owned);
        let cut = cut.min(bytes.len() - 1).max(1);
        let shorter = &bytes[..bytes.len() - cut];
        // Cutting into the last entry always leaves a dangling entry.
        let last_start = bytes.len() - owned.last().unwrap().xid().encoded_len() - 1;
        if shorter.len() > last_start {
            let is_overrun = matches!(Pcl::parse(shorter), Err(DecodeError::Overrun { .. }));
            prop_assert!(is_overrun);
        }
    }

    #[test]
    fn comparison_is_reflexive(a in comparable_pcl()) {
        let bytes = encode(&a);
        let pcl = Pcl::parse(&bytes).unwrap();
        prop_assert_eq!(compare(&pcl, &pcl), PclOrdering::Identical);
    }

    #[test]
    fn comparison_is_antisymmetric(a in comparable_pcl(), b in comparable_pcl()) {
        let (a_bytes, b_bytes) = (encode(&a), encode(&b));
        let a = Pcl::parse(&a_bytes).unwrap();
        let b = Pcl::parse(&b_bytes).unwrap();
        let forward = compare(&a, &b);
        prop_assert_eq!(forward.reverse(), compare(&b, &a));
        // Identical means the same maximal counter per namespace.
        if forward == PclOrdering::Identical {
            for xid in a.xids().chain(b.xids()) {
                let max_in = |pcl: &Pcl| {
                    pcl.entries_for(xid.namespace()).map(|e| e.xid.counter()).max()
                };
                prop_assert_eq!(max_in(&a), max_in(&b));
            }
        }
    }

    #[test]
    fn comparison_is_transitive(
        a in tiny_comparable_pcl(),
        b in tiny_comparable_pcl(),
        c in tiny_comparable_pcl(),
    ) {
        let (a_bytes, b_bytes, c_bytes) = (encode(&a), encode(&b), encode(&c));
        let a = Pcl::parse(&a_bytes).unwrap();
        let b = Pcl::parse(&b_bytes).unwrap();
        let c = Pcl::parse(&c_bytes).unwrap();
        let at_least = |o: PclOrdering| matches!(o, PclOrdering::Identical | PclOrdering::Includes);
        if at_least(compare(&a, &b)) && at_least(compare(&b, &c)) {
            prop_assert!(at_least(compare(&a, &c)));
        }
    }

    #[test]
    fn a_list_includes_each_of_its_xids(a in comparable_pcl()) {
        let bytes = encode(&a);
        let pcl = Pcl::parse(&bytes).unwrap();
        for xid in pcl.xids() {
            let ordering = compare(&pcl, &xid);
            let covered = matches!(ordering, PclOrdering::Identical | PclOrdering::Includes);
            prop_assert!(covered);
        }
    }

    #[test]
    fn mixed_lengths_are_incomparable(
        a in comparable_pcl(),
        guid_pick in 0usize..4,
    ) {
        // Same GUIDs as the pool but a LocalId length none of them uses.
        let guid = [[0x11u8; 16], [0x22; 16], [0x33; 16], [0x44; 16]][guid_pick];
        let odd = OwnedXid { guid, local_id: vec![0; 3] };
        let bytes = encode(&a);
        let pcl = Pcl::parse(&bytes).unwrap();
        let shares_guid = pcl.xids().any(|x| x.namespace() == Guid::from_bytes(guid));
        let ordering = compare(&pcl, &odd.xid());
        prop_assert_eq!(shares_guid, matches!(ordering, PclOrdering::Incomparable(_)));
    }
}
