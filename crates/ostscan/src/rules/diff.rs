//! The rules that compare two copies of one mailbox (`ostscan diff`,
//! docs/rules.md and docs/diff.md); the matching is in `crate::diff`.

use super::{OstRemedy, RuleInfo, Scope, Severity};

pub const DIFF001: RuleInfo = RuleInfo {
    id: "DIFF001",
    scope: Scope::Diff,
    remedy: OstRemedy::Nothing,
    severity: Severity::Critical,
    summary: "the item's version went backwards between OLD and NEW",
};
pub const DIFF002: RuleInfo = RuleInfo {
    id: "DIFF002",
    scope: Scope::Diff,
    remedy: OstRemedy::Nothing,
    severity: Severity::Warning,
    summary: "OLD's and NEW's versions conflict: neither includes the other",
};
pub const DIFF003: RuleInfo = RuleInfo {
    id: "DIFF003",
    scope: Scope::Diff,
    remedy: OstRemedy::Nothing,
    severity: Severity::Warning,
    summary: "the item's content changed but its change key did not",
};

/// The diff rules, in report order.
pub static DIFF_RULES: &[RuleInfo] = &[DIFF001, DIFF002, DIFF003];
