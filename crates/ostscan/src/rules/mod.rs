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

mod sync;
#[cfg(test)]
mod tests;

use core::fmt;

use serde::Serialize;

pub use sync::{check, check_into, check_local_change, check_row_against_item};

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
    /// Severity of every finding of this rule.
    pub severity: Severity,
    /// One-line meaning.
    pub summary: &'static str,
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

pub const CK001: RuleInfo = RuleInfo {
    id: "CK001",
    severity: Severity::Warning,
    summary: "change key missing while a PCL exists",
};
pub const CK002: RuleInfo = RuleInfo {
    id: "CK002",
    severity: Severity::Critical,
    summary: "change key is not a valid XID",
};
pub const PCL001: RuleInfo = RuleInfo {
    id: "PCL001",
    severity: Severity::Warning,
    summary: "PCL missing while a change key exists",
};
pub const PCL002: RuleInfo = RuleInfo {
    id: "PCL002",
    severity: Severity::Critical,
    summary: "PCL is malformed",
};
pub const PCL003: RuleInfo = RuleInfo {
    id: "PCL003",
    severity: Severity::Warning,
    summary: "one namespace GUID appears more than once in the PCL",
};
pub const PCL004: RuleInfo = RuleInfo {
    id: "PCL004",
    severity: Severity::Info,
    summary: "PCL entries are not sorted by namespace GUID",
};
pub const PCL005: RuleInfo = RuleInfo {
    id: "PCL005",
    severity: Severity::Warning,
    summary: "PCL holds the change key's namespace with a different LocalId length",
};
pub const SYNC001: RuleInfo = RuleInfo {
    id: "SYNC001",
    severity: Severity::Warning,
    summary: "the change key's namespace is absent from the PCL",
};
pub const SYNC002: RuleInfo = RuleInfo {
    id: "SYNC002",
    severity: Severity::Critical,
    summary: "PCL counter is higher than the change key's: the change key went backwards",
};
pub const SYNC003: RuleInfo = RuleInfo {
    id: "SYNC003",
    severity: Severity::Warning,
    summary: "PCL counter is lower than the change key's: the PCL was not updated",
};

pub const SYNC004: RuleInfo = RuleInfo {
    id: "SYNC004",
    severity: Severity::Info,
    summary: "local change pending upload: the change key is this cache's own and the PCL holds the server's version",
};
pub const SYNC005: RuleInfo = RuleInfo {
    id: "SYNC005",
    severity: Severity::Info,
    summary: "known only to this cache: the change key is this cache's own and the PCL holds no server version",
};
pub const ROW001: RuleInfo = RuleInfo {
    id: "ROW001",
    severity: Severity::Warning,
    summary:
        "the item and its contents-table row disagree on the change key, PCL or modification time",
};

/// Every rule, in report order.
pub static RULES: &[RuleInfo] = &[
    CK001, CK002, PCL001, PCL002, PCL003, PCL004, PCL005, SYNC001, SYNC002, SYNC003, SYNC004,
    SYNC005, ROW001,
];

/// Looks a rule up by id (case-insensitive).
pub fn rule_info(id: &str) -> Option<&'static RuleInfo> {
    RULES.iter().find(|rule| rule.id.eq_ignore_ascii_case(id))
}
