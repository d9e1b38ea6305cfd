//! No parser panics on arbitrary or mutated input (the stable-toolchain counterpart of the
//! cargo-fuzz target in `fuzz/`). A panic fails the property; errors are fine.

use std::sync::OnceLock;

use kontor_protocol::envelope::*;
use kontor_protocol::{c14n, xmldsig};
use proptest::prelude::*;
use rsa::RsaPublicKey;

use crate::support::envelopes::all_samples;
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

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
    Token(usize, usize),
    DuplicateRange(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Mutation::Flip(p, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Mutation::Insert(p, b)),
        any::<usize>().prop_map(Mutation::Delete),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<usize>()).prop_map(|(t, o)| Mutation::Token(t, o)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::DuplicateRange(a, b)),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    if bytes.is_empty() {
        return;
    }
    let n = bytes.len();
    match *m {
        Mutation::Flip(p, b) => bytes[p % n] ^= b | 1,
        Mutation::Insert(p, b) => bytes.insert(p % (n + 1), b),
        Mutation::Delete(p) => {
            bytes.remove(p % n);
        }
        Mutation::Truncate(p) => bytes.truncate(p % n),
        Mutation::Token(t, occurrence) => {
            let (from, to) = TOKENS[t % TOKENS.len()];
            let text = String::from_utf8_lossy(bytes).into_owned();
            let positions: Vec<usize> = text.match_indices(from).map(|(i, _)| i).collect();
            if !positions.is_empty() {
                let at = positions[occurrence % positions.len()];
                let mut edited = String::with_capacity(text.len());
                edited.push_str(&text[..at]);
                edited.push_str(to);
                edited.push_str(&text[at + from.len()..]);
                *bytes = edited.into_bytes();
            }
        }
        Mutation::DuplicateRange(a, b) => {
            let (a, b) = (a % n, b % n);
            let (start, end) = (a.min(b), a.max(b));
            let chunk = bytes[start..end].to_vec();
            bytes.splice(end..end, chunk);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn mutated_envelopes_never_panic_any_parser(
        index in any::<usize>(),
        mutations in proptest::collection::vec(mutation(), 1..6),
    ) {
        let sample = &all_samples()[index % all_samples().len()];
        let mut bytes = sample.xml.clone();
        for m in &mutations {
            apply(&mut bytes, m);
        }
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
