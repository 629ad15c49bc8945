//! `ostscan batch [DIR... | --manifest FILE|-] [--shard K/N] [--resume] [--out FILE.ndjson] [--jobs N]`

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use ostscan::batch::{completed, discover, read_manifest, Shard};
use ostscan::report::{file_records, summary_record, Record};
use ostscan::rules::Severity;
use ostscan::scan::{scan_files_ordered, ErrorReport, ErrorSource, ScanOptions, Totals};

use super::scan::{
    exit_code, file_size, open_output, parse_severity, progress_bar, report_unreadable, thread_pool,
};

const AFTER_HELP: &str = "\
Output: NDJSON, the records of `scan --ndjson` (begin, finding, error, end per
file; summary last), written and flushed one whole file at a time, in sorted
path order whatever --jobs is. A file that cannot be read is an `error`
record (source \"open\") between its begin and end; the batch goes on.

Sharding: the sorted list of files is split by index modulo N; shard K
(1-based) takes indices K-1, K-1+N, ... so N machines given the same input
cover every file exactly once.

Resume: with --resume, files that already have an `end` record in --out are
skipped and new records are appended; a file cut short by a crash has no
`end` and is scanned again.

Exit codes:
  0  no finding at or above --fail-on
  1  findings at or above --fail-on (default warning)
  2  a file or directory could not be read (wins over 1), the output could
     not be written, or bad usage
With --resume, files done by the earlier run count too (from their end records).";

#[derive(Args)]
#[command(after_help = AFTER_HELP)]
pub struct BatchArgs {
    /// Directories searched recursively for *.ost and *.pst (any case); a
    /// file given here is taken whatever its name.
    #[arg(conflicts_with = "manifest", required_unless_present = "manifest")]
    pub dirs: Vec<PathBuf>,
    /// Read the paths from this file, one per line (`-`: standard input;
    /// blank lines and lines starting with # are skipped).
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// Take only shard K of N (1-based), e.g. 2/3.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// Skip files that already have an `end` record in --out, and append.
    #[arg(long, requires = "out")]
    pub resume: bool,
    /// Write the NDJSON here instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Threads (0: one per CPU): one file per task, items inside a file share them.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub jobs: usize,
    /// Exit 1 when a finding has this severity or a higher one.
    #[arg(long, value_name = "LEVEL", default_value = "warning", value_parser = parse_severity)]
    pub fail_on: Severity,
    /// Also compute each file's SHA-256.
    #[arg(long)]
    pub hash: bool,
    /// Also read every item whose contents-table row carries its change key
    /// and PCL, and compare the two (ROW001); see `scan --help`.
    #[arg(long)]
    pub verify_rows: bool,
}

fn manifest_paths(source: &Path) -> Result<Vec<PathBuf>, String> {
    let result = if source == Path::new("-") {
        read_manifest(io::stdin().lock())
    } else {
        File::open(source).and_then(|f| read_manifest(BufReader::new(f)))
    };
    result.map_err(|e| format!("manifest {}: {e}", source.display()))
}

/// Whether the existing output ends in the middle of a line (a crash while
/// writing), so that appended records start on a line of their own.
fn ends_mid_line(path: &Path) -> bool {
    let Ok(mut file) = File::open(path) else {
        return false;
    };
    let mut last = [0u8; 1];
    file.seek(SeekFrom::End(-1)).is_ok() && file.read_exact(&mut last).is_ok() && last[0] != b'\n'
}

fn error_record(path: &str, structure: &str, message: &str) -> Vec<u8> {
    let error = ErrorReport {
        source: ErrorSource::Open,
        structure: structure.to_string(),
        offset: 0,
        nid: None,
        message: message.to_string(),
    };
    let mut line = serde_json::to_vec(&Record::Error {
        path,
        error: &error,
    })
    .unwrap_or_default();
    line.push(b'\n');
    line
}

/// Write `bytes` and flush, unless an earlier write failed (then the run
/// finishes without output and reports that one error).
fn emit(out: &mut dyn Write, bytes: &[u8], write_error: &mut Option<io::Error>) {
    if write_error.is_none() {
        if let Err(e) = out.write_all(bytes).and_then(|()| out.flush()) {
            *write_error = Some(e);
        }
    }
}

pub fn run(args: &BatchArgs) -> u8 {
    let started = Instant::now();
    let pool = match thread_pool(args.jobs) {
        Ok(pool) => pool,
        Err(e) => {
            eprintln!("ostscan: {e}");
            return 2;
        }
    };
    let (paths, discovery_errors) = match &args.manifest {
        Some(source) => match manifest_paths(source) {
            Ok(paths) => (paths, Vec::new()),
            Err(e) => {
                eprintln!("ostscan: {e}");
                return 2;
            }
        },
        None => discover(&args.dirs),
    };
    let paths = match args.shard {
        Some(shard) => shard.select(paths),
        None => paths,
    };

    let mut totals = Totals::new();
    let mut code = 0u8;
    let mut todo = paths;
    if args.resume {
        if let Some(out) = &args.out {
            let done = match File::open(out) {
                Ok(f) => completed(BufReader::new(f)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Default::default()),
                Err(e) => Err(e),
            };
            let done = match done {
                Ok(done) => done,
                Err(e) => {
                    eprintln!("ostscan: {}: {e}", out.display());
                    return 2;
                }
            };
            todo.retain(|path| match done.get(&path.display().to_string()) {
                Some(earlier) => {
                    totals.files_skipped += 1;
                    code = code.max(earlier.exit_code(args.fail_on));
                    false
                }
                None => true,
            });
        }
    }

    let torn = args.resume && args.out.as_deref().is_some_and(ends_mid_line);
    let mut out = match open_output(args.out.as_deref(), args.resume) {
        Ok(out) => out,
        Err(e) => {
            eprintln!("ostscan: {e}");
            return 2;
        }
    };
    let mut write_error: Option<io::Error> = None;
    if torn {
        emit(&mut out, b"\n", &mut write_error);
    }
    for e in &discovery_errors {
        eprintln!("ostscan: {e}");
        let path = e.path.display().to_string();
        emit(
            &mut out,
            &error_record(&path, "directory", &e.message),
            &mut write_error,
        );
        totals.errors += 1;
        code = 2;
    }

    let total_bytes: u64 = todo.iter().map(|p| file_size(p)).sum();
    let progress = progress_bar(total_bytes, todo.len());
    let options = ScanOptions {
        hash: args.hash,
        verify_rows: args.verify_rows,
    };
    scan_files_ordered(&pool, &todo, &options, |index, scan| {
        report_unreadable(&scan);
        totals.add(&scan);
        emit(&mut out, &file_records(&scan), &mut write_error);
        if let Some(bar) = &progress {
            bar.inc(file_size(&todo[index]));
            bar.set_message(format!("{}/{} files", index + 1, todo.len()));
        }
        Some(scan)
    });
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    totals.elapsed_ms = started.elapsed().as_millis() as u64;
    emit(&mut out, &summary_record(&totals), &mut write_error);
    if let Some(code) = write_error
        .as_ref()
        .and_then(|e| super::output_error(args.out.as_deref(), e))
    {
        return code;
    }
    code.max(exit_code(&totals, args.fail_on))
}
