//! Persisted, segmented uploads (payment files with their electronic signatures).
//!
//! The order data is compressed, encrypted for the bank and segmented once; the encrypted
//! segments are spooled to the data directory and recorded (checksum, size) before the
//! first request, together with the bank's wrapped transaction key. A resumed upload sends
//! exactly the same bytes, so the bank never sees two different versions of one order.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use kontor_protocol::compression;
use kontor_protocol::encryption::{self, TransactionKey};
use kontor_protocol::envelope::{
    DataDigest, DataEncryptionInfo, InitialisationRequest, OrderDetails, SegmentNumber,
    TransactionId as BankTransactionId, TransferRequest, UploadInit,
};
use kontor_protocol::order_type::{BtfService, OrderType};
use kontor_protocol::orderdata::{OrderSignatureData, UserSignatureData};
use kontor_protocol::segmentation::{segment_order_data, SegmentSize, SegmentedOrderData};
use kontor_protocol::signature::order_data_digest;
use kontor_protocol::{EncryptionVersion, SignatureVersion};
use kontor_storage::{
    Connection, Direction, EbicsUser, EbicsUserId, NewTransaction, Order, OrderId, SegmentStatus,
    TenantScope, TransactionEventKind, TransactionId, TransactionPhase, TransferEffect,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::download::StoredService;
use super::session::{Requirement, Session};
use super::veu_client::VeuOrderParams;
use super::{Engine, EngineError};

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
    pub data: Vec<u8>,
    /// The electronic signatures collected for `data` (computed by the signers, never by the
    /// engine). Build them from stored `order_signatures` with [`Engine::order_signatures`].
    pub signatures: Vec<OrderSignatureData>,
    /// The stored order this upload submits; links the transaction to it.
    pub order: Option<OrderId>,
    /// HVE/HVS: the VEU order parameters. These uploads carry signatures only (`data` is
    /// ignored, no segments are sent).
    pub veu: Option<VeuOrderParams>,
    /// H005 signature-only uploads: the digest of the order data the signatures cover (the
    /// bank's HVD `DataDigest`); ordinary uploads compute it from `data`.
    pub signed_digest: Option<Vec<u8>>,
}

impl UploadRequest {
    pub fn new(order_type: OrderType, data: Vec<u8>, signatures: Vec<OrderSignatureData>) -> Self {
        Self {
            order_type,
            service: None,
            data,
            signatures,
            order: None,
            veu: None,
            signed_digest: None,
        }
    }

    pub fn with_veu_params(mut self, params: VeuOrderParams) -> Self {
        self.veu = Some(params);
        self
    }

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

impl Engine {
    /// Uploads order data with its signatures for a READY user with verified bank keys.
    ///
    /// Failure handling as for [`Engine::download`]. An upload that may already have reached
    /// the bank is never started again as a new transaction: it resumes or ends FAILED.
    pub async fn upload(
        &self,
        scope: &TenantScope,
        user: EbicsUserId,
        request: UploadRequest,
    ) -> Result<UploadOutcome, EngineError> {
        let session = self.open_session(scope, user, Requirement::Ready).await?;
        if request.signatures.is_empty() {
            return Err(EngineError::Precondition(
                "an upload needs at least one electronic signature".into(),
            ));
        }
        let stored = StoredUpload {
            order_type: request.order_type.to_string(),
            service: request.service.as_ref().map(StoredService::from),
            veu: request.veu.clone(),
        };
        let signature_only = request.veu.as_ref().is_some_and(|v| v.is_signature_only());
        stored.order_details(&session)?;
        let bank = session.bank()?;

        // Encrypt and segment once: a resumed upload must send exactly these bytes.
        let segmented = if signature_only {
            // HVE/HVS: only the signature data is encrypted, under a fresh key; no segments.
            let transaction_key = TransactionKey::generate(&mut rand::rngs::OsRng);
            SegmentedOrderData {
                encrypted_transaction_key: transaction_key
                    .encrypt_for(&bank.encryption)
                    .map_err(EngineError::protocol)?,
                transaction_key,
                segments: Vec::new(),
                encoded_len: 0,
            }
        } else {
            segment_order_data(
                &bank.encryption,
                &request.data,
                SegmentSize::default(),
                &mut rand::rngs::OsRng,
            )
            .map_err(EngineError::protocol)?
        };
        let signature_xml = UserSignatureData {
            version: session.version(),
            signatures: request.signatures.clone(),
        }
        .to_xml()
        .map_err(EngineError::protocol)?;
        let signature_data = encrypt_for_transaction(&segmented.transaction_key, &signature_xml);
        let data_digest = session.version().uses_btf().then(|| StoredDigest {
            signature_version: request.signatures[0].signature_version.as_str().to_owned(),
            digest: STANDARD.encode(
                request
                    .signed_digest
                    .clone()
                    .unwrap_or_else(|| order_data_digest(&request.data).to_vec()),
            ),
        });
        let mut segments = Vec::with_capacity(segmented.segments.len());
        for segment in &segmented.segments {
            segments.push(
                STANDARD
                    .decode(&segment.data)
                    .map_err(EngineError::protocol)?,
            );
        }
        drop(segmented.segments);
        let num_segments = segments.len();

        // One database transaction: the row, the spool and the segment records appear together.
        let mut tx = self.store().scope(scope).begin().await?;
        let transaction = tx
            .transactions()
            .create(NewTransaction {
                ebics_user_id: user,
                direction: Direction::Upload,
                order_type: request.order_type.to_string(),
                btf_params: Some(serde_json::to_value(&stored).map_err(EngineError::protocol)?),
                order_id: request.order,
                file_id: None,
                num_segments: Some(num_segments as i64),
                // An order's upload settles the order when it ends, whoever ends it.
                effect: request.order.map(|_| TransferEffect::SettleOrder),
            })
            .await?;
        let spool = format!("transfers/{}.upload", transaction.id);
        let path = self.data_path(&spool);
        let sizes =
            tokio::task::spawn_blocking(move || -> Result<Vec<(usize, String)>, EngineError> {
                use std::io::Write;
                if let Some(dir) = path.parent() {
                    kontor_storage::private_files::create_dir_all(dir)?;
                }
                // Owner-only (0600) like every file under the data directory.
                let mut file = kontor_storage::private_files::open_options()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .open(&path)?;
                let mut out = Vec::new();
                for segment in &segments {
                    file.write_all(segment)?;
                    out.push((segment.len(), hex::encode(Sha256::digest(segment))));
                }
                file.sync_all()?;
                Ok(out)
            })
            .await
            .map_err(|e| EngineError::Io(std::io::Error::other(e)))??;
        let recovery = UploadRecovery {
            spool,
            transaction_key: STANDARD.encode(&segmented.encrypted_transaction_key),
            signature_data: STANDARD.encode(&signature_data),
            data_digest,
            bank_order_id: None,
        };
        let mut repo = tx.transactions();
        repo.set_recovery(
            transaction.id,
            &serde_json::to_value(&recovery).map_err(EngineError::protocol)?,
        )
        .await?;
        for (index, (size, checksum)) in sizes.iter().enumerate() {
            repo.add_segment(
                transaction.id,
                index as i64 + 1,
                index + 1 == num_segments,
                checksum,
                *size as i64,
            )
            .await?;
        }
        self.hold(&mut tx, transaction.id).await?;
        tx.commit().await?;
        tracing::info!(transaction = %transaction.id, order_type = %request.order_type, segments = num_segments, "upload started");
        self.drive_upload(&session, transaction.id).await
    }

    /// Continues an upload from whatever its stored state says.
    pub(crate) async fn drive_upload(
        &self,
        session: &Session,
        id: TransactionId,
    ) -> Result<UploadOutcome, EngineError> {
        let result = self.drive_upload_inner(session, id).await;
        if result.is_err() {
            let mut tx = self.store().scope(&session.scope).begin().await?;
            tx.transactions()
                .release_lease(id, &self.config().instance)
                .await?;
            tx.commit().await?;
        }
        result
    }

    async fn drive_upload_inner(
        &self,
        session: &Session,
        id: TransactionId,
    ) -> Result<UploadOutcome, EngineError> {
        let transaction = self.load_transaction(&session.scope, id).await?;
        let mut recovery: UploadRecovery = serde_json::from_value(transaction.recovery.clone())
            .map_err(|e| EngineError::Protocol(format!("upload recovery data unreadable: {e}")))?;
        let host_id = session.ctx.host_id()?;
        let num_segments = transaction.num_segments.unwrap_or(0).max(0) as u32;
        match transaction.phase {
            TransactionPhase::Initialisation => {
                let stored: StoredUpload = transaction
                    .btf_params
                    .clone()
                    .map(serde_json::from_value)
                    .transpose()
                    .map_err(EngineError::protocol)?
                    .ok_or_else(|| {
                        EngineError::Protocol("upload transaction without its request".into())
                    })?;
                let details = stored.order_details(session)?;
                let bank = session.bank()?;
                let upload = UploadInit {
                    num_segments,
                    data_encryption_info: DataEncryptionInfo {
                        encryption_version: EncryptionVersion::E002,
                        encryption_pub_key_digest: bank.digests.encryption.clone(),
                        transaction_key: STANDARD
                            .decode(&recovery.transaction_key)
                            .map_err(EngineError::protocol)?,
                    },
                    signature_data: STANDARD
                        .decode(&recovery.signature_data)
                        .map_err(EngineError::protocol)?,
                    data_digest: recovery
                        .data_digest
                        .as_ref()
                        .map(|d| -> Result<DataDigest, EngineError> {
                            Ok(DataDigest {
                                signature_version: d
                                    .signature_version
                                    .parse::<SignatureVersion>()
                                    .map_err(EngineError::protocol)?,
                                digest: STANDARD
                                    .decode(&d.digest)
                                    .map_err(EngineError::protocol)?,
                            })
                        })
                        .transpose()?,
                    additional_order_info: None,
                };
                let response = session
                    .exchange(self, || {
                        Ok(InitialisationRequest {
                            version: session.version(),
                            header: session.init_header(details.clone())?,
                            upload: Some(upload.clone()),
                        }
                        .into())
                    })
                    .await?;
                self.check_response(session, &transaction, &response)
                    .await?;
                let bank_transaction = response.transaction_id.ok_or_else(|| {
                    EngineError::Protocol("initialisation response without TransactionID".into())
                })?;
                recovery.bank_order_id = response.order_id.as_ref().map(|o| o.as_str().to_owned());
                let mut tx = self.store().scope(&session.scope).begin().await?;
                let mut repo = tx.transactions();
                repo.set_bank_transaction(
                    id,
                    &bank_transaction.to_hex(),
                    Some(num_segments.into()),
                )
                .await?;
                repo.set_recovery(
                    id,
                    &serde_json::to_value(&recovery).map_err(EngineError::protocol)?,
                )
                .await?;
                repo.set_phase(
                    id,
                    TransactionPhase::Initialisation,
                    TransactionPhase::Transfer,
                    TransactionEventKind::TransferStarted,
                    json!({"bank_transaction_id": bank_transaction.to_hex(), "bank_order_id": recovery.bank_order_id}),
                )
                .await?;
                self.hold(&mut tx, id).await?;
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

        let transaction = self.load_transaction(&session.scope, id).await?;
        let bank_transaction = BankTransactionId::from_hex(
            transaction
                .bank_transaction_id
                .as_deref()
                .unwrap_or_default(),
        )
        .map_err(EngineError::protocol)?;
        let mut tx = self.store().scope(&session.scope).begin().await?;
        let segments = tx.transactions().segments(id).await?;
        tx.commit().await?;
        let spool = self.data_path(&recovery.spool);
        let mut offset = 0u64;
        let mut last_code = "000000".to_owned();
        for segment in segments {
            let size = segment.size as u64;
            let start = offset;
            offset += size;
            if segment.number <= transaction.last_acknowledged_segment {
                continue;
            }
            let bytes = read_spool(spool.clone(), start, size as usize).await?;
            if hex::encode(Sha256::digest(&bytes)) != segment.checksum {
                self.end_transaction(
                    &session.scope,
                    id,
                    TransactionPhase::Failed,
                    json!({"code": "SPOOL", "text": format!("spooled segment {} is damaged", segment.number)}),
                )
                .await?;
                return Err(EngineError::Precondition(format!(
                    "spooled segment {} of transaction {id} is damaged",
                    segment.number
                )));
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
            self.hold(&mut tx, id).await?;
            tx.commit().await?;

            let number = SegmentNumber::new(segment.number as u32, segment.is_last)
                .map_err(EngineError::protocol)?;
            let response = session
                .exchange(self, || {
                    Ok(TransferRequest {
                        version: session.version(),
                        host_id: host_id.clone(),
                        transaction_id: bank_transaction,
                        segment: number,
                        order_data: Some(bytes.clone()),
                    }
                    .into())
                })
                .await?;
            self.check_response(session, &transaction, &response)
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

        let mut tx = self.store().scope(&session.scope).begin().await?;
        let mut repo = tx.transactions();
        repo.set_recovery(
            id,
            &serde_json::to_value(&recovery).map_err(EngineError::protocol)?,
        )
        .await?;
        repo.set_phase(
            id,
            TransactionPhase::Transfer,
            TransactionPhase::Completed,
            TransactionEventKind::Completed,
            json!({"bank_order_id": recovery.bank_order_id, "code": last_code}),
        )
        .await?;
        tx.commit().await?;
        let _ = tokio::fs::remove_file(&spool).await;
        tracing::info!(transaction = %id, bank_order_id = ?recovery.bank_order_id, "upload completed");
        Ok(UploadOutcome {
            transaction: id,
            bank_order_id: recovery.bank_order_id,
            return_code: last_code,
        })
    }

    /// The stored signatures of `order`, in the form [`UploadRequest::signatures`] needs
    /// (partner and user ids of each signer resolved through the scope).
    pub async fn order_signatures(
        &self,
        scope: &TenantScope,
        order: OrderId,
    ) -> Result<Vec<OrderSignatureData>, EngineError> {
        let mut tx = self.store().scope(scope).begin().await?;
        let _: Order = tx.get(order).await?;
        let mut out = Vec::new();
        for signature in tx.order_signatures().list_for_order(order).await? {
            let signer: EbicsUser = tx.get(signature.signer_id).await?;
            let connection: Connection = tx.get(signer.connection_id).await?;
            out.push(OrderSignatureData {
                signature_version: signature
                    .signature_version
                    .parse::<SignatureVersion>()
                    .map_err(EngineError::protocol)?,
                signature_value: signature.signature_value,
                partner_id: connection.partner_id,
                user_id: signer.user_id,
                x509: None,
            });
        }
        tx.commit().await?;
        Ok(out)
    }
}

/// Compress, then encrypt with the upload's transaction key: the form of `SignatureData`.
fn encrypt_for_transaction(key: &TransactionKey, xml: &[u8]) -> Vec<u8> {
    encryption::encrypt_with_key(key, &compression::compress(xml))
}

async fn read_spool(
    path: std::path::PathBuf,
    offset: u64,
    size: usize,
) -> Result<Vec<u8>, EngineError> {
    tokio::task::spawn_blocking(move || -> Result<Vec<u8>, EngineError> {
        use std::io::{Read, Seek};
        let mut file = std::fs::File::open(&path)?;
        file.seek(std::io::SeekFrom::Start(offset))?;
        let mut buffer = vec![0; size];
        file.read_exact(&mut buffer)?;
        Ok(buffer)
    })
    .await
    .map_err(|e| EngineError::Io(std::io::Error::other(e)))?
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredUpload {
    order_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    service: Option<StoredService>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    veu: Option<VeuOrderParams>,
}

impl StoredUpload {
    fn order_details(&self, session: &Session) -> Result<OrderDetails, EngineError> {
        let version = session.version();
        if let Some(veu) = &self.veu {
            return veu.order_details(version);
        }
        if let Some(service) = &self.service {
            if !version.uses_btf() {
                return Err(EngineError::Precondition(format!(
                    "BTF services need H005, host speaks {version}"
                )));
            }
            return Ok(OrderDetails::btu(service.to_service()?, None));
        }
        let order_type: OrderType = self.order_type.parse().map_err(EngineError::protocol)?;
        OrderDetails::upload(version, &order_type).map_err(EngineError::protocol)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredDigest {
    signature_version: String,
    digest: String,
}

/// What resuming an upload needs. Everything in it is encrypted for the bank (segments,
/// signature data, transaction key) or public (the digest).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct UploadRecovery {
    spool: String,
    transaction_key: String,
    signature_data: String,
    data_digest: Option<StoredDigest>,
    bank_order_id: Option<String>,
}
