//! A signer-held user changes its keys with `kontor sign key-change` against the bank
//! emulator (H004 and H005, SQLite, and PostgreSQL when configured): first the
//! authentication and encryption keys (HCA), then all three (HCS, with a new signature key
//! file). The daemon prepares each document, the signer signs it with the current key on
//! their side; payments signed before and after complete, replaced keys are EXPIRED, and the
//! audit log shows who did what.

use kontor_protocol::keys::KeyHash;
use kontor_protocol::ProtocolVersion;
use kontor_storage::testing::TestDb;
use kontor_storage::{KeyCustody, KeyStatus, KeyUsage};

use crate::support::signer_world::{world, World};

/// (usage, status, custody) of every key of the user, oldest first.
async fn keys(w: &World) -> Vec<(KeyUsage, KeyStatus, KeyCustody, KeyHash)> {
    let keys = w.key_pairs().await;
    keys.into_iter()
        .map(|k| (k.usage, k.status, k.custody, k.key_hash))
        .collect()
}

fn of(
    keys: &[(KeyUsage, KeyStatus, KeyCustody, KeyHash)],
    usage: KeyUsage,
    status: KeyStatus,
) -> Vec<KeyHash> {
    keys.iter()
        .filter(|k| k.0 == usage && k.1 == status)
        .map(|k| k.3)
        .collect()
}

/// `kontor sign key-change --kind <kind> --key <key> [--out <out>] --signer <user>`.
async fn key_change(w: &World, kind: &str, key: &str, out: Option<&str>) -> std::process::Output {
    let user = w.user.to_string();
    let mut args = vec!["key-change", "--kind", kind, "--key", key];
    if let Some(out) = out {
        args.extend(["--out", out]);
    }
    args.extend(["--signer", &user]);
    w.sign(&args).await
}

/// Asserts the hashes of the user's keys of each `(usage, status)`, as the table lists them.
fn assert_keys(
    keys: &[(KeyUsage, KeyStatus, KeyCustody, KeyHash)],
    expected: &[(KeyUsage, KeyStatus, &[&KeyHash])],
) {
    for (usage, status, hashes) in expected {
        let hashes: Vec<KeyHash> = hashes.iter().map(|h| **h).collect();
        assert_eq!(of(keys, *usage, *status), hashes, "{usage:?} {status:?}");
    }
}

/// A key change refused when given `refused_out`, then accepted with `out`; the bank's key
/// hashes afterwards (signature, authentication, encryption).
async fn refused_then_accepted(
    w: &World,
    kind: &str,
    key: &str,
    refused_out: Option<&str>,
    out: Option<&str>,
) -> [KeyHash; 3] {
    let refused = key_change(w, kind, key, refused_out).await;
    assert!(
        !refused.status.success(),
        "{kind} with --out {refused_out:?}"
    );
    accepted(w, kind, key, out).await;
    w.bank_hashes()
}

/// Which of the bank's key hashes changed from `before` to `after`.
fn renewed(before: &[&KeyHash; 3], after: &[&KeyHash; 3]) -> [bool; 3] {
    [0, 1, 2].map(|i| before[i] != after[i])
}

/// Runs a key change that must succeed and says the bank accepted it.
async fn accepted(w: &World, kind: &str, key: &str, out: Option<&str>) {
    let done = key_change(w, kind, key, out).await;
    let printed = String::from_utf8_lossy(&done.stdout);
    assert!(
        done.status.success(),
        "{kind}: {}",
        String::from_utf8_lossy(&done.stderr)
    );
    let expected = format!("accepted the {}", kind.to_uppercase());
    assert!(printed.contains(&expected), "{printed}");
}

async fn signer_changes_keys(db: TestDb, version: ProtocolVersion) {
    use KeyStatus::{Active, Expired};
    use KeyUsage::{Authentication, Encryption, Signature};
    let w = world(db, version).await;
    let (old, new) = (w.key("old.key"), w.key("new.key"));
    let [sig0, auth0, enc0] = w.bank_hashes();
    let before = w.pay_with(&old, "CHANGE-BEFORE").await;

    // HCA: --out is refused (the signature key stays), then the change goes through and
    // renews authentication and encryption only.
    let [sig1, auth1, enc1] = refused_then_accepted(&w, "hca", &old, Some(&new), None).await;
    assert_eq!(
        renewed(&[&sig0, &auth0, &enc0], &[&sig1, &auth1, &enc1]),
        [false, true, true]
    );
    assert_keys(
        &keys(&w).await,
        &[
            (Authentication, Active, &[&auth1]),
            (Encryption, Active, &[&enc1]),
            (Authentication, Expired, &[&auth0]),
            (Encryption, Expired, &[&enc0]),
            (Signature, Active, &[&sig0]),
        ],
    );

    // HCS without a new key file is refused before anything is prepared; with it, all three
    // keys are renewed.
    let [sig2, auth2, enc2] = refused_then_accepted(&w, "hcs", &old, None, Some(&new)).await;
    assert_eq!(
        renewed(&[&sig1, &auth1, &enc1], &[&sig2, &auth2, &enc2]),
        [true; 3]
    );
    let after_hcs = keys(&w).await;
    assert_keys(
        &after_hcs,
        &[
            (Signature, Active, &[&sig2]),
            (Signature, Expired, &[&sig0]),
            (Authentication, Active, &[&auth2]),
            (Encryption, Active, &[&enc2]),
            (Authentication, Expired, &[&auth0, &auth1]),
        ],
    );
    // The signature keys are the signer's alone: no private part ever reached the daemon.
    assert!(after_hcs
        .iter()
        .filter(|k| k.0 == Signature)
        .all(|k| k.2 == KeyCustody::Signer));
    assert!(!std::fs::read_to_string(&new)
        .unwrap()
        .contains("PRIVATE KEY"));

    // The old key file signs nothing any more; the new one pays.
    let stale = key_change(&w, "hca", &old, None).await;
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

cases!(signer_changes_keys {
    a_signer_changes_keys_with_hca_then_hcs_on_h004_sqlite: sqlite H004,
    a_signer_changes_keys_with_hca_then_hcs_on_h005_sqlite: sqlite H005,
    a_signer_changes_keys_with_hca_then_hcs_on_h004_postgres: postgres H004,
    a_signer_changes_keys_with_hca_then_hcs_on_h005_postgres: postgres H005,
});
