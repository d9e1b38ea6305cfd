//! `/v1/bank-hosts` and `/v1/bank-keys`: the banks a tenant talks to, and their keys.

use axum::Json;
use kontor_protocol::keys::KeyHash;
use kontor_protocol::ProtocolVersion;
use kontor_storage::{BankHost, BankHostChanges, BankHostId, BankKey, BankKeyId};
use serde::Deserialize;

use super::auth::Caller;
use super::error::ApiError;
use super::extract::{JsonBody, On};
use super::input::{HostId, HttpUrl, Name, Valid};
use super::records::{children, list, show};
use super::respond::{Created, Either, NoContent};
use super::{Access, Routes};
use crate::services::hosts::{self, NewHost};

pub fn routes(routes: Routes) -> Routes {
    routes
        .read("/v1/bank-hosts", "List bank hosts", list::<BankHost>)
        .post(
            "/v1/bank-hosts",
            Access::Configure,
            "Register a bank host",
            create,
        )
        .read("/v1/bank-hosts/{id}", "Show a bank host", show::<BankHostId>)
        .patch(
            "/v1/bank-hosts/{id}",
            Access::Configure,
            "Change a bank host",
            update,
        )
        .delete(
            "/v1/bank-hosts/{id}",
            Access::Configure,
            "Remove a bank host: deleted when unused, else retired (its history stays)",
            remove,
        )
        .read(
            "/v1/bank-hosts/{id}/keys",
            "The bank's public keys and their hashes",
            children::<BankKey>,
        )
        .post(
            "/v1/bank-hosts/{id}/keys/refresh",
            Access::Configure,
            "Fetch the bank's keys again (HPB); changed keys wait unverified and hold the host's orders",
            refresh,
        )
        .post(
            "/v1/bank-keys/{id}/verify",
            Access::Configure,
            "Verify a bank key against the hash on the bank's letter",
            verify,
        )
}

#[derive(Deserialize, schemars::JsonSchema)]
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
    /// Send X.509 certificates with the keys on H004 as well (French banks).
    #[serde(default)]
    x509_on_h004: bool,
    /// PEM CA certificates the bank's key certificates (HPB) must be issued by.
    #[serde(default)]
    bank_ca_pem: Option<String>,
}

async fn create(
    caller: Caller,
    JsonBody(body): JsonBody<CreateHost>,
) -> Result<Created<BankHost>, ApiError> {
    let new = NewHost {
        host_id: body.host_id.into_inner().0,
        name: body.name.into_inner().into_string(),
        url: body.url.into_inner().0,
        protocol_version: *body.protocol_version,
        btf: body.btf,
        production: body.production,
        ca_bundle_pem: body.ca_bundle_pem,
        x509_on_h004: body.x509_on_h004,
        bank_ca_pem: body.bank_ca_pem,
    };
    let host = caller
        .write(async |tx| hosts::create(tx, new).await)
        .await?;
    Ok(Created(host))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct UpdateHost {
    name: Option<Valid<Name>>,
    url: Option<Valid<HttpUrl>>,
    production: Option<bool>,
    /// Absent: unchanged; `null`: removed; a string: replaced.
    #[serde(default, deserialize_with = "present")]
    ca_bundle_pem: Option<Option<String>>,
    x509_on_h004: Option<bool>,
    /// Absent: unchanged; `null`: removed; a string: replaced.
    #[serde(default, deserialize_with = "present")]
    bank_ca_pem: Option<Option<String>>,
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
    On(caller, id): On<BankHostId>,
    JsonBody(body): JsonBody<UpdateHost>,
) -> Result<Json<BankHost>, ApiError> {
    let changes = BankHostChanges {
        name: body.name.map(|n| n.into_inner().into_string()),
        url: body.url.map(|u| u.into_inner().0),
        production: body.production,
        ca_bundle_pem: body.ca_bundle_pem,
        x509_on_h004: body.x509_on_h004,
        bank_ca_pem: body.bank_ca_pem,
    };
    let host = caller
        .write(async |tx| hosts::update(tx, id, changes).await)
        .await?;
    Ok(Json(host))
}

/// 204 when the host is gone; 200 with the retired host when connections still refer to it.
async fn remove(
    On(caller, id): On<BankHostId>,
) -> Result<Either<NoContent, Json<BankHost>>, ApiError> {
    let removal = caller.write(async |tx| hosts::remove(tx, id).await).await?;
    Ok(match removal {
        hosts::Removal::Deleted => Either::A(NoContent),
        hosts::Removal::Retired(host) => Either::B(Json(*host)),
    })
}

/// HPB on demand (after the bank announced new keys); answers every key of the host, the
/// superseded generations included.
async fn refresh(On(caller, id): On<BankHostId>) -> Result<Json<Vec<BankKey>>, ApiError> {
    Ok(Json(
        hosts::refresh_keys(caller.services(), &caller.scope, id).await?,
    ))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct VerifyKey {
    /// The hash as printed on the bank's letter; must match the stored hash to verify.
    expected_hash: Valid<KeyHash>,
}

/// A mismatch rejects the key, which blocks every further order for users of that host.
async fn verify(
    On(caller, id): On<BankKeyId>,
    JsonBody(body): JsonBody<VerifyKey>,
) -> Result<Json<BankKey>, ApiError> {
    let operator = caller.operator.operator().to_string();
    let expected = body.expected_hash.into_inner();
    let key = caller
        .write(async |tx| hosts::verify_key(tx, id, expected, &operator).await)
        .await?;
    Ok(Json(key))
}
