//! The LTP layer on the real files of the shared corpus, cross-checked with
//! values printed by the libpff oracle (`../shared/tools/pff-oracle`).

use std::path::PathBuf;

use std::collections::HashMap;

use ost_ndb::ltp::{prop_type, PropValue, PropertyContext, TableContext};
use ost_ndb::{Nid, NidType, Pst};

mod common;
use common::corpus;

fn open(name: &str) -> Option<Pst<'static>> {
    let path = corpus()?.join(name);
    if !path.is_file() {
        common::skip(format_args!("skipping: {} absent", path.display()));
        return None;
    }
    Some(Pst::open(&path).unwrap_or_else(|e| panic!("{name}: {e}")))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Files whose BBT is damaged: nodes may be unreadable there.
const DAMAGED: &[&str] = &["asposenet_AddingBulkMessagesWithImprovedPerformance.pst"];

fn corpus_files() -> Vec<PathBuf> {
    let Some(dir) = corpus() else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("pst") | Some("ost")
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn hughbe_backup_store_and_message() {
    let Some(pst) = open("hughbe_backup.pst") else {
        return;
    };
    let store = PropertyContext::open(pst.node(Nid::MESSAGE_STORE).unwrap()).unwrap();
    let name = store.get(0x3001).unwrap().unwrap();
    assert_eq!(name.as_string().unwrap(), "Outlook Data File");

    let msg = PropertyContext::open(pst.node(Nid(2097188)).unwrap()).unwrap();
    assert_eq!(
        msg.get(0x0037).unwrap().unwrap().as_string().unwrap(),
        "\u{1}\u{1}Success"
    );
    assert_eq!(
        msg.get(0x001A).unwrap().unwrap().as_string().unwrap(),
        "IPM.Note"
    );
    assert_eq!(
        hex(msg.get(0x65E2).unwrap().unwrap().as_bytes()),
        "4ab111f7c89294409843750be6086bc4000000000529"
    );
    assert_eq!(
        hex(msg.get(0x65E3).unwrap().unwrap().as_bytes()),
        "164ab111f7c89294409843750be6086bc4000000000529"
    );
    // 2020-09-16T09:12:59.3800040Z
    let ft = msg.get(0x3008).unwrap().unwrap().as_filetime().unwrap();
    assert_eq!(ft, filetime(2020, 9, 16, 9, 12, 59, 3_800_040));
    // The oracle counts 140 entries in this message's PC.
    assert_eq!(msg.len().unwrap(), 140);
    assert!(msg.iter().all(|r| r.unwrap().2.is_ok()));
}

/// FILETIME of a UTC date and time (100 ns units since 1601).
fn filetime(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64, ticks: i64) -> u64 {
    // Days from 1601-01-01 by the civil-from-days inverse.
    let (y2, m2) = if mo <= 2 {
        (y - 1, mo + 9)
    } else {
        (y, mo - 3)
    };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * m2 + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days_since_1970 = era * 146097 + doe - 719468;
    let days = days_since_1970 + 134774;
    (((days * 24 + h) * 60 + mi) * 60 + s) as u64 * 10_000_000 + ticks as u64
}

#[test]
fn every_message_pc_reads() {
    for path in corpus_files() {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let pst = Pst::open(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let damaged = DAMAGED.contains(&name.as_str());
        let mut n = 0;
        for e in pst.nbt_iter() {
            let e = match e {
                Ok(e) => e,
                Err(err) if damaged => {
                    println!("{name}: {err}");
                    continue;
                }
                Err(err) => panic!("{name}: NBT: {err}"),
            };
            if e.nid.nid_type() != NidType::NormalMessage {
                continue;
            }
            let node = pst.node_from_entry(&e);
            let res = PropertyContext::open(node).and_then(|pc| {
                let mut count = 0;
                for p in pc.iter() {
                    let (id, ty, v) = p?;
                    if let Err(err) = v {
                        println!("  property {id:#06x} type {ty:#06x}: {err}");
                        return Err(err);
                    }
                    count += 1;
                }
                Ok(count)
            });
            match res {
                Ok(_) => n += 1,
                Err(err) if damaged => println!("{name}: {:#x}: {err}", e.nid.0),
                Err(err) => panic!("{name}: message {:#x}: {err}", e.nid.0),
            }
        }
        println!("{name}: {n} message PCs read");
    }
}

/// Oracle values: file, message NID, subject (prefix stripped), message
/// class, change key, PCL, last modified, number of properties.
type Expect = (
    &'static str,
    u32,
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
    usize,
);

const ORACLE: &[Expect] = &[
    // ANSI (wVer 14).
    (
        "pst2john_2k_outlook_qwerty1234.pst",
        2097188,
        "Welcome to Microsoft Outlook 2000!",
        "IPM.Note",
        None,
        None,
        Some("1998-12-07T07:22:07.3290000Z"),
        71,
    ),
    // ANSI with sync metadata.
    (
        "pstsdk_sample2.pst",
        2097188,
        "Here is a sample message",
        "IPM.Note",
        Some("b2fddb8be384c94794441db4a7f3d8b8000004ae6257"),
        Some("16b2fddb8be384c94794441db4a7f3d8b8000004ae6257"),
        Some("2010-03-19T20:34:50.4170000Z"),
        93,
    ),
    // Cyclic encoding.
    (
        "pst2john_2003_high-encryption_quickquick.pst",
        2097188,
        "FW: Welcome to Microsoft Outlook 2000!",
        "IPM.Note",
        None,
        None,
        Some("2012-07-24T17:41:03.3900000Z"),
        48,
    ),
    // OST.
    (
        "asposenet_SampleOstFile.ost",
        2179620,
        "xx",
        "IPM.Note",
        None,
        None,
        None,
        86,
    ),
    // Multi-block heaps, subnode row matrices.
    (
        "asposenet_Outlook.pst",
        2097476,
        "Multiple attachments",
        "IPM.Note",
        None,
        None,
        Some("2013-11-26T14:55:18.9120000Z"),
        75,
    ),
    (
        "asposenet_Chunks_Test_part1.pst",
        2097188,
        "Multiple attachments",
        "IPM.Note",
        None,
        None,
        Some("2011-06-21T23:51:07.6710000Z"),
        74,
    ),
    (
        "asposenet_passwordprotectedPST.pst",
        2097860,
        "Message with Attachments",
        "IPM.Note",
        Some("696f32eb17252340bc531701b028cf4e0001401b"),
        Some("14696f32eb17252340bc531701b028cf4e0001401b"),
        Some("2017-02-13T09:37:11.8550000Z"),
        44,
    ),
    (
        "pstsdk_sample1.pst",
        2097188,
        "Here is a sample message",
        "IPM.Note",
        Some("b2fddb8be384c94794441db4a7f3d8b8000004ae6257"),
        Some("16b2fddb8be384c94794441db4a7f3d8b8000004ae6257"),
        Some("2010-03-19T20:08:06.4870000Z"),
        110,
    ),
    (
        "tika_testPST_variousBodyTypes.pst",
        2097220,
        "FW: original email",
        "IPM.Note",
        Some("778e06323193dc4f95fa1b457188c88d0000fd0debca"),
        Some("16778e06323193dc4f95fa1b457188c88d0000fd0debca"),
        Some("2017-08-30T19:28:03.0690000Z"),
        146,
    ),
    (
        "tghanem_user1_at_test.lab.pst",
        2097380,
        "Test1",
        "IPM.Note",
        None,
        None,
        Some("2017-06-17T14:20:20.2190000Z"),
        47,
    ),
];

/// A string property: PT_UNICODE decoded, PT_STRING8 as Latin-1.
fn text(v: &PropValue<'_>) -> String {
    match v.prop_type {
        prop_type::UNICODE => v.as_string().unwrap(),
        prop_type::STRING8 => v
            .as_bytes()
            .iter()
            .take_while(|&&b| b != 0)
            .map(|&b| b as char)
            .collect(),
        t => panic!("not a string type: {t:#x}"),
    }
}

/// "2020-09-16T09:12:59.3800040Z" as a FILETIME.
fn parse_time(s: &str) -> u64 {
    let n = |a: usize, b: usize| s[a..b].parse::<i64>().unwrap();
    filetime(
        n(0, 4),
        n(5, 7),
        n(8, 10),
        n(11, 13),
        n(14, 16),
        n(17, 19),
        n(20, 27),
    )
}

#[test]
fn messages_match_the_oracle() {
    for &(file, nid, subject, class, ck, pcl, modified, entries) in ORACLE {
        let Some(pst) = open(file) else {
            return;
        };
        let pc = PropertyContext::open(pst.node(Nid(nid)).unwrap()).unwrap();
        let ctx = format!("{file} {nid:#x}");
        let mut subj = text(&pc.get(0x0037).unwrap().unwrap());
        // A subject beginning with U+0001 has a 2-character prefix marker.
        if subj.starts_with('\u{1}') {
            subj = subj.chars().skip(2).collect();
        }
        assert_eq!(subj, subject, "{ctx}");
        assert_eq!(text(&pc.get(0x001A).unwrap().unwrap()), class, "{ctx}");
        let hexof = |id| pc.get(id).unwrap().map(|v| hex(v.as_bytes()));
        assert_eq!(hexof(0x65E2).as_deref(), ck, "{ctx}");
        assert_eq!(hexof(0x65E3).as_deref(), pcl, "{ctx}");
        let lm = pc.get(0x3008).unwrap().and_then(|v| v.as_filetime());
        assert_eq!(lm, modified.map(parse_time), "{ctx}");
        assert_eq!(pc.len().unwrap(), entries, "{ctx}");
    }
}

#[test]
fn hierarchy_table_of_the_root_folder() {
    let Some(pst) = open("hughbe_backup.pst") else {
        return;
    };
    let tc = TableContext::open(pst.node(Nid(0x12D)).unwrap()).unwrap();
    assert!(tc.row_count().unwrap() > 0);
    for row in tc.rows().unwrap() {
        let row = row.unwrap();
        assert!(matches!(
            Nid(row.id()).nid_type(),
            NidType::NormalFolder | NidType::SearchFolder
        ));
        // Every child folder is a node whose parent is the root folder.
        let node = pst.node(Nid(row.id())).unwrap();
        assert_eq!(node.parent, Some(Nid::ROOT_FOLDER));
        let name = row.get(0x3001).unwrap().unwrap();
        let pc = PropertyContext::open(node).unwrap();
        assert_eq!(name.as_bytes(), pc.get(0x3001).unwrap().unwrap().as_bytes());
    }
}

/// Folder paths as the oracle prints them: display names from below the
/// root folder down, joined with '/'.
fn folder_paths(pst: &Pst<'_>) -> HashMap<Nid, String> {
    let mut names = HashMap::new();
    let mut parents = HashMap::new();
    for e in pst.nbt_iter() {
        let e = e.unwrap();
        if e.nid.nid_type() != NidType::NormalFolder {
            continue;
        }
        let pc = PropertyContext::open(pst.node_from_entry(&e)).unwrap();
        let name = pc
            .get(0x3001)
            .unwrap()
            .map(|v| text(&v))
            .unwrap_or_default();
        names.insert(e.nid, name);
        parents.insert(e.nid, e.nid_parent);
    }
    let mut paths = HashMap::new();
    for &nid in names.keys() {
        let mut parts = Vec::new();
        let mut cur = nid;
        while cur != Nid::ROOT_FOLDER && parts.len() < 64 {
            parts.push(names.get(&cur).cloned().unwrap_or_default());
            match parents.get(&cur) {
                Some(&p) if p != cur => cur = p,
                _ => break,
            }
        }
        parts.reverse();
        paths.insert(
            nid,
            parts.iter().map(|p| format!("/{p}")).collect::<String>(),
        );
    }
    paths
}

/// Messages per folder from the oracle (items it listed plus items it
/// failed on, which are still rows of the contents table).
const FOLDER_COUNTS: &[(&str, &[(&str, usize)])] = &[
    (
        "asposenet_SampleOstFile.ost",
        &[
            ("/Root - Mailbox/IPM_SUBTREE/Calendar", 1),
            ("/Root - Mailbox/IPM_SUBTREE/Deleted Items", 10),
            ("/Root - Mailbox/IPM_SUBTREE/Inbox", 12),
            ("/Root - Mailbox/IPM_SUBTREE/Inbox/sub1", 25),
            ("/Root - Mailbox/IPM_SUBTREE/Inbox/sub2", 29),
            ("/Root - Mailbox/IPM_SUBTREE/Sent Items", 6),
            ("/Root - Mailbox/IPM_SUBTREE/Sync Issues", 9),
        ],
    ),
    (
        "asposenet_Outlook.pst",
        &[
            ("/Freebusy Data", 1),
            ("/Top of Personal Folders/Calendar", 1),
            ("/Top of Personal Folders/Contacts", 1),
            ("/Top of Personal Folders/Inbox", 8),
            ("/Top of Personal Folders/Sent Items", 6),
        ],
    ),
    // libpff lists 9 contacts and fails on 12 more (PT_UNSPECIFIED values).
    (
        "asposenet_Chunks_Test_part1.pst",
        &[
            ("/Top of Personal Folders/Calendar", 9),
            ("/Top of Personal Folders/Contacts", 21),
            ("/Top of Personal Folders/Sent Items", 31),
        ],
    ),
    (
        "pst2john_2k_outlook_qwerty1234.pst",
        &[("/Top of Personal Folders/Deleted Items", 73)],
    ),
];

#[test]
fn contents_tables_match_the_oracle() {
    for &(file, counts) in FOLDER_COUNTS {
        let Some(pst) = open(file) else {
            return;
        };
        let paths = folder_paths(&pst);
        let mut seen = 0;
        for (&folder, path) in &paths {
            let Ok(node) = pst.node(folder.with_type(NidType::ContentsTable)) else {
                continue;
            };
            let tc = TableContext::open(node).unwrap_or_else(|e| panic!("{file} {path}: {e}"));
            let want = counts
                .iter()
                .find(|(p, _)| p == path)
                .map(|c| c.1)
                .unwrap_or(0);
            assert_eq!(tc.row_count().unwrap(), want, "{file} {path}");
            if want > 0 {
                seen += 1;
            }
        }
        assert_eq!(seen, counts.len(), "{file}");
    }
}

/// Tables whose row matrix spans several subnode blocks, and PCs whose heap
/// spans several pages, are read, and agree with the oracle's counts.
#[test]
fn multi_block_heaps_and_row_matrices() {
    let (mut multi_matrix, mut multi_heap) = (0, 0);
    for path in corpus_files() {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if DAMAGED.contains(&name.as_str()) {
            continue;
        }
        let pst = Pst::open(&path).unwrap();
        for e in pst.nbt_iter() {
            let e = e.unwrap();
            let node = pst.node_from_entry(&e);
            match e.nid.nid_type() {
                NidType::HierarchyTable | NidType::ContentsTable | NidType::AssocContentsTable => {
                    let tc = TableContext::open(node).unwrap();
                    if tc.row_matrix_blocks().unwrap_or(0) > 1 {
                        multi_matrix += 1;
                        println!(
                            "{name}: {:#x} row matrix in {:?} blocks, {} rows",
                            e.nid.0,
                            tc.row_matrix_blocks(),
                            tc.row_count().unwrap()
                        );
                        for row in tc.rows().unwrap() {
                            let row = row.unwrap();
                            let id = row.get(0x67F2_0003).unwrap().unwrap().as_i32().unwrap();
                            assert_eq!(id as u32, row.id(), "{name}");
                        }
                    }
                }
                NidType::NormalMessage | NidType::NormalFolder | NidType::Internal => {
                    let Ok(pc) = PropertyContext::open(node) else {
                        continue;
                    };
                    if pc.heap().page_count() > 1 {
                        multi_heap += 1;
                        println!(
                            "{name}: {:#x} PC heap of {} pages",
                            e.nid.0,
                            pc.heap().page_count()
                        );
                        assert!(pc.iter().all(|r| r.unwrap().2.is_ok()), "{name}");
                    }
                }
                _ => {}
            }
        }
    }
    println!("multi-block row matrices {multi_matrix}, multi-page PCs {multi_heap}");
    if corpus().is_some() {
        assert!(multi_matrix > 0 && multi_heap > 0);
    }
}

#[test]
fn every_contents_table_reads() {
    for path in corpus_files() {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let pst = Pst::open(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let damaged = DAMAGED.contains(&name.as_str());
        let (mut tables, mut rows) = (0, 0);
        for e in pst.nbt_iter() {
            let Ok(e) = e else {
                assert!(damaged, "{name}: NBT");
                continue;
            };
            if e.nid.nid_type() != NidType::ContentsTable {
                continue;
            }
            let res = TableContext::open(pst.node_from_entry(&e)).and_then(|tc| {
                let mut n = 0;
                for row in tc.rows()? {
                    let row = row?;
                    assert_eq!(
                        Nid(row.id()).nid_type(),
                        NidType::NormalMessage,
                        "{name}: row {:#x} of {:#x}",
                        row.id(),
                        e.nid.0
                    );
                    for (c, v) in row.values() {
                        if let Err(err) = v {
                            println!("{name}: {:#x} column {:#010x}: {err}", e.nid.0, c.tag);
                            return Err(err);
                        }
                    }
                    n += 1;
                }
                Ok(n)
            });
            match res {
                Ok(n) => {
                    tables += 1;
                    rows += n;
                }
                Err(err) if damaged => println!("{name}: {:#x}: {err}", e.nid.0),
                Err(err) => panic!("{name}: contents table {:#x}: {err}", e.nid.0),
            }
        }
        println!("{name}: {tables} contents tables, {rows} rows");
    }
}

#[test]
fn name_to_id_maps_resolve() {
    use ost_ndb::ltp::namemap::{NameMap, PropName};
    for path in corpus_files() {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if DAMAGED.contains(&name.as_str()) {
            continue;
        }
        let pst = Pst::open(&path).unwrap();
        let map = NameMap::open(&pst).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!map.is_empty(), "{name}");
        let mut strings = 0;
        for r in map.iter() {
            let (id, np) = r.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(id >= 0x8000);
            assert_eq!(
                map.resolve(id).unwrap().as_ref(),
                Some(&np),
                "{name} {id:#x}"
            );
            if matches!(np.name, PropName::String(_)) {
                strings += 1;
            }
        }
        println!(
            "{name}: {} named properties, {strings} by string",
            map.len()
        );
    }
    // A well-known one: PSETID_Common {00062008-...} / PidLidReminderSet
    // (0x8503) is mapped in Outlook-written stores.
    let Some(pst) = open("hughbe_backup.pst") else {
        return;
    };
    let map = NameMap::open(&pst).unwrap();
    let found = map.iter().filter_map(|r| r.ok()).any(|(_, np)| {
        // {00062008-0000-0000-C000-000000000046} as stored (LE fields).
        np.guid == [8, 0x20, 6, 0, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46]
            && np.name == PropName::Id(0x8503)
    });
    assert!(found);
}

/// Every value of every message, read in pieces and by prefix, equals the
/// value read whole; values in subnodes come one data block a piece.
#[test]
fn values_in_pieces_and_prefixes_equal_the_whole() {
    let mut in_subnodes = 0;
    for path in corpus_files() {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if DAMAGED.contains(&name.as_str()) {
            continue;
        }
        let pst = Pst::open(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        for e in pst.nbt_iter() {
            let e = e.unwrap_or_else(|err| panic!("{name}: NBT: {err}"));
            if e.nid.nid_type() != NidType::NormalMessage {
                continue;
            }
            let pc = PropertyContext::open(pst.node_from_entry(&e)).unwrap();
            for entry in pc.entries() {
                let entry = entry.unwrap();
                let whole = pc.value(&entry).unwrap().data.into_owned();
                let pieces = pc.value_pieces(&entry).unwrap();
                if let Some(total) = pieces.total_len() {
                    assert_eq!(total, whole.len() as u64, "{name} {:#x}", e.nid.0);
                }
                let pieces: Vec<_> = pieces.map(Result::unwrap).collect();
                if pieces.len() > 1 {
                    in_subnodes += 1;
                }
                assert_eq!(
                    pieces.concat(),
                    whole,
                    "{name} {:#x} {:#06x}",
                    e.nid.0,
                    entry.id
                );
                for max in [
                    0,
                    1,
                    7,
                    4096,
                    whole.len().saturating_sub(1),
                    whole.len(),
                    whole.len() + 1,
                ] {
                    let (prefix, longer) = pc.value_prefix(&entry, max).unwrap();
                    let want = &whole[..max.min(whole.len())];
                    assert_eq!(
                        &*prefix, want,
                        "{name} {:#x} {:#06x} max {max}",
                        e.nid.0, entry.id
                    );
                    assert_eq!(longer, whole.len() > max, "{name} {:#x} max {max}", e.nid.0);
                }
            }
        }
    }
    println!("{in_subnodes} values in more than one data block");
    if corpus().is_some() {
        assert!(in_subnodes > 0, "the corpus has multi-block values");
    }
}

/// A value whose XBLOCK states one byte more than its blocks hold (its
/// lcbTotal raised, the block's CRC made to match) is read in pieces to
/// its end, and the mismatch is recorded as an integrity issue, as a whole
/// read of the same data records it.
#[test]
fn a_value_shorter_than_its_xblock_says_is_an_issue() {
    use ost_ndb::ndb::crc::crc32;
    use ost_ndb::ndb::format::Format;
    let mut checked = 0;
    for path in corpus_files() {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if DAMAGED.contains(&name.as_str()) {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let pst = Pst::from_bytes(&bytes).unwrap();
        if pst.format() != Format::Unicode {
            continue;
        }
        // The first value of the file that spans more than one block.
        let mut found = None;
        'messages: for e in pst.nbt_iter().flatten() {
            if e.nid.nid_type() != NidType::NormalMessage {
                continue;
            }
            let Ok(pc) = PropertyContext::open(pst.node_from_entry(&e)) else {
                continue;
            };
            for entry in pc.entries().flatten() {
                let Ok(pieces) = pc.value_pieces(&entry) else {
                    continue;
                };
                if pieces.total_len().is_some() && pieces.count() > 1 {
                    let node = pc.heap().subnode(entry.hnid()).unwrap();
                    let block = pst.bbt_lookup(node.bid_data).unwrap();
                    found = Some((e.nid, entry.id, block.ib, block.cb));
                    break 'messages;
                }
            }
        }
        let Some((nid, id, ib, cb)) = found else {
            continue;
        };
        // XBLOCK: btype, cLevel, cEnt (2), lcbTotal (4) at +4; the Unicode
        // block trailer: cb (2), wSig (2), dwCRC (4), bid (8).
        let mut damaged = bytes.clone();
        let (start, cb) = (ib as usize, cb as usize);
        let total = u32::from_le_bytes(damaged[start + 4..start + 8].try_into().unwrap());
        damaged[start + 4..start + 8].copy_from_slice(&(total + 1).to_le_bytes());
        let trailer = start + Format::Unicode.block_size_for(cb as u64) as usize - 16;
        let crc = crc32(&damaged[start..start + cb]);
        damaged[trailer + 4..trailer + 8].copy_from_slice(&crc.to_le_bytes());

        let pst = Pst::from_bytes(&damaged).unwrap();
        let pc = PropertyContext::open(pst.node(nid).unwrap()).unwrap();
        let entry = pc.entry(id).unwrap().unwrap();
        let pieces = pc.value_pieces(&entry).unwrap();
        assert_eq!(pieces.total_len(), Some(total as u64 + 1), "{name}");
        let read: Vec<_> = pieces.collect();
        assert!(
            read.iter().all(Result::is_ok),
            "{name}: lenient reads go on"
        );
        let (issues, _) = pst.issues();
        assert!(
            issues.iter().any(|i| i.to_string().contains("lcbTotal")),
            "{name}: {issues:?}"
        );
        checked += 1;
    }
    if corpus().is_some() {
        assert!(
            checked > 0,
            "the corpus has a Unicode file with a multi-block value"
        );
    }
    println!("{checked} files checked");
}
