//! Persisted, segmented uploads (payment files with their electronic signatures).
//!
//! The order data is compressed, encrypted for the bank and segmented once, as a stream read
//! from the stored file (or bytes at hand) in the same pass that takes its ES digest; the
//! encrypted segments are spooled to the data directory as they are made, and recorded
//! (checksum, size) before the first request, together with the bank's wrapped transaction
//! key. Memory stays at about one segment, whatever the size of the order. A resumed upload
//! sends exactly the same bytes, so the bank never sees two different versions of one order.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use kontor_protocol::compression;
use kontor_protocol::encryption::{self, TransactionKey};
use kontor_protocol::envelope::{
    DataDigest, DataEncryptionInfo, InitialisationRequest, OrderDetails, SegmentNumber,
    SignatureFlag, UploadInit,
};
use kontor_protocol::keys::PublicKey;
use kontor_protocol::order_type::{BtfService, OrderType};
use kontor_protocol::orderdata::{OrderSignatureData, UserSignatureData};
use kontor_protocol::segmentation::{stream_order_data, SegmentSize};
use kontor_protocol::signature::OrderDataHasher;
use kontor_protocol::EncryptionVersion;
use kontor_storage::{
    AuditAction, Direction, EbicsUserId, FileId, KeyPairId, KeyStatus, KontorFailure,
    NewTransaction, OrderId, ScopedTx, SegmentStatus, StoredFile, TenantScope,
    TransactionEventKind, TransactionId, TransactionPhase, TransferEffect,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::io::Read;

use super::deflate_threads::DEFLATE_THREADS;
use super::key_management::set_key_status_audited;
use super::ledger::{
    bank_transaction_id, read_record, stored_request, to_record, Ending, StoredDigest,
    StoredService, UploadRecovery,
};
use super::session::{Requirement, Session};
use super::spool::{Spool, Written};
use super::veu::VeuOrderParams;
use super::{Client, EbicsError};

/// The plain order data of an upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderData {
    /// Bytes at hand (key change documents, small orders built in memory).
    Bytes(Vec<u8>),
    /// A stored file (an order's payment file), read as a stream through the client's
    /// [`Files`](super::Files): an on-disk file is never held whole.
    Stored(StoredFile),
}

impl From<Vec<u8>> for OrderData {
    fn from(bytes: Vec<u8>) -> Self {
        Self::Bytes(bytes)
    }
}

impl From<StoredFile> for OrderData {
    fn from(file: StoredFile) -> Self {
        Self::Stored(file)
    }
}

/// What to upload.
///
/// Build it with [`UploadRequest::new`] and the `with_*` methods: fields may be added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRequest {
    /// A classic order type (`CCT`, `CDD`, ...). For H005 hosts it is mapped to `BTU` with its
    /// standard service unless [`UploadRequest::service`] is given.
    pub order_type: OrderType,
    /// An explicit BTF service (H005 only); the order type is then `BTU`.
    pub service: Option<BtfService>,
    /// The plain order data (e.g. a pain.001 document).
    pub data: OrderData,
    /// The electronic signatures collected for `data` (computed by the signers, never by the
    /// client).
    pub signatures: Vec<OrderSignatureData>,
    /// The stored order this upload submits: the transaction is linked to it and carries
    /// the effect of settling it, whoever finishes the transfer.
    pub order: Option<OrderId>,
    /// HVE/HVS: the VEU order parameters. These uploads carry signatures only (`data` is
    /// ignored, no segments are sent).
    pub veu: Option<VeuOrderParams>,
    /// H005 signature-only uploads: the digest of the order data the signatures cover (the
    /// bank's HVD `DataDigest`); ordinary uploads compute it from `data`.
    pub signed_digest: Option<Vec<u8>>,
    /// What finishing the transfer means beyond it; an order's upload settles the order.
    pub effect: Option<TransferEffect>,
    /// The PENDING keys a key change (HCA/HCS/PUB) hands to the bank.
    pub submits: Vec<KeySubmission>,
}

/// A PENDING key an upload hands to the bank, with the detail of its `KEY_SUBMITTED` audit
/// record. It turns SUBMITTED compare-and-set in the database transaction that records the
/// upload: a key change prepared again in the meantime revokes the PENDING keys first, and
/// then this upload stops before anything is sent; once recorded, the new preparation finds
/// a key change with the bank and waits for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySubmission {
    pub key: KeyPairId,
    pub audit_detail: serde_json::Value,
}

impl UploadRequest {
    pub fn new(
        order_type: OrderType,
        data: impl Into<OrderData>,
        signatures: Vec<OrderSignatureData>,
    ) -> Self {
        Self {
            order_type,
            service: None,
            data: data.into(),
            signatures,
            order: None,
            veu: None,
            signed_digest: None,
            effect: None,
            submits: Vec::new(),
        }
    }

    /// Hands these PENDING keys to the bank (see [`KeySubmission`]).
    pub fn submitting(mut self, keys: Vec<KeySubmission>) -> Self {
        self.submits = keys;
        self
    }

    /// Names the business effect of the finished transfer (see [`TransferEffect`]).
    pub fn with_effect(mut self, effect: TransferEffect) -> Self {
        self.effect = Some(effect);
        self
    }

    pub fn with_veu_params(mut self, params: VeuOrderParams) -> Self {
        self.veu = Some(params);
        self
    }

    /// Sends with this BTF service (EBICS 3.0): the order type on the wire is then `BTU`.
    pub fn with_service(mut self, service: BtfService) -> Self {
        self.service = Some(service);
        self
    }

    pub fn for_order(mut self, order: OrderId) -> Self {
        self.order = Some(order);
        self
    }
}

/// The result of a completed upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadOutcome {
    pub transaction: TransactionId,
    /// The bank's order id (H004: from the initialisation response; H005: assigned by the bank).
    pub bank_order_id: Option<String>,
    /// The business return code of the last response (`000000` when accepted).
    pub return_code: String,
}

impl Client {
    /// Uploads order data with its signatures for a READY user with verified bank keys.
    ///
    /// Failure handling as for [`Client::download`]. An upload that may already have reached
    /// the bank is never started again as a new transaction: it resumes or ends FAILED.
    pub async fn upload(
        &self,
        scope: &TenantScope,
        user: EbicsUserId,
        request: UploadRequest,
    ) -> Result<UploadOutcome, EbicsError> {
        let session = self.open_session(scope, user, Requirement::Ready).await?;
        if request.signatures.is_empty() {
            return Err(EbicsError::NoSignatures);
        }
        let stored = StoredUpload {
            order_type: request.order_type.clone(),
            service: request.service.as_ref().map(StoredService::from),
            veu: request.veu.clone(),
        };
        let signature_only = request.veu.as_ref().is_some_and(|v| v.is_signature_only());
        stored.order_details(&session)?;
        let bank = session.bank()?;

        // Encrypt and segment once: a resumed upload must send exactly these bytes. The
        // segments are spooled as they are made (under a staged name until the transaction
        // exists), so the order data is never held whole.
        let staged = Spool::staged_upload();
        let reader = self.order_data_reader(request.data);
        let recipient = bank.encryption.clone();
        let spooled = self
            .spool
            .stream_upload(&staged, move |write_segment| {
                encode_order_data(&recipient, reader()?, signature_only, write_segment)
            })
            .await;
        let (written, encoded) = match spooled {
            Ok(spooled) => spooled,
            Err(e) => {
                self.spool.remove(&staged).await;
                return Err(e);
            }
        };
        let signature_xml = UserSignatureData {
            version: session.version(),
            signatures: request.signatures.clone(),
        }
        .to_xml()
        .map_err(EbicsError::request)?;
        let signature_data = encrypt_for_transaction(&encoded.transaction_key, &signature_xml);
        let data_digest = session.version().uses_btf().then(|| StoredDigest {
            signature_version: request.signatures[0].signature_version,
            digest: request
                .signed_digest
                .clone()
                .unwrap_or_else(|| encoded.digest.to_vec()),
        });
        let num_segments = written.len();
        let stored_upload = StartUpload {
            user,
            order_type: &request.order_type,
            stored: &stored,
            order: request.order,
            // An order's upload settles the order when it ends, whoever ends it.
            effect: request
                .effect
                .or(request.order.map(|_| TransferEffect::SettleOrder)),
            submits: &request.submits,
            staged: &staged,
            written: &written,
            encrypted_transaction_key: encoded.encrypted_transaction_key,
            signature_data,
            data_digest,
        };
        let transaction = match self.record_upload(scope, stored_upload).await {
            Ok(transaction) => transaction,
            Err(e) => {
                // Nothing was recorded: the spool belongs to no transaction.
                self.spool.remove(&staged).await;
                return Err(e);
            }
        };
        tracing::info!(transaction = %transaction, order_type = %request.order_type, segments = num_segments, "upload started");
        let drive = self.drive_upload(&session, transaction);
        self.ledger
            .release_if_failed(&session.scope, transaction, drive)
            .await
    }

    /// The order data as a reader, opened where blocking is allowed.
    fn order_data_reader(
        &self,
        data: OrderData,
    ) -> impl FnOnce() -> Result<OrderDataReader, EbicsError> + Send + 'static {
        let files = self.files().clone();
        move || {
            let recorded = match &data {
                OrderData::Bytes(_) => None,
                OrderData::Stored(file) => Some(Recorded {
                    file: file.id,
                    size: file.size,
                    sha256: file.sha256.clone(),
                }),
            };
            let inner: Box<dyn Read + Send> = match data {
                // Inline content came with the record: read it where it is, not a copy.
                OrderData::Bytes(bytes)
                | OrderData::Stored(StoredFile {
                    content: Some(bytes),
                    ..
                }) => Box::new(std::io::Cursor::new(bytes)),
                OrderData::Stored(file) => Box::new(files.open(&file)?),
            };
            Ok(OrderDataReader {
                inner,
                digest: OrderDataHasher::new(),
                read: 0,
                sha256: recorded.as_ref().map(|_| Sha256::new()),
                recorded,
            })
        }
    }

    /// One database transaction: the row, the spool under its final name and the segment
    /// records appear together, held for this process.
    async fn record_upload(
        &self,
        scope: &TenantScope,
        start: StartUpload<'_>,
    ) -> Result<TransactionId, EbicsError> {
        let num_segments = start.written.len();
        let mut tx = self.store().scope(scope).begin().await?;
        let transaction = tx
            .transactions()
            .create(NewTransaction {
                ebics_user_id: start.user,
                direction: Direction::Upload,
                order_type: start.order_type.clone(),
                btf_params: Some(to_record(start.stored)?),
                order_id: start.order,
                file_id: None,
                num_segments: Some(num_segments as i64),
                effect: start.effect,
            })
            .await?;
        for submission in start.submits {
            let moves = (KeyStatus::Pending, KeyStatus::Submitted);
            let detail = submission.audit_detail.clone();
            set_key_status_audited(
                &mut tx,
                submission.key,
                moves,
                AuditAction::KeySubmitted,
                detail,
            )
            .await?;
        }
        let spool = Spool::upload_spool(transaction.id);
        self.spool.rename(start.staged, &spool).await?;
        let recorded = self
            .record_segments(tx, transaction.id, spool.clone(), start)
            .await;
        if recorded.is_err() {
            // Not committed: the spool belongs to no transaction.
            self.spool.remove(&spool).await;
        }
        recorded.map(|()| transaction.id)
    }

    /// The recovery record and the spooled segments of a new upload, then commit.
    async fn record_segments(
        &self,
        mut tx: ScopedTx<'_>,
        id: TransactionId,
        spool: String,
        start: StartUpload<'_>,
    ) -> Result<(), EbicsError> {
        let recovery = UploadRecovery {
            spool,
            transaction_key: start.encrypted_transaction_key,
            signature_data: start.signature_data,
            data_digest: start.data_digest,
            bank_order_id: None,
        };
        let num_segments = start.written.len();
        let mut repo = tx.transactions();
        repo.set_recovery(id, &to_record(&recovery)?).await?;
        for (index, segment) in start.written.iter().enumerate() {
            repo.add_segment(
                id,
                index as i64 + 1,
                index + 1 == num_segments,
                &segment.sha256,
                segment.size as i64,
            )
            .await?;
        }
        self.ledger.hold(&mut tx, id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Continues an upload from whatever its stored state says (run it through
    /// `Ledger::release_if_failed`).
    pub(crate) async fn drive_upload(
        &self,
        session: &Session,
        id: TransactionId,
    ) -> Result<UploadOutcome, EbicsError> {
        let transaction = self.ledger.load(&session.scope, id).await?;
        let mut recovery: UploadRecovery =
            read_record(&transaction, "upload recovery data", &transaction.recovery)?;
        let num_segments = transaction.num_segments.unwrap_or(0).max(0) as u32;
        match transaction.phase {
            TransactionPhase::Initialisation => {
                let stored: StoredUpload = stored_request(&transaction)?;
                let details = stored.order_details(session)?;
                let bank = session.bank()?;
                let upload = UploadInit {
                    num_segments,
                    data_encryption_info: DataEncryptionInfo {
                        encryption_version: EncryptionVersion::E002,
                        encryption_pub_key_digest: bank.digests.encryption.clone(),
                        transaction_key: recovery.transaction_key.clone(),
                    },
                    signature_data: recovery.signature_data.clone(),
                    data_digest: recovery
                        .data_digest
                        .as_ref()
                        .map(|d| -> Result<DataDigest, EbicsError> {
                            Ok(DataDigest {
                                signature_version: d.signature_version,
                                digest: d.digest.clone(),
                            })
                        })
                        .transpose()?,
                    additional_order_info: None,
                };
                let build = || {
                    Ok(InitialisationRequest {
                        version: session.version(),
                        header: session.init_header(details.clone())?,
                        upload: Some(upload.clone()),
                    }
                    .into())
                };
                let response = if stored.is_signature_only() {
                    session.exchange_at_most_once(build).await
                } else {
                    session.exchange(build).await
                };
                let response = match response {
                    Ok(response) => response,
                    Err(e) if stored.is_signature_only() => {
                        return Err(self.signature_unconfirmed(session, id, e).await)
                    }
                    Err(e) => return Err(e),
                };
                self.ledger
                    .check(&session.scope, &transaction, &response)
                    .await?;
                recovery.bank_order_id = response.order_id.as_ref().map(|o| o.as_str().to_owned());
                if num_segments == 0 {
                    // Signatures only (HVE/HVS): the accepted initialisation is the whole
                    // order. Banks may leave the TransactionID out of it, as nothing follows.
                    let code = response.business_return_code.code().to_owned();
                    return self
                        .complete_upload(
                            session,
                            id,
                            recovery,
                            TransactionPhase::Initialisation,
                            code,
                        )
                        .await;
                }
                let bank_transaction = response.transaction_id.ok_or_else(|| {
                    EbicsError::Protocol("initialisation response without TransactionID".into())
                })?;
                let mut tx = self.store().scope(&session.scope).begin().await?;
                self.ledger
                    .transfer_started(
                        &mut tx,
                        id,
                        &bank_transaction,
                        num_segments,
                        &recovery,
                        json!({"bank_transaction_id": bank_transaction.to_hex(), "bank_order_id": recovery.bank_order_id}),
                    )
                    .await?;
                self.ledger.hold(&mut tx, id).await?;
                tx.commit().await?;
            }
            TransactionPhase::Transfer => {}
            TransactionPhase::Completed => {
                return Ok(UploadOutcome {
                    transaction: id,
                    bank_order_id: recovery.bank_order_id,
                    return_code: "000000".into(),
                })
            }
            TransactionPhase::Receipt | TransactionPhase::Failed | TransactionPhase::Aborted => {
                return Err(EbicsError::ended(&transaction))
            }
        }

        let transaction = self.ledger.load(&session.scope, id).await?;
        let bank_transaction = bank_transaction_id(&transaction)?;
        let segments = self.ledger.segments(&session.scope, id).await?;
        let mut offset = 0u64;
        let mut last_code = "000000".to_owned();
        for segment in segments {
            let size = segment.size as u64;
            let start = offset;
            offset += size;
            if segment.number <= transaction.last_acknowledged_segment {
                continue;
            }
            let bytes = self
                .spool
                .read_at(&recovery.spool, start, size as usize)
                .await?;
            if hex::encode(Sha256::digest(&bytes)) != segment.checksum {
                self.ledger
                    .end(
                        &session.scope,
                        id,
                        TransactionPhase::Failed,
                        Ending::new(
                            KontorFailure::Spool,
                            format!("spooled segment {} is damaged", segment.number),
                        ),
                    )
                    .await?;
                return Err(EbicsError::SpoolDamaged {
                    transaction: id,
                    segment: segment.number,
                });
            }
            let mut tx = self.store().scope(&session.scope).begin().await?;
            let mut repo = tx.transactions();
            let mut current = segment.clone();
            if current.status == SegmentStatus::Sent {
                // Interrupted before: count the retry, then send the same bytes again.
                current = repo
                    .set_segment_status(current.id, SegmentStatus::Sent, SegmentStatus::Pending)
                    .await?;
            }
            repo.set_segment_status(current.id, SegmentStatus::Pending, SegmentStatus::Sent)
                .await?;
            repo.append_event(
                id,
                TransactionEventKind::SegmentSent,
                json!({"segment": segment.number, "size": size, "retry": current.retry_count}),
            )
            .await?;
            self.ledger.hold(&mut tx, id).await?;
            tx.commit().await?;

            let number = SegmentNumber::new(segment.number as u32, segment.is_last)
                .map_err(EbicsError::protocol)?;
            let response = session
                .exchange_segment(bank_transaction, number, Some(bytes))
                .await?;
            self.ledger
                .check(&session.scope, &transaction, &response)
                .await?;
            if let Some(order_id) = &response.order_id {
                recovery.bank_order_id = Some(order_id.as_str().to_owned());
            }
            last_code = response.business_return_code.code().to_owned();
            let mut tx = self.store().scope(&session.scope).begin().await?;
            let mut repo = tx.transactions();
            repo.set_segment_status(segment.id, SegmentStatus::Sent, SegmentStatus::Acknowledged)
                .await?;
            repo.acknowledge_up_to(id, segment.number).await?;
            tx.commit().await?;
        }

        self.complete_upload(session, id, recovery, TransactionPhase::Transfer, last_code)
            .await
    }

    async fn complete_upload(
        &self,
        session: &Session,
        id: TransactionId,
        recovery: UploadRecovery,
        from: TransactionPhase,
        last_code: String,
    ) -> Result<UploadOutcome, EbicsError> {
        let mut tx = self.store().scope(&session.scope).begin().await?;
        let mut repo = tx.transactions();
        repo.set_recovery(id, &to_record(&recovery)?).await?;
        let ended = repo
            .set_phase(
                id,
                from,
                TransactionPhase::Completed,
                TransactionEventKind::Completed,
                json!({"bank_order_id": recovery.bank_order_id, "code": last_code}),
            )
            .await?;
        tx.commit().await?;
        self.ledger.transfer_ended(&ended, None);
        self.spool.remove(&recovery.spool).await;
        tracing::info!(transaction = %id, bank_order_id = ?recovery.bank_order_id, "upload completed");
        Ok(UploadOutcome {
            transaction: id,
            bank_order_id: recovery.bank_order_id,
            return_code: last_code,
        })
    }

    /// A signature-only upload whose answer did not arrive (or was unusable) may have reached
    /// the bank: it ends FAILED with [`SIGNATURE_UNCONFIRMED`] and is never sent again; the
    /// services ask the bank (HVD/HVZ) whether the signature is there.
    async fn signature_unconfirmed(
        &self,
        session: &Session,
        id: TransactionId,
        error: EbicsError,
    ) -> EbicsError {
        let text = format!(
            "the answer to this signature-only upload did not arrive usable ({error}); it is \
             not sent again: the bank's VEU (HVD/HVZ) shows whether the signature is there"
        );
        if let Err(e) = self
            .ledger
            .end(
                &session.scope,
                id,
                TransactionPhase::Failed,
                Ending::new(KontorFailure::SignatureUnconfirmed, text),
            )
            .await
        {
            return e;
        }
        error
    }
}

/// Whether a stored upload carries signatures only (HVE/HVS): such a transaction is sent at
/// most once, so recovery never resumes it.
pub(crate) fn is_signature_only(transaction: &kontor_storage::Transaction) -> bool {
    stored_request::<StoredUpload>(transaction).is_ok_and(|s| s.is_signature_only())
}

/// Compress, then encrypt with the upload's transaction key: the form of `SignatureData`.
fn encrypt_for_transaction(key: &TransactionKey, xml: &[u8]) -> Vec<u8> {
    encryption::encrypt_with_key(key, &compression::compress(xml))
}

/// A new upload's parts, made before its transaction is recorded.
struct StartUpload<'a> {
    user: EbicsUserId,
    order_type: &'a OrderType,
    stored: &'a StoredUpload,
    order: Option<OrderId>,
    effect: Option<TransferEffect>,
    submits: &'a [KeySubmission],
    /// Where the segments were spooled, to be renamed to the transaction's spool.
    staged: &'a str,
    written: &'a [Written],
    encrypted_transaction_key: Vec<u8>,
    signature_data: Vec<u8>,
    data_digest: Option<StoredDigest>,
}

/// What encoding the order data yields besides its spooled segments.
struct Encoded {
    transaction_key: TransactionKey,
    encrypted_transaction_key: Vec<u8>,
    /// The ES digest of the plain data (CR, LF and Ctrl-Z left out, as signers sign it).
    digest: [u8; 32],
}

/// Compress → E002 for `recipient` → segments, read from `data` in one pass that also takes
/// the order data digest (and checks a stored file against its record); each segment's
/// ciphertext goes to `write_segment`. Signature-only uploads (HVE/HVS) send no segments:
/// only the digest is taken.
fn encode_order_data(
    recipient: &PublicKey,
    mut data: OrderDataReader,
    signature_only: bool,
    write_segment: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
) -> Result<Encoded, EbicsError> {
    let mut rng = rand::rngs::OsRng;
    let (transaction_key, encrypted_transaction_key) = if signature_only {
        // HVE/HVS: only the signature data is encrypted, under a fresh key.
        std::io::copy(&mut data, &mut std::io::sink())?;
        let key = TransactionKey::generate(&mut rng);
        let encrypted = key.encrypt_for(recipient).map_err(EbicsError::request)?;
        (key, encrypted)
    } else {
        // The spool keeps ciphertext: each segment's text decodes on its own (whole base64
        // quanta, see `segmentation`).
        let mut ciphertext = Vec::new();
        // Deflate, the pipeline's slowest step, runs on every core the process's other
        // uploads leave free (the bytes do not depend on how many).
        let deflate = DEFLATE_THREADS.take();
        let streamed = stream_order_data(
            recipient,
            &mut data,
            SegmentSize::default(),
            deflate.threads,
            &mut rng,
            |segment| {
                ciphertext.clear();
                STANDARD
                    .decode_vec(&segment.data, &mut ciphertext)
                    .map_err(std::io::Error::other)?;
                write_segment(&ciphertext)
            },
        )
        .map_err(EbicsError::request)?;
        (streamed.transaction_key, streamed.encrypted_transaction_key)
    };
    Ok(Encoded {
        transaction_key,
        encrypted_transaction_key,
        digest: data.finish()?,
    })
}

/// What a stored file's record says its content is.
struct Recorded {
    file: FileId,
    size: i64,
    sha256: String,
}

/// The order data as it is read: takes the ES digest of what passes, and for a stored file
/// its size and SHA-256 to compare with the record.
struct OrderDataReader {
    inner: Box<dyn Read + Send>,
    digest: OrderDataHasher,
    read: u64,
    sha256: Option<Sha256>,
    recorded: Option<Recorded>,
}

impl OrderDataReader {
    /// The ES digest, once the whole data was read and matched its record.
    fn finish(self) -> Result<[u8; 32], EbicsError> {
        if let (Some(recorded), Some(sha256)) = (self.recorded, self.sha256) {
            let same = i64::try_from(self.read) == Ok(recorded.size)
                && hex::encode(sha256.finalize()) == recorded.sha256;
            if !same {
                return Err(EbicsError::FileChanged(recorded.file));
            }
        }
        Ok(self.digest.finalize())
    }
}

impl Read for OrderDataReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.digest.update(&buf[..n]);
        if let Some(sha256) = &mut self.sha256 {
            sha256.update(&buf[..n]);
        }
        self.read += n as u64;
        Ok(n)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredUpload {
    order_type: OrderType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    service: Option<StoredService>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    veu: Option<VeuOrderParams>,
}

impl StoredUpload {
    fn is_signature_only(&self) -> bool {
        self.veu.as_ref().is_some_and(|v| v.is_signature_only())
    }

    fn order_details(&self, session: &Session) -> Result<OrderDetails, EbicsError> {
        let version = session.version();
        if let Some(veu) = &self.veu {
            return veu.order_details(version);
        }
        if let Some(service) = &self.service {
            if !version.uses_btf() {
                return Err(EbicsError::BtfNeedsH005 { version });
            }
            // The order carries its signatures (the H004 OZHNN case): BTUParams without a
            // SignatureFlag would mean an order "authorised outside EBICS", which banks refuse.
            return Ok(OrderDetails::btu(
                service.to_service()?,
                Some(SignatureFlag::default()),
            ));
        }
        OrderDetails::upload(version, &self.order_type).map_err(EbicsError::request)
    }
}
