//! Guarantees for damaged and hostile input (issue 7): the input file is
//! never opened for writing; a file shorter than its header's ibFileEof is
//! read through the memory map without touching unmapped memory; the
//! messages of an unreadable contents table come back as orphans in every
//! format.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ost_fixture::{CryptMethod, FixtureBuilder, Format};
use ost_ndb::{NdbErrorKind, Nid, Pst};
use ost_props::{ItemKind, Store};
use sha2::{Digest, Sha256};

fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("robustness-guarantees");
    std::fs::create_dir_all(&d).expect("scratch dir");
    d.join(name)
}

fn fixture(format: Format, crypt: CryptMethod, seed: u64) -> ost_fixture::Fixture {
    FixtureBuilder::new(format)
        .crypt(crypt)
        .messages(30)
        .seed(seed)
        .build()
        .expect("fixture")
}

/// A read-only file: its bytes' SHA-256 and its modification time.
fn fingerprint(p: &Path) -> ([u8; 32], std::time::SystemTime, u64) {
    let bytes = std::fs::read(p).expect("read");
    let meta = std::fs::metadata(p).expect("metadata");
    (
        Sha256::digest(&bytes).into(),
        meta.modified().expect("mtime"),
        meta.len(),
    )
}

/// The subcommands that read a whole file (scan only once it exists).
fn commands() -> Vec<Vec<&'static str>> {
    let mut cmds = vec![
        vec!["info", "--verify"],
        vec!["info", "--json"],
        vec!["items", "--all"],
    ];
    if common::ostscan(&["scan", "--help"]).status.success() {
        cmds.push(vec!["scan"]);
    }
    cmds
}

fn run(cmd: &[&str], path: &Path) -> std::process::Output {
    let mut args: Vec<&std::ffi::OsStr> = cmd.iter().map(|s| s.as_ref()).collect();
    args.push(path.as_os_str());
    common::ostscan_timeout(&args, Duration::from_secs(60)).unwrap_or_else(|| {
        panic!(
            "ostscan {cmd:?} {}: still running after 60 s",
            path.display()
        )
    })
}

#[test]
fn input_is_never_written() {
    // A healthy file and a damaged one (the damaged one makes the reader
    // take its error paths).
    let healthy = fixture(Format::Unicode, CryptMethod::Permute, 3);
    let mut damaged = fixture(Format::Ost4k, CryptMethod::None, 4);
    let mid = damaged.layout.pages[0].ib as usize;
    damaged.bytes[mid + 100] ^= 0xFF;
    for (name, bytes) in [
        ("readonly-healthy.pst", &healthy.bytes),
        ("readonly-damaged.ost", &damaged.bytes),
    ] {
        let path = scratch(name);
        if path.exists() {
            let mut p = std::fs::metadata(&path).unwrap().permissions();
            p.set_mode(0o644);
            std::fs::set_permissions(&path, p).unwrap();
        }
        std::fs::write(&path, bytes).expect("write");
        let mut perm = std::fs::metadata(&path).unwrap().permissions();
        perm.set_mode(0o444);
        std::fs::set_permissions(&path, perm).unwrap();
        // Let a write, if any, show in the mtime.
        std::thread::sleep(Duration::from_millis(20));
        let before = fingerprint(&path);
        for cmd in commands() {
            let out = run(&cmd, &path);
            // `scan` and `items` say a damaged file was read only in part
            // with 2.
            let partial = name.contains("damaged") && (cmd == ["scan"] || cmd[0] == "items");
            let expected = if partial { 2..=2 } else { 0..=1 };
            assert!(
                out.status.code().is_some_and(|c| expected.contains(&c)),
                "ostscan {cmd:?} {name}: {:?} {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert_eq!(fingerprint(&path), before, "{name} changed");
    }
}

/// Under strace, every open of the input is read-only: no O_WRONLY, O_RDWR,
/// O_CREAT, O_TRUNC or O_APPEND, and it is never truncated. (Tests run as
/// root, for whom a mode of 0444 does not forbid writing: this is the check
/// that holds for root too.) Skips when strace is not installed.
#[test]
fn input_is_opened_read_only_strace() {
    if std::process::Command::new("strace")
        .arg("-V")
        .output()
        .is_err()
    {
        common::skip(format_args!("skipping: strace not installed"));
        return;
    }
    let f = fixture(Format::Ost, CryptMethod::Permute, 5);
    let path = scratch("strace-input.ost");
    std::fs::write(&path, &f.bytes).expect("write");
    let input = path.to_str().unwrap().to_string();
    for cmd in commands() {
        let log = scratch(&format!("strace-{}.log", cmd.join("_")));
        let out = std::process::Command::new("strace")
            .args([
                "-f",
                "-qq",
                "-e",
                "trace=open,openat,openat2,creat,truncate,ftruncate",
            ])
            .arg("-o")
            .arg(&log)
            .arg(common::ostscan_bin())
            .args(&cmd)
            .arg(&path)
            .output()
            .expect("run strace");
        if !out.status.success() && std::fs::metadata(&log).map_or(true, |m| m.len() == 0) {
            // ptrace not permitted in this sandbox.
            common::skip(format_args!(
                "skipping: strace could not trace: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
            return;
        }
        let text = std::fs::read_to_string(&log).expect("strace log");
        let opens: Vec<&str> = text.lines().filter(|l| l.contains(&input)).collect();
        assert!(
            !opens.is_empty(),
            "ostscan {cmd:?}: strace saw no open of the input:\n{text}"
        );
        for l in opens {
            assert!(
                l.contains("O_RDONLY")
                    && !["O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND"]
                        .iter()
                        .any(|flag| l.contains(flag))
                    && !l.contains("truncate(")
                    && !l.contains("creat("),
                "ostscan {cmd:?} opened the input for writing: {l}"
            );
        }
    }
}

/// Files cut short of ibFileEof, at offsets inside the header, at page
/// boundaries, inside blocks and one byte short, read through the memory
/// map (`Pst::open`) and by the binary: no access past the map (that would
/// be SIGBUS / SIGSEGV and kill the test), the short file is reported with
/// its offsets, and the binary exits 0, 1 or 2.
#[test]
fn truncated_files_are_read_within_the_map() {
    for (format, crypt, seed) in [
        (Format::Unicode, CryptMethod::None, 31),
        (Format::Ost, CryptMethod::Permute, 32),
        (Format::Ansi, CryptMethod::Cyclic, 33),
        (Format::Ost4k, CryptMethod::None, 34),
    ] {
        let f = fixture(format, crypt, seed);
        let len = f.bytes.len();
        let page = format.page_size();
        let mut cuts = vec![
            1,
            100,
            511,
            564,
            page,
            page + 1,
            len / 2,
            len - page,
            len - 1,
        ];
        cuts.extend(f.layout.pages.iter().map(|p| p.ib as usize + page / 2));
        cuts.extend(
            f.layout
                .blocks
                .iter()
                .step_by(17)
                .map(|b| b.ib as usize + 3),
        );
        for (i, cut) in cuts.into_iter().enumerate() {
            let path = scratch(&format!("cut-{}-{i}", format.name()));
            std::fs::write(&path, &f.bytes[..cut]).expect("write");
            match Pst::open(&path) {
                Err(e) => assert!(
                    cut < 564,
                    "{} cut at {cut}: refused though the header is whole: {e}",
                    format.name()
                ),
                Ok(pst) => {
                    let (issues, _) = pst.issues();
                    assert!(
                        issues.iter().any(|e| e.structure == "header ibFileEof"
                            && e.offset == len as u64
                            && matches!(
                                e.kind,
                                NdbErrorKind::CutShort { len: short, .. } if short == cut as u64
                            )),
                        "{} cut at {cut}: no ibFileEof issue: {issues:?}",
                        format.name()
                    );
                    let mut store = Store::open(&pst);
                    for r in store.item_refs(true) {
                        let _ = store.read_item(&r);
                    }
                }
            }
            if i % 4 == 0 {
                for cmd in [vec!["items", "--all"], vec!["info", "--verify"]] {
                    let out = run(&cmd, &path);
                    assert!(
                        matches!(out.status.code(), Some(0..=2)),
                        "ostscan {cmd:?} on {} cut at {cut}: {:?}",
                        format.name(),
                        out.status
                    );
                }
            }
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// Zero the block of the busiest folder's contents table, in every format:
/// `ostscan items --all` still lists each of its messages, as an orphan
/// found through the NBT, with the same change key and PCL, and says which
/// table it could not read and where.
#[test]
fn damaged_contents_table_messages_come_back_as_orphans() {
    for (format, crypt, seed) in [
        (Format::Unicode, CryptMethod::None, 41),
        (Format::Ost, CryptMethod::Permute, 42),
        (Format::Ansi, CryptMethod::Cyclic, 43),
        (Format::Ost4k, CryptMethod::None, 44),
    ] {
        let mut f = fixture(format, crypt, seed);
        let mut per_folder: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        for m in &f.manifest {
            if m.kind == ost_fixture::ItemKind::Contents {
                let parent = f.layout.node(m.nid).expect("node").nid_parent;
                per_folder.entry(parent).or_default().push(m.nid);
            }
        }
        let (&folder, victims) = per_folder
            .iter()
            .max_by_key(|(_, v)| v.len())
            .expect("a folder with messages");
        let table = (folder & !0x1F) | 0x0E;
        let node = *f.layout.node(table).expect("contents table node");
        let block = *f.layout.block(node.bid_data).expect("table block");
        let (s, e) = (
            block.ib as usize,
            (block.ib + block.total_size as u64) as usize,
        );
        f.bytes[s..e].fill(0);
        let path = scratch(&format!("orphans-{}", format.name()));
        std::fs::write(&path, &f.bytes).expect("write");

        // Read in part (the table): 2, unless allowed.
        assert_eq!(run(&["items", "--all"], &path).status.code(), Some(2));
        let out = run(&["items", "--all", "--allow-partial"], &path);
        assert_eq!(out.status.code(), Some(0), "{}", format.name());
        let items = common::ndjson(&out.stdout);
        let by_nid: BTreeMap<u64, &serde_json::Value> = items
            .iter()
            .map(|v| (v["nid"].as_u64().unwrap(), v))
            .collect();
        for nid in victims {
            let m = f.manifest.iter().find(|m| m.nid == *nid).unwrap();
            let v = by_nid
                .get(&(*nid as u64))
                .unwrap_or_else(|| panic!("{}: nid {nid:#x} lost", format.name()));
            assert_eq!(v["kind"], "orphan", "{} nid {nid:#x}", format.name());
            assert_eq!(v["change_key"].as_str(), m.change_key.as_deref());
            assert_eq!(v["pcl"].as_str(), m.pcl.as_deref());
        }
        // Everything else is still there as before.
        assert_eq!(by_nid.len(), f.manifest.len(), "{}", format.name());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr
                .lines()
                .any(|l| l.contains(&format!("nid {table:#x}"))
                    && l.contains(&format!("offset {:#x}", block.ib))),
            "{}: the lost table is not named with its offset {:#x}: {stderr}",
            format.name(),
            block.ib
        );
        // The library agrees: the same NIDs as orphans.
        let pst = Pst::open(&path).expect("open");
        let mut store = Store::open(&pst);
        let refs = store.item_refs(true);
        let orphans: Vec<Nid> = refs
            .iter()
            .filter(|r| r.kind == ItemKind::Orphan)
            .map(|r| r.nid)
            .collect();
        for nid in victims {
            assert!(orphans.contains(&Nid(*nid)), "{}: {nid:#x}", format.name());
        }
        // The pieces `scan` runs in parallel, done in another order, join
        // to the same items and the same errors.
        let mut split = Store::open(&pst);
        let mut listings: Vec<_> = (0..split.folders().len())
            .rev()
            .map(|i| split.list_folder(i, true))
            .collect();
        let nodes = split.walk_message_nodes();
        listings.reverse();
        assert_eq!(split.join_item_refs(listings, nodes, true).refs, refs);
        assert_eq!(split.errors(), store.errors(), "{}", format.name());
        assert!(!store.errors().is_empty(), "{}", format.name());
    }
}
