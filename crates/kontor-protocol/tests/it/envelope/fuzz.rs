//! No parser panics on arbitrary or mutated input (the stable-toolchain counterpart of the
//! cargo-fuzz target in `fuzz/`). A panic fails the property; errors are fine.

use std::sync::OnceLock;

use kontor_protocol::envelope::*;
use kontor_protocol::{c14n, xmldsig};
use proptest::prelude::*;
use rsa::RsaPublicKey;

use crate::support::envelopes::all_samples;
use crate::support::hostile::{mutated, mutation};
use crate::support::keys::bank_x002;

fn bank_public() -> &'static RsaPublicKey {
    static KEY: OnceLock<RsaPublicKey> = OnceLock::new();
    KEY.get_or_init(|| RsaPublicKey::from(bank_x002()))
}

/// Feeds the bytes to every parser and verifier.
fn feed_everything(bytes: &[u8]) {
    let _ = EbicsRequest::parse(bytes);
    let _ = EbicsResponse::parse(bytes);
    let _ = KeyManagementResponse::parse(bytes);
    let _ = UnsecuredRequest::parse(bytes);
    let _ = NoPubKeyDigestsRequest::parse(bytes);
    let _ = HevRequest::parse(bytes);
    let _ = HevResponse::parse(bytes);
    let _ = parse_request(bytes);
    let _ = parse_response(bytes);
    let _ = EbicsResponse::verify(bytes, bank_public());
    if let Ok(text) = std::str::from_utf8(bytes) {
        let _ = c14n::canonicalize_document(text);
        let _ = c14n::canonicalize_authenticated(text);
        let _ = c14n::canonicalize_element(text, xmldsig::DS_NAMESPACE, "SignedInfo");
        let _ = xmldsig::authenticated_digest(text);
    }
}

/// Token-level edits that keep documents mostly well-formed, so mutations reach past the XML
/// parser into the envelope parsers.
const TOKENS: &[(&str, &str)] = &[
    ("true", "false"),
    ("true", ""),
    ("000000", "0000x0"),
    ("000000", "99999999"),
    ("H004", "H005"),
    ("H005", "H004"),
    ("Initialisation", "Transfer"),
    ("Transfer", "Receipt"),
    ("lastSegment=\"false\"", ""),
    (">1<", ">0<"),
    (">1<", ">4294967296<"),
    ("=\"", "=\"&amp;"),
    ("</", "<"),
    ("/>", ">"),
    ("A", "="),
    ("<ds:", "<"),
    ("xmlns", "xmlnx"),
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn mutated_envelopes_never_panic_any_parser(
        index in any::<usize>(),
        mutations in proptest::collection::vec(mutation(), 1..6),
    ) {
        let sample = &all_samples()[index % all_samples().len()];
        let bytes = mutated(&sample.xml, &mutations, TOKENS);
        feed_everything(&bytes);
    }

    #[test]
    fn arbitrary_bytes_never_panic_any_parser(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        feed_everything(&bytes);
    }

    #[test]
    fn arbitrary_text_with_envelope_prefix_never_panics(tail in ".{0,300}") {
        let doc = format!("<ebicsResponse xmlns=\"urn:org:ebics:H004\" Version=\"H004\">{tail}");
        feed_everything(doc.as_bytes());
    }
}

#[test]
fn unmutated_samples_parse_with_their_own_parser() {
    // Makes sure the mutation test starts from documents that reach the deep parser paths.
    for s in all_samples() {
        let ok = if s.is_response {
            parse_response(&s.xml).is_ok()
        } else {
            parse_request(&s.xml).is_ok()
        };
        assert!(ok, "{} does not parse", s.name);
    }
}
