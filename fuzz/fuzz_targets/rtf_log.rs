#![no_main]
//! PR_RTF_COMPRESSED of a Sync Issues log to text, and the text's lines
//! parsed; the same bytes also read as RTF directly.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ostscan_fuzz::rtf_log_input(data);
});
