//! Suspension: the API's suspend sends SPR and marks the user SUSPENDED once the bank
//! confirmed; the bank then refuses the user's requests, and a refusal for the user's state
//! (091002) locks it with the bank's code; re-activation starts over with new keys. H004 and
//! H005, on SQLite and PostgreSQL.

use kontor_daemon::ebics::{DownloadRequest, EbicsError};
use kontor_daemon::services::{users, AsUser, Bank};
use kontor_protocol::order_type::OrderType;
use kontor_protocol::ProtocolVersion::{self, H004, H005};
use kontor_storage::{
    AuditAction, AuditEvent, EbicsUser, EbicsUserStatus, KeyStatus, KeyUsage, Page, ResultCode,
};

use crate::support::emulator::{current_key, ready_world};
use crate::support::TestDb;
use kontor_testkit::bank::{days_before_today, missed_suspension};

async fn suspension_is_confirmed_by_the_bank(db: TestDb, version: ProtocolVersion) {
    let w = ready_world(db, version).await;
    let suspended = users::suspend(&w.services, &w.scope, w.user, None)
        .await
        .unwrap();
    assert_eq!(suspended.status, EbicsUserStatus::Suspended);
    assert_eq!(
        suspended.status_reason_code,
        Some(ResultCode::Bank("000000".into()))
    );
    assert!(suspended.status_reason_at.is_some());
    let at_bank = w
        .bank
        .state()
        .subscriber(&w.partner_id.parse().unwrap(), &w.user_id.parse().unwrap())
        .unwrap();
    assert_eq!(
        at_bank.status,
        kontor_bank::state::SubscriberStatus::Suspended
    );

    // Another instance that missed the suspension still believes the user READY: the bank
    // refuses its next request, and the refusal locks the user with the bank's code.
    missed_suspension(&w.db.store, &w.scope, w.user).await;
    let (from, to) = days_before_today(3);
    let request = DownloadRequest::new(OrderType::STA).with_period(from, to);
    let as_user = AsUser {
        scope: &w.scope,
        user: w.user,
    };
    let refused = Bank::download(&w.client, as_user, request)
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, EbicsError::Bank { rejection, .. } if rejection.code.as_str() == "091002"),
        "{refused}"
    );
    let mut tx = w.tx().await;
    let user: EbicsUser = tx.get(w.user).await.unwrap();
    assert_eq!(user.status, EbicsUserStatus::Locked);
    // The bank's code and text stay on the user, for the user view and the API.
    assert_eq!(
        user.status_reason_code,
        Some(ResultCode::Bank("091002".into()))
    );
    assert!(
        user.status_reason_message
            .as_deref()
            .is_some_and(|m| !m.is_empty()),
        "{user:?}"
    );
    let events: Vec<AuditEvent> = tx.list(Page::first(100)).await.unwrap();
    let actions: Vec<AuditAction> = events.iter().map(|e| e.action).collect();
    assert!(
        actions.contains(&AuditAction::EbicsUserSuspended),
        "{actions:?}"
    );
    let locked = events
        .iter()
        .find(|e| e.action == AuditAction::EbicsUserLocked)
        .expect("lock audited");
    assert_eq!(locked.detail["code"], "091002");

    // Re-activation: back to NEW, the old keys revoked.
    let signature = current_key(&mut tx, w.user, KeyUsage::Signature).await;
    let resumed = users::resume(&mut tx, w.user).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(resumed.status, EbicsUserStatus::New);
    assert_eq!(resumed.status_reason_code, None);
    let old: kontor_storage::KeyPair = w.tx().await.get(signature.id).await.unwrap();
    assert_eq!(old.status, KeyStatus::Revoked);
}

on_both_databases! {
    h004_suspension_sends_spr_and_the_bank_refuses_the_user =>
        |db| suspension_is_confirmed_by_the_bank(db, H004);
    h005_suspension_sends_spr_and_the_bank_refuses_the_user =>
        |db| suspension_is_confirmed_by_the_bank(db, H005);
}
