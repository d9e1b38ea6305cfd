//! `/v1/tokens`: the caller's own API tokens.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use kontor_storage::admin::ApiToken;
use kontor_storage::ApiTokenId;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use super::auth::Caller;
use super::error::ApiError;
use super::extract::{Id, JsonBody};
use super::input::{Name, Valid};
use super::{Access, AppState, Routes};
use crate::services::tenancy;

pub fn routes(routes: Routes) -> Routes {
    routes
        .read(
            "/v1/tokens",
            "The caller's API tokens (never their secrets)",
            tokens,
        )
        .post(
            "/v1/tokens",
            Access::Operate,
            "Issue an API token for the caller (secret shown once)",
            issue_token,
        )
        .delete(
            "/v1/tokens/{id}",
            Access::Operate,
            "Revoke one of the caller's API tokens",
            revoke_token,
        )
}

async fn tokens(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<ApiToken>>, ApiError> {
    Ok(Json(
        state
            .services
            .store()
            .admin()
            .list_tokens(caller.operator.operator())
            .await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IssueToken {
    name: Valid<Name>,
    /// Lifetime in days; at most 365. Tokens always expire.
    days: Option<i64>,
}

#[derive(Serialize)]
struct IssuedTokenBody {
    token: ApiToken,
    /// The bearer secret, shown only in this response.
    secret: String,
}

async fn issue_token(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<IssueToken>,
) -> Result<(StatusCode, Json<IssuedTokenBody>), ApiError> {
    let days = body.days.unwrap_or(90);
    if !(1..=365).contains(&days) {
        return Err(ApiError::Input {
            code: "invalid_lifetime".into(),
            field: Some("days".into()),
            message: "days: must be between 1 and 365".into(),
        });
    }
    let issued = tenancy::issue_token(
        state.services.store(),
        caller.operator.operator(),
        body.name.as_str(),
        days,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(IssuedTokenBody {
            secret: issued.secret.expose_secret().to_owned(),
            token: issued.token,
        }),
    ))
}

async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id<ApiTokenId>,
) -> Result<StatusCode, ApiError> {
    tenancy::revoke_token(state.services.store(), caller.operator.operator(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}
