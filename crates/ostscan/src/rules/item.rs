//! The rules on one item's (or folder's) change key and PCL, and on an
//! item against its contents-table row (docs/rules.md, "Rules"). The
//! checks are in `sync.rs`.

use super::{OstRemedy, RuleInfo, Scope, Severity};

pub const CK001: RuleInfo = RuleInfo {
    id: "CK001",
    scope: Scope::Item,
    remedy: OstRemedy::ClearOfflineItems,
    severity: Severity::Warning,
    summary: "change key missing while a PCL exists",
};
pub const CK002: RuleInfo = RuleInfo {
    id: "CK002",
    scope: Scope::Item,
    remedy: OstRemedy::ClearOfflineItems,
    severity: Severity::Critical,
    summary: "change key is not a valid XID",
};
pub const PCL001: RuleInfo = RuleInfo {
    id: "PCL001",
    scope: Scope::Item,
    remedy: OstRemedy::ClearOfflineItems,
    severity: Severity::Warning,
    summary: "PCL missing while a change key exists",
};
pub const PCL002: RuleInfo = RuleInfo {
    id: "PCL002",
    scope: Scope::Item,
    remedy: OstRemedy::ClearOfflineItems,
    severity: Severity::Critical,
    summary: "PCL is malformed",
};
pub const PCL003: RuleInfo = RuleInfo {
    id: "PCL003",
    scope: Scope::Item,
    remedy: OstRemedy::Nothing,
    severity: Severity::Warning,
    summary: "one namespace GUID appears more than once in the PCL",
};
pub const PCL004: RuleInfo = RuleInfo {
    id: "PCL004",
    scope: Scope::Item,
    remedy: OstRemedy::Nothing,
    severity: Severity::Info,
    summary: "PCL entries are not sorted by namespace GUID",
};
pub const PCL005: RuleInfo = RuleInfo {
    id: "PCL005",
    scope: Scope::Item,
    remedy: OstRemedy::ClearOfflineItems,
    severity: Severity::Warning,
    summary: "PCL holds the change key's namespace with a different LocalId length",
};
pub const SYNC001: RuleInfo = RuleInfo {
    id: "SYNC001",
    scope: Scope::Item,
    remedy: OstRemedy::ClearOfflineItems,
    severity: Severity::Warning,
    summary: "the change key's namespace is absent from the PCL",
};
pub const SYNC002: RuleInfo = RuleInfo {
    id: "SYNC002",
    scope: Scope::Item,
    remedy: OstRemedy::ClearOfflineItems,
    severity: Severity::Critical,
    summary: "PCL counter is higher than the change key's: the change key went backwards",
};
pub const SYNC003: RuleInfo = RuleInfo {
    id: "SYNC003",
    scope: Scope::Item,
    remedy: OstRemedy::ClearOfflineItems,
    severity: Severity::Warning,
    summary: "PCL counter is lower than the change key's: the PCL was not updated",
};

pub const SYNC004: RuleInfo = RuleInfo {
    id: "SYNC004",
    scope: Scope::Item,
    remedy: OstRemedy::KeepLocalChange,
    severity: Severity::Info,
    summary: "local change pending upload: the change key is this cache's own and the PCL holds the server's version",
};
pub const SYNC005: RuleInfo = RuleInfo {
    id: "SYNC005",
    scope: Scope::Item,
    remedy: OstRemedy::KeepLocalChange,
    severity: Severity::Info,
    summary: "known only to this cache: the change key is this cache's own and the PCL holds no server version",
};
pub const ROW001: RuleInfo = RuleInfo {
    id: "ROW001",
    scope: Scope::Row,
    remedy: OstRemedy::ClearOfflineItems,
    severity: Severity::Warning,
    summary:
        "the item and its contents-table row disagree on the change key, PCL or modification time",
};

/// The item rules, in report order.
pub static RULES: &[RuleInfo] = &[
    CK001, CK002, PCL001, PCL002, PCL003, PCL004, PCL005, SYNC001, SYNC002, SYNC003, SYNC004,
    SYNC005, ROW001,
];
