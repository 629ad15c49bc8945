//! `ostscan items` against libpff (../shared/tools/pff-oracle) on every corpus
//! file and every testdata file: the same messages, with identical folder,
//! subject and class, and on the values libpff reads (the message's own
//! property context) identical change key, PCL, source key and last
//! modification time. libpff does not read contents-table rows, where real
//! OSTs keep the last four: where ours come from the row (or the source key
//! from the MID), libpff must have none (docs/libpff-differences.md).
//! Runs when the oracle's Python binding is installed in ./.venv (or
//! $PFF_ORACLE_PYTHON); skips with a printed reason otherwise.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{corpus, ostscan, workspace};
use serde_json::Value;

/// Fields both read from the message itself.
const FIELDS: [&str; 3] = ["folder", "subject", "message_class"];

/// Fields whose value may come from the contents-table row (or, for the
/// source key, from the MID): compared with libpff only where ours came
/// from the message itself.
const SOURCED_FIELDS: [(&str, &str); 4] = [
    ("change_key", "change_key"),
    ("pcl", "pcl"),
    ("last_modified", "last_modified"),
    ("source_key", ""),
];

/// Whether our value of `field` came from the message's own property
/// context (the only place libpff reads).
fn from_item(ours: &Value, source: &str) -> bool {
    if source.is_empty() {
        ours["source_key_derived"] != true
    } else {
        ours["sources"][source] != "row"
    }
}

/// Messages we list and libpff drops, each documented with its bytes in
/// docs/libpff-differences.md.
const LIBPFF_DROPS: &[(&str, &[u64])] = &[(
    "asposenet_Chunks_Test_part1.pst",
    &[
        2099076, 2099108, 2099140, 2099172, 2099204, 2099236, 2099268, 2099300, 2099332, 2099364,
        2099396, 2099428,
    ],
)];

fn oracle() -> Option<(PathBuf, PathBuf)> {
    let script = workspace().join("../shared/tools/pff-oracle");
    if !script.is_file() {
        common::skip(format_args!("skipping: {} not found", script.display()));
        return None;
    }
    let python = std::env::var_os("PFF_ORACLE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".venv/bin/python"));
    let ok = Command::new(&python)
        .args(["-c", "import pypff"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        common::skip(format_args!(
            "skipping: no python with pypff at {} (python3 -m venv .venv && .venv/bin/pip install libpff-python==20260926)",
            python.display()
        ));
        return None;
    }
    Some((python, script))
}

fn by_nid(lines: &[u8]) -> BTreeMap<u64, Vec<Value>> {
    let mut m: BTreeMap<u64, Vec<Value>> = BTreeMap::new();
    for line in String::from_utf8_lossy(lines).lines() {
        let v: Value = serde_json::from_str(line).expect("JSON line");
        if let Some(nid) = v["nid"].as_u64() {
            m.entry(nid).or_default().push(v);
        }
    }
    m
}

/// Compare one file; returns the differences as text.
fn compare(python: &Path, script: &Path, file: &Path) -> Vec<String> {
    let out = Command::new(python)
        .arg(script)
        .arg(file)
        .output()
        .expect("run oracle");
    let theirs = by_nid(&out.stdout);
    let ours_out = ostscan(&["items", file.to_str().unwrap()]);
    // 0, or 2 for a file read in part, which says why on standard error.
    let partial = !ours_out.stderr.is_empty();
    assert_eq!(
        ours_out.status.code(),
        Some(if partial { 2 } else { 0 }),
        "{}",
        file.display()
    );
    let ours = by_nid(&ours_out.stdout);
    let name = file.file_name().unwrap().to_string_lossy().to_string();
    let dropped: &[u64] = LIBPFF_DROPS
        .iter()
        .find(|(f, _)| *f == name)
        .map_or(&[], |(_, n)| n);
    let mut diffs = Vec::new();
    for (nid, t) in &theirs {
        let Some(o) = ours.get(nid) else {
            diffs.push(format!("{name}: nid {nid} listed by libpff, not by us"));
            continue;
        };
        if o.len() != t.len() {
            diffs.push(format!(
                "{name}: nid {nid} listed {} times by us, {} by libpff",
                o.len(),
                t.len()
            ));
        }
        for f in FIELDS {
            if o[0][f] != t[0][f] {
                diffs.push(format!(
                    "{name}: nid {nid} {f}: ours {} libpff {}",
                    o[0][f], t[0][f]
                ));
            }
        }
        for (f, source) in SOURCED_FIELDS {
            let want = if from_item(&o[0], source) {
                &o[0][f]
            } else {
                // From the row or the MID: libpff, which reads neither,
                // has nothing.
                &Value::Null
            };
            if *want != t[0][f] {
                diffs.push(format!(
                    "{name}: nid {nid} {f}: ours {} ({}) libpff {}",
                    o[0][f],
                    if from_item(&o[0], source) {
                        "item"
                    } else {
                        "row or MID"
                    },
                    t[0][f]
                ));
            }
        }
    }
    for nid in ours.keys() {
        if !theirs.contains_key(nid) && !dropped.contains(nid) {
            diffs.push(format!("{name}: nid {nid} listed by us, not by libpff"));
        }
    }
    for nid in dropped {
        if !ours.contains_key(nid) {
            diffs.push(format!(
                "{name}: documented nid {nid} missing from our list"
            ));
        }
    }
    println!(
        "{name}: libpff {} messages, ostscan {}",
        theirs.len(),
        ours.len()
    );
    diffs
}

#[test]
fn items_agree_with_libpff_on_every_file() {
    let Some((python, script)) = oracle() else {
        return;
    };
    let mut files: Vec<PathBuf> = Vec::new();
    if let Some(dir) = corpus() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let ext = p.extension().map(|e| e.to_string_lossy().to_lowercase());
            if matches!(ext.as_deref(), Some("pst" | "ost")) {
                files.push(p);
            }
        }
    }
    for e in std::fs::read_dir(workspace().join("testdata")).unwrap() {
        let p = e.unwrap().path();
        let ext = p.extension().map(|e| e.to_string_lossy().to_lowercase());
        if matches!(ext.as_deref(), Some("pst" | "ost")) {
            files.push(p);
        }
    }
    files.sort();
    assert!(!files.is_empty());
    let diffs: Vec<String> = files
        .iter()
        .flat_map(|f| compare(&python, &script, f))
        .collect();
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}
