//! Read-only listings: connections, accounts, EBICS users, orders, transactions and bookings.

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use chrono::NaiveDate;
use kontor_storage::{
    Account, BookedTransaction, BookedTransactionId, BookingFilter, Connection, EbicsUser,
    EbicsUserId, Order, Page, Transaction, TransactionEvent, TransactionId,
};
use serde::Deserialize;

use super::auth::Caller;
use super::error::ApiError;
use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/connections", get(connections))
        .route("/v1/accounts", get(accounts))
        .route("/v1/ebics-users", get(ebics_users))
        .route("/v1/orders", get(orders))
        .route("/v1/transactions", get(transactions))
        .route("/v1/transactions/{id}/events", get(events))
        .route("/v1/booked-transactions", get(bookings))
}

/// Lists up to 1000 records of `E` in the caller's tenant.
async fn list_all<E>(state: &AppState, caller: &Caller) -> Result<Vec<E>, ApiError>
where
    E: kontor_storage::Entity,
    E::Id: kontor_storage::EntityId,
{
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    Ok(tx.list(Page::first(1000)).await?)
}

/// Like [`list_all`], without records of EBICS users outside the caller's grants.
async fn list_granted<E>(
    state: &AppState,
    caller: &Caller,
    user_of: fn(&E) -> EbicsUserId,
) -> Result<Json<Vec<E>>, ApiError>
where
    E: kontor_storage::Entity,
    E::Id: kontor_storage::EntityId,
{
    let all: Vec<E> = list_all(state, caller).await?;
    Ok(Json(
        all.into_iter()
            .filter(|e| caller.require_user(user_of(e)).is_ok())
            .collect(),
    ))
}

async fn connections(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Connection>>, ApiError> {
    Ok(Json(list_all(&state, &caller).await?))
}

async fn accounts(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Account>>, ApiError> {
    Ok(Json(list_all(&state, &caller).await?))
}

async fn ebics_users(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<EbicsUser>>, ApiError> {
    list_granted(&state, &caller, |u: &EbicsUser| u.id).await
}

async fn orders(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Order>>, ApiError> {
    list_granted(&state, &caller, |o: &Order| o.ebics_user_id).await
}

async fn transactions(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Transaction>>, ApiError> {
    list_granted(&state, &caller, |t: &Transaction| t.ebics_user_id).await
}

async fn events(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<TransactionEvent>>, ApiError> {
    let id: TransactionId = id.parse().map_err(|_| ApiError::NotFound("transaction"))?;
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    let t: Transaction = tx.get(id).await?;
    caller.require_user(t.ebics_user_id)?;
    Ok(Json(tx.transactions().events(id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BookingQuery {
    account: Option<String>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    /// Cursor from the previous page: `<booking date>/<id>`.
    after: Option<String>,
    limit: Option<u32>,
}

async fn bookings(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<BookingQuery>,
) -> Result<Json<Vec<BookedTransaction>>, ApiError> {
    let account = q
        .account
        .map(|a| {
            a.parse()
                .map_err(|_| ApiError::invalid("invalid_id", "account is not a valid id"))
        })
        .transpose()?;
    let after = q
        .after
        .map(|cursor| {
            let (date, id) = cursor
                .split_once('/')
                .ok_or_else(|| ApiError::invalid("invalid_cursor", "after must be <date>/<id>"))?;
            let date: NaiveDate = date
                .parse()
                .map_err(|_| ApiError::invalid("invalid_cursor", "bad date in cursor"))?;
            let id: BookedTransactionId = id
                .parse()
                .map_err(|_| ApiError::invalid("invalid_cursor", "bad id in cursor"))?;
            Ok::<_, ApiError>((date, id))
        })
        .transpose()?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let filter = BookingFilter {
        account_id: account,
        from: q.from,
        to: q.to,
        after,
        limit,
    };
    Ok(Json(
        state
            .store
            .scope(&caller.scope)
            .begin()
            .await?
            .statements()
            .bookings(&filter)
            .await?,
    ))
}
