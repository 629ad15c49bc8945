//! Hostile input: seeded mutants of real files (bit flips in the header,
//! pages and blocks, truncation, zeroed and swapped pages) must never panic
//! and every walk must end. A quick, bounded sweep; the full corruption
//! sweep lives with the end-to-end tests.

use ost_ndb::{Pst, ReadOptions, Validation};

mod common;
use common::corpus;

/// splitmix64: a tiny seeded generator, so every run makes the same mutants.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Read everything a reader can reach: both trees, every block, every
/// node's data and subnodes.
fn exercise(bytes: &[u8], validation: Validation) {
    let options = ReadOptions {
        validation,
        ..ReadOptions::default()
    };
    let Ok(pst) = Pst::from_bytes_with(bytes, options) else {
        return;
    };
    let _ = pst.stats(true);
    for e in pst.nbt_iter().take(10_000).flatten() {
        if let Ok(node) = pst.node(e.nid) {
            let _ = node.read_data();
            if let Ok(subs) = node.subnodes() {
                for s in subs.iter().take(64) {
                    let _ = node.subnode_from_entry(s).read_data();
                }
            }
        }
    }
}

fn mutate(original: &[u8], rng: &mut Rng, page: usize) -> Vec<u8> {
    let mut b = original.to_vec();
    match rng.below(6) {
        0 => {
            // Flip a few bits anywhere.
            for _ in 0..1 + rng.below(8) {
                let i = rng.below(b.len());
                b[i] ^= 1 << rng.below(8);
            }
        }
        1 => {
            // Flip bits in the header.
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(564.min(b.len()));
                b[i] ^= 1 << rng.below(8);
            }
        }
        2 => {
            // Truncate.
            let n = rng.below(b.len());
            b.truncate(n);
        }
        3 => {
            // Zero a page.
            let p = rng.below(b.len() / page) * page;
            b[p..p + page].fill(0);
        }
        4 => {
            // Swap two pages.
            let n = b.len() / page;
            let (x, y) = (rng.below(n) * page, rng.below(n) * page);
            if x != y {
                let tmp = b[x..x + page].to_vec();
                b.copy_within(y..y + page, x);
                b[y..y + page].copy_from_slice(&tmp);
            }
        }
        _ => {
            // Overwrite a 16-bit or 64-bit field with an extreme value.
            let i = rng.below(b.len().saturating_sub(8));
            let v: u64 = [u64::MAX, 0, 0x7FFF_FFFF, 0xFFFF][rng.below(4)];
            let w = if rng.below(2) == 0 { 2 } else { 8 };
            b[i..i + w].copy_from_slice(&v.to_le_bytes()[..w]);
        }
    }
    b
}

#[test]
fn mutants_never_panic() {
    let Some(dir) = corpus() else { return };
    let files = [
        "pst2john_2003_high-encryption_quickquick.pst", // cyclic
        "pst2john_2k_outlook_qwerty1234.pst",           // ANSI
        "asposenet_SampleOstFile.ost",                  // OST, XBLOCKs
        "hughbe_backup.pst",
    ];
    let mut rng = Rng(0x05C4_2026);
    for f in files {
        let path = dir.join(f);
        let Ok(original) = std::fs::read(&path) else {
            common::skip(format_args!("skipping {f}: not readable"));
            continue;
        };
        for i in 0..150 {
            let m = mutate(&original, &mut rng, 512);
            let validation = if i % 3 == 0 {
                Validation::Strict
            } else {
                Validation::Lenient
            };
            exercise(&m, validation);
        }
    }
}

#[test]
fn arbitrary_small_inputs_never_panic() {
    let mut rng = Rng(7);
    for len in [0usize, 1, 4, 12, 511, 512, 563, 564, 1024, 5000] {
        for _ in 0..50 {
            let mut b: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            if b.len() >= 12 {
                b[0..4].copy_from_slice(b"!BDN");
                let wver: u16 = [14, 23, 36][rng.below(3)];
                b[10..12].copy_from_slice(&wver.to_le_bytes());
            }
            exercise(&b, Validation::Lenient);
        }
    }
}
