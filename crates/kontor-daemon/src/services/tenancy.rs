//! Tenants and their operators: tenants created by a platform administrator, memberships
//! with their roles, grants that restrict an operator to some EBICS users, and API tokens,
//! each bound to one operator in one tenant.

use chrono::{DateTime, Utc};
use kontor_storage::admin::{IssuedToken, PlatformAdmin, Tenant};
use kontor_storage::{
    ApiTokenId, AuditAction, AuthenticatedOperator, EbicsUser, EbicsUserId, OperatorId, Role,
    ScopedTx, Store, TenantId, TenantScope,
};

use super::error::{OnConflict, Refusal, ServiceError};

/// A tenant created over the API, with its first Owner and their first token.
pub struct NewTenant {
    pub tenant: Tenant,
    pub owner: OperatorId,
    pub token: IssuedToken,
}

/// Creates a tenant with its first Owner (an existing operator joins; a new address becomes
/// an operator) and issues that Owner's first token for it (shown once). The platform
/// administrator reaches no tenant data: from here on the Owner administers the tenant.
/// The tenant's audit log starts with the creation.
pub async fn create_tenant(
    store: &Store,
    admin: &PlatformAdmin,
    name: &str,
    owner_email: &str,
    owner_name: &str,
    token_days: i64,
) -> Result<NewTenant, ServiceError> {
    let tenant = store
        .admin()
        .create_tenant(name)
        .await
        .on_conflict(Refusal::TenantNameTaken)?;
    let owner = add_operator(store, tenant.id, owner_email, owner_name, Role::Owner).await?;
    let scope = TenantScope::system_job(
        tenant.id,
        format!("platform administrator {}", admin.operator()),
    );
    let mut tx = store.scope(&scope).begin().await?;
    let token = tx
        .memberships()
        .issue_token(owner, "first owner token", Some(expiry(token_days)))
        .await?;
    tx.audit()
        .record(
            AuditAction::TenantCreated,
            "tenant",
            &tenant.id.to_string(),
            serde_json::json!({"name": tenant.name, "owner": owner}),
        )
        .await?;
    tx.commit().await?;
    Ok(NewTenant {
        tenant,
        owner,
        token,
    })
}

/// Adds an operator to `tenant` by e-mail address, creating the operator if the address is
/// new. Operators are global (one address, one login) and belong to tenants through
/// memberships; an address already used in another tenant becomes a member here too, and
/// nothing about the other tenant is revealed. Only an address that is already a member of
/// this tenant is refused.
pub async fn add_operator(
    store: &Store,
    tenant: TenantId,
    email: &str,
    display_name: &str,
    role: Role,
) -> Result<OperatorId, ServiceError> {
    store
        .admin()
        .add_member(email, display_name, tenant, role)
        .await
        .on_conflict(Refusal::EmailTaken)
}

/// Changes an operator's role; an owner cannot demote themselves (another owner must).
pub async fn set_role(
    tx: &mut ScopedTx<'_>,
    caller: OperatorId,
    operator: OperatorId,
    role: Role,
) -> Result<(), ServiceError> {
    tx.memberships().role_of(operator).await?;
    if operator == caller && role != Role::Owner {
        return Err(Refusal::OwnerDemotesSelf.into());
    }
    Ok(tx.memberships().set_role(operator, role).await?)
}

/// Removes an operator from the tenant, revoking their tokens for it in the same
/// transaction (the next request with one answers 401); an owner cannot remove themselves.
pub async fn remove_member(
    tx: &mut ScopedTx<'_>,
    caller: OperatorId,
    operator: OperatorId,
) -> Result<(), ServiceError> {
    tx.memberships().role_of(operator).await?;
    if operator == caller {
        return Err(Refusal::OwnerRemovesSelf.into());
    }
    Ok(tx.memberships().remove(operator).await?)
}

/// Restricts an operator to an EBICS user (more grants widen the restriction).
pub async fn grant(
    tx: &mut ScopedTx<'_>,
    operator: OperatorId,
    user: EbicsUserId,
) -> Result<(), ServiceError> {
    tx.memberships().role_of(operator).await?;
    let _: EbicsUser = tx.get(user).await?;
    Ok(tx.memberships().grant(operator, user).await?)
}

/// Lifts one of an operator's grants. Lifting the last one lifts the restriction: the
/// operator then sees every EBICS user of the tenant again, as their role allows.
pub async fn revoke_grant(
    tx: &mut ScopedTx<'_>,
    operator: OperatorId,
    user: EbicsUserId,
) -> Result<(), ServiceError> {
    tx.memberships().role_of(operator).await?;
    Ok(tx.memberships().revoke_grant(operator, user).await?)
}

fn expiry(days: i64) -> DateTime<Utc> {
    Utc::now() + chrono::Duration::days(days)
}

/// Issues a token for a member of the scope's tenant, acting in this tenant only and
/// expiring after `days` (an Owner for another operator).
pub async fn issue_member_token(
    tx: &mut ScopedTx<'_>,
    operator: OperatorId,
    name: &str,
    days: i64,
) -> Result<IssuedToken, ServiceError> {
    Ok(tx
        .memberships()
        .issue_token(operator, name, Some(expiry(days)))
        .await?)
}

/// Issues a token for the caller themselves, acting in `tenant` (default: the tenant of the
/// token they call with). An operator of several tenants holds one token per tenant; they
/// must be a member of `tenant` (else 404, as for a tenant that does not exist).
pub async fn issue_own_token(
    store: &Store,
    caller: &AuthenticatedOperator,
    tenant: Option<TenantId>,
    name: &str,
    days: i64,
) -> Result<IssuedToken, ServiceError> {
    let tenant = tenant.unwrap_or(caller.tenant());
    let scope = TenantScope::system_job(tenant, "operator issues their own token");
    let mut tx = store.scope(&scope).begin().await?;
    let issued = issue_member_token(&mut tx, caller.operator(), name, days).await?;
    tx.commit().await?;
    Ok(issued)
}

/// Revokes one of an operator's tokens for the scope's tenant.
pub async fn revoke_member_token(
    tx: &mut ScopedTx<'_>,
    operator: OperatorId,
    token: ApiTokenId,
) -> Result<(), ServiceError> {
    Ok(tx.memberships().revoke_token(operator, token).await?)
}
