//! EBICS users: creation, suspension, signer-held signature keys (registered before INI,
//! revoked by an Owner, both audited) and the bank permissions an operator records.

use kontor_protocol::certificate::Certificate;
use kontor_protocol::keys::{public_key_hash, KeyHash, PublicKey};
use kontor_protocol::return_code::ReturnCode;
use kontor_protocol::signature::{verify_order_data, SPR_ORDER_DATA};
use kontor_protocol::{ProtocolVersion, SignatureVersion};
use kontor_storage::{
    Account, AuditAction, Connection, DbEnum, EbicsUser, EbicsUserId, EbicsUserStatus, KeyCustody,
    KeyPair, KeyPairId, KeyStatus, KeyUsage, NewEbicsUser, NewPermission, NewSignerKey, Permission,
    ResultCode, ScopedTx, TenantScope,
};

use super::bank::AsUser;
use super::error::{OnConflict, Refusal, ServiceError};
use super::keys::stored_signature_key;
use crate::ebics::key_management::set_key_status_audited;

pub async fn create(tx: &mut ScopedTx<'_>, new: NewEbicsUser) -> Result<EbicsUser, ServiceError> {
    let _: Connection = tx.get(new.connection_id).await?;
    tx.ebics_users()
        .create(new)
        .await
        .on_conflict(Refusal::UserExists)
}

/// A signer's ES over SPR's order data ([`SPR_ORDER_DATA`]), made with the signer-held
/// signature key on their machine (`kontor sign suspend`).
#[derive(Debug, Clone)]
pub struct SprSignature {
    pub version: SignatureVersion,
    pub value: Vec<u8>,
    /// The EBICS hash of the key the signer signed with; when given, another key is refused
    /// with a clear answer before the signature is verified.
    pub key_hash: Option<KeyHash>,
}

/// Suspends a READY user at the bank: SPR first, and READY → SUSPENDED (audited) only when
/// the bank confirmed it. A refusal leaves the user as it was. The daemon signs SPR with the
/// signature key it holds; for a signer-held key the signer's `signature` is verified
/// against the ACTIVE key first, and nothing is sent when it does not verify.
pub async fn suspend(
    services: &super::Services,
    scope: &TenantScope,
    id: EbicsUserId,
    signature: Option<SprSignature>,
) -> Result<EbicsUser, ServiceError> {
    let user: EbicsUser = services.store().scope(scope).read().await?.get(id).await?;
    Refusal::unless_user_in(&user, EbicsUserStatus::Ready)?;
    let signed = match signature {
        Some(signature) => Some(verified_spr(services, scope, id, signature).await?),
        None => None,
    };
    services
        .bank()?
        .suspend(AsUser { scope, user: id }, signed)
        .await?;
    let mut tx = services.store().scope(scope).begin().await?;
    let current: EbicsUser = tx.get(id).await?;
    Refusal::unless_user_in(&current, EbicsUserStatus::Ready)?;
    // The bank accepted the SPR order (EBICS_OK): that answer is the suspension's reason.
    let suspended = tx
        .ebics_users()
        .set_status_with_reason(
            id,
            EbicsUserStatus::Ready,
            EbicsUserStatus::Suspended,
            &ResultCode::from(&ReturnCode::Ok),
            SPR_CONFIRMED,
        )
        .await?;
    tx.audit()
        .record(
            AuditAction::EbicsUserSuspended,
            "ebics_user",
            &id.to_string(),
            serde_json::json!({"ebics_user_id": id, "order_type": "SPR"}),
        )
        .await?;
    tx.commit().await?;
    Ok(suspended)
}

/// The text a user SUSPENDED by SPR keeps beside `000000`: the bank's acceptance of the order.
const SPR_CONFIRMED: &str = "EBICS_OK: the bank confirmed the suspension (SPR)";

/// The signer's ES of SPR, checked against the user's ACTIVE signer-held signature key.
async fn verified_spr(
    services: &super::Services,
    scope: &TenantScope,
    id: EbicsUserId,
    signature: SprSignature,
) -> Result<crate::ebics::SignerSpr, ServiceError> {
    let key = stored_signature_key(services.store(), scope, id)
        .await?
        .filter(|k| k.status == KeyStatus::Active)
        .ok_or(Refusal::UnknownSignerKey)?;
    if key.custody != KeyCustody::Signer {
        return Err(Refusal::DaemonHoldsSignatureKey.into());
    }
    if let Some(given) = &signature.key_hash {
        if key.key_hash != *given {
            return Err(Refusal::UnknownSignerKey.into());
        }
    }
    if key.version != signature.version {
        return Err(Refusal::InvalidSignature(format!(
            "the signature is {}, the signature key is {}",
            signature.version.as_str(),
            key.version
        ))
        .into());
    }
    let public = PublicKey::from_spki_der(&key.public_key)
        .map_err(|e| ServiceError::Internal(Box::new(e)))?;
    verify_order_data(signature.version, &public, SPR_ORDER_DATA, &signature.value).map_err(
        |_| {
            Refusal::InvalidSignature(
                "the signature of SPR does not verify with the signer's ACTIVE signature key"
                    .into(),
            )
        },
    )?;
    Ok(crate::ebics::SignerSpr {
        version: signature.version,
        value: signature.value,
    })
}

/// The bank refused a request because of the user's state (091002
/// EBICS_INVALID_USER_OR_USER_STATE as a technical code: locked, suspended, or not yet
/// initialised at the bank): a READY or SUSPENDED user becomes LOCKED, audited with the
/// bank's code and text, so nothing more is sent for it until an operator re-activates it.
/// Users still onboarding are left to onboarding. Returns whether the user was locked.
pub async fn lock_if_refused_by_bank(
    store: &kontor_storage::Store,
    scope: &TenantScope,
    id: EbicsUserId,
    rejection: &crate::ebics::BankRejection,
) -> Result<bool, ServiceError> {
    if !(rejection.technical && rejection.code.is(&ReturnCode::InvalidUserOrUserState)) {
        return Ok(false);
    }
    let mut tx = store.scope(scope).begin().await?;
    let user: EbicsUser = tx.get(id).await?;
    if !matches!(
        user.status,
        EbicsUserStatus::Ready | EbicsUserStatus::Suspended
    ) {
        return Ok(false);
    }
    tx.ebics_users()
        .set_status_with_reason(
            id,
            user.status,
            EbicsUserStatus::Locked,
            &rejection.code,
            &rejection.text,
        )
        .await?;
    tx.audit()
        .record(
            AuditAction::EbicsUserLocked,
            "ebics_user",
            &id.to_string(),
            serde_json::json!({
                "ebics_user_id": id,
                "previous_status": user.status,
                "code": rejection.code,
                "text": rejection.text,
            }),
        )
        .await?;
    tx.commit().await?;
    tracing::warn!(user = %id, code = %rejection.code, text = %rejection.text, "the bank refuses the user: LOCKED");
    Ok(true)
}

/// Re-activates a SUSPENDED or LOCKED user the way the protocol requires: back to NEW with
/// its keys revoked, so onboarding generates new ones and sends INI/HIA again (the bank
/// accepts the user only after a new initialisation and its activation).
pub async fn resume(tx: &mut ScopedTx<'_>, id: EbicsUserId) -> Result<EbicsUser, ServiceError> {
    let user: EbicsUser = tx.get(id).await?;
    if !matches!(
        user.status,
        EbicsUserStatus::Suspended | EbicsUserStatus::Locked
    ) {
        return Err(Refusal::UserNotIn {
            status: user.status,
            expected: EbicsUserStatus::Suspended,
        }
        .into());
    }
    for &usage in KeyUsage::ALL {
        if let Some(pair) = tx.key_pairs().current(id, usage).await? {
            tx.key_pairs()
                .set_status(pair.id, pair.status, KeyStatus::Revoked)
                .await?;
        }
    }
    Ok(tx
        .ebics_users()
        .set_status(id, user.status, EbicsUserStatus::New)
        .await?)
}

/// A signature public key a signer holds the private part of.
#[derive(Debug, Clone)]
pub struct SignerKey {
    pub version: SignatureVersion,
    pub key: PublicKey,
    /// Required for H005 banks, whose key hash is the certificate's.
    pub certificate: Option<Certificate>,
}

impl SignerKey {
    /// The key as `user`'s record, hashed as a bank of `protocol` hashes it (H005: the
    /// certificate's hash, so a key without one is refused).
    pub(crate) fn record_for(
        self,
        user: EbicsUserId,
        protocol: ProtocolVersion,
    ) -> Result<NewSignerKey, ServiceError> {
        let hash = public_key_hash(protocol, &self.key, self.certificate.as_ref())
            .map_err(|e| Refusal::CertificateRequired(e.to_string()))?;
        let public_key = self
            .key
            .to_spki_der()
            .map_err(|e| ServiceError::Internal(Box::new(e)))?;
        Ok(NewSignerKey {
            ebics_user_id: user,
            version: self.version,
            public_key,
            key_hash: hash,
            certificate: self.certificate.map(|c| c.to_der().to_vec()),
        })
    }
}

/// Registers a signer-held signature key for a NEW user. Past NEW the bank holds the user's
/// signature key (INI was sent): replacing it here would lock the real signer out while the
/// daemon believed another key; a key change is an order to the bank (PUB/HCS), signed with
/// the current key. Before INI a signer may register again (e.g. a lost key file): the older
/// key is revoked.
pub async fn register_signer_key(
    tx: &mut ScopedTx<'_>,
    id: EbicsUserId,
    signer_key: SignerKey,
) -> Result<KeyPair, ServiceError> {
    let user: EbicsUser = tx.get(id).await?;
    if user.status != EbicsUserStatus::New {
        return Err(Refusal::SignerKeyKnownToBank(user.status).into());
    }
    let host = tx.ebics_users().with_host(user).await?.host;
    super::hosts::ensure_active(&host)?;
    let record = signer_key.record_for(id, host.protocol_version)?;
    if let Some(older) = tx.key_pairs().current(id, KeyUsage::Signature).await? {
        revoke(tx, &older, "replaced before INI").await?;
    }
    let pair = tx.key_pairs().register_signer_key(record).await?;
    tx.audit()
        .record(
            AuditAction::SignerKeyRegistered,
            "key_pair",
            &pair.id.to_string(),
            serde_json::json!({"ebics_user_id": id, "key_hash": pair.key_hash}),
        )
        .await?;
    Ok(pair)
}

/// An Owner revokes a signer-held key (a signer left, a key file may be compromised): the
/// key signs nothing from now on. A READY user then needs a key change with the bank.
pub async fn revoke_signer_key(
    tx: &mut ScopedTx<'_>,
    user: EbicsUserId,
    key: KeyPairId,
) -> Result<KeyPair, ServiceError> {
    let pair: KeyPair = tx.get(key).await?;
    if pair.ebics_user_id != user || pair.custody != KeyCustody::Signer {
        return Err(ServiceError::NotFound("signer key"));
    }
    revoke(tx, &pair, "revoked by an Owner").await
}

async fn revoke(tx: &mut ScopedTx<'_>, pair: &KeyPair, why: &str) -> Result<KeyPair, ServiceError> {
    let detail = serde_json::json!({
        "ebics_user_id": pair.ebics_user_id,
        "previous_status": pair.status,
        "reason": why,
    });
    let moves = (pair.status, KeyStatus::Revoked);
    let action = AuditAction::SignerKeyRevoked;
    Ok(set_key_status_audited(tx, pair.id, moves, action, detail).await?)
}

/// Records a permission the bank granted the user (an account of the tenant, if named).
pub async fn add_permission(
    tx: &mut ScopedTx<'_>,
    new: NewPermission,
) -> Result<Permission, ServiceError> {
    let _: EbicsUser = tx.get(new.ebics_user_id).await?;
    if let Some(account) = new.account_id {
        let _: Account = tx.get(account).await?;
    }
    Ok(tx.permissions().create(new).await?)
}
