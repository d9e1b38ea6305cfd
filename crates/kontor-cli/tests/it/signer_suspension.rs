//! A signer suspends themselves at the bank with `kontor sign suspend` (SPR with their own
//! ES, signed on their machine), against the bank emulator, H004 and H005, SQLite and
//! PostgreSQL when configured: the user is SUSPENDED once the bank confirmed and the bank
//! refuses its next request; an ES the ACTIVE key did not make is refused with 422 and
//! nothing reaches the bank.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use kontor_bank::state::SubscriberStatus;
use kontor_daemon::ebics::{DownloadRequest, EbicsError};
use kontor_protocol::keys::{KeySize, PrivateKey};
use kontor_protocol::order_type::OrderType;
use kontor_protocol::signature::{sign_order_data, SPR_ORDER_DATA};
use kontor_protocol::{ProtocolVersion, SignatureVersion};
use kontor_storage::testing::TestDb;
use kontor_storage::{EbicsUser, EbicsUserStatus};
use serde_json::json;

use crate::support::signer_world::world;
use kontor_testkit::bank::{days_before_today, missed_suspension};

async fn a_signer_suspends_themselves(db: TestDb, version: ProtocolVersion) {
    let w = world(db, version).await;
    let user = w.user.to_string();

    let printed = w
        .sign_ok(&["suspend", "--key", &w.key("old.key"), "--signer", &user])
        .await;
    assert!(printed.contains("SUSPENDED"), "{printed}");
    assert_eq!(w.at_bank().status, SubscriberStatus::Suspended);
    let mut tx = w.store.scope(&w.scope).begin().await.unwrap();
    let record: EbicsUser = tx.get(w.user).await.unwrap();
    assert_eq!(record.status, EbicsUserStatus::Suspended);
    drop(tx);

    // The bank refuses the user's next request (an instance that missed the suspension).
    missed_suspension(&w.store, &w.scope, w.user).await;
    let (from, to) = days_before_today(3);
    let request = DownloadRequest::new(OrderType::STA).with_period(from, to);
    let refused = w
        .client
        .download(&w.scope, w.user, request)
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, EbicsError::Bank { rejection, .. } if rejection.code.as_str() == "091002"),
        "{refused}"
    );

    let events = w.audit_events().await;
    assert!(
        events.iter().any(|e| e["action"] == "EBICS_USER_SUSPENDED"
            && e["actor_kind"] == "OPERATOR"
            && e["detail"]["order_type"] == "SPR"),
        "{events:#?}"
    );
}

async fn a_signature_of_another_key_is_refused(db: TestDb, version: ProtocolVersion) {
    let w = world(db, version).await;
    let user = w.user.to_string();
    let registered = w.sign_ok(&["pubkey", &w.key("old.key")]).await;
    let hash_label = if version.uses_certificates() {
        "certificate hash (H005)"
    } else {
        "key hash (H004)"
    };
    let key_hash = registered
        .lines()
        .find_map(|l| l.strip_prefix(hash_label))
        .unwrap()
        .trim()
        .to_owned();
    let other = PrivateKey::generate(&mut rand::rngs::OsRng, KeySize::Bits2048).unwrap();
    let forged = sign_order_data(SignatureVersion::A006, &other, SPR_ORDER_DATA).unwrap();
    for (key_hash, code) in [
        (key_hash.as_str(), "invalid_signature"),
        (&*"AB".repeat(32), "unknown_signer_key"),
    ] {
        let answer = w
            .http(
                reqwest::Method::POST,
                &format!("/v1/ebics-users/{user}/suspend/signed"),
            )
            .await
            .json(&json!({
                "signature_version": "A006",
                "key_hash": key_hash,
                "signature": B64.encode(&forged),
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
        let body: serde_json::Value = answer.json().await.unwrap();
        assert_eq!(body["error"]["code"], code, "{body}");
    }
    // The CLI refuses a key file that is not the registered key before signing anything.
    w.sign_ok(&["keygen", "--out", &w.key("other.key")]).await;
    let refused = w
        .sign(&["suspend", "--key", &w.key("other.key"), "--signer", &user])
        .await;
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not the signer's registered key"));

    assert_eq!(w.at_bank().status, SubscriberStatus::Ready);
    let record: EbicsUser = w
        .store
        .scope(&w.scope)
        .read()
        .await
        .unwrap()
        .get(w.user)
        .await
        .unwrap();
    assert_eq!(record.status, EbicsUserStatus::Ready);
}

cases!(a_signer_suspends_themselves {
    a_signer_suspends_themselves_on_h004_sqlite: sqlite H004,
    a_signer_suspends_themselves_on_h005_sqlite: sqlite H005,
    a_signer_suspends_themselves_on_h004_postgres: postgres H004,
    a_signer_suspends_themselves_on_h005_postgres: postgres H005,
});

cases!(a_signature_of_another_key_is_refused {
    a_suspension_signed_with_another_key_is_refused_on_sqlite: sqlite H004,
    a_suspension_signed_with_another_key_is_refused_on_postgres: postgres H005,
});
