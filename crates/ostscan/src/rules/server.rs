//! The rules that compare the cache with the server's listing (`ostscan
//! reconcile`, docs/rules.md and docs/reconcile.md); the matching is in
//! `crate::reconcile`.

use super::{OstRemedy, RuleInfo, Scope, Severity};

pub const SRV001: RuleInfo = RuleInfo {
    id: "SRV001",
    scope: Scope::Server,
    remedy: OstRemedy::ClearOfflineItems,
    severity: Severity::Critical,
    summary: "the server's version went backwards: it holds a lower counter than the cache for a change the server made",
};
pub const SRV002: RuleInfo = RuleInfo {
    id: "SRV002",
    scope: Scope::Server,
    remedy: OstRemedy::Nothing,
    severity: Severity::Warning,
    summary: "the cache's and the server's versions conflict: neither includes the other",
};
pub const SRV003: RuleInfo = RuleInfo {
    id: "SRV003",
    scope: Scope::Server,
    remedy: OstRemedy::Nothing,
    severity: Severity::Info,
    summary: "pending download: the server's version includes the cache's and is newer",
};
pub const SRV004: RuleInfo = RuleInfo {
    id: "SRV004",
    scope: Scope::Server,
    remedy: OstRemedy::KeepLocalChange,
    severity: Severity::Info,
    summary:
        "pending upload: the cache's change key is its own and its version includes the server's",
};

/// The reconcile rules, in report order.
pub static SRV_RULES: &[RuleInfo] = &[SRV001, SRV002, SRV003, SRV004];
