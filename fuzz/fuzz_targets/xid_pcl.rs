#![no_main]
//! XID and PCL decoding, comparison and the rule engine.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ostscan_fuzz::xid_pcl_input(data);
});
