//! `batch --resume`: what to keep of an earlier output, and which files it
//! already holds.
//!
//! A file's records (`begin`, findings, errors, `end`) are written in one
//! piece, so an interrupted batch leaves complete files, then at most one
//! incomplete file and possibly a torn last line. [`read_earlier`] keeps
//! exactly the complete files — every record from a `begin` to the `end`
//! of the same path, each path once — and drops everything else: a torn
//! line, a file whose `begin` has no `end`, the `summary` records and the
//! directory errors of earlier runs (the new run reports its own), and any
//! line that does not parse. The output the resumed run then appends to is
//! valid NDJSON with each file once, and it writes the one `summary`.

use std::collections::BTreeMap;
use std::io::{self, BufRead};
use std::ops::Range;

use serde::Deserialize;

use crate::paths::FilePath;
use crate::scan::{FileCounts, Totals};
use crate::status::Status;

/// What an earlier output holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Earlier {
    /// The byte ranges to keep, in order: the complete files.
    pub keep: Vec<Range<u64>>,
    /// The length of what was read.
    pub len: u64,
    /// The files with complete records, by the exact bytes of their path.
    pub done: BTreeMap<Vec<u8>, Completed>,
}

impl Earlier {
    /// When what is kept is the start of the file (the usual case: only an
    /// incomplete tail goes), its length: cutting the file there is enough.
    /// `None` when lines in the middle go too, so the file must be
    /// rewritten.
    pub fn prefix_len(&self) -> Option<u64> {
        match self.keep.as_slice() {
            [] => Some(0),
            [only] if only.start == 0 => Some(only.end),
            _ => None,
        }
    }

    /// Add the files done earlier to `totals`, as skipped files.
    pub fn add_to(&self, totals: &mut Totals) {
        for done in self.done.values() {
            done.add_to(totals);
        }
    }
}

/// What an earlier run recorded about one file in its `end` record.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Completed {
    pub status: Option<Status>,
    pub summary: Option<FileCounts>,
    /// Folders where Clear Offline Items is recommended.
    pub folders_to_clear: u64,
}

impl Completed {
    /// Count this file in `totals` as one the resumed run skipped.
    pub fn add_to(&self, totals: &mut Totals) {
        totals.files_skipped += 1;
        // An end record without a status is counted as read in full.
        let status = self.status.unwrap_or(Status::Ok);
        totals.add_file(status, self.summary.as_ref(), self.folders_to_clear);
    }
}

#[derive(Deserialize)]
struct Line {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    path: Option<serde_json::Value>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    summary: Option<FileCounts>,
    #[serde(default)]
    folders: Option<Vec<FolderLine>>,
}

#[derive(Deserialize)]
struct FolderLine {
    #[serde(default)]
    recommend_clear_offline_items: bool,
}

/// A file whose `begin` was read and whose `end` not yet.
struct Open {
    path: Vec<u8>,
    start: u64,
}

/// Read an earlier `batch` output (see the module docs).
pub fn read_earlier(mut reader: impl BufRead) -> io::Result<Earlier> {
    let mut earlier = Earlier::default();
    let mut open: Option<Open> = None;
    let mut line = Vec::new();
    let mut offset = 0u64;
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)? as u64;
        if n == 0 {
            break;
        }
        let start = offset;
        offset += n;
        // A line without its newline was cut short: never kept.
        let parsed = match line.strip_suffix(b"\n") {
            Some(text) => serde_json::from_slice::<Line>(text).ok(),
            None => None,
        };
        let Some(parsed) = parsed else {
            // Whatever file was open is broken too.
            open = None;
            continue;
        };
        let path = parsed.path.as_ref().and_then(FilePath::bytes_of_json);
        match (parsed.kind.as_str(), path) {
            ("begin", Some(path)) => {
                // An open file before it never ended.
                open = Some(Open { path, start });
            }
            ("finding" | "folder_finding" | "error", Some(path))
                if open.as_ref().is_some_and(|o| o.path == path) => {}
            ("end", Some(path)) if open.as_ref().is_some_and(|o| o.path == path) => {
                let Some(file) = open.take() else {
                    continue;
                };
                if earlier.done.contains_key(&file.path) {
                    // Twice in one output (never written so since
                    // records are kept exact): the first one counts.
                    continue;
                }
                let status = match parsed.status.as_deref() {
                    Some("ok") => Some(Status::Ok),
                    Some("partial") => Some(Status::Partial),
                    Some("unreadable") => Some(Status::Unreadable),
                    _ => None,
                };
                let folders_to_clear = parsed
                    .folders
                    .unwrap_or_default()
                    .iter()
                    .filter(|f| f.recommend_clear_offline_items)
                    .count() as u64;
                earlier.done.insert(
                    file.path,
                    Completed {
                        status,
                        summary: parsed.summary,
                        folders_to_clear,
                    },
                );
                match earlier.keep.last_mut() {
                    Some(last) if last.end == file.start => last.end = offset,
                    _ => earlier.keep.push(file.start..offset),
                }
            }
            _ => {
                // A summary, a directory error, or a record out of place.
                open = None;
            }
        }
    }
    earlier.len = offset;
    Ok(earlier)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A_BEGIN: &str = r#"{"type":"begin","path":"a.pst","schema_version":2}"#;
    const A_FIND: &str = r#"{"type":"finding","path":"a.pst","rule":"CK001"}"#;
    const A_END: &str = r#"{"type":"end","path":"a.pst","status":"ok","summary":{"messages":3,"findings":1,"findings_by_rule":{"CK001":1},"findings_by_severity":{"info":0,"warning":1,"critical":0},"errors":0},"folders":[{"recommend_clear_offline_items":true}]}"#;
    const B_BEGIN: &str = r#"{"type":"begin","path":{"bytes":"Yf8ub3N0","text":"a\ufffd.ost"}}"#;
    const B_END: &str = r#"{"type":"end","path":{"bytes":"Yf8ub3N0","text":"a\ufffd.ost"},"status":"partial","summary":null,"folders":[]}"#;
    const C_BEGIN: &str = r#"{"type":"begin","path":"c.pst"}"#;
    const SUMMARY: &str = r#"{"type":"summary","files":2}"#;

    fn lines(lines: &[&str]) -> String {
        lines.iter().map(|l| format!("{l}\n")).collect()
    }

    #[test]
    fn keeps_complete_files_and_cuts_an_incomplete_tail() {
        let whole = lines(&[A_BEGIN, A_FIND, A_END, B_BEGIN, B_END]);
        let text = format!("{whole}{C_BEGIN}\n{{\"type\":\"fin");
        let earlier = read_earlier(text.as_bytes()).unwrap();
        assert_eq!(earlier.prefix_len(), Some(whole.len() as u64));
        assert_eq!(earlier.len, text.len() as u64);
        assert_eq!(earlier.done.len(), 2);
        assert!(earlier.done.contains_key(b"a.pst".as_slice()));
        let b = &earlier.done[b"a\xff.ost".as_slice()];
        assert_eq!(b.status, Some(Status::Partial));

        let mut totals = Totals::new();
        earlier.add_to(&mut totals);
        assert_eq!(totals.files, 2);
        assert_eq!(totals.files_skipped, 2);
        assert_eq!(totals.files_partial, 1);
        assert_eq!(totals.messages, 3);
        assert_eq!(totals.findings_by_rule["CK001"], 1);
        assert_eq!(totals.findings_by_severity.warning, 1);
        assert_eq!(totals.folders_to_clear, 1);
    }

    #[test]
    fn summaries_and_broken_files_in_the_middle_force_a_rewrite() {
        let text = lines(&[
            A_BEGIN, A_FIND, SUMMARY, A_BEGIN, A_END, C_BEGIN, B_BEGIN, B_END,
        ]);
        let earlier = read_earlier(text.as_bytes()).unwrap();
        assert_eq!(earlier.prefix_len(), None);
        let kept: String = earlier
            .keep
            .iter()
            .map(|r| &text[r.start as usize..r.end as usize])
            .collect();
        assert_eq!(kept, lines(&[A_BEGIN, A_END, B_BEGIN, B_END]));
        assert_eq!(earlier.done.len(), 2);
    }

    #[test]
    fn a_torn_line_inside_a_file_drops_the_file() {
        let text = format!("{A_BEGIN}\n{{\"type\":\"fi\n{A_END}\n");
        let earlier = read_earlier(text.as_bytes()).unwrap();
        assert!(earlier.done.is_empty());
        assert_eq!(earlier.prefix_len(), Some(0));
        // An end of another path does not close a file.
        let text = lines(&[A_BEGIN, B_END]);
        assert!(read_earlier(text.as_bytes()).unwrap().done.is_empty());
    }

    /// End records as an edited or older output may hold them: each file
    /// is counted, what its record lacks counts as nothing, and counts too
    /// large to add saturate.
    #[test]
    fn odd_end_records_count_as_far_as_they_go() {
        let end = |path: &str, rest: &str| format!(r#"{{"type":"end","path":"{path}"{rest}}}"#);
        let begin = |path: &str| format!(r#"{{"type":"begin","path":"{path}"}}"#);
        let huge = r#","status":"ok","summary":{"messages":18446744073709551615,"findings":18446744073709551615,"findings_by_rule":{"CK001":18446744073709551615,"NOPE1":4},"findings_by_severity":{"critical":18446744073709551615},"errors":18446744073709551615}"#;
        let records = [
            (begin("none"), end("none", "")),
            (
                begin("odd"),
                end("odd", r#","status":"sideways","summary":null"#),
            ),
            (
                begin("bare"),
                end("bare", r#","status":"unreadable","summary":{}"#),
            ),
            (begin("huge1"), end("huge1", huge)),
            (begin("huge2"), end("huge2", huge)),
        ];
        let text: String = records.iter().map(|(b, e)| format!("{b}\n{e}\n")).collect();
        let earlier = read_earlier(text.as_bytes()).unwrap();
        assert_eq!(earlier.done.len(), 5);
        let mut totals = Totals::new();
        earlier.add_to(&mut totals);
        assert_eq!(totals.files, 5);
        assert_eq!(totals.files_skipped, 5);
        assert_eq!(totals.files_unreadable, 1);
        assert_eq!(totals.files_partial, 0);
        assert_eq!(totals.messages, u64::MAX);
        assert_eq!(totals.findings, u64::MAX);
        assert_eq!(totals.errors, u64::MAX);
        assert_eq!(totals.findings_by_rule["CK001"], u64::MAX);
        assert!(!totals.findings_by_rule.contains_key("NOPE1"));
        assert_eq!(totals.findings_by_severity.critical, u64::MAX);
        assert_eq!(totals.findings_by_severity.warning, 0);
    }

    #[test]
    fn a_file_recorded_twice_counts_once() {
        let once = lines(&[A_BEGIN, A_END]);
        let text = once.repeat(2);
        let earlier = read_earlier(text.as_bytes()).unwrap();
        assert_eq!(earlier.done.len(), 1);
        assert_eq!(earlier.prefix_len(), Some(once.len() as u64));
    }
}
