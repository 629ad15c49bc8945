//! `ostscan decode` as a process: the MFCMAPI SmartView vectors, exit codes.

use common::{ostscan, workspace};

fn vector(name: &str) -> Option<std::path::PathBuf> {
    let p = workspace()
        .join("../shared/vectors/mfcmapi_smartview/In")
        .join(name);
    if p.is_file() {
        Some(p)
    } else {
        common::skip(format_args!("skipping: {} not found", p.display()));
        None
    }
}

#[test]
fn decodes_the_mfcmapi_vectors() {
    let Some(xid) = vector("XID-1.dat") else {
        return;
    };
    let arg = format!("@{}", xid.display());
    let out = ostscan(&["decode", "xid", &arg, "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["guid"], "{67375814-34B6-416D-A95E-06FFF0D886A8}");
    assert_eq!(v["counter"], 0x4C755);
    assert_eq!(v["local_id_len"], 6);

    let Some(pcl) = vector("PCL-2.dat") else {
        return;
    };
    let hex = std::fs::read_to_string(pcl).unwrap();
    let out = ostscan(&["decode", "pcl", hex.trim(), "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let guids: Vec<&str> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["guid"].as_str().unwrap())
        .collect();
    assert_eq!(
        guids,
        [
            "{41213B37-7628-44FE-8E8D-71BE34CC3154}",
            "{487F266F-8738-48D9-AAFC-A58AB2BC910F}",
            "{1CC6AB8F-4C6C-475E-930B-9B30AA0ED4EB}"
        ]
    );
    assert_eq!(counters(&v), [0x61E71533, 0xDC0B3A12, 0x5CA8]);
}

#[test]
fn garbage_is_a_one_line_error_with_exit_2() {
    if let Some(garbage) = vector("XID-4.dat") {
        let arg = format!("@{}", garbage.display());
        let out = ostscan(&["decode", "xid", &arg]);
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("offset"), "{err}");
    }
    for (what, hex) in [
        ("xid", "zz"),
        ("pcl", "10"),
        ("xid", ""),
        ("nonsense", "00"),
    ] {
        let out = ostscan(&["decode", what, hex]);
        assert_eq!(out.status.code(), Some(2), "{what} {hex}");
        assert!(out.stdout.is_empty());
    }
}

/// XID-1 of the MFCMAPI vectors: namespace {67375814-34B6-416D-A95E-06FFF0D886A8}, counter 0x4C755.
const XID_1: &str = "14583767B6346D41A95E06FFF0D886A800000004C755";

fn decoded(args: &[&str]) -> serde_json::Value {
    let out = ostscan(args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every form the help names decodes to the same XID, and the output says
/// which form it read.
#[test]
fn every_promised_form_decodes_the_same_xid() {
    // type 9, length 22, then XID-1: the EWS ChangeKey of that change key.
    let ews = "CQAAABYAAAAUWDdntjRtQaleBv/w2IaoAAAABMdV";
    let dashed = "14-58-37-67-B6-34-6D-41-A9-5E-06-FF-F0-D8-86-A8-00-00-00-04-C7-55";
    let mfcmapi = format!("cb: 22 lpb: {XID_1}");
    let spaced: String = XID_1
        .as_bytes()
        .chunks(2)
        .map(|b| std::str::from_utf8(b).unwrap())
        .collect::<Vec<_>>()
        .join(" ");
    for (value, input) in [
        (XID_1, "hex"),
        (dashed, "hex"),
        (&spaced[..], "hex"),
        (&mfcmapi[..], "mfcmapi"),
        (ews, "ews_change_key"),
        ("FFg3Z7Y0bUGpXgb/8NiGqAAAAATHVQ==", "base64"),
    ] {
        let v = decoded(&["decode", "xid", value, "--json"]);
        assert_eq!(
            v["guid"], "{67375814-34B6-416D-A95E-06FFF0D886A8}",
            "{value}"
        );
        assert_eq!(v["counter"], 0x4C755, "{value}");
        assert_eq!(v["input"], input, "{value}");
        assert_eq!(v["hex"], XID_1.to_ascii_lowercase(), "{value}");
    }
    let v = decoded(&["decode", "xid", ews, "--json"]);
    assert_eq!(v["ews_type"], 9);

    // The text says the header was taken off.
    let out = ostscan(&["decode", "xid", ews]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with(
            "input: EWS ChangeKey (base64): 8-byte header removed (type 9, length 22)"
        ),
        "{text}"
    );
    assert!(text.contains("counter        : 313173 (0x4c755)"), "{text}");
    let out = ostscan(&["decode", "xid", &mfcmapi]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("input: MFCMAPI cb/lpb form: cb 22 matches\n"),
        "{text}"
    );
    // Plain hex: no input line.
    let out = ostscan(&["decode", "xid", XID_1]);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("XID (22 bytes)"));
}

#[test]
fn dash_reads_standard_input() {
    let out = common::ostscan_stdin(
        &["decode", "xid", "-", "--json"],
        format!("{XID_1}\r\n").as_bytes(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["counter"], 0x4C755);
    let out = common::ostscan_stdin(&["decode", "pcl", "-"], b"cb: 3 lpb: 1458");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cb: 3 but lpb holds 2 bytes"), "{err}");
}

#[test]
fn mistaken_forms_are_one_line_errors() {
    for (value, says) in [
        // An EWS header whose length is not what follows: not an XID.
        ("CQAAABcAAAAUWDdntjRtQaleBv/w2IaoAAAABMdV", "invalid XID"),
        ("cb: 22 lpb: 1458", "cb: 22 but lpb holds 2 bytes"),
        ("cb: lpb: 1458", "no number after cb:"),
        ("not hex!", "not base64 either"),
    ] {
        let out = ostscan(&["decode", "xid", value]);
        assert_eq!(out.status.code(), Some(2), "{value}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(says), "{value}: {err}");
    }
}

/// A malformed PCL (the fixture's PCL002: two good entries, then an
/// XidSize of 48) prints the entries before the fault and the fault, in
/// text and JSON, says the error on standard error, and exits 2: the
/// decodable part is the evidence of how the value broke.
#[test]
fn a_malformed_pcl_shows_the_entries_before_the_fault() {
    let pcl = concat!(
        "1699ec7cac902f12764e3bd2c482185b2300fb2322b00e",
        "14e878ba206236c7566579c3c2745f6c4c0eb792d7",
        "30010203"
    );
    let out = ostscan(&["decode", "pcl", pcl]);
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("XidSize 48 at byte offset 44"), "{err}");
    assert!(
        text.starts_with("PCL (48 bytes): malformed; the 2 entries before the fault:\n"),
        "{text}"
    );
    assert!(
        text.contains("  [0] offset 0, XidSize 22: {AC7CEC99-2F90-7612-4E3B-D2C482185B23}"),
        "{text}"
    );
    assert!(
        text.contains("  [1] offset 23, XidSize 20: {20BA78E8-3662-56C7-6579-C3C2745F6C4C}"),
        "{text}"
    );
    assert!(
        text.ends_with("  invalid PCL: XidSize 48 at byte offset 44 is outside 17..=24\n"),
        "{text}"
    );

    let out = ostscan(&["decode", "pcl", pcl, "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["kind"], "pcl");
    assert_eq!(v["error_offset"], 44);
    assert!(v["error"].as_str().unwrap().contains("XidSize 48"));
    assert_eq!(v["count"], 2);
    assert_eq!(counters(&v), [0xfb2322b00e, 0xeb792d7]);
    assert_eq!(v["hex"], pcl);
}

/// The counters of a decoded PCL's entries, in order.
fn counters(v: &serde_json::Value) -> Vec<u64> {
    v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["counter"].as_u64().unwrap())
        .collect()
}
