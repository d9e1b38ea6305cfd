//! `/v1/transactions`: EBICS transactions with their segments and append-only event trail.

use axum::Json;
use kontor_storage::{Segment, Transaction, TransactionEvent, TransactionId};

use super::auth::Caller;
use super::error::ApiError;
use super::extract::Id;
use super::Routes;

pub fn routes(routes: Routes) -> Routes {
    routes
        .read("/v1/transactions", "List EBICS transactions", list)
        .read("/v1/transactions/{id}", "Show an EBICS transaction", show)
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

async fn list(caller: Caller) -> Result<Json<Vec<Transaction>>, ApiError> {
    let mut tx = caller.read().await?;
    Ok(Json(caller.visible(&mut tx).await?))
}

async fn show(caller: Caller, Id(id): Id<TransactionId>) -> Result<Json<Transaction>, ApiError> {
    let mut tx = caller.read().await?;
    Ok(Json(caller.granted(&mut tx, id).await?))
}

async fn segments(
    caller: Caller,
    Id(id): Id<TransactionId>,
) -> Result<Json<Vec<Segment>>, ApiError> {
    let mut tx = caller.read().await?;
    caller.granted(&mut tx, id).await?;
    Ok(Json(tx.transactions().segments(id).await?))
}

async fn events(
    caller: Caller,
    Id(id): Id<TransactionId>,
) -> Result<Json<Vec<TransactionEvent>>, ApiError> {
    let mut tx = caller.read().await?;
    caller.granted(&mut tx, id).await?;
    Ok(Json(tx.transactions().events(id).await?))
}
