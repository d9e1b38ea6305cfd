//! X002 signing and verification on real envelopes: what is authenticated, what is not, and how
//! syntactic variations behave under Canonical XML.

use kontor_protocol::c14n;
use kontor_protocol::envelope::*;
use kontor_protocol::order_type::OrderType;
use kontor_protocol::xmldsig::{self, XmlDsigError};
use kontor_protocol::ProtocolVersion;
use rsa::RsaPublicKey;

use crate::support::envelopes::*;
use crate::support::keys::{bank_x002, client_x002};
use crate::support::VERSIONS;

fn client_pub() -> RsaPublicKey {
    RsaPublicKey::from(client_x002())
}

fn bank_pub() -> RsaPublicKey {
    RsaPublicKey::from(bank_x002())
}

fn signed_upload(version: ProtocolVersion) -> String {
    let details = OrderDetails::upload(version, &OrderType::CCT).expect("ok");
    let bytes = upload_init(version, details, 1)
        .to_signed_xml(client_x002())
        .expect("signs");
    String::from_utf8(bytes).expect("utf-8")
}

fn signed_response() -> String {
    let (_, response) = ebics_responses(ProtocolVersion::H004)
        .into_iter()
        .next()
        .expect("sample");
    String::from_utf8(response.to_signed_xml(bank_x002()).expect("signs")).expect("utf-8")
}

#[test]
fn signed_requests_verify_with_the_subscriber_key() {
    for v in VERSIONS {
        for (name, _, xml) in signed_requests(v) {
            assert_eq!(EbicsRequest::verify(&xml, &client_pub()), Ok(()), "{name}");
        }
        let hpb = hpb(v).to_signed_xml(client_x002()).expect("signs");
        assert_eq!(NoPubKeyDigestsRequest::verify(&hpb, &client_pub()), Ok(()));
    }
}

#[test]
fn signed_responses_verify_with_the_bank_x002() {
    for v in VERSIONS {
        for (name, response, xml) in signed_responses(v) {
            let parsed = EbicsResponse::parse_verified(&xml, &bank_pub()).expect(&name);
            assert_eq!(parsed, response, "{name}");
        }
    }
}

/// One edit of a signed document, and what verifying the edited document gives: an edit of an
/// authenticated element breaks the digest, an edit outside them or one that keeps the canonical
/// form does not, and the signature's own algorithms and reference are not negotiable.
#[test]
fn each_edit_of_a_signed_document_verifies_as_its_row_says() {
    use XmlDsigError::{DigestMismatch, NothingAuthenticated, UnsupportedAlgorithm};
    let (client, bank) = (client_pub(), bank_pub());
    let c53 = signed_c53(ProtocolVersion::H004);
    let upload = signed_upload(ProtocolVersion::H005);
    let h004_upload = signed_upload(ProtocolVersion::H004);
    let receipt = String::from_utf8(
        receipt(ProtocolVersion::H004, ReceiptCode::Acknowledged)
            .to_signed_xml(client_x002())
            .expect("signs"),
    )
    .expect("utf-8");
    // Upload segment data is protected by encryption and the ES, not by X002.
    let transfer = String::from_utf8(
        upload_transfer(ProtocolVersion::H004, 1, false)
            .to_signed_xml(client_x002())
            .expect("signs"),
    )
    .expect("utf-8");
    let response = signed_response();
    let rows = [
        ("header UserID", &c53, &client, "<UserID>USER1</UserID>", "<UserID>USER2</UserID>", Err(DigestMismatch)),
        ("header HostID", &c53, &client, "<HostID>KONTORBANK</HostID>", "<HostID>OTHERBANK</HostID>", Err(DigestMismatch)),
        ("header Timestamp", &c53, &client, "2024-05-17T09:30:15.000Z", "2024-05-17T09:30:16.000Z", Err(DigestMismatch)),
        ("header date range", &c53, &client, "<Start>2024-05-01</Start>", "<Start>2024-04-01</Start>", Err(DigestMismatch)),
        ("header OrderType", &c53, &client, "<OrderType>C53</OrderType>", "<OrderType>STA</OrderType>", Err(DigestMismatch)),
        ("header TransactionPhase", &c53, &client, "<TransactionPhase>Initialisation</TransactionPhase>", "<TransactionPhase>Transfer</TransactionPhase>", Err(DigestMismatch)),
        ("body SignatureData", &upload, &client, "<SignatureData authenticate=\"true\">ZW5j", "<SignatureData authenticate=\"true\">ZW5k", Err(DigestMismatch)),
        ("body TransactionKey", &upload, &client, "<TransactionKey>RER", "<TransactionKey>QER", Err(DigestMismatch)),
        ("receipt ReceiptCode", &receipt, &client, "<ReceiptCode>0</ReceiptCode>", "<ReceiptCode>1</ReceiptCode>", Err(DigestMismatch)),
        ("response ReturnCode", &response, &bank, "<ReturnCode authenticate=\"true\">000000</ReturnCode>", "<ReturnCode authenticate=\"true\">090005</ReturnCode>", Err(DigestMismatch)),
        // Without any marked element nothing would be authenticated: refused outright.
        ("header without its authenticate marker", &c53, &client, "<header authenticate=\"true\">", "<header>", Err(NothingAuthenticated)),
        ("SignatureData without its authenticate marker", &h004_upload, &client, "<SignatureData authenticate=\"true\">", "<SignatureData>", Err(DigestMismatch)),
        ("an added authenticated element", &c53, &client, "<body>", "<body><x:Extra xmlns:x=\"urn:x\" authenticate=\"true\"/>", Err(DigestMismatch)),
        ("whitespace inside an authenticated element", &c53, &client, "<static>", "<static>\n  ", Err(DigestMismatch)),
        ("upload segment OrderData", &transfer, &client, "<OrderData>c2Vn", "<OrderData>eHh4", Ok(())),
        ("response OrderData", &response, &bank, "<OrderData>Zmlyc3Q", "<OrderData>bGFzdCA", Ok(())),
        // &#x55; is 'U': same character data, same canonical form.
        ("a character reference for literal text", &c53, &client, "<UserID>USER1</UserID>", "<UserID>&#x55;SER1</UserID>", Ok(())),
        ("RSA-SHA1 signature method", &c53, &client, "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", "http://www.w3.org/2000/09/xmldsig#rsa-sha1", Err(UnsupportedAlgorithm { element: "SignatureMethod", algorithm: "http://www.w3.org/2000/09/xmldsig#rsa-sha1".into() })),
        ("exclusive canonicalisation", &c53, &client, "<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/TR/2001/REC-xml-c14n-20010315\"/>", "<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>", Err(UnsupportedAlgorithm { element: "CanonicalizationMethod", algorithm: "http://www.w3.org/2001/10/xml-exc-c14n#".into() })),
        ("a reference to the whole document", &c53, &client, "URI=\"#xpointer(//*[@authenticate='true'])\"", "URI=\"\"", Err(XmlDsigError::UnsupportedReference(String::new()))),
    ];
    let wrong: Vec<String> = rows
        .into_iter()
        .filter_map(|(case, doc, key, from, to, expected)| {
            if !doc.contains(from) {
                return Some(format!("{case}: {from:?} is not in the document"));
            }
            let verified = xmldsig::verify(&doc.replacen(from, to, 1), key);
            (verified != expected).then(|| format!("{case}: {verified:?}, expected {expected:?}"))
        })
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn the_envelope_parser_insists_on_the_authenticate_marker() {
    let upload = signed_upload(ProtocolVersion::H004);
    assert!(upload.contains("<SignatureData authenticate=\"true\">"));
    let unmarked = upload.replacen(
        "<SignatureData authenticate=\"true\">",
        "<SignatureData>",
        1,
    );
    assert_eq!(
        EbicsRequest::parse(unmarked.as_bytes()),
        Err(EnvelopeError::MissingAuthenticateMarker {
            element: "SignatureData"
        })
    );
}

/// Applies every `(from, to)` edit to a signed H004 upload and checks the edited document
/// differs but still verifies: the edits do not change its canonical form.
fn assert_signature_survives(edits: &[(&str, &str)]) {
    let xml = signed_upload(ProtocolVersion::H004);
    let edited = edits
        .iter()
        .fold(xml.clone(), |doc, (from, to)| doc.replace(from, to));
    assert_ne!(edited, xml);
    assert_eq!(xmldsig::verify(&edited, &client_pub()), Ok(()));
}

#[test]
fn whitespace_outside_authenticated_elements_is_irrelevant() {
    assert_signature_survives(&[
        ("</header><AuthSignature>", "</header>\n  <AuthSignature>"),
        ("<body><DataTransfer>", "<body>\n    <DataTransfer>\n      "),
        (
            "</SignatureData></DataTransfer>",
            "</SignatureData>\n    </DataTransfer>\n  ",
        ),
        ("?><ebicsRequest", "?>\n\n<ebicsRequest"),
    ]);
}

#[test]
fn attribute_order_quoting_and_empty_tags_are_irrelevant() {
    assert_signature_survives(&[
        (
            "<EncryptionPubKeyDigest Version=\"E002\" Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\">",
            "<EncryptionPubKeyDigest  Algorithm='http://www.w3.org/2001/04/xmlenc#sha256'\n Version='E002' >",
        ),
        (
            "<ds:Transform Algorithm=\"http://www.w3.org/TR/2001/REC-xml-c14n-20010315\"/>",
            "<ds:Transform Algorithm=\"http://www.w3.org/TR/2001/REC-xml-c14n-20010315\"></ds:Transform>",
        ),
        ("<mutable>", "<mutable >"),
    ]);
}

#[test]
fn canonical_header_carries_the_in_scope_namespaces() {
    let xml = signed_c53(ProtocolVersion::H004);
    let canonical =
        String::from_utf8(c14n::canonicalize_authenticated(&xml).expect("c14n")).expect("utf-8");
    assert!(canonical.starts_with(
        "<header xmlns=\"urn:org:ebics:H004\" xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" authenticate=\"true\"><static>"
    ));
    assert!(canonical.ends_with("</header>"));
    let signed_info = String::from_utf8(
        c14n::canonicalize_element(&xml, xmldsig::DS_NAMESPACE, "SignedInfo").expect("c14n"),
    )
    .expect("utf-8");
    assert!(signed_info.starts_with(
        "<ds:SignedInfo xmlns=\"urn:org:ebics:H004\" xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">"
    ));
    assert!(signed_info.contains("<ds:Transform Algorithm=\"http://www.w3.org/TR/2001/REC-xml-c14n-20010315\"></ds:Transform>"));
}

/// Documents whose signature is not the one a verifier accepts, each with the error it gets.
#[test]
fn documents_without_a_valid_signature_are_refused_with_the_named_error() {
    let c53 = signed_c53(ProtocolVersion::H004);
    // C14N 1.0 keeps prefixes: renaming the ds prefix changes the namespace declarations that
    // the canonical header carries, so the digest no longer matches.
    let renamed_prefix = c53
        .replace("xmlns:ds=", "xmlns:dsig=")
        .replace("<ds:", "<dsig:")
        .replace("</ds:", "</dsig:");
    let unsigned = download_init(
        ProtocolVersion::H004,
        OrderDetails::download(ProtocolVersion::H004, &OrderType::STA, None).expect("ok"),
    )
    .to_xml()
    .expect("builds");
    let span = element_span(&c53, "AuthSignature");
    let doubled = format!(
        "{}{}{}",
        &c53[..span.end],
        &c53[span.clone()],
        &c53[span.end..]
    );
    let rows = [
        (
            "verified with another key",
            c53.clone(),
            bank_pub(),
            XmlDsigError::BadSignature,
        ),
        (
            "ds prefix renamed",
            renamed_prefix,
            client_pub(),
            XmlDsigError::DigestMismatch,
        ),
        (
            "no signature",
            unsigned,
            client_pub(),
            XmlDsigError::MissingAuthSignature,
        ),
        (
            "H005 SignatureValue changed",
            with_text_changed(&signed_c53(ProtocolVersion::H005), "ds:SignatureValue"),
            client_pub(),
            XmlDsigError::BadSignature,
        ),
        (
            "DigestValue changed",
            with_text_changed(&c53, "ds:DigestValue"),
            client_pub(),
            XmlDsigError::DigestMismatch,
        ),
        (
            "two AuthSignatures",
            doubled,
            client_pub(),
            XmlDsigError::DuplicateAuthSignature,
        ),
    ];
    let wrong: Vec<String> = rows
        .into_iter()
        .filter_map(|(case, doc, key, expected)| {
            let verified = xmldsig::verify(&doc, &key);
            (verified != Err(expected.clone()))
                .then(|| format!("{case}: {verified:?}, expected {expected:?}"))
        })
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn signing_is_deterministic_and_resigning_replaces_the_signature() {
    let once = signed_c53(ProtocolVersion::H004);
    let twice = xmldsig::sign(&once, client_x002()).expect("re-signs");
    assert_eq!(once, twice);
    let by_bank = xmldsig::sign(&once, bank_x002()).expect("re-signs");
    assert_eq!(
        by_bank.matches("AuthSignature>").count(),
        2,
        "exactly one AuthSignature"
    );
    assert_eq!(xmldsig::verify(&by_bank, &bank_pub()), Ok(()));
    assert_eq!(
        xmldsig::verify(&by_bank, &client_pub()),
        Err(XmlDsigError::BadSignature)
    );
}

#[test]
fn a_resent_transfer_segment_is_byte_identical() {
    // Recovery re-sends a segment; the message must be the same one.
    type Segment = fn(ProtocolVersion, u32, bool) -> EbicsRequest;
    let segments: [(&str, Segment, bool); 2] = [
        ("upload", upload_transfer, true),
        ("download", download_transfer, false),
    ];
    for v in VERSIONS {
        for (kind, segment, last) in segments {
            let signed = || {
                segment(v, 2, last)
                    .to_signed_xml(client_x002())
                    .expect("signs")
            };
            assert_eq!(signed(), signed(), "{v:?} {kind}");
        }
    }
}

#[test]
fn signing_works_for_foreign_prefixes_and_missing_ds_declaration() {
    let doc = r#"<e:ebicsRequest xmlns:e="urn:org:ebics:H004" Version="H004"><e:header authenticate="true"><e:static/></e:header><e:body/></e:ebicsRequest>"#;
    let signed = xmldsig::sign(doc, client_x002()).expect("signs");
    assert!(signed.contains(
        "<e:AuthSignature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:SignedInfo>"
    ));
    assert_eq!(xmldsig::verify(&signed, &client_pub()), Ok(()));
}

#[test]
fn signing_without_header_or_marked_elements_fails() {
    assert_eq!(
        xmldsig::sign("<r><body authenticate=\"true\"/></r>", client_x002()),
        Err(XmlDsigError::MissingHeader)
    );
    assert_eq!(
        xmldsig::sign("<r><header/><body/></r>", client_x002()),
        Err(XmlDsigError::NothingAuthenticated)
    );
}
