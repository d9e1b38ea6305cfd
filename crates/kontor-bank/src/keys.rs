//! The bank's own key material: real X002 (authentication) and E002 (encryption) RSA key pairs
//! with self-signed certificates (H005 publishes certificates), generated at start or loaded from
//! the file named in the seed (`keys = { file = "..." }`, created on first start).
//!
//! The trait [`BankKeys`] stays so tests can hand in a prepared key set through
//! [`BankBuilder::keys`](crate::BankBuilder::keys) (generating RSA keys costs time).

use std::any::Any;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use kontor_protocol::certificate::{Certificate, CertificateSubject, KeyPurpose};
use kontor_protocol::keys::{KeyHash, KeySize, PrivateKey, PublicKey};
use kontor_protocol::{KeyVersion, ProtocolVersion};
use rand::rngs::OsRng;
use rsa::pkcs8::DecodePrivateKey as _;
use rsa::RsaPrivateKey;
use serde::{Serialize, Serializer};
use zeroize::{Zeroize as _, Zeroizing};

use crate::config::BankKeySource;
use crate::ids::HostId;

/// A key hash in the emulator's admin JSON: lower-case hex (the daemon's API writes the
/// protocol's canonical upper case; tests and the peers read this form).
pub fn serialize_lower_hex<S: Serializer>(hash: &KeyHash, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hash.to_hex_lower())
}

/// The hash of one published bank key and its version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublishedKeyHash {
    /// `X002` or `E002`.
    pub version: KeyVersion,
    /// The key hash.
    #[serde(rename = "hash_sha256_hex", serialize_with = "serialize_lower_hex")]
    pub hash: KeyHash,
}

/// What the bank publishes about its keys (what a subscriber checks after HPB).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublishedBankKeys {
    pub authentication: PublishedKeyHash,
    pub encryption: PublishedKeyHash,
}

/// The bank's key pairs. Implemented by the protocol wiring; the emulator only needs the
/// published hashes, and hands the object to the dispatcher through the request context.
pub trait BankKeys: Send + Sync + fmt::Debug + 'static {
    /// Hashes of the public authentication (X002) and encryption (E002) keys.
    fn published(&self) -> PublishedBankKeys;

    /// Hashes in the H005 form (over the certificates), if the keys have certificates.
    fn published_h005(&self) -> Option<PublishedBankKeys> {
        None
    }

    /// Access to the concrete type, so a dispatcher can reach the key pairs it created.
    fn as_any(&self) -> &dyn Any;
}

/// The bank's current keys and, after a rollover, the keys they replaced.
///
/// A bank announces new keys and keeps the old ones for the changeover: a subscriber whose
/// `BankPubKeyDigests` still name the old keys is told so with 091008
/// (EBICS_BANK_PUBKEY_UPDATE_REQUIRED), in an answer signed with the old X002 key it can still
/// verify, until it fetches the new keys with HPB (H004/H005 Annex 1, return codes).
#[derive(Debug)]
pub struct BankKeyRing {
    ring: RwLock<Ring>,
}

#[derive(Debug)]
struct Ring {
    current: Arc<dyn BankKeys>,
    previous: Option<Arc<dyn BankKeys>>,
}

impl BankKeyRing {
    pub fn new(current: Arc<dyn BankKeys>) -> Self {
        Self {
            ring: RwLock::new(Ring {
                current,
                previous: None,
            }),
        }
    }

    /// The keys HPB publishes and every answer is signed with.
    pub fn current(&self) -> Arc<dyn BankKeys> {
        self.read().current.clone()
    }

    /// The keys the last rollover replaced.
    pub fn previous(&self) -> Option<Arc<dyn BankKeys>> {
        self.read().previous.clone()
    }

    /// Makes `next` current; the current keys become the previous ones.
    pub fn roll(&self, next: Arc<dyn BankKeys>) {
        let mut ring = self.ring.write().unwrap_or_else(|p| p.into_inner());
        let old = std::mem::replace(&mut ring.current, next);
        ring.previous = Some(old);
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Ring> {
        self.ring.read().unwrap_or_else(|p| p.into_inner())
    }
}

/// Why the bank keys could not be created or loaded.
#[derive(Debug, thiserror::Error)]
pub enum BankKeyError {
    #[error("bank key generation failed: {0}")]
    Generate(String),
    #[error("bank key file {path}: {message}")]
    File { path: PathBuf, message: String },
}

/// One bank key pair with its self-signed certificate.
pub struct BankKeyPair {
    private: PrivateKey,
    /// The same key as the `rsa` crate type the envelope signer and decrypter take.
    rsa: RsaPrivateKey,
    certificate: Certificate,
}

impl fmt::Debug for BankKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BankKeyPair")
            .field("public", &self.private.public_key())
            .finish_non_exhaustive()
    }
}

impl BankKeyPair {
    fn generate(
        host: &HostId,
        purpose: KeyPurpose,
        now: DateTime<Utc>,
    ) -> Result<Self, BankKeyError> {
        let mut rng = OsRng;
        let private = PrivateKey::generate(&mut rng, KeySize::Bits2048)
            .map_err(|e| BankKeyError::Generate(e.to_string()))?;
        let subject = CertificateSubject {
            common_name: format!("{} {}", host.as_str(), purpose_label(purpose)),
            organization: Some("kontor-bank emulator".into()),
            country: Some("DE".into()),
        };
        let certificate =
            Certificate::generate_self_signed(&private, &subject, purpose, now, 5, &mut rng)
                .map_err(|e| BankKeyError::Generate(e.to_string()))?;
        Self::from_parts(private, certificate).map_err(BankKeyError::Generate)
    }

    fn from_parts(private: PrivateKey, certificate: Certificate) -> Result<Self, String> {
        if !certificate.matches_private_key(&private) {
            return Err("certificate does not belong to the private key".into());
        }
        let der = private.to_pkcs8_der().map_err(|e| e.to_string())?;
        let rsa = RsaPrivateKey::from_pkcs8_der(&der).map_err(|e| e.to_string())?;
        Ok(Self {
            private,
            rsa,
            certificate,
        })
    }

    /// The private key (decryption of E002 transaction keys).
    pub fn private_key(&self) -> &PrivateKey {
        &self.private
    }

    /// The private key as `rsa` type (XML-DSig signing).
    pub fn rsa_private_key(&self) -> &RsaPrivateKey {
        &self.rsa
    }

    /// The public key.
    pub fn public_key(&self) -> &PublicKey {
        self.certificate.public_key()
    }

    /// The self-signed certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// The EBICS hash of the key for `version` (H004: key; H005: certificate).
    pub fn hash(&self, version: ProtocolVersion) -> KeyHash {
        match version {
            ProtocolVersion::H003 | ProtocolVersion::H004 => {
                KeyHash::of_public_key(self.public_key())
            }
            ProtocolVersion::H005 | ProtocolVersion::H006 => {
                KeyHash::of_certificate(&self.certificate)
            }
        }
    }
}

fn purpose_label(purpose: KeyPurpose) -> &'static str {
    match purpose {
        KeyPurpose::Authentication => "X002",
        KeyPurpose::Encryption => "E002",
        KeyPurpose::Signature => "A006",
    }
}

/// The bank's two key pairs.
#[derive(Debug)]
pub struct BankKeyPairs {
    /// X002: signs every `ebicsResponse`.
    pub authentication: BankKeyPair,
    /// E002: subscribers encrypt uploads for it.
    pub encryption: BankKeyPair,
}

/// On-disk form of the bank keys (`keys = { file = ... }`): PEM texts in a JSON object.
#[derive(serde::Serialize, serde::Deserialize)]
struct KeyFile {
    x002_private_key: String,
    x002_certificate: String,
    e002_private_key: String,
    e002_certificate: String,
}

impl Drop for KeyFile {
    fn drop(&mut self) {
        self.x002_private_key.zeroize();
        self.e002_private_key.zeroize();
    }
}

impl BankKeyPairs {
    /// Fresh 2048-bit key pairs with certificates valid for five years from `now`.
    pub fn generate(host: &HostId, now: DateTime<Utc>) -> Result<Self, BankKeyError> {
        Ok(Self {
            authentication: BankKeyPair::generate(host, KeyPurpose::Authentication, now)?,
            encryption: BankKeyPair::generate(host, KeyPurpose::Encryption, now)?,
        })
    }

    /// Keys according to the seed: generated, or loaded from a file (created, mode 0600, when
    /// missing, so the bank keeps its identity across restarts).
    pub fn from_source(
        source: &BankKeySource,
        host: &HostId,
        now: DateTime<Utc>,
    ) -> Result<Self, BankKeyError> {
        match source {
            BankKeySource::Generate => Self::generate(host, now),
            BankKeySource::File(path) if path.exists() => Self::load(path),
            BankKeySource::File(path) => {
                let keys = Self::generate(host, now)?;
                keys.save(path)?;
                Ok(keys)
            }
        }
    }

    fn load(path: &Path) -> Result<Self, BankKeyError> {
        let err = |message: String| BankKeyError::File {
            path: path.to_owned(),
            message,
        };
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?);
        let file: KeyFile = serde_json::from_str(&text).map_err(|e| err(e.to_string()))?;
        let pair = |key: &str, cert: &str| -> Result<BankKeyPair, BankKeyError> {
            let private = PrivateKey::from_pkcs8_pem(key).map_err(|e| err(e.to_string()))?;
            let certificate = Certificate::from_pem(cert).map_err(|e| err(e.to_string()))?;
            BankKeyPair::from_parts(private, certificate).map_err(err)
        };
        Ok(Self {
            authentication: pair(&file.x002_private_key, &file.x002_certificate)?,
            encryption: pair(&file.e002_private_key, &file.e002_certificate)?,
        })
    }

    fn save(&self, path: &Path) -> Result<(), BankKeyError> {
        let err = |message: String| BankKeyError::File {
            path: path.to_owned(),
            message,
        };
        let pem = |k: &BankKeyPair| -> Result<String, BankKeyError> {
            Ok(k.private
                .to_pkcs8_pem()
                .map_err(|e| err(e.to_string()))?
                .to_string())
        };
        let file = KeyFile {
            x002_private_key: pem(&self.authentication)?,
            x002_certificate: self.authentication.certificate.to_pem(),
            e002_private_key: pem(&self.encryption)?,
            e002_certificate: self.encryption.certificate.to_pem(),
        };
        let text =
            Zeroizing::new(serde_json::to_string_pretty(&file).map_err(|e| err(e.to_string()))?);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut out = options.open(path).map_err(|e| err(e.to_string()))?;
        std::io::Write::write_all(&mut out, text.as_bytes()).map_err(|e| err(e.to_string()))
    }

    /// The published hashes for a protocol version.
    pub fn published_for(&self, version: ProtocolVersion) -> PublishedBankKeys {
        PublishedBankKeys {
            authentication: PublishedKeyHash {
                version: KeyVersion::X002,
                hash: self.authentication.hash(version),
            },
            encryption: PublishedKeyHash {
                version: KeyVersion::E002,
                hash: self.encryption.hash(version),
            },
        }
    }
}

impl BankKeys for BankKeyPairs {
    fn published(&self) -> PublishedBankKeys {
        self.published_for(ProtocolVersion::H004)
    }

    fn published_h005(&self) -> Option<PublishedBankKeys> {
        Some(self.published_for(ProtocolVersion::H005))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_hashes_are_lower_hex_in_admin_json() {
        let published = PublishedKeyHash {
            version: KeyVersion::X002,
            hash: KeyHash::from_bytes([0xAB; 32]),
        };
        assert_eq!(
            serde_json::to_value(&published).expect("json"),
            serde_json::json!({ "version": "X002", "hash_sha256_hex": "ab".repeat(32) })
        );
    }

    #[test]
    fn bank_keys_survive_a_restart_through_the_key_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bank-keys.json");
        let source = BankKeySource::File(path.clone());
        let host: HostId = "KONTORBANK".parse().expect("id");
        let first = BankKeyPairs::from_source(&source, &host, chrono::Utc::now()).expect("create");
        let second = BankKeyPairs::from_source(&source, &host, chrono::Utc::now()).expect("load");
        assert_eq!(first.published(), second.published());
        assert_eq!(first.published_h005(), second.published_h005());
        assert_ne!(
            first.published().authentication.hash,
            first.published().encryption.hash
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o077, 0, "key file readable by others");
        }
    }
}
