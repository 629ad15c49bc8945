#![no_main]
//! A whole file through the NDB and LTP layers: header, both B-trees, every
//! block (crypt, zlib), data trees, subnode trees, then every node as a PC
//! and a TC. First byte: reading options.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ostscan_fuzz::with_store(data, |pst| {
        ostscan_fuzz::ndb_walk(pst);
        ostscan_fuzz::ltp_walk(pst);
    });
});
