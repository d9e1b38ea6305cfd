//! Stored statement files: a ZIP container of several documents lands every booking once; a
//! zip bomb or a member that is no statement ends with a clear error, recorded and audited,
//! and the file kept; ingesting again after the cause is fixed books the rest. On SQLite and
//! PostgreSQL, with containers built here (the emulator's ZIP delivery is tested in
//! `statements`).

use std::io::{Cursor, Write};

use chrono::{NaiveDate, NaiveDateTime};
use kontor_daemon::ebics::Files;
use kontor_daemon::services::container::ZipLimits;
use kontor_daemon::services::statement_files::{
    ingest_delivered, reingest, store_delivered_bytes, DeliveredStatements, Reading,
};
use kontor_daemon::services::statements::IngestError;
use kontor_documents::camt::{self, CamtKind, StatementRequest};
use kontor_documents::{AccountInfo, Bic, Currency, Iban, Ledger};
use kontor_protocol::order_type::OrderType;
use kontor_storage::{
    AuditAction, AuditEvent, FileId, NewAccount, Page, StatementFile, StatementFileStatus,
    StoredFile,
};
use zip::write::SimpleFileOptions;

use crate::support::seed::{count_bookings, tenant, Tenant, IBAN};
use crate::support::TestDb;

const PAYROLL: &str = "DE02120300000000202051";

fn date(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 3, d).unwrap()
}

fn ledger(iban: &str, from: u32, to: u32) -> Ledger {
    let account = AccountInfo {
        iban: Iban::parse(iban).unwrap(),
        bic: Bic::parse("COBADEFFXXX").unwrap(),
        currency: Currency::EUR,
        holder: "ACME GmbH".into(),
    };
    Ledger::generate(11, account, date(from), date(to), 9).unwrap()
}

/// One camt.053 document per day of the ledger, as German banks put them in a container.
fn daily_camt053(ledger: &Ledger, iban: &str) -> Vec<(String, Vec<u8>)> {
    let created: NaiveDateTime = date(20).and_hms_opt(6, 0, 0).unwrap();
    ledger
        .days()
        .iter()
        .map(|day| {
            let one = Ledger::from_days(
                ledger.account().clone(),
                day.opening_balance(),
                vec![(day.date(), day.entries().to_vec())],
            )
            .unwrap();
            let bytes = camt::generate(
                &one,
                &StatementRequest::new(CamtKind::Camt053, &format!("MSG-{}", day.date()), created),
            )
            .into_bytes();
            (format!("{iban}/camt053_{}.xml", day.date()), bytes)
        })
        .collect()
}

fn zip_of(members: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, bytes) in members {
        writer
            .start_file(name.as_str(), SimpleFileOptions::default())
            .unwrap();
        writer.write_all(bytes).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

struct Ingest<'a> {
    db: &'a TestDb,
    t: &'a Tenant,
    files: Files,
}

impl<'a> Ingest<'a> {
    fn new(db: &'a TestDb, t: &'a Tenant) -> Self {
        Self {
            db,
            t,
            files: Files::inline_only(),
        }
    }

    fn reading(&self) -> Reading<'_> {
        Reading {
            store: &self.db.store,
            files: &self.files,
            limits: ZipLimits::default(),
        }
    }

    async fn store(&self, bytes: Vec<u8>) -> FileId {
        store_delivered_bytes(&self.db.store, &self.t.scope, bytes)
            .await
            .unwrap()
    }

    async fn delivered(&self, file: FileId) -> Result<usize, IngestError> {
        let delivered = DeliveredStatements {
            user: self.t.user,
            order_type: Some(OrderType::C53),
            file,
            transaction: None,
        };
        ingest_delivered(self.reading(), &self.t.scope, &delivered)
            .await
            .map(|r| r.bookings_new)
    }

    async fn record(&self, file: FileId) -> StatementFile {
        let mut tx = self.db.store.scope(&self.t.scope).begin().await.unwrap();
        tx.statement_files().by_file(file).await.unwrap().unwrap()
    }

    async fn bookings(&self) -> usize {
        count_bookings(&self.db.store, &self.t.scope, self.t.account()).await
    }

    async fn audit(&self) -> Vec<AuditEvent> {
        let mut tx = self.db.store.scope(&self.t.scope).begin().await.unwrap();
        tx.list(Page::first(100)).await.unwrap()
    }
}

async fn zip_of_daily_statements_lands_every_booking_once(db: TestDb) {
    let t = tenant(&db.store, "acme", IBAN).await;
    let ingest = Ingest::new(&db, &t);
    let ledger = ledger(IBAN, 1, 4);
    let members = daily_camt053(&ledger, IBAN);
    assert_eq!(members.len(), 4);
    let file = ingest.store(zip_of(&members)).await;

    assert_eq!(ingest.delivered(file).await.unwrap(), ledger.entry_count());
    let record = ingest.record(file).await;
    assert_eq!(record.status, StatementFileStatus::Ingested, "{record:?}");
    assert_eq!(record.container.as_deref(), Some("ZIP"));
    assert_eq!(record.members.len(), 4);
    assert!(record
        .members
        .iter()
        .all(|m| m.error.is_none() && m.statements == 1));
    assert_eq!(record.bookings_new as usize, ledger.entry_count());

    // The same container again (the bank delivers it twice): nothing new, one record.
    assert_eq!(ingest.delivered(file).await.unwrap(), 0);
    let again = ingest.record(file).await;
    assert_eq!((again.id, again.attempts), (record.id, 2));
    assert_eq!(ingest.bookings().await, ledger.entry_count());

    // A bare document still works beside containers.
    let bare = ingest.store(members[0].1.clone()).await;
    assert_eq!(ingest.delivered(bare).await.unwrap(), 0);
    assert_eq!(ingest.record(bare).await.container.as_deref(), Some("BARE"));
}

async fn zip_bomb_is_refused_and_the_file_kept(db: TestDb) {
    let t = tenant(&db.store, "acme", IBAN).await;
    let ingest = Ingest::new(&db, &t);
    let mut members = daily_camt053(&ledger(IBAN, 1, 2), IBAN);
    members.push(("bomb.xml".into(), vec![b' '; 64 << 20]));
    let bytes = zip_of(&members);
    let file = ingest.store(bytes.clone()).await;

    let error = ingest.delivered(file).await.unwrap_err().to_string();
    assert_eq!(
        error,
        "ZIP member \"bomb.xml\" expands more than 200 times its compressed size (zip bomb?)"
    );
    let record = ingest.record(file).await;
    assert_eq!(record.status, StatementFileStatus::Failed);
    assert_eq!(record.error.as_deref(), Some(error.as_str()));
    assert_eq!(
        ingest.bookings().await,
        0,
        "a refused container books nothing"
    );
    let mut tx = db.store.scope(&t.scope).begin().await.unwrap();
    let stored: StoredFile = tx.get(file).await.unwrap();
    drop(tx);
    assert_eq!(
        stored.content.as_deref(),
        Some(bytes.as_slice()),
        "file kept"
    );
    let audit = ingest.audit().await;
    assert!(
        audit
            .iter()
            .any(|e| e.action == AuditAction::StatementFileFailed
                && e.target_id == record.id.to_string()
                && e.detail["error"] == error),
        "{audit:?}"
    );
}

async fn zip_member_that_is_no_statement_fails_clearly_and_the_rest_is_booked(db: TestDb) {
    let t = tenant(&db.store, "acme", IBAN).await;
    let ingest = Ingest::new(&db, &t);
    let ledger = ledger(IBAN, 1, 3);
    let mut members = daily_camt053(&ledger, IBAN);
    members.insert(
        1,
        ("cover.pdf".into(), b"%PDF-1.7 \xff\xfe binary".to_vec()),
    );
    let file = ingest.store(zip_of(&members)).await;

    let error = ingest.delivered(file).await.unwrap_err().to_string();
    assert!(
        error.starts_with("ZIP member \"cover.pdf\": camt document does not parse"),
        "{error}"
    );
    let record = ingest.record(file).await;
    assert_eq!(record.status, StatementFileStatus::Failed);
    assert_eq!(record.members.len(), 4);
    assert_eq!(
        record.members.iter().filter(|m| m.error.is_some()).count(),
        1
    );
    assert_eq!(ingest.bookings().await, ledger.entry_count());
}

async fn reingest_after_the_cause_is_fixed_books_the_rest(db: TestDb) {
    let t = tenant(&db.store, "acme", IBAN).await;
    let ingest = Ingest::new(&db, &t);
    let main = ledger(IBAN, 1, 2);
    let payroll = ledger(PAYROLL, 1, 2);
    let mut members = daily_camt053(&main, IBAN);
    members.extend(daily_camt053(&payroll, PAYROLL));
    let file = ingest.store(zip_of(&members)).await;

    // The tenant has not set up the payroll account yet: its statements are left out.
    assert_eq!(ingest.delivered(file).await.unwrap(), main.entry_count());
    let record = ingest.record(file).await;
    assert_eq!(record.status, StatementFileStatus::Partial);
    assert_eq!(record.statements_unmatched, 2);
    assert!(
        record.error.as_deref().unwrap().contains(PAYROLL),
        "{record:?}"
    );

    // The operator adds the account and ingests the stored file again.
    let mut tx = db.store.scope(&t.scope).begin().await.unwrap();
    let account = tx
        .accounts()
        .create(
            t.connection,
            NewAccount {
                iban: Some(PAYROLL.into()),
                holder_name: "ACME GmbH".into(),
                currency: "EUR".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let after = reingest(ingest.reading(), &t.scope, record.id)
        .await
        .unwrap();
    assert_eq!(after.status, StatementFileStatus::Ingested, "{after:?}");
    assert_eq!(after.bookings_new as usize, payroll.entry_count());
    assert_eq!(after.bookings_known as usize, main.entry_count());
    assert_eq!(ingest.bookings().await, main.entry_count());
    assert_eq!(
        count_bookings(&db.store, &t.scope, account.id).await,
        payroll.entry_count()
    );
    assert!(ingest
        .audit()
        .await
        .iter()
        .any(|e| e.action == AuditAction::StatementFileReingested));
}

on_both_databases! {
    zip_of_daily_statements_lands_every_booking_once => zip_of_daily_statements_lands_every_booking_once;
    zip_bomb_is_refused_and_the_file_kept => zip_bomb_is_refused_and_the_file_kept;
    zip_member_that_is_no_statement_fails_clearly_and_the_rest_is_booked => zip_member_that_is_no_statement_fails_clearly_and_the_rest_is_booked;
    reingest_after_the_cause_is_fixed_books_the_rest => reingest_after_the_cause_is_fixed_books_the_rest;
}
