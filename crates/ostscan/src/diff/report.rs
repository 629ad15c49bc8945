//! The serializable shapes of a diff (`docs/diff.md`, `docs/diff.schema.json`).
//!
//! Plain data, built by [`super::diff_snapshots`]; the CLI prints it as one
//! JSON object or as NDJSON lines, and tests validate it against the schema.

use std::collections::BTreeMap;

use ost_props::{ItemRecord, Nid, Problem};
use serde::Serialize;

use crate::rules::Severity;

pub use crate::proof::{hex, pcl_view, pcl_view_in_store, ChangeKeyView, PclEntryView};

/// How a pair of items was matched across the two files; serialized as
/// its [`MatchKind::name`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MatchKind {
    /// PR_SOURCE_KEY (0x65E0) equal on both sides: the server's identity
    /// of the item, the same in every replica.
    SourceKey,
    /// PR_SEARCH_KEY (0x300B) equal, used when one side has no source key
    /// (a PST export, a local-only item).
    SearchKey,
    /// Same NID in two copies of one store (same PR_RECORD_KEY): the item's
    /// entry id, used when neither key is there.
    EntryId,
}

impl MatchKind {
    /// `source_key`, `search_key` or `entry_id`.
    pub fn name(self) -> &'static str {
        match self {
            MatchKind::SourceKey => "source_key",
            MatchKind::SearchKey => "search_key",
            MatchKind::EntryId => "entry_id",
        }
    }
}

impl Serialize for MatchKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// A rule's verdict on one matched pair, with both versions decoded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DiffFinding {
    pub rule: &'static str,
    pub severity: Severity,
    /// Which pair, serialized flat beside the rule.
    #[serde(flatten)]
    pub pair: MatchedPair,
    pub message_class: Option<String>,
    pub old_change_key: Option<ChangeKeyView>,
    pub new_change_key: Option<ChangeKeyView>,
    /// Decoded PCL; `None` when absent or undecodable (see `*_pcl_hex`).
    pub old_pcl: Option<Vec<PclEntryView>>,
    pub new_pcl: Option<Vec<PclEntryView>>,
    pub old_pcl_hex: Option<String>,
    pub new_pcl_hex: Option<String>,
    /// PR_LAST_MODIFICATION_TIME, RFC 3339.
    pub old_last_modified: Option<String>,
    pub new_last_modified: Option<String>,
    /// DIFF003 only: the body properties (`PR_BODY`, `PR_HTML`,
    /// `PR_RTF_COMPRESSED`) whose content differs; empty otherwise.
    pub changed_bodies: Vec<&'static str>,
    /// Why, with the decoded counters.
    pub detail: String,
}

/// An item only one side has (`added`: only NEW; `removed`: only OLD).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ListedItem {
    pub nid: Nid,
    /// `nid` as the text shows it (`0x…`).
    pub nid_hex: String,
    /// `contents` or `associated`.
    pub kind: &'static str,
    pub folder: String,
    pub subject: Option<String>,
    pub message_class: Option<String>,
    pub source_key: Option<String>,
    pub search_key: Option<String>,
    pub change_key: Option<ChangeKeyView>,
    pub last_modified: Option<String>,
}

impl ListedItem {
    pub fn new(r: &ItemRecord, namespaces: &ost_props::Namespaces) -> ListedItem {
        ListedItem {
            nid: r.nid,
            nid_hex: nid_hex(r.nid),
            kind: r.kind.name(),
            folder: r.folder.to_string(),
            subject: r.subject.clone(),
            message_class: r.message_class.clone(),
            source_key: r.source_key.as_deref().map(hex),
            search_key: r.search_key.as_deref().map(hex),
            change_key: r
                .change_key
                .as_deref()
                .map(|b| ChangeKeyView::in_store(b, namespaces)),
            last_modified: r.last_modified.map(|t| t.to_string()),
        }
    }
}

/// One item of OLD matched with one of NEW: how, by which key, and where
/// each is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MatchedPair {
    /// How the pair was matched.
    #[serde(rename = "match")]
    pub match_kind: MatchKind,
    /// PR_SOURCE_KEY, lower hex (NEW's, else OLD's); `None` when neither has one.
    pub source_key: Option<String>,
    /// PR_SEARCH_KEY, lower hex (NEW's, else OLD's).
    pub search_key: Option<String>,
    pub old_nid: Nid,
    pub new_nid: Nid,
    /// The NIDs as the text shows them (`0x…`).
    pub old_nid_hex: String,
    pub new_nid_hex: String,
    pub old_folder: String,
    pub new_folder: String,
    /// NEW's subject (OLD's when NEW has none).
    pub subject: Option<String>,
}

impl MatchedPair {
    pub fn new(match_kind: MatchKind, old: &ItemRecord, new: &ItemRecord) -> MatchedPair {
        let key = |k: fn(&ItemRecord) -> &Option<Vec<u8>>| {
            [new, old]
                .into_iter()
                .find_map(|r| k(r).as_deref().filter(|b| !b.is_empty()))
                .map(hex)
        };
        MatchedPair {
            match_kind,
            source_key: key(|r| &r.source_key),
            search_key: key(|r| &r.search_key),
            old_nid: old.nid,
            new_nid: new.nid,
            old_nid_hex: nid_hex(old.nid),
            new_nid_hex: nid_hex(new.nid),
            old_folder: old.folder.to_string(),
            new_folder: new.folder.to_string(),
            subject: new.subject.clone().or_else(|| old.subject.clone()),
        }
    }
}

/// A matched item whose folder changed: the pair, as matched.
pub type MovedItem = MatchedPair;

use crate::scan::nid_hex;
pub use crate::scan::SeverityCounts;

/// Matched pairs by how they were matched.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MatchCounts {
    pub source_key: u64,
    pub search_key: u64,
    pub entry_id: u64,
}

/// Totals of one diff.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DiffSummary {
    /// Items compared on each side (contents and associated; orphans are
    /// not live items and are left out).
    pub old_items: u64,
    pub new_items: u64,
    pub matched: u64,
    pub matched_by: MatchCounts,
    /// Matched pairs whose change key or PCL bytes differ.
    pub changed: u64,
    pub added: u64,
    pub removed: u64,
    pub moved: u64,
    pub findings: u64,
    /// Every DIFF rule, zero included.
    pub findings_by_rule: BTreeMap<&'static str, u64>,
    pub findings_by_severity: SeverityCounts,
    /// Entries of `errors`.
    pub errors: u64,
    /// Matched pairs with equal change keys whose bodies were read on both
    /// sides and compared (DIFF003).
    pub bodies_compared: u64,
}

/// One of the two files.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileSide {
    /// Exactly as given (JSON: a string, or `{"bytes", "text"}` when not UTF-8).
    pub path: crate::paths::FilePath,
    pub bytes: u64,
    /// `PST` or `OST`.
    pub client: &'static str,
    /// `ansi`, `unicode` or `unicode4k`.
    pub format: &'static str,
    /// PR_RECORD_KEY of the store, lower hex.
    pub record_key: Option<String>,
    pub folders: u64,
    pub items: u64,
}

/// Which file an error belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Old,
    New,
}

/// A problem met while reading one of the files; the diff went on. JSON:
/// `side` beside the problem's own fields (`structure`, `offset`, `nid`,
/// `nid_hex`, `message`), in one flat object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DiffError {
    pub side: Side,
    #[serde(flatten, serialize_with = "Problem::serialize_with_nid_hex")]
    pub problem: Problem,
}

impl DiffError {
    pub fn new(side: Side, problem: Problem) -> DiffError {
        DiffError { side, problem }
    }
}

/// The program that wrote the output: the scan report's.
pub use crate::report::Tool;

/// The whole diff, as `--json` prints it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DiffReport {
    /// [`super::SCHEMA_VERSION`].
    pub schema_version: u32,
    pub tool: Tool,
    pub old: FileSide,
    pub new: FileSide,
    pub summary: DiffSummary,
    /// In OLD's walk order of the matched items, then rule order.
    pub findings: Vec<DiffFinding>,
    /// Items only NEW has, in NEW's walk order.
    pub added: Vec<ListedItem>,
    /// Items only OLD has, in OLD's walk order.
    pub removed: Vec<ListedItem>,
    /// In OLD's walk order.
    pub moved: Vec<MovedItem>,
    /// Problems met reading either file, the walks' and the bodies'.
    pub errors: Vec<DiffError>,
    /// What makes the comparison itself doubtful.
    pub warnings: Vec<DiffWarning>,
}

/// Something about the pair of files as a whole the reader should know
/// before trusting the findings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DiffWarning {
    /// `different_mailboxes`: OLD and NEW share almost no source keys.
    pub code: &'static str,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use ost_ndb::ltp::LtpErrorKind;
    use ost_props::ProblemKind;

    use super::*;

    #[test]
    fn a_diff_error_is_its_side_then_the_problem() {
        let problem = Problem::new(
            "BTHHEADER",
            0x4200,
            ProblemKind::Ltp {
                kind: Box::new(LtpErrorKind::Cycle),
                within: None,
            },
        )
        .with_nid(Nid(0x200044))
        .context("reading the body (DIFF003 not checked)");
        let e = DiffError::new(Side::New, problem);
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"side":"new","structure":"BTHHEADER","offset":16896,"nid":2097220,"nid_hex":"0x200044","message":"reading the body (DIFF003 not checked): tree node reached twice (cycle or shared subtree)"}"#
        );
    }
}
