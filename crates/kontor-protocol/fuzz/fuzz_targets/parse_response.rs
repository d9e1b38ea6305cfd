//! Feeds arbitrary bytes to every response parser (client side: bytes from the network).
#![no_main]

use kontor_protocol::envelope::{
    parse_response, EbicsResponse, HevResponse, KeyManagementResponse,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse_response(data);
    let _ = EbicsResponse::parse(data);
    let _ = KeyManagementResponse::parse(data);
    let _ = HevResponse::parse(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = kontor_protocol::c14n::canonicalize_authenticated(text);
        let _ = kontor_protocol::xmldsig::authenticated_digest(text);
    }
});
