//! `ostscan diff OLD NEW [--json | --ndjson] [--out PATH] [--fail-on LEVEL]`

use std::io::{self, Write};
use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use ostscan::diff::{
    diff_files, DiffError, DiffFinding, DiffReport, DiffSummary, DiffWarning, FileSide, ListedItem,
    MovedItem, Side, Tool, SCHEMA_VERSION,
};
use ostscan::paths::FilePath;
use ostscan::report::style::{Painted, Palette};
use ostscan::report::{count, more_listed, write_capped, JsonLines, TEXT_LIMIT};
use ostscan::status::Status;

use super::output::{or_warn, warn, warn_first};
use super::scan::{open_out, ReportArgs};

const AFTER_HELP: &str = "\
Items are matched by PR_SOURCE_KEY, else PR_SEARCH_KEY, else (two copies of
one store) by entry id. Rules: DIFF001 the version went backwards
(critical), DIFF002 the versions conflict (warning), DIFF003 the content
changed under an unchanged change key (warning). See docs/diff.md.

Exit codes (the highest that applies wins):
  2  a file could not be read at all, or only in part (errors listed; not
     with --allow-partial), the output could not be written, --out names
     OLD or NEW, or bad usage
  1  findings at or above --fail-on
  0  none of the above
A closed output pipe (`| head`) ends ostscan quietly with status 0.";

#[derive(Args)]
#[command(after_help = AFTER_HELP)]
#[command(mut_arg("json", |a| a.help(
    "Print one JSON object (schema_version 2, docs/diff.schema.json)"
)))]
#[command(mut_arg("ndjson", |a| a.help(
    "Print typed JSON lines: begin, warning, finding, added, removed, moved, error, end, summary"
)))]
#[command(mut_arg("out", |a| a.help(
    "Write the output to this file instead of standard output (never OLD or NEW; replaced only \
     once the run has succeeded)"
)))]
pub struct DiffArgs {
    /// The earlier copy (.ost or .pst), opened read-only.
    pub old: PathBuf,
    /// The later copy (.ost or .pst), opened read-only.
    pub new: PathBuf,
    #[command(flatten)]
    pub report: ReportArgs,
    /// Errors while reading either file do not make the exit status 2:
    /// exit by findings alone.
    #[arg(long)]
    pub allow_partial: bool,
}

/// One NDJSON line.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Record<'a> {
    Begin {
        schema_version: u32,
        tool: Tool,
        old: &'a FileSide,
        new: &'a FileSide,
    },
    Warning(&'a DiffWarning),
    Finding(&'a DiffFinding),
    Added(&'a ListedItem),
    Removed(&'a ListedItem),
    Moved(&'a MovedItem),
    Error(&'a DiffError),
    /// Written once everything else is: its presence says the diff is complete.
    End {
        old: &'a FilePath,
        new: &'a FilePath,
        findings: u64,
    },
    Summary(&'a DiffSummary),
}

fn write_ndjson(out: &mut dyn Write, r: &DiffReport) -> io::Result<()> {
    let mut w = JsonLines::new(out);
    w.line(&Record::Begin {
        schema_version: SCHEMA_VERSION,
        tool: Tool::this(),
        old: &r.old,
        new: &r.new,
    })?;
    w.lines(&r.warnings, Record::Warning)?;
    w.lines(&r.findings, Record::Finding)?;
    w.lines(&r.added, Record::Added)?;
    w.lines(&r.removed, Record::Removed)?;
    w.lines(&r.moved, Record::Moved)?;
    w.lines(&r.errors, Record::Error)?;
    w.line(&Record::End {
        old: &r.old.path,
        new: &r.new.path,
        findings: r.summary.findings,
    })?;
    w.line(&Record::Summary(&r.summary))
}

fn write_text(out: &mut dyn Write, r: &DiffReport, palette: &Palette) -> io::Result<()> {
    let s = &r.summary;
    let items = |n| count(n, "item", "items");
    writeln!(out, "OLD {} ({})", r.old.path, items(s.old_items))?;
    writeln!(out, "NEW {} ({})", r.new.path, items(s.new_items))?;
    writeln!(
        out,
        "matched {} (source key {}, search key {}, entry id {}), {} with a new version (change key or PCL); added {}, removed {}, moved {}",
        s.matched,
        s.matched_by.source_key,
        s.matched_by.search_key,
        s.matched_by.entry_id,
        s.changed,
        s.added,
        s.removed,
        s.moved
    )?;
    let sev = &s.findings_by_severity;
    writeln!(out, "findings {} ({sev})", s.findings)?;
    for w in &r.warnings {
        writeln!(out, "warning: {}", w.message)?;
    }
    if !r.errors.is_empty() {
        writeln!(
            out,
            "errors {}: the results cover what could be read",
            r.errors.len()
        )?;
    }
    if !r.findings.is_empty() {
        writeln!(out)?;
    }
    let finding = |out: &mut dyn Write, f: &DiffFinding| {
        let p = &f.pair;
        let folder = if p.old_folder == p.new_folder {
            p.new_folder.clone()
        } else {
            format!("{} -> {}", p.old_folder, p.new_folder)
        };
        writeln!(
            out,
            "{} {:8} {} {:?} (nid {:#x} -> {:#x}, {} {})",
            f.rule,
            Painted(palette.severity(f.severity), f.severity.as_str()),
            folder,
            p.subject.as_deref().unwrap_or(""),
            p.old_nid,
            p.new_nid,
            p.match_kind.name(),
            p.source_key
                .as_deref()
                .or(p.search_key.as_deref())
                .unwrap_or("-"),
        )?;
        writeln!(out, "    {}", f.detail)
    };
    write_capped(out, &r.findings, TEXT_LIMIT, finding, |n| {
        format!("... {n} more findings (--json lists all)")
    })?;
    let sections: [(&str, Vec<String>); 3] = [
        (
            "moved",
            r.moved
                .iter()
                .map(|m| {
                    format!(
                        "{} -> {} {:?}",
                        m.old_folder,
                        m.new_folder,
                        m.subject.as_deref().unwrap_or("")
                    )
                })
                .collect(),
        ),
        ("added", r.added.iter().map(listed_line).collect()),
        ("removed", r.removed.iter().map(listed_line).collect()),
    ];
    for (name, lines) in sections {
        if lines.is_empty() {
            continue;
        }
        writeln!(out, "\n{name} ({}):", lines.len())?;
        write_capped(
            out,
            &lines,
            TEXT_LIMIT,
            |out, l| writeln!(out, "  {l}"),
            more_listed,
        )?;
    }
    if !r.errors.is_empty() {
        writeln!(out, "\nerrors ({}):", r.errors.len())?;
        write_capped(
            out,
            &r.errors,
            TEXT_LIMIT,
            |out, e| writeln!(out, "  {}", error_line(r, e)),
            more_listed,
        )?;
    }
    Ok(())
}

/// One error, with the file it is in: the text form's and stderr's line.
/// When OLD and NEW are the same path, the side is said too: each side
/// reports its own problems, and the two lines would otherwise be alike.
fn error_line(r: &DiffReport, e: &DiffError) -> String {
    let (path, side) = match e.side {
        Side::Old => (&r.old.path, "OLD"),
        Side::New => (&r.new.path, "NEW"),
    };
    if r.old.path == r.new.path {
        format!("{path} ({side}): {}", e.problem)
    } else {
        format!("{path}: {}", e.problem)
    }
}

pub fn run(args: &DiffArgs) -> u8 {
    let inputs = [args.old.as_path(), args.new.as_path()];
    let Some(out) = or_warn(open_out(args.report.out.as_deref(), inputs)) else {
        return 2;
    };
    let report = match diff_files(&args.old, &args.new) {
        Ok(r) => r,
        Err(failures) => {
            for f in failures {
                // NdbError's text names the structure and the offset.
                warn(format_args!("{}: {}", f.path, f.error));
            }
            return 2;
        }
    };
    if let Err(code) = args
        .report
        .write_report(out, &report, write_ndjson, write_text)
    {
        return code;
    }
    // The first errors name the files; all of them are in --json.
    warn_first(
        report.errors.iter().map(|e| error_line(&report, e)),
        TEXT_LIMIT,
        report.errors.len() as u64,
        |more| format!("... {more} more errors (--json lists all)"),
    );
    let status = if report.errors.is_empty() {
        Status::Ok
    } else {
        Status::Partial
    };
    ostscan::status::exit_code(
        status,
        args.allow_partial,
        &report.summary.findings_by_severity,
        args.report.fail_on.level,
    )
}

/// One line of the text form's added / removed lists.
fn listed_line(a: &ListedItem) -> String {
    format!(
        "{} {:?} (nid {:#x})",
        a.folder,
        a.subject.as_deref().unwrap_or(""),
        a.nid
    )
}
