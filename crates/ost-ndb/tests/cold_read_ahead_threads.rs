//! Blocks read ahead of a cold file by the read-ahead threads (the
//! fallback where io_uring is missing): the file's bytes. A process of its
//! own, so that `OSTSCAN_NO_IO_URING` is set before the first read-ahead.
#![cfg(target_os = "linux")]

#[path = "read_ahead/check.rs"]
mod check;

#[test]
fn blocks_read_ahead_by_threads_are_the_files() {
    std::env::set_var("OSTSCAN_NO_IO_URING", "1");
    let ost = check::blocks_read_ahead_are_the_files("small-ost4k.ost", "threads");
    let pst = check::blocks_read_ahead_are_the_files("small-unicode.pst", "threads-pst");
    if !(ost || pst) {
        return;
    }
    assert_eq!(
        check::threads_named("ostscan-read-ri"),
        0,
        "no io_uring thread"
    );
    assert!(
        check::threads_named("ostscan-read-ah") > 0,
        "read-ahead threads"
    );
}
