//! A005/A006 electronic signatures over order data.

use kontor_protocol::signature::{
    order_data_digest, sign_order_data, sign_order_digest, verify_order_data, verify_order_digest,
    OrderDataHasher, SignatureError,
};
use kontor_protocol::SignatureVersion;
use sha2::{Digest, Sha256};

use crate::support::keys::{authentication_key, signature_key};

const ORDER_DATA: &[u8] = b"<?xml version=\"1.0\"?>\r\n<Document><CstmrCdtTrfInitn><GrpHdr><MsgId>M-1</MsgId></GrpHdr></CstmrCdtTrfInitn></Document>\r\n";
const VERSIONS: [SignatureVersion; 2] = [SignatureVersion::A005, SignatureVersion::A006];

#[test]
fn signature_round_trips_for_a005_and_a006() {
    let key = signature_key();
    for version in VERSIONS {
        let signature = sign_order_data(version, key, ORDER_DATA).expect("sign");
        assert_eq!(
            signature.len(),
            256,
            "{version:?}: signature is as long as the modulus"
        );
        verify_order_data(version, &key.public_key(), ORDER_DATA, &signature).expect("verify");
    }
}

#[test]
fn tampered_order_data_is_rejected() {
    let key = signature_key();
    for version in VERSIONS {
        let signature = sign_order_data(version, key, ORDER_DATA).expect("sign");
        let mut tampered = ORDER_DATA.to_vec();
        tampered[60] ^= 0x01;
        assert!(matches!(
            verify_order_data(version, &key.public_key(), &tampered, &signature),
            Err(SignatureError::Invalid)
        ));
    }
}

#[test]
fn tampered_signature_is_rejected() {
    let key = signature_key();
    for version in VERSIONS {
        let mut signature = sign_order_data(version, key, ORDER_DATA).expect("sign");
        signature[100] ^= 0x80;
        assert!(verify_order_data(version, &key.public_key(), ORDER_DATA, &signature).is_err());
        signature.truncate(255);
        assert!(verify_order_data(version, &key.public_key(), ORDER_DATA, &signature).is_err());
        assert!(verify_order_data(version, &key.public_key(), ORDER_DATA, &[]).is_err());
    }
}

#[test]
fn signature_by_another_key_is_rejected() {
    for version in VERSIONS {
        let signature = sign_order_data(version, authentication_key(), ORDER_DATA).expect("sign");
        assert!(matches!(
            verify_order_data(
                version,
                &signature_key().public_key(),
                ORDER_DATA,
                &signature
            ),
            Err(SignatureError::Invalid)
        ));
    }
}

#[test]
fn signature_of_one_version_does_not_verify_as_the_other() {
    let key = signature_key();
    let a005 = sign_order_data(SignatureVersion::A005, key, ORDER_DATA).expect("sign");
    let a006 = sign_order_data(SignatureVersion::A006, key, ORDER_DATA).expect("sign");
    assert!(
        verify_order_data(SignatureVersion::A006, &key.public_key(), ORDER_DATA, &a005).is_err()
    );
    assert!(
        verify_order_data(SignatureVersion::A005, &key.public_key(), ORDER_DATA, &a006).is_err()
    );
}

#[test]
fn a005_is_deterministic_and_a006_is_randomized() {
    let key = signature_key();
    let a005 = |_| sign_order_data(SignatureVersion::A005, key, ORDER_DATA).expect("sign");
    assert_eq!(a005(1), a005(2));
    let a006 = |_| sign_order_data(SignatureVersion::A006, key, ORDER_DATA).expect("sign");
    assert_ne!(a006(1), a006(2));
}

#[test]
fn signing_a_precomputed_digest_equals_signing_the_data() {
    let key = signature_key();
    let digest = order_data_digest(ORDER_DATA);
    for version in VERSIONS {
        let from_digest = sign_order_digest(version, key, &digest).expect("sign digest");
        verify_order_data(version, &key.public_key(), ORDER_DATA, &from_digest)
            .expect("verify data");
        let from_data = sign_order_data(version, key, ORDER_DATA).expect("sign data");
        verify_order_digest(version, &key.public_key(), &digest, &from_data)
            .expect("verify digest");
    }
    let a005_digest = sign_order_digest(SignatureVersion::A005, key, &digest).expect("sign");
    let a005_data = sign_order_data(SignatureVersion::A005, key, ORDER_DATA).expect("sign");
    assert_eq!(a005_digest, a005_data);
}

#[test]
fn signature_does_not_depend_on_line_endings() {
    let key = signature_key();
    let unix: Vec<u8> = ORDER_DATA.iter().copied().filter(|b| *b != b'\r').collect();
    for version in VERSIONS {
        let signature = sign_order_data(version, key, ORDER_DATA).expect("sign");
        verify_order_data(version, &key.public_key(), &unix, &signature)
            .expect("LF-only data verifies");
    }
}

#[test]
fn digest_is_sha256_of_the_data_without_cr_lf_and_ctrl_z() {
    let stripped: Vec<u8> = ORDER_DATA
        .iter()
        .copied()
        .filter(|b| !matches!(b, b'\r' | b'\n' | 0x1A))
        .collect();
    let expected: [u8; 32] = Sha256::digest(&stripped).into();
    assert_eq!(order_data_digest(ORDER_DATA), expected);

    let mut hasher = OrderDataHasher::new();
    for chunk in ORDER_DATA.chunks(7) {
        hasher.update(chunk);
    }
    assert_eq!(hasher.finalize(), expected);
}

#[test]
fn a006_signs_the_digest_of_the_order_digest() {
    // A006 feeds the 32-byte order data digest into RSASSA-PSS as the message, so PSS's own
    // hash makes mHash = SHA-256(order digest). Recover the encoded message with the public
    // key and check its hash against that value.
    use rsa::traits::PublicKeyParts;
    let key = signature_key();
    let signature = sign_order_data(SignatureVersion::A006, key, ORDER_DATA).expect("sign");
    let public = rsa::RsaPublicKey::new(
        rsa::BigUint::from_bytes_be(&key.public_key().modulus()),
        rsa::BigUint::from_bytes_be(&key.public_key().exponent()),
    )
    .expect("public key");
    let em = rsa::BigUint::from_bytes_be(&signature)
        .modpow(public.e(), public.n())
        .to_bytes_be();
    // emLen = 256 for a 2048-bit key: maskedDB (223) || H (32) || 0xBC
    let mut em_full = vec![0u8; 256 - em.len()];
    em_full.extend(em);
    assert_eq!(em_full[255], 0xBC);
    let h = &em_full[223..255];
    let masked_db = &em_full[..223];
    // MGF1-SHA256(H) unmasks DB = PS || 0x01 || salt
    let mut mask = Vec::new();
    let mut counter = 0u32;
    while mask.len() < masked_db.len() {
        let mut hasher = Sha256::new();
        hasher.update(h);
        hasher.update(counter.to_be_bytes());
        mask.extend(hasher.finalize());
        counter += 1;
    }
    let mut db: Vec<u8> = masked_db.iter().zip(&mask).map(|(a, b)| a ^ b).collect();
    db[0] &= 0x7F;
    assert!(db[..190].iter().all(|b| *b == 0));
    assert_eq!(db[190], 0x01);
    let salt = &db[191..];
    assert_eq!(salt.len(), 32);

    let m_hash = Sha256::digest(order_data_digest(ORDER_DATA));
    let mut m_prime = vec![0u8; 8];
    m_prime.extend(m_hash);
    m_prime.extend(salt);
    assert_eq!(h, Sha256::digest(&m_prime).as_slice());
}
