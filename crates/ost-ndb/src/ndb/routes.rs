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

use super::btree::{BtPage, Tree};
use super::file::Pst;
use super::header::Bref;

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
    pub(crate) fn build(pst: &Pst<'_>, tree: Tree) -> Option<Routes> {
        let page_size = pst.format().page_size() as u64;
        Routes::build_within(pst, tree, pst.len() / page_size.max(1) + 1)
    }

    /// [`Routes::build`], giving up after `budget` page visits.
    fn build_within(pst: &Pst<'_>, tree: Tree, budget: u64) -> Option<Routes> {
        let mut build = Build {
            pst,
            tree,
            routes: Routes {
                starts: Vec::new(),
                routes: Vec::new(),
            },
            budget,
        };
        build.page(pst.root_of(tree), None, 0, None)?;
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
    pst: &'a Pst<'p>,
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
    /// descend (checked by `bt_page`) from at most `MAX_LEVEL`.
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
        let page = match self.pst.bt_page(self.tree, bref, level) {
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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::ndb::btree::{BbtEntry, NbtEntry};
    use crate::ndb::crc::crc32;
    use crate::ndb::file::{ReadOptions, Validation};
    use crate::ndb::page::{compute_sig, ptype};

    fn repo_file(rel: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(rel)
    }

    /// Keys worth asking: every leaf key, its neighbours, the ends of the
    /// key space, and a spread of others.
    fn keys(leaf_keys: impl Iterator<Item = u64>) -> Vec<u64> {
        let mut keys = vec![0, 1, 2, u32::MAX as u64, u64::MAX, u64::MAX - 1];
        for k in leaf_keys.take(20_000) {
            keys.extend([k, k.wrapping_sub(1), k.wrapping_add(1), k | 1]);
        }
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..200 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            keys.push(x >> (x % 48));
        }
        keys
    }

    /// Lookups through the routes return what a descent from the root does,
    /// errors included, for both trees.
    fn assert_equivalent(pst: &Pst<'_>, what: &str) {
        for key in keys(pst.nbt_iter().flatten().map(|e| e.nid.0 as u64)) {
            let routed = pst.bt_lookup::<NbtEntry>(key);
            let descended = pst.bt_descend::<NbtEntry>(key, pst.root_of(Tree::Node), None);
            assert_eq!(routed, descended, "{what}: NBT key {key:#x}");
        }
        for key in keys(pst.bbt_iter().flatten().map(|e| e.bid.0)) {
            let routed = pst.bt_lookup::<BbtEntry>(key);
            let descended = pst.bt_descend::<BbtEntry>(key, pst.root_of(Tree::Block), None);
            assert_eq!(routed, descended, "{what}: BBT key {key:#x}");
        }
    }

    #[test]
    fn routes_agree_with_the_descent_on_sound_files() {
        let mut files: Vec<PathBuf> = ["small-unicode.pst", "small-ost4k.ost", "sync-faults.ost"]
            .iter()
            .map(|f| repo_file(&format!("testdata/{f}")))
            .collect();
        let corpus = corpus_dir();
        match std::fs::read_dir(&corpus) {
            Ok(dir) => files.extend(
                dir.flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "pst" || x == "ost")),
            ),
            Err(_) => println!("note: corpus {} not found; testdata only", corpus.display()),
        }
        for path in files {
            let Ok(pst) = Pst::open(&path) else { continue };
            assert_equivalent(&pst, &path.display().to_string());
            if pst.format() != crate::ndb::format::Format::Ansi {
                // A sound tree routes every key to a leaf or a gap.
                let routes = pst.routes_slot(Tree::Block).get().expect("built").as_ref();
                assert!(routes.is_some_and(|r| r.len() > 0), "{}", path.display());
            }
        }
    }

    /// Why a test skips its work, written to the process's standard error
    /// itself: libtest captures `println!` and `eprintln!` (and shows them only
    /// for a failing test), but a skipped check must be seen in `cargo test`'s
    /// output.
    fn skip(reason: std::fmt::Arguments<'_>) {
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "{reason}");
    }

    fn corpus_dir() -> PathBuf {
        std::env::var_os("OSTSCAN_CORPUS")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo_file("../shared/corpus"))
    }

    /// Unicode files damaged at random in their B-tree pages: ours, and
    /// two real ones whose NBT has branch pages (when the corpus is here).
    #[test]
    fn routes_agree_with_the_descent_on_damaged_pages() {
        let mut files = vec![repo_file("testdata/small-unicode.pst")];
        for name in ["hughbe_Outlook2007Backup.pst", "nodelibpst_outlook.pst"] {
            let path = corpus_dir().join(name);
            if path.is_file() {
                files.push(path);
            } else {
                skip(format_args!("note: {} not found; skipped", path.display()));
            }
        }
        for file in files {
            damage_and_compare(
                &std::fs::read(&file).expect("readable"),
                &file.display().to_string(),
            );
        }
    }

    fn damage_and_compare(original: &[u8], name: &str) {
        // Every page of both trees, and the key fields of branch entries.
        let (page_starts, branch_keys) = {
            let pst = Pst::from_bytes(original).expect("open");
            let (mut pages, mut keys) = (Vec::new(), Vec::new());
            for tree in [Tree::Node, Tree::Block] {
                let mut stack = vec![(pst.root_of(tree), None)];
                while let Some((bref, level)) = stack.pop() {
                    let Ok(page) = pst.bt_page(tree, bref, level) else {
                        continue;
                    };
                    pages.push(bref.ib as usize);
                    if page.level() > 0 {
                        for i in 0..page.len() {
                            keys.push(bref.ib as usize + 24 * i);
                            stack.push((page.child_at(i), Some(page.level() - 1)));
                        }
                    }
                }
            }
            (pages, keys)
        };
        assert!(page_starts.len() > 4 && branch_keys.len() > 4);
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut next = |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as usize
        };
        for round in 0..300 {
            let mut bytes = original.to_vec();
            for _ in 0..1 + next(4) {
                if next(2) == 0 {
                    // Keys, child pointers, counts and levels live in the
                    // first 496 bytes of a page; the trailer after them.
                    let at = page_starts[next(page_starts.len())] + next(512);
                    bytes[at] ^= 1 << next(8);
                } else {
                    // A branch key one or two off: gaps and overlaps of a
                    // key or two between a parent and its child.
                    let at = branch_keys[next(branch_keys.len())];
                    let mut key = [0u8; 8];
                    key.copy_from_slice(&bytes[at..at + 8]);
                    let key = u64::from_le_bytes(key);
                    let key = [key + 1, key + 2, key.wrapping_sub(1), key.wrapping_sub(2)][next(4)];
                    bytes[at..at + 8].copy_from_slice(&key.to_le_bytes());
                }
            }
            for validation in [Validation::Lenient, Validation::Strict] {
                let options = ReadOptions {
                    validation,
                    ..ReadOptions::default()
                };
                let Ok(pst) = Pst::from_bytes_with(&bytes, options) else {
                    continue;
                };
                assert_equivalent(&pst, &format!("{name}: round {round} {validation:?}"));
            }
        }
    }

    /// Branch pages whose entries all name the same child (a crafted
    /// file): the routes visit the shared pages once per interval. Past
    /// the budget they give up (lookups then descend from the root);
    /// within it, they agree with the descent.
    #[test]
    fn shared_children_within_and_past_the_budget() {
        let mut bytes = std::fs::read(repo_file("testdata/small-unicode.pst")).expect("testdata");
        let (root, level) = {
            let pst = Pst::from_bytes(&bytes).expect("open");
            let root = pst.root_of(Tree::Block);
            let level = pst.bt_page(Tree::Block, root, None).expect("root").level();
            (root, level)
        };
        // Three branch levels above the real root, each page 20 entries
        // that all point at the page below (Unicode: 24-byte entries).
        let mut below = root;
        for step in 1..=3u8 {
            let ib = bytes.len() as u64;
            let bid = 0x7000_0000 + 4 * step as u64;
            let mut page = vec![0u8; 512];
            for j in 0..20u64 {
                let e = &mut page[24 * j as usize..24 * (j as usize + 1)];
                e[0..8].copy_from_slice(&(j << 58).to_le_bytes());
                e[8..16].copy_from_slice(&below.bid.to_le_bytes());
                e[16..24].copy_from_slice(&below.ib.to_le_bytes());
            }
            page[488..492].copy_from_slice(&[20, 20, 24, level + step]);
            page[496] = ptype::BBT;
            page[497] = ptype::BBT;
            page[498..500].copy_from_slice(&compute_sig(ib, bid).to_le_bytes());
            let crc = crc32(&page[..496]);
            page[500..504].copy_from_slice(&crc.to_le_bytes());
            page[504..512].copy_from_slice(&bid.to_le_bytes());
            bytes.extend_from_slice(&page);
            below = Bref { bid, ib };
        }
        // The header's BBT root (Unicode ROOT at 180: bid at 232, ib at
        // 240); its CRC no longer matches, which lenient reading records.
        bytes[232..240].copy_from_slice(&below.bid.to_le_bytes());
        bytes[240..248].copy_from_slice(&below.ib.to_le_bytes());
        let pst = Pst::from_bytes(&bytes).expect("open");
        assert!(Routes::build_within(&pst, Tree::Block, 40).is_none());
        let routes = Routes::build(&pst, Tree::Block).expect("within the file's pages");
        assert!(routes.len() > 20);
        assert!(pst.bbt_iter().flatten().count() > 20);
        assert_equivalent(&pst, "shared children");
    }
}
