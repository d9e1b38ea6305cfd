//! Feeds arbitrary bytes to every request parser (bank emulator side).
#![no_main]

use kontor_protocol::envelope::{
    parse_request, EbicsRequest, HevRequest, NoPubKeyDigestsRequest, UnsecuredRequest,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse_request(data);
    let _ = EbicsRequest::parse(data);
    let _ = NoPubKeyDigestsRequest::parse(data);
    let _ = UnsecuredRequest::parse(data);
    let _ = HevRequest::parse(data);
});
