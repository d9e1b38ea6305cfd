//! Failures that end, against the emulator: an answer the bank did not sign, a bank away
//! for longer than recovery waits, a failed first sync, a mistyped bank key hash. Each ends
//! in a state with a code and a message an operator reads, after a counted number of
//! attempts (never a timed wait).

use kontor_bank::{FaultAction, FaultMatcher, TransactionPhase as BankPhase};
use kontor_daemon::ebics::{
    recovery::MAX_RECOVERY_PASSES, DownloadRequest, EbicsError, RetryPolicy,
};
use kontor_daemon::runtime::{self, DaemonOptions};
use kontor_daemon::services::onboarding::sync_user_data;
use kontor_daemon::services::orders::{submit_order, OrderError};
use kontor_daemon::services::{hosts, AsUser, Bank, Refusal, ServiceError};
use kontor_protocol::keys::KeyHash;
use kontor_protocol::order_type::OrderType;
use kontor_protocol::xmldsig::XmlDsigError;
use kontor_protocol::ProtocolVersion::{H004, H005};
use kontor_storage::{
    BankHost, BankKey, BankKeyVerification, EbicsUser, EbicsUserStatus, NewBankHost, NewBankKey,
    Order, OrderStatus, Role, SignatureRule, TransactionPhase,
};
use kontor_storage::{KontorFailure, ResultCode};

use crate::support::emulator::{world, Setup, World};
use crate::support::payments::pain001;
use crate::support::TestDb;

/// Request attempts the world's retry policy makes per exchange.
const ATTEMPTS: u32 = 3;

fn setup(version: kontor_protocol::ProtocolVersion) -> Setup {
    let mut setup = Setup::new(version);
    setup.retry = RetryPolicy::immediate(ATTEMPTS);
    setup
}

/// How often the world's (single) fault rule fired: the requests it spoiled.
fn fired(w: &World) -> u64 {
    w.bank.faults().rules().iter().map(|r| r.fired).sum()
}

/// A wrong bank signature is never accepted: the download fails with it once the session's
/// retries are spent.
async fn a_bad_bank_signature_fails_the_transaction_after_the_retries_only(db: TestDb) {
    let w = world(db, setup(H004)).await;
    w.ready().await;
    w.fault(
        FaultMatcher::default(),
        FaultAction::WrongAuthSignature,
        None,
    );
    let refused = w.download_sta().await.unwrap_err();
    assert!(
        matches!(
            refused,
            EbicsError::BankSignature(XmlDsigError::BadSignature)
        ),
        "{refused}"
    );
    let [transaction] = w.transactions().await.try_into().expect("one download");
    assert_eq!(transaction.phase, TransactionPhase::Failed);
    assert_eq!(
        transaction.failure_code,
        Some(ResultCode::Kontor(KontorFailure::BankSignatureInvalid))
    );
    assert!(
        transaction
            .failure_text
            .as_deref()
            .unwrap_or_default()
            .contains("signature"),
        "{transaction:?}"
    );
    assert_eq!(fired(&w), u64::from(ATTEMPTS), "the retries, and no more");
    // Recovery has nothing left to try: no request reaches the bank again.
    for _ in 0..3 {
        let report = w.client.recover_unfinished().await.unwrap();
        assert_eq!(report, Default::default());
    }
    assert_eq!(fired(&w), u64::from(ATTEMPTS));
}

async fn an_order_whose_upload_answer_is_not_signed_by_the_bank_ends_with_the_code(db: TestDb) {
    let w = world(db, setup(H005)).await;
    w.ready().await;
    w.describe_bank(&["BTU"]).await;
    w.permit("BTU", kontor_storage::SignatureClass::E).await;
    let order = w
        .signed_order(
            &pain001("BAD-SIG-1", &[("Beta AG", "10.00")]),
            SignatureRule::Standard,
        )
        .await;
    w.fault(
        FaultMatcher::default(),
        FaultAction::WrongAuthSignature,
        None,
    );
    let first = submit_order(&w.services, &w.scope, order.id).await;
    assert!(first.is_err(), "{first:?}");
    // Asking again settles the order from its failed transaction; nothing is sent again.
    let sent = fired(&w);
    let again = submit_order(&w.services, &w.scope, order.id).await;
    assert!(
        matches!(&again, Err(ServiceError::BankRefused { code, .. }) if *code == ResultCode::Kontor(KontorFailure::BankSignatureInvalid)),
        "{again:?}"
    );
    assert_eq!(fired(&w), sent);
    let mut tx = w.tx().await;
    let order: Order = tx.get(order.id).await.unwrap();
    assert_eq!(order.status, OrderStatus::Rejected);
    assert_eq!(
        order.bank_return_code,
        Some(ResultCode::Kontor(KontorFailure::BankSignatureInvalid))
    );
    assert!(order.bank_return_text.is_some());
}

async fn recovery_gives_up_after_its_bounded_passes_and_says_why(db: TestDb) {
    let w = world(db, setup(H004)).await;
    w.ready().await;
    w.fault_in(
        BankPhase::Initialisation,
        FaultAction::HttpStatus { status: 503 },
        None,
    );
    let unreachable = w.download_sta().await.unwrap_err();
    assert!(
        matches!(unreachable, EbicsError::Transport(_)),
        "{unreachable}"
    );
    let [transaction] = w.transactions().await.try_into().expect("one download");
    let mut passes = 0;
    loop {
        let report = w.client.recover_unfinished().await.unwrap();
        if report.ended.contains(&transaction.id) {
            break;
        }
        assert_eq!(report.deferred, vec![transaction.id]);
        passes += 1;
        assert!(passes < MAX_RECOVERY_PASSES, "recovery never gave up");
    }
    assert_eq!(passes + 1, MAX_RECOVERY_PASSES);
    let ended = w.transaction(transaction.id).await;
    assert_eq!(ended.phase, TransactionPhase::Failed);
    assert_eq!(
        ended.failure_code,
        Some(ResultCode::Kontor(KontorFailure::RecoveryExhausted))
    );
    assert!(
        ended
            .failure_text
            .as_deref()
            .unwrap_or_default()
            .contains("503"),
        "the last failure is named: {ended:?}"
    );
    assert_eq!(ended.recovery_attempts, MAX_RECOVERY_PASSES);
    let after = fired(&w);
    assert_eq!(
        after,
        u64::from(ATTEMPTS) * (1 + MAX_RECOVERY_PASSES as u64),
        "the first try and each pass, with their retries"
    );
    assert_eq!(
        w.client.recover_unfinished().await.unwrap(),
        Default::default()
    );
    assert_eq!(fired(&w), after);
}

async fn user(w: &World) -> EbicsUser {
    let mut tx = w.tx().await;
    tx.get(w.user).await.unwrap()
}

async fn a_failed_first_sync_is_shown_and_run_again(db: TestDb) {
    let w = world(db, setup(H005)).await;
    w.initialise_and_fetch_bank_keys().await;
    w.decide_bank_keys(BankKeyVerification::Verified).await;
    // The bank refuses the first HTD: the user does not become READY, and says why.
    w.fault_on(
        "HTD",
        FaultAction::ReturnCode {
            code: "091116".into(),
            table: Some(kontor_bank::ReturnCodeKind::Business),
        },
        Some(1),
    );
    let failed = w.onboard().await;
    assert!(failed.is_err(), "{failed:?}");
    let shown = user(&w).await;
    assert_eq!(shown.status, EbicsUserStatus::Initialised);
    assert_eq!(shown.synced_at, None);
    assert_eq!(
        shown.sync_failure_code,
        Some(ResultCode::Bank("091116".into()))
    );
    assert!(shown.sync_failure_message.is_some());
    // Orders say what is wrong instead of "not permitted".
    let content = pain001("SYNC-1", &[("Beta AG", "1.00")]);
    let order = w
        .new_order(content, SignatureRule::Standard, None, None)
        .await;
    assert!(matches!(order, Err(OrderError::SyncFailed(_))), "{order:?}");

    // The operator runs it again through the API.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let daemon = runtime::start(
        w.db.store.clone(),
        listener,
        DaemonOptions::new(w.data_dir.path()),
    )
    .unwrap();
    let token = w.token("ops@acme.example", Role::Admin).await;
    let reply = reqwest::Client::new()
        .post(format!(
            "http://{}/v1/ebics-users/{}/sync",
            daemon.api_addr, w.user
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let status = reply.status();
    let body: serde_json::Value = serde_json::from_slice(&reply.bytes().await.unwrap()).unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(
        body["order_types"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "BTU"),
        "{body}"
    );
    daemon.shutdown().await;
    let synced = user(&w).await;
    assert_eq!(synced.status, EbicsUserStatus::Ready);
    assert!(synced.synced_at.is_some());
    assert_eq!(
        (synced.sync_failure_code, synced.sync_failure_message),
        (None, None)
    );
}

async fn a_refused_order_type_runs_the_sync_again(db: TestDb) {
    let w = world(db, setup(H004)).await;
    w.ready().await;
    sync_user_data(&w.db.store, &w.client, &w.scope, w.user)
        .await
        .unwrap();
    let first = user(&w).await.synced_at.unwrap();
    w.fault_on(
        "STA",
        FaultAction::ReturnCode {
            code: "091005".into(),
            table: None,
        },
        Some(1),
    );
    let as_user = AsUser {
        scope: &w.scope,
        user: w.user,
    };
    let refused = Bank::download(&w.client, as_user, DownloadRequest::new(OrderType::STA)).await;
    assert!(
        matches!(refused, Err(EbicsError::Bank { .. })),
        "{refused:?}"
    );
    let again = user(&w).await.synced_at.unwrap();
    assert!(again > first, "the refusal ran the sync again");
}

async fn a_rejected_bank_key_is_verified_after_the_hash_is_corrected(db: TestDb) {
    let w = world(db, setup(H004)).await;
    let keys = w.initialise_and_fetch_bank_keys().await;
    let typo = KeyHash::from_bytes([0; 32]);
    for key in &keys {
        let rejected = w.verify_bank_key(key.id, typo).await;
        assert_eq!(rejected.verification_status, BankKeyVerification::Rejected);
    }
    assert!(w.client.activate(&w.scope, w.user).await.is_err());
    for key in &keys {
        let mut tx = w.tx().await;
        // A second wrong hash keeps it rejected; the letter's hash verifies it.
        let still = hosts::verify_key(&mut tx, key.id, typo, "ops@acme.example")
            .await
            .unwrap();
        assert_eq!(still.verification_status, BankKeyVerification::Rejected);
        let verified = hosts::verify_key(&mut tx, key.id, key.key_hash, "ops@acme.example")
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(verified.verification_status, BankKeyVerification::Verified);
    }
    assert_eq!(
        w.client.activate(&w.scope, w.user).await.unwrap(),
        EbicsUserStatus::Ready
    );
}

async fn a_host_without_connections_is_removed_with_its_keys(db: TestDb) {
    let w = world(db, setup(H004)).await;
    let keys = w.initialise_and_fetch_bank_keys().await;
    let mut tx = w.tx().await;
    let spare: BankHost = tx
        .bank_hosts()
        .create(NewBankHost {
            host_id: "SPAREHOST".into(),
            name: "Mistyped host".into(),
            url: "http://127.0.0.1:9/ebics".into(),
            protocol_version: H004,
            btf: false,
            production: false,
            ca_bundle_pem: None,
        })
        .await
        .unwrap();
    let key: BankKey = tx
        .bank_keys()
        .create(NewBankKey {
            bank_host_id: spare.id,
            kind: keys[0].kind,
            version: keys[0].version,
            public_key: keys[0].public_key.clone(),
            certificate: None,
            key_hash: keys[0].key_hash,
        })
        .await
        .unwrap();
    let mistyped = KeyHash::from_bytes([0xAB; 32]);
    hosts::verify_key(&mut tx, key.id, mistyped, "ops@acme.example")
        .await
        .unwrap();
    assert_eq!(
        hosts::remove(&mut tx, spare.id).await.unwrap(),
        hosts::Removal::Deleted
    );
    tx.commit().await.unwrap();
    let mut tx = w.tx().await;
    let host: Result<BankHost, _> = tx.get(spare.id).await;
    let key: Result<BankKey, _> = tx.get(key.id).await;
    assert!(host.is_err() && key.is_err());
}

async fn a_host_with_history_is_retired_once_its_users_have_no_live_work(db: TestDb) {
    let w = world(db, setup(H004)).await;
    w.ready().await;
    let account = w.describe_bank(&["CCT", "C53"]).await;
    w.permit("CCT", kontor_storage::SignatureClass::E).await;
    let schedule = w.c53_schedule(account, chrono::Utc::now()).await;
    let order = w
        .signed_order(
            &pain001("RETIRE-1", &[("Beta AG", "10.00")]),
            SignatureRule::Standard,
        )
        .await;

    // A signed payment is live work: the host stays and nothing changes.
    let mut tx = w.tx().await;
    let busy = hosts::remove(&mut tx, w.host).await;
    assert!(
        matches!(
            &busy,
            Err(ServiceError::Refused(Refusal::HostBusy {
                orders: 1,
                transactions: 0
            }))
        ),
        "{busy:?}"
    );
    drop(tx);
    let mut tx = w.tx().await;
    let host: BankHost = tx.get(w.host).await.unwrap();
    assert!(host.retired_at.is_none());
    kontor_daemon::services::orders::cancel(&mut tx, order.id)
        .await
        .unwrap();
    let retired = match hosts::remove(&mut tx, w.host).await.unwrap() {
        hosts::Removal::Retired(host) => host,
        other => panic!("{other:?}"),
    };
    tx.commit().await.unwrap();
    assert!(retired.retired_at.is_some() && retired.retired_by.is_some());

    // History stays readable; the schedule is off; nothing new reaches the bank.
    let mut tx = w.tx().await;
    let order: Order = tx.get(order.id).await.unwrap();
    assert_eq!(order.status, OrderStatus::Cancelled);
    let schedule: kontor_storage::Schedule = tx.get(schedule.id).await.unwrap();
    assert!(!schedule.enabled);
    let audit: Vec<kontor_storage::AuditEvent> =
        tx.list(kontor_storage::Page::first(100)).await.unwrap();
    assert!(audit
        .iter()
        .any(|e| e.action == kontor_storage::AuditAction::BankHostRetired));
    drop(tx);
    let sent = (
        w.transactions().await.len(),
        w.bank.state().received_orders().len(),
    );
    let refused = w.download_sta().await.unwrap_err();
    assert!(
        matches!(refused, EbicsError::HostRetired { .. }),
        "{refused}"
    );
    let content = pain001("RETIRE-2", &[("Beta AG", "1.00")]);
    let again = w
        .new_order(content, SignatureRule::Standard, None, None)
        .await;
    assert!(
        matches!(again, Err(OrderError::HostRetired(_))),
        "{again:?}"
    );
    let after = (
        w.transactions().await.len(),
        w.bank.state().received_orders().len(),
    );
    assert_eq!(after, sent, "nothing was sent");
    // Removing it again changes nothing.
    let mut tx = w.tx().await;
    assert!(matches!(
        hosts::remove(&mut tx, w.host).await.unwrap(),
        hosts::Removal::Retired(_)
    ));
}

on_both_databases! {
    a_host_with_history_is_retired_once_its_users_have_no_live_work;
    a_bad_bank_signature_fails_the_transaction_after_the_retries_only;
    an_order_whose_upload_answer_is_not_signed_by_the_bank_ends_with_the_code;
    recovery_gives_up_after_its_bounded_passes_and_says_why;
    a_failed_first_sync_is_shown_and_run_again;
    a_refused_order_type_runs_the_sync_again;
    a_rejected_bank_key_is_verified_after_the_hash_is_corrected;
    a_host_without_connections_is_removed_with_its_keys;
}
