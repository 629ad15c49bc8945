//! Routes of a B-tree: which page a lookup of each key lands on, from one
//! walk of the tree's branch pages.
//!
//! A scan looks up one block per message, and a descent through a 512-byte
//! page tree is four or five page reads, each checked and searched. The
//! routes flatten the branch levels into one sorted list of key intervals,
//! so a lookup is one bisection of that list and one leaf page.
//!
//! A lookup through the routes returns exactly what a descent from the root
//! returns, errors included, on any bytes: each interval is the set of keys
//! the descent would send to its page (the intersection of the intervals
//! the branch entries above it give), and wherever the branch levels cannot
//! be reduced to intervals (a page that fails its checks, keys out of
//! order) the route says "descend from here", so the descent meets the same
//! failure. Building records the integrity problems of every branch page,
//! as a descent through each of them would.
//!
//! Below `lookup.rs`, which keeps the routes of a file and asks them first;
//! above `btree.rs`, whose checked page reads build them.

use super::btree::{read_page, BtPage, Tree, VerifiedPages};
use super::header::Bref;
use super::reader::Reader;

/// Where a lookup goes for the keys of one interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// Descend from this page, which the parent says is at `level` (`None`
    /// for the root). A leaf for every interval of a sound tree.
    Page { bref: Bref, level: Option<u8> },
    /// No leaf holds these keys: the descent stops at the branch page at
    /// `ib`, whose first key is above them.
    Missing { ib: u64 },
}

/// The routes of one tree: `starts[i]` is the first key of the interval
/// that `routes[i]` serves, up to the next start.
pub(crate) struct Routes {
    starts: Vec<u64>,
    routes: Vec<Route>,
}

impl Routes {
    /// Walk the branch pages of `tree`. `None` when the walk would visit
    /// more pages than the file holds: branch entries share children (a
    /// crafted file), and lookups then simply descend.
    pub(crate) fn build(
        reader: &Reader<'_>,
        verified: &VerifiedPages,
        tree: Tree,
    ) -> Option<Routes> {
        let page_size = reader.format().page_size() as u64;
        Routes::build_within(reader, verified, tree, reader.len() / page_size.max(1) + 1)
    }

    /// [`Routes::build`], giving up after `budget` page visits.
    pub(crate) fn build_within(
        reader: &Reader<'_>,
        verified: &VerifiedPages,
        tree: Tree,
        budget: u64,
    ) -> Option<Routes> {
        let mut build = Build {
            reader,
            verified,
            tree,
            routes: Routes {
                starts: Vec::new(),
                routes: Vec::new(),
            },
            budget,
        };
        build.page(tree.root(reader.header()), None, 0, None)?;
        Some(build.routes)
    }

    /// The route of `key` (a key as the tree compares it). The first
    /// interval starts at 0, so there is always one; `None` is for a caller
    /// that must not trust that (it then descends from the root).
    pub(crate) fn route(&self, key: u64) -> Option<Route> {
        let i = self.starts.partition_point(|&s| s <= key);
        self.routes.get(i.checked_sub(1)?).copied()
    }

    /// The offsets of the leaf pages the routes lead to, in key order.
    pub(crate) fn leaf_pages(&self) -> impl Iterator<Item = u64> + '_ {
        self.routes.iter().filter_map(|r| match r {
            Route::Page {
                bref,
                level: Some(0),
            } => Some(bref.ib),
            _ => None,
        })
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.starts.len()
    }
}

struct Build<'a, 'p> {
    reader: &'a Reader<'p>,
    verified: &'a VerifiedPages,
    tree: Tree,
    routes: Routes,
    /// Pages left to visit.
    budget: u64,
}

impl Build<'_, '_> {
    fn push(&mut self, start: u64, route: Route) {
        self.routes.starts.push(start);
        self.routes.routes.push(route);
    }

    /// Route the keys in `lo..hi` (`hi` `None`: to the end) that reach the
    /// page `bref`, which its parent says is at `level`. Intervals are
    /// pushed in key order. Recursion depth is bounded: levels strictly
    /// descend (checked by `read_page`) from at most `MAX_LEVEL`.
    fn page(&mut self, bref: Bref, level: Option<u8>, lo: u64, hi: Option<u64>) -> Option<()> {
        self.budget = self.budget.checked_sub(1)?;
        let here = Route::Page { bref, level };
        if level == Some(0) {
            // A leaf by its parent's word: the lookup reads and checks it
            // (once the route is known, a leaf page is all a lookup reads).
            // Building reads branch pages only.
            self.push(lo, here);
            return Some(());
        }
        let page = match read_page(self.reader, self.verified, self.tree, bref, level) {
            Ok(page) if page.level() > 0 && keys_ascend(&page) => page,
            // A root that is a leaf, or a page whose failure or disorder
            // the descent must meet itself.
            _ => {
                self.push(lo, here);
                return Some(());
            }
        };
        let child_level = Some(page.level() - 1);
        let first = if page.is_empty() {
            None
        } else {
            Some(page.key_at(0))
        };
        // Keys below the first entry: the descent's floor finds nothing.
        if first.is_none_or(|k| lo < k) {
            self.push(lo, Route::Missing { ib: bref.ib });
        }
        for i in 0..page.len() {
            let start = page.key_at(i).max(lo);
            let next = if i + 1 < page.len() {
                Some(page.key_at(i + 1))
            } else {
                None
            };
            let end = match (next, hi) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            if end.is_none_or(|end| start < end) {
                self.page(page.child_at(i), child_level, start, end)?;
            }
        }
        Some(())
    }
}

/// Whether the keys of `page` never go down, so that its binary search is
/// exactly "the last entry whose key is at most the key sought".
fn keys_ascend(page: &BtPage<'_>) -> bool {
    (1..page.len()).all(|i| page.key_at(i - 1) <= page.key_at(i))
}
