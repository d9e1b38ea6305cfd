//! Bank connections (a partner at a host) and the accounts reachable through them.

use kontor_protocol::order_type::OrderType;
use kontor_storage::{Account, Connection, ConnectionId, NewAccount, NewConnection, ScopedTx};

use super::error::{OnConflict, Refusal, ServiceError};

/// Creates a connection with the order types the bank offers on it.
pub async fn create(
    tx: &mut ScopedTx<'_>,
    new: NewConnection,
    order_types: &[OrderType],
) -> Result<Connection, ServiceError> {
    super::hosts::active_host(tx, new.bank_host_id).await?;
    let connection = tx.connections().create(new).await?;
    set_order_types(tx, connection.id, order_types).await
}

/// Replaces the order types the bank offers on a connection.
pub async fn set_order_types(
    tx: &mut ScopedTx<'_>,
    id: ConnectionId,
    order_types: &[OrderType],
) -> Result<Connection, ServiceError> {
    let _: Connection = tx.get(id).await?;
    tx.connections().set_order_types(id, order_types).await?;
    Ok(tx.get(id).await?)
}

/// Adds an account to a connection; one IBAN once per connection.
pub async fn add_account(
    tx: &mut ScopedTx<'_>,
    connection: ConnectionId,
    new: NewAccount,
) -> Result<Account, ServiceError> {
    let _: Connection = tx.get(connection).await?;
    tx.accounts()
        .create(connection, new)
        .await
        .on_conflict(Refusal::AccountExists)
}
