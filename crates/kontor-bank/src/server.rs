//! Starting and stopping the emulator: [`Bank::start`] / [`BankBuilder`] → [`RunningBank`].
//!
//! The emulator runs its own accept loop (hyper, HTTP/1.1) instead of `axum::serve` so that
//! each connection has a [`ConnectionControl`]: a fault rule can then close the TCP connection
//! without writing a single byte, which `axum::serve` offers no way to do. Shutdown is
//! graceful: the listener stops, open connections finish their current request, and stragglers
//! are cut after a grace period.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::routing::post;
use axum::Router;
use chrono::{DateTime, Utc};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;
use tower::ServiceExt as _;
use tracing::{debug, info, warn};

use crate::config::{BankConfig, ConfigError};
use crate::dispatch::Dispatcher;
use crate::ebics::EbicsDispatcher;
use crate::faults::FaultEngine;
use crate::ids::{PartnerId, UserId};
use crate::keys::{BankKeyError, BankKeyPairs, BankKeyRing, BankKeys};
use crate::state::{BankState, LifecycleError, Subscriber};

/// How often idle transactions are swept.
const SWEEP_INTERVAL: Duration = Duration::from_secs(15);
/// How long open connections get to finish after shutdown was requested.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Shared by all handlers.
#[derive(Debug, Clone)]
pub(crate) struct AppState {
    pub state: BankState,
    pub config: Arc<BankConfig>,
    pub keys: Arc<BankKeyRing>,
    pub dispatcher: Arc<dyn Dispatcher>,
    pub faults: Arc<FaultEngine>,
    pub started_at: DateTime<Utc>,
    /// Bearer token the `/admin` routes require; `None` only on loopback binds.
    pub admin_token: Option<Arc<str>>,
}

/// Generates the bank's next key pairs (off the async workers: RSA generation is CPU-bound)
/// and makes them current. Rolled keys live in memory: a restart from a key file brings the
/// file's keys back.
pub(crate) async fn roll_keys(app: &AppState) -> Result<Arc<dyn BankKeys>, BankKeyError> {
    let host = app.config.bank.host_id.clone();
    let next = tokio::task::spawn_blocking(move || BankKeyPairs::generate(&host, Utc::now()))
        .await
        .map_err(|e| BankKeyError::Generate(e.to_string()))??;
    let next: Arc<dyn BankKeys> = Arc::new(next);
    app.keys.roll(next.clone());
    tracing::info!(host = %app.config.bank.host_id, "bank keys rolled");
    Ok(next)
}

/// Per-connection handle put into every request's extensions: lets a handler ask the
/// connection task to drop the connection.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionControl {
    kill: Arc<Notify>,
    peer: SocketAddr,
}

impl ConnectionControl {
    fn new(peer: SocketAddr) -> Self {
        Self {
            kill: Arc::new(Notify::new()),
            peer,
        }
    }

    /// Asks the connection task to close the connection (a stored permit, so it is not lost
    /// if the task is not waiting at this moment).
    pub(crate) fn kill(&self) {
        self.kill.notify_one();
    }

    pub(crate) fn peer(&self) -> SocketAddr {
        self.peer
    }
}

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Keys(#[from] BankKeyError),
    #[error("fault rule {index} of the configuration: {message}")]
    Fault { index: usize, message: String },
    #[error("refusing to listen on {addr} without an admin token: the admin API can activate subscribers and inject faults; bind to 127.0.0.1 or set --admin-token / KONTOR_BANK_ADMIN_TOKEN")]
    AdminUnprotected { addr: SocketAddr },
}

/// Entry point of the library API.
#[derive(Debug)]
pub struct Bank;

impl Bank {
    /// A builder to plug in a dispatcher and keys before starting.
    pub fn builder(config: BankConfig) -> BankBuilder {
        BankBuilder {
            config,
            dispatcher: None,
            keys: None,
            admin_token: None,
        }
    }

    /// Starts the emulator with the EBICS dispatcher and the configured keys on `addr`
    /// (`127.0.0.1:0` picks a free port; see [`RunningBank::url`]).
    pub async fn start(config: BankConfig, addr: SocketAddr) -> Result<RunningBank, StartError> {
        Self::builder(config).start(addr).await
    }
}

/// Configures what the emulator runs with.
#[derive(Debug)]
pub struct BankBuilder {
    config: BankConfig,
    dispatcher: Option<Arc<dyn Dispatcher>>,
    keys: Option<Arc<dyn BankKeys>>,
    admin_token: Option<String>,
}

impl BankBuilder {
    /// The EBICS protocol implementation (default: [`EbicsDispatcher`]).
    pub fn dispatcher(mut self, dispatcher: Arc<dyn Dispatcher>) -> Self {
        self.dispatcher = Some(dispatcher);
        self
    }

    /// The bank key material (default: generated or loaded as the seed says).
    pub fn keys(mut self, keys: Arc<dyn BankKeys>) -> Self {
        self.keys = Some(keys);
        self
    }

    /// Requires `Authorization: Bearer <token>` on every `/admin` route. Mandatory when
    /// binding beyond loopback; optional (and then also enforced) on loopback.
    pub fn admin_token(mut self, token: Option<String>) -> Self {
        self.admin_token = token.filter(|t| !t.is_empty());
        self
    }

    /// Validates the configuration, seeds the state, installs the configured fault rules,
    /// binds and starts serving. Refuses a bind beyond loopback without an admin token.
    pub async fn start(self, addr: SocketAddr) -> Result<RunningBank, StartError> {
        if !addr.ip().is_loopback() && self.admin_token.is_none() {
            return Err(StartError::AdminUnprotected { addr });
        }
        self.config.validate()?;
        let config = Arc::new(self.config);
        let faults = Arc::new(FaultEngine::new());
        faults
            .install(config.faults.clone())
            .map_err(|(index, e)| StartError::Fault {
                index,
                message: e.to_string(),
            })?;
        let keys: Arc<dyn BankKeys> = match self.keys {
            Some(keys) => keys,
            None => {
                // RSA key generation is CPU-bound: keep it off the async workers.
                let source = config.bank.keys.clone();
                let host = config.bank.host_id.clone();
                let generated = tokio::task::spawn_blocking(move || {
                    BankKeyPairs::from_source(&source, &host, Utc::now())
                })
                .await
                .map_err(|e| StartError::Keys(BankKeyError::Generate(e.to_string())))??;
                Arc::new(generated)
            }
        };
        let dispatcher = self.dispatcher.unwrap_or_else(|| Arc::new(EbicsDispatcher));
        let app = AppState {
            state: BankState::from_config(&config),
            config,
            keys: Arc::new(BankKeyRing::new(keys)),
            dispatcher,
            faults,
            started_at: Utc::now(),
            admin_token: self.admin_token.map(Arc::from),
        };

        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| StartError::Bind { addr, source })?;
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let router = router(app.clone());
        let server = tokio::spawn(serve(listener, router, app.state.clone(), shutdown_rx));
        info!(
            %local_addr,
            host_id = %app.config.bank.host_id,
            dispatcher = app.dispatcher.name(),
            "kontor-bank listening"
        );
        Ok(RunningBank {
            local_addr,
            app,
            shutdown: Some(shutdown_tx),
            server: Some(server),
        })
    }
}

fn router(app: AppState) -> Router {
    let body_limit = app.config.limits.max_request_bytes;
    Router::new()
        .route(
            "/ebicsweb",
            post(crate::http::ebicsweb).layer(DefaultBodyLimit::max(body_limit)),
        )
        .merge(
            crate::admin::routes().route_layer(axum::middleware::from_fn_with_state(
                app.clone(),
                crate::admin::require_token,
            )),
        )
        .with_state(app)
}

/// Resolves when shutdown was requested (or the handle is gone).
async fn shutdown_requested(rx: &mut watch::Receiver<bool>) {
    while !*rx.borrow() {
        if rx.changed().await.is_err() {
            return;
        }
    }
}

async fn serve(
    listener: TcpListener,
    router: Router,
    state: BankState,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    let mut sweep = tokio::time::interval(SWEEP_INTERVAL);
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown_requested(&mut shutdown) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    connections.spawn(serve_connection(stream, peer, router.clone(), shutdown.clone()));
                }
                Err(e) => {
                    // Typically EMFILE; back off instead of spinning.
                    warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = sweep.tick() => {
                let expired = state.expire_idle_transactions(Utc::now());
                if !expired.is_empty() {
                    info!(count = expired.len(), "expired idle EBICS transactions");
                }
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        warn!(
            open = connections.len(),
            "connections still open after the grace period; closing them"
        );
        connections.shutdown().await;
    }
    info!("kontor-bank stopped");
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
) {
    let control = ConnectionControl::new(peer);
    let per_request = control.clone();
    let service = router.map_request(move |mut req: axum::http::Request<Incoming>| {
        req.extensions_mut().insert(per_request.clone());
        req
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
    tokio::pin!(conn);
    let mut draining = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    debug!(%peer, error = %e, "connection ended with an error");
                }
                break;
            }
            () = control.kill.notified() => {
                // Dropping `conn` closes the socket; the pending handler is dropped with it.
                debug!(%peer, "connection dropped on purpose");
                break;
            }
            () = shutdown_requested(&mut shutdown), if !draining => {
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

/// A running emulator. Dropping it requests shutdown; [`RunningBank::shutdown`] also waits.
#[derive(Debug)]
pub struct RunningBank {
    local_addr: SocketAddr,
    app: AppState,
    shutdown: Option<watch::Sender<bool>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl RunningBank {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Base URL, e.g. `http://127.0.0.1:41234` (an unspecified bind address is shown as
    /// loopback, which is where clients on this machine reach it).
    pub fn url(&self) -> String {
        let mut addr = self.local_addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(if addr.is_ipv4() {
                [127, 0, 0, 1].into()
            } else {
                std::net::Ipv6Addr::LOCALHOST.into()
            });
        }
        format!("http://{addr}")
    }

    /// The EBICS endpoint: `{url}/ebicsweb`.
    pub fn ebics_url(&self) -> String {
        format!("{}/ebicsweb", self.url())
    }

    /// The admin API base: `{url}/admin`.
    pub fn admin_url(&self) -> String {
        format!("{}/admin", self.url())
    }

    /// The bank state (shared with the server).
    pub fn state(&self) -> &BankState {
        &self.app.state
    }

    /// The configuration the bank runs with.
    pub fn config(&self) -> &BankConfig {
        &self.app.config
    }

    /// The fault rules (shared with the server).
    pub fn faults(&self) -> &FaultEngine {
        &self.app.faults
    }

    /// The bank's current key material.
    pub fn keys(&self) -> Arc<dyn BankKeys> {
        self.app.keys.current()
    }

    /// Rolls the bank's keys (as `POST /admin/bank-keys/roll` does): fresh X002/E002 pairs
    /// become current, the old ones answer outdated digests with 091008.
    pub async fn roll_keys(&self) -> Result<Arc<dyn BankKeys>, BankKeyError> {
        roll_keys(&self.app).await
    }

    /// The bank clerk activates a subscriber (no letter check).
    pub fn activate_user(
        &self,
        partner: &PartnerId,
        user: &UserId,
    ) -> Result<Subscriber, LifecycleError> {
        self.app
            .state
            .activate_user(partner, user, None, Utc::now())
    }

    /// Stops accepting, lets open requests finish (bounded grace period) and waits.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(true);
        }
        if let Some(server) = self.server.take() {
            if let Err(e) = server.await {
                warn!(error = %e, "server task ended abnormally");
            }
        }
    }
}

impl Drop for RunningBank {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(true);
        }
    }
}
