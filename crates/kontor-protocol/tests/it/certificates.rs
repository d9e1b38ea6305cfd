//! CA-issued certificates: issuing, recognising and checking them against trust anchors.

use chrono::Duration;
use kontor_protocol::certificate::{
    Certificate, CertificateError, CertificateSubject, KeyPurpose, TrustError, ValidityPeriod,
};
use kontor_protocol::keys::PrivateKey;

use crate::support::keys::{
    authentication_key, bank_encryption_key, certificate_for, now, signature_key, subject,
};

fn test_ca() -> Certificate {
    ca_with_key(bank_encryption_key()).expect("CA")
}

/// A CA named "Test Bank CA" whose certificate `key` signs.
fn ca_with_key(key: &PrivateKey) -> Result<Certificate, CertificateError> {
    Certificate::generate_ca(
        key,
        &CertificateSubject {
            common_name: "Test Bank CA".into(),
            organization: Some("Banque Exemple".into()),
            country: Some("FR".into()),
        },
        now(),
        10,
        &mut rand::thread_rng(),
    )
}

/// `ca` issues a two-year signature certificate for the subscriber, signed with `ca_key`.
fn issue_signature_certificate(
    ca: &Certificate,
    ca_key: &PrivateKey,
) -> Result<Certificate, CertificateError> {
    ca.issue(
        ca_key,
        &signature_key().public_key(),
        &subject(),
        KeyPurpose::Signature,
        ValidityPeriod::new(now(), 2),
        &mut rand::thread_rng(),
    )
}

fn issued_signature_certificate(ca: &Certificate) -> Certificate {
    issue_signature_certificate(ca, bank_encryption_key()).expect("issued")
}

#[test]
fn a_ca_issued_certificate_chains_to_its_ca_and_not_to_another() {
    let ca = test_ca();
    let issued = issued_signature_certificate(&ca);
    assert!(issued.is_ca_issued());
    assert_eq!(issued.issuer(), ca.subject());
    assert_eq!(issued.public_key(), &signature_key().public_key());
    assert!(issued.check_trust(std::slice::from_ref(&ca), now()).is_ok());

    let self_signed = certificate_for(signature_key(), KeyPurpose::Signature);
    assert!(!self_signed.is_ca_issued());
    assert!(matches!(
        self_signed.check_trust(std::slice::from_ref(&ca), now()),
        Err(TrustError::UnknownIssuer(_))
    ));
    // A CA with the same name but another key is not the issuer.
    let impostor = ca_with_key(authentication_key()).expect("impostor CA");
    assert!(issued.check_trust(&[impostor], now()).is_err());
}

#[test]
fn validity_names_the_bound_that_fails() {
    let issued = issued_signature_certificate(&test_ca());
    assert!(matches!(
        issued.check_validity(now() - Duration::days(1)),
        Err(TrustError::NotYetValid(_))
    ));
    assert!(matches!(
        issued.check_validity(now() + Duration::days(3 * 366)),
        Err(TrustError::Expired(_))
    ));
    assert!(issued.check_validity(now() + Duration::days(30)).is_ok());
}

#[test]
fn the_ca_key_must_belong_to_the_ca_certificate() {
    assert!(issue_signature_certificate(&test_ca(), authentication_key()).is_err());
}

#[test]
fn bundles_and_der_are_read() {
    let ca = test_ca();
    let issued = issued_signature_certificate(&ca);
    let bundle = format!("{}\n{}", ca.to_pem(), issued.to_pem());
    let all = Certificate::all_from_pem(&bundle).expect("bundle");
    assert_eq!(all, vec![ca.clone(), issued.clone()]);
    assert_eq!(
        Certificate::from_pem_or_der(issued.to_der()).expect("DER"),
        issued
    );
    assert_eq!(
        Certificate::from_pem_or_der(issued.to_pem().as_bytes()).expect("PEM"),
        issued
    );
    assert!(Certificate::all_from_pem("no certificate").is_err());
}

#[test]
fn generated_certificates_fit_their_own_purpose_only() {
    use KeyPurpose::{Authentication, Encryption, Signature};
    // (certificate purpose, purpose checked, allowed): an ES or X002 certificate signs, an
    // E002 certificate only wraps keys.
    let cases = [
        (Signature, Signature, true),
        (Signature, Authentication, true),
        (Signature, Encryption, false),
        (Authentication, Authentication, true),
        (Authentication, Signature, true),
        (Authentication, Encryption, false),
        (Encryption, Encryption, true),
        (Encryption, Signature, false),
        (Encryption, Authentication, false),
    ];
    for (made_for, used_for, allowed) in cases {
        let certificate = certificate_for(signature_key(), made_for);
        let checked = certificate.check_key_usage(used_for);
        assert_eq!(
            checked.is_ok(),
            allowed,
            "{made_for} as {used_for}: {checked:?}"
        );
    }
    let issued = issued_signature_certificate(&test_ca());
    assert!(issued.check_key_usage(Signature).is_ok());
    let refused = issued.check_key_usage(Encryption).unwrap_err();
    assert_eq!(
        refused.to_string(),
        "the certificate's key usage (digitalSignature, nonRepudiation) does not allow encryption"
    );
}

#[test]
fn a_ca_certificate_fits_no_subscriber_purpose() {
    let ca = test_ca();
    for purpose in [
        KeyPurpose::Signature,
        KeyPurpose::Authentication,
        KeyPurpose::Encryption,
    ] {
        assert!(matches!(
            ca.check_key_usage(purpose),
            Err(TrustError::WrongKeyUsage { found, .. }) if found == "keyCertSign, cRLSign"
        ));
    }
}

#[test]
fn without_a_key_usage_extension_every_purpose_is_allowed() {
    use std::str::FromStr;
    use std::time::Duration as StdDuration;

    use der::{Decode, Encode};
    use x509_cert::builder::{Builder, CertificateBuilder, Profile};
    use x509_cert::name::Name;
    use x509_cert::serial_number::SerialNumber;
    use x509_cert::time::Validity;

    let key = signature_key();
    let spki =
        spki::SubjectPublicKeyInfoOwned::from_der(&key.public_key().to_spki_der().expect("SPKI"))
            .expect("SPKI");
    let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(crate::support::keys::as_rsa(key));
    // `Profile::Manual` adds no extension: a bare v3 certificate as some CAs issue them.
    let bare = CertificateBuilder::new(
        Profile::Manual { issuer: None },
        SerialNumber::from(7u32),
        Validity::from_now(StdDuration::from_secs(86_400)).expect("validity"),
        Name::from_str("CN=Bare").expect("name"),
        spki,
        &signer,
    )
    .expect("builder")
    .build::<rsa::pkcs1v15::Signature>()
    .expect("certificate");
    let bare = Certificate::from_der(&bare.to_der().expect("DER")).expect("parsed");
    assert!(bare.key_usage().is_none());
    for purpose in [
        KeyPurpose::Signature,
        KeyPurpose::Authentication,
        KeyPurpose::Encryption,
    ] {
        assert!(bare.check_key_usage(purpose).is_ok(), "{purpose}");
    }
}
