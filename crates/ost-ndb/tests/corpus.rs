//! Every real file of ../shared/corpus opens, matches its MANIFEST.tsv
//! (client, wVer, crypt), and verifies clean, except the one file the
//! manifest marks as damaged, which must fail strictly and read leniently.

use ost_ndb::{NdbErrorKind, Pst, ReadOptions, Validation};

mod common;
use common::corpus;

struct Row {
    file: String,
    client: String,
    wver: u16,
    crypt: String,
}

fn manifest(dir: &std::path::Path) -> Vec<Row> {
    let text = std::fs::read_to_string(dir.join("MANIFEST.tsv")).unwrap();
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = |name: &str| head.iter().position(|h| *h == name).unwrap();
    let (f, c, w, k) = (col("file"), col("client"), col("wVer"), col("crypt"));
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Vec<&str> = l.split('\t').collect();
            // "1 (PERMUTE)" -> "permute"
            let crypt = v[k]
                .split(['(', ')'])
                .nth(1)
                .unwrap_or("")
                .to_ascii_lowercase();
            Row {
                file: v[f].to_string(),
                client: v[c].to_string(),
                wver: v[w].parse().unwrap(),
                crypt,
            }
        })
        .collect()
}

const DAMAGED: &str = "asposenet_AddingBulkMessagesWithImprovedPerformance.pst";

#[test]
fn every_file_matches_its_manifest_and_verifies() {
    let Some(dir) = corpus() else { return };
    let rows = manifest(&dir);
    assert!(rows.len() >= 40, "manifest has {} rows", rows.len());
    for row in &rows {
        let pst = Pst::open(dir.join(&row.file)).unwrap_or_else(|e| panic!("{}: {e}", row.file));
        let h = pst.header();
        assert_eq!(h.client.name(), row.client, "{}: client", row.file);
        assert_eq!(h.wver, row.wver, "{}: wVer", row.file);
        assert_eq!(h.crypt.name(), row.crypt, "{}: crypt", row.file);
        let stats = pst.stats(true);
        if row.file == DAMAGED {
            continue;
        }
        assert!(h.crc_ok(), "{}: header CRC", row.file);
        assert!(
            stats.problems.is_empty(),
            "{}: {:?}",
            row.file,
            stats.problems
        );
        assert!(stats.nodes > 20 && stats.blocks > 10, "{}", row.file);
        // Every node's data tree resolves to readable blocks.
        for e in pst.nbt_iter() {
            let e = e.unwrap();
            let node = pst.node(e.nid).unwrap();
            if !e.bid_data.is_null() {
                node.read_data()
                    .unwrap_or_else(|err| panic!("{}: nid {:#x}: {err}", row.file, e.nid.0));
            }
            node.subnodes()
                .unwrap_or_else(|err| panic!("{}: nid {:#x}: {err}", row.file, e.nid.0));
        }
    }
}

#[test]
fn the_misnamed_ost_is_a_pst_by_its_header() {
    let Some(dir) = corpus() else { return };
    let pst = Pst::open(dir.join("asposenet_PersonalStorageFile.ost")).unwrap();
    assert_eq!(pst.header().client.name(), "PST");
    let pst = Pst::open(dir.join("asposenet_SampleOstFile.ost")).unwrap();
    assert_eq!(pst.header().client.name(), "OST");
    assert_eq!(pst.header().wver_client, 12);
}

#[test]
fn damaged_header_fails_strictly_and_reads_leniently() {
    let Some(dir) = corpus() else { return };
    let path = dir.join(DAMAGED);
    let strict = ReadOptions {
        validation: Validation::Strict,
        ..ReadOptions::default()
    };
    let err = match Pst::open_with(&path, strict) {
        Err(e) => e,
        Ok(_) => panic!("strict open of a file with a bad header CRC succeeded"),
    };
    assert_eq!(err.offset, 524, "dwCRCFull lives at 0x20c");
    assert!(matches!(err.kind, NdbErrorKind::CrcMismatch { .. }));

    let pst = Pst::open(&path).unwrap();
    assert!(!pst.header().crc_ok());
    let stats = pst.stats(true);
    // What the ROOT still points to: the NBT is intact...
    assert_eq!(stats.nodes, 34);
    // ...but the BBT root page was overwritten mid-update: its CRC fails and
    // its trailer names another page, so no block can be found.
    assert_eq!(stats.blocks, 0);
    let bbt = pst.header().root.bbt;
    assert!(stats
        .problems
        .iter()
        .any(|p| p.offset == bbt.ib && matches!(p.kind, NdbErrorKind::CrcMismatch { .. })));
    assert!(stats
        .problems
        .iter()
        .any(|p| p.offset == bbt.ib && matches!(p.kind, NdbErrorKind::BidMismatch { .. })));
}
