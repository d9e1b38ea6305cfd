//! Stored statement files: from a downloaded file (a bare document or a ZIP container of
//! them) to bookings, with a record of how it went.
//!
//! Nothing a bank delivered is lost. The file is stored before it is read; its
//! `statement_files` record is created before the first ingestion and ends every ingestion
//! with an outcome: INGESTED, PARTIAL (statements for accounts the tenant does not have were
//! left out) or FAILED (the container was refused, or a document did not parse; the error
//! names the member). A failure is logged and written to the audit log, and the file can be
//! ingested again once its cause is fixed ([`reingest`]): bookings are de-duplicated, so a
//! second run books only what the first one missed.
//!
//! A ZIP container is read member by member from the stored file, each member inflated and
//! parsed as a stream (neither the archive nor a member is ever whole in memory) within
//! [`ZipLimits`]; a refused container books nothing. Every document of a file
//! is booked in one database transaction together with the file's outcome and the download's
//! transfer effect, so they commit together or not at all.

use kontor_protocol::order_type::OrderType;
use kontor_storage::{
    AuditAction, EbicsUser, EbicsUserId, FileBody, FileId, FileKind, NewFile, NewStatementFile,
    Savepoint, ScopedTx, StatementContainer, StatementFile, StatementFileCounts, StatementFileId,
    StatementFileMember, StatementFileOutcome, StatementFileStatus, Store, StoredFile, TenantScope,
    TransactionId,
};
use serde_json::json;

use super::container::{self, ContainerError, ZipLimits, ZipMembers};
use super::statements::{
    ingest_parts, read_parts, spawn_parts, IngestError, IngestReport, IngestSource, Parts,
    StatementSyntax, PARTS_IN_FLIGHT,
};
use crate::ebics::{EbicsError, Files};

/// A stored statement file to ingest, and where it came from.
#[derive(Debug, Clone)]
pub struct DeliveredStatements {
    /// The user whose download delivered it (its connection decides the accounts).
    pub user: EbicsUserId,
    /// The order type asked for (decides the parser; BTD and unknown types are recognised
    /// by content).
    pub order_type: Option<OrderType>,
    pub file: FileId,
    /// The download transaction, whose effect this ingestion is.
    pub transaction: Option<TransactionId>,
}

impl DeliveredStatements {
    /// What a download (`transaction`, if persisted) of `order_type` by `user` stored as
    /// `file`.
    pub fn downloaded(
        user: EbicsUserId,
        order_type: OrderType,
        file: FileId,
        transaction: Option<TransactionId>,
    ) -> Self {
        Self {
            user,
            order_type: Some(order_type),
            file,
            transaction,
        }
    }
}

/// How to reach stored files and how much a container may hold.
#[derive(Debug, Clone, Copy)]
pub struct Reading<'a> {
    pub store: &'a Store,
    pub files: &'a Files,
    pub limits: ZipLimits,
}

impl<'a> Reading<'a> {
    /// Reading within the default [`ZipLimits`].
    pub fn new(store: &'a Store, files: &'a Files) -> Self {
        Self {
            store,
            files,
            limits: ZipLimits::default(),
        }
    }
}

/// Stores bytes a downloader handed over without storing them (a fake bank in tests, a
/// download that was not persisted) as a statement file, so they are never only in memory.
pub async fn store_delivered_bytes(
    store: &Store,
    scope: &TenantScope,
    bytes: Vec<u8>,
) -> Result<FileId, IngestError> {
    let mut tx = store.scope(scope).begin().await?;
    let file = tx
        .files()
        .create(NewFile {
            kind: FileKind::Download,
            body: FileBody::Inline(bytes),
            content_type: "application/octet-stream".into(),
        })
        .await?;
    tx.commit().await?;
    Ok(file.id)
}

/// Ingests a delivered statement file and records the outcome (see the module doc). Returns
/// the booking report, or [`IngestError::Failed`] when the file was recorded FAILED (its
/// transfer effect is then finished with the error, and the file stays stored).
pub async fn ingest_delivered(
    reading: Reading<'_>,
    scope: &TenantScope,
    delivered: &DeliveredStatements,
) -> Result<IngestReport, IngestError> {
    let record = {
        let mut tx = reading.store.scope(scope).begin().await?;
        let record = tx
            .statement_files()
            .find_or_create(NewStatementFile {
                file_id: delivered.file,
                ebics_user_id: delivered.user,
                transaction_id: delivered.transaction,
                order_type: delivered.order_type.clone(),
            })
            .await?;
        tx.commit().await?;
        record
    };
    ingest_record(reading, scope, &record, delivered.order_type.clone()).await
}

/// Ingests a stored statement file again (an operator's request, after the cause of a
/// failure was fixed) and returns its record afterwards. The outcome is recorded as on the
/// first run; bookings already stored are not stored twice.
pub async fn reingest(
    reading: Reading<'_>,
    scope: &TenantScope,
    id: StatementFileId,
) -> Result<StatementFile, IngestError> {
    let record: StatementFile = reading.store.scope(scope).begin().await?.get(id).await?;
    let order_type = record.order_type.clone();
    match ingest_record(reading, scope, &record, order_type).await {
        Ok(_) | Err(IngestError::Failed { .. }) => {}
        Err(other) => return Err(other),
    }
    let mut tx = reading.store.scope(scope).begin().await?;
    let after: StatementFile = tx.get(id).await?;
    tx.audit()
        .record(
            AuditAction::StatementFileReingested,
            "statement_file",
            &id.to_string(),
            json!({"status": after.status, "bookings_new": after.counts.bookings_new}),
        )
        .await?;
    tx.commit().await?;
    Ok(after)
}

/// [`reingest`] for the API: with the services' files and the default container limits.
pub async fn reingest_file(
    services: &super::Services,
    scope: &TenantScope,
    id: StatementFileId,
) -> Result<StatementFile, super::ServiceError> {
    let reading = Reading::new(services.store(), services.files());
    reingest(reading, scope, id).await.map_err(|e| match e {
        IngestError::Storage(e) => e.into(),
        other => super::ServiceError::Internal(Box::new(other)),
    })
}

async fn ingest_record(
    reading: Reading<'_>,
    scope: &TenantScope,
    record: &StatementFile,
    order_type: Option<OrderType>,
) -> Result<IngestReport, IngestError> {
    let mut tx = reading.store.scope(scope).begin().await?;
    let file: StoredFile = tx.get(record.file_id).await?;
    let user: EbicsUser = tx.get(record.ebics_user_id).await?;
    tx.commit().await?;
    let source = IngestSource {
        connection: Some(user.connection_id),
        file: Some(file.id),
    };
    let head = read_head(reading.files, &file).await?;
    let container = container::sniff(&head);
    let order_syntax = order_type
        .as_ref()
        .and_then(StatementSyntax::for_order_type);

    let mut tx = reading.store.scope(scope).begin().await?;
    let mut booked = Booked::default();
    let refused = match container {
        StatementContainer::Bare => {
            // Streamed from the stored file: a statement of any size costs one batch.
            let syntax = order_syntax.unwrap_or_else(|| StatementSyntax::sniff(&head));
            let reader = reading.files.open(&file).map_err(IngestError::File)?;
            booked
                .document(&mut tx, String::new(), spawn_parts(reader, syntax), &source)
                .await?;
            None
        }
        StatementContainer::Zip => {
            let mut members = open_members(reading.files, &file, reading.limits, order_syntax);
            let mut refused = None;
            while let Some(member) = members.recv().await {
                match member {
                    MemberItem::Document { name, parts } => {
                        booked.document(&mut tx, name, parts, &source).await?;
                    }
                    MemberItem::NotAStatement { name } => booked.not_a_statement(name),
                    MemberItem::Refused(error) => {
                        refused = Some(error);
                        break;
                    }
                    MemberItem::File(error) => return Err(IngestError::File(error)),
                }
            }
            refused
        }
    };
    let outcome = match refused {
        Some(error) => {
            // A refused container books nothing: drop what its earlier members booked.
            drop(tx);
            tx = reading.store.scope(scope).begin().await?;
            booked = Booked::default();
            booked.outcome(container, Some(error.to_string()))
        }
        None => booked.outcome(container, None),
    };
    let failure = outcome
        .error
        .clone()
        .filter(|_| outcome.status == StatementFileStatus::Failed);
    let status = outcome.status;
    tx.statement_files()
        .record_outcome(record.id, record.status, outcome)
        .await?;
    if let Some(transaction) = record.transaction_id {
        // Once only: a re-ingestion leaves the transfer's effect as the first run ended it.
        tx.transactions()
            .finish_effect(transaction, failure.as_deref())
            .await?;
    }
    if let Some(message) = &failure {
        tx.audit()
            .record(
                AuditAction::StatementFileFailed,
                "statement_file",
                &record.id.to_string(),
                json!({"file_id": record.file_id, "transaction_id": record.transaction_id, "error": message}),
            )
            .await?;
    }
    tx.commit().await?;
    match failure {
        Some(message) => {
            tracing::warn!(statement_file = %record.id, file = %record.file_id, error = %message, "statement file cannot be ingested; kept for re-ingestion");
            Err(IngestError::Failed { message })
        }
        None => {
            tracing::info!(statement_file = %record.id, %status, bookings_new = booked.report.bookings_new, "statement file ingested");
            Ok(booked.report)
        }
    }
}

/// What the documents of one file booked so far, and which failed.
#[derive(Default)]
struct Booked {
    report: IngestReport,
    members: Vec<StatementFileMember>,
    errors: Vec<String>,
}

impl Booked {
    /// Books one document. A document that does not parse (or names an ambiguous account)
    /// is recorded as failed, what it booked before the error is dropped, and the others go
    /// on; a storage failure ends the attempt.
    async fn document(
        &mut self,
        tx: &mut ScopedTx<'_>,
        name: String,
        parts: Parts,
        source: &IngestSource,
    ) -> Result<(), IngestError> {
        const DOCUMENT: Savepoint = Savepoint("statement_document");
        tx.savepoint(DOCUMENT).await?;
        match ingest_parts(tx, parts, source).await {
            Ok(report) => {
                tx.release(DOCUMENT).await?;
                self.members.push(StatementFileMember {
                    name,
                    statements: report.statements_seen as i64,
                    bookings_new: report.bookings_new as i64,
                    error: None,
                });
                self.report += report;
                Ok(())
            }
            Err(error) if error.is_permanent() => {
                tx.rollback_to(DOCUMENT).await?;
                tx.release(DOCUMENT).await?;
                self.failed(name, error.to_string());
                Ok(())
            }
            Err(error) => Err(error),
        }
    }

    fn not_a_statement(&mut self, name: String) {
        self.failed(
            name,
            "not a statement document (neither XML nor MT940)".into(),
        );
    }

    fn failed(&mut self, name: String, error: String) {
        // A bare file's error is the document's; a member's names the member.
        self.errors.push(if name.is_empty() {
            error.clone()
        } else {
            format!("ZIP member {name:?}: {error}")
        });
        self.members.push(StatementFileMember {
            name,
            statements: 0,
            bookings_new: 0,
            error: Some(error),
        });
    }

    fn outcome(
        &self,
        container: StatementContainer,
        refused: Option<String>,
    ) -> StatementFileOutcome {
        let unmatched = &self.report.unmatched_ibans;
        let (status, error) = if let Some(refused) = refused {
            (StatementFileStatus::Failed, Some(refused))
        } else if !self.errors.is_empty() {
            (StatementFileStatus::Failed, Some(self.errors.join("; ")))
        } else if self.report.statements_unmatched > 0 {
            let ibans = unmatched.iter().cloned().collect::<Vec<_>>().join(", ");
            (
                StatementFileStatus::Partial,
                Some(format!(
                    "{} statements for accounts this tenant does not have ({}); add the \
                     account and ingest the file again",
                    self.report.statements_unmatched,
                    if ibans.is_empty() { "no IBAN" } else { &ibans }
                )),
            )
        } else {
            (StatementFileStatus::Ingested, None)
        };
        StatementFileOutcome {
            status,
            container,
            error,
            members: self.members.clone(),
            counts: StatementFileCounts {
                statements_seen: self.report.statements_seen as i64,
                statements_unmatched: self.report.statements_unmatched as i64,
                bookings_new: self.report.bookings_new as i64,
                bookings_known: self.report.bookings_known as i64,
            },
        }
    }
}

/// What the reader of a ZIP container hands over, member by member.
enum MemberItem {
    /// A statement document, parsed as it is inflated.
    Document {
        name: String,
        parts: Parts,
    },
    NotAStatement {
        name: String,
    },
    /// The whole container is refused (a limit passed, a corrupt member): nothing books.
    Refused(ContainerError),
    File(EbicsError),
}

/// The members of a stored ZIP, inflated and parsed as a stream on one blocking thread:
/// neither the archive nor a member is ever whole in memory, only a few parts of the member
/// being booked. A member's parts are all sent before the next member is opened.
fn open_members(
    files: &Files,
    file: &StoredFile,
    limits: ZipLimits,
    order_syntax: Option<StatementSyntax>,
) -> tokio::sync::mpsc::Receiver<MemberItem> {
    let (sender, receiver) = tokio::sync::mpsc::channel(1);
    let (files, file) = (files.clone(), file.clone());
    tokio::task::spawn_blocking(move || {
        // A closed channel: the caller stopped (a storage failure); so do we.
        let send = |item| sender.blocking_send(item).is_ok();
        let reader = match files.open(&file) {
            Ok(reader) => reader,
            Err(error) => {
                send(MemberItem::File(error));
                return;
            }
        };
        let mut members = match ZipMembers::open(reader, limits) {
            Ok(members) => members,
            Err(error) => {
                send(MemberItem::Refused(error));
                return;
            }
        };
        while let Some(member) = members.next_member() {
            let mut member = match member {
                Ok(member) => member,
                Err(error) => {
                    send(MemberItem::Refused(error));
                    return;
                }
            };
            let name = member.name().to_owned();
            let refusal = member.refusal();
            let head = match read_member_head(&mut member) {
                Ok(head) => head,
                Err(_) => {
                    if let Some(error) = refusal.take() {
                        send(MemberItem::Refused(error));
                    }
                    return;
                }
            };
            let Some(syntax) = order_syntax.or_else(|| StatementSyntax::recognise(&head)) else {
                if !send(MemberItem::NotAStatement { name }) {
                    return;
                }
                continue;
            };
            let (parts_sender, parts) = tokio::sync::mpsc::channel(PARTS_IN_FLIGHT);
            if !send(MemberItem::Document { name, parts }) {
                return;
            }
            let input = std::io::BufReader::with_capacity(
                64 << 10,
                std::io::Read::chain(std::io::Cursor::new(head), member),
            );
            // A read error for a refusal is reported as the container's, not the document's.
            read_parts(input, syntax, &parts_sender, || refusal.is_set());
            drop(parts_sender);
            if let Some(error) = refusal.take() {
                send(MemberItem::Refused(error));
                return;
            }
        }
    });
    receiver
}

/// The first bytes of a member, to recognise its syntax (the rest follows them to the parser).
fn read_member_head(member: &mut impl std::io::Read) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut head = Vec::with_capacity(HEAD_BYTES as usize);
    member.take(HEAD_BYTES).read_to_end(&mut head)?;
    Ok(head)
}

/// Enough for a ZIP signature, or a BOM and the whitespace before a document's first
/// character.
const HEAD_BYTES: u64 = 1024;

/// The first bytes of a stored file, enough to recognise its container and its syntax.
async fn read_head(files: &Files, file: &StoredFile) -> Result<Vec<u8>, IngestError> {
    let (files, file) = (files.clone(), file.clone());
    tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let mut head = Vec::with_capacity(HEAD_BYTES as usize);
        files
            .open(&file)?
            .take(HEAD_BYTES)
            .read_to_end(&mut head)
            .map_err(EbicsError::Io)?;
        Ok(head)
    })
    .await
    .map_err(|e| IngestError::File(EbicsError::Io(std::io::Error::other(e))))?
    .map_err(IngestError::File)
}
