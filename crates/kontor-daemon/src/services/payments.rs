//! JSON payments: a payment described field by field becomes a pain.001 or pain.008 built by
//! `kontor-documents` ([`PaymentRequest::check`], [`pain::build`]) and then an order through
//! the one creation path, [`create_order`] (idempotency, the bank's offer, permissions), so it
//! is signed, submitted and completed like an uploaded file.
//!
//! Idempotency: the message id and creation time are part of the file, so a retry with the
//! same `Idempotency-Key` rebuilds the file with the header of the order the key created; the
//! same request then has the same content hash and is answered with that order, and another
//! request with that key is refused by [`create_order`].

use chrono::Utc;
use kontor_documents::pain::request::{
    CheckedPayment, MessageContext, PaymentRequest, RequestErrors, Scheme,
};
use kontor_documents::pain::{self, PainError, PaymentOrder};
use kontor_documents::status_report::{OrderStatus as ReportStatus, TransactionStatusEntry};
use kontor_documents::{Amount, Currency};
use kontor_protocol::order_type::OrderType;
use kontor_storage::{
    EbicsUserId, NewTransferStatus, Order, OrderStatus, ScopedTx, SignatureRule, StorageError,
    Store, TenantScope, TransferStatus,
};
use serde::Serialize;

use super::orders::{create_order, order_content, CreateOrder, Created, OrderError};
use crate::ebics::Files;

/// Why a JSON payment did not become an order.
#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    /// Fields the caller must correct; nothing was stored.
    #[error(transparent)]
    Invalid(#[from] RequestErrors),
    /// A checked payment that the builder refused: a gap between the two sets of rules.
    #[error("the payment could not be built: {0}")]
    Unbuildable(#[from] PainError),
    #[error(transparent)]
    Order(#[from] OrderError),
}

impl From<StorageError> for PaymentError {
    fn from(error: StorageError) -> Self {
        Self::Order(error.into())
    }
}

/// A JSON payment to create.
#[derive(Debug, Clone)]
pub struct NewPayment {
    pub user: EbicsUserId,
    pub request: PaymentRequest,
    pub signature_rule: SignatureRule,
    pub idempotency_key: Option<String>,
}

/// A created payment order (or the one an earlier request with the same key created).
#[derive(Debug, Clone)]
pub struct CreatedPayment {
    pub created: Created,
    pub scheme: Scheme,
    /// The built message (`GrpHdr/MsgId`).
    pub message_id: String,
    /// The EBICS order data digest signers sign, lower-case hex.
    pub order_data_digest: String,
}

/// The EBICS order type a scheme is sent with (DK Anlage 3): on an EBICS 3.0 host
/// [`create_order`] sends it as BTU with the type's BTF service (SCT, SCI, SDD/COR, SDD/B2B).
fn order_type(scheme: Scheme) -> Result<OrderType, OrderError> {
    Ok(match scheme {
        Scheme::Sct => OrderType::CCT,
        Scheme::SctInst => OrderType::CIP,
        Scheme::SddCore => OrderType::CDD,
        Scheme::SddB2b => OrderType::other("CDB")?,
    })
}

/// Checks the request, builds its message in the version the user's bank speaks and creates
/// the order from it through [`create_order`] (its file kept by `files`).
pub async fn create_payment(
    store: &Store,
    files: &Files,
    scope: &TenantScope,
    new: NewPayment,
) -> Result<CreatedPayment, PaymentError> {
    let context = {
        let mut tx = store.scope(scope).read().await?;
        let host = tx.ebics_users().at_host(new.user).await?.host;
        let earlier = match &new.idempotency_key {
            Some(key) => tx.orders().find_by_idempotency_key(key).await?,
            None => None,
        };
        message_context(files, &mut tx, earlier, host.protocol_version.uses_btf()).await?
    };
    let CheckedPayment { scheme, order } = new.request.check(&context)?;
    let content = pain::build(&order)?.into_bytes();
    let order_data_digest = hex::encode(kontor_protocol::signature::order_data_digest(&content));
    let created = create_order(
        store,
        files,
        scope,
        CreateOrder {
            user: new.user,
            content,
            signature_rule: new.signature_rule,
            idempotency_key: new.idempotency_key,
            order_type: Some(order_type(scheme)?),
            service: None,
        },
    )
    .await?;
    Ok(CreatedPayment {
        created,
        scheme,
        message_id: order.message_id,
        order_data_digest,
    })
}

/// A fresh message id and time, or those of the order an earlier request with the same key
/// created (so that the same request builds the same file).
async fn message_context(
    files: &Files,
    tx: &mut ScopedTx<'_>,
    earlier: Option<Order>,
    ebics_3: bool,
) -> Result<MessageContext, PaymentError> {
    let now = Utc::now();
    let mut context = MessageContext {
        // Max35Text; unique per message (DK: MsgId unique for at least 15 days).
        message_id: format!("K{}", uuid::Uuid::now_v7().simple()).to_ascii_uppercase(),
        created: now.naive_utc().with_nanosecond_truncated(),
        today: now.date_naive(),
        ebics_3,
    };
    if let Some(earlier) = earlier {
        let content = order_content(files, tx, &earlier).await?;
        if let Ok(document) = pain::parse_bytes(&content) {
            context.message_id = document.message_id;
            context.created = document.created;
        }
    }
    Ok(context)
}

/// Seconds precision, as `CreDtTm` carries it.
trait TruncateNanos {
    fn with_nanosecond_truncated(self) -> Self;
}

impl TruncateNanos for chrono::NaiveDateTime {
    fn with_nanosecond_truncated(self) -> Self {
        use chrono::Timelike;
        self.with_nanosecond(0).unwrap_or(self)
    }
}

/// One transfer of a payment order and the bank's word on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct TransferView {
    pub end_to_end_id: String,
    pub amount: Amount,
    pub currency: Currency,
    /// The creditor of a transfer, the debtor of a direct debit.
    pub counterparty_name: String,
    pub counterparty_iban: String,
    pub status: TransferStatus,
    /// The bank's ISO status reason code, e.g. `AC04`.
    pub reason_code: Option<String>,
    /// `transaction` when the bank's report listed this transfer, `order` when its status is
    /// the order's.
    pub status_source: &'static str,
}

/// The transfers of a payment order with their status: what the bank's last status report
/// said about each (by end-to-end id), else the order's own state.
pub async fn transfers(
    files: &Files,
    tx: &mut ScopedTx<'_>,
    order: &Order,
) -> Result<(PaymentOrder, Vec<TransferView>), OrderError> {
    let content = order_content(files, tx, order).await?;
    let document = pain::parse_bytes(&content)?;
    let reported: std::collections::HashMap<String, _> = tx
        .payment_transfers()
        .list_for_order(order.id)
        .await?
        .into_iter()
        .map(|r| (r.end_to_end_id.clone(), r))
        .collect();
    let (order_status, order_reason) = order_level_status(order);
    let views = document
        .transactions()
        .map(|t| {
            let (status, reason_code, source) = match reported.get(&t.end_to_end_id) {
                Some(r) => (r.status, r.reason_code.clone(), "transaction"),
                None => (order_status, order_reason.clone(), "order"),
            };
            TransferView {
                end_to_end_id: t.end_to_end_id.clone(),
                amount: t.amount,
                currency: t.currency,
                counterparty_name: t.counterparty.name.clone(),
                counterparty_iban: t.counterparty.iban.electronic().to_owned(),
                status,
                reason_code,
                status_source: source,
            }
        })
        .collect();
    Ok((document, views))
}

/// A transfer's status when the bank did not report it alone: the order's.
fn order_level_status(order: &Order) -> (TransferStatus, Option<String>) {
    match order.status {
        OrderStatus::Completed => (TransferStatus::Accepted, None),
        OrderStatus::Rejected | OrderStatus::Cancelled => (
            TransferStatus::Rejected,
            order.bank_return_code.as_ref().map(ToString::to_string),
        ),
        _ => (TransferStatus::Pending, None),
    }
}

/// Records the per-transfer statuses a status report gives for an order (nothing when it
/// lists none).
pub(crate) async fn record_transfer_statuses(
    tx: &mut ScopedTx<'_>,
    order: &Order,
    reported: &[TransactionStatusEntry],
) -> Result<(), StorageError> {
    if reported.is_empty() {
        return Ok(());
    }
    let statuses: Vec<NewTransferStatus> = reported
        .iter()
        .map(|t| NewTransferStatus {
            end_to_end_id: t.end_to_end_id.clone(),
            status: match t.status {
                ReportStatus::Accepted => TransferStatus::Accepted,
                ReportStatus::Rejected => TransferStatus::Rejected,
                ReportStatus::Pending => TransferStatus::Pending,
            },
            reason_code: t.reason_code.clone(),
        })
        .collect();
    tx.payment_transfers().record(order.id, &statuses).await
}
