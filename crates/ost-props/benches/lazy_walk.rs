//! The sync-property walk does not read bodies.
//!
//! `cargo bench -p ost-props --bench lazy_walk`
//!
//! Writes two stores with the same messages (ost-fixture, same seed), one
//! with empty bodies and one with 64 KiB bodies (stored in subnodes, as
//! Outlook stores large values), and times on each, in the same run:
//! - the walk: folder tree, contents tables, and the sync properties of
//!   every message (what `scan` does);
//! - the baseline: reading every node's whole data stream and subnodes (what
//!   a reader that decodes whole messages does).
//!
//! If the walk touched bodies its time would grow with the file like the
//! baseline's; it stays flat.

use std::time::{Duration, Instant};

use ost_fixture::{FixtureBuilder, Format};
use ost_ndb::Pst;
use ost_props::Store;

const MESSAGES: usize = 4000;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time(runs: usize, mut f: impl FnMut() -> usize) -> (Duration, usize) {
    let mut t = Vec::new();
    let mut n = 0;
    for _ in 0..runs {
        let start = Instant::now();
        n = std::hint::black_box(f());
        t.push(start.elapsed());
    }
    (median(t), n)
}

fn walk(pst: &Pst<'_>) -> usize {
    let mut store = Store::open(pst);
    let refs = store.item_refs(true);
    refs.iter()
        .map(|r| store.read_item(r))
        .filter(|r| r.change_key.is_some())
        .count()
}

fn read_everything(pst: &Pst<'_>) -> usize {
    let mut bytes = 0;
    for e in pst.nbt_iter().flatten() {
        if let Ok(node) = pst.node(e.nid) {
            bytes += node.read_data().map(|d| d.len()).unwrap_or(0);
            for s in node.subnodes().unwrap_or_default() {
                bytes += node
                    .subnode_from_entry(&s)
                    .read_data()
                    .map(|d| d.len())
                    .unwrap_or(0);
            }
        }
    }
    bytes
}

fn main() {
    let dir = std::env::temp_dir().join("ostscan-bench-lazy-walk");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut rows = Vec::new();
    for body in [0usize, 64 * 1024] {
        let path = dir.join(format!("walk-{MESSAGES}-{body}.pst"));
        if !path.exists() {
            FixtureBuilder::new(Format::Unicode)
                .messages(MESSAGES)
                .seed(42)
                .body_bytes(body)
                .write_file(&path)
                .expect("write fixture");
        }
        let pst = Pst::open(&path).expect("open fixture");
        let (w, items) = time(5, || walk(&pst));
        let (b, bytes) = time(3, || read_everything(&pst));
        println!(
            "body {body:>6} B: file {:>11} B | walk {w:>10.2?} ({items} items with a change key) | read everything {b:>10.2?} ({bytes} B)",
            pst.len()
        );
        rows.push((pst.len() as f64, w.as_secs_f64(), b.as_secs_f64()));
    }
    let (small, big) = (rows[0], rows[1]);
    println!(
        "ratios big/small: file {:.1}x, walk {:.2}x, read everything {:.1}x",
        big.0 / small.0,
        big.1 / small.1,
        big.2 / small.2
    );
    for body in [0usize, 64 * 1024] {
        std::fs::remove_file(dir.join(format!("walk-{MESSAGES}-{body}.pst"))).ok();
    }
}
