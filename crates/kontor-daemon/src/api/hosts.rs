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
use super::{AppState, Routes};
use crate::engine::transport::{BankEndpoint, BankUrlError, CaBundle};

pub fn routes(routes: Routes) -> Routes {
    routes
        .get("/v1/bank-hosts", "List bank hosts", list)
        .post("/v1/bank-hosts", "Register a bank host", create)
        .get("/v1/bank-hosts/{id}", "Show a bank host", show)
        .patch("/v1/bank-hosts/{id}", "Change a bank host", update)
        .delete("/v1/bank-hosts/{id}", "Remove an unused bank host", remove)
        .get(
            "/v1/bank-hosts/{id}/keys",
            "The bank's public keys and their hashes",
            keys,
        )
        .post(
            "/v1/bank-keys/{id}/verify",
            "Verify a bank key against the hash on the bank's letter",
            verify,
        )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateHost {
    host_id: String,
    name: String,
    url: String,
    protocol_version: String,
    #[serde(default)]
    btf: Option<bool>,
    #[serde(default)]
    production: bool,
    /// PEM CA certificates for a bank's test system or private CA.
    #[serde(default)]
    ca_bundle_pem: Option<String>,
}

fn validate_host_id(host_id: &str) -> Result<(), ApiError> {
    // EBICS HostID: up to 35 characters of [a-zA-Z0-9,=] (ebics_types HostIDType).
    if host_id.is_empty()
        || host_id.len() > 35
        || !host_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == ',' || c == '=')
    {
        return Err(ApiError::invalid(
            "invalid_host_id",
            "host_id must be 1-35 characters of A-Z, a-z, 0-9, ',' or '='",
        ));
    }
    Ok(())
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

fn validate_ca_bundle(pem: Option<&str>) -> Result<(), ApiError> {
    match pem.map(CaBundle::from_pem) {
        Some(Err(e)) => Err(ApiError::invalid("invalid_ca_bundle", e.to_string())),
        _ => Ok(()),
    }
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateHost>,
) -> Result<(StatusCode, Json<BankHost>), ApiError> {
    caller.require_mutation()?;
    validate_host_id(&body.host_id)?;
    validate_url(&body.url, body.production)?;
    validate_ca_bundle(body.ca_bundle_pem.as_deref())?;
    let version: ProtocolVersion = body.protocol_version.parse().map_err(
        |e: kontor_protocol::version::UnknownProtocolVersion| {
            ApiError::invalid("invalid_protocol_version", e.to_string())
        },
    )?;
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    let host = tx
        .bank_hosts()
        .create(NewBankHost {
            host_id: body.host_id,
            name: body.name,
            url: body.url,
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
    name: Option<String>,
    url: Option<String>,
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
    caller.require_mutation()?;
    let id: BankHostId = parse_id(&id, "bank host")?;
    if let Some(pem) = &body.ca_bundle_pem {
        validate_ca_bundle(pem.as_deref())?;
    }
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    // The URL rule depends on the result: a production flag set on an http host is refused
    // like an http URL set on a production host.
    let current: BankHost = tx.get(id).await?;
    validate_url(
        body.url.as_deref().unwrap_or(&current.url),
        body.production.unwrap_or(current.production),
    )?;
    let host = tx
        .bank_hosts()
        .update(
            id,
            BankHostChanges {
                name: body.name,
                url: body.url,
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
    caller.require_mutation()?;
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
    expected_hash: String,
}

/// Verifies a bank key against the hash from the bank's letter. A mismatch rejects the key,
/// which blocks every further order for users of that host.
async fn verify(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<VerifyKey>,
) -> Result<Json<BankKey>, ApiError> {
    caller.require_mutation()?;
    let id: BankKeyId = parse_id(&id, "bank key")?;
    let normalise = |s: &str| {
        s.chars()
            .filter(|c| c.is_ascii_hexdigit())
            .collect::<String>()
            .to_ascii_uppercase()
    };
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    let key: BankKey = tx.get(id).await?;
    let outcome = if normalise(&key.key_hash) == normalise(&body.expected_hash) {
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
