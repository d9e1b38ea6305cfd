//! An in-process daemon for the measures that need one: a migrated store (a temporary SQLite
//! file, or PostgreSQL at `KONTOR_BENCH_POSTGRES_URL`), the tests' seed (a tenant with a bank
//! host, a connection, a user and an account), and the daemon started on loopback.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kontor_daemon::runtime::{self, DaemonOptions, RunningDaemon};
use kontor_protocol::ProtocolVersion;
use kontor_storage::{AccountId, ConnectionId, MasterKey, Role, ScopedTx, Store, TenantScope};
use kontor_testkit::seed::{self, operator_token, Seed, IBAN};

use crate::measure::Report;

/// The databases to measure on: SQLite always, PostgreSQL when its URL is set.
fn databases() -> Vec<&'static str> {
    let mut names = vec!["SQLite"];
    if std::env::var("KONTOR_BENCH_POSTGRES_URL").is_ok() {
        names.push("PostgreSQL");
    }
    names
}

/// A store, a seeded tenant and a viewer's API token in it.
pub struct Bench {
    pub store: Store,
    pub scope: TenantScope,
    pub connection: ConnectionId,
    pub account: AccountId,
    pub token: String,
    /// The database's name (see [`databases`]).
    database: String,
    /// Keeps the SQLite file's directory alive.
    _dir: tempfile::TempDir,
}

impl Bench {
    /// Connects and migrates `database` (see [`databases`]) and plants the tenant. On
    /// PostgreSQL each run adds a new tenant to the given database: point it at a scratch one.
    pub async fn new(database: &str) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = match database {
            "PostgreSQL" => std::env::var("KONTOR_BENCH_POSTGRES_URL").expect("set"),
            _ => format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("bench.db").display()
            ),
        };
        let store = Store::connect(&url, Arc::new(MasterKey::generate()))
            .await
            .expect("connect");
        store.migrate().await.expect("migrate");
        // Nothing in the measures reaches this bank.
        let seed = Seed {
            host_id: "BENCH".into(),
            account_holder: "Bench".into(),
            ..Seed::new(&format!("bench-{}", uuid::Uuid::now_v7()))
                .at("http://127.0.0.1:1/ebicsweb", ProtocolVersion::H004)
                .with_account(IBAN)
        };
        let tenant = seed::plant(&store, seed).await;
        let email = format!("{}@bench.example", uuid::Uuid::now_v7());
        let token = operator_token(&store, tenant.scope.tenant(), &email, Role::Viewer).await;
        let (scope, connection, account) =
            (tenant.scope.clone(), tenant.connection, tenant.account());
        Self {
            store,
            scope,
            connection,
            account,
            token,
            database: database.to_owned(),
            _dir: dir,
        }
    }

    /// A transaction in the bench tenant, to seed it.
    pub async fn begin(&self) -> ScopedTx<'_> {
        self.store.scope(&self.scope).begin().await.expect("begin")
    }

    /// Says how long seeding `what` took (since `started`), then starts the daemon (see
    /// [`Bench::start`]).
    pub async fn start_seeded(&self, what: &str, started: Instant) -> RunningDaemon {
        eprintln!(
            "  seeded {what} on {} in {:.1?}",
            self.database,
            started.elapsed()
        );
        self.start().await
    }

    /// Starts the whole daemon (API, scheduler, background passes) on loopback with the
    /// daemon's own default options: what is measured is what an operator's instance does.
    pub async fn start(&self) -> RunningDaemon {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let options = DaemonOptions::new(self._dir.path().join("data"));
        runtime::start(self.store.clone(), listener, options).expect("daemon")
    }
}

/// A measure's duration from the environment variable `name` (whole seconds), else `default`.
pub fn seconds_from_env(name: &str, default: u64) -> Duration {
    let seconds = std::env::var(name).ok().and_then(|s| s.parse().ok());
    Duration::from_secs(seconds.unwrap_or(default))
}

/// Runs a measure of `duration` on each of the [`databases`] where the report wants it (by
/// its name there, `name_of(database)`): `measure(database, duration)` on one Tokio runtime,
/// its result handed to `record` with the database and the measure's name.
pub fn on_each_database<F: Future>(
    report: &mut Report,
    name_of: impl Fn(&str) -> String,
    duration: Duration,
    measure: impl Fn(&'static str, Duration) -> F,
    mut record: impl FnMut(&mut Report, &str, &str, F::Output),
) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    for database in databases() {
        let name = name_of(database);
        if report.wants(&name) {
            let result = runtime.block_on(measure(database, duration));
            record(report, database, &name, result);
        }
    }
}

/// CPU time this process used so far (user + system, all threads), from `/proc/self/stat`.
pub fn process_cpu() -> Duration {
    cpu_in_stat(&std::fs::read_to_string("/proc/self/stat").unwrap_or_default()).1
}

/// CPU time the live threads of this process named `name` used so far, from
/// `/proc/self/task/*/stat` (a thread's name is at most 15 bytes there).
pub fn threads_cpu(name: &str) -> Duration {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("stat")).ok())
        .map(|stat| cpu_in_stat(&stat))
        .filter(|(comm, _)| comm == name)
        .map(|(_, cpu)| cpu)
        .sum()
}

/// CPU time used so far by each live process of the machine named `name`, by process id,
/// from `/proc/*/stat`: the PostgreSQL server's processes (`postgres`), whose work for a
/// request shares the cores with the daemon's.
pub fn processes_cpu(name: &str) -> HashMap<u32, Duration> {
    let Ok(processes) = std::fs::read_dir("/proc") else {
        return HashMap::new();
    };
    processes
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let pid = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let (comm, cpu) =
                cpu_in_stat(&std::fs::read_to_string(entry.path().join("stat")).ok()?);
            (comm == name).then_some((pid, cpu))
        })
        .collect()
}

/// The CPU time the processes of `after` used since `before` (a process started in
/// between counts from its start).
pub fn processes_cpu_since(
    before: &HashMap<u32, Duration>,
    after: &HashMap<u32, Duration>,
) -> Duration {
    after
        .iter()
        .map(|(pid, cpu)| cpu.saturating_sub(before.get(pid).copied().unwrap_or_default()))
        .sum()
}

/// The command name and the CPU time (user + system) in a `stat` line of proc(5).
fn cpu_in_stat(stat: &str) -> (String, Duration) {
    // The command name is in parentheses and may hold spaces: the fields after it start at
    // the last ')'.
    let (head, rest) = stat.rsplit_once(')').unwrap_or_default();
    let comm = head.split_once('(').map_or("", |(_, c)| c).to_owned();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of proc(5), in clock ticks (100 per second
    // on Linux: USER_HZ).
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (comm, Duration::from_millis((ticks(11) + ticks(12)) * 10))
}
