//! Onboarding step 1: a user's three key pairs, stored encrypted, and the letters for the bank.

use chrono::{DateTime, Utc};
use kontor_protocol::certificate::{Certificate, CertificateSubject, KeyPurpose};
use kontor_protocol::keys::{public_key_hash, KeyPair as RsaKeyPair, KeySize};
use kontor_protocol::letters::{
    hia_letter, ini_letter, Letter, LetterInput, LetterKey, LetterLanguage,
};
use kontor_protocol::{
    AuthenticationVersion, EncryptionVersion, ProtocolVersion, SignatureVersion,
};
use kontor_storage::{
    BankHost, Connection, EbicsUser, EbicsUserId, EbicsUserStatus, KeyUsage, NewKeyPair, ScopedTx,
};

use super::EngineError;

/// Freshly generated keys and certificates for one user, before they are stored.
pub struct KeyMaterial {
    signature: (RsaKeyPair, Certificate),
    authentication: (RsaKeyPair, Certificate),
    encryption: (RsaKeyPair, Certificate),
}

impl std::fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyMaterial([redacted])")
    }
}

/// Generates the signature (A006), authentication (X002) and encryption (E002) keys with
/// self-signed certificates (EBICS 3.0 needs certificates; German banks accept self-signed).
/// CPU-heavy: run it on a blocking thread.
pub fn generate_key_material(
    subject: &CertificateSubject,
    size: KeySize,
    now: DateTime<Utc>,
) -> Result<KeyMaterial, EngineError> {
    let mut rng = rand::rngs::OsRng;
    let mut one = |purpose| generate_pair(&mut rng, subject, purpose, size, now);
    Ok(KeyMaterial {
        signature: one(KeyPurpose::Signature)?,
        authentication: one(KeyPurpose::Authentication)?,
        encryption: one(KeyPurpose::Encryption)?,
    })
}

/// One RSA key pair with its self-signed certificate.
fn generate_pair(
    rng: &mut rand::rngs::OsRng,
    subject: &CertificateSubject,
    purpose: KeyPurpose,
    size: KeySize,
    now: DateTime<Utc>,
) -> Result<(RsaKeyPair, Certificate), EngineError> {
    let pair = RsaKeyPair::generate(rng, size).map_err(EngineError::key)?;
    let cert = Certificate::generate_self_signed(pair.private_key(), subject, purpose, now, 5, rng)
        .map_err(EngineError::key)?;
    Ok((pair, cert))
}

/// Stores one generated pair (private key encrypted under the master key); returns its
/// EBICS hash. H004 hashes the bare key; H005 hashes the certificate, which then travels
/// with the key.
async fn store_pair(
    tx: &mut ScopedTx<'_>,
    user: EbicsUserId,
    usage: KeyUsage,
    key_version: &str,
    (pair, cert): &(RsaKeyPair, Certificate),
    version: ProtocolVersion,
) -> Result<String, EngineError> {
    let with_cert = matches!(version, ProtocolVersion::H005 | ProtocolVersion::H006);
    let hash = public_key_hash(version, pair.public_key(), with_cert.then_some(cert))
        .map_err(EngineError::key)?
        .to_hex_upper();
    tx.key_pairs()
        .create(NewKeyPair {
            ebics_user_id: user,
            usage,
            version: key_version.into(),
            public_key: pair.public_key().to_spki_der().map_err(EngineError::key)?,
            private_key_pkcs8: pair
                .private_key()
                .to_pkcs8_der()
                .map_err(EngineError::key)?,
            key_hash: hash.clone(),
            certificate: with_cert.then(|| cert.to_der().to_vec()),
        })
        .await?;
    Ok(hash)
}

/// The version a key of `usage` is generated with.
fn generated_version(usage: KeyUsage) -> &'static str {
    match usage {
        KeyUsage::Signature => SignatureVersion::A006.as_str(),
        KeyUsage::Authentication => AuthenticationVersion::X002.as_str(),
        KeyUsage::Encryption => EncryptionVersion::E002.as_str(),
    }
}

fn purpose_of(usage: KeyUsage) -> KeyPurpose {
    match usage {
        KeyUsage::Signature => KeyPurpose::Signature,
        KeyUsage::Authentication => KeyPurpose::Authentication,
        KeyUsage::Encryption => KeyPurpose::Encryption,
    }
}

impl super::Engine {
    /// Generates and stores the keys a NEW user still lacks, so an operator can onboard a
    /// user through the API alone. A signature key the signer registered (held outside the
    /// daemon) counts as present and is never replaced; without one the daemon generates and
    /// holds the A006 key. Returns the usages generated.
    pub async fn ensure_user_keys(
        &self,
        scope: &kontor_storage::TenantScope,
        user: EbicsUserId,
    ) -> Result<Vec<KeyUsage>, EngineError> {
        let mut tx = self.store().scope(scope).begin().await?;
        let record: EbicsUser = tx.get(user).await?;
        let connection: Connection = tx.get(record.connection_id).await?;
        let host: BankHost = tx.get(connection.bank_host_id).await?;
        let mut missing = Vec::new();
        for usage in [
            KeyUsage::Signature,
            KeyUsage::Authentication,
            KeyUsage::Encryption,
        ] {
            if tx.key_pairs().current(user, usage).await?.is_none() {
                missing.push(usage);
            }
        }
        drop(tx);
        if missing.is_empty() {
            return Ok(missing);
        }
        let subject = CertificateSubject {
            common_name: record.name.clone(),
            organization: None,
            country: None,
        };
        let usages = missing.clone();
        // RSA generation is CPU-bound: keep it off the async workers.
        let generated = tokio::task::spawn_blocking(move || {
            let mut rng = rand::rngs::OsRng;
            usages
                .into_iter()
                .map(|usage| {
                    generate_pair(
                        &mut rng,
                        &subject,
                        purpose_of(usage),
                        KeySize::Bits2048,
                        Utc::now(),
                    )
                    .map(|pair| (usage, pair))
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .await
        .map_err(EngineError::key)??;
        let mut tx = self.store().scope(scope).begin().await?;
        for (usage, pair) in &generated {
            store_pair(
                &mut tx,
                user,
                *usage,
                generated_version(*usage),
                pair,
                host.protocol_version,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(missing)
    }
}

/// The letters a user prints, signs and sends to the bank, with the hashes they show.
pub struct OnboardingLetters {
    pub ini: Letter,
    pub hia: Letter,
    pub signature_hash: String,
    pub authentication_hash: String,
    pub encryption_hash: String,
}

/// Stores a NEW user's key material (private keys encrypted under the master key) and
/// produces the INI and HIA letters. Refuses users that already have keys.
pub async fn store_user_keys(
    tx: &mut ScopedTx<'_>,
    user: EbicsUserId,
    material: &KeyMaterial,
    at: DateTime<Utc>,
) -> Result<OnboardingLetters, EngineError> {
    let user: EbicsUser = tx.get(user).await?;
    if user.status != EbicsUserStatus::New {
        return Err(EngineError::Precondition(format!(
            "EBICS user {} is {}, not NEW",
            user.user_id, user.status
        )));
    }
    if !tx.key_pairs().list_for_user(user.id).await?.is_empty() {
        return Err(EngineError::Precondition(format!(
            "EBICS user {} already has keys",
            user.user_id
        )));
    }
    let connection: Connection = tx.get(user.connection_id).await?;
    let host: BankHost = tx.get(connection.bank_host_id).await?;
    let version = host.protocol_version;
    let with_cert = matches!(version, ProtocolVersion::H005 | ProtocolVersion::H006);
    let mut hashes = Vec::new();
    for (usage, pair) in [
        (KeyUsage::Signature, &material.signature),
        (KeyUsage::Authentication, &material.authentication),
        (KeyUsage::Encryption, &material.encryption),
    ] {
        hashes.push(store_pair(tx, user.id, usage, generated_version(usage), pair, version).await?);
    }
    let input = LetterInput {
        host_id: host.host_id.clone(),
        bank_name: Some(host.name.clone()),
        partner_id: connection.partner_id.clone(),
        user_id: user.user_id.clone(),
        user_name: user.name.clone(),
        created_at: at.fixed_offset(),
        protocol: version,
        language: LetterLanguage::English,
    };
    let ini = ini_letter(
        &input,
        LetterKey {
            version: SignatureVersion::A006,
            public_key: material.signature.0.public_key(),
            certificate: with_cert.then_some(&material.signature.1),
        },
    )
    .map_err(|e| EngineError::Key(e.to_string()))?;
    let hia = hia_letter(
        &input,
        LetterKey {
            version: AuthenticationVersion::X002,
            public_key: material.authentication.0.public_key(),
            certificate: with_cert.then_some(&material.authentication.1),
        },
        LetterKey {
            version: EncryptionVersion::E002,
            public_key: material.encryption.0.public_key(),
            certificate: with_cert.then_some(&material.encryption.1),
        },
    )
    .map_err(|e| EngineError::Key(e.to_string()))?;
    let mut hashes = hashes.into_iter();
    Ok(OnboardingLetters {
        ini,
        hia,
        signature_hash: hashes.next().unwrap_or_default(),
        authentication_hash: hashes.next().unwrap_or_default(),
        encryption_hash: hashes.next().unwrap_or_default(),
    })
}
