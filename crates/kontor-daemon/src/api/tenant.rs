//! `/v1/tenant`: the caller's tenant.

use axum::extract::State;
use axum::Json;
use kontor_storage::admin::Tenant;

use super::auth::Caller;
use super::error::ApiError;
use super::{AppState, Routes};

pub fn routes(routes: Routes) -> Routes {
    routes.read("/v1/tenant", "The caller's tenant", tenant)
}

async fn tenant(State(state): State<AppState>, caller: Caller) -> Result<Json<Tenant>, ApiError> {
    Ok(Json(
        state
            .services
            .store()
            .admin()
            .tenant(caller.scope.tenant())
            .await?,
    ))
}
