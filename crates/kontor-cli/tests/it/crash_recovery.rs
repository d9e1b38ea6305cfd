//! Crash recovery with a real process kill (issue #5): a `kontor serve` child process is killed
//! with SIGKILL while a multi-segment statement download and a multi-segment payment upload are
//! both half-way, and a restarted daemon on the same database completes both.

use chrono::{Duration, Utc};
use kontor_bank::{
    faults::RuleId, FaultAction, FaultMatcher, FaultRule, RunningBank,
    TransactionPhase as BankPhase,
};
use kontor_daemon::ebics::{Client, ClientConfig, Files};
use kontor_daemon::services::keys::ensure_user_keys;
use kontor_daemon::services::orders::{
    add_signature, create_order, CreateOrder, SignatureSubmission,
};
use kontor_documents::pain::PainVersion;
use kontor_protocol::order_type::OrderType;
use kontor_protocol::signature::sign_order_data;
use kontor_protocol::{ProtocolVersion, SignatureVersion};
use kontor_storage::*;
use kontor_testkit::bank::{bank_with_segments, signing_key, start_bank};
use kontor_testkit::seed::{self, count_bookings};
use sha2::{Digest, Sha256};

use crate::support::daemon::{eventually, DaemonDb, DaemonProcess};
use crate::support::setup::{
    demo_subscriber, onboard, operator_token, payment_file, transfer, DEBTOR,
};

/// Bank download segments of 4 KiB turn a week of statements into many segments.
const BANK_SEGMENT_BYTES: usize = 4096;
/// Payments in the uploaded file: enough random text that the compressed, encrypted file spans
/// at least two of the client's 1 MiB upload segments.
const PAYMENTS: usize = 12_000;
/// Longest delay the emulator accepts: the held segment never gets through before the kill.
const HOLD_MS: u64 = kontor_bank::faults::MAX_DELAY_MS;

/// What the test prepared in the database before any daemon ran.
struct Prepared {
    scope: TenantScope,
    account: AccountId,
    schedule: ScheduleId,
    order: OrderId,
    order_content: Vec<u8>,
    token: String,
}

async fn sqlite_or_postgres_crash_flow(db: DaemonDb) {
    let bank = start_bank(bank_with_segments(BANK_SEGMENT_BYTES)).await;
    set_ledger_size(&bank, 40).await;
    let store = db.store();
    let prepared = prepare(&db, &store, &bank).await;

    // Segment 3 of the statement download and segment 2 of the payment upload are held.
    let hold_download = hold_segment(&bank, "C53", 3);
    let hold_upload = hold_segment(&bank, "CCT", 2);

    // The killed daemon never sweeps again after its start: only the restarted one recovers.
    let daemon = DaemonProcess::start(&db, 3600, "first.log").await;
    let api = Api::new(&daemon.api, &prepared.token);
    // The statement job asks for the week up to "today" as of its run.
    let today = Utc::now().date_naive();
    // Each transfer starts through the API and runs until the bank holds its segment.
    let transfers = [
        (
            format!("/v1/schedules/{}/run", prepared.schedule),
            hold_download,
            Direction::Download,
        ),
        (
            format!("/v1/orders/{}/submit", prepared.order),
            hold_upload,
            Direction::Upload,
        ),
    ];
    let mut held = Vec::new();
    for (path, rule, direction) in transfers {
        tokio::spawn(api.post(path));
        let what = format!("{direction:?} held after an acknowledged segment");
        let scope = &prepared.scope;
        let id = eventually(&what, || {
            held_transaction(&store, scope, &bank, rule, direction)
        })
        .await;
        held.push(id);
    }
    let [download, upload]: [TransactionId; 2] = held.try_into().unwrap();
    let first_log = daemon.log_path().to_owned();
    daemon.kill();

    let mut killed_instance = None;
    for id in [download, upload] {
        let t = transaction(&store, &prepared.scope, id).await;
        assert!(
            t.lease_owner.is_some(),
            "leased by the killed daemon: {t:?}"
        );
        killed_instance = t.lease_owner.clone();
        assert!(!t.phase.is_final(), "unfinished after the kill: {t:?}");
        assert!(t.last_acknowledged_segment >= 1, "{t:?}");
        assert!(t.num_segments.unwrap_or(0) >= 2, "multi-segment: {t:?}");
    }
    assert!(
        bank.state().received_orders().is_empty(),
        "the upload had not finished"
    );

    bank.faults().clear();
    let restarted = DaemonProcess::start(&db, 1, "restarted.log").await;
    for id in [download, upload] {
        let t = eventually("recovery completes the transaction", || async {
            let t = transaction(&store, &prepared.scope, id).await;
            t.phase.is_final().then_some(t)
        })
        .await;
        assert_eq!(
            t.phase,
            TransactionPhase::Completed,
            "{t:?}\nfirst daemon:\n{}\nrestarted daemon:\n{}",
            std::fs::read_to_string(&first_log).unwrap_or_default(),
            restarted.log_text()
        );
        // Resumed by the restarted daemon, not by the killed one before it died.
        let recoveries = recovery_instances(&store, &prepared.scope, id).await;
        assert!(!recoveries.is_empty(), "recovery is on record for {id}");
        assert!(
            recoveries
                .iter()
                .all(|i| Some(i) != killed_instance.as_ref()),
            "{recoveries:?} vs killed {killed_instance:?}"
        );
    }

    // The downloaded file is exactly the document the bank delivers for that period.
    let downloaded = transaction(&store, &prepared.scope, download).await;
    let mut tx = store.scope(&prepared.scope).begin().await.unwrap();
    let file: StoredFile = tx.get(downloaded.file_id.expect("file")).await.unwrap();
    drop(tx);
    let expected = bank_statement(&bank, today).await;
    assert_eq!(file.size as usize, expected.len());
    assert_eq!(file.sha256, sha256_hex(&expected));

    // The download's effect follows its completion: the restarted daemon booked the
    // statements although the request that started the download died with the first one.
    // C53 comes in a ZIP container: one camt.053 per account and day.
    let expected_bookings: usize = bank_statement_members(&bank, today)
        .await
        .iter()
        .flat_map(|document| kontor_documents::camt::parse_bytes(document.as_bytes()).unwrap())
        .filter(|s| s.account.iban.as_ref().map(|i| i.electronic()) == Some(DEBTOR.1))
        .flat_map(|s| s.entries)
        .filter(|e| e.status == kontor_documents::EntryStatus::Booked)
        .count();
    assert!(expected_bookings > 0);
    let booked = eventually("the recovered statements are booked", || async {
        let n = count_bookings(&store, &prepared.scope, prepared.account).await;
        (n == expected_bookings).then_some(n)
    })
    .await;

    // The bank holds the payment file exactly once.
    let content_hash = sha256_hex(&prepared.order_content);
    let orders = bank.state().received_orders();
    assert_eq!(orders.len(), 1, "exactly one order at the bank");
    assert_eq!(orders[0].sha256, content_hash);

    // The upload's effect too: nobody submits again, yet the order records the bank's order id
    // and completes from the bank's status report.
    let order = eventually("the recovered order completes", || async {
        let mut tx = store.scope(&prepared.scope).begin().await.unwrap();
        let order: Order = tx.get(prepared.order).await.unwrap();
        (order.status == OrderStatus::Completed).then_some(order)
    })
    .await;
    assert_eq!(
        order.bank_order_id.as_deref(),
        Some(orders[0].order_id.to_string().as_str())
    );
    assert_eq!(order.transaction_id, Some(upload));
    println!(
        "download: {} segments, {} bytes, {booked} bookings; upload: {} segments, {} bytes",
        downloaded.num_segments.unwrap_or(0),
        file.size,
        transaction(&store, &prepared.scope, upload)
            .await
            .num_segments
            .unwrap_or(0),
        prepared.order_content.len()
    );
    drop(restarted);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_download_and_upload_complete_after_the_daemon_is_killed() {
    sqlite_or_postgres_crash_flow(DaemonDb::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_download_and_upload_complete_after_the_daemon_is_killed() {
    if let Some(db) = DaemonDb::postgres().await {
        sqlite_or_postgres_crash_flow(db).await;
    }
}

/// The tenant's unfinished transaction in `direction`, once the bank holds its next segment.
async fn held_transaction(
    store: &Store,
    scope: &TenantScope,
    bank: &RunningBank,
    rule: RuleId,
    direction: Direction,
) -> Option<TransactionId> {
    let fired = bank
        .faults()
        .rules()
        .iter()
        .any(|r| r.id == rule && r.fired > 0);
    if !fired {
        return None;
    }
    let mut tx = store.scope(scope).begin().await.ok()?;
    let all: Vec<Transaction> = tx.list(Page::first(100)).await.ok()?;
    all.into_iter()
        .find(|t| t.direction == direction && t.last_acknowledged_segment >= 1)
        .map(|t| t.id)
}

fn hold_segment(bank: &RunningBank, order_type: &str, segment: u32) -> RuleId {
    bank.faults()
        .install(vec![FaultRule {
            name: Some(format!("hold {order_type} segment {segment}")),
            matcher: FaultMatcher {
                order_type: Some(order_type.into()),
                phase: Some(BankPhase::Transfer),
                segment: Some(segment),
                ..Default::default()
            },
            action: FaultAction::Delay { ms: HOLD_MS },
            times: Some(1),
            skip: 0,
        }])
        .unwrap()[0]
}

async fn transaction(store: &Store, scope: &TenantScope, id: TransactionId) -> Transaction {
    let mut tx = store.scope(scope).begin().await.unwrap();
    tx.get(id).await.unwrap()
}

/// The instances that recorded RECOVERY_STARTED for the transaction.
async fn recovery_instances(store: &Store, scope: &TenantScope, id: TransactionId) -> Vec<String> {
    let mut tx = store.scope(scope).begin().await.unwrap();
    let events = tx.transactions().events(id).await.unwrap();
    events
        .into_iter()
        .filter(|e| e.kind == TransactionEventKind::RecoveryStarted)
        .map(|e| {
            e.context["instance"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The admin API of the running daemon, as an operator.
#[derive(Clone)]
struct Api {
    base: String,
    token: String,
    client: reqwest::Client,
}

impl Api {
    fn new(base: &str, token: &str) -> Self {
        Self {
            base: base.to_owned(),
            token: token.to_owned(),
            client: reqwest::Client::new(),
        }
    }

    /// A request that only returns when the engine is done, i.e. never for a held transfer:
    /// the test spawns it and watches the database instead.
    fn post(&self, path: String) -> impl std::future::Future<Output = ()> + Send + 'static {
        let request = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send();
        async move {
            let _ = request.await;
        }
    }
}

async fn set_ledger_size(bank: &RunningBank, entries_per_day: u32) {
    let response = reqwest::Client::new()
        .put(format!("{}/accounts/ACC-EUR-MAIN/ledger", bank.admin_url()))
        .json(&serde_json::json!({ "entries_per_day": entries_per_day }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

/// The document the bank delivers for the statement job's first period (a week up to `to`).
async fn bank_statement(bank: &RunningBank, to: chrono::NaiveDate) -> Vec<u8> {
    let response = first_period(bank, "statements", to).await;
    response.bytes().await.unwrap().to_vec()
}

/// The documents of that C53 container, as the bank's admin API lists them.
async fn bank_statement_members(bank: &RunningBank, to: chrono::NaiveDate) -> Vec<String> {
    let response = first_period(bank, "statements/members", to).await;
    let members: Vec<serde_json::Value> = response.json().await.unwrap();
    members
        .iter()
        .map(|m| m["document"].as_str().unwrap().to_owned())
        .collect()
}

/// The bank's admin API `resource` (`statements`, `statements/members`) for the C53 of the
/// statement job's first period (a week up to `to`).
async fn first_period(
    bank: &RunningBank,
    resource: &str,
    to: chrono::NaiveDate,
) -> reqwest::Response {
    let from = to - Duration::days(7);
    let response = reqwest::Client::new()
        .get(format!(
            "{}/{resource}?partner=PARTNER1&order_type=C53&from={from}&to={to}",
            bank.admin_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response
}

/// Tenant, bank host, connection, a READY user with verified bank keys, an account, a C53
/// schedule that is not due on its own, a signed payment order and an operator token.
async fn prepare(db: &DaemonDb, store: &Store, bank: &RunningBank) -> Prepared {
    let who = demo_subscriber(
        store,
        "ACME Treasury",
        bank.ebics_url(),
        ProtocolVersion::H004,
        &[OrderType::CCT, OrderType::C53],
        Some("1000000.00"),
    )
    .await;
    let (scope, account) = (who.scope.clone(), who.account());
    ensure_user_keys(store, &scope, who.user).await.unwrap();
    let not_due = Utc::now() + Duration::days(300);
    let schedule = seed::c53_schedule_at(store, &who, account, "0 6 1 1 *", not_due).await;

    // Onboarded in-process by a client on the same database, as an operator would before
    // the crash.
    let client = Client::new(store.clone(), ClientConfig::new(db.data_dir())).unwrap();
    onboard(&client, bank, &who).await;
    let order_content = large_payment_file();
    let order = signed_order(store, client.files(), &scope, who.user, &order_content).await;

    let token = operator_token(store, scope.tenant(), "ops@acme.example", Role::Owner).await;
    Prepared {
        scope,
        account,
        schedule: schedule.id,
        order,
        order_content,
        token,
    }
}

/// Creates the order (its file kept below the daemon's data directory) and signs it with the
/// user's own E key, as the signer CLI would.
async fn signed_order(
    store: &Store,
    files: &Files,
    scope: &TenantScope,
    user: EbicsUserId,
    content: &[u8],
) -> OrderId {
    let order = create_order(
        store,
        files,
        scope,
        CreateOrder {
            user,
            content: content.to_vec(),
            signature_rule: SignatureRule::Standard,
            idempotency_key: None,
            order_type: None,
            service: None,
        },
    )
    .await
    .unwrap()
    .order;
    let key = signing_key(store, scope, user).await;
    let mut tx = store.scope(scope).begin().await.unwrap();
    let value = sign_order_data(SignatureVersion::A006, &key, content).unwrap();
    let order = add_signature(
        files,
        &mut tx,
        SignatureSubmission {
            order: order.id,
            signer: user,
            version: SignatureVersion::A006,
            value,
            key_hash: None,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(order.status, OrderStatus::Signed);
    order.id
}

/// A pain.001 whose references and remittance texts are random, so it stays large compressed.
fn large_payment_file() -> Vec<u8> {
    let random = |n: usize| -> String {
        (0..n.div_ceil(32))
            .map(|_| uuid::Uuid::new_v4().simple().to_string())
            .collect::<String>()[..n]
            .to_owned()
    };
    let transactions = (0..PAYMENTS)
        .map(|_| transfer(&random(35), &random(70), "1.00", Some(random(140))))
        .collect();
    payment_file(
        PainVersion::Pain001_001_03,
        &random(35),
        Utc::now().naive_utc(),
        Utc::now().date_naive(),
        DEBTOR,
        transactions,
    )
}
