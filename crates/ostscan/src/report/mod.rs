//! The three forms of a scan's output: one JSON report object, typed JSON
//! lines (NDJSON), and a summary for people.
//!
//! Shapes are documented in `docs/report.md`; `docs/report.schema.json`
//! describes both the report object and every NDJSON record.

pub mod style;

use std::fmt;
use std::io::{self, Write};

use ost_props::ItemKind;

use serde::Serialize;

use crate::paths::FilePath;
use crate::rules::{scan_rules, RuleInfo};
use crate::scan::{
    folders_to_treat, folders_with_items, ErrorReport, FileInfo, FileReport, FileScan,
    FindingReport, FolderReport, ItemIdentity, NamespacesView, Remedy, Summary, Totals,
};
use crate::sync_issues::{FolderFinding, SyncIssuesReport};
use style::{Painted, Palette};

/// The version of the report shape. Bumped only on incompatible changes;
/// fields may be added within a version. 2: `status` gained `partial` (so
/// `ok` now means read whole), paths that are not UTF-8 are objects, and
/// after `batch --resume` the one `summary` covers the whole output.
pub const SCHEMA_VERSION: u32 = 2;

/// Which program wrote a report (scan and diff alike).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

impl Tool {
    pub fn this() -> Tool {
        Tool {
            name: "ostscan",
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

pub use crate::status::Status;

/// One file of the JSON report: the same shape for a scanned and an
/// unreadable file (then `summary` is null and `errors` holds the reason).
#[derive(Clone, Debug, Serialize)]
pub struct FileEntry<'a> {
    pub status: Status,
    pub file: &'a FileInfo,
    pub summary: Option<&'a Summary>,
    /// The store's namespaces; null for an unreadable file.
    pub namespaces: Option<&'a NamespacesView>,
    pub folders: &'a [FolderReport],
    pub findings: &'a [FindingReport],
    /// SYNC010 findings (per folder, not per item).
    pub folder_findings: &'a [FolderFinding],
    /// The Sync Issues analysis; null for an unreadable file.
    pub sync_issues: Option<&'a SyncIssuesReport>,
    pub errors: Vec<&'a ErrorReport>,
}

impl<'a> FileEntry<'a> {
    pub fn new(scan: &'a FileScan) -> FileEntry<'a> {
        match scan {
            FileScan::Scanned(r) => FileEntry {
                status: crate::status::file_status(r),
                file: &r.file,
                summary: Some(&r.summary),
                namespaces: Some(&r.namespaces),
                folders: &r.folders,
                findings: &r.findings,
                folder_findings: &r.folder_findings,
                sync_issues: Some(&r.sync_issues),
                errors: r.errors.iter().collect(),
            },
            FileScan::Unreadable(u) => FileEntry {
                status: Status::Unreadable,
                file: &u.file,
                summary: None,
                namespaces: None,
                folders: &[],
                findings: &[],
                folder_findings: &[],
                sync_issues: None,
                errors: vec![&u.error],
            },
        }
    }
}

/// The `scan --json` object.
#[derive(Clone, Debug, Serialize)]
pub struct Report<'a> {
    pub schema_version: u32,
    pub tool: Tool,
    pub files: Vec<FileEntry<'a>>,
    pub summary: &'a Totals,
}

impl<'a> Report<'a> {
    pub fn new(scans: &'a [FileScan], totals: &'a Totals) -> Report<'a> {
        Report {
            schema_version: SCHEMA_VERSION,
            tool: Tool::this(),
            files: scans.iter().map(FileEntry::new).collect(),
            summary: totals,
        }
    }
}

/// One NDJSON line. Every per-file record names its file in `path`.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Record<'a> {
    /// First record of a file.
    Begin {
        path: &'a FilePath,
        schema_version: u32,
        tool: Tool,
        file: &'a FileInfo,
    },
    /// One finding on one item.
    Finding {
        path: &'a FilePath,
        #[serde(flatten)]
        finding: &'a FindingReport,
    },
    /// One SYNC010 finding on one folder.
    #[serde(rename = "folder_finding")]
    FolderFinding {
        path: &'a FilePath,
        #[serde(flatten)]
        finding: &'a FolderFinding,
    },
    /// One problem; `source: "open"` means the file could not be read.
    Error {
        path: &'a FilePath,
        #[serde(flatten)]
        error: &'a ErrorReport,
    },
    /// Last record of a file: written only once the file is complete, so
    /// its presence is what `batch --resume` looks for.
    End {
        path: &'a FilePath,
        status: Status,
        summary: Option<&'a Summary>,
        namespaces: Option<&'a NamespacesView>,
        folders: &'a [FolderReport],
        sync_issues: Option<&'a SyncIssuesReport>,
    },
    /// Last record of the run.
    Summary {
        #[serde(flatten)]
        totals: &'a Totals,
    },
}

/// JSON Lines: each record serialized on a line of its own. Every NDJSON
/// output (scan, diff, reconcile) is written through it.
pub struct JsonLines<W: Write> {
    out: W,
}

impl<W: Write> JsonLines<W> {
    pub fn new(out: W) -> JsonLines<W> {
        JsonLines { out }
    }

    /// One record, one line.
    pub fn line(&mut self, record: &impl Serialize) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, record)?;
        self.out.write_all(b"\n")
    }

    /// A line for each of `items`, made into a record by `record`.
    pub fn lines<'a, T: 'a, R: Serialize>(
        &mut self,
        items: impl IntoIterator<Item = &'a T>,
        record: impl Fn(&'a T) -> R,
    ) -> io::Result<()> {
        items
            .into_iter()
            .try_for_each(|item| self.line(&record(item)))
    }
}

/// The NDJSON lines of one file (begin, findings, errors, end), ready to be
/// written in one piece and flushed.
pub fn file_records(scan: &FileScan) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = records_to(&mut out, scan);
    out
}

/// Write the NDJSON lines of one file to `out` as they are serialized,
/// without holding them all in memory first (the `end` line of a store
/// with thousands of Sync Issues logs is megabytes long).
pub fn write_file_records(out: &mut dyn Write, scan: &FileScan) -> io::Result<()> {
    // A buffer of our own, so that the serializer's many small writes are
    // copies into it rather than calls through `dyn Write`.
    let mut out = io::BufWriter::with_capacity(1 << 16, out);
    records_to(&mut out, scan)?;
    out.flush()
}

/// The lines of [`write_file_records`], into any writer.
fn records_to(out: &mut impl Write, scan: &FileScan) -> io::Result<()> {
    let entry = FileEntry::new(scan);
    let path = &entry.file.path;
    let mut w = JsonLines::new(out);
    w.line(&Record::Begin {
        path,
        schema_version: SCHEMA_VERSION,
        tool: Tool::this(),
        file: entry.file,
    })?;
    w.lines(entry.findings, |finding| Record::Finding { path, finding })?;
    w.lines(entry.folder_findings, |finding| Record::FolderFinding {
        path,
        finding,
    })?;
    w.lines(&entry.errors, |error| Record::Error { path, error })?;
    w.line(&Record::End {
        path,
        status: entry.status,
        summary: entry.summary,
        namespaces: entry.namespaces,
        folders: entry.folders,
        sync_issues: entry.sync_issues,
    })
}

/// `value` as pretty-printed JSON with its object keys sorted, and a
/// newline: the form of `info --json` and `dump --json`, whose keys have
/// always been in that order.
pub fn pretty_json_sorted(value: &impl Serialize) -> String {
    let value = serde_json::to_value(value).unwrap_or_default();
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

/// The NDJSON line of a file that could not be scanned at all.
pub fn error_record(path: &FilePath, error: &ErrorReport) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = JsonLines::new(&mut out).line(&Record::Error { path, error });
    out
}

/// The closing NDJSON line.
pub fn summary_record(totals: &Totals) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = JsonLines::new(&mut out).line(&Record::Summary { totals });
    out
}

/// How many entries a text form lists per section (findings, errors,
/// items) before referring to `--json`.
pub const TEXT_LIMIT: usize = 50;

/// The text summary of one file, without colour.
pub fn write_text(out: &mut dyn Write, scan: &FileScan) -> io::Result<()> {
    write_text_styled(out, scan, &Palette::plain())
}

/// The text summary of one file, severities and problems in `palette`.
pub fn write_text_styled(
    out: &mut dyn Write,
    scan: &FileScan,
    palette: &Palette,
) -> io::Result<()> {
    match scan {
        FileScan::Unreadable(u) => {
            writeln!(out, "{}", Painted(palette.heading, &u.file.path))?;
            writeln!(
                out,
                "  {}: {}",
                Painted(palette.problem, "UNREADABLE"),
                unreadable_reason(&u.error)
            )?;
            writeln!(out)
        }
        FileScan::Scanned(r) => write_text_report(out, r, palette),
    }
}

/// Why a file could not be read, in words: the structure and offset that
/// failed, or only the message when the file itself is the problem (not a
/// regular file, cannot be opened).
pub fn unreadable_reason(error: &ErrorReport) -> String {
    let p = &error.problem;
    if p.structure == "file" && p.offset == 0 {
        p.kind.to_string()
    } else {
        p.to_string()
    }
}

fn write_text_report(out: &mut dyn Write, r: &FileReport, palette: &Palette) -> io::Result<()> {
    let f = &r.file;
    let s = &r.summary;
    writeln!(out, "{}", Painted(palette.heading, &f.path))?;
    writeln!(
        out,
        "  {} {} (wVer {}), encryption {}, header CRC {}, {} bytes",
        f.client.unwrap_or("?"),
        f.format.unwrap_or("?"),
        f.wver.unwrap_or(0),
        f.crypt.unwrap_or("?"),
        if f.header_crc_ok == Some(true) {
            Painted(Default::default(), "ok")
        } else {
            Painted(palette.problem, "MISMATCH")
        },
        f.bytes.unwrap_or(0),
    )?;
    if let Some(sha) = &f.sha256 {
        writeln!(out, "  sha256 {sha}")?;
    }
    writeln!(
        out,
        "  {}, {} ({} contents, {} associated, {} orphan)",
        count(s.folders, "folder", "folders"),
        count(s.messages, "message", "messages"),
        s.messages_by_kind.contents,
        s.messages_by_kind.associated,
        s.messages_by_kind.orphan
    )?;
    write_coverage(out, r)?;
    let partial = crate::status::file_status(r) == Status::Partial;
    if partial {
        let c = crate::status::coverage(r);
        writeln!(
            out,
            "  {}: {}; results cover {} of {} found{}",
            Painted(palette.problem, "read in part"),
            count(c.errors, "error", "errors"),
            c.messages_read,
            count(c.messages, "message", "messages"),
            if c.walk_incomplete {
                " (folders, tables or pages were skipped: there may be more)"
            } else {
                ""
            }
        )?;
    }
    let by = &s.findings_by_severity;
    if s.findings == 0 {
        if partial {
            writeln!(out, "  no findings in what could be read")?;
        } else if s.checked == 0 && s.folders_checked == 0 {
            writeln!(out, "  no findings: nothing could be checked")?;
        } else {
            writeln!(out, "  no findings")?;
        }
    } else {
        writeln!(out, "  {}: {by}", count(s.findings, "finding", "findings"))?;
        // Catalogue order, worst severity first.
        let mut rules: Vec<_> = scan_rules()
            .filter(|rule| s.findings_by_rule.get(rule.id).copied().unwrap_or(0) > 0)
            .collect();
        rules.sort_by_key(|rule| std::cmp::Reverse(rule.severity));
        for rule in rules {
            write_rule_count(out, "    ", rule, s.findings_by_rule[rule.id], palette)?;
        }
    }
    let treat = folders_to_treat(&r.folders);
    if !treat.is_empty() {
        writeln!(out, "  folders, worst first:")?;
        for folder in treat {
            let by = &folder.findings_by_severity;
            let rules = folder.clear_offline_items_rules.join(", ");
            let action = match folder.remedy {
                Remedy::ClearOfflineItems => format!("Clear Offline Items ({rules})"),
                Remedy::CompareWithSource => {
                    format!("local items, compare with their source ({rules})")
                }
                Remedy::LocalOnly => {
                    format!("leave it: a Sync Issues folder, its items exist only in this cache ({rules})")
                }
                Remedy::None => "no action needed (informational)".to_string(),
            };
            writeln!(
                out,
                "    {}: {} ({by}) -> {action}",
                folder.path,
                count(folder.findings, "finding", "findings"),
            )?;
        }
    }
    write_remedy_notes(out, r)?;
    let si = &r.sync_issues;
    if si.folders.sync_issues.is_some() || si.counts.conflict_items > 0 {
        // Items that are neither (failed-item copies, notes) are counted,
        // so that the three numbers add up to the first.
        let other = match si.counts.other_items {
            0 => String::new(),
            n => format!(", {n} other"),
        };
        writeln!(
            out,
            "  Sync Issues: {}, {}, {} ({} reporting errors){other}",
            count(si.counts.items, "item", "items"),
            count(si.counts.conflict_items, "conflict item", "conflict items"),
            count(si.counts.log_messages, "log", "logs"),
            si.counts.logs_with_errors
        )?;
    }
    if !r.folder_findings.is_empty() {
        if r.folder_findings[0].recommend_clear_offline_items {
            writeln!(out, "  Clear Offline Items on these first (SYNC010):")?;
        } else {
            writeln!(out, "  Compare these with their source first (SYNC010):")?;
        }
        for f in &r.folder_findings {
            writeln!(out, "    {}: {}", f.folder, f.detail)?;
        }
    }
    if !r.findings.is_empty() {
        writeln!(out, "  findings:")?;
        write_capped(
            out,
            &r.findings,
            TEXT_LIMIT,
            |out, finding| {
                writeln!(
                    out,
                    "    {} {} nid {:#x} {}{} {:?}: {}",
                    finding.rule,
                    Painted(palette.severity(finding.severity), finding.severity),
                    finding.item.nid,
                    finding.item.folder,
                    KindNote(&finding.item),
                    finding.item.subject.as_deref().unwrap_or(""),
                    finding.detail
                )
            },
            |n| format!("    ... and {n} more (--json or --ndjson lists them all)"),
        )?;
    }
    if !r.errors.is_empty() {
        writeln!(
            out,
            "  {}:",
            Painted(
                palette.problem,
                count(r.errors.len() as u64, "error", "errors")
            )
        )?;
        write_capped(
            out,
            &r.errors,
            TEXT_LIMIT,
            |out, e| writeln!(out, "    {}", e.problem),
            |n| format!("    ... and {n} more"),
        )?;
    }
    writeln!(out)
}

/// What a finding's text line says of an item that is not a message of
/// its folder's contents: " (hidden item IPM.Microsoft.WunderBar.Link)",
/// " (orphan IPM.Note)". Most of what a real OST holds besides mail is
/// hidden items (views, rules, settings), whose subject is often a folder
/// name or empty: without this, "Drafts" reads as a message.
struct KindNote<'a>(&'a ItemIdentity);

impl fmt::Display for KindNote<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.0.kind;
        let what = if kind == ItemKind::Associated.name() {
            "hidden item"
        } else if kind == ItemKind::Orphan.name() {
            "orphan"
        } else {
            return Ok(());
        };
        match &self.0.message_class {
            Some(class) => write!(f, " ({what} {class})"),
            None => write!(f, " ({what})"),
        }
    }
}

/// The first `limit` of `items`, a `line` each, then `more(n)` when `n`
/// were left out: a text form never looks shorter than its report.
pub fn write_capped<'a, T: 'a>(
    out: &mut dyn Write,
    items: impl IntoIterator<Item = &'a T, IntoIter: ExactSizeIterator>,
    limit: usize,
    mut line: impl FnMut(&mut dyn Write, &'a T) -> io::Result<()>,
    more: impl FnOnce(usize) -> String,
) -> io::Result<()> {
    let items = items.into_iter();
    let left_out = items.len().saturating_sub(limit);
    for item in items.take(limit) {
        line(out, item)?;
    }
    if left_out > 0 {
        writeln!(out, "{}", more(left_out))?;
    }
    Ok(())
}

/// The line after an indented section [`write_capped`] cut, in the text
/// forms of `diff` and `reconcile`.
pub fn more_listed(n: usize) -> String {
    format!("  ... {n} more (--json lists all)")
}

/// `n` and the noun, singular or plural: "1 finding", "2 findings".
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// What the remedies of the folder list imply for the file: Clear Offline
/// Items loses local-only changes; when most folders need it, recreating
/// the OST may be simpler. Nothing when no folder is to be cleared.
fn write_remedy_notes(out: &mut dyn Write, r: &FileReport) -> io::Result<()> {
    let s = &r.summary;
    if s.folders_to_clear == 0 {
        return Ok(());
    }
    writeln!(
        out,
        "  before clearing: Clear Offline Items discards the folder's local-only changes (check the Outbox and unsent drafts first); see docs/rules.md, Remedies"
    )?;
    if s.recreate_ost_suggested {
        let with_items = folders_with_items(&r.folders, &r.sync_issues.folders);
        writeln!(
            out,
            "  {} of {} folders with items need clearing: recreating the OST (with Outlook closed) may be simpler",
            s.folders_to_clear, with_items
        )?;
        if r.sync_issues.folders.all().any(|f| f.items > 0) {
            writeln!(
                out,
                "  recreating it discards the Sync Issues folders too, whose items exist only in this cache: keep a copy of the OST"
            )?;
        }
    }
    Ok(())
}

/// What the rules could look at: how many items (and folders) carry a
/// change key or PCL, where those came from, and the store's namespaces.
/// A file where nothing carries one says so, rather than "no findings".
fn write_coverage(out: &mut dyn Write, r: &FileReport) -> io::Result<()> {
    let s = &r.summary;
    if s.checked == 0 {
        writeln!(
            out,
            "  not checked: 0 of {} carry a change key or PCL",
            count(s.messages, "message", "messages")
        )?;
    } else {
        let mut line = format!(
            "  checked {} of {} ({} with a change key, {} with a PCL",
            s.checked,
            count(s.messages, "message", "messages"),
            s.with_change_key,
            s.with_pcl
        );
        if s.from_rows > 0 {
            line.push_str(&format!("; {} from contents-table rows", s.from_rows));
        }
        line.push(')');
        if s.not_checked > 0 {
            line.push_str(&format!("; not checked: {} with neither", s.not_checked));
        }
        writeln!(out, "{line}")?;
    }
    if s.folders_checked > 0 {
        writeln!(
            out,
            "  checked {} of {} by their own change key and PCL",
            s.folders_checked,
            count(s.folders, "folder", "folders")
        )?;
    }
    if s.from_rows > 0 {
        let hint = if s.rows_verified {
            "ROW001"
        } else {
            "ROW001; --verify-rows compares every one"
        };
        writeln!(
            out,
            "  rows compared with their items: {} ({hint})",
            s.rows_compared
        )?;
    }
    let ns = &r.namespaces;
    if !ns.replicas.is_empty() || ns.local.is_some() {
        let replicas: Vec<String> = ns
            .replicas
            .iter()
            .map(|e| format!("{} {}", e.replica_id, e.guid))
            .collect();
        writeln!(
            out,
            "  namespaces: server replicas [{}], local {}",
            replicas.join(", "),
            ns.local.as_deref().unwrap_or("unknown")
        )?;
    }
    Ok(())
}

/// One line of a text form's table of findings by rule: id, severity
/// (coloured), count and what the rule means.
pub fn write_rule_count(
    out: &mut dyn Write,
    indent: &str,
    rule: &RuleInfo,
    n: u64,
    palette: &Palette,
) -> io::Result<()> {
    writeln!(
        out,
        "{indent}{:<8}{:<9}{:>7}  {}",
        rule.id,
        Painted(palette.severity(rule.severity), rule.severity.as_str()),
        n,
        rule.summary
    )
}

/// The closing text lines over all files.
pub fn write_text_totals(out: &mut dyn Write, totals: &Totals) -> io::Result<()> {
    let by = &totals.findings_by_severity;
    writeln!(
        out,
        "total: {} ({} unreadable, {} read in part{}), {}, {} ({by}), {} to clear, {}",
        count(totals.files, "file", "files"),
        totals.files_unreadable,
        totals.files_partial,
        if totals.files_skipped > 0 {
            format!(", {} skipped as already done", totals.files_skipped)
        } else {
            String::new()
        },
        count(totals.messages, "message", "messages"),
        count(totals.findings, "finding", "findings"),
        count(totals.folders_to_clear, "folder", "folders"),
        count(totals.errors, "error", "errors")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capped(n: usize, limit: usize) -> String {
        let items: Vec<usize> = (1..=n).collect();
        let mut out = Vec::new();
        write_capped(
            &mut out,
            &items,
            limit,
            |out, i| writeln!(out, "item {i}"),
            |left_out| format!("... {left_out} more"),
        )
        .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_capped_list_says_how_many_it_left_out() {
        assert_eq!(capped(5, 3), "item 1\nitem 2\nitem 3\n... 2 more\n");
    }

    #[test]
    fn a_finding_line_says_when_its_item_is_hidden_or_an_orphan() {
        let item = |kind: ItemKind, class: Option<&str>| ItemIdentity {
            nid: ost_props::Nid(0x100028),
            nid_hex: "0x100028".into(),
            kind: kind.name(),
            folder: "/Inbox".into(),
            folder_nid: ost_props::Nid(0x8062),
            subject: Some("Inbox".into()),
            message_class: class.map(str::to_string),
        };
        let note = |kind, class| KindNote(&item(kind, class)).to_string();
        assert_eq!(
            note(ItemKind::Associated, Some("IPM.Configuration.RssRule")),
            " (hidden item IPM.Configuration.RssRule)"
        );
        assert_eq!(note(ItemKind::Associated, None), " (hidden item)");
        assert_eq!(
            note(ItemKind::Orphan, Some("IPM.Note")),
            " (orphan IPM.Note)"
        );
        assert_eq!(note(ItemKind::Contents, Some("IPM.Note")), "");
    }

    #[test]
    fn a_list_within_its_cap_is_written_whole_without_a_more_line() {
        assert_eq!(capped(3, 3), "item 1\nitem 2\nitem 3\n");
        assert_eq!(capped(0, 3), "");
    }
}
