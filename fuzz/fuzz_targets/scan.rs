#![no_main]
//! A whole file through `scan`, as the command runs it on one file: the
//! walk, every rule, the Sync Issues analysis (entry ids, logs, conflict
//! copies), SYNC010, and both report forms. First byte: reading options.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, file)) = data.split_first() else {
        return;
    };
    if let Ok(pst) = ost_ndb::Pst::from_bytes_with(file, ostscan_fuzz::options_of(sel)) {
        ostscan_fuzz::scan(&pst);
    }
});
