//! Order status downloads: HAC (pain.002 customer status report; H005: BTD service `PSR`,
//! message `pain.002`) and PTK (the same as a plain-text protocol).
//!
//! Both list the orders the bank received from the caller's partner (all users), oldest first,
//! with their current status: accepted (executed), rejected (with the reason; also orders the
//! bank rejected after acceptance, see `POST /admin/orders/{partner}/{order_id}/reject`),
//! pending (waiting for VEU signatures), cancelled in the VEU (rejected, `DS02`).
//!
//! Selection: with a date range, the orders received on those (UTC) days; without one, every
//! order of the partner. Fetching does not consume anything (like statements), so the same
//! state and request give the same bytes; the document's timestamp is that of the newest
//! listed order, never the clock. Nothing to list → 090005.

use std::fmt::Write as _;

use chrono::NaiveDate;
use kontor_documents::status_report::{
    self, OrderStatus as ReportStatus, OrderStatusEntry, TransactionStatusEntry,
};
use sha2::{Digest as _, Sha256};

use super::auth::Caller;
use super::reply::Reject;
use crate::dispatch::RequestContext;
use crate::return_codes::ReturnCode;
use crate::state::{OrderStatus, ReceivedOrder};

/// DK status reason code "order cancelled" (used for orders cancelled in the VEU).
const REASON_CANCELLED: &str = "DS02";

fn listed_orders(
    ctx: &RequestContext,
    caller: &Caller,
    range: Option<(NaiveDate, NaiveDate)>,
) -> Result<Vec<ReceivedOrder>, Reject> {
    let orders: Vec<ReceivedOrder> = ctx
        .state
        .received_orders()
        .into_iter()
        .filter(|o| &o.partner_id == caller.partner())
        .filter(|o| {
            range.is_none_or(|(start, end)| (start..=end).contains(&o.created_at.date_naive()))
        })
        .collect();
    if orders.is_empty() {
        return Err(Reject::new(
            ReturnCode::NO_DOWNLOAD_DATA_AVAILABLE,
            "no orders in the requested range",
        ));
    }
    Ok(orders)
}

/// `CCT`, or `BTU SCT` for H005 uploads.
fn order_label(order: &ReceivedOrder) -> String {
    match &order.order.service {
        Some(service) => format!("{} {}", order.order.order_type, service.service_name),
        None => order.order.order_type.to_string(),
    }
}

/// Status, reason code and reason text of an order as the bank reports it.
fn reported(order: &ReceivedOrder) -> (ReportStatus, Option<String>, String) {
    match order.status {
        OrderStatus::Accepted => (ReportStatus::Accepted, None, "accepted".to_owned()),
        OrderStatus::AwaitingSignatures => (
            ReportStatus::Pending,
            None,
            "awaiting further signatures (VEU)".to_owned(),
        ),
        OrderStatus::Rejected => (
            ReportStatus::Rejected,
            order.status_reason_code.clone(),
            format!(
                "rejected: {}",
                order.status_reason.as_deref().unwrap_or("no reason given")
            ),
        ),
        OrderStatus::Cancelled => (
            ReportStatus::Rejected,
            Some(REASON_CANCELLED.to_owned()),
            "cancelled in the VEU".to_owned(),
        ),
    }
}

fn reason_code_of(order: &ReceivedOrder) -> Option<String> {
    reported(order).1
}

/// Each transaction of a payment order with the order's status (or its own rejection at
/// execution), by end-to-end id, as the pain.002 `TxInfAndSts` carries it (empty for orders
/// that are no payment messages).
fn transactions(
    order: &ReceivedOrder,
    status: ReportStatus,
    reason_code: Option<String>,
) -> Vec<TransactionStatusEntry> {
    let Ok(document) = kontor_documents::pain::parse_bytes(&order.content) else {
        return Vec::new();
    };
    document
        .transactions()
        .map(
            |tx| match order.rejected_transactions.get(&tx.end_to_end_id) {
                Some(code) => TransactionStatusEntry {
                    end_to_end_id: tx.end_to_end_id.clone(),
                    status: ReportStatus::Rejected,
                    reason_code: Some(code.clone()),
                },
                None => TransactionStatusEntry {
                    end_to_end_id: tx.end_to_end_id.clone(),
                    status,
                    reason_code: reason_code.clone(),
                },
            },
        )
        .collect()
}

/// Deterministic, yet different whenever a listed status changes (a client that skips reports
/// it has seen must not miss a later rejection). Max35Text.
fn message_id(caller: &Caller, orders: &[ReceivedOrder]) -> String {
    let mut digest = Sha256::new();
    digest.update(caller.partner().to_string());
    for order in orders {
        let (status, code, text) = reported(order);
        digest.update(format!(
            "\n{}|{}|{}|{text}",
            order.order_id,
            status.code(),
            code.unwrap_or_default()
        ));
    }
    format!("HAC-{}", &hex::encode(digest.finalize())[..24])
}

/// The HAC document (pain.002.001.03).
pub fn hac(
    ctx: &RequestContext,
    caller: &Caller,
    range: Option<(NaiveDate, NaiveDate)>,
) -> Result<Vec<u8>, Reject> {
    let orders = listed_orders(ctx, caller, range)?;
    let newest = orders
        .iter()
        .map(|o| o.created_at)
        .max()
        .unwrap_or_default();
    let report = status_report::StatusReport {
        message_id: message_id(caller, &orders),
        created: newest.naive_utc(),
        initiating_party: Some(ctx.config.bank.name.clone()),
        original_message_id: "HAC".to_owned(),
        original_message_name: "pain.002".to_owned(),
        orders: orders
            .iter()
            .map(|order| {
                let (status, reason_code, text) = reported(order);
                OrderStatusEntry {
                    order_id: order.order_id.to_string(),
                    order_type: Some(order.order.order_type.to_string()),
                    status,
                    reason_code,
                    reason_text: Some(format!(
                        "Order type {}, order id {}: {text}",
                        order_label(order),
                        order.order_id
                    )),
                    timestamp: Some(order.created_at.naive_utc()),
                    transactions: transactions(order, status, reason_code_of(order)),
                }
            })
            .collect(),
    };
    Ok(status_report::build(&report).into_bytes())
}

/// The PTK customer protocol: one line per order.
pub fn ptk(
    ctx: &RequestContext,
    caller: &Caller,
    range: Option<(NaiveDate, NaiveDate)>,
) -> Result<Vec<u8>, Reject> {
    let orders = listed_orders(ctx, caller, range)?;
    let mut text = format!(
        "{} - customer protocol for partner {}\n",
        ctx.config.bank.name,
        caller.partner()
    );
    for order in &orders {
        let (status, reason_code, detail) = reported(order);
        let status = match status {
            ReportStatus::Accepted => "ACCEPTED",
            ReportStatus::Rejected => "REJECTED",
            ReportStatus::Pending => "PENDING",
        };
        let _ = writeln!(
            text,
            "{} {} order {} by {}: {status}{} {detail}",
            order.created_at.format("%Y-%m-%d %H:%M:%S"),
            order_label(order),
            order.order_id,
            order.user_id,
            reason_code.map(|c| format!(" ({c})")).unwrap_or_default(),
        );
    }
    Ok(text.into_bytes())
}
