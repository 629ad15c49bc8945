//! The messaging walk: the folder tree from the root folder through the
//! hierarchy tables, each folder's contents and associated contents tables,
//! and the message nodes no table lists (orphans), then the sync properties
//! of each message, read lazily from its property context.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use ost_ndb::ltp::tc::TableContext;
use ost_ndb::ltp::{PcEntry, PropValue, PropertyContext};
use ost_ndb::{NbtEntry, Nid, NidType, Pst};

use crate::item::open_pc;
use crate::item::{ItemKind, ItemRecord, ItemRef};
use crate::namespace::Namespaces;
use crate::object_id::{ObjectId, PR_OST_OBJECT_ID};
use crate::problem::{Problem, ProblemKind};
use crate::read_ahead::{self, BatchNodes};
use crate::rows::RowColumns;
use crate::strings::{prop_string, DEFAULT_CODEPAGE};
use crate::tags::*;
use crate::time::FileTime;
use crate::view::{ItemView, SourceProps};

/// Folders nested deeper than this are not followed (Outlook allows far
/// fewer; a deeper chain is a crafted or corrupt hierarchy).
pub const MAX_FOLDER_DEPTH: usize = 256;

/// The message properties `read_item` resolves.
const WANTED: [u16; 14] = [
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
    PR_OST_OBJECT_ID,
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
        PR_OST_OBJECT_ID => 13,
        _ => return None,
    };
    debug_assert_eq!(WANTED[i], id);
    Some(i)
}

/// A folder of the walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    pub nid: Nid,
    /// Index of the parent in [`Store::folders`]; `None` for the root.
    pub parent: Option<usize>,
    /// PR_DISPLAY_NAME, or `<nid N>` when it has none.
    pub name: String,
    /// `/` for the root folder, `/Top of Personal Folders/Inbox` below it.
    pub path: Arc<str>,
    pub depth: usize,
    /// PR_CONTENT_COUNT as stored.
    pub content_count: Option<u32>,
    /// The folder's own PR_CHANGE_KEY, PCL and modification time: folders
    /// synchronize too, and their change keys go stale like items'.
    pub change_key: Option<Vec<u8>>,
    pub pcl: Option<Vec<u8>>,
    pub last_modified: Option<FileTime>,
    /// Property 0x67F4 (OSTs): the folder id.
    pub object_id: Option<ObjectId>,
}

impl Folder {
    /// A folder by its place in the tree, its properties not read yet.
    pub fn new(
        nid: Nid,
        parent: Option<usize>,
        name: String,
        path: Arc<str>,
        depth: usize,
    ) -> Folder {
        Folder {
            nid,
            parent,
            name,
            path,
            depth,
            content_count: None,
            change_key: None,
            pcl: None,
            last_modified: None,
            object_id: None,
        }
    }

    /// Where each folder stands in `folders`, by NID (for a damaged store
    /// listing one NID twice, the later folder).
    pub fn positions(folders: &[Folder]) -> HashMap<Nid, usize> {
        folders
            .iter()
            .enumerate()
            .map(|(i, f)| (f.nid, i))
            .collect()
    }
}

/// A store opened for walking.
pub struct Store<'a> {
    pst: &'a Pst<'a>,
    namespaces: Namespaces,
    folders: Vec<Folder>,
    errors: Vec<Problem>,
    /// NBT entries of message nodes, in the order of the one NBT walk
    /// `item_refs` makes; each [`ItemRef`] holds the index of its own, so
    /// reading an item needs neither an NBT descent nor a search.
    message_nodes: Vec<NbtEntry>,
    /// The folder path of items whose folder is unknown.
    no_folder: Arc<str>,
}

/// What one folder's tables list ([`Store::list_folder`]), with what the
/// visitor returned for the rows read as they were listed
/// ([`Store::list_folder_visiting`]).
#[derive(Debug)]
pub struct FolderListing<T = ()> {
    refs: Vec<ItemRef>,
    errors: Vec<Problem>,
    /// (index in `refs`, the visitor's result), in row order.
    visited: Vec<(u32, T)>,
}

impl<T> Default for FolderListing<T> {
    fn default() -> Self {
        FolderListing {
            refs: Vec::new(),
            errors: Vec::new(),
            visited: Vec::new(),
        }
    }
}

/// When a walk that reads rows also reads the items themselves.
pub struct RowPolicy<'f> {
    /// Read every item's property context, not only those whose row lacks
    /// both the change key and the PCL: to compare rows with their items.
    pub read_all_items: bool,
    /// Read the item too when this holds for the view of its row (the
    /// Sync Issues folders' items, items marked in conflict).
    pub read_item_if: &'f (dyn Fn(&ItemView<'_>) -> bool + Sync),
    /// Of the items read, those whose subnodes (a long body, recipients,
    /// attachments) the visitor reads too (a Sync Issues log's text): on a
    /// cold file their subnode blocks are read ahead with them. A guess
    /// either way costs time, never a result.
    pub subnodes_read_if: &'f (dyn Fn(&ItemView<'_>) -> bool + Sync),
}

impl RowPolicy<'_> {
    /// Items are read only where their rows lack the sync values.
    pub const ROWS_FIRST: RowPolicy<'static> = RowPolicy {
        read_all_items: false,
        read_item_if: &|_| false,
        subnodes_read_if: &|_| false,
    };
    /// Every item is read, and its row too where it has the columns.
    pub const EVERYTHING: RowPolicy<'static> = RowPolicy {
        read_all_items: true,
        read_item_if: &|_| false,
        subnodes_read_if: &|_| false,
    };

    /// Whether the item of a row with this view is read too: asked alike
    /// by the walk and by the read-ahead of its items.
    fn reads_item(&self, view: &ItemView<'_>) -> bool {
        self.read_all_items || !view.row.has_sync() || (self.read_item_if)(view)
    }
}

/// A contents table opened by [`Store::read_items`], with its rows by NID.
struct OpenTable<'a> {
    nid: Nid,
    tc: TableContext<'a>,
    columns: RowColumns,
    rows: Vec<(u32, u32)>,
}

/// What [`Store::join_item_refs`] makes of a walk's listings.
#[derive(Debug)]
pub struct JoinedRefs<T> {
    /// Every item, in walk order.
    pub refs: Vec<ItemRef>,
    /// `outcomes[k]` is what the listing's visit returned for
    /// `refs[order[k]]`, in walk order; both have room for an outcome of
    /// every item of `refs` whose row does not carry the sync columns.
    pub order: Vec<u32>,
    pub outcomes: Vec<T>,
}

/// The message nodes of the NBT ([`Store::walk_message_nodes`]).
#[derive(Debug, Default)]
pub struct MessageNodes {
    entries: Vec<NbtEntry>,
    errors: Vec<Problem>,
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
    fn find<K: Ord + Copy, V>(&mut self, list: &[(K, V)], key: K) -> std::ops::Range<usize> {
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

/// The item properties of an open property context, resolved into
/// `props` (borrowing from `pc`), with the item's code page. One pass over
/// the PC's records picks the wanted ones (cheaper than a BTH descent per
/// property); only those values are then resolved.
fn read_item_props<'p>(
    pst: &Pst<'_>,
    pc: &'p PropertyContext<'_>,
    nid: Nid,
    props: &mut SourceProps<'p>,
    errors: &mut Vec<Problem>,
) -> u32 {
    let mut found: [Option<PcEntry<'_>>; WANTED.len()] = Default::default();
    for e in pc.entries() {
        match e {
            Ok(e) => {
                if let Some(slot) = wanted_index(e.id).and_then(|i| found.get_mut(i)) {
                    *slot = Some(e);
                }
            }
            Err(e) => {
                errors.push(Problem::ltp(pst, &e, nid));
                break;
            }
        }
    }
    let mut get = |id: u16| -> Option<PropValue<'p>> {
        let e = found.get(wanted_index(id)?)?.as_ref()?;
        match pc.value(e) {
            Ok(v) => Some(v),
            Err(e) => {
                errors.push(Problem::ltp(pst, &e, nid));
                None
            }
        }
    };
    // Resolved in this order, so that errors come in this order.
    let codepage = get(PR_MESSAGE_CODEPAGE)
        .or_else(|| get(PR_INTERNET_CPID))
        .and_then(|v| v.as_i32())
        .map_or(DEFAULT_CODEPAGE, |c| c as u32);
    props.subject = get(PR_SUBJECT);
    props.message_class = get(PR_MESSAGE_CLASS);
    props.change_key = get(PR_CHANGE_KEY);
    props.pcl = get(PR_PREDECESSOR_CHANGE_LIST);
    props.source_key = get(PR_SOURCE_KEY);
    props.parent_source_key = get(PR_PARENT_SOURCE_KEY);
    props.search_key = get(PR_SEARCH_KEY);
    props.conflict_entry_id = get(PR_CONFLICT_ENTRYID);
    props.last_modified = get(PR_LAST_MODIFICATION_TIME)
        .and_then(|v| v.as_filetime())
        .map(FileTime);
    props.change_num = get(PR_CHANGE_NUM)
        .and_then(|v| v.as_i64())
        .map(|n| n as u64);
    props.message_status = get(PR_MESSAGE_STATUS)
        .and_then(|v| v.as_i32())
        .map(|n| n as u32);
    props.object_id = get(PR_OST_OBJECT_ID).and_then(|v| ObjectId::from_bytes(v.as_bytes()));
    codepage
}

/// The visitor of a listing that reads no rows.
type NoVisit = fn(ItemView<'_>, Option<&PropertyContext<'_>>);

/// The NID types of a folder's contents tables, and the kind of item each lists.
const TABLES: [(NidType, ItemKind); 2] = [
    (NidType::ContentsTable, ItemKind::Contents),
    (NidType::AssocContentsTable, ItemKind::Associated),
];

impl<'a> Store<'a> {
    /// Walk the folder tree from the root folder (NID 0x122), and read the
    /// store's namespaces (replica map, local namespace). Unreadable
    /// folders and tables are recorded in [`Store::errors`] and skipped.
    pub fn open(pst: &'a Pst<'a>) -> Store<'a> {
        let (namespaces, errors) = Namespaces::read(pst);
        let mut store = Store {
            pst,
            namespaces,
            folders: Vec::new(),
            errors,
            message_nodes: Vec::new(),
            no_folder: Arc::from(""),
        };
        store.walk_folders();
        store
    }

    pub fn pst(&self) -> &'a Pst<'a> {
        self.pst
    }

    /// The store's namespaces: server replicas and the OST's own.
    pub fn namespaces(&self) -> &Namespaces {
        &self.namespaces
    }

    /// Folders in depth-first, hierarchy-table order; the root first.
    pub fn folders(&self) -> &[Folder] {
        &self.folders
    }

    /// Problems met while walking folders and tables.
    pub fn errors(&self) -> &[Problem] {
        &self.errors
    }

    /// The folder's own properties: name, content count, sync properties
    /// and object id; what cannot be read is `None` (and recorded).
    fn folder_props(&mut self, nid: Nid, folder: &mut Folder) -> Option<String> {
        let pc = match open_pc(self.pst, nid) {
            Ok(pc) => pc,
            Err(e) => {
                self.errors.push(Problem::ltp(self.pst, &e, nid));
                return None;
            }
        };
        let mut get = |id: u16| match pc.get(id) {
            Ok(v) => v,
            Err(e) => {
                self.errors.push(Problem::ltp(self.pst, &e, nid));
                None
            }
        };
        let name = get(PR_DISPLAY_NAME).and_then(|v| prop_string(&v, DEFAULT_CODEPAGE));
        folder.content_count = get(PR_CONTENT_COUNT)
            .and_then(|v| v.as_i32())
            .map(|c| c as u32);
        folder.change_key = get(PR_CHANGE_KEY).map(|v| v.as_bytes().to_vec());
        folder.pcl = get(PR_PREDECESSOR_CHANGE_LIST).map(|v| v.as_bytes().to_vec());
        folder.last_modified = get(PR_LAST_MODIFICATION_TIME)
            .and_then(|v| v.as_filetime())
            .map(FileTime);
        folder.object_id = get(PR_OST_OBJECT_ID).and_then(|v| ObjectId::from_bytes(v.as_bytes()));
        name
    }

    fn walk_folders(&mut self) {
        let root = Nid::ROOT_FOLDER;
        let mut seen = HashSet::new();
        // (nid, parent index, depth); children pushed in reverse so they
        // come off the stack in table order.
        let mut stack = vec![(root, None::<usize>, 0usize)];
        while let Some((nid, parent, depth)) = stack.pop() {
            if !seen.insert(nid) {
                self.errors.push(
                    Problem::new("hierarchy table", 0, ProblemKind::FolderListedTwice)
                        .with_nid(nid),
                );
                continue;
            }
            let mut folder = Folder::new(nid, parent, String::new(), Arc::from(""), depth);
            let name = self.folder_props(nid, &mut folder);
            folder.name = name.unwrap_or_else(|| format!("<nid {nid}>"));
            folder.path = match parent {
                None => Arc::from("/"),
                Some(p) => {
                    let pp = &self.folders[p].path;
                    if &**pp == "/" {
                        Arc::from(format!("/{}", folder.name))
                    } else {
                        Arc::from(format!("{pp}/{}", folder.name))
                    }
                }
            };
            let index = self.folders.len();
            self.folders.push(folder);
            if depth >= MAX_FOLDER_DEPTH {
                continue;
            }
            let hier = nid.with_type(NidType::HierarchyTable);
            match self.rows(hier) {
                Some(children) => {
                    for child in children.into_iter().rev() {
                        let t = child.nid_type();
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
    fn rows(&mut self, table: Nid) -> Option<Vec<Nid>> {
        match self.open_table(table) {
            Ok(Some(tc)) => match tc.row_index() {
                Ok(index) => Some(index.iter().map(|&(id, _)| Nid(id)).collect()),
                Err(e) => {
                    self.errors.push(Problem::ltp(self.pst, &e, table));
                    None
                }
            },
            Ok(None) => None,
            Err(e) => {
                self.errors.push(e);
                None
            }
        }
    }

    /// A table node opened; `Ok(None)` when the node does not exist.
    fn open_table(&self, table: Nid) -> Result<Option<TableContext<'a>>, Problem> {
        let node = match self.pst.node(table) {
            Ok(n) => n,
            Err(e) if matches!(e.kind, ost_ndb::NdbErrorKind::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(Problem::ndb(&e).with_nid(table)),
        };
        TableContext::open(node)
            .map(Some)
            .map_err(|e| Problem::ltp(self.pst, &e, table))
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
        self.join_item_refs(listings, nodes, all).refs
    }

    /// Every item read into a record, in walk order, with rows read where
    /// their tables carry the sync columns and items read as `policy`
    /// says (all of them with [`RowPolicy::EVERYTHING`]). The one-thread
    /// reference of what a scan reads; `ostscan` does the same in
    /// parallel.
    pub fn records(&mut self, all: bool, policy: &RowPolicy<'_>) -> Vec<ItemRecord> {
        let listings = (0..self.folders.len())
            .map(|i| self.list_folder_visiting(i, all, policy, |v, _| v.into_record()))
            .collect();
        let nodes = self.walk_message_nodes();
        let joined = self.join_item_refs(listings, nodes, all);
        let refs = joined.refs;
        let mut visited = joined.order.into_iter().zip(joined.outcomes).peekable();
        let mut out = Vec::with_capacity(refs.len());
        for (i, r) in refs.iter().enumerate() {
            match visited.next_if(|(w, _)| *w as usize == i) {
                Some((_, record)) => out.push(record),
                None => out.push(self.read_item(r)),
            }
        }
        out
    }

    /// What the tables of folder `folder` (an index into
    /// [`Store::folders`]) list: its contents rows, then with `all` its
    /// associated contents rows. Rows are not read here: see
    /// [`Store::list_folder_visiting`].
    pub fn list_folder(&self, folder: usize, all: bool) -> FolderListing {
        self.list_tables::<(), NoVisit>(folder, all, None)
    }

    /// [`Store::list_folder`], reading as it lists the rows of the tables
    /// that carry the sync columns: each such row, with its item where
    /// `policy` or a row without sync values calls for it, is handed to
    /// `visit`, and what `visit` returns is kept with the listing. Items of
    /// other tables are left to [`Store::visit_item`].
    pub fn list_folder_visiting<T>(
        &self,
        folder: usize,
        all: bool,
        policy: &RowPolicy<'_>,
        visit: impl FnMut(ItemView<'_>, Option<&PropertyContext<'_>>) -> T,
    ) -> FolderListing<T> {
        self.list_tables(folder, all, Some((policy, visit)))
    }

    fn list_tables<T, F>(
        &self,
        folder: usize,
        all: bool,
        mut visiting: Option<(&RowPolicy<'_>, F)>,
    ) -> FolderListing<T>
    where
        F: FnMut(ItemView<'_>, Option<&PropertyContext<'_>>) -> T,
    {
        let mut listing = FolderListing::default();
        let Some(f) = self.folders.get(folder) else {
            return listing;
        };
        let tables = if all { &TABLES[..] } else { &TABLES[..1] };
        for &(t, kind) in tables {
            let table = f.nid.with_type(t);
            let mut tc = match self.open_table(table) {
                Ok(Some(tc)) => tc,
                Ok(None) => continue,
                Err(e) => {
                    listing.errors.push(e);
                    continue;
                }
            };
            // Taken out of the table, which is borrowed mutably between
            // batches to let go of the rows walked.
            let index = match tc.take_row_index() {
                Ok(index) => index,
                Err(e) => {
                    listing.errors.push(Problem::ltp(self.pst, &e, table));
                    continue;
                }
            };
            let index = &index[..];
            let columns = RowColumns::of(&tc);
            let row_carries_sync = columns.carries_sync();
            // The rows themselves are visited (else only listed).
            let rows_visited = row_carries_sync && visiting.is_some();
            // The index says how many refs (and visits) the table adds:
            // room for exactly those, without a doubling's slack (the
            // listings of a large store are 10 MB, at the peak of a scan's
            // memory).
            listing.refs.reserve_exact(index.len());
            if rows_visited {
                listing.visited.reserve_exact(index.len());
            }
            let cold = rows_visited && self.pst.may_read_ahead();
            let policy = visiting.as_ref().map(|(policy, _)| *policy);
            let tc = RefCell::new(tc);
            let plan = |k| match policy {
                Some(policy) => self.row_batch_nodes(
                    f,
                    kind,
                    &tc.borrow(),
                    read_ahead::batch(index, k),
                    &columns,
                    policy,
                ),
                None => BatchNodes::default(),
            };
            let walk = |k| {
                let walked = tc.borrow();
                for &(id, row_index) in read_ahead::batch(index, k) {
                    let at = listing.refs.len() as u32;
                    let r = ItemRef {
                        row_carries_sync,
                        ..ItemRef::new(Nid(id), Some(folder), kind, ItemRef::NO_NODE)
                    };
                    if let (true, Some((policy, visit))) = (row_carries_sync, visiting.as_mut()) {
                        let t = self.visit_row(
                            &r,
                            table,
                            &walked,
                            row_index,
                            &columns,
                            policy,
                            &mut *visit,
                        );
                        listing.visited.push((at, t));
                    }
                    listing.refs.push(r);
                }
                drop(walked);
                // The rows are walked in row index order, and those of the
                // next batch were read by `plan`: the blocks before them are
                // done with.
                if rows_visited {
                    if let Some(&(_, next)) = read_ahead::batch(index, k + 1).first() {
                        tc.borrow_mut().release_rows_before(next);
                    }
                }
            };
            read_ahead::in_batches(self.pst, cold, read_ahead::batches(index.len()), plan, walk);
        }
        listing
    }

    /// The items of the rows `batch` of `tc` that [`Store::visit_row`]
    /// will open, for [`read_ahead::in_batches`] (the rows are read twice:
    /// a row costs far less than a wait for the device).
    fn row_batch_nodes(
        &self,
        folder: &Folder,
        kind: ItemKind,
        tc: &TableContext<'_>,
        batch: &[(u32, u32)],
        columns: &RowColumns,
        policy: &RowPolicy<'_>,
    ) -> BatchNodes {
        let mut nodes = BatchNodes::default();
        let mut errors = Vec::new();
        for &(id, row_index) in batch {
            let mut view = ItemView::empty(Nid(id), kind, folder.nid, &folder.path);
            if let Ok(row) = tc.row(id, row_index) {
                columns.read(&row, &mut view.row, &mut errors);
            }
            errors.clear();
            if !policy.reads_item(&view) {
                continue;
            }
            if (policy.subnodes_read_if)(&view) {
                nodes.with_subnodes.push(Nid(id));
            } else {
                nodes.alone.push(Nid(id));
            }
        }
        nodes
    }

    /// The contents table that lists `r`.
    fn table_of(&self, r: &ItemRef) -> Option<Nid> {
        let f = self.folders.get(r.folder()?)?;
        let &(t, _) = TABLES.iter().find(|e| e.1 == r.kind)?;
        Some(f.nid.with_type(t))
    }

    /// Read one row of `tc` (and its item where `policy` or the row calls
    /// for it) and hand the view to `visit`.
    #[allow(clippy::too_many_arguments)]
    fn visit_row<T>(
        &self,
        r: &ItemRef,
        table: Nid,
        tc: &TableContext<'_>,
        row_index: u32,
        columns: &RowColumns,
        policy: &RowPolicy<'_>,
        visit: impl FnOnce(ItemView<'_>, Option<&PropertyContext<'_>>) -> T,
    ) -> T {
        let (folder_nid, folder) = self.folder_of(r);
        let mut pc_slot: Option<PropertyContext<'a>> = None;
        let mut view = ItemView::empty(r.nid, r.kind, folder_nid, folder);
        let mut cell_errors = Vec::new();
        match tc.row(r.nid.0, row_index) {
            Ok(row) => columns.read(&row, &mut view.row, &mut cell_errors),
            Err(e) => cell_errors.push(e),
        }
        for e in &cell_errors {
            // Located in the table, about the item.
            view.errors
                .push(Problem::ltp(self.pst, e, table).with_nid(r.nid));
        }
        let read_item = policy.reads_item(&view);
        if read_item {
            match self.open_item(r) {
                Ok(pc) => pc_slot = Some(pc),
                Err(e) => view.errors.push(e),
            }
        }
        if let Some(pc) = &pc_slot {
            view.codepage = read_item_props(self.pst, pc, r.nid, &mut view.item, &mut view.errors);
            view.item_read = true;
        }
        view.derived_source_key = self.derive_source_key(&view);
        visit(view, pc_slot.as_ref())
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
                Err(err) => nodes.errors.push(Problem::ndb(&err)),
            }
        }
        nodes
    }

    /// The item refs of [`Store::item_refs`] from the listing of every
    /// folder (in folder order) and the message nodes: each listed item
    /// learns where its node is, and (with `all`) the message nodes no
    /// table lists are added as orphans. Problems go to [`Store::errors`]
    /// in that order: the folders' tables, then the NBT. Also what the
    /// listings' visits returned, with the index of each one's ref.
    pub fn join_item_refs<T>(
        &mut self,
        listings: Vec<FolderListing<T>>,
        nodes: MessageNodes,
        all: bool,
    ) -> JoinedRefs<T> {
        let listed_items: usize = listings.iter().map(|l| l.refs.len()).sum();
        // Orphans (NBT messages no table lists) are few: room for them is
        // made as they come, not for every node of the NBT in advance.
        let mut refs = Vec::with_capacity(listed_items);
        // What each listing visited, moved into the result at the end:
        // joined here, it would be copied into a vector of its own first.
        let mut visits = Vec::with_capacity(listings.len());
        for listing in listings {
            visits.push((refs.len() as u32, listing.visited));
            refs.extend(listing.refs);
            self.errors.extend(listing.errors);
        }
        self.errors.extend(nodes.errors);
        // (NID, index in `refs`) of every row the tables list, sorted to be
        // merged with the NBT walk, which is in NID order too.
        let mut listed: Vec<(Nid, u32)> = refs
            .iter()
            .enumerate()
            .map(|(i, r)| (r.nid, i as u32))
            .collect();
        // By NID then index (the indices are unique: an unstable sort of
        // the pairs is as stable as needed, without a scratch buffer).
        listed.sort_unstable();
        let by_nid = Folder::positions(&self.folders);
        let mut merge = SortedCursor::default();
        for (node, e) in nodes.entries.iter().enumerate() {
            let node = node as u32;
            // A damaged table can list one NID twice: every row gets the node.
            let rows = merge.find(&listed, e.nid);
            for &(_, i) in &listed[rows.clone()] {
                if let Some(r) = refs.get_mut(i as usize) {
                    r.node = node;
                }
            }
            if all && rows.is_empty() {
                refs.push(ItemRef::new(
                    e.nid,
                    by_nid.get(&e.nid_parent).copied(),
                    ItemKind::Orphan,
                    node,
                ));
            }
        }
        self.message_nodes = nodes.entries;
        // Kept for the whole scan: without the slack of its last doubling.
        self.message_nodes.shrink_to_fit();
        // Room for an outcome of every item: the visited ones, and those
        // of tables without the sync columns, which the caller reads from
        // their property contexts next (one vector for a store's outcomes;
        // the peak of a scan's memory is here, at the end of its walk).
        let visited: usize = visits.iter().map(|(_, v)| v.len()).sum();
        let rest = refs.iter().filter(|r| !r.row_carries_sync).count();
        let mut order = Vec::with_capacity(visited + rest);
        let mut outcomes = Vec::with_capacity(visited + rest);
        for (base, visits) in visits {
            for (i, t) in visits {
                order.push(base.saturating_add(i));
                outcomes.push(t);
            }
        }
        JoinedRefs {
            refs,
            order,
            outcomes,
        }
    }

    /// The NBT entry `item_refs` found for `r`; `None` when it found none
    /// or `r` comes from another walk (the caller then looks the node up).
    fn message_node(&self, r: &ItemRef) -> Option<&NbtEntry> {
        self.message_nodes
            .get(r.node as usize)
            .filter(|e| e.nid == r.nid)
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
        // By BID then index (unique indices: see `join_item_refs`).
        keyed.sort_unstable();
        keyed.into_iter().map(|(_, i)| i).collect()
    }

    /// Say that the items `refs[i]` for `i` in `batch` are about to be read
    /// ([`Store::visit_item`]): on a cold file, their property contexts'
    /// first blocks are read ahead together (`Pst::prefetch_blocks`).
    /// True when they were: the file is cold.
    pub fn prefetch_items(&self, refs: &[ItemRef], batch: &[u32]) -> bool {
        let bids: Vec<ost_ndb::Bid> = batch
            .iter()
            .filter_map(|&i| self.message_node(refs.get(i as usize)?))
            .map(|e| e.bid_data)
            .filter(|b| !b.is_null())
            .collect();
        self.pst.prefetch_blocks(&bids)
    }

    /// Read the sync properties of one message. Never fails: problems are
    /// in the record's `errors`.
    pub fn read_item(&self, r: &ItemRef) -> ItemRecord {
        self.visit_item(r, |view, _| view.into_record())
    }

    /// The folder NID and path of an item ref.
    fn folder_of(&self, r: &ItemRef) -> (Nid, &Arc<str>) {
        match r.folder().and_then(|i| self.folders.get(i)) {
            Some(f) => (f.nid, &f.path),
            None => (Nid(0), &self.no_folder),
        }
    }

    /// The message's property context.
    fn open_item(&self, r: &ItemRef) -> Result<PropertyContext<'a>, Problem> {
        match self.message_node(r) {
            Some(e) => PropertyContext::open(self.pst.node_from_entry(e)),
            None => open_pc(self.pst, r.nid),
        }
        .map_err(|e| Problem::ltp(self.pst, &e, r.nid))
    }

    /// The source key the view's object id stands for, when the item has
    /// no stored one.
    fn derive_source_key(
        &self,
        view: &ItemView<'_>,
    ) -> Option<[u8; crate::object_id::SOURCE_KEY_LEN]> {
        if view.item.source_key.is_some() || view.row.source_key.is_some() {
            return None;
        }
        self.namespaces.source_key(view.object_id()?)
    }

    /// Read the sync properties of one message and hand them to `visit`,
    /// borrowed ([`ItemView`]), with the message's property context while
    /// it is open (`None` when it cannot be opened: the view's `errors` say
    /// why). For callers that look at every message and keep few, or want
    /// other properties of some (the body of a log message) without opening
    /// the message a second time. An item whose table carries the sync
    /// columns (`row_carries_sync`) gets its row too: the table is opened
    /// for it, so walks read those items as they list them instead
    /// ([`Store::list_folder_visiting`]).
    pub fn visit_item<T>(
        &self,
        r: &ItemRef,
        visit: impl FnOnce(ItemView<'_>, Option<&PropertyContext<'_>>) -> T,
    ) -> T {
        if let Some(table) = r.row_carries_sync.then(|| self.table_of(r)).flatten() {
            // The row is found in its table; when that fails, the item is
            // read alone (the walk that listed it reported the table).
            if let Ok(Some(tc)) = self.open_table(table) {
                let row = tc
                    .row_index()
                    .ok()
                    .and_then(|index| index.iter().find(|e| e.0 == r.nid.0).copied());
                if let Some((_, row_index)) = row {
                    let columns = RowColumns::of(&tc);
                    let everything = RowPolicy::EVERYTHING;
                    return self.visit_row(r, table, &tc, row_index, &columns, &everything, visit);
                }
            }
        }
        self.visit_item_alone(r, visit)
    }

    /// [`Store::read_item`] of each of `refs`, in that order. Items read
    /// from their rows share the opened table while consecutive refs are
    /// listed by the same one: [`Store::visit_item`] opens, inflates and
    /// indexes the whole table for a single row, and a scan reads back
    /// thousands of conflict targets from tables of thousands of rows.
    pub fn read_items<'r>(&self, refs: impl IntoIterator<Item = &'r ItemRef>) -> Vec<ItemRecord> {
        let refs: Vec<&ItemRef> = refs.into_iter().collect();
        let mut open: Option<OpenTable<'a>> = None;
        let mut records = Vec::with_capacity(refs.len());
        // On a cold file, each batch's items are asked for together: one
        // after the other, each would wait for the device (9,000 conflict
        // targets of the OST bench store: 0.8 s). Their sync properties,
        // subjects and keys are in their property contexts' heaps, not in
        // subnodes.
        let plan = |k| BatchNodes {
            alone: read_ahead::batch(&refs, k).iter().map(|r| r.nid).collect(),
            with_subnodes: Vec::new(),
        };
        let walk = |k| {
            for &r in read_ahead::batch(&refs, k) {
                let Some(table) = r.row_carries_sync.then(|| self.table_of(r)).flatten() else {
                    records.push(self.visit_item_alone(r, |view, _| view.into_record()));
                    continue;
                };
                if open.as_ref().is_none_or(|t| t.nid != table) {
                    open = match self.open_table(table) {
                        Ok(Some(mut tc)) => {
                            let mut rows = tc.take_row_index().unwrap_or_default();
                            // The first row of a NID, as `visit_item` finds it.
                            rows.sort_by_key(|&(nid, _)| nid);
                            rows.dedup_by_key(|&mut (nid, _)| nid);
                            let columns = RowColumns::of(&tc);
                            Some(OpenTable {
                                nid: table,
                                tc,
                                columns,
                                rows,
                            })
                        }
                        _ => None,
                    };
                }
                let row = open.as_ref().and_then(|t| {
                    let at = t
                        .rows
                        .binary_search_by_key(&r.nid.0, |&(nid, _)| nid)
                        .ok()?;
                    Some((t, t.rows[at].1))
                });
                let record = match row {
                    Some((t, row_index)) => self.visit_row(
                        r,
                        table,
                        &t.tc,
                        row_index,
                        &t.columns,
                        &RowPolicy::EVERYTHING,
                        |view, _| view.into_record(),
                    ),
                    None => self.visit_item_alone(r, |view, _| view.into_record()),
                };
                records.push(record);
            }
        };
        let cold = self.pst.may_read_ahead();
        read_ahead::in_batches(self.pst, cold, read_ahead::batches(refs.len()), plan, walk);
        records
    }

    /// [`Store::visit_item`] from the item's property context alone.
    fn visit_item_alone<T>(
        &self,
        r: &ItemRef,
        visit: impl FnOnce(ItemView<'_>, Option<&PropertyContext<'_>>) -> T,
    ) -> T {
        let (folder_nid, folder) = self.folder_of(r);
        let mut view = ItemView::empty(r.nid, r.kind, folder_nid, folder);
        let pc = match self.open_item(r) {
            Ok(pc) => pc,
            Err(e) => {
                view.errors.push(e);
                view.derived_source_key = self.derive_source_key(&view);
                return visit(view, None);
            }
        };
        view.codepage = read_item_props(self.pst, &pc, r.nid, &mut view.item, &mut view.errors);
        view.item_read = true;
        view.derived_source_key = self.derive_source_key(&view);
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
        let stray = ItemRef::new(Nid(0x7fff_ffe4), None, ItemKind::Orphan, ItemRef::NO_NODE);
        refs.insert(3, stray);
        let order = store.read_order(&refs);
        let mut seen = order.clone();
        seen.sort_unstable();
        assert_eq!(seen, (0..refs.len() as u32).collect::<Vec<_>>());
        assert_eq!(order.last(), Some(&3));
        let bids: Vec<u64> = order[..order.len() - 1]
            .iter()
            .map(|&i| pst.node(refs[i as usize].nid).expect("node").bid_data.0)
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
