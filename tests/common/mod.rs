//! Helpers shared by the end-to-end tests: where the corpus is, how to run
//! the binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// ../shared/corpus beside the checkout, or $OSTSCAN_CORPUS; `None` (after
/// printing why) when it is absent, so tests skip instead of failing.
pub fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("OSTSCAN_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("../shared/corpus"));
    if dir.join("MANIFEST.tsv").is_file() {
        Some(dir)
    } else {
        println!("skipping: corpus {} not found", dir.display());
        None
    }
}

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Run `ostscan` with `args`.
pub fn ostscan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ostscan"))
        .args(args)
        .output()
        .expect("run ostscan")
}

/// The rows of the corpus MANIFEST.tsv as (column name -> value) maps.
pub fn manifest(dir: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let text = std::fs::read_to_string(dir.join("MANIFEST.tsv")).expect("MANIFEST.tsv");
    let mut lines = text.lines();
    let head: Vec<String> = lines
        .next()
        .unwrap_or("")
        .split('\t')
        .map(str::to_string)
        .collect();
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            head.iter()
                .cloned()
                .zip(l.split('\t').map(str::to_string))
                .collect()
        })
        .collect()
}
