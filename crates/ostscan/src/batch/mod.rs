//! `batch`: which files to scan, which of them this machine takes, and
//! which are already done.
//!
//! - [`discover`] finds `*.ost` / `*.pst` below directories (any case),
//!   sorted by path so every machine sees the same list;
//! - [`read_manifest`] reads paths, one per line (or NUL-separated), as
//!   bytes: a path need not be UTF-8;
//! - [`Shard`] takes every N-th file of the sorted list (by index modulo N),
//!   so N machines given the same input cover every file exactly once;
//! - [`resume`] reads an earlier NDJSON output, says what to keep of it
//!   and which files are done, for `--resume`.

pub mod resume;

use std::collections::BTreeSet;
use std::fmt;
use std::io::{self, BufRead};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// A problem finding files (an unreadable directory, a manifest that
/// cannot be read). Reported as an `error` record; the batch goes on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiscoveryError {
    pub path: PathBuf,
    /// `directory` (one that could not be listed) or `file` (an entry that
    /// could not be taken).
    pub structure: &'static str,
    pub message: String,
}

impl fmt::Display for DiscoveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", crate::paths::display(&self.path), self.message)
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
            Ok(meta) if meta.is_dir() => walk(root, &mut found, &mut errors),
            Ok(meta) => errors.push(not_regular(root, meta.file_type())),
            Err(e) => errors.push(DiscoveryError {
                path: root.clone(),
                structure: "directory",
                message: ost_ndb::io_words(&e),
            }),
        }
    }
    (found.into_iter().collect(), errors)
}

fn walk(dir: &Path, found: &mut BTreeSet<PathBuf>, errors: &mut Vec<DiscoveryError>) {
    // An explicit stack: directory depth is not bounded by anything.
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let unreadable = |e: std::io::Error| DiscoveryError {
            path: dir.clone(),
            structure: "directory",
            message: ost_ndb::io_words(&e),
        };
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) => {
                errors.push(unreadable(e));
                continue;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    errors.push(unreadable(e));
                    continue;
                }
            };
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                stack.push(path);
                continue;
            }
            if !is_outlook_file(&path) {
                continue;
            }
            if kind.is_file() {
                found.insert(path);
                continue;
            }
            // A symbolic link (followed to a file, not to a directory), or
            // a FIFO, socket or device with a store's name: never opened,
            // but said, so that nothing is skipped silently.
            match std::fs::metadata(&path) {
                Ok(meta) if meta.is_file() => {
                    found.insert(path);
                }
                Ok(meta) if meta.is_dir() => {}
                Ok(meta) => errors.push(not_regular(&path, meta.file_type())),
                Err(e) => errors.push(DiscoveryError {
                    path,
                    structure: "file",
                    message: ost_ndb::io_words(&e),
                }),
            }
        }
    }
}

/// A path found below a root that is neither a regular file nor a
/// directory.
fn not_regular(path: &Path, kind: std::fs::FileType) -> DiscoveryError {
    DiscoveryError {
        path: path.to_path_buf(),
        structure: "file",
        message: format!(
            "is a {}, not a regular file: not read",
            ost_ndb::file_kind_name(kind)
        ),
    }
}

/// How a manifest separates its paths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Separator {
    /// One path per line; blank lines and lines starting with `#` are
    /// skipped; a trailing CR is dropped.
    Line,
    /// NUL-terminated paths (`find -print0`), taken exactly as they are;
    /// only empty entries are skipped.
    Nul,
}

/// Paths from a manifest, as bytes (a path need not be UTF-8). Sorted and
/// deduplicated like [`discover`], so a shard does not depend on the
/// manifest's order.
pub fn read_manifest(mut reader: impl BufRead, separator: Separator) -> io::Result<Vec<PathBuf>> {
    let byte = match separator {
        Separator::Line => b'\n',
        Separator::Nul => 0,
    };
    let mut paths = BTreeSet::new();
    let mut entry = Vec::new();
    loop {
        entry.clear();
        if reader.read_until(byte, &mut entry)? == 0 {
            break;
        }
        if entry.last() == Some(&byte) {
            entry.pop();
        }
        if separator == Separator::Line {
            if entry.last() == Some(&b'\r') {
                entry.pop();
            }
            if entry.iter().all(u8::is_ascii_whitespace) || entry.first() == Some(&b'#') {
                continue;
            }
        } else if entry.is_empty() {
            continue;
        }
        paths.insert(crate::paths::path_from_bytes(&entry));
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
        let paths = read_manifest(text.as_bytes(), Separator::Line).unwrap();
        assert_eq!(paths, vec![PathBuf::from("a.ost"), PathBuf::from("b.pst")]);
    }

    #[cfg(unix)]
    #[test]
    fn manifest_takes_any_bytes_and_nul_separated_paths() {
        use crate::paths::path_from_bytes;
        let text = b"a\xff.ost\na\xfe.ost\n";
        let paths = read_manifest(&text[..], Separator::Line).unwrap();
        assert_eq!(
            paths,
            vec![path_from_bytes(b"a\xfe.ost"), path_from_bytes(b"a\xff.ost")]
        );
        // NUL-separated: newlines, leading '#' and CRs are part of names.
        let text = b"new\nline.ost\0#hash.pst\0cr.ost\r\0\0";
        let paths = read_manifest(&text[..], Separator::Nul).unwrap();
        assert_eq!(
            paths,
            vec![
                path_from_bytes(b"#hash.pst"),
                path_from_bytes(b"cr.ost\r"),
                path_from_bytes(b"new\nline.ost"),
            ]
        );
    }
}
