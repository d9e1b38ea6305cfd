//! Payment orders: created from a pain.001/pain.008 file in one place ([`create_order`]:
//! parse, kind check, hash, idempotency, permissions), signed by signers outside the daemon
//! ([`add_signature`]), submitted exactly once ([`submit`](submit::submit)) and completed from
//! the bank's status reports ([`completion`]).

pub mod completion;
pub mod orphans;
pub mod received;
pub mod submit;

use crate::ebics::{EbicsError, FileContent, Files};
use crate::services::webhooks::events;
use kontor_documents::pain::{self, PaymentKind, PaymentOrder, PaymentSummary};
use kontor_documents::{Amount, Currency, Iban};
use kontor_protocol::keys::{KeyHash, PublicKey};
use kontor_protocol::order_type::{BtfService, OrderDataFormat, OrderType, OrderTypeError};
use kontor_protocol::orderdata::OrderSignatureData;
use kontor_protocol::signature::{verify_order_digest, OrderDataHasher};
use kontor_protocol::SignatureVersion;
use kontor_storage::{
    Connection, ContentSummary, EbicsUser, EbicsUserId, EbicsUserStatus, FileBody, FileKind,
    KeyUsage, NewFile, NewOrder, NewOrderSignature, Order, OrderId, OrderSignature, OrderStatus,
    ScopedTx, SignatureClass, SignatureRule, StorageError, Store, StoredFile, TenantScope,
    UserAtHost, WebhookEventType,
};

pub use completion::CompletionReport;
pub use submit::{
    complete, settle, submit, BankVerdict, OrderUploader, SubmitOutcome, Submitter, UploadFailure,
    UploadReceipt,
};

/// Why an order operation was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    #[error("bank host {0} is retired; nothing is sent to it")]
    HostRetired(String),
    #[error("the request body (the payment file) is empty")]
    EmptyFile,
    #[error("{0} is not a pain.001/pain.008 upload order type")]
    UnsupportedOrderType(OrderType),
    #[error("BTU needs a BTF service (e.g. service=SCT&message=pain.001)")]
    ServiceRequired,
    #[error("a BTF service is given only with order type BTU, not {0}")]
    ServiceWithoutBtu(OrderType),
    #[error("BTF service {0} does not carry a pain.001 or pain.008 message")]
    UnsupportedService(Box<BtfService>),
    #[error("invalid BTF service: {0}")]
    InvalidService(#[from] OrderTypeError),
    #[error(
        "the host speaks EBICS 2.5 (H004), which has no BTF services; use a classic order type"
    )]
    BtfNeedsH005,
    #[error(
        "{0} has no BTF service on an EBICS 3.0 host; send it as BTU with an explicit service"
    )]
    NoBtfEquivalent(OrderType),
    #[error("payment file is invalid: {0}")]
    InvalidDocument(#[from] pain::PainError),
    #[error("{order_type} needs a {needed:?} file, this is a {found:?}")]
    KindMismatch {
        order_type: OrderType,
        needed: PaymentKind,
        found: PaymentKind,
    },
    #[error("payment file mixes currencies; one order must have one currency")]
    MixedCurrencies,
    #[error("the EBICS user is {0}")]
    UserNotActive(EbicsUserStatus),
    #[error("the bank does not offer {0} on this connection")]
    OrderTypeNotOffered(String),
    #[error("user may not {0}")]
    NotPermitted(String),
    #[error("the last sync of the user's order types and permissions failed ({0}); run it again with POST /v1/ebics-users/{{id}}/sync")]
    SyncFailed(String),
    #[error("idempotency key was used for different content")]
    IdempotencyKeyReused,
    #[error("the same file is already an open order of this user and order type")]
    DuplicateOrder,
    #[error("this key is not the signer's registered signature key")]
    UnknownSignerKey,
    #[error("the registered key signs {0}")]
    SignatureVersionMismatch(kontor_protocol::KeyVersion),
    #[error("user may not {0}")]
    SignerCannotAuthorise(String),
    #[error("this signer has already signed the order")]
    AlreadySigned,
    #[error("signature does not verify against the signer's registered key and the order content")]
    InvalidSignature,
    #[error("order is {0}; this step needs another status")]
    WrongStatus(OrderStatus),
    #[error("the order is {0} and can no longer be cancelled")]
    NotCancellable(OrderStatus),
    #[error("the upload reached an unclear state; reconcile with the bank before retrying: {0}")]
    Uncertain(String),
    /// The payment file could not be kept or read (disk, or a record without its content).
    #[error("the payment file could not be kept or read: {0}")]
    File(#[source] EbicsError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<std::io::Error> for OrderError {
    fn from(error: std::io::Error) -> Self {
        Self::File(error.into())
    }
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
    pub order_type: Option<OrderType>,
    /// With order type `BTU` (EBICS 3.0 only): the BTF service to send with, e.g. `SDD`
    /// option `COR` message `pain.008`.
    pub service: Option<BtfService>,
}

/// A created order, or the one an earlier request with the same idempotency key created.
#[derive(Debug, Clone)]
pub struct Created {
    pub order: Order,
    /// The order existed already: this request repeated an earlier one.
    pub replayed: bool,
    /// What the payment file contains (for a new order).
    pub summary: Option<PaymentSummary>,
}

/// The standard EBICS order type a payment document is sent with.
fn order_type_for(kind: PaymentKind) -> OrderType {
    match kind {
        PaymentKind::CreditTransfer => OrderType::CCT,
        PaymentKind::DirectDebit => OrderType::CDD,
    }
}

/// Which pain message an upload order type carries.
fn expected_kind(order_type: &OrderType) -> Option<PaymentKind> {
    match order_type.data_format()? {
        OrderDataFormat::Pain001 => Some(PaymentKind::CreditTransfer),
        OrderDataFormat::Pain008 => Some(PaymentKind::DirectDebit),
        _ => None,
    }
}

/// Which pain message a BTF service carries (by its message name).
fn service_kind(service: &BtfService) -> Option<PaymentKind> {
    match service.message.name.as_str() {
        "pain.001" => Some(PaymentKind::CreditTransfer),
        "pain.008" => Some(PaymentKind::DirectDebit),
        _ => None,
    }
}

/// The payment kind the requested order type (and service) needs, checked before anything
/// is parsed: an order type Kontor cannot send end to end is refused here.
fn needed_kind(new: &CreateOrder) -> Result<Option<PaymentKind>, OrderError> {
    match (&new.order_type, &new.service) {
        (Some(OrderType::BTU), None) => Err(OrderError::ServiceRequired),
        (Some(OrderType::BTU), Some(service)) => {
            service.validate()?;
            service_kind(service)
                .map(Some)
                .ok_or_else(|| OrderError::UnsupportedService(Box::new(service.clone())))
        }
        (Some(other), Some(_)) => Err(OrderError::ServiceWithoutBtu(other.clone())),
        (None, Some(_)) => Err(OrderError::ServiceWithoutBtu(OrderType::BTU)),
        (Some(order_type), None) => expected_kind(order_type)
            .map(Some)
            .ok_or_else(|| OrderError::UnsupportedOrderType(order_type.clone())),
        (None, None) => Ok(None),
    }
}

/// Validates the document, checks the user's permissions and stores a DRAFT order with its
/// file (kept by `files`: on disk below the data directory when there is one). The same
/// idempotency key for the same request (user, order type, content and signature rule)
/// returns the existing order; for another request it is refused.
///
/// Nothing is stored unless the order is created. Two requests racing with one key, or with
/// one file that is already an open order, end in one order and one replay or refusal.
pub async fn create_order(
    store: &Store,
    files: &Files,
    scope: &TenantScope,
    mut new: CreateOrder,
) -> Result<Created, OrderError> {
    let content = FileContent::bytes(std::mem::take(&mut new.content));
    create_order_of(store, files, scope, new, content).await
}

/// [`create_order`] of a payment file given apart from `new` (whose `content` is ignored),
/// e.g. one received over HTTP and spooled to disk.
pub(crate) async fn create_order_of(
    store: &Store,
    files: &Files,
    scope: &TenantScope,
    new: CreateOrder,
    content: FileContent,
) -> Result<Created, OrderError> {
    let needed = needed_kind(&new)?;
    if content.size() == 0 {
        return Err(OrderError::EmptyFile);
    }
    let document = pain::parse_bytes(&content.read().await?)?;
    let order_type = match (&new.order_type, needed) {
        (Some(order_type), Some(needed)) if document.kind() != needed => {
            return Err(OrderError::KindMismatch {
                order_type: order_type.clone(),
                needed,
                found: document.kind(),
            })
        }
        (Some(order_type), _) => order_type.clone(),
        (None, _) => order_type_for(document.kind()),
    };
    let request = Request {
        user: new.user,
        order_type,
        service: new.service.clone(),
        content_hash: content.sha256().to_owned(),
        signature_rule: new.signature_rule,
    };
    // A replay is answered from the database before the file is kept: a client's retry costs
    // a read, not a write, sync and rename. The row's unique key still decides races below.
    if new.idempotency_key.is_some() {
        let mut tx = store.scope(scope).read().await?;
        if let Some(replayed) = request
            .replay(&mut tx, new.idempotency_key.as_deref())
            .await?
        {
            return Ok(replayed);
        }
    }
    // Kept before its row is written: a crash in between leaves an orphan file at most.
    let digest = content.order_data_digest().to_owned();
    let body = files
        .keep(scope.tenant(), content)
        .await
        .map_err(OrderError::File)?;
    let kept = matches!(body, FileBody::OnDisk { .. }).then(|| body.clone());
    let key = new.idempotency_key.clone();
    let mut tx = store.scope(scope).begin().await?;
    let outcome = match create_in(&mut tx, &request, &document, new, body, digest).await {
        Ok(created) if !created.replayed => {
            // A failed commit may still have committed: the file stays rather than risk a
            // row without its file.
            tx.commit().await?;
            return Ok(created);
        }
        Ok(replayed) => Ok(replayed),
        Err(OrderError::Storage(StorageError::Conflict { .. })) => {
            drop(tx);
            // Lost a race on the same key, or the same file is already a live order.
            let mut tx = store.scope(scope).begin().await?;
            match request.replay(&mut tx, key.as_deref()).await {
                Ok(Some(created)) => Ok(created),
                Ok(None) => Err(OrderError::DuplicateOrder),
                Err(e) => Err(e),
            }
        }
        Err(other) => Err(other),
    };
    if let Some(kept) = kept {
        files.discard(&kept).await;
    }
    outcome
}

/// What makes two creations the same request.
struct Request {
    user: EbicsUserId,
    order_type: OrderType,
    /// The service asked for (BTU); the stored one may name more (the bank's version).
    service: Option<BtfService>,
    content_hash: String,
    signature_rule: SignatureRule,
}

impl Request {
    /// The order an earlier request with `key` created, when it was this request.
    async fn replay(
        &self,
        tx: &mut ScopedTx<'_>,
        key: Option<&str>,
    ) -> Result<Option<Created>, OrderError> {
        let Some(key) = key else {
            return Ok(None);
        };
        let Some(existing) = tx.orders().find_by_idempotency_key(key).await? else {
            return Ok(None);
        };
        let same = existing.ebics_user_id == self.user
            && existing.order_type == self.order_type
            && self.service.as_ref().is_none_or(|asked| {
                existing
                    .btf_service
                    .as_ref()
                    .is_some_and(|stored| stored.completed_by(asked) == *stored)
            })
            && existing.content_hash == self.content_hash
            && existing.signature_rule == self.signature_rule;
        if same {
            Ok(Some(Created {
                order: existing,
                replayed: true,
                summary: None,
            }))
        } else {
            Err(OrderError::IdempotencyKeyReused)
        }
    }
}

async fn create_in(
    tx: &mut ScopedTx<'_>,
    request: &Request,
    document: &PaymentOrder,
    new: CreateOrder,
    body: FileBody,
    order_data_digest: String,
) -> Result<Created, OrderError> {
    if let Some(created) = request.replay(tx, new.idempotency_key.as_deref()).await? {
        return Ok(created);
    }
    let at_host = tx.ebics_users().at_host(new.user).await?;
    let user = &at_host.user;
    if matches!(
        user.status,
        EbicsUserStatus::Suspended | EbicsUserStatus::Locked
    ) {
        return Err(OrderError::UserNotActive(user.status));
    }
    if let (Some(code), message) = (&user.sync_failure_code, &user.sync_failure_message) {
        // The stored permissions may be stale or empty: say so rather than "not permitted".
        return Err(OrderError::SyncFailed(format!(
            "{code} {}",
            message.as_deref().unwrap_or_default()
        )));
    }
    document.validate()?;
    // Once per order: a bulk file's summary walks every one of its transfers.
    let summary = document.summary();
    let (total, currency) = single_currency_total(&summary)?;
    let ordering_accounts = ordering_accounts(&summary);
    let btf_service =
        check_permission(tx, &at_host, request, ordering_accounts, total, currency).await?;

    let file: StoredFile = tx
        .files()
        .create(NewFile {
            kind: FileKind::OrderContent,
            body,
            content_type: "application/xml".into(),
        })
        .await?;
    let order = tx
        .orders()
        .create(NewOrder {
            ebics_user_id: user.id,
            order_type: request.order_type.clone(),
            btf_service,
            signature_rule: new.signature_rule,
            content_file_id: file.id,
            content_hash: file.sha256,
            content_size: file.size,
            amount_total: Some(total),
            currency: Some(currency),
            idempotency_key: new.idempotency_key,
        })
        .await?;
    // Stored, so showing the order need not read and parse its file.
    tx.orders()
        .store_summary(
            order.id,
            &ContentSummary {
                summary: summary.clone(),
                order_data_digest,
            },
        )
        .await?;
    events::order(tx, WebhookEventType::OrderCreated, order.id).await?;
    Ok(Created {
        order,
        replayed: false,
        summary: Some(summary),
    })
}

/// The ordering party's accounts: the debtor accounts of transfers. For direct debits the
/// summary lists payers; the ordering (creditor) accounts are not in it.
fn ordering_accounts(summary: &PaymentSummary) -> &[Iban] {
    match summary.kind {
        PaymentKind::CreditTransfer => &summary.debtor_accounts,
        PaymentKind::DirectDebit => &[],
    }
}

fn single_currency_total(summary: &PaymentSummary) -> Result<(Amount, Currency), OrderError> {
    let mut iter = summary.totals.iter().map(|(c, a)| (*c, *a));
    match (iter.next(), iter.next()) {
        (Some((currency, total)), None) => Ok((total, currency)),
        _ => Err(OrderError::MixedCurrencies),
    }
}

/// The bank must offer the order (type, and on an EBICS 3.0 host its BTF service), and the
/// user's bank permissions must cover it, each ordering account (a permission without
/// account covers all) and the total amount. Returns the BTF service to send with on an
/// EBICS 3.0 host, completed from the bank's offer (e.g. with the message version it names).
async fn check_permission(
    tx: &mut ScopedTx<'_>,
    UserAtHost {
        user,
        connection,
        host,
    }: &UserAtHost,
    request: &Request,
    ordering_accounts: &[Iban],
    total: Amount,
    currency: Currency,
) -> Result<Option<BtfService>, OrderError> {
    let order_type = &request.order_type;
    if host.retired_at.is_some() {
        return Err(OrderError::HostRetired(host.host_id.clone()));
    }
    let service = if host.protocol_version.uses_btf() {
        let asked = match &request.service {
            Some(service) => service.clone(),
            None => order_type
                .btf_service()
                .ok_or_else(|| OrderError::NoBtfEquivalent(order_type.clone()))?,
        };
        let what = format!("{order_type} ({asked})");
        Some(
            offered_service(connection, &OrderType::BTU, order_type, asked)
                .ok_or(OrderError::OrderTypeNotOffered(what))?,
        )
    } else {
        if request.service.is_some() || *order_type == OrderType::BTU {
            return Err(OrderError::BtfNeedsH005);
        }
        if !connection.order_types.contains(order_type) {
            return Err(OrderError::OrderTypeNotOffered(order_type.to_string()));
        }
        None
    };
    let permissions = tx.permissions().list_for_user(user.id).await?;
    let accounts = tx.accounts().list_for_connection(connection.id).await?;
    let mut account_ids = Vec::new();
    for iban in ordering_accounts {
        let Some(account) = accounts.iter().find(|a| a.iban.as_ref() == Some(iban)) else {
            return Err(OrderError::NotPermitted(format!(
                "order from account {iban}: not an account of this connection"
            )));
        };
        account_ids.push(account.id);
    }
    // EBICS 3.0 permissions name BTU and (perhaps) one service: BTU/SDD does not grant SCT.
    // A permission of the classic type (as EBICS 2.5 banks list them) grants it directly.
    let grants = |p: &kontor_storage::Permission| match &service {
        Some(service) => {
            (p.order_type == OrderType::BTU
                && p.btf_service.as_ref().is_none_or(|s| s.covers(service)))
                || (p.order_type == *order_type && *order_type != OrderType::BTU)
        }
        None => p.order_type == *order_type,
    };
    let within_limit = |p: &kontor_storage::Permission| match p.max_amount {
        None => true,
        Some(max) => p.currency.is_none_or(|c| c == currency) && total <= max,
    };
    let covers = |account: Option<kontor_storage::AccountId>| {
        permissions.iter().any(|p| {
            grants(p) && (p.account_id.is_none() || p.account_id == account) && within_limit(p)
        })
    };
    let covered = if account_ids.is_empty() {
        covers(None)
    } else {
        account_ids.iter().all(|a| covers(Some(*a)))
    };
    let what = match &service {
        Some(service) => format!("{order_type} ({service})"),
        None => order_type.to_string(),
    };
    if covered {
        Ok(service)
    } else {
        Err(OrderError::NotPermitted(format!(
            "send {what} of {total} {currency}: no permission covers service, account and amount"
        )))
    }
}

/// The service as the bank offers it under `admin` (BTU for uploads, BTD for downloads), if
/// it does. Without synced offers (a bank that lists only order type codes), the admin type
/// or the classic code in the offered order types stands for the service.
pub(crate) fn offered_service(
    connection: &Connection,
    admin: &OrderType,
    order_type: &OrderType,
    asked: BtfService,
) -> Option<BtfService> {
    let offers: Vec<&BtfService> = connection
        .btf_offers
        .iter()
        .filter(|o| o.order_type == *admin)
        .map(|o| &o.service)
        .collect();
    if offers.is_empty() {
        let listed = connection.order_types.contains(admin)
            || (order_type != admin && connection.order_types.contains(order_type));
        return listed.then_some(asked);
    }
    offers
        .into_iter()
        .find(|offer| offer.covers(&asked))
        .map(|offer| asked.completed_by(offer))
}

/// A signature computed by a signer outside the daemon.
#[derive(Debug, Clone)]
pub struct SignatureSubmission {
    pub order: OrderId,
    pub signer: EbicsUserId,
    pub version: SignatureVersion,
    pub value: Vec<u8>,
    /// The EBICS hash of the key the signer signed with, as the signer sees it. When given, a
    /// key other than the registered one is refused with a clear answer before the signature
    /// is verified.
    pub key_hash: Option<KeyHash>,
}

/// Verifies a signer's electronic signature over the order content (read through `files`, as
/// a stream) against the signer's registered signature key, stores it, and moves the order to
/// PENDING_SIGNATURE or SIGNED.
pub async fn add_signature(
    files: &Files,
    tx: &mut ScopedTx<'_>,
    submission: SignatureSubmission,
) -> Result<Order, OrderError> {
    let order: Order = tx.get(submission.order).await?;
    let signer: EbicsUser = tx.get(submission.signer).await?;
    let key = tx
        .key_pairs()
        .current(signer.id, KeyUsage::Signature)
        .await?;
    if let Some(given) = &submission.key_hash {
        // Checked before verification, so a signer with the wrong key file gets a clear
        // answer instead of "signature does not verify".
        let key = key.as_ref().ok_or(OrderError::UnknownSignerKey)?;
        if key.key_hash != *given {
            return Err(OrderError::UnknownSignerKey);
        }
        if key.version != submission.version {
            return Err(OrderError::SignatureVersionMismatch(key.version));
        }
    }
    if !matches!(
        order.status,
        OrderStatus::Draft | OrderStatus::PendingSignature
    ) {
        return Err(OrderError::WrongStatus(order.status));
    }
    let originator: EbicsUser = tx.get(order.ebics_user_id).await?;
    if signer.connection_id != originator.connection_id {
        return Err(OrderError::SignerCannotAuthorise(
            "sign for another bank connection".into(),
        ));
    }
    if signer.signature_class == SignatureClass::T {
        return Err(OrderError::SignerCannotAuthorise(
            "authorise payments with a transport signature".into(),
        ));
    }
    let digest = order_data_digest(files, tx, &order).await?;
    let key = key
        .ok_or_else(|| OrderError::SignerCannotAuthorise("sign without a signature key".into()))?;
    let public_key =
        PublicKey::from_spki_der(&key.public_key).map_err(|_| OrderError::InvalidSignature)?;
    verify_order_digest(submission.version, &public_key, &digest, &submission.value)
        .map_err(|_| OrderError::InvalidSignature)?;

    tx.order_signatures()
        .create(NewOrderSignature {
            order_id: order.id,
            signer_id: signer.id,
            signature_class: signer.signature_class,
            signature_version: submission.version,
            signed_hash: hex::encode(digest),
            signature_value: submission.value,
        })
        .await
        .map_err(|e| match e {
            StorageError::Conflict { .. } => OrderError::AlreadySigned,
            other => other.into(),
        })?;
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
    // `order.signed` tells of every signature; its `status` says whether the order is now
    // SIGNED (ready to submit) or still PENDING_SIGNATURE.
    if next != order.status {
        tx.orders().set_status(order.id, order.status, next).await?;
    }
    events::order(tx, WebhookEventType::OrderSigned, order.id).await?;
    Ok(tx.get(order.id).await?)
}

/// Cancels an order that was not submitted.
pub async fn cancel(tx: &mut ScopedTx<'_>, order: OrderId) -> Result<Order, OrderError> {
    let current: Order = tx.get(order).await?;
    tx.orders()
        .set_status(order, current.status, OrderStatus::Cancelled)
        .await
        .map_err(|e| match e {
            StorageError::IllegalTransition(_) => OrderError::NotCancellable(current.status),
            other => other.into(),
        })
}

/// The order's payment file, whole (to parse it): inline in its row (as earlier versions
/// stored every order) or on disk.
pub(crate) async fn order_content(
    files: &Files,
    tx: &mut ScopedTx<'_>,
    order: &Order,
) -> Result<Vec<u8>, OrderError> {
    let file: StoredFile = tx.get(order.content_file_id).await?;
    files.content(&file).await.map_err(OrderError::File)
}

/// The EBICS order data digest of the order's payment file (what signers sign), read as a
/// stream: an on-disk file is never held whole.
pub(crate) async fn order_data_digest(
    files: &Files,
    tx: &mut ScopedTx<'_>,
    order: &Order,
) -> Result<[u8; 32], OrderError> {
    use futures::TryStreamExt;
    let file: StoredFile = tx.get(order.content_file_id).await?;
    let mut chunks = files.stream(&file).await.map_err(OrderError::File)?;
    let mut hasher = OrderDataHasher::new();
    while let Some(chunk) = chunks.try_next().await? {
        hasher.update(&chunk);
    }
    Ok(hasher.finalize())
}

/// The stored signatures of `order`, as the upload carries them (partner and user ids of
/// each signer resolved through the scope).
pub(crate) async fn order_signatures(
    tx: &mut ScopedTx<'_>,
    order: OrderId,
) -> Result<Vec<OrderSignatureData>, OrderError> {
    let _: Order = tx.get(order).await?;
    let mut out = Vec::new();
    for signature in tx.order_signatures().list_for_order(order).await? {
        let signer: EbicsUser = tx.get(signature.signer_id).await?;
        let connection: Connection = tx.get(signer.connection_id).await?;
        out.push(OrderSignatureData {
            signature_version: signature.signature_version,
            signature_value: signature.signature_value,
            partner_id: connection.partner_id,
            user_id: signer.user_id,
            x509: None,
        });
    }
    Ok(out)
}

/// Submits a SIGNED order for the API and returns its state afterwards: any number of
/// concurrent or repeated calls, in any instance, cause one upload (see [`submit`]). A
/// refusal by the bank is an error; an accepted order is completed at once when the bank
/// already knows its outcome.
pub async fn submit_order(
    services: &super::Services,
    scope: &TenantScope,
    id: OrderId,
) -> Result<Order, super::ServiceError> {
    use super::ServiceError;
    let bank = services.bank()?;
    let outcome = submit(services.store(), bank, services.submitter(), scope, id)
        .await
        .map_err(ServiceError::precondition)?;
    let settled: Order = match outcome {
        SubmitOutcome::Accepted(order) | SubmitOutcome::InFlight(order) => order,
        SubmitOutcome::Rejected(order) => {
            return Err(ServiceError::BankRefused {
                code: order.bank_return_code.unwrap_or_else(|| "".into()),
                text: order.bank_return_text.unwrap_or_default(),
            })
        }
    };
    if settled.status != OrderStatus::Processing {
        return Ok(settled);
    }
    // The bank may already know the outcome (e.g. an order it executes at once); a failure
    // here only delays completion to the next sweep.
    if let Err(error) =
        completion::sync_order_status(services.store(), bank, scope, settled.ebics_user_id).await
    {
        tracing::warn!(order = %settled.id, %error, "status sync after submit failed");
    }
    Ok(services
        .store()
        .scope(scope)
        .begin()
        .await?
        .get(settled.id)
        .await?)
}
