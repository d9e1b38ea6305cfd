//! One fully populated model of every order-data document per protocol version, bank-style
//! samples, and helpers that treat every document type uniformly.

pub mod samples;

use std::fmt::Debug;
use std::num::{NonZeroU32, NonZeroU64};
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use kontor_documents::Currency;
use kontor_protocol::order_type::{BtfService, ContainerType, MessageName};
use kontor_protocol::orderdata::*;
use kontor_protocol::{
    AuthenticationVersion, EncryptionVersion, ProtocolVersion, SignatureVersion,
};
use rust_decimal::Decimal;

use super::VERSIONS;

pub fn ts(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 17, h, m, 0).unwrap()
}

pub fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn h004(v: ProtocolVersion) -> bool {
    v == ProtocolVersion::H004
}

/// Deterministic pseudo-random bytes (stand-ins for keys, certificates and signatures: the
/// order-data layer treats them as opaque).
pub fn bytes(seed: u8, len: usize) -> Vec<u8> {
    let mut state = u32::from(seed).wrapping_mul(2_654_435_761).wrapping_add(1);
    let mut out: Vec<u8> = (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 8) as u8
        })
        .collect();
    if let Some(first) = out.first_mut() {
        *first |= 0x80; // no leading zero octet, so CryptoBinary round-trips byte for byte
    }
    out
}

pub fn rsa_key(seed: u8) -> RsaKeyValue {
    RsaKeyValue {
        modulus: bytes(seed, 256),
        exponent: vec![1, 0, 1],
    }
}

pub fn x509(seed: u8) -> X509Data {
    X509Data {
        issuer_serial: Some(X509IssuerSerial {
            issuer_name: "CN=Kontor Test CA,O=Kontor,C=DE".into(),
            serial_number: format!("{}", 4_711 + u32::from(seed)),
        }),
        subject_name: Some(format!("CN=USER{seed},O=Kontor,C=DE")),
        certificate: bytes(seed.wrapping_add(100), 700),
    }
}

/// The key as the version transports it: RSA key (+ certificate) in H004, certificate in H005.
pub fn key(v: ProtocolVersion, seed: u8) -> PublicKeyData {
    if h004(v) {
        PublicKeyData::Rsa {
            key: rsa_key(seed),
            timestamp: Some(ts(8, 0)),
            x509: if seed.is_multiple_of(2) {
                Some(x509(seed))
            } else {
                None
            },
        }
    } else {
        PublicKeyData::Certificate(x509(seed))
    }
}

pub fn service_sct() -> BtfService {
    BtfService {
        service_name: "SCT".into(),
        scope: Some("DE".into()),
        service_option: None,
        container: None,
        message: MessageName {
            name: "pain.001".into(),
            variant: Some("001".into()),
            version: Some("09".into()),
            format: Some("XML".into()),
        },
    }
}

pub fn service_stm() -> BtfService {
    BtfService {
        service_name: "EOP".into(),
        scope: Some("DE".into()),
        service_option: None,
        container: Some(ContainerType::Zip),
        message: MessageName::new("camt.053"),
    }
}

pub fn order_kind(v: ProtocolVersion) -> OrderKind {
    if h004(v) {
        OrderKind::OrderType {
            order_type: "FUL".into(),
            file_format: Some(FileFormat {
                format: "pain.001.001.03".into(),
                country_code: Some("DE".into()),
            }),
        }
    } else {
        OrderKind::Service(service_sct())
    }
}

// ---------------------------------------------------------------------------------------------
// Key management
// ---------------------------------------------------------------------------------------------

pub fn ini(v: ProtocolVersion) -> SignaturePubKeyOrderData {
    SignaturePubKeyOrderData {
        version: v,
        signature_pub_key_info: PubKeyInfo {
            key: key(v, 2),
            version: SignatureVersion::A006,
        },
        partner_id: "PARTNER1".into(),
        user_id: "USER0001".into(),
    }
}

pub fn hia(v: ProtocolVersion) -> HIARequestOrderData {
    HIARequestOrderData {
        version: v,
        authentication: PubKeyInfo {
            key: key(v, 3),
            version: AuthenticationVersion::X002,
        },
        encryption: PubKeyInfo {
            key: key(v, 4),
            version: EncryptionVersion::E002,
        },
        partner_id: "PARTNER1".into(),
        user_id: "USER0001".into(),
    }
}

pub fn hca(v: ProtocolVersion) -> HCARequestOrderData {
    let h = hia(v);
    HCARequestOrderData {
        version: v,
        authentication: h.authentication,
        encryption: h.encryption,
        partner_id: h.partner_id,
        user_id: h.user_id,
    }
}

pub fn hcs(v: ProtocolVersion) -> HCSRequestOrderData {
    let h = hia(v);
    HCSRequestOrderData {
        version: v,
        authentication: h.authentication,
        encryption: h.encryption,
        signature: PubKeyInfo {
            key: key(v, 6),
            version: SignatureVersion::A005,
        },
        partner_id: h.partner_id,
        user_id: h.user_id,
    }
}

pub fn h3k(v: ProtocolVersion) -> H3KRequestOrderData {
    H3KRequestOrderData {
        version: v,
        signature: CertificateInfo {
            x509: x509(7),
            version: SignatureVersion::A006,
        },
        authentication: CertificateInfo {
            x509: X509Data::from_certificate(bytes(8, 600)),
            version: AuthenticationVersion::X002,
        },
        encryption: CertificateInfo {
            x509: x509(9),
            version: EncryptionVersion::E002,
        },
        partner_id: "PARTNER1".into(),
        user_id: "USER0001".into(),
    }
}

pub fn hpb(v: ProtocolVersion) -> HPBResponseOrderData {
    HPBResponseOrderData {
        version: v,
        authentication: PubKeyInfo {
            key: key(v, 10),
            version: AuthenticationVersion::X002,
        },
        encryption: PubKeyInfo {
            key: key(v, 11),
            version: EncryptionVersion::E002,
        },
        host_id: "KONTORBANK".into(),
    }
}

pub fn user_signature(v: ProtocolVersion) -> UserSignatureData {
    UserSignatureData {
        version: v,
        signatures: vec![
            OrderSignatureData {
                signature_version: SignatureVersion::A006,
                signature_value: bytes(12, 256),
                partner_id: "PARTNER1".into(),
                user_id: "USER0001".into(),
                x509: None,
            },
            OrderSignatureData {
                signature_version: SignatureVersion::A005,
                signature_value: bytes(13, 256),
                partner_id: "PARTNER1".into(),
                user_id: "USER0002".into(),
                x509: Some(x509(13)),
            },
        ],
    }
}

// ---------------------------------------------------------------------------------------------
// HKD / HTD
// ---------------------------------------------------------------------------------------------

pub fn partner_info(v: ProtocolVersion) -> PartnerInfo {
    let h004 = h004(v);
    let main_account = AccountInfo {
        id: "ACC-1".into(),
        currency: Currency::EUR,
        description: Some("Main operating account".into()),
        account_numbers: vec![
            AccountNumber::iban("DE89370400440532013000"),
            AccountNumber::Standard {
                number: "532013000".into(),
                international: false,
            },
        ],
        bank_codes: vec![
            BankCode::bic("COBADEFFXXX"),
            BankCode::Standard {
                code: "37040044".into(),
                international: false,
                prefix: Some("DE".into()),
            },
        ],
        account_holder: Some("Kontor Treasury GmbH".into()),
        usage_order_types: if h004 {
            vec!["CCT".into(), "C53".into()]
        } else {
            vec![]
        },
        usage_services: if h004 {
            vec![]
        } else {
            vec![service_sct(), service_stm()]
        },
    };
    let usd_account = AccountInfo {
        id: "ACC-2".into(),
        currency: Currency::USD,
        description: None,
        account_numbers: vec![AccountNumber::National {
            number: "0012-3456789".into(),
            format: "other".into(),
        }],
        bank_codes: if h004 {
            vec![BankCode::National {
                code: "026009593".into(),
                format: "ABA".into(),
            }]
        } else {
            vec![]
        },
        account_holder: None,
        usage_order_types: vec![],
        usage_services: vec![],
    };
    let order_infos = if h004 {
        vec![
            AuthOrderInfo {
                order_type: "CCT".into(),
                service: None,
                file_format: None,
                transfer_type: Some(TransferType::Upload),
                order_format: Some("pain.001".into()),
                description: "SEPA credit transfer".into(),
                num_sig_required: Some(2),
            },
            AuthOrderInfo {
                order_type: "FDL".into(),
                service: None,
                file_format: Some(FileFormat {
                    format: "camt.xxx.cfonb120.stm".into(),
                    country_code: Some("FR".into()),
                }),
                transfer_type: Some(TransferType::Download),
                order_format: None,
                description: "Statements (CFONB)".into(),
                num_sig_required: None,
            },
        ]
    } else {
        vec![
            AuthOrderInfo {
                order_type: "BTU".into(),
                service: Some(service_sct()),
                file_format: None,
                transfer_type: None,
                order_format: None,
                description: "SEPA credit transfer".into(),
                num_sig_required: Some(2),
            },
            AuthOrderInfo {
                order_type: "HKD".into(),
                service: None,
                file_format: None,
                transfer_type: None,
                order_format: None,
                description: "Customer and subscriber data".into(),
                num_sig_required: Some(0),
            },
        ]
    };
    PartnerInfo {
        address: AddressInfo {
            name: Some("Kontor Treasury GmbH".into()),
            street: Some("Hauptstraße 1".into()),
            post_code: Some("60311".into()),
            city: Some("Frankfurt am Main".into()),
            region: None,
            country: Some("DE".into()),
        },
        bank: BankInfo {
            host_id: "KONTORBANK".into(),
            parameters: vec![Parameter {
                name: "SEPA.AllowInstant".into(),
                value: "true".into(),
                value_type: "boolean".into(),
            }],
        },
        accounts: vec![main_account, usd_account],
        order_infos,
    }
}

pub fn user_info(v: ProtocolVersion, user: &str) -> UserInfo {
    let h004 = h004(v);
    let signing = Permission {
        authorisation_level: Some(AuthorisationLevel::A),
        order_types: if h004 {
            vec!["CCT".into(), "CDD".into()]
        } else {
            vec!["BTU".into()]
        },
        service: if h004 { None } else { Some(service_sct()) },
        file_format: None,
        account_id: Some("ACC-1".into()),
        max_amount: Some(Amount {
            value: dec("250000.00"),
            currency: Currency::EUR,
        }),
    };
    let download = Permission {
        authorisation_level: None,
        order_types: if h004 {
            vec!["FDL".into()]
        } else {
            vec!["BTD".into()]
        },
        service: if h004 { None } else { Some(service_stm()) },
        file_format: if h004 {
            Some(FileFormat {
                format: "camt.xxx.cfonb120.stm".into(),
                country_code: None,
            })
        } else {
            None
        },
        account_id: None,
        max_amount: None,
    };
    UserInfo {
        user_id: user.into(),
        status: 1,
        name: Some("Erika Mustermann".into()),
        permissions: vec![signing, download],
    }
}

pub fn hkd(v: ProtocolVersion) -> HKDResponseOrderData {
    HKDResponseOrderData {
        version: v,
        partner_info: partner_info(v),
        user_infos: vec![user_info(v, "USER0001"), user_info(v, "USER0002")],
    }
}

pub fn htd(v: ProtocolVersion) -> HTDResponseOrderData {
    HTDResponseOrderData {
        version: v,
        partner_info: partner_info(v),
        user_info: user_info(v, "USER0001"),
    }
}

// ---------------------------------------------------------------------------------------------
// HAA / HPD
// ---------------------------------------------------------------------------------------------

pub fn haa(v: ProtocolVersion) -> HAAResponseOrderData {
    if h004(v) {
        HAAResponseOrderData {
            version: v,
            order_types: vec!["C53".into(), "C54".into(), "PTK".into()],
            services: vec![],
        }
    } else {
        HAAResponseOrderData {
            version: v,
            order_types: vec![],
            services: vec![service_stm(), service_sct()],
        }
    }
}

pub fn hpd(v: ProtocolVersion) -> HPDResponseOrderData {
    HPDResponseOrderData {
        version: v,
        access_params: AccessParams {
            urls: vec![
                HpdUrl {
                    url: "https://ebics.kontorbank.example/ebicsweb".into(),
                    valid_from: None,
                },
                HpdUrl {
                    url: "https://ebics2.kontorbank.example/ebicsweb".into(),
                    valid_from: Some(ts(0, 0)),
                },
            ],
            institute: "Kontor Bank AG".into(),
            host_id: Some("KONTORBANK".into()),
        },
        protocol_params: ProtocolParams {
            protocol_versions: vec!["H004".into(), "H005".into()],
            authentication_versions: vec!["X002".into()],
            encryption_versions: vec!["E002".into()],
            signature_versions: vec!["A005".into(), "A006".into()],
            recovery: Some(true),
            pre_validation: Some(false),
            x509_data: if h004(v) {
                Some(X509DataSupport {
                    supported: true,
                    persistent: false,
                })
            } else {
                None
            },
            client_data_download: Some(true),
            downloadable_order_data: Some(true),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// VEU
// ---------------------------------------------------------------------------------------------

pub fn veu_ref(v: ProtocolVersion) -> VeuOrderRef {
    VeuOrderRef {
        partner_id: "PARTNER1".into(),
        order: order_kind(v),
        order_id: "A1B2".into(),
    }
}

pub fn hvu_params(v: ProtocolVersion) -> HVUOrderParams {
    if h004(v) {
        HVUOrderParams {
            version: v,
            order_types: vec!["CCT".into(), "CDD".into()],
            service_filters: vec![],
        }
    } else {
        HVUOrderParams {
            version: v,
            order_types: vec![],
            service_filters: vec![
                ServiceFilter {
                    service_name: Some("SCT".into()),
                    ..ServiceFilter::default()
                },
                ServiceFilter::from(service_stm()),
            ],
        }
    }
}

pub fn hvz_params(v: ProtocolVersion) -> HVZOrderParams {
    let p = hvu_params(v);
    HVZOrderParams {
        version: v,
        order_types: p.order_types,
        service_filters: p.service_filters,
    }
}

pub fn hvd_params(v: ProtocolVersion) -> HVDOrderParams {
    HVDOrderParams {
        version: v,
        order: veu_ref(v),
    }
}

pub fn hve_params(v: ProtocolVersion) -> HVEOrderParams {
    HVEOrderParams {
        version: v,
        order: veu_ref(v),
    }
}

pub fn hvs_params(v: ProtocolVersion) -> HVSOrderParams {
    HVSOrderParams {
        version: v,
        order: VeuOrderRef {
            partner_id: "PARTNER1".into(),
            order: if h004(v) {
                OrderKind::order_type("CCT")
            } else {
                OrderKind::Service(service_sct())
            },
            order_id: "Z999".into(),
        },
    }
}

pub fn hvt_params(v: ProtocolVersion) -> HVTOrderParams {
    HVTOrderParams {
        version: v,
        order: veu_ref(v),
        complete_order_data: false,
        fetch_limit: 100,
        fetch_offset: 0,
        parameters: vec![Parameter {
            name: "Sort".into(),
            value: "Amount".into(),
            value_type: "string".into(),
        }],
    }
}

pub fn hvs_order_data(v: ProtocolVersion) -> HVSRequestOrderData {
    HVSRequestOrderData {
        version: v,
        cancelled_data_digest: DataDigest {
            signature_version: Some(SignatureVersion::A006),
            digest: bytes(20, 32),
        },
    }
}

pub fn signer(user: &str, level: AuthorisationLevel) -> SignerInfo {
    SignerInfo {
        partner_id: "PARTNER1".into(),
        user_id: user.into(),
        name: Some("Max Mustermann".into()),
        timestamp: ts(9, 15),
        authorisation_level: level,
    }
}

pub fn originator() -> OriginatorInfo {
    OriginatorInfo {
        partner_id: "PARTNER1".into(),
        user_id: "USER0003".into(),
        name: None,
        timestamp: ts(8, 45),
    }
}

pub fn signing_info() -> SigningInfo {
    SigningInfo {
        ready_to_be_signed: true,
        num_sig_required: NonZeroU32::new(2).unwrap(),
        num_sig_done: 1,
    }
}

pub fn hvu(v: ProtocolVersion) -> HVUResponseOrderData {
    HVUResponseOrderData {
        version: v,
        orders: vec![
            HVUOrderDetails {
                pending: PendingOrder {
                    order: order_kind(v),
                    order_id: "A1B2".into(),
                    signing_info: signing_info(),
                    signers: vec![signer("USER0002", AuthorisationLevel::A)],
                    originator: originator(),
                    additional_order_info: if h004(v) {
                        None
                    } else {
                        Some("Salaries May 2024".into())
                    },
                },
                order_data_size: NonZeroU64::new(12_345).unwrap(),
            },
            HVUOrderDetails {
                pending: PendingOrder {
                    order: if h004(v) {
                        OrderKind::order_type("CDD")
                    } else {
                        OrderKind::Service(service_stm())
                    },
                    order_id: "C3D4".into(),
                    signing_info: SigningInfo {
                        ready_to_be_signed: false,
                        num_sig_required: NonZeroU32::new(1).unwrap(),
                        num_sig_done: 0,
                    },
                    signers: vec![],
                    originator: originator(),
                    additional_order_info: None,
                },
                order_data_size: NonZeroU64::new(1).unwrap(),
            },
        ],
    }
}

pub fn hvz(v: ProtocolVersion) -> HVZResponseOrderData {
    HVZResponseOrderData {
        version: v,
        orders: vec![HVZOrderDetails {
            pending: PendingOrder {
                order: order_kind(v),
                order_id: "A1B2".into(),
                signing_info: signing_info(),
                signers: vec![
                    signer("USER0002", AuthorisationLevel::A),
                    signer("USER0004", AuthorisationLevel::T),
                ],
                originator: originator(),
                additional_order_info: if h004(v) {
                    None
                } else {
                    Some("Salaries".into())
                },
            },
            data_digest: DataDigest {
                signature_version: Some(SignatureVersion::A006),
                digest: bytes(21, 32),
            },
            order_data_available: true,
            order_data_size: NonZeroU64::new(12_345).unwrap(),
            order_details_available: true,
            total_orders: Some(3),
            total_amount: Some(HVZTotalAmount {
                value: dec("1234.56"),
                is_credit: Some(false),
            }),
            currency: Some(Currency::EUR),
            first_order_info: Some(FirstOrderInfo {
                order_party_info: Some("Kontor Treasury GmbH".into()),
                account: Some(FirstOrderAccount {
                    account_numbers: vec![AccountNumber::iban("DE89370400440532013000")],
                    bank_codes: vec![BankCode::bic("COBADEFFXXX")],
                }),
            }),
        }],
    }
}

pub fn hvd(v: ProtocolVersion) -> HVDResponseOrderData {
    HVDResponseOrderData {
        version: v,
        data_digest: DataDigest {
            signature_version: Some(SignatureVersion::A005),
            digest: bytes(22, 32),
        },
        display_file: "Auftragsart: CCT\nAnzahl: 3\nSumme: 1.234,56 EUR\n"
            .as_bytes()
            .to_vec(),
        order_data_available: true,
        order_data_size: NonZeroU64::new(12_345).unwrap(),
        order_details_available: false,
        signers: vec![signer("USER0002", AuthorisationLevel::E)],
    }
}

fn attributed_account(role: AccountRole, iban: &str, bic: &str, holder: &str) -> AttributedAccount {
    AttributedAccount {
        currency: Currency::EUR,
        description: None,
        account_numbers: vec![AttributedAccountNumber {
            number: AccountNumber::iban(iban),
            role,
            description: None,
        }],
        bank_codes: vec![AttributedBankCode {
            code: BankCode::bic(bic),
            role,
            description: Some("BIC".into()),
        }],
        account_holder: Some(AttributedAccountHolder {
            name: holder.into(),
            role,
            description: None,
        }),
    }
}

pub fn hvt(v: ProtocolVersion) -> HVTResponseOrderData {
    let info = |amount: &str, purpose: &str| HVTOrderInfo {
        order_format: if h004(v) {
            Some("pain.001".into())
        } else {
            None
        },
        msg_name: if h004(v) {
            None
        } else {
            Some(MessageName {
                name: "pain.001".into(),
                variant: None,
                version: Some("09".into()),
                format: None,
            })
        },
        accounts: vec![
            attributed_account(
                AccountRole::Originator,
                "DE89370400440532013000",
                "COBADEFFXXX",
                "Kontor Treasury GmbH",
            ),
            attributed_account(
                AccountRole::Recipient,
                "FR1420041010050500013M02606",
                "BNPAFRPPXXX",
                "Fournisseur SARL",
            ),
        ],
        execution_date: NaiveDate::from_ymd_opt(2024, 5, 21),
        amount: HVTAmount {
            value: dec(amount),
            is_credit: Some(false),
            currency: Some(Currency::EUR),
        },
        descriptions: vec![HVTDescription {
            kind: DescriptionKind::Purpose,
            text: purpose.into(),
        }],
    };
    HVTResponseOrderData {
        version: v,
        num_order_infos: 3,
        order_infos: vec![
            info("1000.00", "Invoice 2024-17"),
            info("234.56", "Invoice 2024-18 & 19 <final>"),
        ],
    }
}

// ---------------------------------------------------------------------------------------------
// Uniform access
// ---------------------------------------------------------------------------------------------

/// Which schema validates a document: the EBICS orders schema or the signature schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaFamily {
    Orders,
    Signature,
}

/// `doc` serialised, labelled with its root element and the schema family that validates it.
fn labelled<D: OrderDataDocument>(
    family: SchemaFamily,
    doc: D,
) -> (&'static str, SchemaFamily, Vec<u8>) {
    (D::root_element(), family, doc.to_xml().unwrap())
}

/// Every fixture of `v` serialised: (root element, schema family, XML bytes).
pub fn all_xml(v: ProtocolVersion) -> Vec<(&'static str, SchemaFamily, Vec<u8>)> {
    use SchemaFamily::*;
    vec![
        labelled(Signature, ini(v)),
        labelled(Signature, user_signature(v)),
        labelled(Orders, hia(v)),
        labelled(Orders, hca(v)),
        labelled(Orders, hcs(v)),
        labelled(Orders, h3k(v)),
        labelled(Orders, hpb(v)),
        labelled(Orders, hkd(v)),
        labelled(Orders, htd(v)),
        labelled(Orders, haa(v)),
        labelled(Orders, hpd(v)),
        labelled(Orders, hvu_params(v)),
        labelled(Orders, hvz_params(v)),
        labelled(Orders, hvd_params(v)),
        labelled(Orders, hve_params(v)),
        labelled(Orders, hvs_params(v)),
        labelled(Orders, hvt_params(v)),
        labelled(Orders, hvs_order_data(v)),
        labelled(Orders, hvu(v)),
        labelled(Orders, hvz(v)),
        labelled(Orders, hvd(v)),
        labelled(Orders, hvt(v)),
    ]
}

/// Something done with each order-data document type (see [`for_every_document_type`]).
pub trait DocumentTypeVisitor {
    fn visit<D: OrderDataDocument + PartialEq + Debug>(&mut self);
}

/// Calls `visitor` once for every order-data document type of the module.
pub fn for_every_document_type(visitor: &mut impl DocumentTypeVisitor) {
    visitor.visit::<SignaturePubKeyOrderData>();
    visitor.visit::<UserSignatureData>();
    visitor.visit::<HIARequestOrderData>();
    visitor.visit::<HCARequestOrderData>();
    visitor.visit::<HCSRequestOrderData>();
    visitor.visit::<H3KRequestOrderData>();
    visitor.visit::<HPBResponseOrderData>();
    visitor.visit::<HKDResponseOrderData>();
    visitor.visit::<HTDResponseOrderData>();
    visitor.visit::<HAAResponseOrderData>();
    visitor.visit::<HPDResponseOrderData>();
    visitor.visit::<HVUOrderParams>();
    visitor.visit::<HVZOrderParams>();
    visitor.visit::<HVDOrderParams>();
    visitor.visit::<HVEOrderParams>();
    visitor.visit::<HVSOrderParams>();
    visitor.visit::<HVTOrderParams>();
    visitor.visit::<HVSRequestOrderData>();
    visitor.visit::<HVUResponseOrderData>();
    visitor.visit::<HVZResponseOrderData>();
    visitor.visit::<HVDResponseOrderData>();
    visitor.visit::<HVTResponseOrderData>();
}

/// Feeds `xml` to every parser of the module. Whatever a parser accepts is written back and,
/// when that succeeds, must parse to the same model again. Returns how many parsers accepted
/// the input. Never panics unless a parser or writer misbehaves.
pub fn parse_with_every_parser(xml: &[u8]) -> usize {
    struct EveryParser<'a> {
        xml: &'a [u8],
        accepted: usize,
    }
    impl DocumentTypeVisitor for EveryParser<'_> {
        fn visit<D: OrderDataDocument + PartialEq + Debug>(&mut self) {
            let Ok(doc) = D::parse(self.xml) else {
                return;
            };
            self.accepted += 1;
            if let Ok(rewritten) = doc.to_xml() {
                let again = D::parse(&rewritten);
                assert!(
                    again.as_ref() == Ok(&doc),
                    "{} accepted input that does not survive a rewrite:\ninput: {}\nrewritten: {}\nreparsed: {:?}",
                    std::any::type_name::<D>(),
                    String::from_utf8_lossy(self.xml),
                    String::from_utf8_lossy(&rewritten),
                    again.err()
                );
            }
        }
    }
    let mut parser = EveryParser { xml, accepted: 0 };
    for_every_document_type(&mut parser);
    parser.accepted
}

/// Every valid input the tests know: fixtures of both versions and the bank-style samples.
pub fn corpus() -> Vec<Vec<u8>> {
    let mut all: Vec<Vec<u8>> = VERSIONS
        .into_iter()
        .flat_map(all_xml)
        .map(|(_, _, xml)| xml)
        .collect();
    all.extend(
        samples::all()
            .into_iter()
            .map(|s| s.xml.as_bytes().to_vec()),
    );
    all
}
