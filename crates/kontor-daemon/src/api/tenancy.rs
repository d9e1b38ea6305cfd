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
use super::extract::{path_id, JsonBody};
use super::input::{Email, Name, Valid};
use super::{Access, AppState, Routes};

pub fn routes(routes: Routes) -> Routes {
    routes
        .read("/v1/tenant", "The caller's tenant", tenant)
        .read(
            "/v1/memberships",
            "Operators of the tenant and their roles",
            memberships,
        )
        .post(
            "/v1/operators",
            Access::Own,
            "Add an operator to this tenant by e-mail (created if new; answers alike either way)",
            create_operator,
        )
        .patch(
            "/v1/memberships/{operator_id}",
            Access::Own,
            "Change an operator's role",
            set_role,
        )
        .delete(
            "/v1/memberships/{operator_id}",
            Access::Own,
            "Remove an operator from this tenant",
            remove_member,
        )
        .read(
            "/v1/memberships/{operator_id}/grants",
            "EBICS users an operator is restricted to",
            grants,
        )
        .post(
            "/v1/memberships/{operator_id}/grants",
            Access::Own,
            "Restrict an operator to an EBICS user",
            grant,
        )
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
    for member in members {
        // The e-mail is the operator's login, the same in every tenant; the name is the one
        // this tenant gave.
        let operator = state.store.admin().operator(member.operator_id).await?;
        out.push(Membership {
            operator_id: member.operator_id,
            email: operator.email,
            display_name: member.display_name,
            role: member.role,
        });
    }
    Ok(Json(out))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateOperator {
    email: Valid<Email>,
    #[serde(default)]
    display_name: Option<Valid<Name>>,
    role: Valid<Role>,
}

/// Operators are global (one e-mail address, one login) and belong to tenants through
/// memberships. Adding an address that an operator of another tenant already uses makes that
/// operator a member here too, answered exactly like a new operator: the response shows only
/// what this request gave (address, this tenant's display name, role) and an opaque id, so it
/// reveals nothing about other tenants. The operator's tokens keep acting in their current
/// tenant; nothing of this tenant is reachable to them before they switch to it. Only an
/// address that is already a member of this tenant answers 409 `email_taken`.
async fn create_operator(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateOperator>,
) -> Result<(StatusCode, Json<Membership>), ApiError> {
    let role = *body.role;
    let email = body.email.as_str().to_owned();
    let display_name = body
        .display_name
        .map(|n| n.into_inner().into_string())
        .unwrap_or_else(|| email.clone());
    let operator_id = state
        .store
        .admin()
        .add_member(&email, &display_name, caller.scope.tenant(), role)
        .await
        .on_conflict(
            "email_taken",
            "an operator with this e-mail address is already a member of this tenant",
        )?;
    Ok((
        StatusCode::CREATED,
        Json(Membership {
            operator_id,
            email,
            display_name,
            role,
        }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetRole {
    role: Valid<Role>,
}

async fn set_role(
    State(state): State<AppState>,
    caller: Caller,
    Path(operator): Path<String>,
    JsonBody(body): JsonBody<SetRole>,
) -> Result<StatusCode, ApiError> {
    let operator: OperatorId = path_id(&operator, "membership")?;
    let role = *body.role;
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
    ebics_user_id: Valid<EbicsUserId>,
}

async fn grant(
    State(state): State<AppState>,
    caller: Caller,
    Path(operator): Path<String>,
    JsonBody(body): JsonBody<Grant>,
) -> Result<StatusCode, ApiError> {
    let operator: OperatorId = path_id(&operator, "membership")?;
    let user = *body.ebics_user_id;
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
    let expires: DateTime<Utc> = Utc::now() + chrono::Duration::days(days);
    let issued = state
        .store
        .admin()
        .issue_token(
            caller.operator.operator(),
            body.name.as_str(),
            Some(expires),
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
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: ApiTokenId = path_id(&id, "API token")?;
    state
        .store
        .admin()
        .revoke_token(caller.operator.operator(), id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
