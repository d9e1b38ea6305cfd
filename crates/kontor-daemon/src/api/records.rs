//! Transactions (with segments and their append-only event trail) and download schedules.

use std::str::FromStr;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use kontor_storage::{
    Account, AccountId, AuditEvent, EbicsUserId, JobRun, NewSchedule, Page, Schedule, ScheduleId,
    Segment, Transaction, TransactionEvent, TransactionId,
};
use serde::Deserialize;

use super::auth::Caller;
use super::error::ApiError;
use super::extract::{path_id, JsonBody};
use super::input::{Cron, OrderTypeCode, TimeZone, Valid};
use super::users::granted_user;
use super::{Access, AppState, Routes};

pub fn routes(routes: Routes) -> Routes {
    routes
        .read("/v1/transactions", "List EBICS transactions", transactions)
        .read(
            "/v1/transactions/{id}",
            "Show an EBICS transaction",
            transaction,
        )
        .read(
            "/v1/transactions/{id}/segments",
            "Segments of a transaction",
            segments,
        )
        .read(
            "/v1/transactions/{id}/events",
            "Append-only event trail of a transaction",
            events,
        )
        .read("/v1/schedules", "List download schedules", schedules)
        .post(
            "/v1/schedules",
            Access::Operate,
            "Create a download schedule (cron validated)",
            create_schedule,
        )
        .read("/v1/schedules/{id}", "Show a schedule", schedule)
        .patch(
            "/v1/schedules/{id}",
            Access::Operate,
            "Enable or disable a schedule",
            update_schedule,
        )
        .delete(
            "/v1/schedules/{id}",
            Access::Operate,
            "Delete a schedule",
            delete_schedule,
        )
        .read("/v1/schedules/{id}/runs", "Runs of a schedule", runs)
        .post(
            "/v1/schedules/{id}/run",
            Access::Operate,
            "Run a schedule now (engine)",
            run_now,
        )
        .read(
            "/v1/audit-events",
            "Append-only audit log of the tenant (restricted operators: records about their users)",
            audit_events,
        )
}

async fn audit_events(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<AuditEvent>>, ApiError> {
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    let all: Vec<AuditEvent> = tx.list(Page::first(1000)).await?;
    // An operator limited to some EBICS users reads only the records about those users.
    let about_granted_user = |e: &AuditEvent| {
        e.detail["ebics_user_id"]
            .as_str()
            .and_then(|id| id.parse::<EbicsUserId>().ok())
            .is_some_and(|id| caller.require_user(id).is_ok())
    };
    Ok(Json(if caller.operator.restricted_to().is_empty() {
        all
    } else {
        all.into_iter().filter(about_granted_user).collect()
    }))
}

async fn transactions(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Transaction>>, ApiError> {
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    let all: Vec<Transaction> = tx.list(Page::first(1000)).await?;
    Ok(Json(
        all.into_iter()
            .filter(|t| caller.require_user(t.ebics_user_id).is_ok())
            .collect(),
    ))
}

async fn granted_transaction<'s>(
    state: &'s AppState,
    caller: &Caller,
    id: &str,
) -> Result<(kontor_storage::ScopedTx<'s>, Transaction), ApiError> {
    let id: TransactionId = path_id(id, "transaction")?;
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    let t: Transaction = tx.get(id).await?;
    caller
        .require_user(t.ebics_user_id)
        .map_err(|_| ApiError::NotFound("transaction"))?;
    Ok((tx, t))
}

async fn transaction(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Transaction>, ApiError> {
    let (_, t) = granted_transaction(&state, &caller, &id).await?;
    Ok(Json(t))
}

async fn segments(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<Segment>>, ApiError> {
    let (mut tx, t) = granted_transaction(&state, &caller, &id).await?;
    Ok(Json(tx.transactions().segments(t.id).await?))
}

async fn events(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<TransactionEvent>>, ApiError> {
    let (mut tx, t) = granted_transaction(&state, &caller, &id).await?;
    Ok(Json(tx.transactions().events(t.id).await?))
}

// --- schedules ---------------------------------------------------------------------------

async fn schedules(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Schedule>>, ApiError> {
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    let all: Vec<Schedule> = tx.list(Page::first(1000)).await?;
    Ok(Json(
        all.into_iter()
            .filter(|s| caller.require_user(s.ebics_user_id).is_ok())
            .collect(),
    ))
}

/// The next run after `now` of a cron expression in a time zone. Accepts the classic five
/// fields (minute precision) or the six/seven fields of the `cron` crate (with seconds).
pub(crate) fn next_run(
    expression: &str,
    tz: chrono_tz::Tz,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, ApiError> {
    let invalid = |message: String| ApiError::Input {
        code: "invalid_cron".into(),
        field: Some("cron".into()),
        message: format!("cron: {message}"),
    };
    let full = match expression.split_whitespace().count() {
        5 => format!("0 {expression}"),
        6 | 7 => expression.to_owned(),
        _ => {
            return Err(invalid(
                "needs 5 fields (minute hour day month weekday)".into(),
            ))
        }
    };
    let schedule =
        cron::Schedule::from_str(&full).map_err(|e| invalid(format!("{expression:?}: {e}")))?;
    schedule
        .after(&now.with_timezone(&tz))
        .next()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| invalid("the expression never fires".into()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateSchedule {
    ebics_user_id: Valid<EbicsUserId>,
    account_id: Option<Valid<AccountId>>,
    order_type: Valid<OrderTypeCode>,
    cron: Valid<Cron>,
    #[serde(default = "default_time_zone")]
    time_zone: Valid<TimeZone>,
}

fn default_time_zone() -> Valid<TimeZone> {
    Valid(TimeZone(chrono_tz::UTC))
}

async fn create_schedule(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateSchedule>,
) -> Result<(StatusCode, Json<Schedule>), ApiError> {
    let user = *body.ebics_user_id;
    let account = body.account_id.map(Valid::into_inner);
    let time_zone = body.time_zone.0 .0;
    let next_run_at = next_run(&body.cron.0 .0, time_zone, Utc::now())?;
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    granted_user(&mut tx, &caller, user).await?;
    if let Some(account) = account {
        let _: Account = tx.get(account).await?;
    }
    let schedule = tx
        .schedules()
        .create(NewSchedule {
            ebics_user_id: user,
            account_id: account,
            order_type: body.order_type.into_inner().0,
            cron: body.cron.into_inner().0,
            time_zone: time_zone.name().to_owned(),
            next_run_at,
        })
        .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(schedule)))
}

async fn granted_schedule<'s>(
    state: &'s AppState,
    caller: &Caller,
    id: &str,
) -> Result<(kontor_storage::ScopedTx<'s>, Schedule), ApiError> {
    let id: ScheduleId = path_id(id, "schedule")?;
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    let s: Schedule = tx.get(id).await?;
    caller
        .require_user(s.ebics_user_id)
        .map_err(|_| ApiError::NotFound("schedule"))?;
    Ok((tx, s))
}

async fn schedule(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Schedule>, ApiError> {
    Ok(Json(granted_schedule(&state, &caller, &id).await?.1))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateSchedule {
    enabled: bool,
}

async fn update_schedule(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<UpdateSchedule>,
) -> Result<Json<Schedule>, ApiError> {
    let (mut tx, s) = granted_schedule(&state, &caller, &id).await?;
    let s = tx.schedules().set_enabled(s.id, body.enabled).await?;
    tx.commit().await?;
    Ok(Json(s))
}

async fn delete_schedule(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let (mut tx, s) = granted_schedule(&state, &caller, &id).await?;
    if !tx.schedules().runs(s.id).await?.is_empty() {
        // Runs are history; keep the schedule and let the operator disable it instead.
        return Err(ApiError::Conflict {
            code: "in_use",
            message: "the schedule has runs; disable it instead".into(),
        });
    }
    tx.delete(s.id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn runs(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<JobRun>>, ApiError> {
    let (mut tx, s) = granted_schedule(&state, &caller, &id).await?;
    Ok(Json(tx.schedules().runs(s.id).await?))
}

async fn run_now(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let (tx, s) = granted_schedule(&state, &caller, &id).await?;
    drop(tx);
    state
        .engine()?
        .run_schedule(caller.scope.clone(), s.id)
        .await?;
    Ok(StatusCode::ACCEPTED)
}
