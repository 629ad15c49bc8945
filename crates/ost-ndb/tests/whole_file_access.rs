//! A file opened for reading most of it (`Access::Most`: `diff`,
//! `info --verify`) is read through the page cache even when it is not
//! cached: no direct reads, nothing asked for ahead, and what it read is
//! cached for the next reader.
#![cfg(target_os = "linux")]

use ost_ndb::{Access, Bid, Pst, ReadOptions};

// Only its `ColdCopy` is used here.
#[allow(dead_code)]
#[path = "read_ahead/check.rs"]
mod check;

#[test]
fn a_file_read_whole_goes_through_the_page_cache() {
    let copy = check::ColdCopy::new("small-unicode.pst", "whole");
    let (path, bytes) = (&copy.path, &copy.bytes);
    if !Pst::open(path).expect("opens").may_read_ahead() {
        copy.skip();
        return;
    }
    let most = ReadOptions {
        access: Access::Most,
        ..ReadOptions::default()
    };
    let whole = Pst::open_with(path, most).expect("opens").log_reads();
    let memory = Pst::from_bytes(bytes).expect("opens");
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
    assert!(!Pst::open(path).expect("opens").may_read_ahead());
    std::fs::remove_dir_all(&copy.dir).ok();
}
