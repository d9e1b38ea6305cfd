//! Persisted, segmented downloads (statements, reports, protocols).
//!
//! The transaction row is created before the first request. Each received segment is
//! appended to a spool file under the data directory and recorded (segment row, event,
//! `last_acknowledged_segment`) before the next one is requested, so a crash loses at most
//! the segment in flight. After the last segment the spool is decrypted and decompressed as a
//! stream into the result file, the receipt is sent, and a `files` row points at the result.

use std::io::{Read, Seek, Write};
use std::path::PathBuf;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use kontor_protocol::envelope::{
    DateRange, EbicsResponse, FileFormat, InitialisationRequest, OrderDetails, ReceiptCode,
    ReceiptRequest, SegmentNumber, TransactionId as BankTransactionId, TransferRequest,
};
use kontor_protocol::order_type::{BtfService, ContainerType, MessageName, OrderType};
use kontor_protocol::segmentation::StreamingAssembler;
use kontor_storage::{
    private_files, Direction, EbicsUserId, FileBody, FileKind, NewFile, NewTransaction,
    SegmentStatus, StoredFile, TenantScope, Transaction, TransactionEventKind, TransactionId,
    TransactionPhase, TransferEffect,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::session::{rejection, Requirement, Session};
use super::veu_client::VeuOrderParams;
use super::{Engine, EngineError};

/// What to download.
///
/// Build it with [`DownloadRequest::new`] and the `with_*` methods: fields may be added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadRequest {
    /// A classic order type (`C53`, `STA`, `HAC`, ...). For H005 hosts it is mapped to `BTD`
    /// with its standard service unless [`DownloadRequest::service`] is given.
    pub order_type: OrderType,
    /// An explicit BTF service (H005 only); the order type is then `BTD`.
    pub service: Option<BtfService>,
    /// Only data from this period (otherwise: what the bank has not delivered yet).
    pub date_range: Option<DateRange>,
    /// H004 `FDL`: the file format to fetch.
    pub file_format: Option<FileFormat>,
    /// HVU/HVZ/HVD/HVT: the VEU order parameters (they replace the standard ones).
    pub veu: Option<VeuOrderParams>,
    /// The business effect of the finished download (e.g. statements to ingest), recorded
    /// with the transaction so that it follows the transfer's completion whoever completes it.
    pub effect: Option<TransferEffect>,
}

impl DownloadRequest {
    pub fn new(order_type: OrderType) -> Self {
        Self {
            order_type,
            service: None,
            date_range: None,
            file_format: None,
            veu: None,
            effect: None,
        }
    }

    pub fn with_effect(mut self, effect: TransferEffect) -> Self {
        self.effect = Some(effect);
        self
    }

    pub fn with_veu_params(mut self, params: VeuOrderParams) -> Self {
        self.veu = Some(params);
        self
    }

    pub fn with_service(mut self, service: BtfService) -> Self {
        self.service = Some(service);
        self
    }

    pub fn with_date_range(mut self, date_range: DateRange) -> Self {
        self.date_range = Some(date_range);
        self
    }

    pub fn with_file_format(mut self, file_format: FileFormat) -> Self {
        self.file_format = Some(file_format);
        self
    }
}

/// The result of a completed download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownloadOutcome {
    /// The order data, stored as a file (kind `DOWNLOAD`, on disk under the data directory).
    Data {
        file: StoredFile,
        transaction: TransactionId,
    },
    /// The bank had nothing to deliver (`EBICS_NO_DOWNLOAD_DATA_AVAILABLE`). The transaction
    /// is COMPLETED with that code in its trail.
    NoData { transaction: TransactionId },
}

impl Engine {
    /// Downloads order data for a READY user with verified bank keys.
    ///
    /// Network failures and temporary return codes are retried per the engine's
    /// [`super::RetryPolicy`]; an interrupted transfer resumes from the last acknowledged
    /// segment. A permanent refusal ends the transaction FAILED with the bank's code and text
    /// as an event and returns [`EngineError::Bank`]. When retries are used up the transaction
    /// stays unfinished for [`Engine::recover_unfinished`] and the error is returned.
    pub async fn download(
        &self,
        scope: &TenantScope,
        user: EbicsUserId,
        request: DownloadRequest,
    ) -> Result<DownloadOutcome, EngineError> {
        let session = self.open_session(scope, user, Requirement::Ready).await?;
        let stored = StoredDownload::from(&request);
        // Validate before anything is persisted.
        stored.order_details(&session)?;
        let mut tx = self.store().scope(scope).begin().await?;
        let transaction = tx
            .transactions()
            .create(NewTransaction {
                ebics_user_id: user,
                direction: Direction::Download,
                order_type: request.order_type.to_string(),
                btf_params: Some(serde_json::to_value(&stored).map_err(EngineError::protocol)?),
                order_id: None,
                file_id: None,
                num_segments: None,
                effect: request.effect,
            })
            .await?;
        self.hold(&mut tx, transaction.id).await?;
        tx.commit().await?;
        tracing::info!(transaction = %transaction.id, order_type = %request.order_type, "download started");
        self.drive_download(&session, transaction.id).await
    }

    /// Continues a download from whatever its stored state says.
    pub(crate) async fn drive_download(
        &self,
        session: &Session,
        id: TransactionId,
    ) -> Result<DownloadOutcome, EngineError> {
        let result = self.drive_download_inner(session, id).await;
        if result.is_err() {
            // Let recovery take over at once instead of waiting for the lease to expire.
            let mut tx = self.store().scope(&session.scope).begin().await?;
            tx.transactions()
                .release_lease(id, &self.config().instance)
                .await?;
            tx.commit().await?;
        }
        result
    }

    async fn drive_download_inner(
        &self,
        session: &Session,
        id: TransactionId,
    ) -> Result<DownloadOutcome, EngineError> {
        loop {
            let transaction = self.load_transaction(&session.scope, id).await?;
            match transaction.phase {
                TransactionPhase::Initialisation => {
                    if let Some(outcome) = self.download_initialise(session, &transaction).await? {
                        return Ok(outcome);
                    }
                }
                TransactionPhase::Transfer | TransactionPhase::Receipt => {
                    return self.download_transfer(session, &transaction).await;
                }
                TransactionPhase::Completed => {
                    return Ok(match transaction.file_id {
                        Some(file) => {
                            let mut tx = self.store().scope(&session.scope).begin().await?;
                            let file: StoredFile = tx.get(file).await?;
                            tx.commit().await?;
                            DownloadOutcome::Data {
                                file,
                                transaction: id,
                            }
                        }
                        None => DownloadOutcome::NoData { transaction: id },
                    })
                }
                TransactionPhase::Failed | TransactionPhase::Aborted => {
                    return Err(EngineError::Bank {
                        order_type: transaction.order_type.clone(),
                        rejection: super::BankRejection {
                            code: transaction.failure_code.clone().unwrap_or_default(),
                            text: transaction.failure_text.clone().unwrap_or_default(),
                        },
                        transaction: Some(id),
                    })
                }
            }
        }
    }

    /// Sends the initialisation; on success stores segment 1 and moves to TRANSFER. Returns
    /// an outcome when the download ends here (no data).
    async fn download_initialise(
        &self,
        session: &Session,
        transaction: &Transaction,
    ) -> Result<Option<DownloadOutcome>, EngineError> {
        let stored: StoredDownload = transaction
            .btf_params
            .clone()
            .map(serde_json::from_value)
            .transpose()
            .map_err(EngineError::protocol)?
            .ok_or_else(|| {
                EngineError::Protocol("download transaction without its request".into())
            })?;
        let details = stored.order_details(session)?;
        let response = session
            .exchange(self, || {
                Ok(InitialisationRequest {
                    version: session.version(),
                    header: session.init_header(details.clone())?,
                    upload: None,
                }
                .into())
            })
            .await?;
        if response.technical_return_code.is_success() && response.business_return_code.is_no_data()
        {
            let mut tx = self.store().scope(&session.scope).begin().await?;
            tx.transactions()
                .set_phase(
                    transaction.id,
                    TransactionPhase::Initialisation,
                    TransactionPhase::Completed,
                    TransactionEventKind::Completed,
                    json!({"code": response.business_return_code.code(), "no_data": true}),
                )
                .await?;
            tx.commit().await?;
            return Ok(Some(DownloadOutcome::NoData {
                transaction: transaction.id,
            }));
        }
        self.check_response(session, transaction, &response).await?;
        let bank_transaction = response.transaction_id.ok_or_else(|| {
            EngineError::Protocol("initialisation response without TransactionID".into())
        })?;
        let num_segments = response
            .num_segments
            .ok_or_else(|| EngineError::Protocol("download response without NumSegments".into()))?;
        let data = response
            .data_transfer
            .as_ref()
            .ok_or_else(|| EngineError::Protocol("download response without order data".into()))?;
        let key = data.data_encryption_info.as_ref().ok_or_else(|| {
            EngineError::Protocol("download response without transaction key".into())
        })?;
        let spool = format!("transfers/{}.spool", transaction.id);
        let recovery = DownloadRecovery {
            transaction_key: STANDARD.encode(&key.transaction_key),
            spool: spool.clone(),
        };
        let spool_path = self.data_path(&spool);
        let bytes = data.order_data.clone();
        let size = write_spool(spool_path, 0, bytes).await?;
        let mut tx = self.store().scope(&session.scope).begin().await?;
        let mut repo = tx.transactions();
        repo.set_bank_transaction(
            transaction.id,
            &bank_transaction.to_hex(),
            Some(num_segments.into()),
        )
        .await?;
        repo.set_recovery(
            transaction.id,
            &serde_json::to_value(&recovery).map_err(EngineError::protocol)?,
        )
        .await?;
        repo.set_phase(
            transaction.id,
            TransactionPhase::Initialisation,
            TransactionPhase::Transfer,
            TransactionEventKind::TransferStarted,
            json!({"bank_transaction_id": bank_transaction.to_hex(), "num_segments": num_segments}),
        )
        .await?;
        record_received(&mut tx, transaction.id, 1, num_segments == 1, &size).await?;
        self.hold(&mut tx, transaction.id).await?;
        tx.commit().await?;
        Ok(None)
    }

    /// Fetches the remaining segments, assembles the file, sends the receipt and completes.
    async fn download_transfer(
        &self,
        session: &Session,
        transaction: &Transaction,
    ) -> Result<DownloadOutcome, EngineError> {
        let recovery: DownloadRecovery = serde_json::from_value(transaction.recovery.clone())
            .map_err(|e| {
                EngineError::Protocol(format!("download recovery data unreadable: {e}"))
            })?;
        let bank_transaction = BankTransactionId::from_hex(
            transaction
                .bank_transaction_id
                .as_deref()
                .unwrap_or_default(),
        )
        .map_err(EngineError::protocol)?;
        let num_segments = transaction.num_segments.unwrap_or(1).max(1) as u32;
        let spool_path = self.data_path(&recovery.spool);
        let host_id = session.ctx.host_id()?;
        let mut acknowledged = transaction.last_acknowledged_segment as u32;
        // Bytes beyond the acknowledged segments belong to a segment in flight at a crash.
        let mut spooled = self
            .spooled_bytes(&session.scope, transaction.id, acknowledged)
            .await?;
        while acknowledged < num_segments {
            let number = acknowledged + 1;
            let segment = SegmentNumber::new(number, number == num_segments)
                .map_err(EngineError::protocol)?;
            let response = session
                .exchange(self, || {
                    Ok(TransferRequest {
                        version: session.version(),
                        host_id: host_id.clone(),
                        transaction_id: bank_transaction,
                        segment,
                        order_data: None,
                    }
                    .into())
                })
                .await?;
            self.check_response(session, transaction, &response).await?;
            let data = response.data_transfer.ok_or_else(|| {
                EngineError::Protocol(format!("segment {number} without order data"))
            })?;
            let size = write_spool(spool_path.clone(), spooled, data.order_data).await?;
            spooled += size.size as u64;
            let mut tx = self.store().scope(&session.scope).begin().await?;
            record_received(
                &mut tx,
                transaction.id,
                number as i64,
                number == num_segments,
                &size,
            )
            .await?;
            self.hold(&mut tx, transaction.id).await?;
            tx.commit().await?;
            acknowledged = number;
        }

        // All segments are on disk: decrypt and decompress them as a stream into the result.
        let sizes = self.segment_sizes(&session.scope, transaction.id).await?;
        let result_name = format!("transfers/{}.data", transaction.id);
        let assembled = assemble(
            session.encryption_key().clone(),
            STANDARD
                .decode(&recovery.transaction_key)
                .map_err(EngineError::protocol)?,
            spool_path.clone(),
            self.data_path(&result_name),
            sizes,
            self.config().max_download_bytes,
        )
        .await;
        let (size, sha256) = match assembled {
            Ok(done) => done,
            Err(e) => {
                // Corrupt data: tell the bank not to mark it delivered, and stop.
                let _ = self
                    .send_receipt(
                        session,
                        &host_id,
                        bank_transaction,
                        ReceiptCode::NotAcknowledged,
                    )
                    .await;
                self.end_transaction(
                    &session.scope,
                    transaction.id,
                    TransactionPhase::Failed,
                    json!({"code": "ASSEMBLY", "text": e.to_string()}),
                )
                .await?;
                return Err(e);
            }
        };
        // A receipt that fails after all data arrived does not lose anything: the bank may
        // deliver the data again, and statement import de-duplicates.
        let receipt = self
            .send_receipt(
                session,
                &host_id,
                bank_transaction,
                ReceiptCode::Acknowledged,
            )
            .await;
        let receipt_context = match &receipt {
            Ok(response) => json!({"code": response.technical_return_code.code()}),
            Err(e) => json!({"error": e.to_string()}),
        };
        let mut tx = self.store().scope(&session.scope).begin().await?;
        let file = tx
            .files()
            .create(NewFile {
                kind: FileKind::Download,
                body: FileBody::OnDisk {
                    path: result_name,
                    size: size as i64,
                    sha256: sha256.clone(),
                },
                content_type: content_type(&transaction.order_type).into(),
            })
            .await?;
        let mut repo = tx.transactions();
        repo.set_file(transaction.id, file.id).await?;
        if transaction.phase == TransactionPhase::Transfer {
            repo.set_phase(
                transaction.id,
                TransactionPhase::Transfer,
                TransactionPhase::Receipt,
                TransactionEventKind::ReceiptSent,
                receipt_context,
            )
            .await?;
        }
        repo.set_phase(
            transaction.id,
            TransactionPhase::Receipt,
            TransactionPhase::Completed,
            TransactionEventKind::Completed,
            json!({"file": file.id, "size": size, "sha256": sha256}),
        )
        .await?;
        tx.commit().await?;
        let _ = tokio::fs::remove_file(&spool_path).await;
        tracing::info!(transaction = %transaction.id, size, "download completed");
        Ok(DownloadOutcome::Data {
            file,
            transaction: transaction.id,
        })
    }

    async fn send_receipt(
        &self,
        session: &Session,
        host_id: &kontor_protocol::envelope::HostId,
        bank_transaction: BankTransactionId,
        receipt_code: ReceiptCode,
    ) -> Result<EbicsResponse, EngineError> {
        session
            .exchange(self, || {
                Ok(ReceiptRequest {
                    version: session.version(),
                    host_id: host_id.clone(),
                    transaction_id: bank_transaction,
                    receipt_code,
                }
                .into())
            })
            .await
    }

    /// Ends the transaction FAILED (or ABORTED when the bank lost it) when the bank refused;
    /// returns the error to hand to the caller.
    pub(crate) async fn check_response(
        &self,
        session: &Session,
        transaction: &Transaction,
        response: &EbicsResponse,
    ) -> Result<(), EngineError> {
        use kontor_protocol::return_code::Retry;
        let refused = [
            &response.technical_return_code,
            &response.business_return_code,
        ]
        .into_iter()
        .find(|code| !code.is_success());
        let Some(code) = refused else {
            return Ok(());
        };
        let rejection = rejection(code, &response.report_text);
        let phase = if code.retry() == Retry::NewTransaction {
            TransactionPhase::Aborted
        } else {
            TransactionPhase::Failed
        };
        tracing::warn!(transaction = %transaction.id, code = %rejection.code, text = %rejection.text, "bank refused");
        self.end_transaction(
            &session.scope,
            transaction.id,
            phase,
            json!({"code": rejection.code, "text": rejection.text, "phase": format!("{:?}", response.phase)}),
        )
        .await?;
        Err(EngineError::Bank {
            order_type: transaction.order_type.clone(),
            rejection,
            transaction: Some(transaction.id),
        })
    }

    /// Moves an unfinished transaction to FAILED or ABORTED with `context` (code, text) as the
    /// event, from whatever phase it is in now.
    pub(crate) async fn end_transaction(
        &self,
        scope: &TenantScope,
        id: TransactionId,
        to: TransactionPhase,
        context: serde_json::Value,
    ) -> Result<(), EngineError> {
        let event = match to {
            TransactionPhase::Aborted => TransactionEventKind::Aborted,
            _ => TransactionEventKind::Failed,
        };
        let mut tx = self.store().scope(scope).begin().await?;
        let current: Transaction = tx.get(id).await?;
        if !current.phase.is_final() {
            tx.transactions()
                .set_phase(id, current.phase, to, event, context)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn load_transaction(
        &self,
        scope: &TenantScope,
        id: TransactionId,
    ) -> Result<Transaction, EngineError> {
        let mut tx = self.store().scope(scope).begin().await?;
        let transaction: Transaction = tx.get(id).await?;
        tx.commit().await?;
        Ok(transaction)
    }

    /// Takes or renews this instance's lease on a transaction it is working on.
    pub(crate) async fn hold(
        &self,
        tx: &mut kontor_storage::ScopedTx<'_>,
        id: TransactionId,
    ) -> Result<(), EngineError> {
        let now = chrono::Utc::now();
        let until = now
            + chrono::Duration::from_std(self.config().lease_for)
                .unwrap_or_else(|_| chrono::Duration::minutes(5));
        tx.transactions()
            .hold_lease(id, &self.config().instance, now, until)
            .await?;
        Ok(())
    }

    pub(crate) fn data_path(&self, relative: &str) -> PathBuf {
        self.config().data_dir.join(relative)
    }

    async fn segment_sizes(
        &self,
        scope: &TenantScope,
        id: TransactionId,
    ) -> Result<Vec<(u32, bool, u64)>, EngineError> {
        let mut tx = self.store().scope(scope).begin().await?;
        let segments = tx.transactions().segments(id).await?;
        tx.commit().await?;
        Ok(segments
            .into_iter()
            .map(|s| (s.number as u32, s.is_last, s.size as u64))
            .collect())
    }

    async fn spooled_bytes(
        &self,
        scope: &TenantScope,
        id: TransactionId,
        acknowledged: u32,
    ) -> Result<u64, EngineError> {
        Ok(self
            .segment_sizes(scope, id)
            .await?
            .into_iter()
            .filter(|(n, _, _)| *n <= acknowledged)
            .map(|(_, _, size)| size)
            .sum())
    }

    /// Reads a stored file's bytes (inline content or the file under the data directory).
    pub async fn read_file(
        &self,
        scope: &TenantScope,
        file: &StoredFile,
    ) -> Result<Vec<u8>, EngineError> {
        let _ = scope;
        match (&file.content, &file.path) {
            (Some(bytes), _) => Ok(bytes.clone()),
            (None, Some(path)) => Ok(tokio::fs::read(self.data_path(path)).await?),
            (None, None) => Err(EngineError::Precondition(format!(
                "file {} has no content",
                file.id
            ))),
        }
    }
}

/// The request as stored with the transaction, so recovery can rebuild the initialisation.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredDownload {
    order_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    service: Option<StoredService>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    date_range: Option<(chrono::NaiveDate, chrono::NaiveDate)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    file_format: Option<(String, Option<String>)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    veu: Option<VeuOrderParams>,
}

/// A BTF service in JSON (the protocol type is not serde).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredService {
    pub service_name: String,
    pub scope: Option<String>,
    pub service_option: Option<String>,
    pub container: Option<String>,
    pub message: String,
    pub message_version: Option<String>,
}

impl From<&BtfService> for StoredService {
    fn from(s: &BtfService) -> Self {
        Self {
            service_name: s.service_name.clone(),
            scope: s.scope.clone(),
            service_option: s.service_option.clone(),
            container: s.container.map(|c| c.as_str().to_owned()),
            message: s.message.name.clone(),
            message_version: s.message.version.clone(),
        }
    }
}

impl StoredService {
    pub(crate) fn to_service(&self) -> Result<BtfService, EngineError> {
        let mut message = MessageName::new(&self.message);
        if let Some(v) = &self.message_version {
            message = message.with_version(v);
        }
        Ok(BtfService {
            service_name: self.service_name.clone(),
            scope: self.scope.clone(),
            service_option: self.service_option.clone(),
            container: self
                .container
                .as_deref()
                .map(str::parse::<ContainerType>)
                .transpose()
                .map_err(EngineError::protocol)?,
            message,
        })
    }
}

impl From<&DownloadRequest> for StoredDownload {
    fn from(r: &DownloadRequest) -> Self {
        Self {
            order_type: r.order_type.to_string(),
            service: r.service.as_ref().map(StoredService::from),
            date_range: r.date_range.as_ref().map(|d| (d.start, d.end)),
            file_format: r
                .file_format
                .as_ref()
                .map(|f| (f.format.clone(), f.country_code.clone())),
            veu: r.veu.clone(),
        }
    }
}

impl StoredDownload {
    fn order_details(&self, session: &Session) -> Result<OrderDetails, EngineError> {
        let version = session.version();
        let date_range = self.date_range.map(|(start, end)| DateRange { start, end });
        if let Some(veu) = &self.veu {
            return veu.order_details(version);
        }
        if let Some(service) = &self.service {
            if !version.uses_btf() {
                return Err(EngineError::Precondition(format!(
                    "BTF services need H005, host speaks {version}"
                )));
            }
            return Ok(OrderDetails::btd(service.to_service()?, date_range));
        }
        if let Some((format, country_code)) = &self.file_format {
            return Ok(OrderDetails::fdl(
                FileFormat {
                    format: format.clone(),
                    country_code: country_code.clone(),
                },
                date_range,
            ));
        }
        let order_type: OrderType = self.order_type.parse().map_err(EngineError::protocol)?;
        OrderDetails::download(version, &order_type, date_range).map_err(EngineError::protocol)
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct DownloadRecovery {
    /// The transaction key as the bank sent it: encrypted for our E002 key, so storing it
    /// reveals nothing without that key.
    transaction_key: String,
    /// The spool file, relative to the data directory.
    spool: String,
}

struct SpooledSegment {
    size: usize,
    sha256: String,
}

/// Writes `bytes` at `offset` of the spool (truncating anything after it) and syncs.
async fn write_spool(
    path: PathBuf,
    offset: u64,
    bytes: Vec<u8>,
) -> Result<SpooledSegment, EngineError> {
    tokio::task::spawn_blocking(move || -> Result<SpooledSegment, EngineError> {
        if let Some(dir) = path.parent() {
            private_files::create_dir_all(dir)?;
        }
        let mut file = private_files::open_options()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)?;
        file.set_len(offset)?;
        file.seek(std::io::SeekFrom::Start(offset))?;
        file.write_all(&bytes)?;
        file.sync_data()?;
        Ok(SpooledSegment {
            size: bytes.len(),
            sha256: hex::encode(Sha256::digest(&bytes)),
        })
    })
    .await
    .map_err(|e| EngineError::Io(std::io::Error::other(e)))?
}

async fn record_received(
    tx: &mut kontor_storage::ScopedTx<'_>,
    id: TransactionId,
    number: i64,
    is_last: bool,
    spooled: &SpooledSegment,
) -> Result<(), EngineError> {
    let mut repo = tx.transactions();
    // A segment row may exist from an attempt interrupted before its acknowledgement.
    let existing = repo
        .segments(id)
        .await?
        .into_iter()
        .find(|s| s.number == number);
    let segment = match existing {
        Some(s) => s,
        None => {
            repo.add_segment(id, number, is_last, &spooled.sha256, spooled.size as i64)
                .await?
        }
    };
    if segment.status == SegmentStatus::Pending {
        repo.set_segment_status(segment.id, SegmentStatus::Pending, SegmentStatus::Received)
            .await?;
    }
    repo.acknowledge_up_to(id, number).await?;
    repo.append_event(
        id,
        TransactionEventKind::SegmentReceived,
        json!({"segment": number, "size": spooled.size, "sha256": spooled.sha256}),
    )
    .await?;
    Ok(())
}

/// Streams the spooled ciphertext segments through [`StreamingAssembler`] into `result`
/// (written to a temporary name and renamed when complete). Returns size and SHA-256.
async fn assemble(
    own_key: kontor_protocol::keys::PrivateKey,
    encrypted_transaction_key: Vec<u8>,
    spool: PathBuf,
    result: PathBuf,
    segments: Vec<(u32, bool, u64)>,
    limit: u64,
) -> Result<(u64, String), EngineError> {
    tokio::task::spawn_blocking(move || -> Result<(u64, String), EngineError> {
        let partial = result.with_extension("partial");
        let sink = HashingWriter {
            // Decrypted bank data: owner-only (0600), whatever the umask.
            inner: std::io::BufWriter::new(
                private_files::open_options()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .open(&partial)?,
            ),
            hasher: Sha256::new(),
        };
        let mut assembler = StreamingAssembler::new(
            &own_key,
            &encrypted_transaction_key,
            Some(segments.len() as u32),
            limit,
            sink,
        )
        .map_err(EngineError::protocol)?;
        let mut input = std::io::BufReader::new(std::fs::File::open(&spool)?);
        let mut buffer = Vec::new();
        for (number, last, size) in segments {
            buffer.resize(size as usize, 0);
            input.read_exact(&mut buffer)?;
            assembler
                .push_parts(number, last, &STANDARD.encode(&buffer))
                .map_err(EngineError::protocol)?;
        }
        let done = assembler.finish().map_err(EngineError::protocol)?;
        let HashingWriter { inner, hasher } = done.sink;
        let file = inner.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&partial, &result)?;
        Ok((done.plaintext_len, hex::encode(hasher.finalize())))
    })
    .await
    .map_err(|e| EngineError::Io(std::io::Error::other(e)))?
}

struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn content_type(order_type: &str) -> &'static str {
    match order_type {
        "STA" | "VMK" | "PTK" => "text/plain",
        _ => "application/xml",
    }
}
