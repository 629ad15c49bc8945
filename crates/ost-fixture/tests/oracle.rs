//! Proof with libpff: every format x crypt combination, read back by the
//! pff-oracle, must match the manifest on every message, with no errors.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use ost_fixture::{
    damage, CryptMethod, Damage, FixtureBuilder, Format, ItemKind, ManifestRecord, Rule,
    SyncPlacement, TreeKind,
};
use serde_json::Value;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// libpff's dump, in `../shared/tools` beside the checkout.
fn oracle() -> PathBuf {
    workspace_root().join("../shared/tools/pff-oracle")
}

/// The oracle is usable when the script exists and a python with pypff is known.
fn oracle_available() -> Result<(), String> {
    let oracle = oracle();
    if !oracle.exists() {
        return Err(format!("{} not found", oracle.display()));
    }
    if std::env::var_os("PFF_ORACLE_PYTHON").is_some() {
        return Ok(());
    }
    let venv = workspace_root().join(".venv/bin/python");
    if venv.exists() {
        Ok(())
    } else {
        Err(format!("no {} and no PFF_ORACLE_PYTHON", venv.display()))
    }
}

fn run_oracle(file: &Path) -> (Vec<Value>, Value, String) {
    let out = Command::new(oracle())
        .arg("--all-children")
        .arg(file)
        .current_dir(workspace_root())
        .output()
        .expect("run pff-oracle");
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let mut items = Vec::new();
    let mut summary = Value::Null;
    for line in stdout.lines() {
        let v: Value = serde_json::from_str(line).expect("json line");
        if let Some(s) = v.get("summary") {
            summary = s.clone();
        } else {
            items.push(v);
        }
    }
    (items, summary, stderr)
}

fn opt(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

/// libpff's `item` says what the manifest's `r` does; `source_key`: what
/// libpff should read as PR_SOURCE_KEY.
fn item_is_record(item: &Value, r: &ManifestRecord, source_key: Option<&str>, label: &str) {
    let nid = r.nid;
    let kind = match r.kind {
        ItemKind::Contents => "message",
        ItemKind::Associated => "associated",
    };
    assert_eq!(item["kind"], kind, "{label} nid {nid}");
    assert_eq!(item["folder"], r.folder.as_str(), "{label} nid {nid}");
    assert_eq!(item["subject"], r.subject.as_str(), "{label} nid {nid}");
    assert_eq!(
        item["message_class"],
        r.message_class.as_str(),
        "{label} nid {nid}"
    );
    assert_eq!(opt(&item["change_key"]), r.change_key, "{label} nid {nid}");
    assert_eq!(opt(&item["pcl"]), r.pcl, "{label} nid {nid}");
    assert_eq!(
        opt(&item["source_key"]).as_deref(),
        source_key,
        "{label} nid {nid}"
    );
    assert_eq!(
        opt(&item["last_modified"]),
        r.last_modified,
        "{label} nid {nid}"
    );
}

fn check(format: Format, crypt: CryptMethod, dir: &Path) {
    let label = format!("{}-{}", format.name(), crypt.name());
    let mut b = FixtureBuilder::new(format)
        .crypt(crypt)
        .messages(150)
        .seed(7);
    for rule in Rule::ALL {
        b = b.plant(rule, 1);
    }
    let path = dir.join(format!("{label}.pst"));
    let written = b.write_file(&path).expect("write fixture");
    let (items, summary, stderr) = run_oracle(&path);
    assert_eq!(summary["errors"], 0, "{label}: oracle errors: {stderr}");
    assert_eq!(
        summary["header"]["version"],
        format.version() as u64,
        "{label}"
    );
    let expect_client = if format.is_ost() { "ost" } else { "pst" };
    assert_eq!(summary["header"]["client"], expect_client, "{label}");

    let manifest: BTreeMap<u32, &ManifestRecord> =
        written.manifest.iter().map(|r| (r.nid, r)).collect();
    assert_eq!(items.len(), manifest.len(), "{label}: message count");
    assert!(
        manifest.values().any(|r| r.kind == ItemKind::Associated),
        "{label}: no FAI written"
    );
    for item in &items {
        let nid = item["nid"].as_u64().expect("nid") as u32;
        let r = manifest
            .get(&nid)
            .unwrap_or_else(|| panic!("{label}: oracle nid {nid} not in manifest"));
        item_is_record(item, r, r.source_key.as_deref(), &label);
    }
    // Same walk order: folders depth-first, contents rows before FAI.
    let oracle_order: Vec<u64> = items.iter().map(|i| i["nid"].as_u64().unwrap()).collect();
    let manifest_order: Vec<u64> = written.manifest.iter().map(|r| r.nid as u64).collect();
    assert_eq!(oracle_order, manifest_order, "{label}: order");
    for rule in Rule::ALL {
        assert!(
            written.manifest.iter().any(|r| r.planted == [rule.id()]),
            "{label}: {rule} not planted"
        );
    }
}

#[test]
fn every_format_and_crypt_reads_back_through_libpff() {
    if let Err(why) = oracle_available() {
        skip(format_args!("skipped: pff-oracle unavailable: {why}"));
        return;
    }
    let dir = std::env::temp_dir().join(format!("ost-fixture-oracle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for format in Format::ALL {
        for crypt in [CryptMethod::None, CryptMethod::Permute, CryptMethod::Cyclic] {
            check(format, crypt, &dir);
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// Stores in the real-OST layout: libpff (which reads only property
/// contexts) sees every message with the manifest's subject, class, folder
/// and NID, and the property-context metadata the manifest records.
#[test]
fn ost_row_stores_read_back_through_libpff() {
    if let Err(why) = oracle_available() {
        skip(format_args!("skipped: pff-oracle unavailable: {why}"));
        return;
    }
    let dir = std::env::temp_dir().join(format!("ost-fixture-oracle-rows-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut cases = Vec::new();
    for format in [Format::Ost, Format::Ost4k] {
        for crypt in [CryptMethod::None, CryptMethod::Permute, CryptMethod::Cyclic] {
            cases.push((format, crypt, SyncPlacement::Rows));
        }
        cases.push((format, CryptMethod::Permute, SyncPlacement::Both));
    }
    for (format, crypt, placement) in cases {
        let label = format!("{}-{}-{placement}", format.name(), crypt.name());
        let mut b = FixtureBuilder::new(format)
            .crypt(crypt)
            .messages(150)
            .seed(8)
            .sync_placement(placement)
            .row_gaps(3);
        for rule in Rule::ALL.into_iter().chain(Rule::OST_ROWS) {
            b = b.plant(rule, 1);
        }
        let path = dir.join(format!("{label}.ost"));
        let written = b.write_file(&path).expect("write fixture");
        let (items, summary, stderr) = run_oracle(&path);
        assert_eq!(summary["errors"], 0, "{label}: oracle errors: {stderr}");
        assert_eq!(
            items.len(),
            written.manifest.len(),
            "{label}: message count"
        );
        for (item, r) in items.iter().zip(&written.manifest) {
            let nid = r.nid;
            assert_eq!(item["nid"], nid as u64, "{label}: order");
            // Row stores write no PR_SOURCE_KEY; the manifest's is derived.
            let source_key = match placement {
                SyncPlacement::Rows => None,
                _ => r.source_key.as_deref(),
            };
            item_is_record(item, r, source_key, &label);
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn large_folders_get_multi_level_trees_and_still_read_back() {
    if let Err(why) = oracle_available() {
        skip(format_args!("skipped: pff-oracle unavailable: {why}"));
        return;
    }
    let dir = std::env::temp_dir().join(format!("ost-fixture-oracle-big-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for format in [Format::Unicode, Format::Ansi, Format::Ost4k] {
        let path = dir.join(format!("big-{}.pst", format.name()));
        let written = FixtureBuilder::new(format)
            .messages(3000)
            .body_bytes(6000)
            .write_file(&path)
            .unwrap();
        assert!(
            written.layout.pages.iter().any(|p| p.level >= 1),
            "{format}: expected a branch page"
        );
        let (items, summary, stderr) = run_oracle(&path);
        assert_eq!(summary["errors"], 0, "{format}: {stderr}");
        assert_eq!(items.len(), written.manifest.len(), "{format}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// How libpff takes each kind of structural damage (the facts in
/// crates/ost-fixture/README.md), on a 400-message Unicode store.
#[test]
fn libpff_on_damaged_files() {
    if let Err(why) = oracle_available() {
        skip(format_args!("skipped: pff-oracle unavailable: {why}"));
        return;
    }
    let dir = std::env::temp_dir().join(format!("ost-fixture-oracle-dmg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = FixtureBuilder::new(Format::Unicode)
        .messages(400)
        .seed(5)
        .build()
        .unwrap();
    let total = f.manifest.len();
    let nid = f.manifest[total / 2].nid;
    let run = |name: &str, d: Damage| {
        let mut bytes = f.bytes.clone();
        damage(&mut bytes, Format::Unicode, &f.layout, d).unwrap();
        let path = dir.join(format!("{name}.pst"));
        std::fs::write(&path, &bytes).unwrap();
        let (items, summary, _) = run_oracle(&path);
        let open_failed = summary["error_kinds"]["open"].as_u64().unwrap_or(0) > 0;
        (items, open_failed)
    };
    // Refused at open.
    for (name, d) in [
        ("bad-header-crc", Damage::BadHeaderCrc),
        (
            "truncate",
            Damage::Truncate {
                len: f.layout.file_size / 2,
            },
        ),
        (
            "zero-nbt-leaf",
            Damage::ZeroLeafPage {
                tree: TreeKind::Nbt,
            },
        ),
        (
            "self-nbt-root",
            Damage::SelfPointingRoot {
                tree: TreeKind::Nbt,
            },
        ),
    ] {
        let (items, open_failed) = run(name, d);
        assert!(open_failed && items.is_empty(), "{name}");
    }
    // Read in full: libpff does not check data block CRCs.
    let (items, open_failed) = run("bad-block-crc", Damage::BadBlockCrc { nid });
    assert!(!open_failed);
    assert_eq!(items.len(), total);
    assert!(items.iter().any(|i| i["nid"] == nid as u64));
    // Exactly the damaged item dropped.
    let (items, _) = run("block-past-end", Damage::BlockPastEnd { nid });
    assert_eq!(items.len(), total - 1);
    assert!(items.iter().all(|i| i["nid"] != nid as u64));
    // Items behind the damaged BBT page dropped, the rest read.
    for (name, d) in [
        (
            "zero-bbt-leaf",
            Damage::ZeroLeafPage {
                tree: TreeKind::Bbt,
            },
        ),
        (
            "self-bbt-root",
            Damage::SelfPointingRoot {
                tree: TreeKind::Bbt,
            },
        ),
    ] {
        let (items, open_failed) = run(name, d);
        assert!(!open_failed, "{name}");
        assert!(
            !items.is_empty() && items.len() < total,
            "{name}: {}",
            items.len()
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// Why a test skips its work, written to the process's standard error
/// itself: libtest captures `println!` and `eprintln!` (and shows them only
/// for a failing test), but a skipped check must be seen in `cargo test`'s
/// output.
fn skip(reason: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{reason}");
}
