//! Downloaded statement files and how their ingestion went.
//!
//! One record per stored file (unique per file), created before the first ingestion, so a
//! file that cannot be ingested is never lost from view: it keeps its status, the error and
//! what each document of its container yielded, and can be ingested again.

use chrono::{DateTime, Utc};
use kontor_protocol::order_type::OrderType;

use super::{entity, repository};
use crate::db::{now, record, to_json};
use crate::error::{Result, StorageError};
use crate::ids::{EbicsUserId, FileId, StatementFileId, TransactionId};
use crate::status::{StatementContainer, StatementFileStatus};

record! {
    /// A stored statement file (bare document or container) and its last ingestion.
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
    #[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
    pub struct StatementFile {
        pub id: StatementFileId,
        /// The original file, as the bank delivered it.
        #[new] pub file_id: FileId,
        /// The user whose download delivered it (its connection decides the accounts).
        #[new] pub ebics_user_id: EbicsUserId,
        /// The download transaction, when the file came from one.
        #[new] pub transaction_id: Option<TransactionId>,
        /// The order type it was downloaded with (`C53`, `BTD`, ...); none for a file that
        /// came without one (stored and served as an empty text).
        #[serde(serialize_with = "order_type_or_empty")]
        #[new] pub order_type: Option<OrderType>,
        /// Set once an ingestion looked at the file.
        pub container: Option<StatementContainer>,
        pub status: StatementFileStatus,
        /// Why the last ingestion failed (or what it left out), in words for an operator.
        pub error: Option<String>,
        /// What each document of the file yielded in the last ingestion.
        pub members: Vec<StatementFileMember>,
        #[serde(flatten)]
        pub counts: StatementFileCounts,
        /// Ingestions so far.
        pub attempts: i64,
        pub created_at: DateTime<Utc>,
        pub last_attempt_at: Option<DateTime<Utc>>,
    }
    #[derive(Debug, Clone)]
    pub struct NewStatementFile;
}

crate::db::column_via!(Vec<StatementFileMember> => json);

record! {
    /// What the last ingestion of a statement file counted, in the file's own columns.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
    #[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
    pub struct StatementFileCounts {
        pub statements_seen: i64,
        pub statements_unmatched: i64,
        pub bookings_new: i64,
        pub bookings_known: i64,
    }
}

crate::db::column_group!(StatementFileCounts);

impl StatementFileCounts {
    /// The columns to write, each named like its field.
    fn columns(self) -> [(&'static str, crate::db::Val); 4] {
        [
            ("statements_seen", self.statements_seen.into()),
            ("statements_unmatched", self.statements_unmatched.into()),
            ("bookings_new", self.bookings_new.into()),
            ("bookings_known", self.bookings_known.into()),
        ]
    }
}

/// The API's shape of [`StatementFile::order_type`]: the code, or an empty text for none.
fn order_type_or_empty<S: serde::Serializer>(
    order_type: &Option<OrderType>,
    serializer: S,
) -> std::result::Result<S::Ok, S::Error> {
    serializer.serialize_str(order_type.as_ref().map_or("", OrderType::as_str))
}

/// One document of a statement file (the file itself when it is bare).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct StatementFileMember {
    /// The member's path in the container; empty for a bare file.
    pub name: String,
    pub statements: i64,
    pub bookings_new: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

entity!(
    StatementFile,
    StatementFileId,
    "statement_files",
    "statement file",
    Deletable
);

/// What one ingestion of a statement file ended with.
#[derive(Debug, Clone)]
pub struct StatementFileOutcome {
    pub status: StatementFileStatus,
    pub container: StatementContainer,
    pub error: Option<String>,
    pub members: Vec<StatementFileMember>,
    pub counts: StatementFileCounts,
}

repository!(
    /// Statement files of the scope's tenant.
    StatementFiles,
    statement_files
);

impl StatementFiles<'_, '_> {
    /// The record of `new.file_id`, created PENDING when new. Safe against a concurrent
    /// creation for the same file.
    pub async fn find_or_create(&mut self, new: NewStatementFile) -> Result<StatementFile> {
        let file = new.file_id;
        let row = new.into_row([
            ("id", StatementFileId::new().into()),
            ("status", StatementFileStatus::Pending.into()),
            ("created_at", now().into()),
        ]);
        let (sql, values) = self.tx.insert_sql(
            "statement_files",
            &row,
            " ON CONFLICT (tenant_id, file_id) DO NOTHING",
        );
        self.tx
            .execute(&sql, &values)
            .await
            .map_err(|e| StorageError::from_write("statement file", e))?;
        self.by_file(file).await?.ok_or(StorageError::NotFound {
            entity: "statement file",
        })
    }

    /// The record of a stored file, if it is a statement file.
    pub async fn by_file(&mut self, file: FileId) -> Result<Option<StatementFile>> {
        Ok(self
            .tx
            .list_where::<StatementFile>("file_id", file)
            .await?
            .pop())
    }

    /// Records an ingestion's outcome, compare-and-set on the status it started from.
    pub async fn record_outcome(
        &mut self,
        id: StatementFileId,
        from: StatementFileStatus,
        outcome: StatementFileOutcome,
    ) -> Result<StatementFile> {
        let current: StatementFile = self.tx.get(id).await?;
        let mut columns = vec![
            ("container", outcome.container.into()),
            ("error", outcome.error.into()),
            ("members", to_json(&outcome.members).into()),
            ("attempts", (current.attempts + 1).into()),
            ("last_attempt_at", now().into()),
        ];
        columns.extend(outcome.counts.columns());
        self.tx
            .set_status(
                id,
                "status",
                from,
                outcome.status,
                StatementFileStatus::transition,
                &columns,
            )
            .await?;
        self.tx.get(id).await
    }

    /// One keyset page of statement files, newest first, optionally only those with
    /// `status` and (for an operator restricted by grants) of `users`.
    pub async fn list(
        &mut self,
        status: Option<StatementFileStatus>,
        users: Option<&[crate::ids::EbicsUserId]>,
        page: crate::store::Newest<crate::ids::StatementFileId>,
    ) -> Result<Vec<StatementFile>> {
        let equal: Vec<(&'static str, crate::db::Val)> = status
            .map(|s| ("status", s.as_str().into()))
            .into_iter()
            .collect();
        let any_of = users.map(|u| {
            (
                "ebics_user_id",
                u.iter().map(|id| id.to_db().into()).collect(),
            )
        });
        self.tx.newest_where(page, &equal, any_of).await
    }
}
