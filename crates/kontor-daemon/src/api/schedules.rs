//! `/v1/schedules`: statement download schedules and their runs.

use axum::Json;
use kontor_protocol::order_type::OrderType;
use kontor_storage::{AccountId, EbicsUserId, JobRun, Schedule, ScheduleId};
use serde::Deserialize;

use super::auth::Caller;
use super::downloads::{order_type_or_btd, ServiceBody};
use super::error::ApiError;
use super::extract::{JsonBody, On};
use super::input::{Cron, TimeZone, Valid};
use super::records::{children_granted, list_visible, show_granted};
use super::respond::{Accepted, Created, NoContent};
use super::{Access, Routes};
use crate::services::schedules::{self, ScheduleRequest};

pub fn routes(routes: Routes) -> Routes {
    routes
        .read(
            "/v1/schedules",
            "List download schedules",
            list_visible::<Schedule>,
        )
        .post(
            "/v1/schedules",
            Access::Operate,
            "Create a download schedule (cron validated)",
            create,
        )
        .read(
            "/v1/schedules/{id}",
            "Show a schedule",
            show_granted::<ScheduleId>,
        )
        .patch(
            "/v1/schedules/{id}",
            Access::Operate,
            "Enable or disable a schedule",
            update,
        )
        .delete(
            "/v1/schedules/{id}",
            Access::Operate,
            "Delete a schedule",
            delete,
        )
        .read(
            "/v1/schedules/{id}/runs",
            "Runs of a schedule",
            children_granted::<JobRun>,
        )
        .post(
            "/v1/schedules/{id}/run",
            Access::Operate,
            "Run a schedule now (engine); the run is recorded like a scheduled one",
            run_now,
        )
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct CreateSchedule {
    ebics_user_id: Valid<EbicsUserId>,
    account_id: Option<Valid<AccountId>>,
    /// A statement order type (`C53`, `STA`, ...); `BTD` (the default with a service) with
    /// `service`.
    order_type: Option<Valid<OrderType>>,
    service: Option<ServiceBody>,
    cron: Valid<Cron>,
    #[serde(default = "default_time_zone")]
    time_zone: Valid<TimeZone>,
}

fn default_time_zone() -> Valid<TimeZone> {
    Valid(TimeZone(chrono_tz::UTC))
}

async fn create(
    caller: Caller,
    JsonBody(body): JsonBody<CreateSchedule>,
) -> Result<Created<Schedule>, ApiError> {
    let user = *body.ebics_user_id;
    let service = body.service.map(ServiceBody::into_service).transpose()?;
    let order_type = order_type_or_btd(body.order_type, service.as_ref())?;
    let request = ScheduleRequest {
        user,
        account: body.account_id.map(Valid::into_inner),
        order_type,
        service,
        cron: body.cron.into_inner().0,
        time_zone: body.time_zone.0 .0,
    };
    let schedule = caller
        .write_granted(user, async |tx, _| schedules::create(tx, request).await)
        .await?;
    Ok(Created(schedule))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct UpdateSchedule {
    enabled: bool,
}

async fn update(
    On(caller, id): On<ScheduleId>,
    JsonBody(body): JsonBody<UpdateSchedule>,
) -> Result<Json<Schedule>, ApiError> {
    let schedule = caller
        .write_granted(id, async |tx, _| {
            schedules::set_enabled(tx, id, body.enabled).await
        })
        .await?;
    Ok(Json(schedule))
}

async fn delete(On(caller, id): On<ScheduleId>) -> Result<NoContent, ApiError> {
    caller
        .write_granted(id, async |tx, _| schedules::delete(tx, id).await)
        .await?;
    Ok(NoContent)
}

async fn run_now(On(caller, id): On<ScheduleId>) -> Result<Accepted<JobRun>, ApiError> {
    caller.acting_for(id).await?;
    let run = schedules::run_now(caller.services(), &caller.scope, id).await?;
    Ok(Accepted(run))
}
