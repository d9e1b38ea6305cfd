//! The tenant's operators: memberships with their roles, grants that restrict an operator to
//! some EBICS users, and API tokens.

use chrono::{DateTime, Utc};
use kontor_storage::admin::IssuedToken;
use kontor_storage::{
    ApiTokenId, EbicsUser, EbicsUserId, OperatorId, Role, ScopedTx, Store, TenantId,
};

use super::error::{OnConflict, Refusal, ServiceError};

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

/// Removes an operator from the tenant; an owner cannot remove themselves.
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

/// Issues an API token for `operator`, expiring after `days`.
pub async fn issue_token(
    store: &Store,
    operator: OperatorId,
    name: &str,
    days: i64,
) -> Result<IssuedToken, ServiceError> {
    let expires: DateTime<Utc> = Utc::now() + chrono::Duration::days(days);
    Ok(store
        .admin()
        .issue_token(operator, name, Some(expires))
        .await?)
}

/// Revokes one of `operator`'s own tokens.
pub async fn revoke_token(
    store: &Store,
    operator: OperatorId,
    token: ApiTokenId,
) -> Result<(), ServiceError> {
    Ok(store.admin().revoke_token(operator, token).await?)
}
