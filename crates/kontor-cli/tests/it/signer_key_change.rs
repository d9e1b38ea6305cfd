//! A signer-held user changes its keys with `kontor sign key-change` against the bank
//! emulator (H004 and H005, SQLite, and PostgreSQL when configured): first the
//! authentication and encryption keys (HCA), then all three (HCS, with a new signature key
//! file). The daemon prepares each document, the signer signs it with the current key on
//! their side; payments signed before and after complete, replaced keys are EXPIRED, and the
//! audit log shows who did what.

use kontor_protocol::ProtocolVersion;
use kontor_storage::testing::TestDb;
use kontor_storage::{KeyCustody, KeyStatus, KeyUsage};

use crate::support::signer_world::{world, World};

/// (usage, status, custody) of every key of the user, oldest first.
async fn keys(w: &World) -> Vec<(KeyUsage, KeyStatus, KeyCustody, String)> {
    let mut tx = w.store.scope(&w.scope).begin().await.unwrap();
    let keys = tx.key_pairs().list_for_user(w.user).await.unwrap();
    drop(tx);
    keys.into_iter()
        .map(|k| (k.usage, k.status, k.custody, k.key_hash))
        .collect()
}

fn of(
    keys: &[(KeyUsage, KeyStatus, KeyCustody, String)],
    usage: KeyUsage,
    status: KeyStatus,
) -> Vec<String> {
    keys.iter()
        .filter(|k| k.0 == usage && k.1 == status)
        .map(|k| k.3.clone())
        .collect()
}

async fn signer_changes_keys(db: TestDb, version: ProtocolVersion) {
    let w = world(db, version).await;
    let (old, new) = (w.key("old.key"), w.key("new.key"));
    let user = w.user.to_string();
    let [sig0, auth0, enc0] = w.bank_hashes();
    let before = w.pay_with(&old, "CHANGE-BEFORE").await;

    // HCA: --out is refused (the signature key stays), then the change goes through.
    let refused = w
        .sign(&[
            "key-change",
            "--kind",
            "hca",
            "--key",
            &old,
            "--out",
            &new,
            "--signer",
            &user,
        ])
        .await;
    assert!(!refused.status.success());
    let printed = w
        .sign_ok(&[
            "key-change",
            "--kind",
            "hca",
            "--key",
            &old,
            "--signer",
            &user,
        ])
        .await;
    assert!(printed.contains("accepted the HCA"), "{printed}");
    let [sig1, auth1, enc1] = w.bank_hashes();
    assert_eq!(sig1, sig0);
    assert_ne!(auth1, auth0);
    assert_ne!(enc1, enc0);
    let after_hca = keys(&w).await;
    assert_eq!(
        of(&after_hca, KeyUsage::Authentication, KeyStatus::Active),
        std::slice::from_ref(&auth1)
    );
    assert_eq!(
        of(&after_hca, KeyUsage::Encryption, KeyStatus::Active),
        std::slice::from_ref(&enc1)
    );
    assert_eq!(
        of(&after_hca, KeyUsage::Authentication, KeyStatus::Expired),
        [auth0]
    );
    assert_eq!(
        of(&after_hca, KeyUsage::Encryption, KeyStatus::Expired),
        [enc0]
    );
    assert_eq!(
        of(&after_hca, KeyUsage::Signature, KeyStatus::Active),
        std::slice::from_ref(&sig0)
    );

    // HCS without a new key file is refused before anything is prepared.
    let refused = w
        .sign(&[
            "key-change",
            "--kind",
            "hcs",
            "--key",
            &old,
            "--signer",
            &user,
        ])
        .await;
    assert!(!refused.status.success());
    let printed = w
        .sign_ok(&[
            "key-change",
            "--kind",
            "hcs",
            "--key",
            &old,
            "--out",
            &new,
            "--signer",
            &user,
        ])
        .await;
    assert!(printed.contains("accepted the HCS"), "{printed}");
    let [sig2, auth2, enc2] = w.bank_hashes();
    assert_ne!(sig2, sig0);
    assert_ne!(auth2, auth1);
    assert_ne!(enc2, enc1);
    let after_hcs = keys(&w).await;
    assert_eq!(
        of(&after_hcs, KeyUsage::Signature, KeyStatus::Active),
        [sig2]
    );
    assert_eq!(
        of(&after_hcs, KeyUsage::Signature, KeyStatus::Expired),
        [sig0]
    );
    assert_eq!(
        of(&after_hcs, KeyUsage::Authentication, KeyStatus::Active),
        [auth2]
    );
    assert_eq!(
        of(&after_hcs, KeyUsage::Encryption, KeyStatus::Active),
        [enc2]
    );
    assert_eq!(
        of(&after_hcs, KeyUsage::Authentication, KeyStatus::Expired).len(),
        2
    );
    // The signature keys are the signer's alone: no private part ever reached the daemon.
    assert!(after_hcs
        .iter()
        .filter(|k| k.0 == KeyUsage::Signature)
        .all(|k| k.2 == KeyCustody::Signer));
    assert!(!std::fs::read_to_string(&new)
        .unwrap()
        .contains("PRIVATE KEY"));

    // The old key file signs nothing any more; the new one pays.
    let stale = w
        .sign(&[
            "key-change",
            "--kind",
            "hca",
            "--key",
            &old,
            "--signer",
            &user,
        ])
        .await;
    assert!(!stale.status.success());
    let after = w.pay_with(&new, "CHANGE-AFTER").await;
    assert_ne!(before["bank_order_id"], after["bank_order_id"]);
    assert_eq!(w.bank.state().received_orders().len(), 2);

    // Who did what: the operator, for each of the two changes.
    let events = w.audit_events().await;
    for (order_type, action) in [
        ("HCA", "KEY_GENERATED"),
        ("HCA", "KEY_SUBMITTED"),
        ("HCA", "KEY_ACTIVATED"),
        ("HCA", "KEY_EXPIRED"),
        ("HCS", "KEY_GENERATED"),
        ("HCS", "KEY_ACTIVATED"),
        ("HCS", "KEY_EXPIRED"),
    ] {
        assert!(
            events.iter().any(|e| e["action"] == action
                && e["actor_kind"] == "OPERATOR"
                && e["detail"]["order_type"] == order_type),
            "{order_type} {action}: {events:#?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signer_changes_keys_with_hca_then_hcs_on_h004_sqlite() {
    signer_changes_keys(TestDb::sqlite().await, ProtocolVersion::H004).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signer_changes_keys_with_hca_then_hcs_on_h005_sqlite() {
    signer_changes_keys(TestDb::sqlite().await, ProtocolVersion::H005).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signer_changes_keys_with_hca_then_hcs_on_h004_postgres() {
    if let Some(db) = TestDb::postgres().await {
        signer_changes_keys(db, ProtocolVersion::H004).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signer_changes_keys_with_hca_then_hcs_on_h005_postgres() {
    if let Some(db) = TestDb::postgres().await {
        signer_changes_keys(db, ProtocolVersion::H005).await;
    }
}
