//! Distributed signature (VEU): orders at the bank that wait for more signatures.
//!
//! The bank is the authority; `veu_items` is a synced copy. [`sync`] fetches the overview
//! (HVZ, which carries amounts, or HVU) and upserts items and their signers. [`details`] fetches
//! HVD (status, digest, display file) and HVT (transactions). [`approve`] sends HVE with a
//! signature the signer computed on their own machine over the digest the bank reported —
//! the daemon never holds a signer's private key. [`cancel`] sends HVS.
//!
//! The digest a signer signs is stored on the item when the bank reports it (with every sync
//! where the bank offers HVZ, or by [`fetch_digest`]), so reading it never talks to the bank.

use std::future::Future;

use crate::services::webhooks::events;
use kontor_documents::{Amount, Currency};
use kontor_protocol::keys::KeyHash;
use kontor_protocol::order_type::OrderTypeOrService;
use kontor_protocol::orderdata::{
    AuthorisationLevel, DataDigest, HVDResponseOrderData, HVTResponseOrderData, HVUOrderDetails,
    HVUResponseOrderData, HVZOrderDetails, HVZResponseOrderData, PendingOrder,
};
use kontor_protocol::SignatureVersion;
use kontor_storage::{
    Connection, ConnectionId, EbicsUser, EbicsUserId, NewVeuSigner, OrderStatus, ResultCode,
    ScopedTx, SignatureClass, StorageError, Store, TenantScope, VeuItem, VeuItemId, VeuSnapshot,
    VeuStatus, WebhookEventType,
};

use super::bank::{AsUser, Bank, Delivery};
use super::error::{Refusal, ServiceError};
use super::keys::stored_signature_key;
use super::orders::{complete, BankVerdict, OrderError};
use super::Services;
use crate::ebics::{DownloadRequest, EbicsError, VeuOrderParams, VeuOrderRef, VeuSignature};

/// Why a VEU step failed.
#[derive(Debug, thiserror::Error)]
pub enum VeuError {
    #[error("the bank refused {order_type}: {code} {text}")]
    Bank {
        order_type: String,
        code: ResultCode,
        text: String,
    },
    /// The exchange with the bank failed otherwise (network, an unreadable answer).
    #[error("VEU request failed: {0}")]
    Exchange(#[source] EbicsError),
    #[error("{order_type} answer unreadable: {message}")]
    Unreadable {
        order_type: &'static str,
        message: String,
    },
    #[error("VEU item is {0}; this step needs another status")]
    WrongStatus(VeuStatus),
    /// The answer to the signature was lost, and the bank's VEU shows the order without it.
    #[error(
        "the signature did not reach the bank (its VEU lists the order without it); approve again"
    )]
    SignatureNotReceived,
    #[error("user may not {0}")]
    NotPermitted(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Order(#[from] OrderError),
}

impl VeuError {
    /// Whether the bank's answer to a signature was lost or unusable: whether it arrived is
    /// unknown, and only the bank's VEU can tell.
    fn is_unconfirmed(&self) -> bool {
        matches!(
            self,
            Self::Exchange(
                EbicsError::Transport(_) | EbicsError::BankSignature(_) | EbicsError::Protocol(_)
            )
        )
    }
}

impl From<EbicsError> for VeuError {
    fn from(error: EbicsError) -> Self {
        match error {
            EbicsError::Bank {
                order_type,
                rejection,
                ..
            } => Self::Bank {
                order_type: order_type.to_string(),
                code: rejection.code,
                text: rejection.text,
            },
            EbicsError::Storage(e) => Self::Storage(e),
            other => Self::Exchange(other),
        }
    }
}

/// One order of the bank's overview, from HVZ or HVU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VeuOverviewItem {
    /// The order, who signed it and who still has to.
    pub pending: PendingOrder,
    /// HVZ only.
    pub amount: Option<Amount>,
    pub currency: Option<Currency>,
    /// The digest to sign for HVE, with the signature version the bank expects (HVZ only;
    /// otherwise from HVD).
    pub data_digest: Option<DataDigest>,
}

impl From<HVZOrderDetails> for VeuOverviewItem {
    fn from(o: HVZOrderDetails) -> Self {
        Self {
            amount: o.total_amount.as_ref().map(|a| Amount::new(a.value)),
            currency: o.currency,
            data_digest: Some(o.data_digest),
            pending: o.pending,
        }
    }
}

impl From<HVUOrderDetails> for VeuOverviewItem {
    fn from(o: HVUOrderDetails) -> Self {
        Self {
            amount: None,
            currency: None,
            data_digest: None,
            pending: o.pending,
        }
    }
}

/// HVD and HVT of one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VeuDetails {
    pub status: HVDResponseOrderData,
    pub transactions: Option<HVTResponseOrderData>,
}

/// An HVE signature computed by the signer over the order's data digest.
#[derive(Debug, Clone)]
pub struct VeuApproval {
    pub item: VeuItemId,
    pub signer: EbicsUserId,
    pub version: SignatureVersion,
    pub signature: Vec<u8>,
}

impl VeuApproval {
    /// The approval as `signer`'s signature over `item`, doing `action`.
    fn to_send<'a>(
        &'a self,
        action: VeuAction,
        signer: &'a EbicsUser,
        item: &'a VeuItem,
    ) -> OutgoingSignature<'a> {
        OutgoingSignature {
            signer,
            item,
            action,
            approval: self,
        }
    }
}

/// The bank side of VEU (the client's HVU/HVZ/HVD/HVT downloads and HVE/HVS uploads), behind a
/// trait so the syncing and state handling are testable alone.
pub trait VeuBank: Send + Sync {
    /// HVZ (or HVU where the bank lacks HVZ) for `user`; empty when nothing awaits signing.
    fn overview(
        &self,
        scope: &TenantScope,
        user: EbicsUserId,
    ) -> impl Future<Output = Result<Vec<VeuOverviewItem>, VeuError>> + Send;

    fn details(
        &self,
        scope: &TenantScope,
        user: EbicsUserId,
        item: &VeuItem,
    ) -> impl Future<Output = Result<VeuDetails, VeuError>> + Send;

    /// Sends the signer's signature over the item's order: HVE adds it, HVS cancels the
    /// order.
    fn send_signature(
        &self,
        scope: &TenantScope,
        signature: OutgoingSignature<'_>,
    ) -> impl Future<Output = Result<(), VeuError>> + Send;
}

/// A signature on its way to the bank's VEU: who signs which item, what the signature does,
/// and the signature itself.
#[derive(Debug, Clone, Copy)]
pub struct OutgoingSignature<'a> {
    pub signer: &'a EbicsUser,
    pub item: &'a VeuItem,
    pub action: VeuAction,
    pub approval: &'a VeuApproval,
}

/// What a signature sent to the bank's VEU does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VeuAction {
    /// HVE: the signature counts towards the order's release.
    Sign,
    /// HVS: the signature cancels the order.
    Cancel,
}

/// What a sync changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VeuSyncReport {
    pub listed: usize,
    /// Items we had signed last that left the bank's list: the bank executed them.
    pub executed: usize,
    /// PENDING items that left the list without our signature (signed by others, cancelled
    /// or expired; the overview does not say which). Left PENDING for HVD to decide.
    pub gone_unexplained: usize,
}

/// Syncs the bank's overview for `user` into `veu_items` and `veu_signers`.
pub async fn sync<B: VeuBank + ?Sized>(
    store: &Store,
    bank: &B,
    scope: &TenantScope,
    user: EbicsUserId,
) -> Result<VeuSyncReport, VeuError> {
    let overview = bank.overview(scope, user).await?;
    let mut tx = store.scope(scope).begin().await?;
    let connection = tx.get(user).await.map(|u: EbicsUser| u.connection_id)?;
    let report = apply_overview(&mut tx, connection, overview).await?;
    tx.commit().await?;
    Ok(report)
}

/// Stores an overview (one database transaction): upserts listed items with their signers and
/// settles items that left the list.
async fn apply_overview(
    tx: &mut ScopedTx<'_>,
    connection: ConnectionId,
    overview: Vec<VeuOverviewItem>,
) -> Result<VeuSyncReport, VeuError> {
    let mut report = VeuSyncReport {
        listed: overview.len(),
        ..Default::default()
    };
    let mut listed = Vec::with_capacity(overview.len());
    for entry in overview {
        let order = &entry.pending;
        // Kept as listed, every part checked: the requests about the order repeat it.
        let order_type =
            OrderTypeOrService::try_from(&order.order).map_err(|e| VeuError::Unreadable {
                order_type: "HVU/HVZ",
                message: format!("order {}: {e}", order.order_id),
            })?;
        let item = tx
            .veu_items()
            .upsert(VeuSnapshot {
                connection_id: connection,
                bank_order_id: order.order_id.clone(),
                order_type,
                signatures_collected: i64::from(order.signing_info.num_sig_done),
                signatures_required: i64::from(order.signing_info.num_sig_required.get()),
                amount: entry.amount,
                currency: entry.currency,
                originator: Some(order.originator.user_id.clone()),
                expires_at: None,
            })
            .await?;
        let signers = order
            .signers
            .iter()
            .map(|s| NewVeuSigner {
                partner_id: s.partner_id.clone(),
                user_id: s.user_id.clone(),
                name: s.name.clone(),
                signature_class: class_of(s.authorisation_level),
                signed_at: Some(s.timestamp),
            })
            .collect();
        tx.veu_items().replace_signers(item.id, signers).await?;
        // An item seen for the first time (the upsert wrote it now) waits for signatures.
        if item.created_at == item.synced_at && item.status == VeuStatus::Pending {
            events::veu_item(tx, WebhookEventType::VeuSignatureNeeded, item.id).await?;
        }
        if let Some(digest) = &entry.data_digest {
            // Stored so that showing it to a signer later needs no bank conversation.
            tx.veu_items()
                .record_digest(
                    item.id,
                    &hex::encode(&digest.digest),
                    digest.signature_version,
                )
                .await?;
        }
        listed.push(item.id);
    }
    for status in [VeuStatus::Signed, VeuStatus::Pending] {
        for item in tx.veu_items().list_by_status(status).await? {
            if item.connection_id != connection || listed.contains(&item.id) {
                continue;
            }
            if status == VeuStatus::Signed {
                tx.veu_items()
                    .set_status(item.id, VeuStatus::Signed, VeuStatus::Executed)
                    .await?;
                events::veu_item(tx, WebhookEventType::VeuExecuted, item.id).await?;
                complete_executed_order(tx, connection, &item.bank_order_id).await?;
                report.executed += 1;
            } else {
                report.gone_unexplained += 1;
            }
        }
    }
    Ok(report)
}

/// A VEU item the bank executed completes the order it carried (ours, if we uploaded it).
async fn complete_executed_order(
    tx: &mut ScopedTx<'_>,
    connection: ConnectionId,
    bank_order_id: &str,
) -> Result<(), VeuError> {
    for order in tx.orders().list_by_status(OrderStatus::Processing).await? {
        if order.bank_order_id.as_deref() != Some(bank_order_id) {
            continue;
        }
        let user: EbicsUser = tx.get(order.ebics_user_id).await?;
        if user.connection_id == connection {
            complete(tx, order.id, BankVerdict::Executed).await?;
        }
    }
    Ok(())
}

/// The signature class an EBICS authorisation level grants.
pub(crate) fn class_of(level: AuthorisationLevel) -> SignatureClass {
    match level {
        AuthorisationLevel::E => SignatureClass::E,
        AuthorisationLevel::A => SignatureClass::A,
        AuthorisationLevel::B => SignatureClass::B,
        AuthorisationLevel::T => SignatureClass::T,
    }
}

/// HVD (and HVT) for an item, fetched for `user`.
pub async fn details<B: VeuBank + ?Sized>(
    store: &Store,
    bank: &B,
    scope: &TenantScope,
    user: EbicsUserId,
    item: VeuItemId,
) -> Result<VeuDetails, VeuError> {
    let item: VeuItem = store.scope(scope).begin().await?.get(item).await?;
    bank.details(scope, user, &item).await
}

/// Sends the signer's HVE. When it was the last required signature the item becomes SIGNED
/// (the next sync sees it leave the list and marks it EXECUTED).
pub async fn approve<B: VeuBank + ?Sized>(
    store: &Store,
    bank: &B,
    scope: &TenantScope,
    approval: VeuApproval,
) -> Result<VeuItem, VeuError> {
    let (item, signer) = load_for_signing(store, scope, approval.item, approval.signer).await?;
    if signer.signature_class == SignatureClass::T {
        return Err(VeuError::NotPermitted(
            "approve with a transport signature".into(),
        ));
    }
    let signature = approval.to_send(VeuAction::Sign, &signer, &item);
    match bank.send_signature(scope, signature).await {
        Ok(()) => {}
        Err(e) if e.is_unconfirmed() => {
            signature_at_bank(store, bank, scope, &signer, &item, e).await?
        }
        Err(e) => return Err(e),
    }
    let mut tx = store.scope(scope).begin().await?;
    let collected = item.signatures_collected + 1;
    let item = if collected >= item.signatures_required {
        tx.veu_items()
            .set_status(item.id, VeuStatus::Pending, VeuStatus::Signed)
            .await?
    } else {
        item
    };
    tx.commit().await?;
    Ok(item)
}

/// Asks the bank (HVD) whether a signer's HVE arrived, after its answer was lost or unusable:
/// the upload is never sent twice, so the bank's VEU is the only witness. `Ok` when the bank
/// lists the signer, or no longer has the order awaiting signatures (the signature released
/// it, or the order left the VEU otherwise; the next sync says which); an error when the
/// bank shows the order without the signature (the signer may approve again) or cannot be
/// asked now (the original error).
async fn signature_at_bank<B: VeuBank + ?Sized>(
    store: &Store,
    bank: &B,
    scope: &TenantScope,
    signer: &EbicsUser,
    item: &VeuItem,
    unconfirmed: VeuError,
) -> Result<(), VeuError> {
    tracing::warn!(item = %item.id, error = %unconfirmed, "HVE answer lost: asking the bank");
    let connection: Connection = store
        .scope(scope)
        .begin()
        .await?
        .get(signer.connection_id)
        .await?;
    match bank.details(scope, signer.id, item).await {
        Ok(details) => {
            let signed = details
                .status
                .signers
                .iter()
                .any(|s| s.user_id == signer.user_id && s.partner_id == connection.partner_id);
            if signed {
                Ok(())
            } else {
                Err(VeuError::SignatureNotReceived)
            }
        }
        Err(VeuError::Bank { code, text, .. }) => {
            tracing::info!(item = %item.id, %code, %text, "the order no longer awaits signatures");
            Ok(())
        }
        Err(_) => Err(unconfirmed),
    }
}

/// Sends HVS (signed by the cancelling user over the order's digest) and marks the item
/// CANCELLED.
pub async fn cancel<B: VeuBank + ?Sized>(
    store: &Store,
    bank: &B,
    scope: &TenantScope,
    approval: VeuApproval,
) -> Result<VeuItem, VeuError> {
    let (item, user) = load_for_signing(store, scope, approval.item, approval.signer).await?;
    let signature = approval.to_send(VeuAction::Cancel, &user, &item);
    match bank.send_signature(scope, signature).await {
        Ok(()) => {}
        // The HVS was never sent twice; the bank's VEU overview tells whether it took
        // effect: an order still listed as awaiting signatures was not cancelled.
        Err(e) if e.is_unconfirmed() => match bank.overview(scope, user.id).await {
            Ok(listed)
                if listed
                    .iter()
                    .any(|o| o.pending.order_id == item.bank_order_id) =>
            {
                return Err(VeuError::SignatureNotReceived)
            }
            Ok(_) => {}
            Err(_) => return Err(e),
        },
        Err(e) => return Err(e),
    }
    let mut tx = store.scope(scope).begin().await?;
    let item = tx
        .veu_items()
        .set_status(item.id, item.status, VeuStatus::Cancelled)
        .await?;
    events::veu_item(&mut tx, WebhookEventType::VeuCancelled, item.id).await?;
    tx.commit().await?;
    Ok(item)
}

async fn load_for_signing(
    store: &Store,
    scope: &TenantScope,
    item: VeuItemId,
    user: EbicsUserId,
) -> Result<(VeuItem, EbicsUser), VeuError> {
    let mut tx = store.scope(scope).begin().await?;
    let item: VeuItem = tx.get(item).await?;
    let user: EbicsUser = tx.get(user).await?;
    if item.status != VeuStatus::Pending {
        return Err(VeuError::WrongStatus(item.status));
    }
    if user.connection_id != item.connection_id {
        return Err(VeuError::NotPermitted(
            "act on another connection's order".into(),
        ));
    }
    Ok((item, user))
}

/// The VEU bank of a [`Bank`]: HVZ (or HVU) for the overview, HVD and HVT for details, HVE
/// and HVS for signatures, each referring to the item's order at the bank by the partner of
/// the item's connection.
pub struct BankVeu<'a> {
    pub store: &'a Store,
    pub bank: &'a dyn Bank,
}

impl BankVeu<'_> {
    /// Downloads one VEU document; `None` when the bank has nothing (090005).
    async fn document(
        &self,
        scope: &TenantScope,
        user: EbicsUserId,
        params: VeuOrderParams,
    ) -> Result<Option<Vec<u8>>, VeuError> {
        match self
            .bank
            .download(AsUser { scope, user }, DownloadRequest::veu(params))
            .await?
        {
            Delivery::NoData { .. } => Ok(None),
            Delivery::Data { file, .. } => Ok(Some(self.bank.files().content(&file).await?)),
        }
    }

    /// How the bank names the item's order.
    async fn reference(
        &self,
        scope: &TenantScope,
        item: &VeuItem,
    ) -> Result<VeuOrderRef, VeuError> {
        let mut tx = self.store.scope(scope).begin().await?;
        let connection: Connection = tx.get(item.connection_id).await?;
        tx.commit().await?;
        Ok(VeuOrderRef {
            partner_id: connection.partner_id,
            order_id: item.bank_order_id.clone(),
            order: item.order_type.clone(),
        })
    }
}

fn unreadable(
    order_type: &'static str,
) -> impl Fn(kontor_protocol::orderdata::OrderDataError) -> VeuError {
    move |e| VeuError::Unreadable {
        order_type,
        message: e.to_string(),
    }
}

impl VeuBank for BankVeu<'_> {
    async fn overview(
        &self,
        scope: &TenantScope,
        user: EbicsUserId,
    ) -> Result<Vec<VeuOverviewItem>, VeuError> {
        // HVZ carries amounts and digests; banks without it still offer HVU.
        match self.document(scope, user, VeuOrderParams::Hvz).await {
            Ok(None) => Ok(Vec::new()),
            Ok(Some(xml)) => Ok(HVZResponseOrderData::parse(&xml)
                .map_err(unreadable("HVZ"))?
                .orders
                .into_iter()
                .map(VeuOverviewItem::from)
                .collect()),
            Err(VeuError::Bank { .. }) => {
                match self.document(scope, user, VeuOrderParams::Hvu).await? {
                    None => Ok(Vec::new()),
                    Some(xml) => Ok(HVUResponseOrderData::parse(&xml)
                        .map_err(unreadable("HVU"))?
                        .orders
                        .into_iter()
                        .map(VeuOverviewItem::from)
                        .collect()),
                }
            }
            Err(other) => Err(other),
        }
    }

    async fn details(
        &self,
        scope: &TenantScope,
        user: EbicsUserId,
        item: &VeuItem,
    ) -> Result<VeuDetails, VeuError> {
        let reference = self.reference(scope, item).await?;
        let status = self
            .document(scope, user, VeuOrderParams::Hvd(reference.clone()))
            .await?
            .ok_or_else(|| VeuError::Unreadable {
                order_type: "HVD",
                message: "no data".into(),
            })?;
        let status = HVDResponseOrderData::parse(&status).map_err(unreadable("HVD"))?;
        // Transactions are a convenience for the signer: an order without them (not a
        // payment file) or a refused HVT still has its details.
        let hvt = VeuOrderParams::Hvt {
            order: reference,
            complete_order_data: false,
            fetch_limit: 0,
            fetch_offset: 0,
        };
        let transactions = match self.document(scope, user, hvt).await {
            Ok(Some(xml)) => HVTResponseOrderData::parse(&xml).ok(),
            Ok(None) | Err(VeuError::Bank { .. }) => None,
            Err(other) => return Err(other),
        };
        Ok(VeuDetails {
            status,
            transactions,
        })
    }

    async fn send_signature(
        &self,
        scope: &TenantScope,
        signature: OutgoingSignature<'_>,
    ) -> Result<(), VeuError> {
        let reference = self.reference(scope, signature.item).await?;
        let signer = signature.signer.id;
        let signature = VeuSignature {
            reference,
            cancel: signature.action == VeuAction::Cancel,
            version: signature.approval.version,
            value: signature.approval.signature.clone(),
        };
        Ok(self
            .bank
            .veu_signature(
                AsUser {
                    scope,
                    user: signer,
                },
                signature,
            )
            .await?)
    }
}

/// The digest a signer signs for a VEU item, as the bank reported it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct VeuDigest {
    /// The order data digest (HVD `DataDigest`), lower-case hex: what a signer signs.
    pub data_digest: String,
    /// The signature version the bank expects.
    pub signature_version: SignatureVersion,
}

impl VeuDigest {
    /// The digest stored on the item, when the bank has reported it.
    pub fn stored(item: &VeuItem) -> Option<Self> {
        Some(Self {
            data_digest: item.data_digest.clone()?,
            signature_version: item.data_digest_version.unwrap_or(SignatureVersion::A006),
        })
    }
}

/// A detached A005/A006 signature computed by a signer on their own machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetachedSignature {
    /// The EBICS user who signed (their key is registered with the daemon).
    pub signer: EbicsUserId,
    /// A005 or A006.
    pub version: SignatureVersion,
    pub value: Vec<u8>,
    /// The EBICS hash of the signer's key as the signer sees it.
    pub key_hash: KeyHash,
}

/// The signer must be a user of the item's connection.
pub fn check_same_connection(item: &VeuItem, signer: &EbicsUser) -> Result<(), Refusal> {
    if item.connection_id == signer.connection_id {
        Ok(())
    } else {
        Err(Refusal::SignerNotInPartner)
    }
}

/// The signer, who must be a user of the item's connection.
async fn signer_of(
    services: &Services,
    scope: &TenantScope,
    item: VeuItemId,
    signer: EbicsUserId,
) -> Result<EbicsUser, ServiceError> {
    let mut tx = services.store().scope(scope).begin().await?;
    let item: VeuItem = tx.get(item).await?;
    let user: EbicsUser = tx.get(signer).await?;
    check_same_connection(&item, &user)?;
    Ok(user)
}

/// Refreshes the VEU items of a user's connection from the bank (HVZ or HVU).
pub async fn sync_for(
    services: &Services,
    scope: &TenantScope,
    user: EbicsUserId,
) -> Result<VeuSyncReport, ServiceError> {
    let bank = BankVeu {
        store: services.store(),
        bank: services.bank()?,
    };
    Ok(sync(services.store(), &bank, scope, user).await?)
}

/// Asks the bank for an item's digest (HVD) as `signer` and stores it on the item.
pub async fn fetch_digest(
    services: &Services,
    scope: &TenantScope,
    item: VeuItemId,
    signer: EbicsUserId,
) -> Result<VeuDigest, ServiceError> {
    signer_of(services, scope, item, signer).await?;
    let bank = BankVeu {
        store: services.store(),
        bank: services.bank()?,
    };
    let details = details(services.store(), &bank, scope, signer, item).await?;
    let digest = details.status.data_digest;
    let digest = VeuDigest {
        data_digest: hex::encode(&digest.digest),
        signature_version: digest.signature_version.unwrap_or(SignatureVersion::A006),
    };
    let mut tx = services.store().scope(scope).begin().await?;
    tx.veu_items()
        .record_digest(item, &digest.data_digest, Some(digest.signature_version))
        .await?;
    tx.commit().await?;
    Ok(digest)
}

/// Adds a signer's signature to an item at the bank (HVE), or cancels the item (HVS).
pub async fn decide(
    services: &Services,
    scope: &TenantScope,
    item: VeuItemId,
    signature: DetachedSignature,
    cancel_order: bool,
) -> Result<VeuItem, ServiceError> {
    signer_of(services, scope, item, signature.signer).await?;
    // The bank verifies the value; a key other than the registered one is refused here.
    let registered = stored_signature_key(services.store(), scope, signature.signer)
        .await?
        .is_some_and(|k| k.key_hash == signature.key_hash);
    if !registered {
        return Err(Refusal::UnknownSignerKey.into());
    }
    let bank = BankVeu {
        store: services.store(),
        bank: services.bank()?,
    };
    let approval = VeuApproval {
        item,
        signer: signature.signer,
        version: signature.version,
        signature: signature.value,
    };
    let decided = if cancel_order {
        cancel(services.store(), &bank, scope, approval).await?
    } else {
        approve(services.store(), &bank, scope, approval).await?
    };
    Ok(decided)
}
