#![no_main]
//! A server listing through `reconcile` against the reference store: the
//! listing framed and parsed (normalized lines, Graph pages, EWS change
//! keys), every entry matched and classified, the report serialized.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ostscan_fuzz::reconcile_input(data);
});
