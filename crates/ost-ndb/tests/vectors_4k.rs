//! Page and block fragments of a real Windows 11 4K OST
//! (../shared/vectors/artemis_ost4k_win11; values from its MANIFEST.tsv).

use std::path::PathBuf;

use ost_ndb::ndb::block::BlockTrailer;
use ost_ndb::ndb::btree::{BbtEntry, BtPage, NbtEntry, Tree};
use ost_ndb::ndb::crc::crc32;
use ost_ndb::ndb::header::Bref;
use ost_ndb::ndb::page::ptype;
use ost_ndb::Format;

fn vectors() -> Option<PathBuf> {
    let dir = std::env::var_os("OSTSCAN_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors")
        })
        .join("artemis_ost4k_win11");
    if dir.is_dir() {
        Some(dir)
    } else {
        skip(format_args!("skipping: {} not found", dir.display()));
        None
    }
}

/// Parse a 4K B-tree page fragment and check its CRC.
fn page(name: &str, tree: Tree) -> Option<(Vec<u8>, ost_ndb::ndb::page::PageTrailer)> {
    let bytes = std::fs::read(vectors()?.join(name)).unwrap();
    let bref = Bref { bid: 0, ib: 0 };
    let (_, trailer) = BtPage::parse(&bytes, bref, tree, Format::Unicode4k).unwrap();
    assert_eq!(crc32(&bytes[..4072]), trailer.crc, "{name}: page CRC");
    Some((bytes, trailer))
}

fn check(name: &str, tree: Tree, level: u8, c_ent: usize, c_ent_max: usize, cb_ent: usize) {
    let Some((bytes, trailer)) = page(name, tree) else {
        return;
    };
    let (bt, _) = BtPage::parse(&bytes, Bref { bid: 0, ib: 0 }, tree, Format::Unicode4k).unwrap();
    assert_eq!(bt.level(), level, "{name}: cLevel");
    assert_eq!(bt.len(), c_ent, "{name}: cEnt");
    assert_eq!(bt.footer.c_ent_max, c_ent_max, "{name}: cEntMax");
    assert_eq!(bt.footer.cb_ent, cb_ent, "{name}: cbEnt");
    let want_ptype = match tree {
        Tree::Node => ptype::NBT,
        Tree::Block => ptype::BBT,
    };
    assert_eq!(trailer.ptype, want_ptype);
    // Keys ascend.
    for i in 1..bt.len() {
        assert!(
            bt.key_at(i - 1) < bt.key_at(i),
            "{name}: keys sorted at {i}"
        );
    }
}

#[test]
fn nbt_branch_page() {
    check("node.raw", Tree::Node, 1, 6, 169, 24);
}

#[test]
fn bbt_branch_page() {
    check("block.raw", Tree::Block, 1, 31, 169, 24);
}

#[test]
fn nbt_leaf_page() {
    check("btree_leaf_node.raw", Tree::Node, 0, 117, 126, 32);
    let Some((bytes, _)) = page("btree_leaf_node.raw", Tree::Node) else {
        return;
    };
    let (bt, _) = BtPage::parse(
        &bytes,
        Bref { bid: 0, ib: 0 },
        Tree::Node,
        Format::Unicode4k,
    )
    .unwrap();
    let first: NbtEntry = bt.leaf(0).unwrap();
    // The message store, NID 0x21, is the first node of every file.
    assert_eq!(first.nid.0, 0x21);
    assert_eq!(first.bid_data.0, 0x110bc);
    let second: NbtEntry = bt.leaf(1).unwrap();
    assert_eq!(second.nid.0, 0x61);
}

#[test]
fn bbt_leaf_page() {
    check("btree_leaf_block.raw", Tree::Block, 0, 100, 169, 24);
    let Some((bytes, _)) = page("btree_leaf_block.raw", Tree::Block) else {
        return;
    };
    let (bt, _) = BtPage::parse(
        &bytes,
        Bref { bid: 0, ib: 0 },
        Tree::Block,
        Format::Unicode4k,
    )
    .unwrap();
    let e: BbtEntry = bt.leaf(0).unwrap();
    assert_eq!(e.bid.0, 4);
    assert_eq!(e.ib, 0x25000);
    assert_eq!(e.cb, 0xac);
    assert_eq!(e.cb_inflated, Some(0xac));
    assert_eq!(e.cref, 0x2a);
    // 4K blocks are 512-byte aligned.
    for i in 0..bt.len() {
        let e: BbtEntry = bt.leaf(i).unwrap();
        assert_eq!(e.ib % 512, 0, "entry {i} at {:#x}", e.ib);
    }
}

#[test]
fn raw_data_block_trailer() {
    let Some(dir) = vectors() else {
        return;
    };
    let bytes = std::fs::read(dir.join("block_raw.raw")).unwrap();
    assert_eq!(bytes.len(), 512);
    let t = BlockTrailer::parse(&bytes[512 - 24..], Format::Unicode4k).unwrap();
    assert_eq!(t.cb, 456);
    assert_eq!(t.sig, 63926);
    assert_eq!(t.crc, 3861511615);
    assert_eq!(t.bid, 69820);
    assert_eq!(t.cb_inflated, Some(456));
    assert!(!t.is_compressed());
    assert_eq!(crc32(&bytes[..456]), t.crc);
    // The message store's data block: a heap (HN) signature 0xEC at byte 2.
    assert_eq!(bytes[2], 0xEC);
}

/// Why a test skips its work, written to the process's standard error
/// itself: libtest captures `println!` and `eprintln!` (and shows them only
/// for a failing test), but a skipped check must be seen in `cargo test`'s
/// output.
fn skip(reason: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{reason}");
}
