//! [`BTrees`]: what lookups in the NBT and BBT of one file keep between
//! calls (the pages already verified, and each tree's routes), and the
//! lookups themselves. [`Pst`](super::file::Pst) holds one and calls into
//! it with its [`Reader`]; nothing here knows the `Pst`.

use std::sync::OnceLock;

use super::btree::{descend, read_page, BTreeIter, BtPage, LeafEntry, Tree, VerifiedPages};
use super::error::Result;
use super::header::Bref;
use super::reader::Reader;
use super::routes::{Route, Routes};

/// The lookup state of a file's two B-trees.
pub(crate) struct BTrees {
    verified: VerifiedPages,
    /// Routes of the NBT and the BBT (in that order), built by the first
    /// lookup in each: see `routes.rs`.
    routes: [OnceLock<Option<Routes>>; 2],
}

impl BTrees {
    /// No page verified, no routes built yet, for a file of `file_len` bytes.
    pub(crate) fn new(file_len: u64) -> BTrees {
        BTrees {
            verified: VerifiedPages::new(file_len),
            routes: Default::default(),
        }
    }

    /// Read and check the B-tree page `bref` points at. `level` is the level
    /// the parent implies (`None` for the root).
    pub(crate) fn page<'a>(
        &self,
        reader: &'a Reader<'_>,
        tree: Tree,
        bref: Bref,
        level: Option<u8>,
    ) -> Result<BtPage<'a>> {
        read_page(reader, &self.verified, tree, bref, level)
    }

    /// Where the routes of `tree` are kept.
    fn routes_slot(&self, tree: Tree) -> &OnceLock<Option<Routes>> {
        match tree {
            Tree::Node => &self.routes[0],
            Tree::Block => &self.routes[1],
        }
    }

    /// The routes of `tree`, built on first use (`None` when the tree's
    /// branch pages share children: lookups then descend from the root).
    fn routes(&self, reader: &Reader<'_>, tree: Tree) -> Option<&Routes> {
        self.routes_slot(tree)
            .get_or_init(|| Routes::build(reader, &self.verified, tree))
            .as_ref()
    }

    /// Find the leaf entry with `key` in `tree`: from the page its routes
    /// give (a leaf, in a sound tree), else from the root.
    pub(crate) fn lookup<E: LeafEntry>(&self, reader: &Reader<'_>, key: u64) -> Result<E> {
        let tree = E::TREE;
        match self
            .routes(reader, tree)
            .and_then(|r| r.route(tree.key(key)))
        {
            Some(Route::Page { bref, level }) => descend(reader, &self.verified, key, bref, level),
            Some(Route::Missing { ib }) => Err(tree.not_found(ib, key)),
            None => descend(
                reader,
                &self.verified,
                key,
                tree.root(reader.header()),
                None,
            ),
        }
    }

    /// The offset of the leaf page of `tree` that holds `key`, when the
    /// routes know it.
    pub(crate) fn leaf_of(&self, reader: &Reader<'_>, tree: Tree, key: u64) -> Option<u64> {
        match self.routes(reader, tree)?.route(tree.key(key))? {
            Route::Page {
                bref,
                level: Some(0),
            } => Some(bref.ib),
            _ => None,
        }
    }

    /// The offsets of the leaf pages of `tree`, in key order, when its
    /// routes could be built.
    pub(crate) fn leaf_pages(&self, reader: &Reader<'_>, tree: Tree) -> Option<Vec<u64>> {
        Some(self.routes(reader, tree)?.leaf_pages().collect())
    }

    /// Every leaf entry of `E`'s tree in key order.
    pub(crate) fn iter<'a, 'p, E: LeafEntry>(
        &'a self,
        reader: &'a Reader<'p>,
    ) -> BTreeIter<'a, 'p, E> {
        BTreeIter::new(reader, &self.verified)
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::ndb::btree::{BbtEntry, NbtEntry};
    use crate::ndb::crc::crc32;
    use crate::ndb::issues::Validation;
    use crate::ndb::page::{compute_sig, ptype};
    use crate::ndb::reader::ReadOptions;

    /// An opened file and its lookup state, as a `Pst` holds them.
    struct Opened<'a> {
        reader: Reader<'a>,
        trees: BTrees,
    }

    impl<'a> Opened<'a> {
        fn new(reader: Reader<'a>) -> Opened<'a> {
            let trees = BTrees::new(reader.len());
            Opened { reader, trees }
        }

        fn open(path: &std::path::Path) -> Option<Opened<'static>> {
            Reader::open(path, ReadOptions::default())
                .ok()
                .map(Opened::new)
        }

        fn from_bytes(bytes: &'a [u8], options: ReadOptions) -> Option<Opened<'a>> {
            Reader::from_slice(bytes, options).ok().map(Opened::new)
        }

        fn root(&self, tree: Tree) -> Bref {
            tree.root(self.reader.header())
        }

        fn descend<E: LeafEntry>(&self, key: u64) -> Result<E> {
            descend(
                &self.reader,
                &self.trees.verified,
                key,
                self.root(E::TREE),
                None,
            )
        }

        fn page(&self, tree: Tree, bref: Bref, level: Option<u8>) -> Result<BtPage<'_>> {
            self.trees.page(&self.reader, tree, bref, level)
        }
    }

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
    fn assert_equivalent(file: &Opened<'_>, what: &str) {
        let (reader, trees) = (&file.reader, &file.trees);
        let nids = trees
            .iter::<NbtEntry>(reader)
            .flatten()
            .map(|e| e.nid.0 as u64);
        for key in keys(nids) {
            let routed = trees.lookup::<NbtEntry>(reader, key);
            let descended = file.descend::<NbtEntry>(key);
            assert_eq!(routed, descended, "{what}: NBT key {key:#x}");
        }
        let bids = trees.iter::<BbtEntry>(reader).flatten().map(|e| e.bid.0);
        for key in keys(bids) {
            let routed = trees.lookup::<BbtEntry>(reader, key);
            let descended = file.descend::<BbtEntry>(key);
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
            let Some(file) = Opened::open(&path) else {
                continue;
            };
            assert_equivalent(&file, &path.display().to_string());
            if file.reader.format() != crate::ndb::format::Format::Ansi {
                // A sound tree routes every key to a leaf or a gap.
                let routes = file.trees.routes_slot(Tree::Block).get().expect("built");
                assert!(
                    routes.as_ref().is_some_and(|r| r.len() > 0),
                    "{}",
                    path.display()
                );
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
            let file = Opened::from_bytes(original, ReadOptions::default()).expect("open");
            let (mut pages, mut keys) = (Vec::new(), Vec::new());
            for tree in [Tree::Node, Tree::Block] {
                let mut stack = vec![(file.root(tree), None)];
                while let Some((bref, level)) = stack.pop() {
                    let Ok(page) = file.page(tree, bref, level) else {
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
                let Some(file) = Opened::from_bytes(&bytes, options) else {
                    continue;
                };
                assert_equivalent(&file, &format!("{name}: round {round} {validation:?}"));
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
            let file = Opened::from_bytes(&bytes, ReadOptions::default()).expect("open");
            let root = file.root(Tree::Block);
            let level = file.page(Tree::Block, root, None).expect("root").level();
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
        let file = Opened::from_bytes(&bytes, ReadOptions::default()).expect("open");
        let (reader, verified) = (&file.reader, &file.trees.verified);
        assert!(Routes::build_within(reader, verified, Tree::Block, 40).is_none());
        let routes = Routes::build(reader, verified, Tree::Block).expect("within the file's pages");
        assert!(routes.len() > 20);
        assert!(file.trees.iter::<BbtEntry>(reader).flatten().count() > 20);
        assert_equivalent(&file, "shared children");
    }
}
