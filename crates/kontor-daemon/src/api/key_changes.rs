//! `/v1/ebics-users/{id}/key-changes` and `/signer-keys/rotate`: a READY user's key change
//! (HCA, HCS, PUB) with keys the daemon holds, and a signer's rotation of a signer-held
//! signature key (`kontor sign rotate`); `/key-changes/prepare` and `/key-changes/signed`:
//! the two halves of a signer-held user's HCA/HCS (`kontor sign key-change`);
//! `/key-changes/{change}/settle`: an operator's verdict on a key change left undecided.

use axum::extract::Path;
use axum::Json;
use kontor_protocol::SignatureVersion;
use kontor_storage::{EbicsUserId, KeyPair, TransactionId};
use serde::{Deserialize, Serialize};

use super::auth::Caller;
use super::error::ApiError;
use super::extract::path_id;
use super::extract::{JsonBody, On};
use super::input::{base64_bytes, newtype_input, parsed_input, FromInput, SignatureValue, Valid};
use super::signer_keys::RegisterSignerKey;
use super::{Access, Routes};
use crate::services::key_changes::{
    self, KeyChange, KeyChangeOutcome, PreparedChange, SettledChange, Settlement, SignedChange,
    SignerRotation,
};

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
        .post(
            "/v1/ebics-users/{id}/key-changes/prepare",
            Access::Operate,
            "Prepare a signer-held user's HCA/HCS: new keys PENDING and the document the signer signs",
            prepare,
        )
        .post(
            "/v1/ebics-users/{id}/key-changes/signed",
            Access::Operate,
            "Send a prepared HCA/HCS with the signer's ES (`kontor sign key-change`)",
            signed,
        )
        .post(
            "/v1/ebics-users/{id}/key-changes/{change}/settle",
            Access::Operate,
            "Settle an undecided key change (its upload's transaction id) after checking with the bank: ACCEPTED, REFUSED or PROBE (audited; 409 when nothing is undecided)",
            settle,
        )
}

parsed_input! {
    KeyChange => "invalid_key_change", 3, |text| KeyChange::of_order_type(text)
        .ok_or_else(|| "must be HCA, HCS or PUB".into());
    Settlement => "invalid_settlement", 8, |text| match text {
        "ACCEPTED" => Ok(Self::Accepted),
        "REFUSED" => Ok(Self::Refused),
        "PROBE" => Ok(Self::Probe),
        _ => Err("must be ACCEPTED, REFUSED or PROBE".into()),
    };
}

newtype_input! {
    /// A key change document, base64 (a few KiB: one to three keys or certificates).
    KeyDocument(Vec<u8>) => "invalid_key_change", 64 * 1024, |text| base64_bytes(text);
    /// A free-text note for the audit log (who at the bank confirmed what).
    Note(String) => "invalid_note", 500, |text| Ok::<_, String>(text.to_owned());
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
    On(caller, id): On<EbicsUserId>,
    JsonBody(body): JsonBody<ChangeRequest>,
) -> Result<Json<ChangeView>, ApiError> {
    caller.acting_for(id).await?;
    let outcome =
        key_changes::change_keys(caller.services(), &caller.scope, id, body.kind.into_inner())
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
    On(caller, id): On<EbicsUserId>,
    JsonBody(body): JsonBody<RotateRequest>,
) -> Result<Json<ChangeView>, ApiError> {
    caller.acting_for(id).await?;
    let rotation = SignerRotation {
        document: body.document.into_inner().0,
        signature: body.signature.into_inner().0,
        signature_version: body.signature_version.into_inner(),
        new_key_version: body.new_key_version.into_inner(),
    };
    let outcome =
        key_changes::rotate_signer_key(caller.services(), &caller.scope, id, rotation).await?;
    Ok(Json(outcome.into()))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct PrepareRequest {
    kind: Valid<KeyChange>,
    /// HCS: the signer's new signature public key, as `kontor sign register` sends one.
    new_signature_key: Option<RegisterSignerKey>,
}

/// The document the signer signs, and the new keys it names (PENDING; public parts only).
#[derive(Serialize, schemars::JsonSchema)]
struct PreparedView {
    kind: KeyChange,
    /// The order data, base64.
    document: String,
    keys: Vec<KeyPair>,
}

impl From<PreparedChange> for PreparedView {
    fn from(prepared: PreparedChange) -> Self {
        use base64::Engine as _;
        Self {
            kind: prepared.change,
            document: base64::engine::general_purpose::STANDARD.encode(&prepared.document),
            keys: prepared.keys,
        }
    }
}

async fn prepare(
    On(caller, id): On<EbicsUserId>,
    JsonBody(body): JsonBody<PrepareRequest>,
) -> Result<Json<PreparedView>, ApiError> {
    let new_signature = body
        .new_signature_key
        .as_ref()
        .map(RegisterSignerKey::parse)
        .transpose()?;
    caller.acting_for(id).await?;
    let prepared = key_changes::prepare_signer_change(
        caller.services(),
        &caller.scope,
        id,
        body.kind.into_inner(),
        new_signature,
    )
    .await?;
    Ok(Json(prepared.into()))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct SignedRequest {
    kind: Valid<KeyChange>,
    /// The prepared document as signed, base64.
    document: Valid<KeyDocument>,
    /// The ES over `document` with the current key, base64.
    signature: Valid<SignatureValue>,
    /// The version of the ES (the current key's).
    signature_version: Valid<SignatureVersion>,
}

async fn signed(
    On(caller, id): On<EbicsUserId>,
    JsonBody(body): JsonBody<SignedRequest>,
) -> Result<Json<ChangeView>, ApiError> {
    caller.acting_for(id).await?;
    let signed = SignedChange {
        change: body.kind.into_inner(),
        document: body.document.into_inner().0,
        signature: body.signature.into_inner().0,
        signature_version: body.signature_version.into_inner(),
    };
    let outcome =
        key_changes::send_signed_change(caller.services(), &caller.scope, id, signed).await?;
    Ok(Json(outcome.into()))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct SettleRequest {
    decision: Valid<Settlement>,
    note: Option<Valid<Note>>,
}

/// The settled change: its keys as they are now (ACTIVE or REVOKED).
#[derive(Serialize, schemars::JsonSchema)]
struct SettledView {
    kind: KeyChange,
    transaction_id: TransactionId,
    decision: Settlement,
    keys: Vec<KeyPair>,
}

impl From<SettledChange> for SettledView {
    fn from(settled: SettledChange) -> Self {
        Self {
            kind: settled.change,
            transaction_id: settled.transaction,
            decision: settled.settlement,
            keys: settled.keys,
        }
    }
}

async fn settle(
    caller: Caller,
    Path((id, change)): Path<(String, String)>,
    JsonBody(body): JsonBody<SettleRequest>,
) -> Result<Json<SettledView>, ApiError> {
    let id: EbicsUserId = path_id(&id, "EBICS user")?;
    let change: TransactionId = path_id(&change, "key change")?;
    caller.acting_for(id).await?;
    let settled = key_changes::settle_undecided(
        caller.services(),
        &caller.scope,
        id,
        change,
        body.decision.into_inner(),
        body.note.map(|n| n.into_inner().0),
    )
    .await?;
    Ok(Json(settled.into()))
}
