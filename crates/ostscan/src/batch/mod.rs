//! `batch`: which files to scan, which of them this machine takes, and
//! which are already done.
//!
//! - [`discover`] finds `*.ost` / `*.pst` below directories (any case),
//!   sorted by path so every machine sees the same list;
//! - [`read_manifest`] reads paths, one per line;
//! - [`Shard`] takes every N-th file of the sorted list (by index modulo N),
//!   so N machines given the same input cover every file exactly once;
//! - [`completed`] reads an earlier NDJSON output and tells which files
//!   already have their `end` record, for `--resume`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::{self, BufRead};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Deserialize;

use crate::rules::Severity;
use crate::scan::SeverityCounts;

/// A problem finding files (an unreadable directory, a manifest that
/// cannot be read). Reported as an `error` record; the batch goes on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiscoveryError {
    pub path: PathBuf,
    pub message: String,
}

impl fmt::Display for DiscoveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

/// Whether `path` names an Outlook data file by its extension (any case).
pub fn is_outlook_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("ost") || e.eq_ignore_ascii_case("pst"))
}

/// Every `*.ost` / `*.pst` below `roots` (a root that is a file is taken as
/// it is, whatever its name), sorted and without duplicates. Symbolic links
/// to directories are not followed (no cycles); links to files are.
pub fn discover(roots: &[PathBuf]) -> (Vec<PathBuf>, Vec<DiscoveryError>) {
    let mut found = BTreeSet::new();
    let mut errors = Vec::new();
    for root in roots {
        match std::fs::metadata(root) {
            Ok(meta) if meta.is_file() => {
                found.insert(root.clone());
            }
            Ok(_) => walk(root, &mut found, &mut errors),
            Err(e) => errors.push(DiscoveryError {
                path: root.clone(),
                message: e.to_string(),
            }),
        }
    }
    (found.into_iter().collect(), errors)
}

fn walk(dir: &Path, found: &mut BTreeSet<PathBuf>, errors: &mut Vec<DiscoveryError>) {
    // An explicit stack: directory depth is not bounded by anything.
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) => {
                errors.push(DiscoveryError {
                    path: dir.clone(),
                    message: e.to_string(),
                });
                continue;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    errors.push(DiscoveryError {
                        path: dir.clone(),
                        message: e.to_string(),
                    });
                    continue;
                }
            };
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                stack.push(path);
            } else if is_outlook_file(&path)
                && (kind.is_file() || std::fs::metadata(&path).is_ok_and(|m| m.is_file()))
            {
                found.insert(path);
            }
        }
    }
}

/// Paths from a manifest: one per line; blank lines and lines starting
/// with `#` are skipped; trailing CR is dropped. Sorted and deduplicated
/// like [`discover`], so a shard does not depend on the manifest's order.
pub fn read_manifest(reader: impl BufRead) -> io::Result<Vec<PathBuf>> {
    let mut paths = BTreeSet::new();
    for line in reader.lines() {
        let line = line?;
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        paths.insert(PathBuf::from(line));
    }
    Ok(paths.into_iter().collect())
}

/// `--shard K/N`: this machine takes the files whose index in the sorted
/// list is K-1 modulo N. K is 1-based.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// Whether the file at `position` of the sorted list belongs to this shard.
    pub fn takes(&self, position: usize) -> bool {
        position % self.count == self.index - 1
    }

    /// The files of this shard, in order.
    pub fn select(&self, paths: Vec<PathBuf>) -> Vec<PathBuf> {
        paths
            .into_iter()
            .enumerate()
            .filter(|(position, _)| self.takes(*position))
            .map(|(_, path)| path)
            .collect()
    }
}

impl FromStr for Shard {
    type Err = String;
    fn from_str(text: &str) -> Result<Shard, String> {
        let (k, n) = text
            .split_once('/')
            .ok_or_else(|| format!("shard {text:?} is not K/N (e.g. 1/3)"))?;
        let index: usize = k
            .trim()
            .parse()
            .map_err(|_| format!("shard {text:?}: K is not a number"))?;
        let count: usize = n
            .trim()
            .parse()
            .map_err(|_| format!("shard {text:?}: N is not a number"))?;
        if count == 0 || index == 0 || index > count {
            return Err(format!("shard {text:?}: need 1 <= K <= N"));
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// What an earlier run recorded about a file in its `end` record.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Completed {
    /// The file could not be read.
    pub unreadable: bool,
    pub findings_by_severity: SeverityCounts,
}

impl Completed {
    /// The exit code this file contributes: 2 unreadable, 1 findings at or
    /// above `threshold`, else 0.
    pub fn exit_code(&self, threshold: Severity) -> u8 {
        if self.unreadable {
            2
        } else if self.findings_by_severity.at_or_above(threshold) > 0 {
            1
        } else {
            0
        }
    }
}

#[derive(Deserialize)]
struct EndLine {
    #[serde(rename = "type")]
    kind: String,
    path: Option<String>,
    status: Option<String>,
    summary: Option<EndSummary>,
}

#[derive(Deserialize)]
struct EndSummary {
    findings_by_severity: Option<CountsLine>,
}

#[derive(Deserialize)]
struct CountsLine {
    info: u64,
    warning: u64,
    critical: u64,
}

/// The files of an earlier NDJSON output that have an `end` record, by
/// path. Lines that do not parse (a record cut short by a crash) are
/// ignored: their file has no `end` and is scanned again.
pub fn completed(reader: impl BufRead) -> io::Result<BTreeMap<String, Completed>> {
    let mut done = BTreeMap::new();
    for line in reader.lines() {
        let line = line?;
        // Cheap filter: only end records matter, and findings lines are many.
        if !line.starts_with("{\"type\":\"end\"") {
            continue;
        }
        let Ok(end) = serde_json::from_str::<EndLine>(&line) else {
            continue;
        };
        let (Some(path), "end") = (end.path, end.kind.as_str()) else {
            continue;
        };
        let counts = end
            .summary
            .and_then(|s| s.findings_by_severity)
            .map(|c| SeverityCounts {
                info: c.info,
                warning: c.warning,
                critical: c.critical,
            })
            .unwrap_or_default();
        done.insert(
            path,
            Completed {
                unreadable: end.status.as_deref() == Some("unreadable"),
                findings_by_severity: counts,
            },
        );
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cover_every_index_once() {
        for count in 1..6 {
            for position in 0..40 {
                let takers = (1..=count)
                    .filter(|&index| Shard { index, count }.takes(position))
                    .count();
                assert_eq!(takers, 1);
            }
        }
    }

    #[test]
    fn shard_parsing() {
        assert_eq!("2/3".parse(), Ok(Shard { index: 2, count: 3 }));
        for bad in ["0/3", "4/3", "1/0", "x/2", "3", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn manifest_skips_blanks_and_comments_and_sorts() {
        let text = "b.pst\r\n\n# comment\na.ost\nb.pst\n";
        let paths = read_manifest(text.as_bytes()).unwrap();
        assert_eq!(paths, vec![PathBuf::from("a.ost"), PathBuf::from("b.pst")]);
    }

    #[test]
    fn completed_reads_end_records_and_ignores_torn_lines() {
        let text = concat!(
            "{\"type\":\"begin\",\"path\":\"a.pst\"}\n",
            "{\"type\":\"end\",\"path\":\"a.pst\",\"status\":\"ok\",\"summary\":{\"findings_by_severity\":{\"info\":0,\"warning\":2,\"critical\":0}},\"folders\":[]}\n",
            "{\"type\":\"end\",\"path\":\"b.pst\",\"status\":\"unreadable\",\"summary\":null,\"folders\":[]}\n",
            "{\"type\":\"end\",\"path\":\"c.p"
        );
        let done = completed(text.as_bytes()).unwrap();
        assert_eq!(done.len(), 2);
        assert_eq!(done["a.pst"].exit_code(Severity::Warning), 1);
        assert_eq!(done["a.pst"].exit_code(Severity::Critical), 0);
        assert_eq!(done["b.pst"].exit_code(Severity::Info), 2);
    }
}
