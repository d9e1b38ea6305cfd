//! The master key and the encryption of private keys at rest (AES-256-GCM).
//!
//! A stored private key is `version byte || 96-bit nonce || ciphertext+tag`. The associated
//! data binds the ciphertext to its record (tenant, key pair id, usage), so a ciphertext copied
//! into another record, or another tenant, fails to decrypt instead of yielding a valid key.

use std::fmt;
use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use rand::RngCore;
use zeroize::Zeroizing;

const KEY_LINE_PREFIX: &str = "kontor-master-key-v1:";
/// Format version of the stored ciphertext; bumped when the master key scheme changes.
const CIPHERTEXT_VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
/// The documentation's example key file, refused by [`MasterKey::load`].
const EXAMPLE_KEY_FILE: &str = include_str!("../../../keys.example");

/// Why the master key file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    #[error("master key file {path} does not exist; create one with `kontor keygen-master --out {path}` (see keys.example)")]
    Missing { path: PathBuf },
    #[error("cannot read master key file {path}: {source}")]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("master key file {path} is accessible by group or others (mode {mode:o}); run `chmod 600 {path}`")]
    TooOpen { path: PathBuf, mode: u32 },
    #[error("master key file {path} is malformed: {reason} (expected one line `kontor-master-key-v1:<base64 of 32 bytes>`, see keys.example)")]
    Malformed { path: PathBuf, reason: &'static str },
    #[error("master key file {path} holds the published example key from keys.example, which protects nothing; create a real one with `kontor keygen-master --out <file>`")]
    ExampleKey { path: PathBuf },
    #[error("cannot write master key file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A private key could not be decrypted: wrong master key, tampered or misplaced ciphertext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("private key could not be decrypted: wrong master key, or the stored ciphertext was altered or belongs to another record")]
pub struct KeyDecryptionFailed;

/// The 256-bit key that encrypts every private key Kontor stores.
pub struct MasterKey(Zeroizing<[u8; 32]>);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

impl MasterKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(bytes.as_mut());
        Self(bytes)
    }

    /// Builds a key from raw bytes (tests and key rotation tooling).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// Loads the key file, refusing files that others can read and malformed content.
    pub fn load(path: &Path) -> Result<Self, MasterKeyError> {
        let metadata = std::fs::metadata(path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                MasterKeyError::Missing {
                    path: path.to_owned(),
                }
            } else {
                MasterKeyError::Unreadable {
                    path: path.to_owned(),
                    source,
                }
            }
        })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = metadata.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(MasterKeyError::TooOpen {
                    path: path.to_owned(),
                    mode,
                });
            }
        }
        #[cfg(not(unix))]
        let _ = metadata;
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|source| {
            MasterKeyError::Unreadable {
                path: path.to_owned(),
                source,
            }
        })?);
        let key = Self::parse(&text).map_err(|reason| MasterKeyError::Malformed {
            path: path.to_owned(),
            reason,
        })?;
        if key.is_example() {
            return Err(MasterKeyError::ExampleKey {
                path: path.to_owned(),
            });
        }
        Ok(key)
    }

    /// Whether this is the key printed in `keys.example`: anyone can read it, so private keys
    /// encrypted with it are as good as stored in the clear.
    fn is_example(&self) -> bool {
        // Compares every byte (no early exit), as one compares secrets.
        Self::parse(EXAMPLE_KEY_FILE).is_ok_and(|example| {
            example
                .0
                .iter()
                .zip(self.0.iter())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
        })
    }

    fn parse(text: &str) -> Result<Self, &'static str> {
        let mut lines = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'));
        let line = lines.next().ok_or("no key line")?;
        if lines.next().is_some() {
            return Err("more than one key line");
        }
        let encoded = line
            .strip_prefix(KEY_LINE_PREFIX)
            .ok_or("the key line does not start with kontor-master-key-v1:")?;
        let decoded = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|_| "the key is not valid base64")?,
        );
        let bytes: [u8; 32] = decoded
            .as_slice()
            .try_into()
            .map_err(|_| "the key is not 32 bytes long")?;
        Ok(Self::from_bytes(bytes))
    }

    /// Writes this key to a new file readable only by the owner (mode 0600).
    pub fn write_new(&self, path: &Path) -> Result<(), MasterKeyError> {
        use std::io::Write;
        let err = |source| MasterKeyError::Write {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(err)?;
        let line = Zeroizing::new(format!(
            "# Kontor master key. Keep it secret and backed up; see keys.example.\n{KEY_LINE_PREFIX}{}\n",
            base64::engine::general_purpose::STANDARD.encode(self.0.as_ref())
        ));
        file.write_all(line.as_bytes()).map_err(err)?;
        file.sync_all().map_err(err)
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(self.0.as_ref().into())
    }

    /// Encrypts `plaintext`, bound to `context` (the record identity).
    pub fn encrypt(&self, plaintext: &[u8], context: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ciphertext = self
            .cipher()
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: context,
                },
            )
            // AES-GCM encryption fails only for inputs beyond 64 GiB; keys are a few KiB.
            .expect("AES-GCM encryption of a small buffer cannot fail");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        out.push(CIPHERTEXT_VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        out
    }

    /// Decrypts what [`MasterKey::encrypt`] produced for the same `context`.
    pub fn decrypt(
        &self,
        stored: &[u8],
        context: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, KeyDecryptionFailed> {
        if stored.len() < 1 + NONCE_LEN + 16 || stored[0] != CIPHERTEXT_VERSION {
            return Err(KeyDecryptionFailed);
        }
        let (nonce, ciphertext) = stored[1..].split_at(NONCE_LEN);
        self.cipher()
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| KeyDecryptionFailed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encrypt_then_decrypt_returns_the_plaintext() {
        let key = MasterKey::generate();
        let stored = key.encrypt(b"private key der", b"tenant-a/key-1/SIGNATURE");
        assert_ne!(&stored[13..], b"private key der");
        let plain = key.decrypt(&stored, b"tenant-a/key-1/SIGNATURE").unwrap();
        assert_eq!(plain.as_slice(), b"private key der");
    }

    #[test]
    fn tampered_wrong_key_or_moved_ciphertext_fails() {
        let key = MasterKey::generate();
        let stored = key.encrypt(b"secret", b"ctx");
        for i in 0..stored.len() {
            let mut bad = stored.clone();
            bad[i] ^= 0x01;
            assert_eq!(
                key.decrypt(&bad, b"ctx"),
                Err(KeyDecryptionFailed),
                "byte {i}"
            );
        }
        assert_eq!(
            MasterKey::generate().decrypt(&stored, b"ctx"),
            Err(KeyDecryptionFailed)
        );
        assert_eq!(
            key.decrypt(&stored, b"other record"),
            Err(KeyDecryptionFailed)
        );
        assert_eq!(key.decrypt(&stored[..10], b"ctx"), Err(KeyDecryptionFailed));
    }

    #[test]
    fn key_file_round_trips_with_owner_only_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/master.key");
        let key = MasterKey::generate();
        key.write_new(&path).unwrap();
        let loaded = MasterKey::load(&path).unwrap();
        let stored = key.encrypt(b"x", b"c");
        assert_eq!(loaded.decrypt(&stored, b"c").unwrap().as_slice(), b"x");
        assert!(
            key.write_new(&path).is_err(),
            "never overwrites an existing key"
        );
    }

    #[cfg(unix)]
    #[test]
    fn world_readable_missing_and_malformed_files_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none.key");
        assert!(matches!(
            MasterKey::load(&missing),
            Err(MasterKeyError::Missing { .. })
        ));

        let open = dir.path().join("open.key");
        MasterKey::generate().write_new(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = MasterKey::load(&open).unwrap_err();
        assert!(matches!(err, MasterKeyError::TooOpen { mode: 0o644, .. }));
        assert!(err.to_string().contains("chmod 600"));

        for (name, content) in [
            ("empty", "# nothing\n"),
            ("prefix", "master:AAAA\n"),
            ("b64", "kontor-master-key-v1:!!!\n"),
            ("short", "kontor-master-key-v1:AAECAw==\n"),
            ("two", "kontor-master-key-v1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\nkontor-master-key-v1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, content).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
            assert!(matches!(MasterKey::load(&path), Err(MasterKeyError::Malformed { .. })), "{name}");
        }
    }

    #[test]
    fn example_key_file_parses_but_is_refused_as_a_real_key() {
        assert!(MasterKey::parse(EXAMPLE_KEY_FILE).is_ok());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        std::fs::write(&path, EXAMPLE_KEY_FILE).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let err = MasterKey::load(&path).unwrap_err();
        assert!(matches!(err, MasterKeyError::ExampleKey { .. }), "{err}");
        assert!(err.to_string().contains("kontor keygen-master"), "{err}");
    }

    #[test]
    fn debug_does_not_print_the_key() {
        let key = MasterKey::from_bytes([7u8; 32]);
        assert_eq!(format!("{key:?}"), "MasterKey([redacted])");
    }
}
