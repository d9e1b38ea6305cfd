//! RSA key pairs as EBICS uses them, and the EBICS public key hash.
//!
//! Private key material lives only inside [`PrivateKey`] (the wrapped `rsa::RsaPrivateKey`
//! zeroizes its secret parts on drop) and leaves it only as [`Zeroizing`] PEM/DER.
//! [`PrivateKey`] has no `Display` and its `Debug` prints `[redacted]`.
//!
//! # The EBICS public key hash
//!
//! Banks and subscribers compare keys out of band (INI/HIA letters, HPB verification) by a
//! SHA-256 hash, and `EncryptionPubKeyDigest` / `BankPubKeyDigests` carry the same value:
//!
//! * H003/H004 (EBICS 2.4/2.5): SHA-256 over the ASCII string
//!   `"<exponent> <modulus>"`, both in lowercase hex with leading zeros removed, separated by
//!   one blank. For e = 65537 the string starts with `"10001 "`.
//! * H005/H006 (EBICS 3.0+): keys travel as X.509 certificates and the hash is SHA-256 over
//!   the certificate's DER encoding (the usual SHA-256 certificate fingerprint).

use std::fmt;
use std::str::FromStr;

use rand::{CryptoRng, RngCore};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, RsaPrivateKey, RsaPublicKey};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::certificate::Certificate;
use crate::version::ProtocolVersion;

/// The largest RSA modulus Kontor accepts from outside (bank keys, imports), in bits.
pub const MAX_KEY_BITS: usize = 8192;

/// Errors of key generation, import and hashing. They never contain key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    #[error("RSA key generation failed: {0}")]
    Generation(rsa::Error),
    #[error("not a valid RSA key: {0}")]
    InvalidKey(rsa::Error),
    #[error("private key could not be decoded (expected PKCS#8 or PKCS#1 PEM/DER)")]
    InvalidPrivateKeyEncoding,
    #[error("public key could not be decoded (expected SubjectPublicKeyInfo PEM/DER)")]
    InvalidPublicKeyEncoding,
    #[error("key could not be encoded: {0}")]
    Encoding(String),
    #[error("{0} key hashes are computed over the X.509 certificate, but none was given")]
    MissingCertificate(ProtocolVersion),
    #[error("a key hash is 32 bytes written as 64 hex digits (blanks and colons allowed)")]
    InvalidKeyHash,
}

/// RSA modulus length for newly generated keys. EBICS 3.0 requires at least 2048 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum KeySize {
    #[default]
    Bits2048,
    Bits3072,
    Bits4096,
}

impl KeySize {
    pub fn bits(self) -> usize {
        match self {
            Self::Bits2048 => 2048,
            Self::Bits3072 => 3072,
            Self::Bits4096 => 4096,
        }
    }
}

/// An RSA private key. Zeroized on drop; `Debug` prints `[redacted]`; no `Display`.
#[derive(Clone)]
pub struct PrivateKey {
    inner: RsaPrivateKey,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrivateKey([redacted])")
    }
}

impl PrivateKey {
    /// Generates a new key with public exponent 65537.
    pub fn generate<R: CryptoRng + RngCore>(rng: &mut R, size: KeySize) -> Result<Self, KeyError> {
        let inner = RsaPrivateKey::new(rng, size.bits()).map_err(KeyError::Generation)?;
        Ok(Self { inner })
    }

    /// Imports a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, KeyError> {
        let inner =
            RsaPrivateKey::from_pkcs8_pem(pem).map_err(|_| KeyError::InvalidPrivateKeyEncoding)?;
        Self::checked(inner)
    }

    /// Imports a PKCS#8 DER document.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        let inner =
            RsaPrivateKey::from_pkcs8_der(der).map_err(|_| KeyError::InvalidPrivateKeyEncoding)?;
        Self::checked(inner)
    }

    /// Imports a PKCS#1 PEM (`-----BEGIN RSA PRIVATE KEY-----`), as older EBICS clients export.
    pub fn from_pkcs1_pem(pem: &str) -> Result<Self, KeyError> {
        let inner =
            RsaPrivateKey::from_pkcs1_pem(pem).map_err(|_| KeyError::InvalidPrivateKeyEncoding)?;
        Self::checked(inner)
    }

    fn checked(inner: RsaPrivateKey) -> Result<Self, KeyError> {
        inner.validate().map_err(KeyError::InvalidKey)?;
        if inner.size() * 8 > MAX_KEY_BITS {
            return Err(KeyError::InvalidKey(rsa::Error::ModulusTooLarge));
        }
        Ok(Self { inner })
    }

    /// Exports as PKCS#8 PEM with LF line endings; the string is wiped when dropped.
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, KeyError> {
        self.inner
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| KeyError::Encoding(e.to_string()))
    }

    /// Exports as PKCS#8 DER; the bytes are wiped when dropped.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        let doc = self
            .inner
            .to_pkcs8_der()
            .map_err(|e| KeyError::Encoding(e.to_string()))?;
        Ok(doc.to_bytes())
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey {
            inner: self.inner.to_public_key(),
        }
    }

    /// Modulus length in bits.
    pub fn bits(&self) -> usize {
        self.inner.n().bits()
    }

    pub(crate) fn rsa(&self) -> &RsaPrivateKey {
        &self.inner
    }
}

/// An RSA public key.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    inner: RsaPublicKey,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("bits", &self.bits())
            .field("exponent", &hex::encode(self.exponent()))
            .finish_non_exhaustive()
    }
}

impl PublicKey {
    /// Builds a key from big-endian modulus and exponent bytes (the EBICS `RSAKeyValue` /
    /// `PubKeyValue` form). Leading zero bytes are allowed.
    pub fn from_modulus_exponent(modulus: &[u8], exponent: &[u8]) -> Result<Self, KeyError> {
        let n = BigUint::from_bytes_be(modulus);
        let e = BigUint::from_bytes_be(exponent);
        let inner =
            RsaPublicKey::new_with_max_size(n, e, MAX_KEY_BITS).map_err(KeyError::InvalidKey)?;
        Ok(Self { inner })
    }

    /// Imports a SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`).
    pub fn from_spki_pem(pem: &str) -> Result<Self, KeyError> {
        let inner = RsaPublicKey::from_public_key_pem(pem)
            .map_err(|_| KeyError::InvalidPublicKeyEncoding)?;
        Self::checked(inner)
    }

    /// Imports a SubjectPublicKeyInfo DER document.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        let inner = RsaPublicKey::from_public_key_der(der)
            .map_err(|_| KeyError::InvalidPublicKeyEncoding)?;
        Self::checked(inner)
    }

    fn checked(inner: RsaPublicKey) -> Result<Self, KeyError> {
        // Re-run the size checks that `RsaPublicKey::new` applies but DER decoding may not.
        let inner =
            RsaPublicKey::new_with_max_size(inner.n().clone(), inner.e().clone(), MAX_KEY_BITS)
                .map_err(KeyError::InvalidKey)?;
        Ok(Self { inner })
    }

    /// Exports as SubjectPublicKeyInfo PEM with LF line endings.
    pub fn to_spki_pem(&self) -> Result<String, KeyError> {
        self.inner
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| KeyError::Encoding(e.to_string()))
    }

    /// Exports as SubjectPublicKeyInfo DER.
    pub fn to_spki_der(&self) -> Result<Vec<u8>, KeyError> {
        self.inner
            .to_public_key_der()
            .map(|doc| doc.into_vec())
            .map_err(|e| KeyError::Encoding(e.to_string()))
    }

    /// Big-endian modulus without leading zero bytes.
    pub fn modulus(&self) -> Vec<u8> {
        self.inner.n().to_bytes_be()
    }

    /// Big-endian public exponent without leading zero bytes.
    pub fn exponent(&self) -> Vec<u8> {
        self.inner.e().to_bytes_be()
    }

    /// Modulus length in bits.
    pub fn bits(&self) -> usize {
        self.inner.n().bits()
    }

    /// The string hashed for the H003/H004 key hash: `"<exponent hex> <modulus hex>"`,
    /// lowercase, leading zeros removed.
    pub fn ebics_hash_input(&self) -> String {
        format!(
            "{} {}",
            hex_without_leading_zeros(&self.exponent()),
            hex_without_leading_zeros(&self.modulus())
        )
    }

    pub(crate) fn rsa(&self) -> &RsaPublicKey {
        &self.inner
    }
}

fn hex_without_leading_zeros(bytes: &[u8]) -> String {
    let hex = hex::encode(bytes);
    let trimmed = hex.trim_start_matches('0');
    if trimmed.is_empty() {
        "0".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// A private key together with its public key.
#[derive(Clone, Debug)]
pub struct KeyPair {
    private: PrivateKey,
    public: PublicKey,
}

impl KeyPair {
    pub fn generate<R: CryptoRng + RngCore>(rng: &mut R, size: KeySize) -> Result<Self, KeyError> {
        PrivateKey::generate(rng, size).map(Self::from_private)
    }

    pub fn from_private(private: PrivateKey) -> Self {
        let public = private.public_key();
        Self { private, public }
    }

    pub fn private_key(&self) -> &PrivateKey {
        &self.private
    }

    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }
}

/// A SHA-256 key hash as EBICS prints it in letters and sends it in digests.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyHash([u8; 32]);

impl KeyHash {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// H003/H004 hash of a bare public key (see the module docs).
    pub fn of_public_key(key: &PublicKey) -> Self {
        Self(Sha256::digest(key.ebics_hash_input().as_bytes()).into())
    }

    /// H005+ hash of a certificate: SHA-256 over its DER encoding.
    pub fn of_certificate(certificate: &Certificate) -> Self {
        Self(Sha256::digest(certificate.to_der()).into())
    }

    /// 64 uppercase hex digits, no separators.
    pub fn to_hex_upper(&self) -> String {
        hex::encode_upper(self.0)
    }

    /// 64 lowercase hex digits, no separators.
    pub fn to_hex_lower(&self) -> String {
        hex::encode(self.0)
    }

    /// Uppercase hex bytes separated by blanks, `bytes_per_line` bytes per line, as banks
    /// print hashes in letters (`"AB CD EF ..."`, usually 16 bytes per line).
    pub fn to_grouped_lines(&self, bytes_per_line: usize) -> Vec<String> {
        grouped_hex_lines(&self.0, bytes_per_line)
    }

    /// Base64, as the digest elements of the XML carry it (`BankPubKeyDigests`,
    /// `EncryptionPubKeyDigest`).
    pub fn to_base64(&self) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(self.0)
    }

    /// Parses exactly what [`Self::to_hex_upper`] writes (64 uppercase hex digits, nothing
    /// else): the canonical text, where [`FromStr`] also takes what a person typed.
    pub fn from_hex_upper(text: &str) -> Result<Self, KeyError> {
        let canonical = text.len() == 64
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b));
        if !canonical {
            return Err(KeyError::InvalidKeyHash);
        }
        text.parse()
    }
}

/// Serialised as its canonical text, 64 uppercase hex digits.
impl serde::Serialize for KeyHash {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex_upper())
    }
}

kontor_documents::string_schema!(
    KeyHash,
    pattern = "^[0-9A-F]{64}$",
    "An EBICS key hash (SHA-256), 64 uppercase hex digits."
);

/// Uppercase hex bytes separated by blanks, `bytes_per_line` bytes per line (hashes and key
/// components in letters).
pub(crate) fn grouped_hex_lines(bytes: &[u8], bytes_per_line: usize) -> Vec<String> {
    bytes
        .chunks(bytes_per_line.max(1))
        .map(|chunk| {
            chunk
                .iter()
                .map(|b| format!("{b:02X}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// Grouped form on one line: `"AB CD EF ..."`.
impl fmt::Display for KeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_grouped_lines(32).join(" "))
    }
}

impl fmt::Debug for KeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyHash({})", self.to_hex_upper())
    }
}

/// Parses a hash as typed from a bank letter: 64 hex digits in either case; blanks, line
/// breaks and colons between them are ignored.
impl FromStr for KeyHash {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits: String = s
            .chars()
            .filter(|c| !c.is_whitespace() && *c != ':')
            .collect();
        let mut out = [0u8; 32];
        hex::decode_to_slice(&digits, &mut out).map_err(|_| KeyError::InvalidKeyHash)?;
        Ok(Self(out))
    }
}

/// The EBICS hash of a public key for `version`: the exponent/modulus hash for H003/H004,
/// the certificate hash for H005/H006 (which therefore requires `certificate`).
///
/// For H005+ the certificate's key is not compared with `key` here; use
/// [`Certificate::public_key`] as the single source when both are at hand.
pub fn public_key_hash(
    version: ProtocolVersion,
    key: &PublicKey,
    certificate: Option<&Certificate>,
) -> Result<KeyHash, KeyError> {
    if version.uses_certificates() {
        certificate
            .map(KeyHash::of_certificate)
            .ok_or(KeyError::MissingCertificate(version))
    } else {
        Ok(KeyHash::of_public_key(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_hex_strips_leading_zero_digits_and_is_lowercase() {
        assert_eq!(hex_without_leading_zeros(&[0x00, 0x0A, 0xBC]), "abc");
        assert_eq!(hex_without_leading_zeros(&[0x01, 0x00, 0x01]), "10001");
        assert_eq!(hex_without_leading_zeros(&[0x00]), "0");
    }

    #[test]
    fn key_hash_groups_bytes_for_letters() {
        let hash = KeyHash::from_bytes(core::array::from_fn(|i| i as u8 * 7));
        let lines = hash.to_grouped_lines(16);
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("00 07 0E 15"));
        assert_eq!(lines[0].split(' ').count(), 16);
        assert_eq!(hash.to_string().len(), 32 * 3 - 1);
    }

    #[test]
    fn key_hash_parses_what_letters_print() {
        let hash = KeyHash::from_bytes(core::array::from_fn(|i| 255 - i as u8));
        let typed = hash.to_grouped_lines(16).join("\n").to_lowercase();
        assert_eq!(typed.parse::<KeyHash>().ok(), Some(hash));
        assert!("AB CD".parse::<KeyHash>().is_err());
    }

    #[test]
    fn key_hash_canonical_text_is_strict_upper_hex() {
        let hash = KeyHash::from_bytes(core::array::from_fn(|i| 255 - i as u8));
        let upper = hash.to_hex_upper();
        assert_eq!(KeyHash::from_hex_upper(&upper).ok(), Some(hash));
        assert_eq!(
            serde_json::to_value(hash).ok(),
            Some(serde_json::Value::String(upper.clone()))
        );
        for other in [
            hash.to_hex_lower(),
            hash.to_string(),
            format!(" {upper}"),
            upper[..62].to_owned(),
        ] {
            assert!(KeyHash::from_hex_upper(&other).is_err(), "{other:?}");
        }
    }

    #[test]
    fn key_hash_base64_is_the_digest_form() {
        let hash = KeyHash::from_bytes([0xFB; 32]);
        assert_eq!(hash.to_base64(), format!("{}+/s=", "+/v7".repeat(10)));
    }
}
