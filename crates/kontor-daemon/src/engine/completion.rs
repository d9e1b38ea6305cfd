//! Order completion from the bank's customer status report (HAC, pain.002).
//!
//! After upload an order is PROCESSING: the bank has it, but may still reject it (limits,
//! funds, a cancelled VEU). HAC lists the partner's orders with their status; orders of the
//! same connection are matched by bank order id and settled through [`orders::complete`].
//! Pending entries (e.g. waiting for VEU signatures) are left alone.

use std::collections::HashMap;

use kontor_documents::status_report::{self, OrderStatus as ReportStatus};
use kontor_protocol::order_type::OrderType;
use kontor_storage::{
    ConnectionId, EbicsUser, EbicsUserId, EbicsUserStatus, Order, OrderId, OrderStatus, TenantScope,
};

use super::orders::{self, BankVerdict};
use super::{DownloadOutcome, DownloadRequest, Engine, EngineError};

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

impl Engine {
    /// Downloads HAC for `user` and settles the PROCESSING orders of the user's connection
    /// that the report lists as accepted or rejected.
    pub async fn sync_order_status(
        &self,
        scope: &TenantScope,
        user: EbicsUserId,
    ) -> Result<CompletionReport, EngineError> {
        let connection = {
            let mut tx = self.store().scope(scope).begin().await?;
            let user: EbicsUser = tx.get(user).await?;
            user.connection_id
        };
        if self.processing_orders(scope, connection).await?.is_empty() {
            return Ok(CompletionReport::default());
        }
        let outcome = self
            .download(scope, user, DownloadRequest::new(OrderType::HAC))
            .await?;
        let DownloadOutcome::Data { file, .. } = outcome else {
            return Ok(CompletionReport::default());
        };
        let bytes = self.read_file(scope, &file).await?;
        let report = status_report::parse_bytes(&bytes)
            .map_err(|e| EngineError::Protocol(format!("HAC unreadable: {e}")))?;

        let mut result = CompletionReport::default();
        let mut tx = self.store().scope(scope).begin().await?;
        for order in self.processing_orders_in(&mut tx, connection).await? {
            let Some(entry) = order
                .bank_order_id
                .as_deref()
                .and_then(|id| report.order(id))
            else {
                continue;
            };
            match entry.status {
                ReportStatus::Accepted => {
                    orders::complete(&mut tx, order.id, BankVerdict::Executed)
                        .await
                        .map_err(order_error)?;
                    result.completed.push(order.id);
                }
                ReportStatus::Rejected => {
                    let verdict = BankVerdict::Refused {
                        code: entry.reason_code.clone().unwrap_or_else(|| "RJCT".into()),
                        text: entry
                            .reason_text
                            .clone()
                            .unwrap_or_else(|| "rejected by the bank".into()),
                    };
                    orders::complete(&mut tx, order.id, verdict)
                        .await
                        .map_err(order_error)?;
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
    pub async fn sync_all_order_status(&self) -> Result<CompletionReport, EngineError> {
        let mut total = CompletionReport::default();
        for tenant in self.store().admin().list_tenants().await? {
            let scope = TenantScope::system_job(tenant.id, "order-completion");
            let users: Vec<EbicsUser> = {
                let mut tx = self.store().scope(&scope).begin().await?;
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
                match self.sync_order_status(&scope, user.id).await {
                    Ok(report) => total.absorb(report),
                    Err(error) => {
                        tracing::warn!(user = %user.id, %error, "order status sync failed")
                    }
                }
            }
        }
        Ok(total)
    }

    /// Runs [`Engine::sync_all_order_status`] every `every` for the daemon's lifetime.
    pub fn spawn_completion_loop(&self, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
        let engine = self.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every);
            loop {
                ticker.tick().await;
                if let Err(error) = engine.sync_all_order_status().await {
                    tracing::warn!(%error, "order status sweep failed");
                }
            }
        })
    }

    async fn processing_orders(
        &self,
        scope: &TenantScope,
        connection: ConnectionId,
    ) -> Result<Vec<Order>, EngineError> {
        let mut tx = self.store().scope(scope).begin().await?;
        let orders = self.processing_orders_in(&mut tx, connection).await?;
        tx.commit().await?;
        Ok(orders)
    }

    async fn processing_orders_in(
        &self,
        tx: &mut kontor_storage::ScopedTx<'_>,
        connection: ConnectionId,
    ) -> Result<Vec<Order>, EngineError> {
        let mut out = Vec::new();
        for order in tx.orders().list_by_status(OrderStatus::Processing).await? {
            let user: EbicsUser = tx.get(order.ebics_user_id).await?;
            if user.connection_id == connection {
                out.push(order);
            }
        }
        Ok(out)
    }
}

fn order_error(error: orders::OrderError) -> EngineError {
    match error {
        orders::OrderError::Storage(e) => EngineError::Storage(e),
        other => EngineError::Precondition(other.to_string()),
    }
}
