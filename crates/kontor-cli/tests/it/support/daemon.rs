//! A database that outlives daemon processes, and a `kontor serve` child process that can be
//! killed with SIGKILL.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use kontor_storage::testing::TestDb;
use kontor_storage::Store;

use super::{free_port, kontor};

/// How long any awaited condition may take before the test gives up (generous: the machine is
/// shared; nothing is asserted about speed).
pub const PATIENCE: Duration = Duration::from_secs(240);

/// Polls `check` until it yields a value, panicking with `what` after [`PATIENCE`].
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting: {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A fresh database ([`TestDb`], SQLite or PostgreSQL) plus the daemon's data directory and
/// master key file, so that daemon processes and the test share the database and its key.
pub struct DaemonDb {
    pub db: TestDb,
    pub dir: tempfile::TempDir,
}

impl DaemonDb {
    pub async fn sqlite() -> Self {
        Self::with(TestDb::sqlite().await)
    }

    /// `None` (test skipped) without `KONTOR_TEST_POSTGRES_URL`, unless KONTOR_REQUIRE_POSTGRES=1.
    pub async fn postgres() -> Option<Self> {
        Some(Self::with(TestDb::postgres().await?))
    }

    fn with(db: TestDb) -> Self {
        let dir = tempfile::tempdir().unwrap();
        db.master_key()
            .write_new(&dir.path().join("master.key"))
            .unwrap();
        Self { db, dir }
    }

    pub fn url(&self) -> &str {
        self.db.url()
    }

    pub fn key_file(&self) -> PathBuf {
        self.dir.path().join("master.key")
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The test's own store on the database, with the daemon's master key.
    pub fn store(&self) -> Store {
        self.db.store.clone()
    }
}

/// A running `kontor serve` child process; killed (SIGKILL) when dropped.
pub struct DaemonProcess {
    child: Child,
    pub api: String,
    log: PathBuf,
}

impl DaemonProcess {
    /// Starts `kontor serve` on the database and waits until its API answers.
    pub async fn start(db: &DaemonDb, recovery_interval_secs: u64, log_name: &str) -> Self {
        let port = free_port();
        let log = db.dir.path().join(log_name);
        let out = std::fs::File::create(&log).unwrap();
        let child = kontor()
            .arg("serve")
            .env_clear()
            .env("KONTOR_DATA_DIR", db.data_dir())
            .env("KONTOR_DATABASE_URL", db.url())
            .env("KONTOR_KEY_FILE", db.key_file())
            .env("KONTOR_LISTEN", format!("127.0.0.1:{port}"))
            .env("KONTOR_LOG", "info")
            .env(
                "KONTOR_RECOVERY_INTERVAL_SECS",
                recovery_interval_secs.to_string(),
            )
            // Short leases: the restarted daemon may take over the killed one's transactions
            // soon, instead of after the production default of five minutes.
            .env("KONTOR_TRANSACTION_LEASE_SECS", "2")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("start kontor serve");
        let mut daemon = Self {
            child,
            api: format!("http://127.0.0.1:{port}"),
            log,
        };
        let health = format!("{}/healthz", daemon.api);
        let client = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Ok(Some(status)) = daemon.child.try_wait() {
                panic!("kontor serve exited with {status}:\n{}", daemon.log_text());
            }
            if client
                .get(&health)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return daemon;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "kontor serve never answered"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGKILL: no shutdown code runs, exactly like a power cut of the process.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }
}

impl Drop for DaemonProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
