//! E002 encryption of order data and signatures.
//!
//! Per transaction the sender draws a random 128-bit AES *transaction key*, encrypts the
//! (compressed) data with AES-128-CBC and an all-zero IV, and sends the transaction key
//! encrypted with RSAES-PKCS1-v1_5 to the recipient's E002 public key
//! (`DataEncryptionInfo/TransactionKey`), together with the recipient key's hash
//! (`EncryptionPubKeyDigest`, see [`encryption_pub_key_digest`]).
//!
//! # Padding
//!
//! EBICS pads per ANSI X9.23 (specification, chapter on the E002 encryption): the data is
//! always extended — by a whole block of 16 bytes when its length is already a multiple of
//! 16 — with zero bytes, and the last byte holds the number of bytes added (1..=16).
//! Kontor pads exactly that way. When decrypting only the last byte is significant, so data
//! from senders that fill with random bytes (ISO 10126, e.g. ebics-java-client) or with the
//! count (PKCS#7) is accepted as well.
//!
//! RSA operations use the operating system's random number generator (for PKCS#1 padding
//! and blinding); nothing else here performs I/O.

use std::fmt;

use aes::cipher::generic_array::GenericArray;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use rand::rngs::OsRng;
use rand::{CryptoRng, RngCore};
use rsa::Pkcs1v15Encrypt;
use zeroize::Zeroizing;

use crate::certificate::Certificate;
use crate::keys::{public_key_hash, KeyError, KeyHash, PrivateKey, PublicKey};
use crate::version::ProtocolVersion;

/// AES block size, and the unit of the E002 padding.
pub const BLOCK_LEN: usize = 16;
/// Length of an E002 transaction key (AES-128).
pub const TRANSACTION_KEY_LEN: usize = 16;

type Aes128CbcEnc = cbc::Encryptor<aes::Aes128>;
type Aes128CbcDec = cbc::Decryptor<aes::Aes128>;

/// Errors of E002 encryption and decryption. Decryption failures say what failed, never
/// anything about key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncryptionError {
    #[error("transaction key could not be encrypted for the recipient: {0}")]
    TransactionKeyEncryption(rsa::Error),
    /// Wrong private key, or a corrupted/truncated encrypted transaction key.
    #[error("transaction key could not be decrypted (wrong key or corrupted data)")]
    TransactionKeyDecryption,
    #[error("decrypted transaction key has {0} bytes, E002 requires 16")]
    InvalidTransactionKeyLength(usize),
    #[error("ciphertext length {0} is not a multiple of the AES block size")]
    NotBlockAligned(usize),
    #[error("ciphertext is empty; E002 output has at least one block")]
    Empty,
    #[error("invalid E002 padding (wrong key or corrupted data)")]
    BadPadding,
}

/// A 128-bit AES transaction key. Wiped on drop; `Debug` prints `[redacted]`.
#[derive(Clone)]
pub struct TransactionKey(Zeroizing<[u8; TRANSACTION_KEY_LEN]>);

impl fmt::Debug for TransactionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TransactionKey([redacted])")
    }
}

impl TransactionKey {
    /// Draws a fresh random key.
    pub fn generate<R: CryptoRng + RngCore>(rng: &mut R) -> Self {
        let mut key = Zeroizing::new([0u8; TRANSACTION_KEY_LEN]);
        rng.fill_bytes(key.as_mut());
        Self(key)
    }

    /// Takes a key from raw bytes (e.g. a decrypted `TransactionKey` element).
    pub fn from_slice(bytes: &[u8]) -> Result<Self, EncryptionError> {
        let mut key = Zeroizing::new([0u8; TRANSACTION_KEY_LEN]);
        if bytes.len() != TRANSACTION_KEY_LEN {
            return Err(EncryptionError::InvalidTransactionKeyLength(bytes.len()));
        }
        key.copy_from_slice(bytes);
        Ok(Self(key))
    }

    /// The raw key bytes.
    pub fn expose_secret(&self) -> &[u8; TRANSACTION_KEY_LEN] {
        &self.0
    }

    /// Encrypts this key with RSAES-PKCS1-v1_5 for the recipient's E002 key; the result is
    /// the content of `DataEncryptionInfo/TransactionKey` (before base64).
    pub fn encrypt_for(&self, recipient: &PublicKey) -> Result<Vec<u8>, EncryptionError> {
        recipient
            .rsa()
            .encrypt(&mut OsRng, Pkcs1v15Encrypt, self.0.as_ref())
            .map_err(EncryptionError::TransactionKeyEncryption)
    }

    /// Decrypts an encrypted transaction key with the own E002 private key.
    pub fn decrypt_from(own_key: &PrivateKey, encrypted: &[u8]) -> Result<Self, EncryptionError> {
        let plain = own_key
            .rsa()
            .decrypt_blinded(&mut OsRng, Pkcs1v15Encrypt, encrypted)
            .map(Zeroizing::new)
            .map_err(|_| EncryptionError::TransactionKeyDecryption)?;
        Self::from_slice(&plain)
    }
}

/// The result of [`encrypt`]: the transaction key (keep it to encrypt the signature data of
/// the same upload), the key encrypted for the recipient, and the ciphertext.
pub struct E002Encrypted {
    pub transaction_key: TransactionKey,
    pub encrypted_transaction_key: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

impl fmt::Debug for E002Encrypted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("E002Encrypted")
            .field("transaction_key", &self.transaction_key)
            .field(
                "encrypted_transaction_key_len",
                &self.encrypted_transaction_key.len(),
            )
            .field("ciphertext_len", &self.ciphertext.len())
            .finish()
    }
}

/// Encrypts `plaintext` for `recipient` with a fresh transaction key.
pub fn encrypt<R: CryptoRng + RngCore>(
    recipient: &PublicKey,
    plaintext: &[u8],
    rng: &mut R,
) -> Result<E002Encrypted, EncryptionError> {
    let transaction_key = TransactionKey::generate(rng);
    let encrypted_transaction_key = transaction_key.encrypt_for(recipient)?;
    let ciphertext = encrypt_with_key(&transaction_key, plaintext);
    Ok(E002Encrypted {
        transaction_key,
        encrypted_transaction_key,
        ciphertext,
    })
}

/// Decrypts E002 data with the own private key and the encrypted transaction key.
pub fn decrypt(
    own_key: &PrivateKey,
    encrypted_transaction_key: &[u8],
    ciphertext: &[u8],
) -> Result<Vec<u8>, EncryptionError> {
    let key = TransactionKey::decrypt_from(own_key, encrypted_transaction_key)?;
    decrypt_with_key(&key, ciphertext)
}

/// AES-128-CBC, zero IV, X9.23 padding. The output is 1..=16 bytes longer than the input.
pub fn encrypt_with_key(key: &TransactionKey, plaintext: &[u8]) -> Vec<u8> {
    let pad = BLOCK_LEN - plaintext.len() % BLOCK_LEN;
    let mut buffer = Vec::with_capacity(plaintext.len() + pad);
    buffer.extend_from_slice(plaintext);
    buffer.resize(plaintext.len() + pad - 1, 0);
    // `pad` is 1..=16, so the cast is lossless.
    buffer.push(pad as u8);

    let mut cipher = Aes128CbcEnc::new(key.expose_secret().into(), &[0u8; BLOCK_LEN].into());
    for block in buffer.chunks_exact_mut(BLOCK_LEN) {
        cipher.encrypt_block_mut(GenericArray::from_mut_slice(block));
    }
    buffer
}

/// Streaming E002 encryption, in place: feed plaintext in pieces of any size; whole blocks
/// are encrypted where they lie, and [`CbcEncryptor::finish`] pads the rest. The ciphertext is
/// byte for byte that of [`encrypt_with_key`] over the concatenated pieces.
///
/// AES runs on the CPU's AES instructions (AES-NI, ARMv8 AES) when present, detected at run
/// time by the `aes` crate.
pub struct CbcEncryptor {
    cipher: Aes128CbcEnc,
}

impl fmt::Debug for CbcEncryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CbcEncryptor").finish_non_exhaustive()
    }
}

impl CbcEncryptor {
    pub fn new(key: &TransactionKey) -> Self {
        Self {
            cipher: Aes128CbcEnc::new(key.expose_secret().into(), &[0u8; BLOCK_LEN].into()),
        }
    }

    /// Encrypts the whole blocks at the start of `data` in place and returns how many bytes
    /// that is (a multiple of 16); the rest (under one block) is left for the next call.
    pub fn encrypt_blocks(&mut self, data: &mut [u8]) -> usize {
        let whole = data.len() / BLOCK_LEN * BLOCK_LEN;
        let (blocks, _) = aes::cipher::inout::InOutBuf::from(&mut data[..whole]).into_chunks();
        self.cipher.encrypt_blocks_inout_mut(blocks);
        whole
    }

    /// Ends the stream: pads `buffer[tail_start..]` (the plaintext not yet encrypted) per X9.23
    /// and encrypts it in place; `buffer` grows by 1..=16 bytes.
    pub fn finish(&mut self, buffer: &mut Vec<u8>, tail_start: usize) {
        let pad = BLOCK_LEN - (buffer.len() - tail_start) % BLOCK_LEN;
        buffer.resize(buffer.len() + pad - 1, 0);
        // `pad` is 1..=16, so the cast is lossless.
        buffer.push(pad as u8);
        self.encrypt_blocks(&mut buffer[tail_start..]);
    }
}

/// Reverses [`encrypt_with_key`].
pub fn decrypt_with_key(
    key: &TransactionKey,
    ciphertext: &[u8],
) -> Result<Vec<u8>, EncryptionError> {
    let mut decryptor = CbcDecryptor::new(key);
    let mut plaintext = Vec::with_capacity(ciphertext.len());
    decryptor.update(ciphertext, &mut plaintext);
    decryptor.finish(&mut plaintext)?;
    Ok(plaintext)
}

/// Streaming E002 decryption: feed ciphertext in pieces of any size, get plaintext as soon
/// as it is known not to be padding. Memory use is constant (the last block is held back
/// until [`CbcDecryptor::finish`], which removes the padding).
pub struct CbcDecryptor {
    cipher: Aes128CbcDec,
    pending: Vec<u8>,
    total_in: u64,
}

impl fmt::Debug for CbcDecryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CbcDecryptor")
            .field("total_in", &self.total_in)
            .finish_non_exhaustive()
    }
}

impl CbcDecryptor {
    pub fn new(key: &TransactionKey) -> Self {
        Self {
            cipher: Aes128CbcDec::new(key.expose_secret().into(), &[0u8; BLOCK_LEN].into()),
            pending: Vec::new(),
            total_in: 0,
        }
    }

    /// Decrypts what can be decrypted of `ciphertext` and appends it to `out`.
    pub fn update(&mut self, ciphertext: &[u8], out: &mut Vec<u8>) {
        self.total_in += ciphertext.len() as u64;
        self.pending.extend_from_slice(ciphertext);
        // Hold back the last complete block: it may be the final, padded one.
        let ready = match self.pending.len() % BLOCK_LEN {
            0 => self.pending.len().saturating_sub(BLOCK_LEN),
            partial => self.pending.len() - partial,
        };
        if ready == 0 {
            return;
        }
        let start = out.len();
        out.extend_from_slice(&self.pending[..ready]);
        for block in out[start..].chunks_exact_mut(BLOCK_LEN) {
            self.cipher
                .decrypt_block_mut(GenericArray::from_mut_slice(block));
        }
        self.pending.drain(..ready);
    }

    /// Decrypts the final block, checks and strips the padding, appends the rest to `out`.
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<(), EncryptionError> {
        if self.total_in == 0 {
            return Err(EncryptionError::Empty);
        }
        if self.pending.len() != BLOCK_LEN {
            return Err(EncryptionError::NotBlockAligned(
                usize::try_from(self.total_in).unwrap_or(usize::MAX),
            ));
        }
        let mut block = [0u8; BLOCK_LEN];
        block.copy_from_slice(&self.pending);
        self.cipher
            .decrypt_block_mut(GenericArray::from_mut_slice(&mut block));
        let pad = usize::from(block[BLOCK_LEN - 1]);
        if pad == 0 || pad > BLOCK_LEN {
            return Err(EncryptionError::BadPadding);
        }
        out.extend_from_slice(&block[..BLOCK_LEN - pad]);
        Ok(())
    }
}

/// The `EncryptionPubKeyDigest` of the recipient's E002 key: the EBICS public key hash for
/// `version` (see [`crate::keys`]); H005+ requires the recipient's certificate.
pub fn encryption_pub_key_digest(
    version: ProtocolVersion,
    recipient: &PublicKey,
    certificate: Option<&Certificate>,
) -> Result<KeyHash, KeyError> {
    public_key_hash(version, recipient, certificate)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> TransactionKey {
        TransactionKey::from_slice(&[7u8; 16]).expect("16 bytes")
    }

    #[test]
    fn padding_adds_a_whole_block_when_aligned() {
        for len in [0usize, 1, 15, 16, 17, 31, 32, 33] {
            let ciphertext = encrypt_with_key(&key(), &vec![0xAB; len]);
            assert_eq!(ciphertext.len(), (len / 16 + 1) * 16, "len {len}");
            assert_eq!(
                decrypt_with_key(&key(), &ciphertext).ok(),
                Some(vec![0xAB; len])
            );
        }
    }

    #[test]
    fn padding_is_zero_filled_with_length_byte() {
        let ciphertext = encrypt_with_key(&key(), b"abc");
        let mut block = [0u8; 16];
        block.copy_from_slice(&ciphertext);
        let mut cipher = Aes128CbcDec::new(key().expose_secret().into(), &[0u8; 16].into());
        cipher.decrypt_block_mut(GenericArray::from_mut_slice(&mut block));
        assert_eq!(&block[..3], b"abc");
        assert_eq!(&block[3..15], &[0u8; 12]);
        assert_eq!(block[15], 13);
    }

    #[test]
    fn streaming_decryption_matches_one_shot_for_any_split() {
        let plaintext: Vec<u8> = (0..100u8).collect();
        let ciphertext = encrypt_with_key(&key(), &plaintext);
        for split in 0..=ciphertext.len() {
            let mut decryptor = CbcDecryptor::new(&key());
            let mut out = Vec::new();
            decryptor.update(&ciphertext[..split], &mut out);
            decryptor.update(&ciphertext[split..], &mut out);
            assert!(decryptor.finish(&mut out).is_ok());
            assert_eq!(out, plaintext);
        }
    }

    #[test]
    fn malformed_ciphertext_is_rejected_with_a_typed_error() {
        assert!(matches!(
            decrypt_with_key(&key(), &[]),
            Err(EncryptionError::Empty)
        ));
        assert!(matches!(
            decrypt_with_key(&key(), &[0u8; 17]),
            Err(EncryptionError::NotBlockAligned(17))
        ));
        // A block whose plaintext ends in 0x00 has no valid padding length.
        let mut block = [0u8; 16];
        let mut cipher = Aes128CbcEnc::new(key().expose_secret().into(), &[0u8; 16].into());
        cipher.encrypt_block_mut(GenericArray::from_mut_slice(&mut block));
        assert!(matches!(
            decrypt_with_key(&key(), &block),
            Err(EncryptionError::BadPadding)
        ));
    }

    #[test]
    fn transaction_key_debug_is_redacted() {
        assert_eq!(format!("{:?}", key()), "TransactionKey([redacted])");
        assert!(TransactionKey::from_slice(&[1u8; 15]).is_err());
    }
}
