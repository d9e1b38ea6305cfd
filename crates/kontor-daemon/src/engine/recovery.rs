//! Resuming unfinished transactions after a crash or restart.

use chrono::Utc;
use kontor_storage::{TenantScope, TransactionId, TransactionPhase};

use super::{Engine, EngineError};

/// What one recovery pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Transactions that were resumed and reached COMPLETED.
    pub completed: Vec<TransactionId>,
    /// Transactions that ended FAILED or ABORTED (reason in their trail).
    pub ended: Vec<TransactionId>,
    /// Transactions that could not be resumed now (e.g. bank unreachable); their lease
    /// expires and a later pass tries again.
    pub deferred: Vec<TransactionId>,
}

impl Engine {
    /// Leases unfinished transactions of all tenants and resumes or ends each one. Run at
    /// daemon start and periodically.
    pub async fn recover_unfinished(&self) -> Result<RecoveryReport, EngineError> {
        let _ = Utc::now();
        todo!("recover_unfinished")
    }

    /// Resumes one unfinished transaction from its last acknowledged segment, or ends it.
    /// Returns the phase it ended in.
    pub async fn resume_transaction(
        &self,
        scope: &TenantScope,
        transaction: TransactionId,
    ) -> Result<TransactionPhase, EngineError> {
        let _ = (scope, transaction);
        todo!("resume_transaction")
    }
}
