//! Operators' roles in the scope's tenant and their restriction to specific EBICS users.

use chrono::{DateTime, Utc};

use super::repository;
use crate::admin::{new_token_secret, ApiToken, IssuedToken};
use crate::db::{now, push_keyset_page, record, RowReader};
use crate::error::{found, Result, StorageError};
use crate::ids::{ApiTokenId, EbicsUserId, OperatorId};
use crate::status::Role;

record! {
    /// One operator's membership of the scope's tenant.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Member {
        pub operator_id: OperatorId,
        pub role: Role,
        /// The name this tenant knows the operator by (operators are global; a name given in one
        /// tenant never shows in another).
        pub display_name: String,
    }
}

repository!(
    /// Memberships and grants of the scope's tenant.
    Memberships,
    memberships
);

impl Memberships<'_, '_> {
    /// Makes an operator a member of this tenant, known here as `display_name`. `Conflict`
    /// when they already are.
    pub async fn add(
        &mut self,
        operator: OperatorId,
        role: Role,
        display_name: &str,
    ) -> Result<()> {
        let tenant = self.tx.tenant_val();
        self.tx
            .execute(
                "INSERT INTO memberships (tenant_id, operator_id, role, display_name, created_at) VALUES ($1, $2, $3, $4, $5)",
                &[tenant, operator.to_db().into(), role.as_str().into(), display_name.into(), now().into()],
            )
            .await
            .map_err(|e| StorageError::from_write("membership", e))?;
        Ok(())
    }

    /// The operator's role here; `NotFound` when they are not a member.
    pub async fn role_of(&mut self, operator: OperatorId) -> Result<Role> {
        let tenant = self.tx.tenant_val();
        let row = self
            .tx
            .fetch_optional(
                "SELECT role FROM memberships WHERE tenant_id = $1 AND operator_id = $2",
                &[tenant, operator.to_db().into()],
            )
            .await?
            .ok_or(StorageError::NotFound {
                entity: "membership",
            })?;
        RowReader(&row).enumeration("role")
    }

    pub async fn set_role(&mut self, operator: OperatorId, role: Role) -> Result<()> {
        let tenant = self.tx.tenant_val();
        self.tx
            .execute_found(
                "membership",
                "UPDATE memberships SET role = $1 WHERE tenant_id = $2 AND operator_id = $3",
                &[role.as_str().into(), tenant, operator.to_db().into()],
            )
            .await
    }

    /// All members of this tenant with their roles.
    pub async fn list(&mut self) -> Result<Vec<Member>> {
        let tenant = self.tx.tenant_val();
        self.tx
            .fetch_all_as(
                "SELECT operator_id, role, display_name FROM memberships WHERE tenant_id = $1 ORDER BY operator_id",
                &[tenant], Member::read)
.await
    }

    /// One keyset page of members, newest membership first by operator id.
    pub async fn page(&mut self, before: Option<OperatorId>, limit: u32) -> Result<Vec<Member>> {
        let mut values = vec![self.tx.tenant_val()];
        let mut sql = String::from(
            "SELECT operator_id, role, display_name FROM memberships WHERE tenant_id = $1",
        );
        let before = before.map(|b| b.to_db().into());
        push_keyset_page(&mut sql, &mut values, "operator_id", before, limit);
        self.tx.fetch_all_as(&sql, &values, Member::read).await
    }

    /// Removes an operator (their grants, and at once every token they hold for this
    /// tenant) from this tenant.
    pub async fn remove(&mut self, operator: OperatorId) -> Result<()> {
        let tenant = self.tx.tenant_val();
        self.tx
            .execute(
                "UPDATE api_tokens SET revoked_at = $1 WHERE tenant_id = $2 AND operator_id = $3 AND revoked_at IS NULL",
                &[now().into(), tenant.clone(), operator.to_db().into()],
            )
            .await
            .map_err(|e| StorageError::from_write("API token", e))?;
        self.tx
            .execute(
                "DELETE FROM operator_grants WHERE tenant_id = $1 AND operator_id = $2",
                &[tenant.clone(), operator.to_db().into()],
            )
            .await?;
        self.tx
            .execute_found(
                "membership",
                "DELETE FROM memberships WHERE tenant_id = $1 AND operator_id = $2",
                &[tenant, operator.to_db().into()],
            )
            .await
    }

    /// Restricts an operator to an EBICS user (of this tenant); with no grants they see all.
    pub async fn grant(&mut self, operator: OperatorId, user: EbicsUserId) -> Result<()> {
        self.role_of(operator).await?;
        let tenant = self.tx.tenant_val();
        self.tx
            .execute(
                "INSERT INTO operator_grants (tenant_id, operator_id, ebics_user_id, created_at) VALUES ($1, $2, $3, $4)",
                &[tenant, operator.to_db().into(), user.to_db().into(), now().into()],
            )
            .await
            .map_err(|e| StorageError::from_write("grant", e))?;
        Ok(())
    }

    /// The operator's role here and the EBICS users they are restricted to (empty: none),
    /// in one query: the token check asks this on every API request. `NotFound` when they
    /// are not a member.
    pub async fn access_of(&mut self, operator: OperatorId) -> Result<(Role, Vec<EbicsUserId>)> {
        let tenant = self.tx.tenant_val();
        let rows = self
            .tx
            .fetch_all(
                "SELECT m.role, g.ebics_user_id FROM memberships m \
                 LEFT JOIN operator_grants g \
                   ON g.tenant_id = m.tenant_id AND g.operator_id = m.operator_id \
                 WHERE m.tenant_id = $1 AND m.operator_id = $2 ORDER BY g.ebics_user_id",
                &[tenant, operator.to_db().into()],
            )
            .await?;
        let first = rows.first().ok_or(StorageError::NotFound {
            entity: "membership",
        })?;
        let role = RowReader(first).enumeration("role")?;
        let grants = rows
            .iter()
            .filter_map(|r| RowReader(r).opt_parsed("ebics_user_id").transpose())
            .collect::<Result<_>>()?;
        Ok((role, grants))
    }

    pub async fn grants_of(&mut self, operator: OperatorId) -> Result<Vec<EbicsUserId>> {
        self.grant_column("ebics_user_id", "operator_id", operator.to_db())
            .await
    }

    /// The operators restricted to (among others) `user`, by grants on it.
    pub async fn grantees_of(&mut self, user: EbicsUserId) -> Result<Vec<OperatorId>> {
        self.grant_column("operator_id", "ebics_user_id", user.to_db())
            .await
    }

    /// The `wanted` ids of the tenant's grants whose `by` column is `id`, in order.
    async fn grant_column<T>(
        &mut self,
        wanted: &'static str,
        by: &'static str,
        id: String,
    ) -> Result<Vec<T>>
    where
        T: std::str::FromStr,
        T::Err: std::fmt::Display,
    {
        let tenant = self.tx.tenant_val();
        let sql = format!(
            "SELECT {wanted} FROM operator_grants WHERE tenant_id = $1 AND {by} = $2 \
             ORDER BY {wanted}"
        );
        self.tx
            .fetch_all(&sql, &[tenant, id.into()])
            .await?
            .iter()
            .map(|r| RowReader(r).parsed(wanted))
            .collect()
    }

    /// Lifts one grant; `NotFound` when the operator had no grant on `user`.
    pub async fn revoke_grant(&mut self, operator: OperatorId, user: EbicsUserId) -> Result<()> {
        let tenant = self.tx.tenant_val();
        self.tx
            .execute_found(
                "grant",
                "DELETE FROM operator_grants WHERE tenant_id = $1 AND operator_id = $2 AND ebics_user_id = $3",
                &[tenant, operator.to_db().into(), user.to_db().into()],
            )
            .await
    }

    /// Issues an API token for a member, acting in this tenant only; the secret is returned
    /// once and only its hash is stored.
    pub async fn issue_token(
        &mut self,
        operator: OperatorId,
        name: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<IssuedToken> {
        self.role_of(operator).await?;
        let (secret, hash) = new_token_secret();
        let id = ApiTokenId::new();
        let tenant = self.tx.tenant_val();
        self.tx
            .execute(
                "INSERT INTO api_tokens (id, operator_id, tenant_id, name, token_hash, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    id.to_db().into(),
                    operator.to_db().into(),
                    tenant,
                    name.into(),
                    hash.into(),
                    expires_at.into(),
                    now().into(),
                ],
            )
            .await
            .map_err(|e| StorageError::from_write("API token", e))?;
        let token = self.token(operator, id).await?;
        Ok(IssuedToken {
            token,
            secret: secret.into(),
        })
    }

    async fn token(&mut self, operator: OperatorId, id: ApiTokenId) -> Result<ApiToken> {
        let tenant = self.tx.tenant_val();
        let row = self
            .tx
            .fetch_optional(
                "SELECT * FROM api_tokens WHERE id = $1 AND tenant_id = $2 AND operator_id = $3",
                &[id.to_db().into(), tenant, operator.to_db().into()],
            )
            .await?
            .ok_or(StorageError::NotFound {
                entity: "API token",
            })?;
        ApiToken::read(&RowReader(&row))
    }

    /// One keyset page of a member's tokens for this tenant (never their secrets), newest first.
    pub async fn tokens(
        &mut self,
        operator: OperatorId,
        before: Option<ApiTokenId>,
        limit: u32,
    ) -> Result<Vec<ApiToken>> {
        let mut values = vec![self.tx.tenant_val(), operator.to_db().into()];
        let mut sql =
            String::from("SELECT * FROM api_tokens WHERE tenant_id = $1 AND operator_id = $2");
        let before = before.map(|b| b.to_db().into());
        push_keyset_page(&mut sql, &mut values, "id", before, limit);
        self.tx.fetch_all_as(&sql, &values, ApiToken::read).await
    }

    /// Revokes one of a member's tokens for this tenant; `NotFound` for a token of another
    /// operator or tenant, or one already revoked.
    pub async fn revoke_token(&mut self, operator: OperatorId, token: ApiTokenId) -> Result<()> {
        let tenant = self.tx.tenant_val();
        let n = self
            .tx
            .execute(
                "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND tenant_id = $3 AND operator_id = $4 AND revoked_at IS NULL",
                &[now().into(), token.to_db().into(), tenant, operator.to_db().into()],
            )
            .await
            .map_err(|e| StorageError::from_write("API token", e))?;
        found("API token", n)
    }
}
