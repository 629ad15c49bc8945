//! The scan: every rule on every message of one file, rolled up per folder.
//!
//! [`scan_file`] opens a file, walks its folders, reads every item
//! (contents, associated and orphan) in parallel on the current rayon pool,
//! runs [`crate::rules::check_into`] on each, and returns a [`FileReport`]:
//! plain serializable data whose order depends only on the file, never on
//! the number of threads (items are read in parallel but collected back in
//! walk order). [`scan_files_ordered`] does the same for many files, one
//! file per task, handing the results back in input order.
//!
//! The report's JSON shape is documented in `docs/report.md` and published
//! as `docs/report.schema.json`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Instant;

use ost_ndb::ltp::PropertyContext;
use ost_ndb::{Client, NdbError, Pst};
use ost_props::{
    Folder, ItemKind, ItemRecord, ItemView, Namespaces, ObjectId, RowPolicy, RowValues, Sources,
    Store, WalkError,
};
use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::rules::{
    self as rules, check_into, check_local_change, check_row_against_item, Finding, RuleInfo,
    Severity, SyncProps, RULES,
};
use crate::sync_issues::{
    self, is_conflict, is_log_message, FolderFinding, LogIndex, ReadLog, SyncIssuesReport,
};
use crate::walk::visit_items;
use ost_props::entry_id::{parse_entry_id, EntryId};

/// Every rule a scan reports: the item rules of [`RULES`], then SYNC010,
/// which weighs a folder's item findings against Outlook's own Sync Issues
/// records.
pub fn scan_rules() -> impl Iterator<Item = &'static RuleInfo> {
    RULES.iter().chain(std::iter::once(&sync_issues::SYNC010))
}

fn scan_rule_info(id: &str) -> Option<&'static RuleInfo> {
    scan_rules().find(|rule| rule.id == id)
}

/// What a scan computes besides the rules.
#[derive(Clone, Copy, Debug, Default)]
pub struct ScanOptions {
    /// Compute the SHA-256 of the whole file (reads every byte once more).
    pub hash: bool,
    /// Read every item's own properties too where its row carries them,
    /// and compare the two (ROW001). Without it, an item whose row has a
    /// change key or PCL is read from the row alone.
    pub verify_rows: bool,
    /// Keep each Sync Issues log's text (its first 8,000 bytes) in the
    /// report; without it, logs are reported by their excerpt, red lines,
    /// codes and folders.
    pub log_text: bool,
}

use crate::paths::FilePath;
pub use crate::proof::hex;
use crate::proof::{pcl_view_in_store, ChangeKeyView, PclEntryView};

/// The file itself: what its header says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileInfo {
    /// The path as given on the command line or found by `batch`, exactly
    /// (JSON: a string, or `{"bytes", "text"}` when not UTF-8).
    pub path: FilePath,
    /// File size; `None` when the file cannot even be stat'ed.
    pub bytes: Option<u64>,
    /// SHA-256 of the whole file, lowercase hex; only with `--hash`.
    pub sha256: Option<String>,
    /// `PST` or `OST`; `None` when the header could not be read.
    pub client: Option<&'static str>,
    /// `ansi`, `unicode` or `unicode4k`.
    pub format: Option<&'static str>,
    /// The header's wVer.
    pub wver: Option<u16>,
    /// `none`, `permute` or `cyclic`.
    pub crypt: Option<&'static str>,
    /// Whether the header's CRCs match.
    pub header_crc_ok: Option<bool>,
}

/// Counts per severity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SeverityCounts {
    pub info: u64,
    pub warning: u64,
    pub critical: u64,
}

impl SeverityCounts {
    pub fn add(&mut self, severity: Severity, n: u64) {
        match severity {
            Severity::Info => self.info += n,
            Severity::Warning => self.warning += n,
            Severity::Critical => self.critical += n,
        }
    }

    pub fn add_all(&mut self, other: &SeverityCounts) {
        self.info += other.info;
        self.warning += other.warning;
        self.critical += other.critical;
    }

    /// How many findings are at or above `threshold`.
    pub fn at_or_above(&self, threshold: Severity) -> u64 {
        match threshold {
            Severity::Info => self.info + self.warning + self.critical,
            Severity::Warning => self.warning + self.critical,
            Severity::Critical => self.critical,
        }
    }

    /// The highest severity with a finding.
    pub fn worst(&self) -> Option<Severity> {
        if self.critical > 0 {
            Some(Severity::Critical)
        } else if self.warning > 0 {
            Some(Severity::Warning)
        } else if self.info > 0 {
            Some(Severity::Info)
        } else {
            None
        }
    }

    pub fn total(&self) -> u64 {
        self.info + self.warning + self.critical
    }
}

/// Items by where the walk found them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct KindCounts {
    pub contents: u64,
    pub associated: u64,
    pub orphan: u64,
}

/// One file's totals.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Folders of the walk, the root included.
    pub folders: u64,
    /// Items scanned: contents, associated and orphans.
    pub messages: u64,
    pub messages_by_kind: KindCounts,
    /// Items that have PR_CHANGE_KEY (decodable or not).
    pub with_change_key: u64,
    /// Items that have PR_PREDECESSOR_CHANGE_LIST (decodable or not).
    pub with_pcl: u64,
    /// Items the change key / PCL rules could look at: those with either.
    pub checked: u64,
    /// Items with neither: nothing was checked on them. A file where this
    /// is every item says nothing about its sync state.
    pub not_checked: u64,
    /// Items whose change key or PCL came from their contents-table row
    /// (real OSTs keep them there).
    pub from_rows: u64,
    /// Items whose row and own properties were both read and compared
    /// (ROW001): all with `--verify-rows`, else those whose row lacked
    /// the sync values or that the Sync Issues analysis read.
    pub rows_compared: u64,
    /// Folders with a change key or PCL of their own, checked by the same
    /// rules.
    pub folders_checked: u64,
    pub findings: u64,
    /// Every rule of the catalogue, zero included.
    pub findings_by_rule: BTreeMap<&'static str, u64>,
    pub findings_by_severity: SeverityCounts,
    /// Entries of `errors`.
    pub errors: u64,
    /// Integrity problems the reader stopped recording past its cap.
    pub errors_dropped: u64,
    /// Wall time of this file's scan. The only field that differs between
    /// two runs over the same file.
    pub elapsed_ms: u64,
    /// Folders where Clear Offline Items is recommended (an OST's only).
    pub folders_to_clear: u64,
    /// Most folders with items need clearing ([`recreate_ost_suggested`]):
    /// recreating the OST may be simpler than clearing them one by one.
    pub recreate_ost_suggested: bool,
}

impl Summary {
    fn new() -> Summary {
        Summary {
            findings_by_rule: scan_rules().map(|rule| (rule.id, 0)).collect(),
            ..Summary::default()
        }
    }
}

/// One folder of the walk and what was found in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FolderReport {
    pub path: String,
    pub nid: u32,
    /// `nid` as the text forms show it (`0x8022`).
    pub nid_hex: String,
    /// Items scanned in this folder (all kinds).
    pub messages: u64,
    pub findings: u64,
    pub findings_by_severity: SeverityCounts,
    /// The highest severity of a finding here; `None` without findings.
    pub worst_severity: Option<Severity>,
    /// Whether *Clear Offline Items* on this folder is the remedy: the
    /// file is an OST and some finding here is of a rule whose remedy is
    /// [`crate::rules::OstRemedy::ClearOfflineItems`] (a PST has no offline items to
    /// clear).
    pub recommend_clear_offline_items: bool,
    /// The findings' rules whose remedy is
    /// [`crate::rules::OstRemedy::ClearOfflineItems`] (SYNC010 among them), in catalogue
    /// order: the rules behind `remedy`.
    pub clear_offline_items_rules: Vec<&'static str>,
    /// What to do about the folder, for the kind of file it is in.
    pub remedy: Remedy,
}

/// What a folder's findings call for (docs/rules.md, "Remedies, from
/// mildest"). Which one depends on the client: only an OST is a cache of a
/// server copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Remedy {
    /// No finding asks for anything: none, or informational ones only.
    None,
    /// An OST: Clear Offline Items on the folder, so that Outlook downloads
    /// the server's versions again. It discards the folder's local-only
    /// changes: check the Outbox and unsent drafts first.
    ClearOfflineItems,
    /// A PST (or any store that is not a cache): nothing synchronizes it
    /// and there are no offline items to clear. The items are local: compare
    /// them with their source (the mailbox or file they were copied from),
    /// or leave them.
    CompareWithSource,
}

impl Remedy {
    /// The remedy for findings of `rules` (those in
    /// a rule whose remedy is [`crate::rules::OstRemedy::ClearOfflineItems`], SYNC010
    /// among them) in a file of `client`.
    pub fn for_folder(rules: &[&str], client: Client) -> Remedy {
        match (rules.is_empty(), client) {
            (true, _) => Remedy::None,
            (false, Client::Ost) => Remedy::ClearOfflineItems,
            (false, _) => Remedy::CompareWithSource,
        }
    }
}

/// Whether to suggest recreating the OST rather than clearing folder by
/// folder: `to_clear` of the `with_items` folders that hold items need
/// clearing, and that is most of them (more than half, and at least two).
pub fn recreate_ost_suggested(to_clear: u64, with_items: u64) -> bool {
    to_clear >= 2 && to_clear * 2 > with_items
}

/// One finding on one item, with the item's identity and the decoded proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FindingReport {
    pub rule: &'static str,
    pub severity: Severity,
    pub nid: u32,
    /// `nid` as the text forms show it (`0x200024`).
    pub nid_hex: String,
    /// `contents`, `associated` or `orphan`.
    pub kind: &'static str,
    /// Folder path; empty for an orphan whose folder is unknown.
    pub folder: String,
    /// Folder NID; 0 for an orphan whose folder is unknown. Paths need not
    /// be unique (two folders may share a name); NIDs are.
    pub folder_nid: u32,
    pub subject: Option<String>,
    pub message_class: Option<String>,
    pub source_key: Option<String>,
    pub last_modified: Option<String>,
    pub change_key: Option<ChangeKeyView>,
    /// Decoded PCL entries; `None` when the PCL is absent or does not decode.
    pub pcl: Option<Vec<PclEntryView>>,
    /// The raw PCL; `None` when absent.
    pub pcl_hex: Option<String>,
    /// Where the change key, PCL and modification time came from: `item`
    /// (its property context) or `row` (its contents-table row).
    pub sources: SourcesView,
    /// The object id (0x67F4: PidTagMid of an item, PidTagFolderId of a
    /// folder), in OSTs.
    pub object_id: Option<ObjectIdView>,
    /// Whether `source_key` was derived from the object id and the replica
    /// map (OSTs do not store source keys).
    pub source_key_derived: bool,
    /// The row's values when both the row and the item were read (the
    /// values above are then the item's); ROW001 compares the two.
    pub row: Option<RowValuesView>,
    /// The rule's explanation with the decoded values.
    pub detail: String,
}

/// Where an item's values came from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SourcesView {
    pub change_key: Option<&'static str>,
    pub pcl: Option<&'static str>,
    pub last_modified: Option<&'static str>,
}

impl From<Sources> for SourcesView {
    fn from(s: Sources) -> SourcesView {
        SourcesView {
            change_key: s.change_key.map(|s| s.name()),
            pcl: s.pcl.map(|s| s.name()),
            last_modified: s.last_modified.map(|s| s.name()),
        }
    }
}

/// An object id: replica id and global counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ObjectIdView {
    pub replica_id: u16,
    pub globcnt: u64,
}

impl From<ObjectId> for ObjectIdView {
    fn from(id: ObjectId) -> ObjectIdView {
        ObjectIdView {
            replica_id: id.replica_id,
            globcnt: id.globcnt,
        }
    }
}

/// A row's sync values, decoded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RowValuesView {
    pub change_key: Option<ChangeKeyView>,
    pub pcl: Option<Vec<PclEntryView>>,
    pub pcl_hex: Option<String>,
    pub last_modified: Option<String>,
}

impl RowValuesView {
    fn new(row: &RowValues, namespaces: &Namespaces) -> RowValuesView {
        RowValuesView {
            change_key: row
                .change_key
                .as_deref()
                .map(|b| ChangeKeyView::in_store(b, namespaces)),
            pcl: row
                .pcl
                .as_deref()
                .and_then(|b| pcl_view_in_store(b, namespaces)),
            pcl_hex: row.pcl.as_deref().map(hex),
            last_modified: row.last_modified.map(|t| t.to_string()),
        }
    }
}

/// The namespaces of a store ([`ost_props::Namespaces`]), as reports show
/// them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NamespacesView {
    /// The replica map (NID 0x801), by replica id: the server's namespaces.
    pub replicas: Vec<ReplicaView>,
    /// The OST's own namespace (message store property 0x7C07).
    pub local: Option<String>,
}

/// One entry of the replica map.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReplicaView {
    pub replica_id: u16,
    pub guid: String,
}

impl NamespacesView {
    fn new(ns: &Namespaces) -> NamespacesView {
        NamespacesView {
            replicas: ns
                .replicas
                .iter()
                .map(|(id, g)| ReplicaView {
                    replica_id: *id,
                    guid: g.to_string(),
                })
                .collect(),
            local: ns.local.map(|g| g.to_string()),
        }
    }
}

/// Where an error was met.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorSource {
    /// The file could not be opened or its header read: nothing was scanned.
    Open,
    /// Walking folders and tables.
    Walk,
    /// Reading one item.
    Item,
    /// Integrity problems (CRC, signature) the reader met and read past.
    Integrity,
}

/// A problem met while reading, named by structure and file offset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ErrorReport {
    pub source: ErrorSource,
    pub structure: String,
    pub offset: u64,
    pub nid: Option<u32>,
    /// `nid` as the text forms show it.
    pub nid_hex: Option<String>,
    pub message: String,
}

/// A NID as the text forms show it: `0x` and lowercase hex.
pub fn nid_hex(nid: u32) -> String {
    format!("{nid:#x}")
}

impl ErrorReport {
    /// An error of `structure` at `offset`, about node `nid` if any.
    pub fn new(
        source: ErrorSource,
        structure: String,
        offset: u64,
        nid: Option<u32>,
        message: String,
    ) -> ErrorReport {
        ErrorReport {
            source,
            structure,
            offset,
            nid,
            nid_hex: nid.map(nid_hex),
            message,
        }
    }

    fn from_walk(source: ErrorSource, e: &WalkError) -> ErrorReport {
        ErrorReport::new(
            source,
            e.structure.clone(),
            e.offset,
            e.nid,
            e.message.clone(),
        )
    }

    pub(crate) fn from_ndb(source: ErrorSource, e: &NdbError) -> ErrorReport {
        ErrorReport::new(
            source,
            e.structure.to_string(),
            e.offset,
            None,
            e.kind.to_string(),
        )
    }
}

/// The scan of one readable file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileReport {
    pub file: FileInfo,
    pub summary: Summary,
    /// The store's namespaces: which change keys are the server's and
    /// which this cache's own.
    pub namespaces: NamespacesView,
    /// Every folder of the walk, in walk order (depth first).
    pub folders: Vec<FolderReport>,
    /// In walk order of the items, then catalogue order of the rules.
    pub findings: Vec<FindingReport>,
    /// SYNC010: folders where Outlook's Sync Issues records (logged errors,
    /// conflict items) and the item findings agree. Clear Offline Items on
    /// these first.
    pub folder_findings: Vec<FolderFinding>,
    /// The Sync Issues folders, conflict items and synchronization logs.
    pub sync_issues: SyncIssuesReport,
    pub errors: Vec<ErrorReport>,
}

/// A file that could not be read at all.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Unreadable {
    pub file: FileInfo,
    pub error: ErrorReport,
}

/// The outcome of scanning one path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileScan {
    Scanned(Box<FileReport>),
    Unreadable(Box<Unreadable>),
}

impl FileScan {
    pub fn path(&self) -> &FilePath {
        match self {
            FileScan::Scanned(r) => &r.file.path,
            FileScan::Unreadable(u) => &u.file.path,
        }
    }

    /// Findings by severity (zero for an unreadable file).
    pub fn findings_by_severity(&self) -> SeverityCounts {
        match self {
            FileScan::Scanned(r) => r.summary.findings_by_severity,
            FileScan::Unreadable(_) => SeverityCounts::default(),
        }
    }
}

/// What one item contributes, kept small so that a scan of a large store
/// holds only the findings, never every record: 32 bytes for an item with
/// nothing to report, which is nearly every item.
struct ItemOutcome {
    /// Hash of PR_SOURCE_KEY (stored or derived): finds the targets of
    /// Exchange-style conflict entry ids without keeping every key.
    source_key_hash: Option<u64>,
    has_change_key: bool,
    has_pcl: bool,
    /// The change key or PCL came from the item's row.
    from_row: bool,
    /// The row and the item were both read and compared.
    row_compared: bool,
    /// Boxed: most items have none of it.
    detail: Option<Box<OutcomeDetail>>,
}

/// The rarer part of an item's outcome.
struct OutcomeDetail {
    findings: Vec<FindingReport>,
    errors: Vec<ErrorReport>,
    /// The whole record, kept only for the Sync Issues analysis: items in
    /// the Sync Issues folders and conflict items.
    kept: Option<ItemRecord>,
    /// A log message of the Sync Issues tree, read while the walk had it
    /// open.
    log: Option<ReadLog>,
}

fn key_hash(bytes: &[u8]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

fn finding_report(record: &ItemRecord, finding: Finding, ns: &Namespaces) -> FindingReport {
    FindingReport {
        rule: finding.rule,
        severity: finding.severity,
        nid: record.nid,
        nid_hex: nid_hex(record.nid),
        kind: record.kind.name(),
        folder: record.folder.to_string(),
        folder_nid: record.folder_nid,
        subject: record.subject.clone(),
        message_class: record.message_class.clone(),
        source_key: record.source_key.as_deref().map(hex),
        last_modified: record.last_modified.map(|t| t.to_string()),
        change_key: record
            .change_key
            .as_deref()
            .map(|b| ChangeKeyView::in_store(b, ns)),
        pcl: record.pcl.as_deref().and_then(|b| pcl_view_in_store(b, ns)),
        pcl_hex: record.pcl.as_deref().map(hex),
        sources: record.sources.into(),
        object_id: record.object_id.map(Into::into),
        source_key_derived: record.source_key_derived,
        row: record.row.as_ref().map(|r| RowValuesView::new(r, ns)),
        detail: finding.detail,
    }
}

/// The findings of a folder's own change key and PCL (the item rules that
/// need no item: not SYNC004/SYNC005, which Outlook's folder bookkeeping
/// would set off on nearly every folder; see docs/rules.md).
fn folder_findings_of(folder: &Folder, ns: &Namespaces) -> Vec<FindingReport> {
    let props = SyncProps {
        change_key: folder.change_key.as_deref(),
        pcl: folder.pcl.as_deref(),
    };
    let mut found = Vec::new();
    check_into(&props, &mut found);
    let source_key = folder.object_id.and_then(|id| ns.source_key(id));
    let sources = |present: bool| present.then_some("item");
    found
        .into_iter()
        .map(|finding| FindingReport {
            rule: finding.rule,
            severity: finding.severity,
            nid: folder.nid,
            nid_hex: nid_hex(folder.nid),
            kind: "folder",
            folder: folder.path.to_string(),
            folder_nid: folder.nid,
            subject: None,
            message_class: None,
            source_key: source_key.as_ref().map(|k| hex(k)),
            last_modified: folder.last_modified.map(|t| t.to_string()),
            change_key: props.change_key.map(|b| ChangeKeyView::in_store(b, ns)),
            pcl: props.pcl.and_then(|b| pcl_view_in_store(b, ns)),
            pcl_hex: props.pcl.map(hex),
            sources: SourcesView {
                change_key: sources(props.change_key.is_some()),
                pcl: sources(props.pcl.is_some()),
                last_modified: sources(folder.last_modified.is_some()),
            },
            object_id: folder.object_id.map(Into::into),
            source_key_derived: source_key.is_some(),
            row: None,
            detail: finding.detail,
        })
        .collect()
}

/// What an item's outcome needs besides the item.
struct WalkContext<'a, 'p> {
    pst: &'a Pst<'p>,
    namespaces: &'a Namespaces,
    log_index: &'a LogIndex,
    /// NIDs of the Sync Issues folders.
    sync_tree: &'a HashSet<u32>,
    /// Those that hold logs (all but Conflicts).
    log_folders: &'a HashSet<u32>,
    /// Keep each log's text in the report.
    log_text: bool,
}

fn evaluate(
    store: &Store<'_>,
    view: ItemView<'_>,
    pc: Option<&PropertyContext<'_>>,
    cx: &WalkContext<'_, '_>,
) -> ItemOutcome {
    let mut found = Vec::new();
    let props = SyncProps {
        change_key: view.change_key(),
        pcl: view.pcl(),
    };
    check_into(&props, &mut found);
    check_local_change(&props, cx.namespaces, &mut found);
    let row_compared = view.row_and_item_read();
    if row_compared {
        check_row_against_item(&view.item, &view.row, &mut found);
    }
    let keep = cx.sync_tree.contains(&view.folder_nid)
        || is_conflict(view.conflict_entry_id(), view.message_status());
    let errors: Vec<ErrorReport> = view
        .errors
        .iter()
        .map(|e| {
            let mut report = ErrorReport::from_walk(ErrorSource::Item, e);
            report.nid.get_or_insert(view.nid);
            report
        })
        .collect();
    let source_key_hash = view.source_key().map(key_hash);
    let has_change_key = view.change_key().is_some();
    let has_pcl = view.pcl().is_some();
    let sources = view.sources();
    let from_row = sources.change_key == Some(ost_props::Source::Row)
        || sources.pcl == Some(ost_props::Source::Row);
    // Strings decoded and bytes copied only for the items that a finding
    // reports or the Sync Issues analysis uses: most items are neither.
    let record = (keep || !found.is_empty()).then(|| view.into_record());
    let findings = match &record {
        Some(r) => found
            .into_iter()
            .map(|f| finding_report(r, f, cx.namespaces))
            .collect(),
        None => Vec::new(),
    };
    // Log messages are read while the walk has them open, rather than
    // opened again by the Sync Issues analysis.
    let log = match (&record, pc) {
        (Some(r), Some(pc)) if is_log_message(r, |nid| cx.log_folders.contains(&nid)) => Some(
            sync_issues::read_log(cx.pst, store, cx.log_index, r, Some(pc), cx.log_text),
        ),
        _ => None,
    };
    let kept = record.filter(|_| keep);
    let detail = (!findings.is_empty() || !errors.is_empty() || kept.is_some() || log.is_some())
        .then(|| {
            Box::new(OutcomeDetail {
                findings,
                errors,
                kept,
                log,
            })
        });
    ItemOutcome {
        source_key_hash,
        has_change_key,
        has_pcl,
        from_row,
        row_compared,
        detail,
    }
}

/// What the header of an open file says (`scan`'s and `info`'s `file`).
pub fn file_info(path: &Path, pst: &Pst<'_>, sha256: Option<String>) -> FileInfo {
    let header = pst.header();
    FileInfo {
        path: FilePath::new(path),
        bytes: Some(pst.len()),
        sha256,
        client: Some(header.client.name()),
        format: Some(header.format.name()),
        wver: Some(header.wver),
        crypt: Some(header.crypt.name()),
        header_crc_ok: Some(header.crc_ok()),
    }
}

/// The `FileInfo` of a file whose header could not be read: path and size.
pub fn bare_file_info(path: &Path) -> FileInfo {
    FileInfo {
        path: FilePath::new(path),
        bytes: std::fs::metadata(path).ok().map(|m| m.len()),
        sha256: None,
        client: None,
        format: None,
        wver: None,
        crypt: None,
        header_crc_ok: None,
    }
}

/// Scan one file on the current rayon pool. Never panics on file content;
/// a file that cannot be opened is [`FileScan::Unreadable`], every other
/// problem is an entry of [`FileReport::errors`] and the scan goes on.
pub fn scan_file(path: &Path, options: &ScanOptions) -> FileScan {
    let started = Instant::now();
    let pst = match Pst::open(path) {
        Ok(pst) => pst,
        Err(e) => {
            return FileScan::Unreadable(Box::new(Unreadable {
                file: bare_file_info(path),
                error: crate::input::open_error(&e),
            }))
        }
    };
    let (sha256, report) = rayon::join(
        || options.hash.then(|| hex(&Sha256::digest(pst.bytes()))),
        || scan_store(&pst, options),
    );
    let StoreScan {
        mut summary,
        namespaces,
        folders,
        findings,
        folder_findings,
        sync_issues,
        errors,
    } = report;
    summary.elapsed_ms = started.elapsed().as_millis() as u64;
    FileScan::Scanned(Box::new(FileReport {
        file: file_info(path, &pst, sha256),
        summary,
        namespaces,
        folders,
        findings,
        folder_findings,
        sync_issues,
        errors,
    }))
}

struct StoreScan {
    summary: Summary,
    namespaces: NamespacesView,
    folders: Vec<FolderReport>,
    findings: Vec<FindingReport>,
    folder_findings: Vec<FolderFinding>,
    sync_issues: SyncIssuesReport,
    errors: Vec<ErrorReport>,
}

/// The outcome details, split by who reads them: the Sync Issues analysis
/// takes the kept records (borrowed) and the logs (moved out), the roll-up
/// the findings and errors. Each part in walk order.
struct SplitDetails<'d> {
    kept: Vec<&'d ItemRecord>,
    /// The walk index of each of `kept`.
    kept_at: Vec<u32>,
    logs: Vec<ReadLog>,
    reported: Vec<Reported<'d>>,
}

/// The findings and errors of one item, with its walk index; the roll-up
/// moves them out.
type Reported<'d> = (u32, &'d mut Vec<FindingReport>, &'d mut Vec<ErrorReport>);

/// One pass over the details (in walk order). Each is a separate
/// allocation the walk made long ago, so each visit is a cache miss or
/// two, and a store may have tens of thousands: the records stay where
/// they are, borrowed, rather than moved into a vector of their own.
fn split_details(details: &mut [(u32, Box<OutcomeDetail>)]) -> SplitDetails<'_> {
    let mut split = SplitDetails {
        kept: Vec::new(),
        kept_at: Vec::new(),
        logs: Vec::new(),
        reported: Vec::new(),
    };
    for (i, d) in details.iter_mut() {
        let OutcomeDetail {
            findings,
            errors,
            kept,
            log,
        } = &mut **d;
        split.logs.extend(log.take());
        if let Some(r) = &*kept {
            split.kept.push(r);
            split.kept_at.push(*i);
        }
        if !findings.is_empty() || !errors.is_empty() {
            split.reported.push((*i, findings, errors));
        }
    }
    split
}

/// The items the kept conflict items' entry ids point at and that were not
/// kept themselves (there are few), read again, with their walk indices.
/// `outcomes` are in read order (`order[k]` is the ref of `outcomes[k]`).
fn conflict_targets(
    store: &Store<'_>,
    refs: &[ost_props::ItemRef],
    order: &[u32],
    outcomes: &[ItemOutcome],
    kept: &[&ItemRecord],
    kept_at: &[u32],
) -> Vec<(u32, ItemRecord)> {
    let mut wanted: BTreeSet<u32> = BTreeSet::new();
    let mut by_nid: Option<HashMap<u32, u32>> = None;
    let mut by_key: Option<HashMap<u64, Vec<u32>>> = None;
    for r in kept {
        let Some(entry) = r.conflict_entry_id.as_deref().and_then(parse_entry_id) else {
            continue;
        };
        match entry {
            EntryId::Pst { nid, .. } => {
                let map = by_nid.get_or_insert_with(|| {
                    refs.iter()
                        .enumerate()
                        .map(|(i, r)| (r.nid, i as u32))
                        .collect()
                });
                if let Some(&i) = map.get(&nid) {
                    wanted.insert(i);
                }
            }
            EntryId::ExchangeMessage {
                message_source_key, ..
            } => {
                let map = by_key.get_or_insert_with(|| {
                    let mut m: HashMap<u64, Vec<u32>> = HashMap::new();
                    for (o, &i) in outcomes.iter().zip(order) {
                        if let Some(h) = o.source_key_hash {
                            m.entry(h).or_default().push(i);
                        }
                    }
                    m
                });
                if let Some(hits) = map.get(&key_hash(&message_source_key[..])) {
                    wanted.extend(hits);
                }
            }
            EntryId::ExchangeFolder { .. } => {}
        }
    }
    for i in kept_at {
        wanted.remove(i);
    }
    // In walk order: targets listed by one table are read with it opened
    // once.
    let wanted: Vec<u32> = wanted
        .into_iter()
        .filter(|&w| (w as usize) < refs.len())
        .collect();
    let records = store.read_items(wanted.iter().map(|&w| &refs[w as usize]));
    wanted.into_iter().zip(records).collect()
}

/// The records the Sync Issues analysis gets: the kept ones and the
/// conflict targets read again, merged in walk order.
fn merge_records<'r>(
    kept: &[&'r ItemRecord],
    kept_at: &[u32],
    targets: &'r [(u32, ItemRecord)],
) -> Vec<&'r ItemRecord> {
    let mut records = Vec::with_capacity(kept.len() + targets.len());
    let mut targets = targets.iter().peekable();
    for (&r, &i) in kept.iter().zip(kept_at) {
        while let Some((_, t)) = targets.next_if(|(w, _)| *w < i) {
            records.push(t);
        }
        records.push(r);
    }
    records.extend(targets.map(|(_, t)| t));
    records
}

/// Totals, folders and findings of the items' outcomes, in walk order.
struct Rollup {
    summary: Summary,
    folders: Vec<FolderReport>,
    /// Per folder, the rules behind its Clear Offline Items recommendation,
    /// keyed by catalogue order.
    folder_rules: Vec<BTreeMap<usize, &'static str>>,
    findings: Vec<FindingReport>,
    /// The walk's errors, then the items'.
    errors: Vec<ErrorReport>,
}

/// `outcomes` in any order (they are counted); `reported`, the items'
/// findings and errors lent by [`split_details`], in walk order, each with
/// the index of its ref (they are moved out).
fn roll_up(
    store: &Store<'_>,
    refs: &[ost_props::ItemRef],
    outcomes: Vec<ItemOutcome>,
    reported: Vec<Reported<'_>>,
) -> Rollup {
    let ns = store.namespaces();
    let mut summary = Summary::new();
    summary.folders = store.folders().len() as u64;
    let mut folders: Vec<FolderReport> = store
        .folders()
        .iter()
        .map(|f| FolderReport {
            path: f.path.to_string(),
            nid: f.nid,
            nid_hex: nid_hex(f.nid),
            messages: 0,
            findings: 0,
            findings_by_severity: SeverityCounts::default(),
            worst_severity: None,
            recommend_clear_offline_items: false,
            clear_offline_items_rules: Vec::new(),
            remedy: Remedy::None,
        })
        .collect();
    let mut folder_rules: Vec<BTreeMap<usize, &'static str>> = vec![BTreeMap::new(); folders.len()];
    let mut findings = Vec::new();
    let mut errors: Vec<ErrorReport> = store
        .errors()
        .iter()
        .map(|e| ErrorReport::from_walk(ErrorSource::Walk, e))
        .collect();
    summary.messages = refs.len() as u64;
    for r in refs {
        match r.kind {
            ItemKind::Contents => summary.messages_by_kind.contents += 1,
            ItemKind::Associated => summary.messages_by_kind.associated += 1,
            ItemKind::Orphan => summary.messages_by_kind.orphan += 1,
        }
        if let Some(f) = r.folder.and_then(|i| folders.get_mut(i)) {
            f.messages += 1;
        }
    }
    for outcome in &outcomes {
        summary.with_change_key += u64::from(outcome.has_change_key);
        summary.with_pcl += u64::from(outcome.has_pcl);
        summary.checked += u64::from(outcome.has_change_key || outcome.has_pcl);
        summary.from_rows += u64::from(outcome.from_row);
        summary.rows_compared += u64::from(outcome.row_compared);
    }
    summary.not_checked = summary.messages.saturating_sub(summary.checked);
    // The folders' own findings first (in walk order), then the items'.
    let mut folder_found: Vec<(usize, Vec<FindingReport>)> = Vec::new();
    for (i, f) in store.folders().iter().enumerate() {
        summary.folders_checked += u64::from(f.change_key.is_some() || f.pcl.is_some());
        let found = folder_findings_of(f, ns);
        if !found.is_empty() {
            folder_found.push((i, found));
        }
    }
    let folder_count = folders.len();
    let mut item_found = reported.into_iter().map(|(i, item_findings, item_errors)| {
        let folder = refs
            .get(i as usize)
            .and_then(|r| r.folder)
            .filter(|&f| f < folder_count);
        (folder, std::mem::take(item_findings), Some(item_errors))
    });
    let folder_found = folder_found
        .into_iter()
        .map(|(i, found)| (Some(i), found, None));
    for (folder, found, item_errors) in folder_found.chain(&mut item_found) {
        for finding in found {
            summary.findings += 1;
            *summary.findings_by_rule.entry(finding.rule).or_insert(0) += 1;
            summary.findings_by_severity.add(finding.severity, 1);
            if let Some(i) = folder {
                let f = &mut folders[i];
                f.findings += 1;
                f.findings_by_severity.add(finding.severity, 1);
                if rules::clears_offline_items(finding.rule) {
                    let order = RULES
                        .iter()
                        .position(|rule| rule.id == finding.rule)
                        .unwrap_or(usize::MAX);
                    folder_rules[i].insert(order, finding.rule);
                }
            }
            findings.push(finding);
        }
        if let Some(item_errors) = item_errors {
            errors.append(item_errors);
        }
    }
    Rollup {
        summary,
        folders,
        folder_rules,
        findings,
        errors,
    }
}

fn scan_store(pst: &Pst<'_>, options: &ScanOptions) -> StoreScan {
    let mut store = Store::open(pst);
    // Located before the walk: the items of the Sync Issues tree are read
    // whole (their logs and conflict entry ids), even where rows carry
    // their sync properties.
    let located = sync_issues::locate(pst, &store);
    let sync_tree: HashSet<u32> = located.0.all().map(|f| f.nid).collect();
    let log_folders: HashSet<u32> = sync_tree
        .iter()
        .copied()
        .filter(|&nid| located.0.holds_logs(nid))
        .collect();
    let log_index = LogIndex::new(&store);
    let namespaces = store.namespaces().clone();
    let cx = WalkContext {
        pst,
        namespaces: &namespaces,
        log_index: &log_index,
        sync_tree: &sync_tree,
        log_folders: &log_folders,
        log_text: options.log_text,
    };
    let read_item_if = |view: &ItemView<'_>| {
        sync_tree.contains(&view.folder_nid)
            || view
                .message_status()
                .is_some_and(|s| s & sync_issues::MS_IN_CONFLICT != 0)
    };
    let policy = RowPolicy {
        read_all_items: options.verify_rows,
        read_item_if: &read_item_if,
    };
    let walked = visit_items(&mut store, true, &policy, |store, view, pc| {
        evaluate(store, view, pc, &cx)
    });
    let refs = walked.refs;
    let order = walked.order;
    let mut outcomes = walked.outcomes;
    // ... and reported in walk order: most outcomes are only counted, and
    // the few that carry something are put back in walk order. Neither
    // depends on the number of threads.
    let mut details: Vec<(u32, Box<OutcomeDetail>)> = outcomes
        .iter_mut()
        .zip(&order)
        .filter_map(|(o, &i)| Some((i, o.detail.take()?)))
        .collect();
    details.sort_unstable_by_key(|&(i, _)| i);
    let SplitDetails {
        kept,
        kept_at,
        logs,
        reported,
    } = split_details(&mut details);
    let targets = conflict_targets(&store, &refs, &order, &outcomes, &kept, &kept_at);
    let records = merge_records(&kept, &kept_at, &targets);
    // The analysis and the roll-up of the items' outcomes are independent.
    let (sync_report, rollup) = rayon::join(
        || {
            sync_issues::analyze_with(
                pst,
                &store,
                located,
                &log_index,
                &records,
                logs,
                options.log_text,
            )
        },
        || roll_up(&store, &refs, outcomes, reported),
    );
    // The borrows end here. The details, with the kept records in them
    // (tens of thousands of allocations), and the targets read again are
    // freed by a job on the pool while this thread goes on; rayon runs it
    // even after the scan has returned.
    drop((records, kept));
    rayon::spawn(move || drop((details, targets)));
    let Rollup {
        mut summary,
        mut folders,
        mut folder_rules,
        findings,
        mut errors,
    } = rollup;
    let namespaces = NamespacesView::new(store.namespaces());
    // SYNC010: Outlook's own records agree with the item findings.
    // A conflict copy's findings count for the folder it concerns.
    let mut sync_by_folder: BTreeMap<u32, u64> = BTreeMap::new();
    for f in &findings {
        if matches!(f.rule, "SYNC001" | "SYNC002" | "SYNC003") && f.folder_nid != 0 {
            let folder = sync_report.sync_folder_of(f.nid, f.folder_nid);
            *sync_by_folder.entry(folder).or_insert(0) += 1;
        }
    }
    let mut folder_findings = sync_issues::sync010(&sync_report, &sync_by_folder);
    for ff in &folder_findings {
        summary.findings += 1;
        *summary.findings_by_rule.entry(ff.rule).or_insert(0) += 1;
        summary.findings_by_severity.add(ff.severity, 1);
        if let Some(i) = folders.iter().position(|f| f.nid == ff.folder_nid) {
            folders[i].findings += 1;
            folders[i].findings_by_severity.add(ff.severity, 1);
            folder_rules[i].insert(RULES.len(), ff.rule);
        }
    }
    errors.extend(sync_report.errors.iter().map(|e| {
        ErrorReport::new(
            ErrorSource::Walk,
            e.structure.clone(),
            e.offset,
            e.nid,
            e.message.clone(),
        )
    }));
    let client = pst.header().client;
    for (folder, rules) in folders.iter_mut().zip(folder_rules) {
        folder.worst_severity = folder.findings_by_severity.worst();
        folder.clear_offline_items_rules = rules.into_values().collect();
        folder.remedy = Remedy::for_folder(&folder.clear_offline_items_rules, client);
        folder.recommend_clear_offline_items = folder.remedy == Remedy::ClearOfflineItems;
    }
    if client != Client::Ost {
        for ff in &mut folder_findings {
            ff.for_local_store();
        }
    }
    summary.folders_to_clear = folders
        .iter()
        .filter(|f| f.recommend_clear_offline_items)
        .count() as u64;
    let with_items = folders.iter().filter(|f| f.messages > 0).count() as u64;
    summary.recreate_ost_suggested = recreate_ost_suggested(summary.folders_to_clear, with_items);
    // Read after the walk: the reader records integrity problems as it
    // meets them. `issues()` returns them sorted by offset, so their order
    // does not depend on which thread met them first.
    let (issues, dropped) = pst.issues();
    errors.extend(
        issues
            .iter()
            .map(|e| ErrorReport::from_ndb(ErrorSource::Integrity, e)),
    );
    summary.errors = errors.len() as u64;
    summary.errors_dropped = dropped;
    StoreScan {
        summary,
        namespaces,
        folders,
        findings,
        folder_findings,
        sync_issues: sync_report,
        errors,
    }
}

/// The folders that need attention, worst first: by worst severity, then
/// number of findings, then path. Folders without findings are left out.
pub fn folders_to_treat(folders: &[FolderReport]) -> Vec<&FolderReport> {
    let mut treat: Vec<&FolderReport> = folders.iter().filter(|f| f.findings > 0).collect();
    treat.sort_by(|a, b| {
        b.worst_severity
            .cmp(&a.worst_severity)
            .then(b.findings.cmp(&a.findings))
            .then(a.path.cmp(&b.path))
    });
    treat
}

/// Totals over several files (the last record of NDJSON, `summary` of JSON).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Files the output reports (scanned or unreadable): this run's, and
    /// after `batch --resume` also the earlier runs' (`files_skipped`).
    pub files: u64,
    pub files_unreadable: u64,
    /// Files read only in part (`status: "partial"`, see `crate::status`).
    pub files_partial: u64,
    /// Files `batch --resume` found complete in the output, kept and
    /// skipped.
    pub files_skipped: u64,
    pub messages: u64,
    pub with_change_key: u64,
    pub with_pcl: u64,
    pub findings: u64,
    pub findings_by_rule: BTreeMap<&'static str, u64>,
    pub findings_by_severity: SeverityCounts,
    pub errors: u64,
    /// Folders where Clear Offline Items is recommended, over all files.
    pub folders_to_clear: u64,
    pub elapsed_ms: u64,
}

impl Totals {
    pub fn new() -> Totals {
        Totals {
            findings_by_rule: scan_rules().map(|rule| (rule.id, 0)).collect(),
            ..Totals::default()
        }
    }

    pub fn add(&mut self, scan: &FileScan) {
        self.files += 1;
        match scan {
            FileScan::Unreadable(_) => {
                self.files_unreadable += 1;
                self.errors += 1;
            }
            FileScan::Scanned(report) => {
                if crate::status::file_status(report) == crate::status::Status::Partial {
                    self.files_partial += 1;
                }
                let s = &report.summary;
                self.messages += s.messages;
                self.with_change_key += s.with_change_key;
                self.with_pcl += s.with_pcl;
                self.findings += s.findings;
                for (rule, n) in &s.findings_by_rule {
                    // Keys come from the catalogue; look them up to keep
                    // the 'static names.
                    if let Some(info) = scan_rule_info(rule) {
                        *self.findings_by_rule.entry(info.id).or_insert(0) += n;
                    }
                }
                self.findings_by_severity.add_all(&s.findings_by_severity);
                self.errors += s.errors;
                self.folders_to_clear += report
                    .folders
                    .iter()
                    .filter(|f| f.recommend_clear_offline_items)
                    .count() as u64;
            }
        }
    }
}

/// Scan `paths` on `pool`, one file per task, and hand each result to
/// `deliver` in input order as soon as it and all before it are done (so
/// output can be streamed and flushed per file while later files are still
/// being scanned). `deliver` runs on the calling thread, which must not be
/// a thread of `pool`: it blocks waiting for results. It hands back the
/// scans it does not keep, and `pool` frees them: a large report is
/// hundreds of thousands of allocations, milliseconds the calling thread
/// then spends writing instead (or the process ends first).
pub fn scan_files_ordered<F>(
    pool: &rayon::ThreadPool,
    paths: &[PathBuf],
    options: &ScanOptions,
    mut deliver: F,
) where
    F: FnMut(usize, FileScan) -> Option<FileScan>,
{
    let (sender, receiver) = mpsc::channel::<(usize, FileScan)>();
    std::thread::scope(|scope| {
        scope.spawn(move || {
            pool.install(|| {
                paths
                    .par_iter()
                    .enumerate()
                    // One file per task: files are independent, and each
                    // file's items are spread over the same pool.
                    .with_max_len(1)
                    .for_each_with(sender, |sender, (index, path)| {
                        // The receiver only goes away if `deliver` panicked.
                        let _ = sender.send((index, scan_file(path, options)));
                    });
            })
        });
        let mut pending: BTreeMap<usize, FileScan> = BTreeMap::new();
        let mut next = 0;
        for (index, scan) in receiver.iter() {
            pending.insert(index, scan);
            while let Some(scan) = pending.remove(&next) {
                if let Some(done) = deliver(next, scan) {
                    pool.spawn(move || drop(done));
                }
                next += 1;
            }
        }
    });
}

#[cfg(test)]
mod read_scope;
