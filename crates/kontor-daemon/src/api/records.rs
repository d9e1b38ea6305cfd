//! The list and show handlers that resources share word for word: a keyset page of a record
//! type, newest first, one record by its id, and the short list under one record. A resource
//! registers them for its own type
//! (`.read("/v1/accounts", "List accounts", records::list::<Account>)`); what differs between
//! types is only whether the caller's grants reach the records: tenant-wide records
//! ([`list`], [`show`], [`children`]) or records of one EBICS user ([`list_visible`],
//! [`show_granted`], [`children_granted`]).

use std::fmt::Display;
use std::str::FromStr;

use axum::Json;
use kontor_storage::{
    Account, BankHost, Connection, EbicsUser, Entity, EntityId, OfEbicsUser, Order, Schedule,
    ScopedTx, Transaction, VeuItem,
};
use serde::Serialize;

use super::auth::{Caller, OfUser};
use super::error::ApiError;
use super::extract::{On, PathId, QueryParams};
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
pub async fn show<I>(On(caller, id): On<I>) -> Result<Json<I::Entity>, ApiError>
where
    I: EntityId + PathId,
    I::Entity: Serialize,
{
    let mut tx = caller.read().await?;
    Ok(Json(tx.get(id).await?))
}

/// One record of an EBICS user the caller may act for ([`Caller::granted`]).
pub async fn show_granted<I>(On(caller, id): On<I>) -> Result<Json<I::Entity>, ApiError>
where
    I: EntityId + PathId,
    I::Entity: OfUser + Serialize,
{
    let mut tx = caller.read().await?;
    Ok(Json(caller.granted(&mut tx, id).await?))
}

/// A short list under one record (`/v1/<records>/{id}/<children>`: a host's keys, a
/// transaction's segments, ...), read whole and paged in memory ([`ItemPage::of_all`]).
pub(super) trait Children: Serialize + Sized {
    /// The id of the record the list hangs under.
    type Parent: EntityId + PathId;
    /// The position of a child in its list.
    type Key: Ord + Display + FromStr;
    fn key(&self) -> Self::Key;
    /// The whole list; the caller's access to the parent is checked before.
    async fn read(tx: &mut ScopedTx<'_>, parent: Self::Parent)
        -> kontor_storage::Result<Vec<Self>>;
}

macro_rules! children {
    ($($child:ident: $key:ident under $parent:ident => |$tx:ident, $id:ident| $read:expr;)+) => {$(
        impl Children for kontor_storage::$child {
            type Parent = kontor_storage::$parent;
            type Key = kontor_storage::$key;
            fn key(&self) -> Self::Key {
                self.id
            }
            async fn read($tx: &mut ScopedTx<'_>, $id: Self::Parent) -> kontor_storage::Result<Vec<Self>> {
                $read.await
            }
        }
    )+};
}

children! {
    Balance: BalanceId under AccountId => |tx, id| tx.statements().balances(id);
    BankKey: BankKeyId under BankHostId => |tx, id| tx.bank_keys().list_for_host(id);
    WebhookAttempt: WebhookAttemptId under WebhookDeliveryId => |tx, id| tx.webhooks().attempts(id);
    Segment: SegmentId under TransactionId => |tx, id| tx.transactions().segments(id);
    TransactionEvent: EventId under TransactionId => |tx, id| tx.transactions().events(id);
    JobRun: JobRunId under ScheduleId => |tx, id| tx.schedules().runs(id);
    Permission: PermissionId under EbicsUserId => |tx, id| tx.permissions().list_for_user(id);
    // `KeyPair` never serialises its ciphertext: public information only.
    KeyPair: KeyPairId under EbicsUserId => |tx, id| tx.key_pairs().list_for_user(id);
}

/// The list under a tenant-wide record.
pub async fn children<E: Children>(
    On(caller, id): On<E::Parent>,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<Json<ItemPage<E>>, ApiError> {
    let page = q.newest()?;
    let mut tx = caller.read().await?;
    let _: <E::Parent as EntityId>::Entity = tx.get(id).await?;
    let all = E::read(&mut tx, id).await?;
    Ok(Json(ItemPage::of_all(all, page, E::key)))
}

/// The list under a record of an EBICS user the caller may act for ([`Caller::granted`]).
pub async fn children_granted<E>(
    On(caller, id): On<E::Parent>,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<Json<ItemPage<E>>, ApiError>
where
    E: Children<Parent: EntityId<Entity: OfUser>>,
{
    let page = q.newest()?;
    let mut tx = caller.read().await?;
    caller.granted(&mut tx, id).await?;
    let all = E::read(&mut tx, id).await?;
    Ok(Json(ItemPage::of_all(all, page, E::key)))
}
