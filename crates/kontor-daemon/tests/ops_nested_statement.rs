//! A bank that delivers a statement nested 100 000 levels deep (the emulator's
//! `nested_statement` fault, issue #10): the scheduled download ends with a clear error on the
//! run, the downloaded file stays stored, nothing is booked, and the daemon goes on — the next
//! run ingests the real statement. On SQLite and PostgreSQL.

mod engine_support;

use std::sync::Arc;

use chrono::{Duration, Utc};
use engine_support::{world, Setup, TestDb, World};
use kontor_daemon::services::scheduler::{Scheduler, SchedulerConfig};
use kontor_daemon::services::statement_job::StatementJob;
use kontor_protocol::ProtocolVersion::H004;
use kontor_storage::*;

const MAIN_IBAN: &str = "DE89370400440532013000";
const DEPTH: u32 = 100_000;

/// The tenant's view of the emulator's partner: C53 offered, the main account known.
async fn main_account_with_c53(w: &World) -> AccountId {
    let mut tx = w.tx().await;
    let user: EbicsUser = tx.get(w.user).await.unwrap();
    tx.connections()
        .set_order_types(user.connection_id, &["C53".into()])
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
    tx.commit().await.unwrap();
    account
}

/// Switches the fault on through the emulator's admin API, as an operator of the test bank
/// would: the next C53 download delivers a camt.053 nested `DEPTH` levels deep.
async fn next_c53_is_nested(w: &World) {
    let rule = format!(
        r#"{{"times": 1, "match": {{"order_type": "C53", "phase": "Initialisation"}}, "action": {{"kind": "nested_statement", "depth": {DEPTH}}}}}"#
    );
    let response = reqwest::Client::new()
        .post(format!("{}/faults", w.bank.admin_url()))
        .header("content-type", "application/json")
        .body(rule)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{:?}",
        response.text().await
    );
}

async fn booking_count(w: &World, account: AccountId) -> usize {
    let mut tx = w.tx().await;
    let filter = BookingFilter {
        account_id: Some(account),
        limit: 1000,
        ..Default::default()
    };
    tx.statements().bookings(&filter).await.unwrap().len()
}

async fn nested_statement_fails_the_run_and_keeps_the_file(db: TestDb) {
    let w = world(db, Setup::new(H004)).await;
    w.ready().await;
    let account = main_account_with_c53(&w).await;
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
    next_c53_is_nested(&w).await;

    let mut job = StatementJob::new(w.db.store.clone(), w.client.clone());
    job.first_lookback_days = 3;
    let scheduler = Scheduler::new(
        w.db.store.clone(),
        Arc::new(job),
        SchedulerConfig::new("nested-test"),
    );
    let first = scheduler.tick(now).await.unwrap();
    assert_eq!((first.succeeded, first.failed), (0, 1), "{first:?}");

    // The run records why, in words an operator understands.
    let mut tx = w.tx().await;
    let runs = tx.schedules().runs(schedule.id).await.unwrap();
    drop(tx);
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].outcome.as_deref(), Some("FAILED"));
    assert_eq!(
        runs[0].detail.as_deref(),
        Some("camt document does not parse: XML element nesting depth exceeds the limit of 256")
    );

    // The download itself completed and its file is kept, byte for byte what the bank served.
    let served = w.bank.state().served_downloads();
    let [served] = served.as_slice() else {
        panic!("one download served: {served:?}")
    };
    let downloads: Vec<Transaction> = w
        .transactions()
        .await
        .into_iter()
        .filter(|t| t.order_type == "C53")
        .collect();
    let [download] = downloads.as_slice() else {
        panic!("one C53 transaction: {downloads:?}")
    };
    assert_eq!(download.phase, TransactionPhase::Completed);
    let mut tx = w.tx().await;
    let file: StoredFile = tx.get(download.file_id.expect("file kept")).await.unwrap();
    let statements = tx.statements().list_for_account(account).await.unwrap();
    drop(tx);
    assert_eq!(file.sha256, served.sha256);
    let bytes = w.client.read_file(&w.scope, file.id).await.unwrap();
    assert_eq!(bytes.len(), served.size);
    assert_eq!(
        String::from_utf8_lossy(&bytes).matches("<Ntry>").count(),
        DEPTH as usize
    );
    assert!(statements.is_empty(), "{statements:?}");
    assert_eq!(booking_count(&w, account).await, 0, "nothing booked");

    // The daemon goes on: the next run downloads the real statement and books it.
    let mut tx = w.tx().await;
    let next: Schedule = tx.get(schedule.id).await.unwrap();
    drop(tx);
    let second = scheduler.tick(next.next_run_at).await.unwrap();
    assert_eq!(second.succeeded, 1, "{second:?}");
    assert!(booking_count(&w, account).await > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_nested_statement_fails_the_run_and_keeps_the_file() {
    nested_statement_fails_the_run_and_keeps_the_file(TestDb::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_nested_statement_fails_the_run_and_keeps_the_file() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    nested_statement_fails_the_run_and_keeps_the_file(db).await;
}
