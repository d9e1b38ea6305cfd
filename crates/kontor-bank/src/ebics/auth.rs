//! Who is asking, and may they: host, protocol version, subscriber, X002 signature, subscriber
//! state and replay protection — checked in the order a bank must check them so that no answer
//! reveals more than the caller is entitled to know.

use chrono::{DateTime, Utc};
use kontor_protocol::certificate::KeyPurpose;
use kontor_protocol::encryption;
use kontor_protocol::envelope::{DataEncryptionInfo, PubKeyDigest};
use kontor_protocol::keys::PublicKey;
use kontor_protocol::{EncryptionVersion, ProtocolVersion};
use rand::rngs::OsRng;
use rsa::pkcs8::DecodePublicKey as _;
use rsa::RsaPublicKey;

use super::reply::Reject;
use crate::dispatch::RequestContext;
use crate::ids::{Nonce, PartnerId, UserId};
use crate::return_codes::ReturnCode;
use crate::state::Subscriber;

/// An authenticated subscriber in state Ready.
#[derive(Debug, Clone)]
pub struct Caller {
    pub subscriber: Subscriber,
    encryption_key: PublicKey,
}

impl Caller {
    pub fn partner(&self) -> &PartnerId {
        &self.subscriber.partner_id
    }

    pub fn user(&self) -> &UserId {
        &self.subscriber.user_id
    }
}

pub fn check_host(ctx: &RequestContext, host: &str) -> Result<(), Reject> {
    if host != ctx.config.bank.host_id.as_str() {
        return Err(Reject::new(
            ReturnCode::INVALID_HOST_ID,
            format!("this bank is {}", ctx.config.bank.host_id),
        ));
    }
    Ok(())
}

pub fn check_version(ctx: &RequestContext, version: ProtocolVersion) -> Result<(), Reject> {
    if !ctx.config.supports(version) {
        return Err(Reject::new(
            ReturnCode::INVALID_REQUEST,
            format!("protocol version {} is not offered", version.as_str()),
        ));
    }
    Ok(())
}

pub fn ids(partner: &str, user: &str) -> Result<(PartnerId, UserId), Reject> {
    let unknown = || Reject::new(ReturnCode::USER_UNKNOWN, "");
    Ok((
        partner.parse().map_err(|_| unknown())?,
        user.parse().map_err(|_| unknown())?,
    ))
}

pub fn known_subscriber(
    ctx: &RequestContext,
    partner: &PartnerId,
    user: &UserId,
) -> Result<Subscriber, Reject> {
    ctx.state
        .subscriber(partner, user)
        .ok_or_else(|| Reject::new(ReturnCode::USER_UNKNOWN, format!("{partner}/{user}")))
}

/// Finds the subscriber, verifies the X002 signature with its registered key (via `verify`),
/// and requires state Ready.
pub fn authenticate(
    ctx: &RequestContext,
    partner: &PartnerId,
    user: &UserId,
    verify: impl FnOnce(&RsaPublicKey) -> bool,
) -> Result<Caller, Reject> {
    let subscriber = known_subscriber(ctx, partner, user)?;
    let state_error = || {
        Reject::new(
            ReturnCode::INVALID_USER_OR_USER_STATE,
            format!("subscriber {partner}/{user} is {:?}", subscriber.status),
        )
    };
    let key = subscriber
        .keys
        .get(KeyPurpose::Authentication)
        .and_then(|k| RsaPublicKey::from_public_key_der(&k.public_key).ok())
        .ok_or_else(state_error)?;
    if !verify(&key) {
        return Err(Reject::new(
            ReturnCode::AUTHENTICATION_FAILED,
            "X002 signature does not verify with the registered key",
        ));
    }
    if !subscriber.status.may_transact() {
        return Err(state_error());
    }
    let encryption_key = subscriber
        .keys
        .get(KeyPurpose::Encryption)
        .and_then(|k| PublicKey::from_spki_der(&k.public_key).ok())
        .ok_or_else(state_error)?;
    Ok(Caller {
        subscriber,
        encryption_key,
    })
}

pub fn check_nonce(
    ctx: &RequestContext,
    nonce: &[u8; 16],
    timestamp: DateTime<Utc>,
) -> Result<(), Reject> {
    ctx.state
        .check_nonce(Nonce::from_bytes(*nonce), timestamp, ctx.received_at)
        .map_err(|e| Reject::new(ReturnCode::TX_MESSAGE_REPLAY, e.to_string()))
}

/// E002: encrypts (already compressed) data for the caller with a fresh transaction key.
pub fn encrypt_for_subscriber(
    caller: &Caller,
    compressed: &[u8],
) -> Result<(DataEncryptionInfo, Vec<u8>), Reject> {
    let encrypted = encryption::encrypt(&caller.encryption_key, compressed, &mut OsRng)
        .map_err(|e| Reject::new(ReturnCode::INTERNAL_ERROR, e.to_string()))?;
    let hash = caller
        .subscriber
        .keys
        .get(KeyPurpose::Encryption)
        .map(|k| *k.hash.as_bytes())
        .unwrap_or_default();
    Ok((
        DataEncryptionInfo {
            encryption_version: EncryptionVersion::E002,
            encryption_pub_key_digest: PubKeyDigest::sha256(hash),
            transaction_key: encrypted.encrypted_transaction_key,
        },
        encrypted.ciphertext,
    ))
}
