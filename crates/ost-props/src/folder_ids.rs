//! Which folder of a store an entry id names (see [`crate::entry_id`]): a
//! PST entry id by its NID; an Exchange folder entry id by its source key,
//! which is the folder's PR_SOURCE_KEY in stores copied from a mailbox,
//! else the one its folder id stands for (OSTs store none: replica GUID +
//! GLOBCNT). And the entry ids Outlook keeps on the Inbox to find its
//! special folders (PR_ADDITIONAL_REN_ENTRYIDS).

use std::collections::HashMap;

use ost_ndb::ltp::LtpError;
use ost_ndb::{Nid, Pst};

use crate::entry_id::{parse_entry_id, EntryId};
use crate::item::open_pc;
use crate::problem::Problem;
use crate::store::Store;
use crate::tags::{PR_ADDITIONAL_REN_ENTRYIDS, PR_SOURCE_KEY};

/// PR_ADDITIONAL_REN_ENTRYIDS (0x36D8, PT_MV_BINARY) of folder `nid`, each
/// value as stored; `None` when the folder does not have it. Outlook keeps
/// it on the Inbox: value 0 names Conflicts, 1 Sync Issues, 2 Local
/// Failures, 3 Server Failures, 4 Junk E-mail.
pub fn additional_ren_entry_ids(pst: &Pst<'_>, nid: Nid) -> Result<Option<Vec<Vec<u8>>>, LtpError> {
    let pc = open_pc(pst, nid)?;
    let Some(v) = pc.get(PR_ADDITIONAL_REN_ENTRYIDS)? else {
        return Ok(None);
    };
    Ok(Some(v.values()?.into_iter().map(<[u8]>::to_vec).collect()))
}

/// The folders of a store that entry ids name.
pub struct EntryIdFolders<'s, 'a> {
    store: &'s Store<'a>,
    /// Folder index by source key: read on the first Exchange entry id
    /// (folders are few; each is one property context read).
    by_source_key: Option<HashMap<Vec<u8>, usize>>,
}

impl<'s, 'a> EntryIdFolders<'s, 'a> {
    pub fn new(store: &'s Store<'a>) -> Self {
        EntryIdFolders {
            store,
            by_source_key: None,
        }
    }

    /// The index in [`Store::folders`] of the folder `entry_id` names;
    /// `None` for an entry id of another shape, of a message, or of no
    /// folder of the store. Folders whose property context cannot be read
    /// (looking for their source keys) are added to `errors`; a source key
    /// that cannot be read counts as absent.
    pub fn folder(&mut self, entry_id: &[u8], errors: &mut Vec<Problem>) -> Option<usize> {
        let folders = self.store.folders();
        match parse_entry_id(entry_id)? {
            EntryId::Pst { nid, .. } => folders.iter().position(|f| f.nid == nid),
            EntryId::ExchangeFolder { source_key, .. } => {
                let store = self.store;
                let map = self
                    .by_source_key
                    .get_or_insert_with(|| source_keys(store, errors));
                map.get(&source_key[..]).copied()
            }
            EntryId::ExchangeMessage { .. } => None,
        }
    }
}

/// Each folder's index by its source key: stored, else derived from its
/// folder id. The first folder of a key keeps it.
fn source_keys(store: &Store<'_>, errors: &mut Vec<Problem>) -> HashMap<Vec<u8>, usize> {
    let pst = store.pst();
    let namespaces = store.namespaces();
    let mut map = HashMap::new();
    for (i, f) in store.folders().iter().enumerate() {
        match open_pc(pst, f.nid) {
            Ok(pc) => {
                if let Ok(Some(v)) = pc.get(PR_SOURCE_KEY) {
                    map.entry(v.as_bytes().to_vec()).or_insert(i);
                    continue;
                }
            }
            Err(e) => errors.push(Problem::ltp(pst, &e, f.nid)),
        }
        if let Some(key) = f.object_id.and_then(|id| namespaces.source_key(id)) {
            map.entry(key.to_vec()).or_insert(i);
        }
    }
    map
}
