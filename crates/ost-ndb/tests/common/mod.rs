//! Shared by ost-ndb's integration tests: where the real corpus is.

use std::path::PathBuf;

/// ../shared/corpus beside the checkout, or $OSTSCAN_CORPUS; `None` (after
/// printing why) when it is absent, so tests skip instead of failing.
pub fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("OSTSCAN_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus")
        });
    if dir.join("MANIFEST.tsv").is_file() {
        Some(dir)
    } else {
        skip(format_args!("skipping: corpus {} not found", dir.display()));
        None
    }
}

/// Why a test skips its work, written to the process's standard error
/// itself: libtest captures `println!` and `eprintln!` (and shows them only
/// for a failing test), but a skipped check must be seen in `cargo test`'s
/// output.
pub fn skip(reason: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{reason}");
}
