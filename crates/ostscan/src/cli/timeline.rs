//! `ostscan timeline FILE... [--all] [--out PATH]`: one JSON line per
//! event, in the shape Timesketch imports (JSONL with `message`,
//! `datetime`, `timestamp_desc`; every other field kept as an attribute):
//! each item's last modification, each conflict item, each
//! synchronization log of the Sync Issues folders.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use ostscan::paths;
use ostscan::report::count;
use ostscan::timeline::file_events;

use super::output::{or_warn, warn};
use super::scan::open_out;

const AFTER_HELP: &str = "\
Each line is one event (docs/report.md, \"Timeline\"):
  datetime        ISO 8601 UTC with microseconds, 2026-03-02T08:15:03.123456+00:00
  timestamp_desc  Last Modification Time | Conflict Item Modification Time |
                  Sync Log Time
  message         what happened, in words
  path, nid, nid_hex, folder, subject, ...  attributes
Events are sorted by datetime, then by NID, then by the files' order on
the command line. Items without a
time are not listed (a count goes to standard error). Import with
`timesketch_importer -s SKETCH -t TIMELINE out.jsonl` or the web upload.

Exit codes (the highest that applies wins):
  2  a file could not be opened or was read only in part (each problem goes
     to standard error; the events of what was read are listed, and the
     other files'), the output could not be written, or bad usage
  0  none of the above
A closed output pipe (`| head`) ends ostscan quietly with status 0.";

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

pub fn run(args: &TimelineArgs) -> u8 {
    let Some(mut out) = or_warn(open_out(
        args.out.as_deref(),
        args.files.iter().map(PathBuf::as_path),
    )) else {
        return 2;
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
    // By time, then by NID and file: the same bytes on every run.
    events.sort_by(|(fa, a), (fb, b)| {
        (a.datetime.as_str(), a.nid)
            .cmp(&(b.datetime.as_str(), b.nid))
            .then(fa.cmp(fb))
    });
    let written = events
        .iter()
        .try_for_each(|(_, e)| writeln!(out, "{}", e.to_line()));
    if let Err(code) = out.end(written) {
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
