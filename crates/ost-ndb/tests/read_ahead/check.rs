//! What the cold-file tests share: a testdata copy out of the page cache
//! (`ColdCopy`, also used by `whole_file_access`), and for the two cold
//! read-ahead tests, every block of it asked for ahead, then read, and
//! compared with the same file read from memory.

use std::os::fd::AsRawFd;
use std::path::PathBuf;

use ost_ndb::{Bid, Pst};

/// A copy of a testdata file, in a directory of its own, dropped from the
/// page cache (as far as the kernel lets us), and its bytes.
pub struct ColdCopy {
    pub dir: PathBuf,
    pub path: PathBuf,
    pub bytes: Vec<u8>,
}

impl ColdCopy {
    /// testdata's `name`, copied into a directory named after `tag`.
    pub fn new(name: &str, tag: &str) -> ColdCopy {
        let source = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata")
            .join(name);
        let dir = std::env::temp_dir().join(format!("ost-ndb-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::copy(&source, &path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        file.sync_all().unwrap();
        // SAFETY: advice on our own descriptor.
        unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
        ColdCopy { dir, path, bytes }
    }

    /// Says on standard error that the copy could not be made cold here
    /// (no direct I/O, a file system that keeps it cached), and removes it.
    pub fn skip(&self) {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "skipping: {} stays in the page cache, or has no direct reads",
            self.path.display()
        );
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

/// A copy of testdata's `name` out of the page cache, all its blocks read
/// ahead and then read: each as read from memory. Prints why and returns
/// when the file cannot be made cold here (no direct I/O, a file system
/// that keeps it cached): false then.
pub fn blocks_read_ahead_are_the_files(name: &str, tag: &str) -> bool {
    let copy = ColdCopy::new(name, tag);
    let (path, bytes) = (&copy.path, &copy.bytes);
    let cold = Pst::open(path).expect("opens").log_reads();
    let warm = Pst::from_bytes(bytes).expect("opens");
    let bids: Vec<Bid> = warm.bbt_iter().map(|e| e.expect("BBT entry").bid).collect();
    assert!(bids.len() > 100, "{} blocks", bids.len());
    if !cold.may_read_ahead() || !cold.prefetch_blocks(&bids) {
        copy.skip();
        return false;
    }
    for &bid in &bids {
        let read = cold.block_data(bid).expect("read");
        let expected = warm.block_data(bid).expect("read from memory");
        assert_eq!(read, expected, "block {bid:?}");
    }
    let logged = cold.logged_reads();
    assert!(
        logged.len() * 2 > bids.len(),
        "{} of {} blocks read ahead",
        logged.len(),
        bids.len()
    );
    std::fs::remove_dir_all(&copy.dir).ok();
    true
}

/// Threads of this process whose name starts with `prefix` (Linux cuts
/// names to 15 bytes).
pub fn threads_named(prefix: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with(prefix))
        .count()
}
