//! The EBICS engine: onboarding, transfers and recovery, all persisted through tenant scopes.
//!
//! [`Engine`] is the one entry point. Every method takes the caller's [`TenantScope`] and an
//! EBICS user id; the engine loads what it needs through the scoped repositories, so it can
//! never act for another tenant. Work in progress lives in the database (transactions,
//! segments, events), never only in memory: a restarted daemon, or another instance on the
//! same PostgreSQL, resumes it with [`Engine::recover_unfinished`].
//!
//! Modules:
//! - [`transport`]: bounded, verified HTTP(S) POST of EBICS XML, error classification,
//!   [`RetryPolicy`].
//! - [`session`]: one user's keys, host and verified bank keys; signs and verifies messages.
//! - [`onboarding`]: INI/HIA/H3K, HPB, activation after bank-key verification, HKD/HTD/HAA sync.
//! - [`download`] / [`upload`]: persisted, segmented transfers.
//! - [`recovery`]: resuming or ending unfinished transactions; [`effects`]: the business
//!   effect of a finished transfer (statements booked, order settled), whoever finished it.
//! - [`keys`]: key generation and the INI/HIA letters.
//! - [`statements`]: ingestion of downloaded statements; [`scheduler`]: leased cron jobs;
//!   [`orders`]: payment orders, signatures, idempotent submission; [`veu`]: distributed signature.

pub mod completion;
pub mod download;
pub mod effects;
mod error;
pub mod keys;
pub mod onboarding;
pub mod orders;
pub mod recovery;
pub mod scheduler;
pub mod session;
pub mod statements;
pub mod transport;
pub mod upload;
pub mod veu;
pub mod veu_client;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use kontor_storage::Store;

pub use completion::CompletionReport;
pub use download::{DownloadOutcome, DownloadRequest};
pub use effects::EffectReport;
pub use error::{BankRejection, EngineError};
pub use onboarding::{OnboardingStep, SyncReport};
pub use recovery::RecoveryReport;
pub use transport::{
    BankEndpoint, HttpTransport, RetryPolicy, Transport, TransportError, TransportSettings,
};
pub use upload::{UploadOutcome, UploadRequest};
pub use veu_client::{VeuOrderParams, VeuOrderRef};

/// How an [`Engine`] behaves; [`EngineConfig::new`] gives production defaults.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Downloaded files and transfer spools are written below `data_dir/transfers`.
    pub data_dir: PathBuf,
    /// Retries of network failures and temporary EBICS return codes.
    pub retry: RetryPolicy,
    /// Names this daemon instance in transaction leases.
    pub instance: String,
    /// How long a transaction lease taken by recovery lasts.
    pub lease_for: Duration,
    /// Upper bound for one decompressed download (protects the disk from a zip bomb).
    pub max_download_bytes: u64,
    /// The HTTP(S) client for banks: answer size limit, timeouts, proxy.
    pub transport: TransportSettings,
}

impl EngineConfig {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            retry: RetryPolicy::default(),
            instance: format!("kontor-{}", uuid::Uuid::new_v4()),
            lease_for: Duration::from_secs(300),
            max_download_bytes: 8 << 30,
            transport: TransportSettings::default(),
        }
    }
}

/// The EBICS client of the daemon. Cheap to clone; all state is in the database.
#[derive(Clone)]
pub struct Engine {
    store: Store,
    config: Arc<EngineConfig>,
    transport: Arc<dyn Transport>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("instance", &self.config.instance)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine speaking HTTP(S) with rustls, as `config.transport` says.
    pub fn new(store: Store, config: EngineConfig) -> Result<Self, EngineError> {
        let transport = HttpTransport::new(config.transport.clone())?;
        Ok(Self::with_transport(store, config, Arc::new(transport)))
    }

    /// An engine with a custom transport (tests inject faults here).
    pub fn with_transport(
        store: Store,
        config: EngineConfig,
        transport: Arc<dyn Transport>,
    ) -> Self {
        Self {
            store,
            config: Arc::new(config),
            transport,
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    pub(crate) fn transport(&self) -> &dyn Transport {
        self.transport.as_ref()
    }
}
