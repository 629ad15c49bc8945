//! Full NBT + BBT iteration, against a baseline measured in the same run.
//!
//! `cargo bench -p ost-ndb --bench ndb_walk [-- FILE...]`
//!
//! Without arguments it walks the largest file of ../shared/corpus (or
//! $OSTSCAN_CORPUS). For each file it prints the median of several runs of
//! (a) a full in-order walk of both B-trees with every page checked, (b)
//! the same plus reading and checking every block, and (c) the baseline: one
//! pass over every byte of the mapped file (sum of bytes), and the ratios
//! of (a) and (b) to (c).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use ost_ndb::Pst;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time<F: FnMut() -> u64>(runs: usize, mut f: F) -> (Duration, u64) {
    let mut times = Vec::with_capacity(runs);
    let mut out = 0;
    for _ in 0..runs {
        let t = Instant::now();
        out = std::hint::black_box(f());
        times.push(t.elapsed());
    }
    (median(times), out)
}

fn largest_corpus_file() -> Option<PathBuf> {
    let dir = std::env::var_os("OSTSCAN_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus")
        });
    std::fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| e.ok())
        .filter(|e| {
            let n = e.file_name().to_string_lossy().to_lowercase();
            n.ends_with(".pst") || n.ends_with(".ost")
        })
        .max_by_key(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
        .map(|e| e.path())
}

fn main() {
    let mut files: Vec<PathBuf> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .map(PathBuf::from)
        .collect();
    if files.is_empty() {
        match largest_corpus_file() {
            Some(f) => files.push(f),
            None => {
                println!("ndb_walk: no file given and no corpus found; nothing to measure");
                return;
            }
        }
    }
    for path in files {
        let pst = match Pst::open(&path) {
            Ok(p) => p,
            Err(e) => {
                println!("{}: {e}", path.display());
                continue;
            }
        };
        let runs = if pst.len() > 256 << 20 { 3 } else { 21 };
        let (base, _) = time(runs, || pst.bytes().iter().map(|&b| b as u64).sum());
        let (walk, entries) = time(runs, || {
            let nodes = pst.nbt_iter().filter(|e| e.is_ok()).count();
            let blocks = pst.bbt_iter().filter(|e| e.is_ok()).count();
            (nodes + blocks) as u64
        });
        let (verify, _) = time(runs, || pst.stats(true).blocks);
        println!("file: {} ({} bytes)", path.display(), pst.len());
        println!("  baseline, sum of every byte:        {base:>12.3?}");
        println!(
            "  NBT+BBT walk ({entries} entries):  {walk:>12.3?}  ratio {:.3}",
            walk.as_secs_f64() / base.as_secs_f64()
        );
        println!(
            "  walk + read/check every block:      {verify:>12.3?}  ratio {:.3}",
            verify.as_secs_f64() / base.as_secs_f64()
        );
    }
}
