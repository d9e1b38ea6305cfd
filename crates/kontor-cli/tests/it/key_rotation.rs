//! A signer rotates their own signature key with `kontor sign rotate` against the bank
//! emulator (H004 and H005, SQLite, and PostgreSQL when configured): a payment signed with
//! the old key completes before, one signed with the new key after; the old key is EXPIRED,
//! the bank holds the new one, and the audit log names the operator.

use kontor_protocol::ProtocolVersion;
use kontor_storage::testing::TestDb;
use kontor_storage::{KeyCustody, KeyStatus, KeyUsage};

use crate::support::signer_world::world;

async fn signer_rotates_the_signature_key(db: TestDb, version: ProtocolVersion) {
    let w = world(db, version).await;
    let (old, new) = (w.key("old.key"), w.key("new.key"));
    let user = w.user.to_string();
    let old_hash = w.bank_signature_hash();

    let before = w.pay_with(&old, "ROTATE-BEFORE").await;

    let printed = w
        .sign_ok(&["rotate", &old, "--out", &new, "--signer", &user])
        .await;
    assert!(
        printed.contains("accepted the new signature key"),
        "{printed}"
    );
    assert!(!std::fs::read_to_string(&new)
        .unwrap()
        .contains("PRIVATE KEY"));

    // The bank holds the new key; the daemon holds its public part, ACTIVE, the old EXPIRED.
    let new_hash = w.bank_signature_hash();
    assert_ne!(new_hash, old_hash);
    let signature_keys: Vec<_> = w
        .key_pairs()
        .await
        .into_iter()
        .filter(|k| k.usage == KeyUsage::Signature)
        .collect();
    assert_eq!(signature_keys.len(), 2);
    assert_eq!(signature_keys[0].status, KeyStatus::Expired);
    assert_eq!(signature_keys[1].status, KeyStatus::Active);
    assert_eq!(signature_keys[1].key_hash, new_hash);
    assert!(signature_keys
        .iter()
        .all(|k| k.custody == KeyCustody::Signer && k.encrypted_private_key().is_empty()));

    // The old key signs nothing any more; the new one does, and the payment goes through.
    let refused = w
        .sign(&[
            "rotate",
            &old,
            "--out",
            &w.key("third.key"),
            "--signer",
            &user,
        ])
        .await;
    assert!(!refused.status.success());
    let after = w.pay_with(&new, "ROTATE-AFTER").await;
    assert_ne!(before["bank_order_id"], after["bank_order_id"]);
    assert_eq!(w.bank.state().received_orders().len(), 2);

    // Who did what: the operator generated, submitted, activated and expired.
    let events = w.audit_events().await;
    for action in [
        "KEY_GENERATED",
        "KEY_SUBMITTED",
        "KEY_ACTIVATED",
        "KEY_EXPIRED",
    ] {
        assert!(
            events.iter().any(|e| e["action"] == action
                && e["actor_kind"] == "OPERATOR"
                && e["detail"]["order_type"] == "PUB"),
            "{action}: {events:#?}"
        );
    }
}

cases!(signer_rotates_the_signature_key {
    a_signer_rotates_the_signature_key_on_h004_sqlite: sqlite H004,
    a_signer_rotates_the_signature_key_on_h005_sqlite: sqlite H005,
    a_signer_rotates_the_signature_key_on_h004_postgres: postgres H004,
    a_signer_rotates_the_signature_key_on_h005_postgres: postgres H005,
});
