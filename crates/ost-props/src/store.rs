//! The messaging walk: the folder tree from the root folder through the
//! hierarchy tables, each folder's contents and associated contents tables,
//! and the message nodes no table lists (orphans), then the sync properties
//! of each message, read lazily from its property context.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use ost_ndb::ltp::prop_type as pt;
use ost_ndb::ltp::tc::TableContext;
use ost_ndb::ltp::{LtpError, PcEntry, PropValue, PropertyContext};
use ost_ndb::{NbtEntry, NdbError, Nid, NidType, Pst};

use crate::chunked::ChunkedVec;
use crate::item::{ItemKind, ItemRecord, ItemRef, WalkError};
use crate::strings::{decode_string8, decode_unicode};
use crate::tags::*;
use crate::time::FileTime;
use crate::view::ItemView;

/// Folders nested deeper than this are not followed (Outlook allows far
/// fewer; a deeper chain is a crafted or corrupt hierarchy).
pub const MAX_FOLDER_DEPTH: usize = 256;

/// The code page of PT_STRING8 values when an item names none.
pub const DEFAULT_CODEPAGE: u32 = 1252;

/// The message properties `read_item` resolves.
const WANTED: [u16; 13] = [
    PR_MESSAGE_CODEPAGE,
    PR_INTERNET_CPID,
    PR_SUBJECT,
    PR_MESSAGE_CLASS,
    PR_CHANGE_KEY,
    PR_PREDECESSOR_CHANGE_LIST,
    PR_SOURCE_KEY,
    PR_PARENT_SOURCE_KEY,
    PR_SEARCH_KEY,
    PR_CONFLICT_ENTRYID,
    PR_LAST_MODIFICATION_TIME,
    PR_CHANGE_NUM,
    PR_MESSAGE_STATUS,
];

/// Index of a property in [`WANTED`] (a `match`, not a scan of the list:
/// this runs for every property of every message).
fn wanted_index(id: u16) -> Option<usize> {
    let i = match id {
        PR_MESSAGE_CODEPAGE => 0,
        PR_INTERNET_CPID => 1,
        PR_SUBJECT => 2,
        PR_MESSAGE_CLASS => 3,
        PR_CHANGE_KEY => 4,
        PR_PREDECESSOR_CHANGE_LIST => 5,
        PR_SOURCE_KEY => 6,
        PR_PARENT_SOURCE_KEY => 7,
        PR_SEARCH_KEY => 8,
        PR_CONFLICT_ENTRYID => 9,
        PR_LAST_MODIFICATION_TIME => 10,
        PR_CHANGE_NUM => 11,
        PR_MESSAGE_STATUS => 12,
        _ => return None,
    };
    debug_assert_eq!(WANTED[i], id);
    Some(i)
}

/// A folder of the walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    pub nid: u32,
    /// Index of the parent in [`Store::folders`]; `None` for the root.
    pub parent: Option<usize>,
    /// PR_DISPLAY_NAME, or `<nid N>` when it has none.
    pub name: String,
    /// `/` for the root folder, `/Top of Personal Folders/Inbox` below it.
    pub path: Arc<str>,
    pub depth: usize,
    /// PR_CONTENT_COUNT as stored.
    pub content_count: Option<u32>,
}

/// A store opened for walking.
pub struct Store<'a> {
    pst: &'a Pst<'a>,
    folders: Vec<Folder>,
    errors: Vec<WalkError>,
    /// NBT entries of message nodes, in the order of the one NBT walk
    /// `item_refs` makes; each [`ItemRef`] holds the index of its own, so
    /// reading an item needs neither an NBT descent nor a search.
    message_nodes: ChunkedVec<NbtEntry>,
    /// The folder path of items whose folder is unknown.
    no_folder: Arc<str>,
}

/// What one folder's tables list ([`Store::list_folder`]).
#[derive(Debug, Default)]
pub struct FolderListing {
    refs: Vec<ItemRef>,
    errors: Vec<WalkError>,
}

/// The message nodes of the NBT ([`Store::walk_message_nodes`]).
#[derive(Debug, Default)]
pub struct MessageNodes {
    entries: ChunkedVec<NbtEntry>,
    errors: Vec<WalkError>,
}

/// Finds runs of one key in a sorted list, for keys that mostly come in
/// ascending order: a few linear steps forward from where the last search
/// ended (the usual case, a merge), bisection otherwise. Never more than
/// a bisection per key, whatever order a damaged NBT yields them in.
#[derive(Default)]
struct SortedCursor {
    at: usize,
}

impl SortedCursor {
    /// The range of `list` whose key is `key` (empty when there is none).
    fn find<V>(&mut self, list: &[(u32, V)], key: u32) -> std::ops::Range<usize> {
        let from = if self.at > 0 && list.get(self.at - 1).is_some_and(|e| e.0 >= key) {
            0
        } else {
            self.at.min(list.len())
        };
        let start = from + count_leading(&list[from..], |e| e.0 < key);
        let end = start + count_leading(&list[start..], |e| e.0 == key);
        self.at = end;
        start..end
    }
}

/// How many elements at the front of `list` satisfy `pred`, which holds
/// for a prefix of it: a few linear steps (the answer is usually 0 or 1),
/// then bisection.
fn count_leading<T>(list: &[T], pred: impl Fn(&T) -> bool) -> usize {
    const STEPS: usize = 8;
    match list.iter().take(STEPS).position(|e| !pred(e)) {
        Some(n) => n,
        None => {
            STEPS.min(list.len())
                + list
                    .get(STEPS..)
                    .map_or(0, |rest| rest.partition_point(&pred))
        }
    }
}

impl From<&LtpError> for WalkError {
    fn from(e: &LtpError) -> WalkError {
        match e.ndb() {
            Some(n) => WalkError::from(n),
            None => WalkError {
                structure: e.structure.to_string(),
                offset: e.offset,
                nid: e.nid,
                message: e.kind.to_string(),
            },
        }
    }
}

impl From<&NdbError> for WalkError {
    fn from(e: &NdbError) -> WalkError {
        WalkError {
            structure: e.structure.to_string(),
            offset: e.offset,
            nid: None,
            message: e.to_string(),
        }
    }
}

/// A walk error for an LTP failure met while reading node `nid`, with a
/// file offset an analyst can go to. NDB failures carry one already; LTP
/// failures (heap, BTH, PC, TC) know only their position inside the heap
/// structure, so the offset becomes that of the node's data block holding
/// it (found through the BBT) and the in-structure position moves into the
/// message.
pub fn walk_error_at(pst: &Pst<'_>, e: &LtpError, nid: u32, structure: &str) -> WalkError {
    let mut w = WalkError::from(e);
    if w.structure.is_empty() {
        w.structure = structure.to_string();
    }
    if e.ndb().is_none() {
        let block = e.block.unwrap_or(0) as usize;
        // The failing node may be a subnode (not in the NBT); then the
        // block of the node being read is the closest file position.
        let ib = [e.nid.unwrap_or(nid), nid].into_iter().find_map(|n| {
            let tree = pst.node(Nid(n)).ok()?.data_blocks().ok()?;
            let bid = *tree.blocks.get(block).or(tree.blocks.first())?;
            pst.bbt_lookup(bid).ok().map(|b| b.ib)
        });
        if let Some(ib) = ib {
            w.message = format!(
                "{} (at +{:#x} in {} of data block {block} at {ib:#x})",
                w.message, e.offset, e.structure
            );
            w.offset = ib;
        }
    }
    // The node being read (the item or table), not an inner subnode: what
    // an analyst looks up.
    w.nid = Some(nid);
    w
}

/// Text of a string property, decoding PT_STRING8 with `codepage`.
pub fn prop_string(v: &PropValue<'_>, codepage: u32) -> Option<String> {
    match v.prop_type {
        pt::UNICODE => Some(decode_unicode(v.as_bytes())),
        pt::STRING8 => Some(decode_string8(v.as_bytes(), codepage)),
        _ => None,
    }
}

impl<'a> Store<'a> {
    /// Walk the folder tree from the root folder (NID 0x122). Unreadable
    /// folders and tables are recorded in [`Store::errors`] and skipped.
    pub fn open(pst: &'a Pst<'a>) -> Store<'a> {
        let mut store = Store {
            pst,
            folders: Vec::new(),
            errors: Vec::new(),
            message_nodes: ChunkedVec::default(),
            no_folder: Arc::from(""),
        };
        store.walk_folders();
        store
    }

    pub fn pst(&self) -> &'a Pst<'a> {
        self.pst
    }

    /// Folders in depth-first, hierarchy-table order; the root first.
    pub fn folders(&self) -> &[Folder] {
        &self.folders
    }

    /// Problems met while walking folders and tables.
    pub fn errors(&self) -> &[WalkError] {
        &self.errors
    }

    fn folder_props(&mut self, nid: u32) -> (Option<String>, Option<u32>) {
        let pc = match self
            .pst
            .node(Nid(nid))
            .map_err(LtpError::from)
            .and_then(PropertyContext::open)
        {
            Ok(pc) => pc,
            Err(e) => {
                self.errors
                    .push(walk_error_at(self.pst, &e, nid, "folder PC"));
                return (None, None);
            }
        };
        let name = match pc.get(PR_DISPLAY_NAME) {
            Ok(v) => v.and_then(|v| prop_string(&v, DEFAULT_CODEPAGE)),
            Err(e) => {
                self.errors
                    .push(walk_error_at(self.pst, &e, nid, "folder PC"));
                None
            }
        };
        let count = pc
            .get(PR_CONTENT_COUNT)
            .ok()
            .flatten()
            .and_then(|v| v.as_i32())
            .map(|c| c as u32);
        (name, count)
    }

    fn walk_folders(&mut self) {
        let root = Nid::ROOT_FOLDER.0;
        let mut seen = HashSet::new();
        // (nid, parent index, depth); children pushed in reverse so they
        // come off the stack in table order.
        let mut stack = vec![(root, None::<usize>, 0usize)];
        while let Some((nid, parent, depth)) = stack.pop() {
            if !seen.insert(nid) {
                self.errors.push(WalkError {
                    structure: "hierarchy table".into(),
                    offset: 0,
                    nid: Some(nid),
                    message: "folder listed twice (cycle or shared subtree); skipped".into(),
                });
                continue;
            }
            let (name, content_count) = self.folder_props(nid);
            let name = name.unwrap_or_else(|| format!("<nid {nid}>"));
            let path: Arc<str> = match parent {
                None => Arc::from("/"),
                Some(p) => {
                    let pp = &self.folders[p].path;
                    if &**pp == "/" {
                        Arc::from(format!("/{name}"))
                    } else {
                        Arc::from(format!("{pp}/{name}"))
                    }
                }
            };
            let index = self.folders.len();
            self.folders.push(Folder {
                nid,
                parent,
                name,
                path,
                depth,
                content_count,
            });
            if depth >= MAX_FOLDER_DEPTH {
                continue;
            }
            let hier = Nid(nid).with_type(NidType::HierarchyTable);
            match self.rows(hier, "hierarchy table") {
                Some(children) => {
                    for child in children.into_iter().rev() {
                        let t = Nid(child).nid_type();
                        if matches!(t, NidType::NormalFolder | NidType::SearchFolder) {
                            stack.push((child, Some(index), depth + 1));
                        }
                    }
                }
                None => continue,
            }
        }
    }

    /// Row ids of a table node; `None` (recorded) when it can't be read,
    /// and `None` silently when the node does not exist.
    fn rows(&mut self, table: Nid, structure: &str) -> Option<Vec<u32>> {
        match self.table_rows(table, structure) {
            Ok(rows) => rows,
            Err(e) => {
                self.errors.push(e);
                None
            }
        }
    }

    /// Row ids of a table node; `Ok(None)` when the node does not exist.
    fn table_rows(&self, table: Nid, structure: &str) -> Result<Option<Vec<u32>>, WalkError> {
        let node = match self.pst.node(table) {
            Ok(n) => n,
            Err(e) if matches!(e.kind, ost_ndb::NdbErrorKind::NotFound { .. }) => return Ok(None),
            Err(e) => {
                let mut w = WalkError::from(&e);
                w.nid = Some(table.0);
                return Err(w);
            }
        };
        TableContext::open(node)
            .and_then(|tc| Ok(tc.row_index()?.iter().map(|&(id, _)| id).collect()))
            .map(Some)
            .map_err(|e| walk_error_at(self.pst, &e, table.0, structure))
    }

    /// Every message to read, in walk order: per folder its contents rows
    /// then (with `all`) its associated rows; then (with `all`) orphans in
    /// NID order. [`Store::list_folder`], [`Store::walk_message_nodes`]
    /// and [`Store::join_item_refs`] one after the other; a caller with
    /// threads can run the first two in parallel.
    pub fn item_refs(&mut self, all: bool) -> Vec<ItemRef> {
        let listings = (0..self.folders.len())
            .map(|i| self.list_folder(i, all))
            .collect();
        let nodes = self.walk_message_nodes();
        self.join_item_refs(listings, nodes, all)
    }

    /// What the tables of folder `folder` (an index into
    /// [`Store::folders`]) list: its contents rows, then with `all` its
    /// associated contents rows.
    pub fn list_folder(&self, folder: usize, all: bool) -> FolderListing {
        let mut listing = FolderListing::default();
        let Some(f) = self.folders.get(folder) else {
            return listing;
        };
        let nid = Nid(f.nid);
        let mut tables = vec![(NidType::ContentsTable, ItemKind::Contents)];
        if all {
            tables.push((NidType::AssocContentsTable, ItemKind::Associated));
        }
        for (t, kind) in tables {
            let name = match kind {
                ItemKind::Associated => "associated contents table",
                _ => "contents table",
            };
            match self.table_rows(nid.with_type(t), name) {
                Ok(rows) => listing
                    .refs
                    .extend(rows.into_iter().flatten().map(|r| ItemRef {
                        nid: r,
                        folder: Some(folder),
                        kind,
                        node: ItemRef::NO_NODE,
                    })),
                Err(e) => listing.errors.push(e),
            }
        }
        listing
    }

    /// The message nodes of the NBT, in the order of one walk of it.
    pub fn walk_message_nodes(&self) -> MessageNodes {
        let mut nodes = MessageNodes::default();
        for e in self.pst.nbt_iter() {
            match e {
                Ok(e)
                    if matches!(
                        e.nid.nid_type(),
                        NidType::NormalMessage | NidType::AssocMessage
                    ) =>
                {
                    nodes.entries.push(e)
                }
                Ok(_) => {}
                Err(err) => nodes.errors.push(WalkError::from(&err)),
            }
        }
        nodes
    }

    /// The item refs of [`Store::item_refs`] from the listing of every
    /// folder (in folder order) and the message nodes: each listed item
    /// learns where its node is, and (with `all`) the message nodes no
    /// table lists are added as orphans. Problems go to [`Store::errors`]
    /// in that order: the folders' tables, then the NBT.
    pub fn join_item_refs(
        &mut self,
        listings: Vec<FolderListing>,
        nodes: MessageNodes,
        all: bool,
    ) -> Vec<ItemRef> {
        let listed_items: usize = listings.iter().map(|l| l.refs.len()).sum();
        let orphans = if all { nodes.entries.len() } else { 0 };
        let mut refs = Vec::with_capacity(listed_items.saturating_add(orphans));
        for listing in listings {
            refs.extend(listing.refs);
            self.errors.extend(listing.errors);
        }
        self.errors.extend(nodes.errors);
        // (NID, index in `refs`) of every row the tables list, sorted to be
        // merged with the NBT walk, which is in NID order too.
        let mut listed: Vec<(u32, u32)> = refs
            .iter()
            .enumerate()
            .map(|(i, r)| (r.nid, i as u32))
            .collect();
        // By NID then index: the indices come in order, and the sort is
        // stable.
        crate::radix::sort_by_key(&mut listed);
        let by_nid: HashMap<u32, usize> = self
            .folders
            .iter()
            .enumerate()
            .map(|(i, f)| (f.nid, i))
            .collect();
        let mut merge = SortedCursor::default();
        for (node, e) in nodes.entries.iter().enumerate() {
            let node = node as u32;
            // A damaged table can list one NID twice: every row gets the node.
            let rows = merge.find(&listed, e.nid.0);
            for &(_, i) in &listed[rows.clone()] {
                if let Some(r) = refs.get_mut(i as usize) {
                    r.node = node;
                }
            }
            if all && rows.is_empty() {
                refs.push(ItemRef {
                    nid: e.nid.0,
                    folder: by_nid.get(&e.nid_parent.0).copied(),
                    kind: ItemKind::Orphan,
                    node,
                });
            }
        }
        self.message_nodes = nodes.entries;
        refs
    }

    /// The NBT entry `item_refs` found for `r`; `None` when it found none
    /// or `r` comes from another walk (the caller then looks the node up).
    fn message_node(&self, r: &ItemRef) -> Option<&NbtEntry> {
        self.message_nodes
            .get(r.node as usize)
            .filter(|e| e.nid.0 == r.nid)
    }

    /// An order in which to read `refs` so that neighbouring reads touch
    /// neighbouring B-tree leaves and blocks: by the BID of each message's
    /// data block (BIDs grow as blocks are written, and the BBT is sorted
    /// by them). Messages whose node the NBT walk did not meet come last,
    /// in their own order. A permutation of `0..refs.len()`.
    pub fn read_order(&self, refs: &[ItemRef]) -> Vec<u32> {
        let mut keyed: Vec<(u64, u32)> = refs
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let bid = self.message_node(r).map_or(u64::MAX, |e| e.bid_data.0);
                (bid, i as u32)
            })
            .collect();
        // By BID then index: the indices come in order, and the sort is
        // stable.
        crate::radix::sort_by_key(&mut keyed);
        keyed.into_iter().map(|(_, i)| i).collect()
    }

    /// Read the sync properties of one message. Never fails: problems are
    /// in the record's `errors`.
    pub fn read_item(&self, r: &ItemRef) -> ItemRecord {
        self.visit_item(r, |view, _| view.into_record())
    }

    /// Read the sync properties of one message and hand them to `visit`,
    /// borrowed ([`ItemView`]), with the message's property context while
    /// it is open (`None` when it cannot be opened: the view's `errors` say
    /// why). For callers that look at every message and keep few, or want
    /// other properties of some (the body of a log message) without opening
    /// the message a second time.
    pub fn visit_item<T>(
        &self,
        r: &ItemRef,
        visit: impl FnOnce(ItemView<'_>, Option<&PropertyContext<'_>>) -> T,
    ) -> T {
        let (folder_nid, folder) = match r.folder.and_then(|i| self.folders.get(i)) {
            Some(f) => (f.nid, &f.path),
            None => (0, &self.no_folder),
        };
        let mut view = ItemView::empty(r.nid, r.kind, folder_nid, folder);
        let node = match self.message_node(r) {
            Some(e) => Ok(self.pst.node_from_entry(e)),
            None => self.pst.node(Nid(r.nid)),
        };
        let pc = match node.map_err(LtpError::from).and_then(PropertyContext::open) {
            Ok(pc) => pc,
            Err(e) => {
                view.errors
                    .push(walk_error_at(self.pst, &e, r.nid, "message PC"));
                return visit(view, None);
            }
        };
        // One pass over the PC's records picks the wanted ones (cheaper than a
        // BTH descent per property); only those values are then resolved.
        let mut errors = Vec::new();
        let mut found: [Option<PcEntry<'_>>; WANTED.len()] = Default::default();
        for e in pc.entries() {
            match e {
                Ok(e) => {
                    if let Some(slot) = wanted_index(e.id).and_then(|i| found.get_mut(i)) {
                        *slot = Some(e);
                    }
                }
                Err(e) => {
                    errors.push(walk_error_at(self.pst, &e, r.nid, "message PC"));
                    break;
                }
            }
        }
        let mut get = |id: u16| -> Option<PropValue<'_>> {
            let e = found.get(wanted_index(id)?)?.as_ref()?;
            match pc.value(e) {
                Ok(v) => Some(v),
                Err(e) => {
                    errors.push(walk_error_at(self.pst, &e, r.nid, "message property"));
                    None
                }
            }
        };
        // Resolved in this order, so that errors come in this order.
        view.codepage = get(PR_MESSAGE_CODEPAGE)
            .or_else(|| get(PR_INTERNET_CPID))
            .and_then(|v| v.as_i32())
            .map_or(DEFAULT_CODEPAGE, |c| c as u32);
        view.subject = get(PR_SUBJECT);
        view.message_class = get(PR_MESSAGE_CLASS);
        view.change_key = get(PR_CHANGE_KEY);
        view.pcl = get(PR_PREDECESSOR_CHANGE_LIST);
        view.source_key = get(PR_SOURCE_KEY);
        view.parent_source_key = get(PR_PARENT_SOURCE_KEY);
        view.search_key = get(PR_SEARCH_KEY);
        view.conflict_entry_id = get(PR_CONFLICT_ENTRYID);
        view.last_modified = get(PR_LAST_MODIFICATION_TIME)
            .and_then(|v| v.as_filetime())
            .map(FileTime);
        view.change_num = get(PR_CHANGE_NUM)
            .and_then(|v| v.as_i64())
            .map(|n| n as u64);
        view.message_status = get(PR_MESSAGE_STATUS)
            .and_then(|v| v.as_i32())
            .map(|n| n as u32);
        view.errors = errors;
        visit(view, Some(&pc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive(list: &[(u32, u32)], key: u32) -> Vec<u32> {
        list.iter().filter(|e| e.0 == key).map(|e| e.1).collect()
    }

    #[test]
    fn cursor_merges_ascending_keys_and_finds_runs() {
        let list: Vec<(u32, u32)> = [
            2, 4, 4, 4, 9, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 77,
        ]
        .iter()
        .enumerate()
        .map(|(i, &k)| (k, i as u32))
        .collect();
        let mut cursor = SortedCursor::default();
        assert_eq!(cursor.find(&list, 1), 0..0);
        assert_eq!(cursor.find(&list, 4), 1..4);
        assert_eq!(cursor.find(&list, 5), 4..4);
        // Past more than the linear steps: bisection.
        assert_eq!(cursor.find(&list, 77), 16..17);
        assert_eq!(cursor.find(&list, 78), 17..17);
        // Backwards, as a damaged NBT can go.
        assert_eq!(cursor.find(&list, 2), 0..1);
        assert_eq!(cursor.find(&list, 40), 15..16);
    }

    #[test]
    fn read_order_is_a_permutation_by_data_block() {
        let fixture = ost_fixture::FixtureBuilder::new(ost_fixture::Format::Unicode)
            .messages(200)
            .seed(7)
            .build()
            .expect("fixture");
        let pst = Pst::from_vec(fixture.bytes).expect("open");
        let mut store = Store::open(&pst);
        let mut refs = store.item_refs(true);
        // One ref the NBT walk did not meet: it comes last.
        let stray = ItemRef {
            nid: 0x7fff_ffe4,
            folder: None,
            kind: ItemKind::Orphan,
            node: ItemRef::NO_NODE,
        };
        refs.insert(3, stray);
        let order = store.read_order(&refs);
        let mut seen = order.clone();
        seen.sort_unstable();
        assert_eq!(seen, (0..refs.len() as u32).collect::<Vec<_>>());
        assert_eq!(order.last(), Some(&3));
        let bids: Vec<u64> = order[..order.len() - 1]
            .iter()
            .map(|&i| {
                pst.node(Nid(refs[i as usize].nid))
                    .expect("node")
                    .bid_data
                    .0
            })
            .collect();
        assert!(bids.len() > 200);
        assert!(bids.windows(2).all(|w| w[0] < w[1]), "{bids:?}");
        // Not the walk order itself, or this test would prove nothing.
        assert_ne!(order, (0..refs.len() as u32).collect::<Vec<_>>());
    }

    proptest! {
        #[test]
        fn cursor_agrees_with_a_filter_in_any_key_order(
            mut keys in prop::collection::vec(0u32..64, 0..80),
            queries in prop::collection::vec(0u32..70, 0..80),
        ) {
            keys.sort_unstable();
            let list: Vec<(u32, u32)> =
                keys.iter().enumerate().map(|(i, &k)| (k, i as u32)).collect();
            let mut cursor = SortedCursor::default();
            for q in queries {
                let found: Vec<u32> = list[cursor.find(&list, q)].iter().map(|e| e.1).collect();
                prop_assert_eq!(found, naive(&list, q));
            }
        }
    }
}
