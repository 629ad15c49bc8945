//! The `ostscan` command line: a thin layer over the `ostscan` library.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

mod cli;

/// `ostscan --version`: the version, the commit it was built from
/// ("unknown" from a source tarball), and what the build turned on
/// (build.rs). `-V` prints the first line only.
const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "\ncommit:   ",
    env!("OSTSCAN_COMMIT"),
    "\nfeatures: ",
    env!("OSTSCAN_FEATURES"),
    "\ntarget:   ",
    env!("OSTSCAN_TARGET"),
);

/// Find Outlook items whose synchronization metadata has gone stale.
///
/// ostscan reads Outlook .ost caches and .pst stores straight from disk
/// (read-only, without Outlook or MAPI) and checks every item's change key
/// (PR_CHANGE_KEY) and predecessor change list (PR_PREDECESSOR_CHANGE_LIST).
///
/// Exit codes: 0 success (no finding at or above the threshold), 1 findings
/// at or above the threshold, 2 a file could not be read, or was read only
/// in part (wins over 1; `--allow-partial` for findings only), the output
/// could not be written, or bad usage. A closed output pipe ends ostscan
/// quietly with 0.
#[derive(Parser)]
#[command(name = "ostscan", version, long_version = LONG_VERSION, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// When to colour text output: auto (on a terminal, unless NO_COLOR is
    /// set), always, never.
    #[arg(long, global = true, value_name = "WHEN", default_value = "auto")]
    color: cli::output::ColorWhen,
}

#[derive(Subcommand)]
enum Command {
    /// Describe a file: client, format, version, encryption, CRCs, node and block counts.
    Info(cli::info::InfoArgs),
    /// List every message as JSON lines: NID, folder, subject, class, change key, PCL, source key, last modification time.
    Items(cli::items::ItemsArgs),
    /// Every property of one node (tag, name, type, decoded value, raw hex), its subnodes, a folder's table rows, and a message's row in its folder's contents table (where an OST keeps the change key and PCL).
    Dump(cli::dump::DumpArgs),
    /// Decode a raw XID (change key) or PCL given as hex, as copied from MFCMAPI or an EWS trace.
    Decode(cli::decode::DecodeArgs),
    /// Compare two copies of one mailbox: versions that went backwards or conflict, items added, removed, moved.
    Diff(cli::diff::DiffArgs),
    /// Compare a cache with the server's listing of the same mailbox: items whose server version went backwards, conflicts, pending syncs.
    Reconcile(cli::reconcile::ReconcileArgs),
    /// Run every rule on every item of one or more files; report findings per item and folder.
    Scan(cli::scan::ScanArgs),
    /// Scan many files (directories or a manifest), shardable and resumable, as NDJSON.
    Batch(cli::batch::BatchArgs),
    /// One JSON line per event for Timesketch: each item's last modification, conflict items, Sync Issues logs.
    Timeline(cli::timeline::TimelineArgs),
    /// Print the shell completion script for bash, zsh, fish, powershell or elvish.
    Completions(cli::generate::CompletionsArgs),
    /// Print the man page (roff), or write every page into a directory.
    Man(cli::generate::ManArgs),
}

/// jemalloc rather than the system allocator. With glibc's, the small
/// allocations a scan keeps (the Sync Issues records and logs) split the
/// freed buffers of the log bodies, so that each thread's heap grows a few
/// pages at a time, each step an `mprotect` and fresh page faults: 4-6% of
/// a scan's time on the bench stores (docs/performance.md).
#[cfg(all(target_arch = "x86_64", not(target_env = "msvc")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options (its `malloc_conf`, read before `main`; the `_rjem_`
/// prefix is tikv-jemalloc-sys's): two arenas rather than four per CPU,
/// and freed pages handed back to the system half a second after they
/// are freed rather than ten. The read-ahead threads allocate the blocks
/// that the walk frees; with the defaults a cold scan of the OST bench
/// store kept 100-101 MiB resident (RssAnon), 86-87 MiB with these, at
/// the same speed (docs/performance.md). `_RJEM_MALLOC_CONF` in the
/// environment still overrides them.
#[cfg(all(target_arch = "x86_64", not(target_env = "msvc")))]
#[export_name = "_rjem_malloc_conf"]
static JEMALLOC_CONF: JemallocConf =
    JemallocConf(c"narenas:2,dirty_decay_ms:500,muzzy_decay_ms:0".as_ptr());

/// A C string pointer that may be a `static` (it points to a literal).
#[cfg(all(target_arch = "x86_64", not(target_env = "msvc")))]
#[repr(transparent)]
struct JemallocConf(*const std::ffi::c_char);

// SAFETY: the pointer is to a string literal, never written.
#[cfg(all(target_arch = "x86_64", not(target_env = "msvc")))]
unsafe impl Sync for JemallocConf {}

/// The command line's definition: the derived one, with the examples of
/// `cli::examples` in each subcommand's long help (and man page).
fn command() -> clap::Command {
    cli::examples::with_examples(Cli::command())
}

fn main() -> ExitCode {
    let parsed = command()
        .try_get_matches()
        .and_then(|matches| Cli::from_arg_matches(&matches));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help/version to stdout with exit 0, usage errors with 2.
            let code = if e.use_stderr() { 2 } else { 0 };
            return match e.print() {
                Err(write) if !e.use_stderr() => {
                    ExitCode::from(cli::output::write_failed("standard output", &write))
                }
                _ => ExitCode::from(code),
            };
        }
    };
    cli::output::set_color(cli.color);
    let code = match cli.command {
        Command::Info(args) => cli::info::run(&args),
        Command::Decode(args) => cli::decode::run(&args),
        Command::Diff(args) => cli::diff::run(&args),
        Command::Reconcile(args) => cli::reconcile::run(&args),
        Command::Items(args) => cli::items::run(&args),
        Command::Scan(args) => cli::scan::run(&args),
        Command::Batch(args) => cli::batch::run(&args),
        Command::Dump(args) => cli::dump::run(&args),
        Command::Timeline(args) => cli::timeline::run(&args),
        Command::Completions(args) => cli::generate::completions(&args, command()),
        Command::Man(args) => cli::generate::man(&args, command()),
    };
    ExitCode::from(code)
}
