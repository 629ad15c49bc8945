//! `ostscan items` against ost-fixture manifests: every format, every
//! kind (contents, associated, orphan).

use std::collections::BTreeMap;

use common::{ostscan, workspace};
use ost_fixture::{damage, CryptMethod, Damage, FixtureBuilder, Format};
use serde_json::Value;

const FIELDS: [&str; 8] = [
    "folder",
    "subject",
    "message_class",
    "change_key",
    "pcl",
    "source_key",
    "last_modified",
    "kind",
];

fn lines(bytes: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

fn by_nid(items: Vec<Value>) -> BTreeMap<u64, Value> {
    items
        .into_iter()
        .map(|v| (v["nid"].as_u64().unwrap(), v))
        .collect()
}

fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ostscan-items-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn items_all_match_the_testdata_manifests() {
    for name in ["small-unicode.pst", "small-ost4k.ost", "sync-faults.ost"] {
        let path = workspace().join("testdata").join(name);
        let manifest_path = path.with_extension("jsonl");
        let manifest = by_nid(lines(&std::fs::read(&manifest_path).unwrap()));
        let out = ostscan(&["items", "--all", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{name}");
        assert!(
            out.stderr.is_empty(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ours = by_nid(lines(&out.stdout));
        assert_eq!(
            ours.keys().collect::<Vec<_>>(),
            manifest.keys().collect::<Vec<_>>(),
            "{name}: the same messages"
        );
        for (nid, m) in &manifest {
            for f in FIELDS {
                assert_eq!(ours[nid][f], m[f], "{name}: nid {nid} {f}");
            }
        }
        assert!(
            manifest.values().any(|m| m["kind"] == "associated"),
            "{name}"
        );
        // Without --all, only contents rows.
        let out = ostscan(&["items", path.to_str().unwrap()]);
        let contents = lines(&out.stdout);
        assert!(contents.iter().all(|v| v["kind"] == "contents"));
        assert_eq!(
            contents.len(),
            manifest
                .values()
                .filter(|m| m["kind"] == "contents")
                .count()
        );
    }
}

#[test]
fn every_format_and_crypt_round_trips() {
    for format in [Format::Unicode, Format::Ost, Format::Ansi, Format::Ost4k] {
        for crypt in [CryptMethod::None, CryptMethod::Permute, CryptMethod::Cyclic] {
            let f = FixtureBuilder::new(format)
                .crypt(crypt)
                .messages(25)
                .seed(11)
                .build()
                .unwrap();
            let path = temp(&format!("{}-{}.pst", format.name(), crypt.name()));
            std::fs::write(&path, &f.bytes).unwrap();
            let out = ostscan(&["items", "--all", path.to_str().unwrap()]);
            assert_eq!(out.status.code(), Some(0));
            let ours = by_nid(lines(&out.stdout));
            assert_eq!(ours.len(), f.manifest.len(), "{format:?} {crypt:?}");
            for m in &f.manifest {
                let o = &ours[&(m.nid as u64)];
                assert_eq!(o["change_key"].as_str(), m.change_key.as_deref());
                assert_eq!(o["pcl"].as_str(), m.pcl.as_deref());
                assert_eq!(o["subject"].as_str(), Some(m.subject.as_str()));
                assert_eq!(o["folder"].as_str(), Some(m.folder.as_str()));
            }
            std::fs::remove_file(&path).ok();
        }
    }
}

#[test]
fn messages_of_an_unreadable_contents_table_come_back_as_orphans() {
    let mut f = FixtureBuilder::new(Format::Ost)
        .messages(30)
        .seed(5)
        .build()
        .unwrap();
    // The folder of the first contents message, and its contents table.
    let victim = f
        .manifest
        .iter()
        .find(|m| m.planted.is_empty())
        .unwrap()
        .clone();
    let folder_nid = f.layout.node(victim.nid).unwrap().nid_parent;
    let table_nid = (folder_nid & !0x1F) | 0x0E;
    assert!(f.layout.node(table_nid).is_some());
    let in_folder: Vec<u32> = f
        .manifest
        .iter()
        .filter(|m| m.folder == victim.folder && format!("{:?}", m.kind) == "Contents")
        .map(|m| m.nid)
        .collect();
    assert!(!in_folder.is_empty());
    damage(
        &mut f.bytes,
        Format::Ost,
        &f.layout,
        Damage::BlockPastEnd { nid: table_nid },
    )
    .unwrap();
    let path = temp("orphans.ost");
    std::fs::write(&path, &f.bytes).unwrap();

    let out = ostscan(&["items", "--all", path.to_str().unwrap()]);
    // Read in part: said, and in the exit status; the lines are the same
    // with --allow-partial, which exits 0.
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("read in part"));
    let allowed = ostscan(&["items", "--all", "--allow-partial", path.to_str().unwrap()]);
    assert_eq!(allowed.status.code(), Some(0));
    assert_eq!(allowed.stdout, out.stdout);
    let ours = by_nid(lines(&out.stdout));
    // Nothing is lost: every message is still listed...
    assert_eq!(ours.len(), f.manifest.len());
    for nid in &in_folder {
        let o = &ours[&(*nid as u64)];
        // ...the damaged table's messages as orphans, still in their folder
        // (from the NBT parent), with their sync properties intact.
        assert_eq!(o["kind"], "orphan", "nid {nid}");
        assert_eq!(o["folder"].as_str(), Some(victim.folder.as_str()));
        let m = f.manifest.iter().find(|m| m.nid == *nid).unwrap();
        assert_eq!(o["change_key"].as_str(), m.change_key.as_deref());
    }
    // The others keep their kind.
    let orphans = ours.values().filter(|v| v["kind"] == "orphan").count();
    assert_eq!(orphans, in_folder.len());
    // The damage is reported, naming the table.
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("orphans.ost"), "{err}");
    assert!(err.contains(&format!("{table_nid:#x}")), "{err}");
    std::fs::remove_file(&path).ok();
}

#[test]
fn a_damaged_heap_is_reported_at_its_file_offset() {
    let mut f = FixtureBuilder::new(Format::Unicode)
        .messages(10)
        .seed(8)
        .build()
        .unwrap();
    let victim = f
        .manifest
        .iter()
        .find(|m| m.planted.is_empty())
        .unwrap()
        .clone();
    let node = *f.layout.node(victim.nid).unwrap();
    let block = *f.layout.block(node.bid_data).unwrap();
    // The heap's signature byte (bSig 0xEC at offset 2 of the HNHDR): the
    // block still reads (its CRC failure is recorded), the heap does not.
    f.bytes[block.ib as usize + 2] = 0;
    let path = temp("bad-heap.pst");
    std::fs::write(&path, &f.bytes).unwrap();
    let out = ostscan(&["items", "--all", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err
        .lines()
        .find(|l| l.contains(&format!("(nid {:#x}):", victim.nid)) && l.contains("HNHDR"))
        .unwrap_or_else(|| panic!("no heap error for nid {:#x}: {err}", victim.nid));
    // The file offset of the block, not the position inside the heap.
    assert!(
        line.contains(&format!("at offset {:#x}", block.ib)),
        "{line} (block at {:#x})",
        block.ib
    );
    // Said as `scan` says it.
    let problem = line.split_once(": HNHDR").map(|(_, p)| format!("HNHDR{p}"));
    let problem = problem.unwrap();
    let scan_text =
        String::from_utf8_lossy(&ostscan(&["scan", path.to_str().unwrap()]).stdout).into_owned();
    assert!(scan_text.contains(&problem), "{problem}\n{scan_text}");
    // The scan's JSON error carries the same offset and the item's nid.
    let out = ostscan(&["scan", "--json", path.to_str().unwrap()]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let errors = report["files"][0]["errors"].as_array().unwrap();
    assert!(errors
        .iter()
        .any(|e| e["nid"] == victim.nid && e["offset"] == block.ib && e["structure"] == "HNHDR"));
    // Every other message is still listed.
    let listed = lines(&ostscan(&["items", "--all", path.to_str().unwrap()]).stdout);
    assert_eq!(listed.len(), f.manifest.len());
    std::fs::remove_file(&path).ok();
}
