//! Statement download schedules and the record of each run.

use chrono::{DateTime, Utc};
use kontor_protocol::order_type::{BtfService, OrderType};

use super::{entity, repository};
use crate::db::{now, record, Val};
use crate::error::Result;
use crate::ids::{AccountId, EbicsUserId, JobRunId, ScheduleId};
use crate::status::RunOutcome;

record! {
    /// A recurring download (cron expression in a time zone) for a user, optionally one account.
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
    #[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
    pub struct Schedule {
        pub id: ScheduleId,
        #[new] pub ebics_user_id: EbicsUserId,
        #[new] pub account_id: Option<AccountId>,
        /// A statement order type (`C53`, ...), or `BTD` with [`Schedule::btf_service`].
        #[new] pub order_type: OrderType,
        /// An explicit BTF service (EBICS 3.0 hosts only).
        #[new] pub btf_service: Option<BtfService>,
        #[new] pub cron: String,
        #[new] pub time_zone: String,
        pub enabled: bool,
        #[new] pub next_run_at: DateTime<Utc>,
        pub last_run_at: Option<DateTime<Utc>>,
        pub lease_owner: Option<String>,
        pub lease_expires_at: Option<DateTime<Utc>>,
        /// Since when the schedule's runs are held (its host's bank keys await verification).
        pub held_at: Option<DateTime<Utc>>,
        pub created_at: DateTime<Utc>,
    }
    #[derive(Debug, Clone)]
    pub struct NewSchedule;
}

entity!(Schedule, ScheduleId, "schedules", "schedule", Deletable);

record! {
    /// One execution of a schedule.
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
    #[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
    pub struct JobRun {
        pub id: JobRunId,
        pub schedule_id: ScheduleId,
        pub owner: String,
        pub started_at: DateTime<Utc>,
        pub finished_at: Option<DateTime<Utc>>,
        pub outcome: Option<RunOutcome>,
        pub detail: Option<String>,
    }
}

entity!(JobRun, JobRunId, "job_runs", "job run", Deletable);

repository!(
    /// Schedules of the scope's tenant.
    Schedules,
    schedules
);

impl Schedules<'_, '_> {
    pub async fn create(&mut self, new: NewSchedule) -> Result<Schedule> {
        self.tx
            .create_new(&new.into_row([("enabled", true.into()), ("created_at", now().into())]))
            .await
    }

    pub async fn set_enabled(&mut self, id: ScheduleId, enabled: bool) -> Result<Schedule> {
        self.tx.updated(id, &[("enabled", enabled.into())]).await
    }

    /// Finishes a leased run: records it, sets the next run time and releases the lease,
    /// but only if `owner` still holds the lease (a taken-over lease is not overwritten).
    pub async fn complete_run(
        &mut self,
        id: ScheduleId,
        owner: &str,
        started_at: DateTime<Utc>,
        next_run_at: DateTime<Utc>,
        outcome: RunOutcome,
        detail: Option<&str>,
    ) -> Result<Option<JobRun>> {
        let tenant = self.tx.tenant_val();
        let at = now();
        let held_at: Option<DateTime<Utc>> = (outcome == RunOutcome::Held).then_some(at);
        let still_held = self
            .tx
            .update_if(
                id,
                "UPDATE schedules SET next_run_at = $1, last_run_at = $2, lease_owner = NULL, lease_expires_at = NULL, held_at = $6 \
                 WHERE id = $3 AND tenant_id = $4 AND lease_owner = $5",
                &[next_run_at.into(), at.into(), id.to_db().into(), tenant, owner.into(), held_at.into()],
            )
            .await?;
        if !still_held {
            return Ok(None);
        }
        Ok(Some(
            self.insert_run(id, owner, started_at, at, outcome, detail)
                .await?,
        ))
    }

    /// Makes every held schedule of the users of `host` due at `at`: its bank keys were
    /// verified, so the held work resumes without waiting for its next cron time. Returns how
    /// many schedules were released.
    pub async fn release_held_for_host(
        &mut self,
        host: crate::ids::BankHostId,
        at: DateTime<Utc>,
    ) -> Result<u64> {
        let tenant = self.tx.tenant_val();
        Ok(self
            .tx
            .execute(
                "UPDATE schedules SET next_run_at = $1, held_at = NULL \
                 WHERE tenant_id = $2 AND held_at IS NOT NULL AND ebics_user_id IN ( \
                   SELECT u.id FROM ebics_users u JOIN bank_connections c \
                     ON c.id = u.connection_id AND c.tenant_id = u.tenant_id \
                   WHERE c.bank_host_id = $3 AND u.tenant_id = $2)",
                &[at.into(), tenant, host.to_db().into()],
            )
            .await?)
    }

    /// Records a run started by hand (outside the cron timing): the run is kept like a
    /// scheduled one and `last_run_at` advances, so the next scheduled run's period starts
    /// from it; `next_run_at` and any lease are left to the scheduler.
    pub async fn record_manual_run(
        &mut self,
        id: ScheduleId,
        owner: &str,
        started_at: DateTime<Utc>,
        outcome: RunOutcome,
        detail: Option<&str>,
    ) -> Result<JobRun> {
        let at = now();
        self.tx.update(id, &[("last_run_at", at.into())]).await?;
        self.insert_run(id, owner, started_at, at, outcome, detail)
            .await
    }

    /// Stores one finished run of a schedule, scheduled or manual.
    async fn insert_run(
        &mut self,
        id: ScheduleId,
        owner: &str,
        started_at: DateTime<Utc>,
        finished_at: DateTime<Utc>,
        outcome: RunOutcome,
        detail: Option<&str>,
    ) -> Result<JobRun> {
        let run = JobRunId::new();
        self.tx
            .create(
                run,
                &[
                    ("schedule_id", id.to_db().into()),
                    ("owner", owner.into()),
                    ("started_at", started_at.into()),
                    ("finished_at", finished_at.into()),
                    ("outcome", outcome.as_str().into()),
                    ("detail", Val::Text(detail.map(str::to_owned))),
                ],
            )
            .await
    }

    pub async fn runs(&mut self, id: ScheduleId) -> Result<Vec<JobRun>> {
        self.tx.list_where("schedule_id", id).await
    }
}
