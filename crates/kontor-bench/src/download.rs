//! The end-to-end download: a camt.053 of SIZE_MIB downloaded from the bank emulator over
//! loopback and booked on SQLite, with the peak memory of the process doing it. A set of rows
//! of the main table (with painfree, see [`crate::peer`], downloading the same statement), and
//! `kontor-bench download [SIZE_MIB]` (default 1024) on its own: the 1 GiB memory proof.
//!
//! The emulator runs in this process (its ledger sized for the statement; it may hold what it
//! serves). The daemon's work runs in a child process (this binary again, `download-child`):
//! EBICS download into the spool, decryption and inflation into the stored file, streamed
//! parsing and booking in batches, the same functions a scheduled download uses. The child
//! reports its own peak RSS (`VmHWM`), wall time and CPU time, so nothing the emulator holds
//! is counted. Issue 15's targets: under 64 MiB for 1 GiB, 10 times painfree's speed.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use kontor_bank::ids::UserId;
use kontor_bank::{Bank, BankConfig, RunningBank};
use kontor_daemon::ebics::{Client, ClientConfig, DownloadOutcome, DownloadRequest};
use kontor_daemon::services::keys::ensure_user_keys;
use kontor_daemon::services::statement_files::{ingest_delivered, DeliveredStatements, Reading};
use kontor_protocol::order_type::{BtfService, MessageName, OrderType};
use kontor_protocol::ProtocolVersion;
use kontor_storage::{
    BankKeyVerification, EbicsUserId, MasterKey, Store, TenantId, TenantScope, TransferEffect,
};

use serde::{Deserialize, Serialize};

use crate::measure::Report;
use kontor_testkit::bank::decide_bank_keys;
use kontor_testkit::seed;

/// Issue 15: the daemon side's peak RSS for a 1 GiB statement, in MiB.
const PEAK_RSS_TARGET_MIB: f64 = 64.0;
/// Issue 15: Kontor at least this many times faster than painfree, wall and CPU.
const PEER_SPEEDUP_TARGET: f64 = 10.0;

/// What the daemon side measured of itself; the child's only line on stdout.
#[derive(Debug, Serialize, Deserialize)]
pub struct Measured {
    pub bytes: i64,
    pub bookings: usize,
    pub statements: usize,
    pub wall_seconds: f64,
    pub cpu_seconds: f64,
    pub peak_rss_mib: f64,
    pub start_rss_mib: f64,
}

/// The emulator serving the statement: the demo bank, its ledger sized so that the partner's
/// statement (one report per account) is about `size_mib`, and a second subscriber of the
/// same partner and permissions for painfree ([`PEER_USER`]), who is served the same document.
pub struct Emulator {
    pub bank: RunningBank,
    partner: String,
    ibans: Vec<String>,
}

/// Notes the wall and CPU time of one client's download.
fn note_times(report: &mut Report, name: &str, client: &str, wall_seconds: f64, cpu_seconds: f64) {
    report.note(&format!("{name}, {client} wall"), wall_seconds, "s");
    report.note(&format!("{name}, {client} CPU"), cpu_seconds, "s");
}

/// Adds a copy of the seeded user's entry in `items` (user or permission), made the peer's by
/// `to_peer`.
fn add_twin<T: Clone>(
    items: &mut Vec<T>,
    of_seeded_user: impl Fn(&T) -> bool,
    to_peer: impl FnOnce(&mut T),
) {
    let mut twin = items
        .iter()
        .find(|item| of_seeded_user(item))
        .expect("the seeded user's entry")
        .clone();
    to_peer(&mut twin);
    items.push(twin);
}

/// painfree's subscriber: INI works once per subscriber, and Kontor's is taken.
pub const PEER_USER: &str = "PEER1";

impl Emulator {
    pub async fn start(size_mib: u64) -> Self {
        let mut config = BankConfig::demo().expect("demo bank");
        let seeded = seed::Seed::new("");
        // One report per account of the partner: together they make the statement's size,
        // and every account is the tenant's, so every entry is booked.
        let ibans: Vec<String> = config
            .accounts
            .iter()
            .filter(|a| a.partner.to_string() == seeded.partner)
            .map(|a| a.iban.electronic().to_owned())
            .collect();
        config.ledger.statement_size_bytes = Some((size_mib << 20) / ibans.len() as u64);
        let seeded_user = |user: &UserId| user.to_string() == seeded.user;
        let peer: UserId = PEER_USER.parse().expect("user id");
        add_twin(
            &mut config.users,
            |u| seeded_user(&u.id),
            |u| u.id = peer.clone(),
        );
        add_twin(
            &mut config.permissions,
            |p| seeded_user(&p.user),
            |p| p.user = peer.clone(),
        );
        let bank = Bank::builder(config)
            .start("127.0.0.1:0".parse().expect("address"))
            .await
            .expect("emulator");
        Self {
            bank,
            partner: seeded.partner,
            ibans,
        }
    }

    pub fn partner(&self) -> &str {
        &self.partner
    }
}

/// `kontor-bench download [SIZE_MIB]`.
pub fn run(size_mib: u64) {
    println!("kontor-bench download: {size_mib} MiB camt.053, emulator over loopback, SQLite");
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let emulator = runtime.block_on(Emulator::start(size_mib));
    let started = Instant::now();
    let m = runtime.block_on(kontor(&emulator));
    println!(
        "child: downloaded {:.1} MiB and booked {} bookings ({} statements) in {:.2} s wall, \
         {:.2} s CPU ({:.0} MB/s)",
        m.bytes as f64 / (1 << 20) as f64,
        m.bookings,
        m.statements,
        m.wall_seconds,
        m.cpu_seconds,
        m.bytes as f64 / 1e6 / m.wall_seconds
    );
    println!(
        "child: peak RSS {:.1} MiB (at start {:.1} MiB); target < {PEAK_RSS_TARGET_MIB} MiB",
        m.peak_rss_mib, m.start_rss_mib
    );
    println!(
        "parent: {:.1} s including the subscriber's setup and the child's start; emulator \
         process peak RSS {:.0} MiB (not counted)",
        started.elapsed().as_secs_f64(),
        crate::memory::peak_rss_mib()
    );
}

/// The rows of the main table: Kontor's download of a `size_mib` statement and, when its
/// venv exists, painfree's of the same one, with the speed-up against issue 15's target.
pub fn measure(report: &mut Report, size_mib: u64) {
    let name = format!("download {size_mib} MiB camt.053");
    if !report.wants(&name) {
        return;
    }
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let emulator = runtime.block_on(Emulator::start(size_mib));
    let kontor = runtime.block_on(kontor(&emulator));
    eprintln!("  {name}: Kontor {kontor:?}");
    note_times(
        report,
        &name,
        "Kontor",
        kontor.wall_seconds,
        kontor.cpu_seconds,
    );
    report.record(
        &format!("{name}, Kontor peak RSS"),
        kontor.peak_rss_mib,
        "MiB",
        PEAK_RSS_TARGET_MIB,
        true,
    );
    // The emulator keeps serving on the runtime's threads while painfree runs.
    let peer = match crate::peer::python() {
        Ok(python) => crate::peer::download(&python, &emulator),
        Err(reason) => {
            println!("peer: skipped ({reason})");
            return;
        }
    };
    let peer = match peer {
        Ok(peer) => peer,
        Err(failure) => {
            println!("peer: painfree failed: {failure}");
            return;
        }
    };
    if peer.bytes != kontor.bytes {
        println!(
            "peer: painfree received {} bytes, Kontor {}: not the same statement",
            peer.bytes, kontor.bytes
        );
    }
    note_times(
        report,
        &name,
        "painfree",
        peer.wall_seconds,
        peer.cpu_seconds,
    );
    report.note(
        &format!("{name}, painfree peak RSS"),
        peer.peak_rss_mib,
        "MiB",
    );
    for (what, kontor, peer) in [
        ("wall", kontor.wall_seconds, peer.wall_seconds),
        ("CPU", kontor.cpu_seconds, peer.cpu_seconds),
    ] {
        report.record(
            &format!("{name}, painfree / Kontor {what}"),
            peer / kontor,
            "x",
            PEER_SPEEDUP_TARGET,
            false,
        );
    }
}

/// Kontor's subscriber set up (keys, INI, HIA, HPB, activation) outside the measure, then the
/// download and booking in a child process.
async fn kontor(emulator: &Emulator) -> Measured {
    let dir = tempfile::tempdir().expect("temporary directory");
    let bank = &emulator.bank;
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
    ensure_user_keys(&store, &tenant.scope, tenant.user)
        .await
        .expect("keys");
    {
        let mut tx = store.scope(&tenant.scope).begin().await.expect("tx");
        for iban in emulator
            .ibans
            .iter()
            .filter(|iban| iban.as_str() != seed::IBAN)
        {
            let account = seed::account(iban, "Bench Treasury");
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
    let verified = BankKeyVerification::Verified;
    decide_bank_keys(&store, &tenant.scope, tenant.host, verified).await;
    client
        .activate(&tenant.scope, tenant.user)
        .await
        .expect("ready");
    store.close().await;

    let child = child_command()
        .arg("download-child")
        .arg(&url)
        .arg(&key_file)
        .arg(&data_dir)
        .arg(tenant.scope.tenant().to_string())
        .arg(tenant.user.to_string())
        // `output()` would capture stderr too, and the child's phase times are printed there.
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("child process")
        .wait_with_output()
        .await
        .expect("child process");
    assert!(child.status.success(), "the child failed: {}", child.status);
    serde_json::from_slice(&child.stdout).expect("the child's measure")
}

/// This binary, to run as the child; under the command `KONTOR_BENCH_CHILD_WRAPPER` names
/// (split at whitespace) when it is set, e.g. `valgrind --tool=callgrind` to profile only the
/// daemon's side. The wrapper must leave the child's stdout alone (its measure is read there).
fn child_command() -> tokio::process::Command {
    let own = std::env::current_exe().expect("own path");
    let wrapper = std::env::var("KONTOR_BENCH_CHILD_WRAPPER").unwrap_or_default();
    let mut words = wrapper.split_whitespace();
    match words.next() {
        None => tokio::process::Command::new(own),
        Some(program) => {
            let mut command = tokio::process::Command::new(program);
            command.args(words).arg(own);
            command
        }
    }
}

/// The daemon side, in its own process: download and book, then report (one JSON line).
pub fn child(args: &[String]) {
    let [url, key_file, data_dir, tenant, user] = args else {
        panic!("download-child URL KEY_FILE DATA_DIR TENANT USER");
    };
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let start_rss_mib = crate::memory::peak_rss_mib();
    let started = Instant::now();
    let cpu_before = crate::daemon::process_cpu().as_secs_f64();
    let (bytes, report) = runtime.block_on(download_and_book(
        url,
        Path::new(key_file),
        PathBuf::from(data_dir),
        TenantScope::system_job(tenant.parse::<TenantId>().expect("tenant"), "bench"),
        user.parse::<EbicsUserId>().expect("user"),
    ));
    let measured = Measured {
        bytes,
        bookings: report.bookings_new,
        statements: report.statements_seen,
        wall_seconds: started.elapsed().as_secs_f64(),
        cpu_seconds: crate::daemon::process_cpu().as_secs_f64() - cpu_before,
        peak_rss_mib: crate::memory::peak_rss_mib(),
        start_rss_mib,
    };
    println!("{}", serde_json::to_string(&measured).expect("JSON"));
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
    let (started, cpu_before) = (Instant::now(), crate::daemon::process_cpu());
    let outcome = client
        .download(&scope, user, request)
        .await
        .expect("download");
    let (downloaded, cpu_downloaded) = (Instant::now(), crate::daemon::process_cpu());
    let DownloadOutcome::Data { file, transaction } = outcome else {
        panic!("the emulator delivered no data");
    };
    let reading = Reading::new(&store, client.files());
    let delivered =
        DeliveredStatements::downloaded(user, OrderType::BTD, file.id, Some(transaction));
    let report = ingest_delivered(reading, &scope, &delivered)
        .await
        .expect("ingestion");
    eprintln!(
        "  child: download {:.3} s wall, {:.3} s CPU; ingestion {:.3} s wall, {:.3} s CPU",
        (downloaded - started).as_secs_f64(),
        (cpu_downloaded - cpu_before).as_secs_f64(),
        downloaded.elapsed().as_secs_f64(),
        (crate::daemon::process_cpu() - cpu_downloaded).as_secs_f64(),
    );
    (file.size, report)
}
