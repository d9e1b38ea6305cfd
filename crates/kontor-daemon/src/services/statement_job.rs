//! The scheduled statement download: the scheduler's job for statement schedules, and the
//! port it fetches statement files through.

use std::future::Future;

use chrono::NaiveDate;
use kontor_protocol::order_type::{BtfService, OrderType};
use kontor_storage::{EbicsUserId, FileId, Store, TenantScope, TransactionId, TransferEffect};

use super::bank::{AsUser, Bank, Delivery};
use super::container::ZipLimits;
use super::scheduler::{DueJob, JobFailed, JobOutcome, JobRunner, RunHeld};
use super::statement_files::{
    ingest_delivered, store_delivered_bytes, DeliveredStatements, Reading,
};
use super::statements::IngestError;
use crate::ebics::{DownloadRequest, EbicsError, Files};

/// A statement download a schedule asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementDownload {
    pub user: EbicsUserId,
    /// `C53`, `C52`, `C54`, `STA`, ..., or `BTD` with `service`.
    pub order_type: OrderType,
    /// An explicit BTF service (EBICS 3.0 hosts only).
    pub service: Option<BtfService>,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// What the bank delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Downloaded {
    /// The file as the downloader stored it, and the transaction that carried it (whose
    /// effect the ingestion is). It is read from there as a stream, never whole.
    Stored {
        file: FileId,
        transaction: TransactionId,
    },
    /// The file's bytes, handed over without being stored (they are stored before they are
    /// read) and, when the downloader stored them after all, their file record and the
    /// transaction that carried them.
    Data {
        bytes: Vec<u8>,
        file: Option<FileId>,
        transaction: Option<TransactionId>,
    },
    /// `EBICS_NO_DOWNLOAD_DATA_AVAILABLE`.
    NoData,
}

/// Fetches statement files (the EBICS client's `download`), behind a trait so scheduled
/// ingestion is testable without the network.
pub trait StatementDownloader: Send + Sync + 'static {
    fn download(
        &self,
        scope: &TenantScope,
        request: StatementDownload,
    ) -> impl Future<Output = Result<Downloaded, EbicsError>> + Send;

    /// Where the files it stores can be read (a downloader that stores none: inline only).
    fn files(&self) -> Files {
        Files::inline_only()
    }
}

impl<T: StatementDownloader + ?Sized> StatementDownloader for std::sync::Arc<T> {
    fn download(
        &self,
        scope: &TenantScope,
        request: StatementDownload,
    ) -> impl Future<Output = Result<Downloaded, EbicsError>> + Send {
        (**self).download(scope, request)
    }

    fn files(&self) -> Files {
        (**self).files()
    }
}

/// Every [`Bank`] downloads statements for scheduled jobs: classic order types (mapped to BTD
/// with the standard service on H005 hosts) for the requested days. The download names its
/// effect (ingest the statements), so whoever finishes the transfer books them.
impl<B: Bank + ?Sized + 'static> StatementDownloader for B {
    fn download(
        &self,
        scope: &TenantScope,
        request: StatementDownload,
    ) -> impl Future<Output = Result<Downloaded, EbicsError>> + Send {
        let mut download = DownloadRequest::new(request.order_type)
            .with_period(request.from, request.to)
            .with_effect(TransferEffect::IngestStatements);
        download.service = request.service;
        async move {
            match Bank::download(
                self,
                AsUser {
                    scope,
                    user: request.user,
                },
                download,
            )
            .await?
            {
                // Nothing to ingest: the client finished the effect with the transfer.
                Delivery::NoData { .. } => Ok(Downloaded::NoData),
                Delivery::Data { file, transaction } => Ok(Downloaded::Stored {
                    file: file.id,
                    transaction,
                }),
            }
        }
    }

    fn files(&self) -> Files {
        Bank::files(self)
    }
}

/// Why a scheduled statement download failed (recorded with the run).
#[derive(Debug, thiserror::Error)]
pub enum StatementJobError {
    #[error(transparent)]
    Download(#[from] EbicsError),
    #[error(transparent)]
    Ingest(#[from] IngestError),
    #[error("the schedule's order type is not one: {0}")]
    OrderType(#[from] kontor_protocol::order_type::OrderTypeError),
}

/// The scheduler's job for statement schedules: download, then ingest.
///
/// The requested period starts one day before the previous run (or `first_lookback_days`
/// before today on the first run) and ends today in the schedule's view: overlapping on
/// purpose, because ingestion de-duplicates and a gap would lose bookings.
pub struct StatementJob<D> {
    store: Store,
    downloader: D,
    pub first_lookback_days: i64,
    /// What a ZIP container of statements may hold.
    pub zip_limits: ZipLimits,
}

impl<D: StatementDownloader> StatementJob<D> {
    pub fn new(store: Store, downloader: D) -> Self {
        Self {
            store,
            downloader,
            first_lookback_days: 7,
            zip_limits: ZipLimits::default(),
        }
    }

    fn period(&self, job: &DueJob) -> (NaiveDate, NaiveDate) {
        let to = job.now.date_naive();
        let from = match job.schedule.last_run_at {
            Some(last) => last.date_naive() - chrono::Duration::days(1),
            None => to - chrono::Duration::days(self.first_lookback_days),
        };
        (from.min(to), to)
    }

    async fn run_job(&self, job: DueJob) -> Result<JobOutcome, StatementJobError> {
        let (from, to) = self.period(&job);
        let order_type = job.schedule.order_type.clone();
        let downloaded = self
            .downloader
            .download(
                &job.scope,
                StatementDownload {
                    user: job.schedule.ebics_user_id,
                    order_type: order_type.clone(),
                    service: job.schedule.btf_service.clone(),
                    from,
                    to,
                },
            )
            .await?;
        let (file, transaction) = match downloaded {
            Downloaded::NoData => {
                return Ok(JobOutcome {
                    detail: Some("no data".into()),
                })
            }
            Downloaded::Stored { file, transaction } => (file, Some(transaction)),
            Downloaded::Data {
                file: Some(file),
                transaction,
                ..
            } => (file, transaction),
            Downloaded::Data {
                bytes,
                file: None,
                transaction,
            } => (
                store_delivered_bytes(&self.store, &job.scope, bytes).await?,
                transaction,
            ),
        };
        let delivered = DeliveredStatements {
            user: job.schedule.ebics_user_id,
            order_type: Some(order_type),
            file,
            transaction,
        };
        let files = self.downloader.files();
        let reading = Reading {
            store: &self.store,
            files: &files,
            limits: self.zip_limits,
        };
        let report = ingest_delivered(reading, &job.scope, &delivered).await?;
        Ok(JobOutcome {
            detail: Some(format!(
                "{from}..{to}: {} statements ({} new), {} bookings new, {} known",
                report.statements_seen,
                report.statements_new,
                report.bookings_new,
                report.bookings_known
            )),
        })
    }
}

impl<D: StatementDownloader> JobRunner for StatementJob<D> {
    async fn run(&self, job: DueJob) -> Result<JobOutcome, JobFailed> {
        self.run_job(job).await.map_err(|e| match e {
            // Nothing was sent with unverified keys: the run waits for the operator.
            StatementJobError::Download(EbicsError::BankKeysNotVerified { ref reason, .. })
                if reason.awaits_operator() =>
            {
                JobFailed(Box::new(RunHeld(e.to_string())))
            }
            e => JobFailed(Box::new(e)),
        })
    }
}
