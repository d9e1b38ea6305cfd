//! Connections, accounts, EBICS users with their keys, letters, permissions and capabilities.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kontor_documents::{Amount, Bic, Currency, Iban};
use kontor_protocol::certificate::Certificate;
use kontor_protocol::keys::{public_key_hash, PublicKey};
use kontor_protocol::letters::{hia_letter, ini_letter, LetterInput, LetterKey, LetterLanguage};
use kontor_protocol::{
    AuthenticationVersion, EncryptionVersion, ProtocolVersion, SignatureVersion,
};
use kontor_storage::{
    Account, AccountId, AuditAction, BankHost, BankHostId, Connection, ConnectionId, EbicsUser,
    EbicsUserId, EbicsUserStatus, KeyCustody, KeyPair, KeyPairId, KeyStatus, KeyUsage, NewAccount,
    NewConnection, NewEbicsUser, NewPermission, NewSignerKey, Page, Permission, ScopedTx,
    SignatureClass,
};
use serde::{Deserialize, Serialize};

use super::auth::Caller;
use super::error::{ApiError, OnConflict};
use super::extract::{path_id, JsonBody};
use super::input::{payment_amount, EbicsId, Name, OrderTypeCode, ShortText, Valid};
use super::{Access, AppState, Routes};

pub fn routes(routes: Routes) -> Routes {
    routes
        .read("/v1/connections", "List bank connections", list_connections)
        .post(
            "/v1/connections",
            Access::Configure,
            "Create a bank connection (partner at a host)",
            create_connection,
        )
        .read(
            "/v1/connections/{id}",
            "Show a bank connection",
            show_connection,
        )
        .put(
            "/v1/connections/{id}/order-types",
            Access::Configure,
            "Set the order types the bank offers",
            set_order_types,
        )
        .read("/v1/accounts", "List accounts", list_accounts)
        .post(
            "/v1/accounts",
            Access::Configure,
            "Add an account (IBAN, BIC and currency validated)",
            create_account,
        )
        .read("/v1/accounts/{id}", "Show an account", show_account)
        .read("/v1/ebics-users", "List EBICS users", list_users)
        .post(
            "/v1/ebics-users",
            Access::Configure,
            "Create an EBICS user",
            create_user,
        )
        .read(
            "/v1/ebics-users/{id}",
            "Show an EBICS user and its status",
            show_user,
        )
        .post(
            "/v1/ebics-users/{id}/suspend",
            Access::Operate,
            "Suspend a READY user",
            suspend_user,
        )
        .post(
            "/v1/ebics-users/{id}/resume",
            Access::Operate,
            "Resume a SUSPENDED user",
            resume_user,
        )
        .post(
            "/v1/ebics-users/{id}/initialise",
            Access::Operate,
            "Start onboarding (engine)",
            initialise_user,
        )
        .read(
            "/v1/ebics-users/{id}/letters/ini",
            "INI letter (HTML)",
            ini_letter_html,
        )
        .read(
            "/v1/ebics-users/{id}/letters/hia",
            "HIA letter (HTML)",
            hia_letter_html,
        )
        .read(
            "/v1/ebics-users/{id}/key-pairs",
            "Key pairs: public information only",
            key_pairs,
        )
        .post(
            "/v1/ebics-users/{id}/signer-keys",
            Access::Operate,
            "Register a signer-held signature public key (NEW users only)",
            register_signer_key,
        )
        .post(
            "/v1/ebics-users/{id}/signer-keys/{key}/revoke",
            Access::Own,
            "Revoke a signer-held signature key (Owners only; audited)",
            revoke_signer_key,
        )
        .read(
            "/v1/ebics-users/{id}/permissions",
            "Permissions of a user",
            permissions,
        )
        .post(
            "/v1/ebics-users/{id}/permissions",
            Access::Configure,
            "Add a permission (limits in the currency's minor units)",
            add_permission,
        )
        .read(
            "/v1/ebics-users/{id}/capabilities",
            "What a user may do: order types, accounts, limits, class",
            capabilities,
        )
}

/// Loads a user and checks the caller's grants; both misses answer 404.
pub(crate) async fn granted_user(
    tx: &mut ScopedTx<'_>,
    caller: &Caller,
    id: EbicsUserId,
) -> Result<EbicsUser, ApiError> {
    let user: EbicsUser = tx.get(id).await?;
    caller.require_user(user.id)?;
    Ok(user)
}

// --- connections -------------------------------------------------------------------------

async fn list_connections(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Connection>>, ApiError> {
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    Ok(Json(tx.list(Page::first(1000)).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateConnection {
    bank_host_id: Valid<BankHostId>,
    partner_id: Valid<EbicsId>,
    display_name: Valid<Name>,
    #[serde(default)]
    order_types: Vec<Valid<OrderTypeCode>>,
}

/// Sorted, without duplicates, at most [`MAX_ORDER_TYPES`].
fn order_type_list(codes: Vec<Valid<OrderTypeCode>>) -> Result<Vec<String>, ApiError> {
    if codes.len() > MAX_ORDER_TYPES {
        return Err(ApiError::Input {
            code: "invalid_order_type".into(),
            field: Some("order_types".into()),
            message: format!("order_types: at most {MAX_ORDER_TYPES} order types"),
        });
    }
    let mut list: Vec<String> = codes.into_iter().map(|c| c.into_inner().0).collect();
    list.sort();
    list.dedup();
    Ok(list)
}

/// More than any bank offers a subscriber (HTD lists a few dozen).
const MAX_ORDER_TYPES: usize = 200;

async fn create_connection(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateConnection>,
) -> Result<(StatusCode, Json<Connection>), ApiError> {
    let host = *body.bank_host_id;
    let order_types = order_type_list(body.order_types)?;
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    let _: BankHost = tx.get(host).await?;
    let connection = tx
        .connections()
        .create(NewConnection {
            bank_host_id: host,
            partner_id: body.partner_id.into_inner().0,
            display_name: body.display_name.into_inner().into_string(),
        })
        .await?;
    tx.connections()
        .set_order_types(connection.id, &order_types)
        .await?;
    let connection = tx.get(connection.id).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(connection)))
}

async fn show_connection(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Connection>, ApiError> {
    let id: ConnectionId = path_id(&id, "bank connection")?;
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    Ok(Json(tx.get(id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrderTypes {
    order_types: Vec<Valid<OrderTypeCode>>,
}

async fn set_order_types(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<OrderTypes>,
) -> Result<Json<Connection>, ApiError> {
    let id: ConnectionId = path_id(&id, "bank connection")?;
    let order_types = order_type_list(body.order_types)?;
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    let _: Connection = tx.get(id).await?;
    tx.connections().set_order_types(id, &order_types).await?;
    let connection = tx.get(id).await?;
    tx.commit().await?;
    Ok(Json(connection))
}

// --- accounts ----------------------------------------------------------------------------

async fn list_accounts(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Account>>, ApiError> {
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    Ok(Json(tx.list(Page::first(1000)).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateAccount {
    connection_id: Valid<ConnectionId>,
    holder_name: Valid<Name>,
    currency: Valid<Currency>,
    iban: Option<Valid<Iban>>,
    bic: Option<Valid<Bic>>,
    bank_account_id: Option<Valid<ShortText>>,
    national_number: Option<Valid<ShortText>>,
    bank_code: Option<Valid<ShortText>>,
}

async fn create_account(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateAccount>,
) -> Result<(StatusCode, Json<Account>), ApiError> {
    let connection = *body.connection_id;
    let iban = body.iban.map(Valid::into_inner);
    let bic = body.bic.map(Valid::into_inner);
    let currency = *body.currency;
    let text = |t: Option<Valid<ShortText>>| t.map(|t| t.into_inner().into_string());
    if iban.is_none() && body.national_number.is_none() {
        return Err(ApiError::invalid(
            "missing_account_number",
            "an account needs an iban or a national_number",
        ));
    }
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    let _: Connection = tx.get(connection).await?;
    let account = tx
        .accounts()
        .create(
            connection,
            NewAccount {
                bank_account_id: text(body.bank_account_id),
                iban: iban.map(|i| i.electronic().to_owned()),
                national_number: text(body.national_number),
                bank_code: text(body.bank_code),
                bic: bic.map(|b| b.as_str().to_owned()),
                holder_name: body.holder_name.into_inner().into_string(),
                currency: currency.as_str().to_owned(),
            },
        )
        .await
        .on_conflict(
            "account_exists",
            "this connection already has an account with this IBAN",
        )?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(account)))
}

async fn show_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Account>, ApiError> {
    let id: AccountId = path_id(&id, "account")?;
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    Ok(Json(tx.get(id).await?))
}

// --- EBICS users -------------------------------------------------------------------------

async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<EbicsUser>>, ApiError> {
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    let all: Vec<EbicsUser> = tx.list(Page::first(1000)).await?;
    Ok(Json(
        all.into_iter()
            .filter(|u| caller.require_user(u.id).is_ok())
            .collect(),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateUser {
    connection_id: Valid<ConnectionId>,
    user_id: Valid<EbicsId>,
    system_id: Option<Valid<EbicsId>>,
    name: Valid<Name>,
    signature_class: Valid<SignatureClass>,
}

async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateUser>,
) -> Result<(StatusCode, Json<EbicsUser>), ApiError> {
    let connection = *body.connection_id;
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    let _: Connection = tx.get(connection).await?;
    let user = tx
        .ebics_users()
        .create(NewEbicsUser {
            connection_id: connection,
            user_id: body.user_id.into_inner().0,
            system_id: body.system_id.map(|s| s.into_inner().0),
            name: body.name.into_inner().into_string(),
            signature_class: *body.signature_class,
        })
        .await
        .on_conflict(
            "user_exists",
            "this connection already has an EBICS user with this user id",
        )?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(user)))
}

async fn show_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<EbicsUser>, ApiError> {
    let id: EbicsUserId = path_id(&id, "EBICS user")?;
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    Ok(Json(granted_user(&mut tx, &caller, id).await?))
}

async fn move_user(
    state: AppState,
    caller: Caller,
    id: String,
    from: EbicsUserStatus,
    to: EbicsUserStatus,
) -> Result<Json<EbicsUser>, ApiError> {
    let id: EbicsUserId = path_id(&id, "EBICS user")?;
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    let user = granted_user(&mut tx, &caller, id).await?;
    if user.status != from {
        return Err(ApiError::Conflict {
            code: "illegal_transition",
            message: format!("the user is {}, not {from}", user.status),
        });
    }
    let user = tx.ebics_users().set_status(id, from, to).await?;
    tx.commit().await?;
    Ok(Json(user))
}

async fn suspend_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<EbicsUser>, ApiError> {
    move_user(
        state,
        caller,
        id,
        EbicsUserStatus::Ready,
        EbicsUserStatus::Suspended,
    )
    .await
}

async fn resume_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<EbicsUser>, ApiError> {
    move_user(
        state,
        caller,
        id,
        EbicsUserStatus::Suspended,
        EbicsUserStatus::Ready,
    )
    .await
}

async fn initialise_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: EbicsUserId = path_id(&id, "EBICS user")?;
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    granted_user(&mut tx, &caller, id).await?;
    drop(tx);
    state
        .engine()?
        .initialise_user(caller.scope.clone(), id)
        .await?;
    Ok(StatusCode::ACCEPTED)
}

/// The stored public part of a key: its key and, for H005, its certificate.
fn stored_public_key(pair: &KeyPair) -> Result<(PublicKey, Option<Certificate>), ApiError> {
    let internal = |e: String| ApiError::Internal(e.into());
    let key = PublicKey::from_spki_der(&pair.public_key).map_err(|e| internal(e.to_string()))?;
    let certificate = pair
        .certificate
        .as_deref()
        .map(Certificate::from_der)
        .transpose()
        .map_err(|e| internal(e.to_string()))?;
    Ok((key, certificate))
}

enum LetterChoice {
    Ini,
    Hia,
}

async fn letter(
    state: AppState,
    caller: Caller,
    id: String,
    choice: LetterChoice,
) -> Result<Response, ApiError> {
    let id: EbicsUserId = path_id(&id, "EBICS user")?;
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    let user = granted_user(&mut tx, &caller, id).await?;
    let connection: Connection = tx.get(user.connection_id).await?;
    let host: BankHost = tx.get(connection.bank_host_id).await?;
    let pairs = tx.key_pairs().list_for_user(id).await?;
    let current = |usage: KeyUsage| {
        pairs.iter().rfind(|k| {
            k.usage == usage && !matches!(k.status, KeyStatus::Expired | KeyStatus::Revoked)
        })
    };
    let no_keys = || ApiError::Conflict {
        code: "no_keys",
        message: "the user has no keys yet; generate them first".into(),
    };
    let input = LetterInput {
        host_id: host.host_id.clone(),
        bank_name: Some(host.name.clone()),
        partner_id: connection.partner_id.clone(),
        user_id: user.user_id.clone(),
        user_name: user.name.clone(),
        created_at: user.created_at.fixed_offset(),
        protocol: host.protocol_version,
        language: LetterLanguage::English,
    };
    let with_cert = matches!(
        host.protocol_version,
        ProtocolVersion::H005 | ProtocolVersion::H006
    );
    let bad = |e: kontor_protocol::letters::LetterError| ApiError::Internal(e.to_string().into());
    let rendered = match choice {
        LetterChoice::Ini => {
            let pair = current(KeyUsage::Signature).ok_or_else(no_keys)?;
            let (key, cert) = stored_public_key(pair)?;
            let version: SignatureVersion = pair
                .version
                .parse()
                .map_err(|_| ApiError::Internal("unknown signature version".into()))?;
            ini_letter(
                &input,
                LetterKey {
                    version,
                    public_key: &key,
                    certificate: cert.as_ref().filter(|_| with_cert),
                },
            )
            .map_err(bad)?
        }
        LetterChoice::Hia => {
            let auth = current(KeyUsage::Authentication).ok_or_else(no_keys)?;
            let enc = current(KeyUsage::Encryption).ok_or_else(no_keys)?;
            let (auth_key, auth_cert) = stored_public_key(auth)?;
            let (enc_key, enc_cert) = stored_public_key(enc)?;
            hia_letter(
                &input,
                LetterKey {
                    version: AuthenticationVersion::X002,
                    public_key: &auth_key,
                    certificate: auth_cert.as_ref().filter(|_| with_cert),
                },
                LetterKey {
                    version: EncryptionVersion::E002,
                    public_key: &enc_key,
                    certificate: enc_cert.as_ref().filter(|_| with_cert),
                },
            )
            .map_err(bad)?
        }
    };
    Ok((
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        rendered.html().to_owned(),
    )
        .into_response())
}

async fn ini_letter_html(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    letter(state, caller, id, LetterChoice::Ini).await
}

async fn hia_letter_html(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    letter(state, caller, id, LetterChoice::Hia).await
}

async fn key_pairs(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<KeyPair>>, ApiError> {
    let id: EbicsUserId = path_id(&id, "EBICS user")?;
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    granted_user(&mut tx, &caller, id).await?;
    // `KeyPair` never serialises its ciphertext: public information only.
    Ok(Json(tx.key_pairs().list_for_user(id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterSignerKey {
    /// A005 or A006.
    version: String,
    /// SubjectPublicKeyInfo PEM (`kontor sign pubkey`).
    public_key_pem: String,
    /// X.509 certificate PEM; required for H005 banks, whose key hash is the certificate's.
    certificate_pem: Option<String>,
}

async fn register_signer_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<RegisterSignerKey>,
) -> Result<(StatusCode, Json<KeyPair>), ApiError> {
    let id: EbicsUserId = path_id(&id, "EBICS user")?;
    let version: SignatureVersion = body.version.parse().map_err(|_| {
        ApiError::invalid("invalid_signature_version", "version must be A005 or A006")
    })?;
    let key = PublicKey::from_spki_pem(&body.public_key_pem)
        .map_err(|e| ApiError::invalid("invalid_public_key", e.to_string()))?;
    let certificate = body
        .certificate_pem
        .as_deref()
        .map(Certificate::from_pem)
        .transpose()
        .map_err(|e| ApiError::invalid("invalid_certificate", e.to_string()))?;
    if let Some(cert) = &certificate {
        if cert.public_key() != &key {
            return Err(ApiError::invalid(
                "certificate_key_mismatch",
                "the certificate does not certify this public key",
            ));
        }
    }
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    let user = granted_user(&mut tx, &caller, id).await?;
    // Past NEW the bank holds the user's signature key (INI was sent): replacing it here
    // would lock the real signer out while the daemon believed another key. A key change
    // is an order to the bank (PUB/HCS), signed with the current key.
    if user.status != EbicsUserStatus::New {
        return Err(ApiError::Conflict {
            code: "user_not_new",
            message: format!(
                "the user is {} and its signature key is known to the bank; \
                 change it through the bank's key change, not by registering a new one",
                user.status
            ),
        });
    }
    let connection: Connection = tx.get(user.connection_id).await?;
    let host: BankHost = tx.get(connection.bank_host_id).await?;
    let hash = public_key_hash(host.protocol_version, &key, certificate.as_ref())
        .map_err(|e| ApiError::invalid("certificate_required", e.to_string()))?;
    // Before INI a signer may register again (e.g. a lost key file): the older key is revoked.
    if let Some(older) = tx.key_pairs().current(id, KeyUsage::Signature).await? {
        revoke(&mut tx, &older, "replaced before INI").await?;
    }
    let pair = tx
        .key_pairs()
        .register_signer_key(NewSignerKey {
            ebics_user_id: id,
            version: version.as_str().to_owned(),
            public_key: key
                .to_spki_der()
                .map_err(|e| ApiError::Internal(e.to_string().into()))?,
            key_hash: hash.to_hex_upper(),
            certificate: certificate.map(|c| c.to_der().to_vec()),
        })
        .await?;
    tx.audit()
        .record(
            AuditAction::SignerKeyRegistered,
            "key_pair",
            &pair.id.to_string(),
            serde_json::json!({"ebics_user_id": id, "key_hash": pair.key_hash}),
        )
        .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(pair)))
}

/// An Owner revokes a signer-held key (a signer left, a key file may be compromised): the
/// key signs nothing from now on. A READY user then needs a key change with the bank.
async fn revoke_signer_key(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, key)): Path<(String, String)>,
) -> Result<Json<KeyPair>, ApiError> {
    let id: EbicsUserId = path_id(&id, "EBICS user")?;
    let key: KeyPairId = path_id(&key, "key pair")?;
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    granted_user(&mut tx, &caller, id).await?;
    let pair: KeyPair = tx.get(key).await?;
    if pair.ebics_user_id != id || pair.custody != KeyCustody::Signer {
        return Err(ApiError::NotFound("signer key"));
    }
    let revoked = revoke(&mut tx, &pair, "revoked by an Owner").await?;
    tx.commit().await?;
    Ok(Json(revoked))
}

async fn revoke(tx: &mut ScopedTx<'_>, pair: &KeyPair, why: &str) -> Result<KeyPair, ApiError> {
    let revoked = tx
        .key_pairs()
        .set_status(pair.id, pair.status, KeyStatus::Revoked)
        .await?;
    tx.audit()
        .record(
            AuditAction::SignerKeyRevoked,
            "key_pair",
            &pair.id.to_string(),
            serde_json::json!({
                "ebics_user_id": pair.ebics_user_id,
                "previous_status": pair.status,
                "reason": why,
            }),
        )
        .await?;
    Ok(revoked)
}

async fn permissions(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<Permission>>, ApiError> {
    let id: EbicsUserId = path_id(&id, "EBICS user")?;
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    granted_user(&mut tx, &caller, id).await?;
    Ok(Json(tx.permissions().list_for_user(id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddPermission {
    order_type: Valid<OrderTypeCode>,
    account_id: Option<Valid<AccountId>>,
    authorisation_level: Valid<SignatureClass>,
    max_amount: Option<Valid<Amount>>,
    currency: Option<Valid<Currency>>,
}

async fn add_permission(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<AddPermission>,
) -> Result<(StatusCode, Json<Permission>), ApiError> {
    let id: EbicsUserId = path_id(&id, "EBICS user")?;
    let account = body.account_id.map(Valid::into_inner);
    let max_amount = match (body.max_amount, body.currency) {
        (Some(amount), Some(currency)) => Some((
            payment_amount("max_amount", *amount, *currency)?,
            currency.as_str().to_owned(),
        )),
        (None, None) => None,
        _ => {
            return Err(ApiError::invalid(
                "invalid_limit",
                "max_amount and currency go together",
            ))
        }
    };
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    granted_user(&mut tx, &caller, id).await?;
    if let Some(account) = account {
        let _: Account = tx.get(account).await?;
    }
    let (max_amount, currency) = max_amount.unzip();
    let permission = tx
        .permissions()
        .create(NewPermission {
            ebics_user_id: id,
            order_type: body.order_type.into_inner().0,
            account_id: account,
            authorisation_level: *body.authorisation_level,
            max_amount,
            currency,
        })
        .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(permission)))
}

#[derive(Serialize)]
struct Capabilities {
    ebics_user_id: EbicsUserId,
    status: EbicsUserStatus,
    signature_class: SignatureClass,
    /// Whether the user's signature key is held by a signer (or by the daemon, or absent).
    signature_key_custody: Option<KeyCustody>,
    /// Order types the connection offers.
    order_types: Vec<String>,
    accounts: Vec<Account>,
    permissions: Vec<Permission>,
}

async fn capabilities(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Capabilities>, ApiError> {
    let id: EbicsUserId = path_id(&id, "EBICS user")?;
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    let user = granted_user(&mut tx, &caller, id).await?;
    let connection: Connection = tx.get(user.connection_id).await?;
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
        accounts,
        permissions,
    }))
}
