//! Statements (with their original camt/MT940 files), balances and booked transactions with
//! keyset pagination and CSV export.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use kontor_storage::{
    Account, AccountId, Balance, BookedTransaction, BookedTransactionId, BookingFilter, Page,
    Statement, StatementId, StoredFile,
};
use serde::{Deserialize, Serialize};

use super::auth::Caller;
use super::error::ApiError;
use super::extract::{path_id, QueryParams};
use super::input::Valid;
use super::orders::file_response;
use super::{AppState, Routes};

pub fn routes(routes: Routes) -> Routes {
    routes
        .read(
            "/v1/statements",
            "List statements (filter by account)",
            statements,
        )
        .read("/v1/statements/{id}", "Show a statement", statement)
        .read(
            "/v1/statements/{id}/file",
            "Download the original camt/MT940 file",
            statement_file,
        )
        .read(
            "/v1/accounts/{id}/balances",
            "Balances of an account",
            balances,
        )
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatementQuery {
    account: Option<Valid<AccountId>>,
}

async fn statements(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(q): QueryParams<StatementQuery>,
) -> Result<Json<Vec<Statement>>, ApiError> {
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    Ok(Json(match q.account {
        Some(account) => {
            let account = *account;
            let _: Account = tx.get(account).await?;
            tx.statements().list_for_account(account).await?
        }
        None => tx.list(Page::first(1000)).await?,
    }))
}

async fn statement(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Statement>, ApiError> {
    let id: StatementId = path_id(&id, "statement")?;
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    Ok(Json(tx.get(id).await?))
}

async fn statement_file(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: StatementId = path_id(&id, "statement")?;
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    let statement: Statement = tx.get(id).await?;
    let file_id = statement
        .file_id
        .ok_or(ApiError::NotFound("statement file"))?;
    let file: StoredFile = tx.get(file_id).await?;
    file_response(&state, &file).await
}

async fn balances(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<Balance>>, ApiError> {
    let id: AccountId = path_id(&id, "account")?;
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    let _: Account = tx.get(id).await?;
    Ok(Json(tx.statements().balances(id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BookingQuery {
    account: Option<Valid<AccountId>>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    /// Cursor from the previous page (`next`): `<booking date>/<id>`.
    after: Option<String>,
    limit: Option<u32>,
}

fn parse_cursor(cursor: &str) -> Result<(NaiveDate, BookedTransactionId), ApiError> {
    let bad = || ApiError::invalid("invalid_cursor", "after must be a cursor from `next`");
    let (date, id) = cursor.split_once('/').ok_or_else(bad)?;
    Ok((
        date.parse().map_err(|_| bad())?,
        id.parse().map_err(|_| bad())?,
    ))
}

/// Validates the query into a filter; an account of another tenant answers 404.
async fn filter_of(
    state: &AppState,
    caller: &Caller,
    q: BookingQuery,
    default_limit: u32,
) -> Result<BookingFilter, ApiError> {
    let account = q.account.map(Valid::into_inner);
    if let (Some(from), Some(to)) = (q.from, q.to) {
        if from > to {
            return Err(ApiError::invalid("invalid_date_range", "from is after to"));
        }
    }
    if let Some(account) = account {
        let mut tx = state.store.scope(&caller.scope).begin().await?;
        let _: Account = tx.get(account).await?;
    }
    Ok(BookingFilter {
        account_id: account,
        from: q.from,
        to: q.to,
        after: q.after.as_deref().map(parse_cursor).transpose()?,
        limit: q.limit.unwrap_or(default_limit).clamp(1, 1000),
    })
}

#[derive(Serialize)]
struct BookingPage {
    items: Vec<BookedTransaction>,
    /// Pass as `after` to get the next page; absent on the last page.
    next: Option<String>,
}

async fn bookings(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(q): QueryParams<BookingQuery>,
) -> Result<Json<BookingPage>, ApiError> {
    let filter = filter_of(&state, &caller, q, 100).await?;
    let items = state
        .store
        .scope(&caller.scope)
        .begin()
        .await?
        .statements()
        .bookings(&filter)
        .await?;
    let next = (items.len() == filter.limit as usize)
        .then(|| items.last().map(|b| format!("{}/{}", b.booking_date, b.id)))
        .flatten();
    Ok(Json(BookingPage { items, next }))
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
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(q): QueryParams<BookingQuery>,
) -> Result<Response, ApiError> {
    let mut filter = filter_of(&state, &caller, q, 1000).await?;
    filter.limit = 1000;
    let mut out = String::from(
        "id,account_id,booking_date,value_date,credit_debit,amount,currency,counterparty_name,counterparty_iban,remittance,bank_reference,end_to_end_id\r\n",
    );
    loop {
        let page = state
            .store
            .scope(&caller.scope)
            .begin()
            .await?
            .statements()
            .bookings(&filter)
            .await?;
        for b in &page {
            let fields = [
                b.id.to_string(),
                b.account_id.to_string(),
                b.booking_date.to_string(),
                b.value_date.map(|d| d.to_string()).unwrap_or_default(),
                b.credit_debit.clone(),
                b.amount.clone(),
                b.currency.clone(),
                b.counterparty_name.clone().unwrap_or_default(),
                b.counterparty_iban.clone().unwrap_or_default(),
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
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"booked-transactions.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}
