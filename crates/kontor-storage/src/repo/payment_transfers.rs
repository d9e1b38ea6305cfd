//! The bank's status of each transfer of a payment order (pain.002 `TxInfAndSts`), by
//! end-to-end id. A report replaces what an earlier one said: the bank's latest word counts,
//! so these rows are recorded, not moved through a state machine.

use chrono::{DateTime, Utc};

use super::repository;
use crate::db::{now, record, Val};
use crate::error::Result;
use crate::ids::OrderId;
use crate::status::TransferStatus;

record! {
    /// How the bank reported one transfer.
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
    #[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
    pub struct TransferStatusRecord {
        #[new] pub end_to_end_id: String,
        #[new] pub status: TransferStatus,
        /// ISO external status reason code, e.g. `AC04`.
        #[new] pub reason_code: Option<String>,
        pub reported_at: DateTime<Utc>,
    }
    /// One transfer's status to record.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct NewTransferStatus;
}

/// Rows per INSERT: well below SQLite's and PostgreSQL's limits on bound values.
const BATCH: usize = 500;

repository!(
    /// Per-transfer statuses of the scope's payment orders.
    PaymentTransfers,
    payment_transfers
);

impl PaymentTransfers<'_, '_> {
    /// Replaces the recorded statuses of `order` with `statuses`.
    pub async fn record(&mut self, order: OrderId, statuses: &[NewTransferStatus]) -> Result<()> {
        let tenant = self.tx.tenant_val();
        self.tx
            .execute(
                "DELETE FROM payment_transfer_statuses WHERE tenant_id = $1 AND order_id = $2",
                &[tenant.clone(), order.to_db().into()],
            )
            .await?;
        let reported_at: Val = now().into();
        for chunk in statuses.chunks(BATCH) {
            let mut values: Vec<Val> = Vec::with_capacity(chunk.len() * 6);
            let mut rows = Vec::with_capacity(chunk.len());
            for (i, status) in chunk.iter().enumerate() {
                let n = i * 6;
                rows.push(format!(
                    "(${}, ${}, ${}, ${}, ${}, ${})",
                    n + 1,
                    n + 2,
                    n + 3,
                    n + 4,
                    n + 5,
                    n + 6
                ));
                let row = status.clone().into_row([
                    ("order_id", order.into()),
                    ("reported_at", reported_at.clone()),
                ]);
                values.push(tenant.clone());
                values.extend(row.into_iter().map(|(_, value)| value));
            }
            let sql = format!(
                "INSERT INTO payment_transfer_statuses \
                 (tenant_id, end_to_end_id, status, reason_code, order_id, reported_at) VALUES {}",
                rows.join(", ")
            );
            self.tx.execute(&sql, &values).await?;
        }
        Ok(())
    }

    /// The recorded statuses of `order`, by end-to-end id.
    pub async fn list_for_order(&mut self, order: OrderId) -> Result<Vec<TransferStatusRecord>> {
        self.tx
            .fetch_all_as(
                "SELECT * FROM payment_transfer_statuses WHERE tenant_id = $1 AND order_id = $2 \
                 ORDER BY end_to_end_id",
                &[self.tx.tenant_val(), order.to_db().into()],
                TransferStatusRecord::read,
            )
            .await
    }
}
