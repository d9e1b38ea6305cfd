//! Every order-data document survives build → XML → parse unchanged, in H004 and H005, in all
//! three serialisations (standalone document, fragment, embedded under a foreign prefix).

use std::fmt::Debug;

use kontor_protocol::orderdata::*;
use kontor_protocol::{ProtocolVersion, SignatureVersion};

use crate::support::orderdata as fx;
use crate::support::VERSIONS;

fn assert_round_trips<D: OrderDataDocument + PartialEq + Debug>(doc: D) {
    let xml = doc
        .to_xml()
        .unwrap_or_else(|e| panic!("{} does not serialise: {e}", D::root_element()));
    let text = String::from_utf8(xml.clone()).unwrap();
    assert!(
        text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
        "{text}"
    );
    assert_eq!(
        D::parse(&xml).as_ref(),
        Ok(&doc),
        "document round trip of {text}"
    );

    let fragment = doc.to_xml_fragment().unwrap();
    assert!(!fragment.starts_with("<?xml"));
    assert_eq!(
        D::parse_fragment(&fragment).as_ref(),
        Ok(&doc),
        "fragment round trip of {fragment}"
    );

    // Embedded the way an envelope writer would: inside a parent that binds the EBICS (or
    // signature) namespace to a prefix of its own choosing.
    let ns = D::namespace(doc.protocol_version()).unwrap();
    let mut writer = quick_xml::Writer::new(Vec::new());
    doc.write_into(&mut writer, Some("eb")).unwrap();
    let inner = String::from_utf8(writer.into_inner()).unwrap();
    let wrapped = format!(
        r#"<outer:Envelope xmlns:outer="urn:test" xmlns:eb="{ns}">{inner}</outer:Envelope>"#
    );
    let tree = roxmltree::Document::parse(&wrapped).unwrap();
    let element = tree.root_element().first_element_child().unwrap();
    assert_eq!(
        D::from_element(element).as_ref(),
        Ok(&doc),
        "embedded round trip of {wrapped}"
    );
}

macro_rules! round_trip_tests {
    ($($name:ident => $fixture:path),* $(,)?) => {$(
        #[test]
        fn $name() {
            for v in VERSIONS {
                assert_round_trips($fixture(v));
            }
        }
    )*};
}

round_trip_tests! {
    ini_signature_key_round_trips => fx::ini,
    hia_keys_round_trip => fx::hia,
    hca_keys_round_trip => fx::hca,
    hcs_keys_round_trip => fx::hcs,
    h3k_certificates_round_trip => fx::h3k,
    hpb_bank_keys_round_trip => fx::hpb,
    user_signature_data_round_trips => fx::user_signature,
    hkd_customer_data_round_trips => fx::hkd,
    htd_subscriber_data_round_trips => fx::htd,
    haa_listing_round_trips => fx::haa,
    hpd_bank_parameters_round_trip => fx::hpd,
    hvu_params_round_trip => fx::hvu_params,
    hvz_params_round_trip => fx::hvz_params,
    hvd_params_round_trip => fx::hvd_params,
    hve_params_round_trip => fx::hve_params,
    hvs_params_round_trip => fx::hvs_params,
    hvt_params_round_trip => fx::hvt_params,
    hvs_cancellation_digest_round_trips => fx::hvs_order_data,
    hvu_overview_round_trips => fx::hvu,
    hvz_overview_round_trips => fx::hvz,
    hvd_status_round_trips => fx::hvd,
    hvt_details_round_trip => fx::hvt,
}

#[test]
fn empty_veu_filters_round_trip() {
    for v in VERSIONS {
        assert_round_trips(HVUOrderParams {
            version: v,
            order_types: vec![],
            service_filters: vec![],
        });
    }
}

#[test]
fn version_is_taken_from_the_root_namespace() {
    for v in VERSIONS {
        let xml = fx::hia(v).to_xml().unwrap();
        assert_eq!(HIARequestOrderData::parse(&xml).unwrap().version, v);
        let xml = fx::ini(v).to_xml().unwrap();
        assert_eq!(
            SignaturePubKeyOrderData::parse(&xml)
                .unwrap()
                .protocol_version(),
            v
        );
    }
}

#[test]
fn signature_documents_use_the_signature_namespace_of_their_version() {
    let h004 =
        String::from_utf8(fx::user_signature(ProtocolVersion::H004).to_xml().unwrap()).unwrap();
    let h005 =
        String::from_utf8(fx::user_signature(ProtocolVersion::H005).to_xml().unwrap()).unwrap();
    assert!(
        h004.contains(r#"<UserSignatureData xmlns="http://www.ebics.org/S001""#),
        "{h004}"
    );
    assert!(
        h005.contains(r#"<UserSignatureData xmlns="http://www.ebics.org/S002""#),
        "{h005}"
    );
}

#[test]
fn write_into_without_prefix_declares_no_default_namespace() {
    let mut writer = quick_xml::Writer::new(Vec::new());
    fx::hvd_params(ProtocolVersion::H004)
        .write_into(&mut writer, None)
        .unwrap();
    let inner = String::from_utf8(writer.into_inner()).unwrap();
    assert!(
        inner.starts_with("<HVDOrderParams><PartnerID>PARTNER1</PartnerID>"),
        "{inner}"
    );
    let wrapped = format!(r#"<OrderDetails xmlns="urn:org:ebics:H004">{inner}</OrderDetails>"#);
    let tree = roxmltree::Document::parse(&wrapped).unwrap();
    let node = tree.root_element().first_element_child().unwrap();
    assert_eq!(
        HVDOrderParams::from_element(node),
        Ok(fx::hvd_params(ProtocolVersion::H004))
    );
}

#[test]
fn rsa_key_values_are_written_without_leading_zero_octets() {
    let mut doc = fx::ini(ProtocolVersion::H004);
    let PublicKeyData::Rsa { key, .. } = &mut doc.signature_pub_key_info.key else {
        panic!("H004 fixture carries an RSA key");
    };
    let original = key.modulus.clone();
    key.modulus.insert(0, 0);
    key.modulus.insert(0, 0);
    let parsed = SignaturePubKeyOrderData::parse(&doc.to_xml().unwrap()).unwrap();
    assert_eq!(
        parsed.signature_pub_key_info.key.rsa_key().unwrap().modulus,
        original
    );
}

#[test]
fn h005_keys_carry_the_certificate_and_no_key_value() {
    let xml = String::from_utf8(fx::hia(ProtocolVersion::H005).to_xml().unwrap()).unwrap();
    assert!(xml.contains("<ds:X509Certificate>"));
    assert!(!xml.contains("PubKeyValue"));
    let h004 = String::from_utf8(fx::hia(ProtocolVersion::H004).to_xml().unwrap()).unwrap();
    assert!(
        h004.contains("<PubKeyValue><ds:RSAKeyValue><ds:Modulus>"),
        "{h004}"
    );
}

// ---------------------------------------------------------------------------------------------
// What a version cannot express is refused, never silently dropped
// ---------------------------------------------------------------------------------------------

/// The writer's answer to a valid document with one value broken by `break_it`.
fn write_broken<D: OrderDataDocument>(
    mut doc: D,
    break_it: impl FnOnce(&mut D),
) -> Result<Vec<u8>, OrderDataError> {
    break_it(&mut doc);
    doc.to_xml()
}

/// Fails naming every row whose answer `is_expected` rejects, not only the first.
fn assert_each_row<T: Debug>(
    rows: impl IntoIterator<Item = (&'static str, T)>,
    is_expected: impl Fn(&T) -> bool,
) {
    let wrong: Vec<_> = rows
        .into_iter()
        .filter(|(_, answer)| !is_expected(answer))
        .map(|(case, answer)| format!("{case}: {answer:?}"))
        .collect();
    assert!(wrong.is_empty(), "rows not as expected: {wrong:#?}");
}

#[test]
fn what_a_version_cannot_express_is_refused() {
    use ProtocolVersion::{H004, H005};
    let rows = [
        (
            "raw RSA key sent in H005",
            write_broken(fx::hia(H005), |d| d.authentication.key = fx::key(H004, 3)),
            not_in_version("PubKeyValue", H005),
        ),
        (
            "certificate-only key sent in H004",
            write_broken(fx::hpb(H004), |d| d.encryption.key = fx::key(H005, 3)),
            required_in_version("PubKeyValue", H004),
        ),
        (
            "BTF service written as an H004 order",
            write_broken(fx::hvd_params(H004), |d| {
                d.order.order = OrderKind::Service(fx::service_sct())
            }),
            not_in_version("Service", H004),
        ),
        (
            "H004 order info without a transfer type",
            write_broken(fx::htd(H004), |d| {
                d.partner_info.order_infos[0].transfer_type = None
            }),
            required_in_version("OrderInfo/TransferType", H004),
        ),
        (
            "H005 data digest without a signature version",
            write_broken(fx::hvs_order_data(H005), |d| {
                d.cancelled_data_digest.signature_version = None
            }),
            required_in_version("DataDigest/@SignatureVersion", H005),
        ),
        (
            "H004 X.509 support flag sent in H005",
            write_broken(fx::hpd(H005), |d| {
                d.protocol_params.x509_data = fx::hpd(H004).protocol_params.x509_data
            }),
            not_in_version("ProtocolParams/X509Data", H005),
        ),
    ];
    assert_each_row(
        rows.map(|(case, written, refusal)| (case, (written, refusal))),
        |(written, refusal)| written.as_ref() == Err(refusal),
    );
}

fn not_in_version(field: &'static str, version: ProtocolVersion) -> OrderDataError {
    OrderDataError::NotInVersion { field, version }
}

fn required_in_version(field: &'static str, version: ProtocolVersion) -> OrderDataError {
    OrderDataError::RequiredInVersion { field, version }
}

#[test]
fn h004_data_digest_may_omit_the_signature_version() {
    let mut h004 = fx::hvs_order_data(ProtocolVersion::H004);
    h004.cancelled_data_digest.signature_version = None;
    let parsed = HVSRequestOrderData::parse(&h004.to_xml().unwrap()).unwrap();
    assert_eq!(parsed.cancelled_data_digest.signature_version, None);
}

// ---------------------------------------------------------------------------------------------
// Values the schema would reject are refused before writing
// ---------------------------------------------------------------------------------------------

#[test]
fn invalid_partner_id_is_refused() {
    let mut doc = fx::hia(ProtocolVersion::H004);
    doc.partner_id = "PARTNER 1".into();
    let Err(OrderDataError::InvalidValue { path, .. }) = doc.to_xml() else {
        panic!("a partner id with a space must be refused");
    };
    assert_eq!(path, "PartnerID");
}

#[test]
fn values_the_schema_would_reject_are_refused() {
    use ProtocolVersion::{H004, H005};
    let rows = [
        (
            "H005 permission naming two order types",
            write_broken(fx::htd(H005), |d| {
                d.user_info.permissions[0].order_types = vec!["BTU".into(), "BTD".into()]
            }),
        ),
        (
            "permission pointing at an unknown account",
            write_broken(fx::hkd(H004), |d| {
                d.user_infos[1].permissions[0].account_id = Some("NOPE".into())
            }),
        ),
        (
            "two accounts with one id",
            write_broken(fx::htd(H005), |d| {
                d.partner_info.accounts[1].id = d.partner_info.accounts[0].id.clone()
            }),
        ),
        (
            "amount with five fraction digits",
            write_broken(fx::hvt(H004), |d| {
                d.order_infos[0].amount.value = fx::dec("1.00001")
            }),
        ),
        (
            "control character in a name",
            write_broken(fx::htd(H004), |d| {
                d.user_info.name = Some("Eve\u{0}".into())
            }),
        ),
        (
            "account role that does not fit its element",
            write_broken(fx::hvt(H004), |d| {
                d.order_infos[0].accounts[0].bank_codes[0].role = AccountRole::Charges
            }),
        ),
    ];
    assert_each_row(rows, |written| {
        matches!(written, Err(OrderDataError::InvalidValue { .. }))
    });
}

#[test]
fn empty_signature_list_is_refused() {
    let doc = UserSignatureData {
        version: ProtocolVersion::H005,
        signatures: vec![],
    };
    assert!(doc.to_xml().is_err());
}

#[test]
fn hvt_transaction_needs_two_accounts() {
    let mut doc = fx::hvt(ProtocolVersion::H005);
    doc.order_infos[0].accounts.truncate(1);
    assert!(doc.to_xml().is_err());
}

#[test]
fn h003_and_h006_have_no_order_data_schema() {
    for v in [ProtocolVersion::H003, ProtocolVersion::H006] {
        let mut doc = fx::hvd_params(ProtocolVersion::H004);
        doc.version = v;
        assert_eq!(doc.to_xml(), Err(OrderDataError::UnsupportedVersion(v)));
    }
}

#[test]
fn signature_helper_builds_a_single_signature_document() {
    let sig = fx::user_signature(ProtocolVersion::H004)
        .signatures
        .remove(0);
    let doc = UserSignatureData::single(ProtocolVersion::H004, sig.clone());
    let parsed = UserSignatureData::parse(&doc.to_xml().unwrap()).unwrap();
    assert_eq!(parsed.signatures, vec![sig]);
    assert_eq!(
        parsed.signatures[0].signature_version,
        SignatureVersion::A006
    );
}

#[test]
fn account_helpers_find_the_iban_bic_and_national_parts_in_either_form() {
    let partner = fx::partner_info(ProtocolVersion::H004);
    // ACC-1: IBAN and BIC, then `international="false"` standard elements; ACC-2: only the
    // `National...` elements.
    for (id, iban, bic, national_number, national_code) in [
        (
            "ACC-1",
            Some("DE89370400440532013000"),
            Some("COBADEFFXXX"),
            Some("532013000"),
            Some("37040044"),
        ),
        ("ACC-2", None, None, Some("0012-3456789"), Some("026009593")),
    ] {
        let account = partner.account(id).unwrap();
        assert_eq!(account.iban(), iban, "{id}");
        assert_eq!(account.bic(), bic, "{id}");
        assert_eq!(account.national_account_number(), national_number, "{id}");
        assert_eq!(account.national_bank_code(), national_code, "{id}");
    }
}

#[test]
fn failed_write_into_leaves_the_enclosing_writer_untouched() {
    let mut doc = fx::hvt_params(ProtocolVersion::H005);
    doc.order.order_id = "lower".into();
    let mut writer = quick_xml::Writer::new(b"<OrderDetails>".to_vec());
    assert!(doc.write_into(&mut writer, None).is_err());
    assert_eq!(writer.into_inner(), b"<OrderDetails>".to_vec());
}
