//! `ostscan scan` end to end: planted faults are found exactly where they
//! were planted, output validates against docs/report.schema.json, output
//! does not depend on --jobs, and exit codes follow --fail-on.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::{
    assert_valid, corpus, manifest, ndjson, ostscan, report_validator, scratch, without_timing,
    workspace,
};
use ost_fixture::{CryptMethod, FixtureBuilder, Format, ManifestRecord, Rule};
use serde_json::Value;

/// Write a fixture with every rule planted `per_rule` times; return its
/// path and manifest.
fn fixture_with_every_rule(
    dir: &Path,
    format: Format,
    crypt: CryptMethod,
    seed: u64,
    per_rule: usize,
) -> (PathBuf, Vec<ManifestRecord>) {
    let mut builder = FixtureBuilder::new(format)
        .crypt(crypt)
        .messages(80)
        .seed(seed);
    for rule in Rule::ALL {
        builder = builder.plant(rule, per_rule);
    }
    let path = dir.join(format!("every-rule-{format:?}-{crypt:?}-{seed}.ost"));
    let written = builder.write_file(&path).expect("write fixture");
    (path, written.manifest)
}

fn scan_json(args: &[&str]) -> (Option<i32>, Value) {
    let out = ostscan(args);
    let value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?}: {e}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), value)
}

/// (nid, rule) of every finding of the report's only file.
fn found(report: &Value) -> BTreeSet<(u64, String)> {
    report["files"][0]["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["nid"].as_u64().unwrap(),
                f["rule"].as_str().unwrap().to_string(),
            )
        })
        .collect()
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

#[test]
fn every_planted_fault_is_found_on_its_item_and_nowhere_else() {
    let dir = scratch("scan-planted");
    let validator = report_validator(None);
    let cases = [
        (Format::Unicode, CryptMethod::None, 11),
        (Format::Ost, CryptMethod::Permute, 12),
        (Format::Ansi, CryptMethod::Cyclic, 13),
        (Format::Ost4k, CryptMethod::Permute, 14),
    ];
    for (format, crypt, seed) in cases {
        let (path, manifest) = fixture_with_every_rule(&dir, format, crypt, seed, 3);
        let expected = planted(&manifest);
        assert_eq!(expected.len(), 30, "3 items per rule planted");
        let (code, report) = scan_json(&["scan", "--json", path.to_str().unwrap()]);
        assert_eq!(code, Some(1), "{format:?}: findings at warning or above");
        assert_valid(&validator, &report, &format!("{format:?}"));
        assert_eq!(found(&report), expected, "{format:?} {crypt:?}");

        let file = &report["files"][0];
        assert_eq!(file["status"], "ok");
        let summary = &file["summary"];
        assert_eq!(summary["findings"], 30);
        for rule in Rule::ALL {
            assert_eq!(summary["findings_by_rule"][rule.id()], 3, "{rule}");
        }
        assert_eq!(
            summary["messages"].as_u64().unwrap(),
            manifest.len() as u64,
            "every manifest item, FAI included, is scanned"
        );
        assert_eq!(summary["errors"], 0);
        assert_eq!(
            file["file"]["format"],
            if format == Format::Ansi {
                "ansi"
            } else if format == Format::Ost4k {
                "unicode4k"
            } else {
                "unicode"
            }
        );

        // The decoded proof: a SYNC002 finding's PCL holds the change key's
        // namespace with a higher counter.
        let sync002 = file["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule"] == "SYNC002")
            .expect("a SYNC002 finding");
        let key = &sync002["change_key"];
        let higher = sync002["pcl"].as_array().unwrap().iter().any(|entry| {
            entry["guid"] == key["guid"]
                && entry["counter"].as_u64().unwrap() > key["counter"].as_u64().unwrap()
        });
        assert!(higher, "{sync002:#}");

        // Folders: counts add up, and every folder with a SYNC finding is
        // to be cleared (an OST; left alone if it is a Sync Issues folder)
        // or compared with its source (a PST).
        let ost = file["file"]["client"] == "OST";
        let sync_issues_folders = sync_issues_folder_nids(file);
        let folders = file["folders"].as_array().unwrap();
        let in_folders: u64 = folders
            .iter()
            .map(|f| f["findings"].as_u64().unwrap())
            .sum();
        assert_eq!(in_folders, 30);
        for folder in folders {
            let path = folder["path"].as_str().unwrap();
            let has_sync =
                file["findings"].as_array().unwrap().iter().any(|f| {
                    f["folder"] == path && f["rule"].as_str().unwrap().starts_with("SYNC")
                });
            if has_sync {
                let local_only = ost && sync_issues_folders.contains(&folder["nid"]);
                assert_eq!(
                    folder["recommend_clear_offline_items"],
                    ost && !local_only,
                    "{path}"
                );
                let remedy = if local_only {
                    "local_only"
                } else if ost {
                    "clear_offline_items"
                } else {
                    "compare_with_source"
                };
                assert_eq!(folder["remedy"], remedy, "{path}");
            }
            if folder["findings"] == 0 {
                assert_eq!(folder["recommend_clear_offline_items"], false, "{path}");
                assert_eq!(folder["remedy"], "none", "{path}");
            }
        }
    }
}

#[test]
fn testdata_sync_faults_matches_its_manifest() {
    let root = workspace();
    let path = root.join("testdata/sync-faults.ost");
    let text = std::fs::read_to_string(root.join("testdata/sync-faults.jsonl")).unwrap();
    let mut expected = BTreeSet::new();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        for rule in v["planted"].as_array().unwrap() {
            expected.insert((
                v["nid"].as_u64().unwrap(),
                rule.as_str().unwrap().to_string(),
            ));
        }
    }
    assert_eq!(expected.len(), 20);
    let (code, report) = scan_json(&["scan", "--json", "--hash", path.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert_valid(&report_validator(None), &report, "sync-faults");
    assert_eq!(found(&report), expected);
    let sha = report["files"][0]["file"]["sha256"].as_str().unwrap();
    assert_eq!(sha, sha256_hex(&std::fs::read(&path).unwrap()));
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    ostscan::scan::hex(&Sha256::digest(bytes))
}

/// `--hash` reads the file in pieces of 1 MiB: a file of several pieces,
/// the last one short, hashes to the digest of its bytes.
#[test]
fn hash_is_the_sha256_of_the_whole_file() {
    let dir = scratch("scan-hash");
    let path = dir.join("large.pst");
    FixtureBuilder::new(Format::Unicode)
        .messages(400)
        .body_bytes(8_000)
        .seed(5)
        .write_file(&path)
        .expect("write fixture");
    let bytes = std::fs::read(&path).unwrap();
    assert!(
        bytes.len() > 3 << 20 && bytes.len() % (1 << 20) != 0,
        "{} bytes",
        bytes.len()
    );
    let (_, report) = scan_json(&["scan", "--json", "--hash", path.to_str().unwrap()]);
    assert_eq!(report["files"][0]["file"]["sha256"], sha256_hex(&bytes));
}

#[test]
fn ndjson_is_identical_for_any_number_of_threads_and_validates() {
    let dir = scratch("scan-jobs");
    let (a, _) = fixture_with_every_rule(&dir, Format::Ost, CryptMethod::Permute, 21, 2);
    let (b, _) = fixture_with_every_rule(&dir, Format::Ost4k, CryptMethod::None, 22, 1);
    let clean = workspace().join("testdata/small-unicode.pst");
    let missing = dir.join("missing.ost");
    let files: Vec<&str> = [&a, &b, &clean, &missing]
        .iter()
        .map(|p| p.to_str().unwrap())
        .collect();
    let run = |jobs: &str| {
        let mut args = vec!["scan", "--ndjson", "--jobs", jobs];
        args.extend(&files);
        let out = ostscan(&args);
        assert_eq!(out.status.code(), Some(2), "a missing file wins");
        ndjson(&out.stdout)
    };
    let one = run("1");
    let two = run("2");
    let four = run("4");
    let strip =
        |records: &[Value]| -> Vec<Value> { records.iter().cloned().map(without_timing).collect() };
    assert_eq!(strip(&one), strip(&two));
    assert_eq!(strip(&one), strip(&four));

    let validator = report_validator(Some("record"));
    for record in &one {
        assert_valid(&validator, record, &record.to_string());
    }
    // Shape: per file begin ... end in argument order, then one summary.
    let kinds: Vec<(&str, &str)> = one
        .iter()
        .map(|r| {
            (
                r["type"].as_str().unwrap(),
                r["path"].as_str().unwrap_or(""),
            )
        })
        .filter(|(t, _)| *t == "begin" || *t == "end")
        .collect();
    let mut expected = Vec::new();
    for f in &files {
        expected.push(("begin", *f));
        expected.push(("end", *f));
    }
    assert_eq!(kinds, expected);
    let last = one.last().unwrap();
    assert_eq!(last["type"], "summary");
    assert_eq!(last["files"], 4);
    assert_eq!(last["files_unreadable"], 1);
    assert_eq!(last["findings"], 30);
    // The missing file: begin, an error naming the file, end "unreadable".
    let missing_records: Vec<&Value> = one.iter().filter(|r| r["path"] == files[3]).collect();
    assert_eq!(missing_records.len(), 3);
    assert_eq!(missing_records[1]["type"], "error");
    assert_eq!(missing_records[1]["source"], "open");
    assert_eq!(missing_records[2]["status"], "unreadable");
}

#[test]
fn exit_codes_follow_fail_on() {
    let dir = scratch("scan-exit");
    let info_only = dir.join("info-only.pst");
    FixtureBuilder::new(Format::Unicode)
        .messages(30)
        .seed(31)
        .plant(Rule::Pcl004, 2)
        .write_file(&info_only)
        .unwrap();
    let critical = dir.join("critical.pst");
    FixtureBuilder::new(Format::Unicode)
        .messages(30)
        .seed(32)
        .plant(Rule::Sync002, 1)
        .write_file(&critical)
        .unwrap();
    let warning = dir.join("warning.pst");
    FixtureBuilder::new(Format::Unicode)
        .messages(30)
        .seed(33)
        .plant(Rule::Sync003, 1)
        .write_file(&warning)
        .unwrap();
    let clean = workspace().join("testdata/small-unicode.pst");
    let garbage = dir.join("garbage.pst");
    std::fs::write(&garbage, b"this is not an Outlook file at all").unwrap();
    let p = |path: &Path| path.to_str().unwrap().to_string();

    let cases: &[(&[String], Option<&str>, i32)] = &[
        (&[p(&clean)], None, 0),
        (&[p(&clean)], Some("info"), 0),
        (&[p(&info_only)], None, 0),
        (&[p(&info_only)], Some("info"), 1),
        (&[p(&info_only)], Some("critical"), 0),
        (&[p(&warning)], None, 1),
        (&[p(&warning)], Some("critical"), 0),
        (&[p(&critical)], Some("critical"), 1),
        (&[p(&garbage)], None, 2),
        (&[p(&critical), p(&garbage)], Some("info"), 2),
        (&[p(&clean), p(&info_only)], Some("info"), 1),
    ];
    for (files, fail_on, expected) in cases {
        for format in ["--json", "--ndjson", "--text"] {
            let mut args = vec!["scan"];
            if format != "--text" {
                args.push(format);
            }
            if let Some(level) = fail_on {
                args.extend(["--fail-on", level]);
            }
            args.extend(files.iter().map(String::as_str));
            let out = ostscan(&args);
            assert_eq!(out.status.code(), Some(*expected), "{args:?}");
        }
    }
    let out = ostscan(&["scan", "--fail-on", "fatal", &p(&clean)]);
    assert_eq!(out.status.code(), Some(2), "bad usage");
    let out = ostscan(&["scan", "--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("Exit codes") && help.contains("--fail-on"),
        "{help}"
    );
}

#[test]
fn unreadable_files_are_reported_with_file_structure_and_offset() {
    let dir = scratch("scan-unreadable");
    let garbage = dir.join("garbage.ost");
    std::fs::write(&garbage, vec![0x5Au8; 4096]).unwrap();
    let (code, report) = scan_json(&["scan", "--json", garbage.to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert_valid(&report_validator(None), &report, "garbage");
    let file = &report["files"][0];
    assert_eq!(file["status"], "unreadable");
    assert_eq!(file["file"]["bytes"], 4096);
    assert_eq!(file["errors"][0]["source"], "open");
    assert!(file["errors"][0]["structure"]
        .as_str()
        .unwrap()
        .contains("header"));

    let out = ostscan(&["scan", garbage.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("garbage.ost") && err.contains("offset 0x"),
        "{err}"
    );

    // A store cut short is read as far as it goes: not fatal, errors listed.
    let (path, _) = fixture_with_every_rule(&dir, Format::Unicode, CryptMethod::None, 41, 1);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.truncate(bytes.len() * 2 / 3);
    let cut = dir.join("cut.pst");
    std::fs::write(&cut, &bytes).unwrap();
    let (code, report) = scan_json(&["scan", "--json", cut.to_str().unwrap()]);
    assert!(matches!(code, Some(0..=2)));
    assert_valid(&report_validator(None), &report, "cut");
    if report["files"][0]["status"] == "ok" {
        assert!(!report["files"][0]["errors"].as_array().unwrap().is_empty());
    }
}

/// The NIDs of the Sync Issues folders a file's report located.
fn sync_issues_folder_nids(file: &Value) -> Vec<Value> {
    file["sync_issues"]["folders"]
        .as_object()
        .unwrap()
        .values()
        .filter(|f| !f.is_null())
        .map(|f| f["nid"].clone())
        .collect()
}

#[test]
fn sync_issues_folders_are_never_to_be_cleared() {
    // sync-faults.ost has faults on items of Sync Issues/Conflicts and
    // Sync Issues/Server Failures: Outlook keeps those items in the cache
    // only, so clearing would delete the only copies.
    let ost = workspace().join("testdata/sync-faults.ost");
    let (code, report) = scan_json(&["scan", "--json", ost.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert_valid(&report_validator(None), &report, "sync-faults.ost");
    let file = &report["files"][0];
    let sync_issues_folders = sync_issues_folder_nids(file);
    assert_eq!(sync_issues_folders.len(), 4);
    let treated: Vec<(&str, &str, bool)> = file["folders"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["clear_offline_items_rules"] != serde_json::json!([]))
        .map(|f| {
            (
                f["path"].as_str().unwrap(),
                f["remedy"].as_str().unwrap(),
                f["recommend_clear_offline_items"].as_bool().unwrap(),
            )
        })
        .collect();
    let local_only: Vec<_> = treated
        .iter()
        .filter(|(_, remedy, _)| *remedy == "local_only")
        .map(|(path, _, recommend)| (*path, *recommend))
        .collect();
    assert_eq!(
        local_only,
        [
            ("/Top of Personal Folders/Sync Issues/Conflicts", false),
            (
                "/Top of Personal Folders/Sync Issues/Server Failures",
                false
            ),
        ]
    );
    for (path, remedy, recommend) in &treated {
        if !path.contains("/Sync Issues") {
            assert_eq!(
                (*remedy, *recommend),
                ("clear_offline_items", true),
                "{path}"
            );
        }
    }
    assert_eq!(treated.len(), 8);
    assert_eq!(file["summary"]["folders_to_clear"], 6);

    let out = ostscan(&["scan", ost.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "/Top of Personal Folders/Sync Issues/Conflicts: 1 finding (0 critical, 1 warning, 0 info) -> leave it: a Sync Issues folder, its items exist only in this cache (SYNC001)"
        ),
        "{text}"
    );
    // Weighed against the 7 folders with items that are not Sync Issues
    // folders; recreating the OST would discard those too.
    assert!(
        text.contains(
            "  6 of 7 folders with items need clearing: recreating the OST (with Outlook closed) may be simpler\n  recreating it discards the Sync Issues folders too, whose items exist only in this cache: keep a copy of the OST\n"
        ),
        "{text}"
    );
    assert_eq!(file["summary"]["recreate_ost_suggested"], true);
}

#[test]
fn a_store_scanned_from_memory_reports_what_its_file_does() {
    use ostscan::scan::{scan_file, scan_opened, ScanOptions};
    let options = ScanOptions {
        verify_rows: true,
        log_text: true,
        ..ScanOptions::default()
    };
    for name in ["sync-faults.ost", "small-ost4k.ost", "small-unicode.pst"] {
        let path = workspace().join("testdata").join(name);
        let bytes = std::fs::read(&path).unwrap();
        let pst = ost_ndb::Pst::from_bytes(&bytes).unwrap();
        // The time a scan took is the one thing that may differ.
        let records = |scan| {
            common::ndjson(&ostscan::report::file_records(&scan))
                .into_iter()
                .map(common::without_timing)
                .collect::<Vec<Value>>()
        };
        let from_memory = records(scan_opened(&path, &pst, &options));
        let from_file = records(scan_file(&path, &options));
        // begin, the findings, end.
        let least = if name == "sync-faults.ost" { 22 } else { 2 };
        assert!(
            from_file.len() >= least,
            "{name}: {} records",
            from_file.len()
        );
        assert_eq!(from_memory, from_file, "{name}");
    }
}

#[test]
fn text_summary_names_the_folders_to_clear_worst_first() {
    let path = workspace().join("testdata/sync-faults.ost");
    let out = ostscan(&["scan", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("OST unicode (wVer 23)"), "{text}");
    assert!(text.contains("62 messages"), "{text}");
    assert!(
        text.contains("20 findings: 6 critical, 12 warning, 2 info"),
        "{text}"
    );
    assert!(text.contains("Clear Offline Items"), "{text}");
    // Worst first: the first folder listed has a critical finding.
    let first = text
        .lines()
        .skip_while(|l| !l.contains("folders, worst first"))
        .nth(1)
        .unwrap();
    assert!(!first.contains("(0 critical"), "{first}");
}

#[test]
fn out_writes_the_report_to_a_file() {
    let dir = scratch("scan-out");
    let target = dir.join("report.json");
    let path = workspace().join("testdata/small-ost4k.ost");
    let out = ostscan(&[
        "scan",
        "--json",
        "--out",
        target.to_str().unwrap(),
        path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    let report: Value = serde_json::from_slice(&std::fs::read(&target).unwrap()).unwrap();
    assert_valid(&report_validator(None), &report, "small-ost4k");
    assert_eq!(report["files"][0]["summary"]["messages"], 41);
}

/// The corpus files that are damaged: read in part, so `status:
/// "partial"` and exit 2. Every other corpus file must stay `ok`.
const PARTIAL_CORPUS_FILES: &[&str] = &[
    // Header dwCRCFull and its only BBT page fail their checks (CRC,
    // signature, back pointer); the blocks of the hierarchy and contents
    // tables cannot be found: 0 of its messages are read, 8 errors.
    "asposenet_AddingBulkMessagesWithImprovedPerformance.pst",
];

#[test]
fn every_corpus_file_scans_with_valid_json_and_only_damaged_ones_are_partial() {
    let Some(dir) = corpus() else { return };
    let validator = report_validator(None);
    let rows = manifest(&dir);
    let paths: Vec<String> = rows
        .iter()
        .map(|row| dir.join(&row["file"]).to_str().unwrap().to_string())
        .collect();
    let mut partial = Vec::new();
    for (row, path) in rows.iter().zip(&paths) {
        let (code, report) = scan_json(&["scan", "--json", path]);
        assert_valid(&validator, &report, path);
        let file = &report["files"][0];
        if PARTIAL_CORPUS_FILES.contains(&row["file"].as_str()) {
            partial.push(row["file"].clone());
            assert_eq!(file["status"], "partial", "{path}");
            assert_eq!(code, Some(2), "{path}: partial wins over findings");
            assert_eq!(report["summary"]["files_partial"], 1);
            let (code, _) = scan_json(&["scan", "--json", "--allow-partial", path]);
            assert!(matches!(code, Some(0 | 1)), "{path}: --allow-partial");
        } else {
            assert_eq!(file["status"], "ok", "{path}: {}", file["errors"]);
            assert!(matches!(code, Some(0 | 1)), "{path}: exit {code:?}");
        }
    }
    assert_eq!(partial.len(), PARTIAL_CORPUS_FILES.len(), "{partial:?}");
    // All at once, in parallel: same per-file results as one by one.
    let mut args = vec!["scan", "--json", "--jobs", "2"];
    args.extend(paths.iter().map(String::as_str));
    let (code, all) = scan_json(&args);
    assert_eq!(code, Some(2));
    assert_eq!(all["files"].as_array().unwrap().len(), paths.len());
    assert_eq!(all["summary"]["files_unreadable"], 0);
    assert_eq!(all["summary"]["files_partial"], PARTIAL_CORPUS_FILES.len());
}

#[test]
fn the_schema_rejects_what_it_should() {
    // Guards the guard: a schema that accepts anything would make every
    // validation above pass.
    let path = workspace().join("testdata/sync-faults.ost");
    let (_, report) = scan_json(&["scan", "--json", path.to_str().unwrap()]);
    let validator = report_validator(None);
    assert!(validator.is_valid(&report));
    let mut bad = report.clone();
    bad["schema_version"] = Value::from(1);
    assert!(!validator.is_valid(&bad));
    // "ok" means no error at all; "partial" needs one.
    let error = serde_json::json!({"source": "walk", "structure": "NBT page",
        "offset": 0, "nid": null, "nid_hex": null, "message": "x"});
    let mut bad = report.clone();
    bad["files"][0]["errors"] = Value::Array(vec![error.clone()]);
    assert!(!validator.is_valid(&bad));
    bad["files"][0]["status"] = Value::from("partial");
    assert!(validator.is_valid(&bad));
    bad["files"][0]["errors"] = Value::Array(vec![]);
    assert!(!validator.is_valid(&bad));
    // A path is a string, or the bytes of one that is not UTF-8.
    let mut good = report.clone();
    good["files"][0]["file"]["path"] =
        serde_json::json!({"bytes": "Yf8ub3N0", "text": "a\u{fffd}.ost"});
    assert!(validator.is_valid(&good));
    let mut bad = report.clone();
    bad["files"][0]["file"]["path"] = serde_json::json!({"text": "a.ost"});
    assert!(!validator.is_valid(&bad));
    bad["files"][0]["file"]["path"] = serde_json::json!({"bytes": "not base64!", "text": "a"});
    assert!(!validator.is_valid(&bad));
    let mut bad = report.clone();
    bad["files"][0]["findings"][0]["severity"] = Value::from("fatal");
    assert!(!validator.is_valid(&bad));
    let mut bad = report.clone();
    bad["files"][0]["findings"][0]["change_key"]["guid"] = Value::from("not a guid");
    assert!(!validator.is_valid(&bad));
    let mut bad = report;
    bad["files"][0]["summary"]
        .as_object_mut()
        .unwrap()
        .remove("messages");
    assert!(!validator.is_valid(&bad));

    let records = report_validator(Some("record"));
    let finding = serde_json::json!({"type": "finding", "path": "x.ost"});
    assert!(!records.is_valid(&finding));
    let unknown = serde_json::json!({"type": "match", "path": "x.ost"});
    assert!(!records.is_valid(&unknown));
}

/// The remedy depends on the client: an OST's folders are cleared (after
/// checking the Outbox and drafts; recreating the OST when most folders
/// need it), a PST's items are local and compared with their source. The
/// same faults, in both.
#[test]
fn remedies_follow_the_client() {
    let dir = scratch("scan-remedies");
    let write = |format: Format, name: &str, faults: usize| {
        let path = dir.join(name);
        FixtureBuilder::new(format)
            .messages(80)
            .seed(41)
            .plant(Rule::Sync002, faults)
            .write_file(&path)
            .unwrap();
        path
    };
    let to_treat = |report: &Value| -> Vec<(String, bool, String)> {
        report["files"][0]["folders"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["findings"] != 0)
            .map(|f| {
                (
                    f["remedy"].as_str().unwrap().to_string(),
                    f["recommend_clear_offline_items"].as_bool().unwrap(),
                    f["clear_offline_items_rules"][0]
                        .as_str()
                        .unwrap()
                        .to_string(),
                )
            })
            .collect()
    };
    let validator = report_validator(None);

    // One fault: one folder to treat.
    for (format, name, remedy, clear) in [
        (Format::Ost, "one.ost", "clear_offline_items", true),
        (Format::Unicode, "one.pst", "compare_with_source", false),
    ] {
        let path = write(format, name, 1);
        let (_, report) = scan_json(&["scan", "--json", path.to_str().unwrap()]);
        assert_valid(&validator, &report, name);
        assert_eq!(
            to_treat(&report),
            [(remedy.to_string(), clear, "SYNC002".to_string())],
            "{name}"
        );
        let summary = &report["files"][0]["summary"];
        assert_eq!(summary["folders_to_clear"], u64::from(clear), "{name}");
        assert_eq!(summary["recreate_ost_suggested"], false, "{name}");
        assert_eq!(report["summary"]["folders_to_clear"], u64::from(clear));

        let out = ostscan(&["scan", path.to_str().unwrap()]);
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text
            .lines()
            .skip_while(|l| !l.contains("folders, worst first"))
            .nth(1)
            .unwrap();
        if clear {
            assert!(line.ends_with("-> Clear Offline Items (SYNC002)"), "{line}");
            assert!(
                text.contains("before clearing: Clear Offline Items discards the folder's local-only changes (check the Outbox and unsent drafts first)"),
                "{text}"
            );
        } else {
            assert!(
                line.ends_with("-> local items, compare with their source (SYNC002)"),
                "{line}"
            );
            assert!(!text.contains("Clear Offline Items"), "{text}");
        }
        assert!(!text.contains("recreating the OST"), "{text}");
    }

    // Faults in most folders: recreate the OST rather than clear each.
    let many = write(Format::Ost, "many.ost", 40);
    let (_, report) = scan_json(&["scan", "--json", many.to_str().unwrap()]);
    let file = &report["files"][0];
    // The Sync Issues folders are never cleared, nor weighed.
    let sync_issues_folders = sync_issues_folder_nids(file);
    let with_items = file["folders"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["messages"] != 0 && !sync_issues_folders.contains(&f["nid"]))
        .count() as u64;
    let to_clear = file["summary"]["folders_to_clear"].as_u64().unwrap();
    assert!(to_clear * 2 > with_items, "{to_clear} of {with_items}");
    assert_eq!(file["summary"]["recreate_ost_suggested"], true);
    let out = ostscan(&["scan", many.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!(
            "{to_clear} of {with_items} folders with items need clearing: recreating the OST (with Outlook closed) may be simpler"
        )),
        "{text}"
    );
    // The same faults in a PST: nothing to clear, nothing to recreate.
    let many_pst = write(Format::Unicode, "many.pst", 40);
    let (_, report) = scan_json(&["scan", "--json", many_pst.to_str().unwrap()]);
    let summary = &report["files"][0]["summary"];
    assert_eq!(summary["folders_to_clear"], 0);
    assert_eq!(summary["recreate_ost_suggested"], false);
}
