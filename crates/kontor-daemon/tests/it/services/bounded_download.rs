//! Bounded memory end to end: a statement far larger than a batch is downloaded from the
//! emulator and booked while the process doing it never holds the whole document.
//!
//! The emulator runs in the test process (it may hold what it serves); the daemon's work
//! (EBICS download into the spool, decryption and inflation into the stored file, streamed
//! parsing and booking in batches) runs in a child process, this test binary again, so its peak
//! resident memory (`VmHWM`) is the daemon's alone. The check is on memory only, never on time.

use kontor_daemon::ebics::{DownloadOutcome, DownloadRequest};
use kontor_daemon::services::statement_files::{ingest_delivered, DeliveredStatements, Reading};
use kontor_protocol::order_type::{BtfService, MessageName, OrderType};
use kontor_protocol::ProtocolVersion::H005;
use kontor_storage::TransferEffect;

use crate::support::child::{peak_rss_kib, Daemon, Task};
use crate::support::emulator::{world, Setup};
use crate::support::seed::{count_bookings, Seed};
use crate::support::TestDb;

/// The statement's size: the daemon side must stay well below it.
const STATEMENT_BYTES: u64 = 64 << 20;
const CHILD_TEST: &str = "services::bounded_download::bounded_download_child";

on_both_databases! {
    statement_larger_than_memory_is_downloaded_and_booked_without_holding_it => flow;
}

async fn flow(db: TestDb) {
    let mut setup = Setup::new(H005);
    // One report per account of the partner: together they make the statement's size.
    let partner = Seed::new("").partner;
    let accounts = setup
        .bank
        .accounts
        .iter()
        .filter(|a| a.partner.to_string() == partner);
    setup.bank.ledger.statement_size_bytes = Some(STATEMENT_BYTES / accounts.count() as u64);
    let w = world(db, setup).await;
    w.ready().await;
    let account = w.describe_bank(&["C53"]).await;

    let fields = Task::of(&w, &[]).run(CHILD_TEST, "bounded-download").await;
    let report = ChildReport::parse(&fields);

    assert_eq!(
        report.sha256,
        w.last_served_sha256(),
        "the document arrived whole"
    );
    assert!(report.size >= STATEMENT_BYTES * 9 / 10, "{report:?}");
    assert!(report.bookings > 10_000, "{report:?}");
    assert_eq!(
        count_bookings(&w.db.store, &w.scope, account).await,
        report.bookings as usize
    );
    // Holding the document once (or its bookings) would grow the child by more than this.
    let growth = report.peak_kib.saturating_sub(report.baseline_kib);
    assert!(
        growth * 1024 < STATEMENT_BYTES / 2,
        "the child grew by {} MiB while booking a {} MiB statement: {report:?}",
        growth / 1024,
        STATEMENT_BYTES >> 20
    );
}

/// What the child prints on its last line: `bounded-download size sha256 bookings baseline peak`.
#[derive(Debug)]
struct ChildReport {
    size: u64,
    sha256: String,
    bookings: u64,
    baseline_kib: u64,
    peak_kib: u64,
}

impl ChildReport {
    fn parse(fields: &[String]) -> Self {
        let number = |i: usize| fields[i].parse::<u64>().unwrap();
        Self {
            size: number(0),
            sha256: fields[1].clone(),
            bookings: number(2),
            baseline_kib: number(3),
            peak_kib: number(4),
        }
    }
}

/// The daemon side, run by [`flow`] in a child process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the child process of statement_larger_than_memory_is_downloaded_and_booked_without_holding_it"]
async fn bounded_download_child() {
    let baseline_kib = peak_rss_kib();
    let Some(Daemon {
        store,
        client,
        scope,
        user,
        ..
    }) = Daemon::connect("bounded-download").await
    else {
        return;
    };

    // One camt.053 document, as EBICS 3.0 BTD `EOP` without a container delivers it.
    let mut request =
        DownloadRequest::new(OrderType::BTD).with_effect(TransferEffect::IngestStatements);
    request.service = Some(BtfService::new("EOP", MessageName::new("camt.053")));
    let DownloadOutcome::Data { file, transaction } =
        client.download(&scope, user, request).await.unwrap()
    else {
        panic!("no data")
    };
    let reading = Reading::new(&store, client.files());
    let delivered =
        DeliveredStatements::downloaded(user, OrderType::BTD, file.id, Some(transaction));
    let report = ingest_delivered(reading, &scope, &delivered).await.unwrap();
    println!(
        "bounded-download {} {} {} {baseline_kib} {}",
        file.size,
        file.sha256,
        report.bookings_new,
        peak_rss_kib()
    );
}
