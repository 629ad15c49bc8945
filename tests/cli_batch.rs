//! `ostscan batch` end to end: discovery, bad and missing files, shards,
//! resume, exit codes.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::{assert_valid, ndjson, ostscan, ostscan_stdin, report_validator, scratch};
use ost_fixture::{FixtureBuilder, Format, Rule};
use serde_json::Value;

/// A directory of stores: `clean` healthy ones (some nested, mixed-case
/// extensions) and one with a planted SYNC002; plus files that are not
/// stores by name. Returns the store paths, sorted.
fn store_tree(dir: &Path, clean: usize) -> Vec<PathBuf> {
    let names = [
        "a.pst",
        "B.OST",
        "sub/c.Pst",
        "sub/deeper/d.ost",
        "e.pst",
        "sub/f.OST",
    ];
    let mut paths = Vec::new();
    for (i, name) in names.iter().take(clean).enumerate() {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let format = if i % 2 == 0 {
            Format::Unicode
        } else {
            Format::Ost
        };
        FixtureBuilder::new(format)
            .messages(15)
            .seed(100 + i as u64)
            .write_file(&path)
            .unwrap();
        paths.push(path);
    }
    let faulty = dir.join("sub/faulty.ost");
    std::fs::create_dir_all(faulty.parent().unwrap()).unwrap();
    FixtureBuilder::new(Format::Ost4k)
        .messages(20)
        .seed(99)
        .plant(Rule::Sync002, 2)
        .write_file(&faulty)
        .unwrap();
    paths.push(faulty);
    std::fs::write(dir.join("notes.txt"), b"not a store").unwrap();
    std::fs::write(dir.join("sub/archive.pst.bak"), b"not a store either").unwrap();
    paths.sort();
    paths
}

fn records_of(out: &std::process::Output) -> Vec<Value> {
    ndjson(&out.stdout)
}

fn paths_with(records: &[Value], kind: &str) -> Vec<String> {
    records
        .iter()
        .filter(|r| r["type"] == kind)
        .map(|r| r["path"].as_str().unwrap().to_string())
        .collect()
}

fn as_strings(paths: &[PathBuf]) -> Vec<String> {
    paths.iter().map(|p| p.display().to_string()).collect()
}

#[test]
fn finds_stores_recursively_sorted_and_reports_findings() {
    let dir = scratch("batch-discover");
    let stores = store_tree(&dir, 4);
    let out = ostscan(&["batch", "--jobs", "2", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "SYNC002 is critical");
    let records = records_of(&out);
    assert_eq!(paths_with(&records, "begin"), as_strings(&stores));
    assert_eq!(paths_with(&records, "end"), as_strings(&stores));
    let validator = report_validator(Some("record"));
    for r in &records {
        assert_valid(&validator, r, &r.to_string());
    }
    let findings: Vec<&Value> = records.iter().filter(|r| r["type"] == "finding").collect();
    assert_eq!(findings.len(), 2);
    assert!(findings
        .iter()
        .all(|f| f["rule"] == "SYNC002" && f["path"].as_str().unwrap().ends_with("faulty.ost")));
    let summary = records.last().unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["files"], 5);

    let out = ostscan(&[
        "batch",
        "--fail-on",
        "critical",
        "--jobs",
        "1",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let clean_only = scratch("batch-clean");
    store_tree(&clean_only, 2);
    std::fs::remove_file(clean_only.join("sub/faulty.ost")).unwrap();
    let out = ostscan(&["batch", clean_only.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn a_corrupt_and_a_missing_file_are_reported_and_the_batch_finishes() {
    let dir = scratch("batch-bad");
    let stores = store_tree(&dir, 2);
    let corrupt = dir.join("corrupt.pst");
    std::fs::write(&corrupt, b"!BDN garbage that is no header").unwrap();
    let truncated = dir.join("truncated.ost");
    let bytes = std::fs::read(&stores[0]).unwrap();
    std::fs::write(&truncated, &bytes[..300]).unwrap();
    let missing = dir.join("missing.ost");
    let mut listed: Vec<String> = as_strings(&stores);
    listed.push(corrupt.display().to_string());
    listed.push(truncated.display().to_string());
    listed.push(missing.display().to_string());
    let manifest = dir.join("list.txt");
    std::fs::write(&manifest, listed.join("\n") + "\n# a comment\n\n").unwrap();

    let out = ostscan(&["batch", "--manifest", manifest.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let records = records_of(&out);
    let ended: BTreeSet<String> = paths_with(&records, "end").into_iter().collect();
    let expected: BTreeSet<String> = listed.iter().cloned().collect();
    assert_eq!(ended, expected, "every file ends, bad ones included");
    for bad in [&corrupt, &truncated, &missing] {
        let bad = bad.display().to_string();
        let errors: Vec<&Value> = records
            .iter()
            .filter(|r| r["type"] == "error" && r["path"] == bad.as_str())
            .collect();
        assert_eq!(errors.len(), 1, "{bad}");
        assert_eq!(errors[0]["source"], "open");
        let end = records
            .iter()
            .find(|r| r["type"] == "end" && r["path"] == bad.as_str())
            .unwrap();
        assert_eq!(end["status"], "unreadable");
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("missing.ost") && stderr.contains("corrupt.pst"),
        "{stderr}"
    );
    let summary = records.last().unwrap();
    assert_eq!(summary["files_unreadable"], 3);
    assert_eq!(summary["files"], listed.len());

    // The same list on standard input.
    let out = ostscan_stdin(&["batch", "--manifest", "-"], listed.join("\n").as_bytes());
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(paths_with(&records_of(&out), "end").len(), listed.len());
    // A missing directory argument is an error record, and exit 2.
    let out = ostscan(&["batch", dir.join("no-such-dir").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let records = records_of(&out);
    assert_eq!(records[0]["type"], "error");
}

#[test]
fn shards_cover_a_directory_exactly_once() {
    let dir = scratch("batch-shard");
    let stores = store_tree(&dir, 6);
    let mut seen = Vec::new();
    for k in 1..=3 {
        let shard = format!("{k}/3");
        let out = ostscan(&["batch", "--shard", &shard, dir.to_str().unwrap()]);
        assert!(matches!(out.status.code(), Some(0 | 1)), "{shard}");
        let begun = paths_with(&records_of(&out), "begin");
        assert!(!begun.is_empty(), "{shard} has work");
        seen.extend(begun);
    }
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no file in two shards");
    let mut seen_sorted = seen.clone();
    seen_sorted.sort();
    assert_eq!(seen_sorted, as_strings(&stores), "every file in some shard");

    for bad in ["0/3", "4/3", "1/0", "two/3"] {
        let out = ostscan(&["batch", "--shard", bad, dir.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
    }
}

/// The summary of a run that kept every file from an earlier one counts
/// them as that run did: every total but `files_skipped` (and the time)
/// is the same, unreadable and partial files included.
#[test]
fn a_resumed_summary_counts_the_earlier_files_as_their_run_did() {
    let dir = scratch("batch-resume-totals");
    let stores_dir = dir.join("stores");
    store_tree(&stores_dir, 3);
    std::fs::write(stores_dir.join("garbage.pst"), b"!BDN but nothing else").unwrap();
    let damaged = common::pst_with_a_bad_block_crc(8, 5);
    std::fs::write(stores_dir.join("damaged.pst"), damaged).unwrap();
    let out_file = dir.join("out.ndjson");
    let out_path = out_file.to_str().unwrap();
    let root = stores_dir.to_str().unwrap();

    let first = ostscan(&["batch", "--out", out_path, root]);
    assert_eq!(first.status.code(), Some(2));
    let mut first = ndjson(&std::fs::read(&out_file).unwrap()).pop().unwrap();
    assert_eq!(first["type"], "summary");
    assert_eq!(first["files_unreadable"], 1, "{first}");
    assert_eq!(first["files_partial"], 1, "{first}");
    assert!(first["findings"].as_u64().unwrap() > 0, "{first}");

    let again = ostscan(&["batch", "--resume", "--out", out_path, root]);
    assert_eq!(again.status.code(), Some(2));
    let mut resumed = ndjson(&std::fs::read(&out_file).unwrap()).pop().unwrap();
    assert_eq!(resumed["files_skipped"], first["files"]);
    for summary in [&mut first, &mut resumed] {
        let fields = summary.as_object_mut().unwrap();
        fields.remove("files_skipped");
        fields.remove("elapsed_ms");
    }
    assert_eq!(resumed, first);
}

#[test]
fn resume_does_no_work_twice() {
    let dir = scratch("batch-resume");
    let stores_dir = dir.join("stores");
    let stores = store_tree(&stores_dir, 4);
    let out_file = dir.join("out.ndjson");
    let out_path = out_file.to_str().unwrap();
    let root = stores_dir.to_str().unwrap();

    let first = ostscan(&["batch", "--out", out_path, root]);
    assert_eq!(first.status.code(), Some(1));
    assert!(first.stdout.is_empty(), "records go to --out");
    let text = std::fs::read(&out_file).unwrap();
    assert_eq!(paths_with(&ndjson(&text), "end").len(), stores.len());

    // Nothing left to do: no new begin record, same exit code (from the
    // earlier end records), and the one summary, now saying all were
    // kept from the earlier run.
    let again = ostscan(&["batch", "--resume", "--out", out_path, root]);
    assert_eq!(again.status.code(), Some(1));
    let records = ndjson(&std::fs::read(&out_file).unwrap());
    assert_eq!(paths_with(&records, "begin").len(), stores.len());
    assert_eq!(records.iter().filter(|r| r["type"] == "summary").count(), 1);
    let last = records.last().unwrap();
    assert_eq!(last["type"], "summary");
    assert_eq!(last["files"], stores.len());
    assert_eq!(last["files_skipped"], stores.len());
    let first_summary = ndjson(&text).pop().unwrap();
    for key in [
        "messages",
        "findings",
        "findings_by_rule",
        "folders_to_clear",
    ] {
        assert_eq!(last[key], first_summary[key], "{key}");
    }

    // A run cut short: keep the records up to the second file's end and
    // half a line of the third. Resume scans only what has no end.
    let lines: Vec<&str> = std::str::from_utf8(&text).unwrap().lines().collect();
    let second_end = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.starts_with("{\"type\":\"end\""))
        .nth(1)
        .unwrap()
        .0;
    let mut cut = lines[..=second_end].join("\n");
    cut.push('\n');
    cut.push_str(&lines[second_end + 1][..20]);
    std::fs::write(&out_file, cut).unwrap();
    let resumed = ostscan(&["batch", "--resume", "--out", out_path, root]);
    assert_eq!(resumed.status.code(), Some(1));
    let text = std::fs::read_to_string(&out_file).unwrap();
    let ends: Vec<String> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| r["type"] == "end")
        .map(|r| r["path"].as_str().unwrap().to_string())
        .collect();
    let mut sorted = ends.clone();
    sorted.sort();
    assert_eq!(sorted, as_strings(&stores), "each file ends exactly once");
    let begins = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| r["type"] == "begin")
        .count();
    assert_eq!(begins, stores.len(), "the two done files were not redone");

    // --resume needs --out.
    let out = ostscan(&["batch", "--resume", root]);
    assert_eq!(out.status.code(), Some(2));
}
