//! The business workflows, and the admin API's only way in.
//!
//! Services know what an order, a statement, a VEU item or a schedule is, and reach the bank
//! only through the EBICS client's typed requests (the [`Bank`] port). They never build or
//! parse an EBICS envelope; the documents inside orders (pain, camt, MT940, HTD, HVZ, ...) are
//! theirs to read.
//!
//! Where each use case lives:
//! - [`onboarding`] and [`keys`]: a user's keys and letters, INI/HIA/HPB, activation, and the
//!   HTD/HAA sync of order types, accounts and permissions.
//! - [`orders`]: creation (one place: parse, kind check, hash, idempotency, permissions),
//!   signatures, submission exactly once ([`orders::submit`]: claim, upload, record) and
//!   completion from status reports ([`orders::completion`]).
//! - [`payments`]: JSON payments, built into pain.001/pain.008 and created through
//!   [`orders`]; the per-transfer status from the bank's pain.002.
//! - [`statements`]: booking camt/MT940 documents; [`statement_files`]: stored statement files
//!   (bare or in a ZIP container read by [`container`] within limits), their ingestion outcome
//!   and re-ingestion; [`statement_job`]: the scheduled download; [`downloads`]: on-demand
//!   downloads; [`scheduler`]: leased cron schedules; [`schedules`]: their configuration and
//!   manual runs.
//! - [`effects`]: the business effect of a finished transfer (ingest, settle), whoever
//!   finished it, and the background pass that resumes transfers and applies effects.
//! - [`veu`]: the distributed signature (sync, digest, approve, cancel).
//! - [`hosts`], [`connections`], [`users`], [`tenancy`]: the tenant's configuration.
//! - [`webhooks`]: subscriptions, the events workflows emit in their own transaction, and
//!   the delivery worker.
//!
//! Port traits are declared here, each with its adapter over [`Bank`]: [`Bank`] itself
//! (adapted for the EBICS client), [`orders::OrderUploader`],
//! [`statement_job::StatementDownloader`], [`veu::VeuBank`].

pub mod bank;
pub mod certificates;
pub mod connections;
pub mod container;
pub mod downloads;
pub mod effects;
mod error;
pub mod hosts;
pub mod key_changes;
pub mod keys;
pub mod onboarding;
pub mod orders;
pub mod payments;
pub mod scheduler;
pub mod schedules;
pub mod statement_files;
pub mod statement_job;
pub mod statements;
pub mod tenancy;
pub mod users;
pub mod veu;
pub mod webhooks;

use std::sync::Arc;

use kontor_storage::{FileId, Store, StoredFile, TenantScope};

pub use bank::{AsUser, Bank, BankCall, Delivery};
pub use error::{Refusal, ServiceError, UnusableAnswer};
pub use orders::Submitter;

pub use crate::ebics::FileStream;

use crate::ebics::{Client, Files};

/// What the workflows work with: the store, the stored files, and (in a daemon) the bank.
/// Cheap to clone.
#[derive(Clone)]
pub struct Services {
    store: Store,
    files: Files,
    bank: Option<Arc<dyn Bank>>,
    submitter: Submitter,
    lease_for: chrono::Duration,
    webhooks: webhooks::WebhookSettings,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services")
            .field("instance", &self.submitter.owner)
            .field("bank", &self.bank.is_some())
            .finish_non_exhaustive()
    }
}

/// Runs `pass` now and then every `every`, for the daemon's lifetime (the caller aborts the
/// handle at shutdown). A pass logs its own failures; the next one tries again.
pub(crate) fn every<F, Fut>(every: std::time::Duration, mut pass: F) -> tokio::task::JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        loop {
            ticker.tick().await;
            pass().await;
        }
    })
}

impl From<Store> for Services {
    fn from(store: Store) -> Self {
        Self::new(store)
    }
}

impl Services {
    /// Services without a bank (bank work answers [`ServiceError::BankUnavailable`]) that
    /// read only files stored inline.
    pub fn new(store: Store) -> Self {
        Self {
            store,
            files: Files::inline_only(),
            bank: None,
            submitter: Submitter::new(format!("kontor-{}", uuid::Uuid::now_v7())),
            lease_for: chrono::Duration::minutes(5),
            webhooks: webhooks::WebhookSettings::default(),
        }
    }

    /// The daemon's services: bank work through `client`, files below its data directory,
    /// leases in its instance's name.
    pub fn with_client(mut self, client: Client) -> Self {
        self.files = client.files().clone();
        self.submitter = Submitter::new(client.config().instance.clone());
        self.lease_for = chrono::Duration::from_std(client.config().lease_for)
            .unwrap_or_else(|_| chrono::Duration::minutes(5));
        self.bank = Some(Arc::new(client));
        self
    }

    /// Bank work through another [`Bank`] (tests).
    pub fn with_bank(mut self, bank: Arc<dyn Bank>) -> Self {
        self.bank = Some(bank);
        self
    }

    /// Files stored on disk below a data directory become readable.
    pub fn with_files(mut self, files: Files) -> Self {
        self.files = files;
        self
    }

    /// Webhook target checks and delivery timing (see [`webhooks::WebhookSettings`]).
    pub fn with_webhook_settings(mut self, settings: webhooks::WebhookSettings) -> Self {
        self.webhooks = settings;
        self
    }

    pub fn webhook_settings(&self) -> &webhooks::WebhookSettings {
        &self.webhooks
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn files(&self) -> &Files {
        &self.files
    }

    /// The bank, or [`ServiceError::BankUnavailable`].
    pub fn bank(&self) -> Result<&dyn Bank, ServiceError> {
        self.bank.as_deref().ok_or(ServiceError::BankUnavailable)
    }

    pub(crate) fn bank_arc(&self) -> Result<Arc<dyn Bank>, ServiceError> {
        self.bank.clone().ok_or(ServiceError::BankUnavailable)
    }

    pub fn submitter(&self) -> &Submitter {
        &self.submitter
    }

    /// This instance's name in leases.
    pub(crate) fn instance(&self) -> &str {
        &self.submitter.owner
    }

    /// How long a lease on a transaction's effect lasts.
    pub(crate) fn lease_for(&self) -> chrono::Duration {
        self.lease_for
    }

    /// The content of a file record loaded through a scope (e.g. in the caller's open
    /// transaction: on SQLite a second transaction would wait for the first).
    pub async fn file_content(&self, file: &StoredFile) -> Result<Vec<u8>, ServiceError> {
        self.files
            .content(file)
            .await
            .map_err(|e| ServiceError::Internal(Box::new(e)))
    }

    /// A stored file, loaded through the scope, with its content as a stream of chunks (an
    /// on-disk download is never read whole).
    pub async fn file(
        &self,
        scope: &TenantScope,
        id: FileId,
    ) -> Result<(StoredFile, FileStream), ServiceError> {
        let file: StoredFile = self.store.scope(scope).begin().await?.get(id).await?;
        let stream = self
            .files
            .stream(&file)
            .await
            .map_err(|e| ServiceError::Internal(Box::new(e)))?;
        Ok((file, stream))
    }
}
