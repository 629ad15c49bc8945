//! Stores in the real-OST layout (`SyncPlacement::Rows` / `Both`), read
//! back with the reader crates: the rows carry what the manifest says, the
//! messages do not (or do, for `Both`), and the ids (MIDs, FIDs, replica
//! map, local namespace, long-term entry ids) decode to each other.

use std::collections::BTreeMap;

use ost_fixture::manifest::{filetime_rfc3339, hex};
use ost_fixture::{
    CryptMethod, Fixture, FixtureBuilder, Format, ItemKind, ManifestRecord, Rule, StoreRecord,
    SyncPlacement,
};
use ost_ndb::ltp::{Bth, Heap, PropertyContext, TableContext};
use ost_ndb::{Nid, Pst};

const CRYPTS: [CryptMethod; 3] = [CryptMethod::None, CryptMethod::Permute, CryptMethod::Cyclic];
const ROW_GAPS: usize = 3;
const PER_RULE: usize = 2;

const CHANGE_KEY: u16 = 0x65E2;
const PCL: u16 = 0x65E3;
const SOURCE_KEY: u16 = 0x65E0;
const LAST_MODIFIED: u16 = 0x3008;
const MID: u16 = 0x67F4;
const CONFLICT_ENTRYID: u16 = 0x3FF0;
const ADDITIONAL_REN_ENTRYIDS: u16 = 0x36D8;

fn build(format: Format, crypt: CryptMethod, placement: SyncPlacement) -> Fixture {
    let mut b = FixtureBuilder::new(format)
        .crypt(crypt)
        .messages(150)
        .seed(21)
        .sync_placement(placement)
        .row_gaps(ROW_GAPS);
    for rule in Rule::ALL.into_iter().chain(Rule::OST_ROWS) {
        b = b.plant(rule, PER_RULE);
    }
    b.build().unwrap()
}

fn pc<'a>(pst: &'a Pst<'a>, nid: u32) -> PropertyContext<'a> {
    PropertyContext::open(pst.node(Nid(nid)).unwrap()).unwrap()
}

fn pc_hex(pc: &PropertyContext<'_>, id: u16) -> Option<String> {
    pc.get(id).unwrap().map(|v| hex(v.as_bytes()))
}

fn time_of(bytes: &[u8]) -> String {
    filetime_rfc3339(u64::from_le_bytes(bytes.try_into().unwrap()))
}

/// The values of a PT_MV_BINARY.
fn mv_binary(b: &[u8]) -> Vec<&[u8]> {
    let n = u32::from_le_bytes(b[..4].try_into().unwrap()) as usize;
    let offset = |i: usize| {
        if i == n {
            b.len()
        } else {
            u32::from_le_bytes(b[4 + 4 * i..8 + 4 * i].try_into().unwrap()) as usize
        }
    };
    (0..n).map(|i| &b[offset(i)..offset(i + 1)]).collect()
}

fn guid(hex_text: &str) -> Vec<u8> {
    (0..hex_text.len() / 2)
        .map(|i| u8::from_str_radix(&hex_text[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// Replica GUID + GLOBCNT of a 0x67F4 value, by the store's replica map.
fn source_key_of(store: &StoreRecord, id: &[u8]) -> Vec<u8> {
    let replica = u16::from_le_bytes([id[0], id[1]]) as usize;
    let mut key = guid(&store.replicas[replica].guid);
    key.extend_from_slice(&id[2..8]);
    key
}

/// Rows hold exactly the manifest's row values and MID; property contexts
/// hold the manifest's item values and the same MID.
fn check_messages(label: &str, f: &Fixture, placement: SyncPlacement) {
    let pst = Pst::from_bytes(&f.bytes).unwrap();
    let store = f.store.as_ref().expect("store record");
    for r in &f.manifest {
        let node = pst.node(Nid(r.nid)).unwrap();
        let folder = node.parent.unwrap().0;
        let table_type = match r.kind {
            ItemKind::Contents => 0x0E,
            ItemKind::Associated => 0x0F,
        };
        let table = TableContext::open(pst.node(Nid((folder & !0x1F) | table_type)).unwrap())
            .unwrap_or_else(|e| panic!("{label}: table of {folder:#x}: {e}"));
        let row = table.row_by_id(r.nid).unwrap().expect("row");
        let cell = |tag: u32| row.get(tag).unwrap().map(|v| v.as_bytes().to_vec());
        let ctx = format!("{label} nid {:#x}", r.nid);
        assert_eq!(
            cell(0x65E2_0102).map(|v| hex(&v)),
            r.row_change_key,
            "{ctx}"
        );
        assert_eq!(cell(0x65E3_0102).map(|v| hex(&v)), r.row_pcl, "{ctx}");
        assert_eq!(
            cell(0x3008_0040).map(|v| time_of(&v)),
            r.row_last_modified,
            "{ctx}"
        );
        assert!(r.row_last_modified.is_some(), "{ctx}: every row has a time");
        let mid = r.mid.as_ref().expect("every message has a MID");
        assert_eq!(
            cell(0x67F4_0014).map(|v| hex(&v)),
            Some(mid.hex.clone()),
            "{ctx}"
        );
        assert_eq!(cell(0x0E17_0003), Some(vec![0; 4]), "{ctx}");

        let item = pc(&pst, r.nid);
        assert_eq!(pc_hex(&item, CHANGE_KEY), r.change_key, "{ctx}");
        assert_eq!(pc_hex(&item, PCL), r.pcl, "{ctx}");
        assert_eq!(
            item.get(LAST_MODIFIED)
                .unwrap()
                .map(|v| time_of(v.as_bytes())),
            r.last_modified,
            "{ctx}"
        );
        assert_eq!(pc_hex(&item, MID).as_ref(), Some(&mid.hex), "{ctx}");
        let derived = hex(&source_key_of(store, &guid(&mid.hex)));
        assert_eq!(r.source_key.as_ref(), Some(&derived), "{ctx}");
        match placement {
            SyncPlacement::Rows => assert_eq!(pc_hex(&item, SOURCE_KEY), None, "{ctx}"),
            _ => assert_eq!(pc_hex(&item, SOURCE_KEY), Some(derived), "{ctx}"),
        }

        // Where the metadata is, by what the message is.
        let planted: Option<&str> = r.planted.first().map(String::as_str);
        let where_ = r.placement.expect("placement");
        match (planted, where_) {
            (Some("ROW001"), SyncPlacement::Both) => {
                assert!(
                    r.change_key.is_some() && r.row_change_key.is_some(),
                    "{ctx}"
                );
                assert_ne!(r.change_key, r.row_change_key, "{ctx}");
                assert_ne!(r.pcl, r.row_pcl, "{ctx}");
                assert_ne!(r.last_modified, r.row_last_modified, "{ctx}");
            }
            (None, SyncPlacement::Item) => {
                // A row gap: the item has what the row lacks.
                assert!(r.change_key.is_some() && r.pcl.is_some(), "{ctx}");
                assert!(r.row_change_key.is_none() && r.row_pcl.is_none(), "{ctx}");
            }
            (_, p) => {
                assert_eq!(p, placement, "{ctx}");
                if p == SyncPlacement::Rows {
                    assert!(r.change_key.is_none() && r.pcl.is_none(), "{ctx}");
                    assert!(r.last_modified.is_none(), "{ctx}");
                } else {
                    assert_eq!(r.change_key, r.row_change_key, "{ctx}");
                    assert_eq!(r.pcl, r.row_pcl, "{ctx}");
                    assert_eq!(r.last_modified, r.row_last_modified, "{ctx}");
                }
            }
        }
        // Change keys by namespace: the server's for healthy items, the
        // OST's own for local changes.
        let ck = r.row_change_key.as_ref().or(r.change_key.as_ref());
        let want = match planted {
            Some("SYNC004" | "SYNC005") => Some("local"),
            Some("CK001" | "CK002") => None,
            _ => Some("server"),
        };
        assert_eq!(r.change_key_namespace, want, "{ctx}");
        match want {
            Some("local") => assert!(ck.unwrap().starts_with(&store.local_guid), "{ctx}"),
            Some(_) => assert!(ck.unwrap().starts_with(&store.server_guid), "{ctx}"),
            None => {}
        }
        // Items made offline got ids from Outlook's own replica.
        let replica = if planted == Some("SYNC005") { 2 } else { 1 };
        assert_eq!(mid.replica_id, replica, "{ctx}");
    }
    let count = |p: SyncPlacement| {
        f.manifest
            .iter()
            .filter(|r| r.placement == Some(p) && r.planted.is_empty())
            .count()
    };
    assert_eq!(count(SyncPlacement::Item), ROW_GAPS, "{label}: row gaps");
    for rule in Rule::ALL.into_iter().chain(Rule::OST_ROWS) {
        let n = f
            .manifest
            .iter()
            .filter(|r| r.planted == [rule.id()])
            .count();
        assert_eq!(n, PER_RULE, "{label}: {rule}");
    }
}

/// NID 0x801: GUID -> replica id through the BTH, id -> GUID through the
/// array, both as the store record says.
fn check_replica_map(label: &str, f: &Fixture) {
    let pst = Pst::from_bytes(&f.bytes).unwrap();
    let store = f.store.as_ref().unwrap();
    let heap = Heap::open(pst.node(Nid(0x801)).unwrap()).unwrap();
    assert_eq!(heap.client_sig(), 0x6C, "{label}");
    assert_eq!(heap.user_root(), 0x20, "{label}");
    let root = heap.get(0x20).unwrap();
    assert_eq!(root.len(), 8, "{label}");
    let hid_bth = u32::from_le_bytes(root[..4].try_into().unwrap());
    let hid_array = u32::from_le_bytes(root[4..].try_into().unwrap());
    let bth = Bth::open(&heap, hid_bth).unwrap();
    let h = bth.header();
    assert_eq!((h.key_size, h.entry_size, h.levels), (16, 2, 0), "{label}");
    let array = heap.get(hid_array).unwrap();
    assert_eq!(array.len(), 16 * store.replicas.len(), "{label}");
    let mut keys = Vec::new();
    for e in bth.iter() {
        let e = e.unwrap();
        let key = e.key.to_le_bytes();
        let id = u16::from_le_bytes(e.data.try_into().unwrap()) as usize;
        assert_eq!(&array[16 * id..16 * id + 16], &key, "{label}");
        assert_eq!(store.replicas[id].guid, hex(&key), "{label}");
        keys.push(key);
    }
    assert_eq!(keys.len(), store.replicas.len(), "{label}");
    // Outlook's order: bytewise, as in both real OSTs seen.
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "{label}");
    assert_eq!(
        store.replicas[0].guid, "c3b68e10f77511ceb4cd00aa00bbb6e6",
        "{label}"
    );
    assert_eq!(store.replicas[1].guid, store.server_guid, "{label}");

    let s = pc(&pst, 0x21);
    let ns = s.get(0x7C07).unwrap().unwrap();
    let ns = ns.as_bytes();
    assert_eq!(ns.len(), 80, "{label}");
    assert_eq!(&ns[..4], &[1, 0, 0, 0], "{label}");
    assert_eq!(hex(&ns[4..20]), store.local_guid, "{label}");
    assert_eq!(hex(&ns[32..48]), store.server_guid, "{label}");
    assert_eq!(
        pc_hex(&s, 0x6615),
        Some(store.provider_uid.clone()),
        "{label}"
    );
}

/// The Inbox's PR_ADDITIONAL_REN_ENTRYIDS are long-term ids naming the
/// Sync Issues folders by their folder ids; conflict items name their
/// originals by 70-byte message entry ids.
fn check_entry_ids(label: &str, f: &Fixture) {
    let pst = Pst::from_bytes(&f.bytes).unwrap();
    let store = f.store.as_ref().unwrap();
    let folder = |name: &str| {
        store
            .folders
            .iter()
            .find(|x| x.path.ends_with(name))
            .unwrap_or_else(|| panic!("{label}: no {name}"))
    };
    // Folder ids as the folders' property contexts hold them.
    let fid_in_file = |nid: u32| guid(&pc_hex(&pc(&pst, nid), MID).expect("folder id"));
    let inbox = folder("/Inbox");
    assert_eq!(
        fid_in_file(inbox.nid),
        [0, 0, 0, 0, 0, 0, 0, 0x0c],
        "{label}"
    );
    let inbox_pc = pc(&pst, inbox.nid);
    let ren = inbox_pc.get(ADDITIONAL_REN_ENTRYIDS).unwrap().unwrap();
    let values = mv_binary(ren.as_bytes());
    assert_eq!(values.len(), 5, "{label}");
    let provider = guid(&store.provider_uid);
    let names = [
        "/Sync Issues/Conflicts",
        "/Sync Issues",
        "/Sync Issues/Local Failures",
        "/Sync Issues/Server Failures",
    ];
    for (value, name) in values.iter().zip(names) {
        assert_eq!(value.len(), 46, "{label} {name}");
        assert_eq!(&value[..4], &[0; 4], "{label} {name}");
        assert_eq!(&value[4..20], provider.as_slice(), "{label} {name}");
        assert_eq!(&value[20..22], &[1, 0], "{label} {name}");
        let fid = fid_in_file(folder(name).nid);
        assert_eq!(fid[..2], [1, 0], "{label} {name}: server replica");
        assert_eq!(
            &value[22..44],
            source_key_of(store, &fid).as_slice(),
            "{label} {name}"
        );
        assert_eq!(&value[44..], &[0, 0], "{label} {name}");
    }
    assert!(values[4].is_empty(), "{label}: no Junk E-mail folder");

    // Conflict items -> originals.
    let by_source_key: BTreeMap<&str, &ManifestRecord> = f
        .manifest
        .iter()
        .map(|r| (r.source_key.as_deref().unwrap(), r))
        .collect();
    let mut linked = 0;
    for r in f
        .manifest
        .iter()
        .filter(|r| r.message_class == "IPM.Conflict.Message")
    {
        let item = pc(&pst, r.nid);
        let Some(id) = item.get(CONFLICT_ENTRYID).unwrap() else {
            continue;
        };
        let id = id.as_bytes();
        assert_eq!(id.len(), 70, "{label}");
        assert_eq!(&id[4..20], provider.as_slice(), "{label}");
        assert_eq!(&id[20..22], &[7, 0], "{label}");
        let original = by_source_key[hex(&id[46..68]).as_str()];
        let original_folder = store
            .folders
            .iter()
            .find(|x| x.path == original.folder)
            .unwrap();
        let fid = fid_in_file(original_folder.nid);
        assert_eq!(
            &id[22..44],
            source_key_of(store, &fid).as_slice(),
            "{label}"
        );
        assert!(!original.folder.contains("/Sync Issues"), "{label}");
        linked += 1;
    }
    assert!(linked > 0, "{label}: no conflict item names an original");
}

#[test]
fn row_stores_of_every_ost_format_and_crypt_read_back() {
    for format in [Format::Ost, Format::Ost4k] {
        for crypt in CRYPTS {
            let label = format!("{format}-{}", crypt.name());
            let f = build(format, crypt, SyncPlacement::Rows);
            check_messages(&label, &f, SyncPlacement::Rows);
            check_replica_map(&label, &f);
            check_entry_ids(&label, &f);
        }
    }
}

#[test]
fn both_stores_keep_the_metadata_in_rows_and_items() {
    for format in [Format::Ost, Format::Ost4k] {
        let label = format!("{format}-both");
        let f = build(format, CryptMethod::Permute, SyncPlacement::Both);
        check_messages(&label, &f, SyncPlacement::Both);
        check_replica_map(&label, &f);
        check_entry_ids(&label, &f);
    }
}

#[test]
fn row_stores_are_deterministic() {
    for format in [Format::Ost, Format::Ost4k] {
        let a = build(format, CryptMethod::Cyclic, SyncPlacement::Rows);
        let b = build(format, CryptMethod::Cyclic, SyncPlacement::Rows);
        assert!(a.bytes == b.bytes, "{format}");
        assert_eq!(a.manifest, b.manifest, "{format}");
        let c = FixtureBuilder::new(format)
            .messages(150)
            .seed(22)
            .sync_placement(SyncPlacement::Rows)
            .build()
            .unwrap();
        assert!(a.bytes != c.bytes, "{format}");
    }
}

#[test]
fn row_options_are_checked() {
    let rows = |format| FixtureBuilder::new(format).sync_placement(SyncPlacement::Rows);
    assert!(rows(Format::Unicode).build().is_err());
    assert!(rows(Format::Ansi).build().is_err());
    for rule in Rule::OST_ROWS {
        let item = FixtureBuilder::new(Format::Ost).plant(rule, 1);
        assert!(item.validate().is_err(), "{rule}");
        assert!(
            rows(Format::Ost).plant(rule, 1).validate().is_ok(),
            "{rule}"
        );
    }
    assert!(FixtureBuilder::new(Format::Ost4k)
        .row_gaps(1)
        .validate()
        .is_err());
    assert!(rows(Format::Ost4k)
        .messages(3)
        .row_gaps(4)
        .validate()
        .is_err());
}

#[test]
fn item_stores_write_none_of_the_ost_ids() {
    let f = FixtureBuilder::new(Format::Ost)
        .messages(30)
        .build()
        .unwrap();
    assert!(f.store.is_none());
    assert!(f.layout.node(0x801).is_none());
    assert!(f
        .manifest
        .iter()
        .all(|r| r.placement.is_none() && r.mid.is_none()));
}
