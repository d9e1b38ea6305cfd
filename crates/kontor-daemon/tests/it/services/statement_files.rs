//! Stored statement files: a ZIP container of several documents lands every booking once; a
//! zip bomb or a member that is no statement ends with a clear error, recorded and audited,
//! and the file kept; ingesting again after the cause is fixed books the rest. On SQLite and
//! PostgreSQL, with containers built here (the emulator's ZIP delivery is tested in
//! `statements`).

use std::collections::BTreeMap;
use std::io::{Cursor, Write};

use axum::http::{Method, StatusCode};
use chrono::{NaiveDate, NaiveDateTime, Utc};
use kontor_daemon::api::{router, AppState};
use kontor_daemon::ebics::Files;
use kontor_daemon::services::container;
use kontor_daemon::services::schedules;
use kontor_daemon::services::statement_files::{
    ingest_delivered, reingest, store_delivered_bytes, DeliveredStatements, Reading,
};
use kontor_daemon::services::statements::IngestError;
use kontor_documents::camt::{self, CamtKind, StatementRequest};
use kontor_documents::{EntryStatus, Ledger};
use kontor_protocol::order_type::OrderType;
use kontor_protocol::ProtocolVersion::{self, H004, H005};
use kontor_storage::{
    Account, AccountId, AuditAction, AuditEvent, ConnectionId, FileId, NewAccount, Role, Schedule,
    ScopedTx, StatementContainer, StatementFile, StatementFileStatus, StoredFile, Transaction,
};
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;

use super::statements::unzip;
use crate::support::api::{call, Payload};
use crate::support::emulator::{audit_trail, count_of, ready_world, World};
use crate::support::seed::{count_bookings, statement_account, tenant, Tenant, IBAN};
use crate::support::TestDb;

const PAYROLL: &str = "DE02120300000000202051";

fn date(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 3, d).unwrap()
}

fn ledger(iban: &str, from: u32, to: u32) -> Ledger {
    Ledger::generate(11, statement_account(iban), date(from), date(to), 9).unwrap()
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
        Reading::new(&self.db.store, &self.files)
    }

    async fn store(&self, bytes: Vec<u8>) -> FileId {
        store_delivered_bytes(&self.db.store, &self.t.scope, bytes)
            .await
            .unwrap()
    }

    async fn delivered(&self, file: FileId) -> Result<usize, IngestError> {
        let delivered = DeliveredStatements::downloaded(self.t.user, OrderType::C53, file, None);
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
        audit_trail(&mut tx).await
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
    assert_eq!(record.container, Some(StatementContainer::Zip));
    assert_eq!(record.members.len(), 4);
    assert!(record
        .members
        .iter()
        .all(|m| m.error.is_none() && m.statements == 1));
    assert_eq!(record.counts.bookings_new as usize, ledger.entry_count());

    // The same container again (the bank delivers it twice): nothing new, one record.
    assert_eq!(ingest.delivered(file).await.unwrap(), 0);
    let again = ingest.record(file).await;
    assert_eq!((again.id, again.attempts), (record.id, 2));
    assert_eq!(ingest.bookings().await, ledger.entry_count());

    // A bare document still works beside containers.
    let bare = ingest.store(members[0].1.clone()).await;
    assert_eq!(ingest.delivered(bare).await.unwrap(), 0);
    assert_eq!(
        ingest.record(bare).await.container,
        Some(StatementContainer::Bare)
    );
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

/// A document that breaks after its first statement was stored (a second `Stmt` without
/// its mandatory parts): streamed ingestion has written the first statement's bookings by
/// then, and they are dropped with the document; the other members are booked.
async fn a_document_that_breaks_half_way_books_nothing_of_it(db: TestDb) {
    let t = tenant(&db.store, "acme", IBAN).await;
    let ingest = Ingest::new(&db, &t);
    let ledger = ledger(IBAN, 1, 3);
    let mut members = daily_camt053(&ledger, IBAN);
    let broken = String::from_utf8(members[1].1.clone()).unwrap().replace(
        "</BkToCstmrStmt>",
        "<Stmt><Id>BROKEN</Id></Stmt></BkToCstmrStmt>",
    );
    assert!(broken.contains("BROKEN"));
    members[1].1 = broken.into_bytes();
    let file = ingest.store(zip_of(&members)).await;

    let error = ingest.delivered(file).await.unwrap_err().to_string();
    assert!(
        error.starts_with(&format!(
            "ZIP member {:?}: camt document does not parse",
            members[1].0
        )),
        "{error}"
    );
    let record = ingest.record(file).await;
    assert_eq!(record.status, StatementFileStatus::Failed);
    let failed: Vec<_> = record
        .members
        .iter()
        .filter(|m| m.error.is_some())
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!((failed[0].statements, failed[0].bookings_new), (0, 0));
    let second_day = ledger.days()[1].entries().len();
    assert!(second_day > 0);
    assert_eq!(ingest.bookings().await, ledger.entry_count() - second_day);
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
    assert_eq!(record.counts.statements_unmatched, 2);
    assert!(
        record.error.as_deref().unwrap().contains(PAYROLL),
        "{record:?}"
    );

    // The operator adds the account and ingests the stored file again.
    let mut tx = db.store.scope(&t.scope).begin().await.unwrap();
    let account = add_account(&mut tx, t.connection, "ACME GmbH", (PAYROLL, "EUR")).await;
    tx.commit().await.unwrap();
    let after = reingest(ingest.reading(), &t.scope, record.id)
        .await
        .unwrap();
    assert_eq!(after.status, StatementFileStatus::Ingested, "{after:?}");
    assert_eq!(after.counts.bookings_new as usize, payroll.entry_count());
    assert_eq!(after.counts.bookings_known as usize, main.entry_count());
    assert_eq!(ingest.bookings().await, main.entry_count());
    assert_eq!(
        count_bookings(&db.store, &t.scope, account.id).await,
        payroll.entry_count()
    );
    let audit = ingest.audit().await;
    assert!(count_of(&audit, AuditAction::StatementFileReingested) > 0);
}

// --- against the bank emulator: what a bank really delivers --------------------------------

/// The emulator partner's other accounts (the seed has the main one).
const OTHER_ACCOUNTS: [(&str, &str); 2] = [(PAYROLL, "EUR"), ("DE02100100100006820101", "USD")];

async fn add_accounts(w: &World, accounts: &[(&str, &str)]) -> Vec<AccountId> {
    let mut tx = w.tx().await;
    let mut ids = Vec::new();
    for &account in accounts {
        let holder = "Muster Maschinenbau GmbH";
        ids.push(add_account(&mut tx, w.connection, holder, account).await.id);
    }
    tx.commit().await.unwrap();
    ids
}

/// Adds the account `(iban, currency)` of `holder` to `connection`.
async fn add_account(
    tx: &mut ScopedTx<'_>,
    connection: ConnectionId,
    holder: &str,
    (iban, currency): (&str, &str),
) -> Account {
    let account = NewAccount {
        iban: Some(iban.parse().unwrap()),
        holder_name: holder.into(),
        currency: currency.parse().unwrap(),
        bank_account_id: None,
        national_number: None,
        bank_code: None,
        bic: None,
    };
    tx.accounts().create(connection, account).await.unwrap()
}

/// A READY user with a daily C53 schedule (on H005: BTD EOP/DE camt.053 in a ZIP container).
async fn statement_world(db: TestDb, version: ProtocolVersion) -> (World, Schedule, AccountId) {
    let w = ready_world(db, version).await;
    let account = w.describe_bank(&["C53", "BTD"]).await;
    let schedule = w
        .c53_schedule(account, Utc::now() + chrono::Duration::hours(6))
        .await;
    (w, schedule, account)
}

/// Runs the schedule now; the one C53/BTD download's statement file record and its bytes.
async fn run_and_fetch(
    w: &World,
    schedule: &Schedule,
) -> (Result<(), String>, StatementFile, Vec<u8>) {
    let result = schedules::run_now(&w.services, &w.scope, schedule.id)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string());
    let downloads: Vec<Transaction> = w
        .transactions()
        .await
        .into_iter()
        .filter(|t| t.file_id.is_some())
        .collect();
    let last = downloads.last().expect("a download with a file");
    let file = last.file_id.unwrap();
    let mut tx = w.tx().await;
    let record = tx.statement_files().by_file(file).await.unwrap().unwrap();
    drop(tx);
    let bytes = w.client.read_file(&w.scope, file).await.unwrap();
    assert_eq!(
        hex::encode(Sha256::digest(&bytes)),
        w.last_served_sha256(),
        "stored as served"
    );
    (result, record, bytes)
}

/// A scheduled C53 (H004) whose delivery failed, with the FAILED statement file it left.
struct FailedDelivery {
    w: World,
    main: AccountId,
    record: StatementFile,
    bytes: Vec<u8>,
}

/// Runs the C53 schedule once with the emulator serving a broken container of `kind` (see
/// the emulator's C53 kinds); the run must fail with an error that `says` accepts and leave
/// its file FAILED.
async fn emulator_delivery_fails(
    db: TestDb,
    kind: &str,
    says: impl Fn(&str) -> bool,
) -> FailedDelivery {
    let (w, schedule, main) = statement_world(db, H004).await;
    w.next_c53_gets(&serde_json::json!({ "kind": kind }).to_string())
        .await;
    let (result, record, bytes) = run_and_fetch(&w, &schedule).await;
    let error = result.unwrap_err();
    assert!(says(&error), "{error}");
    assert_eq!(record.status, StatementFileStatus::Failed, "{error}");
    FailedDelivery {
        w,
        main,
        record,
        bytes,
    }
}

/// The booked entries of every camt member of a container, by IBAN.
fn booked_per_iban(container: &[u8]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for (name, member) in unzip(container) {
        let Ok(statements) = camt::parse_bytes(&member) else {
            continue;
        };
        for statement in statements {
            let iban = statement
                .account
                .iban
                .as_ref()
                .unwrap()
                .electronic()
                .to_owned();
            *out.entry(iban).or_default() += statement
                .entries
                .iter()
                .filter(|e| e.status == EntryStatus::Booked)
                .count();
        }
        assert!(name.ends_with(".xml"), "{name}");
    }
    out
}

async fn bookings_of(w: &World, account: AccountId) -> usize {
    count_bookings(&w.db.store, &w.scope, account).await
}

/// A C53 (H004) or BTD camt.053 (H005) delivered as a ZIP of one document per account and
/// day lands every booking once, and a second run over the same days books nothing twice.
async fn zip_delivery_lands_every_booking_once(db: TestDb, version: ProtocolVersion) {
    let (w, schedule, main) = statement_world(db, version).await;
    let others = add_accounts(&w, &OTHER_ACCOUNTS).await;
    let (result, record, bytes) = run_and_fetch(&w, &schedule).await;
    result.unwrap();
    assert_eq!(container::sniff(&bytes), StatementContainer::Zip);
    let expected = booked_per_iban(&bytes);
    assert_eq!(
        expected.len(),
        3,
        "every account of the partner: {expected:?}"
    );
    assert!(
        record.members.len() >= 3,
        "several members: {}",
        record.members.len()
    );
    assert_eq!(record.status, StatementFileStatus::Ingested, "{record:?}");
    assert_eq!(record.container, Some(StatementContainer::Zip));
    let total: usize = expected.values().sum();
    assert_eq!(record.counts.bookings_new as usize, total);
    assert_eq!(bookings_of(&w, main).await, expected[IBAN]);
    assert_eq!(bookings_of(&w, others[0]).await, expected[PAYROLL]);

    let (again, second, _) = run_and_fetch(&w, &schedule).await;
    again.unwrap();
    assert_ne!(second.id, record.id, "a second download, a second file");
    // The second period starts a day before the first run: overlapping, all known.
    assert_eq!(second.counts.bookings_new, 0, "{second:?}");
    assert!(second.counts.bookings_known > 0 && second.counts.bookings_known as usize <= total);
    assert_eq!(bookings_of(&w, main).await, expected[IBAN]);
    println!(
        "{version:?}: ZIP of {} members, {} bytes -> {total} bookings",
        record.members.len(),
        bytes.len()
    );
}

/// The emulator's zip bomb (1 GiB of zeros in a 1 MiB container) is refused with a clear
/// error before it is inflated; nothing is booked, the file is kept, the failure is audited.
async fn emulator_zip_bomb_ends_with_a_clear_error_and_the_file_kept(db: TestDb) {
    let failed = emulator_delivery_fails(db, "zip_bomb", |error| {
        error.contains("expands beyond the limit of 268435456 bytes (zip bomb?)")
    })
    .await;
    let stored_error = failed.record.error.as_deref().unwrap();
    assert!(stored_error.contains("zip bomb"));
    let served = failed.bytes.len();
    assert!(served < 16 << 20, "the container is small: {served}");
    assert_eq!(
        bookings_of(&failed.w, failed.main).await,
        0,
        "a refused container books nothing"
    );
    let audit = failed.w.audit_events().await;
    assert!(count_of(&audit, AuditAction::StatementFileFailed) > 0);
}

/// A member that is not XML fails the file with an error naming it; the statements beside
/// it are booked and the file is kept.
async fn emulator_foreign_member_fails_clearly_and_the_rest_is_booked(db: TestDb) {
    let failed = emulator_delivery_fails(db, "zip_foreign_member", |error| {
        error.starts_with("ZIP member \"Kontoauszug-Hinweise.pdf\": camt document does not parse")
    })
    .await;
    let members_failed: Vec<&str> = failed
        .record
        .members
        .iter()
        .filter(|m| m.error.is_some())
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(members_failed, ["Kontoauszug-Hinweise.pdf"]);
    assert_eq!(
        bookings_of(&failed.w, failed.main).await,
        booked_per_iban(&failed.bytes)[IBAN]
    );
}

/// Statements of accounts the tenant has not set up yet are left out (PARTIAL); once the
/// operator adds them, ingesting the stored file again through the API books the rest.
async fn reingest_through_the_api_after_adding_the_accounts_books_the_rest(db: TestDb) {
    let (w, schedule, main) = statement_world(db, H005).await;
    let (result, record, bytes) = run_and_fetch(&w, &schedule).await;
    result.unwrap();
    let expected = booked_per_iban(&bytes);
    assert_eq!(record.status, StatementFileStatus::Partial, "{record:?}");
    assert_eq!(bookings_of(&w, main).await, expected[IBAN]);

    let others = add_accounts(&w, &OTHER_ACCOUNTS).await;
    let token = w.token("ops@acme.example", Role::Admin).await;
    let app = router(AppState::new(w.services.clone()));
    let as_admin = async |method: Method, path: &str| {
        call(&app, method, path, Some(&token), Payload::None).await
    };
    let failed = as_admin(Method::GET, "/v1/statements/files?status=PARTIAL")
        .await
        .json();
    assert_eq!(failed["items"][0]["id"], record.id.to_string(), "{failed}");
    let reply = as_admin(
        Method::POST,
        &format!("/v1/statements/files/{}/ingest", record.id),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let after = reply.json();
    assert_eq!(after["status"], "INGESTED", "{after}");
    assert_eq!(
        after["bookings_new"].as_u64().unwrap() as usize,
        expected[PAYROLL] + expected["DE02100100100006820101"]
    );
    assert_eq!(bookings_of(&w, main).await, expected[IBAN], "nothing twice");
    assert_eq!(bookings_of(&w, others[0]).await, expected[PAYROLL]);
    let original = as_admin(
        Method::GET,
        &format!("/v1/statements/files/{}/content", record.id),
    )
    .await;
    assert_eq!(original.bytes, bytes, "the original file, as delivered");
}

/// On-demand downloads through the API: a C53 for a period and an explicit BTD service
/// (camt.053 in a ZIP) are stored and ingested; a HAC (not statements) is only stored.
async fn on_demand_downloads_are_stored_and_statements_ingested(db: TestDb) {
    let (w, _schedule, main) = statement_world(db, H005).await;
    add_accounts(&w, &OTHER_ACCOUNTS).await;
    w.offer(&[OrderType::C53, OrderType::BTD, OrderType::HAC])
        .await;
    let token = w.token("ops@acme.example", Role::Admin).await;
    let app = router(AppState::new(w.services.clone()));
    let today = Utc::now().date_naive();
    let post = async |body: serde_json::Value| {
        let payload = Payload::Json(body);
        call(&app, Method::POST, "/v1/downloads", Some(&token), payload).await
    };

    // A download that is stored and ingested: its statement file.
    let ingested = async |body: serde_json::Value| {
        let reply = post(body).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
        let file = reply.json()["statement_file"].clone();
        assert_eq!(file["status"], "INGESTED", "{file}");
        file
    };

    let c53 = ingested(serde_json::json!({
        "ebics_user_id": w.user,
        "order_type": "C53",
        "from": today - chrono::Duration::days(4),
        "to": today - chrono::Duration::days(1),
    }))
    .await;
    assert_eq!(c53["container"], "ZIP");
    let booked = bookings_of(&w, main).await;
    assert!(booked > 0);

    let btd = ingested(serde_json::json!({
        "ebics_user_id": w.user,
        "service": {"service_name": "EOP", "scope": "DE", "container": "ZIP", "msg_name": "camt.053", "msg_version": "08"},
        "from": today - chrono::Duration::days(6),
        "to": today - chrono::Duration::days(1),
    }))
    .await;
    assert_eq!(btd["order_type"], "BTD");
    assert!(
        btd["bookings_known"].as_u64().unwrap() > 0,
        "overlap: {btd}"
    );
    assert!(bookings_of(&w, main).await > booked, "two more days");

    let hac = post(serde_json::json!({"ebics_user_id": w.user, "order_type": "HAC"})).await;
    assert!(
        hac.status == StatusCode::CREATED || hac.code() == "bank_refused",
        "{}",
        hac.text()
    );
    if hac.status == StatusCode::CREATED {
        assert!(hac.json()["statement_file"].is_null(), "{}", hac.text());
    }

    let refused = post(serde_json::json!({"ebics_user_id": w.user, "order_type": "CCT"})).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text());
    let not_offered = post(serde_json::json!({"ebics_user_id": w.user, "order_type": "PTK"})).await;
    assert_eq!(
        not_offered.status,
        StatusCode::CONFLICT,
        "{}",
        not_offered.text()
    );
    assert!(
        not_offered.text().contains("does not offer PTK"),
        "{}",
        not_offered.text()
    );
}

on_both_databases! {
    on_demand_downloads_are_stored_and_statements_ingested;
    h004_c53_zip_delivery_lands_every_booking_once => |db| zip_delivery_lands_every_booking_once(db, H004);
    h005_btd_zip_delivery_lands_every_booking_once => |db| zip_delivery_lands_every_booking_once(db, H005);
    emulator_zip_bomb_ends_with_a_clear_error_and_the_file_kept;
    emulator_foreign_member_fails_clearly_and_the_rest_is_booked;
    reingest_through_the_api_after_adding_the_accounts_books_the_rest;
    zip_of_daily_statements_lands_every_booking_once;
    zip_bomb_is_refused_and_the_file_kept;
    zip_member_that_is_no_statement_fails_clearly_and_the_rest_is_booked;
    a_document_that_breaks_half_way_books_nothing_of_it;
    reingest_after_the_cause_is_fixed_books_the_rest;
}
