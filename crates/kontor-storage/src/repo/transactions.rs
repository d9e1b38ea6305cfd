//! Segmented EBICS transactions, their segments and their append-only event trail.

use chrono::{DateTime, Utc};
use kontor_protocol::order_type::OrderType;

use super::{entity, repository};
use crate::db::{now, record, to_json, RowReader, Val};
use crate::error::{Result, StorageError};
use crate::ids::{EbicsUserId, EventId, FileId, OrderId, SegmentId, TransactionId};
use crate::status::{
    Direction, ResultCode, SegmentStatus, TransactionEventKind, TransactionPhase, TransferEffect,
    WebhookEventType,
};

record! {
    /// One upload or download as EBICS runs it: initialisation, transfer of segments, receipt.
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
    #[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
    pub struct Transaction {
        pub id: TransactionId,
        #[new] pub ebics_user_id: EbicsUserId,
        /// The bank's TransactionID (hex), known after initialisation.
        pub bank_transaction_id: Option<String>,
        #[new] pub direction: Direction,
        pub phase: TransactionPhase,
        #[new] pub order_type: OrderType,
        #[new] pub btf_params: Option<serde_json::Value>,
        #[new] pub order_id: Option<OrderId>,
        #[new] pub file_id: Option<FileId>,
        #[new] pub num_segments: Option<i64>,
        /// Highest segment number the other side has acknowledged; recovery restarts after it.
        pub last_acknowledged_segment: i64,
        /// What recovery needs (e.g. the wrapped transaction key, the spool file path).
        pub recovery: serde_json::Value,
        pub failure_code: Option<ResultCode>,
        pub failure_text: Option<String>,
        pub lease_owner: Option<String>,
        pub lease_expires_at: Option<DateTime<Utc>>,
        /// The business effect of the finished transfer, if it has one.
        #[new] pub effect: Option<TransferEffect>,
        /// When the effect was applied (or given up, then with `effect_error`).
        pub effect_done_at: Option<DateTime<Utc>>,
        /// Failed attempts to apply the effect; the sweep gives up after a bound.
        pub effect_attempts: i64,
        pub effect_error: Option<String>,
        /// Recovery passes that took this transaction up; recovery gives up after a bound.
        pub recovery_attempts: i64,
        pub created_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
    }
    #[derive(Debug, Clone)]
    pub struct NewTransaction;
}

impl Transaction {
    /// Whether the transfer is over and its business effect still has to be applied.
    pub fn effect_pending(&self) -> bool {
        self.phase.is_final() && self.effect.is_some() && self.effect_done_at.is_none()
    }
}
entity!(
    Transaction,
    TransactionId,
    "transactions",
    "transaction",
    Deletable
);

record! {
    /// One segment of a transaction.
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
    #[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
    pub struct Segment {
        pub id: SegmentId,
        pub transaction_id: TransactionId,
        pub number: i64,
        pub is_last: bool,
        pub status: SegmentStatus,
        /// SHA-256 of the segment's bytes, lower-case hex.
        pub checksum: String,
        pub size: i64,
        pub retry_count: i64,
        pub updated_at: DateTime<Utc>,
    }
}

entity!(Segment, SegmentId, "segments", "segment", Deletable);

record! {
    /// An entry in a transaction's audit trail. Never updated or deleted.
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
    #[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
    pub struct TransactionEvent {
        pub id: EventId,
        pub transaction_id: TransactionId,
        /// 1, 2, 3, ... per transaction.
        pub seq: i64,
        pub kind: TransactionEventKind,
        pub context: serde_json::Value,
        pub created_at: DateTime<Utc>,
    }
}

// Not `Deletable`: the trail is append-only.
entity!(
    TransactionEvent,
    EventId,
    "transaction_events",
    "transaction event"
);

repository!(
    /// Transactions of the scope's tenant.
    Transactions,
    transactions
);

impl Transactions<'_, '_> {
    /// Creates a transaction in INITIALISATION and records the INITIALISED event.
    pub async fn create(&mut self, new: NewTransaction) -> Result<Transaction> {
        let id = TransactionId::new();
        let at = now();
        self.tx
            .insert::<Transaction>(&new.into_row([
                ("id", id.to_db().into()),
                ("phase", TransactionPhase::Initialisation.as_str().into()),
                ("last_acknowledged_segment", 0i64.into()),
                ("recovery", "{}".into()),
                ("created_at", at.into()),
                ("updated_at", at.into()),
            ]))
            .await?;
        self.append_event(id, TransactionEventKind::Initialised, serde_json::json!({}))
            .await?;
        self.tx.get(id).await
    }

    /// Moves the phase (compare-and-set through the state machine) and records `event`.
    pub async fn set_phase(
        &mut self,
        id: TransactionId,
        from: TransactionPhase,
        to: TransactionPhase,
        event: TransactionEventKind,
        context: serde_json::Value,
    ) -> Result<Transaction> {
        let mut extra: Vec<(&str, Val)> = vec![("updated_at", now().into())];
        if matches!(to, TransactionPhase::Failed | TransactionPhase::Aborted) {
            let text = |key: &str| context.get(key).and_then(|v| v.as_str());
            extra.push(("failure_code", text("code").map(ResultCode::from).into()));
            extra.push(("failure_text", text("text").map(str::to_owned).into()));
        }
        // A finished transfer frees its lease, unless its business effect is still to be
        // applied: then the lease keeps the effect with the worker that finished the transfer
        // (it applies it next), and the effect sweep takes it only when the lease expires.
        if to.is_final() {
            let current: Transaction = self.tx.get(id).await?;
            if current.effect.is_none() || current.effect_done_at.is_some() {
                extra.push(("lease_owner", Val::Text(None)));
                extra.push(("lease_expires_at", Val::Text(None)));
            }
        }
        self.tx
            .set_status(id, "phase", from, to, TransactionPhase::transition, &extra)
            .await?;
        self.append_event(id, event, context).await?;
        let transaction: Transaction = self.tx.get(id).await?;
        // Every transfer ends here; a failed one is a webhook event in the same transaction.
        if to == TransactionPhase::Failed {
            let data = serde_json::json!({
                "transaction_id": transaction.id,
                "ebics_user_id": transaction.ebics_user_id,
                "order_type": transaction.order_type,
                "order_id": transaction.order_id,
                "direction": transaction.direction,
                "failure_code": transaction.failure_code,
                "failure_text": transaction.failure_text,
            });
            self.tx
                .webhooks()
                .emit(WebhookEventType::TransactionFailed, data)
                .await?;
        }
        Ok(transaction)
    }

    /// Records the bank's transaction id and segment count after initialisation.
    pub async fn set_bank_transaction(
        &mut self,
        id: TransactionId,
        bank_transaction_id: &str,
        num_segments: Option<i64>,
    ) -> Result<()> {
        let columns = [
            ("bank_transaction_id", bank_transaction_id.into()),
            ("num_segments", num_segments.into()),
        ];
        self.tx.touch(id, columns).await
    }

    pub async fn set_recovery(
        &mut self,
        id: TransactionId,
        recovery: &serde_json::Value,
    ) -> Result<()> {
        self.tx
            .touch(id, [("recovery", to_json(recovery).into())])
            .await
    }

    pub async fn set_file(&mut self, id: TransactionId, file: FileId) -> Result<()> {
        self.tx.touch(id, [("file_id", file.into())]).await
    }

    /// Records that the other side holds segments up to `number`. Never moves backwards.
    pub async fn acknowledge_up_to(&mut self, id: TransactionId, number: i64) -> Result<()> {
        let tenant = self.tx.tenant_val();
        // Unchanged when already acknowledged: fine.
        self.tx
            .update_if(
                id,
                "UPDATE transactions SET last_acknowledged_segment = $1, updated_at = $2 \
                 WHERE id = $3 AND tenant_id = $4 AND last_acknowledged_segment < $1",
                &[number.into(), now().into(), id.to_db().into(), tenant],
            )
            .await?;
        Ok(())
    }

    /// Takes or renews the lease of one transaction for `owner` until `until`, so recovery in
    /// this or another instance leaves a transaction alone while its owner works on it.
    /// Fails with `StaleStatus` when another owner holds an unexpired lease.
    pub async fn hold_lease(
        &mut self,
        id: TransactionId,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<()> {
        let tenant = self.tx.tenant_val();
        let held = self
            .tx
            .update_if(
                id,
                "UPDATE transactions SET lease_owner = $1, lease_expires_at = $2 \
                 WHERE id = $3 AND tenant_id = $4 \
                 AND (lease_owner IS NULL OR lease_owner = $1 OR lease_expires_at IS NULL OR lease_expires_at < $5)",
                &[owner.into(), until.into(), id.to_db().into(), tenant, now.into()],
            )
            .await?;
        if !held {
            return Err(StorageError::StaleStatus {
                entity: "transaction",
                expected: "a free lease",
            });
        }
        Ok(())
    }

    /// Gives up the lease so recovery may take the transaction at once.
    pub async fn release_lease(&mut self, id: TransactionId, owner: &str) -> Result<()> {
        let tenant = self.tx.tenant_val();
        self.tx
            .execute(
                "UPDATE transactions SET lease_owner = NULL, lease_expires_at = NULL \
                 WHERE id = $1 AND tenant_id = $2 AND lease_owner = $3",
                &[id.to_db().into(), tenant, owner.into()],
            )
            .await?;
        Ok(())
    }

    /// Marks the transfer's business effect as applied (`error: None`) or given up (with the
    /// reason), and frees the lease. Call it in the database transaction that applied the
    /// effect, so effect and mark commit together. `false` when it was already done.
    pub async fn finish_effect(&mut self, id: TransactionId, error: Option<&str>) -> Result<bool> {
        let tenant = self.tx.tenant_val();
        self.tx
            .update_if(
                id,
                "UPDATE transactions SET effect_done_at = $1, effect_error = $2, \
                 lease_owner = NULL, lease_expires_at = NULL, updated_at = $1 \
                 WHERE id = $3 AND tenant_id = $4 AND effect IS NOT NULL AND effect_done_at IS NULL",
                &[now().into(), error.into(), id.to_db().into(), tenant],
            )
            .await
    }

    /// Records that a finished transfer's effect was decided after all (an operator settled
    /// what the sweep could not, possibly after it gave up): done, with no error left.
    pub async fn settle_effect(&mut self, id: TransactionId) -> Result<()> {
        let tenant = self.tx.tenant_val();
        let at = now();
        self.tx
            .update_if(
                id,
                "UPDATE transactions SET effect_done_at = $1, effect_error = NULL, \
                 lease_owner = NULL, lease_expires_at = NULL, updated_at = $1 \
                 WHERE id = $2 AND tenant_id = $3 AND effect IS NOT NULL",
                &[at.into(), id.to_db().into(), tenant],
            )
            .await?;
        Ok(())
    }

    /// Counts a failed attempt to apply the effect, with its reason; returns the attempts so
    /// far. The effect stays pending for a later attempt.
    pub async fn effect_attempt_failed(&mut self, id: TransactionId, error: &str) -> Result<i64> {
        let tenant = self.tx.tenant_val();
        self.tx
            .execute(
                "UPDATE transactions SET effect_attempts = effect_attempts + 1, effect_error = $1, \
                 updated_at = $2 WHERE id = $3 AND tenant_id = $4",
                &[error.into(), now().into(), id.to_db().into(), tenant],
            )
            .await?;
        let current: Transaction = self.tx.get(id).await?;
        Ok(current.effect_attempts)
    }

    /// Records why the effect waits for an operator rather than for a retry (e.g. the bank's
    /// new keys await verification), without counting an attempt, and frees `owner`'s lease
    /// so a later pass looks again.
    pub async fn effect_waits(&mut self, id: TransactionId, owner: &str, why: &str) -> Result<()> {
        let tenant = self.tx.tenant_val();
        self.tx
            .execute(
                "UPDATE transactions SET effect_error = $1, lease_owner = NULL, \
                 lease_expires_at = NULL, updated_at = $2 \
                 WHERE id = $3 AND tenant_id = $4 AND lease_owner = $5 AND effect_done_at IS NULL",
                &[
                    why.into(),
                    now().into(),
                    id.to_db().into(),
                    tenant,
                    owner.into(),
                ],
            )
            .await?;
        Ok(())
    }

    /// Counts one recovery pass over the transaction; returns the passes so far.
    pub async fn count_recovery_attempt(&mut self, id: TransactionId) -> Result<i64> {
        let tenant = self.tx.tenant_val();
        self.tx
            .execute(
                "UPDATE transactions SET recovery_attempts = recovery_attempts + 1, \
                 updated_at = $1 WHERE id = $2 AND tenant_id = $3",
                &[now().into(), id.to_db().into(), tenant],
            )
            .await?;
        let current: Transaction = self.tx.get(id).await?;
        Ok(current.recovery_attempts)
    }

    /// The user's transactions, oldest first.
    pub async fn list_for_user(&mut self, user: EbicsUserId) -> Result<Vec<Transaction>> {
        self.tx.list_where("ebics_user_id", user).await
    }

    pub async fn list_for_order(&mut self, order: OrderId) -> Result<Vec<Transaction>> {
        self.tx.list_where("order_id", order).await
    }

    /// Appends to the audit trail with the next sequence number.
    pub async fn append_event(
        &mut self,
        transaction: TransactionId,
        kind: TransactionEventKind,
        context: serde_json::Value,
    ) -> Result<TransactionEvent> {
        let tenant = self.tx.tenant_val();
        let row = self
            .tx
            .fetch_one(
                "SELECT COALESCE(MAX(seq), 0) AS last FROM transaction_events WHERE tenant_id = $1 AND transaction_id = $2",
                &[tenant, transaction.to_db().into()],
            )
            .await?;
        let seq = RowReader(&row).int("last")? + 1;
        let id = EventId::new();
        self.tx
            .create(
                id,
                &[
                    ("transaction_id", transaction.to_db().into()),
                    ("seq", seq.into()),
                    ("kind", kind.as_str().into()),
                    ("context", to_json(&context).into()),
                    ("created_at", now().into()),
                ],
            )
            .await
    }

    /// The trail in order.
    pub async fn events(&mut self, transaction: TransactionId) -> Result<Vec<TransactionEvent>> {
        let mut events: Vec<TransactionEvent> =
            self.tx.list_where("transaction_id", transaction).await?;
        events.sort_by_key(|e| e.seq);
        Ok(events)
    }

    /// Records a segment (new segments start PENDING).
    pub async fn add_segment(
        &mut self,
        transaction: TransactionId,
        number: i64,
        is_last: bool,
        checksum: &str,
        size: i64,
    ) -> Result<Segment> {
        self.tx
            .create_new(&[
                ("transaction_id", transaction.to_db().into()),
                ("number", number.into()),
                ("is_last", is_last.into()),
                ("status", SegmentStatus::Pending.as_str().into()),
                ("checksum", checksum.into()),
                ("size", size.into()),
                ("retry_count", 0i64.into()),
                ("updated_at", now().into()),
            ])
            .await
    }

    pub async fn set_segment_status(
        &mut self,
        id: SegmentId,
        from: SegmentStatus,
        to: SegmentStatus,
    ) -> Result<Segment> {
        let extra: Vec<(&str, Val)> = vec![("updated_at", now().into())];
        self.tx
            .set_status(id, "status", from, to, SegmentStatus::transition, &extra)
            .await?;
        if from == SegmentStatus::Sent && to == SegmentStatus::Pending {
            let tenant = self.tx.tenant_val();
            self.tx
                .execute(
                    "UPDATE segments SET retry_count = retry_count + 1 WHERE id = $1 AND tenant_id = $2",
                    &[id.to_db().into(), tenant],
                )
                .await?;
        }
        self.tx.get(id).await
    }

    pub async fn segments(&mut self, transaction: TransactionId) -> Result<Vec<Segment>> {
        let mut segments: Vec<Segment> = self.tx.list_where("transaction_id", transaction).await?;
        segments.sort_by_key(|s| s.number);
        Ok(segments)
    }
}
