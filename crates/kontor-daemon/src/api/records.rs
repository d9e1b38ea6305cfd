//! Transactions (with segments and their append-only event trail) and download schedules.

use std::str::FromStr;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use kontor_storage::{
    Account, AccountId, AuditEvent, JobRun, NewSchedule, Page, Schedule, ScheduleId, Segment,
    Transaction, TransactionEvent, TransactionId,
};
use serde::Deserialize;

use super::auth::Caller;
use super::error::ApiError;
use super::extract::{field_id, path_id, JsonBody};
use super::users::{check_order_type, granted_user};
use super::{AppState, Routes};

pub fn routes(routes: Routes) -> Routes {
    routes
        .get("/v1/transactions", "List EBICS transactions", transactions)
        .get(
            "/v1/transactions/{id}",
            "Show an EBICS transaction",
            transaction,
        )
        .get(
            "/v1/transactions/{id}/segments",
            "Segments of a transaction",
            segments,
        )
        .get(
            "/v1/transactions/{id}/events",
            "Append-only event trail of a transaction",
            events,
        )
        .get("/v1/schedules", "List download schedules", schedules)
        .post(
            "/v1/schedules",
            "Create a download schedule (cron validated)",
            create_schedule,
        )
        .get("/v1/schedules/{id}", "Show a schedule", schedule)
        .patch(
            "/v1/schedules/{id}",
            "Enable or disable a schedule",
            update_schedule,
        )
        .delete("/v1/schedules/{id}", "Delete a schedule", delete_schedule)
        .get("/v1/schedules/{id}/runs", "Runs of a schedule", runs)
        .post(
            "/v1/schedules/{id}/run",
            "Run a schedule now (engine)",
            run_now,
        )
        .get(
            "/v1/audit-events",
            "Append-only audit log of the tenant (operators without grant restrictions)",
            audit_events,
        )
}

async fn audit_events(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<AuditEvent>>, ApiError> {
    // The log speaks of every EBICS user; an operator limited to some may not read it.
    if !caller.operator.restricted_to().is_empty() {
        return Err(ApiError::Forbidden);
    }
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    Ok(Json(tx.list(Page::first(1000)).await?))
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
    time_zone: &str,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, ApiError> {
    let tz = chrono_tz::Tz::from_str(time_zone).map_err(|_| {
        ApiError::invalid(
            "invalid_time_zone",
            format!("{time_zone:?} is not an IANA time zone"),
        )
    })?;
    let fields = expression.split_whitespace().count();
    let full = match fields {
        5 => format!("0 {expression}"),
        6 | 7 => expression.to_owned(),
        _ => {
            return Err(ApiError::invalid(
                "invalid_cron",
                "cron needs 5 fields (minute hour day month weekday)",
            ))
        }
    };
    let schedule = cron::Schedule::from_str(&full)
        .map_err(|e| ApiError::invalid("invalid_cron", format!("{expression:?}: {e}")))?;
    schedule
        .after(&now.with_timezone(&tz))
        .next()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| ApiError::invalid("invalid_cron", "the expression never fires"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateSchedule {
    ebics_user_id: String,
    account_id: Option<String>,
    order_type: String,
    cron: String,
    #[serde(default = "default_time_zone")]
    time_zone: String,
}

fn default_time_zone() -> String {
    "UTC".into()
}

async fn create_schedule(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateSchedule>,
) -> Result<(StatusCode, Json<Schedule>), ApiError> {
    caller.require_mutation()?;
    let user = field_id(&body.ebics_user_id, "ebics_user_id")?;
    let account: Option<AccountId> = body
        .account_id
        .as_deref()
        .map(|a| field_id(a, "account_id"))
        .transpose()?;
    let order_type = check_order_type(&body.order_type)?;
    let next_run_at = next_run(&body.cron, &body.time_zone, Utc::now())?;
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
            order_type,
            cron: body.cron.trim().to_owned(),
            time_zone: body.time_zone,
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
    caller.require_mutation()?;
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
    caller.require_mutation()?;
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
    caller.require_mutation()?;
    let (tx, s) = granted_schedule(&state, &caller, &id).await?;
    drop(tx);
    state
        .engine()?
        .run_schedule(caller.scope.clone(), s.id)
        .await?;
    Ok(StatusCode::ACCEPTED)
}
