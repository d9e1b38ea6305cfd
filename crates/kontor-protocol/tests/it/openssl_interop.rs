//! Cross-checks against the `openssl` command line: hashes, certificates, signatures and
//! E002 encryption computed by an independent implementation. Required under
//! `KONTOR_REQUIRE_OPENSSL=1`.

use kontor_protocol::certificate::KeyPurpose;
use kontor_protocol::encryption::encrypt;
use kontor_protocol::keys::public_key_hash;
use kontor_protocol::signature::{order_data_digest, sign_order_data};
use kontor_protocol::{ProtocolVersion, SignatureVersion};
use rand::rngs::StdRng;
use rand::SeedableRng;
use sha2::{Digest, Sha256};

use crate::support::keys::{bank_encryption_key, certificate_for, signature_key};
use crate::support::tools::{Tool, OPENSSL};

/// The subscriber's public signature key in a PEM file.
fn public_signature_key_file(openssl: &Tool) -> String {
    let pem = signature_key().public_key().to_spki_pem().expect("pem");
    openssl.file("pub.pem", pem)
}

#[test]
fn h004_key_hash_matches_openssl() {
    let Some(openssl) = Tool::find(OPENSSL) else {
        return;
    };
    let public = signature_key().public_key();
    let pem = public_signature_key_file(&openssl);

    let modulus = openssl.stdout(&["rsa", "-pubin", "-in", &pem, "-noout", "-modulus"]);
    let modulus = modulus
        .trim()
        .strip_prefix("Modulus=")
        .expect("Modulus= line");
    let text = openssl.stdout(&["rsa", "-pubin", "-in", &pem, "-noout", "-text"]);
    // "Exponent: 65537 (0x10001)"
    let exponent_line = text
        .lines()
        .find(|l| l.starts_with("Exponent:"))
        .expect("Exponent line");
    let exponent_hex = exponent_line
        .split("(0x")
        .nth(1)
        .and_then(|s| s.strip_suffix(')'))
        .expect("hex exponent");

    let hash_input = format!(
        "{} {}",
        exponent_hex.to_lowercase().trim_start_matches('0'),
        modulus.to_lowercase().trim_start_matches('0')
    );
    let input_file = openssl.file("hash-input.txt", hash_input.as_bytes());
    let digest = openssl.stdout(&["dgst", "-sha256", "-r", &input_file]);
    let openssl_hash = digest
        .split_whitespace()
        .next()
        .expect("digest")
        .to_uppercase();

    let ours = public_key_hash(ProtocolVersion::H004, &public, None).expect("hash");
    assert_eq!(ours.to_hex_upper(), openssl_hash);
}

#[test]
fn generated_certificate_parses_with_openssl_and_has_the_right_fingerprint() {
    let Some(openssl) = Tool::find(OPENSSL) else {
        return;
    };
    for (purpose, usage) in [
        (KeyPurpose::Signature, "Digital Signature, Non Repudiation"),
        (KeyPurpose::Authentication, "Digital Signature"),
        (
            KeyPurpose::Encryption,
            "Key Encipherment, Data Encipherment",
        ),
    ] {
        let certificate = certificate_for(signature_key(), purpose);
        let der = openssl.file("cert.der", certificate.to_der());
        let text = openssl.stdout(&["x509", "-inform", "DER", "-in", &der, "-noout", "-text"]);
        assert!(text.contains("Version: 3 (0x2)"), "{text}");
        assert!(text.contains("Signature Algorithm: sha256WithRSAEncryption"));
        assert!(
            text.contains("Subject: C = DE, O = Beispiel Treasury GmbH, CN = Erika Mustermann"),
            "{text}"
        );
        assert!(text.contains("CA:FALSE"));
        let usage_line = text
            .lines()
            .skip_while(|l| !l.contains("X509v3 Key Usage"))
            .nth(1)
            .expect("key usage value");
        assert_eq!(usage_line.trim(), usage, "{purpose:?}");

        let fingerprint = openssl.stdout(&[
            "x509",
            "-inform",
            "DER",
            "-in",
            &der,
            "-noout",
            "-fingerprint",
            "-sha256",
        ]);
        let fingerprint = fingerprint
            .trim()
            .split('=')
            .nth(1)
            .expect("fingerprint")
            .replace(':', "");
        assert_eq!(fingerprint, certificate.fingerprint_sha256().to_hex_upper());
        assert_eq!(
            public_key_hash(
                ProtocolVersion::H005,
                certificate.public_key(),
                Some(&certificate)
            )
            .expect("hash")
            .to_hex_upper(),
            fingerprint
        );

        let pem = openssl.file("cert.pem", certificate.to_pem().as_bytes());
        let verify = openssl.stdout(&[
            "verify",
            "-CAfile",
            &pem,
            "-check_ss_sig",
            "-partial_chain",
            &pem,
        ]);
        // openssl verify checks the self-signature; purposes aside, the chain of one verifies.
        assert!(verify.contains("OK"));
    }
}

#[test]
fn a005_signature_verifies_with_openssl() {
    let Some(openssl) = Tool::find(OPENSSL) else {
        return;
    };
    let data = b"<Document>\r\n<Amt>1.00</Amt>\r\n</Document>\r\n";
    let signature = sign_order_data(SignatureVersion::A005, signature_key(), data).expect("sign");
    let pem = public_signature_key_file(&openssl);
    // EBICS hashes the data without CR/LF; give openssl exactly those bytes.
    let stripped: Vec<u8> = data
        .iter()
        .copied()
        .filter(|b| !matches!(b, b'\r' | b'\n'))
        .collect();
    let data_file = openssl.file("data.bin", &stripped);
    let sig_file = openssl.file("sig.bin", &signature);
    let out = openssl.stdout(&[
        "dgst",
        "-sha256",
        "-verify",
        &pem,
        "-signature",
        &sig_file,
        &data_file,
    ]);
    assert!(out.contains("Verified OK"));
}

#[test]
fn a006_signature_verifies_with_openssl_as_pss_over_the_digest_of_the_digest() {
    let Some(openssl) = Tool::find(OPENSSL) else {
        return;
    };
    let data = b"<Document><Amt>2.00</Amt></Document>\n";
    let signature = sign_order_data(SignatureVersion::A006, signature_key(), data).expect("sign");
    let pem = public_signature_key_file(&openssl);
    // pkeyutl verifies a given hash: mHash = SHA-256(order data digest).
    let m_hash = Sha256::digest(order_data_digest(data));
    let hash_file = openssl.file("mhash.bin", m_hash);
    let sig_file = openssl.file("sig.bin", &signature);
    let out = openssl.stdout(&[
        "pkeyutl",
        "-verify",
        "-pubin",
        "-inkey",
        &pem,
        "-in",
        &hash_file,
        "-sigfile",
        &sig_file,
        "-pkeyopt",
        "digest:sha256",
        "-pkeyopt",
        "rsa_padding_mode:pss",
        "-pkeyopt",
        "rsa_pss_saltlen:32",
        "-pkeyopt",
        "rsa_mgf1_md:sha256",
    ]);
    assert!(out.contains("Signature Verified Successfully"));
}

#[test]
fn e002_output_decrypts_with_openssl() {
    let Some(openssl) = Tool::find(OPENSSL) else {
        return;
    };
    let recipient = bank_encryption_key();
    let plaintext = b"0123456789abcdef0123456789abcdef"; // 32 bytes: a whole padding block follows
    let encrypted = encrypt(
        &recipient.public_key(),
        plaintext,
        &mut StdRng::seed_from_u64(5),
    )
    .expect("encrypt");
    assert_eq!(encrypted.ciphertext.len(), 48);

    let key_pem = openssl.file(
        "bank.pem",
        recipient.to_pkcs8_pem().expect("pem").as_bytes(),
    );
    let enc_key = openssl.file("key.enc", &encrypted.encrypted_transaction_key);
    let out = openssl.stdout_bytes(&[
        "pkeyutl",
        "-decrypt",
        "-inkey",
        &key_pem,
        "-in",
        &enc_key,
        "-pkeyopt",
        "rsa_padding_mode:pkcs1",
    ]);
    assert_eq!(out, encrypted.transaction_key.expose_secret());

    let ciphertext = openssl.file("data.enc", &encrypted.ciphertext);
    let out = openssl.stdout_bytes(&[
        "enc",
        "-d",
        "-aes-128-cbc",
        "-nopad",
        "-K",
        &hex::encode(encrypted.transaction_key.expose_secret()),
        "-iv",
        "00000000000000000000000000000000",
        "-in",
        &ciphertext,
    ]);
    let mut expected = plaintext.to_vec();
    expected.extend([0u8; 15]);
    expected.push(16);
    assert_eq!(
        out, expected,
        "data, 15 zero bytes, then the pad length 16 (ANSI X9.23)"
    );
}
