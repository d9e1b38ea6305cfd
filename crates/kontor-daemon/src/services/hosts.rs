//! Bank hosts and their keys: registering a host (its URL and CA bundle checked by the
//! transport's own rules), changing or removing it, and an operator's verification of a bank
//! key against the hash on the bank's letter.

use kontor_protocol::certificate::Certificate;
use kontor_protocol::keys::KeyHash;
use kontor_protocol::ProtocolVersion;
use kontor_storage::{
    AuditAction, BankHost, BankHostChanges, BankHostId, BankKey, BankKeyId, BankKeyVerification,
    EbicsUserStatus, NewBankHost, ScopedTx, TenantScope, VerificationMethod,
};
use serde_json::json;

use super::bank::AsUser;
use super::error::{OnConflict, Refusal, ServiceError};
use super::Services;
use crate::ebics::session::verified_bank_keys;
use crate::ebics::transport::{BankEndpoint, BankUrlError, CaBundle};

/// A bank host to register.
#[derive(Debug, Clone)]
pub struct NewHost {
    pub host_id: String,
    pub name: String,
    pub url: String,
    pub protocol_version: ProtocolVersion,
    /// Whether the host takes BTF order parameters; `None`: as its protocol version does.
    pub btf: Option<bool>,
    pub production: bool,
    /// PEM CA certificates for a bank's test system or private CA.
    pub ca_bundle_pem: Option<String>,
    /// Send X.509 certificates with the keys on H004 as well (French banks).
    pub x509_on_h004: bool,
    /// PEM CA certificates the bank's key certificates must be issued by.
    pub bank_ca_pem: Option<String>,
}

/// A bundle is multi-line PEM, bounded here before its parser sees it.
pub const MAX_CA_BUNDLE_BYTES: usize = 256 << 10;

/// The transport's own rule (checked again before every request): production hosts only
/// over https.
fn check_url(url: &str, production: bool) -> Result<(), Refusal> {
    BankEndpoint::check(url, production)
        .map(|_| ())
        .map_err(|e| match e {
            BankUrlError::Invalid(_) => Refusal::InvalidUrl(e.to_string()),
            BankUrlError::HttpsRequired => Refusal::HttpsRequired(e.to_string()),
        })
}

/// A bundle's own parser accepts certificates and nothing else.
fn check_ca_bundle(pem: Option<&str>) -> Result<(), Refusal> {
    check_pem(pem, "a CA bundle", Refusal::InvalidCaBundle, |pem| {
        CaBundle::from_pem(pem)
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
}

/// The bank's CA certificates: PEM certificates only, bounded like a TLS bundle.
fn check_bank_ca(pem: Option<&str>) -> Result<(), Refusal> {
    check_pem(
        pem,
        "the bank's CA certificates",
        Refusal::InvalidCertificate,
        |pem| {
            Certificate::all_from_pem(pem)
                .map(|_| ())
                .map_err(|e| format!("bank_ca_pem: {e}"))
        },
    )
}

/// A PEM field, when given: at most [`MAX_CA_BUNDLE_BYTES`], then what `parse` accepts;
/// `refusal` says why not.
fn check_pem(
    pem: Option<&str>,
    what: &str,
    refusal: fn(String) -> Refusal,
    parse: impl FnOnce(&str) -> Result<(), String>,
) -> Result<(), Refusal> {
    let Some(pem) = pem else {
        return Ok(());
    };
    if pem.len() > MAX_CA_BUNDLE_BYTES {
        return Err(refusal(format!(
            "{what} may have at most {MAX_CA_BUNDLE_BYTES} bytes"
        )));
    }
    parse(pem).map_err(refusal)
}

pub async fn create(tx: &mut ScopedTx<'_>, new: NewHost) -> Result<BankHost, ServiceError> {
    check_url(&new.url, new.production)?;
    check_ca_bundle(new.ca_bundle_pem.as_deref())?;
    check_bank_ca(new.bank_ca_pem.as_deref())?;
    let certificates = BankHostChanges {
        x509_on_h004: Some(new.x509_on_h004),
        bank_ca_pem: Some(new.bank_ca_pem),
        ..Default::default()
    };
    let host = tx
        .bank_hosts()
        .create(NewBankHost {
            host_id: new.host_id,
            name: new.name,
            url: new.url,
            protocol_version: new.protocol_version,
            btf: new.btf.unwrap_or(new.protocol_version.uses_btf()),
            production: new.production,
            ca_bundle_pem: new.ca_bundle_pem,
        })
        .await
        .on_conflict(Refusal::HostIdTaken)?;
    Ok(tx.bank_hosts().update(host.id, certificates).await?)
}

pub async fn update(
    tx: &mut ScopedTx<'_>,
    id: BankHostId,
    changes: BankHostChanges,
) -> Result<BankHost, ServiceError> {
    if let Some(pem) = &changes.ca_bundle_pem {
        check_ca_bundle(pem.as_deref())?;
    }
    if let Some(pem) = &changes.bank_ca_pem {
        check_bank_ca(pem.as_deref())?;
    }
    // The URL rule depends on the result: a production flag set on an http host is refused
    // like an http URL set on a production host.
    let current = active_host(tx, id).await?;
    check_url(
        changes.url.as_deref().unwrap_or(&current.url),
        changes.production.unwrap_or(current.production),
    )?;
    Ok(tx.bank_hosts().update(id, changes).await?)
}

/// What removing a host did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removal {
    /// No connection referred to it: the host and the bank keys fetched from it are gone (a
    /// rejected key must not keep a mistyped host alive).
    Deleted,
    /// Connections refer to it: their users, orders, statements and files are history that
    /// must stay readable, so the host is retired instead (nothing is sent to it any more,
    /// its users' schedules are disabled).
    Retired(Box<BankHost>),
}

/// Removes a host whose users have no live work: deleted when nothing refers to it, retired
/// otherwise. Unfinished orders or running transfers refuse it (`host_busy`) and change
/// nothing: a payment must not be stranded half-way.
pub async fn remove(tx: &mut ScopedTx<'_>, id: BankHostId) -> Result<Removal, ServiceError> {
    let host: BankHost = tx.get(id).await?;
    if host.retired_at.is_some() {
        return Ok(Removal::Retired(Box::new(host)));
    }
    if tx.connections().list_for_host(id).await?.is_empty() {
        tx.bank_keys().delete_for_host(id).await?;
        tx.delete(id).await?;
        return Ok(Removal::Deleted);
    }
    let live = tx.bank_hosts().live_work(id).await?;
    if !live.is_idle() {
        return Err(Refusal::HostBusy {
            orders: live.orders,
            transactions: live.transactions,
        }
        .into());
    }
    let retired = tx.bank_hosts().retire(id).await?;
    tx.audit()
        .record(
            AuditAction::BankHostRetired,
            "bank_host",
            &id.to_string(),
            json!({"host_id": retired.host_id, "url": retired.url}),
        )
        .await?;
    Ok(Removal::Retired(Box::new(retired)))
}

/// The host of a new connection, user, order, download or schedule: a retired host takes
/// no new work.
pub async fn active_host(tx: &mut ScopedTx<'_>, id: BankHostId) -> Result<BankHost, ServiceError> {
    let host: BankHost = tx.get(id).await?;
    ensure_active(&host)?;
    Ok(host)
}

/// Refuses a retired host, which takes no new work (see [`active_host`]), for a host read
/// already (with its user, say).
pub fn ensure_active(host: &BankHost) -> Result<(), ServiceError> {
    match host.retired_at {
        Some(_) => Err(Refusal::HostRetired(host.host_id.clone()).into()),
        None => Ok(()),
    }
}

/// Verifies a bank key against the hash from the bank's letter. A mismatch rejects the key,
/// which blocks every further order for users of that host. Each decision is audited; once
/// the host's current keys are all verified, schedules held for them are due again at once.
pub async fn verify_key(
    tx: &mut ScopedTx<'_>,
    id: BankKeyId,
    expected_hash: KeyHash,
    operator: &str,
) -> Result<BankKey, ServiceError> {
    let key: BankKey = tx.get(id).await?;
    let outcome = if key.key_hash == expected_hash {
        BankKeyVerification::Verified
    } else {
        BankKeyVerification::Rejected
    };
    // A rejected key checked again against a wrong hash stays rejected; a corrected hash
    // verifies it.
    if key.verification_status == outcome {
        return Ok(key);
    }
    let decided = tx
        .bank_keys()
        .decide(id, outcome, VerificationMethod::Letter, operator)
        .await?;
    let action = match outcome {
        BankKeyVerification::Verified => AuditAction::BankKeyVerified,
        _ => AuditAction::BankKeyRejected,
    };
    tx.audit()
        .record(
            action,
            "bank_key",
            &id.to_string(),
            serde_json::json!({
                "bank_host_id": decided.bank_host_id,
                "kind": decided.kind,
                "generation": decided.generation,
                "key_hash": decided.key_hash,
            }),
        )
        .await?;
    let host: BankHost = tx.get(decided.bank_host_id).await?;
    let keys = tx.bank_keys().list_for_host(host.id).await?;
    if verified_bank_keys(&host, &keys).is_ok() {
        let released = tx
            .schedules()
            .release_held_for_host(host.id, chrono::Utc::now())
            .await?;
        if released > 0 {
            tracing::info!(host = %host.host_id, released, "bank keys verified: held schedules due again");
        }
    }
    Ok(decided)
}

/// Fetches the host's keys again (HPB) on an operator's request, through one of its users
/// that the bank knows (INITIALISED or READY). A key other than the current one is stored
/// unverified as the next generation and holds every order for the host until verified.
pub async fn refresh_keys(
    services: &Services,
    scope: &TenantScope,
    host: BankHostId,
) -> Result<Vec<BankKey>, ServiceError> {
    let user = {
        let mut tx = services.store().scope(scope).read().await?;
        let _: BankHost = tx.get(host).await?;
        let mut found = None;
        for connection in tx.connections().list_for_host(host).await? {
            found = tx
                .ebics_users()
                .list_for_connection(connection.id)
                .await?
                .into_iter()
                .find(|u| {
                    matches!(
                        u.status,
                        EbicsUserStatus::Ready | EbicsUserStatus::Initialised
                    )
                });
            if found.is_some() {
                break;
            }
        }
        found.ok_or_else(|| {
            ServiceError::Precondition(
                "no INITIALISED or READY EBICS user of this host can fetch its keys".into(),
            )
        })?
    };
    Ok(services
        .bank()?
        .fetch_bank_keys(AsUser {
            scope,
            user: user.id,
        })
        .await?)
}
