//! The rule engine: checks one item's synchronization properties and
//! reports findings.
//!
//! Input is the raw bytes of PR_CHANGE_KEY (0x65E2) and
//! PR_PREDECESSOR_CHANGE_LIST (0x65E3) as a message provides them; output
//! is a list of [`Finding`]s, each naming a rule from [`RULES`].
//!
//! Rules are layered so that one fault is reported once: when a property is
//! missing or undecodable, the rules that would need its decoded value stay
//! silent (see `docs/rules.md`).

mod diff;
mod item;
mod server;
mod sync;
mod sync_issues;
#[cfg(test)]
mod tests;

use core::fmt;

use serde::Serialize;

pub use diff::*;
pub use item::*;
pub use server::*;
pub use sync::{check, check_into, check_local_change, check_row_against_item};
pub use sync_issues::*;

/// How much a finding matters. Ordered: `Info < Warning < Critical`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Deviates from the spec but does not break synchronization.
    Info,
    /// Likely to cause conflicts or a stale item.
    Warning,
    /// Synchronization of the item is broken or will lose data.
    Critical,
}

impl Severity {
    /// Lowercase name, as in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    /// Parses `info`, `warning` or `critical` (case-insensitive).
    pub fn parse(text: &str) -> Option<Self> {
        [Severity::Info, Severity::Warning, Severity::Critical]
            .into_iter()
            .find(|severity| severity.as_str().eq_ignore_ascii_case(text))
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rule in the catalogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RuleInfo {
    /// Stable identifier, e.g. `SYNC002`. Never reused for another meaning.
    pub id: &'static str,
    /// What the rule looks at.
    #[serde(skip)]
    pub scope: Scope,
    /// What an OST's folder with a finding of this rule needs.
    #[serde(skip)]
    pub remedy: OstRemedy,
    /// Severity of every finding of this rule.
    pub severity: Severity,
    /// One-line meaning.
    pub summary: &'static str,
}

/// What a rule looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// One item's (or folder's) change key and PCL (`rules/item.rs`).
    Item,
    /// An item against its contents-table row (`rules/item.rs`).
    Row,
    /// Outlook's Sync Issues records against the item findings
    /// (`rules/sync_issues.rs`).
    SyncIssues,
    /// Two copies of one mailbox (`rules/diff.rs`).
    Diff,
    /// The cache against the server's listing (`rules/server.rs`).
    Server,
}

/// What the folder of an OST item with a finding needs (docs/rules.md,
/// "Remedies, from mildest"). A PST has no offline items: there the
/// remedy is to compare with the item's source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OstRemedy {
    /// Clear Offline Items on the folder (after saving local-only changes).
    ClearOfflineItems,
    /// A change of this cache not yet on the server: clearing would lose it.
    KeepLocalChange,
    /// Nothing as a rule (a spec deviation that does not break sync, or a
    /// comparison whose answer depends on which copy is right).
    Nothing,
}

/// Every rule of every command, in report order: the item rules, SYNC010,
/// the diff rules, the server rules. docs/rules.md has a heading for each
/// (a test holds the two together).
pub static CATALOGUE: &[&RuleInfo] = &[
    &CK001, &CK002, &PCL001, &PCL002, &PCL003, &PCL004, &PCL005, &SYNC001, &SYNC002, &SYNC003,
    &SYNC004, &SYNC005, &ROW001, &SYNC010, &DIFF001, &DIFF002, &DIFF003, &SRV001, &SRV002, &SRV003,
    &SRV004,
];

/// Every rule a scan reports: the item rules of [`RULES`], then SYNC010,
/// which weighs a folder's item findings against Outlook's own Sync Issues
/// records.
pub fn scan_rules() -> impl Iterator<Item = &'static RuleInfo> {
    RULES.iter().chain(std::iter::once(&SYNC010))
}

/// Looks a rule up by id (case-insensitive), in the item rules.
pub fn rule_info(id: &str) -> Option<&'static RuleInfo> {
    RULES.iter().find(|rule| rule.id.eq_ignore_ascii_case(id))
}

/// Whether a finding of rule `id` makes its OST folder one to clear
/// (its remedy is [`OstRemedy::ClearOfflineItems`]).
pub fn clears_offline_items(id: &str) -> bool {
    CATALOGUE
        .iter()
        .any(|rule| rule.id == id && rule.remedy == OstRemedy::ClearOfflineItems)
}

/// One problem found on one item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The rule id, one of [`RULES`].
    pub rule: &'static str,
    /// The rule's severity.
    pub severity: Severity,
    /// One human-readable line with the decoded proof (GUIDs, counters).
    pub detail: String,
}

impl Finding {
    fn new(rule: &RuleInfo, detail: String) -> Self {
        Finding {
            rule: rule.id,
            severity: rule.severity,
            detail,
        }
    }
}

/// What a message provides to the rules. Raw property bytes; `None` when
/// the property is absent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncProps<'a> {
    /// PR_CHANGE_KEY (0x65E2): one XID, no size prefix.
    pub change_key: Option<&'a [u8]>,
    /// PR_PREDECESSOR_CHANGE_LIST (0x65E3): SizedXid entries.
    pub pcl: Option<&'a [u8]>,
}
