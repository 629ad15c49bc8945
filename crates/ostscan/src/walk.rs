//! Every item of a store, read in parallel, for `scan`, `items` and `diff`.
//!
//! Two paths, chosen per table (see `ost_props::rows`):
//! - a contents table that carries the sync columns (real OSTs) is read row
//!   by row as its folder is listed, folders in parallel; an item's own
//!   property context is opened only where its row lacks the sync values or
//!   the caller's [`RowPolicy`] asks for it;
//! - the items of other tables (PSTs) are read from their property
//!   contexts, in parallel, in the order of their data blocks
//!   ([`Store::read_order`]).
//!
//! What the visitor returns comes back with the walk index of its item, so
//! callers can report in walk order whatever the number of threads.

use ost_ndb::ltp::PropertyContext;
use ost_props::{ItemRecord, ItemRef, ItemView, Problem, RowPolicy, Store};
use rayon::prelude::*;

/// Items whose blocks are read ahead together on a cold file: enough for
/// a deep queue of reads, few enough to keep their blocks in memory
/// (a property context's first block is at most 8 KiB, 64 KiB in 4K files,
/// and `ost-ndb` keeps at most 16 MiB read ahead).
const READ_AHEAD_BATCH: usize = 2048;

/// The items of a walk and what the visitor made of each.
pub struct Walked<T> {
    /// Every item, in walk order.
    pub refs: Vec<ItemRef>,
    /// `outcomes[k]` is what the visitor returned for `refs[order[k]]`.
    pub order: Vec<u32>,
    pub outcomes: Vec<T>,
}

impl<T> Walked<T> {
    /// The outcomes in walk order (a permutation; for callers that keep
    /// every item).
    pub fn into_walk_order(self) -> Vec<T> {
        let mut keyed: Vec<(u32, T)> = self.order.into_iter().zip(self.outcomes).collect();
        keyed.sort_unstable_by_key(|&(i, _)| i);
        keyed.into_iter().map(|(_, t)| t).collect()
    }
}

/// Every item of `store` (with `all`, associated items and orphans too)
/// as a record, in walk order.
pub fn read_records(store: &mut Store<'_>, all: bool, policy: &RowPolicy<'_>) -> Vec<ItemRecord> {
    visit_items(store, all, policy, |_, view, _| view.into_record()).into_walk_order()
}

/// What could not be read of `store` and of its `records`: the store's
/// problems, then each record's in walk order; a record's problems name
/// its node (its own NID where the problem names none).
pub fn read_problems(store: &Store<'_>, records: &[ItemRecord]) -> Vec<Problem> {
    let mut problems = store.errors().to_vec();
    for record in records {
        problems.extend(record.errors.iter().cloned().map(|mut e| {
            e.nid.get_or_insert(record.nid);
            e
        }));
    }
    problems
}

/// Read every item of `store` (with `all`, associated items and orphans
/// too) and hand each to `visit`, with the store, on the current rayon
/// pool. (The store is passed rather than borrowed by `visit`: the walk
/// needs it mutably between the two paths.)
pub fn visit_items<T, F>(
    store: &mut Store<'_>,
    all: bool,
    policy: &RowPolicy<'_>,
    visit: F,
) -> Walked<T>
where
    T: Send,
    F: Fn(&Store<'_>, ItemView<'_>, Option<&PropertyContext<'_>>) -> T + Sync,
{
    visit_items_listing_first(store, all, policy, &|_| false, || {}, visit)
}

/// [`visit_items`], but the folders for which `first` (given the folder's
/// index in [`Store::folders`]) is true are listed, and their rows
/// visited, before the others, and `between` is called in between: what
/// the visitor learnt from the first folders' rows (the scan: which items
/// the conflicts of the Sync Issues folders name) is then known for every
/// other row. The walk order, and so what the walk returns, is the same.
pub fn visit_items_listing_first<T, F>(
    store: &mut Store<'_>,
    all: bool,
    policy: &RowPolicy<'_>,
    first: &(dyn Fn(usize) -> bool + Sync),
    between: impl FnOnce() + Send,
    visit: F,
) -> Walked<T>
where
    T: Send,
    F: Fn(&Store<'_>, ItemView<'_>, Option<&PropertyContext<'_>>) -> T + Sync,
{
    // The folders' tables (rows read as they are listed) and the NBT are
    // read in parallel, then joined.
    let listed = &*store;
    let list = |i: usize| listed.list_folder_visiting(i, all, policy, |v, pc| visit(listed, v, pc));
    let (listings, nodes) = rayon::join(
        || {
            let (early, late): (Vec<usize>, Vec<usize>) =
                (0..listed.folders().len()).partition(|&i| first(i));
            let mut listings: Vec<(usize, _)> =
                early.into_par_iter().map(|i| (i, list(i))).collect();
            between();
            listings.par_extend(late.into_par_iter().map(|i| (i, list(i))));
            // Back in folder order.
            listings.sort_unstable_by_key(|&(i, _)| i);
            listings.into_iter().map(|(_, listing)| listing).collect()
        },
        || listed.walk_message_nodes(),
    );
    let joined = store.join_item_refs(listings, nodes, all);
    let refs = joined.refs;
    let mut order = joined.order;
    let mut outcomes = joined.outcomes;
    // Items are read in the order of their blocks (neighbouring reads
    // share B-tree leaves and page-cache nodes); `collect` on an indexed
    // parallel iterator keeps that order whatever the number of threads.
    let pc_order: Vec<u32> = store
        .read_order(&refs)
        .into_iter()
        .filter(|&i| !refs[i as usize].row_carries_sync)
        .collect();
    let store = &*store;
    // Collected in place, after the rows' outcomes: one vector of a
    // store's outcomes, not two. A warm file in one go (a batch's end
    // leaves a CPU idle: 1.35x the time of a warm scan of the 40k bench
    // store in batches of 2,048). On a cold file in batches, each batch's
    // blocks asked for ahead (`Store::prefetch_items`) while the one before
    // is walked: the reads run behind a queue in `ost-ndb`, so the device
    // reads one batch while the CPUs work on the other.
    let walk_one = |&i: &u32| store.visit_item(&refs[i as usize], |v, pc| visit(store, v, pc));
    let first = &pc_order[..pc_order.len().min(READ_AHEAD_BATCH)];
    if !store.prefetch_items(&refs, first) {
        outcomes.par_extend(pc_order.par_iter().map(walk_one));
    } else {
        let mut rest = &pc_order[..];
        while !rest.is_empty() {
            let (batch, after) = rest.split_at(rest.len().min(READ_AHEAD_BATCH));
            let next = &after[..after.len().min(READ_AHEAD_BATCH)];
            std::thread::scope(|s| {
                if !next.is_empty() {
                    // Its B-tree leaves are waited for off the pool.
                    s.spawn(|| store.prefetch_items(&refs, next));
                }
                outcomes.par_extend(batch.par_iter().map(walk_one));
            });
            rest = after;
        }
    }
    order.extend(pc_order);
    Walked {
        refs,
        order,
        outcomes,
    }
}
