//! User key changes against the bank emulator, H004 and H005: HCA, then HCS, through the
//! API; payments signed before and after complete; the old keys are EXPIRED and the audit
//! log says who did what.

use axum::http::{Method, StatusCode};
use kontor_daemon::api::{router, AppState};
use kontor_daemon::services::effects::{apply_pending_effects, EffectReport};
use kontor_daemon::services::key_changes::KeyChange::{self, Hca, Hcs, Pub};
use kontor_daemon::services::key_changes::{change_keys, KeyChangeOutcome};
use kontor_daemon::services::orders::submit_order;
use kontor_daemon::services::ServiceError;
use kontor_protocol::keys::KeyHash;
use kontor_protocol::order_type::OrderType;
use kontor_protocol::ProtocolVersion::{self, H004, H005};
use kontor_storage::*;
use serde_json::json;

use crate::support::api::{call, Payload};
use crate::support::emulator::{audit_trail, current_key, ready_world, world, Setup, World};
use crate::support::payments::pain001;
use crate::support::TestDb;

pub(super) async fn bank_keys_of_user(w: &World) -> (KeyHash, KeyHash, KeyHash) {
    let subscriber = w
        .bank
        .state()
        .subscriber(&w.partner_id.parse().unwrap(), &w.user_id.parse().unwrap())
        .unwrap();
    let hash = |k: Option<&kontor_bank::state::SubmittedKey>| k.unwrap().hash;
    (
        hash(subscriber.keys.signature.as_ref()),
        hash(subscriber.keys.authentication.as_ref()),
        hash(subscriber.keys.encryption.as_ref()),
    )
}

pub(super) async fn active_hashes(w: &World) -> (KeyHash, KeyHash, KeyHash) {
    let mut tx = w.tx().await;
    let mut out = Vec::new();
    for usage in [
        KeyUsage::Signature,
        KeyUsage::Authentication,
        KeyUsage::Encryption,
    ] {
        let key = current_key(&mut tx, w.user, usage).await;
        assert_eq!(key.status, KeyStatus::Active, "{usage:?}");
        out.push(key.key_hash);
    }
    (out[0], out[1], out[2])
}

/// Signs a payment with the user's current signature key, submits it and checks the bank
/// took it with a verified ES.
async fn pay(w: &World, message_id: &str) -> Order {
    let content = pain001(message_id, &[("Beta AG", "10.00")]);
    let order = w.signed_order(&content, SignatureRule::Standard).await;
    let order = submit_order(&w.services, &w.scope, order.id).await.unwrap();
    assert!(
        matches!(
            order.status,
            OrderStatus::Processing | OrderStatus::Completed
        ),
        "{order:?}"
    );
    assert!(order.bank_order_id.is_some());
    order
}

async fn change_via_api(
    app: &axum::Router,
    token: &str,
    w: &World,
    kind: &str,
) -> serde_json::Value {
    let reply = call(
        app,
        Method::POST,
        &format!("/v1/ebics-users/{}/key-changes", w.user),
        Some(token),
        Payload::Json(json!({ "kind": kind })),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{kind}: {}", reply.text());
    reply.json()
}

/// A READY user who may pay (CCT), the API over the world's services and an Admin's token.
async fn paying_world(db: TestDb, version: ProtocolVersion) -> (World, axum::Router, String) {
    let w = ready_world(db, version).await;
    w.describe_bank(&["CCT", "C53"]).await;
    w.permit("CCT", SignatureClass::E).await;
    let app = router(AppState::new(w.services.clone()));
    let token = w.token("keys@acme.example", Role::Admin).await;
    (w, app, token)
}

async fn hca_then_hcs_replace_the_keys_and_payments_before_and_after_complete(
    db: TestDb,
    version: ProtocolVersion,
) {
    let (w, app, token) = paying_world(db, version).await;

    // READY means the bank activated the keys INI/HIA sent: they are ACTIVE, and the bank's.
    let first = active_hashes(&w).await;
    assert_eq!(bank_keys_of_user(&w).await, first);
    // Signed with the first signature key; HCA leaves that key, so it is sent after HCA.
    let content = pain001("KEYS-BEFORE", &[("Beta AG", "10.00")]);
    let signed_before = w.signed_order(&content, SignatureRule::Standard).await;

    let hca = change_via_api(&app, &token, &w, "HCA").await;
    let before = submit_order(&w.services, &w.scope, signed_before.id)
        .await
        .unwrap();
    assert!(before.bank_order_id.is_some(), "{before:?}");
    assert_eq!(hca["kind"], "HCA");
    let after_hca = active_hashes(&w).await;
    assert_eq!(after_hca.0, first.0, "HCA keeps the signature key");
    assert_ne!(after_hca.1, first.1);
    assert_ne!(after_hca.2, first.2);
    assert_eq!(bank_keys_of_user(&w).await, after_hca);
    // The API shows each hash as its canonical upper-case hex.
    let answered: Vec<&str> = hca["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["key_hash"].as_str().unwrap())
        .collect();
    assert_eq!(
        answered,
        [after_hca.1.to_hex_upper(), after_hca.2.to_hex_upper()]
    );

    // HCS replaces the signature key: an order signed with it that has not reached the bank
    // would be refused there afterwards, so the change waits for it.
    let content = pain001("KEYS-WAITING", &[("Beta AG", "20.00")]);
    let waiting = w.signed_order(&content, SignatureRule::Standard).await;
    let refused = call(
        &app,
        Method::POST,
        &format!("/v1/ebics-users/{}/key-changes", w.user),
        Some(&token),
        Payload::Json(json!({ "kind": "HCS" })),
    )
    .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text());
    assert_eq!(refused.code(), "signed_orders_waiting");
    submit_order(&w.services, &w.scope, waiting.id)
        .await
        .unwrap();

    let hcs = change_via_api(&app, &token, &w, "HCS").await;
    assert_eq!(hcs["keys"].as_array().unwrap().len(), 3);
    let after_hcs = active_hashes(&w).await;
    assert_ne!(after_hcs.0, first.0);
    assert_ne!(after_hcs.1, after_hca.1);
    assert_ne!(after_hcs.2, after_hca.2);
    assert_eq!(bank_keys_of_user(&w).await, after_hcs);

    // A payment signed with the new signature key goes through, and so does a download
    // encrypted for the new encryption key (the bank's status report of both payments).
    let after = pay(&w, "KEYS-AFTER").await;
    let received = w.bank.state().received_orders();
    assert_eq!(received.len(), 3);
    assert_ne!(before.bank_order_id, after.bank_order_id);

    // The replaced keys are EXPIRED, never deleted: their ciphertext stays.
    let mut tx = w.tx().await;
    let keys = tx.key_pairs().list_for_user(w.user).await.unwrap();
    let expired: Vec<&KeyPair> = keys
        .iter()
        .filter(|k| k.status == KeyStatus::Expired)
        .collect();
    assert_eq!(expired.len(), 5, "{keys:?}");
    assert!(expired
        .iter()
        .all(|k| !k.encrypted_private_key().is_empty()));
    for old in [&first.1, &first.2, &after_hca.1, &after_hca.2, &first.0] {
        assert!(expired.iter().any(|k| &k.key_hash == old), "{old} expired");
    }
    drop(tx);

    // Who did what: the operator generated, submitted and activated; one record per key.
    let audit = call(
        &app,
        Method::GET,
        "/v1/audit-events",
        Some(&token),
        Payload::None,
    )
    .await;
    assert_eq!(audit.status, StatusCode::OK, "{}", audit.text());
    let events = audit.json();
    let events = events
        .as_array()
        .or_else(|| events["items"].as_array())
        .cloned()
        .unwrap_or_default();
    let count = |action: &str| {
        events
            .iter()
            .filter(|e| e["action"] == action && e["actor_kind"] == "OPERATOR")
            .count()
    };
    assert_eq!(count("KEY_GENERATED"), 5, "{events:#?}");
    assert_eq!(count("KEY_SUBMITTED"), 5);
    assert_eq!(count("KEY_ACTIVATED"), 5);
    assert_eq!(count("KEY_EXPIRED"), 5);
    assert!(events
        .iter()
        .filter(|e| e["action"] == "KEY_SUBMITTED")
        .all(|e| ["HCA", "HCS"].contains(&e["detail"]["order_type"].as_str().unwrap())));
}

/// A key change the bank refuses (its ES does not verify: the bank holds another signature
/// key) leaves the old keys ACTIVE and revokes the new ones.
async fn a_refused_key_change_revokes_the_new_keys_and_keeps_the_old(db: TestDb) {
    let w = ready_world(db, H004).await;
    let before = active_hashes(&w).await;
    // The bank clerk resets the subscriber's signature key behind the daemon's back.
    let subscriber = w
        .bank
        .state()
        .subscriber(&w.partner_id.parse().unwrap(), &w.user_id.parse().unwrap())
        .unwrap();
    let mut other = subscriber.keys.clone();
    let spare = kontor_protocol::keys::KeyPair::generate(
        &mut rand::rngs::OsRng,
        kontor_protocol::keys::KeySize::Bits2048,
    )
    .unwrap();
    let mut signature = other.signature.clone().unwrap();
    signature.public_key = spare.public_key().to_spki_der().unwrap();
    other.signature = Some(signature);
    other.authentication = None;
    other.encryption = None;
    w.bank
        .state()
        .replace_keys(
            &w.partner_id.parse().unwrap(),
            &w.user_id.parse().unwrap(),
            other,
        )
        .unwrap();

    let refused = change(&w, Hca).await;
    assert!(
        matches!(&refused, Err(ServiceError::BankRefused { code, .. }) if code.as_str() == "091301"),
        "{refused:?}"
    );
    assert_eq!(active_hashes(&w).await, before);
    let keys = statuses(&w).await;
    let revoked = keys
        .iter()
        .filter(|(_, s)| *s == KeyStatus::Revoked)
        .count();
    assert_eq!(revoked, 2);
    let mut tx = w.tx().await;
    // The last segment reached the bank: its refusal is confirmed by asking it.
    assert_decided_by_probe(&mut tx, AuditAction::KeyRevoked).await;
}

/// The bank applies an HCA (or HCS) but its answer to the last segment is lost; the retry
/// is refused (091101: the bank forgot the transaction; a bank checking the old
/// authentication key first would say 061001). The outcome is not guessed: a probe
/// (HPB with the new keys) shows the bank holds them, so they are ACTIVE and the user can
/// still download.
async fn a_lost_answer_is_decided_by_probing_the_bank(
    db: TestDb,
    version: ProtocolVersion,
    kind: KeyChange,
) {
    let w = ready_world(db, version).await;
    let first = active_hashes(&w).await;
    lose_answer_and_forget(&w);
    let outcome = change(&w, kind).await;
    let outcome = outcome.unwrap();
    let replaced = kind.usages().len();
    assert_eq!(outcome.keys.len(), replaced, "{outcome:?}");
    let after = active_hashes(&w).await;
    assert_eq!(
        after.0 == first.0,
        replaced == 2,
        "HCA keeps the signature key"
    );
    assert_ne!(after.1, first.1);
    assert_ne!(after.2, first.2);
    assert_eq!(bank_keys_of_user(&w).await, after);
    let mut tx = w.tx().await;
    let keys = tx.key_pairs().list_for_user(w.user).await.unwrap();
    assert_eq!(
        keys.iter()
            .filter(|k| k.status == KeyStatus::Expired)
            .count(),
        replaced,
        "{keys:?}"
    );
    assert!(
        keys.iter().all(|k| k.status != KeyStatus::Revoked),
        "{keys:?}"
    );
    assert_decided_by_probe(&mut tx, AuditAction::KeyActivated).await;
    drop(tx);
    // Authenticated with the new key, encrypted for the new one: the download works.
    let htd = w.download(OrderType::HTD).await;
    assert!(htd.is_ok(), "{htd:?}");
}

/// The bank processes the upload's segments but every answer (`times`) is lost. Any upload
/// matches: once the bank finished the transaction, it no longer knows its order type.
/// The audit log records `action` as decided by the probe of the bank.
async fn assert_decided_by_probe(tx: &mut ScopedTx<'_>, action: AuditAction) {
    let audit = audit_trail(tx).await;
    assert!(
        audit
            .iter()
            .any(|e| e.action == action && e.detail["decided_by"] == "probe"),
        "{action:?}: {audit:?}"
    );
}

fn lose_transfer_answers(w: &World, times: Option<u32>) {
    w.fault(
        kontor_bank::FaultMatcher {
            phase: Some(kontor_bank::TransactionPhase::Transfer),
            ..Default::default()
        },
        kontor_bank::FaultAction::DropResponse,
        times,
    );
}

/// The bank applies the upload, its answer is lost, and it does not replay the answer to the
/// re-sent last segment (it forgot the transaction: 091101): the transfer ends FAILED.
pub(super) fn lose_answer_and_forget(w: &World) {
    let transfer = kontor_bank::FaultMatcher {
        phase: Some(kontor_bank::TransactionPhase::Transfer),
        ..Default::default()
    };
    let rule = |action| kontor_bank::FaultRule {
        name: None,
        matcher: transfer.clone(),
        action,
        times: Some(1),
        skip: 0,
    };
    w.bank
        .faults()
        .install(vec![
            rule(kontor_bank::FaultAction::DropResponse),
            rule(kontor_bank::FaultAction::ReturnCode {
                code: "091101".into(),
                table: None,
            }),
        ])
        .unwrap();
}

/// No HPB gets through to the bank (asking it fails).
pub(super) fn hpb_unreachable(w: &World) {
    w.fault_on("HPB", kontor_bank::FaultAction::DropConnection, None);
}

/// The API and an admin's token for the world's tenant.
pub(super) async fn operator_api(w: &World) -> (axum::Router, String) {
    let app = router(AppState::new(w.services.clone()));
    (app, w.token("keys@acme.example", Role::Admin).await)
}

/// A key change of the world's user.
pub(super) async fn change(w: &World, change: KeyChange) -> Result<KeyChangeOutcome, ServiceError> {
    change_keys(&w.services, &w.scope, w.user, change).await
}

/// One sweep of the pending upload effects.
pub(super) async fn sweep_effects(w: &World) -> EffectReport {
    apply_pending_effects(&w.services).await.unwrap()
}

/// The one upload's effect waits, saying the bank's answer is unknown.
async fn assert_change_unconfirmed(w: &World) {
    let [upload] = w.transactions().await.try_into().expect("one upload");
    let error = upload.effect_error.as_deref().unwrap_or_default();
    assert!(error.contains("KEY_CHANGE_UNCONFIRMED"), "{upload:?}");
}

pub(super) async fn statuses(w: &World) -> Vec<(KeyUsage, KeyStatus)> {
    let mut tx = w.tx().await;
    let mut keys: Vec<(KeyUsage, KeyStatus)> = tx
        .key_pairs()
        .list_for_user(w.user)
        .await
        .unwrap()
        .into_iter()
        .map(|k| (k.usage, k.status))
        .collect();
    keys.sort_by_key(|(u, s)| (u.as_str(), s.as_str()));
    keys
}

/// Every answer to the HCA's last segment is lost, retries included: the transfer waits for
/// recovery and the new keys stay SUBMITTED (not revoked). Recovery's re-sent segment is
/// refused; the effect sweep asks the bank with the new keys and activates them.
async fn a_lost_hca_answer_is_decided_after_recovery(db: TestDb) {
    let w = ready_world(db, H004).await;
    let first = active_hashes(&w).await;
    lose_transfer_answers(&w, None);
    let lost = change(&w, Hca).await;
    assert!(lost.is_err(), "{lost:?}");
    assert_eq!(active_hashes(&w).await, first, "still the old keys");
    let submitted = statuses(&w)
        .await
        .into_iter()
        .filter(|(_, s)| *s == KeyStatus::Submitted)
        .count();
    assert_eq!(submitted, 2, "{:?}", statuses(&w).await);
    assert_ne!(
        bank_keys_of_user(&w).await,
        first,
        "the bank applied the change"
    );

    w.bank.faults().clear();
    let report = w.client.recover_unfinished().await.unwrap();
    assert_eq!(report.ended.len(), 1, "{report:?}");
    // The bank cannot be asked yet (HPB does not get through): undecided, nothing revoked.
    hpb_unreachable(&w);
    let effects = sweep_effects(&w).await;
    assert_eq!(effects.deferred.len(), 1, "{effects:?}");
    assert_change_unconfirmed(&w).await;
    assert_eq!(active_hashes(&w).await, first);
    w.bank.faults().clear();
    let effects = sweep_effects(&w).await;
    assert_eq!(effects.applied.len(), 1, "{effects:?}");
    let after = active_hashes(&w).await;
    assert_eq!(bank_keys_of_user(&w).await, after);
    assert_ne!(after.1, first.1);
    let htd = w.download(OrderType::HTD).await;
    assert!(htd.is_ok(), "{htd:?}");
}

/// A PUB whose answer was lost cannot be checked without an order: the new signature key
/// stays SUBMITTED (never revoked by guess), the old one ACTIVE, the effect says why, and a
/// further key change waits.
async fn a_lost_pub_answer_stays_undecided(db: TestDb) {
    let w = ready_world(db, H004).await;
    let first = active_hashes(&w).await;
    lose_answer_and_forget(&w);
    let lost = change(&w, Pub).await;
    assert!(lost.is_err(), "{lost:?}");
    assert_eq!(active_hashes(&w).await, first);
    let effects = sweep_effects(&w).await;
    assert_eq!(effects.deferred.len(), 1, "{effects:?}");
    assert_change_unconfirmed(&w).await;
    assert!(statuses(&w)
        .await
        .contains(&(KeyUsage::Signature, KeyStatus::Submitted)));
    let again = change(&w, Hca).await;
    assert!(
        matches!(
            &again,
            Err(ServiceError::Refused(
                kontor_daemon::services::Refusal::KeyChangeInProgress
            ))
        ),
        "{again:?}"
    );
}

pub(super) async fn settle(
    app: &axum::Router,
    token: &str,
    w: &World,
    change: impl std::fmt::Display,
    body: serde_json::Value,
) -> crate::support::api::Reply {
    call(
        app,
        Method::POST,
        &format!("/v1/ebics-users/{}/key-changes/{change}/settle", w.user),
        Some(token),
        Payload::Json(body),
    )
    .await
}

/// A PUB whose answer was lost stays undecided; the operator checks with the bank (which did
/// apply it) and settles it ACCEPTED: the new signature key is ACTIVE, the old EXPIRED, a
/// payment signed with the new key goes through, and a second settlement answers 409.
async fn an_operator_settles_an_undecided_pub(db: TestDb) {
    let (w, app, token) = paying_world(db, H004).await;
    let first = active_hashes(&w).await;
    lose_answer_and_forget(&w);
    let lost = kontor_daemon::services::key_changes::change_keys(
        &w.services,
        &w.scope,
        w.user,
        kontor_daemon::services::key_changes::KeyChange::Pub,
    )
    .await;
    assert!(lost.is_err(), "{lost:?}");
    w.bank.faults().clear();
    let [upload] = w.transactions().await.try_into().expect("one upload");

    // Not undecided: another user's id, a download, or an unknown id answer 404.
    let unknown = settle(
        &app,
        &token,
        &w,
        TransactionId::new(),
        json!({"decision": "ACCEPTED"}),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.text());
    let wrong = settle(&app, &token, &w, upload.id, json!({"decision": "MAYBE"})).await;
    assert_eq!(
        wrong.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        wrong.text()
    );
    // PUB cannot be probed: it stays undecided and nothing changes.
    let probe = settle(&app, &token, &w, upload.id, json!({"decision": "PROBE"})).await;
    assert!(probe.status.is_client_error(), "{}", probe.text());
    assert!(statuses(&w)
        .await
        .contains(&(KeyUsage::Signature, KeyStatus::Submitted)));

    let settled = settle(
        &app,
        &token,
        &w,
        upload.id,
        json!({"decision": "ACCEPTED", "note": "bank support confirmed the new key"}),
    )
    .await;
    assert_eq!(settled.status, StatusCode::OK, "{}", settled.text());
    let settled = settled.json();
    assert_eq!(settled["decision"], "ACCEPTED");
    assert_eq!(settled["keys"][0]["status"], "ACTIVE");
    let now = active_hashes(&w).await;
    assert_ne!(now.0, first.0);
    assert_eq!(
        bank_keys_of_user(&w).await,
        now,
        "the daemon agrees with the bank"
    );
    pay(&w, "SETTLED-AFTER").await;

    let again = settle(&app, &token, &w, upload.id, json!({"decision": "REFUSED"})).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text());
    assert_eq!(again.json()["error"]["code"], "nothing_undecided");
    let mut tx = w.tx().await;
    let upload: Transaction = tx.get(upload.id).await.unwrap();
    assert!(
        upload.effect_done_at.is_some() && upload.effect_error.is_none(),
        "{upload:?}"
    );
    let events = audit_trail(&mut tx).await;
    let record = events
        .iter()
        .find(|e| e.action == AuditAction::KeyChangeSettled)
        .expect("KEY_CHANGE_SETTLED");
    assert_eq!(record.detail["outcome"], "ACCEPTED");
    assert_eq!(record.detail["note"], "bank support confirmed the new key");
    assert!(events
        .iter()
        .any(|e| e.action == AuditAction::KeyExpired && e.detail["decided_by"] == "operator"));
}

/// An HCA left undecided while the bank could not be asked is settled by asking again
/// (PROBE) once it can; an undecided change the operator REFUSES revokes its keys.
async fn an_operator_probes_or_refuses_an_undecided_hca(db: TestDb) {
    let w = ready_world(db, H004).await;
    let app = router(AppState::new(w.services.clone()));
    let token = w.token("keys@acme.example", Role::Admin).await;
    let first = active_hashes(&w).await;
    lose_answer_and_forget(&w);
    hpb_unreachable(&w);
    let lost =
        kontor_daemon::services::key_changes::change_keys(&w.services, &w.scope, w.user, Hca).await;
    assert!(lost.is_err(), "{lost:?}");
    let [upload] = w.transactions().await.try_into().expect("one upload");
    let still = settle(&app, &token, &w, upload.id, json!({"decision": "PROBE"})).await;
    assert!(
        still.status.is_client_error() || still.status.is_server_error(),
        "{}",
        still.text()
    );
    assert_eq!(active_hashes(&w).await, first, "undecided: nothing changed");
    w.bank.faults().clear();
    let probed = settle(&app, &token, &w, upload.id, json!({"decision": "PROBE"})).await;
    assert_eq!(probed.status, StatusCode::OK, "{}", probed.text());
    let now = active_hashes(&w).await;
    assert_ne!(now.1, first.1);
    assert_eq!(bank_keys_of_user(&w).await, now);

    // REFUSED is the operator's word after checking with the bank: the new keys of a second
    // undecided HCA are REVOKED without asking it, the keys before stay ACTIVE.
    lose_answer_and_forget(&w);
    hpb_unreachable(&w);
    let lost =
        kontor_daemon::services::key_changes::change_keys(&w.services, &w.scope, w.user, Hca).await;
    assert!(lost.is_err(), "{lost:?}");
    w.bank.faults().clear();
    let second = w
        .transactions()
        .await
        .into_iter()
        .find(|t| t.id != upload.id)
        .expect("second upload");
    let refused = settle(&app, &token, &w, second.id, json!({"decision": "REFUSED"})).await;
    assert_eq!(refused.status, StatusCode::OK, "{}", refused.text());
    assert!(refused.json()["keys"]
        .as_array()
        .unwrap()
        .iter()
        .all(|k| k["status"] == "REVOKED"));
    assert_eq!(
        active_hashes(&w).await,
        now,
        "the keys before the refused change stay"
    );
}

/// A key change needs a READY user and waits for running transfers.
async fn key_changes_are_refused_before_ready(db: TestDb) {
    let w = world(db, Setup::new(H004)).await;
    let refused = change(&w, Hcs).await;
    assert!(
        matches!(
            &refused,
            Err(ServiceError::Refused(
                kontor_daemon::services::Refusal::UserNotIn { .. }
            ))
        ),
        "{refused:?}"
    );
    let mut tx = w.tx().await;
    assert_eq!(tx.key_pairs().list_for_user(w.user).await.unwrap().len(), 3);
}

on_both_databases! {
    hca_then_hcs_on_h004 => |db| hca_then_hcs_replace_the_keys_and_payments_before_and_after_complete(db, H004);
    hca_then_hcs_on_h005 => |db| hca_then_hcs_replace_the_keys_and_payments_before_and_after_complete(db, H005);
    a_refused_key_change_revokes_the_new_keys_and_keeps_the_old;
    key_changes_are_refused_before_ready;
    a_lost_hca_answer_on_h004 => |db| a_lost_answer_is_decided_by_probing_the_bank(db, H004, Hca);
    a_lost_hca_answer_on_h005 => |db| a_lost_answer_is_decided_by_probing_the_bank(db, H005, Hca);
    a_lost_hcs_answer_on_h005 => |db| a_lost_answer_is_decided_by_probing_the_bank(db, H005, Hcs);
    a_lost_hca_answer_is_decided_after_recovery;
    a_lost_pub_answer_stays_undecided;
    an_operator_settles_an_undecided_pub;
    an_operator_probes_or_refuses_an_undecided_hca;
}
