//! Real OSTs keep each item's change key, PCL and modification time in its
//! folder's contents-table row. End to end, on the shared real OSTs and on
//! fixture OSTs in that layout:
//! - `items` equals every row an independent reader lists
//!   (shared/truth/*.rows.jsonl);
//! - faults planted only in rows are found on their items and nowhere else
//!   (and ROW001, row against item, with `--verify-rows`);
//! - a byte edited in a real OST's row is found on exactly that item, and
//!   `diff` matches the two copies by the source key the MIDs stand for;
//! - output does not depend on `--jobs`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::{assert_valid, corpus, ndjson, ostscan, report_validator, scratch, without_timing};
use ost_fixture::{CryptMethod, FixtureBuilder, Format, ManifestRecord, Rule, SyncPlacement};
use ost_ndb::ndb::crc::crc32;
use ost_ndb::{BlockTrailer, Pst};
use serde_json::Value;

/// The truth files, beside the corpus: `None` (after saying why) when absent.
fn truth_dir(corpus: &Path) -> Option<PathBuf> {
    let dir = corpus.join("../truth");
    if dir.join("README.md").is_file() {
        Some(dir)
    } else {
        common::skip(format_args!("skipping: {} not found", dir.display()));
        None
    }
}

const REAL_OSTS: [&str; 2] = [
    "pstextractor_outlookcom_test.ost",
    "asposenet_SampleOstFile.ost",
];

fn json_lines(bytes: &[u8]) -> Vec<Value> {
    ndjson(bytes)
}

fn run_json(args: &[&str]) -> (Option<i32>, Value) {
    let out = ostscan(args);
    let value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?}: {e}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), value)
}

#[test]
fn items_equal_every_row_of_the_truth_files() {
    let Some(dir) = corpus() else { return };
    let Some(truth) = truth_dir(&dir) else { return };
    for name in REAL_OSTS {
        let path = dir.join(name);
        let out = ostscan(&["items", "--all", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{name}");
        let ours: BTreeMap<u64, Value> = json_lines(&out.stdout)
            .into_iter()
            .map(|v| (v["nid"].as_u64().unwrap(), v))
            .collect();
        let text = std::fs::read_to_string(truth.join(format!("{name}.rows.jsonl"))).unwrap();
        let mut rows = 0;
        let mut with_change_key = 0;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let want: Value = serde_json::from_str(line).unwrap();
            let nid = want["nid"].as_u64().unwrap();
            let got = ours
                .get(&nid)
                .unwrap_or_else(|| panic!("{name}: nid {nid} not listed"));
            for key in [
                "change_key",
                "pcl",
                "last_modified",
                "subject",
                "message_class",
                "folder",
            ] {
                assert_eq!(got[key], want[key], "{name} nid {nid} {key}");
            }
            // They came from the row, and the item's source key is the one
            // its MID stands for.
            if !want["change_key"].is_null() {
                with_change_key += 1;
                assert_eq!(got["sources"]["change_key"], "row", "{name} {nid}");
            }
            assert_eq!(got["source_key_derived"], true, "{name} {nid}");
            let key = got["source_key"].as_str().unwrap();
            let globcnt = got["object_id"]["globcnt"].as_u64().unwrap();
            assert_eq!(&key[32..], format!("{globcnt:012x}"), "{name} {nid}");
            rows += 1;
        }
        assert!(rows > 50, "{name}: {rows} truth rows");
        // scan counts them.
        let (_, report) = run_json(&["scan", "--json", path.to_str().unwrap()]);
        let summary = &report["files"][0]["summary"];
        assert!(
            summary["with_change_key"].as_u64().unwrap() >= with_change_key,
            "{name}: {summary}"
        );
        assert_eq!(summary["not_checked"], 0, "{name}");
        assert!(summary["from_rows"].as_u64().unwrap() >= with_change_key);
        eprintln!("{name}: {rows} truth rows matched");
    }
}

#[test]
fn real_osts_name_their_namespaces_and_find_sync_issues_by_entry_id() {
    let Some(dir) = corpus() else { return };
    for name in REAL_OSTS {
        let path = dir.join(name);
        let (code, report) = run_json(&["scan", "--json", path.to_str().unwrap()]);
        // Only info findings (local changes): exit 0 at the default --fail-on.
        assert_eq!(code, Some(0), "{name}");
        assert_valid(&report_validator(None), &report, name);
        let file = &report["files"][0];
        let ns = &file["namespaces"];
        assert!(!ns["local"].is_null(), "{name}: {ns}");
        assert!(ns["replicas"].as_array().unwrap().len() >= 2, "{name}");
        for key in [
            "sync_issues",
            "conflicts",
            "local_failures",
            "server_failures",
        ] {
            assert_eq!(
                file["sync_issues"]["folders"][key]["found_by"], "additional_ren_entry_ids",
                "{name} {key}"
            );
        }
        // Every server change key is in a replica's namespace, every
        // 20-byte one in the local namespace.
        for finding in file["findings"].as_array().unwrap() {
            let ck = &finding["change_key"];
            if ck.is_null() {
                continue;
            }
            let expect = match ck["local_id_len"].as_u64() {
                Some(6) => "server",
                Some(4) => "local",
                _ => continue,
            };
            assert_eq!(ck["namespace"], expect, "{name}: {finding}");
        }
        // The text line of a finding on a hidden item says it is one, and
        // its class: their subjects are folder names or empty.
        let out = common::ostscan(&["scan", path.to_str().unwrap()]);
        let text = String::from_utf8_lossy(&out.stdout);
        for finding in file["findings"].as_array().unwrap() {
            let start = format!(
                "    {} {} nid {} ",
                finding["rule"].as_str().unwrap(),
                finding["severity"].as_str().unwrap(),
                finding["nid_hex"].as_str().unwrap()
            );
            let line = text
                .lines()
                .find(|l| l.starts_with(&start))
                .unwrap_or_else(|| panic!("{name}: no line {start:?}"));
            let class = finding["message_class"].as_str().unwrap();
            let note = match finding["kind"].as_str().unwrap() {
                "associated" => format!(" (hidden item {class})"),
                "orphan" => format!(" (orphan {class})"),
                _ => String::new(),
            };
            let subject = serde_json::to_string(finding["subject"].as_str().unwrap_or("")).unwrap();
            assert!(
                line.starts_with(&format!(
                    "{start}{}{note} {subject}: ",
                    finding["folder"].as_str().unwrap()
                )),
                "{name}: {line}"
            );
        }
        // The ROW001 line suggests --verify-rows only when it was not given.
        let rows_line = |args: &[&str]| {
            let out = common::ostscan(args);
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .find(|l| l.contains("rows compared with their items"))
                .map(str::to_string)
                .unwrap_or_default()
        };
        let p = path.to_str().unwrap();
        assert!(
            rows_line(&["scan", p]).ends_with("(ROW001; --verify-rows compares every one)"),
            "{name}"
        );
        assert!(
            rows_line(&["scan", "--verify-rows", p]).ends_with(" (ROW001)"),
            "{name}"
        );
    }
}

/// A rows-layout fixture with every rule planted twice, and three items
/// whose rows lack what their items have.
fn rows_fixture(
    dir: &Path,
    format: Format,
    crypt: CryptMethod,
    placement: SyncPlacement,
    seed: u64,
) -> (PathBuf, Vec<ManifestRecord>) {
    let mut builder = FixtureBuilder::new(format)
        .crypt(crypt)
        .messages(90)
        .seed(seed)
        .sync_placement(placement)
        .row_gaps(3);
    for rule in Rule::ALL.into_iter().chain(Rule::OST_ROWS) {
        builder = builder.plant(rule, 2);
    }
    let path = dir.join(format!(
        "rows-{format:?}-{crypt:?}-{placement:?}-{seed}.ost"
    ));
    let written = builder.write_file(&path).expect("write fixture");
    (path, written.manifest)
}

fn planted(manifest: &[ManifestRecord]) -> BTreeSet<(u64, String)> {
    manifest
        .iter()
        .flat_map(|r| {
            r.planted
                .iter()
                .map(|rule| (u64::from(r.nid), rule.clone()))
        })
        .collect()
}

/// (nid, rule) of the item findings of the report's only file; folder
/// findings are returned apart.
fn found(report: &Value) -> (BTreeSet<(u64, String)>, Vec<Value>) {
    let mut items = BTreeSet::new();
    let mut folders = Vec::new();
    for f in report["files"][0]["findings"].as_array().unwrap() {
        if f["kind"] == "folder" {
            folders.push(f.clone());
        } else {
            items.insert((
                f["nid"].as_u64().unwrap(),
                f["rule"].as_str().unwrap().to_string(),
            ));
        }
    }
    (items, folders)
}

#[test]
fn faults_planted_in_rows_are_found_on_their_items_and_nowhere_else() {
    let dir = scratch("ost-rows-planted");
    let validator = report_validator(None);
    let mut seed = 40;
    let mut linked = 0;
    for format in [Format::Ost, Format::Ost4k] {
        for crypt in [CryptMethod::None, CryptMethod::Permute, CryptMethod::Cyclic] {
            seed += 1;
            let (path, manifest) = rows_fixture(&dir, format, crypt, SyncPlacement::Rows, seed);
            let what = format!("{format:?} {crypt:?}");
            let expected = planted(&manifest);
            assert_eq!(expected.len(), 26, "{what}: 13 rules, 2 items each");
            let p = path.to_str().unwrap();

            // The hot path: rows only, items read where rows lack the values.
            let (code, report) = run_json(&["scan", "--json", p]);
            assert_eq!(code, Some(1), "{what}");
            assert_valid(&validator, &report, &what);
            let (items, folders) = found(&report);
            assert!(folders.is_empty(), "{what}: {folders:?}");
            // ROW001 needs the item read too: without --verify-rows only
            // where the walk reads it anyway (the Sync Issues tree).
            let in_sync_tree: BTreeSet<u64> = manifest
                .iter()
                .filter(|r| r.folder.contains("/Sync Issues"))
                .map(|r| u64::from(r.nid))
                .collect();
            let hot: BTreeSet<_> = expected
                .iter()
                .filter(|(nid, rule)| rule != "ROW001" || in_sync_tree.contains(nid))
                .cloned()
                .collect();
            assert_eq!(items, hot, "{what}");
            let summary = &report["files"][0]["summary"];
            assert_eq!(summary["errors"], 0, "{what}");
            assert_eq!(summary["messages"], manifest.len() as u64, "{what}");
            assert!(
                summary["from_rows"].as_u64().unwrap() > 80,
                "{what}: {summary}"
            );
            assert!(summary["folders_checked"].as_u64().unwrap() > 5, "{what}");
            // Conflict copies name their originals by a 70-byte message
            // entry id (folder and message source keys): each links to an
            // item, through the source key its MID stands for.
            let conflicts = report["files"][0]["sync_issues"]["conflicts"]
                .as_array()
                .unwrap();
            for c in conflicts {
                // Every item of Conflicts is a conflict item; the fixture's
                // first ones there, written before any original, name none.
                if c["conflict_entry_id"].is_null() {
                    assert!(c["folder"].as_str().unwrap().ends_with("/Conflicts"), "{c}");
                    assert!(c["conflicts_with"].is_null(), "{c}");
                    continue;
                }
                linked += 1;
                assert_eq!(c["conflict_entry_id"].as_str().unwrap().len(), 140, "{c}");
                let target = c["conflicts_with"]["nid"].as_u64();
                assert!(
                    target.is_some_and(|nid| manifest.iter().any(|r| u64::from(r.nid) == nid)),
                    "{what}: {c}"
                );
            }

            // Every row compared with its item: ROW001 too.
            let (_, report) = run_json(&["scan", "--json", "--verify-rows", p]);
            assert_valid(&validator, &report, &what);
            let (items, folders) = found(&report);
            assert!(folders.is_empty(), "{what}: {folders:?}");
            assert_eq!(items, expected, "{what} --verify-rows");
            let summary = &report["files"][0]["summary"];
            assert_eq!(summary["rows_compared"], summary["messages"], "{what}");
            let row001 = report["files"][0]["findings"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["rule"] == "ROW001")
                .unwrap();
            // The proof: the item's values, and the row's beside them.
            assert_eq!(row001["sources"]["change_key"], "item", "{row001}");
            assert!(!row001["row"]["change_key"].is_null(), "{row001}");
            assert_ne!(
                row001["row"]["change_key"], row001["change_key"],
                "{row001}"
            );
        }
    }
    assert!(linked > 5, "{linked} conflict items linked");
}

#[test]
fn rows_and_items_that_agree_give_no_row001() {
    let dir = scratch("ost-rows-both");
    for format in [Format::Ost, Format::Ost4k] {
        let (path, manifest) =
            rows_fixture(&dir, format, CryptMethod::Permute, SyncPlacement::Both, 60);
        let expected = planted(&manifest);
        let (_, report) = run_json(&["scan", "--json", "--verify-rows", path.to_str().unwrap()]);
        let (items, _) = found(&report);
        assert_eq!(items, expected, "{format:?}");
        // With both sources, the item's own values are reported.
        let summary = &report["files"][0]["summary"];
        assert_eq!(summary["from_rows"], 0, "{format:?}: {summary}");
    }
}

#[test]
fn output_does_not_depend_on_jobs() {
    let dir = scratch("ost-rows-jobs");
    let (path, _) = rows_fixture(
        &dir,
        Format::Ost4k,
        CryptMethod::None,
        SyncPlacement::Rows,
        70,
    );
    let mut files = vec![path];
    if let Some(corpus) = corpus() {
        files.extend(REAL_OSTS.iter().map(|n| corpus.join(n)));
    }
    for file in &files {
        let p = file.to_str().unwrap();
        for extra in [&[][..], &["--verify-rows"][..]] {
            let run = |jobs: &str| {
                let mut args = vec!["scan", "--ndjson", "--jobs", jobs, p];
                args.extend_from_slice(extra);
                let out = ostscan(&args);
                ndjson(&out.stdout)
                    .into_iter()
                    .map(without_timing)
                    .collect::<Vec<_>>()
            };
            assert_eq!(run("1"), run("2"), "{p} {extra:?}");
        }
    }
}

/// The payload (stored bytes) of the block holding file offset `at`, as
/// (block offset, stored size).
fn block_at(pst: &Pst<'_>, at: u64) -> (u64, u64) {
    let format = pst.format();
    pst.bbt_iter()
        .flatten()
        .find(|e| e.ib <= at && at < e.ib + format.block_size_for(e.cb as u64))
        .map(|e| (e.ib, e.cb as u64))
        .expect("a block holds the offset")
}

fn from_hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// Every offset of `needle` in `hay`.
fn find_all(hay: &[u8], needle: &[u8]) -> Vec<usize> {
    hay.windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect()
}

/// A copy of the real wVer 23 OST (permute-encoded, uncompressed blocks)
/// in which the row change key of one item is lowered by one below its
/// PCL: the bytes re-encoded in place and the block's CRC mended, the way
/// an archiving product's decrement would leave them.
#[test]
fn a_lowered_row_change_key_in_a_real_ost_is_sync002_on_exactly_that_item() {
    let Some(dir) = corpus() else { return };
    let original = dir.join("asposenet_SampleOstFile.ost");
    let bytes = std::fs::read(&original).unwrap();
    // "xx" in Deleted Items: change key {7A2DA66A-...}:000077F5C081, PCL
    // holding that same XID (shared/truth).
    let nid = 2179620u64;
    let change_key = from_hex("6aa62d7a1b3ac5449d53431fbea29402000077f5c081");
    let mut lowered = change_key.clone();
    *lowered.last_mut().unwrap() -= 1;
    let pst = Pst::from_bytes(&bytes).unwrap();
    let crypt = pst.header().crypt;
    // Permute encoding is a byte-for-byte substitution: the encoded value
    // appears in the file as it is, wherever it is stored.
    let encode = |v: &[u8]| {
        let mut e = v.to_vec();
        crypt.encode(&mut e, 0);
        e
    };
    let (stored, stored_lowered) = (encode(&change_key), encode(&lowered));
    let size_byte = encode(&[22])[0];
    let mut copy = bytes.clone();
    let mut blocks = BTreeSet::new();
    let mut cells = 0;
    for at in find_all(&bytes, &stored) {
        // Inside the PCL the XID follows its size byte: leave it.
        if at > 0 && bytes[at - 1] == size_byte {
            continue;
        }
        copy[at..at + stored.len()].copy_from_slice(&stored_lowered);
        blocks.insert(block_at(&pst, at as u64));
        cells += 1;
    }
    assert!(cells >= 1, "the change key's cell was found");
    let format = pst.format();
    for (ib, cb) in blocks {
        let end = ib + format.block_size_for(cb);
        let trailer_at = (end - format.block_trailer_size() as u64) as usize;
        let trailer = BlockTrailer::parse(&copy[trailer_at..], format).unwrap();
        assert_eq!(trailer.cb as u64, cb);
        let crc = crc32(&copy[ib as usize..(ib + cb) as usize]);
        copy[trailer_at + 4..trailer_at + 8].copy_from_slice(&crc.to_le_bytes());
    }
    drop(pst);
    let scratch = scratch("ost-rows-lowered");
    let edited = scratch.join("lowered.ost");
    std::fs::write(&edited, &copy).unwrap();

    let (code, report) = run_json(&["scan", "--json", edited.to_str().unwrap()]);
    assert_eq!(code, Some(1), "a critical finding");
    let file = &report["files"][0];
    assert_eq!(
        file["status"], "ok",
        "the CRCs were mended: {}",
        file["errors"]
    );
    let bad: Vec<&Value> = file["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] != "info")
        .collect();
    assert_eq!(bad.len(), 1, "{bad:#?}");
    assert_eq!(bad[0]["rule"], "SYNC002");
    assert_eq!(bad[0]["nid"], nid);
    assert_eq!(bad[0]["sources"]["change_key"], "row");
    assert_eq!(bad[0]["change_key"]["namespace"], "server");
    assert!(
        bad[0]["detail"]
            .as_str()
            .unwrap()
            .contains("went back by 1"),
        "{}",
        bad[0]["detail"]
    );

    // The two copies, compared: matched by the source key the MID stands
    // for, and the item's version went backwards.
    let out = ostscan(&[
        "diff",
        "--json",
        original.to_str().unwrap(),
        edited.to_str().unwrap(),
    ]);
    let diff: Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = diff["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0]["rule"], "DIFF001");
    assert_eq!(findings[0]["new_nid"], nid);
    assert_eq!(findings[0]["match"], "source_key");
    assert_eq!(diff["summary"]["added"], 0);
    assert_eq!(diff["summary"]["removed"], 0);
}

/// `dump` of a real OST's message shows its contents-table row, where the
/// change key, PCL and modification time are (the message itself holds
/// none): for every truth row of a few folders, the row's cells carry the
/// truth's values, decoded, and the text says where they are.
#[test]
fn dump_shows_a_messages_row_with_its_sync_values() {
    let Some(dir) = corpus() else { return };
    let Some(truth) = truth_dir(&dir) else { return };
    for name in REAL_OSTS {
        let path = dir.join(name);
        let rows = std::fs::read_to_string(truth.join(format!("{name}.rows.jsonl"))).unwrap();
        let mut checked = 0;
        for line in rows.lines().step_by(7) {
            let want: Value = serde_json::from_str(line).unwrap();
            let nid = want["nid"].as_u64().unwrap().to_string();
            let (code, dump) = run_json(&["dump", "--json", path.to_str().unwrap(), "--nid", &nid]);
            assert_eq!(code, Some(0), "{name} {nid}");
            let row = &dump["row"];
            assert!(
                row["table_type"] == "contents_table"
                    && row["table"] == (dump["parent"].as_u64().unwrap() & !0x1f | 0x0e),
                "{name} {nid}: {row}"
            );
            let cell = |tag: &str| {
                row["cells"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|c| c["tag"] == tag)
                    .cloned()
                    .unwrap_or(Value::Null)
            };
            for (tag, key) in [("0x65e20102", "change_key"), ("0x65e30102", "pcl")] {
                if want[key].is_null() {
                    continue;
                }
                assert_eq!(cell(tag)["hex"], want[key], "{name} {nid} {key}");
            }
            let ck = cell("0x65e20102");
            if !ck.is_null() {
                assert!(ck["value"].as_str().unwrap().starts_with("XID {"), "{ck}");
            }
            if let Some(t) = want["last_modified"].as_str() {
                assert_eq!(cell("0x30080040")["value"], t, "{name} {nid}");
            }
            let out = common::ostscan(&["dump", path.to_str().unwrap(), "--nid", &nid]);
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                text.contains(&format!(
                    "row {} of contents_table {:#x} (",
                    row["index"],
                    row["table"].as_u64().unwrap()
                )),
                "{text}"
            );
            // The row's change key is printed after the row's heading (the
            // message itself holds none).
            let after = &text[text.find("row ").unwrap()..];
            if !ck.is_null() {
                assert!(after.contains("PR_CHANGE_KEY"), "{text}");
            }
            checked += 1;
        }
        assert!(checked > 5, "{name}: {checked}");
        // A hidden item's row is in the associated contents table, with the
        // values `items --all` reports for it.
        let out = ostscan(&["items", "--all", path.to_str().unwrap()]);
        let hidden: Vec<Value> = ndjson(&out.stdout)
            .into_iter()
            .filter(|v| v["kind"] == "associated" && !v["change_key"].is_null())
            .take(3)
            .collect();
        assert!(!hidden.is_empty(), "{name}");
        for item in hidden {
            let nid = item["nid"].to_string();
            let (code, dump) = run_json(&["dump", "--json", path.to_str().unwrap(), "--nid", &nid]);
            assert_eq!(code, Some(0));
            assert_eq!(
                dump["row"]["table_type"], "assoc_contents_table",
                "{name} {nid}"
            );
            let ck = dump["row"]["cells"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["tag"] == "0x65e20102")
                .map(|c| c["hex"].clone());
            assert_eq!(ck, Some(item["change_key"].clone()), "{name} {nid}");
        }
    }
}

/// A message its parent folder's table does not list (here, its NBT
/// parent pointed at the root folder) has no row there, which `dump` says
/// plainly, not as an error; a table that cannot be read is an error that
/// names it. In a PST the row's heading does not speak of OSTs.
#[test]
fn dump_says_when_the_parent_table_has_no_row_or_cannot_be_read() {
    use ost_fixture::faults::{damage, Damage};
    let fx = FixtureBuilder::new(Format::Unicode)
        .messages(10)
        .seed(4)
        .build()
        .unwrap();
    let dir = scratch("dump-rows");
    let msg = fx.manifest[0].nid;
    let node = *fx.layout.node(msg).unwrap();
    let own_table = (node.nid_parent & !0x1F) | 0x0E;
    let dump = |bytes: &[u8], name: &str| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let path = path.to_str().unwrap().to_string();
        let json = run_json(&["dump", "--json", &path, "--nid", &msg.to_string()]);
        let text =
            String::from_utf8_lossy(&ostscan(&["dump", &path, "--nid", &msg.to_string()]).stdout)
                .into_owned();
        (json, text)
    };
    // Intact: the row, without the OST note.
    let ((code, v), text) = dump(&fx.bytes, "intact.pst");
    assert_eq!(code, Some(0));
    assert_eq!(v["row"]["table"], own_table);
    assert!(
        text.contains(&format!("of contents_table {own_table:#x} (")),
        "{text}"
    );
    assert!(!text.contains("an OST keeps"), "{text}");
    // The NBT entry's nidParent (after nid, bidData, bidSub) set to the
    // root folder, whose contents table does not list the message.
    let mut moved = fx.bytes.clone();
    let mut entry = (msg as u64).to_le_bytes().to_vec();
    entry.extend_from_slice(&node.bid_data.to_le_bytes());
    let at = moved
        .windows(16)
        .position(|w| w == entry.as_slice())
        .expect("the message's NBT entry");
    moved[at + 24..at + 28].copy_from_slice(&0x122u32.to_le_bytes());
    let ((code, v), text) = dump(&moved, "moved.pst");
    assert_eq!(code, Some(0));
    assert_eq!(
        v["row"],
        serde_json::json!({"table": 0x12E, "listed": false})
    );
    assert!(
        text.contains("row: none in contents_table 0x12e, its parent folder's: an orphan"),
        "{text}"
    );
    assert!(!text.contains("ERROR"), "{text}");
    // The table's data block past the end of the file: an error naming it.
    let mut broken = fx.bytes.clone();
    damage(
        &mut broken,
        Format::Unicode,
        &fx.layout,
        Damage::BlockPastEnd { nid: own_table },
    )
    .unwrap();
    let ((code, v), text) = dump(&broken, "broken.pst");
    assert_eq!(code, Some(0));
    assert_eq!(v["row"]["table"], own_table);
    assert!(v["row"]["error"].is_string(), "{}", v["row"]);
    assert!(
        text.contains(&format!(
            "row: ERROR reading contents_table {own_table:#x}: "
        )),
        "{text}"
    );
}

/// `dump` decodes a malformed PCL up to its fault and says why a change
/// key is not an XID (the bundled example's PCL002 and CK002 items): the
/// value's shape is the evidence of how it broke.
#[test]
fn dump_shows_how_a_malformed_value_broke() {
    let file = common::workspace().join("testdata/sync-faults.ost");
    let manifest = std::fs::read_to_string(file.with_extension("jsonl")).unwrap();
    let planted = |rule: &str| {
        manifest
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .find(|m| m["planted"].as_array().unwrap().iter().any(|r| r == rule))
            .unwrap()["nid"]
            .to_string()
    };
    let value = |nid: &str, tag: &str| {
        let (code, dump) = run_json(&["dump", "--json", file.to_str().unwrap(), "--nid", nid]);
        assert_eq!(code, Some(0));
        dump["properties"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["tag"] == tag)
            .unwrap()["value"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let pcl = value(&planted("PCL002"), "0x65e30102");
    assert!(pcl.starts_with("malformed PCL [{"), "{pcl}");
    assert!(
        pcl.ends_with("] then: XidSize 48 at byte offset 44 is outside 17..=24"),
        "{pcl}"
    );
    let ck = value(&planted("CK002"), "0x65e20102");
    assert!(ck.starts_with("not an XID: "), "{ck}");
}
