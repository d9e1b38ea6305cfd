//! Submission of a SIGNED order: exactly one upload, whoever calls and however often.
//!
//! # Why a payment is never uploaded twice
//!
//! 1. **Claim** before anything is sent: SIGNED -> SUBMITTED with a compare-and-set on status
//!    *and* content hash (`orders.claim_submission`), leasing the attempt to a claim token made
//!    fresh for this one call. Of any number of concurrent requests, retries or daemon
//!    instances exactly one wins: the token belongs to a call, never to a process, so a second
//!    request in the same process is as much a stranger to the attempt as another instance.
//! 2. **Upload** through the EBICS client, which persists its transaction linked to the order
//!    *before* it sends the first request, and keeps the transaction's phase current.
//! 3. **Record** the bank's order id: SUBMITTED -> PROCESSING (or REJECTED).
//!
//! A retry of a SUBMITTED order (after a crash, from another instance, or a client repeating
//! the request) never uploads blindly. It reconciles:
//!
//! - The order has an upload transaction: the data may be at the bank, so nothing is sent.
//!   COMPLETED: the bank took it; its order id is read back ([`OrderUploader::reconcile`]) and
//!   the order moves to PROCESSING. FAILED: the bank's code decides REJECTED (or the bank is
//!   asked). Unfinished: the EBICS client's transaction recovery resumes it (resuming re-sends
//!   segments of the *same* bank transaction, which a bank executes at most once).
//! - No upload transaction: nothing was sent, because the EBICS client persists the transaction
//!   before sending. The attempt may still be running, though (between claim and that first
//!   write), so the retry uploads only after taking over the attempt's lease, which a live
//!   attempt holds for [`Submitter::lease_for`] (minutes, against milliseconds of local work).
//!
//! So a second upload would need a second claim, or a takeover while the first attempt is both
//! alive and has not written its transaction after a whole lease: the compare-and-sets rule
//! out the first, the lease length the second.
//!
//! Settling does not depend on the submitting call surviving: the upload transaction carries
//! the effect `SETTLE_ORDER`, and whoever sees it end (the call, recovery, or the effect sweep
//! after a crash) records the bank's answer with [`settle`] in the same database transaction
//! that marks the effect done.

use std::future::Future;

use chrono::Utc;
use kontor_protocol::orderdata::OrderSignatureData;
use kontor_protocol::return_code::ReturnCode;
use kontor_storage::{
    Order, OrderId, OrderStatus, ResultCode, ScopedTx, StorageError, Store, StoredFile,
    TenantScope, Transaction, TransactionId, TransactionPhase, WebhookEventType,
};

use super::{order_signatures, OrderError};
use crate::ebics::{upload_receipt, BankRejection, EbicsError, UploadRequest};
use crate::services::bank::{AsUser, Bank};
use crate::services::webhooks::events;

/// What the bank said when it took an upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadReceipt {
    /// The persisted transaction that carried the upload.
    pub transaction: TransactionId,
    pub bank_order_id: Option<String>,
    pub return_code: String,
}

/// Why an upload did not complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadFailure {
    /// The bank refused the order (a permanent EBICS or business return code).
    Rejected {
        transaction: Option<TransactionId>,
        code: ResultCode,
        text: String,
    },
    /// The upload stopped where the bank may or may not hold the data (e.g. the answer to the
    /// last segment was lost). The transaction stays for recovery; do not upload again.
    Uncertain(String),
    /// Nothing reached the bank's order processing: the host's bank keys await an operator's
    /// verification (refused before sending, or the bank answered 091008 at initialisation).
    /// The order stays SUBMITTED without a lease, and a later submission uploads it.
    Held(String),
}

/// The EBICS side of submission (the client's `upload`), behind a trait so the state handling
/// is testable alone.
///
/// Contract: `upload` persists its transaction, linked to the order (`transactions.order_id`),
/// before it sends anything, and keeps that transaction's phase current; an upload that may
/// have reached the bank is resumed, never started again (the client's recovery does this).
pub trait OrderUploader: Send + Sync {
    /// Uploads the order's stored payment file `content` with the collected `signatures`
    /// (the file is read as a stream, never whole).
    fn upload(
        &self,
        scope: &TenantScope,
        order: &Order,
        content: StoredFile,
        signatures: Vec<OrderSignatureData>,
    ) -> impl Future<Output = Result<UploadReceipt, UploadFailure>> + Send;

    /// The bank's receipt of a finished transaction (from the persisted transaction, or by
    /// asking the bank, e.g. HAC/PTK). `None` when the bank does not know the order.
    ///
    /// By default the EBICS client's: it keeps the bank's order id in the transaction's
    /// recovery record.
    fn reconcile(
        &self,
        _scope: &TenantScope,
        _order: &Order,
        transaction: &Transaction,
    ) -> impl Future<Output = Result<Option<UploadReceipt>, UploadFailure>> + Send {
        let receipt = upload_receipt(transaction).map(|bank_order_id| UploadReceipt {
            transaction: transaction.id,
            bank_order_id,
            return_code: "000000".into(),
        });
        std::future::ready(Ok(receipt))
    }
}

/// Every [`Bank`] uploads orders: the EBICS client persists its transaction (linked with
/// `for_order`) before the first request, which is the contract [`submit`] relies on.
impl<B: Bank + ?Sized> OrderUploader for B {
    async fn upload(
        &self,
        scope: &TenantScope,
        order: &Order,
        content: StoredFile,
        signatures: Vec<OrderSignatureData>,
    ) -> Result<UploadReceipt, UploadFailure> {
        let mut request =
            UploadRequest::new(order.order_type.clone(), content, signatures).for_order(order.id);
        if let Some(service) = &order.btf_service {
            request = request.with_service(service.clone());
        }
        match Bank::upload(
            self,
            AsUser {
                scope,
                user: order.ebics_user_id,
            },
            request,
        )
        .await
        {
            Ok(outcome) => Ok(UploadReceipt {
                transaction: outcome.transaction,
                bank_order_id: outcome.bank_order_id,
                return_code: outcome.return_code,
            }),
            Err(EbicsError::Bank {
                rejection,
                transaction,
                ..
            }) => Err(UploadFailure::Rejected {
                transaction,
                code: rejection.code,
                text: rejection.text,
            }),
            Err(held @ EbicsError::BankKeysNotVerified { .. }) => {
                Err(UploadFailure::Held(held.to_string()))
            }
            Err(other) => Err(UploadFailure::Uncertain(other.to_string())),
        }
    }
}

/// The submitting daemon instance.
#[derive(Debug, Clone)]
pub struct Submitter {
    /// Name of this instance; each call's claim token starts with it (for operators reading
    /// the lease), followed by a part unique to the call.
    pub owner: String,
    /// How long a claimed attempt is protected before another instance may take over an
    /// attempt that left no upload transaction. The window it covers is local work only
    /// (loading keys, encrypting, one database write), so minutes are ample.
    pub lease_for: chrono::Duration,
}

impl Submitter {
    pub fn new(owner: impl Into<String>) -> Self {
        Self {
            owner: owner.into(),
            lease_for: chrono::Duration::minutes(10),
        }
    }
}

/// Where a submission ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmitOutcome {
    /// The bank took the order (now or in an earlier attempt): PROCESSING.
    Accepted(Order),
    /// The bank refused it: REJECTED.
    Rejected(Order),
    /// An earlier attempt is still running or its transaction is being recovered; nothing
    /// was sent by this call.
    InFlight(Order),
}

/// Submits a SIGNED order exactly once; safe to call again after any failure or crash, from
/// any instance (see the module docs for why this cannot upload twice).
pub async fn submit<U: OrderUploader + ?Sized>(
    store: &Store,
    uploader: &U,
    submitter: &Submitter,
    scope: &TenantScope,
    order: OrderId,
) -> Result<SubmitOutcome, OrderError> {
    // The attempt's lease belongs to this call alone.
    let token = format!("{}#{}", submitter.owner, uuid::Uuid::now_v7());
    let current: Order = store.scope(scope).begin().await?.get(order).await?;
    let claimed = match current.status {
        // Settled by an earlier call: answering again is what makes retries safe to make.
        OrderStatus::Processing | OrderStatus::Completed => {
            return Ok(SubmitOutcome::Accepted(current))
        }
        OrderStatus::Rejected => return Ok(SubmitOutcome::Rejected(current)),
        OrderStatus::Signed => claim(store, submitter, &token, scope, &current).await?,
        OrderStatus::Submitted => false,
        other => return Err(OrderError::WrongStatus(other)),
    };

    let mut tx = store.scope(scope).begin().await?;
    let order: Order = tx.get(order).await?;
    let carried_by = tx
        .transactions()
        .list_for_order(order.id)
        .await?
        .pop()
        .filter(|t| !refused_for_outdated_bank_keys(t));
    if let Some(transaction) = carried_by {
        drop(tx);
        return reconcile(store, uploader, scope, &order, &transaction).await;
    }
    // No upload transaction: nothing has been sent. Upload if we hold the attempt.
    let holds = claimed
        || tx
            .orders()
            .take_over_submission(
                order.id,
                &token,
                Utc::now(),
                Utc::now() + submitter.lease_for,
            )
            .await?;
    tx.commit().await?;
    if !holds {
        return Ok(SubmitOutcome::InFlight(order));
    }
    let (content, signatures) = {
        let mut tx = store.scope(scope).begin().await?;
        let content: StoredFile = tx.get(order.content_file_id).await?;
        (content, order_signatures(&mut tx, order.id).await?)
    };
    let result = uploader.upload(scope, &order, content, signatures).await;
    if let Err(UploadFailure::Held(why)) = result {
        let mut tx = store.scope(scope).begin().await?;
        tx.orders().release_submission(order.id, &token).await?;
        tx.commit().await?;
        return Err(OrderError::Uncertain(why));
    }
    record(store, scope, &order, result).await
}

/// An upload the bank refused at initialisation with 091008 EBICS_BANK_PUBKEY_UPDATE_REQUIRED
/// carried nothing into the bank's order processing ("the bank terminates the transaction
/// initialisation", EBICS Annex 1): after the new bank keys are verified the order is uploaded
/// in a new transaction instead of being settled as rejected.
fn refused_for_outdated_bank_keys(transaction: &Transaction) -> bool {
    transaction.phase == TransactionPhase::Failed
        && transaction
            .failure_code
            .as_ref()
            .is_some_and(|code| code.is(&ReturnCode::BankPubkeyUpdateRequired))
}

/// SIGNED -> SUBMITTED with the attempt's lease; `false` when another caller claimed first.
async fn claim(
    store: &Store,
    submitter: &Submitter,
    token: &str,
    scope: &TenantScope,
    order: &Order,
) -> Result<bool, OrderError> {
    let mut tx = store.scope(scope).begin().await?;
    let claimed = tx
        .orders()
        .claim_submission(
            order.id,
            &order.content_hash,
            token,
            Utc::now() + submitter.lease_for,
        )
        .await;
    match claimed {
        Ok(_) => {
            tx.commit().await?;
            Ok(true)
        }
        Err(StorageError::StaleStatus { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The `SETTLE_ORDER` effect of a finished upload transaction: a SUBMITTED order records the
/// bank's answer (PROCESSING or REJECTED); an order settled already only marks the effect done.
/// Safe to run concurrently with a submitting call: both record with compare-and-sets.
pub async fn settle<U: OrderUploader + ?Sized>(
    store: &Store,
    uploader: &U,
    scope: &TenantScope,
    transaction: &Transaction,
) -> Result<Option<SubmitOutcome>, OrderError> {
    let Some(order_id) = transaction.order_id else {
        return Err(OrderError::Uncertain(format!(
            "transaction {} settles an order but names none",
            transaction.id
        )));
    };
    let order: Order = store.scope(scope).begin().await?.get(order_id).await?;
    if order.status == OrderStatus::Submitted
        && transaction.phase.is_final()
        && !refused_for_outdated_bank_keys(transaction)
    {
        return reconcile(store, uploader, scope, &order, transaction)
            .await
            .map(Some);
    }
    let mut tx = store.scope(scope).begin().await?;
    tx.transactions()
        .finish_effect(transaction.id, None)
        .await?;
    tx.commit().await?;
    Ok(None)
}

/// Settles a SUBMITTED order from the transaction an earlier attempt persisted.
async fn reconcile<U: OrderUploader + ?Sized>(
    store: &Store,
    uploader: &U,
    scope: &TenantScope,
    order: &Order,
    transaction: &Transaction,
) -> Result<SubmitOutcome, OrderError> {
    match transaction.phase {
        TransactionPhase::Completed | TransactionPhase::Failed | TransactionPhase::Aborted => {
            match uploader.reconcile(scope, order, transaction).await {
                Ok(Some(receipt)) => record(store, scope, order, Ok(receipt)).await,
                Ok(None) if transaction.phase == TransactionPhase::Completed => Err(
                    OrderError::Uncertain("completed upload unknown to the bank".into()),
                ),
                Ok(None) => {
                    let ended = BankRejection::of_ended(transaction);
                    let failure = UploadFailure::Rejected {
                        transaction: Some(transaction.id),
                        code: ended.code,
                        text: ended.text,
                    };
                    record(store, scope, order, Err(failure)).await
                }
                Err(failure) => record(store, scope, order, Err(failure)).await,
            }
        }
        // Still transferring, or left for the client's recovery: never start another upload.
        _ => Ok(SubmitOutcome::InFlight(order.clone())),
    }
}

async fn record(
    store: &Store,
    scope: &TenantScope,
    order: &Order,
    result: Result<UploadReceipt, UploadFailure>,
) -> Result<SubmitOutcome, OrderError> {
    match record_once(store, scope, order, result).await {
        // A concurrent reconciler recorded the same bank answer first.
        Err(OrderError::Storage(StorageError::StaleStatus { .. })) => {
            let settled: Order = store.scope(scope).begin().await?.get(order.id).await?;
            match settled.status {
                OrderStatus::Rejected => Ok(SubmitOutcome::Rejected(settled)),
                OrderStatus::Processing | OrderStatus::Completed => {
                    Ok(SubmitOutcome::Accepted(settled))
                }
                other => Err(OrderError::WrongStatus(other)),
            }
        }
        other => other,
    }
}

async fn record_once(
    store: &Store,
    scope: &TenantScope,
    order: &Order,
    result: Result<UploadReceipt, UploadFailure>,
) -> Result<SubmitOutcome, OrderError> {
    let mut tx = store.scope(scope).begin().await?;
    let outcome = match result {
        Ok(receipt) => {
            tx.orders()
                .link_transaction(order.id, receipt.transaction)
                .await?;
            tx.transactions()
                .finish_effect(receipt.transaction, None)
                .await?;
            let accepted = tx
                .orders()
                .record_bank_result(
                    order.id,
                    OrderStatus::Submitted,
                    OrderStatus::Processing,
                    receipt.bank_order_id.as_deref(),
                    Some(&ResultCode::from(receipt.return_code.as_str())),
                    None,
                )
                .await?;
            events::order(&mut tx, WebhookEventType::OrderSubmitted, order.id).await?;
            SubmitOutcome::Accepted(accepted)
        }
        Err(UploadFailure::Rejected {
            transaction,
            code,
            text,
        }) => {
            if let Some(transaction) = transaction {
                tx.orders().link_transaction(order.id, transaction).await?;
                tx.transactions().finish_effect(transaction, None).await?;
            }
            let rejected = tx
                .orders()
                .record_bank_result(
                    order.id,
                    OrderStatus::Submitted,
                    OrderStatus::Rejected,
                    None,
                    Some(&code),
                    Some(&text),
                )
                .await?;
            events::order(&mut tx, WebhookEventType::OrderRejected, order.id).await?;
            SubmitOutcome::Rejected(rejected)
        }
        Err(UploadFailure::Uncertain(why) | UploadFailure::Held(why)) => {
            return Err(OrderError::Uncertain(why))
        }
    };
    tx.commit().await?;
    Ok(outcome)
}

/// The bank's final word on a PROCESSING order (from HAC/PTK or the order's return codes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BankVerdict {
    Executed,
    Refused { code: ResultCode, text: String },
}

/// Moves a PROCESSING order to COMPLETED or REJECTED.
pub async fn complete(
    tx: &mut ScopedTx<'_>,
    order: OrderId,
    verdict: BankVerdict,
) -> Result<Order, OrderError> {
    let current: Order = tx.get(order).await?;
    let bank_order_id = current.bank_order_id.clone();
    let (settled, event) = match verdict {
        BankVerdict::Executed => {
            let settled = tx
                .orders()
                .record_bank_result(
                    order,
                    OrderStatus::Processing,
                    OrderStatus::Completed,
                    bank_order_id.as_deref(),
                    current.bank_return_code.as_ref(),
                    None,
                )
                .await?;
            (settled, WebhookEventType::OrderCompleted)
        }
        BankVerdict::Refused { code, text } => {
            let settled = tx
                .orders()
                .record_bank_result(
                    order,
                    OrderStatus::Processing,
                    OrderStatus::Rejected,
                    bank_order_id.as_deref(),
                    Some(&code),
                    Some(&text),
                )
                .await?;
            (settled, WebhookEventType::OrderRejected)
        }
    };
    events::order(tx, event, order).await?;
    Ok(settled)
}
