//! Every envelope parses back into the model it was built from, and malformed input yields
//! typed errors.

use kontor_protocol::envelope::*;
use kontor_protocol::order_type::{OrderType, OrderTypeError};
use kontor_protocol::return_code::ReturnCode;
use kontor_protocol::ProtocolVersion;

use crate::support::envelopes::*;
use crate::support::keys::{bank_x002, client_x002};
use crate::support::VERSIONS;

#[test]
fn ebics_requests_round_trip() {
    for v in VERSIONS {
        for (name, request, xml) in signed_requests(v) {
            let parsed = EbicsRequest::parse(&xml).unwrap_or_else(|e| panic!("{name}: {e}"));
            // H004 parsing yields the attribute the builder derived.
            let mut expected = request.clone();
            if let EbicsRequest::Initialisation(init) = &mut expected {
                if !v.uses_btf() {
                    let d = &mut init.header.order_details;
                    d.order_attribute = d.effective_order_attribute();
                }
            }
            assert_eq!(parsed, expected, "{name}");
            assert!(
                matches!(parse_request(&xml), Ok(AnyRequest::Ebics(_))),
                "{name}"
            );
        }
    }
}

#[test]
fn ebics_responses_round_trip() {
    for v in VERSIONS {
        for (name, response, xml) in signed_responses(v) {
            assert_eq!(EbicsResponse::parse(&xml).as_ref(), Ok(&response), "{name}");
            assert_eq!(
                parse_response(&xml),
                Ok(AnyResponse::Ebics(response)),
                "{name}"
            );
        }
    }
}

#[test]
fn key_management_messages_round_trip() {
    for v in VERSIONS {
        for t in [OrderType::INI, OrderType::HIA, OrderType::H3K] {
            let request = unsecured(v, t);
            let xml = request.to_xml().expect("builds");
            assert_eq!(
                UnsecuredRequest::parse(xml.as_bytes()).as_ref(),
                Ok(&request)
            );
            assert_eq!(
                parse_request(xml.as_bytes()),
                Ok(AnyRequest::Unsecured(request))
            );
        }
        let request = hpb(v);
        let xml = request.to_signed_xml(client_x002()).expect("builds");
        assert_eq!(NoPubKeyDigestsRequest::parse(&xml).as_ref(), Ok(&request));
        assert_eq!(
            parse_request(&xml),
            Ok(AnyRequest::NoPubKeyDigests(request))
        );
        for (name, response) in key_management_responses(v) {
            let xml = response.to_xml().expect("builds");
            assert_eq!(
                KeyManagementResponse::parse(xml.as_bytes()).as_ref(),
                Ok(&response),
                "{name}"
            );
            assert_eq!(
                parse_response(xml.as_bytes()),
                Ok(AnyResponse::KeyManagement(response))
            );
        }
    }
}

#[test]
fn hev_messages_round_trip() {
    let request = HevRequest { host_id: host() };
    let xml = request.to_xml().expect("builds");
    assert_eq!(HevRequest::parse(xml.as_bytes()).as_ref(), Ok(&request));
    assert_eq!(parse_request(xml.as_bytes()), Ok(AnyRequest::Hev(request)));

    let response = HevResponse {
        return_code: ReturnCode::Ok,
        report_text: "[EBICS_OK] OK".into(),
        versions: vec![
            HevVersion {
                protocol_version: "H003".into(),
                version_number: "02.40".into(),
            },
            HevVersion::for_protocol(ProtocolVersion::H004),
            HevVersion::for_protocol(ProtocolVersion::H005),
        ],
    };
    let xml = response.to_xml().expect("builds");
    let parsed = HevResponse::parse(xml.as_bytes()).expect("parses");
    assert_eq!(parsed, response);
    assert_eq!(
        parsed.supported(),
        vec![
            ProtocolVersion::H003,
            ProtocolVersion::H004,
            ProtocolVersion::H005
        ]
    );
}

#[test]
fn a_bank_hev_response_with_foreign_formatting_parses() {
    let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<h:ebicsHEVResponse xmlns:h="http://www.ebics.org/H000" xmlns:x="urn:vendor">
  <h:SystemReturnCode>
    <h:ReturnCode> 000000 </h:ReturnCode>
    <h:ReportText>[EBICS_OK] OK</h:ReportText>
  </h:SystemReturnCode>
  <h:VersionNumber ProtocolVersion="H005">03.00</h:VersionNumber>
  <x:Extension/>
</h:ebicsHEVResponse>"#;
    let parsed = HevResponse::parse(xml).expect("parses");
    assert_eq!(parsed.supported(), vec![ProtocolVersion::H005]);
    assert!(parsed.return_code.is_ok());
}

/// The first H004 sample response and its signed XML.
fn first_h004_response() -> (EbicsResponse, Vec<u8>) {
    let (_, response) = ebics_responses(ProtocolVersion::H004)
        .into_iter()
        .next()
        .expect("sample");
    let xml = response.to_signed_xml(bank_x002()).expect("builds");
    (response, xml)
}

#[test]
fn line_wrapped_base64_is_accepted() {
    let (response, xml) = first_h004_response();
    let xml = String::from_utf8(xml).expect("utf-8");
    let wrapped = xml.replace("<OrderData>Zmlyc3Qgc2Vn", "<OrderData>\nZmlyc3Qg\r\nc2Vn");
    assert_ne!(wrapped, xml);
    assert_eq!(EbicsResponse::parse(wrapped.as_bytes()), Ok(response));
}

#[test]
fn unknown_return_codes_are_kept() {
    let mut response = EbicsResponse::status(
        ProtocolVersion::H005,
        TransactionPhase::Initialisation,
        ReturnCode::Unknown("061999".into()),
        ReturnCode::Unknown("099998".into()),
    );
    response.report_text = "vendor specific".into();
    let xml = response.to_signed_xml(bank_x002()).expect("builds");
    let parsed = EbicsResponse::parse(&xml).expect("parses");
    assert_eq!(parsed.technical_return_code.code(), "061999");
    assert_eq!(
        parsed.business_return_code,
        ReturnCode::Unknown("099998".into())
    );
}

#[test]
fn body_return_code_091002_is_read_as_business_code() {
    let response = EbicsResponse::status(
        ProtocolVersion::H004,
        TransactionPhase::Initialisation,
        ReturnCode::Ok,
        ReturnCode::DownloadUnsignedOnly,
    );
    let xml = response.to_signed_xml(bank_x002()).expect("builds");
    let parsed = EbicsResponse::parse(&xml).expect("parses");
    assert_eq!(
        parsed.business_return_code,
        ReturnCode::DownloadUnsignedOnly
    );
}

#[test]
fn malformed_xml_is_a_typed_error() {
    for bad in [
        &b""[..],
        b"<",
        b"<ebicsRequest>",
        b"<a></b>",
        b"not xml at all",
    ] {
        assert!(
            matches!(EbicsRequest::parse(bad), Err(EnvelopeError::Malformed(_))),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
        assert!(matches!(
            parse_response(bad),
            Err(EnvelopeError::Malformed(_))
        ));
    }
    let truncated = &signed_c53(ProtocolVersion::H004).into_bytes()[..200];
    assert!(matches!(
        EbicsRequest::parse(truncated),
        Err(EnvelopeError::Malformed(_))
    ));
}

#[test]
fn non_utf8_input_is_a_typed_error() {
    assert_eq!(
        EbicsResponse::parse(b"<ebicsResponse>\xff\xfe</ebicsResponse>"),
        Err(EnvelopeError::NotUtf8)
    );
}

#[test]
fn a_dtd_is_refused() {
    let xml = signed_c53(ProtocolVersion::H004).replacen(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
        "<?xml version=\"1.0\"?><!DOCTYPE ebicsRequest [<!ENTITY x \"y\">]>",
        1,
    );
    assert!(matches!(
        EbicsRequest::parse(xml.as_bytes()),
        Err(EnvelopeError::Malformed(_))
    ));
}

#[test]
fn wrong_namespace_is_a_typed_error() {
    let xml = signed_c53(ProtocolVersion::H004)
        .replace("urn:org:ebics:H004", "http://www.ebics.org/H003");
    assert!(matches!(
        EbicsRequest::parse(xml.as_bytes()),
        Err(EnvelopeError::WrongNamespace { .. })
    ));
    let hev = HevRequest { host_id: host() }.to_xml().expect("builds");
    let wrong = hev.replace("http://www.ebics.org/H000", "urn:org:ebics:H004");
    assert!(matches!(
        HevRequest::parse(wrong.as_bytes()),
        Err(EnvelopeError::WrongNamespace { .. })
    ));
}

#[test]
fn version_attribute_must_match_the_namespace() {
    let xml = signed_c53(ProtocolVersion::H004).replacen("Version=\"H004\"", "Version=\"H005\"", 1);
    assert!(matches!(
        EbicsRequest::parse(xml.as_bytes()),
        Err(EnvelopeError::InvalidValue {
            element: "ebicsRequest",
            ..
        })
    ));
}

#[test]
fn wrong_root_element_is_a_typed_error() {
    let (_, xml) = first_h004_response();
    assert_eq!(
        EbicsRequest::parse(&xml),
        Err(EnvelopeError::WrongRootElement {
            expected: "ebicsRequest",
            found: "ebicsResponse".into()
        })
    );
    assert!(matches!(
        parse_request(&xml),
        Err(EnvelopeError::WrongRootElement { .. })
    ));
    assert!(matches!(
        KeyManagementResponse::parse(&xml),
        Err(EnvelopeError::WrongRootElement { .. })
    ));
}

#[test]
fn missing_required_elements_are_typed_errors() {
    let xml = signed_c53(ProtocolVersion::H004);
    for (parent, element) in [
        ("static", "HostID"),
        ("static", "BankPubKeyDigests"),
        ("ebicsRequest", "AuthSignature"),
    ] {
        assert_eq!(
            EbicsRequest::parse(without_element(&xml, element).as_bytes()),
            Err(EnvelopeError::MissingElement { parent, element })
        );
    }
    let (_, response) = ebics_responses(ProtocolVersion::H005)
        .into_iter()
        .next()
        .expect("sample");
    let xml =
        String::from_utf8(response.to_signed_xml(bank_x002()).expect("builds")).expect("utf-8");
    let no_body_code = xml.replacen(
        "<ReturnCode authenticate=\"true\">000000</ReturnCode>",
        "",
        1,
    );
    assert_eq!(
        EbicsResponse::parse(no_body_code.as_bytes()),
        Err(EnvelopeError::MissingElement {
            parent: "body",
            element: "ReturnCode"
        })
    );
}

#[test]
fn unexpected_elements_are_typed_errors_but_foreign_extensions_are_ignored() {
    let xml = signed_c53(ProtocolVersion::H004);
    let extra = xml.replacen("</static>", "<Bogus/></static>", 1);
    assert_eq!(
        EbicsRequest::parse(extra.as_bytes()),
        Err(EnvelopeError::UnexpectedElement {
            parent: "static",
            element: "Bogus".into()
        })
    );
    let foreign = xml.replacen(
        "</static>",
        "<v:Hint xmlns:v=\"urn:vendor\">x</v:Hint></static>",
        1,
    );
    assert!(EbicsRequest::parse(foreign.as_bytes()).is_ok());
}

#[test]
fn bad_base64_is_a_typed_error() {
    let (_, xml) = first_h004_response();
    let xml = String::from_utf8(xml).expect("utf-8");
    let bad = xml.replacen("<OrderData>Zmlyc3Q", "<OrderData>!!!*", 1);
    assert_eq!(
        EbicsResponse::parse(bad.as_bytes()),
        Err(EnvelopeError::InvalidBase64 {
            element: "OrderData"
        })
    );
}

#[test]
fn invalid_values_are_typed_errors() {
    let xml = signed_c53(ProtocolVersion::H004);
    for (from, to, element) in [
        ("<Nonce>A5A5", "<Nonce>ZZA5", "Nonce"),
        (
            "<Timestamp>2024-05-17T09",
            "<Timestamp>yesterday",
            "Timestamp",
        ),
        (
            "<UserID>USER1</UserID>",
            "<UserID>USER 1</UserID>",
            "UserID",
        ),
        (
            "<SecurityMedium>0000",
            "<SecurityMedium>00x0",
            "SecurityMedium",
        ),
        ("<Start>2024-05-01", "<Start>2024-13-01", "Start"),
    ] {
        let bad = xml.replacen(from, to, 1);
        assert!(
            matches!(EbicsRequest::parse(bad.as_bytes()), Err(EnvelopeError::InvalidValue { element: e, .. }) if e == element),
            "{element}: {:?}",
            EbicsRequest::parse(bad.as_bytes())
        );
    }
    let bad = xml.replacen("<OrderAttribute>DZHNN", "<OrderAttribute>XXXXX", 1);
    assert!(matches!(
        EbicsRequest::parse(bad.as_bytes()),
        Err(EnvelopeError::OrderType(
            OrderTypeError::InvalidOrderAttribute(_)
        ))
    ));
    let bad = xml.replacen("<OrderType>C53", "<OrderType>c5", 1);
    assert!(matches!(
        EbicsRequest::parse(bad.as_bytes()),
        Err(EnvelopeError::OrderType(OrderTypeError::Malformed(_)))
    ));
}

#[test]
fn a_missing_authenticate_marker_on_the_header_is_a_typed_error() {
    let xml = signed_c53(ProtocolVersion::H004).replacen(
        "<header authenticate=\"true\">",
        "<header authenticate=\"1\">",
        1,
    );
    assert_eq!(
        EbicsRequest::parse(xml.as_bytes()),
        Err(EnvelopeError::MissingAuthenticateMarker { element: "header" })
    );
    let unsecured = unsecured(ProtocolVersion::H004, OrderType::INI)
        .to_xml()
        .expect("builds")
        .replacen(" authenticate=\"true\"", "", 1);
    assert_eq!(
        UnsecuredRequest::parse(unsecured.as_bytes()),
        Err(EnvelopeError::MissingAuthenticateMarker { element: "header" })
    );
}

#[test]
fn transfer_without_segment_number_is_a_typed_error() {
    let xml = String::from_utf8(
        download_transfer(ProtocolVersion::H004, 2, false)
            .to_signed_xml(client_x002())
            .expect("signs"),
    )
    .expect("utf-8")
    .replacen(
        "<SegmentNumber lastSegment=\"false\">2</SegmentNumber>",
        "",
        1,
    );
    assert_eq!(
        EbicsRequest::parse(xml.as_bytes()),
        Err(EnvelopeError::MissingElement {
            parent: "mutable",
            element: "SegmentNumber"
        })
    );
}

#[test]
fn version_specific_features_are_refused_in_the_other_version() {
    let ff = FileFormat {
        format: "pain.001.001.03".into(),
        country_code: None,
    };
    let mut request = upload_init(ProtocolVersion::H005, OrderDetails::ful(ff), 1);
    assert!(matches!(
        request.to_xml(),
        Err(EnvelopeError::UnsupportedInVersion {
            feature: "FULOrderParams",
            ..
        })
    ));
    assert!(matches!(
        OrderDetails::download(ProtocolVersion::H005, &OrderType::FDL, None),
        Err(EnvelopeError::OrderType(OrderTypeError::NoH005Equivalent(
            _
        )))
    ));
    // H005 uploads need the data digest; H004 ones must not carry it.
    if let EbicsRequest::Initialisation(init) = &mut request {
        init.header.order_details =
            OrderDetails::upload(ProtocolVersion::H005, &OrderType::CCT).expect("ok");
        if let Some(u) = &mut init.upload {
            u.data_digest = None;
        }
    }
    assert_eq!(
        request.to_xml(),
        Err(EnvelopeError::MissingElement {
            parent: "DataTransfer",
            element: "DataDigest"
        })
    );
    let with_digest = upload_init(
        ProtocolVersion::H005,
        OrderDetails::upload(ProtocolVersion::H005, &OrderType::CCT).expect("ok"),
        1,
    );
    if let EbicsRequest::Initialisation(mut init) = with_digest {
        init.version = ProtocolVersion::H004;
        init.header.order_details =
            OrderDetails::upload(ProtocolVersion::H004, &OrderType::CCT).expect("ok");
        assert!(matches!(
            EbicsRequest::Initialisation(init).to_xml(),
            Err(EnvelopeError::UnsupportedInVersion { .. })
        ));
    }
}

#[test]
fn h005_business_orders_become_btd_and_btu() {
    let details = OrderDetails::download(ProtocolVersion::H005, &OrderType::STA, None).expect("ok");
    assert_eq!(details.order_type, OrderType::BTD);
    let OrderParams::Btd { service, .. } = &details.params else {
        panic!("expected BTD params, got {:?}", details.params);
    };
    assert_eq!(service.message.name, "mt940");
    let details = OrderDetails::upload(ProtocolVersion::H005, &OrderType::CDD).expect("ok");
    assert_eq!(details.order_type, OrderType::BTU);
    let details = OrderDetails::download(ProtocolVersion::H004, &OrderType::STA, None).expect("ok");
    assert_eq!(details.order_type, OrderType::STA);
    assert_eq!(details.params, OrderParams::Standard { date_range: None });
}

#[test]
fn invalid_model_values_are_refused_when_building() {
    assert!(HostId::new("").is_err());
    assert!(HostId::new("A".repeat(36)).is_err());
    assert!(PartnerId::new("PART NER").is_err());
    assert!(UserId::new("user_1").is_err());
    assert!(OrderId::new("a001").is_err());
    assert!(OrderId::new("A00").is_err());
    assert!(SegmentNumber::new(0, true).is_err());
    let mut response = EbicsResponse::status(
        ProtocolVersion::H004,
        TransactionPhase::Transfer,
        ReturnCode::Ok,
        ReturnCode::Unknown("12".into()),
    );
    assert!(matches!(
        response.to_xml(),
        Err(EnvelopeError::InvalidValue {
            element: "ReturnCode",
            ..
        })
    ));
    response.business_return_code = ReturnCode::Ok;
    response.report_text = "x".repeat(257);
    assert!(matches!(
        response.to_xml(),
        Err(EnvelopeError::InvalidValue {
            element: "ReportText",
            ..
        })
    ));
    let mut request = unsecured(ProtocolVersion::H004, OrderType::HPB);
    assert!(request.to_xml().is_err(), "HPB is not an unsecured request");
    request.order_type = OrderType::INI;
    request.subscriber.product = Some(Product {
        name: "x".into(),
        language: "english".into(),
        institute_id: None,
    });
    assert!(request.to_xml().is_err());
}

#[test]
fn nonce_is_32_uppercase_hex_digits() {
    let mut rng = rand::thread_rng();
    let a = Nonce::random(&mut rng);
    let b = Nonce::random(&mut rng);
    assert_ne!(a, b);
    let hex = a.to_hex();
    assert_eq!(hex.len(), 32);
    assert!(hex
        .bytes()
        .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()));
    assert_eq!(Nonce::from_hex(&hex.to_lowercase()), Ok(a));
}
