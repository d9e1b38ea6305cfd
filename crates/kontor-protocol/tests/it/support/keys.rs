//! The subscriber's and the bank's keys and certificates.
//!
//! RSA key generation is slow, so each key is generated once per test run from a fixed seed
//! (failures are reproducible) and then shared by every module.

use std::sync::OnceLock;

use chrono::{DateTime, TimeZone, Utc};
use kontor_protocol::certificate::{Certificate, CertificateSubject, KeyPurpose};
use kontor_protocol::keys::{KeySize, PrivateKey};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rsa::pkcs8::DecodePrivateKey;
use rsa::RsaPrivateKey;

fn seeded_key(seed: u64) -> PrivateKey {
    PrivateKey::generate(&mut StdRng::seed_from_u64(seed), KeySize::Bits2048)
        .expect("key generation")
}

/// The `n`-th fixed key, generated on first use.
fn cached_key(n: usize) -> &'static PrivateKey {
    static KEYS: [OnceLock<PrivateKey>; 5] = [const { OnceLock::new() }; 5];
    KEYS[n].get_or_init(|| seeded_key(n as u64 + 1))
}

/// The subscriber's electronic signature key (A005/A006).
pub fn signature_key() -> &'static PrivateKey {
    cached_key(0)
}

/// The subscriber's authentication key (X002).
pub fn authentication_key() -> &'static PrivateKey {
    cached_key(1)
}

/// The subscriber's encryption key (E002).
pub fn encryption_key() -> &'static PrivateKey {
    cached_key(2)
}

/// The bank's encryption key (E002).
pub fn bank_encryption_key() -> &'static PrivateKey {
    cached_key(3)
}

/// The subscriber's X002 key as the envelope layer takes it: it signs every request.
pub fn client_x002() -> &'static RsaPrivateKey {
    static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| as_rsa(authentication_key()))
}

/// The bank's X002 key: it signs every response.
pub fn bank_x002() -> &'static RsaPrivateKey {
    static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| as_rsa(cached_key(4)))
}

pub fn as_rsa(key: &PrivateKey) -> RsaPrivateKey {
    RsaPrivateKey::from_pkcs8_der(&key.to_pkcs8_der().expect("export")).expect("import")
}

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 14, 9, 26, 53)
        .single()
        .expect("valid date")
}

pub fn subject() -> CertificateSubject {
    CertificateSubject {
        common_name: "Erika Mustermann".to_owned(),
        organization: Some("Beispiel Treasury GmbH".to_owned()),
        country: Some("DE".to_owned()),
    }
}

pub fn certificate_for(key: &PrivateKey, purpose: KeyPurpose) -> Certificate {
    Certificate::generate_self_signed(
        key,
        &subject(),
        purpose,
        now(),
        5,
        &mut StdRng::seed_from_u64(99),
    )
    .expect("certificate generation")
}
