#![no_main]
//! A whole file diffed with the reference store, as `diff` does it: both
//! walks, the matching by source key, search key or entry id, every pair
//! compared (bodies too), the report serialized. First byte: reading
//! options, and which side the input is.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, file)) = data.split_first() else {
        return;
    };
    if let Ok(pst) = ost_ndb::Pst::from_bytes_with(file, ostscan_fuzz::options_of(sel)) {
        ostscan_fuzz::diff(&pst, sel);
    }
});
