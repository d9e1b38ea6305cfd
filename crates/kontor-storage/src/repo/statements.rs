//! Downloaded statements, the balances they report and the bookings they contain.

use std::sync::LazyLock;

use chrono::{DateTime, NaiveDate, Utc};
use kontor_documents::{Amount, BalanceKind, CreditDebit, Currency, Iban};

use super::{entity, repository};
use crate::db::{now, record, to_json, RowReader, Val};
use crate::error::Result;
use crate::ids::{AccountId, BalanceId, BookedTransactionId, FileId, StatementId};
use crate::status::StatementFormat;
use crate::store::Backend;

record! {
    /// A statement (camt.053/052/054 or MT940) received for an account.
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
    #[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
    pub struct Statement {
        pub id: StatementId,
        #[new] pub account_id: AccountId,
        #[new] pub format: StatementFormat,
        #[new] pub statement_ref: String,
        #[new] pub period_from: Option<NaiveDate>,
        #[new] pub period_to: Option<NaiveDate>,
        /// The original file as downloaded.
        #[new] pub file_id: Option<FileId>,
        pub created_at: DateTime<Utc>,
    }
    #[derive(Debug, Clone)]
    pub struct NewStatement;
}

entity!(Statement, StatementId, "statements", "statement", Deletable);

record! {
    /// A balance of an account on a date (opening, closing, available, ...).
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
    #[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
    pub struct Balance {
        pub id: BalanceId,
        #[new] pub account_id: AccountId,
        #[new] pub statement_id: Option<StatementId>,
        /// ISO 20022 balance type: OPBD, CLBD, ITBD, CLAV, ... (stored and served as its code).
        #[new] pub kind: BalanceKind,
        #[new] pub balance_date: NaiveDate,
        /// Signed exact decimal.
        #[new] pub amount: Amount,
        #[new] pub currency: Currency,
    }
    #[derive(Debug, Clone)]
    pub struct NewBalance;
}

entity!(Balance, BalanceId, "balances", "balance", Deletable);

record! {
    /// A booking on an account, stored once however many statements report it.
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
    #[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
    pub struct BookedTransaction {
        pub id: BookedTransactionId,
        #[new] pub account_id: AccountId,
        #[new] pub statement_id: Option<StatementId>,
        #[new] pub booking_date: NaiveDate,
        #[new] pub value_date: Option<NaiveDate>,
        /// Unsigned exact decimal; see `credit_debit`.
        #[new] pub amount: Amount,
        #[new] pub currency: Currency,
        /// Stored and served as its ISO 20022 code, CRDT or DBIT.
        #[new] pub credit_debit: CreditDebit,
        #[new] pub counterparty_name: Option<String>,
        #[new] pub counterparty_iban: Option<Iban>,
        #[new] pub remittance: Option<String>,
        #[new] pub bank_reference: Option<String>,
        #[new] pub end_to_end_id: Option<String>,
        #[new] pub dedupe_key: String,
        pub created_at: DateTime<Utc>,
    }
    #[derive(Debug, Clone)]
    pub struct NewBookedTransaction;
}

entity!(
    BookedTransaction,
    BookedTransactionId,
    "booked_transactions",
    "booked transaction",
    Deletable
);

/// Filter and page for listing bookings.
#[derive(Debug, Clone, Default)]
pub struct BookingFilter {
    pub account_id: Option<AccountId>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Keyset pagination: bookings past this (booking date, id) position, in the order
    /// of the listing.
    pub after: Option<(NaiveDate, BookedTransactionId)>,
    pub limit: u32,
    /// Latest booking date first (the API's lists); otherwise oldest first (exports).
    pub newest_first: bool,
}

repository!(
    /// Statements, balances and bookings of the scope's tenant.
    Statements,
    statements
);

impl Statements<'_, '_> {
    pub async fn create(&mut self, new: NewStatement) -> Result<Statement> {
        self.tx
            .create_new(&new.into_row([("created_at", now().into())]))
            .await
    }

    /// The statement with this account, format and reference, created when new; returns
    /// whether it was created. Safe against a concurrent ingestion of the same statement.
    pub async fn find_or_create(&mut self, new: NewStatement) -> Result<(Statement, bool)> {
        let key = [
            self.tx.tenant_val(),
            new.account_id.into(),
            new.format.into(),
            new.statement_ref.clone().into(),
        ];
        let created = self
            .insert_ignoring_duplicate(
                "statements",
                "tenant_id, account_id, format, statement_ref",
                &new.into_row([
                    ("id", StatementId::new().into()),
                    ("created_at", now().into()),
                ]),
            )
            .await?;
        let row = self
            .tx
            .fetch_optional(
                "SELECT * FROM statements WHERE tenant_id = $1 AND account_id = $2 \
                 AND format = $3 AND statement_ref = $4",
                &key,
            )
            .await?
            .ok_or(crate::error::StorageError::NotFound {
                entity: "statement",
            })?;
        Ok((Statement::read(&RowReader(&row))?, created))
    }

    /// Sets the reporting period of a statement stored without one (a streamed statement
    /// knows its span of dates only at its end). A known period is kept.
    pub async fn set_period_if_missing(
        &mut self,
        id: StatementId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<()> {
        let tenant = self.tx.tenant_val();
        self.tx
            .execute(
                "UPDATE statements SET period_from = $1, period_to = $2 \
                 WHERE id = $3 AND tenant_id = $4 AND period_from IS NULL",
                &[from.into(), to.into(), id.to_db().into(), tenant],
            )
            .await?;
        Ok(())
    }

    pub async fn list_for_account(&mut self, account: AccountId) -> Result<Vec<Statement>> {
        self.tx.list_where("account_id", account).await
    }

    /// One keyset page of an account's statements, newest first.
    pub async fn newest_for_account(
        &mut self,
        account: AccountId,
        page: crate::store::Newest<crate::ids::StatementId>,
    ) -> Result<Vec<Statement>> {
        self.tx
            .newest_where(page, &[("account_id", account.to_db().into())], None)
            .await
    }

    /// Stores a balance unless one of the same kind and date exists; returns whether it was new.
    pub async fn upsert_balance(&mut self, new: NewBalance) -> Result<bool> {
        self.insert_ignoring_duplicate(
            "balances",
            "account_id, kind, balance_date",
            &new.into_row([("id", BalanceId::new().into())]),
        )
        .await
    }

    /// Stores a booking unless its dedupe key is known for the account; returns whether it was new.
    pub async fn insert_booking(&mut self, new: NewBookedTransaction) -> Result<bool> {
        Ok(self.insert_bookings(vec![new]).await? == 1)
    }

    /// Stores bookings unless their dedupe key is known for the account (or comes earlier in
    /// `bookings`); returns how many were new. Same outcome as [`Statements::insert_booking`]
    /// for each in turn, in multi-row statements: a large camt.053 holds tens of thousands
    /// of bookings, and a statement of its own (its text built, a round trip to the driver)
    /// cost each about as much again as storing it.
    pub async fn insert_bookings(&mut self, bookings: Vec<NewBookedTransaction>) -> Result<usize> {
        let backend = self.tx.store.backend();
        let mut new = 0;
        // Every batch of a call but its last is as long: the INSERT text is built once for
        // them, and again only for a shorter last batch.
        let (mut sql, mut sql_rows) = (String::new(), 0);
        let mut bookings = bookings.into_iter().peekable();
        while bookings.peek().is_some() {
            let created_at: Val = now().into();
            let (mut columns, mut values, mut rows) = (Vec::new(), Vec::new(), 0);
            for booking in bookings.by_ref().take(BOOKINGS_PER_INSERT) {
                let row = booking.into_row([
                    ("id", BookedTransactionId::new().into()),
                    ("created_at", created_at.clone()),
                ]);
                if columns.is_empty() {
                    columns = row.iter().map(|(column, _)| *column).collect();
                }
                values.push(self.tx.tenant_val());
                values.extend(row.into_iter().map(|(_, value)| value));
                rows += 1;
            }
            if rows != sql_rows {
                sql = insert_bookings_sql(backend, &columns, rows);
                sql_rows = rows;
            }
            let n = self
                .tx
                .execute(&sql, &values)
                .await
                .map_err(|e| crate::error::StorageError::from_write("booking", e))?;
            new += n as usize;
        }
        Ok(new)
    }

    /// `INSERT ... ON CONFLICT DO NOTHING` (same syntax on SQLite and PostgreSQL).
    async fn insert_ignoring_duplicate(
        &mut self,
        table: &str,
        conflict: &str,
        row: &[(&str, Val)],
    ) -> Result<bool> {
        let (sql, values) =
            self.tx
                .insert_sql(table, row, &format!(" ON CONFLICT ({conflict}) DO NOTHING"));
        let n = self
            .tx
            .execute(&sql, &values)
            .await
            .map_err(|e| crate::error::StorageError::from_write("booking", e))?;
        Ok(n == 1)
    }

    pub async fn balances(&mut self, account: AccountId) -> Result<Vec<Balance>> {
        let mut balances: Vec<Balance> = self.tx.list_where("account_id", account).await?;
        balances
            .sort_by(|a, b| (a.balance_date, a.kind.code()).cmp(&(b.balance_date, b.kind.code())));
        Ok(balances)
    }

    /// Bookings by booking date then id, filtered and keyset-paginated.
    pub async fn bookings(&mut self, filter: &BookingFilter) -> Result<Vec<BookedTransaction>> {
        let (sql, values) = self.bookings_query("*", filter);
        self.tx
            .fetch_all_as(&sql, &values, BookedTransaction::read)
            .await
    }

    /// The bookings [`Statements::bookings`] reads, as the JSON array `serde_json` writes for
    /// them, byte for byte. The API's list of bookings is its busiest read, and on SQLite
    /// decoding each row into a [`BookedTransaction`] (the driver copies every value of a
    /// row first) only to serialise it again cost half of a request's time: there SQLite
    /// writes the JSON (`json_object`). PostgreSQL could too (`row_to_json`), but its JSON
    /// functions look up each value's type as they write it, which cost its server more
    /// (about 1 ms a page of 100) than the daemon saved; there the typed page is serialised.
    ///
    /// SQLite's JSON skips the validation of the stored text that [`Statements::bookings`]
    /// does: every column of `booked_transactions` is written only from
    /// [`NewBookedTransaction`]'s typed values (an [`Iban`] whose checksum was checked, an
    /// [`Amount`], ...) as their canonical text, which is the text they serialise to. The
    /// one exception is `created_at`, stored with six decimals and serialised with 0, 3 or
    /// 6; the query shortens it as `chrono` does.
    pub async fn bookings_json(&mut self, filter: &BookingFilter) -> Result<BookingsJson> {
        if let Backend::Postgres = self.tx.store.backend() {
            let bookings = self.bookings(filter).await?;
            return Ok(BookingsJson {
                json: to_json(&bookings),
                len: bookings.len(),
                last: bookings.last().map(|b| (b.booking_date, b.id)),
            });
        }
        let (sql, values) = self.bookings_query(&BOOKING_JSON_COLUMNS, filter);
        let rows = self.tx.fetch_all(&sql, &values).await?;
        let mut json = String::with_capacity(rows.len() * 512 + 2);
        json.push('[');
        for (i, row) in rows.iter().enumerate() {
            if i > 0 {
                json.push(',');
            }
            json.push_str(RowReader(row).str("json")?);
        }
        json.push(']');
        let last = match rows.last() {
            Some(row) => {
                let row = RowReader(row);
                Some((row.date("booking_date")?, row.parsed("id")?))
            }
            None => None,
        };
        Ok(BookingsJson {
            json,
            len: rows.len(),
            last,
        })
    }

    /// The query of a page of bookings that selects `columns` of each.
    fn bookings_query(&self, columns: &str, filter: &BookingFilter) -> (String, Vec<Val>) {
        let mut sql = format!("SELECT {columns} FROM booked_transactions WHERE tenant_id = $1");
        let mut values = vec![self.tx.tenant_val()];
        let mut push = |sql: &mut String, clause: &str, value: Val| {
            values.push(value);
            sql.push_str(&clause.replace("$?", &format!("${}", values.len())));
        };
        if let Some(account) = filter.account_id {
            push(&mut sql, " AND account_id = $?", account.to_db().into());
        }
        if let Some(from) = filter.from {
            push(&mut sql, " AND booking_date >= $?", from.into());
        }
        if let Some(to) = filter.to {
            push(&mut sql, " AND booking_date <= $?", to.into());
        }
        if let Some((date, id)) = filter.after {
            // A row-value comparison: PostgreSQL turns it into an index range; the
            // equivalent `a > x OR (a = x AND b > y)` is a filter over every skipped row.
            let past = if filter.newest_first { "<" } else { ">" };
            push(
                &mut sql,
                &format!(" AND (booking_date, id) {past} ($?"),
                date.into(),
            );
            push(&mut sql, ", $?)", id.to_db().into());
        }
        let limit = if filter.limit == 0 { 100 } else { filter.limit } as i64;
        let order = if filter.newest_first {
            " ORDER BY booking_date DESC, id DESC LIMIT $?"
        } else {
            " ORDER BY booking_date, id LIMIT $?"
        };
        push(&mut sql, order, limit.into());
        (sql, values)
    }
}

/// A page of bookings as JSON text ([`Statements::bookings_json`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingsJson {
    /// The bookings as a JSON array, as `serde_json` writes a `Vec<BookedTransaction>`.
    pub json: String,
    /// How many bookings the array holds.
    pub len: usize,
    /// The last booking's place in the listing: its booking date and id.
    pub last: Option<(NaiveDate, BookedTransactionId)>,
}

/// [`BookedTransaction`]'s fields in their order, which is their order in its JSON; each is
/// the column of its name.
const BOOKING_FIELDS: [&str; 15] = [
    "id",
    "account_id",
    "statement_id",
    "booking_date",
    "value_date",
    "amount",
    "currency",
    "credit_debit",
    "counterparty_name",
    "counterparty_iban",
    "remittance",
    "bank_reference",
    "end_to_end_id",
    "dedupe_key",
    "created_at",
];

/// The columns [`Statements::bookings_json`] selects on SQLite: each booking as its JSON
/// (`json_object` keeps its arguments' order and writes no spaces) and its place in the
/// listing. Written once: the same text every request.
static BOOKING_JSON_COLUMNS: LazyLock<String> = LazyLock::new(|| {
    let fields = BOOKING_FIELDS
        .iter()
        .map(|field| format!("'{field}', {}", booking_field(field)))
        .collect::<Vec<_>>()
        .join(", ");
    format!("json_object({fields}) AS json, booking_date, id")
});

/// The SQLite expression for the text `field` serialises to.
///
/// A timestamp is stored with six decimals (`2025-01-02T03:04:05.120000Z`, see `ts_to_db`);
/// `chrono` serialises it with none when they are all zero, three when the last three are,
/// and six otherwise (`2025-01-02T03:04:05.120Z`).
fn booking_field(field: &str) -> String {
    match field {
        "created_at" => "CASE WHEN substr(created_at, 20) = '.000000Z' \
                         THEN substr(created_at, 1, 19) || 'Z' \
                         WHEN substr(created_at, 24) = '000Z' \
                         THEN substr(created_at, 1, 23) || 'Z' \
                         ELSE created_at END"
            .to_owned(),
        column => column.to_owned(),
    }
}

/// Bookings per multi-row INSERT. A statement is prepared once per connection and number of
/// rows, and preparing costs in proportion to its rows; 250 divides the streaming readers'
/// batches of 1000 entries, so one prepared statement serves every batch but a document's last.
///
/// On SQLite a statement that writes several rows and may stop at a constraint (a foreign
/// key, `NOT NULL`) runs in a statement transaction: every page it changes that existed before
/// it started is first copied to a temporary file (4 KiB and a system call each). The pages
/// where consecutive bookings land (the table's last page, the ids' and dates' indexes) are
/// copied once per statement, so larger statements copy fewer per booking: for a 50 MiB
/// camt.053 (29 565 bookings), 250 rows a statement instead of 32 copied about 32 000 fewer
/// pages (65 000 fewer system calls) and cut the download's CPU time by about a tenth
/// (`kontor-bench download 50`). The dedupe keys' index takes one page per booking at any
/// size (its keys are random).
const BOOKINGS_PER_INSERT: usize = 250;

/// `INSERT INTO booked_transactions` of `rows` bookings, each with the tenant and its own
/// values of `columns`, skipping a dedupe key the account already has. Within one statement, a later row
/// with an earlier row's key is skipped too (both engines check the unique index row by row).
///
/// SQLite gets anonymous `?` placeholders: the driver looks up the name of every numbered
/// one (`$n`) by a linear search, which is quadratic in a statement's values.
fn insert_bookings_sql(backend: Backend, columns: &[&str], rows: usize) -> String {
    use std::fmt::Write;
    let mut sql = format!(
        "INSERT INTO booked_transactions (tenant_id, {}) VALUES ",
        columns.join(", ")
    );
    let mut next = 1;
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..=columns.len() {
            let separator = if column == 0 { "" } else { ", " };
            let _ = match backend {
                Backend::Sqlite => write!(sql, "{separator}?"),
                Backend::Postgres => write!(sql, "{separator}${next}"),
            };
            next += 1;
        }
        sql.push(')');
    }
    sql.push_str(" ON CONFLICT (account_id, dedupe_key) DO NOTHING");
    sql
}
