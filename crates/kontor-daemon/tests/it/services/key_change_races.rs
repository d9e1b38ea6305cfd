//! Key changes meeting each other or an interruption: two operators settling one undecided
//! change at once; a signer-held change prepared, abandoned (the daemon killed) and prepared
//! again.

use axum::http::StatusCode;
use kontor_daemon::services::key_changes::KeyChange::{self, Hca, Hcs, Pub};
use kontor_daemon::services::key_changes::{
    prepare_signer_change, send_signed_change, PreparedChange, SignedChange, SignerKey,
};
use kontor_daemon::services::{Refusal, ServiceError};
use kontor_protocol::keys::{KeyPair as RsaKeyPair, KeySize, PrivateKey};
use kontor_protocol::signature::sign_order_data;
use kontor_protocol::ProtocolVersion::H004;
use kontor_protocol::SignatureVersion;
use kontor_storage::*;
use serde_json::json;

use super::key_changes::{
    active_hashes, bank_keys_of_user, change, lose_answer_and_forget, operator_api, settle,
    statuses,
};
use crate::support::emulator::{count_of, ready_world, world, Setup, World};
use crate::support::TestDb;

/// Two settlements of one undecided PUB race (ACCEPTED against REFUSED, over HTTP): exactly
/// one decides. The other answers 409 `nothing_undecided`, the keys end as the winner said,
/// and there is one `KEY_CHANGE_SETTLED` record.
async fn racing_settlements_decide_once(db: TestDb) {
    let w = ready_world(db, H004).await;
    let (app, token) = operator_api(&w).await;
    let first = active_hashes(&w).await;
    lose_answer_and_forget(&w);
    let lost = change(&w, Pub).await;
    assert!(lost.is_err(), "{lost:?}");
    w.bank.faults().clear();
    let [upload] = w.transactions().await.try_into().expect("one upload");

    let (accepted, refused) = tokio::join!(
        settle(&app, &token, &w, upload.id, json!({"decision": "ACCEPTED"})),
        settle(&app, &token, &w, upload.id, json!({"decision": "REFUSED"})),
    );
    let (winner, loser) = match (accepted.status, refused.status) {
        (StatusCode::OK, StatusCode::CONFLICT) => ("ACCEPTED", refused),
        (StatusCode::CONFLICT, StatusCode::OK) => ("REFUSED", accepted),
        other => panic!(
            "one settlement must win: {other:?} {} / {}",
            accepted.text(),
            refused.text()
        ),
    };
    assert_eq!(
        loser.json()["error"]["code"],
        "nothing_undecided",
        "{}",
        loser.text()
    );

    // The keys are in the winner's state and nothing else.
    let signature_keys: Vec<KeyStatus> = statuses(&w)
        .await
        .into_iter()
        .filter(|(usage, _)| *usage == KeyUsage::Signature)
        .map(|(_, status)| status)
        .collect();
    let now = active_hashes(&w).await;
    if winner == "ACCEPTED" {
        assert_eq!(signature_keys, [KeyStatus::Active, KeyStatus::Expired]);
        assert_ne!(now.0, first.0);
    } else {
        assert_eq!(signature_keys, [KeyStatus::Active, KeyStatus::Revoked]);
        assert_eq!(now, first);
    }
    let events = w.audit_events().await;
    let settled: Vec<_> = events
        .iter()
        .filter(|e| e.action == AuditAction::KeyChangeSettled)
        .collect();
    assert_eq!(settled.len(), 1, "{settled:#?}");
    assert_eq!(settled[0].detail["outcome"], winner);
    let decided = events
        .iter()
        .filter(|e| {
            matches!(
                e.action,
                AuditAction::KeyActivated | AuditAction::KeyRevoked | AuditAction::KeyExpired
            ) && e.detail["decided_by"] == "operator"
        })
        .count();
    assert_eq!(decided, if winner == "ACCEPTED" { 2 } else { 1 });
}

/// A READY H004 user whose signature key a signer holds; returns the signer's private key.
async fn signer_held_world(db: TestDb) -> (World, PrivateKey) {
    let w = world(db, Setup::new(H004)).await;
    let signer = w.hand_signature_key_to_signer().await;
    w.ready().await;
    (w, signer.private_key().clone())
}

async fn new_rsa_key() -> RsaKeyPair {
    tokio::task::spawn_blocking(|| {
        RsaKeyPair::generate(&mut rand::rngs::OsRng, KeySize::Bits2048).unwrap()
    })
    .await
    .unwrap()
}

/// Prepares an HCA, or an HCS with a fresh signer key.
async fn prepare(w: &World, kind: KeyChange) -> PreparedChange {
    let new_signature = match kind {
        Hcs => Some(SignerKey {
            version: SignatureVersion::A006,
            key: new_rsa_key().await.public_key().clone(),
            certificate: None,
        }),
        _ => None,
    };
    prepare_signer_change(&w.services, &w.scope, w.user, kind, new_signature)
        .await
        .unwrap()
}

/// The signer's ES over a prepared document, as `kontor sign key-change` makes it.
fn signed(prepared: &PreparedChange, signer: &PrivateKey) -> SignedChange {
    SignedChange {
        change: prepared.change,
        document: prepared.document.clone(),
        signature: sign_order_data(SignatureVersion::A006, signer, &prepared.document).unwrap(),
        signature_version: SignatureVersion::A006,
    }
}

/// The ids of the user's keys in `status`, sorted.
async fn ids_in(w: &World, status: KeyStatus) -> Vec<KeyPairId> {
    let mut tx = w.tx().await;
    let mut ids: Vec<KeyPairId> = tx
        .key_pairs()
        .list_for_user(w.user)
        .await
        .unwrap()
        .into_iter()
        .filter(|k| k.status == status)
        .map(|k| k.id)
        .collect();
    ids.sort();
    ids
}

fn ids_of(prepared: &PreparedChange) -> Vec<KeyPairId> {
    let mut ids: Vec<KeyPairId> = prepared.keys.iter().map(|k| k.id).collect();
    ids.sort();
    ids
}

/// A signer-held HCA/HCS is prepared and signed, then the daemon is killed before the signed
/// change arrives. Preparing again leaves only the newest keys PENDING (the abandoned ones
/// REVOKED, audited), and the first signed document is refused afterwards without changing
/// anything. The same holds when the daemon died after marking the keys SUBMITTED but before
/// the upload existed. The newest preparation then goes through.
async fn a_prepare_after_a_kill_replaces_the_abandoned_keys(db: TestDb, kind: KeyChange) {
    let (w, signer) = signer_held_world(db).await;
    let first = active_hashes(&w).await;
    let abandoned = prepare(&w, kind).await;
    let abandoned_signed = signed(&abandoned, &signer);
    // kill -9: nothing more happens to the first preparation.
    let second = prepare(&w, kind).await;
    assert_eq!(ids_in(&w, KeyStatus::Pending).await, ids_of(&second));
    let revoked = ids_in(&w, KeyStatus::Revoked).await;
    assert!(
        ids_of(&abandoned).iter().all(|id| revoked.contains(id)),
        "{revoked:?}"
    );
    let stale = send_signed_change(&w.services, &w.scope, w.user, abandoned_signed).await;
    assert!(
        matches!(
            stale,
            Err(ServiceError::Refused(Refusal::InvalidKeyChange(_)))
        ),
        "{stale:?}"
    );
    assert_eq!(ids_in(&w, KeyStatus::Pending).await, ids_of(&second));
    assert!(w.transactions().await.is_empty(), "nothing sent");

    // Killed after the keys turned SUBMITTED, before the upload was created.
    let mut tx = w.tx().await;
    for key in &second.keys {
        tx.key_pairs()
            .set_status(key.id, KeyStatus::Pending, KeyStatus::Submitted)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let third = prepare(&w, kind).await;
    assert_eq!(ids_in(&w, KeyStatus::Pending).await, ids_of(&third));
    assert!(ids_in(&w, KeyStatus::Submitted).await.is_empty());
    let stale = send_signed_change(&w.services, &w.scope, w.user, signed(&second, &signer)).await;
    assert!(stale.is_err(), "{stale:?}");
    assert!(w.transactions().await.is_empty(), "nothing sent");

    let outcome = send_signed_change(&w.services, &w.scope, w.user, signed(&third, &signer))
        .await
        .unwrap();
    assert_eq!(outcome.keys.len(), kind.usages().len());
    let after = active_hashes(&w).await;
    assert_eq!(bank_keys_of_user(&w).await, after);
    assert_ne!(after.1, first.1);
    assert_eq!(after.0 == first.0, kind == Hca);
    assert!(ids_in(&w, KeyStatus::Pending).await.is_empty());
    let events = w.audit_events().await;
    let abandoned_revocations = count_of(&events, AuditAction::KeyRevoked);
    assert_eq!(abandoned_revocations, 2 * kind.usages().len());
}

/// Two preparations of one signer-held HCA overlap (two signer sessions): afterwards one
/// set of keys is PENDING, the other REVOKED, and only the document naming the PENDING keys
/// is taken.
async fn overlapping_preparations_leave_one_set(db: TestDb) {
    let (w, signer) = signer_held_world(db).await;
    let (a, b) = tokio::join!(prepare(&w, Hca), prepare(&w, Hca));
    let pending = ids_in(&w, KeyStatus::Pending).await;
    let (kept, replaced) = if pending == ids_of(&a) {
        (a, b)
    } else {
        (b, a)
    };
    assert_eq!(pending, ids_of(&kept));
    let revoked = ids_in(&w, KeyStatus::Revoked).await;
    assert!(
        ids_of(&replaced).iter().all(|id| revoked.contains(id)),
        "{revoked:?}"
    );
    let stale = send_signed_change(&w.services, &w.scope, w.user, signed(&replaced, &signer)).await;
    assert!(stale.is_err(), "{stale:?}");
    send_signed_change(&w.services, &w.scope, w.user, signed(&kept, &signer))
        .await
        .unwrap();
    assert_eq!(bank_keys_of_user(&w).await, active_hashes(&w).await);
}

on_both_databases! {
    racing_key_change_settlements_decide_once => racing_settlements_decide_once;
    a_signer_hca_prepared_again_after_a_kill => |db| a_prepare_after_a_kill_replaces_the_abandoned_keys(db, Hca);
    a_signer_hcs_prepared_again_after_a_kill => |db| a_prepare_after_a_kill_replaces_the_abandoned_keys(db, Hcs);
    overlapping_signer_key_change_preparations_leave_one_set => overlapping_preparations_leave_one_set;
}
