//! Resuming unfinished transactions after a crash or restart.
//!
//! Recovery leases unfinished transactions in the database (so several daemon instances never
//! work on the same one), records RECOVERY_STARTED and drives each from its stored phase:
//! a download continues after its last acknowledged segment, an upload re-sends the same
//! spooled bytes from the first unacknowledged segment. What cannot be resumed ends ABORTED
//! (or FAILED when the bank refused) with the reason as an event.
//!
//! Recovery only finishes transfers. What a finished transfer means for the business (the
//! statements it brought, the order it settles) is the transfer effect the services apply.

use chrono::Utc;
use kontor_storage::system::LeaseTerms;
use kontor_storage::{
    Direction, KontorFailure, TenantScope, Transaction, TransactionEventKind, TransactionId,
    TransactionPhase,
};
use serde_json::json;

use super::ledger::Ending;

/// How many recovery passes may take up one unfinished transaction before it ends FAILED
/// with [`RECOVERY_EXHAUSTED`]: with the default pass interval, hours of a bank being away,
/// not forever.
pub const MAX_RECOVERY_PASSES: i64 = 20;
use super::session::Requirement;
use super::{Client, EbicsError};

/// What resuming `record` needs: the subscriber's own data may be fetched before
/// activation (see [`Requirement::Subscriber`]).
fn requirement(record: &Transaction) -> Requirement {
    match record.direction {
        Direction::Download => Requirement::for_download(&record.order_type),
        _ => Requirement::Ready,
    }
}

/// What one recovery pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Transactions that were resumed and reached COMPLETED.
    pub completed: Vec<TransactionId>,
    /// Transactions that ended FAILED or ABORTED (reason in their trail).
    pub ended: Vec<TransactionId>,
    /// Transactions that could not be resumed now (e.g. bank unreachable); their lease is
    /// released and a later pass tries again.
    pub deferred: Vec<TransactionId>,
}

impl Client {
    /// Leases unfinished transactions of all tenants and resumes or ends each one. Run at
    /// daemon start and periodically.
    pub async fn recover_unfinished(&self) -> Result<RecoveryReport, EbicsError> {
        let leased = self
            .store()
            .system()
            .lease_unfinished_transactions(LeaseTerms {
                owner: self.ledger.instance(),
                now: Utc::now(),
                lease_for: self.ledger.lease_for(),
                limit: 100,
            })
            .await?;
        let mut report = RecoveryReport::default();
        for lease in leased {
            match self
                .resume_transaction(&lease.scope, lease.transaction)
                .await
            {
                Ok(TransactionPhase::Completed) => report.completed.push(lease.transaction),
                Ok(phase) if phase.is_final() => report.ended.push(lease.transaction),
                Ok(_) => report.deferred.push(lease.transaction),
                Err(e) => {
                    let phase = self
                        .ledger
                        .load(&lease.scope, lease.transaction)
                        .await
                        .map(|t| t.phase);
                    if matches!(phase, Ok(p) if p.is_final()) {
                        report.ended.push(lease.transaction);
                    } else {
                        tracing::warn!(transaction = %lease.transaction, error = %e, "recovery deferred");
                        report.deferred.push(lease.transaction);
                    }
                }
            }
        }
        Ok(report)
    }

    /// Resumes one unfinished transaction from its last acknowledged segment, or ends it.
    /// Returns the phase it is in afterwards.
    async fn resume_transaction(
        &self,
        scope: &TenantScope,
        transaction: TransactionId,
    ) -> Result<TransactionPhase, EbicsError> {
        let record = self.ledger.load(scope, transaction).await?;
        if record.phase.is_final() {
            return Ok(record.phase);
        }
        let mut tx = self.store().scope(scope).begin().await?;
        self.ledger.hold(&mut tx, transaction).await?;
        let passes = tx
            .transactions()
            .count_recovery_attempt(transaction)
            .await?;
        tx.transactions()
            .append_event(
                transaction,
                TransactionEventKind::RecoveryStarted,
                json!({
                    "phase": record.phase.as_str(),
                    "last_acknowledged_segment": record.last_acknowledged_segment,
                    "instance": self.ledger.instance(),
                    "pass": passes,
                }),
            )
            .await?;
        tx.commit().await?;

        if record.direction == Direction::Upload
            && record.phase == TransactionPhase::Initialisation
            && super::upload::is_signature_only(&record)
        {
            // It may have reached the bank before the crash: a second HVE would be a second
            // signature. The services reconcile it from the bank's VEU.
            let ending = Ending::new(
                KontorFailure::SignatureUnconfirmed,
                "a signature-only upload interrupted before its answer is never sent again; \
                 the bank's VEU (HVD/HVZ) shows whether the signature is there",
            );
            return self
                .give_up(scope, transaction, TransactionPhase::Failed, ending)
                .await;
        }
        let session = match self
            .open_session(scope, record.ebics_user_id, requirement(&record))
            .await
        {
            Ok(session) => session,
            Err(e @ (EbicsError::BankKeysNotVerified { .. } | EbicsError::UserNotReady { .. })) => {
                return self.abort(scope, &record, &e.to_string()).await;
            }
            Err(e) => return Err(e),
        };
        if !session
            .ctx
            .host
            .bank_parameters
            .as_ref()
            .is_none_or(|p| p.protocol.allows_recovery())
        {
            // HPD `Recovery supported="false"`: the bank keeps no interrupted transaction to
            // resume, so the transfer ends here rather than being resumed.
            let ending = Ending::new(
                KontorFailure::RecoveryUnsupported,
                "the bank does not support transaction recovery (HPD); start the transfer again",
            );
            return self
                .give_up(scope, transaction, TransactionPhase::Failed, ending)
                .await;
        }
        let drive = async {
            match record.direction {
                Direction::Download => self.drive_download(&session, transaction).await.map(drop),
                Direction::Upload => self.drive_upload(&session, transaction).await.map(drop),
            }
        };
        let result = self
            .ledger
            .release_if_failed(scope, transaction, drive)
            .await;
        match result {
            Ok(()) => {
                let finished = self.ledger.load(scope, transaction).await?;
                if finished.phase.is_final() {
                    // Recovery is done with it; its business effect (if any) is the effect
                    // sweep's, which may take it now rather than when this lease expires.
                    self.ledger.release(scope, transaction).await?;
                }
                Ok(finished.phase)
            }
            // Unreadable recovery data cannot get better by waiting.
            Err(e @ EbicsError::RecordUnreadable { .. }) => {
                self.abort(scope, &record, &e.to_string()).await
            }
            Err(e) if passes >= MAX_RECOVERY_PASSES => {
                let phase = self.ledger.load(scope, transaction).await?.phase;
                if phase.is_final() {
                    return Err(e);
                }
                let reason = format!("recovery gave up after {passes} passes; last failure: {e}");
                tracing::warn!(%transaction, %reason, "recovery exhausted");
                let ending = Ending::new(KontorFailure::RecoveryExhausted, reason);
                self.give_up(scope, transaction, TransactionPhase::Failed, ending)
                    .await
            }
            Err(e) => Err(e),
        }
    }

    async fn abort(
        &self,
        scope: &TenantScope,
        record: &Transaction,
        reason: &str,
    ) -> Result<TransactionPhase, EbicsError> {
        let ending = Ending::new(KontorFailure::Recovery, reason);
        self.give_up(scope, record.id, TransactionPhase::Aborted, ending)
            .await
    }

    /// Ends a transaction recovery will not resume, in phase `to`, and gives its lease up.
    async fn give_up(
        &self,
        scope: &TenantScope,
        transaction: TransactionId,
        to: TransactionPhase,
        ending: Ending,
    ) -> Result<TransactionPhase, EbicsError> {
        self.ledger.end(scope, transaction, to, ending).await?;
        self.ledger.release(scope, transaction).await?;
        Ok(to)
    }
}
