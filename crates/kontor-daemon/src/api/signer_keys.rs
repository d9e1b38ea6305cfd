//! `/v1/ebics-users/{id}/key-pairs` and `/signer-keys`: a user's keys (public information
//! only), and signature keys held by signers on their own machines.

use axum::Json;
use kontor_protocol::certificate::Certificate;
use kontor_protocol::keys::PublicKey;
use kontor_protocol::SignatureVersion;
use kontor_storage::{EbicsUserId, KeyPair, KeyPairId};
use serde::Deserialize;

use super::auth::Caller;
use super::error::ApiError;
use super::extract::{Ids, JsonBody, On};
use super::records::children_granted;
use super::respond::Created;
use super::{Access, Routes};
use crate::services::users::{self, SignerKey};

pub fn routes(routes: Routes) -> Routes {
    routes
        .read(
            "/v1/ebics-users/{id}/key-pairs",
            "Key pairs: public information only",
            children_granted::<KeyPair>,
        )
        .post(
            "/v1/ebics-users/{id}/signer-keys",
            Access::Operate,
            "Register a signer-held signature public key (NEW users only)",
            register,
        )
        .post(
            "/v1/ebics-users/{id}/signer-keys/{key}/revoke",
            Access::Own,
            "Revoke a signer-held signature key (Owners only; audited)",
            revoke,
        )
}

/// A signer-held signature public key as the signer's CLI sends it (also the new key of a
/// signer's HCS).
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RegisterSignerKey {
    /// A005 or A006.
    version: String,
    /// SubjectPublicKeyInfo PEM (`kontor sign pubkey`).
    public_key_pem: String,
    /// X.509 certificate PEM; required for H005 banks, whose key hash is the certificate's.
    certificate_pem: Option<String>,
}

impl RegisterSignerKey {
    /// The key as the request gives it: parsed, and its certificate certifying it.
    pub(super) fn parse(&self) -> Result<SignerKey, ApiError> {
        let version: SignatureVersion = self.version.parse().map_err(|_| {
            ApiError::invalid("invalid_signature_version", "version must be A005 or A006")
        })?;
        let key = PublicKey::from_spki_pem(&self.public_key_pem)
            .map_err(|e| ApiError::invalid("invalid_public_key", e.to_string()))?;
        let certificate = self
            .certificate_pem
            .as_deref()
            .map(Certificate::from_pem)
            .transpose()
            .map_err(|e| ApiError::invalid("invalid_certificate", e.to_string()))?;
        if let Some(cert) = &certificate {
            if cert.public_key() != &key {
                return Err(ApiError::invalid(
                    "certificate_key_mismatch",
                    "the certificate does not certify this public key",
                ));
            }
        }
        Ok(SignerKey {
            version,
            key,
            certificate,
        })
    }
}

async fn register(
    On(caller, id): On<EbicsUserId>,
    JsonBody(body): JsonBody<RegisterSignerKey>,
) -> Result<Created<KeyPair>, ApiError> {
    let signer_key = body.parse()?;
    let pair = caller
        .write_granted(id, async |tx, _| {
            users::register_signer_key(tx, id, signer_key).await
        })
        .await?;
    Ok(Created(pair))
}

async fn revoke(
    caller: Caller,
    Ids(id, key): Ids<EbicsUserId, KeyPairId>,
) -> Result<Json<KeyPair>, ApiError> {
    let revoked = caller
        .write_granted(id, async |tx, _| {
            users::revoke_signer_key(tx, id, key).await
        })
        .await?;
    Ok(Json(revoked))
}
