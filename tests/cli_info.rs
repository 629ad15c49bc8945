//! `ostscan info` on the real corpus and on broken input.

use common::{corpus, manifest, ostscan};

#[test]
fn info_json_matches_the_manifest_for_every_corpus_file() {
    let Some(dir) = corpus() else { return };
    for row in manifest(&dir) {
        let path = dir.join(&row["file"]);
        let out = ostscan(&["info", "--json", path.to_str().unwrap()]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        // 1 when problems are listed (the one damaged file), else 0.
        let problems = v["problems"].as_array().unwrap().len();
        let damaged = row["notes"].contains("NEGATIVE");
        assert_eq!(damaged, problems > 0, "{}", row["file"]);
        assert_eq!(
            out.status.code(),
            Some(if damaged { 1 } else { 0 }),
            "{}",
            row["file"]
        );
        assert_eq!(v["client"], row["client"].as_str(), "{}", row["file"]);
        assert_eq!(
            v["wver"].as_u64().unwrap().to_string(),
            row["wVer"],
            "{}",
            row["file"]
        );
        // MANIFEST says e.g. "1 (PERMUTE)".
        let crypt = row["crypt"]
            .split(['(', ')'])
            .nth(1)
            .unwrap()
            .to_lowercase();
        assert_eq!(v["crypt"], crypt.as_str(), "{}", row["file"]);
        let format = v["format"].as_str().unwrap();
        assert!(["ansi", "unicode", "unicode4k"].contains(&format));
    }
}

#[test]
fn verify_is_clean_on_clean_files_and_names_offsets_on_the_damaged_one() {
    let Some(dir) = corpus() else { return };
    let clean = dir.join("asposenet_SampleOstFile.ost");
    let out = ostscan(&["info", "--verify", "--json", clean.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["problems"].as_array().unwrap().len(), 0);
    assert_eq!(v["client"], "OST");
    assert_eq!(v["header_crc_ok"], true);

    let bad = dir.join("asposenet_AddingBulkMessagesWithImprovedPerformance.pst");
    let out = ostscan(&["info", "--verify", "--json", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "verify found problems");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["header_crc_ok"], false);
    let problems = v["problems"].as_array().unwrap();
    assert!(problems
        .iter()
        .any(|p| p["structure"] == "BBT page" && p["offset"] == 0x7e00));

    // Without --verify, the problems met on the way are listed too, and
    // the exit status says so: a sanity check does not pass the file.
    let out = ostscan(&["info", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "problems listed");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("header CRC:  MISMATCH"), "{text}");

    let out = ostscan(&["info", "--strict", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("AddingBulkMessages"), "names the file: {err}");
    assert!(err.contains("dwCRCFull") && err.contains("0x20c"), "{err}");
}

#[test]
fn unreadable_files_exit_2_with_one_line_naming_the_file() {
    let dir = std::env::temp_dir().join(format!("ostscan-info-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases: [(&str, &[u8]); 3] = [
        ("empty.pst", b""),
        ("text.pst", b"this is not an Outlook file at all, just text"),
        ("short.ost", b"!BDN\0\0\0\0SO\x17\0"),
    ];
    for (name, bytes) in cases {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = ostscan(&["info", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{name}: {err}");
        assert!(err.contains(name), "{name}: {err}");
    }
    let out = ostscan(&["info", dir.join("missing.pst").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.pst"));
    std::fs::remove_dir_all(&dir).ok();
}

/// A block whose CRC no longer matches is found by `--verify`, which exits
/// 1; with `--strict` any problem is fatal, also one met after the open,
/// and the exit is 2 (the problems still listed).
#[test]
fn strict_makes_a_problem_found_after_the_open_fatal() {
    let bytes = common::pst_with_a_bad_block_crc(8, 3);
    let dir = common::scratch("info-strict");
    let path = dir.join("bad-block-crc.pst");
    std::fs::write(&path, &bytes).unwrap();
    let path = path.to_str().unwrap();
    for (args, code, listed) in [
        (&["info", "--json", path][..], 0, false),
        (&["info", "--json", "--verify", path][..], 1, true),
        (
            &["info", "--json", "--verify", "--strict", path][..],
            2,
            true,
        ),
    ] {
        let out = ostscan(args);
        assert_eq!(out.status.code(), Some(code), "{args:?}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let problems = v["problems"].as_array().unwrap();
        assert_eq!(!problems.is_empty(), listed, "{args:?}: {problems:?}");
        if listed {
            assert!(
                problems
                    .iter()
                    .any(|p| p["message"].as_str().unwrap().contains("CRC")),
                "{problems:?}"
            );
        }
    }
}
