//! Work measured in a child process: the test binary runs one of its own ignored tests again,
//! with the work's description in an environment variable, so the child's peak resident
//! memory (`VmHWM`) is the daemon's work alone (the emulator stays in the parent). Checks on
//! it are on memory only, never on time.

use std::sync::Arc;

use kontor_daemon::ebics::{Client, ClientConfig};
use kontor_storage::{EbicsUserId, MasterKey, Store, TenantId, TenantScope};

use super::emulator::World;

/// What a child reads its task from; unset (in a process that is no child), the child test
/// does nothing. One name serves every child: each runs exactly one test.
const TASK_ENV: &str = "KONTOR_CHILD_TASK";

/// The daemon side of a world, as a child connects to it: the database, the master key (in a
/// file of the world's data directory), the data directory, the tenant and the user, plus
/// what the test adds (`extra`).
#[derive(Debug)]
pub struct Task {
    pub lines: Vec<String>,
}

impl Task {
    /// The world's daemon side, then `extra` lines.
    pub fn of(w: &World, extra: &[String]) -> Self {
        let key_file = w.data_dir.path().join("master.key");
        if !key_file.exists() {
            w.db.master_key().write_new(&key_file).unwrap();
        }
        let mut lines = vec![
            w.db.url().to_owned(),
            key_file.display().to_string(),
            w.data_dir.path().display().to_string(),
            w.scope.tenant().to_string(),
            w.user.to_string(),
        ];
        lines.extend_from_slice(extra);
        Self { lines }
    }

    /// Runs the ignored test `test` of this binary with the task; returns the fields of the
    /// child's report line (`tag` followed by them), panicking when the child failed.
    pub async fn run(&self, test: &str, tag: &str) -> Vec<String> {
        let output = tokio::process::Command::new(std::env::current_exe().unwrap())
            .args([
                test,
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(TASK_ENV, self.lines.join("\n"))
            .output()
            .await
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "child failed: {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let prefix = format!("{tag} ");
        stdout
            .lines()
            // The test harness may print the test's name before it on the same line.
            .find_map(|l| l.split_once(prefix.as_str()).map(|(_, report)| report))
            .unwrap_or_else(|| panic!("no report in {stdout}"))
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    }
}

/// What a child connects to; `None` in a process that is no child (the ignored test then
/// does nothing).
pub struct Daemon {
    pub store: Store,
    pub client: Client,
    pub scope: TenantScope,
    pub user: EbicsUserId,
    /// The lines the test added to the task.
    pub extra: Vec<String>,
}

impl Daemon {
    pub async fn connect(job: &str) -> Option<Self> {
        let task = std::env::var(TASK_ENV).ok()?;
        let task: Vec<&str> = task.lines().collect();
        let [url, key_file, data_dir, tenant, user, extra @ ..] = &task[..] else {
            panic!("task: {task:?}");
        };
        let master_key = MasterKey::load(std::path::Path::new(key_file)).unwrap();
        let store = Store::connect(url, Arc::new(master_key)).await.unwrap();
        let mut config = ClientConfig::new(data_dir);
        // The emulator prepares a whole large document before it answers (so does a bank):
        // on a loaded machine that takes longer than the usual timeouts.
        config.transport.read_timeout = std::time::Duration::from_secs(1800);
        config.transport.request_timeout = std::time::Duration::from_secs(1800);
        let client = Client::new(store.clone(), config).unwrap();
        Some(Self {
            store,
            client,
            scope: TenantScope::system_job(tenant.parse::<TenantId>().unwrap(), job),
            user: user.parse().unwrap(),
            extra: extra.iter().map(|l| (*l).to_owned()).collect(),
        })
    }
}

/// This process's peak resident memory (`VmHWM`), in KiB.
pub fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}
