//! The distributed signature (VEU): HVU/HVZ list the partner's orders awaiting signatures,
//! HVD/HVT describe one, HVE adds a verified signature, HVS cancels with a verified signature.
//!
//! Co-signers sign the same digest as the originator (SHA-256 of the order data, EBICS
//! normalised), which HVD and HVZ publish as `DataDigest`.

use std::num::{NonZeroU32, NonZeroU64};

use kontor_protocol::envelope::{HvListParams, HvOrderKind, HvOrderRef, HvtOrderFlags};
use kontor_protocol::order_type::{MessageName, OrderType};
use kontor_protocol::orderdata::{
    AccountNumber, AccountRole, AttributedAccount, AttributedAccountHolder,
    AttributedAccountNumber, AttributedBankCode, BankCode, DataDigest, DescriptionKind,
    HVDResponseOrderData, HVTAmount, HVTDescription, HVTOrderInfo, HVTResponseOrderData,
    HVUOrderDetails, HVUResponseOrderData, HVZOrderDetails, HVZResponseOrderData, HVZTotalAmount,
    OrderKind as WireOrderKind, OrderSignatureData, OriginatorInfo, PendingOrder, SignerInfo,
    SigningInfo,
};
use kontor_protocol::signature::order_data_digest;
use kontor_protocol::{ProtocolVersion, SignatureVersion};

use super::auth::Caller;
use super::orders::{service_to_orderdata, ResolvedOrder};
use super::reply::Reject;
use super::upload::SignerCheck;
use crate::config::BankConfig;
use crate::dispatch::RequestContext;
use crate::ids::{OrderId, PartnerId, UserId};
use crate::return_codes::ReturnCode;
use crate::state::{ReceivedOrder, VeuItem, VeuStatus};

fn internal(e: impl std::fmt::Display) -> Reject {
    Reject::new(ReturnCode::INTERNAL_ERROR, e.to_string())
}

/// The classic order type of a recorded order kind (BTU services map back via the offer).
fn classic_of(config: &BankConfig, partner: &PartnerId, item: &VeuItem) -> String {
    match &item.order.service {
        None => item.order.order_type.to_string(),
        Some(service) => config
            .partner(partner)
            .and_then(|p| p.btf.iter().find(|o| &o.service == service))
            .and_then(|o| o.classic.as_ref())
            .map_or_else(|| item.order.order_type.to_string(), ToString::to_string),
    }
}

fn wire_kind(config: &BankConfig, item: &VeuItem, version: ProtocolVersion) -> WireOrderKind {
    let classic = classic_of(config, &item.partner_id, item);
    if version == ProtocolVersion::H004 {
        return WireOrderKind::order_type(classic);
    }
    let service = match &item.order.service {
        Some(recorded) => Some(service_to_orderdata(recorded)),
        None => OrderType::parse_lenient(&classic)
            .ok()
            .and_then(|t| t.btf_service()),
    };
    match service {
        Some(service) => WireOrderKind::Service(service),
        None => WireOrderKind::order_type(classic),
    }
}

fn pending_items(ctx: &RequestContext, caller: &Caller, filter: &HvListParams) -> Vec<VeuItem> {
    ctx.state
        .veu_items()
        .into_iter()
        .filter(|v| &v.partner_id == caller.partner() && v.status == VeuStatus::Pending)
        .filter(|v| {
            let classic = classic_of(&ctx.config, &v.partner_id, v);
            let by_type = filter.order_types.is_empty()
                || filter.order_types.iter().any(|t| t.as_str() == classic);
            let by_service = filter.service_filters.is_empty()
                || filter.service_filters.iter().any(|f| {
                    let name = v
                        .order
                        .service
                        .as_ref()
                        .map(|s| s.service_name.clone())
                        .or_else(|| {
                            OrderType::parse_lenient(&classic)
                                .ok()
                                .and_then(|t| t.btf_service())
                                .map(|s| s.service_name)
                        });
                    f.service_name.is_none() || f.service_name == name
                });
            by_type && by_service
        })
        .collect()
}

fn order_of(ctx: &RequestContext, item: &VeuItem) -> Result<ReceivedOrder, Reject> {
    ctx.state
        .received_order(&item.partner_id, item.order_id)
        .ok_or_else(|| internal(format!("VEU item {} has no order", item.order_id)))
}

fn signers(ctx: &RequestContext, item: &VeuItem) -> Vec<SignerInfo> {
    item.signers
        .iter()
        .map(|s| SignerInfo {
            partner_id: item.partner_id.to_string(),
            user_id: s.user_id.to_string(),
            name: user_name(ctx, &item.partner_id, &s.user_id),
            timestamp: s.signed_at,
            authorisation_level: s.signature_class.authorisation_level(),
        })
        .collect()
}

fn signing_info(ctx: &RequestContext, caller: &Caller, item: &VeuItem) -> SigningInfo {
    let already = item.signers.iter().any(|s| &s.user_id == caller.user());
    let may_sign = ctx
        .config
        .permissions_of(caller.partner(), caller.user())
        .any(|p| {
            p.authorisation_level.is_bank_technical()
                && p.order_types.iter().any(|t| t.as_str() == "HVE")
        });
    SigningInfo {
        ready_to_be_signed: may_sign && !already,
        num_sig_required: NonZeroU32::new(u32::from(item.required_signatures.max(1)))
            .unwrap_or(NonZeroU32::MIN),
        num_sig_done: u32::try_from(item.signers.len()).unwrap_or(u32::MAX),
    }
}

fn originator(ctx: &RequestContext, item: &VeuItem) -> OriginatorInfo {
    OriginatorInfo {
        partner_id: item.partner_id.to_string(),
        user_id: item.originator.to_string(),
        name: user_name(ctx, &item.partner_id, &item.originator),
        timestamp: item.created_at,
    }
}

/// The seeded name of a signer or originator (HVU/HVD list it where the bank knows it).
fn user_name(ctx: &RequestContext, partner: &PartnerId, user: &UserId) -> Option<String> {
    ctx.config.user(partner, user).map(|u| u.name.clone())
}

fn size(order: &ReceivedOrder) -> NonZeroU64 {
    NonZeroU64::new(order.content.len() as u64).unwrap_or(NonZeroU64::MIN)
}

fn digest(order: &ReceivedOrder) -> DataDigest {
    DataDigest {
        signature_version: Some(SignatureVersion::A006),
        digest: order_data_digest(&order.content).to_vec(),
    }
}

/// One list entry per pending item the caller may see (HVU, HVZ); an empty list is
/// `EBICS_NO_DOWNLOAD_DATA_AVAILABLE` rather than an empty document (the schema wants at least
/// one `OrderDetails`).
fn pending_orders<T>(
    ctx: &RequestContext,
    caller: &Caller,
    filter: &HvListParams,
    version: ProtocolVersion,
    entry: impl Fn(PendingOrder, &VeuItem, &ReceivedOrder) -> T,
) -> Result<Vec<T>, Reject> {
    let orders = pending_items(ctx, caller, filter)
        .iter()
        .map(|item| {
            let order = order_of(ctx, item)?;
            let pending = PendingOrder {
                order: wire_kind(&ctx.config, item, version),
                order_id: item.order_id.to_string(),
                signing_info: signing_info(ctx, caller, item),
                signers: signers(ctx, item),
                originator: originator(ctx, item),
                additional_order_info: None,
            };
            Ok(entry(pending, item, &order))
        })
        .collect::<Result<Vec<_>, Reject>>()?;
    if orders.is_empty() {
        return Err(Reject::new(
            ReturnCode::NO_DOWNLOAD_DATA_AVAILABLE,
            "no orders await signatures",
        ));
    }
    Ok(orders)
}

pub fn hvu(
    ctx: &RequestContext,
    caller: &Caller,
    filter: &HvListParams,
    version: ProtocolVersion,
) -> Result<Vec<u8>, Reject> {
    let orders = pending_orders(ctx, caller, filter, version, |pending, _, order| {
        HVUOrderDetails {
            pending,
            order_data_size: size(order),
        }
    })?;
    HVUResponseOrderData { version, orders }
        .to_xml()
        .map_err(internal)
}

pub fn hvz(
    ctx: &RequestContext,
    caller: &Caller,
    filter: &HvListParams,
    version: ProtocolVersion,
) -> Result<Vec<u8>, Reject> {
    let orders = pending_orders(ctx, caller, filter, version, |pending, item, order| {
        let payments = kontor_documents::pain::parse_bytes(&order.content).ok();
        HVZOrderDetails {
            pending,
            data_digest: digest(order),
            order_data_available: true,
            order_data_size: size(order),
            order_details_available: payments.is_some(),
            total_orders: payments.as_ref().map(|p| p.number_of_transactions() as u64),
            total_amount: item.amount.map(|value| HVZTotalAmount {
                value,
                is_credit: None,
            }),
            currency: item.currency,
            first_order_info: None,
        }
    })?;
    HVZResponseOrderData { version, orders }
        .to_xml()
        .map_err(internal)
}

/// The VEU item a request refers to; only the caller's own partner's items are visible, and
/// the request must name the order as HVU/HVZ listed it: its order type (H004), or its service
/// with every listed part (H005; `HVRequestStructure` repeats the listing's `Service`), as a
/// bank that resolves the service to its own order type before the order ID needs it.
fn referenced(
    ctx: &RequestContext,
    caller: &Caller,
    reference: &HvOrderRef,
) -> Result<VeuItem, Reject> {
    let unknown = || {
        Reject::new(
            ReturnCode::ORDERID_UNKNOWN,
            format!(
                "order {} of {}",
                reference.order_id.as_str(),
                reference.partner_id.as_str()
            ),
        )
    };
    if reference.partner_id.as_str() != caller.partner().as_str() {
        return Err(unknown());
    }
    let order_id: OrderId = reference.order_id.as_str().parse().map_err(|_| unknown())?;
    let named_as_listed = |item: &VeuItem| match &reference.kind {
        HvOrderKind::OrderType { order_type, .. } => {
            classic_of(&ctx.config, &item.partner_id, item) == order_type.as_str()
        }
        HvOrderKind::Service(service) => matches!(
            wire_kind(&ctx.config, item, ProtocolVersion::H005),
            WireOrderKind::Service(listed) if listed == *service
        ),
    };
    ctx.state
        .veu_items()
        .into_iter()
        .find(|v| &v.partner_id == caller.partner() && v.order_id == order_id)
        .filter(named_as_listed)
        .ok_or_else(unknown)
}

/// The VEU item a request refers to, with its order.
fn referenced_order(
    ctx: &RequestContext,
    caller: &Caller,
    reference: &HvOrderRef,
) -> Result<(VeuItem, ReceivedOrder), Reject> {
    let item = referenced(ctx, caller, reference)?;
    let order = order_of(ctx, &item)?;
    Ok((item, order))
}

/// A readable summary of the order for the signer (`DisplayFile`).
fn display_file(order: &ReceivedOrder, item: &VeuItem) -> Vec<u8> {
    let mut text = format!(
        "Order {} ({}) from {}/{}\n",
        item.order_id, item.order.order_type, item.partner_id, item.originator
    );
    if let Ok(payments) = kontor_documents::pain::parse_bytes(&order.content) {
        let summary = payments.summary();
        text.push_str(&format!(
            "{} transactions, control sum {}\n",
            summary.number_of_transactions,
            summary.control_sum.as_decimal()
        ));
    }
    text.into_bytes()
}

pub fn hvd(
    ctx: &RequestContext,
    caller: &Caller,
    reference: &HvOrderRef,
    version: ProtocolVersion,
) -> Result<Vec<u8>, Reject> {
    let (item, order) = referenced_order(ctx, caller, reference)?;
    HVDResponseOrderData {
        version,
        data_digest: digest(&order),
        display_file: display_file(&order, &item),
        order_data_available: true,
        order_data_size: size(&order),
        order_details_available: true,
        signers: signers(ctx, &item),
    }
    .to_xml()
    .map_err(internal)
}

/// HVT: the transactions of a VEU order (paged by `fetchOffset`/`fetchLimit`), or with
/// `completeOrderData` the order file itself.
pub fn hvt(
    ctx: &RequestContext,
    caller: &Caller,
    reference: &HvOrderRef,
    flags: &HvtOrderFlags,
    version: ProtocolVersion,
) -> Result<Vec<u8>, Reject> {
    let (_, order) = referenced_order(ctx, caller, reference)?;
    if flags.complete_order_data {
        return Ok(order.content);
    }
    let payments = kontor_documents::pain::parse_bytes(&order.content).map_err(|e| {
        Reject::new(
            ReturnCode::UNSUPPORTED_REQUEST_FOR_ORDER_INSTANCE,
            format!("no transaction details: {e}"),
        )
    })?;
    let credit = payments.kind() == kontor_documents::pain::PaymentKind::DirectDebit;
    // `pain.001` of `urn:iso:std:iso:20022:tech:xsd:pain.001.001.03`: the OrderFormat (H004) or
    // MsgName (H005) of every transaction.
    let short_name: String = payments
        .version
        .namespace()
        .rsplit(':')
        .next()
        .unwrap_or("pain")
        .chars()
        .take(8)
        .collect();
    let mut infos = Vec::new();
    for info in &payments.payment_infos {
        for tx in &info.transactions {
            let account = |party: &kontor_documents::pain::AccountParty, role| AttributedAccount {
                currency: tx.currency,
                description: None,
                account_numbers: vec![AttributedAccountNumber {
                    number: AccountNumber::iban(compact(party.iban.as_ref())),
                    role,
                    description: None,
                }],
                bank_codes: party
                    .bic
                    .iter()
                    .map(|bic| AttributedBankCode {
                        code: BankCode::bic(bic.to_string()),
                        role,
                        description: None,
                    })
                    .collect(),
                account_holder: Some(AttributedAccountHolder {
                    name: party.name.clone(),
                    role,
                    description: None,
                }),
            };
            infos.push(HVTOrderInfo {
                order_format: (version == ProtocolVersion::H004).then(|| short_name.clone()),
                msg_name: (version != ProtocolVersion::H004).then(|| MessageName::new(&short_name)),
                accounts: vec![
                    account(&info.account, AccountRole::Originator),
                    account(&tx.counterparty, AccountRole::Recipient),
                ],
                execution_date: Some(info.requested_date),
                amount: HVTAmount {
                    value: tx.amount.as_decimal(),
                    is_credit: Some(credit),
                    currency: Some(tx.currency),
                },
                descriptions: tx
                    .remittance
                    .iter()
                    .map(|text| HVTDescription {
                        kind: DescriptionKind::Purpose,
                        text: text.clone(),
                    })
                    .collect(),
            });
        }
    }
    let total = infos.len() as u64;
    let offset = usize::try_from(flags.fetch_offset).unwrap_or(usize::MAX);
    let limit = match flags.fetch_limit {
        0 => usize::MAX,
        n => usize::try_from(n).unwrap_or(usize::MAX),
    };
    let page: Vec<HVTOrderInfo> = infos.into_iter().skip(offset).take(limit).collect();
    if page.is_empty() {
        return Err(Reject::new(
            ReturnCode::NO_DOWNLOAD_DATA_AVAILABLE,
            "no transactions at this offset",
        ));
    }
    HVTResponseOrderData {
        version,
        num_order_infos: total,
        order_infos: page,
    }
    .to_xml()
    .map_err(internal)
}

fn compact(iban: &str) -> String {
    iban.chars().filter(|c| !c.is_whitespace()).collect()
}

/// HVE (sign) or HVS (cancel) of the referenced order, with the caller's verified signature
/// over the order's data. Returns the order id.
pub fn sign_or_cancel(
    ctx: &RequestContext,
    caller: &Caller,
    cancel: bool,
    reference: &HvOrderRef,
    signatures: &[OrderSignatureData],
) -> Result<OrderId, Reject> {
    let (item, order) = referenced_order(ctx, caller, reference)?;
    let signature = signatures
        .iter()
        .find(|s| s.partner_id == caller.partner().as_str() && s.user_id == caller.user().as_str())
        .ok_or_else(|| {
            Reject::new(
                ReturnCode::SIGNER_UNKNOWN,
                "the request carries no signature of the requesting subscriber",
            )
        })?;
    let classic = classic_of(&ctx.config, &item.partner_id, &item);
    let resolved = ResolvedOrder {
        kind: item.order.clone(),
        classic,
        msg_name: item.order.service.as_ref().map(|s| s.msg_name.clone()),
        direction: kontor_protocol::order_type::Direction::Upload,
    };
    // The co-signer's own limits apply as to the first signer: the accounts its permission
    // covers (091302 EBICS_ACCOUNT_AUTHORISATION_FAILED) and its amount limit (091303
    // EBICS_AMOUNT_CHECK_FAILED), EBICS Annex 1 return codes. A class-B signer limited to
    // 100 000 on one account must not release 200 000 from another.
    let payments = super::upload::payments(ctx, &item.partner_id, &resolved, &order.content)?;
    let check = SignerCheck::new(ctx, &resolved, &order.content)?.with_payments(payments);
    let class = check.verify(signature)?;
    let now = ctx.received_at;
    let result = if cancel {
        ctx.state
            .cancel_veu(&item.partner_id, item.order_id, caller.user())
    } else {
        ctx.state.sign_veu(
            &item.partner_id,
            item.order_id,
            caller.user().clone(),
            class,
            now,
        )
    };
    let status = result.map_err(|e| Reject::new(e.return_code(), e.to_string()))?;
    tracing::info!(order = %item.order_id, user = %caller.user(), ?status, "distributed signature step");
    Ok(item.order_id)
}
