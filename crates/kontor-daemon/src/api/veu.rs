//! `/v1/veu-items`: distributed-signature (VEU) items — what the bank says awaits signatures,
//! and signing or cancelling them at the bank.
//!
//! Reading never talks to the bank: the digest a signer signs is stored on the item when the
//! bank reports it — with every VEU sync where the bank offers HVZ (which carries
//! `DataDigest`), or when an Admin fetches it with `POST /v1/veu-items/{id}/digest` (HVD) —
//! and `GET /v1/veu-items/{id}/digest` serves the stored value to any member. A Viewer
//! therefore never causes bank traffic or new EBICS transactions.

use axum::Json;
use kontor_protocol::keys::KeyHash;
use kontor_protocol::SignatureVersion;
use kontor_storage::{EbicsUserId, VeuItem, VeuItemId, VeuSigner};
use serde::{Deserialize, Serialize};

use super::auth::Caller;
use super::error::ApiError;
use super::extract::{JsonBody, On, QueryParams};
use super::input::{SignatureValue, Valid};
use super::records::list;
use super::respond::AcceptedEmpty;
use super::{Access, Routes};
use crate::services::veu::{self, check_same_connection, DetachedSignature, VeuDigest};

pub fn routes(routes: Routes) -> Routes {
    routes
        .read("/v1/veu-items", "List VEU items awaiting signatures", list::<VeuItem>)
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
            decide::<APPROVE>,
        )
        .post(
            "/v1/veu-items/{id}/cancel",
            Access::Operate,
            "Cancel the order at the bank (engine)",
            decide::<CANCEL>,
        )
}

#[derive(Serialize, schemars::JsonSchema)]
struct VeuView {
    #[serde(flatten)]
    item: VeuItem,
    signers: Vec<VeuSigner>,
}

async fn show(On(caller, id): On<VeuItemId>) -> Result<Json<VeuView>, ApiError> {
    let mut tx = caller.read().await?;
    let item: VeuItem = tx.get(id).await?;
    let signers = tx.veu_items().signers(id).await?;
    Ok(Json(VeuView { item, signers }))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct SyncRequest {
    ebics_user_id: Valid<EbicsUserId>,
}

async fn sync(
    caller: Caller,
    JsonBody(body): JsonBody<SyncRequest>,
) -> Result<AcceptedEmpty, ApiError> {
    let user = *body.ebics_user_id;
    caller.acting_for(user).await?;
    veu::sync_for(caller.services(), &caller.scope, user).await?;
    Ok(AcceptedEmpty)
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct DigestQuery {
    /// Optional: the signer who is about to sign (must be a user of the item's connection).
    signer_id: Option<Valid<EbicsUserId>>,
}

/// The stored digest; reads only the database.
async fn digest(
    On(caller, id): On<VeuItemId>,
    QueryParams(query): QueryParams<DigestQuery>,
) -> Result<Json<VeuDigest>, ApiError> {
    let mut tx = caller.read().await?;
    let item: VeuItem = tx.get(id).await?;
    if let Some(signer) = query.signer_id {
        let user = caller.granted(&mut tx, *signer).await?;
        check_same_connection(&item, &user)?;
    }
    VeuDigest::stored(&item)
        .map(Json)
        .ok_or_else(|| ApiError::Conflict {
            code: "digest_not_fetched",
            message: "the bank has not reported this item's digest yet; an Admin fetches it with POST /v1/veu-items/{id}/digest".into(),
        })
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct FetchDigest {
    /// The signer whose EBICS session asks the bank (HVD).
    signer_id: Valid<EbicsUserId>,
}

/// Before a signer's call to the bank: the item exists and the caller may act for the signer.
/// The check's transaction ends before the call, which holds no connection while it waits.
async fn check_signer(
    caller: &Caller,
    item: VeuItemId,
    signer: EbicsUserId,
) -> Result<(), ApiError> {
    let mut tx = caller.tx().await?;
    let _: VeuItem = tx.get(item).await?;
    caller.granted(&mut tx, signer).await?;
    Ok(())
}

/// Asks the bank for the digest (HVD) as the signer and stores it on the item.
async fn fetch_digest(
    On(caller, id): On<VeuItemId>,
    JsonBody(body): JsonBody<FetchDigest>,
) -> Result<Json<VeuDigest>, ApiError> {
    let signer = *body.signer_id;
    check_signer(&caller, id, signer).await?;
    let digest = veu::fetch_digest(caller.services(), &caller.scope, id, signer).await?;
    Ok(Json(digest))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct SignedDecision {
    signer_id: Valid<EbicsUserId>,
    signature_version: Valid<SignatureVersion>,
    key_hash: Valid<KeyHash>,
    /// Signature over the digest from `/digest`, base64.
    signature: Valid<SignatureValue>,
}

/// `decide::<APPROVE>` adds a signature (HVE), `decide::<CANCEL>` cancels the order (HVS).
const APPROVE: bool = false;
const CANCEL: bool = true;

/// Adds (HVE) or, with `CANCEL_ORDER`, cancels (HVS) at the bank, signed by a signer the
/// caller may act for.
async fn decide<const CANCEL_ORDER: bool>(
    On(caller, id): On<VeuItemId>,
    JsonBody(body): JsonBody<SignedDecision>,
) -> Result<AcceptedEmpty, ApiError> {
    let signer = *body.signer_id;
    check_signer(&caller, id, signer).await?;
    let signature = DetachedSignature {
        signer,
        version: *body.signature_version,
        value: body.signature.into_inner().0,
        key_hash: body.key_hash.into_inner(),
    };
    veu::decide(
        caller.services(),
        &caller.scope,
        id,
        signature,
        CANCEL_ORDER,
    )
    .await?;
    Ok(AcceptedEmpty)
}
