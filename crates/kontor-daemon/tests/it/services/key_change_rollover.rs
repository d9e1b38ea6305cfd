//! A key change whose answer was lost meets a bank key rollover: the probe that would decide
//! it sees bank keys other than the verified ones. H004 and H005, SQLite and PostgreSQL.

use axum::http::StatusCode;
use kontor_daemon::ebics::EbicsError;
use kontor_daemon::services::key_changes::KeyChange::{self, Hca, Hcs};
use kontor_protocol::keys::KeyHash;
use kontor_protocol::order_type::OrderType;
use kontor_protocol::ProtocolVersion::{self, H004, H005};
use kontor_storage::*;
use serde_json::json;

use super::key_changes::{
    active_hashes, bank_keys_of_user, change, hpb_unreachable, lose_answer_and_forget,
    operator_api, settle, statuses, sweep_effects,
};
use crate::support::emulator::{count_of, ready_world, World};
use crate::support::TestDb;

async fn count(w: &World, action: AuditAction, decided_by: &str) -> usize {
    w.audit_events()
        .await
        .iter()
        .filter(|e| e.action == action && e.detail["decided_by"] == decided_by)
        .count()
}

/// The key change's upload and its effect as they are now.
async fn the_upload(w: &World) -> Transaction {
    let [upload] = w.transactions().await.try_into().expect("one upload");
    upload
}

/// An HCA/HCS reached the bank but its answer was lost, and the bank could not be asked at
/// once. Before the sweep asks it, the bank rolls its keys (admin endpoint). The probe's HPB
/// shows the new bank keys: recorded as any rollover (UNVERIFIED generation 2, audited,
/// orders for the host held), and the change is not decided on them: its keys stay
/// SUBMITTED, no attempt is spent, asking again sends nothing. Once the operator verified
/// the new keys, the next sweep decides the change by itself.
async fn a_probe_seeing_rolled_bank_keys_waits_for_verification(
    db: TestDb,
    version: ProtocolVersion,
    kind: KeyChange,
) {
    let w = ready_world(db, version).await;
    let (app, token) = operator_api(&w).await;
    let first = active_hashes(&w).await;
    lose_answer_and_forget(&w);
    hpb_unreachable(&w);
    let lost = change(&w, kind).await;
    assert!(lost.is_err(), "{lost:?}");
    w.bank.faults().clear();
    let rolled = w.roll_bank_keys_via_admin().await;

    let effects = sweep_effects(&w).await;
    assert_eq!(effects.deferred, [the_upload(&w).await.id], "{effects:?}");

    // A rollover, as 091008 would have recorded it.
    let host_keys = w.host_keys().await;
    let published = match version {
        H004 => &rolled,
        _ => &rolled["h005"],
    };
    for (kind, name) in [
        (BankKeyKind::Authentication, "authentication"),
        (BankKeyKind::Encryption, "encryption"),
    ] {
        let new = host_keys
            .iter()
            .find(|k| k.kind == kind && k.generation == 2)
            .expect("the new generation");
        assert_eq!(new.verification_status, BankKeyVerification::Unverified);
        assert_eq!(
            new.key_hash,
            published[name]["hash_sha256_hex"]
                .as_str()
                .unwrap()
                .parse::<KeyHash>()
                .unwrap()
        );
    }
    let changed = count_of(&w.audit_events().await, AuditAction::BankKeyChanged);
    assert_eq!(changed, 2);

    // Not decided on the strength of unverified keys.
    let replaced = kind.usages().len();
    let submitted = statuses(&w)
        .await
        .into_iter()
        .filter(|(_, s)| *s == KeyStatus::Submitted)
        .count();
    assert_eq!(submitted, replaced, "{:?}", statuses(&w).await);
    assert_eq!(active_hashes(&w).await, first);
    assert_eq!(count(&w, AuditAction::KeyActivated, "probe").await, 0);
    assert_eq!(count(&w, AuditAction::KeyRevoked, "probe").await, 0);
    let upload = the_upload(&w).await;
    assert_eq!(upload.effect_attempts, 0, "{upload:?}");
    assert!(upload.effect_done_at.is_none());
    let why = upload.effect_error.as_deref().unwrap_or_default();
    assert!(why.contains("bank key verification required"), "{why}");

    // Orders for the host are held.
    let held = w.download(OrderType::HTD).await;
    assert!(
        matches!(held, Err(EbicsError::BankKeysNotVerified { .. })),
        "{held:?}"
    );

    // Asking again sends nothing (an HPB now would fail and spend an attempt) and decides
    // nothing: the sweep waits, an operator's PROBE answers 409 with the reason.
    hpb_unreachable(&w);
    let effects = sweep_effects(&w).await;
    assert_eq!(effects.deferred.len(), 1, "{effects:?}");
    assert_eq!(the_upload(&w).await.effect_attempts, 0);
    let probe = settle(&app, &token, &w, upload.id, json!({"decision": "PROBE"})).await;
    assert_eq!(probe.status, StatusCode::CONFLICT, "{}", probe.text());
    assert!(
        probe.text().contains("bank key verification required"),
        "{}",
        probe.text()
    );
    w.bank.faults().clear();

    // The operator verifies the bank's new letter: the next sweep decides by itself.
    w.decide_bank_keys(BankKeyVerification::Verified).await;
    let effects = sweep_effects(&w).await;
    assert_eq!(effects.applied, [upload.id], "{effects:?}");
    let after = active_hashes(&w).await;
    assert_eq!(bank_keys_of_user(&w).await, after);
    assert_ne!(after.1, first.1);
    assert_ne!(after.2, first.2);
    assert_eq!(
        count(&w, AuditAction::KeyActivated, "probe").await,
        replaced
    );
    let htd = w.download(OrderType::HTD).await;
    assert!(htd.is_ok(), "{htd:?}");
}

on_both_databases! {
    a_lost_hca_answer_probed_after_a_rollover_on_h004 => |db| a_probe_seeing_rolled_bank_keys_waits_for_verification(db, H004, Hca);
    a_lost_hca_answer_probed_after_a_rollover_on_h005 => |db| a_probe_seeing_rolled_bank_keys_waits_for_verification(db, H005, Hca);
    a_lost_hcs_answer_probed_after_a_rollover_on_h005 => |db| a_probe_seeing_rolled_bank_keys_waits_for_verification(db, H005, Hcs);
}
