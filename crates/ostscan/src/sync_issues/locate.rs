//! Where the Sync Issues folders are: the Inbox's
//! PR_ADDITIONAL_REN_ENTRYIDS first, then their English names (see the
//! module above).

use std::collections::HashMap;

use ost_props::entry_id::{parse_entry_id, EntryId};
use ost_props::tags::{PR_ADDITIONAL_REN_ENTRYIDS, PR_SOURCE_KEY};
use ost_props::{PropertyContext, Pst, Store};

use super::{FoundBy, SpecialFolder, SyncIssuesError, SyncIssuesFolders};

/// Open the PC of a node, recording a failure.
fn open_pc<'p>(
    pst: &'p Pst<'p>,
    nid: u32,
    structure: &str,
    errors: &mut Vec<SyncIssuesError>,
) -> Option<PropertyContext<'p>> {
    match ost_props::open_pc(pst, nid) {
        Ok(pc) => Some(pc),
        Err(e) => {
            errors.push(SyncIssuesError::at(pst, &e, nid, structure));
            None
        }
    }
}

/// Find the Sync Issues folders: by the Inbox's PR_ADDITIONAL_REN_ENTRYIDS
/// first, then by name for those still missing.
pub fn locate(pst: &Pst<'_>, store: &Store<'_>) -> (SyncIssuesFolders, Vec<SyncIssuesError>) {
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
        let Some(pc) = open_pc(pst, folders[i].nid, "Inbox PC", &mut errors) else {
            continue;
        };
        match pc.get(PR_ADDITIONAL_REN_ENTRYIDS) {
            Ok(Some(v)) => match v.values() {
                Ok(values) => {
                    ren = Some(values.into_iter().map(<[u8]>::to_vec).collect());
                    break;
                }
                Err(e) => errors.push(SyncIssuesError::at(pst, &e, folders[i].nid, "Inbox PC")),
            },
            Ok(None) => {}
            Err(e) => errors.push(SyncIssuesError::at(pst, &e, folders[i].nid, "Inbox PC")),
        }
    }
    if let Some(values) = ren {
        // Exchange entry ids name folders by source key: read those only
        // when needed (folders are few; each read is one PC lookup).
        let mut by_source_key: Option<HashMap<Vec<u8>, usize>> = None;
        let mut resolve = |bytes: &[u8], errors: &mut Vec<SyncIssuesError>| -> Option<usize> {
            match parse_entry_id(bytes)? {
                EntryId::Pst { nid, .. } => folders.iter().position(|f| f.nid == nid),
                EntryId::ExchangeFolder { source_key, .. } => {
                    let map = by_source_key.get_or_insert_with(|| {
                        // A folder's PR_SOURCE_KEY (stores copied from a
                        // mailbox), else the one its folder id stands for
                        // (OSTs, which store none: replica GUID + GLOBCNT).
                        let namespaces = store.namespaces();
                        let mut map = HashMap::new();
                        for (i, f) in folders.iter().enumerate() {
                            if let Some(pc) = open_pc(pst, f.nid, "folder PC", errors) {
                                if let Ok(Some(v)) = pc.get(PR_SOURCE_KEY) {
                                    map.entry(v.as_bytes().to_vec()).or_insert(i);
                                    continue;
                                }
                            }
                            if let Some(key) = f.object_id.and_then(|id| namespaces.source_key(id))
                            {
                                map.entry(key.to_vec()).or_insert(i);
                            }
                        }
                        map
                    });
                    map.get(&source_key[..]).copied()
                }
                EntryId::ExchangeMessage { .. } => None,
            }
        };
        for (k, bytes) in values.iter().enumerate().take(4) {
            if let Some(i) = resolve(bytes, &mut errors) {
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
