//! Order completion from the bank's customer status report (HAC, pain.002).
//!
//! After upload an order is PROCESSING: the bank has it, but may still reject it (limits,
//! funds, a cancelled VEU). HAC lists the partner's orders with their status; orders of the
//! same connection are matched by bank order id and settled through [`complete`].
//! Pending entries (e.g. waiting for VEU signatures) are left alone.

use std::collections::HashMap;

use kontor_documents::status_report::{self, OrderStatus as ReportStatus};
use kontor_protocol::order_type::OrderType;
use kontor_storage::{
    ConnectionId, EbicsUser, EbicsUserId, EbicsUserStatus, Order, OrderId, OrderStatus, ScopedTx,
    Store, TenantScope,
};

use super::submit::{complete, BankVerdict};
use super::OrderError;
use crate::ebics::{DownloadRequest, EbicsError};
use crate::services::bank::{AsUser, Bank, Delivery};

/// What one status sync settled.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompletionReport {
    pub completed: Vec<OrderId>,
    pub rejected: Vec<OrderId>,
    /// PROCESSING orders the report lists as not final yet.
    pub pending: usize,
}

impl CompletionReport {
    fn absorb(&mut self, other: CompletionReport) {
        self.completed.extend(other.completed);
        self.rejected.extend(other.rejected);
        self.pending += other.pending;
    }
}

/// Why a status sync failed.
#[derive(Debug, thiserror::Error)]
pub enum CompletionError {
    #[error(transparent)]
    Bank(#[from] EbicsError),
    #[error("HAC unreadable: {0}")]
    Unreadable(String),
    #[error(transparent)]
    Order(#[from] OrderError),
    #[error(transparent)]
    Storage(#[from] kontor_storage::StorageError),
}

/// Downloads HAC for `user` and settles the PROCESSING orders of the user's connection that
/// the report lists as accepted or rejected.
pub async fn sync_order_status(
    store: &Store,
    bank: &dyn Bank,
    scope: &TenantScope,
    user: EbicsUserId,
) -> Result<CompletionReport, CompletionError> {
    let connection = {
        let mut tx = store.scope(scope).begin().await?;
        let user: EbicsUser = tx.get(user).await?;
        user.connection_id
    };
    {
        let mut tx = store.scope(scope).begin().await?;
        if processing_orders(&mut tx, connection).await?.is_empty() {
            return Ok(CompletionReport::default());
        }
    }
    let delivery = bank
        .download(AsUser { scope, user }, DownloadRequest::new(OrderType::HAC))
        .await?;
    let Delivery::Data { file, .. } = delivery else {
        return Ok(CompletionReport::default());
    };
    let bytes = bank.files().content(&file).await?;
    let report = status_report::parse_bytes(&bytes)
        .map_err(|e| CompletionError::Unreadable(e.to_string()))?;

    let mut result = CompletionReport::default();
    let mut tx = store.scope(scope).begin().await?;
    for order in processing_orders(&mut tx, connection).await? {
        let Some(entry) = order
            .bank_order_id
            .as_deref()
            .and_then(|id| report.order(id))
        else {
            continue;
        };
        crate::services::payments::record_transfer_statuses(&mut tx, &order, &entry.transactions)
            .await?;
        match entry.status {
            ReportStatus::Accepted => {
                complete(&mut tx, order.id, BankVerdict::Executed).await?;
                result.completed.push(order.id);
            }
            ReportStatus::Rejected => {
                let verdict = BankVerdict::Refused {
                    code: entry.reason_code.as_deref().unwrap_or("RJCT").into(),
                    text: entry
                        .reason_text
                        .clone()
                        .unwrap_or_else(|| "rejected by the bank".into()),
                };
                complete(&mut tx, order.id, verdict).await?;
                result.rejected.push(order.id);
            }
            ReportStatus::Pending => result.pending += 1,
        }
    }
    tx.commit().await?;
    if result != CompletionReport::default() {
        tracing::info!(
            completed = result.completed.len(),
            rejected = result.rejected.len(),
            pending = result.pending,
            "order status synced from HAC"
        );
    }
    Ok(result)
}

/// One status sync per connection with PROCESSING orders, in every tenant, through one
/// READY user of that connection.
async fn sync_all_order_status(
    store: &Store,
    bank: &dyn Bank,
) -> Result<CompletionReport, CompletionError> {
    let mut total = CompletionReport::default();
    for tenant in store.admin().list_tenants().await? {
        let scope = TenantScope::system_job(tenant.id, "order-completion");
        let users: Vec<EbicsUser> = {
            let mut tx = store.scope(&scope).begin().await?;
            let mut by_connection: HashMap<ConnectionId, EbicsUser> = HashMap::new();
            for order in tx.orders().list_by_status(OrderStatus::Processing).await? {
                let user: EbicsUser = tx.get(order.ebics_user_id).await?;
                if user.status == EbicsUserStatus::Ready {
                    by_connection.entry(user.connection_id).or_insert(user);
                }
            }
            by_connection.into_values().collect()
        };
        for user in users {
            match sync_order_status(store, bank, &scope, user.id).await {
                Ok(report) => total.absorb(report),
                Err(error) => {
                    tracing::warn!(user = %user.id, %error, "order status sync failed")
                }
            }
        }
    }
    Ok(total)
}

async fn processing_orders(
    tx: &mut ScopedTx<'_>,
    connection: ConnectionId,
) -> Result<Vec<Order>, CompletionError> {
    let mut out = Vec::new();
    for order in tx.orders().list_by_status(OrderStatus::Processing).await? {
        let user: EbicsUser = tx.get(order.ebics_user_id).await?;
        if user.connection_id == connection {
            out.push(order);
        }
    }
    Ok(out)
}

/// Runs [`sync_all_order_status`] every `every` for the daemon's lifetime.
pub fn spawn_completion_loop(
    services: super::super::Services,
    every: std::time::Duration,
) -> tokio::task::JoinHandle<()> {
    super::super::every(every, move || {
        let services = services.clone();
        async move {
            let Ok(bank) = services.bank() else { return };
            if let Err(error) = sync_all_order_status(services.store(), bank).await {
                tracing::warn!(%error, "order status sweep failed");
            }
        }
    })
}
