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
use kontor_documents::camt::CamtReader;
use kontor_documents::mt940::{self, Mt940Reader, Mt940StreamError};
use kontor_documents::{Entry, EntryStatus, Iban, Statement, StatementPart};
use kontor_protocol::order_type::{OrderDataFormat, OrderType};
use kontor_storage::{
    Account, ConnectionId, FileId, NewBalance, NewBookedTransaction, NewStatement, ScopedTx,
    StatementFormat, StatementId, StorageError, WebhookEventType,
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
    fn from_mt940(error: Mt940StreamError) -> Self {
        match error {
            Mt940StreamError::Mt940(error) => Self::Mt940(error),
            Mt940StreamError::Io(error) => Self::File(crate::ebics::EbicsError::Io(error)),
        }
    }

    /// Whether trying again later can help: a document that does not parse, or an account
    /// that cannot be resolved, stays so until someone changes the file or the accounts.
    pub fn is_permanent(&self) -> bool {
        !matches!(self, Self::Storage(_) | Self::File(_))
    }
}

/// Parses `bytes` and stores every statement in it inside `tx` (one database transaction:
/// a file lands completely or not at all). The same streaming path as a stored file, read
/// from memory.
pub async fn ingest_file(
    tx: &mut ScopedTx<'_>,
    syntax: StatementSyntax,
    bytes: &[u8],
    source: &IngestSource,
) -> Result<IngestReport, IngestError> {
    let mut writer = StatementWriter::new(source);
    match syntax {
        StatementSyntax::Camt => {
            let mut reader = CamtReader::new(bytes)?;
            while let Some(part) = reader.next_part()? {
                writer.part(tx, part).await?;
            }
        }
        StatementSyntax::Mt940 => {
            let mut reader = Mt940Reader::new(bytes);
            while let Some(part) = reader.next_part().map_err(IngestError::from_mt940)? {
                writer.part(tx, part).await?;
            }
        }
    }
    Ok(writer.finish())
}

/// Reads a statement document on a blocking thread and hands its parts over a small
/// channel, so neither the document nor its statements are ever whole in memory: a 1 GiB
/// camt.053 costs one batch of entries at a time. The channel closes after the last part or
/// the first error; a closed receiver stops the reader.
pub fn spawn_parts<R>(input: R, syntax: StatementSyntax) -> Parts
where
    R: std::io::BufRead + Send + 'static,
{
    let (sender, receiver) = tokio::sync::mpsc::channel(PARTS_IN_FLIGHT);
    tokio::task::spawn_blocking(move || read_parts(input, syntax, &sender, || false));
    receiver
}

/// Parts a reader may be ahead of the writer.
pub(crate) const PARTS_IN_FLIGHT: usize = 2;

/// Reads a statement document on the current (blocking) thread and sends its parts until the
/// last one, the first error, or a receiver that stopped listening. An error for which
/// `quiet()` is true is not sent: its cause is reported elsewhere (a refused ZIP container).
pub(crate) fn read_parts<R: std::io::BufRead>(
    input: R,
    syntax: StatementSyntax,
    sender: &tokio::sync::mpsc::Sender<Result<StatementPart, IngestError>>,
    quiet: impl Fn() -> bool,
) {
    match syntax {
        StatementSyntax::Camt => match CamtReader::new(input) {
            Ok(mut reader) => pump(sender, quiet, || Ok(reader.next_part()?)),
            Err(error) => {
                if !quiet() {
                    let _ = sender.blocking_send(Err(error.into()));
                }
            }
        },
        StatementSyntax::Mt940 => {
            let mut reader = Mt940Reader::new(input);
            pump(sender, quiet, || {
                reader.next_part().map_err(IngestError::from_mt940)
            })
        }
    }
}

/// Sends parts until the last one, the first error, or a receiver that stopped listening.
fn pump(
    sender: &tokio::sync::mpsc::Sender<Result<StatementPart, IngestError>>,
    quiet: impl Fn() -> bool,
    mut next: impl FnMut() -> Result<Option<StatementPart>, IngestError>,
) {
    loop {
        let item = match next() {
            Ok(Some(part)) => Ok(part),
            Ok(None) => return,
            Err(_) if quiet() => return,
            Err(error) => Err(error),
        };
        let failed = item.is_err();
        if sender.blocking_send(item).is_err() || failed {
            return;
        }
    }
}

/// The parts of one statement document, as [`spawn_parts`] reads them.
pub type Parts = tokio::sync::mpsc::Receiver<Result<StatementPart, IngestError>>;

/// Stores every part of [`spawn_parts`] inside `tx`. Parts before an error are not verified
/// (the document may still turn out broken): a caller that wants the rest of the file to
/// land without this document drops what it wrote, e.g. with a savepoint.
pub async fn ingest_parts(
    tx: &mut ScopedTx<'_>,
    mut parts: Parts,
    source: &IngestSource,
) -> Result<IngestReport, IngestError> {
    let mut writer = StatementWriter::new(source);
    while let Some(part) = parts.recv().await {
        writer.part(tx, part?).await?;
    }
    Ok(writer.finish())
}

/// Stores a streamed statement document part by part: the statement record when one begins,
/// its bookings batch by batch, its balances and (when the document names none) its period
/// when it ends.
struct StatementWriter<'a> {
    source: &'a IngestSource,
    current: Option<Current>,
    report: IngestReport,
}

/// The statement being written.
struct Current {
    /// `None`: the statement is not for one of the tenant's accounts (or has no IBAN); its
    /// parts are counted and dropped.
    target: Option<(Iban, Account, StatementId)>,
    /// Whether this ingestion created the statement record (then `statement.available` is
    /// announced when it ends).
    created: bool,
    /// What this statement stored (the event's counts).
    stored: IngestReport,
    /// The reporting period the document named.
    period: Option<(NaiveDate, NaiveDate)>,
    /// Whether the document named the reporting period.
    period_known: bool,
    /// The span of the booking dates seen, for a statement without a period.
    booking_span: Option<(NaiveDate, NaiveDate)>,
}

impl<'a> StatementWriter<'a> {
    fn new(source: &'a IngestSource) -> Self {
        Self {
            source,
            current: None,
            report: IngestReport::default(),
        }
    }

    async fn part(
        &mut self,
        tx: &mut ScopedTx<'_>,
        part: StatementPart,
    ) -> Result<(), IngestError> {
        match part {
            StatementPart::Begin(header) => self.begin(tx, &header).await,
            StatementPart::Entries(entries) => self.entries(tx, entries).await,
            StatementPart::End(header) => self.end(tx, &header).await,
        }
    }

    async fn begin(
        &mut self,
        tx: &mut ScopedTx<'_>,
        header: &Statement,
    ) -> Result<(), IngestError> {
        self.report.statements_seen += 1;
        let period = header.period.map(|p| (p.from.date(), p.to.date()));
        let mut current = Current {
            target: None,
            created: false,
            stored: IngestReport::default(),
            period,
            period_known: period.is_some(),
            booking_span: None,
        };
        match &header.account.iban {
            None => self.report.statements_unmatched += 1,
            Some(iban) => match resolve_account(tx, iban, self.source.connection).await? {
                None => {
                    self.report.statements_unmatched += 1;
                    self.report
                        .unmatched_ibans
                        .insert(iban.electronic().to_owned());
                }
                Some(account) => {
                    let (stored, created) = tx
                        .statements()
                        .find_or_create(NewStatement {
                            account_id: account.id,
                            format: storage_format(header.format),
                            statement_ref: header.id.clone(),
                            period_from: period.map(|(from, _)| from),
                            period_to: period.map(|(_, to)| to),
                            file_id: self.source.file,
                        })
                        .await?;
                    self.report.statements_new += usize::from(created);
                    current.created = created;
                    current.target = Some((iban.clone(), account, stored.id));
                }
            },
        }
        self.current = Some(current);
        Ok(())
    }

    async fn entries(
        &mut self,
        tx: &mut ScopedTx<'_>,
        entries: Vec<Entry>,
    ) -> Result<(), IngestError> {
        let Some(current) = &mut self.current else {
            return Ok(());
        };
        let Some((iban, account, statement)) = &current.target else {
            return Ok(());
        };
        let mut bookings = Vec::with_capacity(entries.len());
        for entry in entries {
            if let Some(date) = entry.booking_date {
                current.booking_span = Some(widen(current.booking_span, date));
            }
            match booking(entry, iban, account, *statement) {
                Some(booking) => bookings.push(booking),
                None => current.stored.entries_not_booked += 1,
            }
        }
        let offered = bookings.len();
        let new = tx.statements().insert_bookings(bookings).await?;
        current.stored.bookings_new += new;
        current.stored.bookings_known += offered - new;
        Ok(())
    }

    async fn end(&mut self, tx: &mut ScopedTx<'_>, header: &Statement) -> Result<(), IngestError> {
        let Some(mut current) = self.current.take() else {
            return Ok(());
        };
        let Some((iban, account, statement)) = current.target.take() else {
            return Ok(());
        };
        for balance in &header.balances {
            let new = tx
                .statements()
                .upsert_balance(NewBalance {
                    account_id: account.id,
                    statement_id: Some(statement),
                    kind: balance.kind.clone(),
                    balance_date: balance.date,
                    amount: balance.amount,
                    currency: balance.currency,
                })
                .await?;
            current.stored.balances_new += usize::from(new);
        }
        if !current.period_known {
            // Without a reporting period: the span of its balance and booking dates.
            current.period = header
                .balances
                .iter()
                .map(|b| b.date)
                .fold(current.booking_span, |span, d| Some(widen(span, d)));
            if let Some((from, to)) = current.period {
                tx.statements()
                    .set_period_if_missing(statement, from, to)
                    .await?;
            }
        }
        if current.created {
            // In the ingestion's transaction: rolled back with the document if it breaks.
            let stored = &current.stored;
            let data = serde_json::json!({
                "statement_id": statement,
                "account_id": account.id,
                "iban": iban.electronic(),
                "format": storage_format(header.format),
                "statement_ref": header.id,
                "period_from": current.period.map(|(from, _)| from),
                "period_to": current.period.map(|(_, to)| to),
                "balances_new": stored.balances_new,
                "bookings_new": stored.bookings_new,
                "bookings_known": stored.bookings_known,
                "entries_not_booked": stored.entries_not_booked,
            });
            events::emit(tx, WebhookEventType::StatementAvailable, data).await?;
        }
        self.report += current.stored;
        Ok(())
    }

    fn finish(self) -> IngestReport {
        self.report
    }
}

fn widen(span: Option<(NaiveDate, NaiveDate)>, date: NaiveDate) -> (NaiveDate, NaiveDate) {
    match span {
        None => (date, date),
        Some((from, to)) => (from.min(date), to.max(date)),
    }
}

async fn resolve_account(
    tx: &mut ScopedTx<'_>,
    iban: &Iban,
    connection: Option<ConnectionId>,
) -> Result<Option<Account>, IngestError> {
    let mut candidates = tx.accounts().list_by_iban(iban).await?;
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
    entry: Entry,
    iban: &Iban,
    account: &Account,
    statement: kontor_storage::StatementId,
) -> Option<NewBookedTransaction> {
    if entry.status != EntryStatus::Booked {
        return None;
    }
    let booking_date = entry.booking_date.or(entry.value_date)?;
    let dedupe_key = entry.dedupe_key(iban);
    Some(NewBookedTransaction {
        account_id: account.id,
        statement_id: Some(statement),
        booking_date,
        value_date: entry.value_date,
        amount: entry.amount.abs(),
        currency: entry.currency,
        credit_debit: entry.credit_debit,
        counterparty_name: entry.counterparty_name,
        counterparty_iban: entry.counterparty_iban,
        remittance: entry.remittance,
        bank_reference: entry.bank_reference,
        end_to_end_id: entry.end_to_end_id,
        dedupe_key,
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
