#![no_main]
//! One B-tree page: first byte picks the format and the tree, the rest is
//! the page (padded or cut to the page size).
use libfuzzer_sys::fuzz_target;
use ost_ndb::ndb::btree::BtPage;
use ost_ndb::ndb::header::Bref;
use ost_ndb::ndb::{BbtEntry, NbtEntry, Tree};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let format = ostscan_fuzz::format_of(sel);
    let tree = if sel & 0x80 == 0 {
        Tree::Node
    } else {
        Tree::Block
    };
    let mut page = rest.to_vec();
    page.resize(format.page_size(), 0);
    let bref = Bref {
        bid: 0x1000,
        ib: 0x4400,
    };
    if let Ok((bt, _trailer)) = BtPage::parse(&page, bref, tree, format) {
        for i in 0..bt.len() + 1 {
            let _ = bt.key_at(i);
            let _ = bt.child_at(i);
            let _ = bt.leaf::<NbtEntry>(i);
            let _ = bt.leaf::<BbtEntry>(i);
        }
    }
    // Also unmodified length: a short or long slice must be refused.
    let _ = BtPage::parse(rest, bref, tree, format);
});
