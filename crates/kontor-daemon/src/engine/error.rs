//! The engine's error type.

use kontor_storage::{EbicsUserStatus, TransactionId};

/// What the bank answered when it refused a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankRejection {
    /// The six-digit EBICS return code, e.g. `091002`.
    pub code: String,
    /// The bank's report text (or the code's meaning when the bank sent none).
    pub text: String,
}

impl std::fmt::Display for BankRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.code, self.text)
    }
}

/// Why an engine step failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Storage(#[from] kontor_storage::StorageError),
    #[error("key handling failed: {0}")]
    Key(String),
    #[error("{0}")]
    Precondition(String),
    /// The user is not in a status that allows this step.
    #[error("EBICS user {user_id} is {status}; {needed}")]
    UserNotReady {
        user_id: String,
        status: EbicsUserStatus,
        needed: &'static str,
    },
    /// The bank's keys are missing, unverified or rejected: nothing but INI/HIA/H3K/HPB may
    /// be sent until an operator verifies them.
    #[error("bank keys of host {host_id} are not usable: {reason}")]
    BankKeysNotVerified { host_id: String, reason: String },
    /// The network failed, after retries where the failure was retryable.
    #[error(transparent)]
    Transport(#[from] super::transport::TransportError),
    /// The bank refused the request with a permanent (or retry-exhausted) return code.
    #[error("bank refused {order_type}: {rejection}")]
    Bank {
        order_type: String,
        rejection: BankRejection,
        /// The persisted transaction, when the refusal ended one (its trail has the details).
        transaction: Option<TransactionId>,
    },
    /// A message from the bank could not be parsed, verified or decrypted.
    #[error("invalid response from bank: {0}")]
    Protocol(String),
    #[error("file I/O failed: {0}")]
    Io(#[from] std::io::Error),
}

impl EngineError {
    pub(crate) fn protocol(e: impl std::fmt::Display) -> Self {
        Self::Protocol(e.to_string())
    }

    pub(crate) fn key(e: impl std::fmt::Display) -> Self {
        Self::Key(e.to_string())
    }
}
