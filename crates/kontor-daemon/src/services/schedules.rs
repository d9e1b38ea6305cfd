//! Download schedules: created with a cron expression checked in its time zone, enabled or
//! disabled, deleted while they have no runs, and run now on request.

use chrono::Utc;
use kontor_protocol::order_type::{BtfService, OrderType};
use kontor_storage::{
    Account, AccountId, EbicsUserId, JobRun, NewSchedule, RunOutcome, Schedule, ScheduleId,
    ScopedTx, TenantScope, UserAtHost,
};

use super::downloads::{offered, DownloadRefusal};

use super::error::{Refusal, ServiceError};
use super::scheduler::{CronSpec, DueJob, JobRunner};
use super::statement_job::StatementJob;
use super::Services;

/// A statement download schedule to create.
#[derive(Debug, Clone)]
pub struct ScheduleRequest {
    pub user: EbicsUserId,
    pub account: Option<AccountId>,
    /// A statement order type, or `BTD` with `service`.
    pub order_type: OrderType,
    /// An explicit BTF service (EBICS 3.0 hosts only).
    pub service: Option<BtfService>,
    pub cron: String,
    pub time_zone: chrono_tz::Tz,
}

pub async fn create(
    tx: &mut ScopedTx<'_>,
    request: ScheduleRequest,
) -> Result<Schedule, ServiceError> {
    let spec =
        CronSpec::parse(&request.cron, request.time_zone.name()).map_err(Refusal::InvalidCron)?;
    let next_run_at = spec.next_after(Utc::now()).map_err(Refusal::InvalidCron)?;
    if let Some(account) = request.account {
        let _: Account = tx.get(account).await?;
    }
    // The download must be one the bank offers and deliver statements, or every run would fail.
    let UserAtHost {
        connection, host, ..
    } = tx.ebics_users().at_host(request.user).await?;
    super::hosts::ensure_active(&host)?;
    let refused = |r: DownloadRefusal| ServiceError::Precondition(Box::new(r));
    let statements = offered(
        &request.order_type,
        request.service.as_ref(),
        &host,
        &connection,
    )
    .map_err(refused)?;
    if !statements {
        return Err(refused(DownloadRefusal::NotStatements(
            request.order_type.to_string(),
        )));
    }
    Ok(tx
        .schedules()
        .create(NewSchedule {
            ebics_user_id: request.user,
            account_id: request.account,
            order_type: request.order_type,
            btf_service: request.service,
            cron: request.cron,
            time_zone: request.time_zone.name().to_owned(),
            next_run_at,
        })
        .await?)
}

pub async fn set_enabled(
    tx: &mut ScopedTx<'_>,
    id: ScheduleId,
    enabled: bool,
) -> Result<Schedule, ServiceError> {
    Ok(tx.schedules().set_enabled(id, enabled).await?)
}

/// Deletes a schedule that never ran; runs are history, so a schedule with runs is only
/// disabled.
pub async fn delete(tx: &mut ScopedTx<'_>, id: ScheduleId) -> Result<(), ServiceError> {
    if !tx.schedules().runs(id).await?.is_empty() {
        return Err(Refusal::ScheduleHasRuns.into());
    }
    Ok(tx.delete(id).await?)
}

/// Runs a schedule now, outside its cron timing, and records the run like a scheduled one
/// (a job run by `manual`, `last_run_at` advanced; the next scheduled time stays). A failed
/// run is recorded with its reason and returned as the error.
pub async fn run_now(
    services: &Services,
    scope: &TenantScope,
    id: ScheduleId,
) -> Result<JobRun, ServiceError> {
    let bank = services.bank_arc()?;
    let schedule: Schedule = services.store().scope(scope).begin().await?.get(id).await?;
    let job = StatementJob::new(services.store().clone(), bank);
    let started = Utc::now();
    let due = DueJob {
        scope: scope.clone(),
        schedule,
        now: started,
    };
    // Boxed where the future's lifetimes are concrete: the compiler cannot yet prove a
    // generic job future `Send` for every lifetime (rust-lang/rust#100013).
    let run: futures::future::BoxFuture<'_, _> = Box::pin(job.run(due));
    let result = run.await;
    let (outcome, detail) = match &result {
        Ok(done) => (RunOutcome::Succeeded, done.detail.clone()),
        Err(failed) => (RunOutcome::Failed, Some(failed.to_string())),
    };
    let mut tx = services.store().scope(scope).begin().await?;
    let recorded = tx
        .schedules()
        .record_manual_run(id, "manual", started, outcome, detail.as_deref())
        .await?;
    tx.commit().await?;
    match result {
        Ok(_) => Ok(recorded),
        Err(failed) => Err(ServiceError::Precondition(failed.0)),
    }
}
