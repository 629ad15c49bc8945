//! Reading evidence leaves its access time alone where the kernel allows
//! it (Linux, O_NOATIME on a file the reader owns).
#![cfg(target_os = "linux")]

use std::fs::{File, FileTimes};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use ost_ndb::Pst;

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(name)
}

/// A copy of `name` in a fresh directory, its access time set to 2001 (far
/// enough back that `relatime` updates it on the next read).
fn old_copy(name: &str, tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ostscan-atime-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::copy(testdata(name), &path).unwrap();
    let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_times(FileTimes::new().set_accessed(old))
        .unwrap();
    path
}

fn accessed(path: &Path) -> SystemTime {
    std::fs::metadata(path).unwrap().accessed().unwrap()
}

#[test]
fn reading_a_file_leaves_its_access_time() {
    // Whether this mount updates access times on read at all: a plain read
    // of a control copy tells (`noatime` mounts never do, and then the
    // test below could not fail).
    let control = old_copy("small-unicode.pst", "control");
    let before = accessed(&control);
    std::fs::read(&control).unwrap();
    if accessed(&control) == before {
        skip(format_args!(
            "skipping: this mount does not update access times on read"
        ));
        return;
    }

    let path = old_copy("small-unicode.pst", "read");
    let before = accessed(&path);
    let pst = Pst::open(&path).unwrap();
    let mut blocks = 0;
    for e in pst.nbt_iter() {
        let node = pst.node_from_entry(&e.unwrap());
        if let Ok(tree) = node.data_blocks() {
            for bid in tree.blocks {
                node.block(bid).unwrap();
                blocks += 1;
            }
        }
    }
    drop(pst);
    assert!(blocks > 10, "read {blocks} blocks");
    assert_eq!(accessed(&path), before, "access time changed by reading");
    for p in [control, path] {
        let _ = std::fs::remove_dir_all(p.parent().unwrap());
    }
}

/// Why a test skips its work, written to the process's standard error
/// itself: libtest captures `println!` and `eprintln!` (and shows them only
/// for a failing test), but a skipped check must be seen in `cargo test`'s
/// output.
fn skip(reason: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{reason}");
}
