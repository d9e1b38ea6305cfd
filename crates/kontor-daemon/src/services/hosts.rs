//! Bank hosts and their keys: registering a host (its URL and CA bundle checked by the
//! transport's own rules), changing or removing it, and an operator's verification of a bank
//! key against the hash on the bank's letter.

use kontor_protocol::certificate::Certificate;
use kontor_protocol::ProtocolVersion;
use kontor_storage::{
    BankHost, BankHostChanges, BankHostId, BankKey, BankKeyId, BankKeyVerification, NewBankHost,
    ScopedTx, VerificationMethod,
};

use super::error::{OnConflict, Refusal, ServiceError};
use super::orders::same_key_hash;
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
    match pem {
        Some(pem) if pem.len() > MAX_CA_BUNDLE_BYTES => Err(Refusal::InvalidCaBundle(format!(
            "a CA bundle may have at most {MAX_CA_BUNDLE_BYTES} bytes"
        ))),
        Some(pem) => CaBundle::from_pem(pem)
            .map(|_| ())
            .map_err(|e| Refusal::InvalidCaBundle(e.to_string())),
        None => Ok(()),
    }
}

/// The bank's CA certificates: PEM certificates only, bounded like a TLS bundle.
fn check_bank_ca(pem: Option<&str>) -> Result<(), Refusal> {
    match pem {
        Some(pem) if pem.len() > MAX_CA_BUNDLE_BYTES => Err(Refusal::InvalidCertificate(format!(
            "the bank's CA certificates may have at most {MAX_CA_BUNDLE_BYTES} bytes"
        ))),
        Some(pem) => Certificate::all_from_pem(pem)
            .map(|_| ())
            .map_err(|e| Refusal::InvalidCertificate(format!("bank_ca_pem: {e}"))),
        None => Ok(()),
    }
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
    let current: BankHost = tx.get(id).await?;
    check_url(
        changes.url.as_deref().unwrap_or(&current.url),
        changes.production.unwrap_or(current.production),
    )?;
    Ok(tx.bank_hosts().update(id, changes).await?)
}

/// Removes a host no connection uses any more, with the bank keys fetched from it (a
/// rejected key must not keep a mistyped host alive). A host with connections stays
/// (`in_use`): their users, orders and statements refer to it.
pub async fn remove(tx: &mut ScopedTx<'_>, id: BankHostId) -> Result<(), ServiceError> {
    let _: BankHost = tx.get(id).await?;
    if tx.connections().list_for_host(id).await?.is_empty() {
        tx.bank_keys().delete_for_host(id).await?;
    }
    Ok(tx.delete(id).await?)
}

/// Verifies a bank key against the hash from the bank's letter. A mismatch rejects the key,
/// which blocks every further order for users of that host.
pub async fn verify_key(
    tx: &mut ScopedTx<'_>,
    id: BankKeyId,
    expected_hash: &str,
    operator: &str,
) -> Result<BankKey, ServiceError> {
    let key: BankKey = tx.get(id).await?;
    let outcome = if same_key_hash(&key.key_hash, expected_hash) {
        BankKeyVerification::Verified
    } else {
        BankKeyVerification::Rejected
    };
    // A rejected key checked again against a wrong hash stays rejected; a corrected hash
    // verifies it.
    if key.verification_status == outcome {
        return Ok(key);
    }
    Ok(tx
        .bank_keys()
        .decide(id, outcome, VerificationMethod::Letter, operator)
        .await?)
}
