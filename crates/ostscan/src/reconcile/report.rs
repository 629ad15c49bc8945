//! The serializable shapes of a reconciliation (`docs/reconcile.md`,
//! `docs/reconcile.schema.json`). Plain data, built by
//! [`super::reconcile`]; the CLI prints it as one JSON object, as NDJSON
//! lines, or as text.

use std::collections::BTreeMap;

use ost_props::{Nid, Problem};
use serde::ser::{SerializeStruct, Serializer};
use serde::Serialize;

use crate::paths::FilePath;
use crate::proof::{ChangeKeyView, SyncValuesView};
use crate::rules::Severity;
use crate::scan::{ItemIdentity, NamespacesView, SeverityCounts};
use crate::status::Status;

use super::listing::{ChangeKeyOrigin, ListingError, ListingFormat};

pub use crate::report::Tool;

/// The cache file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CacheSide {
    /// Exactly as given (JSON: a string, or `{"bytes", "text"}` when not UTF-8).
    pub path: FilePath,
    pub bytes: u64,
    /// `PST` or `OST`.
    pub client: &'static str,
    /// `ansi`, `unicode` or `unicode4k`.
    pub format: &'static str,
    /// The namespaces that say which change keys are the server's.
    pub namespaces: NamespacesView,
    pub folders: u64,
    /// Contents and associated items read.
    pub items: u64,
}

/// The listing file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ListingSide {
    /// As given; `-` is standard input.
    pub path: FilePath,
    /// `graph` or `normalized`.
    pub format: ListingFormat,
    /// Whether the format was detected (else given with `--server-format`).
    pub format_detected: bool,
    pub bytes: u64,
    pub lines: u64,
    /// Top-level JSON objects (pages, messages or lines).
    pub objects: u64,
    /// Items listed with a source key (usable or not).
    pub entries: u64,
}

/// What the listing says of the item besides its version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServerView {
    #[serde(flatten)]
    pub version: SyncValuesView,
    /// Where the change key came from: `hex` (normalized), `extended_property`
    /// (Graph `Binary 0x65e2`) or `ews_change_key` (Graph `changeKey`).
    pub change_key_origin: Option<ChangeKeyOrigin>,
    pub subject: Option<String>,
    pub folder: Option<String>,
    /// Graph's item id.
    pub id: Option<String>,
}

/// A rule's verdict on one item both sides have.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReconcileFinding {
    pub rule: &'static str,
    pub severity: Severity,
    /// PR_SOURCE_KEY, lower hex: the match.
    pub source_key: String,
    /// Whether the cache's source key was derived from the item's MID.
    pub source_key_derived: bool,
    /// The cache's item (`kind` is `contents` or `associated`).
    #[serde(flatten)]
    pub item: ItemIdentity,
    /// The listing line the item is on.
    pub listing_line: u64,
    pub cache: SyncValuesView,
    pub server: ServerView,
    /// Why, with the decoded counters.
    pub detail: String,
}

/// An item both sides have whose versions could not be compared.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NotCompared {
    pub source_key: String,
    pub nid: Nid,
    pub folder: String,
    pub subject: Option<String>,
    pub listing_line: u64,
    pub reason: String,
}

/// An item only the cache has.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CacheOnly {
    pub nid: Nid,
    pub kind: &'static str,
    pub folder: String,
    pub folder_nid: Nid,
    pub subject: Option<String>,
    pub source_key: String,
    pub change_key: Option<ChangeKeyView>,
    pub last_modified: Option<String>,
}

/// An item only the listing has.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServerOnly {
    pub listing_line: u64,
    pub source_key: String,
    pub folder: Option<String>,
    pub subject: Option<String>,
    pub id: Option<String>,
    pub change_key: Option<ChangeKeyView>,
    pub last_modified: Option<String>,
}

/// One cache folder: what was matched, what only the cache has, the
/// findings, and the remedy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FolderReport {
    pub folder: String,
    pub folder_nid: Nid,
    /// Items of the folder with a source key (contents and associated).
    pub items: u64,
    pub matched: u64,
    /// Contents items the listing does not have.
    pub cache_only: u64,
    pub findings: u64,
    /// Every SRV rule, zero included.
    pub findings_by_rule: BTreeMap<&'static str, u64>,
    pub findings_by_severity: SeverityCounts,
    pub worst_severity: Option<Severity>,
    /// Whether *Clear Offline Items* on this folder is the remedy: an
    /// SRV001 finding is here.
    pub recommend_clear_offline_items: bool,
    /// SRV004 items here: local changes not yet on the server, which
    /// clearing the folder would lose (save them first).
    pub local_changes_pending: u64,
}

/// Items only the listing has, per server folder (the listing's `folder`,
/// Graph `folderPath` or `parentFolderId`; null when it names none).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServerFolderCount {
    pub folder: Option<String>,
    pub items: u64,
}

/// A problem met while reading either input; the run went on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReconcileError {
    /// Reading the cache file: located by structure, file offset and node.
    Cache(Problem),
    /// Reading the listing: located by its line.
    Listing(ListingError),
}

/// JSON: one flat object of the same fields for both, `source` (`cache` or
/// `listing`), `structure`, `offset`, `nid` (the cache's, else null),
/// `line` (the listing's 1-based line, else null) and `message`.
impl Serialize for ReconcileError {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut o = s.serialize_struct("ReconcileError", 6)?;
        let (source, problem, line) = match self {
            ReconcileError::Cache(p) => ("cache", Some(p), None),
            ReconcileError::Listing(e) => ("listing", None, Some(e.line)),
        };
        o.serialize_field("source", source)?;
        o.serialize_field("structure", &problem.map(|p| &p.structure))?;
        o.serialize_field("offset", &problem.map(|p| p.offset))?;
        o.serialize_field("nid", &problem.and_then(|p| p.nid))?;
        o.serialize_field("line", &line)?;
        match self {
            ReconcileError::Cache(p) => {
                o.serialize_field("message", &format_args!("{}", p.kind))?
            }
            ReconcileError::Listing(e) => o.serialize_field("message", &e.message)?,
        }
        o.end()
    }
}

/// Totals.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ReconcileSummary {
    /// Contents and associated items of the cache.
    pub cache_items: u64,
    /// Of those, the ones without a source key (local-only items, or a
    /// MID whose replica the map does not list): they cannot be matched.
    pub cache_without_source_key: u64,
    /// Items of the listing with a source key (usable or not).
    pub listing_entries: u64,
    /// Items on both sides.
    pub matched: u64,
    /// Matched items whose versions are the same.
    pub identical: u64,
    /// Matched items whose versions could not be compared (`not_compared`).
    pub not_compared: u64,
    pub findings: u64,
    /// Every SRV rule, zero included.
    pub findings_by_rule: BTreeMap<&'static str, u64>,
    pub findings_by_severity: SeverityCounts,
    /// Contents items with a source key that the listing lacks.
    pub cache_only: u64,
    /// Associated (FAI) items the listing lacks: not counted as missing,
    /// as Graph does not list them.
    pub associated_unmatched: u64,
    /// Listing items the cache lacks.
    pub server_only: u64,
    /// Listing entries whose source key an earlier entry had (the first
    /// is compared; those with another version are also errors).
    pub duplicates: u64,
    /// Folders to clear (SRV001), worst first.
    pub folders_to_clear: Vec<String>,
    /// Entries of `errors` plus errors past the cap.
    pub errors: u64,
    /// Errors past the caps (the listing's; the cache's integrity
    /// problems): counted in `errors`, not listed.
    pub errors_dropped: u64,
}

/// The whole reconciliation, as `--json` prints it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReconcileReport {
    /// [`super::SCHEMA_VERSION`].
    pub schema_version: u32,
    pub tool: Tool,
    /// `ok`, or `partial` when either input had errors (see `errors`).
    pub status: Status,
    pub cache: CacheSide,
    pub listing: ListingSide,
    pub summary: ReconcileSummary,
    /// Cache folders with items, in walk order.
    pub folders: Vec<FolderReport>,
    /// In the cache's walk order.
    pub findings: Vec<ReconcileFinding>,
    pub not_compared: Vec<NotCompared>,
    pub server_only_by_folder: Vec<ServerFolderCount>,
    /// Only with `--all` (else empty; counted in the summary and folders).
    pub cache_only: Vec<CacheOnly>,
    /// Only with `--all`.
    pub server_only: Vec<ServerOnly>,
    pub errors: Vec<ReconcileError>,
}

#[cfg(test)]
mod tests {
    use ost_props::ProblemKind;

    use super::*;

    #[test]
    fn cache_and_listing_errors_have_the_same_fields() {
        let cache = ReconcileError::Cache(
            Problem::new("hierarchy table", 0, ProblemKind::FolderListedTwice)
                .with_nid(Nid(0x8022)),
        );
        assert_eq!(
            serde_json::to_string(&cache).unwrap(),
            r#"{"source":"cache","structure":"hierarchy table","offset":0,"nid":32802,"line":null,"message":"folder listed twice (cycle or shared subtree); skipped"}"#
        );
        let listing = ReconcileError::Listing(ListingError {
            line: 7,
            message: "invalid JSON: EOF while parsing (column 3)".into(),
        });
        assert_eq!(
            serde_json::to_string(&listing).unwrap(),
            r#"{"source":"listing","structure":null,"offset":null,"nid":null,"line":7,"message":"invalid JSON: EOF while parsing (column 3)"}"#
        );
    }
}
