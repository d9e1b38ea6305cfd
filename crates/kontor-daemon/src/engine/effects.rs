//! The business effect of a finished transfer, applied whoever finished it.
//!
//! A transfer and its effect are two steps: the bank delivered the statements, then they are
//! booked; the bank took the order, then the order records its bank order id. A crash between
//! the two must not lose the second, and recovery may finish a transfer that no request waits
//! for any more. So the effect is named on the transaction when it is created
//! ([`TransferEffect`]), marked done in the database transaction that applies it, and this
//! sweep applies every effect left pending: after recovery finished a transfer, or when the
//! worker that finished one died (its lease on the transaction expired).
//!
//! Applying twice is harmless (bookings are de-duplicated, orders settle by compare-and-set),
//! and the sweep leases each transaction, so instances rarely even try. A failure that cannot
//! heal (a document that does not parse) ends the effect with its error at once; others are
//! retried on later passes, at most [`MAX_EFFECT_ATTEMPTS`] times.

use chrono::Utc;
use kontor_storage::{StoredFile, TenantScope, Transaction, TransactionId, TransferEffect};

use super::orders;
use super::statements::{ingest_delivered, DeliveredStatements};
use super::{Engine, EngineError};

/// Failed attempts after which an effect is given up, with its last error on record.
pub const MAX_EFFECT_ATTEMPTS: i64 = 5;

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EffectReport {
    pub applied: Vec<TransactionId>,
    /// Ended with an error on record (permanent, or out of attempts).
    pub given_up: Vec<TransactionId>,
    /// Failed this time; a later pass tries again.
    pub deferred: Vec<TransactionId>,
}

/// How applying one effect ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Applied {
    Done,
    GivenUp,
}

impl Engine {
    /// Leases finished transactions with a pending effect, across tenants, and applies each.
    pub async fn apply_pending_effects(&self) -> Result<EffectReport, EngineError> {
        let lease_for = chrono::Duration::from_std(self.config().lease_for)
            .unwrap_or_else(|_| chrono::Duration::minutes(5));
        let leased = self
            .store()
            .system()
            .lease_pending_effects(&self.config().instance, Utc::now(), lease_for, 100)
            .await?;
        let mut report = EffectReport::default();
        for lease in leased {
            let id = lease.transaction;
            match self.apply_effect(&lease.scope, id).await {
                Ok(Applied::Done) => report.applied.push(id),
                Ok(Applied::GivenUp) => report.given_up.push(id),
                Err(error) => {
                    tracing::warn!(transaction = %id, %error, "transfer effect deferred");
                    match self
                        .effect_failed(&lease.scope, id, &error.to_string())
                        .await
                    {
                        Ok(true) => report.given_up.push(id),
                        _ => report.deferred.push(id),
                    }
                }
            }
        }
        Ok(report)
    }

    async fn apply_effect(
        &self,
        scope: &TenantScope,
        id: TransactionId,
    ) -> Result<Applied, EngineError> {
        let transaction = self.load_transaction(scope, id).await?;
        if !transaction.effect_pending() {
            return Ok(Applied::Done);
        }
        match transaction.effect {
            Some(TransferEffect::IngestStatements) => self.ingest(scope, &transaction).await,
            Some(TransferEffect::SettleOrder) => self.settle(scope, &transaction).await,
            None => Ok(Applied::Done),
        }
    }

    async fn ingest(
        &self,
        scope: &TenantScope,
        transaction: &Transaction,
    ) -> Result<Applied, EngineError> {
        let Some(file) = transaction.file_id else {
            // Failed, aborted, or the bank had no data: nothing to book.
            let mut tx = self.store().scope(scope).begin().await?;
            tx.transactions()
                .finish_effect(transaction.id, None)
                .await?;
            tx.commit().await?;
            return Ok(Applied::Done);
        };
        let file: StoredFile = self.store().scope(scope).begin().await?.get(file).await?;
        let bytes = self.read_file(scope, &file).await?;
        let delivered = DeliveredStatements {
            user: transaction.ebics_user_id,
            order_type: &transaction.order_type,
            bytes: &bytes,
            file: Some(file.id),
            transaction: Some(transaction.id),
        };
        match ingest_delivered(self.store(), scope, &delivered).await {
            Ok(report) => {
                tracing::info!(
                    transaction = %transaction.id,
                    bookings_new = report.bookings_new,
                    "statements of a finished download ingested"
                );
                Ok(Applied::Done)
            }
            Err(error) if error.is_permanent() => {
                tracing::warn!(transaction = %transaction.id, %error, "downloaded statements cannot be ingested");
                Ok(Applied::GivenUp)
            }
            Err(error) => Err(EngineError::Precondition(error.to_string())),
        }
    }

    async fn settle(
        &self,
        scope: &TenantScope,
        transaction: &Transaction,
    ) -> Result<Applied, EngineError> {
        let outcome = orders::settle(self.store(), self, scope, transaction)
            .await
            .map_err(|e| EngineError::Precondition(e.to_string()))?;
        if let Some(orders::SubmitOutcome::Accepted(order)) = outcome {
            tracing::info!(order = %order.id, "order settled from its finished upload");
            // The bank may know the outcome already; otherwise the completion loop asks later.
            if let Err(error) = self.sync_order_status(scope, order.ebics_user_id).await {
                tracing::warn!(order = %order.id, %error, "status sync after settling failed");
            }
        }
        Ok(Applied::Done)
    }

    /// Counts a failed attempt and gives the effect up (`true`) when the attempts are used
    /// up; otherwise frees the lease so the next pass tries again.
    async fn effect_failed(
        &self,
        scope: &TenantScope,
        id: TransactionId,
        error: &str,
    ) -> Result<bool, EngineError> {
        let mut tx = self.store().scope(scope).begin().await?;
        let attempts = tx.transactions().effect_attempt_failed(id, error).await?;
        let given_up = attempts >= MAX_EFFECT_ATTEMPTS;
        if given_up {
            tx.transactions()
                .finish_effect(
                    id,
                    Some(&format!("given up after {attempts} attempts: {error}")),
                )
                .await?;
        } else {
            tx.transactions()
                .release_lease(id, &self.config().instance)
                .await?;
        }
        tx.commit().await?;
        Ok(given_up)
    }
}
