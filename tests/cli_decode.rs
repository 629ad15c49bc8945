//! `ostscan decode` as a process: the MFCMAPI SmartView vectors, exit codes.

mod common;

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
    let counters: Vec<u64> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["counter"].as_u64().unwrap())
        .collect();
    assert_eq!(counters, [0x61E71533, 0xDC0B3A12, 0x5CA8]);
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
