//! The EBICS engine: onboarding, transfers, orders and VEU, all persisted through tenant scopes.
//!
//! Built step by step; today it holds the first onboarding step (key generation, encrypted
//! storage and the INI/HIA letters).

pub mod keys;
pub mod orders;
pub mod scheduler;
pub mod statements;
pub mod veu;

/// Why an engine step failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Storage(#[from] kontor_storage::StorageError),
    #[error("key handling failed: {0}")]
    Key(String),
    #[error("{0}")]
    Precondition(String),
}
