//! Corruption sweep (issue 7): seeded mutants of fixture files of every
//! format and of every corpus file go through the whole walk (`Store::open`,
//! every item read, the rules), in process, each with a time and a memory
//! bound. Every message none of whose own structures a mutation touched (the
//! NBT pages on the path to its node, its data and subnode blocks and the BBT
//! pages on the path to each, the header's meaningful bytes) must still be
//! reported with the change key and PCL it had before; when a message is
//! lost the walk must say so with an error that names an offset. A sample of
//! the mutants also goes through the `ostscan` binary, which must exit 0, 1
//! or 2, never by a signal or a panic.
//!
//! The crates/ost-ndb `hostile` test only checks that the NDB layer never
//! panics; this one checks what is recovered.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{peak_alloc, CountingAlloc, Rng};
use ost_fixture::{CryptMethod, FixtureBuilder, TreeKind};
use ost_ndb::ndb::block::{btype, InternalHeader};
use ost_ndb::ndb::crc::crc32;
use ost_ndb::ndb::header::Bref;
use ost_ndb::ndb::Tree;
use ost_ndb::{Bid, Format, Header, NdbError, Nid, Pst};
use ost_props::{ItemRecord, Store};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// No single mutant may take longer than this (debug build, loaded CI box).
const TIME_LIMIT: Duration = Duration::from_secs(10);

/// Bytes one walk may hold at its peak, beyond this many per file byte.
const MEM_BASE: usize = 64 << 20;
const MEM_PER_FILE_BYTE: usize = 4;

// ---------------------------------------------------------------------------
// The walk under test.

/// What one walk reports.
struct Walk {
    /// Keys `nbt_iter` and `bbt_iter` yield.
    nids: HashSet<u64>,
    bids: HashSet<u64>,
    items: Vec<ItemRecord>,
    /// (structure, offset) of every problem: walk errors, item errors,
    /// integrity issues of the NDB layer.
    errors: Vec<(String, u64)>,
}

/// The walk `ostscan items --all` (and `scan`) does, plus the rules.
fn walk(bytes: &[u8]) -> Result<Walk, NdbError> {
    let pst = Pst::from_bytes(bytes)?;
    // What `info --verify` reads: both trees, every block's CRC.
    let _ = pst.stats(true);
    let mut store = Store::open(&pst);
    let refs = store.item_refs(true);
    let items: Vec<ItemRecord> = refs.iter().map(|r| store.read_item(r)).collect();
    for r in &items {
        let _ = ostscan::check(&ostscan::SyncProps {
            change_key: r.change_key.as_deref(),
            pcl: r.pcl.as_deref(),
        });
    }
    let mut errors: Vec<(String, u64)> = store
        .errors()
        .iter()
        .map(|e| (e.structure.to_string(), e.offset))
        .collect();
    for r in &items {
        errors.extend(r.errors.iter().map(|e| (e.structure.to_string(), e.offset)));
    }
    let nids = pst.nbt_iter().flatten().map(|e| e.nid.0 as u64).collect();
    let bids = pst.bbt_iter().flatten().map(|e| e.bid.0 & !1).collect();
    let (issues, _) = pst.issues();
    errors.extend(issues.iter().map(|e| (e.structure.to_string(), e.offset)));
    Ok(Walk {
        nids,
        bids,
        items,
        errors,
    })
}

// ---------------------------------------------------------------------------
// Where each message's structures are.

fn uint(b: &[u8], at: usize, wide: bool) -> u64 {
    let n = if wide { 8 } else { 4 };
    let mut raw = [0u8; 8];
    if let Some(s) = b.get(at..at + n) {
        raw[..n].copy_from_slice(s);
    }
    u64::from_le_bytes(raw)
}

/// A B-tree page found by walking a tree from its root.
#[derive(Debug, Clone, Copy)]
struct PageInfo {
    ib: u64,
    bid: u64,
    tree: Tree,
    level: u8,
    entries: usize,
}

/// A file prepared for the sweep: its pages and blocks, and every
/// message's baseline values and byte ranges.
struct Target {
    name: String,
    bytes: Vec<u8>,
    format: Format,
    pages: Vec<PageInfo>,
    /// bid -> (start, end) on disk.
    blocks: BTreeMap<u64, (u64, u64)>,
    /// Messages that read cleanly unmutated.
    messages: Vec<Message>,
    /// Every NBT and BBT leaf entry: (tree is NBT, key, byte ranges of the
    /// pages on its lookup path and the header).
    entries: Vec<TreeEntry>,
}

/// A B-tree leaf entry: (in the NBT, key, byte ranges its lookup needs).
type TreeEntry = (bool, u64, Vec<(u64, u64)>);

struct Message {
    nid: Nid,
    change_key: Option<Vec<u8>>,
    pcl: Option<Vec<u8>>,
    /// Byte ranges whose change may cost this message.
    ranges: Vec<(u64, u64)>,
}

/// The header bytes the reader uses: all but the two CRCs (lenient reading
/// goes on past a bad header CRC, so flipping a CRC must cost nothing).
fn header_ranges(f: Format) -> Vec<(u64, u64)> {
    let size = Header::size(f) as u64;
    match f {
        Format::Ansi => vec![(0, 4), (8, size)],
        _ => vec![(0, 4), (8, 524), (528, size)],
    }
}

/// Every page of one tree, depth first.
fn tree_pages(pst: &Pst<'_>, tree: Tree, out: &mut Vec<PageInfo>) {
    let root = match tree {
        Tree::Node => pst.header().root.nbt,
        Tree::Block => pst.header().root.bbt,
    };
    let mut stack = vec![(root, None::<u8>)];
    let mut seen = HashSet::new();
    while let Some((bref, level)) = stack.pop() {
        if !seen.insert(bref.ib) {
            continue;
        }
        let Ok(page) = pst.bt_page(tree, bref, level) else {
            continue;
        };
        out.push(PageInfo {
            ib: bref.ib,
            bid: bref.bid,
            tree,
            level: page.level(),
            entries: page.len(),
        });
        if page.level() > 0 {
            for i in 0..page.len() {
                stack.push((page.child_at(i), Some(page.level() - 1)));
            }
        }
    }
}

/// File offsets of the pages a lookup of `key` reads, root first.
fn lookup_path(pst: &Pst<'_>, tree: Tree, key: u64) -> Option<Vec<u64>> {
    let mut bref: Bref = match tree {
        Tree::Node => pst.header().root.nbt,
        Tree::Block => pst.header().root.bbt,
    };
    let key = match tree {
        Tree::Node => key & 0xFFFF_FFFF,
        Tree::Block => key & !1,
    };
    let mut level = None;
    let mut path = Vec::new();
    for _ in 0..16 {
        let page = pst.bt_page(tree, bref, level).ok()?;
        path.push(bref.ib);
        let i = (0..page.len()).rev().find(|&i| page.key_at(i) <= key)?;
        if page.level() == 0 {
            return Some(path);
        }
        level = Some(page.level() - 1);
        bref = page.child_at(i);
    }
    None
}

/// `bid` and every block below it (data trees, subnode trees, subnodes' data).
fn block_closure(pst: &Pst<'_>, bid: u64, depth: usize, out: &mut Vec<u64>) -> Option<()> {
    if bid == 0 || out.contains(&bid) {
        return Some(());
    }
    if depth > 8 {
        return None;
    }
    out.push(bid);
    if bid & 2 == 0 {
        return Some(());
    }
    let f = pst.format();
    let data = pst.block_data(Bid(bid)).ok()?;
    let h = InternalHeader::parse(&data)?;
    let id = f.id_size();
    let at = InternalHeader::size(h.btype, f);
    match h.btype {
        btype::XBLOCK => {
            for i in 0..h.c_ent {
                block_closure(pst, uint(&data, at + i * id, f.wide()), depth + 1, out)?;
            }
        }
        btype::SLBLOCK if h.level == 0 => {
            for i in 0..h.c_ent {
                let e = at + i * 3 * id;
                block_closure(pst, uint(&data, e + id, f.wide()), depth + 1, out)?;
                block_closure(pst, uint(&data, e + 2 * id, f.wide()), depth + 1, out)?;
            }
        }
        btype::SLBLOCK => {
            for i in 0..h.c_ent {
                let e = at + i * 2 * id;
                block_closure(pst, uint(&data, e + id, f.wide()), depth + 1, out)?;
            }
        }
        _ => return None,
    }
    Some(())
}

/// Byte ranges of everything reading message `r` needs: its node, and
/// when its sync values come from its contents-table row (real OSTs), that
/// table and the folders and hierarchy tables that lead to it.
fn message_ranges(
    pst: &Pst<'_>,
    target: &Target,
    folders: &[ost_props::Folder],
    r: &ItemRecord,
) -> Option<Vec<(u64, u64)>> {
    let mut ranges = node_ranges(pst, target, r.nid)?;
    if r.sources.any_row() {
        let table = match r.kind {
            ost_props::ItemKind::Associated => ost_ndb::NidType::AssocContentsTable,
            _ => ost_ndb::NidType::ContentsTable,
        };
        ranges.extend(node_ranges(pst, target, r.folder_nid.with_type(table))?);
        let mut at = folders.iter().position(|f| f.nid == r.folder_nid);
        while let Some(i) = at {
            let f = &folders[i];
            ranges.extend(node_ranges(pst, target, f.nid)?);
            if let Some(p) = f.parent {
                let hier = folders[p].nid.with_type(ost_ndb::NidType::HierarchyTable);
                ranges.extend(node_ranges(pst, target, hier)?);
            }
            at = f.parent;
        }
    }
    Some(ranges)
}

/// Byte ranges of everything reading node `nid` needs.
fn node_ranges(pst: &Pst<'_>, target: &Target, nid: Nid) -> Option<Vec<(u64, u64)>> {
    let f = target.format;
    let page = f.page_size() as u64;
    let mut ranges = header_ranges(f);
    for ib in lookup_path(pst, Tree::Node, u64::from(nid.0))? {
        ranges.push((ib, ib + page));
    }
    let e = pst.nbt_lookup(nid).ok()?;
    let mut bids = Vec::new();
    block_closure(pst, e.bid_data.0, 0, &mut bids)?;
    block_closure(pst, e.bid_sub.0, 0, &mut bids)?;
    for bid in bids {
        ranges.push(*target.blocks.get(&(bid & !1))?);
        for ib in lookup_path(pst, Tree::Block, bid)? {
            ranges.push((ib, ib + page));
        }
    }
    Some(ranges)
}

impl Target {
    /// Read `bytes` unmutated: its pages, blocks and clean messages.
    fn new(name: &str, bytes: Vec<u8>) -> Option<Target> {
        let pst = Pst::from_bytes(&bytes).ok()?;
        let format = pst.format();
        let mut pages = Vec::new();
        tree_pages(&pst, Tree::Node, &mut pages);
        tree_pages(&pst, Tree::Block, &mut pages);
        let blocks: BTreeMap<u64, (u64, u64)> = pst
            .bbt_iter()
            .flatten()
            .map(|e| {
                (
                    e.bid.0 & !1,
                    (e.ib, e.ib + format.block_size_for(e.cb as u64)),
                )
            })
            .collect();
        let mut target = Target {
            name: name.to_string(),
            bytes: Vec::new(),
            format,
            pages,
            blocks,
            messages: Vec::new(),
            entries: Vec::new(),
        };
        let page = format.page_size() as u64;
        let mut entries = Vec::new();
        let keys: Vec<(bool, u64)> = pst
            .nbt_iter()
            .flatten()
            .map(|e| (true, e.nid.0 as u64))
            .chain(pst.bbt_iter().flatten().map(|e| (false, e.bid.0 & !1)))
            .collect();
        for (nbt, key) in keys {
            let tree = if nbt { Tree::Node } else { Tree::Block };
            if let Some(path) = lookup_path(&pst, tree, key) {
                let mut ranges = header_ranges(format);
                ranges.extend(path.into_iter().map(|ib| (ib, ib + page)));
                entries.push((nbt, key, ranges));
            }
        }
        target.entries = entries;
        let base = walk(&bytes).ok()?;
        let folders = Store::open(&pst).folders().to_vec();
        let mut seen = HashSet::new();
        let mut messages = Vec::new();
        for r in &base.items {
            if !r.errors.is_empty() || !seen.insert(r.nid) {
                continue;
            }
            if let Some(ranges) = message_ranges(&pst, &target, &folders, r) {
                messages.push(Message {
                    nid: r.nid,
                    change_key: r.change_key.clone(),
                    pcl: r.pcl.clone(),
                    ranges,
                });
            }
        }
        drop(pst);
        target.messages = messages;
        target.bytes = bytes;
        Some(target)
    }
}

// ---------------------------------------------------------------------------
// Mutations.

struct Mutant {
    bytes: Vec<u8>,
    /// Byte ranges changed (a truncation changes everything past the cut).
    touched: Vec<(u64, u64)>,
    kind: &'static str,
    /// Integrity fields were recomputed, so the damage may be silent.
    silent: bool,
}

fn fix_page_crc(b: &mut [u8], f: Format, ib: usize) {
    let t = f.page_trailer_offset();
    let crc = crc32(&b[ib..ib + t]);
    let at = ib + t + if f == Format::Ansi { 8 } else { 4 };
    b[at..at + 4].copy_from_slice(&crc.to_le_bytes());
}

fn fix_block_crc(b: &mut [u8], f: Format, start: usize, end: usize) {
    let t = end - f.block_trailer_size();
    let cb = u16::from_le_bytes([b[t], b[t + 1]]) as usize;
    if start + cb > t {
        return;
    }
    let crc = crc32(&b[start..start + cb]);
    let at = t + if f == Format::Ansi { 8 } else { 4 };
    b[at..at + 4].copy_from_slice(&crc.to_le_bytes());
}

fn flip_bits(b: &mut [u8], rng: &mut Rng, start: usize, end: usize, n: usize) -> Vec<(u64, u64)> {
    let mut touched = Vec::new();
    for _ in 0..n {
        let i = start + rng.below(end - start);
        b[i] ^= 1 << rng.below(8);
        touched.push((i as u64, i as u64 + 1));
    }
    touched
}

fn mutate(t: &Target, rng: &mut Rng) -> Mutant {
    let f = t.format;
    let page = f.page_size();
    let mut b = t.bytes.clone();
    let len = b.len();
    let pick_page = |rng: &mut Rng| t.pages[rng.below(t.pages.len())];
    let blocks: Vec<(u64, u64)> = t.blocks.values().copied().collect();
    let mut silent = false;
    // Files whose BBT (or NBT) cannot be read have no known blocks (pages):
    // damage them anywhere instead.
    let choice = match rng.below(11) {
        1..=4 | 9 if blocks.is_empty() || t.pages.is_empty() => 10,
        6..=8 if t.pages.is_empty() => 10,
        c => c,
    };
    let (kind, touched): (&'static str, Vec<(u64, u64)>) = match choice {
        0 => {
            let h = Header::size(f);
            let n = 1 + rng.below(3);
            ("header bits", flip_bits(&mut b, rng, 0, h, n))
        }
        1 | 2 => {
            let p = pick_page(rng);
            let ib = p.ib as usize;
            let n = 1 + rng.below(3);
            let mut touched = flip_bits(&mut b, rng, ib, ib + page, n);
            if rng.below(3) == 0 {
                fix_page_crc(&mut b, f, ib);
                silent = true;
                touched.push((p.ib, p.ib + page as u64));
            }
            ("page bits", touched)
        }
        3 | 4 => {
            let (s, e) = blocks[rng.below(blocks.len())];
            let n = 1 + rng.below(3);
            let mut touched = flip_bits(&mut b, rng, s as usize, e as usize, n);
            if rng.below(3) == 0 {
                fix_block_crc(&mut b, f, s as usize, e as usize);
                silent = true;
                touched.push((s, e));
            }
            ("block bits", touched)
        }
        5 => {
            let cut = match rng.below(4) {
                0 => rng.below(Header::size(f) + 64),
                1 => rng.below(len / page) * page,
                _ => rng.below(len),
            };
            b.truncate(cut);
            ("truncate", vec![(cut as u64, u64::MAX)])
        }
        6 => {
            let ib = if rng.below(2) == 0 {
                pick_page(rng).ib as usize
            } else {
                rng.below(len / page) * page
            };
            b[ib..ib + page].fill(0);
            ("zero page", vec![(ib as u64, (ib + page) as u64)])
        }
        7 => {
            let x = pick_page(rng).ib as usize;
            let y = if rng.below(2) == 0 {
                pick_page(rng).ib as usize
            } else {
                rng.below(len / page) * page
            };
            let tmp = b[x..x + page].to_vec();
            b.copy_within(y..y + page, x);
            b[y..y + page].copy_from_slice(&tmp);
            (
                "swap pages",
                vec![(x as u64, (x + page) as u64), (y as u64, (y + page) as u64)],
            )
        }
        8 => {
            // A B-tree cycle: a branch entry pointing at itself, at the
            // root or at another branch page of its tree, CRC kept valid so
            // strict reading would follow it too.
            let branches: Vec<PageInfo> = t.pages.iter().copied().filter(|p| p.level > 0).collect();
            if branches.is_empty() {
                // Single-leaf trees: make the header's NBT root a BBT page.
                let bbt = t.pages.iter().find(|p| matches!(p.tree, Tree::Block));
                let at = if f == Format::Ansi { 0xB8 } else { 0xD8 };
                let (bid, ib) = bbt.map_or((0, 0), |p| (p.bid, p.ib));
                write_bref(&mut b, f, at, bid, ib);
                (
                    "header root at wrong tree",
                    vec![(0, Header::size(f) as u64)],
                )
            } else {
                let p = branches[rng.below(branches.len())];
                let to = match rng.below(3) {
                    0 => p,
                    1 => t
                        .pages
                        .iter()
                        .copied()
                        .filter(|q| {
                            std::mem::discriminant(&q.tree) == std::mem::discriminant(&p.tree)
                        })
                        .max_by_key(|q| q.level)
                        .unwrap_or(p),
                    _ => branches[rng.below(branches.len())],
                };
                let i = rng.below(p.entries.max(1));
                let at = p.ib as usize + i * f.bt_entry_size() + f.id_size();
                write_bref(&mut b, f, at, to.bid, to.ib);
                fix_page_crc(&mut b, f, p.ib as usize);
                silent = true;
                ("b-tree cycle", vec![(p.ib, p.ib + page as u64)])
            }
        }
        9 => {
            // Oversized counts: a page's cEnt / cbEnt / cLevel, or a u16 /
            // u32 count near the start of a block (HN header, page map,
            // BTH / TC headers, internal block cEnt / lcbTotal).
            if rng.below(2) == 0 {
                let p = pick_page(rng);
                let ib = p.ib as usize;
                let footer = ib + f.btpage_entries_size();
                match (rng.below(3), f) {
                    (0, Format::Unicode4k) => {
                        b[footer..footer + 2].copy_from_slice(&0xFFFFu16.to_le_bytes())
                    }
                    (0, _) => b[footer] = 0xFF,
                    (1, Format::Unicode4k) => b[footer + 4] = 0xFF,
                    (1, _) => b[footer + 2] = 0xFF,
                    (_, Format::Unicode4k) => b[footer + 5] = 0x7F,
                    (_, _) => b[footer + 3] = 0x7F,
                }
                if rng.below(2) == 0 {
                    fix_page_crc(&mut b, f, ib);
                    silent = true;
                }
                ("oversized page count", vec![(p.ib, p.ib + page as u64)])
            } else {
                let (s, e) = blocks[rng.below(blocks.len())];
                let span = ((e - s) as usize - f.block_trailer_size()).min(32) / 2;
                let at = s as usize + 2 * rng.below(span.max(1));
                let w = if rng.below(2) == 0 { 2 } else { 4 };
                b[at..at + w].copy_from_slice(&u32::MAX.to_le_bytes()[..w]);
                if rng.below(2) == 0 {
                    fix_block_crc(&mut b, f, s as usize, e as usize);
                    silent = true;
                }
                ("oversized block count", vec![(s, e)])
            }
        }
        _ => {
            if rng.below(2) == 0 {
                let n = 1 + rng.below(8);
                ("bits anywhere", flip_bits(&mut b, rng, 0, len, n))
            } else {
                let at = rng.below(len / 8) * 8;
                let v: u64 = [u64::MAX, 0x7FFF_FFFF, 0xFFFF, 0][rng.below(4)];
                b[at..at + 8].copy_from_slice(&v.to_le_bytes());
                ("extreme u64", vec![(at as u64, at as u64 + 8)])
            }
        }
    };
    Mutant {
        bytes: b,
        touched,
        kind,
        silent,
    }
}

fn write_bref(b: &mut [u8], f: Format, at: usize, bid: u64, ib: u64) {
    if f == Format::Ansi {
        b[at..at + 4].copy_from_slice(&(bid as u32).to_le_bytes());
        b[at + 4..at + 8].copy_from_slice(&(ib as u32).to_le_bytes());
    } else {
        b[at..at + 8].copy_from_slice(&bid.to_le_bytes());
        b[at + 8..at + 16].copy_from_slice(&ib.to_le_bytes());
    }
}

fn overlaps(a: &[(u64, u64)], b: &[(u64, u64)]) -> bool {
    a.iter()
        .any(|&(s, e)| b.iter().any(|&(s2, e2)| s < e2 && s2 < e))
}

// ---------------------------------------------------------------------------
// The sweep.

#[derive(Default)]
struct Tally {
    mutants: usize,
    kinds: BTreeMap<&'static str, usize>,
    refused: usize,
    /// Message checks: untouched messages found identical.
    kept: usize,
    /// Messages a mutation touched (not checked).
    touched: usize,
    /// B-tree entries checked present in the in-order walks.
    entries: usize,
    /// Mutants also run through `ostscan::scan::scan_file`.
    scans: usize,
    max_time: Duration,
    max_peak: usize,
    /// Mutants kept for the binary run.
    sample: Vec<(String, Vec<u8>)>,
}

fn sweep(t: &Target, count: usize, seed: u64, tally: &mut Tally) {
    let mut rng = Rng::new(seed);
    for n in 0..count {
        let m = mutate(t, &mut rng);
        check_mutant(t, &m, &format!("{} mutant {n} ({})", t.name, m.kind), tally);
        if n % 97 == 0 {
            tally
                .sample
                .push((format!("{}-{n}", t.name), m.bytes.clone()));
        }
    }
}

/// Every B-tree page zeroed, and every block zeroed and (separately) with
/// one payload byte changed, one at a time: each single structure lost.
fn sweep_each_structure(t: &Target, tally: &mut Tally) {
    let page = t.format.page_size();
    for p in &t.pages {
        let mut b = t.bytes.clone();
        let ib = p.ib as usize;
        b[ib..ib + page].fill(0);
        let m = Mutant {
            bytes: b,
            touched: vec![(p.ib, p.ib + page as u64)],
            kind: "each page zeroed",
            silent: false,
        };
        check_mutant(t, &m, &format!("{} page {:#x} zeroed", t.name, p.ib), tally);
    }
    sweep_blocks(t, t.blocks.iter().map(|(&bid, &range)| (bid, range)), tally);
}

/// Each of `blocks` zeroed, and (separately) with one payload byte
/// changed, one at a time.
fn sweep_blocks(t: &Target, blocks: impl Iterator<Item = (u64, (u64, u64))>, tally: &mut Tally) {
    for (bid, (s, e)) in blocks {
        for zero in [true, false] {
            let mut b = t.bytes.clone();
            let (s, e) = (s as usize, e as usize);
            if zero {
                b[s..e].fill(0);
            } else {
                b[s + (e - s - t.format.block_trailer_size()) / 2] ^= 0x55;
            }
            let m = Mutant {
                bytes: b,
                touched: vec![(s as u64, e as u64)],
                kind: if zero {
                    "each block zeroed"
                } else {
                    "each block changed"
                },
                silent: false,
            };
            check_mutant(
                t,
                &m,
                &format!("{} block {bid:#x} ({})", t.name, m.kind),
                tally,
            );
        }
    }
}

/// Walk one mutant and check what it must keep.
fn check_mutant(t: &Target, m: &Mutant, what: &str, tally: &mut Tally) {
    let mem_limit = MEM_BASE + MEM_PER_FILE_BYTE * t.bytes.len();
    let start = Instant::now();
    let (res, peak) = peak_alloc(|| walk(&m.bytes));
    let took = start.elapsed();
    assert!(took < TIME_LIMIT, "{what}: walk took {took:?}");
    assert!(peak < mem_limit, "{what}: walk held {peak} bytes");
    tally.mutants += 1;
    *tally.kinds.entry(m.kind).or_default() += 1;
    tally.max_time = tally.max_time.max(took);
    tally.max_peak = tally.max_peak.max(peak);
    let header_hit = overlaps(&header_ranges(t.format), &m.touched);
    if tally.mutants % 10 == 0 {
        // `scan` as the binary runs it (through the memory map, rayon).
        let path = scratch().join(format!("scan-{}", t.name.replace(['/', ' '], "_")));
        std::fs::write(&path, &m.bytes).expect("write mutant");
        let start = Instant::now();
        let scan = ostscan::scan::scan_file(&path, &ostscan::scan::ScanOptions::default());
        let took = start.elapsed();
        assert!(took < TIME_LIMIT, "{what}: scan took {took:?}");
        assert!(
            header_hit || matches!(scan, ostscan::scan::FileScan::Scanned(_)),
            "{what}: scan refused the file though its header is intact"
        );
        tally.scans += 1;
    }
    let w = match res {
        Ok(w) => w,
        Err(e) => {
            assert!(
                header_hit,
                "{what}: file refused though its header is intact: {e}"
            );
            tally.refused += 1;
            return;
        }
    };
    // The in-order walks of both B-trees yield every entry whose lookup
    // path is intact.
    for (nbt, key, ranges) in &t.entries {
        if overlaps(ranges, &m.touched) {
            continue;
        }
        let seen = if *nbt { &w.nids } else { &w.bids };
        assert!(
            seen.contains(key),
            "{what}: {} entry {key:#x} has an intact path but the tree walk lost it",
            if *nbt { "NBT" } else { "BBT" }
        );
        tally.entries += 1;
    }
    let mut found: HashMap<Nid, Vec<&ItemRecord>> = HashMap::new();
    for r in &w.items {
        found.entry(r.nid).or_default().push(r);
    }
    let same = |msg: &Message| {
        found.get(&msg.nid).is_some_and(|rs| {
            rs.iter()
                .any(|r| r.change_key == msg.change_key && r.pcl == msg.pcl)
        })
    };
    let mut missing = 0;
    for msg in &t.messages {
        if overlaps(&msg.ranges, &m.touched) {
            tally.touched += 1;
            if !found.contains_key(&msg.nid) {
                missing += 1;
            }
            continue;
        }
        assert!(
            same(msg),
            "{what}: message nid {:#x} untouched by the mutation (touched {:x?}) \
             but not reported with its change key and PCL; got {:?}",
            msg.nid,
            m.touched,
            found.get(&msg.nid)
        );
        tally.kept += 1;
    }
    if missing > 0 && !m.silent {
        assert!(
            w.errors.iter().any(|(_, off)| *off != 0),
            "{what}: {missing} messages lost and no error with an offset: {:?}",
            w.errors
        );
    }
}

fn report(name: &str, tally: &Tally, took: Duration) {
    println!(
        "{name}: {} mutants ({} also scanned) in {took:.1?} ({} refused at the header); \
         {} untouched messages found identical, {} touched; \
         {} intact B-tree entries found by the tree walks; \
         slowest walk {:.1?}, largest peak {} KiB; kinds {:?}",
        tally.mutants,
        tally.scans,
        tally.refused,
        tally.kept,
        tally.touched,
        tally.entries,
        tally.max_time,
        tally.max_peak / 1024,
        tally.kinds
    );
}

fn fixture_target(
    format: ost_fixture::Format,
    crypt: CryptMethod,
    seed: u64,
    messages: usize,
) -> Target {
    let fx = FixtureBuilder::new(format)
        .crypt(crypt)
        .messages(messages)
        .body_bytes(60)
        .seed(seed)
        .build()
        .expect("fixture");
    let name = format!("fixture {}/{crypt:?}/{messages}", format.name());
    let t = Target::new(&name, fx.bytes.clone()).expect("fixture reads");
    // The reader's view of the file matches what the writer laid out.
    let mut ours: Vec<u64> = t.pages.iter().map(|p| p.ib).collect();
    let mut theirs: Vec<u64> = fx.layout.pages.iter().map(|p| p.ib).collect();
    ours.sort_unstable();
    theirs.sort_unstable();
    assert_eq!(ours, theirs, "{name}: B-tree pages");
    for b in &fx.layout.blocks {
        assert_eq!(
            t.blocks.get(&b.bid),
            Some(&(b.ib, b.ib + b.total_size as u64)),
            "{name}: block {:#x}",
            b.bid
        );
    }
    assert!(
        fx.layout.pages.iter().any(|p| p.tree == TreeKind::Nbt),
        "{name}: no NBT"
    );
    // Every manifest message (contents and FAI) read cleanly.
    let clean: HashSet<Nid> = t.messages.iter().map(|m| m.nid).collect();
    for r in &fx.manifest {
        assert!(
            clean.contains(&Nid(r.nid)),
            "{name}: nid {:#x} not clean",
            r.nid
        );
    }
    t
}

const FIXTURE_MUTANTS: usize = 2500;

fn fixture_sweep(
    format: ost_fixture::Format,
    crypt: CryptMethod,
    seed: u64,
    messages: usize,
    mutants: usize,
) -> Tally {
    let start = Instant::now();
    let t = fixture_target(format, crypt, seed, messages);
    let mut tally = Tally::default();
    sweep(&t, mutants, seed * 7919, &mut tally);
    sweep_each_structure(&t, &mut tally);
    report(&t.name, &tally, start.elapsed());
    assert!(tally.kept > 0, "{}: no message was ever checked", t.name);
    binary_runs(&tally.sample);
    tally
}

#[test]
fn sweep_fixture_unicode() {
    fixture_sweep(
        ost_fixture::Format::Unicode,
        CryptMethod::None,
        21,
        40,
        FIXTURE_MUTANTS,
    );
}

#[test]
fn sweep_fixture_ost_permute() {
    fixture_sweep(
        ost_fixture::Format::Ost,
        CryptMethod::Permute,
        22,
        40,
        FIXTURE_MUTANTS,
    );
}

#[test]
fn sweep_fixture_ansi_cyclic() {
    fixture_sweep(
        ost_fixture::Format::Ansi,
        CryptMethod::Cyclic,
        23,
        40,
        FIXTURE_MUTANTS,
    );
}

#[test]
fn sweep_fixture_ost4k() {
    fixture_sweep(
        ost_fixture::Format::Ost4k,
        CryptMethod::None,
        24,
        40,
        FIXTURE_MUTANTS,
    );
}

/// 400 messages: an NBT of three levels, so damage can hit a branch page
/// that is neither the root nor a leaf.
#[test]
fn sweep_fixture_unicode_three_levels() {
    let t = fixture_sweep(
        ost_fixture::Format::Unicode,
        CryptMethod::None,
        25,
        400,
        600,
    );
    assert!(t.entries > 0);
}

/// The real Outlook OSTs of the corpus, whose table contexts (4K, zlib;
/// wVer 23, permute) carry every item's sync properties and whose replica
/// map names the server's namespaces: each block of their contents,
/// associated and hierarchy tables and of the replica map zeroed and
/// changed (a sample of at most `TABLE_BLOCKS` per file, spread over the
/// file), plus random mutants.
#[test]
fn sweep_real_ost_tables() {
    const TABLE_BLOCKS: usize = 48;
    let Some(dir) = common::corpus() else { return };
    let start = Instant::now();
    let mut tally = Tally::default();
    for (i, name) in [
        "pstextractor_outlookcom_test.ost",
        "asposenet_SampleOstFile.ost",
    ]
    .into_iter()
    .enumerate()
    {
        let bytes = std::fs::read(dir.join(name)).expect("read corpus file");
        let t = Target::new(name, bytes).expect("the real OST reads");
        let pst = Pst::from_bytes(&t.bytes).expect("open");
        let mut bids = Vec::new();
        for e in pst.nbt_iter().flatten() {
            let table = matches!(
                e.nid.nid_type(),
                ost_ndb::NidType::ContentsTable
                    | ost_ndb::NidType::AssocContentsTable
                    | ost_ndb::NidType::HierarchyTable
            );
            if table || e.nid == ost_ndb::ltp::replica_map::REPLICA_MAP_NID {
                let _ = block_closure(&pst, e.bid_data.0, 0, &mut bids);
                let _ = block_closure(&pst, e.bid_sub.0, 0, &mut bids);
            }
        }
        drop(pst);
        bids.sort_unstable();
        bids.dedup();
        let step = bids.len().div_ceil(TABLE_BLOCKS).max(1);
        let sample = bids
            .iter()
            .step_by(step)
            .filter_map(|bid| Some((*bid, *t.blocks.get(&(bid & !1))?)));
        sweep_blocks(&t, sample, &mut tally);
        sweep(&t, 60, 0x0571 + i as u64, &mut tally);
        assert!(
            t.messages.len() > 90,
            "{name}: {} messages read cleanly",
            t.messages.len()
        );
    }
    report("real OST tables", &tally, start.elapsed());
    assert!(tally.kept > 0);
    tally.sample.truncate(8);
    binary_runs(&tally.sample);
}

/// Mutants per corpus file: fewer for the larger files so the sweep stays
/// within its time budget.
fn corpus_mutants(len: usize) -> usize {
    if len <= 300_000 {
        100
    } else if len <= 1_500_000 {
        40
    } else {
        20
    }
}

#[test]
fn sweep_corpus() {
    let Some(dir) = common::corpus() else { return };
    let start = Instant::now();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("corpus dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| matches!(p.extension().and_then(|x| x.to_str()), Some("pst" | "ost")))
        .collect();
    files.sort();
    let mut tally = Tally::default();
    let mut skipped = Vec::new();
    for (i, p) in files.iter().enumerate() {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let bytes = std::fs::read(p).expect("read corpus file");
        let Some(t) = Target::new(&name, bytes) else {
            skipped.push(name);
            continue;
        };
        sweep(
            &t,
            corpus_mutants(t.bytes.len()),
            0xC0 + i as u64,
            &mut tally,
        );
    }
    report("corpus", &tally, start.elapsed());
    if !skipped.is_empty() {
        println!("corpus files the reader refuses unmutated: {skipped:?}");
    }
    assert!(tally.kept > 0);
    tally.sample.truncate(24);
    binary_runs(&tally.sample);
}

// ---------------------------------------------------------------------------
// The binary on a sample of the mutants.

fn scratch() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("robustness");
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

/// The subcommands that read a whole file; `scan` when it exists. `diff`
/// gets the file twice: every pair has equal change keys, so every body
/// is read too.
fn walking_commands() -> Vec<Vec<&'static str>> {
    let mut cmds = vec![
        vec!["items", "--all"],
        vec!["info", "--verify"],
        vec!["diff", "--json"],
    ];
    let help = common::ostscan(&["scan", "--help"]);
    if help.status.success() {
        cmds.push(vec!["scan"]);
    }
    cmds
}

fn binary_runs(sample: &[(String, Vec<u8>)]) {
    let dir = scratch();
    let cmds = walking_commands();
    for (name, bytes) in sample {
        let path = dir.join(name.replace(['/', ' '], "_"));
        std::fs::write(&path, bytes).expect("write mutant");
        for cmd in &cmds {
            let mut args: Vec<&std::ffi::OsStr> = cmd.iter().map(|s| s.as_ref()).collect();
            args.push(path.as_os_str());
            if cmd[0] == "diff" {
                args.push(path.as_os_str());
            }
            let out = common::ostscan_timeout(&args, Duration::from_secs(60))
                .unwrap_or_else(|| panic!("ostscan {cmd:?} {name}: still running after 60 s"));
            let stderr = String::from_utf8_lossy(&out.stderr);
            let code = out.status.code();
            assert!(
                matches!(code, Some(0..=2)),
                "ostscan {cmd:?} {name}: exit {:?} (signal or bad code); stderr: {stderr}",
                out.status
            );
            assert!(
                !stderr.contains("panicked"),
                "ostscan {cmd:?} {name}: {stderr}"
            );
            if cmd[0] == "items" && code == Some(0) {
                for line in String::from_utf8_lossy(&out.stdout).lines() {
                    serde_json::from_str::<serde_json::Value>(line)
                        .unwrap_or_else(|e| panic!("{name}: bad JSON line {line:?}: {e}"));
                }
            }
        }
        let _ = std::fs::remove_file(&path);
    }
}

/// Regression: a damaged branch entry pointing at a page of another level
/// (here a level-1 NBT page where a leaf is expected) once made the
/// in-order B-tree walk mark that page as seen before refusing it, so when
/// the walk reached the page through its real parent it took it for a
/// cycle and dropped its whole subtree: every node under it vanished from
/// `nbt_iter` (orphan detection, `info --verify` counts) although the path
/// to it was intact.
#[test]
fn misdirected_branch_entry_hides_no_subtree() {
    let format = ost_fixture::Format::Unicode;
    let fx = FixtureBuilder::new(format)
        .messages(400)
        .body_bytes(10)
        .seed(9)
        .build()
        .expect("fixture");
    let f = Format::Unicode;
    let mut lvl1: Vec<_> = fx
        .layout
        .pages
        .iter()
        .filter(|p| p.tree == TreeKind::Nbt && p.level == 1)
        .copied()
        .collect();
    lvl1.sort_by_key(|p| p.ib);
    assert!(lvl1.len() >= 2, "the NBT needs three levels");
    let all: HashSet<u32> = fx.layout.nodes.iter().map(|n| n.nid).collect();
    let pst = Pst::from_bytes(&fx.bytes).unwrap();
    // Which level-1 page comes first in key order, and the leaf its last
    // entry names (the leaf whose pointer the damage overwrites).
    let mut order: Vec<(u64, PageInfo)> = Vec::new();
    let mut pages = Vec::new();
    tree_pages(&pst, Tree::Node, &mut pages);
    for p in pages.iter().filter(|p| p.level == 1) {
        let page = pst
            .bt_page(
                Tree::Node,
                Bref {
                    bid: p.bid,
                    ib: p.ib,
                },
                Some(1),
            )
            .unwrap();
        order.push((page.key_at(0), *p));
    }
    order.sort_by_key(|o| o.0);
    let (a, b) = (order[0].1, order[1].1);
    let page_a = pst
        .bt_page(
            Tree::Node,
            Bref {
                bid: a.bid,
                ib: a.ib,
            },
            Some(1),
        )
        .unwrap();
    let lost_leaf = page_a.child_at(a.entries - 1);
    let lost_page = pst.bt_page(Tree::Node, lost_leaf, Some(0)).unwrap();
    let lost: HashSet<u32> = (0..lost_page.len())
        .map(|i| lost_page.key_at(i) as u32)
        .collect();
    drop(pst);

    let mut bytes = fx.bytes.clone();
    let at = a.ib as usize + (a.entries - 1) * f.bt_entry_size() + f.id_size();
    write_bref(&mut bytes, f, at, b.bid, b.ib);
    fix_page_crc(&mut bytes, f, a.ib as usize);
    let pst = Pst::from_bytes(&bytes).unwrap();
    let seen: HashSet<u32> = pst.nbt_iter().flatten().map(|e| e.nid.0).collect();
    let missing: Vec<u32> = all
        .difference(&seen)
        .filter(|n| !lost.contains(n))
        .copied()
        .collect();
    assert!(
        missing.is_empty(),
        "{} nodes outside the damaged entry's leaf vanished from the NBT walk",
        missing.len()
    );
}
