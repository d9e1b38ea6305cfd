//! Hostile nesting gets a typed error from every envelope, signature and order-data parser,
//! without touching the stack limit (issue #10: the emulator aborted on an envelope nested
//! 20 000 levels deep).

use std::fmt::Debug;

use kontor_protocol::envelope::*;
use kontor_protocol::orderdata::*;
use kontor_protocol::{c14n, xmldsig};
use kontor_xml::{Limit, Limits, ReadError};
use rsa::RsaPublicKey;

use crate::support::envelopes::all_samples;
use crate::support::hostile::nested_at;
use crate::support::keys::bank_x002;
use crate::support::orderdata::{corpus, for_every_document_type, DocumentTypeVisitor};

const HOSTILE_DEPTH: usize = 100_000;

fn depth_exceeded() -> ReadError {
    ReadError::LimitExceeded {
        what: Limit::Depth,
        limit: Limits::DEFAULT.depth as u64,
    }
}

/// `xml` with `HOSTILE_DEPTH` levels of `element` right after the root's start tag.
fn nested_after_root(xml: &[u8], element: &str) -> Vec<u8> {
    let text = std::str::from_utf8(xml).unwrap();
    let root = text
        .match_indices('<')
        .map(|(i, _)| i)
        .find(|&i| !text[i..].starts_with("<?") && !text[i..].starts_with("<!"))
        .unwrap();
    let at = root + text[root..].find('>').unwrap() + 1;
    nested_at(text, at, element, HOSTILE_DEPTH)
}

#[test]
fn every_envelope_parser_refuses_an_envelope_nested_100_000_levels_deep() {
    let bank = RsaPublicKey::from(bank_x002());
    let malformed = || Err::<(), _>(EnvelopeError::Malformed(depth_exceeded()));
    for sample in all_samples() {
        let hostile = nested_after_root(&sample.xml, "header");
        let name = &sample.name;
        let outcome = if sample.is_response {
            parse_response(&hostile).map(drop)
        } else {
            parse_request(&hostile).map(drop)
        };
        assert_eq!(outcome, malformed(), "{name}");
        for result in [
            EbicsRequest::parse(&hostile).map(drop),
            EbicsResponse::parse(&hostile).map(drop),
            KeyManagementResponse::parse(&hostile).map(drop),
            UnsecuredRequest::parse(&hostile).map(drop),
            NoPubKeyDigestsRequest::parse(&hostile).map(drop),
            HevRequest::parse(&hostile).map(drop),
            HevResponse::parse(&hostile).map(drop),
        ] {
            assert_eq!(result, malformed(), "{name}");
        }
        assert!(
            matches!(
                EbicsResponse::verify(&hostile, &bank),
                Err(EnvelopeError::Signature(xmldsig::XmlDsigError::Malformed(ref e))) if *e == depth_exceeded()
            ),
            "{name}"
        );
        let text = std::str::from_utf8(&hostile).unwrap();
        assert!(
            matches!(
                xmldsig::verify(text, &bank),
                Err(xmldsig::XmlDsigError::Malformed(ref e)) if *e == depth_exceeded()
            ),
            "{name}"
        );
        let c14n_error = Err(c14n::C14nError::Malformed(depth_exceeded()));
        assert_eq!(c14n::canonicalize_document(text), c14n_error, "{name}");
        assert_eq!(c14n::canonicalize_authenticated(text), c14n_error, "{name}");
        assert_eq!(
            xmldsig::authenticated_digest(text),
            Err(xmldsig::XmlDsigError::Malformed(depth_exceeded())),
            "{name}"
        );
    }
}

#[test]
fn every_order_data_parser_refuses_a_document_nested_100_000_levels_deep() {
    struct RefusesHostile(Vec<u8>);
    impl DocumentTypeVisitor for RefusesHostile {
        fn visit<D: OrderDataDocument + PartialEq + Debug>(&mut self) {
            assert_eq!(
                D::parse(&self.0).map(drop),
                Err(OrderDataError::Malformed(depth_exceeded())),
                "{}",
                std::any::type_name::<D>()
            );
        }
    }
    for valid in corpus() {
        for_every_document_type(&mut RefusesHostile(nested_after_root(&valid, "OrderInfo")));
    }
}
