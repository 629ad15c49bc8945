//! `ostscan scan FILE... [--json | --ndjson] [--out PATH] [--fail-on LEVEL] [--jobs N] [--hash]`

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use ostscan::report::{summary_record, write_file_records, write_text, write_text_totals, Report};
use ostscan::rules::Severity;
use ostscan::scan::{scan_files_ordered, FileScan, ScanOptions, Totals};

const EXIT_CODES: &str = "\
Exit codes:
  0  no finding at or above --fail-on
  1  findings at or above --fail-on
  2  a file could not be read at all (wins over 1), the output could not be
     written, or bad usage

Output is deterministic: the same input gives the same bytes for any --jobs,
except the elapsed_ms fields. Formats are documented in docs/report.md.";

#[derive(Args)]
#[command(after_help = EXIT_CODES)]
pub struct ScanArgs {
    /// The .pst / .ost files (opened read-only).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Print one JSON report object (schema_version 1, docs/report.schema.json).
    #[arg(long, conflicts_with = "ndjson")]
    pub json: bool,
    /// Print typed JSON lines: begin, finding, error, end per file, summary last.
    #[arg(long)]
    pub ndjson: bool,
    /// Write the output to this file instead of standard output.
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Exit 1 when a finding has this severity or a higher one.
    #[arg(long, value_name = "LEVEL", default_value = "warning", value_parser = parse_severity)]
    pub fail_on: Severity,
    /// Threads (0: one per CPU). Files and the items inside a file share them.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub jobs: usize,
    /// Also compute each file's SHA-256 (one more pass over every byte).
    #[arg(long)]
    pub hash: bool,
    /// Also read every item whose contents-table row carries its change key
    /// and PCL (real OSTs), and report where row and item disagree
    /// (ROW001). Slower: without it such items are read from their rows.
    #[arg(long)]
    pub verify_rows: bool,
}

/// clap value parser for `info|warning|critical`.
pub fn parse_severity(text: &str) -> Result<Severity, String> {
    Severity::parse(text).ok_or_else(|| format!("{text:?} is not one of info, warning, critical"))
}

/// The rayon pool for `--jobs`.
pub fn thread_pool(jobs: usize) -> Result<rayon::ThreadPool, String> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .thread_name(|i| format!("ostscan-{i}"))
        .build()
        .map_err(|e| format!("cannot start {jobs} threads: {e}"))
}

/// Standard output, or `--out` (created or truncated; `append` for `batch --resume`).
pub fn open_output(out: Option<&Path>, append: bool) -> Result<Box<dyn Write>, String> {
    match out {
        None => Ok(Box::new(BufWriter::new(io::stdout()))),
        Some(path) => {
            let file = if append {
                File::options().create(true).append(true).open(path)
            } else {
                File::create(path)
            };
            file.map(|f| Box::new(BufWriter::new(f)) as Box<dyn Write>)
                .map_err(|e| format!("{}: {e}", path.display()))
        }
    }
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

/// One line on standard error for a file that could not be read.
pub fn report_unreadable(scan: &FileScan) {
    if let FileScan::Unreadable(u) = scan {
        eprintln!(
            "ostscan: {}: {} at offset {:#x}: {}",
            u.file.path, u.error.structure, u.error.offset, u.error.message
        );
    }
}

/// 2 if a file could not be read, else 1 if a finding is at or above
/// `threshold`, else 0.
pub fn exit_code(totals: &Totals, threshold: Severity) -> u8 {
    if totals.files_unreadable > 0 {
        2
    } else if totals.findings_by_severity.at_or_above(threshold) > 0 {
        1
    } else {
        0
    }
}

/// Runs worth a progress bar: many files, or much data.
const PROGRESS_MIN_FILES: usize = 8;
const PROGRESS_MIN_BYTES: u64 = 256 << 20;

enum Format {
    Text,
    Json,
    Ndjson,
}

pub fn run(args: &ScanArgs) -> u8 {
    let started = Instant::now();
    let pool = match thread_pool(args.jobs) {
        Ok(pool) => pool,
        Err(e) => {
            eprintln!("ostscan: {e}");
            return 2;
        }
    };
    let mut out = match open_output(args.out.as_deref(), false) {
        Ok(out) => out,
        Err(e) => {
            eprintln!("ostscan: {e}");
            return 2;
        }
    };
    let format = if args.json {
        Format::Json
    } else if args.ndjson {
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
    let options = ScanOptions {
        hash: args.hash,
        verify_rows: args.verify_rows,
    };
    let mut totals = Totals::new();
    let mut scans = Vec::new();
    let mut write_error: Option<io::Error> = None;
    scan_files_ordered(&pool, &args.files, &options, |index, scan| {
        report_unreadable(&scan);
        totals.add(&scan);
        if let Some(bar) = &progress {
            bar.inc(file_size(&args.files[index]));
            bar.set_message(format!("{}/{} files", index + 1, args.files.len()));
        }
        if write_error.is_some() {
            return Some(scan);
        }
        let written = match format {
            Format::Json => {
                scans.push(scan);
                return None;
            }
            Format::Ndjson => write_file_records(&mut out, &scan).and_then(|()| out.flush()),
            Format::Text => write_text(&mut out, &scan).and_then(|()| out.flush()),
        };
        if let Err(e) = written {
            write_error = Some(e);
        }
        Some(scan)
    });
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    totals.elapsed_ms = started.elapsed().as_millis() as u64;
    if write_error.is_none() {
        let written = match format {
            Format::Json => {
                let report = Report::new(&scans, &totals);
                serde_json::to_writer_pretty(&mut out, &report)
                    .map_err(io::Error::from)
                    .and_then(|()| writeln!(out))
            }
            Format::Ndjson => out.write_all(&summary_record(&totals)),
            Format::Text if args.files.len() > 1 => write_text_totals(&mut out, &totals),
            Format::Text => Ok(()),
        };
        write_error = written.and_then(|()| out.flush()).err();
    }
    if let Some(code) = write_error
        .as_ref()
        .and_then(|e| super::output_error(args.out.as_deref(), e))
    {
        return code;
    }
    exit_code(&totals, args.fail_on)
}
