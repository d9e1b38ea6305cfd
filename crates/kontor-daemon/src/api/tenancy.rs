//! The caller's tenant, its operators and their memberships and grants, and API tokens.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use kontor_storage::admin::{ApiToken, Tenant};
use kontor_storage::{ApiTokenId, EbicsUser, EbicsUserId, OperatorId, Role};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use super::auth::Caller;
use super::error::{ApiError, OnConflict};
use super::extract::{field_id, path_id, JsonBody};
use super::{AppState, Routes};

pub fn routes(routes: Routes) -> Routes {
    routes
        .get("/v1/tenant", "The caller's tenant", tenant)
        .get(
            "/v1/memberships",
            "Operators of the tenant and their roles",
            memberships,
        )
        .post(
            "/v1/operators",
            "Create an operator in this tenant (Owner)",
            create_operator,
        )
        .patch(
            "/v1/memberships/{operator_id}",
            "Change an operator's role (Owner)",
            set_role,
        )
        .delete(
            "/v1/memberships/{operator_id}",
            "Remove an operator from this tenant (Owner)",
            remove_member,
        )
        .get(
            "/v1/memberships/{operator_id}/grants",
            "EBICS users an operator is restricted to",
            grants,
        )
        .post(
            "/v1/memberships/{operator_id}/grants",
            "Restrict an operator to an EBICS user (Owner)",
            grant,
        )
        .get(
            "/v1/tokens",
            "The caller's API tokens (never their secrets)",
            tokens,
        )
        .post(
            "/v1/tokens",
            "Issue an API token for the caller (secret shown once)",
            issue_token,
        )
        .delete(
            "/v1/tokens/{id}",
            "Revoke one of the caller's API tokens",
            revoke_token,
        )
}

async fn tenant(State(state): State<AppState>, caller: Caller) -> Result<Json<Tenant>, ApiError> {
    Ok(Json(
        state.store.admin().tenant(caller.scope.tenant()).await?,
    ))
}

#[derive(Serialize)]
struct Membership {
    operator_id: OperatorId,
    email: String,
    display_name: String,
    role: Role,
}

async fn memberships(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Membership>>, ApiError> {
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    let members = tx.memberships().list().await?;
    drop(tx);
    let mut out = Vec::with_capacity(members.len());
    for (operator_id, role) in members {
        let operator = state.store.admin().operator(operator_id).await?;
        out.push(Membership {
            operator_id,
            email: operator.email,
            display_name: operator.display_name,
            role,
        });
    }
    Ok(Json(out))
}

fn parse_role(raw: &str) -> Result<Role, ApiError> {
    raw.to_ascii_uppercase()
        .parse()
        .map_err(|_| ApiError::invalid("invalid_role", "role must be OWNER, ADMIN or VIEWER"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateOperator {
    email: String,
    #[serde(default)]
    display_name: Option<String>,
    role: String,
}

async fn create_operator(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateOperator>,
) -> Result<(StatusCode, Json<Membership>), ApiError> {
    caller.require_mutation()?;
    caller.require_owner()?;
    let role = parse_role(&body.role)?;
    let email = body.email.trim().to_ascii_lowercase();
    if !email.contains('@') || email.len() > 254 {
        return Err(ApiError::invalid(
            "invalid_email",
            "email is not an e-mail address",
        ));
    }
    let display_name = body.display_name.unwrap_or_else(|| email.clone());
    let operator = state
        .store
        .admin()
        .create_operator(&email, &display_name, caller.scope.tenant(), role)
        .await
        .on_conflict(
            "email_taken",
            "an operator with this e-mail address already exists",
        )?;
    Ok((
        StatusCode::CREATED,
        Json(Membership {
            operator_id: operator.id,
            email: operator.email,
            display_name: operator.display_name,
            role,
        }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetRole {
    role: String,
}

async fn set_role(
    State(state): State<AppState>,
    caller: Caller,
    Path(operator): Path<String>,
    JsonBody(body): JsonBody<SetRole>,
) -> Result<StatusCode, ApiError> {
    caller.require_mutation()?;
    caller.require_owner()?;
    let operator: OperatorId = path_id(&operator, "membership")?;
    let role = parse_role(&body.role)?;
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    tx.memberships().role_of(operator).await?;
    if operator == caller.operator.operator() && role != Role::Owner {
        return Err(ApiError::Conflict {
            code: "last_owner",
            message: "an owner cannot demote themselves; another owner must do it".into(),
        });
    }
    tx.memberships().set_role(operator, role).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn remove_member(
    State(state): State<AppState>,
    caller: Caller,
    Path(operator): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require_mutation()?;
    caller.require_owner()?;
    let operator: OperatorId = path_id(&operator, "membership")?;
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    tx.memberships().role_of(operator).await?;
    if operator == caller.operator.operator() {
        return Err(ApiError::Conflict {
            code: "last_owner",
            message: "an owner cannot remove themselves; another owner must do it".into(),
        });
    }
    tx.memberships().remove(operator).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn grants(
    State(state): State<AppState>,
    caller: Caller,
    Path(operator): Path<String>,
) -> Result<Json<Vec<EbicsUserId>>, ApiError> {
    let operator: OperatorId = path_id(&operator, "membership")?;
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    tx.memberships().role_of(operator).await?;
    Ok(Json(tx.memberships().grants_of(operator).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Grant {
    ebics_user_id: String,
}

async fn grant(
    State(state): State<AppState>,
    caller: Caller,
    Path(operator): Path<String>,
    JsonBody(body): JsonBody<Grant>,
) -> Result<StatusCode, ApiError> {
    caller.require_mutation()?;
    caller.require_owner()?;
    let operator: OperatorId = path_id(&operator, "membership")?;
    let user: EbicsUserId = field_id(&body.ebics_user_id, "ebics_user_id")?;
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    tx.memberships().role_of(operator).await?;
    let _: EbicsUser = tx.get(user).await?;
    tx.memberships().grant(operator, user).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn tokens(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<ApiToken>>, ApiError> {
    Ok(Json(
        state
            .store
            .admin()
            .list_tokens(caller.operator.operator())
            .await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IssueToken {
    name: String,
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
    caller.require_mutation()?;
    let days = body.days.unwrap_or(90);
    if !(1..=365).contains(&days) {
        return Err(ApiError::invalid(
            "invalid_lifetime",
            "days must be between 1 and 365",
        ));
    }
    let expires: DateTime<Utc> = Utc::now() + chrono::Duration::days(days);
    let issued = state
        .store
        .admin()
        .issue_token(caller.operator.operator(), body.name.trim(), Some(expires))
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
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require_mutation()?;
    let id: ApiTokenId = path_id(&id, "API token")?;
    state
        .store
        .admin()
        .revoke_token(caller.operator.operator(), id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
