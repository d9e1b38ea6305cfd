//! Distributed-signature (VEU) items: listing what the bank says awaits signatures, and
//! signing or cancelling them at the bank through the engine.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use base64::Engine as _;
use kontor_protocol::SignatureVersion;
use kontor_storage::{EbicsUser, EbicsUserId, KeyUsage, Page, VeuItem, VeuItemId, VeuSigner};
use serde::{Deserialize, Serialize};

use super::auth::Caller;
use super::engine_port::{DetachedSignature, VeuDigest};
use super::error::ApiError;
use super::extract::{field_id, path_id, JsonBody, QueryParams};
use super::users::granted_user;
use super::{AppState, Routes};

pub fn routes(routes: Routes) -> Routes {
    routes
        .get("/v1/veu-items", "List VEU items awaiting signatures", list)
        .get(
            "/v1/veu-items/{id}",
            "Show a VEU item and its signers",
            show,
        )
        .post(
            "/v1/veu-items/sync",
            "Refresh VEU items from the bank (engine)",
            sync,
        )
        .get(
            "/v1/veu-items/{id}/digest",
            "The digest a signer must sign (engine)",
            digest,
        )
        .post(
            "/v1/veu-items/{id}/approve",
            "Add a signer's signature at the bank (engine)",
            approve,
        )
        .post(
            "/v1/veu-items/{id}/cancel",
            "Cancel the order at the bank (engine)",
            cancel,
        )
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<VeuItem>>, ApiError> {
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    Ok(Json(tx.list(Page::first(1000)).await?))
}

#[derive(Serialize)]
struct VeuView {
    #[serde(flatten)]
    item: VeuItem,
    signers: Vec<VeuSigner>,
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<VeuView>, ApiError> {
    let id: VeuItemId = path_id(&id, "VEU item")?;
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    let item: VeuItem = tx.get(id).await?;
    let signers = tx.veu_items().signers(id).await?;
    Ok(Json(VeuView { item, signers }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SyncRequest {
    ebics_user_id: String,
}

async fn sync(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<SyncRequest>,
) -> Result<StatusCode, ApiError> {
    caller.require_mutation()?;
    let user: EbicsUserId = field_id(&body.ebics_user_id, "ebics_user_id")?;
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    granted_user(&mut tx, &caller, user).await?;
    drop(tx);
    state.engine()?.sync_veu(caller.scope.clone(), user).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DigestQuery {
    signer_id: String,
}

async fn digest(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    QueryParams(query): QueryParams<DigestQuery>,
) -> Result<Json<VeuDigest>, ApiError> {
    let id: VeuItemId = path_id(&id, "VEU item")?;
    let signer: EbicsUserId = field_id(&query.signer_id, "signer_id")?;
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    let item: VeuItem = tx.get(id).await?;
    let user = granted_user(&mut tx, &caller, signer).await?;
    same_connection(&item, &user)?;
    drop(tx);
    Ok(Json(
        state
            .engine()?
            .veu_digest(caller.scope.clone(), id, signer)
            .await?,
    ))
}

fn same_connection(item: &VeuItem, signer: &EbicsUser) -> Result<(), ApiError> {
    if item.connection_id == signer.connection_id {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "signer_not_in_partner",
            "the signer is not a user of the item's bank connection",
        ))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignedDecision {
    signer_id: String,
    signature_version: String,
    key_hash: String,
    /// Signature over the digest from `/digest`, base64.
    signature: String,
}

/// Checks a signer's decision against their registered key; the bank verifies the value.
async fn detached_signature(
    state: &AppState,
    caller: &Caller,
    id: VeuItemId,
    body: SignedDecision,
) -> Result<DetachedSignature, ApiError> {
    let signer: EbicsUserId = field_id(&body.signer_id, "signer_id")?;
    let version: SignatureVersion = body.signature_version.parse().map_err(|_| {
        ApiError::invalid(
            "invalid_signature_version",
            "signature_version must be A005 or A006",
        )
    })?;
    let value = base64::engine::general_purpose::STANDARD
        .decode(body.signature.trim())
        .map_err(|_| ApiError::invalid("invalid_signature", "signature is not base64"))?;
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    let item: VeuItem = tx.get(id).await?;
    let user = granted_user(&mut tx, caller, signer).await?;
    same_connection(&item, &user)?;
    let key = tx
        .key_pairs()
        .current(signer, KeyUsage::Signature)
        .await?
        .filter(|k| {
            let norm = |s: &str| {
                s.chars()
                    .filter(|c| c.is_ascii_hexdigit())
                    .collect::<String>()
                    .to_ascii_uppercase()
            };
            norm(&k.key_hash) == norm(&body.key_hash)
        });
    if key.is_none() {
        return Err(ApiError::invalid(
            "unknown_signer_key",
            "this key is not the signer's registered signature key",
        ));
    }
    Ok(DetachedSignature {
        signer,
        version,
        value,
    })
}

async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<SignedDecision>,
) -> Result<StatusCode, ApiError> {
    caller.require_mutation()?;
    let id: VeuItemId = path_id(&id, "VEU item")?;
    let signature = detached_signature(&state, &caller, id, body).await?;
    state
        .engine()?
        .approve_veu(caller.scope.clone(), id, signature)
        .await?;
    Ok(StatusCode::ACCEPTED)
}

async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<SignedDecision>,
) -> Result<StatusCode, ApiError> {
    caller.require_mutation()?;
    let id: VeuItemId = path_id(&id, "VEU item")?;
    let signature = detached_signature(&state, &caller, id, body).await?;
    state
        .engine()?
        .cancel_veu(caller.scope.clone(), id, signature)
        .await?;
    Ok(StatusCode::ACCEPTED)
}
