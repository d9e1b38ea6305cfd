//! The storage layer's error type.

use crate::ids::InvalidId;
use crate::status::{IllegalTransition, UnknownEnumValue};
use crate::vault::KeyDecryptionFailed;

/// Everything that can go wrong in `kontor-storage`.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// No such record in the caller's tenant. Deliberately says nothing about other tenants.
    #[error("{entity} not found")]
    NotFound { entity: &'static str },
    /// A unique constraint refused the write; `constraint` names it (or its columns on SQLite).
    #[error("{entity} conflicts with an existing record ({constraint})")]
    Conflict {
        entity: &'static str,
        constraint: String,
    },
    /// The write refers to a record that does not exist in the caller's tenant.
    #[error("{entity} refers to a record that does not exist")]
    InvalidReference { entity: &'static str },
    /// The record is still referenced by others and cannot be deleted.
    #[error("{entity} is still in use")]
    InUse { entity: &'static str },
    /// A compare-and-set lost: the record's status changed since it was read.
    #[error("{entity} was changed concurrently (expected status {expected})")]
    StaleStatus {
        entity: &'static str,
        expected: &'static str,
    },
    #[error(transparent)]
    IllegalTransition(#[from] IllegalTransition),
    #[error(transparent)]
    UnknownEnumValue(#[from] UnknownEnumValue),
    #[error(transparent)]
    InvalidId(#[from] InvalidId),
    #[error("invalid {field}: {message}")]
    InvalidInput {
        field: &'static str,
        message: String,
    },
    #[error("stored value in {column} is corrupt: {message}")]
    Corrupt {
        column: &'static str,
        message: String,
    },
    #[error(transparent)]
    KeyDecryption(#[from] KeyDecryptionFailed),
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// The database cannot be reached (down, restarting, network cut) or no connection came
    /// free within the pool's acquire timeout. Transient: the same request may succeed later.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
}

pub type Result<T, E = StorageError> = std::result::Result<T, E>;

impl StorageError {
    /// Maps a driver error for a write to `entity`, turning constraint violations into typed errors.
    pub(crate) fn from_write(entity: &'static str, error: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &error {
            use sqlx::error::ErrorKind;
            let constraint = db
                .constraint()
                .map(str::to_owned)
                .unwrap_or_else(|| sqlite_constraint_columns(db.message()));
            match db.kind() {
                ErrorKind::UniqueViolation => {
                    return Self::Conflict { entity, constraint };
                }
                ErrorKind::ForeignKeyViolation => {
                    return Self::InvalidReference { entity };
                }
                _ => {}
            }
        }
        Self::from(error)
    }

    pub(crate) fn from_delete(entity: &'static str, error: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &error {
            if db.kind() == sqlx::error::ErrorKind::ForeignKeyViolation {
                return Self::InUse { entity };
            }
        }
        Self::from(error)
    }
}

/// `Ok` when a statement on one record changed it; `NotFound` naming `entity` when no such
/// record is there (in the caller's tenant).
pub(crate) fn found(entity: &'static str, affected: u64) -> Result<()> {
    if affected == 0 {
        return Err(StorageError::NotFound { entity });
    }
    Ok(())
}

impl From<sqlx::Error> for StorageError {
    fn from(error: sqlx::Error) -> Self {
        if is_unavailable(&error) {
            Self::Unavailable(error)
        } else {
            Self::Database(error)
        }
    }
}

/// Errors that say "the database is not there right now" rather than "this query is wrong".
fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => true,
        // PostgreSQL class 08 (connection exception) and 57P01-57P03 (the server is shutting
        // down or starting up).
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|c| c.starts_with("08") || matches!(&*c, "57P01" | "57P02" | "57P03")),
        _ => false,
    }
}

/// SQLite reports `UNIQUE constraint failed: t.a, t.b` without a constraint name.
fn sqlite_constraint_columns(message: &str) -> String {
    message
        .split_once(": ")
        .map(|(_, cols)| cols.to_owned())
        .unwrap_or_else(|| message.to_owned())
}
