//! Distributed-signature (VEU) items: listing what the bank says awaits signatures, and
//! signing or cancelling them at the bank through the engine.
//!
//! Reading never talks to the bank: the digest a signer signs is stored on the item when the
//! bank reports it — with every VEU sync where the bank offers HVZ (which carries
//! `DataDigest`), or when an Admin fetches it with `POST /v1/veu-items/{id}/digest` (HVD) —
//! and `GET /v1/veu-items/{id}/digest` serves the stored value to any member. A Viewer
//! therefore never causes bank traffic or new EBICS transactions.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use kontor_protocol::SignatureVersion;
use kontor_storage::{EbicsUser, EbicsUserId, KeyUsage, Page, VeuItem, VeuItemId, VeuSigner};
use serde::{Deserialize, Serialize};

use super::auth::Caller;
use super::engine_port::{DetachedSignature, VeuDigest};
use super::error::ApiError;
use super::extract::{path_id, JsonBody, QueryParams};
use super::input::{FromInput, KeyHash, SignatureValue, Valid};
use super::users::granted_user;
use super::{Access, AppState, Routes};

pub fn routes(routes: Routes) -> Routes {
    routes
        .read("/v1/veu-items", "List VEU items awaiting signatures", list)
        .read(
            "/v1/veu-items/{id}",
            "Show a VEU item and its signers",
            show,
        )
        .post(
            "/v1/veu-items/sync",
            Access::Operate,
            "Refresh VEU items from the bank (engine; HVZ stores each item's digest)",
            sync,
        )
        .read(
            "/v1/veu-items/{id}/digest",
            "The stored digest a signer must sign (never contacts the bank; 409 `digest_not_fetched` until a sync or POST stored it)",
            digest,
        )
        .post(
            "/v1/veu-items/{id}/digest",
            Access::Operate,
            "Fetch the digest from the bank as a signer (engine, HVD) and store it",
            fetch_digest,
        )
        .post(
            "/v1/veu-items/{id}/approve",
            Access::Operate,
            "Add a signer's signature at the bank (engine)",
            approve,
        )
        .post(
            "/v1/veu-items/{id}/cancel",
            Access::Operate,
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
    ebics_user_id: Valid<EbicsUserId>,
}

async fn sync(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<SyncRequest>,
) -> Result<StatusCode, ApiError> {
    let user = *body.ebics_user_id;
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    granted_user(&mut tx, &caller, user).await?;
    drop(tx);
    state.engine()?.sync_veu(caller.scope.clone(), user).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DigestQuery {
    /// Optional: the signer who is about to sign (must be a user of the item's connection).
    signer_id: Option<Valid<EbicsUserId>>,
}

/// The stored digest; reads only the database.
async fn digest(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    QueryParams(query): QueryParams<DigestQuery>,
) -> Result<Json<VeuDigest>, ApiError> {
    let id: VeuItemId = path_id(&id, "VEU item")?;
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    let item: VeuItem = tx.get(id).await?;
    if let Some(signer) = query.signer_id {
        let user = granted_user(&mut tx, &caller, *signer).await?;
        same_connection(&item, &user)?;
    }
    stored_digest(&item).map(Json).ok_or_else(|| ApiError::Conflict {
        code: "digest_not_fetched",
        message: "the bank has not reported this item's digest yet; an Admin fetches it with POST /v1/veu-items/{id}/digest".into(),
    })
}

fn stored_digest(item: &VeuItem) -> Option<VeuDigest> {
    Some(VeuDigest {
        data_digest: item.data_digest.clone()?,
        signature_version: item
            .data_digest_version
            .clone()
            .unwrap_or_else(|| SignatureVersion::A006.as_str().to_owned()),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FetchDigest {
    /// The signer whose EBICS session asks the bank (HVD).
    signer_id: Valid<EbicsUserId>,
}

/// Asks the bank for the digest (HVD) as the signer and stores it on the item.
async fn fetch_digest(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<FetchDigest>,
) -> Result<Json<VeuDigest>, ApiError> {
    let id: VeuItemId = path_id(&id, "VEU item")?;
    let signer = *body.signer_id;
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    let item: VeuItem = tx.get(id).await?;
    let user = granted_user(&mut tx, &caller, signer).await?;
    same_connection(&item, &user)?;
    drop(tx);
    let digest = state
        .engine()?
        .veu_digest(caller.scope.clone(), id, signer)
        .await?;
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    tx.veu_items()
        .record_digest(id, &digest.data_digest, Some(&digest.signature_version))
        .await?;
    tx.commit().await?;
    Ok(Json(digest))
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
    signer_id: Valid<EbicsUserId>,
    signature_version: Valid<SignatureVersion>,
    key_hash: Valid<KeyHash>,
    /// Signature over the digest from `/digest`, base64.
    signature: Valid<SignatureValue>,
}

/// Checks a signer's decision against their registered key; the bank verifies the value.
async fn detached_signature(
    state: &AppState,
    caller: &Caller,
    id: VeuItemId,
    body: SignedDecision,
) -> Result<DetachedSignature, ApiError> {
    let signer = *body.signer_id;
    let version = *body.signature_version;
    let value = body.signature.into_inner().0;
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    let item: VeuItem = tx.get(id).await?;
    let user = granted_user(&mut tx, caller, signer).await?;
    same_connection(&item, &user)?;
    let key = tx
        .key_pairs()
        .current(signer, KeyUsage::Signature)
        .await?
        .filter(|k| KeyHash::from_input(&k.key_hash).ok().as_ref() == Some(&body.key_hash.0));
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
    let id: VeuItemId = path_id(&id, "VEU item")?;
    let signature = detached_signature(&state, &caller, id, body).await?;
    state
        .engine()?
        .cancel_veu(caller.scope.clone(), id, signature)
        .await?;
    Ok(StatusCode::ACCEPTED)
}
