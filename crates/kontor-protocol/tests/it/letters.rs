//! INI and HIA letters.

use chrono::{FixedOffset, TimeZone};
use kontor_protocol::certificate::{Certificate, KeyPurpose};
use kontor_protocol::keys::{public_key_hash, KeyError};
use kontor_protocol::letters::{
    hia_letter, ini_letter, Letter, LetterError, LetterInput, LetterKey, LetterKind, LetterLanguage,
};
use kontor_protocol::{
    AuthenticationVersion, EncryptionVersion, ProtocolVersion, SignatureVersion,
};

use crate::support::keys::{authentication_key, certificate_for, encryption_key, signature_key};

fn input(protocol: ProtocolVersion, language: LetterLanguage) -> LetterInput {
    LetterInput {
        host_id: "EBIXHOST".to_owned(),
        bank_name: Some("Beispielbank AG".to_owned()),
        partner_id: "PARTNER1".to_owned(),
        user_id: "USER0001".to_owned(),
        user_name: "Erika <Mustermann> & Co".to_owned(),
        created_at: FixedOffset::east_opt(3600)
            .expect("offset")
            .with_ymd_and_hms(2025, 3, 14, 10, 26, 53)
            .single()
            .expect("time"),
        protocol,
        language,
    }
}

/// The INI letter of the subscriber's signature key.
fn ini(
    protocol: ProtocolVersion,
    language: LetterLanguage,
    version: SignatureVersion,
    certificate: Option<&Certificate>,
) -> Result<Letter, LetterError> {
    ini_letter(
        &input(protocol, language),
        LetterKey {
            version,
            public_key: &signature_key().public_key(),
            certificate,
        },
    )
}

/// The INI letter of the H004 subscriber, whose signature key has no certificate.
fn h004_ini(language: LetterLanguage, version: SignatureVersion) -> Letter {
    ini(ProtocolVersion::H004, language, version, None).expect("letter")
}

/// Asserts that `text` shows every one of `expected`; `what` names the letter in the failure.
fn assert_shows<S: AsRef<str>>(text: &str, expected: impl IntoIterator<Item = S>, what: &str) {
    for expected in expected {
        let expected = expected.as_ref();
        assert!(
            text.contains(expected),
            "{what}: missing {expected:?} in\n{text}"
        );
    }
}

#[test]
fn h004_ini_letter_prints_subscriber_key_and_hash() {
    let public = signature_key().public_key();
    let letter = h004_ini(LetterLanguage::German, SignatureVersion::A006);
    assert_eq!(letter.kind(), LetterKind::Ini);
    let text = letter.text();
    let expected = [
        "EBICS-Initialisierungsbrief (INI)",
        "14.03.2025",
        "10:26:53",
        "Beispielbank AG",
        "EBIXHOST",
        "USER0001",
        "PARTNER1",
        "Erika <Mustermann> & Co",
        "EBICS 2.5 (H004)",
        "A006",
        "Exponent (17 Bit)",
        "Modulus (2048 Bit)",
        "01 00 01",
        "Ort/Datum",
        "Unterschrift",
    ];
    assert_shows(text, expected, "INI text");
    let hash = public_key_hash(ProtocolVersion::H004, &public, None).expect("hash");
    assert_shows(text, hash.to_grouped_lines(16), "INI key hash");
    let first_modulus_line = public.modulus()[..16]
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ");
    assert!(text.contains(&first_modulus_line));
}

#[test]
fn html_letter_is_a_standalone_document_with_escaped_values() {
    let public = signature_key().public_key();
    let letter = h004_ini(LetterLanguage::English, SignatureVersion::A005);
    let html = letter.html();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<html lang=\"en\">"));
    assert!(html.trim_end().ends_with("</html>"));
    assert!(html.contains("Erika &lt;Mustermann&gt; &amp; Co"));
    assert!(!html.contains("<Mustermann>"));
    assert!(html.contains("EBICS initialisation letter (INI)"));
    assert!(html.contains(
        &public_key_hash(ProtocolVersion::H004, &public, None)
            .expect("hash")
            .to_grouped_lines(16)[0]
    ));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external resources"
    );
}

#[test]
fn h005_hia_letter_prints_certificates_and_their_hashes() {
    let auth_cert = certificate_for(authentication_key(), KeyPurpose::Authentication);
    let enc_cert = certificate_for(encryption_key(), KeyPurpose::Encryption);
    let auth_public = authentication_key().public_key();
    let enc_public = encryption_key().public_key();
    let letter = hia_letter(
        &input(ProtocolVersion::H005, LetterLanguage::German),
        LetterKey {
            version: AuthenticationVersion::X002,
            public_key: &auth_public,
            certificate: Some(&auth_cert),
        },
        LetterKey {
            version: EncryptionVersion::E002,
            public_key: &enc_public,
            certificate: Some(&enc_cert),
        },
    )
    .expect("letter");
    assert_eq!(letter.kind(), LetterKind::Hia);
    let text = letter.text();
    let expected = [
        "EBICS-Initialisierungsbrief (HIA)",
        "EBICS 3.0 (H005)",
        "X002",
        "E002",
        "CN=Erika Mustermann,O=Beispiel Treasury GmbH,C=DE",
        "-----BEGIN CERTIFICATE-----",
        &auth_cert.serial_hex(),
        "Gültig bis:",
    ];
    assert_shows(text, expected, "HIA text");
    for certificate in [&auth_cert, &enc_cert] {
        let hash = certificate.fingerprint_sha256().to_grouped_lines(16);
        assert_shows(text, hash, "HIA certificate hash");
    }
    assert!(
        !text.contains("Modulus"),
        "H005 letters show certificates, not raw keys"
    );
}

#[test]
fn h005_letter_without_certificate_is_refused() {
    let result = ini(
        ProtocolVersion::H005,
        LetterLanguage::German,
        SignatureVersion::A006,
        None,
    );
    assert!(matches!(
        result,
        Err(LetterError::Key(KeyError::MissingCertificate(
            ProtocolVersion::H005
        )))
    ));
}

#[test]
fn certificate_of_another_key_is_refused() {
    let other_cert = certificate_for(authentication_key(), KeyPurpose::Signature);
    let result = ini(
        ProtocolVersion::H005,
        LetterLanguage::German,
        SignatureVersion::A006,
        Some(&other_cert),
    );
    assert!(matches!(
        result,
        Err(LetterError::CertificateKeyMismatch("A006"))
    ));
}

/// The text a PDF viewer would copy out of every page of `pdf`.
fn pdf_text(pdf: &[u8]) -> String {
    let document = lopdf::Document::load_mem(pdf).expect("a readable PDF");
    let pages: Vec<u32> = document.get_pages().keys().copied().collect();
    document.extract_text(&pages).expect("text")
}

#[test]
fn pdf_letters_carry_user_and_hashes_in_every_language() {
    let public = signature_key().public_key();
    let hash = public_key_hash(ProtocolVersion::H004, &public, None).expect("hash");
    for (language, title, confirmation_word) in [
        (
            LetterLanguage::German,
            "EBICS-Initialisierungsbrief (INI)",
            "Unterschrift",
        ),
        (
            LetterLanguage::English,
            "EBICS initialisation letter (INI)",
            "Signature",
        ),
        (
            LetterLanguage::French,
            "Lettre d'initialisation EBICS (INI)",
            "Clé publique de signature électronique",
        ),
    ] {
        let letter = h004_ini(language, SignatureVersion::A006);
        let pdf = letter.pdf();
        assert!(pdf.starts_with(b"%PDF-"));
        let text = pdf_text(&pdf);
        let what = format!("{language:?} PDF");
        let expected = [title, "USER0001", "PARTNER1", "EBIXHOST", confirmation_word];
        assert_shows(&text, expected, &what);
        assert_shows(&text, hash.to_grouped_lines(16), &what);
    }
}

#[test]
fn h005_pdf_letter_spans_pages_and_keeps_certificate_hashes() {
    let auth_cert = certificate_for(authentication_key(), KeyPurpose::Authentication);
    let enc_cert = certificate_for(encryption_key(), KeyPurpose::Encryption);
    let letter = hia_letter(
        &input(ProtocolVersion::H005, LetterLanguage::French),
        LetterKey {
            version: AuthenticationVersion::X002,
            public_key: &authentication_key().public_key(),
            certificate: Some(&auth_cert),
        },
        LetterKey {
            version: EncryptionVersion::E002,
            public_key: &encryption_key().public_key(),
            certificate: Some(&enc_cert),
        },
    )
    .expect("letter");
    assert!(letter.html().contains("<html lang=\"fr\">"));
    let document = lopdf::Document::load_mem(&letter.pdf()).expect("PDF");
    assert!(
        document.get_pages().len() >= 2,
        "two PEM blocks need a second page"
    );
    let text = pdf_text(&letter.pdf());
    assert!(text.contains("Lettre d'initialisation EBICS (HIA)"));
    for certificate in [&auth_cert, &enc_cert] {
        let hash = certificate.fingerprint_sha256().to_grouped_lines(16);
        assert_shows(&text, hash, "HIA PDF certificate hash");
    }
}

#[test]
fn letter_languages_parse_from_their_codes() {
    for code in ["de", "en", "fr"] {
        let language: LetterLanguage = code.parse().expect("known code");
        assert_eq!(language.code(), code);
    }
    assert!("it".parse::<LetterLanguage>().is_err());
}
