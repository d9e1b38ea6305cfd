//! Feeds arbitrary bytes to the pain.001/pain.008 reader (payment files uploaded by operators).
#![no_main]

use kontor_documents::pain;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(order) = pain::parse_bytes(data) {
        // Whatever was accepted passed validation: it can be summarised and written again.
        let _ = order.summary();
        let _ = pain::build(&order);
    }
});
