//! `ostscan reconcile FILE --server LISTING [--json | --ndjson] [--fail-on LEVEL] [--all]`

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Serialize;

use ostscan::paths::FilePath;
use ostscan::reconcile::{
    reconcile_files, unusable, CacheOnly, CacheSide, Failure, FolderReport, ListingFormat,
    ListingSide, NotCompared, Options, ReconcileError, ReconcileFinding, ReconcileReport,
    ReconcileSummary, ServerFolderCount, ServerOnly, Tool, SCHEMA_VERSION,
};
use ostscan::report::style::{Painted, Palette};
use ostscan::report::{count, more_listed, write_capped, write_rule_count, JsonLines, TEXT_LIMIT};
use ostscan::rules::SRV_RULES;

use super::output::{or_warn, warn, warn_first};
use super::scan::{open_out, thread_pool, ReportArgs};

const AFTER_HELP: &str = "\
LISTING is what the server says today, one of (docs/reconcile.md):
  graph       Microsoft Graph message JSON as the API returns it (pages
              {\"value\": [...]}, concatenated pages, or one message a line),
              requested with
                $select=id,subject,lastModifiedDateTime,changeKey,parentFolderId
                $expand=singleValueExtendedProperties($filter=id eq 'Binary 0x65e0'
                        or id eq 'Binary 0x65e2' or id eq 'Binary 0x65e3')
              integrations/graph/export_server_versions.py writes one.
  normalized  JSON lines {\"source_key\": hex, \"change_key\": hex, \"pcl\": hex,
              \"last_modified\", \"subject\", \"folder\"} (EWS scripts, MFCMAPI).
The format is detected from the first object unless --server-format says.
LISTING `-` is standard input.

Items are matched by PR_SOURCE_KEY (OST items: derived from the MID and the
replica map). Rules, at most one per item:
  SRV001 critical  the server's version went backwards (remedy: Clear
                   Offline Items on the folder, after saving local changes)
  SRV002 warning   conflict: neither version includes the other
  SRV003 info      pending download: the server's version is newer
  SRV004 info      pending upload: a local change on top of the server's
Items only one side has are counted per folder; --all lists them.

Examples:
  ostscan reconcile user.ost --server listing.json
  python3 export_server_versions.py --mailbox u@contoso.com | \\
      ostscan reconcile user.ost --server - --json --out reconcile.json

Exit codes (the highest that applies wins):
  2  FILE could not be opened, LISTING could not be read or holds no usable
     item, either was read only in part (errors listed; not with
     --allow-partial), the output could not be written, --out names an
     input, or bad usage
  1  findings at or above --fail-on
  0  none of the above
A closed output pipe (`| head`) ends ostscan quietly with status 0.";

#[derive(Args)]
#[command(after_help = AFTER_HELP)]
#[command(mut_arg("json", |a| a.help(
    "Print one JSON object (schema_version 1, docs/reconcile.schema.json)"
)))]
#[command(mut_arg("ndjson", |a| a.help(
    "Print typed JSON lines: begin, finding, not_compared, folder, server_folder, cache_only, \
     server_only, error, end, summary"
)))]
#[command(mut_arg("out", |a| a.help(
    "Write the output to this file instead of standard output (never FILE or LISTING; replaced \
     only once the run has succeeded)"
)))]
pub struct ReconcileArgs {
    /// The cache (.ost, or a .pst with source keys), opened read-only.
    pub file: PathBuf,
    /// The server's listing of the same mailbox (`-`: standard input).
    #[arg(long, value_name = "LISTING")]
    pub server: PathBuf,
    /// The listing's form (default: detected).
    #[arg(long, value_name = "FORMAT", value_parser = parse_format)]
    pub server_format: Option<ListingFormat>,
    #[command(flatten)]
    pub report: ReportArgs,
    /// List the items only the cache or only the server has (else counted).
    #[arg(long)]
    pub all: bool,
    /// Errors in FILE or LISTING do not make the exit status 2: exit by
    /// findings alone.
    #[arg(long)]
    pub allow_partial: bool,
    /// Threads (0: one per CPU).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub jobs: usize,
}

fn parse_format(text: &str) -> Result<ListingFormat, String> {
    ListingFormat::parse(text).ok_or_else(|| format!("{text:?} is not one of graph, normalized"))
}

/// One NDJSON line.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Record<'a> {
    Begin {
        schema_version: u32,
        tool: Tool,
        cache: &'a CacheSide,
        listing: &'a ListingSide,
    },
    Finding(&'a ReconcileFinding),
    NotCompared(&'a NotCompared),
    Folder(&'a FolderReport),
    ServerFolder(&'a ServerFolderCount),
    CacheOnly(&'a CacheOnly),
    ServerOnly(&'a ServerOnly),
    Error(&'a ReconcileError),
    /// Written once everything else is: its presence says the output is complete.
    End {
        cache: &'a FilePath,
        listing: &'a FilePath,
        status: ostscan::status::Status,
        findings: u64,
    },
    Summary(&'a ReconcileSummary),
}

fn write_ndjson(out: &mut dyn Write, r: &ReconcileReport) -> io::Result<()> {
    let mut w = JsonLines::new(out);
    w.line(&Record::Begin {
        schema_version: SCHEMA_VERSION,
        tool: Tool::this(),
        cache: &r.cache,
        listing: &r.listing,
    })?;
    w.lines(&r.findings, Record::Finding)?;
    w.lines(&r.not_compared, Record::NotCompared)?;
    w.lines(&r.folders, Record::Folder)?;
    w.lines(&r.server_only_by_folder, Record::ServerFolder)?;
    w.lines(&r.cache_only, Record::CacheOnly)?;
    w.lines(&r.server_only, Record::ServerOnly)?;
    w.lines(&r.errors, Record::Error)?;
    w.line(&Record::End {
        cache: &r.cache.path,
        listing: &r.listing.path,
        status: r.status,
        findings: r.summary.findings,
    })?;
    w.line(&Record::Summary(&r.summary))
}

fn write_text(out: &mut dyn Write, r: &ReconcileReport, palette: &Palette) -> io::Result<()> {
    let s = &r.summary;
    writeln!(
        out,
        "cache   {} ({} {}, {})",
        r.cache.path,
        r.cache.client,
        r.cache.format,
        count(s.cache_items, "item", "items")
    )?;
    writeln!(
        out,
        "server  {} ({} listing{}, {})",
        r.listing.path,
        r.listing.format.name(),
        if r.listing.format_detected {
            ", detected"
        } else {
            ""
        },
        count(s.listing_entries, "item", "items")
    )?;
    writeln!(
        out,
        "matched {} by source key: {} identical, {} not compared; only in the cache {}, only on the server {}{}",
        s.matched,
        s.identical,
        s.not_compared,
        s.cache_only,
        s.server_only,
        [
            (s.associated_unmatched, "hidden (associated) cache items unmatched (Graph does not list them)"),
            (s.cache_without_source_key, "cache items without a source key"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("; {n} {what}"))
        .collect::<String>()
    )?;
    let sev = &s.findings_by_severity;
    if s.findings == 0 {
        writeln!(out, "no findings")?;
    } else {
        writeln!(out, "findings {} ({sev})", s.findings)?;
        for rule in SRV_RULES {
            let n = s.findings_by_rule.get(rule.id).copied().unwrap_or(0);
            if n > 0 {
                write_rule_count(out, "  ", rule, n, palette)?;
            }
        }
    }
    if !s.folders_to_clear.is_empty() {
        writeln!(
            out,
            "\nClear Offline Items on these folders (SRV001; save local changes first):"
        )?;
        for name in &s.folders_to_clear {
            let pending = r
                .folders
                .iter()
                .find(|f| &f.folder == name)
                .map_or(0, |f| f.local_changes_pending);
            if pending > 0 {
                writeln!(
                    out,
                    "  {name}  ({pending} local changes not yet uploaded would be lost)"
                )?;
            } else {
                writeln!(out, "  {name}")?;
            }
        }
    }
    if !r.findings.is_empty() {
        writeln!(out)?;
    }
    let finding = |out: &mut dyn Write, f: &ReconcileFinding| {
        writeln!(
            out,
            "{} {:8} {} {:?} (nid {:#x}, listing line {}, source key {})",
            f.rule,
            Painted(palette.severity(f.severity), f.severity.as_str()),
            f.item.folder,
            f.item.subject.as_deref().unwrap_or(""),
            f.item.nid,
            f.listing_line,
            f.source_key
        )?;
        writeln!(out, "    {}", f.detail)
    };
    write_capped(out, &r.findings, TEXT_LIMIT, finding, |n| {
        format!("... {n} more findings (--json lists all)")
    })?;
    if !r.not_compared.is_empty() {
        writeln!(out, "\nnot compared ({}):", r.not_compared.len())?;
        let line = |out: &mut dyn Write, n: &NotCompared| {
            writeln!(
                out,
                "  {} {:?} (nid {:#x}): {}",
                n.folder,
                n.subject.as_deref().unwrap_or(""),
                n.nid,
                n.reason
            )
        };
        write_capped(out, &r.not_compared, TEXT_LIMIT, line, more_listed)?;
    }
    let with_cache_only: Vec<&FolderReport> =
        r.folders.iter().filter(|f| f.cache_only > 0).collect();
    if !with_cache_only.is_empty() {
        writeln!(out, "\nonly in the cache, per folder:")?;
        let line = |out: &mut dyn Write, f: &&FolderReport| {
            writeln!(out, "  {}: {}", f.folder, f.cache_only)
        };
        write_capped(out, &with_cache_only, TEXT_LIMIT, line, more_listed)?;
    }
    if !r.server_only_by_folder.is_empty() {
        writeln!(out, "\nonly on the server, per folder:")?;
        let line = |out: &mut dyn Write, f: &ServerFolderCount| {
            let folder = f.folder.as_deref().unwrap_or("(not named)");
            writeln!(out, "  {folder}: {}", f.items)
        };
        write_capped(out, &r.server_only_by_folder, TEXT_LIMIT, line, more_listed)?;
    }
    if !r.errors.is_empty() {
        writeln!(
            out,
            "\n{} (the result covers part of the input):",
            count(s.errors, "error", "errors")
        )?;
        let line = |out: &mut dyn Write, e| writeln!(out, "  {}", error_text(r, e));
        // The report keeps the first errors only (s.errors counts all).
        let more = |_| {
            let left_out = s.errors - TEXT_LIMIT as u64;
            format!(
                "  ... {left_out} more (--json lists the first {})",
                r.errors.len()
            )
        };
        write_capped(out, &r.errors, TEXT_LIMIT, line, more)?;
    }
    Ok(())
}

fn error_text(r: &ReconcileReport, e: &ReconcileError) -> String {
    match e {
        ReconcileError::Listing(e) => format!("{}: line {}: {}", r.listing.path, e.line, e.message),
        ReconcileError::Cache(problem) => format!("{}: {problem}", r.cache.path),
    }
}

/// Errors shown on standard error when the listing gave nothing usable.
const FAILURE_ERRORS_SHOWN: usize = 10;

pub fn run(args: &ReconcileArgs) -> u8 {
    let Some(pool) = or_warn(thread_pool(args.jobs)) else {
        return 2;
    };
    let mut inputs: Vec<&Path> = vec![args.file.as_path()];
    if args.server.as_os_str() != "-" {
        inputs.push(args.server.as_path());
    }
    let Some(out) = or_warn(open_out(args.report.out.as_deref(), inputs)) else {
        return 2;
    };
    let options = Options { list_all: args.all };
    let result =
        pool.install(|| reconcile_files(&args.file, &args.server, args.server_format, options));
    let report = match result {
        Ok(r) => r,
        Err(failure) => {
            report_failure(&failure);
            return 2;
        }
    };
    if let Err(code) = args
        .report
        .write_report(out, &report, write_ndjson, write_text)
    {
        return code;
    }
    warn_first(
        report.errors.iter().map(|e| error_text(&report, e)),
        TEXT_LIMIT,
        report.summary.errors,
        |more| {
            format!(
                "... {more} more errors (--json lists the first {})",
                report.errors.len()
            )
        },
    );
    ostscan::status::exit_code(
        report.status,
        args.allow_partial,
        &report.summary.findings_by_severity,
        args.report.fail_on.level,
    )
}

fn report_failure(failure: &Failure) {
    match failure {
        Failure::Cache { path, error } => warn(format_args!("{path}: {error}")),
        Failure::ListingUnreadable { path, error } => {
            warn(format_args!("{path}: {}", ost_ndb::io_words(error)))
        }
        Failure::ListingUnparsed { path, listing } => {
            let why = unusable(listing).unwrap_or_else(|| "has no usable item".to_string());
            warn(format_args!(
                "{path}: the listing {why}; nothing was compared"
            ));
            warn_first(
                listing
                    .errors
                    .iter()
                    .map(|e| format!("{path}: line {}: {}", e.line, e.message)),
                FAILURE_ERRORS_SHOWN,
                listing.error_count(),
                |more| format!("{path}: ... {more} more errors"),
            );
        }
    }
}
