//! One sample of every message Kontor builds, for H004 and H005, signed with the keys of
//! [`super::keys`].

use std::sync::OnceLock;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use kontor_protocol::envelope::*;
use kontor_protocol::order_type::{BtfService, MessageName, OrderType};
use kontor_protocol::return_code::ReturnCode;
use kontor_protocol::{
    AuthenticationVersion, EncryptionVersion, ProtocolVersion, SignatureVersion,
};

use super::keys::{bank_x002, client_x002};
use super::VERSIONS;

pub fn timestamp() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 17, 9, 30, 15)
        .single()
        .expect("valid")
}

pub fn host() -> HostId {
    HostId::new("KONTORBANK").expect("valid")
}

pub fn partner() -> PartnerId {
    PartnerId::new("PARTNER1").expect("valid")
}

pub fn user() -> UserId {
    UserId::new("USER1").expect("valid")
}

pub fn product() -> Product {
    Product {
        name: "Kontor 0.1".into(),
        language: "en".into(),
        institute_id: None,
    }
}

pub fn digests() -> BankPubKeyDigests {
    BankPubKeyDigests {
        authentication_version: AuthenticationVersion::X002,
        authentication: PubKeyDigest::sha256([0x11; 32]),
        encryption_version: EncryptionVersion::E002,
        encryption: PubKeyDigest::sha256([0x22; 32]),
    }
}

pub fn data_encryption_info() -> DataEncryptionInfo {
    DataEncryptionInfo {
        encryption_version: EncryptionVersion::E002,
        encryption_pub_key_digest: PubKeyDigest::sha256([0x33; 32]),
        transaction_key: vec![0x44; 256],
    }
}

pub fn nonce(seed: u8) -> Nonce {
    Nonce::from_bytes([seed; 16])
}

pub fn transaction_id() -> TransactionId {
    TransactionId::from_bytes([
        0x0F, 0xA1, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF, 0x01, 0x23, 0x45, 0x67, 0x89, 0xAB,
        0xCD,
    ])
}

pub fn date_range() -> DateRange {
    DateRange {
        start: NaiveDate::from_ymd_opt(2024, 5, 1).expect("valid"),
        end: NaiveDate::from_ymd_opt(2024, 5, 16).expect("valid"),
    }
}

/// The test subscriber with the test product, sending through `system_id` if any.
pub fn subscriber(system_id: Option<UserId>) -> SubscriberIds {
    SubscriberIds {
        partner_id: partner(),
        user_id: user(),
        system_id,
        product: Some(product()),
    }
}

pub fn init_header(details: OrderDetails) -> InitHeader {
    InitHeader {
        host_id: host(),
        nonce: nonce(0xA5),
        timestamp: timestamp(),
        subscriber: subscriber(None),
        order_details: details,
        bank_pub_key_digests: digests(),
        security_medium: SecurityMedium::default(),
    }
}

pub fn download_init(version: ProtocolVersion, details: OrderDetails) -> EbicsRequest {
    InitialisationRequest {
        version,
        header: init_header(details),
        upload: None,
    }
    .into()
}

/// A C53 download initialisation signed by the subscriber.
pub fn signed_c53(version: ProtocolVersion) -> String {
    let details = OrderDetails::download(version, &OrderType::C53, Some(date_range())).expect("ok");
    let bytes = download_init(version, details)
        .to_signed_xml(client_x002())
        .expect("signs");
    String::from_utf8(bytes).expect("utf-8")
}

/// The byte range of the first `<name>…</name>` element of `xml`.
pub fn element_span(xml: &str, name: &str) -> std::ops::Range<usize> {
    let start = xml.find(&format!("<{name}>")).expect("element present");
    let close = format!("</{name}>");
    start..xml.find(&close).expect("element closed") + close.len()
}

/// `xml` without its first `<name>` element.
pub fn without_element(xml: &str, name: &str) -> String {
    let span = element_span(xml, name);
    format!("{}{}", &xml[..span.start], &xml[span.end..])
}

/// `xml` with the first character of the first `<name>` element's text changed.
pub fn with_text_changed(xml: &str, name: &str) -> String {
    let at = element_span(xml, name).start + name.len() + 2;
    let mut bytes = xml.as_bytes().to_vec();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).expect("utf-8")
}

pub fn upload_init(
    version: ProtocolVersion,
    details: OrderDetails,
    num_segments: u32,
) -> EbicsRequest {
    EbicsRequest::from(InitialisationRequest {
        version,
        header: init_header(details),
        upload: Some(UploadInit {
            num_segments,
            data_encryption_info: data_encryption_info(),
            signature_data: b"encrypted user signature data".to_vec(),
            data_digest: version.uses_btf().then(|| DataDigest {
                signature_version: SignatureVersion::A006,
                digest: vec![0x55; 32],
            }),
            additional_order_info: None,
        }),
    })
}

pub fn upload_transfer(version: ProtocolVersion, number: u32, last: bool) -> EbicsRequest {
    EbicsRequest::Transfer(TransferRequest {
        version,
        host_id: host(),
        transaction_id: transaction_id(),
        segment: SegmentNumber::new(number, last).expect("valid"),
        order_data: Some(format!("segment {number}").into_bytes()),
    })
}

pub fn download_transfer(version: ProtocolVersion, number: u32, last: bool) -> EbicsRequest {
    EbicsRequest::Transfer(TransferRequest {
        version,
        host_id: host(),
        transaction_id: transaction_id(),
        segment: SegmentNumber::new(number, last).expect("valid"),
        order_data: None,
    })
}

pub fn receipt(version: ProtocolVersion, code: ReceiptCode) -> EbicsRequest {
    EbicsRequest::Receipt(ReceiptRequest {
        version,
        host_id: host(),
        transaction_id: transaction_id(),
        receipt_code: code,
    })
}

pub fn unsecured(version: ProtocolVersion, order_type: OrderType) -> UnsecuredRequest {
    UnsecuredRequest {
        version,
        host_id: host(),
        subscriber: subscriber(None),
        order_type,
        security_medium: SecurityMedium::default(),
        order_data: b"compressed key document".to_vec(),
    }
}

pub fn hpb(version: ProtocolVersion) -> NoPubKeyDigestsRequest {
    NoPubKeyDigestsRequest {
        version,
        host_id: host(),
        nonce: nonce(0x5A),
        timestamp: timestamp(),
        subscriber: subscriber(Some(UserId::new("SYSTEM1").expect("valid"))),
        order_type: OrderType::HPB,
        security_medium: SecurityMedium::default(),
    }
}

fn order_ref(version: ProtocolVersion) -> HvOrderRef {
    HvOrderRef {
        partner_id: partner(),
        kind: if version.uses_btf() {
            HvOrderKind::Service(OrderType::CCT.btf_service().expect("mapped"))
        } else {
            HvOrderKind::OrderType {
                order_type: OrderType::CCT,
                file_format: None,
            }
        },
        order_id: OrderId::new("A001").expect("valid"),
    }
}

fn hv_list(version: ProtocolVersion) -> HvListParams {
    if version.uses_btf() {
        HvListParams {
            order_types: vec![],
            service_filters: vec![ServiceFilter {
                service_name: Some("SCT".into()),
                message: Some(MessageName::new("pain.001")),
                ..ServiceFilter::default()
            }],
        }
    } else {
        HvListParams {
            order_types: vec![OrderType::CCT, OrderType::CDD],
            service_filters: vec![],
        }
    }
}

fn details(order_type: OrderType, params: OrderParams) -> OrderDetails {
    OrderDetails {
        order_type,
        order_id: None,
        order_attribute: None,
        params,
    }
}

/// Every `ebicsRequest` sample for a version, with a descriptive name.
pub fn ebics_requests(version: ProtocolVersion) -> Vec<(String, EbicsRequest)> {
    let v = version;
    let mut out: Vec<(String, EbicsRequest)> = Vec::new();
    let mut add = |name: &str, r: EbicsRequest| out.push((format!("{v}_{name}"), r));

    // Downloads of business data.
    for t in [
        OrderType::C53,
        OrderType::STA,
        OrderType::C52,
        OrderType::C54,
    ] {
        let d = OrderDetails::download(v, &t, Some(date_range())).expect("mapped");
        add(&format!("{t}_init"), download_init(v, d));
    }
    // Administrative and protocol downloads.
    for t in [
        OrderType::HKD,
        OrderType::HTD,
        OrderType::HAA,
        OrderType::HPD,
        OrderType::PTK,
        OrderType::HAC,
    ] {
        let d = OrderDetails::download(v, &t, None).expect("mapped");
        add(&format!("{t}_init"), download_init(v, d));
    }
    add("download_transfer", download_transfer(v, 2, false));
    add("download_transfer_last", download_transfer(v, 3, true));
    add("receipt_ack", receipt(v, ReceiptCode::Acknowledged));
    add("receipt_nack", receipt(v, ReceiptCode::NotAcknowledged));

    // Uploads.
    let cct = OrderDetails::upload(v, &OrderType::CCT).expect("mapped");
    add("CCT_init", upload_init(v, cct, 2));
    let cdd = OrderDetails::upload(v, &OrderType::CDD).expect("mapped");
    add("CDD_init", upload_init(v, cdd, 1));
    add("upload_transfer", upload_transfer(v, 1, false));
    add("upload_transfer_last", upload_transfer(v, 2, true));
    let spr = OrderDetails::upload(v, &OrderType::SPR).expect("admin");
    add("SPR_init", upload_init(v, spr, 0));

    if v.uses_btf() {
        let btd = OrderDetails::btd(
            BtfService {
                service_name: "EOP".into(),
                scope: Some("DE".into()),
                service_option: None,
                container: Some(kontor_protocol::order_type::ContainerType::Zip),
                message: MessageName::new("camt.053").with_version("08"),
            },
            Some(date_range()),
        );
        add("BTD_explicit_init", download_init(v, btd));
        let btu = OrderDetails::btu(
            OrderType::CIP.btf_service().expect("mapped"),
            Some(SignatureFlag {
                request_eds: Some(true),
            }),
        );
        let mut r = upload_init(v, btu, 1);
        if let EbicsRequest::Initialisation(init) = &mut r {
            if let Some(u) = &mut init.upload {
                u.additional_order_info = Some("Payroll May".into());
            }
            if let OrderParams::Btu { file_name, .. } = &mut init.header.order_details.params {
                *file_name = Some("payroll-2024-05.xml".into());
            }
        }
        add("BTU_explicit_init", r);
    } else {
        let ff = FileFormat {
            format: "camt.xxx.cfonb120.stm".into(),
            country_code: Some("FR".into()),
        };
        add(
            "FDL_init",
            download_init(v, OrderDetails::fdl(ff, Some(date_range()))),
        );
        let ff = FileFormat {
            format: "pain.001.001.03.sct".into(),
            country_code: Some("FR".into()),
        };
        add("FUL_init", upload_init(v, OrderDetails::ful(ff), 1));
        let mut generic = details(
            OrderType::Other("XYZ".into()),
            OrderParams::Generic(vec![Parameter {
                name: "TEST".into(),
                value: "TRUE".into(),
                value_type: "string".into(),
            }]),
        );
        generic.order_attribute = Some(kontor_protocol::order_type::OrderAttribute::DZHNN);
        add("generic_params_init", download_init(v, generic));
        let mut explicit = details(
            OrderType::Other("XE2".into()),
            OrderParams::Standard { date_range: None },
        );
        explicit.order_attribute = Some(kontor_protocol::order_type::OrderAttribute::OZHNN);
        add("explicit_attribute_init", upload_init(v, explicit, 1));
    }

    // Distributed signature.
    add(
        "HVU_init",
        download_init(v, details(OrderType::HVU, OrderParams::Hvu(hv_list(v)))),
    );
    add(
        "HVZ_init",
        download_init(v, details(OrderType::HVZ, OrderParams::Hvz(hv_list(v)))),
    );
    add(
        "HVD_init",
        download_init(v, details(OrderType::HVD, OrderParams::Hvd(order_ref(v)))),
    );
    add(
        "HVT_init",
        download_init(
            v,
            details(
                OrderType::HVT,
                OrderParams::Hvt {
                    order: order_ref(v),
                    flags: HvtOrderFlags {
                        complete_order_data: true,
                        fetch_limit: 100,
                        fetch_offset: 0,
                    },
                    parameters: vec![],
                },
            ),
        ),
    );
    add(
        "HVE_init",
        upload_init(
            v,
            details(OrderType::HVE, OrderParams::Hve(order_ref(v))),
            0,
        ),
    );
    add(
        "HVS_init",
        upload_init(
            v,
            details(OrderType::HVS, OrderParams::Hvs(order_ref(v))),
            0,
        ),
    );
    out
}

/// Every request of [`ebics_requests`] with its XML signed by the subscriber (X002).
pub fn signed_requests(version: ProtocolVersion) -> Vec<(String, EbicsRequest, Vec<u8>)> {
    with_xml(ebics_requests(version), |r| {
        r.to_signed_xml(client_x002()).expect("signs")
    })
}

/// Each named fixture together with the XML `write` makes of it.
fn with_xml<T>(
    fixtures: Vec<(String, T)>,
    write: impl Fn(&T) -> Vec<u8>,
) -> Vec<(String, T, Vec<u8>)> {
    fixtures
        .into_iter()
        .map(|(name, fixture)| {
            let xml = write(&fixture);
            (name, fixture, xml)
        })
        .collect()
}

/// `ebicsResponse` samples.
pub fn ebics_responses(version: ProtocolVersion) -> Vec<(String, EbicsResponse)> {
    let v = version;
    let base = |phase| EbicsResponse::status(v, phase, ReturnCode::Ok, ReturnCode::Ok);
    let mut download_init = base(TransactionPhase::Initialisation);
    download_init.transaction_id = Some(transaction_id());
    download_init.num_segments = Some(3);
    download_init.segment = Some(SegmentNumber::new(1, false).expect("valid"));
    download_init.data_transfer = Some(ResponseDataTransfer {
        data_encryption_info: Some(data_encryption_info()),
        order_data: b"first segment".to_vec(),
    });
    download_init.timestamp_bank_parameter = Some(timestamp());

    let mut transfer = base(TransactionPhase::Transfer);
    transfer.transaction_id = Some(transaction_id());
    transfer.segment = Some(SegmentNumber::new(3, true).expect("valid"));
    transfer.data_transfer = Some(ResponseDataTransfer {
        data_encryption_info: None,
        order_data: b"last segment".to_vec(),
    });

    let mut upload_init = base(TransactionPhase::Initialisation);
    upload_init.transaction_id = Some(transaction_id());
    upload_init.order_id = Some(OrderId::new("N0A1").expect("valid"));

    let receipt = EbicsResponse::status(
        v,
        TransactionPhase::Receipt,
        ReturnCode::DownloadPostprocessDone,
        ReturnCode::Ok,
    );
    let no_data = EbicsResponse::status(
        v,
        TransactionPhase::Initialisation,
        ReturnCode::Ok,
        ReturnCode::NoDownloadDataAvailable,
    );
    let auth_failed = EbicsResponse::status(
        v,
        TransactionPhase::Initialisation,
        ReturnCode::AuthenticationFailed,
        ReturnCode::Ok,
    );
    vec![
        (format!("{v}_response_download_init"), download_init),
        (format!("{v}_response_transfer"), transfer),
        (format!("{v}_response_upload_init"), upload_init),
        (format!("{v}_response_receipt"), receipt),
        (format!("{v}_response_no_data"), no_data),
        (format!("{v}_response_auth_failed"), auth_failed),
    ]
}

/// Every response of [`ebics_responses`] with its XML signed by the bank (X002).
pub fn signed_responses(version: ProtocolVersion) -> Vec<(String, EbicsResponse, Vec<u8>)> {
    with_xml(ebics_responses(version), |r| {
        r.to_signed_xml(bank_x002()).expect("signs")
    })
}

/// `ebicsKeyManagementResponse` samples.
pub fn key_management_responses(version: ProtocolVersion) -> Vec<(String, KeyManagementResponse)> {
    let ini_ok = KeyManagementResponse {
        version,
        order_id: Some(OrderId::new("A00B").expect("valid")),
        technical_return_code: ReturnCode::Ok,
        report_text: "[EBICS_OK] OK".into(),
        data_transfer: None,
        business_return_code: ReturnCode::Ok,
        timestamp_bank_parameter: None,
    };
    let hpb = KeyManagementResponse {
        version,
        order_id: None,
        technical_return_code: ReturnCode::Ok,
        report_text: "[EBICS_OK] OK".into(),
        data_transfer: Some(KeyManagementDataTransfer {
            data_encryption_info: data_encryption_info(),
            order_data: b"encrypted HPBResponseOrderData".to_vec(),
        }),
        business_return_code: ReturnCode::Ok,
        timestamp_bank_parameter: Some(timestamp()),
    };
    let rejected = KeyManagementResponse {
        version,
        order_id: None,
        technical_return_code: ReturnCode::InvalidUserOrUserState,
        report_text:
            "[EBICS_INVALID_USER_OR_USER_STATE] Subscriber unknown or subscriber state inadmissible"
                .into(),
        data_transfer: None,
        business_return_code: ReturnCode::Ok,
        timestamp_bank_parameter: None,
    };
    vec![
        (format!("{version}_keymgmt_ini_ok"), ini_ok),
        (format!("{version}_keymgmt_hpb"), hpb),
        (format!("{version}_keymgmt_rejected"), rejected),
    ]
}

/// Which schema validates a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    H004,
    H005,
    Hev,
}

/// One serialised message, signed where the message type is signed.
pub struct Sample {
    pub name: String,
    pub schema: Schema,
    pub xml: Vec<u8>,
    pub is_response: bool,
}

fn schema_of(v: ProtocolVersion) -> Schema {
    match v {
        ProtocolVersion::H005 => Schema::H005,
        _ => Schema::H004,
    }
}

/// Every message Kontor builds, serialised (built once, shared by every test).
pub fn all_samples() -> &'static [Sample] {
    static SAMPLES: OnceLock<Vec<Sample>> = OnceLock::new();
    SAMPLES.get_or_init(build_samples)
}

fn build_samples() -> Vec<Sample> {
    let mut out = Vec::new();
    for v in VERSIONS {
        let schema = schema_of(v);
        let mut add = |name: String, xml: Vec<u8>, is_response: bool| {
            out.push(Sample {
                name,
                schema,
                xml,
                is_response,
            })
        };
        for t in [OrderType::INI, OrderType::HIA, OrderType::H3K] {
            let xml = unsecured(v, t.clone())
                .to_xml()
                .expect("builds")
                .into_bytes();
            add(format!("{v}_{t}_unsecured"), xml, false);
        }
        let xml = hpb(v).to_signed_xml(client_x002()).expect("builds");
        add(format!("{v}_HPB"), xml, false);
        for (name, _, xml) in signed_requests(v) {
            add(name, xml, false);
        }
        for (name, _, xml) in signed_responses(v) {
            add(name, xml, true);
        }
        for (name, r) in key_management_responses(v) {
            add(name, r.to_xml().expect("builds").into_bytes(), true);
        }
    }
    out.push(Sample {
        name: "HEV_request".into(),
        schema: Schema::Hev,
        xml: HevRequest { host_id: host() }
            .to_xml()
            .expect("builds")
            .into_bytes(),
        is_response: false,
    });
    out.push(Sample {
        name: "HEV_response".into(),
        schema: Schema::Hev,
        xml: HevResponse {
            return_code: ReturnCode::Ok,
            report_text: "[EBICS_OK] OK".into(),
            versions: vec![
                HevVersion::for_protocol(ProtocolVersion::H004),
                HevVersion::for_protocol(ProtocolVersion::H005),
            ],
        }
        .to_xml()
        .expect("builds")
        .into_bytes(),
        is_response: true,
    });
    out
}
