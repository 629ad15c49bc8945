#![no_main]
//! A whole file through `scan`, as the command runs it on one file: the
//! walk, every rule, the Sync Issues analysis (entry ids, logs, conflict
//! copies), SYNC010, and both report forms. First byte: reading options.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ostscan_fuzz::with_store(data, ostscan_fuzz::scan);
});
