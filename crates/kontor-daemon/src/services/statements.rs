//! Statement ingestion: a downloaded camt.052/053/054 or MT940 file becomes statements,
//! balances and bookings of the tenant's accounts.
//!
//! Banks report the same booking many times (today's and tomorrow's camt.053 overlap, a
//! camt.052 precedes the camt.053, a download is repeated after a crash). Ingestion is
//! therefore idempotent at every level, enforced by unique keys in the database rather than by
//! reading first: a statement is found again by (account, format, reference), a balance by
//! (account, kind, date), and a booking by [`Entry::dedupe_key`]. Running it twice, or two
//! daemon instances running it at once, stores each booking exactly once.
//!
//! This module books documents; [`super::statement_files`] takes a stored file (bare or in a
//! ZIP container) through it and records how that went.

use crate::services::webhooks::events;
use chrono::NaiveDate;
use kontor_documents::{camt, mt940, Entry, EntryStatus, Iban, Statement};
use kontor_protocol::order_type::{OrderDataFormat, OrderType};
use kontor_storage::{
    Account, ConnectionId, FileId, NewBalance, NewBookedTransaction, NewStatement, ScopedTx,
    StatementFormat, StorageError, WebhookEventType,
};

/// Which parser reads a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatementSyntax {
    /// ISO 20022 camt.052/053/054 (the message kind is read from the document).
    Camt,
    /// SWIFT MT940.
    Mt940,
}

impl StatementSyntax {
    /// The syntax an order type delivers, when it is a statement order type.
    pub fn for_order_type(order_type: &OrderType) -> Option<Self> {
        match order_type.data_format()? {
            OrderDataFormat::Camt => Some(Self::Camt),
            OrderDataFormat::Mt940 => Some(Self::Mt940),
            _ => None,
        }
    }

    /// Guesses from the content: XML starts with `<` (after a BOM and whitespace).
    pub fn sniff(bytes: &[u8]) -> Self {
        Self::recognise(bytes).unwrap_or(Self::Mt940)
    }

    /// Recognises a statement document by its first character: `<` for XML, `:` (a field
    /// tag) or `{` (a SWIFT block header) for MT940; `None` for anything else.
    pub fn recognise(bytes: &[u8]) -> Option<Self> {
        let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        match body.iter().find(|b| !b.is_ascii_whitespace())? {
            b'<' => Some(Self::Camt),
            b':' | b'{' => Some(Self::Mt940),
            _ => None,
        }
    }
}

/// Where a downloaded file came from, to resolve its accounts.
#[derive(Debug, Clone, Default)]
pub struct IngestSource {
    /// When set, only accounts of this connection are considered (one IBAN may be reachable
    /// through several connections of a tenant; the downloading connection decides).
    pub connection: Option<ConnectionId>,
    /// The stored original file, linked from each statement.
    pub file: Option<FileId>,
}

/// What one ingestion stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestReport {
    pub statements_seen: usize,
    pub statements_new: usize,
    pub balances_new: usize,
    pub bookings_new: usize,
    /// Booked entries already stored from an earlier download.
    pub bookings_known: usize,
    /// Pending or information entries: not bookings, not stored.
    pub entries_not_booked: usize,
    /// Statements for accounts this tenant does not have (or without an IBAN).
    pub statements_unmatched: usize,
    /// The IBANs of those statements (electronic form).
    pub unmatched_ibans: std::collections::BTreeSet<String>,
}

impl std::ops::AddAssign for IngestReport {
    fn add_assign(&mut self, other: Self) {
        self.statements_seen += other.statements_seen;
        self.statements_new += other.statements_new;
        self.balances_new += other.balances_new;
        self.bookings_new += other.bookings_new;
        self.bookings_known += other.bookings_known;
        self.entries_not_booked += other.entries_not_booked;
        self.statements_unmatched += other.statements_unmatched;
        self.unmatched_ibans.extend(other.unmatched_ibans);
    }
}

/// Why a document could not be ingested. Nothing is stored when this is returned, provided
/// the caller drops the transaction.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("camt document does not parse: {0}")]
    Camt(#[from] kontor_documents::XmlError),
    #[error("MT940 document does not parse: {0}")]
    Mt940(#[from] mt940::Mt940Error),
    #[error("IBAN {iban} belongs to several connections; name the downloading connection")]
    AmbiguousAccount { iban: String },
    /// The stored file was ingested and recorded FAILED with this error (see
    /// [`super::statement_files`]); it stays stored and can be ingested again.
    #[error("{message}")]
    Failed { message: String },
    /// The stored file could not be read.
    #[error("the statement file cannot be read: {0}")]
    File(#[source] crate::ebics::EbicsError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl IngestError {
    /// Whether trying again later can help: a document that does not parse, or an account
    /// that cannot be resolved, stays so until someone changes the file or the accounts.
    pub fn is_permanent(&self) -> bool {
        !matches!(self, Self::Storage(_) | Self::File(_))
    }
}

/// Parses `bytes` and stores every statement in it inside `tx` (one database transaction:
/// a file lands completely or not at all).
pub async fn ingest_file(
    tx: &mut ScopedTx<'_>,
    syntax: StatementSyntax,
    bytes: &[u8],
    source: &IngestSource,
) -> Result<IngestReport, IngestError> {
    let statements = match syntax {
        StatementSyntax::Camt => camt::parse_bytes(bytes)?,
        StatementSyntax::Mt940 => mt940::parse_bytes(bytes)?,
    };
    let mut report = IngestReport::default();
    for statement in &statements {
        report += ingest_statement(tx, statement, source).await?;
    }
    Ok(report)
}

/// Stores one parsed statement for the tenant's account with the statement's IBAN.
pub async fn ingest_statement(
    tx: &mut ScopedTx<'_>,
    statement: &Statement,
    source: &IngestSource,
) -> Result<IngestReport, IngestError> {
    let mut report = IngestReport {
        statements_seen: 1,
        ..Default::default()
    };
    let Some(iban) = &statement.account.iban else {
        report.statements_unmatched = 1;
        return Ok(report);
    };
    let Some(account) = resolve_account(tx, iban, source.connection).await? else {
        report.statements_unmatched = 1;
        report.unmatched_ibans.insert(iban.electronic().to_owned());
        return Ok(report);
    };

    let (stored, created) = tx
        .statements()
        .find_or_create(NewStatement {
            account_id: account.id,
            format: storage_format(statement.format),
            statement_ref: statement.id.clone(),
            period_from: period(statement).map(|(from, _)| from),
            period_to: period(statement).map(|(_, to)| to),
            file_id: source.file,
        })
        .await?;
    report.statements_new = usize::from(created);

    for balance in &statement.balances {
        let new = tx
            .statements()
            .upsert_balance(NewBalance {
                account_id: account.id,
                statement_id: Some(stored.id),
                kind: balance.kind.code().to_owned(),
                balance_date: balance.date,
                amount: balance.amount.to_string(),
                currency: balance.currency.as_str().to_owned(),
            })
            .await?;
        report.balances_new += usize::from(new);
    }

    for entry in &statement.entries {
        let Some(booking) = booking(entry, iban, &account, stored.id) else {
            report.entries_not_booked += 1;
            continue;
        };
        if tx.statements().insert_booking(booking).await? {
            report.bookings_new += 1;
        } else {
            report.bookings_known += 1;
        }
    }
    if created {
        let data = serde_json::json!({
            "statement_id": stored.id,
            "account_id": account.id,
            "iban": iban.electronic(),
            "format": stored.format,
            "statement_ref": stored.statement_ref,
            "period_from": stored.period_from,
            "period_to": stored.period_to,
            "balances_new": report.balances_new,
            "bookings_new": report.bookings_new,
            "bookings_known": report.bookings_known,
            "entries_not_booked": report.entries_not_booked,
        });
        events::emit(tx, WebhookEventType::StatementAvailable, data).await?;
    }
    Ok(report)
}

async fn resolve_account(
    tx: &mut ScopedTx<'_>,
    iban: &Iban,
    connection: Option<ConnectionId>,
) -> Result<Option<Account>, IngestError> {
    let mut candidates = tx.accounts().list_by_iban(iban.electronic()).await?;
    if let Some(connection) = connection {
        candidates.retain(|a| a.connection_id == connection);
    }
    match candidates.len() {
        0 => Ok(None),
        1 => Ok(candidates.pop()),
        _ => Err(IngestError::AmbiguousAccount {
            iban: iban.electronic().to_owned(),
        }),
    }
}

/// A booked entry as a stored booking; `None` for pending and information entries, which
/// are not bookings (and whose key would change once booked).
fn booking(
    entry: &Entry,
    iban: &Iban,
    account: &Account,
    statement: kontor_storage::StatementId,
) -> Option<NewBookedTransaction> {
    if entry.status != EntryStatus::Booked {
        return None;
    }
    let booking_date = entry.booking_date.or(entry.value_date)?;
    Some(NewBookedTransaction {
        account_id: account.id,
        statement_id: Some(statement),
        booking_date,
        value_date: entry.value_date,
        amount: entry.amount.abs().to_string(),
        currency: entry.currency.as_str().to_owned(),
        credit_debit: entry.credit_debit.iso_code().to_owned(),
        counterparty_name: entry.counterparty_name.clone(),
        counterparty_iban: entry
            .counterparty_iban
            .as_ref()
            .map(|i| i.electronic().to_owned()),
        remittance: entry.remittance.clone(),
        bank_reference: entry.bank_reference.clone(),
        end_to_end_id: entry.end_to_end_id.clone(),
        dedupe_key: entry.dedupe_key(iban),
    })
}

/// The reporting period, else the span of the statement's balance and booking dates.
fn period(statement: &Statement) -> Option<(NaiveDate, NaiveDate)> {
    if let Some(p) = statement.period {
        return Some((p.from.date(), p.to.date()));
    }
    let dates = statement
        .balances
        .iter()
        .map(|b| b.date)
        .chain(statement.entries.iter().filter_map(|e| e.booking_date));
    dates.fold(None, |span, d| match span {
        None => Some((d, d)),
        Some((from, to)) => Some((from.min(d), to.max(d))),
    })
}

fn storage_format(format: kontor_documents::StatementFormat) -> StatementFormat {
    use kontor_documents::StatementFormat as Doc;
    match format {
        Doc::Camt052 => StatementFormat::Camt052,
        Doc::Camt053 => StatementFormat::Camt053,
        Doc::Camt054 => StatementFormat::Camt054,
        Doc::Mt940 => StatementFormat::Mt940,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_is_sniffed_from_content_and_known_from_order_type() {
        assert_eq!(
            StatementSyntax::sniff(b"\xEF\xBB\xBF  <?xml version"),
            StatementSyntax::Camt
        );
        assert_eq!(
            StatementSyntax::sniff(b":20:STARTUMS"),
            StatementSyntax::Mt940
        );
        assert_eq!(
            StatementSyntax::for_order_type(&OrderType::C53),
            Some(StatementSyntax::Camt)
        );
        assert_eq!(
            StatementSyntax::for_order_type(&OrderType::STA),
            Some(StatementSyntax::Mt940)
        );
        assert_eq!(StatementSyntax::for_order_type(&OrderType::CCT), None);
    }
}
