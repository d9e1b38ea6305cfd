//! Statements: ingestion of repeated, overlapping and cross-format downloads lands every
//! booking exactly once; the scheduled download against the bank emulator books a
//! multi-segment C53 once and survives a hostile statement. On SQLite and PostgreSQL.

use std::sync::{Arc, Mutex};

use chrono::{Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use kontor_daemon::ebics::{Client, EbicsError};
use kontor_daemon::services::scheduler::{Scheduler, SchedulerConfig};
use kontor_daemon::services::schedules::{self, ScheduleRequest};
use kontor_daemon::services::statement_job::{
    Downloaded, StatementDownload, StatementDownloader, StatementJob,
};
use kontor_daemon::services::statements::{
    ingest_file, IngestReport, IngestSource, StatementSyntax,
};
use kontor_documents::camt::{self, CamtKind, StatementRequest};
use kontor_documents::mt940::{self, Mt940Request};
use kontor_documents::{BalanceKind, Ledger};
use kontor_protocol::order_type::{BtfService, OrderType};
use kontor_protocol::ProtocolVersion::{self, H004, H005};
use kontor_storage::{
    BtfOffer, JobRun, Schedule, StatementContainer, StatementFileStatus, Store, StoredFile,
    TenantScope, Transaction, TransactionEventKind, TransactionPhase,
};
use sha2::{Digest, Sha256};

use crate::support::emulator::{ready_world, world, Setup, World};
use crate::support::seed::{c53_schedule, count_bookings, statement_account, tenant, Tenant, IBAN};
use crate::support::TestDb;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn created() -> NaiveDateTime {
    date(2024, 3, 10).and_hms_opt(6, 0, 0).unwrap()
}

fn ledger(iban: &str, from: NaiveDate, to: NaiveDate) -> Ledger {
    Ledger::generate(7, statement_account(iban), from, to, 12).unwrap()
}

fn camt053(ledger: &Ledger) -> Vec<u8> {
    camt::generate(
        ledger,
        &StatementRequest::new(CamtKind::Camt053, "MSG", created()),
    )
    .into_bytes()
}

fn mt940_of(ledger: &Ledger) -> Vec<u8> {
    mt940::generate(ledger, &Mt940Request::new("STARTUMS")).into_bytes()
}

async fn ingest(store: &Store, t: &Tenant, syntax: StatementSyntax, bytes: &[u8]) -> IngestReport {
    let mut tx = store.scope(&t.scope).begin().await.unwrap();
    let report = ingest_file(
        &mut tx,
        syntax,
        bytes,
        &IngestSource {
            connection: Some(t.connection),
            file: None,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    report
}

async fn booking_count(store: &Store, t: &Tenant) -> usize {
    count_bookings(store, &t.scope, t.account()).await
}

/// A scheduler of `owner` running the statement job against the world's bank, which looks
/// back `lookback_days` on a schedule's first run.
fn statement_scheduler(
    w: &World,
    lookback_days: i64,
    owner: &str,
) -> Scheduler<StatementJob<Client>> {
    let mut job = StatementJob::new(w.db.store.clone(), w.client.clone());
    job.first_lookback_days = lookback_days;
    Scheduler::new(
        w.db.store.clone(),
        Arc::new(job),
        SchedulerConfig::new(owner),
    )
}

async fn repeated_download_lands_each_booking_once(db: TestDb) {
    let t = tenant(&db.store, "acme", IBAN).await;
    let ledger = ledger(IBAN, date(2024, 3, 1), date(2024, 3, 3));
    let file = camt053(&ledger);

    let first = ingest(&db.store, &t, StatementSyntax::Camt, &file).await;
    assert_eq!(first.statements_new, 3);
    assert_eq!(first.bookings_new, ledger.entry_count());
    assert!(first.balances_new >= 6, "opening and closing per day");

    let again = ingest(&db.store, &t, StatementSyntax::Camt, &file).await;
    assert_eq!(again.statements_new, 0);
    assert_eq!(again.bookings_new, 0);
    assert_eq!(again.balances_new, 0);
    assert_eq!(again.bookings_known, ledger.entry_count());
    assert_eq!(booking_count(&db.store, &t).await, ledger.entry_count());
}

async fn overlapping_periods_add_only_the_new_days(db: TestDb) {
    let t = tenant(&db.store, "acme", IBAN).await;
    let first = ledger(IBAN, date(2024, 3, 1), date(2024, 3, 3));
    let overlapping = ledger(IBAN, date(2024, 3, 2), date(2024, 3, 5));
    ingest(&db.store, &t, StatementSyntax::Camt, &camt053(&first)).await;
    let second = ingest(&db.store, &t, StatementSyntax::Camt, &camt053(&overlapping)).await;

    let new_days: usize = overlapping
        .days()
        .iter()
        .filter(|d| d.date() > date(2024, 3, 3))
        .map(|d| d.entries().len())
        .sum();
    assert_eq!(second.bookings_new, new_days);
    let whole = ledger(IBAN, date(2024, 3, 1), date(2024, 3, 5));
    assert_eq!(booking_count(&db.store, &t).await, whole.entry_count());

    let mut tx = db.store.scope(&t.scope).begin().await.unwrap();
    let balances = tx.statements().balances(t.account()).await.unwrap();
    let closing_5th = balances
        .iter()
        .find(|b| b.kind == BalanceKind::ClosingBooked && b.balance_date == date(2024, 3, 5))
        .expect("closing balance of the last day");
    assert_eq!(
        closing_5th.amount.to_string(),
        whole.closing_balance().to_string()
    );
}

async fn mt940_after_camt053_of_the_same_days_adds_nothing(db: TestDb) {
    let t = tenant(&db.store, "acme", IBAN).await;
    let ledger = ledger(IBAN, date(2024, 3, 1), date(2024, 3, 2));
    ingest(&db.store, &t, StatementSyntax::Camt, &camt053(&ledger)).await;
    let mt940 = ingest(&db.store, &t, StatementSyntax::Mt940, &mt940_of(&ledger)).await;
    assert_eq!(mt940.bookings_new, 0);
    assert_eq!(mt940.bookings_known, ledger.entry_count());
    assert_eq!(booking_count(&db.store, &t).await, ledger.entry_count());
}

async fn statements_of_unknown_or_foreign_accounts_are_not_stored(db: TestDb) {
    let acme = tenant(&db.store, "acme", IBAN).await;
    let other_iban = "GB82WEST12345698765432";
    let other = tenant(&db.store, "other", other_iban).await;
    let foreign = ledger(other_iban, date(2024, 3, 1), date(2024, 3, 1));

    let report = ingest(&db.store, &acme, StatementSyntax::Camt, &camt053(&foreign)).await;
    assert_eq!(report.statements_unmatched, 1);
    assert_eq!(report.bookings_new, 0);
    assert_eq!(booking_count(&db.store, &acme).await, 0);
    assert_eq!(booking_count(&db.store, &other).await, 0);
}

async fn concurrent_ingestion_of_one_file_lands_each_booking_once(db: TestDb) {
    let t = tenant(&db.store, "acme", IBAN).await;
    let ledger = ledger(IBAN, date(2024, 3, 1), date(2024, 3, 4));
    let file = camt053(&ledger);
    let other_instance = db.second_instance().await;
    let (a, b) = tokio::join!(
        ingest(&db.store, &t, StatementSyntax::Camt, &file),
        ingest(&other_instance, &t, StatementSyntax::Camt, &file),
    );
    assert_eq!(a.bookings_new + b.bookings_new, ledger.entry_count());
    assert_eq!(booking_count(&db.store, &t).await, ledger.entry_count());
}

async fn unparsable_file_stores_nothing(db: TestDb) {
    let t = tenant(&db.store, "acme", IBAN).await;
    let mut tx = db.store.scope(&t.scope).begin().await.unwrap();
    let result = ingest_file(
        &mut tx,
        StatementSyntax::Camt,
        b"<Document><BkToCstmrStmt><Stmt>",
        &IngestSource::default(),
    )
    .await;
    assert!(result.is_err());
    drop(tx);
    assert_eq!(booking_count(&db.store, &t).await, 0);
}

/// A bank that delivers the same camt.053 every time it is asked.
struct RepeatingBank {
    file: Vec<u8>,
    requests: Mutex<Vec<StatementDownload>>,
}

impl StatementDownloader for RepeatingBank {
    async fn download(
        &self,
        _scope: &TenantScope,
        request: StatementDownload,
    ) -> Result<Downloaded, EbicsError> {
        self.requests.lock().unwrap().push(request);
        Ok(Downloaded::Data {
            bytes: self.file.clone(),
            file: None,
            transaction: None,
        })
    }
}

async fn scheduled_download_run_twice_over_the_same_period_lands_bookings_once(db: TestDb) {
    let t = tenant(&db.store, "acme", IBAN).await;
    let first_due = Utc.with_ymd_and_hms(2024, 3, 6, 5, 0, 0).unwrap();
    let schedule = c53_schedule(&db.store, &t, t.account(), first_due).await;

    let ledger = ledger(IBAN, date(2024, 3, 1), date(2024, 3, 5));
    let bank = Arc::new(RepeatingBank {
        file: camt053(&ledger),
        requests: Mutex::new(Vec::new()),
    });
    let job = Arc::new(StatementJob::new(db.store.clone(), bank.clone()));
    let scheduler = Scheduler::new(db.store.clone(), job, SchedulerConfig::new("a"));

    let first = scheduler.tick(first_due).await.unwrap();
    let second = scheduler
        .tick(first_due + chrono::Duration::days(1))
        .await
        .unwrap();
    assert_eq!((first.succeeded, second.succeeded), (1, 1));
    assert_eq!(bank.requests.lock().unwrap().len(), 2);
    assert_eq!(booking_count(&db.store, &t).await, ledger.entry_count());

    let mut tx = db.store.scope(&t.scope).begin().await.unwrap();
    let runs = tx.schedules().runs(schedule.id).await.unwrap();
    assert_eq!(runs.len(), 2);
    let details: Vec<String> = runs.iter().filter_map(|r| r.detail.clone()).collect();
    assert!(details[1].contains("0 bookings new"), "{details:?}");
    let statements = tx.statements().list_for_account(t.account()).await.unwrap();
    assert_eq!(statements.len(), 5, "one per day, not one per download");
}

/// A week of a busy account is megabytes of camt.053 in many 64 KiB segments: the scheduled
/// download stores it as the bank generated it, segment by segment, and books it; the next
/// firing downloads an overlapping period and stores nothing twice.
async fn scheduled_multi_segment_c53_lands_bookings_once(db: TestDb, version: ProtocolVersion) {
    let mut setup = Setup::new(version);
    setup.bank.limits.segment_size_bytes = 64 << 10;
    let w = world(db, setup).await;
    w.ready().await;
    let account = w.describe_bank(&["CCT", "C53"]).await;
    w.busy_main_account(400).await;
    let now = Utc::now();
    let schedule = w.c53_schedule(account, now - Duration::minutes(1)).await;
    let scheduler = statement_scheduler(&w, 8, "ops-test");
    let first = scheduler.tick(now).await.unwrap();
    assert_eq!(first.succeeded, 1, "{first:?}");

    // The transfer: every segment received and recorded, the file byte for byte the bank's.
    let [record] = w.transactions().await.try_into().expect("one transfer");
    assert_eq!(record.phase, TransactionPhase::Completed);
    let num_segments = record.num_segments.unwrap();
    assert!(num_segments > 1, "multi-segment");
    assert_eq!(record.last_acknowledged_segment, num_segments);
    let events = w.events(record.id).await;
    assert_eq!(events.first(), Some(&TransactionEventKind::Initialised));
    assert_eq!(events.last(), Some(&TransactionEventKind::Completed));
    assert_eq!(
        events
            .iter()
            .filter(|e| **e == TransactionEventKind::SegmentReceived)
            .count() as i64,
        num_segments
    );
    let bytes = w
        .client
        .read_file(&w.scope, record.file_id.unwrap())
        .await
        .unwrap();
    assert_eq!(hex::encode(Sha256::digest(&bytes)), w.last_served_sha256());
    // C53 comes in a ZIP container, one camt.053 per account and day.
    let members = unzip(&bytes);
    let inflated: usize = members.iter().map(|(_, m)| m.len()).sum();
    assert!(members.len() >= 8, "{} members", members.len());
    assert!(inflated >= 3 << 20, "at least 3 MiB inflated: {inflated}");

    // The bookings, once.
    let bookings_after_first = count_bookings(&w.db.store, &w.scope, account).await;
    assert!(bookings_after_first >= 7 * 400, "{bookings_after_first}");
    let mut tx = w.tx().await;
    let next: Schedule = tx.get(schedule.id).await.unwrap();
    drop(tx);
    let second = scheduler.tick(next.next_run_at).await.unwrap();
    assert_eq!(second.succeeded, 1, "{second:?}");
    assert_eq!(
        count_bookings(&w.db.store, &w.scope, account).await,
        bookings_after_first
    );

    let mut tx = w.tx().await;
    let runs = tx.schedules().runs(schedule.id).await.unwrap();
    assert_eq!(runs.len(), 2);
    let statements = tx.statements().list_for_account(account).await.unwrap();
    let file: StoredFile = tx
        .get(statements[0].file_id.expect("statement links its file"))
        .await
        .unwrap();
    let stored = tx
        .statement_files()
        .by_file(file.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.container, Some(StatementContainer::Zip));
    assert_eq!(stored.members.len(), members.len());
    assert_eq!(stored.status, StatementFileStatus::Partial, "{stored:?}");
    assert_eq!(stored.counts.bookings_new as usize, bookings_after_first);
    let balances = tx.statements().balances(account).await.unwrap();
    assert!(balances
        .iter()
        .any(|b| b.kind == BalanceKind::ClosingBooked));
    println!(
        "{version:?} C53 {} bytes in {num_segments} segments -> {} bookings; runs: {:?}",
        file.size,
        bookings_after_first,
        runs.iter().map(|r| r.detail.clone()).collect::<Vec<_>>()
    );
}

/// The members of a ZIP container, in order.
pub fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut member = archive.by_index(i).unwrap();
            let mut content = Vec::new();
            member.read_to_end(&mut content).unwrap();
            (member.name().unwrap().into_owned(), content)
        })
        .collect()
}

/// How deep the hostile statement nests its entries.
const DEPTH: u32 = 100_000;

/// A hostile statement ends the scheduled run with a clear error; the downloaded file stays
/// stored, nothing is booked, and the daemon goes on: the next run books the real statement.
async fn nested_statement_fails_the_run_and_keeps_the_file(db: TestDb) {
    let w = ready_world(db, H004).await;
    let account = w.describe_bank(&["C53"]).await;
    let now = Utc::now();
    let schedule = w.c53_schedule(account, now - Duration::minutes(1)).await;
    w.next_c53_gets(&format!(
        r#"{{"kind": "nested_statement", "depth": {DEPTH}}}"#
    ))
    .await;

    let scheduler = statement_scheduler(&w, 3, "nested-test");
    let first = scheduler.tick(now).await.unwrap();
    assert_eq!((first.succeeded, first.failed), (0, 1), "{first:?}");

    // The run records why, in words an operator understands.
    let mut tx = w.tx().await;
    let runs = tx.schedules().runs(schedule.id).await.unwrap();
    drop(tx);
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].outcome, Some(kontor_storage::RunOutcome::Failed));
    // C53 comes in a ZIP container: the error names the member.
    let detail = runs[0].detail.as_deref().unwrap_or_default();
    assert!(
        detail.starts_with("ZIP member \"")
            && detail.ends_with(
                "camt.053.xml\": camt document does not parse: XML element nesting depth \
                 exceeds the limit of 256"
            ),
        "{detail}"
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
        .filter(|t| t.order_type == OrderType::C53)
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
    let [(_, nested)] = unzip(&bytes).try_into().expect("one member");
    assert_eq!(
        String::from_utf8_lossy(&nested).matches("<Ntry>").count(),
        DEPTH as usize
    );
    assert!(statements.is_empty(), "{statements:?}");
    assert_eq!(
        count_bookings(&w.db.store, &w.scope, account).await,
        0,
        "nothing booked"
    );

    // The daemon goes on: the next run downloads the real statement and books it.
    let mut tx = w.tx().await;
    let next: Schedule = tx.get(schedule.id).await.unwrap();
    drop(tx);
    let second = scheduler.tick(next.next_run_at).await.unwrap();
    assert_eq!(second.succeeded, 1, "{second:?}");
    assert!(count_bookings(&w.db.store, &w.scope, account).await > 0);
}

/// A run started by hand is recorded like a scheduled one: a job run, `last_run_at`
/// advanced, the next scheduled time left as it was.
async fn manual_run_is_recorded_like_a_scheduled_one(db: TestDb) {
    let w = ready_world(db, H004).await;
    let account = w.describe_bank(&["C53"]).await;
    let due = Utc::now() + Duration::hours(3);
    let schedule = w.c53_schedule(account, due).await;

    let run = run_now_succeeds(&w, &schedule).await;
    assert_eq!(run.owner, "manual");
    let mut tx = w.tx().await;
    let runs = tx.schedules().runs(schedule.id).await.unwrap();
    let after: Schedule = tx.get(schedule.id).await.unwrap();
    drop(tx);
    assert_eq!(runs, vec![run.clone()]);
    assert_eq!(after.last_run_at, run.finished_at);
    assert!(after.last_run_at.is_some());
    assert_eq!(after.next_run_at, schedule.next_run_at);
    assert!(count_bookings(&w.db.store, &w.scope, account).await > 0);
}

/// A schedule that names a BTF service (EBICS 3.0 BTD with service, scope, container and
/// message) downloads that service and books it; a schedule of a download that delivers no
/// statements, or that the bank does not offer, is refused when it is created.
async fn schedule_with_an_explicit_btf_service_books_statements(db: TestDb) {
    let w = ready_world(db, H005).await;
    let account = w.describe_bank(&["HAC"]).await;
    let (_, service) = OrderType::C53.to_h005().unwrap();
    let service = service.expect("camt.053 travels as a BTF service");
    let request = |order_type: OrderType, service: Option<BtfService>| ScheduleRequest {
        user: w.user,
        account: Some(account),
        order_type,
        service,
        cron: "0 6 * * *".into(),
        time_zone: chrono_tz::Europe::Berlin,
    };
    for (order_type, why) in [
        (OrderType::HAC, "delivers none"),
        (OrderType::C53, "does not offer"),
    ] {
        let mut tx = w.tx().await;
        let refused = schedules::create(&mut tx, request(order_type.clone(), None))
            .await
            .unwrap_err();
        assert!(refused.to_string().contains(why), "{order_type}: {refused}");
    }
    // BTD is offered, but its synced offers name only camt.052: the camt.053 service is not.
    let (_, camt052) = OrderType::C52.to_h005().unwrap();
    let mut tx = w.tx().await;
    tx.connections()
        .set_order_types(w.connection, &[OrderType::BTD, OrderType::HAC])
        .await
        .unwrap();
    let offer = |service: BtfService| BtfOffer {
        order_type: OrderType::BTD,
        service,
    };
    tx.connections()
        .set_btf_offers(w.connection, &[offer(camt052.clone().unwrap())])
        .await
        .unwrap();
    let refused = schedules::create(&mut tx, request(OrderType::BTD, Some(service.clone())))
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("does not offer"), "{refused}");
    tx.connections()
        .set_btf_offers(
            w.connection,
            &[offer(camt052.unwrap()), offer(service.clone())],
        )
        .await
        .unwrap();
    let schedule = schedules::create(&mut tx, request(OrderType::BTD, Some(service.clone())))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(schedule.order_type, OrderType::BTD);
    assert_eq!(schedule.btf_service.as_ref(), Some(&service));

    run_now_succeeds(&w, &schedule).await;
    assert!(count_bookings(&w.db.store, &w.scope, account).await > 0);
}

/// Runs `schedule` by hand; the run must succeed.
async fn run_now_succeeds(w: &World, schedule: &Schedule) -> JobRun {
    let run = schedules::run_now(&w.services, &w.scope, schedule.id)
        .await
        .unwrap();
    assert_eq!(
        run.outcome,
        Some(kontor_storage::RunOutcome::Succeeded),
        "{run:?}"
    );
    run
}

on_both_databases! {
    manual_run_is_recorded_like_a_scheduled_one;
    schedule_with_an_explicit_btf_service_books_statements;
    repeated_download_lands_each_booking_once;
    overlapping_periods_add_only_the_new_days;
    mt940_after_camt053_of_the_same_days_adds_nothing;
    statements_of_unknown_or_foreign_accounts_are_not_stored;
    concurrent_ingestion_of_one_file_lands_each_booking_once;
    unparsable_file_stores_nothing;
    scheduled_download_run_twice_over_the_same_period_lands_bookings_once;
    nested_statement_fails_the_run_and_keeps_the_file;
    h004_scheduled_multi_segment_c53_lands_bookings_once => |db| scheduled_multi_segment_c53_lands_bookings_once(db, H004);
    h005_scheduled_multi_segment_c53_lands_bookings_once => |db| scheduled_multi_segment_c53_lands_bookings_once(db, H005);
}
