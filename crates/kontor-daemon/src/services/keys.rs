//! A user's keys and the letters for the bank: the three key pairs, generated and stored
//! encrypted (or the signature key registered by a signer who holds it), and the INI and HIA
//! letters that show their hashes.

use chrono::{DateTime, Utc};
use kontor_protocol::certificate::{Certificate, CertificateSubject, KeyPurpose};
use kontor_protocol::keys::{public_key_hash, KeyPair as RsaKeyPair, KeySize, PublicKey};
use kontor_protocol::letters::{
    hia_letter, ini_letter, Letter, LetterError, LetterInput, LetterKey, LetterLanguage,
};
use kontor_protocol::{
    AuthenticationVersion, EncryptionVersion, KeyVersion, ProtocolVersion, SignatureVersion,
};
use kontor_storage::{
    DbEnum, EbicsUser, EbicsUserId, KeyPair, KeyUsage, NewKeyPair, ScopedTx, StorageError, Store,
    TenantScope, UserAtHost,
};

use super::error::ServiceError;

/// Why keys could not be generated, stored or shown.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key handling failed: {0}")]
    Crypto(String),
    /// A letter needs keys the user does not have yet.
    #[error("the user has no keys yet; generate them first")]
    NoKeys,
    #[error("letter: {0}")]
    Letter(#[from] LetterError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl KeyError {
    fn crypto(e: impl std::fmt::Display) -> Self {
        Self::Crypto(e.to_string())
    }

    /// The error of a workflow that checked the user before generating keys: what fails
    /// then is storage, or internal.
    pub(crate) fn into_service_error(self) -> ServiceError {
        match self {
            Self::Storage(e) => e.into(),
            other => ServiceError::Internal(Box::new(other)),
        }
    }
}

/// The user's current signature key as stored now (`None` before one was generated or
/// registered), read in a transaction of its own.
pub(crate) async fn stored_signature_key(
    store: &Store,
    scope: &TenantScope,
    user: EbicsUserId,
) -> Result<Option<KeyPair>, StorageError> {
    store
        .scope(scope)
        .read()
        .await?
        .key_pairs()
        .current(user, KeyUsage::Signature)
        .await
}

/// One RSA key pair with its self-signed certificate.
fn generate_pair(
    rng: &mut rand::rngs::OsRng,
    subject: &CertificateSubject,
    purpose: KeyPurpose,
    size: KeySize,
    now: DateTime<Utc>,
) -> Result<(RsaKeyPair, Certificate), KeyError> {
    let pair = RsaKeyPair::generate(rng, size).map_err(KeyError::crypto)?;
    let cert = Certificate::generate_self_signed(pair.private_key(), subject, purpose, now, 5, rng)
        .map_err(KeyError::crypto)?;
    Ok((pair, cert))
}

/// Stores one generated pair (private key encrypted under the master key, in status PENDING)
/// with its certificate. Its EBICS hash: H004 hashes the bare key; H005 hashes the
/// certificate. The certificate is kept on H004 too: hosts that want X.509 on H004 (French
/// banks) get it sent with the key, and a CA-issued one may replace it before INI/HIA.
async fn store_pair(
    tx: &mut ScopedTx<'_>,
    user: EbicsUserId,
    usage: KeyUsage,
    (pair, cert): &(RsaKeyPair, Certificate),
    version: ProtocolVersion,
) -> Result<KeyPair, KeyError> {
    let hash = public_key_hash(version, pair.public_key(), Some(cert)).map_err(KeyError::crypto)?;
    tx.key_pairs()
        .create(NewKeyPair {
            ebics_user_id: user,
            usage,
            version: generated_version(usage),
            public_key: pair.public_key().to_spki_der().map_err(KeyError::crypto)?,
            private_key_pkcs8: pair
                .private_key()
                .to_pkcs8_der()
                .map_err(KeyError::crypto)?,
            key_hash: hash,
            certificate: Some(cert.to_der().to_vec()),
        })
        .await
        .map_err(KeyError::from)
}

/// The version a key of `usage` is generated with.
fn generated_version(usage: KeyUsage) -> KeyVersion {
    match usage {
        KeyUsage::Signature => KeyVersion::A006,
        KeyUsage::Authentication => KeyVersion::X002,
        KeyUsage::Encryption => KeyVersion::E002,
    }
}

/// Generates and stores the keys a NEW user still lacks, so an operator can onboard a
/// user through the API alone. A signature key the signer registered (held outside the
/// daemon) counts as present and is never replaced; without one the daemon generates and
/// holds the A006 key. Returns the usages generated.
pub async fn ensure_user_keys(
    store: &Store,
    scope: &TenantScope,
    user: EbicsUserId,
) -> Result<Vec<KeyUsage>, KeyError> {
    let mut tx = store.scope(scope).begin().await?;
    let UserAtHost {
        user: record, host, ..
    } = tx.ebics_users().at_host(user).await?;
    let mut missing = Vec::new();
    for &usage in KeyUsage::ALL {
        if tx.key_pairs().current(user, usage).await?.is_none() {
            missing.push(usage);
        }
    }
    drop(tx);
    if missing.is_empty() {
        return Ok(missing);
    }
    generate_and_store(store, scope, &record, host.protocol_version, &missing).await?;
    Ok(missing)
}

/// Generates new key pairs for `usages` (off the async workers: RSA generation is CPU-bound)
/// and stores them PENDING in one database transaction.
async fn generate_and_store(
    store: &Store,
    scope: &TenantScope,
    record: &EbicsUser,
    version: ProtocolVersion,
    usages: &[KeyUsage],
) -> Result<Vec<KeyPair>, KeyError> {
    let generated = generate_replacements(record, usages).await?;
    let mut tx = store.scope(scope).begin().await?;
    let stored = generated.store(&mut tx, record.id, version).await?;
    tx.commit().await?;
    Ok(stored)
}

/// New key pairs with their certificates, generated but not stored: a key change stores
/// them in the one transaction that also clears what they replace, so an interruption leaves
/// either nothing or all of it.
pub struct GeneratedKeys(Vec<(KeyUsage, (RsaKeyPair, Certificate))>);

impl std::fmt::Debug for GeneratedKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GeneratedKeys([redacted])")
    }
}

impl GeneratedKeys {
    /// Stores them PENDING for `user` (private keys encrypted), in `usages` order.
    pub async fn store(
        &self,
        tx: &mut ScopedTx<'_>,
        user: EbicsUserId,
        version: ProtocolVersion,
    ) -> Result<Vec<KeyPair>, KeyError> {
        let mut stored = Vec::with_capacity(self.0.len());
        for (usage, pair) in &self.0 {
            stored.push(store_pair(tx, user, *usage, pair, version).await?);
        }
        Ok(stored)
    }
}

/// Generates the new keys of a key change for `record` (off the async workers: RSA
/// generation is CPU-bound); [`GeneratedKeys::store`] stores them PENDING next to the ACTIVE
/// ones they will replace once the bank accepted the change.
pub async fn generate_replacements(
    record: &EbicsUser,
    usages: &[KeyUsage],
) -> Result<GeneratedKeys, KeyError> {
    let subject = CertificateSubject {
        common_name: record.name.clone(),
        organization: None,
        country: None,
    };
    let usages = usages.to_vec();
    let generated = tokio::task::spawn_blocking(move || {
        let mut rng = rand::rngs::OsRng;
        usages
            .into_iter()
            .map(|usage| {
                generate_pair(
                    &mut rng,
                    &subject,
                    usage.purpose(),
                    KeySize::Bits2048,
                    Utc::now(),
                )
                .map(|pair| (usage, pair))
            })
            .collect::<Result<Vec<_>, _>>()
    })
    .await
    .map_err(KeyError::crypto)??;
    Ok(GeneratedKeys(generated))
}

/// Which letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LetterKind {
    /// The signature key (INI).
    Ini,
    /// The authentication and encryption keys (HIA).
    Hia,
}

/// A user's INI or HIA letter in `language` from the keys stored now (the signature key may
/// be one a signer registered), dated when the user was created.
pub async fn stored_letter(
    tx: &mut ScopedTx<'_>,
    user: EbicsUserId,
    kind: LetterKind,
    language: LetterLanguage,
) -> Result<Letter, KeyError> {
    let at_host = tx.ebics_users().at_host(user).await?;
    let user = &at_host.user;
    let mut input = letter_input(&at_host, user.created_at);
    input.language = language;
    // Each letter needs only its own keys.
    match kind {
        LetterKind::Ini => {
            let (pair, signature) = current_public(tx, user.id, KeyUsage::Signature).await?;
            ini_with(&input, pair.signature_version()?, &signature)
        }
        LetterKind::Hia => {
            let (_, authentication) = current_public(tx, user.id, KeyUsage::Authentication).await?;
            let (_, encryption) = current_public(tx, user.id, KeyUsage::Encryption).await?;
            hia_with(&input, &authentication, &encryption)
        }
    }
}

async fn current_public(
    tx: &mut ScopedTx<'_>,
    user: EbicsUserId,
    usage: KeyUsage,
) -> Result<(KeyPair, PublicPart), KeyError> {
    let pair = tx
        .key_pairs()
        .current(user, usage)
        .await?
        .ok_or(KeyError::NoKeys)?;
    let public = public_part(&pair)?;
    Ok((pair, public))
}

/// A stored key's public part: the key and, when stored, its certificate.
type PublicPart = (PublicKey, Option<Certificate>);

fn public_part(pair: &KeyPair) -> Result<PublicPart, KeyError> {
    let key = PublicKey::from_spki_der(&pair.public_key).map_err(KeyError::crypto)?;
    let certificate = pair
        .certificate
        .as_deref()
        .map(Certificate::from_der)
        .transpose()
        .map_err(KeyError::crypto)?;
    Ok((key, certificate))
}

fn letter_input(
    UserAtHost {
        user,
        connection,
        host,
    }: &UserAtHost,
    at: DateTime<Utc>,
) -> LetterInput {
    LetterInput {
        host_id: host.host_id.clone(),
        bank_name: Some(host.name.clone()),
        partner_id: connection.partner_id.clone(),
        user_id: user.user_id.clone(),
        user_name: user.name.clone(),
        created_at: at.fixed_offset(),
        protocol: host.protocol_version,
        language: LetterLanguage::English,
    }
}

/// The one way a letter is written: H005 letters show the certificates, H004 the bare keys.
fn letter_key<'a, V>(
    input: &LetterInput,
    version: V,
    (key, cert): &'a PublicPart,
) -> LetterKey<'a, V> {
    LetterKey {
        version,
        public_key: key,
        certificate: cert.as_ref().filter(|_| input.protocol.uses_certificates()),
    }
}

fn ini_with(
    input: &LetterInput,
    version: SignatureVersion,
    signature: &PublicPart,
) -> Result<Letter, KeyError> {
    Ok(ini_letter(input, letter_key(input, version, signature))?)
}

fn hia_with(
    input: &LetterInput,
    authentication: &PublicPart,
    encryption: &PublicPart,
) -> Result<Letter, KeyError> {
    Ok(hia_letter(
        input,
        letter_key(input, AuthenticationVersion::X002, authentication),
        letter_key(input, EncryptionVersion::E002, encryption),
    )?)
}
