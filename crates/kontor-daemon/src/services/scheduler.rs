//! The scheduler: runs due schedules (statement downloads) exactly once across any number of
//! daemon instances sharing one database.
//!
//! Nothing is decided in memory. Each tick leases due schedules in the database
//! ([`System::lease_due_schedules`](kontor_storage::system::System::lease_due_schedules): a row
//! lease with an expiry, `FOR UPDATE SKIP LOCKED` on PostgreSQL), runs them through a
//! [`JobRunner`], and completes each run with `schedules.complete_run`, which records the run,
//! sets the next due time and releases the lease in one compare-and-set on the lease owner.
//! An instance that dies holding leases loses them when they expire, and the next tick of any
//! instance takes the work over; a run that finishes after its lease was taken over is not
//! recorded (the new owner's run is).
//!
//! Leases must outlast a run: a job still running when its lease expires may run a second
//! time elsewhere. Statement jobs tolerate that (ingestion is idempotent); choose
//! [`SchedulerConfig::lease_for`] well above the longest download.

use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use kontor_storage::system::LeaseTerms;
use kontor_storage::{RunOutcome, Schedule, StorageError, Store, TenantScope};
use tokio::task::JoinSet;

/// A schedule's cron expression or time zone is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleSpecError {
    #[error("invalid cron expression {expression:?}: {message}")]
    Cron { expression: String, message: String },
    #[error("unknown time zone {0:?}")]
    TimeZone(String),
    #[error("cron expression {0:?} never fires again")]
    NeverFires(String),
}

/// When a schedule fires: a cron expression evaluated in a time zone (so "06:00 every
/// weekday" stays 06:00 local across daylight-saving changes).
#[derive(Debug, Clone)]
pub struct CronSpec {
    expression: String,
    schedule: cron::Schedule,
    zone: Tz,
}

impl CronSpec {
    /// Accepts the classic five fields (`min hour day month weekday`) or the `cron` crate's
    /// six/seven (with seconds, optional year).
    pub fn parse(expression: &str, time_zone: &str) -> Result<Self, ScheduleSpecError> {
        let fields = expression.split_whitespace().count();
        let normalised = if fields == 5 {
            format!("0 {expression}")
        } else {
            expression.to_owned()
        };
        let schedule =
            cron::Schedule::from_str(&normalised).map_err(|e| ScheduleSpecError::Cron {
                expression: expression.to_owned(),
                message: e.to_string(),
            })?;
        let zone = Tz::from_str(time_zone)
            .map_err(|_| ScheduleSpecError::TimeZone(time_zone.to_owned()))?;
        Ok(Self {
            expression: expression.to_owned(),
            schedule,
            zone,
        })
    }

    /// The first firing strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Result<DateTime<Utc>, ScheduleSpecError> {
        self.schedule
            .after(&after.with_timezone(&self.zone))
            .next()
            .map(|at| at.with_timezone(&Utc))
            .ok_or_else(|| ScheduleSpecError::NeverFires(self.expression.clone()))
    }
}

/// One leased, due schedule handed to a runner.
#[derive(Debug, Clone)]
pub struct DueJob {
    pub scope: TenantScope,
    pub schedule: Schedule,
    /// The tick's notion of "now": what the schedule was due against.
    pub now: DateTime<Utc>,
}

/// What a successful run reports (stored as the run's detail).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobOutcome {
    pub detail: Option<String>,
}

/// Why a run failed; stored with the run (as its text), and the schedule fires again at its
/// next time.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct JobFailed(pub Box<dyn std::error::Error + Send + Sync>);

/// A run that must wait for an operator rather than fail (its host's bank keys await
/// verification): recorded `HELD` with the reason, and the schedule is due again as soon as
/// the keys are verified (`schedules.release_held_for_host`), not only at its next time.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RunHeld(pub String);

/// Runs one due schedule. The network lives behind this trait so leasing is testable alone.
pub trait JobRunner: Send + Sync + 'static {
    fn run(&self, job: DueJob) -> impl Future<Output = Result<JobOutcome, JobFailed>> + Send;
}

/// How one scheduler instance behaves.
#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    /// This instance's lease owner name; unique per running instance.
    pub owner: String,
    pub lease_for: Duration,
    /// Schedules leased per tick.
    pub batch: u32,
    /// Jobs of one tick run at most this many at a time.
    pub concurrency: usize,
    /// Pause between ticks that found nothing to do.
    pub idle_wait: std::time::Duration,
}

impl SchedulerConfig {
    pub fn new(owner: impl Into<String>) -> Self {
        Self {
            owner: owner.into(),
            lease_for: Duration::minutes(15),
            batch: 16,
            concurrency: 4,
            idle_wait: std::time::Duration::from_secs(15),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// What one tick did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickReport {
    pub leased: usize,
    pub succeeded: usize,
    pub failed: usize,
    /// Runs held until an operator verifies the host's bank keys.
    pub held: usize,
    /// Runs whose lease was taken over by another instance before they completed.
    pub lost_lease: usize,
}

/// One scheduler instance.
pub struct Scheduler<R> {
    store: Store,
    runner: Arc<R>,
    config: SchedulerConfig,
}

impl<R: JobRunner> Scheduler<R> {
    pub fn new(store: Store, runner: Arc<R>, config: SchedulerConfig) -> Self {
        Self {
            store,
            runner,
            config,
        }
    }

    pub fn config(&self) -> &SchedulerConfig {
        &self.config
    }

    /// Leases up to one batch of schedules due at `now`, runs them and completes each run.
    pub async fn tick(&self, now: DateTime<Utc>) -> Result<TickReport, SchedulerError> {
        let leased = self
            .store
            .system()
            .lease_due_schedules(LeaseTerms {
                owner: &self.config.owner,
                now,
                lease_for: self.config.lease_for,
                limit: self.config.batch,
            })
            .await?;
        let mut report = TickReport {
            leased: leased.len(),
            ..Default::default()
        };
        let mut running = JoinSet::new();
        for lease in leased {
            while running.len() >= self.config.concurrency.max(1) {
                if let Some(done) = running.join_next().await {
                    tally(&mut report, done)?;
                }
            }
            let store = self.store.clone();
            let runner = self.runner.clone();
            let owner = self.config.owner.clone();
            running.spawn(async move {
                run_one(
                    &store,
                    runner.as_ref(),
                    &owner,
                    lease.scope,
                    lease.schedule,
                    now,
                )
                .await
            });
        }
        while let Some(done) = running.join_next().await {
            tally(&mut report, done)?;
        }
        Ok(report)
    }

    /// Ticks until `shutdown` resolves; waits `idle_wait` only when a tick found nothing due.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            let idle = match self.tick(Utc::now()).await {
                Ok(report) => report.leased == 0,
                Err(error) => {
                    tracing::warn!(%error, owner = %self.config.owner, "scheduler tick failed");
                    true
                }
            };
            if idle {
                tokio::select! {
                    _ = &mut shutdown => return,
                    _ = tokio::time::sleep(self.config.idle_wait) => {}
                }
            } else if already_done(&mut shutdown).await {
                return;
            }
        }
    }
}

/// Whether a pinned future is already complete, without waiting for it.
async fn already_done<F: Future<Output = ()>>(f: &mut std::pin::Pin<&mut F>) -> bool {
    tokio::select! {
        biased;
        _ = f.as_mut() => true,
        _ = std::future::ready(()) => false,
    }
}

enum RunResult {
    Succeeded,
    Failed,
    Held,
    LostLease,
}

fn tally(
    report: &mut TickReport,
    done: Result<Result<RunResult, StorageError>, tokio::task::JoinError>,
) -> Result<(), SchedulerError> {
    match done {
        Ok(Ok(RunResult::Succeeded)) => report.succeeded += 1,
        Ok(Ok(RunResult::Failed)) => report.failed += 1,
        Ok(Ok(RunResult::Held)) => report.held += 1,
        Ok(Ok(RunResult::LostLease)) => report.lost_lease += 1,
        Ok(Err(e)) => return Err(e.into()),
        // A panicking job keeps its lease until expiry; another tick retries it then.
        Err(_) => report.failed += 1,
    }
    Ok(())
}

async fn run_one<R: JobRunner>(
    store: &Store,
    runner: &R,
    owner: &str,
    scope: TenantScope,
    schedule_id: kontor_storage::ScheduleId,
    now: DateTime<Utc>,
) -> Result<RunResult, StorageError> {
    let started = Utc::now();
    let schedule: Schedule = {
        let mut tx = store.scope(&scope).begin().await?;
        tx.get(schedule_id).await?
    };
    let lag = (now - schedule.next_run_at).to_std().unwrap_or_default();
    crate::metrics::observe(crate::metrics::SCHEDULE_LAG, owner, &[], lag);
    // A schedule whose spec is broken still completes (as failed, retried in an hour) so it
    // does not hold a lease forever or spin.
    let (outcome, detail, next) = match CronSpec::parse(&schedule.cron, &schedule.time_zone) {
        Err(e) => (
            RunOutcome::Failed,
            Some(e.to_string()),
            now + Duration::hours(1),
        ),
        Ok(spec) => {
            let next = spec
                .next_after(now.max(schedule.next_run_at))
                .unwrap_or(now + Duration::days(365));
            let job = DueJob {
                scope: scope.clone(),
                schedule: schedule.clone(),
                now,
            };
            match runner.run(job).await {
                Ok(done) => (RunOutcome::Succeeded, done.detail, next),
                Err(failed) if failed.0.is::<RunHeld>() => {
                    (RunOutcome::Held, Some(failed.to_string()), next)
                }
                Err(failed) => (RunOutcome::Failed, Some(failed.to_string()), next),
            }
        }
    };
    let mut tx = store.scope(&scope).begin().await?;
    let run = tx
        .schedules()
        .complete_run(
            schedule_id,
            owner,
            started,
            next,
            outcome,
            detail.as_deref(),
        )
        .await?;
    tx.commit().await?;
    Ok(match (run, outcome) {
        (None, _) => RunResult::LostLease,
        (Some(_), RunOutcome::Succeeded) => RunResult::Succeeded,
        (Some(_), RunOutcome::Failed) => RunResult::Failed,
        (Some(_), RunOutcome::Held) => RunResult::Held,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn five_field_cron_fires_at_local_time_across_daylight_saving() {
        let spec = CronSpec::parse("0 6 * * *", "Europe/Berlin").unwrap();
        // Winter: 06:00 CET = 05:00 UTC.
        let winter = Utc.with_ymd_and_hms(2024, 3, 1, 12, 0, 0).unwrap();
        assert_eq!(
            spec.next_after(winter).unwrap(),
            Utc.with_ymd_and_hms(2024, 3, 2, 5, 0, 0).unwrap()
        );
        // Summer: 06:00 CEST = 04:00 UTC.
        let summer = Utc.with_ymd_and_hms(2024, 7, 1, 12, 0, 0).unwrap();
        assert_eq!(
            spec.next_after(summer).unwrap(),
            Utc.with_ymd_and_hms(2024, 7, 2, 4, 0, 0).unwrap()
        );
    }

    #[test]
    fn bad_expressions_and_zones_are_rejected() {
        assert!(matches!(
            CronSpec::parse("every morning", "UTC"),
            Err(ScheduleSpecError::Cron { .. })
        ));
        assert!(matches!(
            CronSpec::parse("0 6 * * *", "Mars/Olympus"),
            Err(ScheduleSpecError::TimeZone(_))
        ));
    }
}
