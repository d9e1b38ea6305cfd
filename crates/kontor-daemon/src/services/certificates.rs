//! The certificates of a user's keys: what they say (validity, issuer, subject, whether a CA
//! issued them), importing a CA-issued one before the key is sent, and the expiry warning.
//!
//! Banks that issue certificates from their own CA (French banks on EBICS 2.5 and 3.0; every
//! bank that takes H3K) expect the subscriber to send the CA's certificate, not a self-signed
//! one. The daemon generates keys with self-signed certificates; an operator imports the
//! CA-issued certificate for a PENDING key (before INI/HIA/H3K), and from then on it is the
//! one sent and printed. Once the bank has a key, its certificate changes only with a key
//! change (HCA/HCS), never here.
//!
//! **Expiry warnings** ([`warn_expiring`]): a certificate that ends within the warning period
//! is logged and audited (`CERTIFICATE_EXPIRING`) exactly once per key, marked in the
//! database (`key_pairs.expiry_warned_at`) with a compare-and-set, so several instances
//! never warn twice. Other notifiers (webhooks) call [`warn_expiring`] and act on what it
//! returns: only the warnings given by that call.

use chrono::{DateTime, Duration, Utc};
use kontor_protocol::certificate::Certificate;
use kontor_protocol::keys::{public_key_hash, KeyHash, PublicKey};
use kontor_protocol::KeyVersion;
use kontor_storage::{
    AuditAction, DbEnum, EbicsUser, EbicsUserId, EbicsUserStatus, KeyCustody, KeyPair, KeyPairId,
    KeyStatus, KeyUsage, Page, ScopedTx, Store, TenantScope,
};
use serde::Serialize;

use super::error::{Refusal, ServiceError};
use super::keys::{ensure_user_keys, KeyError};

/// The default warning period before a certificate ends.
pub const DEFAULT_EXPIRY_WARNING_DAYS: i64 = 30;

/// Whether a CA issued a certificate or its own key signed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CertificateOrigin {
    SelfSigned,
    CaIssued,
}

/// What a key's certificate says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct CertificateInfo {
    pub subject: String,
    pub issuer: String,
    pub serial: String,
    pub not_before: Option<DateTime<Utc>>,
    pub not_after: Option<DateTime<Utc>>,
    pub origin: CertificateOrigin,
    /// SHA-256 over the DER bytes (the H005 key hash).
    pub sha256: String,
    /// Whether it ends within the warning period (or has ended).
    pub expires_soon: bool,
}

impl CertificateInfo {
    fn of(certificate: &Certificate, now: DateTime<Utc>, warn: Duration) -> Self {
        let not_after = certificate.not_after();
        Self {
            subject: certificate.subject(),
            issuer: certificate.issuer(),
            serial: certificate.serial_hex(),
            not_before: certificate.not_before(),
            not_after,
            origin: if certificate.is_ca_issued() {
                CertificateOrigin::CaIssued
            } else {
                CertificateOrigin::SelfSigned
            },
            sha256: certificate.fingerprint_sha256().to_hex_upper(),
            expires_soon: not_after.is_none_or(|end| end - now <= warn),
        }
    }
}

/// One of a user's keys as the keys view shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct KeyView {
    pub id: KeyPairId,
    pub usage: KeyUsage,
    pub version: KeyVersion,
    pub status: KeyStatus,
    pub custody: KeyCustody,
    pub key_hash: KeyHash,
    pub certificate: Option<CertificateInfo>,
    pub created_at: DateTime<Utc>,
}

fn view(pair: &KeyPair, now: DateTime<Utc>, warn: Duration) -> KeyView {
    KeyView {
        id: pair.id,
        usage: pair.usage,
        version: pair.version,
        status: pair.status,
        custody: pair.custody,
        key_hash: pair.key_hash,
        certificate: readable_certificate(pair).map(|c| CertificateInfo::of(&c, now, warn)),
        created_at: pair.created_at,
    }
}

/// The key's certificate, when it has one that parses: an unreadable one is shown and
/// warned about as none.
fn readable_certificate(pair: &KeyPair) -> Option<Certificate> {
    Certificate::from_der(pair.certificate.as_deref()?).ok()
}

/// The user's current keys (newest per usage, neither expired nor revoked) with their
/// certificates; `warn_days` decides `expires_soon`.
pub async fn keys_view(
    tx: &mut ScopedTx<'_>,
    user: EbicsUserId,
    now: DateTime<Utc>,
    warn_days: i64,
) -> Result<Vec<KeyView>, ServiceError> {
    let mut out = Vec::new();
    for &usage in KeyUsage::ALL {
        if let Some(pair) = tx.key_pairs().current(user, usage).await? {
            out.push(view(&pair, now, Duration::days(warn_days)));
        }
    }
    Ok(out)
}

/// Generates the keys a NEW user lacks (PENDING, with self-signed certificates) without
/// sending them, so the operator can have their certificates issued by the bank's CA and
/// import them before INI/HIA or H3K. Returns the keys view.
pub async fn generate_keys(
    store: &Store,
    scope: &TenantScope,
    user: EbicsUserId,
) -> Result<Vec<KeyView>, ServiceError> {
    let mut tx = store.scope(scope).begin().await?;
    let record: EbicsUser = tx.get(user).await?;
    drop(tx);
    Refusal::unless_user_in(&record, EbicsUserStatus::New)?;
    ensure_user_keys(store, scope, user)
        .await
        .map_err(KeyError::into_service_error)?;
    let mut tx = store.scope(scope).begin().await?;
    keys_view(&mut tx, user, Utc::now(), DEFAULT_EXPIRY_WARNING_DAYS).await
}

fn invalid(message: impl Into<String>) -> ServiceError {
    Refusal::InvalidCertificate(message.into()).into()
}

/// Imports a certificate (PEM or DER) for the user's PENDING key of `usage`, typically the
/// one the bank's CA issued for it, to be sent instead of the self-signed one. It must carry
/// that key's public key, be valid at `now` and, where it has a key usage extension, allow
/// the key's use; the H005 key hash becomes its fingerprint
/// (H004 hashes stay over exponent and modulus). Audited as `CERTIFICATE_IMPORTED`.
pub async fn import_certificate(
    tx: &mut ScopedTx<'_>,
    user: EbicsUserId,
    usage: KeyUsage,
    bytes: &[u8],
    now: DateTime<Utc>,
) -> Result<KeyView, ServiceError> {
    let host = tx.ebics_users().at_host(user).await?.host;
    let pair = tx.key_pairs().current(user, usage).await?.ok_or_else(|| {
        invalid(format!(
            "the user has no {usage} key yet; generate keys first"
        ))
    })?;
    if pair.status != KeyStatus::Pending {
        return Err(Refusal::KeyNotPending(usage).into());
    }
    let certificate = Certificate::from_pem_or_der(bytes)
        .map_err(|e| invalid(format!("not a usable certificate: {e}")))?;
    let key = PublicKey::from_spki_der(&pair.public_key)
        .map_err(|e| ServiceError::Internal(Box::new(e)))?;
    if certificate.public_key() != &key {
        return Err(invalid(format!(
            "the certificate carries another public key than the user's {usage} key"
        )));
    }
    certificate
        .check_validity(now)
        .map_err(|e| invalid(e.to_string()))?;
    // A CA may issue a certificate for another use (an encryption certificate for the ES
    // key); the bank would refuse it with 091210, so it is refused here, before it is sent.
    certificate
        .check_key_usage(usage.purpose())
        .map_err(|e| invalid(format!("not usable as the {usage} certificate: {e}")))?;
    let hash = public_key_hash(host.protocol_version, &key, Some(&certificate))
        .map_err(|e| ServiceError::Internal(Box::new(e)))?;
    let updated = tx
        .key_pairs()
        .replace_certificate(pair.id, certificate.to_der().to_vec(), hash)
        .await
        .map_err(|e| match e {
            kontor_storage::StorageError::StaleStatus { .. } => {
                Refusal::KeyNotPending(usage).into()
            }
            other => ServiceError::from(other),
        })?;
    tx.audit()
        .record(
            AuditAction::CertificateImported,
            "key_pair",
            &pair.id.to_string(),
            serde_json::json!({
                "ebics_user_id": user,
                "usage": usage,
                "issuer": certificate.issuer(),
                "subject": certificate.subject(),
                "serial": certificate.serial_hex(),
                "not_after": certificate.not_after(),
                "ca_issued": certificate.is_ca_issued(),
                "key_hash": hash,
            }),
        )
        .await?;
    Ok(view(
        &updated,
        now,
        Duration::days(DEFAULT_EXPIRY_WARNING_DAYS),
    ))
}

/// A certificate whose expiry warning this call gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ExpiringCertificate {
    pub ebics_user_id: EbicsUserId,
    pub user_id: String,
    pub key_pair_id: KeyPairId,
    pub usage: KeyUsage,
    pub not_after: Option<DateTime<Utc>>,
}

/// Gives the expiry warning for every certificate of the tenant's keys in use (not expired
/// or revoked) that ends within `warn_days` of `now` and was not warned about before: logs
/// it, audits it (`CERTIFICATE_EXPIRING`) and returns it. Each key is warned about once,
/// whichever instance or caller comes first (see the module doc); the one entry point for
/// notifiers such as webhooks.
pub async fn warn_expiring(
    store: &Store,
    scope: &TenantScope,
    now: DateTime<Utc>,
    warn_days: i64,
) -> Result<Vec<ExpiringCertificate>, ServiceError> {
    let warn = Duration::days(warn_days);
    let mut tx = store.scope(scope).begin().await?;
    let users: Vec<EbicsUser> = tx.list(Page::first(100_000)).await?;
    let mut warned = Vec::new();
    for user in users {
        for pair in tx.key_pairs().list_for_user(user.id).await? {
            if matches!(pair.status, KeyStatus::Expired | KeyStatus::Revoked)
                || pair.expiry_warned_at.is_some()
            {
                continue;
            }
            let Some(certificate) = readable_certificate(&pair) else {
                continue;
            };
            let not_after = certificate.not_after();
            if not_after.is_some_and(|end| end - now > warn) {
                continue;
            }
            if !tx.key_pairs().mark_expiry_warned(pair.id).await? {
                continue;
            }
            tracing::warn!(user = %user.user_id, usage = %pair.usage, not_after = ?not_after, "certificate expires soon: plan a key change");
            tx.audit()
                .record(
                    AuditAction::CertificateExpiring,
                    "key_pair",
                    &pair.id.to_string(),
                    serde_json::json!({
                        "ebics_user_id": user.id,
                        "usage": pair.usage,
                        "not_after": not_after,
                        "warning_days": warn_days,
                    }),
                )
                .await?;
            // The webhook in the same transaction as the mark: announced once, like the log.
            tx.webhooks()
                .emit(
                    kontor_storage::WebhookEventType::CertificateExpiring,
                    serde_json::json!({
                        "ebics_user_id": user.id,
                        "user_id": user.user_id,
                        "key_pair_id": pair.id,
                        "usage": pair.usage,
                        "not_after": not_after,
                        "warning_days": warn_days,
                    }),
                )
                .await?;
            warned.push(ExpiringCertificate {
                ebics_user_id: user.id,
                user_id: user.user_id.clone(),
                key_pair_id: pair.id,
                usage: pair.usage,
                not_after,
            });
        }
    }
    tx.commit().await?;
    Ok(warned)
}

/// Gives the expiry warnings of every tenant every `every` (the daemon runs it hourly): a
/// certificate that ends within `warn_days` is logged, audited and announced as
/// `certificate.expiring` once.
pub fn spawn_expiry_watch(
    store: Store,
    every: std::time::Duration,
    warn_days: i64,
) -> tokio::task::JoinHandle<()> {
    super::every(every, move || {
        let store = store.clone();
        async move {
            let tenants = match store.admin().list_tenants().await {
                Ok(tenants) => tenants,
                Err(error) => {
                    tracing::warn!(%error, "certificate expiry watch: tenants unreadable");
                    return;
                }
            };
            for tenant in tenants {
                let scope = TenantScope::system_job(tenant.id, "certificate-expiry");
                if let Err(error) = warn_expiring(&store, &scope, Utc::now(), warn_days).await {
                    tracing::warn!(tenant = %tenant.id, %error, "certificate expiry watch failed");
                }
            }
        }
    })
}
