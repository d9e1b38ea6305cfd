//! Subscriber initialisation against the real dispatcher: INI, HIA, H3K, activation, HPB.

use crate::support;

use kontor_bank::keys::PublishedBankKeys;
use kontor_bank::state::SubscriberStatus;
use kontor_bank::RunningBank;
use kontor_protocol::certificate::KeyPurpose;
use kontor_protocol::ProtocolVersion;
use support::client::Subscriber;
use support::{demo_bank, p, u};

fn code(r: &kontor_protocol::envelope::KeyManagementResponse) -> (String, String) {
    (
        r.technical_return_code.code().to_owned(),
        r.business_return_code.code().to_owned(),
    )
}

/// A fresh client-side subscriber of the demo bank's `PARTNER1` (keys from the pool's `key_slot`).
fn partner1_subscriber(
    bank: &RunningBank,
    version: ProtocolVersion,
    user: &str,
    key_slot: usize,
) -> Subscriber {
    Subscriber::new(&bank.ebics_url(), version, "PARTNER1", user, key_slot)
}

/// The bank's record of `PARTNER1`'s `user`.
fn known_subscriber(bank: &RunningBank, user: &str) -> kontor_bank::state::Subscriber {
    bank.state()
        .subscriber(&p("PARTNER1"), &u(user))
        .expect("known")
}

/// The bank from now on requires certificates of its own CA for `PARTNER1`'s `user`.
fn require_bank_issued_certificates(bank: &RunningBank, user: &str) {
    bank.state()
        .set_bank_issued_certificates(&p("PARTNER1"), &u(user), true)
        .expect("switch");
}

/// Asserts that `s` learned exactly the `published` bank keys through HPB.
fn assert_sees(s: &Subscriber, published: &PublishedBankKeys) {
    let seen = s.bank.as_ref().expect("bank keys");
    assert_eq!(
        seen.authentication_hash.as_bytes(),
        published.authentication.hash.as_bytes()
    );
    assert_eq!(
        seen.encryption_hash.as_bytes(),
        published.encryption.hash.as_bytes()
    );
}

#[tokio::test]
async fn ini_and_hia_record_the_keys_and_hpb_waits_for_the_clerk() {
    let bank = demo_bank().await;
    let mut s = partner1_subscriber(&bank, ProtocolVersion::H004, "USER1", 0);
    assert_eq!(code(&s.ini().await), ("000000".into(), "000000".into()));
    assert_eq!(code(&s.hia().await), ("000000".into(), "000000".into()));
    let subscriber = known_subscriber(&bank, "USER1");
    assert_eq!(subscriber.status, SubscriberStatus::Initialised);
    for purpose in [
        KeyPurpose::Signature,
        KeyPurpose::Authentication,
        KeyPurpose::Encryption,
    ] {
        assert_eq!(
            *subscriber.keys.get(purpose).expect("key").hash.as_bytes(),
            *s.key_hash(purpose).as_bytes(),
            "{purpose:?}"
        );
    }

    assert_eq!(code(&s.hpb().await).0, "091002", "not activated yet");
    assert!(s.bank.is_none());
    bank.activate_user(&p("PARTNER1"), &u("USER1"))
        .expect("clerk activates");
    assert_eq!(code(&s.hpb().await), ("000000".into(), "000000".into()));
    let published = bank.keys().published();
    assert_sees(&s, &published);
    bank.shutdown().await;
}

#[tokio::test]
async fn a_second_ini_and_unknown_subscribers_are_refused() {
    let bank = demo_bank().await;
    let s = partner1_subscriber(&bank, ProtocolVersion::H004, "USER1", 0);
    assert_eq!(code(&s.ini().await).0, "000000");
    assert_eq!(code(&s.ini().await).0, "091002", "INI only once");
    let stranger = Subscriber::new(
        &bank.ebics_url(),
        ProtocolVersion::H004,
        "PARTNER1",
        "NOBODY",
        1,
    );
    assert_eq!(code(&stranger.ini().await).0, "091003");
    let wrong_host = {
        let mut w = partner1_subscriber(&bank, ProtocolVersion::H004, "USER2", 1);
        w.host = "OTHERBANK".into();
        w
    };
    assert_eq!(code(&wrong_host.hia().await).0, "091011");
    bank.shutdown().await;
}

#[tokio::test]
async fn h3k_signed_as_ebics_3_clients_send_it_initialises_only_with_a_verifying_es() {
    let bank = demo_bank().await;
    let url = bank.ebics_url();
    let s = Subscriber::new(&url, ProtocolVersion::H005, "PARTNER1", "USER3", 2);
    // H3K needs the ES certificate from the bank's CA (no letter confirms a self-signed one).
    let s = certified_by_bank(s);
    // Signed with another key while claiming to be USER3: refused, nothing recorded.
    let impostor = Subscriber::new(&url, ProtocolVersion::H005, "PARTNER1", "USER2", 1);
    assert_eq!(code(&s.h3k_signed(&impostor).await).1, "091301");
    assert_eq!(
        known_subscriber(&bank, "USER3").status,
        SubscriberStatus::New
    );
    assert_h3k_initialises(&bank, &s).await;
    let stored = known_subscriber(&bank, "USER3");
    assert_eq!(
        *stored
            .keys
            .get(KeyPurpose::Signature)
            .expect("key")
            .hash
            .as_bytes(),
        *s.key_hash(KeyPurpose::Signature).as_bytes()
    );
    bank.shutdown().await;
}

#[tokio::test]
async fn h005_h3k_initialises_with_certificates_and_hpb_answers_certificates() {
    let bank = demo_bank().await;
    let s = partner1_subscriber(&bank, ProtocolVersion::H005, "USER3", 2);
    let mut s = certified_by_bank(s);
    assert_eq!(code(&s.h3k().await), ("000000".into(), "000000".into()));
    let subscriber = known_subscriber(&bank, "USER3");
    assert_eq!(subscriber.status, SubscriberStatus::Initialised);
    bank.activate_user(&p("PARTNER1"), &u("USER3"))
        .expect("activate");
    assert_eq!(code(&s.hpb().await).0, "000000");
    let h005 = bank.keys().published_h005().expect("certificates");
    assert_eq!(
        s.bank
            .as_ref()
            .expect("keys")
            .authentication_hash
            .as_bytes(),
        h005.authentication.hash.as_bytes(),
        "H005 hashes are over the certificate"
    );
    bank.shutdown().await;
}

#[tokio::test]
async fn hpb_with_a_foreign_authentication_key_fails_authentication() {
    let bank = demo_bank().await;
    let s = partner1_subscriber(&bank, ProtocolVersion::H004, "USER1", 0);
    s.ini().await;
    s.hia().await;
    bank.activate_user(&p("PARTNER1"), &u("USER1"))
        .expect("activate");
    let mut impostor = partner1_subscriber(&bank, ProtocolVersion::H004, "USER1", 3);
    assert_eq!(code(&impostor.hpb().await).0, "061001");
    bank.shutdown().await;
}

/// The clerk rolls the bank's keys (admin API): a subscriber still naming the old keys gets
/// 091008 in an answer signed with the old X002 key it can verify; after HPB it is served.
async fn rollover_answers_outdated_digests_until_hpb(version: ProtocolVersion) {
    use kontor_protocol::order_type::OrderType;
    let bank = demo_bank().await;
    let mut s = support::client::ready_subscriber(&bank, version, "PARTNER1", "USER1", 0).await;
    let htd = || {
        kontor_protocol::envelope::OrderDetails::download(version, &OrderType::HTD, None)
            .expect("details")
    };
    let before = s.bank.clone().expect("bank keys");
    let rolled =
        support::json_body(support::admin_post(&bank, "/bank-keys/roll", None).await).await;
    let published = match version {
        ProtocolVersion::H004 => bank.keys().published(),
        _ => bank.keys().published_h005().expect("certificates"),
    };
    assert_ne!(
        *published.authentication.hash.as_bytes(),
        *before.authentication_hash.as_bytes()
    );
    assert_eq!(
        rolled["authentication"]["hash_sha256_hex"],
        bank.keys().published().authentication.hash.to_hex_lower()
    );

    let refused = s.exchange(s.download_init(htd(), None)).await;
    assert_eq!(refused.technical_return_code.code(), "091008");
    assert!(refused.transaction_id.is_none(), "no transaction opened");

    assert_eq!(code(&s.hpb().await).0, "000000");
    assert_sees(&s, &published);
    let served = s.exchange(s.download_init(htd(), None)).await;
    assert_eq!(served.technical_return_code.code(), "000000");
    bank.shutdown().await;
}

/// Certificates the bank's test CA issues for `s`'s three keys.
fn bank_issued(s: &Subscriber) -> [kontor_protocol::certificate::Certificate; 3] {
    let ca = kontor_bank::ca::TestCa::get();
    let issue = |key: &kontor_protocol::keys::PrivateKey, purpose| {
        ca.issue(
            &key.public_key(),
            "Société Exemple",
            purpose,
            chrono::Utc::now(),
        )
        .expect("issued")
    };
    [
        issue(&s.signature, KeyPurpose::Signature),
        issue(&s.authentication, KeyPurpose::Authentication),
        issue(&s.encryption, KeyPurpose::Encryption),
    ]
}

/// `s` carrying certificates of the bank's test CA for all three of its keys.
fn certified_by_bank(s: Subscriber) -> Subscriber {
    let issued = bank_issued(&s);
    s.with_certificates(issued)
}

/// Self-signed certificates for `s`'s keys (what a client generates on its own).
fn self_signed(s: &Subscriber) -> [kontor_protocol::certificate::Certificate; 3] {
    use kontor_protocol::certificate::{Certificate, CertificateSubject};
    let cert = |key: &kontor_protocol::keys::PrivateKey, purpose| {
        Certificate::generate_self_signed(
            key,
            &CertificateSubject {
                common_name: "Société Exemple".into(),
                organization: None,
                country: None,
            },
            purpose,
            chrono::Utc::now(),
            1,
            &mut rand::rngs::OsRng,
        )
        .expect("certificate")
    };
    [
        cert(&s.signature, KeyPurpose::Signature),
        cert(&s.authentication, KeyPurpose::Authentication),
        cert(&s.encryption, KeyPurpose::Encryption),
    ]
}

#[tokio::test]
async fn h004_subscriber_with_bank_issued_certificates_needs_the_banks_own() {
    let bank = demo_bank().await;
    require_bank_issued_certificates(&bank, "USER1");
    let bare = partner1_subscriber(&bank, ProtocolVersion::H004, "USER1", 0);
    assert_eq!(
        code(&bare.ini().await).1,
        "091217",
        "a key without certificate"
    );
    let foreign = self_signed(&bare);
    let own = bank_issued(&bare);
    let s = bare.with_certificates(foreign);
    assert_eq!(
        code(&s.ini().await).1,
        "091214",
        "self-signed is not the bank's"
    );
    // A certificate of the bank's CA for another key than the one sent.
    let s = s.with_certificates([own[1].clone(), own[1].clone(), own[2].clone()]);
    assert_eq!(code(&s.ini().await).1, "091219");
    assert_eq!(
        known_subscriber(&bank, "USER1").status,
        SubscriberStatus::New
    );

    let s = s.with_certificates(own.clone());
    assert_eq!(code(&s.ini().await), ("000000".into(), "000000".into()));
    assert_eq!(code(&s.hia().await), ("000000".into(), "000000".into()));
    let stored = known_subscriber(&bank, "USER1");
    assert_eq!(stored.status, SubscriberStatus::Initialised);
    let signature = stored.keys.get(KeyPurpose::Signature).expect("key");
    assert_eq!(signature.certificate.as_deref(), Some(own[0].to_der()));
    // On H004 the letter hash stays the one over exponent and modulus.
    assert_eq!(
        *signature.hash.as_bytes(),
        *s.key_hash(KeyPurpose::Signature).as_bytes()
    );
    bank.shutdown().await;
}

#[tokio::test]
async fn bank_key_rollover_answers_091008_until_hpb_on_h004() {
    rollover_answers_outdated_digests_until_hpb(ProtocolVersion::H004).await;
}

#[tokio::test]
async fn bank_key_rollover_answers_091008_until_hpb_on_h005() {
    rollover_answers_outdated_digests_until_hpb(ProtocolVersion::H005).await;
}

#[tokio::test]
async fn h004_certificate_must_certify_the_key_sent_even_without_the_switch() {
    let bank = demo_bank().await;
    let s = partner1_subscriber(&bank, ProtocolVersion::H004, "USER1", 0);
    let own = self_signed(&s);
    let s = s.with_certificates([own[1].clone(), own[1].clone(), own[2].clone()]);
    assert_eq!(code(&s.ini().await).1, "091219");
    let s = s.with_certificates(own);
    assert_eq!(code(&s.ini().await), ("000000".into(), "000000".into()));
    bank.shutdown().await;
}

#[tokio::test]
async fn h3k_with_bank_issued_certificates_refuses_self_signed_ones() {
    let bank = demo_bank().await;
    require_bank_issued_certificates(&bank, "USER3");
    let s = partner1_subscriber(&bank, ProtocolVersion::H005, "USER3", 2);
    assert_eq!(code(&s.h3k().await).1, "091214");
    assert_eq!(code(&s.h3k_signed(&s).await).1, "091214");
    assert_eq!(
        known_subscriber(&bank, "USER3").status,
        SubscriberStatus::New
    );
    assert_h3k_initialises(&bank, &certified_by_bank(s)).await;
    bank.shutdown().await;
}

/// A signed H3K of `s` (PARTNER1's USER3) is accepted and initialises the subscriber.
async fn assert_h3k_initialises(bank: &RunningBank, s: &Subscriber) {
    assert_eq!(
        code(&s.h3k_signed(s).await),
        ("000000".into(), "000000".into())
    );
    assert_eq!(
        known_subscriber(bank, "USER3").status,
        SubscriberStatus::Initialised
    );
}

#[tokio::test]
async fn h3k_needs_the_signature_certificate_from_the_banks_ca() {
    let bank = demo_bank().await;
    let s = partner1_subscriber(&bank, ProtocolVersion::H005, "USER3", 2);
    // Self-signed certificates (no letters with H3K): 091214, whether signed or not.
    assert_eq!(code(&s.h3k().await).1, "091214");
    assert_eq!(code(&s.h3k_signed(&s).await).1, "091214");
    // Issued by a CA the bank does not know: 091214 too.
    let stranger_ca = kontor_protocol::certificate::Certificate::generate_ca(
        &s.encryption,
        &kontor_protocol::certificate::CertificateSubject {
            common_name: "Some Other CA".into(),
            organization: None,
            country: None,
        },
        chrono::Utc::now(),
        1,
        &mut rand::rngs::OsRng,
    )
    .expect("CA");
    let foreign = stranger_ca
        .issue(
            &s.encryption,
            &s.signature.public_key(),
            &kontor_protocol::certificate::CertificateSubject {
                common_name: "Société Exemple".into(),
                organization: None,
                country: None,
            },
            KeyPurpose::Signature,
            kontor_protocol::certificate::ValidityPeriod::new(chrono::Utc::now(), 1),
            &mut rand::rngs::OsRng,
        )
        .expect("issued");
    let own = self_signed(&s);
    let s = s.with_certificates([foreign, own[1].clone(), own[2].clone()]);
    assert_eq!(code(&s.h3k_signed(&s).await).1, "091214");
    assert_eq!(
        known_subscriber(&bank, "USER3").status,
        SubscriberStatus::New
    );
    // The bank's CA certifies the ES key: the other two may stay self-signed.
    let issued = bank_issued(&s);
    let s = s.with_certificates([issued[0].clone(), own[1].clone(), own[2].clone()]);
    assert_h3k_initialises(&bank, &s).await;
    bank.shutdown().await;
}

#[tokio::test]
async fn certificates_made_for_another_use_are_refused_with_091210() {
    let bank = demo_bank().await;
    let s = partner1_subscriber(&bank, ProtocolVersion::H005, "USER1", 0);
    let own = self_signed(&s);
    let ca = kontor_bank::ca::TestCa::get();
    let now = chrono::Utc::now();
    let issue = |key: &kontor_protocol::keys::PrivateKey, purpose| {
        ca.issue(&key.public_key(), "Société Exemple", purpose, now)
            .expect("issued")
    };
    // The ES key with an encryption certificate (INI), the X002 key with one (HIA).
    let encryption_for_es = issue(&s.signature, KeyPurpose::Encryption);
    let s = s.with_certificates([encryption_for_es.clone(), own[1].clone(), own[2].clone()]);
    assert_eq!(code(&s.ini().await).1, "091210");
    let encryption_for_x002 = issue(&s.authentication, KeyPurpose::Encryption);
    let s = s.with_certificates([own[0].clone(), encryption_for_x002, own[2].clone()]);
    assert_eq!(code(&s.hia().await).1, "091210");
    // The E002 key with a signature certificate, in H3K with a CA-issued ES.
    let signature_for_e002 = issue(&s.encryption, KeyPurpose::Signature);
    let es = issue(&s.signature, KeyPurpose::Signature);
    let s = s.with_certificates([es.clone(), own[1].clone(), signature_for_e002]);
    assert_eq!(code(&s.h3k_signed(&s).await).1, "091210");
    // H3K with the encryption certificate as the ES: also 091210, before the issuer counts.
    let s = s.with_certificates([encryption_for_es, own[1].clone(), own[2].clone()]);
    assert_eq!(code(&s.h3k().await).1, "091210");
    assert_eq!(
        known_subscriber(&bank, "USER1").status,
        SubscriberStatus::New
    );
    // Fitting certificates go through.
    let s = s.with_certificates([es, own[1].clone(), own[2].clone()]);
    assert_eq!(code(&s.h3k().await), ("000000".into(), "000000".into()));
    bank.shutdown().await;
}

#[tokio::test]
async fn the_admin_api_switches_subscribers_and_issues_certificates() {
    use kontor_protocol::certificate::Certificate;
    let bank = demo_bank().await;
    let admin = bank.admin_url();
    let (_, switched) = support::post_json(
        format!("{admin}/users/PARTNER1/USER1/bank-issued-certificates"),
        None,
    )
    .await;
    assert_eq!(switched["bank_issued_certificates"], true);

    let bytes = reqwest::get(format!("{admin}/ca"))
        .await
        .expect("ca")
        .bytes()
        .await
        .expect("body");
    let ca: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON");
    let ca = Certificate::from_pem(ca["certificate_pem"].as_str().expect("pem")).expect("CA");

    let s = partner1_subscriber(&bank, ProtocolVersion::H004, "USER1", 0);
    let (status, issued) = support::post_json(
        format!("{admin}/ca/issue"),
        Some(serde_json::json!({
            "public_key_pem": s.signature.public_key().to_spki_pem().expect("pem"),
            "common_name": "Jeanne Exemple",
            "purpose": "signature",
        })),
    )
    .await;
    assert_eq!(status, 200);
    let issued =
        Certificate::from_pem(issued["certificate_pem"].as_str().expect("pem")).expect("issued");
    assert!(issued.is_issued_by(&ca));
    assert_eq!(issued.public_key(), &s.signature.public_key());

    let (status, _) = support::post_json(
        format!("{admin}/ca/issue"),
        Some(
            serde_json::json!({"public_key_pem": "x", "common_name": "y", "purpose": "signature"}),
        ),
    )
    .await;
    assert_eq!(status, 400);
    bank.shutdown().await;
}
