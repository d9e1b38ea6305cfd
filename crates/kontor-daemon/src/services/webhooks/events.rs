//! The `data` of each webhook event type, built in one place. Every function writes through
//! the caller's scoped transaction ([`kontor_storage::Webhooks::emit`]): call it in the
//! transaction of the state change, never after its commit, so the event commits with the
//! change or not at all.
//!
//! For producers added elsewhere (bank key rollover, certificate expiry, ...): pick or add a
//! [`WebhookEventType`] and call [`emit`] (or a typed helper here) in the same transaction.

use kontor_storage::{
    EbicsUser, EbicsUserId, Order, OrderId, ScopedTx, StorageError, Transaction, TransactionId,
    VeuItem, VeuItemId, WebhookEventType,
};
use serde_json::{json, Value};

/// Records `event_type` with `data` for every subscription that wants it.
pub async fn emit(
    tx: &mut ScopedTx<'_>,
    event_type: WebhookEventType,
    data: Value,
) -> Result<(), StorageError> {
    tx.webhooks().emit(event_type, data).await.map(|_| ())
}

/// `order.created|signed|submitted|completed|rejected`: the order as it is now.
pub async fn order(
    tx: &mut ScopedTx<'_>,
    event_type: WebhookEventType,
    id: OrderId,
) -> Result<(), StorageError> {
    let order: Order = tx.get(id).await?;
    let data = json!({
        "order_id": order.id,
        "ebics_user_id": order.ebics_user_id,
        "order_type": order.order_type.to_string(),
        "btf_service": order.btf_service,
        "status": order.status,
        "bank_order_id": order.bank_order_id,
        "amount_total": order.amount_total,
        "currency": order.currency,
        "bank_return_code": order.bank_return_code,
        "bank_return_text": order.bank_return_text,
    });
    emit(tx, event_type, data).await
}

/// `veu.signature_needed|executed|cancelled`: the VEU item as it is now.
pub async fn veu_item(
    tx: &mut ScopedTx<'_>,
    event_type: WebhookEventType,
    id: VeuItemId,
) -> Result<(), StorageError> {
    let item: VeuItem = tx.get(id).await?;
    let data = json!({
        "veu_item_id": item.id,
        "connection_id": item.connection_id,
        "bank_order_id": item.bank_order_id,
        "order_type": item.order_type,
        "status": item.status,
        "signatures_collected": item.signatures_collected,
        "signatures_required": item.signatures_required,
        "amount": item.amount,
        "currency": item.currency,
    });
    emit(tx, event_type, data).await
}

/// `user.ready|suspended|locked`: the EBICS user as it is now.
pub async fn user(
    tx: &mut ScopedTx<'_>,
    event_type: WebhookEventType,
    id: EbicsUserId,
) -> Result<(), StorageError> {
    let user: EbicsUser = tx.get(id).await?;
    let data = json!({
        "ebics_user_id": user.id,
        "connection_id": user.connection_id,
        "user_id": user.user_id,
        "status": user.status,
    });
    emit(tx, event_type, data).await
}

/// `transaction.failed`: a transfer that ended FAILED, with the bank's (or Kontor's) code.
pub async fn transaction_failed(
    tx: &mut ScopedTx<'_>,
    id: TransactionId,
) -> Result<(), StorageError> {
    let transaction: Transaction = tx.get(id).await?;
    let data = json!({
        "transaction_id": transaction.id,
        "ebics_user_id": transaction.ebics_user_id,
        "order_type": transaction.order_type,
        "order_id": transaction.order_id,
        "direction": transaction.direction,
        "failure_code": transaction.failure_code,
        "failure_text": transaction.failure_text,
    });
    emit(tx, WebhookEventType::TransactionFailed, data).await
}
