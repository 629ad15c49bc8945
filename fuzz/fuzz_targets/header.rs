#![no_main]
//! The file header: parse, CRCs, and opening a file that is only a header.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = ost_ndb::Header::parse(data) {
        let _ = h.crc_ok();
        let _ = h.crc_error();
        let _ = format!("{h:?}");
    }
    for sel in [0u8, 1] {
        if let Ok(pst) = ost_ndb::Pst::from_bytes_with(data, ostscan_fuzz::options_of(sel)) {
            let _ = pst.nbt_iter().take(64).count();
            let _ = pst.bbt_iter().take(64).count();
        }
    }
});
