//! The EBICS client: one user, one bank at a time; typed requests in, persisted transactions
//! out.
//!
//! [`Client`] is the one entry point. Every method takes the caller's [`TenantScope`] and an
//! EBICS user id; the client loads what it needs through the scoped repositories, so it can
//! never act for another tenant. Work in progress lives in the database (transactions,
//! segments, events), never only in memory: a restarted daemon, or another instance on the
//! same PostgreSQL, resumes it with [`Client::recover_unfinished`].
//!
//! This floor knows EBICS and nothing of the business: it never reads or writes orders,
//! statements, balances, bookings, VEU items or schedules, and it imports nothing from
//! `services/`. A transfer's business meaning travels with it only as an opaque
//! [`TransferEffect`](kontor_storage::TransferEffect) that the services apply.
//!
//! Modules:
//! - [`transport`]: bounded, verified HTTP(S) POST of EBICS XML, error classification,
//!   [`RetryPolicy`].
//! - [`session`]: one user's keys, host and verified bank keys; signs and verifies messages
//!   over its own [`Line`] (transport and retry policy).
//! - `ledger`: the transaction ledger (create, hold, check, end, load; typed recovery
//!   records); `spool`: transfer segments on disk and the streaming assembly of downloads.
//! - [`download`] / [`upload`]: the persisted, segmented transfer state machines;
//!   [`recovery`]: resuming or ending unfinished transactions.
//! - [`key_management`]: INI, HIA, H3K and HPB; [`key_change`]: HCA, HCS and PUB; [`veu`]: the distributed signature's
//!   HVU/HVZ/HVD/HVT downloads and HVE/HVS signature uploads.

mod deflate_threads;
pub mod download;
mod error;
pub mod key_change;
pub mod key_management;
mod ledger;
pub mod recovery;
pub mod session;
mod spool;
pub mod transport;
pub mod upload;
pub mod veu;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use kontor_storage::{EbicsUserId, Store, TenantScope, UserAtHost};

pub use download::{DownloadOutcome, DownloadRequest};
pub use error::{BankKeyBlock, BankRejection, EbicsError};
pub use key_change::{KeyChange, KeyProbe};
pub use key_management::{KeyOrder, SignerSpr};
pub use ledger::upload_receipt;
pub use recovery::RecoveryReport;
pub use session::{load_user_at_host, Line, Requirement, Session, Subscriber};
pub use transport::{
    BankEndpoint, HttpTransport, RetryPolicy, Transport, TransportError, TransportSettings,
};
pub use upload::{KeySubmission, OrderData, UploadOutcome, UploadRequest};
pub use veu::{VeuOrderParams, VeuOrderRef, VeuSignature};

pub use spool::{FileContent, FileReader, FileStream, Files, Incoming, IncomingWriter, KeptFile};

use ledger::Ledger;
use spool::Spool;

/// How a [`Client`] behaves; [`ClientConfig::new`] gives production defaults.
#[derive(Debug, Clone)]
pub struct ClientConfig {
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

impl ClientConfig {
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
pub struct Client {
    config: Arc<ClientConfig>,
    line: Line,
    ledger: Ledger,
    spool: Spool,
    files: Files,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("instance", &self.config.instance)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client speaking HTTP(S) with rustls, as `config.transport` says.
    pub fn new(store: Store, config: ClientConfig) -> Result<Self, EbicsError> {
        let transport = HttpTransport::new(config.transport.clone())?;
        Ok(Self::with_transport(store, config, Arc::new(transport)))
    }

    /// A client with a custom transport (tests inject faults here).
    fn with_transport(store: Store, config: ClientConfig, transport: Arc<dyn Transport>) -> Self {
        Self {
            line: Line::new(transport, config.retry.clone()),
            ledger: Ledger::new(store, config.instance.clone(), config.lease_for),
            spool: Spool::new(&config.data_dir),
            files: Files::new(&config.data_dir),
            config: Arc::new(config),
        }
    }

    pub fn store(&self) -> &Store {
        self.ledger.store()
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Loads user, connection and host through the scope.
    pub async fn user_at_host(
        &self,
        scope: &TenantScope,
        user: EbicsUserId,
    ) -> Result<UserAtHost, EbicsError> {
        load_user_at_host(self.store(), scope, user).await
    }

    /// The stored files this client reads (and assembles downloads into).
    pub fn files(&self) -> &Files {
        &self.files
    }

    /// Reads a stored file's content, loading its record through the scope.
    pub async fn read_file(
        &self,
        scope: &TenantScope,
        file: kontor_storage::FileId,
    ) -> Result<Vec<u8>, EbicsError> {
        Ok(self.files.read(self.store(), scope, file).await?.1)
    }

    /// Opens a session for `user` (see [`Session::open`]).
    pub async fn open_session(
        &self,
        scope: &TenantScope,
        user: EbicsUserId,
        requirement: Requirement,
    ) -> Result<Session, EbicsError> {
        Session::open(self.store(), self.line.clone(), scope, user, requirement).await
    }
}
