//! `/v1/ebics-users`: EBICS users, their lifecycle (suspend, resume, onboarding) and what
//! they may do.

use axum::Json;
use kontor_protocol::keys::KeyHash;
use kontor_storage::{
    Account, ConnectionId, EbicsUser, EbicsUserId, EbicsUserStatus, KeyCustody, KeyUsage,
    NewEbicsUser, Permission, SignatureClass,
};
use serde::{Deserialize, Serialize};

use super::auth::Caller;
use super::error::ApiError;
use super::extract::{JsonBody, On, QueryParams};
use super::input::{EbicsId, Name, SignatureValue, Valid};
use super::records::{list_visible, show_granted};
use super::respond::{AcceptedEmpty, Created};
use super::{Access, Routes};
use crate::services::{onboarding, users};
use kontor_protocol::SignatureVersion;

pub fn routes(routes: Routes) -> Routes {
    routes
        .read("/v1/ebics-users", "List EBICS users", list_visible::<EbicsUser>)
        .post(
            "/v1/ebics-users",
            Access::Configure,
            "Create an EBICS user",
            create,
        )
        .read(
            "/v1/ebics-users/{id}",
            "Show an EBICS user and its status",
            show_granted::<EbicsUserId>,
        )
        .post(
            "/v1/ebics-users/{id}/suspend",
            Access::Operate,
            "Suspend a READY user at the bank (SPR); SUSPENDED once the bank confirmed",
            suspend,
        )
        .post(
            "/v1/ebics-users/{id}/suspend/signed",
            Access::Operate,
            "Suspend a READY user whose signer holds the signature key: SPR with the signer's ES (`kontor sign suspend`), verified against the ACTIVE key first",
            suspend_signed,
        )
        .post(
            "/v1/ebics-users/{id}/resume",
            Access::Operate,
            "Re-activate a SUSPENDED or LOCKED user: back to NEW with new keys, then onboarding (INI/HIA)",
            resume,
        )
        .post(
            "/v1/ebics-users/{id}/initialise",
            Access::Operate,
            "Start onboarding (?keys=ini_hia, the default, or h3k: EBICS 3.0, CA-issued certificates)",
            initialise,
        )
        .post(
            "/v1/ebics-users/{id}/sync",
            Access::Operate,
            "Run the sync of order types, services, accounts and permissions (HTD/HKD/HAA) again",
            sync,
        )
        .read(
            "/v1/ebics-users/{id}/capabilities",
            "What a user may do: order types, accounts, limits, class",
            capabilities,
        )
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct CreateUser {
    connection_id: Valid<ConnectionId>,
    user_id: Valid<EbicsId>,
    system_id: Option<Valid<EbicsId>>,
    name: Valid<Name>,
    signature_class: Valid<SignatureClass>,
}

async fn create(
    caller: Caller,
    JsonBody(body): JsonBody<CreateUser>,
) -> Result<Created<EbicsUser>, ApiError> {
    let new = NewEbicsUser {
        connection_id: *body.connection_id,
        user_id: body.user_id.into_inner().0,
        system_id: body.system_id.map(|s| s.into_inner().0),
        name: body.name.into_inner().into_string(),
        signature_class: *body.signature_class,
    };
    let user = caller
        .write(async |tx| users::create(tx, new).await)
        .await?;
    Ok(Created(user))
}

async fn suspend(On(caller, id): On<EbicsUserId>) -> Result<Json<EbicsUser>, ApiError> {
    caller.acting_for(id).await?;
    Ok(Json(
        users::suspend(caller.services(), &caller.scope, id, None).await?,
    ))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct SignedSuspension {
    /// A005 or A006.
    signature_version: Valid<SignatureVersion>,
    /// EBICS hash of the signer's public key (or certificate), as the signer sees it.
    key_hash: Valid<KeyHash>,
    /// The ES over SPR's order data (one blank), base64.
    signature: Valid<SignatureValue>,
}

async fn suspend_signed(
    On(caller, id): On<EbicsUserId>,
    JsonBody(body): JsonBody<SignedSuspension>,
) -> Result<Json<EbicsUser>, ApiError> {
    caller.acting_for(id).await?;
    let signature = users::SprSignature {
        version: *body.signature_version,
        value: body.signature.into_inner().0,
        key_hash: Some(body.key_hash.into_inner()),
    };
    Ok(Json(
        users::suspend(caller.services(), &caller.scope, id, Some(signature)).await?,
    ))
}

async fn resume(On(caller, id): On<EbicsUserId>) -> Result<Json<EbicsUser>, ApiError> {
    let user = caller
        .write_granted(id, async |tx, _| users::resume(tx, id).await)
        .await?;
    Ok(Json(user))
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct InitialiseQuery {
    /// How a NEW user's keys are sent: `ini_hia` (default) or `h3k`.
    #[serde(default)]
    keys: KeysQuery,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
enum KeysQuery {
    #[default]
    IniHia,
    H3k,
}

async fn initialise(
    On(caller, id): On<EbicsUserId>,
    QueryParams(query): QueryParams<InitialiseQuery>,
) -> Result<AcceptedEmpty, ApiError> {
    caller.acting_for(id).await?;
    let submission = match query.keys {
        KeysQuery::IniHia => onboarding::KeySubmission::IniHia,
        KeysQuery::H3k => onboarding::KeySubmission::H3k,
    };
    onboarding::initialise(caller.services(), &caller.scope, id, submission).await?;
    Ok(AcceptedEmpty)
}

/// Runs the sync; its failure is also recorded on the user (`sync_failure_code`,
/// `sync_failure_message`).
async fn sync(On(caller, id): On<EbicsUserId>) -> Result<Json<onboarding::SyncReport>, ApiError> {
    caller.acting_for(id).await?;
    Ok(Json(
        onboarding::sync(caller.services(), &caller.scope, id).await?,
    ))
}

#[derive(Serialize, schemars::JsonSchema)]
struct Capabilities {
    ebics_user_id: EbicsUserId,
    status: EbicsUserStatus,
    signature_class: SignatureClass,
    /// Whether the user's signature key is held by a signer (or by the daemon, or absent).
    signature_key_custody: Option<KeyCustody>,
    /// Order types the connection offers.
    order_types: Vec<kontor_protocol::order_type::OrderType>,
    /// EBICS 3.0: the BTF services the connection offers under BTU/BTD.
    btf_offers: Vec<kontor_storage::BtfOffer>,
    accounts: Vec<Account>,
    permissions: Vec<Permission>,
    /// The bank's parameters from HPD (protocol versions, recovery, client data download),
    /// as of the last sync. HPD names no size limits: those are the bank's segment and order
    /// limits, not published by EBICS.
    bank_parameters: Option<kontor_storage::BankParameters>,
}

async fn capabilities(On(caller, id): On<EbicsUserId>) -> Result<Json<Capabilities>, ApiError> {
    let mut tx = caller.read().await?;
    let user = caller.granted(&mut tx, id).await?;
    let kontor_storage::UserAtHost {
        user,
        connection,
        host,
    } = tx.ebics_users().with_host(user).await?;
    let accounts = tx.accounts().list_for_connection(connection.id).await?;
    let permissions = tx.permissions().list_for_user(id).await?;
    let custody = tx
        .key_pairs()
        .current(id, KeyUsage::Signature)
        .await?
        .map(|k| k.custody);
    Ok(Json(Capabilities {
        ebics_user_id: id,
        status: user.status,
        signature_class: user.signature_class,
        signature_key_custody: custody,
        order_types: connection.order_types,
        btf_offers: connection.btf_offers,
        accounts,
        permissions,
        bank_parameters: host.bank_parameters,
    }))
}
