//! Resuming unfinished transactions after a crash or restart.
//!
//! Recovery leases unfinished transactions in the database (so several daemon instances never
//! work on the same one), records RECOVERY_STARTED and drives each from its stored phase:
//! a download continues after its last acknowledged segment, an upload re-sends the same
//! spooled bytes from the first unacknowledged segment. What cannot be resumed ends ABORTED
//! (or FAILED when the bank refused) with the reason as an event.

use chrono::Utc;
use kontor_storage::{
    Direction, TenantScope, Transaction, TransactionEventKind, TransactionId, TransactionPhase,
};
use serde_json::json;

use super::session::Requirement;
use super::{Engine, EngineError};

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

impl Engine {
    /// Leases unfinished transactions of all tenants and resumes or ends each one. Run at
    /// daemon start and periodically.
    pub async fn recover_unfinished(&self) -> Result<RecoveryReport, EngineError> {
        let lease_for = chrono::Duration::from_std(self.config().lease_for)
            .unwrap_or_else(|_| chrono::Duration::minutes(5));
        let leased = self
            .store()
            .system()
            .lease_unfinished_transactions(&self.config().instance, Utc::now(), lease_for, 100)
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
                        .load_transaction(&lease.scope, lease.transaction)
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

    /// Runs [`Engine::recover_unfinished`] and then [`Engine::apply_pending_effects`] now and
    /// every `every`, for the daemon's lifetime (call at start). Failures are logged; the next
    /// pass tries again.
    pub fn spawn_recovery_loop(&self, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
        let engine = self.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every);
            loop {
                ticker.tick().await;
                match engine.recover_unfinished().await {
                    Ok(report) if report != RecoveryReport::default() => {
                        tracing::info!(
                            completed = report.completed.len(),
                            ended = report.ended.len(),
                            deferred = report.deferred.len(),
                            "recovery pass"
                        );
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "recovery pass failed"),
                }
                // After recovery: the transfers it finished have their effects pending now.
                match engine.apply_pending_effects().await {
                    Ok(report) if report != super::EffectReport::default() => {
                        tracing::info!(
                            applied = report.applied.len(),
                            given_up = report.given_up.len(),
                            deferred = report.deferred.len(),
                            "transfer effects pass"
                        );
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "transfer effects pass failed"),
                }
            }
        })
    }

    /// Resumes one unfinished transaction from its last acknowledged segment, or ends it.
    /// Returns the phase it is in afterwards.
    pub async fn resume_transaction(
        &self,
        scope: &TenantScope,
        transaction: TransactionId,
    ) -> Result<TransactionPhase, EngineError> {
        let record = self.load_transaction(scope, transaction).await?;
        if record.phase.is_final() {
            return Ok(record.phase);
        }
        let mut tx = self.store().scope(scope).begin().await?;
        self.hold(&mut tx, transaction).await?;
        tx.transactions()
            .append_event(
                transaction,
                TransactionEventKind::RecoveryStarted,
                json!({
                    "phase": record.phase.as_str(),
                    "last_acknowledged_segment": record.last_acknowledged_segment,
                    "instance": self.config().instance,
                }),
            )
            .await?;
        tx.commit().await?;

        let session = match self
            .open_session(scope, record.ebics_user_id, Requirement::Ready)
            .await
        {
            Ok(session) => session,
            Err(
                e @ (EngineError::BankKeysNotVerified { .. } | EngineError::UserNotReady { .. }),
            ) => {
                return self.abort(scope, &record, &e.to_string()).await;
            }
            Err(e) => return Err(e),
        };
        let result = match record.direction {
            Direction::Download => self.drive_download(&session, transaction).await.map(|_| ()),
            Direction::Upload => self.drive_upload(&session, transaction).await.map(|_| ()),
        };
        match result {
            Ok(()) => {
                let finished = self.load_transaction(scope, transaction).await?;
                if finished.phase.is_final() {
                    // Recovery is done with it; its business effect (if any) is the effect
                    // sweep's, which may take it now rather than when this lease expires.
                    let mut tx = self.store().scope(scope).begin().await?;
                    tx.transactions()
                        .release_lease(transaction, &self.config().instance)
                        .await?;
                    tx.commit().await?;
                }
                Ok(finished.phase)
            }
            // Unreadable recovery data cannot get better by waiting.
            Err(EngineError::Protocol(reason)) if reason.contains("recovery data") => {
                self.abort(scope, &record, &reason).await
            }
            Err(e) => Err(e),
        }
    }

    async fn abort(
        &self,
        scope: &TenantScope,
        record: &Transaction,
        reason: &str,
    ) -> Result<TransactionPhase, EngineError> {
        self.end_transaction(
            scope,
            record.id,
            TransactionPhase::Aborted,
            json!({"code": "RECOVERY", "text": reason}),
        )
        .await?;
        let mut tx = self.store().scope(scope).begin().await?;
        tx.transactions()
            .release_lease(record.id, &self.config().instance)
            .await?;
        tx.commit().await?;
        Ok(TransactionPhase::Aborted)
    }
}
