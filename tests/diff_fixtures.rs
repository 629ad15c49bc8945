//! `ostscan diff` on pairs of fixture stores: one planted case per rule,
//! added / removed / moved items, items without source keys; every finding
//! on its planted item and nothing else; JSON and NDJSON against
//! docs/diff.schema.json.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use common::{ostscan, workspace};
use ost_fixture::faults::{pcl, xid};
use ost_fixture::manifest::filetime;
use ost_fixture::{standard_folders, CryptMethod, Format, Message, PropValue, StoreWriter};
use serde_json::Value;

const SERVER: [u8; 16] = [0x11; 16];
const CLIENT: [u8; 16] = [0x22; 16];
const RECORD_KEY: [u8; 16] = [0x5a; 16];
/// PR_SEARCH_KEY.
const SEARCH_KEY: u16 = 0x300B;

/// Where an item lives in a fixture store.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Inbox,
    Projects,
}

/// One version of an item.
#[derive(Clone)]
struct Version {
    subject: &'static str,
    place: Place,
    source_key: Option<u8>,
    search_key: Option<u8>,
    change_key: Option<([u8; 16], u64)>,
    pcl: Vec<([u8; 16], u64)>,
    minute: u32,
    /// PR_BODY.
    body: Option<String>,
    /// PR_HTML (0x1013, binary).
    html: Option<&'static str>,
}

fn v(
    subject: &'static str,
    sk: Option<u8>,
    ck: ([u8; 16], u64),
    pcl: &[([u8; 16], u64)],
) -> Version {
    Version {
        subject,
        place: Place::Inbox,
        source_key: sk,
        search_key: None,
        change_key: Some(ck),
        pcl: pcl.to_vec(),
        minute: 0,
        body: None,
        html: None,
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ostscan-diff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Write a store holding `items` (in this order, so equal positions get
/// equal NIDs in two files).
fn write_store(path: &Path, format: Format, items: &[Version]) {
    let out = BufWriter::new(File::create(path).unwrap());
    let mut w = StoreWriter::new(out, format, CryptMethod::None, RECORD_KEY).unwrap();
    let folders = standard_folders(&mut w);
    let projects = folders.user[0];
    for item in items {
        let folder = match item.place {
            Place::Inbox => folders.inbox,
            Place::Projects => projects,
        };
        let mut extra = Vec::new();
        if let Some(k) = item.search_key {
            extra.push((SEARCH_KEY, PropValue::Binary(vec![k; 16])));
        }
        if let Some(html) = item.html {
            extra.push((0x1013, PropValue::Binary(html.as_bytes().to_vec())));
        }
        let m = Message {
            subject: item.subject.into(),
            message_class: "IPM.Note".into(),
            change_key: item.change_key.map(|(g, c)| xid(&g, c, 4)),
            pcl: (!item.pcl.is_empty()).then(|| {
                pcl(&item
                    .pcl
                    .iter()
                    .map(|(g, c)| xid(g, *c, 4))
                    .collect::<Vec<_>>())
            }),
            source_key: item.source_key.map(|k| {
                let mut key = vec![0x33; 16];
                key.extend_from_slice(&[0, 0, 0, 0, 0, k]);
                key
            }),
            last_modified: Some(filetime(2024, 5, 1, 12, item.minute, 0, 0)),
            body: item.body.clone(),
            extra,
            ..Message::default()
        };
        w.add_message(folder, &m).unwrap();
    }
    w.finish().unwrap();
}

/// Write OLD and NEW stores of `pairs` (both sides present) under `tag`.
fn write_versions(format: Format, tag: &str, pairs: &[(Version, Version)]) -> (PathBuf, PathBuf) {
    let ext = if format.is_ost() { "ost" } else { "pst" };
    let old_path = scratch(&format!("{tag}-old.{ext}"));
    let new_path = scratch(&format!("{tag}-new.{ext}"));
    let old: Vec<Version> = pairs.iter().map(|p| p.0.clone()).collect();
    let new: Vec<Version> = pairs.iter().map(|p| p.1.clone()).collect();
    write_store(&old_path, format, &old);
    write_store(&new_path, format, &new);
    (old_path, new_path)
}

/// OLD and NEW versions of every planted case: (OLD, NEW) per item; `None`
/// when the item is on one side only.
fn cases() -> Vec<(Option<Version>, Option<Version>)> {
    let a = SERVER;
    let b = CLIENT;
    let mut moved_new = v("moved", Some(7), (a, 40), &[(a, 40)]);
    moved_new.place = Place::Projects;
    let mut stale_new = v("stale content", Some(4), (a, 70), &[(a, 70)]);
    stale_new.minute = 30;
    let mut no_sk_old = v("no source key, regressed", None, (a, 30), &[(a, 30)]);
    no_sk_old.search_key = Some(0xA1);
    let mut no_sk_new = v("no source key, regressed", None, (a, 20), &[(a, 20)]);
    no_sk_new.search_key = Some(0xA1);
    let mut entry_old = v("entry id, conflict", None, (a, 5), &[]);
    entry_old.pcl.clear();
    let entry_new = v("entry id, conflict", None, (b, 5), &[]);
    // A copy: same search key, different source keys; must not be matched.
    let mut copy_old = v("copied original", Some(10), (a, 80), &[(a, 80)]);
    copy_old.search_key = Some(0xB2);
    let mut copy_new = v("the copy", Some(11), (a, 81), &[(a, 81)]);
    copy_new.search_key = Some(0xB2);
    vec![
        // First, so it has the same NID in both files.
        (Some(entry_old), Some(entry_new)),
        (
            Some(v("regressed change key", Some(1), (a, 100), &[(a, 100)])),
            Some(v("regressed change key", Some(1), (a, 90), &[(a, 90)])),
        ),
        (
            Some(v("regressed PCL", Some(2), (b, 7), &[(a, 50), (b, 7)])),
            Some(v("regressed PCL", Some(2), (a, 50), &[(a, 50)])),
        ),
        (
            Some(v("conflict", Some(3), (a, 60), &[(a, 60)])),
            Some(v("conflict", Some(3), (b, 3), &[(b, 3)])),
        ),
        (
            Some(v("stale content", Some(4), (a, 70), &[(a, 70)])),
            Some(stale_new),
        ),
        (
            Some(v("healthy update", Some(5), (a, 10), &[(a, 10)])),
            Some(v("healthy update", Some(5), (a, 11), &[(a, 11)])),
        ),
        (
            Some(v("unchanged", Some(6), (a, 12), &[(a, 12)])),
            Some(v("unchanged", Some(6), (a, 12), &[(a, 12)])),
        ),
        (
            Some(v("moved", Some(7), (a, 40), &[(a, 40)])),
            Some(moved_new),
        ),
        (Some(v("removed", Some(8), (a, 41), &[(a, 41)])), None),
        (Some(no_sk_old), Some(no_sk_new)),
        (Some(copy_old), Some(copy_new)),
        (None, Some(v("added", Some(9), (a, 42), &[(a, 42)]))),
    ]
}

fn write_pair(format: Format, tag: &str) -> (PathBuf, PathBuf) {
    let cases = cases();
    let old: Vec<Version> = cases.iter().filter_map(|c| c.0.clone()).collect();
    let new: Vec<Version> = cases.iter().filter_map(|c| c.1.clone()).collect();
    let old_path = scratch(&format!(
        "{tag}-old.{}",
        if format.is_ost() { "ost" } else { "pst" }
    ));
    let new_path = scratch(&format!(
        "{tag}-new.{}",
        if format.is_ost() { "ost" } else { "pst" }
    ));
    write_store(&old_path, format, &old);
    write_store(&new_path, format, &new);
    (old_path, new_path)
}

fn validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(workspace().join("docs/diff.schema.json")).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::validator_for(&schema).expect("docs/diff.schema.json compiles")
}

fn record_validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(workspace().join("docs/diff.schema.json")).unwrap();
    let mut schema: Value = serde_json::from_str(&text).unwrap();
    let defs = schema["$defs"].clone();
    schema = serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": "#/$defs/record",
        "$defs": defs,
    });
    jsonschema::validator_for(&schema).expect("record schema compiles")
}

fn assert_valid(validator: &jsonschema::Validator, value: &Value, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{what}: {errors:#?}");
}

fn run_json(old: &Path, new: &Path, extra: &[&str]) -> (Option<i32>, Value) {
    let mut args = vec![
        "diff",
        old.to_str().unwrap(),
        new.to_str().unwrap(),
        "--json",
    ];
    args.extend_from_slice(extra);
    let out = ostscan(&args);
    let value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), value)
}

fn subjects(list: &Value) -> BTreeSet<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|i| i["subject"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn every_rule_fires_on_its_planted_item_and_nowhere_else() {
    for format in [Format::Unicode, Format::Ost4k, Format::Ansi] {
        let (old, new) = write_pair(format, format.name());
        let (code, v) = run_json(&old, &new, &[]);
        assert_eq!(code, Some(1), "{format}: findings at warning and above");
        assert_valid(&validator(), &v, format.name());

        let found: BTreeSet<(String, String, String)> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["rule"].as_str().unwrap().to_string(),
                    f["subject"].as_str().unwrap().to_string(),
                    f["match"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let expected: BTreeSet<(String, String, String)> = [
            ("DIFF001", "regressed change key", "source_key"),
            ("DIFF001", "regressed PCL", "source_key"),
            ("DIFF002", "conflict", "source_key"),
            ("DIFF003", "stale content", "source_key"),
            ("DIFF001", "no source key, regressed", "search_key"),
            ("DIFF002", "entry id, conflict", "entry_id"),
        ]
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
        assert_eq!(found, expected, "{format}");
        assert_eq!(v["findings"].as_array().unwrap().len(), expected.len());

        assert_eq!(
            subjects(&v["added"]),
            BTreeSet::from(["added".into(), "the copy".into()])
        );
        assert_eq!(
            subjects(&v["removed"]),
            BTreeSet::from(["removed".into(), "copied original".into()])
        );
        assert_eq!(subjects(&v["moved"]), BTreeSet::from(["moved".into()]));
        let moved = &v["moved"][0];
        assert_eq!(moved["old_folder"], "/Top of Personal Folders/Inbox");
        assert_eq!(moved["new_folder"], "/Top of Personal Folders/Projects");
        assert_eq!(
            moved["source_key"],
            "33333333333333333333333333333333000000000007"
        );

        let s = &v["summary"];
        assert_eq!(s["matched"], 9);
        assert_eq!(s["matched_by"]["source_key"], 7);
        assert_eq!(s["matched_by"]["search_key"], 1);
        assert_eq!(s["matched_by"]["entry_id"], 1);
        assert_eq!(s["findings_by_rule"]["DIFF001"], 3);
        assert_eq!(s["findings_by_severity"]["critical"], 3);
        assert_eq!(s["findings_by_severity"]["warning"], 3);
        assert_eq!(s["errors"], 0);
    }
}

#[test]
fn findings_carry_both_versions_decoded() {
    let (old, new) = write_pair(Format::Unicode, "decoded");
    let (_, v) = run_json(&old, &new, &[]);
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["subject"] == "regressed change key")
        .unwrap();
    assert_eq!(f["rule"], "DIFF001");
    assert_eq!(f["severity"], "critical");
    assert_eq!(
        f["source_key"],
        "33333333333333333333333333333333000000000001"
    );
    assert_eq!(f["old_folder"], "/Top of Personal Folders/Inbox");
    assert_eq!(f["new_folder"], "/Top of Personal Folders/Inbox");
    assert_eq!(f["old_change_key"]["counter"], 100);
    assert_eq!(f["new_change_key"]["counter"], 90);
    assert_eq!(f["old_change_key"]["local_id_len"], 4);
    assert_eq!(
        f["old_change_key"]["hex"],
        "1111111111111111111111111111111100000064"
    );
    assert_eq!(
        f["new_change_key"]["guid"],
        "{11111111-1111-1111-1111-111111111111}"
    );
    assert_eq!(f["old_pcl"][0]["counter"], 100);
    assert_eq!(f["new_pcl"][0]["counter"], 90);
    assert_eq!(
        f["new_pcl"][0]["hex"],
        "111111111111111111111111111111110000005a"
    );
    assert!(f["old_nid"].as_u64().unwrap() > 0 && f["new_nid"].as_u64().unwrap() > 0);
    // The NIDs also as the text shows them.
    for side in ["old", "new"] {
        let nid = f[format!("{side}_nid")].as_u64().unwrap();
        assert_eq!(f[format!("{side}_nid_hex")], format!("{nid:#x}"));
    }
    let detail = f["detail"].as_str().unwrap();
    assert!(detail.contains("back by 10"), "{detail}");

    let stale = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "DIFF003")
        .unwrap();
    assert!(stale["detail"]
        .as_str()
        .unwrap()
        .contains("PR_LAST_MODIFICATION_TIME"));
    assert_ne!(stale["old_last_modified"], stale["new_last_modified"]);
}

#[test]
fn fail_on_threshold_and_identical_copies() {
    let (old, new) = write_pair(Format::Unicode, "threshold");
    let (code, _) = run_json(&old, &new, &["--fail-on", "critical"]);
    assert_eq!(code, Some(1));
    // Same file on both sides: every item matched, nothing else.
    let (code, v) = run_json(&old, &old, &[]);
    assert_eq!(code, Some(0));
    assert_eq!(v["summary"]["findings"], 0);
    assert_eq!(v["summary"]["changed"], 0);
    assert_eq!(v["summary"]["matched"], v["summary"]["old_items"]);
    assert_eq!(v["added"].as_array().unwrap().len(), 0);
    assert_eq!(v["moved"].as_array().unwrap().len(), 0);
    // Swapped: what regressed now advanced and the healthy update went
    // back; conflicts and the stale content stay what they were.
    let (_, v) = run_json(&new, &old, &[]);
    let found: BTreeSet<(String, String)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["subject"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected: BTreeSet<(String, String)> = [
        ("DIFF001", "healthy update"),
        ("DIFF002", "conflict"),
        ("DIFF002", "entry id, conflict"),
        ("DIFF003", "stale content"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(found, expected);
}

#[test]
fn ndjson_lines_are_typed_and_valid() {
    let (old, new) = write_pair(Format::Ost, "ndjson");
    let out = ostscan(&[
        "diff",
        old.to_str().unwrap(),
        new.to_str().unwrap(),
        "--ndjson",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let validator = record_validator();
    for l in &lines {
        assert_valid(&validator, l, &l.to_string());
    }
    let types: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
    assert_eq!(types.first(), Some(&"begin"));
    assert_eq!(&types[types.len() - 2..], ["end", "summary"]);
    let count = |t: &str| types.iter().filter(|x| **x == t).count();
    assert_eq!(count("finding"), 6);
    assert_eq!(count("added"), 2);
    assert_eq!(count("removed"), 2);
    assert_eq!(count("moved"), 1);
}

#[test]
fn unreadable_file_exits_2_naming_it() {
    let (old, _) = write_pair(Format::Unicode, "unreadable");
    let bad = scratch("not-a-store.pst");
    std::fs::write(&bad, b"this is not an Outlook file").unwrap();
    let out = ostscan(&[
        "diff",
        old.to_str().unwrap(),
        bad.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not-a-store.pst"), "{err}");
    let missing = scratch("missing.ost");
    let out = ostscan(&["diff", missing.to_str().unwrap(), old.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.ost"));
}

#[test]
fn out_holds_what_standard_output_would_and_a_failed_run_leaves_it_alone() {
    let (old, new) = write_pair(Format::Unicode, "out");
    let (o, n) = (old.to_str().unwrap(), new.to_str().unwrap());
    let target = scratch("diff-out.json");
    let stdout = ostscan(&["diff", o, n, "--json"]);
    let to_file = ostscan(&["diff", o, n, "--json", "--out", target.to_str().unwrap()]);
    assert_eq!(to_file.status.code(), stdout.status.code());
    assert!(to_file.stdout.is_empty());
    let strip = |bytes: &[u8]| common::without_timing(serde_json::from_slice(bytes).unwrap());
    let written = std::fs::read(&target).unwrap();
    assert_eq!(strip(&written), strip(&stdout.stdout));
    // NEW unreadable: exit 2, and the earlier output stays as it was.
    let bad = scratch("diff-out-bad.pst");
    std::fs::write(&bad, b"this is not an Outlook file").unwrap();
    let failed = ostscan(&[
        "diff",
        o,
        bad.to_str().unwrap(),
        "--json",
        "--out",
        target.to_str().unwrap(),
    ]);
    assert_eq!(failed.status.code(), Some(2));
    assert_eq!(std::fs::read(&target).unwrap(), written);
    let leftovers = common::out_temp_files(target.parent().unwrap());
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn text_output_summarizes() {
    let (old, new) = write_pair(Format::Unicode, "text");
    let out = ostscan(&["diff", old.to_str().unwrap(), new.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("DIFF001 critical"), "{text}");
    assert!(text.contains("moved (1):"), "{text}");
    assert!(text.contains("added (2):"), "{text}");
    // `changed` is said for what it is: the pairs with a new version.
    let (_, v) = run_json(&old, &new, &[]);
    let changed = v["summary"]["changed"].as_u64().unwrap();
    assert!(changed > 0);
    assert!(
        text.contains(&format!(
            ", {changed} with a new version (change key or PCL); added 2, removed "
        )),
        "{text}"
    );
    // The counts by severity, as every command's text says them.
    let by = &v["summary"]["findings_by_severity"];
    let counts = format!(
        "findings {} ({} critical, {} warning, {} info)\n",
        v["summary"]["findings"], by["critical"], by["warning"], by["info"]
    );
    assert!(text.contains(&counts), "{counts}\n{text}");
}

/// An edit that keeps the change key, the subject and the modification
/// time and changes only the body: appended to (a short body, in the
/// message's heap), or rewritten in place at the same length (a 20 KB
/// body, in a subnode of several blocks). Both are DIFF003, naming
/// PR_BODY; an untouched body is not.
#[test]
fn body_only_edits_are_diff003() {
    let a = SERVER;
    let with_body = |subject: &'static str, sk: u8, body: String| {
        let mut version = v(subject, Some(sk), (a, 20), &[(a, 20)]);
        version.body = Some(body);
        version
    };
    let with_html = |subject: &'static str, sk: u8, html: &'static str| {
        let mut version = with_body(subject, sk, "same text".into());
        version.html = Some(html);
        version
    };
    let long: String = "All work and no play makes Jack a dull boy. "
        .chars()
        .cycle()
        .take(20_000)
        .collect();
    let mut rewritten = long.clone();
    // One character in the middle, in the second data block.
    rewritten.replace_range(12_000..12_001, "X");
    assert_eq!(rewritten.len(), long.len());
    assert_ne!(rewritten, long);
    let pairs = [
        (
            with_body("appended", 1, "Hello.".into()),
            with_body("appended", 1, "Hello.\r\nP.S. one more line".into()),
        ),
        (
            with_body("rewritten in place", 2, long.clone()),
            with_body("rewritten in place", 2, rewritten),
        ),
        (
            with_body("untouched", 3, long.clone()),
            with_body("untouched", 3, long),
        ),
        (
            with_body("no body change", 4, "same".into()),
            with_body("no body change", 4, "same".into()),
        ),
        (
            with_html("html edited", 5, "<p>Hello</p>"),
            with_html("html edited", 5, "<p>Hallo</p>"),
        ),
    ];
    for format in [Format::Unicode, Format::Ansi, Format::Ost4k] {
        let (old, new) = write_versions(format, &format!("bodies-{}", format.name()), &pairs);
        let (code, v) = run_json(&old, &new, &[]);
        assert_eq!(code, Some(1), "{format}: DIFF003 is a warning");
        assert_valid(&validator(), &v, format.name());
        let found: Vec<(&str, &str, &Value)> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["rule"].as_str().unwrap(),
                    f["subject"].as_str().unwrap(),
                    &f["changed_bodies"],
                )
            })
            .collect();
        let body = serde_json::json!(["PR_BODY"]);
        let html = serde_json::json!(["PR_HTML"]);
        assert_eq!(
            found,
            [
                ("DIFF003", "appended", &body),
                ("DIFF003", "rewritten in place", &body),
                ("DIFF003", "html edited", &html)
            ],
            "{format}"
        );
        let detail = v["findings"][1]["detail"].as_str().unwrap();
        assert!(
            detail.ends_with("but the body changed (PR_BODY)"),
            "{detail}"
        );
        assert_eq!(v["summary"]["bodies_compared"], 5, "{format}");
        assert_eq!(v["summary"]["errors"], 0, "{format}");
        assert_eq!(v["warnings"], serde_json::json!([]), "{format}");
        // The text names the change too.
        let out = ostscan(&["diff", old.to_str().unwrap(), new.to_str().unwrap()]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("the body changed (PR_BODY)"), "{text}");
    }
}

/// Two stores that share no source key are not two copies of one mailbox:
/// the diff says so (JSON, NDJSON and text) instead of only listing every
/// item as added and removed.
#[test]
fn unrelated_stores_are_called_different_mailboxes() {
    let a = SERVER;
    let pairs: Vec<(Version, Version)> = (0..5u8)
        .map(|k| {
            (
                v("mine", Some(k), (a, 10), &[(a, 10)]),
                v("theirs", Some(100 + k), (a, 10), &[(a, 10)]),
            )
        })
        .collect();
    let (old, new) = write_versions(Format::Unicode, "unrelated", &pairs);
    let (code, v) = run_json(&old, &new, &[]);
    assert_eq!(code, Some(0), "no findings");
    assert_valid(&validator(), &v, "unrelated");
    assert_eq!(v["warnings"][0]["code"], "different_mailboxes");
    let message = v["warnings"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("share 0 source keys of 5 and 5"),
        "{message}"
    );
    let out = ostscan(&["diff", old.to_str().unwrap(), new.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("warning: OLD and NEW share 0 source keys of 5 and 5: these look like different mailboxes"),
        "{text}"
    );
    let out = ostscan(&[
        "diff",
        old.to_str().unwrap(),
        new.to_str().unwrap(),
        "--ndjson",
    ]);
    let lines = common::ndjson(&out.stdout);
    let validator = record_validator();
    for l in &lines {
        assert_valid(&validator, l, &l.to_string());
    }
    assert_eq!(lines[1]["type"], "warning");
    // Two copies of one mailbox share theirs: no warning.
    let (_, v) = run_json(&old, &old, &[]);
    assert_eq!(v["warnings"], serde_json::json!([]));
}

#[test]
fn standard_error_lists_the_first_errors_and_counts_the_rest() {
    use ost_fixture::faults::{damage, Damage};
    let a = SERVER;
    let (old, _) = write_versions(Format::Unicode, "many-errors", &[]);
    // NEW: 60 messages, each data block pointing past the end of the file.
    let damaged = scratch("many-errors-new.pst");
    let (written, nids) = {
        let out = std::io::Cursor::new(Vec::new());
        let mut w = StoreWriter::new(out, Format::Unicode, CryptMethod::None, RECORD_KEY).unwrap();
        let folders = standard_folders(&mut w);
        let nids: Vec<u32> = (0..60u8)
            .map(|k| {
                let m = Message {
                    subject: format!("item {k}"),
                    message_class: "IPM.Note".into(),
                    change_key: Some(xid(&a, 10, 4)),
                    pcl: Some(pcl(&[xid(&a, 10, 4)])),
                    ..Message::default()
                };
                w.add_message(folders.inbox, &m).unwrap()
            })
            .collect();
        (w.finish().unwrap(), nids)
    };
    let mut file = written.out.into_inner();
    for nid in nids {
        damage(
            &mut file,
            Format::Unicode,
            &written.layout,
            Damage::BlockPastEnd { nid },
        )
        .unwrap();
    }
    std::fs::write(&damaged, &file).unwrap();
    let (code, v) = run_json(&old, &damaged, &[]);
    assert_eq!(code, Some(2));
    let errors = v["errors"].as_array().unwrap().len();
    assert!(errors > 50, "{errors} errors");
    let out = ostscan(&["diff", old.to_str().unwrap(), damaged.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let named = err
        .lines()
        .filter(|l| l.contains("many-errors-new.pst: "))
        .count();
    assert_eq!(named, 50, "{err}");
    assert!(
        err.contains(&format!(
            "... {} more errors (--json lists all)",
            errors - 50
        )),
        "{err}"
    );
}

/// Damage in one file is part of the result, not only of stderr: the JSON
/// lists it, and so does the text (stdout) after the totals.
#[test]
fn read_errors_are_in_the_result() {
    use ost_fixture::faults::{damage, Damage};
    let a = SERVER;
    let pairs: Vec<(Version, Version)> = (0..4u8)
        .map(|k| {
            (
                v("item", Some(k), (a, 10), &[(a, 10)]),
                v("item", Some(k), (a, 10), &[(a, 10)]),
            )
        })
        .collect();
    let (old, _) = write_versions(Format::Unicode, "damaged", &pairs);
    // NEW: the same items, the data block of the last one pointing past
    // the end of the file.
    let damaged = scratch("damaged-new.pst");
    let (written, last) = {
        let out = std::io::Cursor::new(Vec::new());
        let mut w = StoreWriter::new(out, Format::Unicode, CryptMethod::None, RECORD_KEY).unwrap();
        let folders = standard_folders(&mut w);
        let mut last = 0;
        for p in &pairs {
            let m = Message {
                subject: p.1.subject.into(),
                message_class: "IPM.Note".into(),
                change_key: Some(xid(&a, 10, 4)),
                pcl: Some(pcl(&[xid(&a, 10, 4)])),
                source_key: p.1.source_key.map(|k| {
                    let mut key = vec![0x33; 16];
                    key.extend_from_slice(&[0, 0, 0, 0, 0, k]);
                    key
                }),
                last_modified: Some(filetime(2024, 5, 1, 12, 0, 0, 0)),
                ..Message::default()
            };
            last = w.add_message(folders.inbox, &m).unwrap();
        }
        (w.finish().unwrap(), last)
    };
    let mut file = written.out.into_inner();
    damage(
        &mut file,
        Format::Unicode,
        &written.layout,
        Damage::BlockPastEnd { nid: last },
    )
    .unwrap();
    std::fs::write(&damaged, &file).unwrap();
    let (code, v) = run_json(&old, &damaged, &[]);
    assert_eq!(code, Some(2), "read in part");
    assert_valid(&validator(), &v, "damaged");
    let errors = v["errors"].as_array().unwrap();
    assert!(!errors.is_empty());
    assert!(errors.iter().all(|e| e["side"] == "new"), "{errors:?}");
    assert_eq!(v["summary"]["errors"], errors.len());
    let out = ostscan(&["diff", old.to_str().unwrap(), damaged.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!(
            "errors {}: the results cover what could be read",
            errors.len()
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("\nerrors ({}):\n", errors.len())),
        "{text}"
    );
    assert!(text.contains("damaged-new.pst: "), "{text}");
}

/// The real OSTs: a copy against itself compares every body (each item
/// has a change key) and finds nothing; the two OSTs against each other
/// are different mailboxes.
#[test]
fn real_osts_bodies_and_different_mailboxes() {
    let Some(dir) = common::corpus() else { return };
    let a = dir.join("asposenet_SampleOstFile.ost");
    let b = dir.join("pstextractor_outlookcom_test.ost");
    for (path, items) in [(&a, 113), (&b, 214)] {
        let (code, v) = run_json(path, path, &[]);
        assert_eq!(code, Some(0), "{}", path.display());
        assert_valid(&validator(), &v, "real");
        assert_eq!(v["summary"]["matched"], items);
        assert_eq!(v["summary"]["bodies_compared"], items);
        assert_eq!(v["summary"]["errors"], 0);
        assert_eq!(v["warnings"], serde_json::json!([]));
    }
    let (_, v) = run_json(&a, &b, &[]);
    assert_eq!(v["warnings"][0]["code"], "different_mailboxes");
    assert_eq!(v["summary"]["matched"], 0);
}

/// In an OST whose items are read from their contents-table rows, an item
/// whose own node cannot be read is still matched (from its row); reading
/// its body then fails, and that is an error of the result (side, NID, "the
/// body"), its pair's bodies not compared, every other pair's compared.
#[test]
fn a_body_that_cannot_be_read_is_an_error_of_the_result() {
    use ost_fixture::SyncPlacement;
    use ost_fixture::{damage, Damage, FixtureBuilder};
    let builder = FixtureBuilder::new(Format::Ost)
        .messages(30)
        .seed(7)
        .sync_placement(SyncPlacement::Rows);
    let written = builder.write_to(std::io::Cursor::new(Vec::new())).unwrap();
    let mut bytes = written.out.into_inner();
    let old = scratch("rows-old.ost");
    std::fs::write(&old, &bytes).unwrap();
    let victim = written
        .manifest
        .iter()
        .find(|r| r.folder.ends_with("/Inbox") && r.row_change_key.is_some())
        .expect("an Inbox item with a change key")
        .nid;
    damage(
        &mut bytes,
        Format::Ost,
        &written.layout,
        Damage::BlockPastEnd { nid: victim },
    )
    .unwrap();
    let new = scratch("rows-new.ost");
    std::fs::write(&new, &bytes).unwrap();

    let (code, v) = run_json(&old, &new, &[]);
    assert_eq!(code, Some(2), "read in part");
    assert_valid(&validator(), &v, "body error");
    let errors = v["errors"].as_array().unwrap();
    let body_errors: Vec<&Value> = errors
        .iter()
        .filter(|e| {
            e["message"]
                .as_str()
                .unwrap()
                .starts_with("reading the body")
        })
        .collect();
    assert_eq!(body_errors.len(), 1, "{errors:#?}");
    assert_eq!(body_errors[0]["side"], "new");
    assert_eq!(body_errors[0]["nid"], victim);
    let s = &v["summary"];
    assert_eq!(s["matched"], written.manifest.len());
    assert_eq!(s["bodies_compared"], s["matched"].as_u64().unwrap() - 1);
    assert_eq!(s["findings"], 0, "{:#?}", v["findings"]);
    let out = ostscan(&["diff", old.to_str().unwrap(), new.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!(
            "(nid {victim:#x}): reading the body (DIFF003 not checked)"
        )),
        "{text}"
    );
}

/// A copy whose reader met an integrity problem and read past it (the CRC
/// of the message store's data block no longer matches; the data is
/// intact): the diff finds nothing, but, as the scan and the
/// reconciliation do, it says the file was read only in part, names the
/// problem among its errors on that file's side, and exits 2 unless
/// `--allow-partial`.
#[test]
fn integrity_problems_read_past_make_the_diff_partial() {
    use ost_fixture::FixtureBuilder;
    let fx = FixtureBuilder::new(Format::Ost4k)
        .messages(12)
        .seed(5)
        .build()
        .unwrap();
    let good = scratch("integrity-good.ost");
    std::fs::write(&good, &fx.bytes).unwrap();
    let node = fx.layout.node(0x21).unwrap();
    let block = fx.layout.block(node.bid_data).unwrap();
    let bytes = common::with_a_bad_block_crc(&fx, Format::Ost4k, 0x21);
    let damaged = scratch("integrity-bad-crc.ost");
    std::fs::write(&damaged, &bytes).unwrap();
    // Intact against intact: complete.
    let (code, v) = run_json(&good, &good, &[]);
    assert_eq!(code, Some(0));
    assert_eq!(v["summary"]["errors"], 0);
    for (old, new, side) in [(&good, &damaged, "new"), (&damaged, &good, "old")] {
        let (code, v) = run_json(old, new, &[]);
        assert_eq!(code, Some(2), "read in part ({side})");
        assert_valid(&validator(), &v, "integrity");
        assert_eq!(v["summary"]["findings"], 0);
        let errors = v["errors"].as_array().unwrap();
        assert_eq!(v["summary"]["errors"], errors.len());
        assert!(
            errors.iter().any(|e| e["side"] == side
                && e["structure"].as_str().unwrap().ends_with("(integrity)")
                && e["message"].as_str().unwrap().contains("CRC")
                && e["offset"] == block.ib),
            "{errors:?}"
        );
        assert!(errors.iter().all(|e| e["side"] == side), "{errors:?}");
        let (code, _) = run_json(old, new, &["--allow-partial"]);
        assert_eq!(code, Some(0));
    }
    let out = ostscan(&["diff", good.to_str().unwrap(), damaged.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("the results cover what could be read"),
        "{text}"
    );
    assert!(text.contains("integrity-bad-crc.ost: "), "{text}");
    // The damaged copy against itself: each side reports the problem, and
    // says which side it is, so no two lines are alike.
    let d = damaged.to_str().unwrap();
    let out = ostscan(&["diff", d, d]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("(integrity)"))
        .collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(lines[0].contains(&format!("{d} (OLD): ")), "{stderr}");
    assert!(lines[1].contains(&format!("{d} (NEW): ")), "{stderr}");
}

/// A real OST against a PST "export" of its mail (the same items, source
/// keys, versions and folders, the folders below the PST's own IPM
/// subtree): no item is moved. A real OST names no IPM subtree by entry
/// id, so its folders below `/Root - Mailbox/IPM_SUBTREE` must be matched
/// with the export's below "Top of Personal Folders".
#[test]
fn a_real_ost_and_its_pst_export_move_nothing() {
    use std::collections::BTreeMap;
    let Some(dir) = common::corpus() else { return };
    let ost = dir.join("pstextractor_outlookcom_test.ost");
    let file = ost_ndb::Pst::open(&ost).unwrap();
    let snapshot = ostscan::diff::snapshot(&file);
    const TOP: &str = "/Root - Mailbox/IPM_SUBTREE/";
    let mail: Vec<_> = snapshot
        .items
        .iter()
        .filter(|i| i.kind == ost_props::ItemKind::Contents && i.folder.starts_with(TOP))
        .collect();
    assert!(mail.len() > 50, "{}", mail.len());

    let export = scratch("export-of-real.pst");
    let out = BufWriter::new(File::create(&export).unwrap());
    let mut w = StoreWriter::new(out, Format::Unicode, CryptMethod::None, RECORD_KEY).unwrap();
    let mut folders = BTreeMap::new();
    for item in &mail {
        let mut parent = w.ipm_subtree();
        let mut path = String::new();
        for name in item.folder[TOP.len()..].split('/') {
            path = format!("{path}/{name}");
            parent = *folders
                .entry(path.clone())
                .or_insert_with(|| w.add_folder(parent, name));
        }
        let m = Message {
            subject: item.subject.clone().unwrap_or_default(),
            message_class: item.message_class.clone().unwrap_or_default(),
            change_key: item.change_key.clone(),
            pcl: item.pcl.clone(),
            source_key: item.source_key.clone(),
            ..Message::default()
        };
        w.add_message(parent, &m).unwrap();
    }
    w.finish().unwrap();

    let (_, v) = run_json(&ost, &export, &["--allow-partial"]);
    assert_eq!(v["summary"]["matched"], mail.len(), "{}", v["summary"]);
    assert_eq!(v["summary"]["moved"], 0, "{}", v["moved"]);
    assert_eq!(v["summary"]["added"], 0);
}
