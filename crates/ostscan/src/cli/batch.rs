//! `ostscan batch [DIR... | --manifest FILE|- [-0]] [--shard K/N] [--resume] [--out FILE.ndjson] [--jobs N]`

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use ost_props::{Problem, ProblemKind};
use ostscan::batch::resume::{read_earlier, Earlier};
use ostscan::batch::{discover, read_manifest, DiscoveryError, Separator, Shard};
use ostscan::paths::{self, FilePath};
use ostscan::report::{file_records, summary_record};
use ostscan::scan::{scan_files_ordered, ErrorReport, ErrorSource, Totals};

use super::output::{self, or_warn, warn, Output};
use super::scan::{
    exit_code, file_size, progress_bar, report_problem, report_written, thread_pool, FailOnArgs,
    ReadingArgs,
};

const AFTER_HELP: &str = "\
Output: NDJSON, the records of `scan --ndjson` (begin, finding, error, end per
file; summary last), written and flushed one whole file at a time, in sorted
path order whatever --jobs is. A file that cannot be read is an `error`
record (source \"open\") between its begin and end; the batch goes on. Only
regular files are read: a FIFO, socket or device with a store's name is an
`error` record and is never opened.

Sharding: the sorted list of files is split by index modulo N; shard K
(1-based) takes indices K-1, K-1+N, ... so N machines given the same input
cover every file exactly once.

--out: never an input (refused before anything is written). Without
--resume it is written to a temporary file beside it and renamed when the
batch is done: an interrupted run leaves the old --out as it was.

Resume: with --resume (give it from the first run on), records go straight
into --out as each file is done. A later --resume keeps the files that have
their `end` record, drops everything else (a torn last line, the records of
a file cut short, the earlier summary), scans the files not done, and ends
with one summary over the whole output. Paths are matched by their exact
bytes. The output is valid NDJSON after any interruption.

Exit codes (the highest that applies wins):
  2  a file or directory could not be read, or a file was read only in part
     (not with --allow-partial), the output could not be written, --out
     names an input, or bad usage
  1  findings at or above --fail-on (default warning)
  0  none of the above
With --resume, the files done by earlier runs count too.
A closed output pipe (`| head`) ends ostscan quietly with status 0.";

#[derive(Args)]
#[command(after_help = AFTER_HELP)]
pub struct BatchArgs {
    /// Directories searched recursively for *.ost and *.pst (any case); a
    /// file given here is taken whatever its name.
    #[arg(conflicts_with = "manifest", required_unless_present = "manifest")]
    pub dirs: Vec<PathBuf>,
    /// Read the paths from this file, one per line (`-`: standard input;
    /// blank lines and lines starting with # are skipped). Any bytes but
    /// newline (or NUL with -0) may be in a path.
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// The manifest's paths are NUL-separated (`find -print0`), taken
    /// exactly: no comments, no blank-line or CR handling.
    #[arg(short = '0', long = "null", requires = "manifest")]
    pub null: bool,
    /// Take only shard K of N (1-based), e.g. 2/3.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// Keep the complete files already in --out, scan the rest, append.
    #[arg(long, requires = "out")]
    pub resume: bool,
    /// Write the NDJSON here instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Threads (0: one per CPU; at most 4 per CPU): one file per task,
    /// items inside a file share them.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub jobs: usize,
    #[command(flatten)]
    pub fail_on: FailOnArgs,
    #[command(flatten)]
    pub reading: ReadingArgs,
}

fn manifest_paths(source: &Path, separator: Separator) -> Result<Vec<PathBuf>, String> {
    let result = if source == Path::new("-") {
        read_manifest(io::stdin().lock(), separator)
    } else {
        File::open(source).and_then(|f| read_manifest(BufReader::new(f), separator))
    };
    result.map_err(|e| {
        format!(
            "manifest {}: {}",
            paths::display(source),
            ost_ndb::io_words(&e)
        )
    })
}

fn error_record(e: &DiscoveryError) -> Vec<u8> {
    let error = ErrorReport::new(
        ErrorSource::Open,
        Problem::new(e.structure, 0, ProblemKind::Text(e.message.clone())),
    );
    ostscan::report::error_record(&FilePath::new(&e.path), &error)
}

/// Write `bytes` and flush; on a write error, report it and end the run
/// at once (exit 2): nothing more could be written.
fn emit(out: &mut Output, bytes: &[u8]) {
    if let Err(e) = out.write_all(bytes).and_then(|()| out.flush()) {
        out.fail_now(&e);
    }
}

/// `--out` for `--resume`: opened (created if need be), cut back to its
/// complete files (see `ostscan::batch::resume`), and opened for append.
fn open_resumed(path: &Path) -> Result<(Output, Earlier), String> {
    let name = paths::display(path);
    let fail = |e: io::Error| format!("{name}: {}", ost_ndb::io_words(&e));
    if let Ok(meta) = std::fs::metadata(path) {
        if !meta.is_file() {
            return Err(format!(
                "{name}: --resume needs a regular file for --out, not a {}",
                ost_ndb::file_kind_name(meta.file_type())
            ));
        }
    }
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(fail)?;
    let earlier = read_earlier(BufReader::new(&file)).map_err(fail)?;
    match earlier.prefix_len() {
        Some(len) => {
            if len < earlier.len {
                file.set_len(len).map_err(fail)?;
                file.sync_all().map_err(fail)?;
            }
        }
        None => {
            // Records to drop in the middle: the kept ones are copied to a
            // temporary file that replaces the output in one rename.
            let mut copy = Output::create(path)?;
            for range in &earlier.keep {
                file.seek(SeekFrom::Start(range.start)).map_err(fail)?;
                let mut part = (&file).take(range.end - range.start);
                if let Err(e) = io::copy(&mut part, &mut copy) {
                    return Err(fail(e));
                }
            }
            if copy.finish().is_err() {
                return Err(format!("{name}: could not rewrite it"));
            }
        }
    }
    let file = OpenOptions::new().append(true).open(path).map_err(fail)?;
    Ok((Output::append(file, path), earlier))
}

pub fn run(args: &BatchArgs) -> u8 {
    let started = Instant::now();
    let Some(pool) = or_warn(thread_pool(args.jobs)) else {
        return 2;
    };
    let separator = if args.null {
        Separator::Nul
    } else {
        Separator::Line
    };
    let (paths, discovery_errors) = match &args.manifest {
        Some(source) => match manifest_paths(source, separator) {
            Ok(paths) => (paths, Vec::new()),
            Err(e) => {
                warn(e);
                return 2;
            }
        },
        None => discover(&args.dirs),
    };
    let paths = match args.shard {
        Some(shard) => shard.select(paths),
        None => paths,
    };

    // Inputs are never outputs: the files, and the manifest.
    if let Some(out) = &args.out {
        let manifest = args.manifest.as_deref().filter(|m| *m != Path::new("-"));
        let inputs = paths.iter().map(PathBuf::as_path).chain(manifest);
        if or_warn(output::refuse_inputs(out, inputs)).is_none() {
            return 2;
        }
    }

    let mut totals = Totals::new();
    let mut todo = paths;
    let opened = match (&args.out, args.resume) {
        (Some(path), true) => open_resumed(path).map(|(out, earlier)| {
            earlier.add_to(&mut totals);
            todo.retain(|p| !earlier.done.contains_key(p.as_os_str().as_encoded_bytes()));
            out
        }),
        (Some(path), false) => Output::create(path),
        (None, _) => Ok(Output::stdout()),
    };
    let Some(mut out) = or_warn(opened) else {
        return 2;
    };

    for e in &discovery_errors {
        warn(e);
        emit(&mut out, &error_record(e));
        totals.errors += 1;
    }

    let total_bytes: u64 = todo.iter().map(|p| file_size(p)).sum();
    let progress = progress_bar(total_bytes, todo.len());
    let options = args.reading.options();
    scan_files_ordered(&pool, &todo, &options, |index, scan| {
        report_problem(&scan);
        totals.add(&scan);
        emit(&mut out, &file_records(&scan));
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
    emit(&mut out, &summary_record(&totals));
    if let Err(code) = out.finish() {
        return code;
    }
    if let Some(path) = &args.out {
        report_written(&totals, path);
    }
    let code = exit_code(&totals, args.fail_on.level, args.reading.allow_partial);
    if discovery_errors.is_empty() {
        code
    } else {
        2
    }
}
