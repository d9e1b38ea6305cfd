//! The bank rolls its keys mid-day: the scheduled download stops in a clear "bank key
//! verification required" state with the bank's 091008, nothing more is sent with the
//! unverified keys, the operator verifies the new letter and the download completes by itself.
//! H004 and H005, on SQLite and PostgreSQL.

use kontor_storage::ResultCode;
use std::sync::Arc;

use chrono::{Duration, Utc};
use kontor_daemon::services::hosts;
use kontor_daemon::services::orders::submit::{submit, SubmitOutcome, Submitter};
use kontor_daemon::services::orders::OrderError;
use kontor_daemon::services::scheduler::{Scheduler, SchedulerConfig};
use kontor_daemon::services::statement_job::StatementJob;
use kontor_protocol::keys::KeyHash;
use kontor_protocol::ProtocolVersion::{self, H004, H005};
use kontor_storage::{
    AuditAction, BankKeyKind, BankKeyVerification, Order, OrderStatus, RunOutcome, Schedule,
    SignatureClass, SignatureRule, TransactionPhase,
};

use crate::support::emulator::{count_of, ready_world};
use crate::support::payments::pain001;
use crate::support::TestDb;

async fn rollover_holds_the_scheduled_download_until_verified(
    db: TestDb,
    version: ProtocolVersion,
) {
    let w = ready_world(db, version).await;
    let account = w.describe_bank(&["CCT", "C53"]).await;
    let now = Utc::now();
    let schedule = w.c53_schedule(account, now - Duration::minutes(1)).await;
    let mut job = StatementJob::new(w.db.store.clone(), w.client.clone());
    job.first_lookback_days = 2;
    let scheduler = Scheduler::new(
        w.db.store.clone(),
        Arc::new(job),
        SchedulerConfig::new("ops-test"),
    );

    // Mid-day the bank rolls its keys.
    let rolled = w.bank.roll_keys().await.unwrap();
    let published = match version {
        H004 => rolled.published(),
        _ => rolled.published_h005().unwrap(),
    };
    let first = scheduler.tick(now).await.unwrap();
    assert_eq!(first.held, 1, "{first:?}");

    // The run is held with the bank's code, not failed; the refused transfer ended with it.
    let mut tx = w.tx().await;
    let [run] = tx
        .schedules()
        .runs(schedule.id)
        .await
        .unwrap()
        .try_into()
        .unwrap();
    let held: Schedule = tx.get(schedule.id).await.unwrap();
    drop(tx);
    assert_eq!(run.outcome, Some(RunOutcome::Held));
    let detail = run.detail.unwrap();
    assert!(
        detail.contains("bank key verification required") && detail.contains("091008"),
        "{detail}"
    );
    assert!(held.held_at.is_some());
    let [refused] = w.transactions().await.try_into().expect("one transaction");
    assert_eq!(refused.phase, TransactionPhase::Failed);
    assert_eq!(
        refused.failure_code,
        Some(ResultCode::Bank("091008".into()))
    );

    // HPB stored the new keys unverified as generation 2; the old ones stay, superseded.
    let keys = w.host_keys().await;
    assert_eq!(keys.len(), 4);
    let generations = [
        (1, BankKeyVerification::Verified, true),
        (2, BankKeyVerification::Unverified, false),
    ];
    for kind in [BankKeyKind::Authentication, BankKeyKind::Encryption] {
        for (generation, verification, superseded) in generations {
            let key = keys
                .iter()
                .find(|k| k.kind == kind && k.generation == generation)
                .unwrap();
            assert_eq!(key.verification_status, verification, "{key:?}");
            assert_eq!(key.superseded_at.is_some(), superseded, "{key:?}");
        }
    }
    assert_eq!(
        count_of(&w.audit_events().await, AuditAction::BankKeyChanged),
        2
    );

    // At its next time the schedule is held again without a request to the bank.
    let requests_at_bank = w.bank.state().transactions().len();
    let again = scheduler.tick(held.next_run_at).await.unwrap();
    assert_eq!(again.held, 1, "{again:?}");
    assert_eq!(w.transactions().await.len(), 1, "nothing sent");
    assert_eq!(w.bank.state().transactions().len(), requests_at_bank);

    // The operator verifies the new letter; the held download becomes due at once.
    let mut tx = w.tx().await;
    for key in keys.iter().filter(|k| k.generation == 2) {
        let letter = match key.kind {
            BankKeyKind::Authentication => published.authentication.hash,
            BankKeyKind::Encryption => published.encryption.hash,
        };
        let verified = hosts::verify_key(&mut tx, key.id, letter, "ops@acme.example")
            .await
            .unwrap();
        assert_eq!(verified.verification_status, BankKeyVerification::Verified);
    }
    tx.commit().await.unwrap();
    let released: Schedule = w.tx().await.get(schedule.id).await.unwrap();
    assert!(released.held_at.is_none());
    assert!(released.next_run_at <= Utc::now());

    let resumed = scheduler.tick(Utc::now()).await.unwrap();
    assert_eq!(resumed.succeeded, 1, "{resumed:?}");
    let transactions = w.transactions().await;
    assert_eq!(transactions.len(), 2);
    assert!(transactions
        .iter()
        .any(|t| t.phase == TransactionPhase::Completed));
    assert_eq!(
        count_of(&w.audit_events().await, AuditAction::BankKeyVerified),
        2
    );
}

/// A letter hash that does not match rejects the new key: audited, and the host stays held.
async fn a_wrong_letter_rejects_the_new_key(db: TestDb) {
    let w = ready_world(db, H004).await;
    w.bank.roll_keys().await.unwrap();
    w.fetch_bank_keys().await;
    let new = w
        .host_keys()
        .await
        .into_iter()
        .find(|k| k.generation == 2)
        .unwrap();
    let not_on_the_letter = KeyHash::from_bytes([0xAB; 32]);
    let rejected = w.verify_bank_key(new.id, not_on_the_letter).await;
    assert_eq!(rejected.verification_status, BankKeyVerification::Rejected);
    assert!(count_of(&w.audit_events().await, AuditAction::BankKeyRejected) > 0);
}

/// A payment submitted after the rollover is held, not rejected: the bank's 091008 refused
/// only the initialisation, so after verification the same order is uploaded (once).
async fn a_payment_is_held_and_uploaded_after_verification(db: TestDb) {
    let w = ready_world(db, H004).await;
    w.describe_bank(&["CCT", "C53"]).await;
    w.permit("CCT", SignatureClass::E).await;
    let order = w
        .signed_order(
            &pain001("ROLL-MSG-1", &[("Beta AG", "10.00")]),
            SignatureRule::Standard,
        )
        .await;
    let rolled = w.bank.roll_keys().await.unwrap().published();
    let submitter = Submitter::new("instance-a");

    let held = submit(&w.db.store, &w.client, &submitter, &w.scope, order.id).await;
    assert!(
        matches!(&held, Err(OrderError::Uncertain(why)) if why.contains("bank key verification required") && why.contains("091008")),
        "{held:?}"
    );
    // A second try before verification sends nothing.
    let again = submit(&w.db.store, &w.client, &submitter, &w.scope, order.id).await;
    assert!(matches!(&again, Err(OrderError::Uncertain(_))), "{again:?}");
    assert_eq!(
        w.transactions().await.len(),
        1,
        "nothing sent with unverified keys"
    );
    assert!(w.bank.state().received_orders().is_empty());
    let still: Order = w.tx().await.get(order.id).await.unwrap();
    assert_eq!(still.status, OrderStatus::Submitted);

    let keys = w.host_keys().await;
    let mut tx = w.tx().await;
    for key in keys.iter().filter(|k| k.generation == 2) {
        let letter = match key.kind {
            BankKeyKind::Authentication => rolled.authentication.hash,
            BankKeyKind::Encryption => rolled.encryption.hash,
        };
        hosts::verify_key(&mut tx, key.id, letter, "ops@acme.example")
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let sent = submit(&w.db.store, &w.client, &submitter, &w.scope, order.id)
        .await
        .unwrap();
    assert!(matches!(sent, SubmitOutcome::Accepted(_)), "{sent:?}");
    assert_eq!(w.bank.state().received_orders().len(), 1);
}

on_both_databases! {
    a_payment_is_held_by_a_rollover_and_uploaded_after_verification => a_payment_is_held_and_uploaded_after_verification;
    bank_key_rollover_holds_the_scheduled_download_until_verified_h004 =>
        |db| rollover_holds_the_scheduled_download_until_verified(db, H004);
    bank_key_rollover_holds_the_scheduled_download_until_verified_h005 =>
        |db| rollover_holds_the_scheduled_download_until_verified(db, H005);
    a_wrong_letter_rejects_the_new_bank_key => a_wrong_letter_rejects_the_new_key;
}
