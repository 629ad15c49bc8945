//! Where the Sync Issues folders are: the Inbox's
//! PR_ADDITIONAL_REN_ENTRYIDS first, then their English names (see the
//! module above).

use ost_props::folder_ids::{additional_ren_entry_ids, EntryIdFolders};
use ost_props::{Problem, Pst, Store};

use super::{FoundBy, SpecialFolder, SyncIssuesFolders};

/// Find the Sync Issues folders: by the Inbox's PR_ADDITIONAL_REN_ENTRYIDS
/// first, then by name for those still missing.
pub fn locate(pst: &Pst<'_>, store: &Store<'_>) -> (SyncIssuesFolders, Vec<Problem>) {
    let folders = store.folders();
    let mut errors = Vec::new();
    let mut found = SyncIssuesFolders::default();
    let special = |i: usize, found_by| SpecialFolder {
        nid: folders[i].nid,
        path: folders[i].path.to_string(),
        found_by,
        items: 0,
    };

    // The Inbox: a folder named so one level below the IPM subtree; when
    // several folders carry the property, the shallowest wins.
    let mut inboxes: Vec<usize> = (0..folders.len())
        .filter(|&i| folders[i].name.eq_ignore_ascii_case("Inbox"))
        .collect();
    inboxes.sort_by_key(|&i| folders[i].depth);
    let mut ren: Option<Vec<Vec<u8>>> = None;
    for i in inboxes {
        match additional_ren_entry_ids(pst, folders[i].nid) {
            Ok(Some(values)) => {
                ren = Some(values);
                break;
            }
            Ok(None) => {}
            Err(e) => errors.push(Problem::ltp(pst, &e, folders[i].nid)),
        }
    }
    if let Some(values) = ren {
        let mut entry_ids = EntryIdFolders::new(store);
        for (k, bytes) in values.iter().enumerate().take(4) {
            if let Some(i) = entry_ids.folder(bytes, &mut errors) {
                let slot = match k {
                    0 => &mut found.conflicts,
                    1 => &mut found.sync_issues,
                    2 => &mut found.local_failures,
                    _ => &mut found.server_failures,
                };
                *slot = Some(special(i, FoundBy::AdditionalRenEntryIds));
            }
        }
    }

    // By name: "Sync Issues" (shallowest), then its children.
    if found.sync_issues.is_none() {
        let mut candidates: Vec<usize> = (0..folders.len())
            .filter(|&i| folders[i].name.eq_ignore_ascii_case("Sync Issues"))
            .collect();
        // Prefer the parent of a subfolder already found by entry id.
        let known_parent = [
            &found.conflicts,
            &found.local_failures,
            &found.server_failures,
        ]
        .into_iter()
        .flatten()
        .find_map(|s| folders.iter().find(|f| f.nid == s.nid)?.parent);
        candidates.sort_by_key(|&i| (Some(i) != known_parent, folders[i].depth));
        if let Some(&i) = candidates.first() {
            found.sync_issues = Some(special(i, FoundBy::Name));
        }
    }
    let parent = found
        .sync_issues
        .as_ref()
        .and_then(|s| folders.iter().position(|f| f.nid == s.nid));
    if let Some(p) = parent {
        let child = |name: &str| {
            (0..folders.len()).find(|&i| {
                folders[i].parent == Some(p) && folders[i].name.eq_ignore_ascii_case(name)
            })
        };
        for (name, slot) in [
            ("Conflicts", &mut found.conflicts),
            ("Local Failures", &mut found.local_failures),
            ("Server Failures", &mut found.server_failures),
        ] {
            if slot.is_none() {
                if let Some(i) = child(name) {
                    *slot = Some(special(i, FoundBy::Name));
                }
            }
        }
    }
    (found, errors)
}
