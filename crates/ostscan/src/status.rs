//! Whether a file was read whole: `ok`, `partial` or `unreadable`.
//!
//! **Partial** means the file opened but at least one problem was recorded
//! while reading it, i.e. its `errors` list is not empty:
//!
//! - a folder, hierarchy or contents table, B-tree page, item, or Sync
//!   Issues log could not be read or was skipped (`source` `walk` or
//!   `item`): what it held is missing from the results;
//! - the file is shorter than its header says (`header ibFileEof`): the
//!   missing bytes held structures nobody can see;
//! - an integrity check failed on data that was then used anyway (CRC,
//!   signature or back-pointer mismatch, `source: "integrity"`, and the
//!   ones past the cap counted in `errors_dropped`). Such bytes are not the
//!   bytes Outlook wrote, so neither a finding nor the absence of one can
//!   be trusted for what they hold; a clean result would overstate what
//!   was checked. (A healthy file has none: no file of the corpus or of
//!   `testdata/` but the one with a damaged BBT page reports any.)
//!
//! So `ok` now means: every structure the walk reached was read and
//! verified. A partial file makes the exit status 2 unless
//! `--allow-partial` is given (docs/report.md).

use std::collections::BTreeSet;

use ost_ndb::Nid;
use serde::{Deserialize, Serialize};

use crate::rules::Severity;
use crate::scan::file_report::{ErrorSource, FileReport, FileScan, SeverityCounts};

/// Whether a file was read, and whether whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Opened and read whole: no error of any kind.
    Ok,
    /// Opened, but some of it could not be read or failed its integrity
    /// checks: the results cover only part of it (see the module docs).
    Partial,
    /// Could not be opened or its header read; nothing was scanned.
    Unreadable,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Partial => "partial",
            Status::Unreadable => "unreadable",
        }
    }

    /// The exit status this file alone calls for, findings aside: 2 for an
    /// unreadable file, and for a partial one unless `allow_partial`.
    pub fn exit_code(self, allow_partial: bool) -> u8 {
        match self {
            Status::Unreadable => 2,
            Status::Partial if !allow_partial => 2,
            _ => 0,
        }
    }
}

/// The exit status of a command, the one rule `scan`, `batch`, `diff` and
/// `reconcile` follow (the highest that applies wins): 2 when the input
/// was not read whole ([`Status::exit_code`]), 1 when a finding is at or
/// above `fail_on`, else 0.
pub fn exit_code(
    status: Status,
    allow_partial: bool,
    findings: &SeverityCounts,
    fail_on: Severity,
) -> u8 {
    match status.exit_code(allow_partial) {
        0 if findings.at_or_above(fail_on) > 0 => 1,
        code => code,
    }
}

/// The status of a file that opened: the one definition of "partial".
pub fn file_status(report: &FileReport) -> Status {
    if report.errors.is_empty() && report.summary.errors_dropped == 0 {
        Status::Ok
    } else {
        Status::Partial
    }
}

impl FileScan {
    /// The file's [`Status`].
    pub fn status(&self) -> Status {
        match self {
            FileScan::Scanned(report) => file_status(report),
            FileScan::Unreadable(_) => Status::Unreadable,
        }
    }
}

/// How much of a partial file the results cover, for the text summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Coverage {
    /// Problems recorded (`errors` plus `errors_dropped`).
    pub errors: u64,
    /// Messages the walk found.
    pub messages: u64,
    /// Of those, the ones read without an error of their own.
    pub messages_read: u64,
    /// Whether folders, tables or pages were skipped, so that messages may
    /// exist that the walk never found.
    pub walk_incomplete: bool,
}

/// The [`Coverage`] of a scanned file.
pub fn coverage(report: &FileReport) -> Coverage {
    let damaged: BTreeSet<Nid> = report
        .errors
        .iter()
        .filter(|e| e.source == ErrorSource::Item)
        .filter_map(|e| e.problem.nid)
        .collect();
    let messages = report.summary.messages;
    Coverage {
        errors: report.errors.len() as u64 + report.summary.errors_dropped,
        messages,
        messages_read: messages.saturating_sub(damaged.len() as u64),
        walk_incomplete: report.errors.iter().any(|e| {
            e.source == ErrorSource::Walk
                || (e.source == ErrorSource::Integrity && e.problem.structure == "header ibFileEof")
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_code_two_beats_one_and_allow_partial_excuses_only_partial() {
        let mut warning = SeverityCounts::default();
        warning.add(Severity::Warning, 1);
        let none = SeverityCounts::default();
        assert_eq!(exit_code(Status::Ok, false, &none, Severity::Info), 0);
        assert_eq!(exit_code(Status::Ok, false, &warning, Severity::Warning), 1);
        assert_eq!(
            exit_code(Status::Ok, false, &warning, Severity::Critical),
            0
        );
        assert_eq!(
            exit_code(Status::Partial, false, &warning, Severity::Warning),
            2
        );
        assert_eq!(
            exit_code(Status::Partial, true, &warning, Severity::Warning),
            1
        );
        assert_eq!(exit_code(Status::Partial, true, &none, Severity::Info), 0);
        assert_eq!(
            exit_code(Status::Unreadable, true, &none, Severity::Info),
            2
        );
    }
}
