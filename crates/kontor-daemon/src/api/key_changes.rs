//! `/v1/ebics-users/{id}/key-changes` and `/signer-keys/rotate`: a READY user's key change
//! (HCA, HCS, PUB) with keys the daemon holds, and a signer's rotation of a signer-held
//! signature key (`kontor sign rotate`).

use axum::extract::State;
use axum::Json;
use kontor_protocol::SignatureVersion;
use kontor_storage::{EbicsUserId, KeyPair, TransactionId};
use serde::{Deserialize, Serialize};

use super::auth::Caller;
use super::error::ApiError;
use super::extract::{Id, JsonBody};
use super::input::{FromInput, SignatureValue, Valid};
use super::{Access, AppState, Routes};
use crate::services::key_changes::{self, KeyChange, KeyChangeOutcome, SignerRotation};

pub fn routes(routes: Routes) -> Routes {
    routes
        .post(
            "/v1/ebics-users/{id}/key-changes",
            Access::Operate,
            "Change a READY user's keys with the bank (HCA, HCS or PUB; daemon-held signature key)",
            change,
        )
        .post(
            "/v1/ebics-users/{id}/signer-keys/rotate",
            Access::Operate,
            "Send a signer's new signature key (PUB signed with the old key by `kontor sign rotate`)",
            rotate,
        )
}

impl FromInput for KeyChange {
    const CODE: &'static str = "invalid_key_change";
    const MAX_CHARS: usize = 3;
    fn from_input(text: &str) -> Result<Self, String> {
        KeyChange::of_order_type(text).ok_or_else(|| "must be HCA, HCS or PUB".into())
    }
}

/// A key change document, base64 (a few KiB: one to three keys or certificates).
struct KeyDocument(Vec<u8>);

impl FromInput for KeyDocument {
    const CODE: &'static str = "invalid_key_change";
    const MAX_CHARS: usize = 64 * 1024;
    fn from_input(text: &str) -> Result<Self, String> {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map(Self)
            .map_err(|_| "not base64".into())
    }
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct ChangeRequest {
    kind: Valid<KeyChange>,
}

/// The keys the bank accepted, now ACTIVE (public information only).
#[derive(Serialize, schemars::JsonSchema)]
struct ChangeView {
    kind: KeyChange,
    transaction_id: TransactionId,
    keys: Vec<KeyPair>,
}

impl From<KeyChangeOutcome> for ChangeView {
    fn from(outcome: KeyChangeOutcome) -> Self {
        Self {
            kind: outcome.change,
            transaction_id: outcome.transaction,
            keys: outcome.keys,
        }
    }
}

async fn change(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id<EbicsUserId>,
    JsonBody(body): JsonBody<ChangeRequest>,
) -> Result<Json<ChangeView>, ApiError> {
    caller.granted(&mut caller.tx().await?, id).await?;
    let outcome =
        key_changes::change_keys(&state.services, &caller.scope, id, body.kind.into_inner())
            .await?;
    Ok(Json(outcome.into()))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RotateRequest {
    /// The PUB order data naming the new key, base64.
    document: Valid<KeyDocument>,
    /// The ES over `document` with the current key, base64.
    signature: Valid<SignatureValue>,
    /// The version of the ES (the current key's).
    signature_version: Valid<SignatureVersion>,
    /// The version of the new key.
    new_key_version: Valid<SignatureVersion>,
}

async fn rotate(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id<EbicsUserId>,
    JsonBody(body): JsonBody<RotateRequest>,
) -> Result<Json<ChangeView>, ApiError> {
    caller.granted(&mut caller.tx().await?, id).await?;
    let rotation = SignerRotation {
        document: body.document.into_inner().0,
        signature: body.signature.into_inner().0,
        signature_version: body.signature_version.into_inner(),
        new_key_version: body.new_key_version.into_inner(),
    };
    let outcome =
        key_changes::rotate_signer_key(&state.services, &caller.scope, id, rotation).await?;
    Ok(Json(outcome.into()))
}
