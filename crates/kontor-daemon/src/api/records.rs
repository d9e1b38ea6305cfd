//! The list and show handlers that resources share word for word: a keyset page of a record
//! type, newest first, and one record by its id. A resource registers them for its own type
//! (`.read("/v1/accounts", "List accounts", records::list::<Account>)`); what differs between
//! types is only whether the caller's grants reach the records: tenant-wide records
//! ([`list`], [`show`]) or records of one EBICS user ([`list_visible`], [`show_granted`]).

use std::fmt::Display;
use std::str::FromStr;

use axum::Json;
use kontor_storage::{
    Account, BankHost, Connection, EbicsUser, Entity, EntityId, OfEbicsUser, Order, Schedule,
    Transaction, VeuItem,
};
use serde::Serialize;

use super::auth::{Caller, OfUser};
use super::error::ApiError;
use super::extract::{Id, PathId, QueryParams};
use super::page::{ItemPage, PageQuery};

/// A stored record that a list route pages through by its id (UUIDv7: creation order).
pub trait Listed: Entity<Id: EntityId + FromStr + Display> + Serialize {
    fn id(&self) -> Self::Id;
}

macro_rules! listed {
    ($($record:ty),+ $(,)?) => {$(
        impl Listed for $record {
            fn id(&self) -> Self::Id {
                self.id
            }
        }
    )+};
}

listed!(
    Account,
    BankHost,
    Connection,
    EbicsUser,
    Order,
    Schedule,
    Transaction,
    VeuItem
);

/// A keyset page of the tenant's records of a tenant-wide type (hosts, connections, ...).
pub async fn list<E: Listed>(
    caller: Caller,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<Json<ItemPage<E>>, ApiError> {
    let page = q.newest()?;
    let mut tx = caller.read().await?;
    let items: Vec<E> = tx.newest(page).await?;
    Ok(Json(ItemPage::keyset(items, page.limit, E::id)))
}

/// A keyset page of records of EBICS users, those the caller may see ([`Caller::visible`]).
pub async fn list_visible<E: Listed + OfEbicsUser>(
    caller: Caller,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<Json<ItemPage<E>>, ApiError> {
    let page = q.newest()?;
    let mut tx = caller.read().await?;
    let items: Vec<E> = caller.visible(&mut tx, page).await?;
    Ok(Json(ItemPage::keyset(items, page.limit, E::id)))
}

/// One record of a tenant-wide type.
pub async fn show<I>(caller: Caller, Id(id): Id<I>) -> Result<Json<I::Entity>, ApiError>
where
    I: EntityId + PathId,
    I::Entity: Serialize,
{
    let mut tx = caller.read().await?;
    Ok(Json(tx.get(id).await?))
}

/// One record of an EBICS user the caller may act for ([`Caller::granted`]).
pub async fn show_granted<I>(caller: Caller, Id(id): Id<I>) -> Result<Json<I::Entity>, ApiError>
where
    I: EntityId + PathId,
    I::Entity: OfUser + Serialize,
{
    let mut tx = caller.read().await?;
    Ok(Json(caller.granted(&mut tx, id).await?))
}
