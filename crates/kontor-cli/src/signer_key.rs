//! A signer's own A005/A006 key, kept in a local file encrypted under their passphrase
//! (Argon2id → AES-256-GCM). The daemon only ever sees the public part.

use std::io::Write;
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use kontor_protocol::certificate::{Certificate, CertificateSubject, KeyPurpose};
use kontor_protocol::keys::{KeyHash, KeyPair, KeySize, PrivateKey, PublicKey};
use kontor_protocol::SignatureVersion;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

const FORMAT: &str = "kontor-signer-key/1";
/// Binds the ciphertext to this file format and its public key.
const AAD_PREFIX: &str = "kontor-signer-key/1:";

#[derive(Debug, thiserror::Error)]
pub enum SignerKeyError {
    #[error("wrong passphrase, or the key file was altered")]
    WrongPassphrase,
    #[error("{0} is not a kontor signer key file: {1}")]
    NotAKeyFile(String, String),
    #[error("{0} already exists; refusing to overwrite a key")]
    Exists(String),
    #[error("cannot access {0}: {1}")]
    Io(String, std::io::Error),
    #[error("key error: {0}")]
    Key(String),
}

/// The file on disk. Everything but `ciphertext` is public.
#[derive(Serialize, Deserialize)]
struct KeyFile {
    format: String,
    version: SignatureVersion,
    public_key_pem: String,
    certificate_pem: String,
    kdf: KdfParams,
    nonce: String,
    /// PKCS#8 DER of the private key, AES-256-GCM encrypted.
    ciphertext: String,
}

#[derive(Serialize, Deserialize)]
struct KdfParams {
    algorithm: String,
    salt: String,
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
}

/// A decrypted signer key: signs locally, never leaves this process.
pub struct SignerKey {
    pub version: SignatureVersion,
    private: PrivateKey,
}

/// The public part of a key file, readable without the passphrase.
pub struct PublicPart {
    pub version: SignatureVersion,
    pub public_key_pem: String,
    pub certificate_pem: String,
}

impl PublicPart {
    /// The EBICS hashes the daemon may have registered: H004 (key) and H005 (certificate).
    pub fn hashes(&self) -> Result<(KeyHash, KeyHash), SignerKeyError> {
        let key = PublicKey::from_spki_pem(&self.public_key_pem)
            .map_err(|e| SignerKeyError::Key(e.to_string()))?;
        let cert = Certificate::from_pem(&self.certificate_pem)
            .map_err(|e| SignerKeyError::Key(e.to_string()))?;
        Ok((KeyHash::of_public_key(&key), KeyHash::of_certificate(&cert)))
    }
}

fn derive(
    passphrase: &SecretString,
    kdf: &KdfParams,
) -> Result<Zeroizing<[u8; 32]>, SignerKeyError> {
    let salt = B64
        .decode(&kdf.salt)
        .map_err(|_| SignerKeyError::WrongPassphrase)?;
    let params = Params::new(kdf.memory_kib, kdf.iterations, kdf.parallelism, Some(32))
        .map_err(|e| SignerKeyError::Key(e.to_string()))?;
    let mut key = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase.expose_secret().as_bytes(), &salt, &mut *key)
        .map_err(|e| SignerKeyError::Key(e.to_string()))?;
    Ok(key)
}

/// Generates a key pair with a self-signed certificate and writes it encrypted to `path`
/// (mode 0600; an existing file is never overwritten).
pub fn generate(
    path: &Path,
    passphrase: &SecretString,
    version: SignatureVersion,
    common_name: &str,
) -> Result<PublicPart, SignerKeyError> {
    let key_err = |e: &dyn std::fmt::Display| SignerKeyError::Key(e.to_string());
    let mut rng = rand::rngs::OsRng;
    let pair = KeyPair::generate(&mut rng, KeySize::Bits2048).map_err(|e| key_err(&e))?;
    let certificate = Certificate::generate_self_signed(
        pair.private_key(),
        &CertificateSubject {
            common_name: common_name.to_owned(),
            organization: None,
            country: None,
        },
        KeyPurpose::Signature,
        chrono::Utc::now(),
        5,
        &mut rng,
    )
    .map_err(|e| key_err(&e))?;
    let public_key_pem = pair.public_key().to_spki_pem().map_err(|e| key_err(&e))?;
    let mut salt = [0u8; 16];
    rng.fill_bytes(&mut salt);
    let kdf = KdfParams {
        algorithm: "argon2id".into(),
        salt: B64.encode(salt),
        memory_kib: 19 * 1024,
        iterations: 2,
        parallelism: 1,
    };
    let aes_key = derive(passphrase, &kdf)?;
    let mut nonce = [0u8; 12];
    rng.fill_bytes(&mut nonce);
    let plaintext = pair.private_key().to_pkcs8_der().map_err(|e| key_err(&e))?;
    let aad = format!("{AAD_PREFIX}{public_key_pem}");
    let ciphertext = Aes256Gcm::new_from_slice(&*aes_key)
        .expect("32-byte key")
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: &plaintext,
                aad: aad.as_bytes(),
            },
        )
        .map_err(|e| key_err(&e))?;
    let file = KeyFile {
        format: FORMAT.into(),
        version,
        public_key_pem: public_key_pem.clone(),
        certificate_pem: certificate.to_pem(),
        kdf,
        nonce: B64.encode(nonce),
        ciphertext: B64.encode(ciphertext),
    };
    let shown = path.display().to_string();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut out = options.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => SignerKeyError::Exists(shown.clone()),
        _ => SignerKeyError::Io(shown.clone(), e),
    })?;
    let json = serde_json::to_vec_pretty(&file).expect("serialisable");
    out.write_all(&json)
        .map_err(|e| SignerKeyError::Io(shown.clone(), e))?;
    Ok(PublicPart {
        version: file.version,
        public_key_pem,
        certificate_pem: file.certificate_pem,
    })
}

fn read(path: &Path) -> Result<KeyFile, SignerKeyError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| SignerKeyError::Io(shown.clone(), e))?;
    let file: KeyFile = serde_json::from_slice(&bytes)
        .map_err(|e| SignerKeyError::NotAKeyFile(shown.clone(), e.to_string()))?;
    if file.format != FORMAT {
        return Err(SignerKeyError::NotAKeyFile(
            shown,
            format!("format {:?}", file.format),
        ));
    }
    Ok(file)
}

/// The public part, without the passphrase.
pub fn public_part(path: &Path) -> Result<PublicPart, SignerKeyError> {
    let file = read(path)?;
    Ok(PublicPart {
        version: file.version,
        public_key_pem: file.public_key_pem,
        certificate_pem: file.certificate_pem,
    })
}

/// Decrypts the key file; a wrong passphrase is reported as such.
pub fn open(path: &Path, passphrase: &SecretString) -> Result<SignerKey, SignerKeyError> {
    let file = read(path)?;
    let aes_key = derive(passphrase, &file.kdf)?;
    let nonce = B64
        .decode(&file.nonce)
        .map_err(|_| SignerKeyError::WrongPassphrase)?;
    let ciphertext = B64
        .decode(&file.ciphertext)
        .map_err(|_| SignerKeyError::WrongPassphrase)?;
    if nonce.len() != 12 {
        return Err(SignerKeyError::WrongPassphrase);
    }
    let aad = format!("{AAD_PREFIX}{}", file.public_key_pem);
    let plaintext = Zeroizing::new(
        Aes256Gcm::new_from_slice(&*aes_key)
            .expect("32-byte key")
            .decrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &ciphertext,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| SignerKeyError::WrongPassphrase)?,
    );
    let private =
        PrivateKey::from_pkcs8_der(&plaintext).map_err(|e| SignerKeyError::Key(e.to_string()))?;
    let public = private.public_key();
    let stored = PublicKey::from_spki_pem(&file.public_key_pem)
        .map_err(|e| SignerKeyError::Key(e.to_string()))?;
    if stored != public {
        return Err(SignerKeyError::WrongPassphrase);
    }
    Ok(SignerKey {
        version: file.version,
        private,
    })
}

impl SignerKey {
    /// Signs order data (A005/A006) locally.
    pub fn sign(&self, data: &[u8]) -> Result<Vec<u8>, SignerKeyError> {
        kontor_protocol::signature::sign_order_data(self.version, &self.private, data)
            .map_err(|e| SignerKeyError::Key(e.to_string()))
    }

    /// Signs a precomputed order data digest (VEU: the bank's `DataDigest`).
    pub fn sign_digest(&self, digest: &[u8; 32]) -> Result<Vec<u8>, SignerKeyError> {
        kontor_protocol::signature::sign_order_digest(self.version, &self.private, digest)
            .map_err(|e| SignerKeyError::Key(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrong_passphrase_is_reported_as_such_and_the_right_one_signs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signer.key");
        let right: SecretString = "correct horse".into();
        let public = generate(&path, &right, SignatureVersion::A006, "Signer").unwrap();
        assert!(!std::fs::read_to_string(&path).unwrap().contains("PRIVATE"));
        assert!(matches!(
            open(&path, &"wrong".into()),
            Err(SignerKeyError::WrongPassphrase)
        ));
        assert!(matches!(
            generate(&path, &right, SignatureVersion::A006, "Signer"),
            Err(SignerKeyError::Exists(_))
        ));
        let key = open(&path, &right).unwrap();
        let signature = key.sign(b"order data").unwrap();
        let public_key = PublicKey::from_spki_pem(&public.public_key_pem).unwrap();
        kontor_protocol::signature::verify_order_data(
            SignatureVersion::A006,
            &public_key,
            b"order data",
            &signature,
        )
        .unwrap();
    }
}
