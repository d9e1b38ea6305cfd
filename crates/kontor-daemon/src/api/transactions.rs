//! `/v1/transactions`: EBICS transactions with their segments and append-only event trail.

use axum::Json;
use kontor_storage::{Segment, Transaction, TransactionEvent, TransactionId};

use super::auth::Caller;
use super::error::ApiError;
use super::extract::Id;
use super::extract::QueryParams;
use super::page::{ItemPage, PageQuery};
use super::records;
use super::Routes;

pub fn routes(routes: Routes) -> Routes {
    routes
        .read(
            "/v1/transactions",
            "List EBICS transactions",
            records::list_visible::<Transaction>,
        )
        .read(
            "/v1/transactions/{id}",
            "Show an EBICS transaction",
            records::show_granted::<TransactionId>,
        )
        .read(
            "/v1/transactions/{id}/segments",
            "Segments of a transaction",
            segments,
        )
        .read(
            "/v1/transactions/{id}/events",
            "Append-only event trail of a transaction",
            events,
        )
}

async fn segments(
    caller: Caller,
    Id(id): Id<TransactionId>,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<Json<ItemPage<Segment>>, ApiError> {
    let mut tx = caller.read().await?;
    caller.granted(&mut tx, id).await?;
    let all = tx.transactions().segments(id).await?;
    Ok(Json(ItemPage::of_all(all, &q, |s| s.id)?))
}

async fn events(
    caller: Caller,
    Id(id): Id<TransactionId>,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<Json<ItemPage<TransactionEvent>>, ApiError> {
    let mut tx = caller.read().await?;
    caller.granted(&mut tx, id).await?;
    let all = tx.transactions().events(id).await?;
    Ok(Json(ItemPage::of_all(all, &q, |e| e.id)?))
}
