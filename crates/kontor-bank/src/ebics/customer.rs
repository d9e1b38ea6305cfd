//! HPD, HKD, HTD and HAA: what the seed says about the bank, the customer, its subscribers and
//! what they may download, in the H004 or H005 dialect.
//!
//! HKD and HTD are built from the same pieces ([`partner_info`], [`user_info`]): HTD's
//! `PartnerInfo` equals HKD's, and HTD's `UserInfo` is HKD's entry for that subscriber.

use kontor_documents::Currency;
use kontor_protocol::order_type::{Direction, OrderType};
use kontor_protocol::orderdata::{
    AccessParams, AccountInfo, AccountNumber, AddressInfo, Amount, AuthOrderInfo, BankCode,
    BankInfo, HAAResponseOrderData, HKDResponseOrderData, HPDResponseOrderData,
    HTDResponseOrderData, HpdUrl, Parameter, PartnerInfo, Permission, ProtocolParams, TransferType,
    UserInfo, X509DataSupport,
};
use kontor_protocol::ProtocolVersion;

use super::orders::service_to_orderdata;
use super::reply::Reject;
use crate::config::{BankConfig, BtfDirection, PartnerConfig, PermissionConfig};
use crate::ids::{PartnerId, UserId};
use crate::return_codes::ReturnCode;
use crate::state::{BankState, SubscriberStatus};
use crate::statements::StatementKind;

/// `UserInfo/UserID/@Status` (bank-defined; these follow the common German convention).
fn status_code(status: SubscriberStatus) -> u8 {
    match status {
        SubscriberStatus::Ready => 1,
        SubscriberStatus::New => 2,
        SubscriberStatus::IniReceived | SubscriberStatus::HiaReceived => 3,
        SubscriberStatus::Initialised => 4,
        SubscriberStatus::Suspended => 8,
        SubscriberStatus::Locked => 9,
    }
}

fn internal(e: impl std::fmt::Display) -> Reject {
    Reject::new(ReturnCode::INTERNAL_ERROR, e.to_string())
}

fn partner_info(
    config: &BankConfig,
    partner: &PartnerConfig,
    version: ProtocolVersion,
) -> PartnerInfo {
    let accounts = config
        .accounts_of(&partner.id)
        .map(|a| AccountInfo {
            id: a.id.to_string(),
            currency: a.currency,
            description: None,
            account_numbers: vec![AccountNumber::iban(a.iban.electronic())],
            bank_codes: vec![BankCode::bic(a.bic.as_str())],
            account_holder: Some(a.holder.clone()),
            usage_order_types: Vec::new(),
            usage_services: Vec::new(),
        })
        .collect();
    let h004 = version == ProtocolVersion::H004;
    let mut order_infos = Vec::new();
    for code in &partner.order_types {
        let Ok(order_type) = OrderType::parse_lenient(code.as_str()) else {
            continue;
        };
        let emulator_only = super::orders::emulator_direction(code.as_str());
        let transfer_type = match order_type.direction().or(emulator_only) {
            Some(Direction::Upload) => TransferType::Upload,
            Some(Direction::Download) => TransferType::Download,
            // INI/HIA/H3K and unknown codes are not listed.
            _ => continue,
        };
        if matches!(order_type, OrderType::BTU | OrderType::BTD) {
            if h004 {
                continue;
            }
            let direction = if order_type == OrderType::BTU {
                BtfDirection::Upload
            } else {
                BtfDirection::Download
            };
            for offer in partner.btf.iter().filter(|o| o.direction == direction) {
                order_infos.push(AuthOrderInfo {
                    order_type: order_type.to_string(),
                    service: Some(service_to_orderdata(&offer.service)),
                    file_format: None,
                    transfer_type: None,
                    order_format: None,
                    description: format!(
                        "{} {}",
                        offer.service.service_name, offer.service.msg_name
                    ),
                    num_sig_required: None,
                });
            }
            continue;
        }
        if !h004 && (order_type.btf_service().is_some() || emulator_only.is_some()) {
            // H005 expresses business order types only as BTU/BTD services.
            continue;
        }
        order_infos.push(AuthOrderInfo {
            order_type: order_type.to_string(),
            service: None,
            file_format: None,
            transfer_type: h004.then_some(transfer_type),
            order_format: None,
            description: format!("{order_type}"),
            num_sig_required: None,
        });
    }
    PartnerInfo {
        address: AddressInfo {
            name: Some(partner.name.clone()),
            ..AddressInfo::default()
        },
        bank: BankInfo {
            host_id: config.bank.host_id.to_string(),
            parameters: limit_parameters(config),
        },
        accounts,
        order_infos,
    }
}

/// The bank's transfer limits as `BankInfo/Parameter`s. HPD has no element for them (its
/// `ProtocolParams` end in `any ##other`), so banks publish such values as free parameters of
/// the customer data; the names are the emulator's own.
fn limit_parameters(config: &BankConfig) -> Vec<Parameter> {
    let limit = |name: &str, value: u64| Parameter {
        name: name.to_owned(),
        value: value.to_string(),
        value_type: "long".to_owned(),
    };
    vec![
        limit("MaxSegmentSize", config.limits.segment_size_bytes as u64),
        limit("MaxUploadOrderDataSize", super::upload::ORDER_DATA_LIMIT),
        limit("MaxRequestSize", config.limits.max_request_bytes as u64),
    ]
}

/// HPD: the bank parameters — where and who the bank is, the protocol, authentication,
/// encryption and signature versions it accepts, and the optional features it offers
/// (EBICS 3.0 spec, section 9.2 "HPD"; `HPDResponseOrderDataType`).
pub fn hpd(
    config: &BankConfig,
    partner: &PartnerConfig,
    url: &str,
    version: ProtocolVersion,
) -> Result<Vec<u8>, Reject> {
    let offers = |code: &str| partner.order_types.iter().any(|t| t.as_str() == code);
    HPDResponseOrderData {
        version,
        access_params: AccessParams {
            urls: vec![HpdUrl {
                url: url.to_owned(),
                valid_from: None,
            }],
            institute: config.bank.name.chars().take(80).collect(),
            host_id: Some(config.bank.host_id.to_string()),
        },
        protocol_params: ProtocolParams {
            protocol_versions: config
                .bank
                .protocol_versions
                .iter()
                .map(|v| v.as_str().to_owned())
                .collect(),
            authentication_versions: vec!["X002".into()],
            encryption_versions: vec!["E002".into()],
            signature_versions: vec!["A005".into(), "A006".into()],
            // Download segments can be fetched again and upload segments re-sent, unless the
            // seed emulates a bank without recovery.
            recovery: Some(config.bank.recovery),
            // No order pre-validation: uploads are checked after their last segment.
            pre_validation: Some(false),
            // H004 INI/HIA take the keys as RSA values; certificates are not kept.
            x509_data: (version == ProtocolVersion::H004).then_some(X509DataSupport {
                supported: false,
                persistent: false,
            }),
            client_data_download: Some(offers("HKD") || offers("HTD")),
            downloadable_order_data: Some(offers("HAA")),
        },
    }
    .to_xml()
    .map_err(internal)
}

fn permissions(
    config: &BankConfig,
    partner: &PartnerConfig,
    permission: &PermissionConfig,
    version: ProtocolVersion,
) -> Vec<Permission> {
    let max_amount = permission.max_amount.map(|value| Amount {
        value,
        currency: Currency::EUR,
    });
    let accounts: Vec<Option<String>> = if permission.accounts.is_empty() {
        vec![None]
    } else {
        permission
            .accounts
            .iter()
            .map(|a| Some(a.to_string()))
            .collect()
    };
    let base = |order_types: Vec<String>, service, account_id: Option<String>| Permission {
        authorisation_level: Some(permission.authorisation_level.authorisation_level()),
        order_types,
        service,
        file_format: None,
        account_id,
        max_amount: max_amount.clone(),
    };
    let mut out = Vec::new();
    for account in accounts {
        if version == ProtocolVersion::H004 {
            let codes: Vec<String> = permission
                .order_types
                .iter()
                .map(ToString::to_string)
                .filter(|c| c != "BTU" && c != "BTD")
                .collect();
            if !codes.is_empty() {
                out.push(base(codes, None, account.clone()));
            }
            continue;
        }
        // H005: one admin order type (and service) per permission.
        for code in &permission.order_types {
            let Ok(order_type) = OrderType::parse_lenient(code.as_str()) else {
                continue;
            };
            if order_type.btf_service().is_some()
                || super::orders::emulator_direction(code.as_str()).is_some()
            {
                continue;
            }
            if matches!(order_type, OrderType::BTU | OrderType::BTD) {
                let direction = if order_type == OrderType::BTU {
                    BtfDirection::Upload
                } else {
                    BtfDirection::Download
                };
                for offer in partner.btf.iter().filter(|o| {
                    o.direction == direction
                        && (permission.services.is_empty()
                            || permission.services.contains(&o.service.service_name))
                }) {
                    out.push(base(
                        vec![code.to_string()],
                        Some(service_to_orderdata(&offer.service)),
                        account.clone(),
                    ));
                }
            } else {
                out.push(base(vec![code.to_string()], None, account.clone()));
            }
        }
    }
    let _ = config;
    out
}

fn user_info(
    config: &BankConfig,
    state: &BankState,
    partner: &PartnerConfig,
    user: &UserId,
    version: ProtocolVersion,
) -> UserInfo {
    let subscriber = state.subscriber(&partner.id, user);
    UserInfo {
        user_id: user.to_string(),
        status: subscriber.as_ref().map_or(2, |s| status_code(s.status)),
        name: subscriber.map(|s| s.name),
        permissions: config
            .permissions_of(&partner.id, user)
            .flat_map(|p| permissions(config, partner, p, version))
            .collect(),
    }
}

pub fn hkd(
    config: &BankConfig,
    state: &BankState,
    partner: &PartnerConfig,
    version: ProtocolVersion,
) -> Result<Vec<u8>, Reject> {
    let users: Vec<UserInfo> = config
        .users
        .iter()
        .filter(|u| u.partner == partner.id)
        .map(|u| user_info(config, state, partner, &u.id, version))
        .filter(|u| !u.permissions.is_empty())
        .collect();
    HKDResponseOrderData {
        version,
        partner_info: partner_info(config, partner, version),
        user_infos: users,
    }
    .to_xml()
    .map_err(internal)
}

pub fn htd(
    config: &BankConfig,
    state: &BankState,
    partner: &PartnerConfig,
    user: &UserId,
    version: ProtocolVersion,
) -> Result<Vec<u8>, Reject> {
    HTDResponseOrderData {
        version,
        partner_info: partner_info(config, partner, version),
        user_info: user_info(config, state, partner, user, version),
    }
    .to_xml()
    .map_err(internal)
}

/// HAA: the statement types the partner can download (the emulator always has statements).
pub fn haa(partner: &PartnerConfig, version: ProtocolVersion) -> Result<Vec<u8>, Reject> {
    let document = if version == ProtocolVersion::H004 {
        HAAResponseOrderData {
            version,
            order_types: partner
                .order_types
                .iter()
                .map(ToString::to_string)
                .filter(|c| StatementKind::for_order_type(c).is_some())
                .collect(),
            services: Vec::new(),
        }
    } else {
        HAAResponseOrderData {
            version,
            order_types: Vec::new(),
            services: partner
                .btf
                .iter()
                .filter(|o| {
                    o.direction == BtfDirection::Download
                        && StatementKind::for_message(&o.service.msg_name).is_some()
                })
                .map(|o| service_to_orderdata(&o.service))
                .collect(),
        }
    };
    document.to_xml().map_err(internal)
}

/// The partner of an authenticated subscriber (present: the seed is validated).
pub fn partner<'a>(config: &'a BankConfig, id: &PartnerId) -> Result<&'a PartnerConfig, Reject> {
    config
        .partner(id)
        .ok_or_else(|| Reject::new(ReturnCode::USER_UNKNOWN, format!("partner {id}")))
}
