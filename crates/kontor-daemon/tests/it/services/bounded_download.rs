//! Bounded memory end to end: a statement far larger than a batch is downloaded from the
//! emulator and booked while the process doing it never holds the whole document.
//!
//! The emulator runs in the test process (it may hold what it serves); the daemon's work
//! (EBICS download into the spool, decryption and inflation into the stored file, streamed
//! parsing and booking in batches) runs in a child process, this test binary again, so its peak
//! resident memory (`VmHWM`) is the daemon's alone. The check is on memory only, never on time.

use std::sync::Arc;

use kontor_daemon::ebics::{Client, ClientConfig, DownloadOutcome, DownloadRequest};
use kontor_daemon::services::container::ZipLimits;
use kontor_daemon::services::statement_files::{ingest_delivered, DeliveredStatements, Reading};
use kontor_protocol::order_type::{BtfService, MessageName, OrderType};
use kontor_protocol::ProtocolVersion::H005;
use kontor_storage::{EbicsUserId, MasterKey, Store, TenantId, TenantScope, TransferEffect};

use crate::support::emulator::{world, Setup};
use crate::support::seed::{count_bookings, Seed};
use crate::support::TestDb;

/// The statement's size: the daemon side must stay well below it.
const STATEMENT_BYTES: u64 = 64 << 20;
/// What the child reads its task from; unset, the child test does nothing.
const CHILD_ENV: &str = "KONTOR_BOUNDED_DOWNLOAD_CHILD";
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
    let key_file = w.data_dir.path().join("master.key");
    w.db.master_key().write_new(&key_file).unwrap();

    let task = [
        w.db.url().to_owned(),
        key_file.display().to_string(),
        w.data_dir.path().display().to_string(),
        w.scope.tenant().to_string(),
        w.user.to_string(),
    ]
    .join("\n");
    let output = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args([
            CHILD_TEST,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, task)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "child failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = ChildReport::parse(&stdout);

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
    fn parse(stdout: &str) -> Self {
        let line = stdout
            .lines()
            // The test harness may print the test's name before it on the same line.
            .find_map(|l| l.split_once("bounded-download ").map(|(_, report)| report))
            .unwrap_or_else(|| panic!("no report in {stdout}"));
        let fields: Vec<&str> = line.split_whitespace().collect();
        let number = |i: usize| fields[i].parse::<u64>().unwrap();
        Self {
            size: number(0),
            sha256: fields[1].to_owned(),
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
    let Ok(task) = std::env::var(CHILD_ENV) else {
        return;
    };
    let baseline_kib = peak_rss_kib();
    let task: Vec<&str> = task.lines().collect();
    let [url, key_file, data_dir, tenant, user] = task[..] else {
        panic!("task: {task:?}");
    };
    let master_key = MasterKey::load(std::path::Path::new(key_file)).unwrap();
    let store = Store::connect(url, Arc::new(master_key)).await.unwrap();
    let mut config = ClientConfig::new(data_dir);
    // The emulator prepares the whole statement before it answers the initialisation (so does
    // a bank): on a loaded machine that takes longer than the usual timeouts.
    config.transport.read_timeout = std::time::Duration::from_secs(1800);
    config.transport.request_timeout = std::time::Duration::from_secs(1800);
    let client = Client::new(store.clone(), config).unwrap();
    let scope = TenantScope::system_job(tenant.parse::<TenantId>().unwrap(), "bounded-download");
    let user: EbicsUserId = user.parse().unwrap();

    // One camt.053 document, as EBICS 3.0 BTD `EOP` without a container delivers it.
    let mut request =
        DownloadRequest::new(OrderType::BTD).with_effect(TransferEffect::IngestStatements);
    request.service = Some(BtfService::new("EOP", MessageName::new("camt.053")));
    let DownloadOutcome::Data { file, transaction } =
        client.download(&scope, user, request).await.unwrap()
    else {
        panic!("no data")
    };
    let reading = Reading {
        store: &store,
        files: client.files(),
        limits: ZipLimits::default(),
    };
    let delivered = DeliveredStatements {
        user,
        order_type: Some(OrderType::BTD),
        file: file.id,
        transaction: Some(transaction),
    };
    let report = ingest_delivered(reading, &scope, &delivered).await.unwrap();
    println!(
        "bounded-download {} {} {} {baseline_kib} {}",
        file.size,
        file.sha256,
        report.bookings_new,
        peak_rss_kib()
    );
}

/// This process's peak resident memory (`VmHWM`), in KiB.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}
