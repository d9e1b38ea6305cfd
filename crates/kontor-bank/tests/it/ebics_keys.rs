//! Subscriber initialisation against the real dispatcher: INI, HIA, H3K, activation, HPB.

use crate::common;

use common::client::Subscriber;
use common::{demo_bank, p, u};
use kontor_bank::state::SubscriberStatus;
use kontor_bank::RunningBank;
use kontor_protocol::certificate::KeyPurpose;
use kontor_protocol::ProtocolVersion;

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

#[tokio::test]
async fn ini_and_hia_record_the_keys_and_hpb_waits_for_the_clerk() {
    let bank = demo_bank().await;
    let mut s = partner1_subscriber(&bank, ProtocolVersion::H004, "USER1", 0);
    assert_eq!(code(&s.ini().await), ("000000".into(), "000000".into()));
    assert_eq!(code(&s.hia().await), ("000000".into(), "000000".into()));
    let subscriber = known_subscriber(&bank, "USER1");
    assert_eq!(subscriber.status, SubscriberStatus::Initialised);
    let stored = |purpose| subscriber.keys.get(purpose).expect("key").hash.0;
    use kontor_bank::state::KeyPurpose as Stored;
    assert_eq!(
        stored(Stored::Signature),
        *s.key_hash(KeyPurpose::Signature).as_bytes()
    );
    assert_eq!(
        stored(Stored::Authentication),
        *s.key_hash(KeyPurpose::Authentication).as_bytes()
    );
    assert_eq!(
        stored(Stored::Encryption),
        *s.key_hash(KeyPurpose::Encryption).as_bytes()
    );

    assert_eq!(code(&s.hpb().await).0, "091002", "not activated yet");
    assert!(s.bank.is_none());
    bank.activate_user(&p("PARTNER1"), &u("USER1"))
        .expect("clerk activates");
    assert_eq!(code(&s.hpb().await), ("000000".into(), "000000".into()));
    let published = bank.keys().published();
    let seen = s.bank.as_ref().expect("bank keys");
    assert_eq!(
        seen.authentication_hash.as_bytes(),
        &published.authentication.hash.0
    );
    assert_eq!(
        seen.encryption_hash.as_bytes(),
        &published.encryption.hash.0
    );
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
    // Signed with another key while claiming to be USER3: refused, nothing recorded.
    let impostor = Subscriber::new(&url, ProtocolVersion::H005, "PARTNER1", "USER2", 1);
    assert_eq!(code(&s.h3k_signed(&impostor).await).1, "091301");
    let status = || known_subscriber(&bank, "USER3").status;
    assert_eq!(status(), SubscriberStatus::New);
    assert_eq!(
        code(&s.h3k_signed(&s).await),
        ("000000".into(), "000000".into())
    );
    assert_eq!(status(), SubscriberStatus::Initialised);
    let stored = known_subscriber(&bank, "USER3");
    use kontor_bank::state::KeyPurpose as Stored;
    assert_eq!(
        stored.keys.get(Stored::Signature).expect("key").hash.0,
        *s.key_hash(KeyPurpose::Signature).as_bytes()
    );
    bank.shutdown().await;
}

#[tokio::test]
async fn h005_h3k_initialises_with_certificates_and_hpb_answers_certificates() {
    let bank = demo_bank().await;
    let mut s = partner1_subscriber(&bank, ProtocolVersion::H005, "USER3", 2);
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
        &h005.authentication.hash.0,
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
    let mut s = common::client::ready_subscriber(&bank, version, "PARTNER1", "USER1", 0).await;
    let htd = || {
        kontor_protocol::envelope::OrderDetails::download(version, &OrderType::HTD, None)
            .expect("details")
    };
    let before = s.bank.clone().expect("bank keys");
    let rolled = common::http()
        .post(format!("{}/bank-keys/roll", bank.admin_url()))
        .send()
        .await
        .expect("admin")
        .bytes()
        .await
        .expect("body");
    let rolled: serde_json::Value = serde_json::from_slice(&rolled).expect("json");
    let published = match version {
        ProtocolVersion::H004 => bank.keys().published(),
        _ => bank.keys().published_h005().expect("certificates"),
    };
    assert_ne!(
        published.authentication.hash.0,
        *before.authentication_hash.as_bytes()
    );
    assert_eq!(
        rolled["authentication"]["hash_sha256_hex"],
        bank.keys().published().authentication.hash.to_hex()
    );

    let refused = s.exchange(s.download_init(htd(), None)).await;
    assert_eq!(refused.technical_return_code.code(), "091008");
    assert!(refused.transaction_id.is_none(), "no transaction opened");

    assert_eq!(code(&s.hpb().await).0, "000000");
    let seen = s.bank.as_ref().expect("new keys");
    assert_eq!(
        seen.authentication_hash.as_bytes(),
        &published.authentication.hash.0
    );
    assert_eq!(
        seen.encryption_hash.as_bytes(),
        &published.encryption.hash.0
    );
    let served = s.exchange(s.download_init(htd(), None)).await;
    assert_eq!(served.technical_return_code.code(), "000000");
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
