#![no_main]
//! HN, BTH, PC, TC and the name map over fuzzed blocks (no NDB below).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ostscan_fuzz::ltp_input(data);
});
