//! Fixtures for the crash tests: a database that outlives daemon processes, and a `kontor serve`
//! child process that can be killed with SIGKILL.

use kontor_storage::testing::replace_database;
use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use kontor_storage::{MasterKey, Store};

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

/// A fresh database (SQLite file or PostgreSQL database) plus the daemon's data directory and
/// master key file; dropping it removes the PostgreSQL database.
pub struct CrashDb {
    pub url: String,
    pub dir: tempfile::TempDir,
    pub master_key: Arc<MasterKey>,
    postgres: Option<(String, String)>,
}

impl CrashDb {
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("kontor.db").display()
        );
        Self::with(url, dir, None)
    }

    /// `None` (test skipped) without `KONTOR_TEST_POSTGRES_URL`, unless KONTOR_REQUIRE_POSTGRES=1.
    pub async fn postgres() -> Option<Self> {
        let Ok(admin_url) = std::env::var("KONTOR_TEST_POSTGRES_URL") else {
            assert_ne!(
                std::env::var("KONTOR_REQUIRE_POSTGRES").as_deref(),
                Ok("1"),
                "KONTOR_REQUIRE_POSTGRES=1 but KONTOR_TEST_POSTGRES_URL is not set"
            );
            eprintln!("SKIP postgres: KONTOR_TEST_POSTGRES_URL not set");
            return None;
        };
        let name = format!("kontor_crash_{}", uuid::Uuid::new_v4().simple());
        let admin = Store::connect(&admin_url, Arc::new(MasterKey::generate()))
            .await
            .unwrap();
        admin
            .raw_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        admin.close().await;
        let url = replace_database(&admin_url, &name);
        Some(Self::with(
            url,
            tempfile::tempdir().unwrap(),
            Some((admin_url, name)),
        ))
    }

    fn with(url: String, dir: tempfile::TempDir, postgres: Option<(String, String)>) -> Self {
        // The daemon process reads the key file; the test's own store uses the same key.
        let key_file = dir.path().join("master.key");
        MasterKey::generate().write_new(&key_file).unwrap();
        let master_key = Arc::new(MasterKey::load(&key_file).unwrap());
        Self {
            url,
            dir,
            master_key,
            postgres,
        }
    }

    pub fn key_file(&self) -> PathBuf {
        self.dir.path().join("master.key")
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub async fn store(&self) -> Store {
        let store = Store::connect(&self.url, self.master_key.clone())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        store
    }
}

impl Drop for CrashDb {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.postgres.take() else {
            return;
        };
        // Drop cannot be async: drop the database from a runtime of its own.
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                if let Ok(admin) = Store::connect(&admin_url, Arc::new(MasterKey::generate())).await
                {
                    let _ = admin
                        .raw_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                    admin.close().await;
                }
            });
        })
        .join()
        .ok();
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
    pub async fn start(db: &CrashDb, recovery_interval_secs: u64, log_name: &str) -> Self {
        let port = StdListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = db.dir.path().join(log_name);
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_kontor"))
            .arg("serve")
            .env_clear()
            .env("KONTOR_DATA_DIR", db.data_dir())
            .env("KONTOR_DATABASE_URL", &db.url)
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
