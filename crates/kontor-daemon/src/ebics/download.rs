//! Persisted, segmented downloads (statements, reports, protocols).
//!
//! The transaction row is created before the first request. Each received segment is
//! appended to a spool file under the data directory and recorded (segment row, event,
//! `last_acknowledged_segment`) before the next one is requested, so a crash loses at most
//! the segment in flight. After the last segment the spool is decrypted and decompressed as a
//! stream into the result file, the receipt is sent, and a `files` row points at the result.

use chrono::NaiveDate;
use kontor_protocol::envelope::{
    DateRange, EbicsResponse, FileFormat, HostId, InitialisationRequest, OrderDetails, ReceiptCode,
    ReceiptRequest, SegmentNumber, TransactionId as BankTransactionId,
};
use kontor_protocol::order_type::{BtfService, OrderType};
use kontor_storage::{
    Direction, EbicsUserId, FileBody, FileKind, KontorFailure, NewFile, NewTransaction, ScopedTx,
    SegmentStatus, StoredFile, TenantScope, Transaction, TransactionEventKind, TransactionId,
    TransactionPhase, TransferEffect,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::ledger::{
    bank_transaction_id, read_record, stored_request, to_record, DownloadRecovery, Ending,
    StoredService,
};
use super::session::{Requirement, Session, Subscriber};
use super::spool::{Spool, SpooledSegment, Written};
use super::veu::VeuOrderParams;
use super::{Client, EbicsError};

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
    /// Only data from this period, first and last day (otherwise: what the bank has not
    /// delivered yet).
    pub period: Option<(NaiveDate, NaiveDate)>,
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
            period: None,
            file_format: None,
            veu: None,
            effect: None,
        }
    }

    pub fn with_effect(mut self, effect: TransferEffect) -> Self {
        self.effect = Some(effect);
        self
    }

    /// A VEU download: the order type follows from the parameters.
    pub fn veu(params: VeuOrderParams) -> Self {
        let mut request = Self::new(params.order_type());
        request.veu = Some(params);
        request
    }

    pub fn with_period(mut self, from: NaiveDate, to: NaiveDate) -> Self {
        self.period = Some((from, to));
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

impl Client {
    /// Downloads order data for a READY user with verified bank keys.
    ///
    /// Network failures and temporary return codes are retried per the client's
    /// [`super::RetryPolicy`]; an interrupted transfer resumes from the last acknowledged
    /// segment. A permanent refusal ends the transaction FAILED with the bank's code and text
    /// as an event and returns [`EbicsError::Bank`]. When retries are used up the transaction
    /// stays unfinished for [`Client::recover_unfinished`] and the error is returned.
    pub async fn download(
        &self,
        scope: &TenantScope,
        user: EbicsUserId,
        request: DownloadRequest,
    ) -> Result<DownloadOutcome, EbicsError> {
        let session = self
            .open_session(scope, user, Requirement::for_download(&request.order_type))
            .await?;
        let stored = StoredDownload::from(&request);
        // Validate before anything is persisted.
        stored.order_details(&session)?;
        let mut tx = self.store().scope(scope).begin().await?;
        let transaction = self
            .ledger
            .create(
                &mut tx,
                NewTransaction {
                    ebics_user_id: user,
                    direction: Direction::Download,
                    order_type: request.order_type.clone(),
                    btf_params: Some(to_record(&stored)?),
                    order_id: None,
                    file_id: None,
                    num_segments: None,
                    effect: request.effect,
                },
            )
            .await?;
        tx.commit().await?;
        tracing::info!(transaction = %transaction.id, order_type = %request.order_type, "download started");
        let drive = self.drive_download(&session, transaction.id);
        self.ledger
            .release_if_failed(&session.scope, transaction.id, drive)
            .await
    }

    /// Continues a download from whatever its stored state says (run it through
    /// `Ledger::release_if_failed`).
    pub(crate) async fn drive_download(
        &self,
        session: &Session,
        id: TransactionId,
    ) -> Result<DownloadOutcome, EbicsError> {
        loop {
            let transaction = self.ledger.load(&session.scope, id).await?;
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
                    return Err(EbicsError::ended(&transaction))
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
    ) -> Result<Option<DownloadOutcome>, EbicsError> {
        let stored: StoredDownload = stored_request(transaction)?;
        let details = stored.order_details(session)?;
        let response = session
            .exchange(|| {
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
            let ended = tx
                .transactions()
                .set_phase(
                    transaction.id,
                    TransactionPhase::Initialisation,
                    TransactionPhase::Completed,
                    TransactionEventKind::Completed,
                    json!({"code": response.business_return_code.code(), "no_data": true}),
                )
                .await?;
            if transaction.effect.is_some() {
                // Nothing was delivered, so the transfer's effect has nothing to apply.
                tx.transactions()
                    .finish_effect(transaction.id, None)
                    .await?;
            }
            tx.commit().await?;
            self.ledger.transfer_ended(&ended, Some(0));
            return Ok(Some(DownloadOutcome::NoData {
                transaction: transaction.id,
            }));
        }
        self.ledger
            .check(&session.scope, transaction, &response)
            .await?;
        let bank_transaction = response.transaction_id.ok_or_else(|| {
            EbicsError::Protocol("initialisation response without TransactionID".into())
        })?;
        let num_segments = response
            .num_segments
            .ok_or_else(|| EbicsError::Protocol("download response without NumSegments".into()))?;
        let data = response
            .data_transfer
            .as_ref()
            .ok_or_else(|| EbicsError::Protocol("download response without order data".into()))?;
        let key = data.data_encryption_info.as_ref().ok_or_else(|| {
            EbicsError::Protocol("download response without transaction key".into())
        })?;
        let recovery = DownloadRecovery {
            transaction_key: key.transaction_key.clone(),
            spool: Spool::download_spool(transaction.id),
        };
        let written = self
            .spool
            .write_at(&recovery.spool, 0, data.order_data.clone())
            .await?;
        let mut tx = self.store().scope(&session.scope).begin().await?;
        self.ledger
            .transfer_started(
                &mut tx,
                transaction.id,
                &bank_transaction,
                num_segments,
                &recovery,
                json!({"bank_transaction_id": bank_transaction.to_hex(), "num_segments": num_segments}),
            )
            .await?;
        record_received(&mut tx, transaction.id, 1, num_segments == 1, &written).await?;
        self.ledger.hold(&mut tx, transaction.id).await?;
        tx.commit().await?;
        Ok(None)
    }

    /// Fetches the remaining segments, assembles the file, sends the receipt and completes.
    async fn download_transfer(
        &self,
        session: &Session,
        transaction: &Transaction,
    ) -> Result<DownloadOutcome, EbicsError> {
        let recovery: DownloadRecovery =
            read_record(transaction, "download recovery data", &transaction.recovery)?;
        let bank_transaction = bank_transaction_id(transaction)?;
        let num_segments = transaction.num_segments.unwrap_or(1).max(1) as u32;
        let host_id = session.ctx.host_id()?;
        let mut acknowledged = transaction.last_acknowledged_segment as u32;
        // Bytes beyond the acknowledged segments belong to a segment in flight at a crash.
        let mut spooled: u64 = self
            .spooled_segments(&session.scope, transaction.id)
            .await?
            .into_iter()
            .filter(|s| s.number <= acknowledged)
            .map(|s| s.size)
            .sum();
        while acknowledged < num_segments {
            let number = acknowledged + 1;
            let segment =
                SegmentNumber::new(number, number == num_segments).map_err(EbicsError::protocol)?;
            let response = session
                .exchange_segment(bank_transaction, segment, None)
                .await?;
            self.ledger
                .check(&session.scope, transaction, &response)
                .await?;
            let data = response.data_transfer.ok_or_else(|| {
                EbicsError::Protocol(format!("segment {number} without order data"))
            })?;
            let written = self
                .spool
                .write_at(&recovery.spool, spooled, data.order_data)
                .await?;
            spooled += written.size as u64;
            let mut tx = self.store().scope(&session.scope).begin().await?;
            record_received(
                &mut tx,
                transaction.id,
                number as i64,
                number == num_segments,
                &written,
            )
            .await?;
            self.ledger.hold(&mut tx, transaction.id).await?;
            tx.commit().await?;
            acknowledged = number;
        }

        // All segments are on disk: decrypt and decompress them as a stream into the result.
        let segments = self
            .spooled_segments(&session.scope, transaction.id)
            .await?;
        let result_name = Spool::download_result(transaction.id);
        let assembled = self
            .spool
            .assemble(
                session.encryption_key().clone(),
                recovery.transaction_key.clone(),
                &recovery.spool,
                &result_name,
                segments,
                self.config().max_download_bytes,
            )
            .await;
        let assembled = match assembled {
            Ok(done) => done,
            Err(e) => {
                // Corrupt data: tell the bank not to mark it delivered, and stop.
                let _ = send_receipt(
                    session,
                    &host_id,
                    bank_transaction,
                    ReceiptCode::NotAcknowledged,
                )
                .await;
                self.ledger
                    .end(
                        &session.scope,
                        transaction.id,
                        TransactionPhase::Failed,
                        Ending::new(KontorFailure::Assembly, e.to_string()),
                    )
                    .await?;
                return Err(e);
            }
        };
        // A receipt that fails after all data arrived does not lose anything: the bank may
        // deliver the data again, and statement import de-duplicates.
        let receipt = send_receipt(
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
                    size: assembled.size as i64,
                    sha256: assembled.sha256.clone(),
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
        let ended = repo
            .set_phase(
                transaction.id,
                TransactionPhase::Receipt,
                TransactionPhase::Completed,
                TransactionEventKind::Completed,
                json!({"file": file.id, "size": assembled.size, "sha256": assembled.sha256}),
            )
            .await?;
        tx.commit().await?;
        self.ledger
            .transfer_ended(&ended, i64::try_from(assembled.size).ok());
        self.spool.remove(&recovery.spool).await;
        tracing::info!(transaction = %transaction.id, size = assembled.size, "download completed");
        Ok(DownloadOutcome::Data {
            file,
            transaction: transaction.id,
        })
    }

    /// The recorded segments of a download, in order, as the spool holds them.
    async fn spooled_segments(
        &self,
        scope: &TenantScope,
        id: TransactionId,
    ) -> Result<Vec<SpooledSegment>, EbicsError> {
        Ok(self
            .ledger
            .segments(scope, id)
            .await?
            .into_iter()
            .map(|s| SpooledSegment {
                number: s.number as u32,
                last: s.is_last,
                size: s.size as u64,
            })
            .collect())
    }
}

async fn send_receipt(
    session: &Session,
    host_id: &HostId,
    bank_transaction: BankTransactionId,
    receipt_code: ReceiptCode,
) -> Result<EbicsResponse, EbicsError> {
    session
        .exchange(|| {
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

/// The request as stored with the transaction, so recovery can rebuild the initialisation.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredDownload {
    order_type: OrderType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    service: Option<StoredService>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    date_range: Option<(NaiveDate, NaiveDate)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    file_format: Option<(String, Option<String>)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    veu: Option<VeuOrderParams>,
}

impl From<&DownloadRequest> for StoredDownload {
    fn from(r: &DownloadRequest) -> Self {
        Self {
            order_type: r.order_type.clone(),
            service: r.service.as_ref().map(StoredService::from),
            date_range: r.period,
            file_format: r
                .file_format
                .as_ref()
                .map(|f| (f.format.clone(), f.country_code.clone())),
            veu: r.veu.clone(),
        }
    }
}

impl StoredDownload {
    fn order_details(&self, session: &Session) -> Result<OrderDetails, EbicsError> {
        let version = session.version();
        let date_range = self.date_range.map(|(start, end)| DateRange { start, end });
        if let Some(veu) = &self.veu {
            return veu.order_details(version);
        }
        if let Some(service) = &self.service {
            if !version.uses_btf() {
                return Err(EbicsError::BtfNeedsH005 { version });
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
        OrderDetails::download(version, &self.order_type, date_range).map_err(EbicsError::request)
    }
}

async fn record_received(
    tx: &mut ScopedTx<'_>,
    id: TransactionId,
    number: i64,
    is_last: bool,
    spooled: &Written,
) -> Result<(), EbicsError> {
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

/// Order data is XML unless its order type says it is text (MT940, protocols).
fn content_type(order_type: &OrderType) -> &'static str {
    order_type
        .data_format()
        .map_or("application/xml", |format| format.content_type())
}
