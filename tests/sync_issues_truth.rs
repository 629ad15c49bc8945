//! Outlook's own synchronization logs in the two real OSTs of the corpus,
//! against what an independent path (libpff and the PyPI package
//! compressed-rtf, see ../shared/truth/README.md) reads in them: every
//! Sync Issues message's text, red error lines, codes and folder names
//! must be what `ostscan scan --json` reports.

use std::collections::BTreeMap;
use std::path::PathBuf;

use common::corpus;
use serde_json::Value;

/// The OSTs whose logs the truth lists.
const FILES: [&str; 2] = [
    "pstextractor_outlookcom_test.ost",
    "asposenet_SampleOstFile.ost",
];

/// ../shared/truth beside the corpus; `None` (after saying why) when absent.
fn truth_dir(corpus: &std::path::Path) -> Option<PathBuf> {
    let dir = corpus.join("../truth");
    if dir.join("README.md").is_file() {
        Some(dir)
    } else {
        common::skip(format_args!("skipping: truth {} not found", dir.display()));
        None
    }
}

fn truth_logs(dir: &std::path::Path, file: &str) -> Vec<Value> {
    let path = dir.join(format!("{file}.logs.jsonl"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("truth line is JSON"))
        .collect()
}

#[test]
fn every_real_outlook_log_reads_as_the_truth_says() {
    let Some(dir) = corpus() else { return };
    let Some(truth) = truth_dir(&dir) else { return };
    let validator = common::report_validator(None);
    let mut matched = BTreeMap::new();
    for file in FILES {
        let path = dir.join(file);
        let out = common::ostscan(&["scan", "--json", "--log-text", path.to_str().unwrap()]);
        let report: Value = serde_json::from_slice(&out.stdout).expect("scan --json");
        common::assert_valid(&validator, &report, file);
        let si = &report["files"][0]["sync_issues"];
        assert_eq!(si["errors"], serde_json::json!([]), "{file}");
        let logs: BTreeMap<u64, &Value> = si["logs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| (l["nid"].as_u64().unwrap(), l))
            .collect();
        let want = truth_logs(&truth, file);
        assert!(!want.is_empty(), "{file}: no truth");
        // The truth lists every message of the Sync Issues tree; all are
        // logs, and the counts say so.
        assert_eq!(logs.len(), want.len(), "{file}");
        assert_eq!(si["counts"]["log_messages"], want.len() as u64, "{file}");
        assert_eq!(si["counts"]["items"], want.len() as u64, "{file}");
        assert_eq!(si["counts"]["other_items"], 0, "{file}");
        assert_eq!(si["counts"]["conflict_items"], 0, "{file}");
        for t in &want {
            let nid = t["nid"].as_u64().unwrap();
            let log = logs
                .get(&nid)
                .unwrap_or_else(|| panic!("{file}: log {nid} not reported"));
            let what = format!("{file} log {nid}");
            assert_eq!(log["folder"], t["folder"], "{what}");
            assert_eq!(log["subject"], t["subject"], "{what}");
            // Real Outlook logs have no PR_BODY.
            assert_eq!(log["text_source"], "rtf_compressed", "{what}");
            assert_eq!(log["text_truncated"], false, "{what}");
            assert_eq!(log["text"], t["text"], "{what}");
            assert_eq!(log["red_lines"], t["error_lines"], "{what}");
            let red = t["error_lines"].as_array().unwrap().len() as u64;
            assert_eq!(log["error_lines"], red, "{what}");
            assert_eq!(log["error_codes"], t["error_codes"], "{what}");
            assert_eq!(log["folder_names"], t["folders"], "{what}");
            *matched.entry(file).or_insert(0) += 1;
        }
        let with_errors = want
            .iter()
            .filter(|t| !t["error_lines"].as_array().unwrap().is_empty())
            .count();
        assert_eq!(
            si["counts"]["logs_with_errors"], with_errors as u64,
            "{file}"
        );
    }
    println!("truth logs matched: {matched:?}");
    assert_eq!(
        matched.values().sum::<usize>(),
        10,
        "the truth's 1 + 9 logs: {matched:?}"
    );
}

/// What the logs mean for the folders: the red lines of a step count
/// against its folder, with their codes; after "Done" they count against
/// none (the offline address book errors of asposenet_SampleOstFile.ost).
/// And the "Modification Resolution" reports name the properties in
/// conflict with both values.
#[test]
fn real_logs_attribute_errors_and_name_resolved_properties() {
    let Some(dir) = corpus() else { return };
    let path = dir.join("asposenet_SampleOstFile.ost");
    let out = common::ostscan(&["scan", "--json", path.to_str().unwrap()]);
    let report: Value = serde_json::from_slice(&out.stdout).expect("scan --json");
    let si = &report["files"][0]["sync_issues"];
    let log = |nid: u64| {
        si["logs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["nid"] == nid)
            .unwrap_or_else(|| panic!("log {nid}"))
            .clone()
    };
    let erring = |l: &Value| -> Vec<(String, u64, Value)> {
        l["folders"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["errors"] != 0)
            .map(|f| {
                (
                    f["path"]
                        .as_str()
                        .unwrap()
                        .rsplit('/')
                        .next()
                        .unwrap()
                        .to_string(),
                    f["errors"].as_u64().unwrap(),
                    f["error_codes"].clone(),
                )
            })
            .collect()
    };
    // "Synchronization of some deletions failed." is a red line of the
    // Calendar step, not a step of its own.
    let deletions = log(2180260);
    assert_eq!(
        erring(&deletions),
        [("Calendar".to_string(), 2, serde_json::json!(["[0-130]"]))]
    );
    assert_eq!(deletions["counts"][0]["folder"], "Calendar");
    assert_eq!(deletions["counts"][0]["count"], 1);
    assert_eq!(deletions["started"], "1:55:00");
    // The offline address book fails after "Done": no folder is blamed.
    let oab = log(2176164);
    assert_eq!(oab["error_lines"], 2);
    assert!(erring(&oab).is_empty(), "{:?}", erring(&oab));
    assert_eq!(oab["counts"][0]["count"], 2397);
    assert_eq!(oab["counts"][0]["folder"], "Inbox");
    assert_eq!(
        (oab["started"].as_str(), oab["ended"].as_str()),
        (Some("16:37:22"), Some("16:38:27"))
    );
    // Evidence: exactly the two folders whose steps had red lines.
    let evidence: Vec<(&str, &Value)> = si["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["path"].as_str().unwrap(), &e["error_codes"]))
        .collect();
    assert_eq!(
        evidence,
        [
            (
                "/Root - Mailbox/IPM_SUBTREE/Inbox",
                &serde_json::json!(["[0-0]"])
            ),
            (
                "/Root - Mailbox/IPM_SUBTREE/Calendar",
                &serde_json::json!(["[0-130]"])
            ),
        ]
    );
    // Modification Resolution: the properties and what became of them.
    let resolution = log(2180548);
    let props = resolution["properties"].as_array().unwrap();
    assert_eq!(props.len(), 9);
    let conflicts: Vec<&str> = props
        .iter()
        .filter(|p| p["conflict"] == true)
        .map(|p| p["tag"].as_str().unwrap())
        .collect();
    assert_eq!(conflicts, ["0x82180003", "0x00150003"]);
    let p = props.iter().find(|p| p["tag"] == "0x82180003").unwrap();
    assert_eq!(p["named"], true);
    assert_eq!(
        (p["local"].as_str(), p["remote"].as_str()),
        (Some("{I4:4}"), Some("{I4:5}"))
    );
    assert_eq!(
        p["actions"],
        serde_json::json!([
            "Compare",
            "Compare (conflict)",
            "Not equal (conflict)",
            "Conflict Merge"
        ])
    );
    let ignored = &props[0];
    assert_eq!(
        (ignored["tag"].as_str(), ignored["named"].as_bool()),
        (Some("0x3FFA001F"), Some(false))
    );
    assert_eq!(resolution["error_lines"], 0);
}
