//! E002 encryption of order data.

use kontor_protocol::certificate::KeyPurpose;
use kontor_protocol::encryption::{
    decrypt, decrypt_with_key, encrypt, encrypt_with_key, encryption_pub_key_digest,
    EncryptionError, TransactionKey,
};
use kontor_protocol::keys::{public_key_hash, KeyError};
use kontor_protocol::ProtocolVersion;
use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::support::data::random_bytes;
use crate::support::keys::{bank_encryption_key, certificate_for, encryption_key};

#[test]
fn encrypted_data_decrypts_with_the_recipient_key() {
    let recipient = bank_encryption_key();
    for len in [0usize, 1, 15, 16, 17, 4096, 100_003] {
        let plaintext = random_bytes(len, len as u64);
        let encrypted = encrypt(
            &recipient.public_key(),
            &plaintext,
            &mut StdRng::seed_from_u64(1),
        )
        .expect("encrypt");
        assert_eq!(encrypted.encrypted_transaction_key.len(), 256);
        assert_eq!(encrypted.ciphertext.len(), (len / 16 + 1) * 16);
        let decrypted = decrypt(
            recipient,
            &encrypted.encrypted_transaction_key,
            &encrypted.ciphertext,
        )
        .expect("decrypt");
        assert_eq!(decrypted, plaintext, "len {len}");
    }
}

#[test]
fn transaction_keys_are_fresh_per_encryption() {
    let recipient = bank_encryption_key().public_key();
    let mut rng = StdRng::seed_from_u64(1);
    let a = encrypt(&recipient, b"same data", &mut rng).expect("encrypt");
    let b = encrypt(&recipient, b"same data", &mut rng).expect("encrypt");
    assert_ne!(
        a.transaction_key.expose_secret(),
        b.transaction_key.expose_secret()
    );
    assert_ne!(a.ciphertext, b.ciphertext);
}

#[test]
fn the_transaction_key_also_encrypts_the_signature_data() {
    let recipient = bank_encryption_key();
    let encrypted = encrypt(
        &recipient.public_key(),
        b"order",
        &mut StdRng::seed_from_u64(1),
    )
    .expect("encrypt");
    let signature_ciphertext =
        encrypt_with_key(&encrypted.transaction_key, b"<UserSignatureData/>");
    let key =
        TransactionKey::decrypt_from(recipient, &encrypted.encrypted_transaction_key).expect("key");
    assert_eq!(
        key.expose_secret(),
        encrypted.transaction_key.expose_secret()
    );
    assert_eq!(
        decrypt_with_key(&key, &signature_ciphertext).expect("decrypt"),
        b"<UserSignatureData/>"
    );
}

#[test]
fn decryption_with_the_wrong_private_key_fails_with_a_typed_error() {
    let encrypted = encrypt(
        &bank_encryption_key().public_key(),
        b"secret order",
        &mut StdRng::seed_from_u64(1),
    )
    .expect("encrypt");
    assert!(matches!(
        decrypt(
            encryption_key(),
            &encrypted.encrypted_transaction_key,
            &encrypted.ciphertext
        ),
        Err(EncryptionError::TransactionKeyDecryption)
    ));
}

#[test]
fn truncated_or_corrupted_input_fails_with_typed_errors() {
    let recipient = bank_encryption_key();
    let encrypted = encrypt(
        &recipient.public_key(),
        &random_bytes(100, 1),
        &mut StdRng::seed_from_u64(1),
    )
    .expect("encrypt");
    let key = &encrypted.encrypted_transaction_key;
    let ciphertext = &encrypted.ciphertext;

    assert!(matches!(
        decrypt(recipient, &key[..key.len() - 1], ciphertext),
        Err(EncryptionError::TransactionKeyDecryption)
    ));
    assert!(matches!(
        decrypt(recipient, &[], ciphertext),
        Err(EncryptionError::TransactionKeyDecryption)
    ));
    assert!(matches!(
        decrypt(recipient, key, &ciphertext[..ciphertext.len() - 1]),
        Err(EncryptionError::NotBlockAligned(_))
    ));
    assert!(matches!(
        decrypt(recipient, key, &[]),
        Err(EncryptionError::Empty)
    ));
}

#[test]
fn wrong_transaction_key_mostly_fails_on_padding() {
    // A wrong AES key yields a random last byte; 240 of 256 values are invalid padding.
    let right = TransactionKey::from_slice(&[1; 16]).expect("key");
    let ciphertext = encrypt_with_key(&right, b"payment file");
    let failures = (0u8..64)
        .filter(|i| {
            let wrong = TransactionKey::from_slice(&[*i + 2; 16]).expect("key");
            matches!(
                decrypt_with_key(&wrong, &ciphertext),
                Err(EncryptionError::BadPadding)
            )
        })
        .count();
    assert!(
        failures > 40,
        "only {failures} of 64 wrong keys hit bad padding"
    );
}

#[test]
fn padding_from_other_senders_is_accepted() {
    // PKCS#7-style padding (each pad byte holds the count), as some clients send.
    use aes::cipher::generic_array::GenericArray;
    use aes::cipher::{BlockEncryptMut, KeyIvInit};
    let key = TransactionKey::from_slice(&[9; 16]).expect("key");
    let mut data = b"0123456789".to_vec();
    data.extend([6u8; 6]);
    let mut cipher =
        cbc::Encryptor::<aes::Aes128>::new(key.expose_secret().into(), &[0u8; 16].into());
    cipher.encrypt_block_mut(GenericArray::from_mut_slice(&mut data));
    assert_eq!(
        decrypt_with_key(&key, &data).expect("decrypt"),
        b"0123456789"
    );
}

#[test]
fn encryption_pub_key_digest_is_the_ebics_key_hash() {
    let public = bank_encryption_key().public_key();
    assert_eq!(
        encryption_pub_key_digest(ProtocolVersion::H004, &public, None).expect("digest"),
        public_key_hash(ProtocolVersion::H004, &public, None).expect("hash")
    );
    let certificate = certificate_for(bank_encryption_key(), KeyPurpose::Encryption);
    assert_eq!(
        encryption_pub_key_digest(ProtocolVersion::H005, &public, Some(&certificate))
            .expect("digest"),
        certificate.fingerprint_sha256()
    );
    assert!(matches!(
        encryption_pub_key_digest(ProtocolVersion::H005, &public, None),
        Err(KeyError::MissingCertificate(_))
    ));
}
