//! Global records that sit above tenants: tenants, operators and their API tokens.
//!
//! These are not tenant data, so they are reached through [`Store::admin`], used by the CLI
//! bootstrap (`kontor tenant create`) and the API's token check. Memberships and grants are
//! tenant data and live in scoped repositories ([`crate::Memberships`]).

use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::db::{now, read_rows, record, DbRow, RowReader, Val};
use crate::engine::PooledConn;
use crate::error::{Result, StorageError};
use crate::ids::{ApiTokenId, OperatorId, TenantId};
use crate::status::Role;
use crate::store::{AuthenticatedOperator, ScopedTx, Store, TenantScope};

record! {
    /// A customer organisation; all other data belongs to exactly one tenant.
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
    #[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
    pub struct Tenant {
        pub id: TenantId,
        pub name: String,
        pub created_at: DateTime<Utc>,
    }
}

/// A person or service using the admin API.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct Operator {
    pub id: OperatorId,
    pub email: String,
    pub display_name: String,
    pub current_tenant: Option<TenantId>,
    pub created_at: DateTime<Utc>,
}

record! {
    /// An API token's metadata (the secret itself is shown once, at creation, and stored hashed).
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
    #[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
    pub struct ApiToken {
        pub id: ApiTokenId,
        pub operator_id: OperatorId,
        /// The one tenant the token acts in; none for a platform administrator's token.
        pub tenant_id: Option<TenantId>,
        pub name: String,
        pub expires_at: Option<DateTime<Utc>>,
        pub revoked_at: Option<DateTime<Utc>>,
        /// Last successful use, to the minute.
        pub last_used_at: Option<DateTime<Utc>>,
        pub created_at: DateTime<Utc>,
    }
}

impl ApiToken {
    /// Whether the token may be used at `at`: not revoked and not expired.
    fn is_live(&self, at: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| e > at)
    }
}

/// A freshly created token: the secret, shown once.
pub struct IssuedToken {
    pub token: ApiToken,
    pub secret: secrecy::SecretString,
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token", &self.token)
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// Why a token was refused. Deliberately coarse: the API answers 401 without detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid, expired or revoked token")]
pub struct TokenRejected;

const TOKEN_PREFIX: &str = "kontor_";

fn token_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A new bearer secret and the hash that is stored in its place.
pub(crate) fn new_token_secret() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = format!("{TOKEN_PREFIX}{}", hex::encode(bytes));
    let hash = token_hash(&secret);
    (secret, hash)
}

/// A platform administrator whose token was checked: creates and lists tenants, and reaches
/// no tenant's data. Constructed only by [`Admin::authenticate_platform`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformAdmin {
    operator: OperatorId,
}

impl PlatformAdmin {
    pub fn operator(&self) -> OperatorId {
        self.operator
    }
}

/// Global administration: tenants, operators, tokens.
pub struct Admin<'s> {
    store: &'s Store,
}

impl Store {
    pub fn admin(&self) -> Admin<'_> {
        Admin { store: self }
    }
}

impl Admin<'_> {
    async fn exec(&self, entity: &'static str, sql: &str, values: &[Val]) -> Result<u64> {
        let mut conn = self.store.pool().acquire().await?;
        conn.conn()
            .execute(sql, values)
            .await
            .map_err(|e| StorageError::from_write(entity, e))
    }

    async fn rows(&self, sql: &str, values: &[Val]) -> Result<Vec<DbRow>> {
        self.store
            .pool()
            .acquire()
            .await?
            .conn()
            .fetch_all(sql, values)
            .await
    }

    pub async fn create_tenant(&self, name: &str) -> Result<Tenant> {
        let name = name.trim();
        if name.is_empty() {
            return Err(StorageError::InvalidInput {
                field: "name",
                message: "a tenant needs a name".into(),
            });
        }
        let id = TenantId::new();
        self.exec(
            "tenant",
            "INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)",
            &[id.to_db().into(), name.into(), now().into()],
        )
        .await?;
        self.tenant(id).await
    }

    pub async fn tenant(&self, id: TenantId) -> Result<Tenant> {
        self.rows("SELECT * FROM tenants WHERE id = $1", &[id.to_db().into()])
            .await?
            .first()
            .map(|r| Tenant::read(&RowReader(r)))
            .transpose()?
            .ok_or(StorageError::NotFound { entity: "tenant" })
    }

    pub async fn list_tenants(&self) -> Result<Vec<Tenant>> {
        self.rows("SELECT * FROM tenants ORDER BY name", &[])
            .await?
            .iter()
            .map(|r| Tenant::read(&RowReader(r)))
            .collect()
    }

    pub async fn find_tenant_by_name(&self, name: &str) -> Result<Option<Tenant>> {
        self.rows("SELECT * FROM tenants WHERE name = $1", &[name.into()])
            .await?
            .first()
            .map(|r| Tenant::read(&RowReader(r)))
            .transpose()
    }

    /// Creates an operator and makes them a member of `tenant` with `role` (their current tenant).
    pub async fn create_operator(
        &self,
        email: &str,
        display_name: &str,
        tenant: TenantId,
        role: Role,
    ) -> Result<Operator> {
        let id = OperatorId::new();
        self.exec(
            "operator",
            "INSERT INTO operators (id, email, display_name, current_tenant_id, created_at) VALUES ($1, $2, $3, $4, $5)",
            &[id.to_db().into(), email.into(), display_name.into(), tenant.to_db().into(), now().into()],
        )
        .await?;
        let scope = TenantScope::system_job(tenant, "admin: add membership");
        let mut tx = self.store.scope(&scope).begin().await?;
        tx.memberships().add(id, role, display_name).await?;
        tx.commit().await?;
        self.operator(id).await
    }

    /// Makes the operator with `email` a member of `tenant`, creating the operator when no
    /// tenant has one with that address yet. Both cases end alike, so a tenant learns nothing
    /// about other tenants' operators: the operator's global record is not shown, the
    /// membership carries this tenant's `display_name`, and the operator's tokens keep acting
    /// in their current tenant. `Conflict` only when they are already a member of `tenant`.
    pub async fn add_member(
        &self,
        email: &str,
        display_name: &str,
        tenant: TenantId,
        role: Role,
    ) -> Result<OperatorId> {
        let operator = match self.operator_by_email(email).await? {
            Some(id) => id,
            None => {
                let id = OperatorId::new();
                let created = self
                    .exec(
                        "operator",
                        "INSERT INTO operators (id, email, display_name, current_tenant_id, created_at) VALUES ($1, $2, $3, $4, $5)",
                        &[id.to_db().into(), email.into(), display_name.into(), tenant.to_db().into(), now().into()],
                    )
                    .await;
                match created {
                    Ok(_) => id,
                    // Created concurrently by another request: attach that operator.
                    Err(StorageError::Conflict { .. }) => self
                        .operator_by_email(email)
                        .await?
                        .ok_or(StorageError::NotFound { entity: "operator" })?,
                    Err(other) => return Err(other),
                }
            }
        };
        let scope = TenantScope::system_job(tenant, "admin: add membership");
        let mut tx = self.store.scope(&scope).begin().await?;
        tx.memberships().add(operator, role, display_name).await?;
        tx.commit().await?;
        Ok(operator)
    }

    /// The operator with this e-mail address (compared case-insensitively), in any tenant.
    async fn operator_by_email(&self, email: &str) -> Result<Option<OperatorId>> {
        self.rows(
            "SELECT id FROM operators WHERE LOWER(email) = LOWER($1)",
            &[email.into()],
        )
        .await?
        .first()
        .map(|r| RowReader(r).parsed("id"))
        .transpose()
    }

    pub async fn operator(&self, id: OperatorId) -> Result<Operator> {
        self.rows(
            "SELECT * FROM operators WHERE id = $1",
            &[id.to_db().into()],
        )
        .await?
        .first()
        .map(|r| read_operator(&RowReader(r)))
        .transpose()?
        .ok_or(StorageError::NotFound { entity: "operator" })
    }

    /// Issues a new API token acting in the operator's current tenant (the CLI bootstrap);
    /// the secret is returned once and only its hash is stored.
    pub async fn issue_token(
        &self,
        operator: OperatorId,
        name: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<IssuedToken> {
        let tenant =
            self.operator(operator)
                .await?
                .current_tenant
                .ok_or(StorageError::NotFound {
                    entity: "membership",
                })?;
        self.insert_token(operator, Some(tenant), name, expires_at)
            .await
    }

    /// Writes a token for `operator` in `tenant` (none: a platform token).
    async fn insert_token(
        &self,
        operator: OperatorId,
        tenant: Option<TenantId>,
        name: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<IssuedToken> {
        let (secret, hash) = new_token_secret();
        let id = ApiTokenId::new();
        self.exec(
            "API token",
            "INSERT INTO api_tokens (id, operator_id, tenant_id, name, token_hash, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                id.to_db().into(),
                operator.to_db().into(),
                tenant.map(TenantId::to_db).into(),
                name.into(),
                hash.into(),
                expires_at.into(),
                now().into(),
            ],
        )
        .await?;
        let token = self
            .rows(
                "SELECT * FROM api_tokens WHERE id = $1",
                &[id.to_db().into()],
            )
            .await?
            .first()
            .map(|r| ApiToken::read(&RowReader(r)))
            .transpose()?
            .ok_or(StorageError::NotFound {
                entity: "API token",
            })?;
        Ok(IssuedToken {
            token,
            secret: secret.into(),
        })
    }

    /// Makes the operator with `email` a platform administrator (creating them, in no
    /// tenant, if the address is new) and issues a platform token. The bootstrap of
    /// `kontor platform-admin create`; the API has no way to make one.
    pub async fn create_platform_admin(
        &self,
        email: &str,
        display_name: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<(OperatorId, IssuedToken)> {
        let operator = match self.operator_by_email(email).await? {
            Some(id) => id,
            None => {
                let id = OperatorId::new();
                self.exec(
                    "operator",
                    "INSERT INTO operators (id, email, display_name, created_at) VALUES ($1, $2, $3, $4)",
                    &[id.to_db().into(), email.into(), display_name.into(), now().into()],
                )
                .await?;
                id
            }
        };
        self.exec(
            "operator",
            "UPDATE operators SET platform_admin = $1 WHERE id = $2",
            &[true.into(), operator.to_db().into()],
        )
        .await?;
        let issued = self
            .insert_token(operator, None, "platform", expires_at)
            .await?;
        Ok((operator, issued))
    }

    /// The row `sql` finds for a presented secret by its hash (`$1`), read on `conn`;
    /// `Rejected` for a secret that is not a Kontor token or that matches no token.
    async fn presented_token_row(
        conn: &mut PooledConn,
        sql: &str,
        secret: &str,
    ) -> Result<DbRow, AuthError> {
        if !secret.starts_with(TOKEN_PREFIX) {
            return Err(AuthError::Rejected(TokenRejected));
        }
        conn.conn()
            .fetch_optional(sql, &[token_hash(secret).into()])
            .await?
            .ok_or(AuthError::Rejected(TokenRejected))
    }

    /// Checks a presented platform token: a token bound to no tenant, of an operator who
    /// is a platform administrator.
    pub async fn authenticate_platform(
        &self,
        secret: &str,
        at: DateTime<Utc>,
    ) -> Result<PlatformAdmin, AuthError> {
        let row = Self::presented_token_row(
            &mut self.store.read_pool().acquire().await?,
            "SELECT t.*, o.platform_admin FROM api_tokens t JOIN operators o ON o.id = t.operator_id WHERE t.token_hash = $1",
            secret,
        )
        .await?;
        let r = RowReader(&row);
        let token = ApiToken::read(&r)?;
        if !token.is_live(at) || token.tenant_id.is_some() || !r.bool("platform_admin")? {
            return Err(AuthError::Rejected(TokenRejected));
        }
        Ok(PlatformAdmin {
            operator: token.operator_id,
        })
    }

    /// One keyset page of tenants, newest first.
    pub async fn tenants_page(&self, before: Option<TenantId>, limit: u32) -> Result<Vec<Tenant>> {
        let rows = match before {
            Some(before) => {
                self.rows(
                    "SELECT * FROM tenants WHERE id < $1 ORDER BY id DESC LIMIT $2",
                    &[before.to_db().into(), i64::from(limit).into()],
                )
                .await?
            }
            None => {
                self.rows(
                    "SELECT * FROM tenants ORDER BY id DESC LIMIT $1",
                    &[i64::from(limit).into()],
                )
                .await?
            }
        };
        read_rows(&rows, Tenant::read)
    }

    pub async fn list_tokens(&self, operator: OperatorId) -> Result<Vec<ApiToken>> {
        let rows = self
            .rows(
                "SELECT * FROM api_tokens WHERE operator_id = $1 ORDER BY created_at",
                &[operator.to_db().into()],
            )
            .await?;
        read_rows(&rows, ApiToken::read)
    }

    /// Revokes one of `operator`'s tokens.
    pub async fn revoke_token(&self, operator: OperatorId, token: ApiTokenId) -> Result<()> {
        let n = self
            .exec(
                "API token",
                "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND operator_id = $3 AND revoked_at IS NULL",
                &[now().into(), token.to_db().into(), operator.to_db().into()],
            )
            .await?;
        if n == 0 {
            return Err(StorageError::NotFound {
                entity: "API token",
            });
        }
        Ok(())
    }

    /// Checks a presented token and returns the operator with their role in the tenant the
    /// token is bound to; a token of an operator no longer a member there is refused.
    pub async fn authenticate_token(
        &self,
        secret: &str,
        at: DateTime<Utc>,
    ) -> Result<AuthenticatedOperator, AuthError> {
        Ok(self.authenticate_token_reading(secret, at).await?.0)
    }

    /// [`Admin::authenticate_token`], and with the operator the read-only transaction of
    /// their tenant in which their membership was read, as their own
    /// ([`TenantScope::for_operator`]). A request that only reads goes on in it: one
    /// connection, one transaction and one snapshot from the token check to the answer.
    pub async fn authenticate_token_reading(
        &self,
        secret: &str,
        at: DateTime<Utc>,
    ) -> Result<(AuthenticatedOperator, ScopedTx<'static>), AuthError> {
        // Every API request passes here: it reads on the read pool and a read transaction, so
        // requests do not queue behind SQLite's write lock. The token is found outside the
        // transaction (it names the tenant the transaction is bound to), on the connection
        // the transaction then runs on.
        let mut conn = self.store.read_pool().acquire().await?;
        let row = Self::presented_token_row(
            &mut conn,
            "SELECT * FROM api_tokens WHERE token_hash = $1",
            secret,
        )
        .await?;
        let token = ApiToken::read(&RowReader(&row))?;
        if !token.is_live(at) {
            return Err(AuthError::Rejected(TokenRejected));
        }
        // The token names its tenant; a platform token reaches no tenant.
        let tenant: TenantId = token.tenant_id.ok_or(AuthError::Rejected(TokenRejected))?;
        // Recorded to the minute: a write per request would serialise every read on SQLite.
        // The read connection goes back to the pool before the write takes one: holding one
        // while waiting for another starves a pool that many fresh tokens reach at once.
        if token
            .last_used_at
            .is_none_or(|last| at - last >= LAST_USED_PRECISION)
        {
            drop(conn);
            self.exec(
                "API token",
                "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2",
                &[at.into(), token.id.to_db().into()],
            )
            .await?;
            conn = self.store.read_pool().acquire().await?;
        }
        let scope = TenantScope::system_job(tenant, "admin: authenticate token");
        let mut tx = self.store.scope(&scope).read_on(conn).await?;
        let (role, restricted_to) = match tx.memberships().access_of(token.operator_id).await {
            Ok(access) => access,
            Err(StorageError::NotFound { .. }) => return Err(AuthError::Rejected(TokenRejected)),
            Err(e) => return Err(e.into()),
        };
        let operator = AuthenticatedOperator {
            operator: token.operator_id,
            tenant,
            role,
            restricted_to,
        };
        let operator_scope = TenantScope::for_operator(&operator);
        tx.actor = operator_scope.actor().clone();
        Ok((operator, tx))
    }
}

/// How stale an API token's `last_used_at` may be: the token check writes it at most once
/// per this interval.
const LAST_USED_PRECISION: chrono::TimeDelta = chrono::TimeDelta::minutes(1);

/// Token check failure: either a rejection (401) or a storage failure (500).
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(transparent)]
    Rejected(TokenRejected),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

fn read_operator(r: &RowReader<'_>) -> Result<Operator> {
    Ok(Operator {
        id: r.parsed("id")?,
        email: r.text("email")?,
        display_name: r.text("display_name")?,
        current_tenant: r.opt_parsed("current_tenant_id")?,
        created_at: r.ts("created_at")?,
    })
}
