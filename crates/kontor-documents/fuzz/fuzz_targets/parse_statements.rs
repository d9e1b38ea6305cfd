//! Feeds arbitrary bytes to the statement readers (files downloaded from banks): camt.052/053/054
//! and MT940.
#![no_main]

use kontor_documents::{camt, mt940};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for statements in [camt::parse_bytes(data).ok(), mt940::parse_bytes(data).ok()]
        .into_iter()
        .flatten()
    {
        for statement in &statements {
            let _ = statement.check_balances();
        }
    }
});
