#![no_main]
//! A whole file through the NDB and LTP layers: header, both B-trees, every
//! block (crypt, zlib), data trees, subnode trees, then every node as a PC
//! and a TC. First byte: reading options.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, file)) = data.split_first() else {
        return;
    };
    if let Ok(pst) = ost_ndb::Pst::from_bytes_with(file, ostscan_fuzz::options_of(sel)) {
        ostscan_fuzz::ndb_walk(&pst);
        ostscan_fuzz::ltp_walk(&pst);
    }
});
