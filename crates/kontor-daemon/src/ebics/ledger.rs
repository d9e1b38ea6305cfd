//! The transaction ledger: every transfer is a persisted transaction before its first request.
//!
//! A transaction row carries the request it was started with (so recovery can rebuild the
//! initialisation), a recovery record with what resuming needs (wrapped transaction key,
//! spool file, the bank's order id), its segments and an append-only event trail. The ledger
//! creates, holds (leases), starts the transfer of, checks, ends and loads transactions; the
//! download and upload state machines and recovery are its only users.
//!
//! Recovery records are typed ([`DownloadRecovery`], [`UploadRecovery`]) and stored as JSON
//! in `transactions.recovery`; [`upload_receipt`] reads the bank's order id of a finished
//! upload back without anyone else knowing the record's shape.

use std::time::Duration;

use kontor_protocol::envelope::{EbicsResponse, TransactionId as BankTransactionId};
use kontor_protocol::order_type::{BtfService, ContainerType, MessageName};
use kontor_protocol::return_code::Retry;
use kontor_protocol::SignatureVersion;
use kontor_storage::{
    NewTransaction, ResultCode, ScopedTx, Segment, Store, TenantScope, Transaction,
    TransactionEventKind, TransactionId, TransactionPhase,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::session::rejection;
use super::EbicsError;
use crate::metrics;

/// The client's view of the `transactions` table: leases are taken in this instance's name.
#[derive(Debug, Clone)]
pub(crate) struct Ledger {
    store: Store,
    instance: String,
    lease_for: Duration,
}

impl Ledger {
    pub(crate) fn new(store: Store, instance: String, lease_for: Duration) -> Self {
        Self {
            store,
            instance,
            lease_for,
        }
    }

    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    pub(crate) fn instance(&self) -> &str {
        &self.instance
    }

    pub(crate) fn lease_for(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.lease_for).unwrap_or_else(|_| chrono::Duration::minutes(5))
    }

    /// Creates the transaction with its stored request and takes its lease, in `tx`.
    pub(crate) async fn create(
        &self,
        tx: &mut ScopedTx<'_>,
        new: NewTransaction,
    ) -> Result<Transaction, EbicsError> {
        let transaction = tx.transactions().create(new).await?;
        self.hold(tx, transaction.id).await?;
        Ok(transaction)
    }

    /// Takes or renews this instance's lease on a transaction it is working on.
    pub(crate) async fn hold(
        &self,
        tx: &mut ScopedTx<'_>,
        id: TransactionId,
    ) -> Result<(), EbicsError> {
        let now = chrono::Utc::now();
        tx.transactions()
            .hold_lease(id, &self.instance, now, now + self.lease_for())
            .await?;
        Ok(())
    }

    /// Gives the lease up, so recovery may take the transaction at once.
    pub(crate) async fn release(
        &self,
        scope: &TenantScope,
        id: TransactionId,
    ) -> Result<(), EbicsError> {
        let mut tx = self.store.scope(scope).begin().await?;
        tx.transactions().release_lease(id, &self.instance).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Runs `drive` (a transfer continued from its stored state) and hands its result back.
    /// An answer that is unreadable or not signed by the bank (after the session's retries)
    /// ends the transaction FAILED with that as its code: resuming would only ask the same
    /// bank the same question. Any other failed drive gives its lease up, so recovery takes
    /// the transaction over at once instead of waiting for the lease to expire.
    pub(crate) async fn release_if_failed<T>(
        &self,
        scope: &TenantScope,
        id: TransactionId,
        drive: impl std::future::Future<Output = Result<T, EbicsError>>,
    ) -> Result<T, EbicsError> {
        let result = drive.await;
        if let Err(error) = &result {
            if let Some(code) = error.permanent_failure_code() {
                tracing::warn!(transaction = %id, %code, %error, "bank answer unusable: transaction failed");
                self.end(
                    scope,
                    id,
                    TransactionPhase::Failed,
                    Ending::new(code, error.to_string()),
                )
                .await?;
            }
            self.release(scope, id).await?;
        }
        result
    }

    pub(crate) async fn load(
        &self,
        scope: &TenantScope,
        id: TransactionId,
    ) -> Result<Transaction, EbicsError> {
        let mut tx = self.store.scope(scope).begin().await?;
        let transaction: Transaction = tx.get(id).await?;
        tx.commit().await?;
        Ok(transaction)
    }

    /// The transaction's segments, in order.
    pub(crate) async fn segments(
        &self,
        scope: &TenantScope,
        id: TransactionId,
    ) -> Result<Vec<Segment>, EbicsError> {
        let mut tx = self.store.scope(scope).begin().await?;
        let segments = tx.transactions().segments(id).await?;
        tx.commit().await?;
        Ok(segments)
    }

    /// Records the bank's accepted initialisation, in `tx`: its transaction id and segment
    /// count, the recovery record resuming needs, and the move to TRANSFER with `context`
    /// as the event.
    pub(crate) async fn transfer_started<R: Serialize>(
        &self,
        tx: &mut ScopedTx<'_>,
        id: TransactionId,
        bank_transaction: &BankTransactionId,
        num_segments: u32,
        recovery: &R,
        context: serde_json::Value,
    ) -> Result<(), EbicsError> {
        let mut repo = tx.transactions();
        repo.set_bank_transaction(id, &bank_transaction.to_hex(), Some(num_segments.into()))
            .await?;
        repo.set_recovery(id, &to_record(recovery)?).await?;
        repo.set_phase(
            id,
            TransactionPhase::Initialisation,
            TransactionPhase::Transfer,
            TransactionEventKind::TransferStarted,
            context,
        )
        .await?;
        Ok(())
    }

    /// Ends the transaction FAILED (or ABORTED when the bank lost it) when the bank refused;
    /// returns the error to hand to the caller.
    pub(crate) async fn check(
        &self,
        scope: &TenantScope,
        transaction: &Transaction,
        response: &EbicsResponse,
    ) -> Result<(), EbicsError> {
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
        let ending = Ending::new(rejection.code.clone(), &rejection.text)
            .in_phase(format!("{:?}", response.phase));
        self.end(scope, transaction.id, phase, ending).await?;
        Err(EbicsError::Bank {
            order_type: transaction.order_type.clone(),
            rejection,
            transaction: Some(transaction.id),
        })
    }

    /// Moves an unfinished transaction to FAILED or ABORTED with its ending as the event,
    /// from whatever phase it is in now.
    pub(crate) async fn end(
        &self,
        scope: &TenantScope,
        id: TransactionId,
        to: TransactionPhase,
        ending: Ending,
    ) -> Result<(), EbicsError> {
        let event = match to {
            TransactionPhase::Aborted => TransactionEventKind::Aborted,
            _ => TransactionEventKind::Failed,
        };
        let mut tx = self.store.scope(scope).begin().await?;
        let current: Transaction = tx.get(id).await?;
        let ended = if current.phase.is_final() {
            None
        } else {
            Some(
                tx.transactions()
                    .set_phase(id, current.phase, to, event, ending.context())
                    .await?,
            )
        };
        tx.commit().await?;
        if let Some(ended) = ended {
            self.transfer_ended(&ended, None);
        }
        Ok(())
    }

    /// Counts a transfer that ended (committed): by order type, direction and outcome, its
    /// bytes when known, its duration, and the code that failed it.
    pub(crate) fn transfer_ended(&self, transaction: &Transaction, bytes: Option<i64>) {
        let order_type = transaction.order_type.as_str();
        let labels = [
            ("order_type", order_type),
            ("direction", transaction.direction.as_str()),
            ("outcome", transaction.phase.as_str()),
        ];
        metrics::inc(metrics::TRANSFERS, &self.instance, &labels);
        if let Some(bytes) = bytes {
            metrics::add(
                metrics::TRANSFER_BYTES,
                &self.instance,
                &labels,
                bytes as f64,
            );
        }
        let took = (transaction.updated_at - transaction.created_at)
            .to_std()
            .unwrap_or_default();
        metrics::observe(metrics::TRANSFER_SECONDS, &self.instance, &labels, took);
        if let Some(code) = &transaction.failure_code {
            metrics::inc(
                metrics::BANK_RETURN_CODES,
                &self.instance,
                &[("code", code.as_str()), ("order_type", order_type)],
            );
        }
    }
}

/// Why a transaction ended unfinished: the code and text storage records as its failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ending {
    code: ResultCode,
    text: String,
    phase: Option<String>,
}

impl Ending {
    pub(crate) fn new(code: impl Into<ResultCode>, text: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            text: text.into(),
            phase: None,
        }
    }

    fn in_phase(mut self, phase: String) -> Self {
        self.phase = Some(phase);
        self
    }

    fn context(&self) -> serde_json::Value {
        match &self.phase {
            Some(phase) => json!({"code": self.code.as_str(), "text": self.text, "phase": phase}),
            None => json!({"code": self.code.as_str(), "text": self.text}),
        }
    }
}

/// Reads a typed record out of a transaction's JSON column.
pub(crate) fn read_record<T: DeserializeOwned>(
    transaction: &Transaction,
    what: &'static str,
    value: &serde_json::Value,
) -> Result<T, EbicsError> {
    serde_json::from_value(value.clone()).map_err(|e| EbicsError::RecordUnreadable {
        transaction: transaction.id,
        what,
        message: e.to_string(),
    })
}

pub(crate) fn to_record<T: Serialize>(record: &T) -> Result<serde_json::Value, EbicsError> {
    serde_json::to_value(record).map_err(EbicsError::request)
}

/// The bank's id of a transaction past its initialisation, as [`Ledger::transfer_started`]
/// stored it.
pub(crate) fn bank_transaction_id(
    transaction: &Transaction,
) -> Result<BankTransactionId, EbicsError> {
    BankTransactionId::from_hex(
        transaction
            .bank_transaction_id
            .as_deref()
            .unwrap_or_default(),
    )
    .map_err(EbicsError::protocol)
}

/// The request a transaction was started with, as stored in `btf_params`.
pub(crate) fn stored_request<T: DeserializeOwned>(
    transaction: &Transaction,
) -> Result<T, EbicsError> {
    transaction
        .btf_params
        .clone()
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| EbicsError::RecordUnreadable {
            transaction: transaction.id,
            what: "stored request",
            message: e.to_string(),
        })?
        .ok_or_else(|| EbicsError::RecordUnreadable {
            transaction: transaction.id,
            what: "stored request",
            message: format!(
                "{} transaction without its request",
                transaction.direction.as_str().to_ascii_lowercase()
            ),
        })
}

/// What resuming a download needs.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct DownloadRecovery {
    /// The transaction key as the bank sent it: encrypted for our E002 key, so storing it
    /// reveals nothing without that key.
    #[serde(with = "base64_bytes")]
    pub transaction_key: Vec<u8>,
    /// The spool file, relative to the data directory.
    pub spool: String,
}

/// What resuming an upload needs. Everything in it is encrypted for the bank (segments,
/// signature data, transaction key) or public (the digest).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct UploadRecovery {
    pub spool: String,
    #[serde(with = "base64_bytes")]
    pub transaction_key: Vec<u8>,
    #[serde(with = "base64_bytes")]
    pub signature_data: Vec<u8>,
    pub data_digest: Option<StoredDigest>,
    pub bank_order_id: Option<String>,
}

/// H005: the digest the signatures of an upload cover, announced in its initialisation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredDigest {
    pub signature_version: SignatureVersion,
    #[serde(with = "base64_bytes")]
    pub digest: Vec<u8>,
}

/// The bank's answer to a finished upload, from its recovery record: its order id, or `None`
/// when the transaction did not complete (or carries no record).
pub fn upload_receipt(transaction: &Transaction) -> Option<Option<String>> {
    if transaction.phase != TransactionPhase::Completed {
        return None;
    }
    let record: Option<UploadRecovery> = serde_json::from_value(transaction.recovery.clone()).ok();
    Some(record.and_then(|r| r.bank_order_id))
}

/// A BTF service as a recovery record keeps it: a shape of its own, so records written by
/// earlier versions still read whatever the protocol type's serde form becomes. Every part
/// is kept: a transaction resumed after a restart must name the service the bank was first
/// asked for, including the message variant and format a bank's offer completed it with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredService {
    pub service_name: String,
    pub scope: Option<String>,
    pub service_option: Option<String>,
    pub container: Option<String>,
    pub message: String,
    pub message_version: Option<String>,
    /// Absent in records of versions that dropped it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_variant: Option<String>,
    /// Absent in records of versions that dropped it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_format: Option<String>,
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
            message_variant: s.message.variant.clone(),
            message_format: s.message.format.clone(),
        }
    }
}

impl StoredService {
    pub(crate) fn to_service(&self) -> Result<BtfService, EbicsError> {
        Ok(BtfService {
            service_name: self.service_name.clone(),
            scope: self.scope.clone(),
            service_option: self.service_option.clone(),
            container: self
                .container
                .as_deref()
                .map(str::parse::<ContainerType>)
                .transpose()
                .map_err(EbicsError::protocol)?,
            message: MessageName {
                name: self.message.clone(),
                version: self.message_version.clone(),
                variant: self.message_variant.clone(),
                format: self.message_format.clone(),
            },
        })
    }
}

/// Bytes in a JSON record as standard base64 text.
mod base64_bytes {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_service_reads_back_with_every_part() {
        let service = BtfService {
            service_name: "EOP".into(),
            scope: Some("DE".into()),
            service_option: Some("XCH".into()),
            container: Some(ContainerType::Zip),
            message: MessageName {
                name: "camt.053".into(),
                version: Some("08".into()),
                variant: Some("001".into()),
                format: Some("XML".into()),
            },
        };
        let record = serde_json::to_value(StoredService::from(&service)).unwrap();
        let stored: StoredService = serde_json::from_value(record).unwrap();
        assert_eq!(stored.to_service().unwrap(), service);
    }

    #[test]
    fn a_record_of_an_earlier_version_still_reads() {
        let record = json!({
            "service_name": "SCT", "scope": null, "service_option": null, "container": null,
            "message": "pain.001", "message_version": "09"
        });
        let stored: StoredService = serde_json::from_value(record).unwrap();
        assert_eq!(
            stored.to_service().unwrap(),
            BtfService::new("SCT", MessageName::new("pain.001").with_version("09"))
        );
    }
}
