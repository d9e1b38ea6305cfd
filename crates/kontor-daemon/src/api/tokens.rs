//! `/v1/tokens`: the caller's own API tokens. A token acts for one operator in one tenant;
//! an operator of several tenants holds one per tenant and may issue themselves a token for
//! another tenant they belong to (`tenant_id`).

use axum::Json;
use kontor_storage::admin::{ApiToken, IssuedToken};
use kontor_storage::{ApiTokenId, TenantId};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use super::auth::Caller;
use super::error::ApiError;
use super::extract::{JsonBody, On, QueryParams};
use super::input::{Name, Valid};
use super::page::{ItemPage, PageQuery};
use super::respond::{Created, NoContent};
use super::{Access, Routes};
use crate::services::tenancy;

pub fn routes(routes: Routes) -> Routes {
    routes
        .read(
            "/v1/tokens",
            "The caller's API tokens for this tenant (never their secrets)",
            tokens,
        )
        .post(
            "/v1/tokens",
            Access::Operate,
            "Issue an API token for the caller, for this or another of their tenants (secret shown once)",
            issue_token,
        )
        .delete(
            "/v1/tokens/{id}",
            Access::Operate,
            "Revoke one of the caller's API tokens for this tenant",
            revoke_token,
        )
}

/// A token's lifetime in days, `default` when the request names none; tokens always expire,
/// within a year: outside 1..=365 answers 422 `invalid_lifetime` naming `field`.
pub(super) fn lifetime_days(
    days: Option<i64>,
    default: i64,
    field: &'static str,
) -> Result<i64, ApiError> {
    let days = days.unwrap_or(default);
    if !(1..=365).contains(&days) {
        return Err(ApiError::Input {
            code: "invalid_lifetime".into(),
            field: Some(field.into()),
            message: format!("{field}: must be between 1 and 365"),
        });
    }
    Ok(days)
}

async fn tokens(
    caller: Caller,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<Json<ItemPage<ApiToken>>, ApiError> {
    let limit = q.limit()?;
    let mut tx = caller.read().await?;
    let tokens = tx
        .memberships()
        .tokens(caller.operator.operator(), q.position()?, limit)
        .await?;
    Ok(Json(ItemPage::keyset(tokens, limit, |t| t.id)))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct IssueToken {
    pub name: Valid<Name>,
    /// Lifetime in days; at most 365. Tokens always expire.
    days: Option<i64>,
    /// The tenant the token acts in (default: the tenant of the calling token).
    #[serde(default)]
    tenant_id: Option<Valid<TenantId>>,
}

impl IssueToken {
    /// The lifetime in days (default 90); outside 1..=365 answers 422.
    pub fn days(&self) -> Result<i64, ApiError> {
        lifetime_days(self.days, 90, "days")
    }
}

#[derive(Serialize, schemars::JsonSchema)]
pub(super) struct IssuedTokenBody {
    token: ApiToken,
    /// The bearer secret, shown only in this response.
    secret: String,
}

impl From<IssuedToken> for IssuedTokenBody {
    fn from(issued: IssuedToken) -> Self {
        Self {
            secret: issued.secret.expose_secret().to_owned(),
            token: issued.token,
        }
    }
}

async fn issue_token(
    caller: Caller,
    JsonBody(body): JsonBody<IssueToken>,
) -> Result<Created<IssuedTokenBody>, ApiError> {
    let days = body.days()?;
    let issued = tenancy::issue_own_token(
        caller.services().store(),
        &caller.operator,
        body.tenant_id.map(Valid::into_inner),
        body.name.as_str(),
        days,
    )
    .await?;
    Ok(Created(IssuedTokenBody::from(issued)))
}

async fn revoke_token(On(caller, id): On<ApiTokenId>) -> Result<NoContent, ApiError> {
    let me = caller.operator.operator();
    caller
        .write(async |tx| tenancy::revoke_member_token(tx, me, id).await)
        .await?;
    Ok(NoContent)
}
