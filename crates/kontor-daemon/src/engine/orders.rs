//! Payment orders: creation from a pain.001/pain.008 file, permission checks, signature
//! collection and idempotent submission.
//!
//! # Why a payment is never uploaded twice
//!
//! 1. **Claim** before anything is sent: SIGNED -> SUBMITTED with a compare-and-set on status
//!    *and* content hash (`orders.claim_submission`), leasing the attempt to a claim token made
//!    fresh for this one call. Of any number of concurrent requests, retries or daemon
//!    instances exactly one wins: the token belongs to a call, never to a process, so a second
//!    request in the same process is as much a stranger to the attempt as another instance.
//! 2. **Upload** through the engine, which persists its transaction linked to the order
//!    *before* it sends the first request, and keeps the transaction's phase current.
//! 3. **Record** the bank's order id: SUBMITTED -> PROCESSING (or REJECTED).
//!
//! A retry of a SUBMITTED order (after a crash, from another instance, or a client repeating
//! the request) never uploads blindly. It reconciles:
//!
//! - The order has an upload transaction: the data may be at the bank, so nothing is sent.
//!   COMPLETED: the bank took it; its order id is read back ([`OrderUploader::reconcile`]) and
//!   the order moves to PROCESSING. FAILED: the bank's code decides REJECTED (or the bank is
//!   asked). Unfinished: the engine's transaction recovery resumes it (resuming re-sends
//!   segments of the *same* bank transaction, which a bank executes at most once).
//! - No upload transaction: nothing was sent, because the engine persists the transaction
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

use kontor_documents::pain::{self, PaymentKind, PaymentOrder};
use kontor_documents::{Amount, Iban};
use kontor_protocol::keys::PublicKey;
use kontor_protocol::signature::{order_data_digest, verify_order_data};
use kontor_protocol::SignatureVersion;
use kontor_storage::{
    EbicsUser, EbicsUserId, FileBody, FileKind, KeyUsage, NewFile, NewOrder, NewOrderSignature,
    Order, OrderId, OrderSignature, OrderStatus, ScopedTx, SignatureClass, SignatureRule,
    StorageError, Store, StoredFile, TenantScope, Transaction, TransactionId, TransactionPhase,
};

/// Why an order operation was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    #[error("payment file is invalid: {0}")]
    InvalidDocument(#[from] pain::PainError),
    #[error("payment file mixes currencies; one order must have one currency")]
    MixedCurrencies,
    #[error("the bank does not offer {0} on this connection")]
    OrderTypeNotOffered(String),
    #[error("user may not {0}")]
    NotPermitted(String),
    #[error("idempotency key was used for different content")]
    IdempotencyKeyReused,
    #[error("signature does not verify against the signer's registered key and the order content")]
    InvalidSignature,
    #[error("order is {0}; this step needs another status")]
    WrongStatus(OrderStatus),
    #[error("the upload reached an unclear state; reconcile with the bank before retrying: {0}")]
    Uncertain(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A payment order to create.
#[derive(Debug, Clone)]
pub struct CreateOrder {
    pub user: EbicsUserId,
    /// The pain.001 (-> CCT) or pain.008 (-> CDD) document.
    pub content: Vec<u8>,
    pub signature_rule: SignatureRule,
    /// A client's retry of the same request returns the same order.
    pub idempotency_key: Option<String>,
    /// The EBICS order type to send with (e.g. CIP for instant transfers); `None` takes the
    /// standard one for the document (CCT for pain.001, CDD for pain.008).
    pub order_type: Option<String>,
}

/// The EBICS order type a payment document is sent with.
pub fn order_type_for(kind: PaymentKind) -> &'static str {
    match kind {
        PaymentKind::CreditTransfer => "CCT",
        PaymentKind::DirectDebit => "CDD",
    }
}

/// Validates the document, checks the user's permissions and stores a DRAFT order with its
/// file. Same idempotency key and content: the existing order is returned.
pub async fn create_order(tx: &mut ScopedTx<'_>, new: CreateOrder) -> Result<Order, OrderError> {
    let document = pain::parse_bytes(&new.content)?;
    document.validate()?;
    let order_type = new
        .order_type
        .clone()
        .unwrap_or_else(|| order_type_for(document.kind()).to_owned());
    let order_type = order_type.as_str();
    let (total, currency) = single_currency_total(&document)?;
    let content_hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&new.content));

    if let Some(key) = &new.idempotency_key {
        if let Some(existing) = tx.orders().find_by_idempotency_key(key).await? {
            return if existing.content_hash == content_hash && existing.ebics_user_id == new.user {
                Ok(existing)
            } else {
                Err(OrderError::IdempotencyKeyReused)
            };
        }
    }

    let user: EbicsUser = tx.get(new.user).await?;
    let ordering_accounts = document.summary().debtor_accounts_for(document.kind());
    check_permission(tx, &user, order_type, &ordering_accounts, total, &currency).await?;

    let file: StoredFile = tx
        .files()
        .create(NewFile {
            kind: FileKind::OrderContent,
            body: FileBody::Inline(new.content),
            content_type: "application/xml".into(),
        })
        .await?;
    Ok(tx
        .orders()
        .create(NewOrder {
            ebics_user_id: user.id,
            order_type: order_type.into(),
            btf_service: None,
            signature_rule: new.signature_rule,
            content_file_id: file.id,
            content_hash: file.sha256,
            content_size: file.size,
            amount_total: Some(total.to_string()),
            currency: Some(currency),
            idempotency_key: new.idempotency_key,
        })
        .await?)
}

/// The ordering party's accounts: the debtor accounts of transfers, the creditor accounts of
/// direct debits (whose debtors are the payers).
trait OrderingAccounts {
    fn debtor_accounts_for(&self, kind: PaymentKind) -> Vec<Iban>;
}

impl OrderingAccounts for pain::PaymentSummary {
    fn debtor_accounts_for(&self, kind: PaymentKind) -> Vec<Iban> {
        match kind {
            PaymentKind::CreditTransfer => self.debtor_accounts.clone(),
            // For direct debits the summary lists payers; the ordering accounts are not in it.
            PaymentKind::DirectDebit => Vec::new(),
        }
    }
}

fn single_currency_total(document: &PaymentOrder) -> Result<(Amount, String), OrderError> {
    let totals = document.summary().totals;
    let mut iter = totals.into_iter();
    match (iter.next(), iter.next()) {
        (Some((currency, total)), None) => Ok((total, currency.as_str().to_owned())),
        _ => Err(OrderError::MixedCurrencies),
    }
}

/// The user's bank permissions must cover the order type, each ordering account (a
/// permission without account covers all) and the total amount.
async fn check_permission(
    tx: &mut ScopedTx<'_>,
    user: &EbicsUser,
    order_type: &str,
    ordering_accounts: &[Iban],
    total: Amount,
    currency: &str,
) -> Result<(), OrderError> {
    let connection: kontor_storage::Connection = tx.get(user.connection_id).await?;
    let host: kontor_storage::BankHost = tx.get(connection.bank_host_id).await?;
    // An EBICS 3.0 bank lists payments under the admin order type (BTU with the BTF service,
    // e.g. SCT for CCT) in HTD/HAA; the stored order types and permissions carry no service,
    // so the BTU entry is what grants the classic type there.
    let mut names = vec![order_type.to_owned()];
    if host.protocol_version >= kontor_protocol::ProtocolVersion::H005 {
        if let Ok((h005, _)) = order_type
            .parse::<kontor_protocol::order_type::OrderType>()
            .and_then(|t| t.to_h005())
        {
            names.push(h005.as_str().to_owned());
        }
    }
    let named = |t: &str| names.iter().any(|n| n == t);
    if !connection.order_types.iter().any(|t| named(t)) {
        return Err(OrderError::OrderTypeNotOffered(order_type.to_owned()));
    }
    let permissions = tx.permissions().list_for_user(user.id).await?;
    let accounts = tx.accounts().list_for_connection(connection.id).await?;
    let mut account_ids = Vec::new();
    for iban in ordering_accounts {
        let Some(account) = accounts
            .iter()
            .find(|a| a.iban.as_deref() == Some(iban.electronic()))
        else {
            return Err(OrderError::NotPermitted(format!(
                "order from account {iban}: not an account of this connection"
            )));
        };
        account_ids.push(account.id);
    }
    let within_limit = |p: &kontor_storage::Permission| match (&p.max_amount, &p.currency) {
        (None, _) => true,
        (Some(max), limit_currency) => {
            limit_currency.as_deref().is_none_or(|c| c == currency)
                && Amount::parse(max).is_ok_and(|max| total <= max)
        }
    };
    let covers = |account: Option<kontor_storage::AccountId>| {
        permissions.iter().any(|p| {
            named(&p.order_type)
                && (p.account_id.is_none() || p.account_id == account)
                && within_limit(p)
        })
    };
    let covered = if account_ids.is_empty() {
        covers(None)
    } else {
        account_ids.iter().all(|a| covers(Some(*a)))
    };
    if covered {
        Ok(())
    } else {
        Err(OrderError::NotPermitted(format!(
            "send {order_type} of {total} {currency}: no permission covers account and amount"
        )))
    }
}

/// A signature computed by a signer outside the daemon.
#[derive(Debug, Clone)]
pub struct SignatureSubmission {
    pub order: OrderId,
    pub signer: EbicsUserId,
    pub version: SignatureVersion,
    pub value: Vec<u8>,
}

/// Verifies a signer's electronic signature over the order content against the signer's
/// registered signature key, stores it, and moves the order to PENDING_SIGNATURE or SIGNED.
pub async fn add_signature(
    tx: &mut ScopedTx<'_>,
    submission: SignatureSubmission,
) -> Result<Order, OrderError> {
    let order: Order = tx.get(submission.order).await?;
    if !matches!(
        order.status,
        OrderStatus::Draft | OrderStatus::PendingSignature
    ) {
        return Err(OrderError::WrongStatus(order.status));
    }
    let signer: EbicsUser = tx.get(submission.signer).await?;
    let originator: EbicsUser = tx.get(order.ebics_user_id).await?;
    if signer.connection_id != originator.connection_id {
        return Err(OrderError::NotPermitted(
            "sign for another bank connection".into(),
        ));
    }
    if signer.signature_class == SignatureClass::T {
        return Err(OrderError::NotPermitted(
            "authorise payments with a transport signature".into(),
        ));
    }
    let content = order_content(tx, &order).await?;
    let key = tx
        .key_pairs()
        .current(signer.id, KeyUsage::Signature)
        .await?
        .ok_or_else(|| OrderError::NotPermitted("sign without a signature key".into()))?;
    let public_key =
        PublicKey::from_spki_der(&key.public_key).map_err(|_| OrderError::InvalidSignature)?;
    verify_order_data(submission.version, &public_key, &content, &submission.value)
        .map_err(|_| OrderError::InvalidSignature)?;

    tx.order_signatures()
        .create(NewOrderSignature {
            order_id: order.id,
            signer_id: signer.id,
            signature_class: signer.signature_class,
            signature_version: submission.version.as_str().into(),
            signed_hash: hex::encode(order_data_digest(&content)),
            signature_value: submission.value,
        })
        .await?;
    let classes: Vec<SignatureClass> = tx
        .order_signatures()
        .list_for_order(order.id)
        .await?
        .iter()
        .map(|s: &OrderSignature| s.signature_class)
        .collect();
    let next = if order.signature_rule.is_satisfied(&classes) {
        OrderStatus::Signed
    } else {
        OrderStatus::PendingSignature
    };
    if next == order.status {
        return Ok(tx.get(order.id).await?);
    }
    Ok(tx.orders().set_status(order.id, order.status, next).await?)
}

async fn order_content(tx: &mut ScopedTx<'_>, order: &Order) -> Result<Vec<u8>, OrderError> {
    let file: StoredFile = tx.get(order.content_file_id).await?;
    file.content
        .ok_or_else(|| OrderError::Uncertain("order content is not stored inline".into()))
}

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
        code: String,
        text: String,
    },
    /// The upload stopped where the bank may or may not hold the data (e.g. the answer to the
    /// last segment was lost). The transaction stays for recovery; do not upload again.
    Uncertain(String),
}

/// The EBICS side of submission (the engine's `upload`), behind a trait so the state handling
/// is testable alone.
///
/// Contract: `upload` persists its transaction, linked to the order (`transactions.order_id`),
/// before it sends anything, and keeps that transaction's phase current; an upload that may
/// have reached the bank is resumed, never started again (the engine's recovery does this).
pub trait OrderUploader: Send + Sync {
    fn upload(
        &self,
        scope: &TenantScope,
        order: &Order,
        content: Vec<u8>,
    ) -> impl Future<Output = Result<UploadReceipt, UploadFailure>> + Send;

    /// The bank's receipt of a finished transaction (from the persisted transaction, or by
    /// asking the bank, e.g. HAC/PTK). `None` when the bank does not know the order.
    fn reconcile(
        &self,
        scope: &TenantScope,
        order: &Order,
        transaction: &Transaction,
    ) -> impl Future<Output = Result<Option<UploadReceipt>, UploadFailure>> + Send;
}

/// The engine uploads orders: it persists its transaction (linked with `for_order`) before
/// the first request, which is the contract [`submit`] relies on.
impl OrderUploader for super::Engine {
    async fn upload(
        &self,
        scope: &TenantScope,
        order: &Order,
        content: Vec<u8>,
    ) -> Result<UploadReceipt, UploadFailure> {
        let uncertain = |e: &dyn std::fmt::Display| UploadFailure::Uncertain(e.to_string());
        let order_type: kontor_protocol::order_type::OrderType =
            order.order_type.parse().map_err(|e| uncertain(&e))?;
        let signatures = self
            .order_signatures(scope, order.id)
            .await
            .map_err(|e| uncertain(&e))?;
        let request =
            super::UploadRequest::new(order_type, content, signatures).for_order(order.id);
        match super::Engine::upload(self, scope, order.ebics_user_id, request).await {
            Ok(outcome) => Ok(UploadReceipt {
                transaction: outcome.transaction,
                bank_order_id: outcome.bank_order_id,
                return_code: outcome.return_code,
            }),
            Err(super::EngineError::Bank {
                rejection,
                transaction,
                ..
            }) => Err(UploadFailure::Rejected {
                transaction,
                code: rejection.code,
                text: rejection.text,
            }),
            Err(other) => Err(uncertain(&other)),
        }
    }

    async fn reconcile(
        &self,
        _scope: &TenantScope,
        _order: &Order,
        transaction: &Transaction,
    ) -> Result<Option<UploadReceipt>, UploadFailure> {
        // The engine keeps the bank's order id in the transaction's recovery record.
        if transaction.phase != TransactionPhase::Completed {
            return Ok(None);
        }
        Ok(Some(UploadReceipt {
            transaction: transaction.id,
            bank_order_id: transaction
                .recovery
                .get("bank_order_id")
                .and_then(|v| v.as_str())
                .map(str::to_owned),
            return_code: "000000".into(),
        }))
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
pub async fn submit<U: OrderUploader>(
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
    let carried_by = tx.transactions().list_for_order(order.id).await?.pop();
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
    let content = {
        let mut tx = store.scope(scope).begin().await?;
        order_content(&mut tx, &order).await?
    };
    let result = uploader.upload(scope, &order, content).await;
    record(store, scope, &order, result).await
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
pub async fn settle<U: OrderUploader>(
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
    if order.status == OrderStatus::Submitted && transaction.phase.is_final() {
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
async fn reconcile<U: OrderUploader>(
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
                    let failure = UploadFailure::Rejected {
                        transaction: Some(transaction.id),
                        code: transaction.failure_code.clone().unwrap_or_default(),
                        text: transaction.failure_text.clone().unwrap_or_default(),
                    };
                    record(store, scope, order, Err(failure)).await
                }
                Err(failure) => record(store, scope, order, Err(failure)).await,
            }
        }
        // Still transferring, or left for the engine's recovery: never start another upload.
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
            SubmitOutcome::Accepted(
                tx.orders()
                    .record_bank_result(
                        order.id,
                        OrderStatus::Submitted,
                        OrderStatus::Processing,
                        receipt.bank_order_id.as_deref(),
                        Some(&receipt.return_code),
                        None,
                    )
                    .await?,
            )
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
            SubmitOutcome::Rejected(
                tx.orders()
                    .record_bank_result(
                        order.id,
                        OrderStatus::Submitted,
                        OrderStatus::Rejected,
                        None,
                        Some(&code),
                        Some(&text),
                    )
                    .await?,
            )
        }
        Err(UploadFailure::Uncertain(why)) => return Err(OrderError::Uncertain(why)),
    };
    tx.commit().await?;
    Ok(outcome)
}

/// The bank's final word on a PROCESSING order (from HAC/PTK or the order's return codes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BankVerdict {
    Executed,
    Refused { code: String, text: String },
}

/// Moves a PROCESSING order to COMPLETED or REJECTED.
pub async fn complete(
    tx: &mut ScopedTx<'_>,
    order: OrderId,
    verdict: BankVerdict,
) -> Result<Order, OrderError> {
    let current: Order = tx.get(order).await?;
    let bank_order_id = current.bank_order_id.clone();
    Ok(match verdict {
        BankVerdict::Executed => {
            tx.orders()
                .record_bank_result(
                    order,
                    OrderStatus::Processing,
                    OrderStatus::Completed,
                    bank_order_id.as_deref(),
                    current.bank_return_code.as_deref(),
                    None,
                )
                .await?
        }
        BankVerdict::Refused { code, text } => {
            tx.orders()
                .record_bank_result(
                    order,
                    OrderStatus::Processing,
                    OrderStatus::Rejected,
                    bank_order_id.as_deref(),
                    Some(&code),
                    Some(&text),
                )
                .await?
        }
    })
}
