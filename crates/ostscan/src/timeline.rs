//! Timelines for Timesketch (`ostscan timeline`): one event per item's
//! last modification, per conflict item and per synchronization log of the
//! Sync Issues folders, in the JSONL shape Timesketch imports (`datetime`,
//! `timestamp_desc`, `message`; every other field an attribute).

use ost_ndb::{Nid, Pst};
use ost_props::{ItemRecord, Problem, RowPolicy, Store};
use serde::Serialize;

use crate::paths::{self, FilePath};
use crate::report::count;
use crate::scan::nid_hex;
use crate::sync_issues::{self, ConflictItem, SyncLog};
use crate::walk::{read_problems, read_records};

/// The `timestamp_desc` of each kind of event.
pub const LAST_MODIFICATION: &str = "Last Modification Time";
pub const CONFLICT_MODIFICATION: &str = "Conflict Item Modification Time";
pub const SYNC_LOG: &str = "Sync Log Time";

/// An RFC 3339 UTC time as ostscan writes them
/// (`2020-09-16T09:12:59.3800040Z`) in the ISO 8601 form Timesketch's
/// examples use: microseconds and `+00:00`
/// (`2020-09-16T09:12:59.380004+00:00`). `None` for anything else.
pub fn timesketch_datetime(rfc3339: &str) -> Option<String> {
    let body = rfc3339.strip_suffix('Z')?;
    let (seconds, fraction) = match body.split_once('.') {
        Some((s, f)) => (s, f),
        None => (body, ""),
    };
    if !seconds.contains('T') || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut micros: String = fraction.chars().take(6).collect();
    while micros.len() < 6 {
        micros.push('0');
    }
    Some(format!("{seconds}.{micros}+00:00"))
}

/// One event: the three fields Timesketch requires, then the attributes
/// of its kind. Written through a `serde_json::Value`, whose objects keep
/// their keys sorted (Timesketch reads fields by name; the order is the
/// one lines have always had).
#[derive(Clone, Debug, Serialize)]
pub struct TimelineEvent {
    /// ISO 8601 UTC with microseconds ([`timesketch_datetime`]).
    pub datetime: String,
    /// [`LAST_MODIFICATION`], [`CONFLICT_MODIFICATION`] or [`SYNC_LOG`].
    pub timestamp_desc: &'static str,
    /// What happened, in words.
    pub message: String,
    /// The file, exactly as given.
    pub path: FilePath,
    pub nid: Nid,
    /// `nid` as the text shows it (`0x…`).
    pub nid_hex: String,
    pub folder: String,
    pub subject: Option<String>,
    #[serde(flatten)]
    pub attributes: EventAttributes,
}

/// The attributes of each kind of event.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum EventAttributes {
    /// An item's last modification.
    Item {
        message_class: Option<String>,
        /// PR_CHANGE_KEY, lower hex.
        change_key: Option<String>,
        kind: &'static str,
    },
    /// A conflict item of the Sync Issues analysis.
    Conflict {
        message_class: Option<String>,
        in_conflict: bool,
        conflicts_with_nid: Option<Nid>,
        affected_folder: Option<String>,
    },
    /// A synchronization log.
    Log {
        error_lines: u64,
        error_codes: Vec<String>,
        log_folders: Vec<String>,
    },
}

impl TimelineEvent {
    /// The event's JSON line (without the newline), keys sorted.
    pub fn to_line(&self) -> String {
        serde_json::to_value(self)
            .map(|v| v.to_string())
            .unwrap_or_default()
    }
}

fn quoted(subject: Option<&str>) -> String {
    match subject {
        Some(s) => format!("{s:?}"),
        None => "(no subject)".to_string(),
    }
}

fn item_event(path: &FilePath, r: &ItemRecord) -> Option<TimelineEvent> {
    let datetime = timesketch_datetime(&r.last_modified?.to_string())?;
    let class = r.message_class.as_deref().unwrap_or("item");
    Some(TimelineEvent {
        datetime,
        timestamp_desc: LAST_MODIFICATION,
        message: format!(
            "{class} {} in {} last modified",
            quoted(r.subject.as_deref()),
            r.folder
        ),
        path: path.clone(),
        nid: r.nid,
        nid_hex: nid_hex(r.nid),
        folder: r.folder.to_string(),
        subject: r.subject.clone(),
        attributes: EventAttributes::Item {
            message_class: r.message_class.clone(),
            change_key: r.change_key.as_deref().map(ost_props::hex),
            kind: r.kind.name(),
        },
    })
}

fn conflict_event(path: &FilePath, c: &ConflictItem) -> Option<TimelineEvent> {
    let datetime = timesketch_datetime(c.last_modified.as_deref()?)?;
    let with = match &c.conflicts_with {
        Some(other) => format!(
            ", in conflict with {} in {}",
            quoted(other.subject.as_deref()),
            other.folder
        ),
        None => String::new(),
    };
    Some(TimelineEvent {
        datetime,
        timestamp_desc: CONFLICT_MODIFICATION,
        message: format!(
            "Sync conflict: {} in {}{with}",
            quoted(c.subject.as_deref()),
            c.folder
        ),
        path: path.clone(),
        nid: c.nid,
        nid_hex: nid_hex(c.nid),
        folder: c.folder.clone(),
        subject: c.subject.clone(),
        attributes: EventAttributes::Conflict {
            message_class: c.message_class.clone(),
            in_conflict: c.in_conflict,
            conflicts_with_nid: c.conflicts_with.as_ref().map(|o| o.nid),
            affected_folder: c.affected_folder.as_ref().map(|f| f.path.clone()),
        },
    })
}

fn log_event(path: &FilePath, log: &SyncLog) -> Option<TimelineEvent> {
    let datetime = timesketch_datetime(log.time.as_deref()?)?;
    let mut message = format!(
        "Sync log {}: {} reporting errors",
        quoted(log.subject.as_deref()),
        count(log.error_lines, "line", "lines")
    );
    if !log.error_codes.is_empty() {
        message.push_str(&format!(" ({})", log.error_codes.join(", ")));
    }
    // The folders a log names are those it synchronized; only those with
    // error lines of their own are said to have errors (an error line
    // outside every folder's step belongs to none).
    let with_errors: Vec<&str> = log
        .folders
        .iter()
        .filter(|f| f.errors > 0)
        .map(|f| f.path.as_str())
        .collect();
    if !with_errors.is_empty() {
        message.push_str(&format!("; errors in {}", with_errors.join(", ")));
    }
    if !log.folder_names.is_empty() {
        message.push_str(&format!(
            "; folders synchronized: {}",
            log.folder_names.join(", ")
        ));
    }
    Some(TimelineEvent {
        datetime,
        timestamp_desc: SYNC_LOG,
        message,
        path: path.clone(),
        nid: log.nid,
        nid_hex: nid_hex(log.nid),
        folder: log.folder.clone(),
        subject: log.subject.clone(),
        attributes: EventAttributes::Log {
            error_lines: log.error_lines,
            error_codes: log.error_codes.clone(),
            log_folders: log.folder_names.clone(),
        },
    })
}

/// What one file gave: its events, how many items had no time, and the
/// problems met reading it (each one line, located).
pub struct FileEvents {
    pub events: Vec<TimelineEvent>,
    pub untimed: u64,
    pub problems: Vec<String>,
}

/// The events of one file; `Err` with the message when the file cannot be
/// opened.
pub fn file_events(file: &std::path::Path, all: bool) -> Result<FileEvents, String> {
    let pst = Pst::open(file).map_err(|e| format!("{}: {e}", paths::display(file)))?;
    let mut store = Store::open(&pst);
    // Every item, associated ones too: the Sync Issues analysis needs them
    // all (a log can be an associated message), as it does in `scan`.
    let records = read_records(&mut store, true, &RowPolicy::ROWS_FIRST);
    let path = FilePath::new(file);
    let mut events = Vec::new();
    let mut untimed = 0;
    let listed = records
        .iter()
        .filter(|r| all || r.kind == ost_props::ItemKind::Contents);
    for r in listed {
        match item_event(&path, r) {
            Some(e) => events.push(e),
            None => untimed += 1,
        }
    }
    let sync = sync_issues::analyze(&pst, &store, &records);
    events.extend(
        sync.conflicts
            .iter()
            .filter_map(|c| conflict_event(&path, c)),
    );
    events.extend(sync.logs.iter().filter_map(|l| log_event(&path, l)));
    // What was not read: the events above cover the rest only.
    let mut problems: Vec<String> = read_problems(&store, &records)
        .iter()
        .chain(&sync.errors)
        .map(Problem::to_string)
        .collect();
    let (issues, dropped) = pst.issues();
    problems.extend(issues.iter().map(|e| e.to_string()));
    if dropped > 0 {
        problems.push(format!("{dropped} more integrity issues not listed"));
    }
    Ok(FileEvents {
        events,
        untimed,
        problems,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_becomes_timesketch_iso8601() {
        assert_eq!(
            timesketch_datetime("2020-09-16T09:12:59.3800049Z").as_deref(),
            Some("2020-09-16T09:12:59.380004+00:00")
        );
        assert_eq!(
            timesketch_datetime("2020-09-16T09:12:59Z").as_deref(),
            Some("2020-09-16T09:12:59.000000+00:00")
        );
        assert_eq!(
            timesketch_datetime("2020-09-16T09:12:59.38Z").as_deref(),
            Some("2020-09-16T09:12:59.380000+00:00")
        );
        for bad in [
            "",
            "2020-09-16",
            "2020-09-16T09:12:59.3x0Z",
            "2020-09-16T09:12:59+01:00",
        ] {
            assert_eq!(timesketch_datetime(bad), None, "{bad}");
        }
    }
}
