//! Keys and certificates: generation, export/import, hashes.

use kontor_protocol::certificate::{Certificate, CertificateError, CertificateSubject, KeyPurpose};
use kontor_protocol::keys::{public_key_hash, KeyError, KeyHash, KeyPair, PrivateKey, PublicKey};
use kontor_protocol::ProtocolVersion;
use rand::rngs::StdRng;
use rand::SeedableRng;
use sha2::{Digest, Sha256};

use crate::support::keys::{
    authentication_key, certificate_for, encryption_key, now, signature_key, subject,
};

#[test]
fn private_key_survives_pkcs8_pem_and_der_export_and_import() {
    let key = signature_key();
    let pem = key.to_pkcs8_pem().expect("export");
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    let imported = PrivateKey::from_pkcs8_pem(&pem).expect("import");
    assert_eq!(imported.public_key(), key.public_key());
    assert_eq!(*imported.to_pkcs8_pem().expect("export again"), *pem);

    let der = key.to_pkcs8_der().expect("export der");
    let from_der = PrivateKey::from_pkcs8_der(&der).expect("import der");
    assert_eq!(from_der.public_key(), key.public_key());
}

#[test]
fn private_key_debug_output_is_redacted() {
    let key = signature_key();
    let debug = format!("{key:?}");
    assert_eq!(debug, "PrivateKey([redacted])");
    let pair = KeyPair::from_private(key.clone());
    assert!(format!("{pair:?}").contains("[redacted]"));
    let pem = key.to_pkcs8_pem().expect("export");
    let body: String = pem.lines().nth(1).expect("pem body").to_owned();
    assert!(!format!("{pair:?}").contains(&body));
}

#[test]
fn garbage_private_key_is_rejected() {
    assert!(matches!(
        PrivateKey::from_pkcs8_pem(
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
        ),
        Err(KeyError::InvalidPrivateKeyEncoding)
    ));
    assert!(PrivateKey::from_pkcs8_der(b"\x30\x03\x02\x01\x00").is_err());
}

#[test]
fn public_key_survives_spki_pem_and_der_export_and_import() {
    let public = signature_key().public_key();
    let pem = public.to_spki_pem().expect("export");
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
    assert_eq!(PublicKey::from_spki_pem(&pem).expect("import"), public);
    let der = public.to_spki_der().expect("export der");
    assert_eq!(PublicKey::from_spki_der(&der).expect("import der"), public);
}

#[test]
fn public_key_survives_the_ebics_modulus_exponent_form() {
    let public = signature_key().public_key();
    assert_eq!(public.exponent(), vec![0x01, 0x00, 0x01]);
    assert_eq!(public.modulus().len(), 256);
    assert_eq!(public.bits(), 2048);
    let rebuilt =
        PublicKey::from_modulus_exponent(&public.modulus(), &public.exponent()).expect("rebuild");
    assert_eq!(rebuilt, public);

    // A leading zero byte, as in a DER INTEGER or a padded XML value, does not matter.
    let mut padded = vec![0u8];
    padded.extend(public.modulus());
    let rebuilt = PublicKey::from_modulus_exponent(&padded, &[0, 1, 0, 1]).expect("rebuild padded");
    assert_eq!(rebuilt, public);
}

#[test]
fn implausible_modulus_exponent_pairs_are_rejected() {
    assert!(PublicKey::from_modulus_exponent(&[], &[1, 0, 1]).is_err());
    assert!(PublicKey::from_modulus_exponent(&[0xC5; 256], &[1]).is_err());
}

#[test]
fn h004_hash_is_sha256_of_exponent_and_modulus_hex() {
    let public = signature_key().public_key();
    let input = public.ebics_hash_input();
    assert!(input.starts_with("10001 "));
    let modulus_hex = &input["10001 ".len()..];
    assert_eq!(
        modulus_hex,
        hex::encode(public.modulus()).trim_start_matches('0')
    );
    let expected: [u8; 32] = Sha256::digest(input.as_bytes()).into();
    let hash = public_key_hash(ProtocolVersion::H004, &public, None).expect("hash");
    assert_eq!(hash.as_bytes(), &expected);
    assert_eq!(
        public_key_hash(ProtocolVersion::H003, &public, None).expect("hash"),
        hash
    );
}

#[test]
fn h005_hash_requires_the_certificate_and_hashes_its_der() {
    let key = signature_key();
    let public = key.public_key();
    assert!(matches!(
        public_key_hash(ProtocolVersion::H005, &public, None),
        Err(KeyError::MissingCertificate(ProtocolVersion::H005))
    ));
    let certificate = certificate_for(key, KeyPurpose::Signature);
    let hash = public_key_hash(ProtocolVersion::H005, &public, Some(&certificate)).expect("hash");
    let expected: [u8; 32] = Sha256::digest(certificate.to_der()).into();
    assert_eq!(hash.as_bytes(), &expected);
    assert_eq!(hash, certificate.fingerprint_sha256());
    assert_ne!(hash, KeyHash::of_public_key(&public));
}

#[test]
fn key_hash_prints_in_the_formats_letters_use() {
    let hash = KeyHash::of_public_key(&signature_key().public_key());
    assert_eq!(hash.to_hex_upper().len(), 64);
    assert_eq!(hash.to_hex_upper(), hash.to_hex_lower().to_uppercase());
    let grouped = hash.to_string();
    assert_eq!(grouped.split(' ').count(), 32);
    assert_eq!(grouped.replace(' ', ""), hash.to_hex_upper());
    assert_eq!(grouped.parse::<KeyHash>().expect("parse"), hash);
}

#[test]
fn generated_certificate_carries_key_subject_and_validity() {
    let key = signature_key();
    let certificate = certificate_for(key, KeyPurpose::Signature);
    assert_eq!(certificate.public_key(), &key.public_key());
    assert!(certificate.matches_private_key(key));
    assert!(!certificate.matches_private_key(authentication_key()));
    assert_eq!(
        certificate.subject(),
        "CN=Erika Mustermann,O=Beispiel Treasury GmbH,C=DE"
    );
    assert!(certificate.is_self_issued());
    assert_eq!(certificate.not_before(), Some(now()));
    assert_eq!(
        certificate
            .not_after()
            .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string()),
        Some("2030-03-14 09:26:53".to_owned())
    );
    assert!(certificate.is_valid_at(now()));
    assert!(!certificate.is_valid_at(now() - chrono::Duration::seconds(1)));
    assert_eq!(
        certificate.x509().tbs_certificate.version,
        x509_cert::Version::V3
    );
    certificate
        .verify_signature(&key.public_key())
        .expect("self-signature verifies");
    assert!(matches!(
        certificate.verify_signature(&authentication_key().public_key()),
        Err(CertificateError::BadSignature)
    ));
}

#[test]
fn key_usage_follows_the_key_purpose() {
    let signature = certificate_for(signature_key(), KeyPurpose::Signature)
        .key_usage()
        .expect("key usage");
    assert!(signature.digital_signature() && signature.non_repudiation());
    assert!(!signature.key_encipherment() && !signature.data_encipherment());

    let authentication = certificate_for(authentication_key(), KeyPurpose::Authentication)
        .key_usage()
        .expect("key usage");
    assert!(authentication.digital_signature());
    assert!(!authentication.non_repudiation() && !authentication.key_encipherment());

    let encryption = certificate_for(encryption_key(), KeyPurpose::Encryption)
        .key_usage()
        .expect("key usage");
    assert!(encryption.key_encipherment() && encryption.data_encipherment());
    assert!(!encryption.digital_signature() && !encryption.non_repudiation());
}

#[test]
fn certificate_serials_are_random() {
    let generate = |seed| {
        Certificate::generate_self_signed(
            signature_key(),
            &subject(),
            KeyPurpose::Signature,
            now(),
            1,
            &mut StdRng::seed_from_u64(seed),
        )
        .expect("certificate")
    };
    let (a, b) = (generate(1), generate(2));
    assert_ne!(a.serial_hex(), b.serial_hex());
    assert_eq!(a.serial_hex().len(), 32);
}

#[test]
fn certificate_survives_pem_and_der_export_and_import() {
    let certificate = certificate_for(signature_key(), KeyPurpose::Signature);
    let pem = certificate.to_pem();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
    let from_pem = Certificate::from_pem(&pem).expect("import pem");
    assert_eq!(from_pem, certificate);
    assert_eq!(from_pem.to_der(), certificate.to_der());
    let chain = format!(
        "subject=CN = x\n{pem}{}",
        certificate_for(authentication_key(), KeyPurpose::Authentication).to_pem()
    );
    assert_eq!(
        Certificate::from_pem(&chain).expect("first of a chain"),
        certificate
    );
    let from_der = Certificate::from_der(certificate.to_der()).expect("import der");
    assert_eq!(
        from_der.fingerprint_sha256(),
        certificate.fingerprint_sha256()
    );
    assert_eq!(from_der.public_key(), certificate.public_key());
}

#[test]
fn certificate_import_rejects_garbage_and_wrong_pem_labels() {
    assert!(matches!(
        Certificate::from_der(b"not der"),
        Err(CertificateError::InvalidDer(_))
    ));
    let key_pem = signature_key().public_key().to_spki_pem().expect("export");
    assert!(matches!(
        Certificate::from_pem(&key_pem),
        Err(CertificateError::InvalidPem)
    ));
    let certificate = certificate_for(signature_key(), KeyPurpose::Signature);
    let mut truncated = certificate.to_der().to_vec();
    truncated.pop();
    assert!(Certificate::from_der(&truncated).is_err());
}

#[test]
fn subject_values_are_never_parsed_as_distinguished_name_syntax() {
    let tricky = CertificateSubject {
        common_name: "Doe, John+CN=Admin".to_owned(),
        organization: None,
        country: None,
    };
    let certificate = Certificate::generate_self_signed(
        signature_key(),
        &tricky,
        KeyPurpose::Signature,
        now(),
        1,
        &mut StdRng::seed_from_u64(5),
    )
    .expect("certificate");
    let name = &certificate.x509().tbs_certificate.subject;
    assert_eq!(name.0.len(), 1, "one RDN only");
    assert_eq!(name.0[0].0.len(), 1, "one attribute only");
}

#[test]
fn invalid_subjects_and_validity_are_rejected() {
    let key = signature_key();
    let mut rng = StdRng::seed_from_u64(1);
    let bad_country = CertificateSubject {
        country: Some("Germany".to_owned()),
        ..subject()
    };
    assert!(matches!(
        Certificate::generate_self_signed(
            key,
            &bad_country,
            KeyPurpose::Signature,
            now(),
            1,
            &mut rng
        ),
        Err(CertificateError::InvalidSubject(_))
    ));
    let empty_name = CertificateSubject {
        common_name: "  ".to_owned(),
        ..subject()
    };
    assert!(Certificate::generate_self_signed(
        key,
        &empty_name,
        KeyPurpose::Signature,
        now(),
        1,
        &mut rng
    )
    .is_err());
    for years in [0, 31] {
        assert!(matches!(
            Certificate::generate_self_signed(
                key,
                &subject(),
                KeyPurpose::Signature,
                now(),
                years,
                &mut rng
            ),
            Err(CertificateError::InvalidValidity)
        ));
    }
}

#[test]
fn certificates_valid_beyond_2049_use_generalized_time() {
    let certificate = Certificate::generate_self_signed(
        signature_key(),
        &subject(),
        KeyPurpose::Signature,
        now(),
        30,
        &mut StdRng::seed_from_u64(3),
    )
    .expect("certificate");
    assert!(matches!(
        certificate.x509().tbs_certificate.validity.not_after,
        x509_cert::time::Time::GeneralTime(_)
    ));
    assert_eq!(
        certificate.not_after().map(|t| t.format("%Y").to_string()),
        Some("2055".to_owned())
    );
}
