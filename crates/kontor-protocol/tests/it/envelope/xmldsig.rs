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

fn replace_once(doc: &str, from: &str, to: &str) -> String {
    assert!(doc.contains(from), "{from:?} not in document");
    doc.replacen(from, to, 1)
}

/// Verifies the subscriber-signed `doc` after one edit.
fn verify_edited(doc: &str, from: &str, to: &str) -> Result<(), XmlDsigError> {
    xmldsig::verify(&replace_once(doc, from, to), &client_pub())
}

/// Asserts that the subscriber-signed `doc` no longer verifies once `from` reads `to`.
fn assert_edit_breaks_the_digest(doc: &str, from: &str, to: &str) {
    assert_eq!(
        verify_edited(doc, from, to),
        Err(XmlDsigError::DigestMismatch),
        "{from:?} -> {to:?}"
    );
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

#[test]
fn a_signature_does_not_verify_with_another_key() {
    let xml = signed_c53(ProtocolVersion::H004);
    assert_eq!(
        xmldsig::verify(&xml, &bank_pub()),
        Err(XmlDsigError::BadSignature)
    );
}

#[test]
fn tampered_header_fields_are_rejected() {
    let xml = signed_c53(ProtocolVersion::H004);
    for (from, to) in [
        ("<UserID>USER1</UserID>", "<UserID>USER2</UserID>"),
        ("<HostID>KONTORBANK</HostID>", "<HostID>OTHERBANK</HostID>"),
        ("2024-05-17T09:30:15.000Z", "2024-05-17T09:30:16.000Z"),
        ("<Start>2024-05-01</Start>", "<Start>2024-04-01</Start>"),
        ("<OrderType>C53</OrderType>", "<OrderType>STA</OrderType>"),
        (
            "<TransactionPhase>Initialisation</TransactionPhase>",
            "<TransactionPhase>Transfer</TransactionPhase>",
        ),
    ] {
        assert_edit_breaks_the_digest(&xml, from, to);
    }
}

#[test]
fn tampered_authenticated_body_elements_are_rejected() {
    let upload = signed_upload(ProtocolVersion::H005);
    assert_edit_breaks_the_digest(
        &upload,
        "<SignatureData authenticate=\"true\">ZW5j",
        "<SignatureData authenticate=\"true\">ZW5k",
    );
    assert_edit_breaks_the_digest(&upload, "<TransactionKey>RER", "<TransactionKey>QER");

    let receipt = String::from_utf8(
        receipt(ProtocolVersion::H004, ReceiptCode::Acknowledged)
            .to_signed_xml(client_x002())
            .expect("signs"),
    )
    .expect("utf-8");
    assert_edit_breaks_the_digest(
        &receipt,
        "<ReceiptCode>0</ReceiptCode>",
        "<ReceiptCode>1</ReceiptCode>",
    );

    let response = signed_response();
    let tampered = replace_once(
        &response,
        "<ReturnCode authenticate=\"true\">000000</ReturnCode>",
        "<ReturnCode authenticate=\"true\">090005</ReturnCode>",
    );
    assert_eq!(
        xmldsig::verify(&tampered, &bank_pub()),
        Err(XmlDsigError::DigestMismatch)
    );
}

#[test]
fn removing_the_authenticate_marker_is_detected() {
    let xml = signed_c53(ProtocolVersion::H004);
    // Without any marked element nothing would be authenticated: refused outright.
    assert_eq!(
        verify_edited(&xml, "<header authenticate=\"true\">", "<header>"),
        Err(XmlDsigError::NothingAuthenticated)
    );
    let upload = signed_upload(ProtocolVersion::H004);
    let tampered = replace_once(
        &upload,
        "<SignatureData authenticate=\"true\">",
        "<SignatureData>",
    );
    assert_eq!(
        xmldsig::verify(&tampered, &client_pub()),
        Err(XmlDsigError::DigestMismatch)
    );
    // The envelope parser also insists on the marker.
    assert_eq!(
        EbicsRequest::parse(tampered.as_bytes()),
        Err(EnvelopeError::MissingAuthenticateMarker {
            element: "SignatureData"
        })
    );
}

#[test]
fn adding_an_authenticated_element_is_detected() {
    let xml = signed_c53(ProtocolVersion::H004);
    assert_edit_breaks_the_digest(
        &xml,
        "<body>",
        "<body><x:Extra xmlns:x=\"urn:x\" authenticate=\"true\"/>",
    );
}

#[test]
fn changes_to_unauthenticated_parts_do_not_affect_the_signature() {
    // Upload segment data is protected by encryption and the ES, not by X002.
    let transfer = String::from_utf8(
        upload_transfer(ProtocolVersion::H004, 1, false)
            .to_signed_xml(client_x002())
            .expect("signs"),
    )
    .expect("utf-8");
    assert_eq!(
        verify_edited(&transfer, "<OrderData>c2Vn", "<OrderData>eHh4"),
        Ok(())
    );

    // The same holds for the order data of a response.
    let response = signed_response();
    let tampered = replace_once(&response, "<OrderData>Zmlyc3Q", "<OrderData>bGFzdCA");
    assert_eq!(xmldsig::verify(&tampered, &bank_pub()), Ok(()));
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
fn whitespace_inside_an_authenticated_element_breaks_the_signature() {
    let xml = signed_c53(ProtocolVersion::H004);
    assert_edit_breaks_the_digest(&xml, "<static>", "<static>\n  ");
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
fn entity_and_character_references_are_equivalent_to_literal_text() {
    let xml = signed_c53(ProtocolVersion::H004);
    // &#x55; is 'U': same character data, same canonical form.
    assert_eq!(
        verify_edited(
            &xml,
            "<UserID>USER1</UserID>",
            "<UserID>&#x55;SER1</UserID>"
        ),
        Ok(())
    );
}

#[test]
fn a_different_namespace_prefix_is_a_different_canonical_document() {
    // C14N 1.0 keeps prefixes: renaming the ds prefix changes the namespace declarations that
    // the canonical header carries, so the digest no longer matches.
    let xml = signed_c53(ProtocolVersion::H004);
    let renamed = xml
        .replace("xmlns:ds=", "xmlns:dsig=")
        .replace("<ds:", "<dsig:")
        .replace("</ds:", "</dsig:");
    assert_eq!(
        xmldsig::verify(&renamed, &client_pub()),
        Err(XmlDsigError::DigestMismatch)
    );
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

#[test]
fn a_missing_signature_is_reported_as_such() {
    let unsigned = download_init(
        ProtocolVersion::H004,
        OrderDetails::download(ProtocolVersion::H004, &OrderType::STA, None).expect("ok"),
    )
    .to_xml()
    .expect("builds");
    assert_eq!(
        xmldsig::verify(&unsigned, &client_pub()),
        Err(XmlDsigError::MissingAuthSignature)
    );
}

#[test]
fn tampered_signature_and_digest_values_are_rejected() {
    for (version, element, error) in [
        (
            ProtocolVersion::H005,
            "ds:SignatureValue",
            XmlDsigError::BadSignature,
        ),
        (
            ProtocolVersion::H004,
            "ds:DigestValue",
            XmlDsigError::DigestMismatch,
        ),
    ] {
        let tampered = with_text_changed(&signed_c53(version), element);
        assert_eq!(
            xmldsig::verify(&tampered, &client_pub()),
            Err(error),
            "{element}"
        );
    }
}

#[test]
fn other_algorithms_and_references_are_refused() {
    let xml = signed_c53(ProtocolVersion::H004);
    assert!(matches!(
        verify_edited(
            &xml,
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
        ),
        Err(XmlDsigError::UnsupportedAlgorithm {
            element: "SignatureMethod",
            ..
        })
    ));
    assert!(matches!(
        verify_edited(&xml, "<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/TR/2001/REC-xml-c14n-20010315\"/>", "<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>"),
        Err(XmlDsigError::UnsupportedAlgorithm {
            element: "CanonicalizationMethod",
            ..
        })
    ));
    assert!(matches!(
        verify_edited(
            &xml,
            "URI=\"#xpointer(//*[@authenticate='true'])\"",
            "URI=\"\""
        ),
        Err(XmlDsigError::UnsupportedReference(_))
    ));
}

#[test]
fn two_auth_signatures_are_refused() {
    let xml = signed_c53(ProtocolVersion::H004);
    let span = element_span(&xml, "AuthSignature");
    let doubled = format!(
        "{}{}{}",
        &xml[..span.end],
        &xml[span.clone()],
        &xml[span.end..]
    );
    assert_eq!(
        xmldsig::verify(&doubled, &client_pub()),
        Err(XmlDsigError::DuplicateAuthSignature)
    );
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
    for v in VERSIONS {
        let first = upload_transfer(v, 2, true)
            .to_signed_xml(client_x002())
            .expect("signs");
        let again = upload_transfer(v, 2, true)
            .to_signed_xml(client_x002())
            .expect("signs");
        assert_eq!(first, again);
        let first = download_transfer(v, 2, false)
            .to_signed_xml(client_x002())
            .expect("signs");
        let again = download_transfer(v, 2, false)
            .to_signed_xml(client_x002())
            .expect("signs");
        assert_eq!(first, again);
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
