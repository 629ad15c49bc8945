//! The rule on what Outlook itself recorded in its Sync Issues folders
//! (docs/rules.md, "Rules from Outlook's own records"); the analysis is in
//! `crate::sync_issues`.

use super::{OstRemedy, RuleInfo, Scope, Severity};

pub const SYNC010: RuleInfo = RuleInfo {
    id: "SYNC010",
    scope: Scope::SyncIssues,
    remedy: OstRemedy::ClearOfflineItems,
    severity: Severity::Critical,
    summary: "Outlook logged sync errors or conflicts for a folder whose items also have SYNC00x findings",
};
