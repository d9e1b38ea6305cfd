//! The bank's own key material, behind a trait so the protocol crate can plug in real keys.
//!
//! Until `kontor-protocol` is wired, the emulator runs with [`PlaceholderBankKeys`]: no key
//! pairs at all, only deterministic stand-in hashes flagged as placeholders, so nothing can
//! mistake them for real keys (the admin API reports `"placeholder": true`).

use std::any::Any;
use std::fmt;

use serde::{Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::config::BankKeySource;
use crate::ids::HostId;

/// A SHA-256 public key hash as EBICS defines it (letters, `BankPubKeyDigests`, HPB check):
/// SHA-256 over `"<exponent hex> <modulus hex>"`, lower case, leading zeros removed (H004);
/// over the DER certificate for X.509 keys (H005).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyHash(pub [u8; 32]);

impl KeyHash {
    /// Lower-case hex, the form the admin API uses.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Base64, the form EBICS XML uses (`BankPubKeyDigests`).
    pub fn to_base64(&self) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(self.0)
    }

    /// Upper-case hex in pairs, the form printed on initialisation letters.
    pub fn to_letter_format(&self) -> String {
        self.0
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Parses hex in any case, ignoring spaces (so letter and API forms both work).
    pub fn from_hex(text: &str) -> Option<Self> {
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let mut out = [0u8; 32];
        hex::decode_to_slice(compact, &mut out).ok()?;
        Some(Self(out))
    }
}

impl fmt::Debug for KeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyHash({})", self.to_hex())
    }
}

impl fmt::Display for KeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for KeyHash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

/// The hash of one published bank key and its version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublishedKeyHash {
    /// `X002` or `E002`.
    pub version: String,
    /// The key hash.
    #[serde(rename = "hash_sha256_hex")]
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

    /// Whether these are stand-ins rather than real keys.
    fn is_placeholder(&self) -> bool {
        false
    }

    /// Access to the concrete type, so a dispatcher can reach the key pairs it created.
    fn as_any(&self) -> &dyn Any;
}

/// Stand-in key material used until the protocol crate provides real keys.
///
/// TODO(protocol wiring): replace by real X002/E002 key pairs generated or loaded according to
/// [`BankKeySource`], and make `published()` return their EBICS hashes.
#[derive(Debug, Clone)]
pub struct PlaceholderBankKeys {
    host_id: HostId,
    source: BankKeySource,
}

impl PlaceholderBankKeys {
    /// Placeholder keys for a host.
    pub fn new(host_id: HostId, source: BankKeySource) -> Self {
        Self { host_id, source }
    }

    /// Where real keys would come from.
    pub fn source(&self) -> &BankKeySource {
        &self.source
    }

    fn stand_in(&self, version: &str) -> KeyHash {
        let digest = Sha256::new()
            .chain_update(b"kontor-bank placeholder key ")
            .chain_update(self.host_id.as_str().as_bytes())
            .chain_update(b" ")
            .chain_update(version.as_bytes())
            .finalize();
        KeyHash(digest.into())
    }
}

impl BankKeys for PlaceholderBankKeys {
    fn published(&self) -> PublishedBankKeys {
        PublishedBankKeys {
            authentication: PublishedKeyHash {
                version: "X002".into(),
                hash: self.stand_in("X002"),
            },
            encryption: PublishedKeyHash {
                version: "E002".into(),
                hash: self.stand_in("E002"),
            },
        }
    }

    fn is_placeholder(&self) -> bool {
        true
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_hash_formats_round_trip() {
        let hash = KeyHash([0xAB; 32]);
        assert_eq!(KeyHash::from_hex(&hash.to_hex()), Some(hash));
        assert_eq!(KeyHash::from_hex(&hash.to_letter_format()), Some(hash));
        assert!(hash.to_letter_format().starts_with("AB AB "));
        assert_eq!(KeyHash::from_hex("abc"), None);
    }

    #[test]
    fn placeholder_keys_are_flagged_and_distinct_per_purpose() {
        let keys =
            PlaceholderBankKeys::new("KONTORBANK".parse().expect("id"), BankKeySource::Generate);
        assert!(keys.is_placeholder());
        let published = keys.published();
        assert_ne!(published.authentication.hash, published.encryption.hash);
        assert_eq!(published.authentication.version, "X002");
    }
}
