//! The electronic signature (ES) over order data: A005 and A006.
//!
//! # What is hashed
//!
//! Both versions start from the *order data digest*: SHA-256 over the uncompressed,
//! unencrypted order data **with every CR (0x0D), LF (0x0A) and Ctrl-Z (0x1A) byte removed**,
//! which makes a signature independent of the platform's line endings. This is what the
//! widely used public clients do before hashing (ebics-java-client and LibEuFin remove all
//! three; railslove/epics and node-ebics-client remove CR and LF). The same digest goes into
//! the H005 `DataDigest` element. [`order_data_digest`] computes it; [`OrderDataHasher`] does
//! the same incrementally for files that do not fit in memory.
//!
//! Not every bank server strips these bytes before verifying; node-ebics-client and newer
//! epics therefore also *transmit* the order data without them. Data that contains no CR, LF
//! or Ctrl-Z (e.g. XML written without line breaks) gets the same digest under both
//! readings, so uploads should prefer that form.
//!
//! Then:
//!
//! * **A005** — RSASSA-PKCS1-v1_5 with SHA-256: the `DigestInfo` holds the order data digest
//!   itself (one SHA-256 in total).
//! * **A006** — RSASSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt, where the PSS
//!   *message* is the 32-byte order data digest. PSS hashes its message once more, so the
//!   `mHash` inside the encoding is SHA-256(order data digest). This is how the public
//!   implementations used against production banks sign A006 (railslove/epics, LibEuFin,
//!   ebics-client-php, node-ebics-client); a verifier that hashes only once rejects it.
//!
//! Signing a precomputed digest ([`sign_order_digest`]) lets a separate signer sign the digest
//! the daemon shows, without ever holding the order data.
//!
//! Signing uses the operating system's random number generator for the PSS salt and for RSA
//! blinding; it performs no other I/O.

use rand::rngs::OsRng;
use rsa::{Pkcs1v15Sign, Pss};
use sha2::{Digest, Sha256};

use crate::keys::{PrivateKey, PublicKey};
use crate::version::SignatureVersion;

/// Salt length of A006 (EBICS: equal to the SHA-256 output length).
pub const A006_SALT_LEN: usize = 32;

/// Errors of signing and verification.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    #[error("electronic signature does not verify")]
    Invalid,
    #[error("signing failed: {0}")]
    Signing(rsa::Error),
}

/// SHA-256 over `data` without CR, LF and Ctrl-Z bytes (see the module docs).
pub fn order_data_digest(data: &[u8]) -> [u8; 32] {
    let mut hasher = OrderDataHasher::new();
    hasher.update(data);
    hasher.finalize()
}

/// Incremental [`order_data_digest`], for order data read in chunks.
#[derive(Clone, Default)]
pub struct OrderDataHasher {
    sha: Sha256,
}

impl OrderDataHasher {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn update(&mut self, chunk: &[u8]) {
        for run in chunk.split(|b| matches!(b, b'\r' | b'\n' | 0x1A)) {
            self.sha.update(run);
        }
    }

    pub fn finalize(self) -> [u8; 32] {
        self.sha.finalize().into()
    }
}

/// The order data the ES of SPR covers: one blank. SPR carries no business data, but its
/// electronic signature needs order data to cover (EBICS Annex 2, SPR). The daemon and a
/// signer signing SPR on their own machine (`kontor sign suspend`) sign exactly this.
pub const SPR_ORDER_DATA: &[u8] = b" ";

/// Signs order data with the subscriber's ES key.
pub fn sign_order_data(
    version: SignatureVersion,
    key: &PrivateKey,
    data: &[u8],
) -> Result<Vec<u8>, SignatureError> {
    sign_order_digest(version, key, &order_data_digest(data))
}

/// Verifies an ES over order data.
pub fn verify_order_data(
    version: SignatureVersion,
    key: &PublicKey,
    data: &[u8],
    signature: &[u8],
) -> Result<(), SignatureError> {
    verify_order_digest(version, key, &order_data_digest(data), signature)
}

/// Signs a precomputed [`order_data_digest`].
pub fn sign_order_digest(
    version: SignatureVersion,
    key: &PrivateKey,
    digest: &[u8; 32],
) -> Result<Vec<u8>, SignatureError> {
    let rsa_key = key.rsa();
    let result = match version {
        SignatureVersion::A005 => {
            rsa_key.sign_with_rng(&mut OsRng, Pkcs1v15Sign::new::<Sha256>(), digest)
        }
        SignatureVersion::A006 => rsa_key.sign_with_rng(
            &mut OsRng,
            Pss::new_with_salt::<Sha256>(A006_SALT_LEN),
            &Sha256::digest(digest),
        ),
    };
    result.map_err(SignatureError::Signing)
}

/// Verifies an ES against a precomputed [`order_data_digest`].
pub fn verify_order_digest(
    version: SignatureVersion,
    key: &PublicKey,
    digest: &[u8; 32],
    signature: &[u8],
) -> Result<(), SignatureError> {
    let rsa_key = key.rsa();
    // EBICS signatures are always exactly as long as the modulus (I2OSP with length k).
    if signature.len() != key.modulus().len() {
        return Err(SignatureError::Invalid);
    }
    let result = match version {
        SignatureVersion::A005 => rsa_key.verify(Pkcs1v15Sign::new::<Sha256>(), digest, signature),
        SignatureVersion::A006 => rsa_key.verify(
            Pss::new_with_salt::<Sha256>(A006_SALT_LEN),
            &Sha256::digest(digest),
            signature,
        ),
    };
    result.map_err(|_| SignatureError::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_ignores_line_endings_and_ctrl_z() {
        let unix = b"<Document>\n  <A>1</A>\n</Document>\n";
        let windows = b"<Document>\r\n  <A>1</A>\r\n</Document>\r\n\x1a";
        assert_eq!(order_data_digest(unix), order_data_digest(windows));
        assert_eq!(
            order_data_digest(unix),
            <[u8; 32]>::from(Sha256::digest(b"<Document>  <A>1</A></Document>"))
        );
    }

    #[test]
    fn digest_keeps_other_whitespace() {
        assert_ne!(order_data_digest(b"a b"), order_data_digest(b"ab"));
        assert_ne!(order_data_digest(b"a\tb"), order_data_digest(b"ab"));
    }

    #[test]
    fn incremental_digest_matches_one_shot_across_chunk_boundaries() {
        let data = b"line one\r\nline two\r\n\x1a";
        for split in 0..data.len() {
            let mut hasher = OrderDataHasher::new();
            hasher.update(&data[..split]);
            hasher.update(&data[split..]);
            assert_eq!(hasher.finalize(), order_data_digest(data));
        }
    }
}
