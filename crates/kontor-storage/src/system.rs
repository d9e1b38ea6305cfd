//! Cross-tenant discovery of due work for the daemon's own jobs, with leases in the database.
//!
//! The scheduler must find due schedules and unfinished transactions of every tenant. This is
//! the one place that looks across tenants, and it only hands out *leases*: a tenant id plus a
//! record id wrapped in a [`TenantScope::system_job`], so all further work on the record goes
//! through the normal scoped repositories. Nothing here returns tenant data.
//!
//! Leases make several daemon instances on one PostgreSQL safe: a record is leased by one
//! owner until the lease expires; PostgreSQL uses `FOR UPDATE SKIP LOCKED` so concurrent
//! leasers skip each other's rows, SQLite serialises writers with `BEGIN IMMEDIATE`. An
//! instance that crashes loses its leases when they expire and another instance takes over.

use chrono::{DateTime, Duration, Utc};

use crate::db::{RowReader, Val};
use crate::engine::Tx;
use std::str::FromStr;

use crate::error::{Result, StorageError};
use crate::ids::{ScheduleId, TransactionId, WebhookDeliveryId};
use crate::status::{WebhookDeliveryStatus, WebhookSubscriptionStatus};
use crate::store::{Backend, Store, TenantScope};

/// A schedule leased to one daemon instance.
#[derive(Debug, Clone)]
pub struct LeasedSchedule {
    pub scope: TenantScope,
    pub schedule: ScheduleId,
    pub lease_expires_at: DateTime<Utc>,
}

/// An unfinished transaction leased for recovery.
#[derive(Debug, Clone)]
pub struct LeasedTransaction {
    pub scope: TenantScope,
    pub transaction: TransactionId,
    pub lease_expires_at: DateTime<Utc>,
}

/// A webhook delivery leased to one instance's delivery worker.
#[derive(Debug, Clone)]
pub struct LeasedDelivery {
    pub scope: TenantScope,
    pub delivery: WebhookDeliveryId,
    pub lease_expires_at: DateTime<Utc>,
}

/// The daemon's cross-tenant work finder.
pub struct System<'s> {
    store: &'s Store,
}

impl Store {
    pub fn system(&self) -> System<'_> {
        System { store: self }
    }
}

impl System<'_> {
    /// Begins a transaction that, on PostgreSQL, runs under row-level security like scoped
    /// work, with the leasing policy enabled. Role and policy switch in one round trip; both
    /// are transaction-local.
    async fn begin_leasing(&self) -> Result<Tx> {
        let mut tx = self.store.begin_raw().await?;
        if self.store.backend() == Backend::Postgres {
            tx.conn()
                .execute(
                    "SELECT set_config('role', 'kontor_app', true), \
                            set_config('kontor.system', 'lease', true)",
                    &[],
                )
                .await?;
        }
        Ok(tx)
    }

    /// Leases up to `terms.limit` rows of `due.table` that are due and free (no lease, or an
    /// expired one) to `terms.owner`, and wraps each in a system-job scope of its tenant.
    async fn lease<I, T>(
        &self,
        due: Due,
        due_values: Vec<Val>,
        terms: LeaseTerms<'_>,
        wrap: impl Fn(TenantScope, I, DateTime<Utc>) -> T,
    ) -> Result<Vec<T>>
    where
        I: FromStr,
        StorageError: From<I::Err>,
    {
        let LeaseTerms {
            owner,
            now,
            lease_for,
            limit,
        } = terms;
        let Due {
            table,
            condition,
            order_by,
            job,
        } = due;
        let expires = now + lease_for;
        let lock = match self.store.backend() {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let mut values: Vec<Val> = vec![
            owner.into(),
            expires.into(),
            now.into(),
            (limit as i64).into(),
        ];
        let offset = values.len();
        let due_condition = (1..=due_values.len())
            .rev()
            .fold(condition.to_owned(), |cond, i| {
                cond.replace(&format!("${i}"), &format!("${}", i + offset))
            });
        values.extend(due_values);
        let free = "(lease_expires_at IS NULL OR lease_expires_at < $3)";
        // Idle ticks are the common case. On SQLite one indexed read on the read pool answers
        // them without taking the write lock; it says only whether work exists, the lease
        // below decides which rows. (PostgreSQL's leasing UPDATE finds nothing as cheaply,
        // and reading there needs the leasing policy of a transaction anyway.)
        if self.store.backend() == Backend::Sqlite {
            // Ordered like the lease, so it walks the same index (schedules_due, transactions_open).
            let probe = format!(
                "SELECT 1 FROM {table} WHERE {due_condition} AND {free} ORDER BY {order_by} LIMIT 1"
            );
            // SQLite binds `$n` by number: the values the probe does not name are unused.
            let mut conn = self.store.read_pool().acquire().await?;
            if conn.conn().fetch_optional(&probe, &values).await?.is_none() {
                return Ok(Vec::new());
            }
        }
        let sql = format!(
            "UPDATE {table} SET lease_owner = $1, lease_expires_at = $2 WHERE id IN (\
                 SELECT id FROM {table} WHERE {due_condition} AND {free} \
                 ORDER BY {order_by} LIMIT $4{lock}) \
             RETURNING id, tenant_id, lease_expires_at"
        );
        let mut tx = self.begin_leasing().await?;
        let rows = tx.conn().fetch_all(&sql, &values).await?;
        tx.commit().await?;
        let job = format!("{job}:{owner}");
        rows.iter()
            .map(|r| {
                let r = RowReader(r);
                Ok(wrap(
                    TenantScope::system_job(r.text("tenant_id")?.parse()?, job.as_str()),
                    r.text("id")?.parse()?,
                    r.ts("lease_expires_at")?,
                ))
            })
            .collect()
    }

    /// Leases up to `terms.limit` enabled schedules whose next run is due and whose lease is
    /// free or expired.
    ///
    /// Due schedules are found through the `schedules_due` index (enabled, next_run_at) in its
    /// order, so the cost of a tick grows with the batch, not with the number of schedules
    /// (10 000 daily downloads included). An idle tick (every `idle_wait`, 15 s by default)
    /// costs one indexed read of the read pool on SQLite, and on PostgreSQL one short
    /// transaction (BEGIN, the role and policy switch, an UPDATE whose index range is empty,
    /// COMMIT): well under a millisecond of database time per tick.
    pub async fn lease_due_schedules(&self, terms: LeaseTerms<'_>) -> Result<Vec<LeasedSchedule>> {
        let due = Due {
            table: "schedules",
            condition: "enabled = $1 AND next_run_at <= $2",
            // Exactly the order of the schedules_due index (enabled, next_run_at): the
            // batch is read off the index's front. A tie-breaker outside the index (`id`)
            // would sort every schedule due at the same minute (all daily downloads at
            // 06:00) on each tick; among equal times the order does not matter.
            order_by: "next_run_at",
            job: "scheduler",
        };
        self.lease(
            due,
            vec![true.into(), terms.now.into()],
            terms,
            |scope, schedule, lease_expires_at| LeasedSchedule {
                scope,
                schedule,
                lease_expires_at,
            },
        )
        .await
    }

    /// Leases up to `terms.limit` transactions that are not finished and not leased by a live
    /// owner.
    pub async fn lease_unfinished_transactions(
        &self,
        terms: LeaseTerms<'_>,
    ) -> Result<Vec<LeasedTransaction>> {
        let unfinished = "phase NOT IN ('COMPLETED', 'FAILED', 'ABORTED')";
        self.lease_transactions(unfinished, "recovery", terms).await
    }

    /// Leases finished transactions whose business effect is still pending (see
    /// `TransferEffect`): left so by a crash between the transfer's end and its effect, or by
    /// a failed attempt. A live worker keeps its lease until it applied the effect itself.
    pub async fn lease_pending_effects(
        &self,
        terms: LeaseTerms<'_>,
    ) -> Result<Vec<LeasedTransaction>> {
        let effect_pending = "effect IS NOT NULL AND effect_done_at IS NULL \
                              AND phase IN ('COMPLETED', 'FAILED', 'ABORTED')";
        self.lease_transactions(effect_pending, "effects", terms)
            .await
    }

    /// Leases the transactions for which `condition` holds, oldest first, in the name of `job`.
    async fn lease_transactions(
        &self,
        condition: &'static str,
        job: &'static str,
        terms: LeaseTerms<'_>,
    ) -> Result<Vec<LeasedTransaction>> {
        let due = Due {
            table: "transactions",
            condition,
            order_by: "id",
            job,
        };
        self.lease(due, vec![], terms, LeasedTransaction::new).await
    }

    /// Leases up to `terms.limit` webhook deliveries that are due, whose subscription is
    /// enabled, and that are the oldest pending delivery of their subscription: a
    /// subscription's events go out one at a time and in order, across all instances.
    pub async fn lease_due_webhook_deliveries(
        &self,
        terms: LeaseTerms<'_>,
    ) -> Result<Vec<LeasedDelivery>> {
        let due = Due {
            table: "webhook_deliveries",
            condition: "status = $1 AND next_attempt_at <= $2 \
                 AND EXISTS (SELECT 1 FROM webhook_subscriptions s \
                     WHERE s.tenant_id = webhook_deliveries.tenant_id \
                     AND s.id = webhook_deliveries.subscription_id AND s.status = $3) \
                 AND NOT EXISTS (SELECT 1 FROM webhook_deliveries older \
                     WHERE older.subscription_id = webhook_deliveries.subscription_id \
                     AND older.status = $1 AND older.id < webhook_deliveries.id)",
            order_by: "next_attempt_at, id",
            job: "webhooks",
        };
        let values = vec![
            WebhookDeliveryStatus::Pending.as_str().into(),
            terms.now.into(),
            WebhookSubscriptionStatus::Enabled.as_str().into(),
        ];
        self.lease(due, values, terms, |scope, delivery, lease_expires_at| {
            LeasedDelivery {
                scope,
                delivery,
                lease_expires_at,
            }
        })
        .await
    }

    /// How many webhook deliveries of all tenants are pending (the queue depth metric).
    pub async fn pending_webhook_deliveries(&self) -> Result<i64> {
        let mut tx = self.begin_leasing().await?;
        let row = tx
            .conn()
            .fetch_optional(
                "SELECT COUNT(*) AS pending FROM webhook_deliveries WHERE status = $1",
                &[WebhookDeliveryStatus::Pending.as_str().into()],
            )
            .await?
            .ok_or(sqlx::Error::RowNotFound)?;
        tx.commit().await?;
        RowReader(&row).int("pending")
    }
}

/// Which rows one kind of lease takes: `condition` says when a row of `table` is due (its
/// `$1`, `$2`, ... name the values passed with it), `order_by` which go first, and `job`
/// names the leaser in the scopes handed out (`job:owner`).
struct Due {
    table: &'static str,
    condition: &'static str,
    order_by: &'static str,
    job: &'static str,
}

/// Who leases (a daemon instance), when, for how long and how many rows at most.
#[derive(Debug, Clone, Copy)]
pub struct LeaseTerms<'a> {
    pub owner: &'a str,
    pub now: DateTime<Utc>,
    pub lease_for: Duration,
    pub limit: u32,
}

impl LeasedTransaction {
    fn new(
        scope: TenantScope,
        transaction: TransactionId,
        lease_expires_at: DateTime<Utc>,
    ) -> Self {
        Self {
            scope,
            transaction,
            lease_expires_at,
        }
    }
}
