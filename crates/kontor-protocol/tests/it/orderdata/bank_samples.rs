//! The parsers read order data the way banks and other clients actually write it: any prefix
//! or default namespace, redeclared namespaces, comments, wrapped base64, omitted defaults.

use std::num::NonZeroU64;

use chrono::{NaiveDate, TimeZone, Utc};
use kontor_documents::Currency;
use kontor_protocol::order_type::ContainerType;
use kontor_protocol::orderdata::*;
use kontor_protocol::{
    AuthenticationVersion, EncryptionVersion, ProtocolVersion, SignatureVersion,
};

use crate::support::orderdata::samples::*;
use crate::support::orderdata::{bytes, dec};

fn b64(s: &str) -> Vec<u8> {
    use base64::Engine;
    let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .unwrap()
}

#[test]
fn hpb_with_ebics_prefix_and_wrapped_modulus_is_read() {
    let hpb = HPBResponseOrderData::parse(HPB_H004_EBICS_PREFIX.as_bytes()).unwrap();
    assert_eq!(hpb.version, ProtocolVersion::H004);
    assert_eq!(hpb.host_id, "EBIXQUAL");
    assert_eq!(hpb.authentication.version, AuthenticationVersion::X002);
    assert_eq!(hpb.encryption.version, EncryptionVersion::E002);
    let PublicKeyData::Rsa {
        key,
        timestamp,
        x509,
    } = &hpb.authentication.key
    else {
        panic!("H004 key is an RSA key value");
    };
    let modulus = b64(MODULUS_B64_WRAPPED);
    assert_eq!(modulus[0], 0, "the sample carries a leading zero octet");
    assert_eq!(key.modulus, modulus[1..], "the parsed modulus is canonical");
    assert_eq!(key.exponent, vec![1, 0, 1]);
    assert_eq!(
        *timestamp,
        Some(Utc.with_ymd_and_hms(2023, 11, 2, 9, 15, 30).unwrap())
    );
    assert_eq!(*x509, None);
    assert_eq!(hpb.encryption.key.rsa_key(), Some(key));
}

#[test]
fn hpb_with_redeclared_default_namespaces_is_read() {
    let hpb = HPBResponseOrderData::parse(HPB_H005_DEFAULT_NAMESPACES.as_bytes()).unwrap();
    assert_eq!(hpb.version, ProtocolVersion::H005);
    let auth = hpb.authentication.key.x509().unwrap();
    let issuer = auth.issuer_serial.as_ref().unwrap();
    assert_eq!(issuer.issuer_name, "CN=EBICS Bank CA,O=Bank,C=DE");
    assert_eq!(issuer.serial_number, "123456789012345678901234");
    assert_eq!(auth.certificate, b64(CERT_B64));
    let enc = hpb.encryption.key.x509().unwrap();
    assert_eq!(
        enc.certificate,
        b64(CERT_B64),
        "line-wrapped certificate decodes identically"
    );
    assert_eq!(enc.issuer_serial, None);
}

#[test]
fn htd_from_a_german_bank_yields_accounts_and_permissions() {
    let htd = HTDResponseOrderData::parse(HTD_H004_GERMAN_BANK.as_bytes()).unwrap();
    let partner = &htd.partner_info;
    assert_eq!(partner.bank.host_id, "EBIXQUAL");
    assert_eq!(partner.address.city.as_deref(), Some("Musterstadt"));
    assert_eq!(partner.accounts.len(), 2);
    let giro = partner.account("1").unwrap();
    assert_eq!(giro.iban(), Some("DE12500105170648489890"));
    assert_eq!(giro.bic(), Some("INGDDEFFXXX"));
    assert_eq!(giro.description.as_deref(), Some("Girokonto"));
    assert_eq!(
        giro.account_numbers[0],
        AccountNumber::Standard {
            number: "1234567890".into(),
            international: false
        }
    );
    assert_eq!(
        giro.bank_codes[0],
        BankCode::Standard {
            code: "50010517".into(),
            international: false,
            prefix: Some("DE".into())
        }
    );
    assert_eq!(
        partner.account("2").unwrap().currency,
        Currency::EUR,
        "Currency defaults to EUR"
    );

    let cct = &partner.order_infos[0];
    assert_eq!(cct.order_type, "CCT");
    assert_eq!(cct.transfer_type, Some(TransferType::Upload));
    assert_eq!(cct.description, "SEPA-Überweisung");
    assert_eq!(cct.num_sig_required, Some(1));
    assert_eq!(partner.order_infos[1].num_sig_required, None);

    let user = &htd.user_info;
    assert_eq!((user.user_id.as_str(), user.status), ("USER1", 1));
    let signing = &user.permissions[0];
    assert_eq!(signing.authorisation_level, Some(AuthorisationLevel::E));
    assert_eq!(signing.order_types, vec!["CCT", "CDD"]);
    assert_eq!(signing.account_id.as_deref(), Some("1"));
    assert_eq!(
        signing.max_amount,
        Some(Amount {
            value: dec("10000.00"),
            currency: Currency::EUR
        })
    );
    assert_eq!(
        user.permissions[1].order_types,
        vec!["STA", "C53", "HKD", "HTD"]
    );
    assert_eq!(user.permissions[1].authorisation_level, None);
}

#[test]
fn a_currency_outside_the_schema_pattern_is_refused_where_it_stands() {
    for (from, to) in [
        (r#"ID="1" Currency="EUR""#, r#"ID="1" Currency="eur""#),
        (
            r#"<MaxAmount Currency="EUR">"#,
            r#"<MaxAmount Currency="EURO">"#,
        ),
    ] {
        let htd = HTD_H004_GERMAN_BANK.replacen(from, to, 1);
        assert_ne!(htd, HTD_H004_GERMAN_BANK, "the sample holds {from}");
        let error = HTDResponseOrderData::parse(htd.as_bytes()).unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("@Currency") && message.contains("[A-Z]{3}"),
            "{message}"
        );
    }
}

#[test]
fn hkd_with_custom_prefix_yields_services() {
    let hkd = HKDResponseOrderData::parse(HKD_H005_CUSTOM_PREFIX.as_bytes()).unwrap();
    assert_eq!(hkd.version, ProtocolVersion::H005);
    let account = &hkd.partner_info.accounts[0];
    assert_eq!(
        (account.id.as_str(), account.currency.as_str()),
        ("CHF-1", "CHF")
    );
    assert!(
        account.bank_codes.is_empty(),
        "H005 accounts may omit the bank code"
    );
    assert_eq!(account.usage_services[0].service_name, "SCT");
    let btd = &hkd.partner_info.order_infos[1];
    assert_eq!(btd.order_type, "BTD");
    let service = btd.service.as_ref().unwrap();
    assert_eq!(service.container, Some(ContainerType::Zip));
    assert_eq!(service.message.name, "camt.053");
    assert_eq!(service.message.version.as_deref(), Some("08"));
    assert_eq!(hkd.user_infos.len(), 2);
    assert_eq!(hkd.user_infos[0].permissions[0].order_types, vec!["BTU"]);
    assert_eq!(
        hkd.user_infos[0].permissions[0]
            .max_amount
            .as_ref()
            .unwrap()
            .value,
        dec("50000")
    );
    assert_eq!(hkd.user_infos[1].status, 4);
    assert_eq!(hkd.partner_info.bank.parameters[0].value_type, "boolean");
}

#[test]
fn haa_lists_order_types_or_services() {
    let h004 = HAAResponseOrderData::parse(HAA_H004.as_bytes()).unwrap();
    assert_eq!(h004.order_types, vec!["STA", "VMK", "C53", "PTK"]);
    let h005 = HAAResponseOrderData::parse(HAA_H005.as_bytes()).unwrap();
    let names: Vec<_> = h005
        .services
        .iter()
        .map(|s| s.message.name.as_str())
        .collect();
    assert_eq!(names, vec!["camt.053", "pain.002"]);
}

#[test]
fn an_unknown_container_type_is_dropped_from_a_service_and_refused_in_a_filter() {
    // A bank's offer with an odd container still names its service: onboarding goes on.
    let haa = HAA_H005.replace("containerType=\"ZIP\"", "containerType=\"TAR\"");
    let h005 = HAAResponseOrderData::parse(haa.as_bytes()).unwrap();
    assert_eq!(h005.services[0].service_name, "EOP");
    assert_eq!(h005.services[0].container, None);
    // A pattern without its container would match every container: refused.
    let hvu = r#"<HVUOrderParams xmlns="urn:org:ebics:H005"><ServiceFilter><ServiceName>EOP</ServiceName><Container containerType="TAR"/></ServiceFilter></HVUOrderParams>"#;
    match HVUOrderParams::parse(hvu.as_bytes()) {
        Err(OrderDataError::InvalidValue { path, value, .. }) => {
            assert!(path.ends_with("Container/@containerType"), "{path}");
            assert_eq!(value, "TAR");
        }
        other => panic!("expected the container type refused, got {other:?}"),
    }
    let zip = hvu.replace("TAR", "ZIP");
    let filter = &HVUOrderParams::parse(zip.as_bytes())
        .unwrap()
        .service_filters[0];
    assert_eq!(filter.container, Some(ContainerType::Zip));
}

#[test]
fn hpd_flags_default_as_the_schema_says() {
    let hpd = HPDResponseOrderData::parse(HPD_H004.as_bytes()).unwrap();
    let p = &hpd.protocol_params;
    assert!(p.supports_protocol(ProtocolVersion::H004));
    assert!(!p.supports_protocol(ProtocolVersion::H005));
    assert!(p.supports_signature(SignatureVersion::A006));
    assert_eq!(p.recovery, Some(true), "supported defaults to true");
    assert_eq!(p.pre_validation, Some(false));
    assert_eq!(
        p.x509_data,
        Some(X509DataSupport {
            supported: true,
            persistent: true
        })
    );
    assert_eq!(p.client_data_download, Some(true), "xs:boolean 1");
    assert_eq!(
        hpd.access_params.urls[0].valid_from,
        Some(Utc.with_ymd_and_hms(2015, 1, 1, 0, 0, 0).unwrap())
    );

    let h005 = HPDResponseOrderData::parse(HPD_H005.as_bytes()).unwrap();
    assert_eq!(
        h005.protocol_params.recovery, None,
        "absent feature is unknown"
    );
    assert_eq!(h005.access_params.host_id, None);
}

#[test]
fn hvu_with_prefix_yields_order_and_signers() {
    let hvu = HVUResponseOrderData::parse(HVU_H004_PREFIXED.as_bytes()).unwrap();
    let order = &hvu.orders[0];
    let pending = &order.pending;
    assert_eq!(
        pending.order,
        OrderKind::OrderType {
            order_type: "FUL".into(),
            file_format: Some(FileFormat {
                format: "pain.001.001.03.sct".into(),
                country_code: Some("FR".into())
            })
        }
    );
    assert_eq!(pending.order_id, "A00F");
    assert_eq!(order.order_data_size, NonZeroU64::new(2048).unwrap());
    assert!(pending.signing_info.ready_to_be_signed);
    assert_eq!(
        (
            pending.signing_info.num_sig_required.get(),
            pending.signing_info.num_sig_done
        ),
        (2, 1)
    );
    assert_eq!(
        pending.signers[0].authorisation_level,
        AuthorisationLevel::A
    );
    assert_eq!(pending.originator.user_id, "USER2");
}

#[test]
fn hvz_yields_digest_and_payment_summary() {
    let hvz = HVZResponseOrderData::parse(HVZ_H005.as_bytes()).unwrap();
    let order = &hvz.orders[0];
    let OrderKind::Service(service) = &order.pending.order else {
        panic!("H005 order is a service")
    };
    assert_eq!(service.service_option.as_deref(), Some("COR"));
    assert_eq!(
        order.data_digest.signature_version,
        Some(SignatureVersion::A006)
    );
    assert_eq!(order.data_digest.digest.len(), 32);
    assert_eq!(order.total_orders, Some(12));
    assert_eq!(
        order.total_amount,
        Some(HVZTotalAmount {
            value: dec("15000.5"),
            is_credit: Some(true)
        })
    );
    let first = order.first_order_info.as_ref().unwrap();
    assert_eq!(first.order_party_info.as_deref(), Some("Kontor AG"));
    assert!(first.account.as_ref().unwrap().bank_codes.is_empty());
    assert_eq!(
        order.pending.originator.timestamp,
        Utc.with_ymd_and_hms(2024, 5, 17, 5, 0, 0).unwrap()
    );
    assert_eq!(
        order.pending.additional_order_info.as_deref(),
        Some("Lastschriften Mai")
    );
}

#[test]
fn hvd_without_digest_version_and_with_wrapped_display_file_is_read() {
    let hvd = HVDResponseOrderData::parse(HVD_H004_NO_DIGEST_VERSION.as_bytes()).unwrap();
    assert_eq!(hvd.data_digest.signature_version, None);
    assert_eq!(hvd.display_file, b"Auftrag CCT\nSumme 1.234,56 EUR\n");
    assert!(hvd.order_data_available);
    assert!(!hvd.order_details_available);
    assert!(hvd.signers.is_empty());
}

#[test]
fn hvt_yields_transactions_with_roles() {
    let hvt = HVTResponseOrderData::parse(HVT_H005.as_bytes()).unwrap();
    let info = &hvt.order_infos[0];
    assert_eq!(info.msg_name.as_ref().unwrap().name, "pain.001");
    assert_eq!(info.accounts.len(), 3);
    assert_eq!(
        info.accounts[0].account_numbers[0].role,
        AccountRole::Originator
    );
    assert_eq!(
        info.accounts[1]
            .account_holder
            .as_ref()
            .unwrap()
            .description
            .as_deref(),
        Some("Lieferant")
    );
    assert_eq!(
        info.accounts[2].account_numbers[0].role,
        AccountRole::Charges
    );
    assert_eq!(info.execution_date, NaiveDate::from_ymd_opt(2024, 5, 21));
    assert_eq!(info.amount.currency, Some(Currency::GBP));
    assert_eq!(
        info.descriptions[1].text, "  spaces kept  ",
        "xs:string is not trimmed"
    );
    // What was read can be written back in the same version and stays equal.
    assert_eq!(
        HVTResponseOrderData::parse(&hvt.to_xml().unwrap()).unwrap(),
        hvt
    );
}

#[test]
fn user_signature_with_esig_prefix_yields_every_signature() {
    let sig = UserSignatureData::parse(USER_SIGNATURE_S001_ESIG_PREFIX.as_bytes()).unwrap();
    assert_eq!(sig.version, ProtocolVersion::H004);
    assert_eq!(sig.signatures.len(), 2);
    assert_eq!(sig.signatures[0].signature_version, SignatureVersion::A005);
    assert_eq!(sig.signatures[0].signature_value.len(), 256);
    assert_eq!(sig.signatures[1].user_id, "USER2");
    let x509 = sig.signatures[1].x509.as_ref().unwrap();
    assert_eq!(x509.subject_name.as_deref(), Some("CN=USER2"));

    let h005 = UserSignatureData::parse(USER_SIGNATURE_S002_DEFAULT.as_bytes()).unwrap();
    assert_eq!(h005.version, ProtocolVersion::H005);
}

#[test]
fn ini_from_clients_is_read_in_both_versions() {
    let h004 = SignaturePubKeyOrderData::parse(INI_H004_CLIENT.as_bytes()).unwrap();
    assert_eq!(h004.signature_pub_key_info.version, SignatureVersion::A005);
    assert_eq!(
        h004.signature_pub_key_info.key.rsa_key().unwrap().modulus,
        b64(MODULUS_B64_WRAPPED)[1..]
    );
    let PublicKeyData::Rsa { timestamp, .. } = &h004.signature_pub_key_info.key else {
        panic!()
    };
    assert_eq!(
        *timestamp,
        Some(Utc.with_ymd_and_hms(2024, 5, 17, 8, 0, 0).unwrap()),
        "zone-less is UTC"
    );

    let h005 = SignaturePubKeyOrderData::parse(INI_H005_CLIENT.as_bytes()).unwrap();
    assert_eq!(h005.signature_pub_key_info.version, SignatureVersion::A006);
    assert_eq!(
        h005.signature_pub_key_info.key.x509().unwrap().certificate,
        b64(CERT_B64)
    );
    assert_eq!(
        (h005.partner_id.as_str(), h005.user_id.as_str()),
        ("PARTNER1", "USER1")
    );
}

#[test]
fn order_params_are_read_from_inside_an_envelope() {
    // The element sits in the envelope's OrderDetails with an `ebics:` prefix bound far above.
    let envelope = r#"<?xml version="1.0" encoding="UTF-8"?>
<ebics:ebicsRequest xmlns:ebics="urn:org:ebics:H004" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Version="H004" Revision="1">
  <ebics:header authenticate="true"><ebics:static><ebics:OrderDetails>
    <ebics:OrderType>HVE</ebics:OrderType>
    <ebics:OrderAttribute>UZHNN</ebics:OrderAttribute>
    <ebics:HVEOrderParams>
      <ebics:PartnerID>PARTNER1</ebics:PartnerID>
      <ebics:OrderType>CCT</ebics:OrderType>
      <ebics:OrderID>A001</ebics:OrderID>
    </ebics:HVEOrderParams>
  </ebics:OrderDetails></ebics:static></ebics:header>
</ebics:ebicsRequest>"#;
    let tree = roxmltree::Document::parse(envelope).unwrap();
    let node = tree
        .descendants()
        .find(|n| n.tag_name().name() == "HVEOrderParams")
        .unwrap();
    let params = HVEOrderParams::from_element(node).unwrap();
    assert_eq!(params.version, ProtocolVersion::H004);
    assert_eq!(params.order.order, OrderKind::order_type("CCT"));
    assert_eq!(params.order.order_id, "A001");

    let hvt = HVTOrderParams::parse(HVT_PARAMS_H004.as_bytes()).unwrap();
    assert_eq!(
        (hvt.fetch_limit, hvt.fetch_offset, hvt.complete_order_data),
        (50, 100, false)
    );
}

// ---------------------------------------------------------------------------------------------
// Wrong documents are identified precisely
// ---------------------------------------------------------------------------------------------

/// `refused!(case, Document, bytes => pattern [if guard])`: the case's name, and whether
/// `Document::parse` refuses `bytes` with an error matching `pattern` (`Err` with what it did).
macro_rules! refused {
    ($case:expr, $document:ty, $bytes:expr => $pattern:pat $(if $guard:expr)?) => {
        (
            $case,
            match <$document>::parse(AsRef::<[u8]>::as_ref(&$bytes)) {
                Err(e) if matches!(&e, $pattern $(if $guard)?) => Ok(()),
                other => Err(format!("{:?}", other.map(drop))),
            },
        )
    };
}

#[test]
fn wrong_documents_are_refused_with_the_named_error() {
    let h003 = HAA_H004.replace("urn:org:ebics:H004", "http://www.ebics.org/H003");
    let unqualified =
        r#"<HAAResponseOrderData><OrderTypes>STA</OrderTypes></HAAResponseOrderData>"#;
    let signature_in_ebics_namespace =
        USER_SIGNATURE_S002_DEFAULT.replace("http://www.ebics.org/S002", "urn:org:ebics:H005");
    // Same local names, but in another namespace: must count as missing.
    let foreign = r#"<HAAResponseOrderData xmlns="urn:org:ebics:H004" xmlns:x="urn:other"><x:OrderTypes>STA</x:OrderTypes></HAAResponseOrderData>"#;
    let bad_bool =
        HVD_H004_NO_DIGEST_VERSION.replace("<OrderDataAvailable>1<", "<OrderDataAvailable>yes<");
    let zero_size = HVU_H004_PREFIXED.replace(">2048<", ">0<");
    let bad_level =
        HVU_H004_PREFIXED.replace(r#"AuthorisationLevel="A""#, r#"AuthorisationLevel="X""#);
    let a004 = INI_H004_CLIENT.replace("<SignatureVersion>A005<", "<SignatureVersion>A004<");
    let no_user = INI_H005_CLIENT.replace("<UserID>USER1</UserID>", "");
    let no_cert = HPB_H005_DEFAULT_NAMESPACES
        .replacen("<X509Certificate>", "<X509SKI>", 1)
        .replacen("</X509Certificate>", "</X509SKI>", 1);
    let empty_signature = r#"<esig:UserSignatureData xmlns:esig="http://www.ebics.org/S001"/>"#;
    let dtd = r#"<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]><HAAResponseOrderData xmlns="urn:org:ebics:H004"><OrderTypes>&a;</OrderTypes></HAAResponseOrderData>"#;
    let latin1 = b"<HAAResponseOrderData xmlns=\"urn:org:ebics:H004\"><OrderTypes>\xe4</OrderTypes></HAAResponseOrderData>";
    let rows = [
        refused!("H003 namespace", HAAResponseOrderData, h003 => OrderDataError::UnknownNamespace { element, namespace } if element == "HAAResponseOrderData" && namespace == "http://www.ebics.org/H003"),
        refused!("no namespace", HAAResponseOrderData, unqualified => OrderDataError::UnknownNamespace { .. }),
        refused!("signature document in the EBICS namespace", UserSignatureData, signature_in_ebics_namespace => OrderDataError::UnknownNamespace { .. }),
        refused!("EBICS local names in a foreign namespace", HAAResponseOrderData, foreign => OrderDataError::MissingElement { element, parent } if element == "OrderTypes" && parent == "HAAResponseOrderData"),
        refused!("another document", HPBResponseOrderData, HAA_H004 => OrderDataError::UnexpectedRoot { expected: "HPBResponseOrderData", found } if found == "HAAResponseOrderData"),
        refused!("'yes' as xs:boolean, with its location", HVDResponseOrderData, bad_bool => OrderDataError::InvalidValue { path, value, .. } if path == "HVDResponseOrderData/OrderDataAvailable" && value == "yes"),
        refused!("zero order data size", HVUResponseOrderData, zero_size => OrderDataError::InvalidValue { .. }),
        refused!("unknown authorisation level, with its location", HVUResponseOrderData, bad_level => OrderDataError::InvalidValue { path, .. } if path.ends_with("SignerInfo/Permission/@AuthorisationLevel")),
        refused!("signature version A004", SignaturePubKeyOrderData, a004 => OrderDataError::InvalidValue { .. }),
        refused!("missing UserID", SignaturePubKeyOrderData, no_user => OrderDataError::MissingElement { element, parent } if element == "UserID" && parent == "SignaturePubKeyOrderData"),
        refused!("missing X509Certificate", HPBResponseOrderData, no_cert => OrderDataError::MissingElement { element, .. } if element == "X509Certificate"),
        refused!("empty signature document", UserSignatureData, empty_signature => OrderDataError::MissingElement { .. }),
        refused!("DTD", HAAResponseOrderData, dtd => OrderDataError::Malformed(_)),
        refused!("Latin-1 text", HAAResponseOrderData, latin1 => OrderDataError::NotUtf8),
    ];
    let wrong: Vec<String> = rows
        .into_iter()
        .filter_map(|(case, outcome)| outcome.err().map(|got| format!("{case}: {got}")))
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn a_utf8_bom_is_accepted() {
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(HAA_H004.as_bytes());
    assert!(HAAResponseOrderData::parse(&bom).is_ok());
}

#[test]
fn legacy_order_signature_elements_are_skipped() {
    let mixed = format!(
        r#"<UserSignatureData xmlns="http://www.ebics.org/S001"><OrderSignature PartnerID="P1">{}</OrderSignature><OrderSignatureData><SignatureVersion>A005</SignatureVersion><SignatureValue>AQID</SignatureValue><PartnerID>P1</PartnerID><UserID>U1</UserID></OrderSignatureData></UserSignatureData>"#,
        base64_of(&bytes(1, 16))
    );
    let sig = UserSignatureData::parse(mixed.as_bytes()).unwrap();
    assert_eq!(sig.signatures.len(), 1);
    assert_eq!(sig.signatures[0].signature_value, vec![1, 2, 3]);
}

fn base64_of(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}
