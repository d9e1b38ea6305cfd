//! `/v1/tenant`: the caller's tenant; `/v1/tenants`: tenants themselves, for platform
//! administrators only (their tokens are bound to no tenant and reach no tenant's data).

use axum::extract::State;
use axum::Json;
use kontor_storage::admin::Tenant;
use kontor_storage::OperatorId;
use serde::{Deserialize, Serialize};

use super::auth::{Caller, PlatformCaller};
use super::error::ApiError;
use super::extract::{JsonBody, QueryParams};
use super::input::{Email, Name, Valid};
use super::page::{ItemPage, PageQuery};
use super::respond::Created;
use super::tokens::{lifetime_days, IssuedTokenBody};
use super::{Access, AppState, Routes};
use crate::services::tenancy;

pub fn routes(routes: Routes) -> Routes {
    routes
        .read("/v1/tenant", "The caller's tenant", tenant)
        .get(
            "/v1/tenants",
            Access::Platform,
            "All tenants (platform administrators)",
            tenants,
        )
        .post(
            "/v1/tenants",
            Access::Platform,
            "Create a tenant with its first Owner and their first token (platform administrators; secret shown once)",
            create_tenant,
        )
}

async fn tenant(caller: Caller) -> Result<Json<Tenant>, ApiError> {
    Ok(Json(
        caller
            .services()
            .store()
            .admin()
            .tenant(caller.scope.tenant())
            .await?,
    ))
}

async fn tenants(
    State(state): State<AppState>,
    _caller: PlatformCaller,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<Json<ItemPage<Tenant>>, ApiError> {
    let limit = q.limit()?;
    let tenants = state
        .services
        .store()
        .admin()
        .tenants_page(q.position()?, limit)
        .await?;
    Ok(Json(ItemPage::keyset(tenants, limit, |t| t.id)))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct CreateTenant {
    name: Valid<Name>,
    owner_email: Valid<Email>,
    #[serde(default)]
    owner_display_name: Option<Valid<Name>>,
    /// Lifetime of the Owner's first token in days (default 7, at most 365).
    #[serde(default)]
    token_days: Option<i64>,
}

#[derive(Serialize, schemars::JsonSchema)]
struct CreatedTenant {
    tenant: Tenant,
    owner_id: OperatorId,
    owner_token: IssuedTokenBody,
}

async fn create_tenant(
    State(state): State<AppState>,
    caller: PlatformCaller,
    JsonBody(body): JsonBody<CreateTenant>,
) -> Result<Created<CreatedTenant>, ApiError> {
    let days = lifetime_days(body.token_days, 7, "token_days")?;
    let email = body.owner_email.as_str().to_owned();
    let display_name = body.owner_email.display_name(body.owner_display_name);
    let created = tenancy::create_tenant(
        state.services.store(),
        &caller.admin,
        body.name.as_str(),
        &email,
        &display_name,
        days,
    )
    .await?;
    Ok(Created(CreatedTenant {
        tenant: created.tenant,
        owner_id: created.owner,
        owner_token: created.token.into(),
    }))
}
