//! Decodes MFCMAPI's SmartView test vectors (PCL-*, XID-*) and checks the
//! results against the manifest facts and MFCMAPI's own rendering (Out/).
//!
//! The vectors live outside the repository, in `../shared/vectors` next to
//! the checkout, or wherever `$OSTSCAN_VECTORS` points. When they are
//! absent the test says so and passes.

use std::fs;
use std::path::{Path, PathBuf};

use ost_props::{compare, DecodeError, Guid, Pcl, PclOrdering, Xid};

fn vectors_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("OSTSCAN_VECTORS") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors"),
    };
    let smartview = dir.join("mfcmapi_smartview");
    if smartview.is_dir() {
        Some(smartview)
    } else {
        skip(format_args!(
            "skipping: MFCMAPI vectors not found at {}",
            smartview.display()
        ));
        None
    }
}

/// Hex text to bytes; ignores ASCII whitespace (the files may end in CRLF).
fn hex_to_bytes(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text
        .bytes()
        .filter(|byte| !byte.is_ascii_whitespace())
        .map(|byte| match byte {
            b'0'..=b'9' => byte - b'0',
            b'a'..=b'f' => byte - b'a' + 10,
            b'A'..=b'F' => byte - b'A' + 10,
            other => panic!("not a hex digit: {:?}", other as char),
        })
        .collect();
    assert_eq!(digits.len() % 2, 0, "odd number of hex digits");
    digits
        .chunks_exact(2)
        .map(|pair| (pair[0] << 4) | pair[1])
        .collect()
}

fn read_input(dir: &Path, name: &str) -> Vec<u8> {
    let path = dir.join("In").join(format!("{name}.dat"));
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    hex_to_bytes(&text)
}

/// What MFCMAPI printed for one XID: (XidSize if shown, GUID text, cb, lpb).
#[derive(Debug, PartialEq)]
struct RenderedXid {
    xid_size: Option<usize>,
    guid: String,
    cb: usize,
    lpb: String,
}

/// Pulls the XIDs out of an MFCMAPI SmartView rendering. The format is
/// tab-indented `Key = value` lines; a PCL adds `XidSize = 0x.. = N` and
/// puts `cb: N lpb: HEX` on its own line.
fn read_rendering(dir: &Path, name: &str) -> Vec<RenderedXid> {
    let path = dir.join("Out").join(format!("{name}.dat"));
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut rendered = Vec::new();
    let mut xid_size = None;
    let mut guid = None;
    for line in text.lines().map(str::trim) {
        if let Some(value) = line.strip_prefix("XidSize = ") {
            let decimal = value.rsplit(" = ").next().unwrap();
            xid_size = Some(decimal.parse().unwrap());
        } else if let Some(value) = line.strip_prefix("NamespaceGuid = ") {
            guid = Some(value.to_string());
        } else if let Some(position) = line.find("cb: ") {
            let rest = &line[position + 4..];
            let (cb, lpb) = rest.split_once(" lpb: ").unwrap();
            rendered.push(RenderedXid {
                xid_size: xid_size.take(),
                guid: guid.take().expect("cb line before NamespaceGuid"),
                cb: cb.parse().unwrap(),
                lpb: lpb.to_string(),
            });
        }
    }
    rendered
}

fn render_ours(xid: &Xid<'_>, xid_size: Option<usize>) -> RenderedXid {
    RenderedXid {
        xid_size,
        guid: xid.namespace().to_string(),
        cb: xid.local_id_len(),
        lpb: xid.local_id_hex().to_string(),
    }
}

/// One PCL entry as the manifest lists it: XidSize, GUID, LocalId hex, counter.
type ManifestEntry = (usize, &'static str, &'static str, u64);

#[test]
fn pcl_vectors_match_manifest_and_mfcmapi() {
    let Some(dir) = vectors_dir() else { return };

    // Manifest facts: (name, [(XidSize, GUID, LocalId hex, counter)]).
    let expected: [(&str, &[ManifestEntry]); 3] = [
        (
            "PCL-1",
            &[(20, "{9D8647F2-3674-4FE6-A4CC-56F8B4809280}", "00000006", 6)],
        ),
        (
            "PCL-2",
            &[
                (
                    22,
                    "{41213B37-7628-44FE-8E8D-71BE34CC3154}",
                    "000061E71533",
                    0x61E7_1533,
                ),
                (
                    22,
                    "{487F266F-8738-48D9-AAFC-A58AB2BC910F}",
                    "0000DC0B3A12",
                    0xDC0B_3A12,
                ),
                (
                    20,
                    "{1CC6AB8F-4C6C-475E-930B-9B30AA0ED4EB}",
                    "00005CA8",
                    0x5CA8,
                ),
            ],
        ),
        (
            "PCL-3",
            &[
                (
                    22,
                    "{41213B37-7628-44FE-8E8D-71BE34CC3154}",
                    "00004B0D991F",
                    0x4B0D_991F,
                ),
                (
                    20,
                    "{0F2C51D8-2D62-4146-92E5-C355973A6236}",
                    "000009E8",
                    0x9E8,
                ),
            ],
        ),
    ];

    for (name, entries) in expected {
        let bytes = read_input(&dir, name);
        let pcl = Pcl::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(pcl.len(), entries.len(), "{name}: entry count");
        for (entry, &(size, guid, local_id, counter)) in pcl.entries().zip(entries) {
            assert_eq!(entry.xid.encoded_len(), size, "{name}: XidSize");
            assert_eq!(entry.xid.namespace().to_string(), guid, "{name}: GUID");
            assert_eq!(entry.xid.local_id_hex().to_string(), local_id, "{name}");
            assert_eq!(entry.xid.counter().value(), counter, "{name}: counter");
        }
        // Real-world PCLs are binary-sorted by stored GUID bytes; PCL-2 is
        // the proof that this is not registry-text order.
        assert!(pcl.is_sorted(), "{name}: sorted by stored GUID bytes");
        assert!(pcl.duplicate_namespaces().is_empty(), "{name}: duplicates");
        assert_eq!(pcl.to_vec(), bytes, "{name}: round trip");

        let out_name = name.replace("PCL-", "PCL-out-");
        let ours: Vec<RenderedXid> = pcl
            .xids()
            .map(|xid| render_ours(&xid, Some(xid.encoded_len())))
            .collect();
        assert_eq!(ours, read_rendering(&dir, &out_name), "{name} vs MFCMAPI");
    }

    // PCL-3 and PCL-2 share a namespace with different counters and each
    // has a namespace the other lacks: concurrent versions.
    let pcl2_bytes = read_input(&dir, "PCL-2");
    let pcl3_bytes = read_input(&dir, "PCL-3");
    let pcl2 = Pcl::parse(&pcl2_bytes).unwrap();
    let pcl3 = Pcl::parse(&pcl3_bytes).unwrap();
    assert_eq!(compare(&pcl2, &pcl3), PclOrdering::Conflict);
}

#[test]
fn xid_vectors_match_manifest_and_mfcmapi() {
    let Some(dir) = vectors_dir() else { return };

    let expected = [
        (
            "XID-1",
            "{67375814-34B6-416D-A95E-06FFF0D886A8}",
            "00000004C755",
            313_173u64,
        ),
        (
            "XID-2",
            "{67375814-34B6-416D-A95E-06FFF0D886A8}",
            "000000032256",
            0x3_2256,
        ),
        (
            "XID-3",
            "{41213B37-7628-44FE-8E8D-71BE34CC3154}",
            "00004F6592F8",
            0x4F65_92F8,
        ),
    ];
    for (name, guid, local_id, counter) in expected {
        let bytes = read_input(&dir, name);
        let xid = Xid::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(xid.namespace().to_string(), guid, "{name}");
        assert_eq!(xid.local_id_len(), 6, "{name}: server XIDs carry a GLOBCNT");
        assert!(xid.has_globcnt_len());
        assert_eq!(xid.local_id_hex().to_string(), local_id, "{name}");
        assert_eq!(xid.counter().value(), counter, "{name}");
        assert_eq!(xid.to_vec(), bytes, "{name}: round trip");
        let out_name = name.replace("XID-", "XID-out-");
        assert_eq!(
            vec![render_ours(&xid, None)],
            read_rendering(&dir, &out_name),
            "{name} vs MFCMAPI"
        );
    }
    assert_eq!(
        Guid::parse_registry("{67375814-34B6-416D-A95E-06FFF0D886A8}")
            .unwrap()
            .hex()
            .to_string(),
        "14583767b6346d41a95e06fff0d886a8"
    );

    // XID-1 and XID-2 share a namespace: XID-1's counter is higher.
    let one = read_input(&dir, "XID-1");
    let two = read_input(&dir, "XID-2");
    let one = Xid::parse(&one).unwrap();
    let two = Xid::parse(&two).unwrap();
    assert_eq!(compare(&one, &two), PclOrdering::Includes);
}

#[test]
fn garbage_xid_vector_is_a_clean_error() {
    let Some(dir) = vectors_dir() else { return };
    let bytes = read_input(&dir, "XID-4");
    assert_eq!(
        Xid::parse(&bytes),
        Err(DecodeError::XidTooLong {
            offset: 0,
            len: bytes.len()
        })
    );
    // MFCMAPI renders it anyway, reading the first 16 bytes as the GUID and
    // the rest as a LocalId; we agree on the GUID but refuse the LocalId.
    let rendered = read_rendering(&dir, "XID-out-4");
    assert_eq!(rendered.len(), 1);
    let guid = Guid::from_prefix(&bytes).unwrap();
    assert_eq!(rendered[0].guid, guid.to_string());
    assert_eq!(rendered[0].guid, "{00540103-0000-0000-0000-08001B0E0000}");
    assert_eq!(rendered[0].cb, bytes.len() - 16);
    // Read as a PCL, the first byte (0x03) is not a legal XidSize.
    assert_eq!(
        Pcl::parse(&bytes),
        Err(DecodeError::XidSizeOutOfRange { offset: 0, size: 3 })
    );
}

/// Why a test skips its work, written to the process's standard error
/// itself: libtest captures `println!` and `eprintln!` (and shows them only
/// for a failing test), but a skipped check must be seen in `cargo test`'s
/// output.
fn skip(reason: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{reason}");
}
