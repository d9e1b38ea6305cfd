//! The bank's status of each transfer of a payment order (pain.002 `TxInfAndSts`), by
//! end-to-end id. A report replaces what an earlier one said: the bank's latest word counts,
//! so these rows are recorded, not moved through a state machine.

use chrono::{DateTime, Utc};

use super::repository;
use crate::db::{now, ts_to_db, RowReader, Val};
use crate::error::Result;
use crate::ids::OrderId;
use crate::status::TransferStatus;

/// How the bank reported one transfer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct TransferStatusRecord {
    pub end_to_end_id: String,
    pub status: TransferStatus,
    /// ISO external status reason code, e.g. `AC04`.
    pub reason_code: Option<String>,
    pub reported_at: DateTime<Utc>,
}

/// One transfer's status to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTransferStatus {
    pub end_to_end_id: String,
    pub status: TransferStatus,
    pub reason_code: Option<String>,
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
        let reported_at = ts_to_db(now());
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
                values.extend([
                    tenant.clone(),
                    order.to_db().into(),
                    status.end_to_end_id.clone().into(),
                    status.status.as_str().into(),
                    status.reason_code.clone().into(),
                    reported_at.clone().into(),
                ]);
            }
            let sql = format!(
                "INSERT INTO payment_transfer_statuses \
                 (tenant_id, order_id, end_to_end_id, status, reason_code, reported_at) VALUES {}",
                rows.join(", ")
            );
            self.tx.execute(&sql, &values).await?;
        }
        Ok(())
    }

    /// The recorded statuses of `order`, by end-to-end id.
    pub async fn list_for_order(&mut self, order: OrderId) -> Result<Vec<TransferStatusRecord>> {
        let rows = self
            .tx
            .fetch_all(
                "SELECT * FROM payment_transfer_statuses WHERE tenant_id = $1 AND order_id = $2 \
                 ORDER BY end_to_end_id",
                &[self.tx.tenant_val(), order.to_db().into()],
            )
            .await?;
        rows.iter()
            .map(|row| {
                let r = RowReader(row);
                Ok(TransferStatusRecord {
                    end_to_end_id: r.text("end_to_end_id")?,
                    status: r.enumeration("status")?,
                    reason_code: r.opt_text("reason_code")?,
                    reported_at: r.ts("reported_at")?,
                })
            })
            .collect()
    }
}
