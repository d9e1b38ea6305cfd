//! `/v1/bank-hosts`: the banks a tenant talks to, and their keys.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use kontor_protocol::ProtocolVersion;
use kontor_storage::{
    BankHost, BankHostChanges, BankHostId, BankKey, BankKeyId, BankKeyVerification, NewBankHost,
    Page, VerificationMethod,
};
use serde::Deserialize;

use super::auth::Caller;
use super::error::{ApiError, OnConflict};
use super::extract::{path_id as parse_id, JsonBody};
use super::input::{FromInput, HostId, HttpUrl, KeyHash, Name, Valid};
use super::{Access, AppState, Routes};
use crate::engine::transport::{BankEndpoint, BankUrlError, CaBundle};

pub fn routes(routes: Routes) -> Routes {
    routes
        .read("/v1/bank-hosts", "List bank hosts", list)
        .post(
            "/v1/bank-hosts",
            Access::Configure,
            "Register a bank host",
            create,
        )
        .read("/v1/bank-hosts/{id}", "Show a bank host", show)
        .patch(
            "/v1/bank-hosts/{id}",
            Access::Configure,
            "Change a bank host",
            update,
        )
        .delete(
            "/v1/bank-hosts/{id}",
            Access::Configure,
            "Remove an unused bank host",
            remove,
        )
        .read(
            "/v1/bank-hosts/{id}/keys",
            "The bank's public keys and their hashes",
            keys,
        )
        .post(
            "/v1/bank-keys/{id}/verify",
            Access::Configure,
            "Verify a bank key against the hash on the bank's letter",
            verify,
        )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateHost {
    host_id: Valid<HostId>,
    name: Valid<Name>,
    url: Valid<HttpUrl>,
    protocol_version: Valid<ProtocolVersion>,
    #[serde(default)]
    btf: Option<bool>,
    #[serde(default)]
    production: bool,
    /// PEM CA certificates for a bank's test system or private CA.
    #[serde(default)]
    ca_bundle_pem: Option<String>,
}

/// The transport's own rule (checked again before every request): production hosts only
/// over https.
fn validate_url(url: &str, production: bool) -> Result<(), ApiError> {
    BankEndpoint::check(url, production)
        .map(|_| ())
        .map_err(|e| match e {
            BankUrlError::Invalid(_) => ApiError::invalid("invalid_url", e.to_string()),
            BankUrlError::HttpsRequired => ApiError::invalid("https_required", e.to_string()),
        })
}

/// A bundle is multi-line PEM, so it is not a [`Valid`] text; its own parser accepts
/// certificates and nothing else, and its size is bounded first.
const MAX_CA_BUNDLE_BYTES: usize = 256 << 10;

fn validate_ca_bundle(pem: Option<&str>) -> Result<(), ApiError> {
    match pem {
        Some(pem) if pem.len() > MAX_CA_BUNDLE_BYTES => Err(ApiError::invalid(
            "invalid_ca_bundle",
            format!("a CA bundle may have at most {MAX_CA_BUNDLE_BYTES} bytes"),
        )),
        Some(pem) => CaBundle::from_pem(pem)
            .map(|_| ())
            .map_err(|e| ApiError::invalid("invalid_ca_bundle", e.to_string())),
        None => Ok(()),
    }
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateHost>,
) -> Result<(StatusCode, Json<BankHost>), ApiError> {
    let version = *body.protocol_version;
    validate_url(&body.url.0 .0, body.production)?;
    validate_ca_bundle(body.ca_bundle_pem.as_deref())?;
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    let host = tx
        .bank_hosts()
        .create(NewBankHost {
            host_id: body.host_id.into_inner().0,
            name: body.name.into_inner().into_string(),
            url: body.url.into_inner().0,
            protocol_version: version,
            btf: body.btf.unwrap_or(version.uses_btf()),
            production: body.production,
            ca_bundle_pem: body.ca_bundle_pem,
        })
        .await
        .on_conflict(
            "host_id_taken",
            "a bank host with this host id already exists",
        )?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(host)))
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<BankHost>>, ApiError> {
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    Ok(Json(tx.list(Page::first(1000)).await?))
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<BankHost>, ApiError> {
    let id: BankHostId = parse_id(&id, "bank host")?;
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    Ok(Json(tx.get(id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateHost {
    name: Option<Valid<Name>>,
    url: Option<Valid<HttpUrl>>,
    production: Option<bool>,
    /// Absent: unchanged; `null`: removed; a string: replaced.
    #[serde(default, deserialize_with = "present")]
    ca_bundle_pem: Option<Option<String>>,
}

/// Tells a field given as `null` (`Some(None)`) from one left out (`None`, via `default`).
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<UpdateHost>,
) -> Result<Json<BankHost>, ApiError> {
    let id: BankHostId = parse_id(&id, "bank host")?;
    if let Some(pem) = &body.ca_bundle_pem {
        validate_ca_bundle(pem.as_deref())?;
    }
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    // The URL rule depends on the result: a production flag set on an http host is refused
    // like an http URL set on a production host.
    let current: BankHost = tx.get(id).await?;
    validate_url(
        body.url.as_ref().map_or(&current.url, |u| &u.0 .0),
        body.production.unwrap_or(current.production),
    )?;
    let host = tx
        .bank_hosts()
        .update(
            id,
            BankHostChanges {
                name: body.name.map(|n| n.into_inner().into_string()),
                url: body.url.map(|u| u.into_inner().0),
                production: body.production,
                ca_bundle_pem: body.ca_bundle_pem,
            },
        )
        .await?;
    tx.commit().await?;
    Ok(Json(host))
}

async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: BankHostId = parse_id(&id, "bank host")?;
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    tx.delete(id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn keys(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<BankKey>>, ApiError> {
    let id: BankHostId = parse_id(&id, "bank host")?;
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    let _: BankHost = tx.get(id).await?;
    Ok(Json(tx.bank_keys().list_for_host(id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyKey {
    /// The hash as printed on the bank's letter; must match the stored hash to verify.
    expected_hash: Valid<KeyHash>,
}

/// Verifies a bank key against the hash from the bank's letter. A mismatch rejects the key,
/// which blocks every further order for users of that host.
async fn verify(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<VerifyKey>,
) -> Result<Json<BankKey>, ApiError> {
    let id: BankKeyId = parse_id(&id, "bank key")?;
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    let key: BankKey = tx.get(id).await?;
    let stored = KeyHash::from_input(&key.key_hash).ok();
    let outcome = if stored.as_ref() == Some(&body.expected_hash.0) {
        BankKeyVerification::Verified
    } else {
        BankKeyVerification::Rejected
    };
    let key = tx
        .bank_keys()
        .decide(
            id,
            outcome,
            VerificationMethod::Letter,
            &caller.operator.operator().to_string(),
        )
        .await?;
    tx.commit().await?;
    Ok(Json(key))
}
