//! Certificates against the emulator: a French-bank style user onboards with CA-issued
//! certificates on H004 (INI/HIA with `X509Data`) and on H005 with H3K; imports are checked
//! and audited; the bank's own certificates are checked at HPB; expiry warnings come once.

use chrono::{Duration, Utc};
use kontor_bank::ca::TestCa;
use kontor_daemon::api::error::ApiError;
use kontor_daemon::ebics::EbicsError;
use kontor_daemon::services::certificates::{
    import_certificate, keys_view, warn_expiring, CertificateOrigin,
};
use kontor_daemon::services::onboarding::{self, KeySubmission};
use kontor_daemon::services::ServiceError;
use kontor_protocol::certificate::{Certificate, CertificateSubject, KeyPurpose, ValidityPeriod};
use kontor_protocol::keys::{KeyPair, KeySize, PublicKey};
use kontor_protocol::ProtocolVersion::{self, H004, H005};
use kontor_storage::*;

use crate::support::emulator::{audit_trail, count_of, current_key, world, Setup, World};
use crate::support::TestDb;

const USAGES: [(KeyUsage, KeyPurpose); 3] = [
    (KeyUsage::Signature, KeyPurpose::Signature),
    (KeyUsage::Authentication, KeyPurpose::Authentication),
    (KeyUsage::Encryption, KeyPurpose::Encryption),
];

/// A French-bank style world: the bank issues this subscriber's certificates.
async fn french_world(db: TestDb, version: ProtocolVersion) -> World {
    let w = world(db, Setup::new(version)).await;
    w.bank
        .state()
        .set_bank_issued_certificates(
            &"PARTNER1".parse().unwrap(),
            &"USER1".parse().unwrap(),
            true,
        )
        .unwrap();
    if version == H004 {
        w.change_host(BankHostChanges {
            x509_on_h004: Some(true),
            ..Default::default()
        })
        .await;
    }
    w
}

/// The bank's CA issues a certificate for the user's current key of `usage`.
async fn ca_certificate(w: &World, usage: KeyUsage, purpose: KeyPurpose) -> Certificate {
    let mut tx = w.tx().await;
    let pair = current_key(&mut tx, w.user, usage).await;
    let key = PublicKey::from_spki_der(&pair.public_key).unwrap();
    TestCa::get()
        .issue(&key, "Société Exemple SA", purpose, Utc::now())
        .unwrap()
}

/// Imports the CA's certificates for all three keys (PEM for one, DER for the others).
async fn import_ca_certificates(w: &World) -> Vec<Certificate> {
    let mut issued = Vec::new();
    for (index, (usage, purpose)) in USAGES.into_iter().enumerate() {
        let certificate = ca_certificate(w, usage, purpose).await;
        let bytes = if index == 0 {
            certificate.to_pem().into_bytes()
        } else {
            certificate.to_der().to_vec()
        };
        let mut tx = w.tx().await;
        let view = import_certificate(&mut tx, w.user, usage, &bytes, Utc::now())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let info = view.certificate.expect("certificate");
        assert_eq!(info.origin, CertificateOrigin::CaIssued);
        assert_eq!(info.issuer, TestCa::get().certificate().subject());
        issued.push(certificate);
    }
    issued
}

fn refusal_code(error: &ServiceError) -> String {
    format!("{error:?}")
}

/// Sends the keys; HPB is refused (091002) until the bank's clerk activates the subscriber.
async fn initialise_until_the_clerk(w: &World, submission: KeySubmission) {
    let error = onboarding::initialise(&w.services, &w.scope, w.user, submission)
        .await
        .unwrap_err();
    assert!(format!("{error:?}").contains("091002"), "{error:?}");
    assert_eq!(w.user_status().await, EbicsUserStatus::Initialised);
}

/// After INI/HIA (or H3K) and the clerk's activation: HPB, the operator's verification, sync
/// and READY.
async fn finish_onboarding(w: &World) {
    w.bank
        .activate_user(&"PARTNER1".parse().unwrap(), &"USER1".parse().unwrap())
        .unwrap();
    assert_eq!(
        w.onboard().await.unwrap(),
        EbicsUserStatus::Initialised,
        "bank keys await the operator"
    );
    w.decide_bank_keys(BankKeyVerification::Verified).await;
    assert_eq!(w.onboard().await.unwrap(), EbicsUserStatus::Ready);
}

async fn french_h004_user_onboards_with_ca_issued_certificates(db: TestDb) {
    let w = french_world(db, H004).await;
    // The self-signed certificates the daemon generated are not the bank's.
    let refused = w.client.send_ini(&w.scope, w.user).await.unwrap_err();
    match &refused {
        EbicsError::Bank { rejection, .. } => assert_eq!(rejection.code.as_str(), "091214"),
        other => panic!("{other}"),
    }
    assert_eq!(w.user_status().await, EbicsUserStatus::New);

    // A certificate for another key, or not a certificate, is refused and changes nothing.
    let wrong = ca_certificate(&w, KeyUsage::Authentication, KeyPurpose::Signature).await;
    let mut tx = w.tx().await;
    for refused in [wrong.to_der(), b"nonsense".as_slice()] {
        let error = import_certificate(&mut tx, w.user, KeyUsage::Signature, refused, Utc::now())
            .await
            .unwrap_err();
        assert!(
            refusal_code(&error).contains("InvalidCertificate"),
            "{error:?}"
        );
    }
    drop(tx);

    let issued = import_ca_certificates(&w).await;
    initialise_until_the_clerk(&w, KeySubmission::IniHia).await;
    let at_bank = w
        .bank
        .state()
        .subscriber(&"PARTNER1".parse().unwrap(), &"USER1".parse().unwrap())
        .unwrap();
    assert_eq!(
        at_bank
            .keys
            .signature
            .as_ref()
            .unwrap()
            .certificate
            .as_deref(),
        Some(issued[0].to_der()),
        "INI carried the CA's certificate as X509Data"
    );
    assert_eq!(
        at_bank
            .keys
            .encryption
            .as_ref()
            .unwrap()
            .certificate
            .as_deref(),
        Some(issued[2].to_der())
    );
    // Once sent, a key's certificate no longer changes.
    let mut tx = w.tx().await;
    let error = import_certificate(
        &mut tx,
        w.user,
        KeyUsage::Signature,
        issued[0].to_der(),
        Utc::now(),
    )
    .await
    .unwrap_err();
    assert!(refusal_code(&error).contains("KeyNotPending"), "{error:?}");
    let audit = audit_trail(&mut tx).await;
    assert_eq!(count_of(&audit, AuditAction::CertificateImported), 3);
    drop(tx);
    finish_onboarding(&w).await;
}

async fn h005_user_onboards_with_h3k(db: TestDb) {
    let w = french_world(db, H005).await;
    // Keys with self-signed certificates: H3K is refused before anything is sent.
    onboarding::initialise(&w.services, &w.scope, w.user, KeySubmission::H3k)
        .await
        .unwrap_err();
    let error = onboarding::initialise(&w.services, &w.scope, w.user, KeySubmission::H3k)
        .await
        .unwrap_err();
    assert!(refusal_code(&error).contains("H3kNotPossible"), "{error:?}");
    assert!(w.transactions().await.is_empty());

    import_ca_certificates(&w).await;
    initialise_until_the_clerk(&w, KeySubmission::H3k).await;
    let mut tx = w.tx().await;
    for view in keys_view(&mut tx, w.user, Utc::now(), 30).await.unwrap() {
        assert_eq!(view.status, KeyStatus::Submitted, "{:?}", view.usage);
    }
    drop(tx);
    finish_onboarding(&w).await;
}

/// A certificate for the user's signature key from a CA the bank does not know.
async fn foreign_ca_certificate(w: &World) -> Certificate {
    let mut rng = rand::rngs::OsRng;
    let ca_key = KeyPair::generate(&mut rng, KeySize::Bits2048).unwrap();
    let subject = |name: &str| CertificateSubject {
        common_name: name.into(),
        organization: None,
        country: None,
    };
    let ca = Certificate::generate_ca(
        ca_key.private_key(),
        &subject("Another CA"),
        Utc::now(),
        1,
        &mut rng,
    )
    .unwrap();
    let mut tx = w.tx().await;
    let pair = current_key(&mut tx, w.user, KeyUsage::Signature).await;
    let key = PublicKey::from_spki_der(&pair.public_key).unwrap();
    ca.issue(
        ca_key.private_key(),
        &key,
        &subject("Société Exemple SA"),
        KeyPurpose::Signature,
        ValidityPeriod::new(Utc::now(), 1),
        &mut rng,
    )
    .unwrap()
}

async fn import(w: &World, usage: KeyUsage, certificate: &Certificate) -> Result<(), ServiceError> {
    let mut tx = w.tx().await;
    import_certificate(&mut tx, w.user, usage, certificate.to_der(), Utc::now()).await?;
    tx.commit().await.unwrap();
    Ok(())
}

/// Asserts the API answers `error` with `status` and `code`; the answer's message.
fn assert_answer(error: ServiceError, status: u16, code: &str) -> String {
    let api = ApiError::from(error);
    assert_eq!((api.status().as_u16(), api.code()), (status, code), "{api}");
    api.to_string()
}

async fn h3k_refused_by_the_bank_says_why_and_sends_nothing_else(db: TestDb) {
    let w = world(db, Setup::new(H005)).await;
    // A certificate made for another use is refused at import (the bank would answer 091210).
    let encryption_for_es = ca_certificate(&w, KeyUsage::Signature, KeyPurpose::Encryption).await;
    let error = import(&w, KeyUsage::Signature, &encryption_for_es)
        .await
        .unwrap_err();
    let message = assert_answer(error, 422, "invalid_certificate");
    assert!(message.contains("key usage"), "{message}");

    // CA-issued, but not by a CA this bank trusts: the bank refuses H3K with 091214.
    import(&w, KeyUsage::Signature, &foreign_ca_certificate(&w).await)
        .await
        .unwrap();
    let error = onboarding::initialise(&w.services, &w.scope, w.user, KeySubmission::H3k)
        .await
        .unwrap_err();
    let message = assert_answer(error, 409, "h3k_refused_by_bank");
    assert!(message.contains("091214"), "{message}");
    assert!(message.contains("INI and HIA"), "{message}");
    assert_eq!(w.user_status().await, EbicsUserStatus::New);

    // With the bank CA's certificate for the ES key, H3K goes through (X002/E002 self-signed).
    let issued = ca_certificate(&w, KeyUsage::Signature, KeyPurpose::Signature).await;
    import(&w, KeyUsage::Signature, &issued).await.unwrap();
    initialise_until_the_clerk(&w, KeySubmission::H3k).await;
}

async fn h3k_is_refused_on_h004(db: TestDb) {
    let w = french_world(db, H004).await;
    import_ca_certificates(&w).await;
    let error = onboarding::initialise(&w.services, &w.scope, w.user, KeySubmission::H3k)
        .await
        .unwrap_err();
    assert!(refusal_code(&error).contains("H3kNotPossible"), "{error:?}");
}

async fn bank_certificates_not_issued_by_the_configured_ca_are_refused(db: TestDb) {
    let w = world(db, Setup::new(H005)).await;
    w.change_host(BankHostChanges {
        bank_ca_pem: Some(Some(TestCa::get().certificate().to_pem())),
        ..Default::default()
    })
    .await;
    w.initialise_at_bank(w.user, &w.user_id).await;
    // The emulator's bank certificates are self-signed, not issued by the configured CA.
    let refused = w
        .client
        .fetch_bank_keys(&w.scope, w.user)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, EbicsError::BankCertificateInvalid { .. }),
        "{refused}"
    );
    assert!(w.host_keys().await.is_empty());

    // Without a configured CA only the validity period is checked: the keys are stored.
    w.change_host(BankHostChanges {
        bank_ca_pem: Some(None),
        ..Default::default()
    })
    .await;
    assert_eq!(w.fetch_bank_keys().await.len(), 2);
}

async fn expiry_warnings_are_given_once(db: TestDb) {
    let w = world(db, Setup::new(H005)).await;
    assert!(warn_expiring(&w.db.store, &w.scope, Utc::now(), 30)
        .await
        .unwrap()
        .is_empty());
    // The generated certificates are valid for five years: look from shortly before.
    let later = Utc::now() + Duration::days(5 * 365 - 10);
    let warned = warn_expiring(&w.db.store, &w.scope, later, 30)
        .await
        .unwrap();
    assert_eq!(warned.len(), 3);
    assert!(warn_expiring(&w.db.store, &w.scope, later, 30)
        .await
        .unwrap()
        .is_empty());
    let mut tx = w.tx().await;
    let audit = audit_trail(&mut tx).await;
    assert_eq!(count_of(&audit, AuditAction::CertificateExpiring), 3);
    let view = keys_view(&mut tx, w.user, later, 30).await.unwrap();
    assert!(view
        .iter()
        .all(|k| k.certificate.as_ref().unwrap().expires_soon));
}

on_both_databases! {
    french_h004_user_onboards_with_a_ca_issued_certificate => french_h004_user_onboards_with_ca_issued_certificates;
    h005_user_onboards_with_h3k_and_ca_issued_certificates => h005_user_onboards_with_h3k;
    h3k_is_refused_on_ebics_2_5 => h3k_is_refused_on_h004;
    h3k_refused_by_the_bank_says_why => h3k_refused_by_the_bank_says_why_and_sends_nothing_else;
    bank_certificates_are_checked_against_the_configured_ca => bank_certificates_not_issued_by_the_configured_ca_are_refused;
    certificate_expiry_warnings_are_given_once => expiry_warnings_are_given_once;
}
