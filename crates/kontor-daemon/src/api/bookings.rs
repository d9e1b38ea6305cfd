//! `/v1/booked-transactions`: booked transactions with keyset pagination and CSV export.

use axum::http::header;
use axum::response::IntoResponse;
use chrono::NaiveDate;
use kontor_storage::{
    Account, AccountId, BookedTransaction, BookedTransactionId, BookingFilter, ScopedTx,
};
use serde::Deserialize;

use super::auth::Caller;
use super::error::ApiError;
use super::extract::QueryParams;
use super::input::Valid;
use super::page::{ItemPage, PageQuery, DEFAULT_LIMIT, MAX_LIMIT};
use super::respond::{Csv, JsonText};
use super::Routes;

pub fn routes(routes: Routes) -> Routes {
    routes
        .read(
            "/v1/booked-transactions",
            "Booked transactions (account, date range, keyset cursor)",
            bookings,
        )
        .read(
            "/v1/booked-transactions/csv",
            "Booked transactions as CSV (account, date range)",
            bookings_csv,
        )
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct BookingQuery {
    account: Option<Valid<AccountId>>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    limit: Option<u32>,
}

/// A booking's place in the listing: bookings are listed by booking date (latest first),
/// then id, so the cursor names both (`<booking date>/<id>`, opaque to clients).
struct Position(NaiveDate, BookedTransactionId);

impl std::str::FromStr for Position {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        let (date, id) = s.split_once('/').ok_or(())?;
        Ok(Self(
            date.parse().map_err(|_| ())?,
            id.parse().map_err(|_| ())?,
        ))
    }
}

/// Validates the query into a filter and opens the read transaction that serves it (one per
/// request: the account check and the pages read the same snapshot).
async fn filter_of<'c>(
    caller: &'c Caller,
    q: BookingQuery,
    default_limit: u32,
) -> Result<(BookingFilter, ScopedTx<'c>), ApiError> {
    let account = q.account.map(Valid::into_inner);
    if let (Some(from), Some(to)) = (q.from, q.to) {
        if from > to {
            return Err(ApiError::invalid("invalid_date_range", "from is after to"));
        }
    }
    let page = PageQuery {
        limit: q.limit.or(Some(default_limit)),
        cursor: q.cursor,
    };
    let filter = BookingFilter {
        account_id: account,
        from: q.from,
        to: q.to,
        after: page.position::<Position>()?.map(|p| (p.0, p.1)),
        limit: page.limit()?,
        newest_first: true,
    };
    Ok((filter, caller.read().await?))
}

/// The first page of `filter`, after which an account of another tenant answers 404. A
/// booking of the account proves it the tenant's (`(tenant_id, account_id)` references the
/// tenant's account), so only an empty page costs the account's lookup.
async fn first_page(
    tx: &mut ScopedTx<'_>,
    filter: &BookingFilter,
) -> Result<Vec<BookedTransaction>, ApiError> {
    let page = tx.statements().bookings(filter).await?;
    account_of_empty_page(tx, filter, page.is_empty()).await?;
    Ok(page)
}

/// Answers 404 for an empty page of an account that is not the tenant's (see [`first_page`]).
async fn account_of_empty_page(
    tx: &mut ScopedTx<'_>,
    filter: &BookingFilter,
    empty: bool,
) -> Result<(), ApiError> {
    if let (Some(account), true) = (filter.account_id, empty) {
        let _: Account = tx.get(account).await?;
    }
    Ok(())
}

/// The page as the database writes its JSON ([`kontor_storage::Statements::bookings_json`]),
/// the same bytes as `Json` of the typed bookings at a fraction of the cost.
async fn bookings(
    caller: Caller,
    QueryParams(q): QueryParams<BookingQuery>,
) -> Result<JsonText<ItemPage<BookedTransaction>>, ApiError> {
    let (filter, mut tx) = filter_of(&caller, q, DEFAULT_LIMIT).await?;
    let page = tx.statements().bookings_json(&filter).await?;
    account_of_empty_page(&mut tx, &filter, page.len == 0).await?;
    Ok(ItemPage::keyset_json(
        &page.json,
        page.len,
        filter.limit,
        page.last.map(|(date, id)| format!("{date}/{id}")),
    ))
}

/// Quotes a CSV field when it needs it (RFC 4180), and defuses spreadsheet formulas.
fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) && value.parse::<f64>().is_err() {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

async fn bookings_csv(
    caller: Caller,
    QueryParams(q): QueryParams<BookingQuery>,
) -> Result<Csv, ApiError> {
    // The export is whole and oldest first; a cursor of the JSON listing does not apply.
    let (mut filter, mut tx) =
        filter_of(&caller, BookingQuery { cursor: None, ..q }, MAX_LIMIT).await?;
    filter.newest_first = false;
    let mut out = String::from(
        "id,account_id,booking_date,value_date,credit_debit,amount,currency,counterparty_name,counterparty_iban,remittance,bank_reference,end_to_end_id\r\n",
    );
    let mut page = first_page(&mut tx, &filter).await?;
    loop {
        for b in &page {
            let fields = [
                b.id.to_string(),
                b.account_id.to_string(),
                b.booking_date.to_string(),
                b.value_date.map(|d| d.to_string()).unwrap_or_default(),
                b.credit_debit.iso_code().to_owned(),
                b.amount.to_string(),
                b.currency.to_string(),
                b.counterparty_name.clone().unwrap_or_default(),
                b.counterparty_iban
                    .as_ref()
                    .map(|i| i.electronic().to_owned())
                    .unwrap_or_default(),
                b.remittance.clone().unwrap_or_default(),
                b.bank_reference.clone().unwrap_or_default(),
                b.end_to_end_id.clone().unwrap_or_default(),
            ];
            let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
            out.push_str(&line.join(","));
            out.push_str("\r\n");
        }
        match page.last() {
            Some(last) if page.len() == filter.limit as usize => {
                filter.after = Some((last.booking_date, last.id));
            }
            _ => break,
        }
        page = tx.statements().bookings(&filter).await?;
    }
    Ok(Csv((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"booked-transactions.csv\"",
            ),
        ],
        out,
    )
        .into_response()))
}
