#![no_main]
//! The whole walk of a small file, as `ostscan items --all` does it: folder
//! tree, contents and associated tables, orphans, every item's sync
//! properties, and the rules. First byte: reading options.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, file)) = data.split_first() else {
        return;
    };
    if let Ok(pst) = ost_ndb::Pst::from_bytes_with(file, ostscan_fuzz::options_of(sel)) {
        ostscan_fuzz::store_walk(&pst);
    }
});
