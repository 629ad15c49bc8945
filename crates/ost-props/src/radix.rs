//! Sorting (key, index) pairs by key. A scan sorts one pair per message
//! twice before its walk can start (the join of the folders' tables with
//! the NBT, by NID; the read order, by data BID), on one thread. Keys are
//! NIDs and BIDs, which are small numbers in practice (a 2 GB store's
//! BIDs fit in 23 bits), so a least-significant-digit radix sort over just
//! the digits the largest key has takes two or three passes over the
//! pairs, where a comparison sort takes about eighteen.

/// Bits of the key sorted by one pass.
const DIGIT_BITS: u32 = 11;
const BUCKETS: usize = 1 << DIGIT_BITS;
/// Below this many pairs, the counting arrays cost more than they save.
const RADIX_MIN: usize = 4096;

/// Sort `pairs` by key, stably (pairs with equal keys keep their order):
/// the result of `pairs.sort_by_key(|p| p.0)`.
pub(crate) fn sort_by_key<K: Copy + Into<u64>>(pairs: &mut Vec<(K, u32)>) {
    if pairs.len() < RADIX_MIN {
        pairs.sort_by_key(|p| p.0.into());
        return;
    }
    let max = pairs.iter().map(|p| p.0.into()).max().unwrap_or(0);
    let passes = (u64::BITS - max.leading_zeros()).div_ceil(DIGIT_BITS);
    // The scratch buffer each pass scatters into; its first contents are
    // overwritten whole.
    let mut scattered = pairs.clone();
    for pass in 0..passes {
        let shift = pass * DIGIT_BITS;
        let digit = |p: &(K, u32)| (p.0.into() >> shift) as usize & (BUCKETS - 1);
        let mut next = vec![0usize; BUCKETS];
        for p in pairs.iter() {
            next[digit(p)] += 1;
        }
        if next.contains(&pairs.len()) {
            // Every key has this digit: the pass would change nothing.
            continue;
        }
        // Where each digit's pairs start.
        let mut start = 0;
        for n in next.iter_mut() {
            let count = *n;
            *n = start;
            start += count;
        }
        for p in pairs.iter() {
            let slot = &mut next[digit(p)];
            // `slot` < len: the starts add up to the number of pairs.
            if let Some(to) = scattered.get_mut(*slot) {
                *to = *p;
            }
            *slot += 1;
        }
        std::mem::swap(pairs, &mut scattered);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn radix_sorted<K: Copy + Into<u64>>(pairs: &[(K, u32)]) -> Vec<(K, u32)> {
        let mut sorted = pairs.to_vec();
        sort_by_key(&mut sorted);
        sorted
    }

    /// The standard library's stable sort by key: the reference.
    fn std_sorted<K: Copy + Into<u64>>(pairs: &[(K, u32)]) -> Vec<(K, u32)> {
        let mut sorted = pairs.to_vec();
        sorted.sort_by_key(|p| p.0.into());
        sorted
    }

    proptest::proptest! {
        #[test]
        fn same_order_as_the_stable_sort_u64(
            keys in proptest::collection::vec(
                proptest::prop_oneof![
                    0u64..64,
                    0u64..(1 << 23),
                    proptest::num::u64::ANY,
                ],
                0..10_000,
            ),
        ) {
            let pairs: Vec<(u64, u32)> =
                keys.iter().enumerate().map(|(i, &k)| (k, i as u32)).collect();
            proptest::prop_assert_eq!(radix_sorted(&pairs), std_sorted(&pairs));
        }

        #[test]
        fn same_order_as_the_stable_sort_u32(
            keys in proptest::collection::vec(proptest::num::u32::ANY, 4000..9000),
            // Few distinct keys: equal keys must keep their order.
            modulus in 1u32..50,
        ) {
            let pairs: Vec<(u32, u32)> = keys
                .iter()
                .enumerate()
                .map(|(i, &k)| (k % modulus * 0x0101_0101, (keys.len() - i) as u32))
                .collect();
            proptest::prop_assert_eq!(radix_sorted(&pairs), std_sorted(&pairs));
        }
    }

    #[test]
    fn sorted_runs_and_reversed_input() {
        let n = 50_000u64;
        for pairs in [
            (0..n).map(|k| (k * 4, k as u32)).collect::<Vec<_>>(),
            (0..n).rev().map(|k| (k * 4, k as u32)).collect(),
            (0..n).map(|k| ((k % 13) << 40 | k, k as u32)).collect(),
        ] {
            assert_eq!(radix_sorted(&pairs), std_sorted(&pairs));
        }
    }
}
