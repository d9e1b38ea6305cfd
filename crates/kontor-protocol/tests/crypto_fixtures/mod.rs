//! Keys, certificates and data shared by the `crypto_*` integration tests.
//!
//! RSA key generation is slow in debug builds, so each key is generated once per test binary
//! from a fixed seed (failures are reproducible) and then shared.
#![allow(dead_code)]

use std::sync::OnceLock;

use chrono::{DateTime, TimeZone, Utc};
use kontor_protocol::certificate::{Certificate, CertificateSubject, KeyPurpose};
use kontor_protocol::keys::{KeySize, PrivateKey};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};

fn seeded_key(seed: u64) -> PrivateKey {
    PrivateKey::generate(&mut StdRng::seed_from_u64(seed), KeySize::Bits2048)
        .expect("key generation")
}

/// The subscriber's electronic signature key (A005/A006).
pub fn signature_key() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| seeded_key(1))
}

/// The subscriber's authentication key (X002).
pub fn authentication_key() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| seeded_key(2))
}

/// The subscriber's encryption key (E002).
pub fn encryption_key() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| seeded_key(3))
}

/// The bank's encryption key (E002).
pub fn bank_encryption_key() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| seeded_key(4))
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

/// `len` bytes of incompressible data.
pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut data = vec![0u8; len];
    StdRng::seed_from_u64(seed).fill_bytes(&mut data);
    data
}

/// At least `len` bytes of camt.053-like XML that compresses like real statements.
pub fn camt_like_xml(len: usize) -> Vec<u8> {
    let mut rng = StdRng::seed_from_u64(7);
    let mut xml = String::with_capacity(len + 2048);
    xml.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.08\">\n<BkToCstmrStmt>\n");
    let mut entry = 0u64;
    while xml.len() < len {
        entry += 1;
        let amount = rng.next_u32() % 1_000_000;
        let reference = rng.next_u64();
        let iban_tail = rng.next_u64() % 10_000_000_000;
        let credit = rng.next_u32() % 2 == 0;
        xml.push_str(&format!(
            "  <Ntry>\n    <NtryRef>{entry}</NtryRef>\n    <Amt Ccy=\"EUR\">{}.{:02}</Amt>\n    <CdtDbtInd>{}</CdtDbtInd>\n    <Sts><Cd>BOOK</Cd></Sts>\n    <BookgDt><Dt>2025-03-{:02}</Dt></BookgDt>\n    <ValDt><Dt>2025-03-{:02}</Dt></ValDt>\n    <AcctSvcrRef>{reference:016X}</AcctSvcrRef>\n    <NtryDtls><TxDtls>\n      <Refs><EndToEndId>E2E-{reference:X}</EndToEndId></Refs>\n      <RltdPties><Dbtr><Pty><Nm>Kunde {}</Nm></Pty></Dbtr><DbtrAcct><Id><IBAN>DE89370400440{iban_tail:010}</IBAN></Id></DbtrAcct></RltdPties>\n      <RmtInf><Ustrd>Rechnung {} vom 2025-03-{:02}</Ustrd></RmtInf>\n    </TxDtls></NtryDtls>\n  </Ntry>\n",
            amount / 100,
            amount % 100,
            if credit { "CRDT" } else { "DBIT" },
            1 + entry % 28,
            1 + (entry + 1) % 28,
            rng.next_u32() % 5000,
            rng.next_u32() % 100_000,
            1 + entry % 28,
        ));
    }
    xml.push_str("</BkToCstmrStmt>\n</Document>\n");
    xml.into_bytes()
}

/// Runs `openssl` with `args`; `None` (after printing why) when openssl is not installed.
pub fn openssl(args: &[&str]) -> Option<std::process::Output> {
    match std::process::Command::new("openssl").args(args).output() {
        Ok(output) => {
            assert!(
                output.status.success(),
                "openssl {args:?} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            Some(output)
        }
        Err(e) => {
            eprintln!("skipping openssl cross-check: cannot run `openssl` ({e})");
            None
        }
    }
}
