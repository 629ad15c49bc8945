#![no_main]
//! The whole walk of a small file, as `ostscan items --all` does it: folder
//! tree, contents and associated tables, orphans, every item's sync
//! properties, and the rules. First byte: reading options.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ostscan_fuzz::with_store(data, ostscan_fuzz::store_walk);
});
