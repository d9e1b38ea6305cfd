//! Feeds arbitrary bytes to the pain.002 status report reader (EBICS HAC downloads).
#![no_main]

use kontor_documents::status_report;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = status_report::parse_bytes(data);
});
