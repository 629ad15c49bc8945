//! A file opened for reading most of it (`Access::Most`: `diff`,
//! `info --verify`) is read through the page cache even when it is not
//! cached: no direct reads, nothing asked for ahead, and what it read is
//! cached for the next reader.
#![cfg(target_os = "linux")]

use std::os::fd::AsRawFd;
use std::path::PathBuf;

use ost_ndb::{Access, Bid, Pst, ReadOptions};

/// Drop `path` from the page cache (as far as the kernel lets us).
fn evict(path: &PathBuf) {
    let file = std::fs::File::open(path).unwrap();
    file.sync_all().unwrap();
    // SAFETY: advice on our own descriptor.
    unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
}

#[test]
fn a_file_read_whole_goes_through_the_page_cache() {
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/small-unicode.pst");
    let dir = std::env::temp_dir().join(format!("ost-ndb-whole-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("small-unicode.pst");
    std::fs::copy(&source, &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    evict(&path);
    if !Pst::open(&path).expect("opens").may_read_ahead() {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "skipping: {} stays in the page cache, or has no direct reads",
            path.display()
        );
        std::fs::remove_dir_all(&dir).ok();
        return;
    }
    let most = ReadOptions {
        access: Access::Most,
        ..ReadOptions::default()
    };
    let whole = Pst::open_with(&path, most).expect("opens").log_reads();
    let memory = Pst::from_bytes(&bytes).expect("opens");
    let bids: Vec<Bid> = memory
        .bbt_iter()
        .map(|e| e.expect("BBT entry").bid)
        .collect();
    assert!(bids.len() > 100, "{} blocks", bids.len());
    // Not cold to it: nothing is read ahead.
    assert!(!whole.may_read_ahead());
    assert!(!whole.prefetch_blocks(&bids));
    for &bid in &bids {
        assert_eq!(
            whole.block_data(bid).expect("read"),
            memory.block_data(bid).unwrap()
        );
    }
    assert_eq!(whole.logged_reads().len(), bids.len());
    // Read through the page cache: the next reader finds the file cached.
    assert!(!Pst::open(&path).expect("opens").may_read_ahead());
    std::fs::remove_dir_all(&dir).ok();
}
