//! `/v1/memberships` and `/v1/operators`: the tenant's operators, their roles and the grants
//! that restrict an operator to some EBICS users.

use axum::Json;
use kontor_storage::admin::ApiToken;
use kontor_storage::{ApiTokenId, EbicsUserId, OperatorId, Role, ScopedTx};
use serde::{Deserialize, Serialize};

use super::auth::Caller;
use super::error::ApiError;
use super::extract::{Ids, JsonBody, On, QueryParams};
use super::input::{Email, Name, Valid};
use super::page::{ItemPage, PageQuery};
use super::respond::{Created, NoContent};
use super::tokens::{IssueToken, IssuedTokenBody};
use super::{Access, Routes};
use crate::services::tenancy;

pub fn routes(routes: Routes) -> Routes {
    routes
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
            "/v1/ebics-users/{id}/grants",
            "Operators granted an EBICS user (lift one with DELETE /v1/memberships/{operator_id}/grants/{ebics_user_id})",
            grants_on_user,
        )
        .delete(
            "/v1/memberships/{operator_id}/grants/{ebics_user_id}",
            Access::Own,
            "Lift an operator's grant on an EBICS user",
            revoke_grant,
        )
        .get(
            "/v1/memberships/{operator_id}/tokens",
            Access::Own,
            "An operator's API tokens for this tenant (never their secrets)",
            member_tokens,
        )
        .post(
            "/v1/memberships/{operator_id}/tokens",
            Access::Own,
            "Issue an API token for an operator, acting in this tenant (secret shown once)",
            issue_member_token,
        )
        .delete(
            "/v1/memberships/{operator_id}/tokens/{token_id}",
            Access::Own,
            "Revoke an operator's API token for this tenant",
            revoke_member_token,
        )
}

#[derive(Serialize, schemars::JsonSchema)]
struct Membership {
    operator_id: OperatorId,
    email: String,
    display_name: String,
    role: Role,
}

async fn memberships(
    caller: Caller,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<Json<ItemPage<Membership>>, ApiError> {
    let page = q.newest()?;
    let mut tx = caller.read().await?;
    let members = tx.memberships().page(page.before, page.limit).await?;
    drop(tx);
    let mut out = Vec::with_capacity(members.len());
    for member in members {
        // The e-mail is the operator's login, the same in every tenant; the name is the one
        // this tenant gave.
        let operator = caller
            .services()
            .store()
            .admin()
            .operator(member.operator_id)
            .await?;
        out.push(Membership {
            operator_id: member.operator_id,
            email: operator.email,
            display_name: member.display_name,
            role: member.role,
        });
    }
    Ok(Json(ItemPage::keyset(out, page.limit, |m| m.operator_id)))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct CreateOperator {
    email: Valid<Email>,
    #[serde(default)]
    display_name: Option<Valid<Name>>,
    role: Valid<Role>,
}

/// The response shows only what this request gave (address, this tenant's display name,
/// role) and an opaque id, so it reveals nothing about other tenants the address may belong
/// to (see [`tenancy::add_operator`]). Only an address that is already a member of this
/// tenant answers 409 `email_taken`.
async fn create_operator(
    caller: Caller,
    JsonBody(body): JsonBody<CreateOperator>,
) -> Result<Created<Membership>, ApiError> {
    let role = *body.role;
    let email = body.email.as_str().to_owned();
    let display_name = body.email.display_name(body.display_name);
    let operator_id = tenancy::add_operator(
        caller.services().store(),
        caller.scope.tenant(),
        &email,
        &display_name,
        role,
    )
    .await?;
    Ok(Created(Membership {
        operator_id,
        email,
        display_name,
        role,
    }))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct SetRole {
    role: Valid<Role>,
}

async fn set_role(
    On(caller, operator): On<OperatorId>,
    JsonBody(body): JsonBody<SetRole>,
) -> Result<NoContent, ApiError> {
    let me = caller.operator.operator();
    caller
        .write(async |tx| tenancy::set_role(tx, me, operator, *body.role).await)
        .await?;
    Ok(NoContent)
}

async fn remove_member(On(caller, operator): On<OperatorId>) -> Result<NoContent, ApiError> {
    let me = caller.operator.operator();
    caller
        .write(async |tx| tenancy::remove_member(tx, me, operator).await)
        .await?;
    Ok(NoContent)
}

/// A read-only transaction, once `operator` is known to be a member of the tenant (else 404).
async fn member_read(caller: &Caller, operator: OperatorId) -> Result<ScopedTx<'_>, ApiError> {
    let mut tx = caller.read().await?;
    tx.memberships().role_of(operator).await?;
    Ok(tx)
}

async fn grants(
    On(caller, operator): On<OperatorId>,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<Json<ItemPage<EbicsUserId>>, ApiError> {
    let page = q.newest()?;
    let mut tx = member_read(&caller, operator).await?;
    let all = tx.memberships().grants_of(operator).await?;
    Ok(Json(ItemPage::of_all(all, page, |id| *id)))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct Grant {
    ebics_user_id: Valid<EbicsUserId>,
}

async fn grant(
    On(caller, operator): On<OperatorId>,
    JsonBody(body): JsonBody<Grant>,
) -> Result<NoContent, ApiError> {
    let user = *body.ebics_user_id;
    caller
        .write(async |tx| tenancy::grant(tx, operator, user).await)
        .await?;
    Ok(NoContent)
}

async fn revoke_grant(
    caller: Caller,
    Ids(operator, user): Ids<OperatorId, EbicsUserId>,
) -> Result<NoContent, ApiError> {
    caller
        .write(async |tx| tenancy::revoke_grant(tx, operator, user).await)
        .await?;
    Ok(NoContent)
}

async fn member_tokens(
    On(caller, operator): On<OperatorId>,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<Json<ItemPage<ApiToken>>, ApiError> {
    let page = q.newest()?;
    let mut tx = member_read(&caller, operator).await?;
    let tokens = tx
        .memberships()
        .tokens(operator, page.before, page.limit)
        .await?;
    Ok(Json(ItemPage::keyset(tokens, page.limit, |t| t.id)))
}

async fn issue_member_token(
    On(caller, operator): On<OperatorId>,
    JsonBody(body): JsonBody<IssueToken>,
) -> Result<Created<IssuedTokenBody>, ApiError> {
    let days = body.days()?;
    let name = body.name.as_str();
    let issued = caller
        .write(async |tx| tenancy::issue_member_token(tx, operator, name, days).await)
        .await?;
    Ok(Created(IssuedTokenBody::from(issued)))
}

async fn revoke_member_token(
    caller: Caller,
    Ids(operator, token): Ids<OperatorId, ApiTokenId>,
) -> Result<NoContent, ApiError> {
    caller
        .write(async |tx| tenancy::revoke_member_token(tx, operator, token).await)
        .await?;
    Ok(NoContent)
}

/// One grant: an operator restricted to (among others) an EBICS user.
#[derive(Serialize, schemars::JsonSchema)]
struct GrantView {
    operator_id: OperatorId,
    ebics_user_id: EbicsUserId,
}

async fn grants_on_user(
    On(caller, user): On<EbicsUserId>,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<Json<ItemPage<GrantView>>, ApiError> {
    let page = q.newest()?;
    let mut tx = caller.read().await?;
    caller.granted(&mut tx, user).await?;
    let grants = tx
        .memberships()
        .grantees_of(user)
        .await?
        .into_iter()
        .map(|operator_id| GrantView {
            operator_id,
            ebics_user_id: user,
        })
        .collect();
    Ok(Json(ItemPage::of_all(grants, page, |g| g.operator_id)))
}
