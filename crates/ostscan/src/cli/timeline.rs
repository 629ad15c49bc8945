//! `ostscan timeline FILE... [--all] [--out PATH]`: one JSON line per
//! event, in the shape Timesketch imports (JSONL with `message`,
//! `datetime`, `timestamp_desc`; every other field kept as an attribute):
//! each item's last modification, each conflict item, each
//! synchronization log of the Sync Issues folders.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use ost_ndb::Pst;
use ost_props::{ItemRecord, RowPolicy, Store};
use ostscan::paths::{self, FilePath};
use ostscan::report::count;
use ostscan::sync_issues::{self, ConflictItem, SyncLog};
use ostscan::walk::visit_items;
use serde_json::{json, Value};

use super::output::warn;
use super::scan::open_out;

const AFTER_HELP: &str = "\
Each line is one event (docs/report.md, \"Timeline\"):
  datetime        ISO 8601 UTC with microseconds, 2026-03-02T08:15:03.123456+00:00
  timestamp_desc  Last Modification Time | Conflict Item Modification Time |
                  Sync Log Time
  message         what happened, in words
  path, nid, nid_hex, folder, subject, ...  attributes
Events are sorted by datetime (then by file and NID). Items without a
time are not listed (a count goes to standard error). Import with
`timesketch_importer -s SKETCH -t TIMELINE out.jsonl` or the web upload.

Exit codes: 0 written, 2 a file could not be opened or was read only in
part (each problem goes to standard error; the events of what was read are
listed), or the output could not be written (the other files are still
listed).";

#[derive(Args)]
#[command(after_help = AFTER_HELP)]
pub struct TimelineArgs {
    /// The .pst / .ost files (opened read-only).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Also list associated (FAI) items and orphans.
    #[arg(long)]
    pub all: bool,
    /// Write the lines to this file instead of standard output (never an
    /// input; replaced only once the run has succeeded).
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
}

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

/// One event: the three fields Timesketch requires, then `attributes`.
fn event(datetime: String, desc: &str, message: String, attributes: Value) -> Value {
    let mut event = json!({
        "datetime": datetime,
        "timestamp_desc": desc,
        "message": message,
    });
    if let (Some(event), Value::Object(attributes)) = (event.as_object_mut(), attributes) {
        event.extend(attributes);
    }
    event
}

fn quoted(subject: Option<&str>) -> String {
    match subject {
        Some(s) => format!("{s:?}"),
        None => "(no subject)".to_string(),
    }
}

fn item_event(path: &FilePath, r: &ItemRecord) -> Option<Value> {
    let datetime = timesketch_datetime(&r.last_modified?.to_string())?;
    let class = r.message_class.as_deref().unwrap_or("item");
    Some(event(
        datetime,
        LAST_MODIFICATION,
        format!(
            "{class} {} in {} last modified",
            quoted(r.subject.as_deref()),
            r.folder
        ),
        json!({
            "path": path,
            "nid": r.nid,
            "nid_hex": format!("{:#x}", r.nid),
            "folder": &*r.folder,
            "subject": r.subject,
            "message_class": r.message_class,
            "change_key": r.change_key.as_deref().map(ost_props::hex),
            "kind": r.kind.name(),
        }),
    ))
}

fn conflict_event(path: &FilePath, c: &ConflictItem) -> Option<Value> {
    let datetime = timesketch_datetime(c.last_modified.as_deref()?)?;
    let with = match &c.conflicts_with {
        Some(other) => format!(
            ", in conflict with {} in {}",
            quoted(other.subject.as_deref()),
            other.folder
        ),
        None => String::new(),
    };
    Some(event(
        datetime,
        CONFLICT_MODIFICATION,
        format!(
            "Sync conflict: {} in {}{with}",
            quoted(c.subject.as_deref()),
            c.folder
        ),
        json!({
            "path": path,
            "nid": c.nid,
            "nid_hex": format!("{:#x}", c.nid),
            "folder": c.folder,
            "subject": c.subject,
            "message_class": c.message_class,
            "in_conflict": c.in_conflict,
            "conflicts_with_nid": c.conflicts_with.as_ref().map(|o| o.nid),
            "affected_folder": c.affected_folder.as_ref().map(|f| &f.path),
        }),
    ))
}

fn log_event(path: &FilePath, log: &SyncLog) -> Option<Value> {
    let datetime = timesketch_datetime(log.time.as_deref()?)?;
    let mut message = format!(
        "Sync log {}: {} reporting errors",
        quoted(log.subject.as_deref()),
        count(log.error_lines, "line", "lines")
    );
    if !log.error_codes.is_empty() {
        message.push_str(&format!(" ({})", log.error_codes.join(", ")));
    }
    if !log.folder_names.is_empty() {
        message.push_str(&format!("; folders {}", log.folder_names.join(", ")));
    }
    Some(event(
        datetime,
        SYNC_LOG,
        message,
        json!({
            "path": path,
            "nid": log.nid,
            "nid_hex": format!("{:#x}", log.nid),
            "folder": log.folder,
            "subject": log.subject,
            "error_lines": log.error_lines,
            "error_codes": log.error_codes,
            "log_folders": log.folder_names,
        }),
    ))
}

/// What one file gave: its events, how many items had no time, and the
/// problems met reading it (each one line, located).
struct FileEvents {
    events: Vec<Value>,
    untimed: u64,
    problems: Vec<String>,
}

/// The events of one file; `Err` with the message when the file cannot be
/// opened.
fn file_events(file: &std::path::Path, all: bool) -> Result<FileEvents, String> {
    let pst = Pst::open(file).map_err(|e| format!("{}: {e}", paths::display(file)))?;
    let mut store = Store::open(&pst);
    // Every item, associated ones too: the Sync Issues analysis needs them
    // all (a log can be an associated message), as it does in `scan`.
    let records: Vec<ItemRecord> =
        visit_items(&mut store, true, &RowPolicy::ROWS_FIRST, |_, view, _| {
            view.into_record()
        })
        .into_walk_order();
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
    let at = |structure: &str, offset: u64, nid: Option<u32>, message: &str| {
        // The NID, unless the message names it already.
        let nid = nid
            .map(|n| format!("{n:#x}"))
            .filter(|n| !message.contains(n.as_str()))
            .map(|n| format!(" (nid {n})"))
            .unwrap_or_default();
        format!("{structure} at offset {offset:#x}{nid}: {message}")
    };
    let mut problems: Vec<String> = store
        .errors()
        .iter()
        .map(|e| at(&e.structure, e.offset, e.nid, &e.message))
        .collect();
    for r in &records {
        problems.extend(
            r.errors
                .iter()
                .map(|e| at(&e.structure, e.offset, Some(r.nid), &e.message)),
        );
    }
    problems.extend(
        sync.errors
            .iter()
            .map(|e| at(&e.structure, e.offset, e.nid, &e.message)),
    );
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

pub fn run(args: &TimelineArgs) -> u8 {
    let mut out = match open_out(args.out.as_deref(), args.files.iter().map(PathBuf::as_path)) {
        Ok(out) => out,
        Err(e) => {
            warn(e);
            return 2;
        }
    };
    let mut events = Vec::new();
    let mut status = 0;
    for (index, file) in args.files.iter().enumerate() {
        match file_events(file, args.all) {
            Ok(these) => {
                if these.untimed > 0 {
                    warn(format_args!(
                        "{}: {} without a last modification time, not listed",
                        paths::display(file),
                        count(these.untimed, "item", "items")
                    ));
                }
                // Read in part: said, and the exit status is 2, as for
                // `scan` (docs/report.md).
                for problem in &these.problems {
                    warn(format_args!("{}: {problem}", paths::display(file)));
                }
                if !these.problems.is_empty() {
                    status = 2;
                }
                events.extend(these.events.into_iter().map(|e| (index, e)));
            }
            Err(e) => {
                warn(e);
                status = 2;
            }
        }
    }
    // By time, then by file and NID: the same bytes on every run.
    events.sort_by(|(fa, a), (fb, b)| {
        let key = |e: &Value| {
            (
                e["datetime"].as_str().map(str::to_string),
                e["nid"].as_u64(),
            )
        };
        key(a).cmp(&key(b)).then(fa.cmp(fb))
    });
    let written = events.iter().try_for_each(|(_, e)| writeln!(out, "{e}"));
    if let Err(e) = written {
        return out.failed(&e);
    }
    if let Err(code) = out.finish() {
        return code;
    }
    if let Some(path) = &args.out {
        warn(format_args!(
            "{}; wrote {}",
            count(events.len() as u64, "event", "events"),
            paths::display(path)
        ));
    }
    status
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
