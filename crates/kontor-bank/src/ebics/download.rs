//! Downloads: the payload of each order type, then compress → E002-encrypt → cut into
//! segments; the initialisation answer carries segment 1, transfers the others, the receipt
//! ends the transaction.

use kontor_protocol::compression;
use kontor_protocol::envelope::{
    DateRange, EbicsResponse, OrderParams, ResponseDataTransfer, SegmentNumber, TransactionPhase,
};
use kontor_protocol::order_type::ContainerType;
use kontor_protocol::ProtocolVersion;

use super::auth::{self, Caller};
use super::customer;
use super::orders::{self, ResolvedOrder};
use super::reply::{self, Reject};
use super::status;
use super::veu;
use super::wire_transaction_id;
use crate::container;
use crate::dispatch::RequestContext;
use crate::ids::AccountId;
use crate::payment_status;
use crate::return_codes::ReturnCode;
use crate::state::{orders::sha256_hex, ServedDownload, TransactionError};
use crate::statements::{self, StatementError, StatementKind, StatementQuery};
use kontor_documents::pain::PaymentKind;

pub fn tx_error(e: TransactionError) -> Reject {
    Reject::new(e.return_code(), e.to_string())
}

/// Ciphertext bytes per segment: `segment_size_bytes` is the base64 size EBICS limits.
fn raw_segment_size(ctx: &RequestContext) -> usize {
    (ctx.config.limits.segment_size_bytes / 4 * 3).max(3)
}

/// The plain order data of a download.
fn payload(
    ctx: &RequestContext,
    caller: &Caller,
    order: &ResolvedOrder,
    params: &OrderParams,
    version: ProtocolVersion,
) -> Result<Vec<u8>, Reject> {
    let kind = StatementKind::for_order_type(&order.classic).or_else(|| {
        order
            .msg_name
            .as_deref()
            .and_then(StatementKind::for_message)
    });
    if let Some(kind) = kind {
        let range = match params {
            OrderParams::Standard { date_range }
            | OrderParams::Btd { date_range, .. }
            | OrderParams::Fdl { date_range, .. } => *date_range,
            _ => None,
        };
        // H005 BTD: the request's `Container` decides; classic order types: the order type.
        let zipped = match params {
            OrderParams::Btd { service, .. } => service.container == Some(ContainerType::Zip),
            _ => StatementKind::zipped_by_order_type(&order.classic),
        };
        return statement(ctx, caller, order, kind, range, zipped);
    }
    let range = match params {
        OrderParams::Standard { date_range }
        | OrderParams::Btd { date_range, .. }
        | OrderParams::Fdl { date_range, .. } => date_range.map(|r| (r.start, r.end)),
        _ => None,
    };
    if let Some(kind) = payment_status_kind(order) {
        // CRZ/CDZ always come zipped (DK); BTD PSR as its `Container` asks.
        let zipped = match params {
            OrderParams::Btd { service, .. } => service.container == Some(ContainerType::Zip),
            _ => true,
        };
        return payment_statuses(ctx, caller, kind, range, zipped);
    }
    let is_status_report = order.classic == "HAC"
        || order
            .msg_name
            .as_deref()
            .is_some_and(|m| m.starts_with("pain.002"));
    if is_status_report {
        return status::hac(ctx, caller, range);
    }
    if order.classic == "PTK" {
        return status::ptk(ctx, caller, range);
    }
    let partner = customer::partner(&ctx.config, caller.partner())?;
    match (order.classic.as_str(), params) {
        ("HPD", _) => customer::hpd(&ctx.config, partner, &ctx.ebics_url(), version),
        ("HKD", _) => customer::hkd(&ctx.config, &ctx.state, partner, version),
        ("HTD", _) => customer::htd(&ctx.config, &ctx.state, partner, caller.user(), version),
        ("HAA", _) => customer::haa(partner, version),
        ("HVU", OrderParams::Hvu(filter)) => veu::hvu(ctx, caller, filter, version),
        ("HVZ", OrderParams::Hvz(filter)) => veu::hvz(ctx, caller, filter, version),
        ("HVD", OrderParams::Hvd(reference)) => veu::hvd(ctx, caller, reference, version),
        (
            "HVT",
            OrderParams::Hvt {
                order: reference,
                flags,
                ..
            },
        ) => veu::hvt(ctx, caller, reference, flags, version),
        ("HVU" | "HVZ" | "HVD" | "HVT", _) => Err(Reject::new(
            ReturnCode::INVALID_ORDER_PARAMS,
            format!("{} needs its own order parameters", order.classic),
        )),
        _ => Err(Reject::new(
            ReturnCode::NO_DOWNLOAD_DATA_AVAILABLE,
            format!("the emulator has no {} data", order.classic),
        )),
    }
}

/// The payment kind whose payment-level status reports an order fetches: `CRZ` (BTD
/// `PSR/DE/SCT`) credit transfers, `CDZ` (BTD `PSR/DE/SDD`) direct debits.
fn payment_status_kind(order: &ResolvedOrder) -> Option<PaymentKind> {
    match order.classic.as_str() {
        "CRZ" => Some(PaymentKind::CreditTransfer),
        "CDZ" => Some(PaymentKind::DirectDebit),
        _ => None,
    }
}

/// One pain.002 per payment message of the partner received in the range (all without one),
/// oldest first; in a ZIP container, or the single report as it is.
fn payment_statuses(
    ctx: &RequestContext,
    caller: &Caller,
    kind: PaymentKind,
    range: Option<(chrono::NaiveDate, chrono::NaiveDate)>,
    zipped: bool,
) -> Result<Vec<u8>, Reject> {
    let reports: Vec<(String, chrono::NaiveDate, Vec<u8>)> = ctx
        .state
        .received_orders()
        .into_iter()
        .filter(|o| o.partner_id == *caller.partner())
        .filter(|o| {
            range.is_none_or(|(start, end)| (start..=end).contains(&o.created_at.date_naive()))
        })
        .filter_map(|o| {
            let report = payment_status::report(&o, kind, &ctx.config.bank.name)?;
            let name = format!(
                "{}_{}_pain.002.xml",
                o.created_at.format("%Y-%m-%d"),
                o.order_id
            );
            Some((name, o.created_at.date_naive(), report))
        })
        .collect();
    match reports.as_slice() {
        [] => Err(Reject::new(
            ReturnCode::NO_DOWNLOAD_DATA_AVAILABLE,
            "no payment messages in the requested range",
        )),
        [(_, _, single)] if !zipped => Ok(single.clone()),
        _ if !zipped => Err(Reject::new(
            ReturnCode::INVALID_ORDER_PARAMS,
            "several payment status reports: ask for Container ZIP",
        )),
        _ => container::zip(
            reports.iter().map(|(name, date, data)| container::Member {
                name,
                date: *date,
                data,
            }),
            ctx.faults.zip_hostile,
        )
        .map_err(|e| Reject::new(ReturnCode::INTERNAL_ERROR, e.to_string())),
    }
}

/// The accounts a subscriber's permissions for this order cover (`None`: all of the partner's).
fn permitted_accounts(
    ctx: &RequestContext,
    caller: &Caller,
    order: &ResolvedOrder,
) -> Option<Vec<AccountId>> {
    let permissions: Vec<_> =
        orders::permissions(&ctx.config, caller.partner(), caller.user(), order).collect();
    if permissions.iter().any(|p| p.accounts.is_empty()) {
        return None;
    }
    Some(
        permissions
            .iter()
            .flat_map(|p| p.accounts.iter().cloned())
            .collect(),
    )
}

fn statement(
    ctx: &RequestContext,
    caller: &Caller,
    order: &ResolvedOrder,
    kind: StatementKind,
    range: Option<DateRange>,
    zipped: bool,
) -> Result<Vec<u8>, Reject> {
    let accounts = permitted_accounts(ctx, caller, order);
    let query = StatementQuery {
        partner: caller.partner(),
        accounts: accounts.as_deref(),
        kind,
        range: range.map(|r| (r.start, r.end)),
        today: ctx.received_at.date_naive(),
    };
    let no_statement = |e: StatementError| match e {
        StatementError::NoData => {
            Reject::new(ReturnCode::NO_DOWNLOAD_DATA_AVAILABLE, e.to_string())
        }
        other => Reject::new(ReturnCode::PROCESSING_ERROR, other.to_string()),
    };
    let entries_per_day = |a: &AccountId| ctx.state.entries_per_day(a);
    // The `nested_statement` fault replaces a statement that exists (permissions and data
    // checked as usual) by a hostile one.
    let nested = || {
        ctx.faults.nested_statement_depth.and_then(|depth| {
            statements::nested(kind, depth, ctx.received_at.naive_utc())
                .inspect(|_| tracing::info!(depth, "fault injection: nested statement delivered"))
        })
    };
    if !zipped {
        let document =
            statements::generate(&ctx.config, &query, &entries_per_day).map_err(no_statement)?;
        return Ok(nested().unwrap_or(document));
    }
    let mut members =
        statements::members(&ctx.config, &query, &entries_per_day).map_err(no_statement)?;
    if let Some(first) = members.first_mut() {
        if let Some(hostile) = nested() {
            first.document = hostile;
            members.truncate(1);
        }
    }
    if let Some(hostile) = ctx.faults.zip_hostile {
        tracing::info!(?hostile, "fault injection: hostile ZIP member delivered");
    }
    container::zip(&members, ctx.faults.zip_hostile)
        .map_err(|e| Reject::new(ReturnCode::INTERNAL_ERROR, e.to_string()))
}

/// Download initialisation: prepares all segments and answers with the first.
pub fn begin(
    ctx: &RequestContext,
    caller: &Caller,
    order: &ResolvedOrder,
    params: &OrderParams,
    version: ProtocolVersion,
) -> Result<EbicsResponse, Reject> {
    let plain = payload(ctx, caller, order, params, version)?;
    let compressed = compression::compress(&plain);
    let (info, ciphertext) = auth::encrypt_for_subscriber(caller, &compressed)?;
    drop(compressed);
    let segments: Vec<Vec<u8>> = ciphertext
        .chunks(raw_segment_size(ctx))
        .map(<[u8]>::to_vec)
        .collect();
    drop(ciphertext);
    let num_segments = u32::try_from(segments.len()).unwrap_or(u32::MAX);
    let now = ctx.received_at;
    let new = super::new_transaction(caller, version, &order.kind, None);
    let (id, first, last) = ctx
        .state
        .with_transactions(|table| {
            let id = table.begin_download(new, segments, now)?;
            let (first, last) =
                table.download_segment(&id, caller.partner(), caller.user(), 1, now)?;
            Ok((id, first, last))
        })
        .map_err(tx_error)?;
    ctx.state.record_served_download(ServedDownload {
        transaction_id: id,
        order_type: order.kind.order_type.to_string(),
        service: order.kind.service.clone(),
        partner_id: caller.partner().clone(),
        user_id: caller.user().clone(),
        size: plain.len(),
        sha256: sha256_hex(&plain),
        created_at: now,
    });
    tracing::info!(transaction = %id, order = %order.kind.order_type, bytes = plain.len(), num_segments, "download prepared");
    let mut response = reply::ok(version, TransactionPhase::Initialisation);
    response.transaction_id = Some(wire_transaction_id(id));
    response.num_segments = Some(num_segments);
    response.segment = Some(segment_number(1, last)?);
    response.data_transfer = Some(ResponseDataTransfer {
        data_encryption_info: Some(info),
        order_data: first,
    });
    Ok(response)
}

pub fn segment_number(number: u32, last: bool) -> Result<SegmentNumber, Reject> {
    SegmentNumber::new(number, last)
        .map_err(|e| Reject::new(ReturnCode::INTERNAL_ERROR, e.to_string()))
}

/// The OK answer to a Transfer request (upload or download) about segment `number` of
/// transaction `id`.
pub fn transfer_ok(
    version: ProtocolVersion,
    id: crate::ids::TransactionId,
    number: u32,
    last: bool,
) -> Result<EbicsResponse, Reject> {
    let mut response = reply::ok(version, TransactionPhase::Transfer);
    response.transaction_id = Some(wire_transaction_id(id));
    response.segment = Some(segment_number(number, last)?);
    Ok(response)
}

/// Download transfer: hands out segment `number` (again, if the client lost it).
pub fn transfer(
    ctx: &RequestContext,
    caller: &Caller,
    id: crate::ids::TransactionId,
    number: u32,
    version: ProtocolVersion,
) -> Result<EbicsResponse, Reject> {
    let (data, last) = ctx
        .state
        .with_transactions(|table| {
            table.download_segment(
                &id,
                caller.partner(),
                caller.user(),
                number,
                ctx.received_at,
            )
        })
        .map_err(tx_error)?;
    let mut response = transfer_ok(version, id, number, last)?;
    response.data_transfer = Some(ResponseDataTransfer {
        data_encryption_info: None,
        order_data: data,
    });
    Ok(response)
}

/// Receipt: ends the download (the data stays available; see [`crate::statements`]).
pub fn receipt(
    ctx: &RequestContext,
    caller: &Caller,
    id: crate::ids::TransactionId,
    acknowledged: bool,
    version: ProtocolVersion,
) -> Result<EbicsResponse, Reject> {
    let finished = ctx
        .state
        .with_transactions(|table| {
            table.finish_download(
                &id,
                caller.partner(),
                caller.user(),
                u8::from(!acknowledged),
            )
        })
        .map_err(tx_error)?;
    let code = finished.return_code();
    let mut response = reply::status(version, TransactionPhase::Receipt, &Reject::new(code, ""));
    response.transaction_id = Some(wire_transaction_id(id));
    Ok(response)
}
