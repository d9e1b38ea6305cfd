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
use kontor_storage::system::LeaseTerms;
use kontor_storage::{StorageError, TenantScope, Transaction, TransactionId, TransferEffect};

use super::orders::completion::sync_order_status;
use super::orders::{settle, OrderError, SubmitOutcome};
use super::statement_files::{ingest_delivered, DeliveredStatements, Reading};
use super::statements::IngestError;
use super::Services;
use crate::ebics::{Client, EbicsError, RecoveryReport};

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

/// Why applying an effect failed this time.
#[derive(Debug, thiserror::Error)]
pub enum EffectError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    File(#[from] EbicsError),
    #[error(transparent)]
    Ingest(#[from] IngestError),
    #[error(transparent)]
    Order(#[from] OrderError),
    /// A key change's keys could not be settled.
    #[error("key change: {0}")]
    Keys(String),
    /// A key change waits for an operator to verify the bank's new keys: not an attempt.
    #[error("key change waits for bank key verification: {0}")]
    Held(String),
    /// Settling needs the EBICS client's view of the upload; this process runs none.
    #[error("no EBICS client runs in this process")]
    NoClient,
}

/// How applying one effect ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Applied {
    Done,
    GivenUp,
}

/// Leases finished transactions with a pending effect, across tenants, and applies each.
pub async fn apply_pending_effects(services: &Services) -> Result<EffectReport, StorageError> {
    let leased = services
        .store()
        .system()
        .lease_pending_effects(LeaseTerms {
            owner: services.instance(),
            now: Utc::now(),
            lease_for: services.lease_for(),
            limit: 100,
        })
        .await?;
    let mut report = EffectReport::default();
    for lease in leased {
        let id = lease.transaction;
        match apply_effect(services, &lease.scope, id).await {
            Ok(Applied::Done) => report.applied.push(id),
            Ok(Applied::GivenUp) => report.given_up.push(id),
            Err(error @ EffectError::Held(_)) => {
                tracing::info!(transaction = %id, %error, "transfer effect waits for an operator");
                if let Err(e) = effect_waits(services, &lease.scope, id, &error.to_string()).await {
                    tracing::warn!(transaction = %id, error = %e, "recording the wait failed");
                }
                report.deferred.push(id);
            }
            Err(error) => {
                tracing::warn!(transaction = %id, %error, "transfer effect deferred");
                match effect_failed(services, &lease.scope, id, &error.to_string()).await {
                    Ok(true) => report.given_up.push(id),
                    _ => report.deferred.push(id),
                }
            }
        }
    }
    Ok(report)
}

async fn apply_effect(
    services: &Services,
    scope: &TenantScope,
    id: TransactionId,
) -> Result<Applied, EffectError> {
    let transaction: Transaction = services.store().scope(scope).begin().await?.get(id).await?;
    if !transaction.effect_pending() {
        return Ok(Applied::Done);
    }
    match transaction.effect {
        Some(TransferEffect::IngestStatements) => ingest(services, scope, &transaction).await,
        Some(TransferEffect::SettleOrder) => settle_order(services, scope, &transaction).await,
        Some(TransferEffect::ChangeKeys) => {
            super::key_changes::settle_change(services, scope, &transaction)
                .await
                .map_err(|e| match e.awaits_bank_key_verification() {
                    true => EffectError::Held(e.to_string()),
                    false => EffectError::Keys(e.to_string()),
                })?;
            Ok(Applied::Done)
        }
        None => Ok(Applied::Done),
    }
}

async fn ingest(
    services: &Services,
    scope: &TenantScope,
    transaction: &Transaction,
) -> Result<Applied, EffectError> {
    let Some(file) = transaction.file_id else {
        // Failed, aborted, or the bank had no data: nothing to book.
        let mut tx = services.store().scope(scope).begin().await?;
        tx.transactions()
            .finish_effect(transaction.id, None)
            .await?;
        tx.commit().await?;
        return Ok(Applied::Done);
    };
    let delivered = DeliveredStatements::downloaded(
        transaction.ebics_user_id,
        transaction.order_type.clone(),
        file,
        Some(transaction.id),
    );
    let reading = Reading::new(services.store(), services.files());
    match ingest_delivered(reading, scope, &delivered).await {
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
        Err(error) => Err(error.into()),
    }
}

async fn settle_order(
    services: &Services,
    scope: &TenantScope,
    transaction: &Transaction,
) -> Result<Applied, EffectError> {
    let bank = services.bank().map_err(|_| EffectError::NoClient)?;
    let outcome = settle(services.store(), bank, scope, transaction).await?;
    if let Some(SubmitOutcome::Accepted(order)) = outcome {
        tracing::info!(order = %order.id, "order settled from its finished upload");
        // The bank may know the outcome already; otherwise the completion loop asks later.
        if let Err(error) =
            sync_order_status(services.store(), bank, scope, order.ebics_user_id).await
        {
            tracing::warn!(order = %order.id, %error, "status sync after settling failed");
        }
    }
    Ok(Applied::Done)
}

/// Records why the effect waits for an operator; no attempt is spent, so the effect is
/// applied by a later pass once the operator acted.
async fn effect_waits(
    services: &Services,
    scope: &TenantScope,
    id: TransactionId,
    why: &str,
) -> Result<(), StorageError> {
    let mut tx = services.store().scope(scope).begin().await?;
    tx.transactions()
        .effect_waits(id, services.instance(), why)
        .await?;
    tx.commit().await
}

/// Counts a failed attempt and gives the effect up (`true`) when the attempts are used
/// up; otherwise frees the lease so the next pass tries again.
async fn effect_failed(
    services: &Services,
    scope: &TenantScope,
    id: TransactionId,
    error: &str,
) -> Result<bool, StorageError> {
    let mut tx = services.store().scope(scope).begin().await?;
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
            .release_lease(id, services.instance())
            .await?;
    }
    tx.commit().await?;
    Ok(given_up)
}

/// Resumes unfinished transfers and then applies the effects of finished ones, now and every
/// `every`, for the daemon's lifetime. Failures are logged; the next pass tries again.
pub fn spawn_recovery_loop(
    client: Client,
    services: Services,
    every: std::time::Duration,
) -> tokio::task::JoinHandle<()> {
    super::every(every, move || {
        let (client, services) = (client.clone(), services.clone());
        async move {
            let recovered = client.recover_unfinished().await;
            let outcome = if recovered.is_ok() { "ok" } else { "failed" };
            let instance = services.instance().to_owned();
            crate::metrics::inc(
                crate::metrics::RECOVERY_PASSES,
                &instance,
                &[("outcome", outcome)],
            );
            log_pass("recovery pass", recovered, |report: &RecoveryReport| {
                tracing::info!(
                    completed = report.completed.len(),
                    ended = report.ended.len(),
                    deferred = report.deferred.len(),
                    "recovery pass"
                )
            });
            // After recovery: the transfers it finished have their effects pending now.
            log_pass(
                "transfer effects pass",
                apply_pending_effects(&services).await,
                |report: &EffectReport| {
                    tracing::info!(
                        applied = report.applied.len(),
                        given_up = report.given_up.len(),
                        deferred = report.deferred.len(),
                        "transfer effects pass"
                    )
                },
            );
        }
    })
}

/// Logs a pass of the recovery loop: its report when it did something, its failure.
fn log_pass<R: Default + PartialEq, E: std::fmt::Display>(
    pass: &str,
    outcome: Result<R, E>,
    log_report: impl FnOnce(&R),
) {
    match outcome {
        Ok(report) if report != R::default() => log_report(&report),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "{pass} failed"),
    }
}
