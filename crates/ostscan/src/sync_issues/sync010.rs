//! SYNC010: a folder where Outlook's own records (logs with errors,
//! conflict items; see [`super::FolderEvidence`]) and the change key / PCL
//! rules agree. The rule itself is in the catalogue
//! (`crate::rules::SYNC010`).

use std::collections::BTreeMap;

use serde::Serialize;

use ost_props::Nid;

use super::SyncIssuesReport;
use crate::rules::{Severity, SYNC010};

/// A SYNC010 finding: a folder where Outlook's own records and the
/// change key / PCL rules agree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FolderFinding {
    pub rule: &'static str,
    pub severity: Severity,
    pub folder_nid: Nid,
    pub folder: String,
    /// SYNC001-003 findings on the folder's items and on the conflict copies
    /// that concern it (as the caller counted them).
    pub sync_findings: u64,
    pub logs_with_errors: u64,
    pub error_codes: Vec<String>,
    pub conflict_items: u64,
    /// Clear Offline Items on this folder first: true in an OST; false in
    /// a PST, which has no offline items ([`FolderFinding::for_local_store`]).
    pub recommend_clear_offline_items: bool,
    pub detail: String,
}

/// The end of a SYNC010 detail in an OST.
const CLEAR_FIRST: &str = "Clear Offline Items on this folder first";
/// ... and in a store that is not a cache.
const COMPARE_FIRST: &str = "the items are local (a PST is not synchronized, there are no offline items to clear): compare them with their source first";

impl FolderFinding {
    /// The finding as it applies to a store that is not a cache (a PST):
    /// no Clear Offline Items, compare the items with their source.
    pub fn for_local_store(&mut self) {
        self.recommend_clear_offline_items = false;
        if let Some(why) = self.detail.strip_suffix(CLEAR_FIRST) {
            self.detail = format!("{why}{COMPARE_FIRST}");
        }
    }
}

/// SYNC010 for every folder that has evidence in `report` and a non-zero
/// count in `sync_findings_by_folder` (folder NID -> number of SYNC001-003
/// findings on its items, a conflict copy's counted for the folder
/// [`SyncIssuesReport::sync_folder_of`] names). In walk order.
///
/// `cache`: the store is an OST. Then never for a folder of the Sync Issues
/// tree itself (a log may name one): Outlook keeps its items in the cache
/// only, so there is nothing to clear. A PST's copy of that tree is local
/// like the rest of the PST and keeps its SYNC010.
pub fn sync010(
    report: &SyncIssuesReport,
    sync_findings_by_folder: &BTreeMap<Nid, u64>,
    cache: bool,
) -> Vec<FolderFinding> {
    report
        .evidence
        .iter()
        .filter(|e| !(cache && report.folders.contains(e.nid)))
        .filter_map(|e| {
            let n = *sync_findings_by_folder.get(&e.nid)?;
            if n == 0 {
                return None;
            }
            let mut why = Vec::new();
            if e.logs_with_errors > 0 {
                let codes = if e.error_codes.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", e.error_codes.join(", "))
                };
                why.push(format!(
                    "{} synchronization log(s) report errors for it{codes}",
                    e.logs_with_errors
                ));
            }
            if e.conflict_items > 0 {
                why.push(format!("{} conflict item(s) concern it", e.conflict_items));
            }
            Some(FolderFinding {
                rule: SYNC010.id,
                severity: SYNC010.severity,
                folder_nid: e.nid,
                folder: e.path.clone(),
                sync_findings: n,
                logs_with_errors: e.logs_with_errors,
                error_codes: e.error_codes.clone(),
                conflict_items: e.conflict_items,
                recommend_clear_offline_items: true,
                detail: format!(
                    "{} and {n} SYNC00x findings concern its items (conflict copies included): {CLEAR_FIRST}",
                    why.join("; ")
                ),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync_issues::{FolderEvidence, FoundBy, SpecialFolder};

    fn logged_errors(nid: Nid, path: &str) -> FolderEvidence {
        FolderEvidence {
            nid,
            path: path.to_string(),
            logs_with_errors: 1,
            error_codes: vec!["0x80040119".to_string()],
            conflict_items: 0,
        }
    }

    #[test]
    fn a_folder_of_an_osts_sync_issues_tree_gets_no_sync010() {
        let (inbox, conflicts) = (Nid(0x8082), Nid(0x80c2));
        let mut report = SyncIssuesReport::default();
        report.folders.conflicts = Some(SpecialFolder {
            nid: conflicts,
            path: "/Top/Sync Issues/Conflicts".to_string(),
            found_by: FoundBy::AdditionalRenEntryIds,
            items: 3,
        });
        report.evidence = vec![
            logged_errors(inbox, "/Top/Inbox"),
            logged_errors(conflicts, "/Top/Sync Issues/Conflicts"),
        ];
        let counts = BTreeMap::from([(inbox, 2), (conflicts, 3)]);
        let folders = |found: &[FolderFinding]| -> Vec<(Nid, u64)> {
            found
                .iter()
                .map(|f| (f.folder_nid, f.sync_findings))
                .collect()
        };
        // An OST: the Inbox only.
        assert_eq!(folders(&sync010(&report, &counts, true)), [(inbox, 2)]);
        // A PST (a copy of the tree, local like the rest): both.
        assert_eq!(
            folders(&sync010(&report, &counts, false)),
            [(inbox, 2), (conflicts, 3)]
        );
    }
}
