//! Where output goes, and what happens when it cannot go there.
//!
//! - **A closed pipe** (`ostscan info F | head -1`): Rust ignores SIGPIPE,
//!   so a write returns `EPIPE`. Every write of every subcommand goes
//!   through [`Output`], which ends the process at once, silently, with
//!   status 0 — ripgrep's behaviour: the reader chose to stop reading,
//!   which is not a failure of ostscan. (Nothing is left to clean up: a
//!   pipe is never an atomic `--out`.)
//! - **Any other write error** (`ENOSPC` on `/dev/full`, `EIO`): one line on
//!   standard error naming the target, and exit 2 ([`Output::failed`]).
//! - **`--out FILE`** is written to a temporary file beside it and renamed
//!   over `FILE` only when the run has written everything
//!   ([`Output::finish`]): an existing `FILE` is never truncated by a run
//!   that fails, and a failed run leaves no partial file where there was
//!   none. `--out` naming a FIFO, a device or another non-regular file
//!   (`/dev/null`, `/dev/stdout`, `>(jq)`) is written directly: renaming
//!   over it would replace the device node.
//! - **Inputs are never outputs**: [`refuse_inputs`] compares `--out` with
//!   every input by device and inode (hard and symbolic links included) and
//!   by canonical path (an input that does not exist yet).
//! - Messages on standard error go through [`warn`], which never panics
//!   (`eprintln!` does when standard error is full).

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use ostscan::paths;
use ostscan::report::style::Palette;

/// `--color`: when the text forms are coloured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorWhen {
    /// On a terminal, unless NO_COLOR is set (or TERM=dumb); never into a
    /// pipe or an `--out` file.
    Auto,
    /// Always, even into a pipe or a file (`| less -R`).
    Always,
    /// Never.
    Never,
}

/// The `--color` of this run, set once by `main`.
static COLOR: OnceLock<ColorWhen> = OnceLock::new();

pub fn set_color(when: ColorWhen) {
    let _ = COLOR.set(when);
}

/// The palette for text written to `out` (standard output when `None`):
/// colours under `--color always`; under `auto`, only when the text goes
/// to standard output, standard output is a terminal, and the environment
/// does not say otherwise (`NO_COLOR`, `TERM=dumb`, `CLICOLOR=0`; what
/// anstream reads, as clap and cargo do).
pub fn palette(out: Option<&Path>) -> Palette {
    match COLOR.get().copied().unwrap_or(ColorWhen::Auto) {
        ColorWhen::Always if out.is_none() => colored_stdout(),
        ColorWhen::Always => Palette::colored(),
        ColorWhen::Never => Palette::plain(),
        ColorWhen::Auto if out.is_some() => Palette::plain(),
        ColorWhen::Auto if term_is_dumb() && !clicolor_force() => Palette::plain(),
        ColorWhen::Auto => match anstream::AutoStream::choice(&io::stdout()) {
            anstream::ColorChoice::Never => Palette::plain(),
            _ => colored_stdout(),
        },
    }
}

/// `TERM=dumb`: a terminal that shows escape codes as text. anstream
/// colours it anyway when `CI` is set (CI logs take colour); we promise
/// plain text for it everywhere.
fn term_is_dumb() -> bool {
    std::env::var_os("TERM").is_some_and(|t| t == "dumb")
}

/// `CLICOLOR_FORCE` set and not `0`: colour even where auto would not.
fn clicolor_force() -> bool {
    std::env::var_os("CLICOLOR_FORCE").is_some_and(|v| !v.is_empty() && v != "0")
}

/// Colours for standard output. A Windows console shows escape codes as
/// text until its ANSI mode is on: anstream turns it on for a console
/// (nothing happens elsewhere, or on other systems).
fn colored_stdout() -> Palette {
    let _ = anstream::AutoStream::always_ansi(io::stdout());
    Palette::colored()
}

/// The exit status when standard output (or an `--out` FIFO) is closed by
/// its reader: 0, as ripgrep does.
pub const CLOSED_PIPE_STATUS: i32 = 0;

/// One line on standard error, `ostscan: ` first. Never panics: if
/// standard error itself cannot be written there is nobody left to tell.
pub fn warn(line: impl std::fmt::Display) {
    let mut err = io::stderr().lock();
    let _ = writeln!(err, "ostscan: {line}");
}

/// The first `limit` of `lines` on standard error, then, when `total`
/// counts more, `more(n)` for the `n` left out.
pub fn warn_first<T: std::fmt::Display>(
    lines: impl IntoIterator<Item = T>,
    limit: usize,
    total: u64,
    more: impl FnOnce(u64) -> String,
) {
    for line in lines.into_iter().take(limit) {
        warn(line);
    }
    if total > limit as u64 {
        warn(more(total - limit as u64));
    }
}

/// The value of `result`, or `None` once its error is said on standard
/// error (the caller then exits 2).
pub fn or_warn<T, E: std::fmt::Display>(result: Result<T, E>) -> Option<T> {
    result.map_err(warn).ok()
}

/// End the process as a closed pipe asks: silently, [`CLOSED_PIPE_STATUS`].
fn closed_pipe() -> ! {
    std::process::exit(CLOSED_PIPE_STATUS)
}

/// The status of the test hook's interruption (see [`CrashPoint`]): that
/// of a process killed by SIGKILL, without the core dump of an abort.
pub const CRASH_STATUS: i32 = 137;

/// The file or stream being written.
enum Sink {
    Stdout(io::Stdout),
    File(File),
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = match self {
            Sink::Stdout(s) => s.write(buf),
            Sink::File(f) => f.write(buf),
        };
        check(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        let flushed = match self {
            Sink::Stdout(s) => s.flush(),
            Sink::File(f) => f.flush(),
        };
        check(flushed)
    }
}

/// A closed pipe ends the process here; other results pass through.
fn check<T>(result: io::Result<T>) -> io::Result<T> {
    match result {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => closed_pipe(),
        other => other,
    }
}

/// Hands out distinct temporary names within this process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A temporary file beside its target, renamed over it by
/// [`Output::finish`] and removed if the run ends any other way.
struct Pending {
    temp: PathBuf,
    target: PathBuf,
}

impl Drop for Pending {
    fn drop(&mut self) {
        if !self.temp.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// Buffered output to standard output or a file.
pub struct Output {
    writer: BufWriter<Sink>,
    /// How messages name the target.
    name: String,
    pending: Option<Pending>,
    /// Test hook (`OSTSCAN_TEST_ABORT_AFTER_BYTES`): see [`CrashPoint`].
    crash: Option<CrashPoint>,
}

/// A test hook: with `OSTSCAN_TEST_ABORT_AFTER_BYTES=N` in the
/// environment, the process ends at once with status [`CRASH_STATUS`]
/// (as if killed: no flush of our buffers, no cleanup, temporary files
/// left) once N bytes have been written to a file output, after writing
/// exactly the first N, possibly half a line. The kill-and-resume test
/// uses it to interrupt `batch` at chosen points without depending on
/// timing.
struct CrashPoint {
    left: u64,
}

impl CrashPoint {
    fn from_env() -> Option<CrashPoint> {
        let value = std::env::var("OSTSCAN_TEST_ABORT_AFTER_BYTES").ok()?;
        Some(CrashPoint {
            left: value.trim().parse().ok()?,
        })
    }
}

impl Output {
    /// Standard output.
    pub fn stdout() -> Output {
        Output {
            writer: BufWriter::with_capacity(1 << 16, Sink::Stdout(io::stdout())),
            name: "standard output".to_string(),
            pending: None,
            crash: None,
        }
    }

    /// `--out PATH`, written atomically when PATH is (or will be) a regular
    /// file, directly when it is a FIFO or a device.
    pub fn create(path: &Path) -> Result<Output, String> {
        let name = paths::display(path);
        let fail = |e: io::Error| format!("{name}: {}", ost_ndb::io_words(&e));
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => {
                return Err(format!("{name}: is a directory"));
            }
            Ok(meta) if !meta.is_file() => {
                // A FIFO, a character device: opened as it is, never
                // replaced. (Opening a FIFO waits for its reader, as any
                // writer to a FIFO does.)
                let file = OpenOptions::new().write(true).open(path).map_err(fail)?;
                return Ok(Output::file(file, name, None));
            }
            _ => {}
        }
        // The real file behind a symbolic link is the one replaced; the
        // link stays a link.
        let target = match std::fs::canonicalize(path) {
            Ok(real) => real,
            Err(_) => path.to_path_buf(),
        };
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let base = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut attempt = 0;
        let (temp, file) = loop {
            let temp = dir.join(format!(
                ".{base}.{}-{}.ostscan-tmp",
                std::process::id(),
                TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
            ));
            match OpenOptions::new().write(true).create_new(true).open(&temp) {
                Ok(file) => break (temp, file),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 100 => {
                    attempt += 1;
                }
                Err(e) => return Err(fail(e)),
            }
        };
        // Keep the permissions of a file being replaced.
        if let Ok(meta) = std::fs::metadata(&target) {
            let _ = file.set_permissions(meta.permissions());
        }
        Ok(Output::file(file, name, Some(Pending { temp, target })))
    }

    /// An already opened file, appended to (`batch --resume`).
    pub fn append(file: File, path: &Path) -> Output {
        Output::file(file, paths::display(path), None)
    }

    fn file(file: File, name: String, pending: Option<Pending>) -> Output {
        Output {
            writer: BufWriter::with_capacity(1 << 16, Sink::File(file)),
            name,
            pending,
            crash: CrashPoint::from_env(),
        }
    }

    /// Everything written, flushed, and (for an atomic `--out`) synced and
    /// renamed over the target. On failure, the error is reported (see
    /// [`Output::failed`]) and the exit status returned; the temporary
    /// file is removed.
    pub fn finish(mut self) -> Result<(), u8> {
        match self.complete() {
            Ok(()) => Ok(()),
            Err(e) => Err(self.failed(&e)),
        }
    }

    fn complete(&mut self) -> io::Result<()> {
        self.writer.flush()?;
        if let Some(pending) = &mut self.pending {
            if let Sink::File(file) = self.writer.get_ref() {
                file.sync_all()?;
            }
            std::fs::rename(&pending.temp, &pending.target)?;
            // Renamed: nothing left to remove.
            pending.temp = PathBuf::new();
        }
        Ok(())
    }

    /// End the output once it is written: `written`'s error, or else
    /// finishing's (see [`Output::finish`]), as the exit status to use.
    pub fn end(self, written: io::Result<()>) -> Result<(), u8> {
        match written {
            Ok(()) => self.finish(),
            Err(e) => Err(self.failed(&e)),
        }
    }

    /// Report a write error and end the process at once with status 2,
    /// the temporary file removed: for a write error in the middle of a
    /// long run, whose remaining work could never be written.
    pub fn fail_now(&mut self, e: &io::Error) -> ! {
        let code = self.failed(e);
        self.pending = None;
        std::process::exit(i32::from(code))
    }

    /// Report a write error: one line and exit status 2. (A closed pipe
    /// never gets here: it ends the process where it is met.)
    pub fn failed(&self, e: &io::Error) -> u8 {
        write_failed(&self.name, e)
    }
}

/// One line naming `target` and the error; the exit status, 2.
pub fn write_failed(target: &str, e: &io::Error) -> u8 {
    if e.kind() == io::ErrorKind::BrokenPipe {
        closed_pipe();
    }
    warn(format_args!("{target}: {}", ost_ndb::io_words(e)));
    2
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.crash {
            None => self.writer.write(buf),
            Some(crash) => {
                let take = (buf.len() as u64).min(crash.left) as usize;
                self.writer.write_all(&buf[..take])?;
                crash.left -= take as u64;
                if crash.left == 0 {
                    let _ = self.writer.flush();
                    std::process::exit(CRASH_STATUS);
                }
                Ok(take)
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

/// Write all of `bytes` to standard output and flush: the whole output of
/// a subcommand that builds it first (`info`, `dump`, `decode`). Returns
/// the exit status to use if it failed.
pub fn print(bytes: &[u8]) -> Result<(), u8> {
    let mut out = Output::stdout();
    let written = out.write_all(bytes);
    out.end(written)
}

/// `value` as `--json` prints it: one pretty object, then a newline.
pub fn write_json(
    out: &mut (impl Write + ?Sized),
    value: &impl serde::Serialize,
) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    out.write_all(b"\n")
}

/// What identifies a file: (device, inode) on Unix.
#[cfg(unix)]
fn identity(meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn identity(_meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    None
}

/// `path` made absolute with every link resolved; for a path that does
/// not exist, its parent resolved and its name appended.
fn canonical(path: &Path) -> Option<PathBuf> {
    if let Ok(real) = std::fs::canonicalize(path) {
        return Some(real);
    }
    let name = path.file_name()?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Some(std::fs::canonicalize(parent).ok()?.join(name))
}

/// Refuse an `--out` that is one of `inputs`: the same file by device and
/// inode (through hard or symbolic links), or the same canonical path.
/// Returns the message for the first input it names.
pub fn refuse_inputs<'a>(
    out: &Path,
    inputs: impl IntoIterator<Item = &'a Path>,
) -> Result<(), String> {
    let out_id = std::fs::metadata(out).ok().as_ref().and_then(identity);
    let out_canonical = canonical(out);
    for input in inputs {
        let same_file =
            out_id.is_some() && std::fs::metadata(input).ok().as_ref().and_then(identity) == out_id;
        let same_path = out_canonical.is_some() && canonical(input) == out_canonical;
        if same_file || same_path {
            return Err(format!(
                "--out {} is the input {}: refusing to write over an input",
                paths::display(out),
                paths::display(input)
            ));
        }
    }
    Ok(())
}
