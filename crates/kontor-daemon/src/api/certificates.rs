//! `/v1/ebics-users/{id}/keys`: a user's current keys with their certificates (validity,
//! issuer, subject, self-signed or CA-issued, expiring soon), and the import of a CA-issued
//! certificate for a key not yet sent to the bank.

use axum::body::Bytes;
use axum::extract::Path;
use axum::Json;
use chrono::Utc;
use kontor_storage::{EbicsUserId, KeyUsage};

use super::auth::Caller;
use super::error::ApiError;
use super::extract::{path_id, On};
use super::respond::Created;
use super::{Access, Routes};
use crate::services::certificates::{self, KeyView, DEFAULT_EXPIRY_WARNING_DAYS};

pub fn routes(routes: Routes) -> Routes {
    routes
        .read(
            "/v1/ebics-users/{id}/keys",
            "Current keys with their certificates and expiry warnings",
            keys,
        )
        .post(
            "/v1/ebics-users/{id}/keys",
            Access::Operate,
            "Generate the keys a NEW user lacks without sending them (to have certificates issued by the bank's CA first)",
            generate,
        )
        .put(
            "/v1/ebics-users/{id}/keys/{usage}/certificate",
            Access::Operate,
            "Import a CA-issued certificate (PEM or DER body) for a PENDING key (usage: signature, authentication, encryption; audited)",
            import,
        )
}

async fn keys(On(caller, id): On<EbicsUserId>) -> Result<Json<Vec<KeyView>>, ApiError> {
    let mut tx = caller.read().await?;
    caller.granted(&mut tx, id).await?;
    Ok(Json(
        certificates::keys_view(&mut tx, id, Utc::now(), DEFAULT_EXPIRY_WARNING_DAYS).await?,
    ))
}

async fn generate(On(caller, id): On<EbicsUserId>) -> Result<Created<Vec<KeyView>>, ApiError> {
    caller.acting_for(id).await?;
    let keys = certificates::generate_keys(caller.services().store(), &caller.scope, id).await?;
    Ok(Created(keys))
}

/// The usage as the path names it (`signature`, `authentication`, `encryption`).
fn usage(segment: &str) -> Result<KeyUsage, ApiError> {
    segment
        .to_ascii_uppercase()
        .parse()
        .map_err(|_| ApiError::NotFound("key usage"))
}

async fn import(
    caller: Caller,
    Path((id, key_usage)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<KeyView>, ApiError> {
    let id: EbicsUserId = path_id(&id, "EBICS user")?;
    let usage = usage(&key_usage)?;
    let view = caller
        .write_granted(id, async |tx, _| {
            certificates::import_certificate(tx, id, usage, &body, Utc::now()).await
        })
        .await?;
    Ok(Json(view))
}
