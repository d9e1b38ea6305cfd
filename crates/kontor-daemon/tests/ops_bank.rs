//! Orders and scheduled statements end to end: the engine over loopback HTTP against the bank
//! emulator, on SQLite and PostgreSQL.

mod engine_support;

use std::sync::Arc;

use chrono::{Duration, Utc};
use engine_support::{small_segment_bank, world, Setup, TestDb, World};
use kontor_bank::{FaultAction, FaultMatcher, TransactionPhase as BankPhase};
use kontor_daemon::ebics::RetryPolicy;
use kontor_daemon::runtime::{self, DaemonOptions, RunningDaemon};
use kontor_daemon::services::orders::{
    add_signature, create_order, submit, CreateOrder, OrderError, SignatureSubmission,
    SubmitOutcome, Submitter,
};
use kontor_daemon::services::scheduler::{Scheduler, SchedulerConfig};
use kontor_daemon::services::statement_job::StatementJob;
use kontor_documents::pain::{self, AccountParty, PainVersion, PaymentInfo, PaymentOrder};
use kontor_documents::{Amount, Currency, Iban};
use kontor_protocol::signature::sign_order_data;
use kontor_protocol::ProtocolVersion::H004;
use kontor_protocol::SignatureVersion;
use kontor_storage::*;

const MAIN_IBAN: &str = "DE89370400440532013000";

/// The tenant's view of the emulator's partner: offered order types, the main account and the
/// user's permission.
async fn describe_bank(w: &World) -> AccountId {
    let mut tx = w.tx().await;
    let user: EbicsUser = tx.get(w.user).await.unwrap();
    tx.connections()
        .set_order_types(user.connection_id, &["CCT".into(), "C53".into()])
        .await
        .unwrap();
    let account = tx
        .accounts()
        .create(
            user.connection_id,
            NewAccount {
                iban: Some(MAIN_IBAN.into()),
                holder_name: "Muster Maschinenbau GmbH".into(),
                currency: "EUR".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .id;
    tx.permissions()
        .create(NewPermission {
            ebics_user_id: w.user,
            order_type: "CCT".into(),
            account_id: None,
            authorisation_level: SignatureClass::E,
            max_amount: Some("1000000.00".into()),
            currency: Some("EUR".into()),
        })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    account
}

fn pain001() -> Vec<u8> {
    let order = PaymentOrder {
        version: PainVersion::Pain001_001_03,
        message_id: "OPS-MSG-1".into(),
        created: Utc::now().naive_utc(),
        initiating_party: Some("Muster Maschinenbau GmbH".into()),
        payment_infos: vec![PaymentInfo {
            id: "PMT-1".into(),
            batch_booking: Some(true),
            service_level: Some("SEPA".into()),
            local_instrument: None,
            sequence_type: None,
            category_purpose: None,
            requested_date: Utc::now().date_naive(),
            account: AccountParty::new(
                "Muster Maschinenbau GmbH",
                Iban::parse(MAIN_IBAN).unwrap(),
                None,
            ),
            creditor_scheme_id: None,
            charge_bearer: Some("SLEV".into()),
            transactions: vec![pain::Transaction {
                end_to_end_id: "OPS-E2E-1".into(),
                instruction_id: None,
                amount: Amount::parse("1250.00").unwrap(),
                currency: Currency::EUR,
                counterparty: AccountParty::new(
                    "Beta AG",
                    Iban::parse("GB82WEST12345698765432").unwrap(),
                    None,
                ),
                mandate: None,
                remittance: Some("Invoice 4711".into()),
            }],
        }],
    };
    pain::build(&order).unwrap().into_bytes()
}

/// Creates the order and signs it with the user's own E key, as the signer CLI would.
async fn signed_order(w: &World) -> Order {
    let content = pain001();
    let order = create_order(
        &w.db.store,
        &w.scope,
        CreateOrder {
            user: w.user,
            content: content.clone(),
            signature_rule: SignatureRule::Standard,
            idempotency_key: None,
            order_type: None,
        },
    )
    .await
    .unwrap()
    .order;
    let mut tx = w.tx().await;
    let pair = tx
        .key_pairs()
        .current(w.user, KeyUsage::Signature)
        .await
        .unwrap()
        .unwrap();
    let der = tx.key_pairs().load_private_key(pair.id).await.unwrap();
    let key = kontor_protocol::keys::PrivateKey::from_pkcs8_der(&der).unwrap();
    let value = sign_order_data(SignatureVersion::A006, &key, &content).unwrap();
    let order = add_signature(
        &mut tx,
        SignatureSubmission {
            order: order.id,
            signer: w.user,
            version: SignatureVersion::A006,
            value,
            key_hash: None,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(order.status, OrderStatus::Signed);
    order
}

async fn payment_is_uploaded_once_despite_a_lost_answer_flow(db: TestDb) {
    let mut setup = Setup::new(H004);
    setup.bank = small_segment_bank();
    setup.retry = RetryPolicy::immediate(2);
    let w = world(db, setup).await;
    w.ready().await;
    describe_bank(&w).await;
    let order = signed_order(&w).await;
    let submitter = Submitter::new("instance-a");

    // The bank takes the order but its answer is lost, twice: "did my payment go through?"
    w.fault(
        FaultMatcher {
            phase: Some(BankPhase::Transfer),
            segment: Some(1),
            ..Default::default()
        },
        FaultAction::DropResponse,
        Some(2),
    );
    let lost = submit(&w.db.store, &w.client, &submitter, &w.scope, order.id).await;
    assert!(matches!(lost, Err(OrderError::Uncertain(_))), "{lost:?}");
    assert_eq!(w.bank.state().received_orders().len(), 1);

    // A retry (here from another instance) does not upload: the transaction is in recovery.
    let retry = submit(
        &w.db.store,
        &w.client,
        &Submitter::new("instance-b"),
        &w.scope,
        order.id,
    )
    .await
    .unwrap();
    assert!(matches!(retry, SubmitOutcome::InFlight(_)), "{retry:?}");

    // Recovery settles the transaction; the next retry records the bank's order id.
    w.client.recover_unfinished().await.unwrap();
    let settled = submit(&w.db.store, &w.client, &submitter, &w.scope, order.id)
        .await
        .unwrap();
    let SubmitOutcome::Accepted(settled) = settled else {
        panic!("{settled:?}")
    };
    assert_eq!(settled.status, OrderStatus::Processing);
    assert!(settled.bank_order_id.is_some());
    assert_eq!(
        w.bank.state().received_orders().len(),
        1,
        "exactly one payment at the bank"
    );
}

async fn scheduled_large_c53_lands_bookings_once_flow(db: TestDb) {
    let mut setup = Setup::new(H004);
    setup.bank.limits.segment_size_bytes = 64 << 10;
    let w = world(db, setup).await;
    w.ready().await;
    let account = describe_bank(&w).await;
    let knob = reqwest::Client::new()
        .put(format!(
            "{}/accounts/ACC-EUR-MAIN/ledger",
            w.bank.admin_url()
        ))
        .header("content-type", "application/json")
        .body(r#"{"entries_per_day": 400}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(knob.status(), 200);

    let now = Utc::now();
    let mut tx = w.tx().await;
    let schedule = tx
        .schedules()
        .create(NewSchedule {
            ebics_user_id: w.user,
            account_id: Some(account),
            order_type: "C53".into(),
            cron: "0 6 * * *".into(),
            time_zone: "Europe/Berlin".into(),
            next_run_at: now - Duration::minutes(1),
        })
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut job = StatementJob::new(w.db.store.clone(), w.client.clone());
    job.first_lookback_days = 8;
    let scheduler = Scheduler::new(
        w.db.store.clone(),
        Arc::new(job),
        SchedulerConfig::new("ops-test"),
    );
    let first = scheduler.tick(now).await.unwrap();
    assert_eq!(first.succeeded, 1, "{first:?}");
    let bookings_after_first = count_bookings(&w, account).await;
    assert!(bookings_after_first >= 7 * 400, "{bookings_after_first}");

    // The next firing downloads an overlapping period: nothing is stored twice.
    let mut tx = w.tx().await;
    let next: Schedule = tx.get(schedule.id).await.unwrap();
    drop(tx);
    let second = scheduler.tick(next.next_run_at).await.unwrap();
    assert_eq!(second.succeeded, 1, "{second:?}");
    assert_eq!(count_bookings(&w, account).await, bookings_after_first);

    let mut tx = w.tx().await;
    let runs = tx.schedules().runs(schedule.id).await.unwrap();
    assert_eq!(runs.len(), 2);
    let statements = tx.statements().list_for_account(account).await.unwrap();
    let file: StoredFile = tx
        .get(statements[0].file_id.expect("statement links its file"))
        .await
        .unwrap();
    assert!(file.size >= 3 << 20, "at least 3 MiB: {}", file.size);
    let balances = tx.statements().balances(account).await.unwrap();
    assert!(balances.iter().any(|b| b.kind == "CLBD"));
    println!(
        "C53 {} bytes -> {} bookings; runs: {:?}",
        file.size,
        bookings_after_first,
        runs.iter().map(|r| r.detail.clone()).collect::<Vec<_>>()
    );
}

/// An Admin's API token in the world's tenant.
async fn admin_token(w: &World) -> String {
    let admin = w.db.store.admin();
    let operator = admin
        .create_operator(
            "treasury@acme.example",
            "Treasury",
            w.scope.tenant(),
            Role::Admin,
        )
        .await
        .unwrap();
    let issued = admin.issue_token(operator.id, "ops", None).await.unwrap();
    secrecy::ExposeSecret::expose_secret(&issued.secret).to_owned()
}

/// A daemon instance (API, scheduler, recovery, completion) on `store`, named `instance`.
async fn start_instance(w: &World, store: Store, instance: &str) -> RunningDaemon {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut options = DaemonOptions::new(w.data_dir.path());
    options.instance = instance.into();
    options.completion_interval = std::time::Duration::from_secs(1);
    runtime::start(store, listener, options).unwrap()
}

/// `requests` concurrent `POST /v1/orders/{id}/submit`, spread over the instances.
async fn submit_concurrently(
    instances: &[&RunningDaemon],
    token: &str,
    order: OrderId,
    requests: usize,
) -> Vec<serde_json::Value> {
    let client = reqwest::Client::new();
    let calls = (0..requests).map(|i| {
        let url = format!(
            "http://{}/v1/orders/{order}/submit",
            instances[i % instances.len()].api_addr
        );
        let request = client.post(url).bearer_auth(token).send();
        async move {
            let reply = request.await.unwrap();
            let status = reply.status();
            let body: serde_json::Value =
                serde_json::from_slice(&reply.bytes().await.unwrap()).unwrap();
            assert_eq!(status, 202, "{body}");
            body
        }
    });
    futures::future::join_all(calls).await
}

/// Whatever number of submits arrive at once, in one instance or several, the bank gets the
/// payment once and the order completes with the bank's order id.
async fn concurrent_submits_upload_once_flow(db: TestDb, two_instances: bool) {
    let w = world(db, Setup::new(H004)).await;
    w.ready().await;
    describe_bank(&w).await;
    let order = signed_order(&w).await;
    let token = admin_token(&w).await;
    let a = start_instance(&w, w.db.store.clone(), "instance-a").await;
    let b = match two_instances {
        true => Some(start_instance(&w, w.db.second_instance().await, "instance-b").await),
        false => None,
    };
    let instances: Vec<&RunningDaemon> = std::iter::once(&a).chain(b.as_ref()).collect();

    let replies = submit_concurrently(&instances, &token, order.id, 16).await;
    let states: Vec<&str> = replies
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert!(
        states
            .iter()
            .all(|s| ["SUBMITTED", "PROCESSING", "COMPLETED"].contains(s)),
        "{states:?}"
    );

    let received = w.bank.state().received_orders();
    assert_eq!(
        received.len(),
        1,
        "one bank order for 16 submits: {received:?}"
    );
    let completed = eventually(|| async {
        let order: Order = w.tx().await.get(order.id).await.unwrap();
        (order.status == OrderStatus::Completed).then_some(order)
    })
    .await;
    assert_eq!(
        completed.bank_order_id.as_deref(),
        Some(received[0].order_id.to_string().as_str())
    );
    // Asking again changes nothing at the bank.
    submit_concurrently(&instances, &token, order.id, 4).await;
    assert_eq!(w.bank.state().received_orders().len(), 1);
    if let Some(b) = b {
        b.shutdown().await;
    }
    a.shutdown().await;
}

/// Polls `check` until it yields, for at most 30 s.
async fn eventually<T, F, Fut>(mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "gave up waiting");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn count_bookings(w: &World, account: AccountId) -> usize {
    let mut tx = w.tx().await;
    let mut filter = BookingFilter {
        account_id: Some(account),
        limit: 1000,
        ..Default::default()
    };
    let mut all = 0;
    loop {
        let page = tx.statements().bookings(&filter).await.unwrap();
        all += page.len();
        match page.last() {
            Some(last) => filter.after = Some((last.booking_date, last.id)),
            None => return all,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_payment_is_uploaded_once_despite_a_lost_answer() {
    payment_is_uploaded_once_despite_a_lost_answer_flow(TestDb::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_payment_is_uploaded_once_despite_a_lost_answer() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    payment_is_uploaded_once_despite_a_lost_answer_flow(db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_scheduled_large_c53_lands_bookings_once() {
    scheduled_large_c53_lands_bookings_once_flow(TestDb::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_scheduled_large_c53_lands_bookings_once() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    scheduled_large_c53_lands_bookings_once_flow(db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_sixteen_concurrent_submits_in_one_instance_upload_once() {
    concurrent_submits_upload_once_flow(TestDb::sqlite().await, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_sixteen_concurrent_submits_in_one_instance_upload_once() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    concurrent_submits_upload_once_flow(db, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_eight_plus_eight_submits_in_two_instances_upload_once() {
    concurrent_submits_upload_once_flow(TestDb::sqlite().await, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_eight_plus_eight_submits_in_two_instances_upload_once() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    concurrent_submits_upload_once_flow(db, true).await;
}
