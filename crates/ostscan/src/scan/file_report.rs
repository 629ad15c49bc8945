//! What a scan of one file reports: plain serializable data (the JSON
//! shape of docs/report.md), built by the scan in `mod.rs` and read by the
//! report writers, the batch, and the exit status.

use std::collections::BTreeMap;

use ost_ndb::{Client, Nid};
use ost_props::{Folder, ItemRecord, Namespaces, ObjectId, Problem, Sources};
use serde::{Deserialize, Serialize};

use crate::paths::FilePath;
use crate::proof::{ChangeKeyView, PclEntryView, SyncValuesView};
use crate::rules::{scan_rules, Severity};
use crate::sync_issues::{FolderFinding, SyncIssuesFolders, SyncIssuesReport};

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
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SeverityCounts {
    pub info: u64,
    pub warning: u64,
    pub critical: u64,
}

/// `2 critical, 3 warning, 0 info`, as every text form says them.
impl std::fmt::Display for SeverityCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} critical, {} warning, {} info",
            self.critical, self.warning, self.info
        )
    }
}

impl SeverityCounts {
    pub fn add(&mut self, severity: Severity, n: u64) {
        match severity {
            Severity::Info => self.info += n,
            Severity::Warning => self.warning += n,
            Severity::Critical => self.critical += n,
        }
    }

    /// Add `other`'s counts (saturating: they may come from a file).
    pub fn add_all(&mut self, other: &SeverityCounts) {
        self.info = self.info.saturating_add(other.info);
        self.warning = self.warning.saturating_add(other.warning);
        self.critical = self.critical.saturating_add(other.critical);
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
    /// `--verify-rows` was given (every row was to be compared): not in the
    /// report, whose `rows_compared` says what was; the text reads it.
    #[serde(skip)]
    pub rows_verified: bool,
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
    pub(super) fn new() -> Summary {
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
    pub nid: Nid,
    /// `nid` as the text forms show it (`0x8022`).
    pub nid_hex: String,
    /// Items scanned in this folder (all kinds).
    pub messages: u64,
    pub findings: u64,
    pub findings_by_severity: SeverityCounts,
    /// The highest severity of a finding here; `None` without findings.
    pub worst_severity: Option<Severity>,
    /// Whether *Clear Offline Items* on this folder is the remedy: the
    /// file is an OST, the folder is not one of its Sync Issues folders
    /// (their items exist only in the cache), and some finding here is of a
    /// rule whose remedy is [`crate::rules::OstRemedy::ClearOfflineItems`]
    /// (a PST has no offline items to clear).
    pub recommend_clear_offline_items: bool,
    /// The findings' rules whose remedy is
    /// [`crate::rules::OstRemedy::ClearOfflineItems`] (SYNC010 among them), in catalogue
    /// order: the rules behind `remedy`.
    pub clear_offline_items_rules: Vec<&'static str>,
    /// What to do about the folder, for the kind of file it is in.
    pub remedy: Remedy,
}

/// What a folder's findings call for (docs/rules.md, "Remedies, from
/// mildest"). Which one depends on the client, only an OST is a cache of a
/// server copy, and in an OST on the folder: its Sync Issues folders hold
/// what the cache alone has.
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
    /// An OST's Sync Issues folder, Conflicts, Local Failures or Server
    /// Failures: Outlook keeps their items (logs, conflict copies, failed
    /// items) in this cache only and never uploads them, so Clear Offline
    /// Items would delete the only copies, the evidence, and fix nothing.
    /// A conflict copy concerns the item it conflicts with (SYNC010 counts
    /// its SYNC001-003 findings for that item's folder): resolve the
    /// conflict from that item.
    LocalOnly,
}

impl Remedy {
    /// The remedy for findings of `rules` (those in
    /// a rule whose remedy is [`crate::rules::OstRemedy::ClearOfflineItems`], SYNC010
    /// among them) in a folder of a file of `client`; `sync_issues_tree`:
    /// the folder is one of the Sync Issues folders.
    pub fn for_folder(rules: &[&str], client: Client, sync_issues_tree: bool) -> Remedy {
        match (rules.is_empty(), client) {
            (true, _) => Remedy::None,
            (false, Client::Ost) if sync_issues_tree => Remedy::LocalOnly,
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

/// The folders that hold items, but for the Sync Issues folders (`sync`),
/// which are never cleared: what [`recreate_ost_suggested`] weighs the
/// folders to clear against.
pub fn folders_with_items(folders: &[FolderReport], sync: &SyncIssuesFolders) -> u64 {
    folders
        .iter()
        .filter(|f| f.messages > 0 && !sync.contains(f.nid))
        .count() as u64
}

/// An item (or a folder) as a finding of `scan` or `reconcile` names it:
/// flattened into the finding, so its fields are the finding's own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ItemIdentity {
    pub nid: Nid,
    /// `nid` as the text forms show it (`0x200024`).
    pub nid_hex: String,
    /// `contents`, `associated` or `orphan`; `folder` for a finding on a
    /// folder's own values.
    pub kind: &'static str,
    /// Folder path; empty for an orphan whose folder is unknown.
    pub folder: String,
    /// Folder NID; 0 for an orphan whose folder is unknown. Paths need not
    /// be unique (two folders may share a name); NIDs are.
    pub folder_nid: Nid,
    pub subject: Option<String>,
    pub message_class: Option<String>,
}

impl ItemIdentity {
    /// An item read from the store.
    pub fn of(record: &ItemRecord) -> ItemIdentity {
        ItemIdentity {
            nid: record.nid,
            nid_hex: nid_hex(record.nid),
            kind: record.kind.name(),
            folder: record.folder.to_string(),
            folder_nid: record.folder_nid,
            subject: record.subject.clone(),
            message_class: record.message_class.clone(),
        }
    }

    /// A folder, for the findings on its own change key and PCL.
    pub fn of_folder(folder: &Folder) -> ItemIdentity {
        ItemIdentity {
            nid: folder.nid,
            nid_hex: nid_hex(folder.nid),
            kind: "folder",
            folder: folder.path.to_string(),
            folder_nid: folder.nid,
            subject: None,
            message_class: None,
        }
    }
}

/// What one file's summary adds to the run's totals: its counts, as a
/// [`Summary`] has them and as an NDJSON `end` record holds them (what
/// `batch --resume` reads back of the files done earlier).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct FileCounts {
    pub messages: u64,
    pub with_change_key: u64,
    pub with_pcl: u64,
    pub findings: u64,
    pub findings_by_rule: BTreeMap<String, u64>,
    pub findings_by_severity: SeverityCounts,
    pub errors: u64,
}

impl From<&Summary> for FileCounts {
    fn from(s: &Summary) -> FileCounts {
        FileCounts {
            messages: s.messages,
            with_change_key: s.with_change_key,
            with_pcl: s.with_pcl,
            findings: s.findings,
            findings_by_rule: s
                .findings_by_rule
                .iter()
                .map(|(rule, n)| (rule.to_string(), *n))
                .collect(),
            findings_by_severity: s.findings_by_severity,
            errors: s.errors,
        }
    }
}

/// One finding on one item, with the item's identity and the decoded proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FindingReport {
    pub rule: &'static str,
    pub severity: Severity,
    #[serde(flatten)]
    pub item: ItemIdentity,
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
    pub row: Option<SyncValuesView>,
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
    pub fn new(ns: &Namespaces) -> NamespacesView {
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

/// A problem met while reading, where the scan met it. JSON: `source`
/// beside the problem's own fields (`structure`, `offset`, `nid`,
/// `nid_hex`, `message`), in one flat object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ErrorReport {
    pub source: ErrorSource,
    #[serde(flatten, serialize_with = "Problem::serialize_with_nid_hex")]
    pub problem: Problem,
}

impl ErrorReport {
    pub fn new(source: ErrorSource, problem: Problem) -> ErrorReport {
        ErrorReport { source, problem }
    }
}

/// A NID as the text forms show it: `0x` and lowercase hex.
pub fn nid_hex(nid: Nid) -> String {
    format!("{nid:#x}")
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

#[cfg(test)]
mod tests {
    use ost_ndb::{NdbError, NdbErrorKind, NdbId};
    use ost_props::ProblemKind;

    use super::*;

    fn not_found() -> Problem {
        let e = NdbError::new(
            "NBT page",
            0x26200,
            NdbErrorKind::NotFound {
                key: NdbId::Nid(Nid(0x21)),
            },
        )
        .with_nid(Nid(0x80));
        Problem::ndb(&e).with_nid(Nid(0x200044))
    }

    /// Reports hold `Nid`s (and `dump` `Bid`s): each is written as the bare
    /// number the reports have always had, and `nid_hex` as before.
    #[test]
    fn ids_serialize_as_their_numbers() {
        let ids = (Nid(0x200044), Some(Nid(0x8022)), ost_ndb::Bid(0x1a4));
        assert_eq!(serde_json::to_string(&ids).unwrap(), "[2097220,32802,420]");
        assert_eq!(nid_hex(Nid(0x200044)), "0x200044");
    }

    #[test]
    fn an_error_report_is_one_flat_object() {
        let report = ErrorReport::new(ErrorSource::Item, not_found());
        assert_eq!(
            serde_json::to_string(&report).unwrap(),
            r#"{"source":"item","structure":"NBT page","offset":156160,"nid":2097220,"nid_hex":"0x200044","message":"NID 0x21 not found (NID 0x80)"}"#
        );
        let open = ErrorReport {
            source: ErrorSource::Open,
            problem: Problem::new(
                "directory",
                0,
                ProblemKind::Text("permission denied".into()),
            ),
        };
        assert_eq!(
            serde_json::to_string(&open).unwrap(),
            r#"{"source":"open","structure":"directory","offset":0,"nid":null,"nid_hex":null,"message":"permission denied"}"#
        );
    }

    #[test]
    fn a_problem_alone_has_no_nid_hex() {
        // The Sync Issues analysis' `errors`.
        assert_eq!(
            serde_json::to_string(&not_found()).unwrap(),
            r#"{"structure":"NBT page","offset":156160,"nid":2097220,"message":"NID 0x21 not found (NID 0x80)"}"#
        );
        assert_eq!(
            not_found().to_string(),
            "NBT page at offset 0x26200 (nid 0x200044): NID 0x21 not found (NID 0x80)"
        );
    }
}
