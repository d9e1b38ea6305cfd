//! One daemon instance: the admin API, the scheduler and the background passes, wired
//! together. Nothing here decides anything; each part documents its own behaviour.
//!
//! Everything an instance does in the background is leased in the database (schedules,
//! unfinished transactions, transfer effects, webhook deliveries), so any number of instances can run against one
//! PostgreSQL database and a crashed instance's work is taken over by the others.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use kontor_storage::Store;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::api::{self, AppState};
use crate::ebics::{Client, ClientConfig, EbicsError, TransportSettings};
use crate::services::certificates::{spawn_expiry_watch, DEFAULT_EXPIRY_WARNING_DAYS};
use crate::services::effects::spawn_recovery_loop;
use crate::services::orders::completion::spawn_completion_loop;
use crate::services::orders::orphans::{self, spawn_orphan_cleanup};
use crate::services::scheduler::{Scheduler, SchedulerConfig};
use crate::services::statement_job::StatementJob;
use crate::services::webhooks::worker::{spawn_delivery_loop, DeliveryWorker};
use crate::services::webhooks::WebhookSettings;
use crate::services::Services;

/// How one instance runs.
#[derive(Debug, Clone)]
pub struct DaemonOptions {
    /// Downloads and transfer spools live below this directory.
    pub data_dir: PathBuf,
    /// Unique name of this instance in leases.
    pub instance: String,
    /// Pause between sweeps for unfinished transactions.
    pub recovery_interval: Duration,
    /// How long this instance's transaction leases last (how soon a crash is taken over).
    pub transaction_lease: Duration,
    /// Pause of the scheduler when nothing was due.
    pub scheduler_idle: Duration,
    /// Pause between order status syncs (HAC) for PROCESSING orders.
    pub completion_interval: Duration,
    /// The HTTP(S) client for banks: answer size limit, timeouts, proxy.
    pub bank_transport: TransportSettings,
    /// The largest payment file the API takes.
    pub max_order_file_bytes: u64,
    /// Webhook target checks and delivery timing.
    pub webhooks: WebhookSettings,
    /// How long a payment file below `orders/` or `incoming/` is left alone before it may be
    /// removed as an orphan (when no files row names it).
    pub orphan_file_grace: Duration,
    /// Pause between passes of the orphan file cleanup (the first runs at start).
    pub orphan_cleanup_interval: Duration,
}

impl DaemonOptions {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            instance: format!("kontor-{}", uuid::Uuid::now_v7()),
            recovery_interval: Duration::from_secs(30),
            transaction_lease: Duration::from_secs(300),
            scheduler_idle: Duration::from_secs(15),
            completion_interval: Duration::from_secs(300),
            bank_transport: TransportSettings::default(),
            max_order_file_bytes: crate::config::DEFAULT_MAX_ORDER_FILE_BYTES,
            webhooks: WebhookSettings::default(),
            orphan_file_grace: orphans::DEFAULT_GRACE,
            orphan_cleanup_interval: Duration::from_secs(3600),
        }
    }
}

/// A started instance; dropping it does not stop it, [`RunningDaemon::shutdown`] does.
pub struct RunningDaemon {
    pub api_addr: SocketAddr,
    pub client: Client,
    pub services: Services,
    stop: watch::Sender<bool>,
    tasks: tokio::task::JoinSet<()>,
    recovery: tokio::task::JoinHandle<()>,
    completion: tokio::task::JoinHandle<()>,
    webhooks: tokio::task::JoinHandle<()>,
    certificate_watch: tokio::task::JoinHandle<()>,
    orphan_cleanup: tokio::task::JoinHandle<()>,
}

impl RunningDaemon {
    /// Stops the API, the scheduler and the background passes, letting running work finish.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        self.recovery.abort();
        self.completion.abort();
        // A delivery cut short keeps its lease until it expires, then goes out again under
        // the same webhook-id.
        self.webhooks.abort();
        self.certificate_watch.abort();
        self.orphan_cleanup.abort();
        while self.tasks.join_next().await.is_some() {}
    }

    /// Resolves when `shutdown` is requested from elsewhere (e.g. a signal): runs until then.
    pub async fn run_until(self, signal: impl Future<Output = ()>) {
        signal.await;
        self.shutdown().await;
    }
}

/// Starts the API on `listener`, the scheduler and the background passes.
pub fn start(
    store: Store,
    listener: TcpListener,
    options: DaemonOptions,
) -> Result<RunningDaemon, EbicsError> {
    let mut client_config = ClientConfig::new(&options.data_dir);
    client_config.instance = options.instance.clone();
    client_config.lease_for = options.transaction_lease;
    client_config.transport = options.bank_transport.clone();
    if let Some(proxy) = &options.bank_transport.proxy {
        tracing::info!(proxy = %proxy.redacted_url(), no_proxy = ?proxy.no_proxy(), "bank traffic goes through a proxy");
    }
    let client = Client::new(store.clone(), client_config)?;
    let services = Services::new(store.clone())
        .with_client(client.clone())
        .with_webhook_settings(options.webhooks.clone());
    let (stop, stopped) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();

    let api_addr = listener.local_addr()?;
    let app = api::router(
        AppState::new(services.clone()).with_max_order_file_bytes(options.max_order_file_bytes),
    );
    let mut api_stop = stopped.clone();
    tasks.spawn(async move {
        let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
            let _ = api_stop.wait_for(|s| *s).await;
        });
        if let Err(error) = serve.await {
            tracing::error!(%error, "admin API stopped");
        }
    });

    // Aborted at shutdown: a pass cut short leaves its transactions leased until the lease
    // expires, which is what a crash would do, and recovery is built for that.
    let recovery = spawn_recovery_loop(client.clone(), services.clone(), options.recovery_interval);
    // Aborting mid-sweep is harmless: settling an order is one database transaction and
    // HAC downloads are not consumed by the bank.
    let completion = spawn_completion_loop(services.clone(), options.completion_interval);

    let worker = DeliveryWorker::new(store.clone(), options.webhooks.clone(), &options.instance)
        .map_err(|e| EbicsError::Io(std::io::Error::other(e)))?;
    let webhooks = spawn_delivery_loop(worker);
    // Hourly; each certificate is announced once however many instances watch.
    let certificate_watch = spawn_expiry_watch(
        services.store().clone(),
        Duration::from_secs(3600),
        DEFAULT_EXPIRY_WARNING_DAYS,
    );

    // Aborting mid-pass is harmless: each removal stands alone.
    let orphan_cleanup = spawn_orphan_cleanup(
        store.clone(),
        services.files().clone(),
        options.instance.clone(),
        options.orphan_cleanup_interval,
        options.orphan_file_grace,
    );

    let mut scheduler_config = SchedulerConfig::new(options.instance.clone());
    scheduler_config.idle_wait = options.scheduler_idle;
    let scheduler = Scheduler::new(
        store.clone(),
        Arc::new(StatementJob::new(store, client.clone())),
        scheduler_config,
    );
    let mut scheduler_stop = stopped;
    tasks.spawn(async move {
        scheduler
            .run(async move {
                let _ = scheduler_stop.wait_for(|s| *s).await;
            })
            .await;
    });

    Ok(RunningDaemon {
        api_addr,
        client,
        services,
        stop,
        tasks,
        recovery,
        completion,
        webhooks,
        certificate_watch,
        orphan_cleanup,
    })
}
