//! `kontor-bench download [SIZE_MIB]`: a camt.053 of SIZE_MIB (default 1024) downloaded from the
//! bank emulator over loopback and booked on SQLite, end to end, with the peak memory of the
//! process doing it.
//!
//! The emulator runs in this process (its ledger sized for the statement; it may hold what it
//! serves). The daemon's work runs in a child process (this binary again, `download-child`):
//! EBICS download into the spool, decryption and inflation into the stored file, streamed
//! parsing and booking in batches, the same functions a scheduled download uses. The child
//! reports its own peak RSS (`VmHWM`), wall time and CPU time, so nothing the emulator holds
//! is counted. Issue 15's target: under 64 MiB for 1 GiB.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use kontor_bank::{Bank, BankConfig};
use kontor_daemon::ebics::{Client, ClientConfig, DownloadOutcome, DownloadRequest};
use kontor_daemon::services::container::ZipLimits;
use kontor_daemon::services::statement_files::{ingest_delivered, DeliveredStatements, Reading};
use kontor_protocol::order_type::{BtfService, MessageName, OrderType};
use kontor_protocol::ProtocolVersion;
use kontor_storage::{
    BankKeyVerification, EbicsUserId, MasterKey, NewAccount, Store, TenantId, TenantScope,
    TransferEffect, VerificationMethod,
};

#[path = "../../kontor-daemon/tests/it/support/seed.rs"]
#[allow(dead_code)]
mod seed;

pub fn run(size_mib: u64) {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    runtime.block_on(parent(size_mib));
}

async fn parent(size_mib: u64) {
    let dir = tempfile::tempdir().expect("temporary directory");
    println!("kontor-bench download: {size_mib} MiB camt.053, emulator over loopback, SQLite");
    let mut config = BankConfig::demo().expect("demo bank");
    let partner = seed::Seed::new("").partner;
    // One report per account of the partner: together they make the statement's size, and
    // every account is the tenant's, so every entry is booked.
    let ibans: Vec<String> = config
        .accounts
        .iter()
        .filter(|a| a.partner.to_string() == partner)
        .map(|a| a.iban.electronic().to_owned())
        .collect();
    config.ledger.statement_size_bytes = Some((size_mib << 20) / ibans.len() as u64);
    let bank = Bank::builder(config)
        .start("127.0.0.1:0".parse().expect("address"))
        .await
        .expect("emulator");

    let key_file = dir.path().join("master.key");
    let master_key = MasterKey::generate();
    master_key.write_new(&key_file).expect("master key file");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("kontor.db").display()
    );
    let store = Store::connect(&url, Arc::new(master_key))
        .await
        .expect("database");
    store.migrate().await.expect("migrations");
    let mut planted = seed::Seed::new("Bench Treasury").at(bank.ebics_url(), ProtocolVersion::H005);
    planted.account = Some(seed::IBAN.into());
    let (partner, user_id) = (planted.partner.clone(), planted.user.clone());
    let tenant = seed::plant(&store, planted).await;
    seed::give_keys(&store, &tenant.scope, tenant.user, "Erika Mustermann").await;
    {
        let mut tx = store.scope(&tenant.scope).begin().await.expect("tx");
        for iban in ibans.iter().filter(|iban| iban.as_str() != seed::IBAN) {
            let account = NewAccount {
                iban: Some(iban.clone()),
                holder_name: "Bench Treasury".into(),
                currency: "EUR".into(),
                ..Default::default()
            };
            tx.accounts()
                .create(tenant.connection, account)
                .await
                .expect("account");
        }
        tx.commit().await.expect("commit");
    }

    let data_dir = dir.path().join("data");
    let client = Client::new(store.clone(), ClientConfig::new(&data_dir)).expect("client");
    client
        .send_ini(&tenant.scope, tenant.user)
        .await
        .expect("INI");
    client
        .send_hia(&tenant.scope, tenant.user)
        .await
        .expect("HIA");
    bank.activate_user(
        &partner.parse().expect("partner"),
        &user_id.parse().expect("user"),
    )
    .expect("activation");
    client
        .fetch_bank_keys(&tenant.scope, tenant.user)
        .await
        .expect("HPB");
    {
        let mut tx = store.scope(&tenant.scope).begin().await.expect("tx");
        for key in tx
            .bank_keys()
            .list_for_host(tenant.host)
            .await
            .expect("keys")
        {
            tx.bank_keys()
                .decide(
                    key.id,
                    BankKeyVerification::Verified,
                    VerificationMethod::FingerprintConfirmed,
                    "bench@kontor.example",
                )
                .await
                .expect("verify bank key");
        }
        tx.commit().await.expect("commit");
    }
    client
        .activate(&tenant.scope, tenant.user)
        .await
        .expect("ready");
    store.close().await;

    let started = Instant::now();
    let output = std::process::Command::new(std::env::current_exe().expect("own path"))
        .arg("download-child")
        .arg(&url)
        .arg(&key_file)
        .arg(&data_dir)
        .arg(tenant.scope.tenant().to_string())
        .arg(tenant.user.to_string())
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("child process");
    print!("{}", String::from_utf8_lossy(&output.stdout));
    assert!(
        output.status.success(),
        "the child failed: {}",
        output.status
    );
    println!(
        "parent: {:.1} s including the child's start; emulator process peak RSS {:.0} MiB (not counted)",
        started.elapsed().as_secs_f64(),
        crate::memory::peak_rss_mib()
    );
}

/// The daemon side, in its own process: download and book, then report.
pub fn child(args: &[String]) {
    let [url, key_file, data_dir, tenant, user] = args else {
        panic!("download-child URL KEY_FILE DATA_DIR TENANT USER");
    };
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let baseline = crate::memory::peak_rss_mib();
    let started = Instant::now();
    let cpu_before = crate::daemon::process_cpu().as_secs_f64();
    let (bytes, report) = runtime.block_on(download_and_book(
        url,
        Path::new(key_file),
        PathBuf::from(data_dir),
        TenantScope::system_job(tenant.parse::<TenantId>().expect("tenant"), "bench"),
        user.parse::<EbicsUserId>().expect("user"),
    ));
    let wall = started.elapsed().as_secs_f64();
    let cpu = crate::daemon::process_cpu().as_secs_f64() - cpu_before;
    println!(
        "child: downloaded {:.1} MiB and booked {} bookings ({} statements) in {wall:.1} s wall, \
         {cpu:.1} s CPU ({:.0} MB/s)",
        bytes as f64 / (1 << 20) as f64,
        report.bookings_new,
        report.statements_seen,
        bytes as f64 / 1e6 / wall
    );
    println!(
        "child: peak RSS {:.1} MiB (at start {baseline:.1} MiB); target < 64 MiB",
        crate::memory::peak_rss_mib()
    );
}

async fn download_and_book(
    url: &str,
    key_file: &Path,
    data_dir: PathBuf,
    scope: TenantScope,
    user: EbicsUserId,
) -> (i64, kontor_daemon::services::statements::IngestReport) {
    let master_key = MasterKey::load(key_file).expect("master key");
    let store = Store::connect(url, Arc::new(master_key))
        .await
        .expect("database");
    let mut config = ClientConfig::new(&data_dir);
    // The emulator prepares the whole statement before it answers the initialisation (so does
    // a bank): on a loaded machine that takes longer than the usual timeouts.
    config.transport.read_timeout = std::time::Duration::from_secs(1800);
    config.transport.request_timeout = std::time::Duration::from_secs(1800);
    let client = Client::new(store.clone(), config).expect("client");
    // One camt.053 document (no container), as EBICS 3.0 BTD `EOP` delivers it.
    let mut request =
        DownloadRequest::new(OrderType::BTD).with_effect(TransferEffect::IngestStatements);
    request.service = Some(BtfService::new("EOP", MessageName::new("camt.053")));
    let outcome = client
        .download(&scope, user, request)
        .await
        .expect("download");
    let DownloadOutcome::Data { file, transaction } = outcome else {
        panic!("the emulator delivered no data");
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
    let report = ingest_delivered(reading, &scope, &delivered)
        .await
        .expect("ingestion");
    (file.size, report)
}
