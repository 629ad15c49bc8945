//! A large contents table walked in row index order lets go of the
//! row-matrix blocks behind it (`TableContext::release_rows_before`, which
//! the store's walk calls between batches): the rows read back the same,
//! and only the blocks still ahead stay decoded.

use ost_fixture::{CryptMethod, FixtureBuilder, Format, SyncPlacement};
use ost_ndb::ltp::TableContext;
use ost_ndb::{NidType, Pst};

/// Every row's bytes, in row index order.
fn all_rows(tc: &TableContext<'_>) -> Vec<Vec<u8>> {
    let index = tc.row_index().expect("row index").to_vec();
    index
        .iter()
        .map(|&(id, i)| tc.row(id, i).expect("row").bytes().to_vec())
        .collect()
}

/// Rows a batch: a few blocks' worth.
const BATCH: usize = 200;

#[test]
fn a_walked_row_matrix_is_let_go_of_and_reads_back_the_same() {
    let bytes = FixtureBuilder::new(Format::Ost4k)
        .crypt(CryptMethod::None)
        .messages(4000)
        .seed(5)
        .body_bytes(40)
        .sync_placement(SyncPlacement::Rows)
        .build()
        .expect("fixture")
        .bytes;
    let pst = Pst::from_bytes(&bytes).expect("fixture opens");
    let mut checked = 0;
    for entry in pst.nbt_iter().map(|e| e.expect("NBT entry")) {
        if entry.nid.nid_type() != NidType::ContentsTable {
            continue;
        }
        let open = || TableContext::open(pst.node_from_entry(&entry)).expect("table opens");
        let blocks = open().row_matrix_blocks().unwrap_or(0);
        if blocks < 4 || open().row_count().expect("row count") < 5 * BATCH {
            continue;
        }
        let expected = all_rows(&open());
        let mut tc = open();
        let index = tc.row_index().expect("row index").to_vec();
        let mut walked = Vec::new();
        let mut most_held = 0;
        for (k, batch) in index.chunks(BATCH).enumerate() {
            for &(id, i) in batch {
                walked.push(tc.row(id, i).expect("row").bytes().to_vec());
            }
            most_held = most_held.max(tc.row_blocks_held());
            if let Some(&(_, next)) = index.get((k + 1) * BATCH) {
                tc.release_rows_before(next);
                // What is held is the block of the next row, at most, and
                // those past it that the batch reached.
                let held = tc.row_blocks_held();
                assert!(held <= 2, "{held} of {blocks} blocks held after a release");
            }
        }
        assert_eq!(walked, expected, "rows read while releasing");
        assert!(
            most_held < blocks,
            "the whole matrix ({blocks} blocks) was held at once"
        );
        // Rows behind the walk are decoded again when asked for.
        assert_eq!(all_rows(&tc), expected, "rows read after the release");
        checked += 1;
    }
    assert!(
        checked > 0,
        "no contents table of 4 or more matrix blocks and 1,000 rows"
    );
}
