//! `ostscan scan FILE... [--json | --ndjson] [--out PATH] [--fail-on LEVEL] [--jobs N] [--hash] [--allow-partial]`

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use ostscan::report::style::Palette;
use ostscan::report::{
    count, summary_record, unreadable_reason, write_file_records, write_text_styled,
    write_text_totals, Report,
};
use ostscan::rules::Severity;
use ostscan::scan::{scan_files_ordered, FileScan, ScanOptions, Totals};
use ostscan::status::Status;

use super::output::{self, or_warn, warn, Output};

const EXIT_CODES: &str = "\
Exit codes (the highest that applies wins):
  2  a file could not be read at all, or was read only in part (status
     \"partial\": a table, folder, item or B-tree page could not be read, the
     file is shorter than its header says, or a CRC or signature check
     failed), the output could not be written, --out names an input, or
     bad usage
  1  findings at or above --fail-on
  0  none of the above
With --allow-partial, a file read in part counts by its findings only.
A closed output pipe (`| head`) ends ostscan quietly with status 0.

--out is never an input (refused before anything is written) and is
replaced only when the run has written everything (a temporary file beside
it is renamed over it). Only regular files are read: a directory, FIFO,
socket or device given as FILE is an error for that file, and the rest go
on.

Output is deterministic: the same input gives the same bytes for any --jobs,
except the elapsed_ms fields. Formats are documented in docs/report.md.";

#[derive(Args)]
#[command(after_help = EXIT_CODES)]
#[command(mut_arg("json", |a| a.help(
    "Print one JSON report object (schema_version 2, docs/report.schema.json)"
)))]
#[command(mut_arg("ndjson", |a| a.help(
    "Print typed JSON lines: begin, finding, error, end per file, summary last"
)))]
pub struct ScanArgs {
    /// The .pst / .ost files (opened read-only; regular files only).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub report: ReportArgs,
    /// Threads (0: one per CPU; at most 4 per CPU). Files and the items
    /// inside a file share them.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub jobs: usize,
    #[command(flatten)]
    pub reading: ReadingArgs,
}

/// The output forms of the commands that write reports; each command
/// says in their help which schema its JSON follows.
#[derive(Args)]
pub struct FormArgs {
    /// Print one JSON object.
    #[arg(long, conflicts_with = "ndjson")]
    pub json: bool,
    /// Print typed JSON lines.
    #[arg(long)]
    pub ndjson: bool,
}

/// The output options of `scan`, `diff` and `reconcile`.
#[derive(Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub form: FormArgs,
    /// Write the output to this file instead of standard output (never an
    /// input; replaced only once the run has succeeded).
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub fail_on: FailOnArgs,
}

impl ReportArgs {
    /// Write a whole `report` to `out` in the form asked for (one JSON
    /// object, NDJSON by `ndjson`, or text by `text`: coloured only on a
    /// terminal, never into `--out`), then end `out`. The error is the exit
    /// status to use: the write or the ending failed.
    pub fn write_report<R: serde::Serialize>(
        &self,
        mut out: Output,
        report: &R,
        ndjson: fn(&mut dyn Write, &R) -> io::Result<()>,
        text: fn(&mut dyn Write, &R, &Palette) -> io::Result<()>,
    ) -> Result<(), u8> {
        let written = if self.form.json {
            output::write_json(&mut out, report)
        } else if self.form.ndjson {
            ndjson(&mut out, report)
        } else {
            text(&mut out, report, &output::palette(self.out.as_deref()))
        };
        out.end(written)
    }
}

/// The exit threshold of the commands that report findings.
#[derive(Args)]
pub struct FailOnArgs {
    /// Exit 1 when a finding has this severity or a higher one.
    #[arg(id = "fail_on", long = "fail-on", value_name = "LEVEL", default_value = "warning", value_parser = parse_severity)]
    pub level: Severity,
}

/// How each file is read and judged: the options `scan` and `batch` share.
#[derive(Args)]
pub struct ReadingArgs {
    /// Also compute each file's SHA-256 (one more pass over every byte).
    #[arg(long)]
    pub hash: bool,
    /// Also read every item whose contents-table row carries its change key
    /// and PCL (real OSTs), and report where row and item disagree
    /// (ROW001). Slower: without it such items are read from their rows.
    #[arg(long)]
    pub verify_rows: bool,
    /// Include each Sync Issues log's text (its first 8,000 bytes) in JSON
    /// output; without it a log is reported by its first lines, red lines,
    /// codes and folders.
    #[arg(long)]
    pub log_text: bool,
    /// A file read only in part does not make the exit status 2: exit by
    /// findings alone (an unreadable file still gives 2).
    #[arg(long)]
    pub allow_partial: bool,
}

impl ReadingArgs {
    /// The scan's options.
    pub fn options(&self) -> ScanOptions {
        ScanOptions {
            hash: self.hash,
            verify_rows: self.verify_rows,
            log_text: self.log_text,
        }
    }
}

/// clap value parser for `info|warning|critical`.
pub fn parse_severity(text: &str) -> Result<Severity, String> {
    Severity::parse(text).ok_or_else(|| format!("{text:?} is not one of info, warning, critical"))
}

/// `--jobs` above this many threads per CPU is capped: more threads than
/// that only add memory and contention, and a typo (`--jobs 1000000`)
/// must not start a million threads.
pub const MAX_JOBS_PER_CPU: usize = 4;

/// The number of threads for `--jobs requested`: 0 stays 0 (rayon's
/// default, one per CPU, or RAYON_NUM_THREADS); more than
/// [`MAX_JOBS_PER_CPU`] per CPU is capped, with a note on standard error.
pub fn jobs(requested: usize) -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cap = MAX_JOBS_PER_CPU * cpus;
    if requested > cap {
        warn(format_args!(
            "--jobs {requested} capped at {cap} ({MAX_JOBS_PER_CPU} per CPU, {cpus} CPUs)"
        ));
        cap
    } else {
        requested
    }
}

/// The rayon pool for `--jobs`.
pub fn thread_pool(requested: usize) -> Result<rayon::ThreadPool, String> {
    let jobs = jobs(requested);
    rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .thread_name(|i| format!("ostscan-{i}"))
        .build()
        .map_err(|e| format!("cannot start {jobs} threads: {e}"))
}

/// A progress bar on standard error, or `None` when standard error is not
/// a terminal (progress must never mix into logs or pipes).
pub fn progress_bar(total_bytes: u64, files: usize) -> Option<ProgressBar> {
    if !io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(total_bytes);
    let style = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, ETA {eta}) {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message(format!("0/{files} files"));
    bar.enable_steady_tick(Duration::from_millis(200));
    Some(bar)
}

/// File size, 0 when unknown (the scan reports the real problem).
pub fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// One line on standard error for a file that could not be read, or was
/// read only in part.
pub fn report_problem(scan: &FileScan) {
    match scan {
        FileScan::Unreadable(u) => warn(format_args!(
            "{}: {}",
            u.file.path,
            unreadable_reason(&u.error)
        )),
        FileScan::Scanned(r) if scan.status() == Status::Partial => {
            let c = ostscan::status::coverage(r);
            warn(format_args!(
                "{}: read in part: {}; results cover {} of {} found",
                r.file.path,
                count(c.errors, "error", "errors"),
                c.messages_read,
                count(c.messages, "message", "messages")
            ))
        }
        FileScan::Scanned(_) => {}
    }
}

/// The line on standard error once `--out PATH` is written: what the run
/// found, since nothing else is shown ("49 files, 20 findings, 1 partial;
/// wrote out.ndjson").
pub fn report_written(totals: &Totals, path: &Path) {
    let mut line = format!(
        "{}, {}",
        count(totals.files, "file", "files"),
        count(totals.findings, "finding", "findings")
    );
    for (n, what) in [
        (totals.files_partial, "partial"),
        (totals.files_unreadable, "unreadable"),
        (totals.files_skipped, "skipped as already done"),
    ] {
        if n > 0 {
            line.push_str(&format!(", {n} {what}"));
        }
    }
    warn(format_args!(
        "{line}; wrote {}",
        ostscan::paths::display(path)
    ));
}

/// 2 if a file could not be read, or was read in part and not
/// `allow_partial`; else 1 if a finding is at or above `threshold`; else 0.
pub fn exit_code(totals: &Totals, threshold: Severity, allow_partial: bool) -> u8 {
    ostscan::status::exit_code(
        totals.status(),
        allow_partial,
        &totals.findings_by_severity,
        threshold,
    )
}

/// Runs worth a progress bar: many files, or much data.
const PROGRESS_MIN_FILES: usize = 8;
const PROGRESS_MIN_BYTES: u64 = 256 << 20;

enum Format {
    Text,
    Json,
    Ndjson,
}

/// `--out` checked against the inputs and created (as a temporary file),
/// or standard output.
pub fn open_out<'a>(
    out: Option<&Path>,
    inputs: impl IntoIterator<Item = &'a Path>,
) -> Result<Output, String> {
    match out {
        None => Ok(Output::stdout()),
        Some(path) => {
            output::refuse_inputs(path, inputs)?;
            Output::create(path)
        }
    }
}

pub fn run(args: &ScanArgs) -> u8 {
    let started = Instant::now();
    let Some(pool) = or_warn(thread_pool(args.jobs)) else {
        return 2;
    };
    let Some(mut out) = or_warn(open_out(
        args.report.out.as_deref(),
        args.files.iter().map(PathBuf::as_path),
    )) else {
        return 2;
    };
    let format = if args.report.form.json {
        Format::Json
    } else if args.report.form.ndjson {
        Format::Ndjson
    } else {
        Format::Text
    };
    let total_bytes: u64 = args.files.iter().map(|p| file_size(p)).sum();
    let progress = if args.files.len() >= PROGRESS_MIN_FILES || total_bytes >= PROGRESS_MIN_BYTES {
        progress_bar(total_bytes, args.files.len())
    } else {
        None
    };
    let options = args.reading.options();
    let palette = output::palette(args.report.out.as_deref());
    let mut totals = Totals::new();
    let mut scans = Vec::new();
    scan_files_ordered(&pool, &args.files, &options, |index, scan| {
        report_problem(&scan);
        totals.add(&scan);
        if let Some(bar) = &progress {
            bar.inc(file_size(&args.files[index]));
            bar.set_message(format!("{}/{} files", index + 1, args.files.len()));
        }
        let written = match format {
            Format::Json => {
                scans.push(scan);
                return None;
            }
            Format::Ndjson => write_file_records(&mut out, &scan).and_then(|()| out.flush()),
            Format::Text => write_text_styled(&mut out, &scan, &palette).and_then(|()| out.flush()),
        };
        if let Err(e) = written {
            // Nothing more could be written: stop now, not after the
            // remaining files (the temporary file goes; --out is as it was).
            out.fail_now(&e);
        }
        Some(scan)
    });
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    totals.elapsed_ms = started.elapsed().as_millis() as u64;
    let written = match format {
        Format::Json => {
            let report = Report::new(&scans, &totals);
            output::write_json(&mut out, &report)
        }
        Format::Ndjson => out.write_all(&summary_record(&totals)),
        Format::Text if args.files.len() > 1 => write_text_totals(&mut out, &totals),
        Format::Text => Ok(()),
    };
    // A failed write removes the temporary file: --out is untouched.
    if let Err(code) = out.end(written) {
        return code;
    }
    if let Some(path) = &args.report.out {
        report_written(&totals, path);
    }
    exit_code(
        &totals,
        args.report.fail_on.level,
        args.reading.allow_partial,
    )
}
