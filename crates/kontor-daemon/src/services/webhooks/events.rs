//! The `data` of each webhook event type, built in one place. Every function writes through
//! the caller's scoped transaction ([`kontor_storage::Webhooks::emit`]): call it in the
//! transaction of the state change, never after its commit, so the event commits with the
//! change or not at all.
//!
//! `user.ready|suspended|locked` and `transaction.failed` are written by the storage layer
//! itself (`EbicsUsers::set_status`, `Transactions::set_phase`): every such change passes
//! there. For producers added elsewhere (bank key rollover, certificate expiry, ...): pick or
//! add a [`WebhookEventType`] and call [`emit`] (or a typed helper here) in the same
//! transaction as the change.

use kontor_storage::{
    Order, OrderId, ScopedTx, StorageError, VeuItem, VeuItemId, WebhookEventType,
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
        "order_type": item.order_type.label(),
        "btf_service": item.order_type.btf_service(),
        "status": item.status,
        "signatures_collected": item.signatures_collected,
        "signatures_required": item.signatures_required,
        "amount": item.amount,
        "currency": item.currency,
    });
    emit(tx, event_type, data).await
}
