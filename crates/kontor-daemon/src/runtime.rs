//! One daemon instance: the admin API and the engine's background work, wired together.
//!
//! Everything an instance does in the background is leased in the database (schedules,
//! unfinished transactions), so any number of instances can run against one PostgreSQL
//! database and a crashed instance's work is taken over by the others.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use kontor_protocol::SignatureVersion;
use kontor_storage::{
    EbicsUserId, Order, OrderId, OrderStatus, Schedule, ScheduleId, Store, TenantScope, VeuItemId,
};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::api::{
    self, AppState, DetachedSignature, EngineCommandError, EngineCommands, EngineResult, VeuDigest,
};
use crate::engine::orders::{self, OrderError, SubmitOutcome, Submitter};
use crate::engine::scheduler::{DueJob, JobRunner, Scheduler, SchedulerConfig};
use crate::engine::statements::StatementJob;
use crate::engine::veu::{self, VeuApproval, VeuError};
use crate::engine::{Engine, EngineConfig, EngineError, TransportSettings};

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
        }
    }
}

/// A started instance; dropping it does not stop it, [`RunningDaemon::shutdown`] does.
pub struct RunningDaemon {
    pub api_addr: SocketAddr,
    pub engine: Engine,
    stop: watch::Sender<bool>,
    tasks: tokio::task::JoinSet<()>,
    recovery: tokio::task::JoinHandle<()>,
    completion: tokio::task::JoinHandle<()>,
}

impl RunningDaemon {
    /// Stops the API, the scheduler and the recovery sweep, letting running work finish.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        self.recovery.abort();
        self.completion.abort();
        while self.tasks.join_next().await.is_some() {}
    }

    /// Resolves when `shutdown` is requested from elsewhere (e.g. a signal): runs until then.
    pub async fn run_until(self, signal: impl Future<Output = ()>) {
        signal.await;
        self.shutdown().await;
    }
}

/// Starts the API on `listener`, the scheduler and the recovery sweep.
pub fn start(
    store: Store,
    listener: TcpListener,
    options: DaemonOptions,
) -> Result<RunningDaemon, EngineError> {
    let mut engine_config = EngineConfig::new(&options.data_dir);
    engine_config.instance = options.instance.clone();
    engine_config.lease_for = options.transaction_lease;
    engine_config.transport = options.bank_transport.clone();
    if let Some(proxy) = &options.bank_transport.proxy {
        tracing::info!(proxy = %proxy.redacted_url(), no_proxy = ?proxy.no_proxy(), "bank traffic goes through a proxy");
    }
    let engine = Engine::new(store.clone(), engine_config)?;
    let (stop, stopped) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();

    let api_addr = listener.local_addr()?;
    let service = Arc::new(EngineService::new(engine.clone(), &options.instance));
    let app = api::router(
        AppState::new(store.clone())
            .with_engine(service)
            .with_data_dir(&options.data_dir),
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

    // Aborted at shutdown: a sweep cut short leaves its transactions leased until the lease
    // expires, which is what a crash would do, and recovery is built for that.
    let recovery = engine.spawn_recovery_loop(options.recovery_interval);
    // Aborting mid-sweep is harmless: settling an order is one database transaction and
    // HAC downloads are not consumed by the bank.
    let completion = engine.spawn_completion_loop(options.completion_interval);

    let mut scheduler_config = SchedulerConfig::new(options.instance.clone());
    scheduler_config.idle_wait = options.scheduler_idle;
    let scheduler = Scheduler::new(
        store.clone(),
        Arc::new(StatementJob::new(store, engine.clone())),
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
        engine,
        stop,
        tasks,
        recovery,
        completion,
    })
}

/// The engine behind the admin API's [`EngineCommands`] port.
pub struct EngineService {
    engine: Engine,
    submitter: Submitter,
}

impl EngineService {
    pub fn new(engine: Engine, instance: &str) -> Self {
        Self {
            engine,
            submitter: Submitter::new(instance),
        }
    }
}

fn engine_error(error: EngineError) -> EngineCommandError {
    match error {
        EngineError::Storage(e) => EngineCommandError::Storage(e),
        EngineError::Bank { rejection, .. } => EngineCommandError::BankRefused {
            code: rejection.code,
            text: rejection.text,
        },
        EngineError::Transport(e) => EngineCommandError::Unreachable(e.to_string()),
        other => EngineCommandError::Precondition(other.to_string()),
    }
}

fn order_error(error: OrderError) -> EngineCommandError {
    match error {
        OrderError::Storage(e) => EngineCommandError::Storage(e),
        other => EngineCommandError::Precondition(other.to_string()),
    }
}

impl EngineCommands for EngineService {
    fn initialise_user(&self, scope: TenantScope, user: EbicsUserId) -> EngineResult<()> {
        let engine = self.engine.clone();
        Box::pin(async move {
            engine
                .onboard(&scope, user)
                .await
                .map(|_| ())
                .map_err(engine_error)
        })
    }

    fn submit_order(&self, scope: TenantScope, order: OrderId) -> EngineResult<Order> {
        let engine = self.engine.clone();
        let submitter = self.submitter.clone();
        Box::pin(async move {
            let outcome = orders::submit(engine.store(), &engine, &submitter, &scope, order)
                .await
                .map_err(order_error)?;
            let settled: Order = match outcome {
                SubmitOutcome::Accepted(order) | SubmitOutcome::InFlight(order) => order,
                SubmitOutcome::Rejected(order) => {
                    return Err(EngineCommandError::BankRefused {
                        code: order.bank_return_code.unwrap_or_default(),
                        text: order.bank_return_text.unwrap_or_default(),
                    })
                }
            };
            if settled.status != OrderStatus::Processing {
                return Ok(settled);
            }
            // The bank may already know the outcome (e.g. an order it executes at once);
            // a failure here only delays completion to the next sweep.
            if let Err(error) = engine
                .sync_order_status(&scope, settled.ebics_user_id)
                .await
            {
                tracing::warn!(order = %settled.id, %error, "status sync after submit failed");
            }
            Ok(engine
                .store()
                .scope(&scope)
                .begin()
                .await?
                .get(settled.id)
                .await?)
        })
    }

    fn sync_veu(&self, scope: TenantScope, user: EbicsUserId) -> EngineResult<()> {
        let engine = self.engine.clone();
        Box::pin(async move {
            veu::sync(engine.store(), &engine, &scope, user)
                .await
                .map(|_| ())
                .map_err(veu_error)
        })
    }

    fn veu_digest(
        &self,
        scope: TenantScope,
        item: VeuItemId,
        signer: EbicsUserId,
    ) -> EngineResult<VeuDigest> {
        let engine = self.engine.clone();
        Box::pin(async move {
            let details = veu::details(engine.store(), &engine, &scope, signer, item)
                .await
                .map_err(veu_error)?;
            let digest = details.status.data_digest;
            Ok(VeuDigest {
                data_digest: hex::encode(&digest.digest),
                signature_version: digest
                    .signature_version
                    .unwrap_or(SignatureVersion::A006)
                    .as_str()
                    .to_owned(),
            })
        })
    }

    fn approve_veu(
        &self,
        scope: TenantScope,
        item: VeuItemId,
        signature: DetachedSignature,
    ) -> EngineResult<()> {
        let engine = self.engine.clone();
        Box::pin(async move {
            veu::approve(engine.store(), &engine, &scope, approval(item, signature))
                .await
                .map(|_| ())
                .map_err(veu_error)
        })
    }

    fn cancel_veu(
        &self,
        scope: TenantScope,
        item: VeuItemId,
        signature: DetachedSignature,
    ) -> EngineResult<()> {
        let engine = self.engine.clone();
        Box::pin(async move {
            veu::cancel(engine.store(), &engine, &scope, approval(item, signature))
                .await
                .map(|_| ())
                .map_err(veu_error)
        })
    }

    fn run_schedule(&self, scope: TenantScope, schedule: ScheduleId) -> EngineResult<()> {
        let engine = self.engine.clone();
        Box::pin(async move {
            let schedule: Schedule = engine
                .store()
                .scope(&scope)
                .begin()
                .await?
                .get(schedule)
                .await?;
            let job = StatementJob::new(engine.store().clone(), engine.clone());
            job.run(DueJob {
                scope,
                schedule,
                now: Utc::now(),
            })
            .await
            .map(|_| ())
            .map_err(|e| EngineCommandError::Precondition(e.0))
        })
    }
}

fn approval(item: VeuItemId, signature: DetachedSignature) -> VeuApproval {
    VeuApproval {
        item,
        signer: signature.signer,
        version: signature.version,
        signature: signature.value,
    }
}

fn veu_error(error: VeuError) -> EngineCommandError {
    match error {
        VeuError::Storage(e) => EngineCommandError::Storage(e),
        VeuError::Bank { code, text, .. } => EngineCommandError::BankRefused { code, text },
        VeuError::Transport(e) => EngineCommandError::Unreachable(e),
        other => EngineCommandError::Precondition(other.to_string()),
    }
}
