//! Blocks read ahead of a cold file, through io_uring where the system has
//! it (else the threads): the file's bytes. Its twin,
//! `cold_read_ahead_threads`, reads with the threads.
#![cfg(target_os = "linux")]

#[path = "read_ahead/check.rs"]
mod check;

#[test]
fn blocks_read_ahead_are_the_files() {
    let ost = check::blocks_read_ahead_are_the_files("small-ost4k.ost", "ring");
    let pst = check::blocks_read_ahead_are_the_files("small-unicode.pst", "ring-pst");
    if !(ost || pst) {
        return;
    }
    // io_uring where the system allows it (a container's seccomp profile
    // may not): one thread then, else the threads.
    let ring = check::threads_named("ostscan-read-ri");
    let threads = check::threads_named("ostscan-read-ah");
    assert!(ring == 1 || threads > 0, "ring {ring}, threads {threads}");
}
