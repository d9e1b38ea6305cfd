//! Statement ingestion: repeated, overlapping and cross-format downloads land every booking
//! exactly once, on SQLite and PostgreSQL.

mod ops_support;

use chrono::{NaiveDate, NaiveDateTime};
use std::sync::{Arc, Mutex};

use chrono::{TimeZone, Utc};
use kontor_daemon::ebics::EbicsError;
use kontor_daemon::services::scheduler::{Scheduler, SchedulerConfig};
use kontor_daemon::services::statement_job::{
    Downloaded, StatementDownload, StatementDownloader, StatementJob,
};
use kontor_daemon::services::statements::{
    ingest_file, IngestReport, IngestSource, StatementSyntax,
};
use kontor_documents::camt::{self, CamtKind, StatementRequest};
use kontor_documents::mt940::{self, Mt940Request};
use kontor_documents::{AccountInfo, Bic, Currency, Iban, Ledger};
use kontor_storage::{BookingFilter, Store};
use kontor_storage::{NewSchedule, TenantScope};
use ops_support::{tenant, TestDb, IBAN};

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn created() -> NaiveDateTime {
    date(2024, 3, 10).and_hms_opt(6, 0, 0).unwrap()
}

fn ledger(iban: &str, from: NaiveDate, to: NaiveDate) -> Ledger {
    let account = AccountInfo {
        iban: Iban::parse(iban).unwrap(),
        bic: Bic::parse("COBADEFFXXX").unwrap(),
        currency: Currency::EUR,
        holder: "ACME GmbH".into(),
    };
    Ledger::generate(7, account, from, to, 12).unwrap()
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

async fn ingest(
    store: &Store,
    t: &ops_support::Tenant,
    syntax: StatementSyntax,
    bytes: &[u8],
) -> IngestReport {
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

async fn booking_count(store: &Store, t: &ops_support::Tenant) -> usize {
    let mut tx = store.scope(&t.scope).begin().await.unwrap();
    let mut all = 0;
    let mut filter = BookingFilter {
        account_id: Some(t.account),
        limit: 500,
        ..Default::default()
    };
    loop {
        let page = tx.statements().bookings(&filter).await.unwrap();
        all += page.len();
        match page.last() {
            Some(last) => filter.after = Some((last.booking_date, last.id)),
            None => return all,
        }
    }
}

async fn repeated_download_lands_each_booking_once(db: &TestDb) {
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

async fn overlapping_periods_add_only_the_new_days(db: &TestDb) {
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
    let balances = tx.statements().balances(t.account).await.unwrap();
    let closing_5th = balances
        .iter()
        .find(|b| b.kind == "CLBD" && b.balance_date == date(2024, 3, 5))
        .expect("closing balance of the last day");
    assert_eq!(closing_5th.amount, whole.closing_balance().to_string());
}

async fn mt940_after_camt053_of_the_same_days_adds_nothing(db: &TestDb) {
    let t = tenant(&db.store, "acme", IBAN).await;
    let ledger = ledger(IBAN, date(2024, 3, 1), date(2024, 3, 2));
    ingest(&db.store, &t, StatementSyntax::Camt, &camt053(&ledger)).await;
    let mt940 = ingest(&db.store, &t, StatementSyntax::Mt940, &mt940_of(&ledger)).await;
    assert_eq!(mt940.bookings_new, 0);
    assert_eq!(mt940.bookings_known, ledger.entry_count());
    assert_eq!(booking_count(&db.store, &t).await, ledger.entry_count());
}

async fn statements_of_unknown_or_foreign_accounts_are_not_stored(db: &TestDb) {
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

async fn concurrent_ingestion_of_one_file_lands_each_booking_once(db: &TestDb) {
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

async fn unparsable_file_stores_nothing(db: &TestDb) {
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

async fn scheduled_download_run_twice_over_the_same_period_lands_bookings_once(db: &TestDb) {
    let t = tenant(&db.store, "acme", IBAN).await;
    let first_due = Utc.with_ymd_and_hms(2024, 3, 6, 5, 0, 0).unwrap();
    let mut tx = db.store.scope(&t.scope).begin().await.unwrap();
    let schedule = tx
        .schedules()
        .create(NewSchedule {
            ebics_user_id: t.user,
            account_id: Some(t.account),
            order_type: "C53".into(),
            cron: "0 6 * * *".into(),
            time_zone: "Europe/Berlin".into(),
            next_run_at: first_due,
        })
        .await
        .unwrap();
    tx.commit().await.unwrap();

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
    let statements = tx.statements().list_for_account(t.account).await.unwrap();
    assert_eq!(statements.len(), 5, "one per day, not one per download");
}

on_both_databases!(
    repeated_download_lands_each_booking_once,
    overlapping_periods_add_only_the_new_days,
    mt940_after_camt053_of_the_same_days_adds_nothing,
    statements_of_unknown_or_foreign_accounts_are_not_stored,
    concurrent_ingestion_of_one_file_lands_each_booking_once,
    unparsable_file_stores_nothing,
    scheduled_download_run_twice_over_the_same_period_lands_bookings_once,
);
