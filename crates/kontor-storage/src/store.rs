//! The store, tenant scopes and scoped transactions: the only doors to tenant data.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::db::{push_keyset_page, RowReader, Val};
use crate::engine::{Conn, DbRow, Pool, PooledConn, Tx};
use crate::error::{found, Result, StorageError};
use crate::ids::{OperatorId, TenantId};
use crate::private_files::{check_private_if_exists, ensure_private_file, PrivateFileError};
use crate::status::{IllegalTransition, Role};
use crate::vault::MasterKey;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

/// How long a request waits for a PostgreSQL connection before it fails with
/// [`StorageError::Unavailable`]: while the database is down, every request fails within this
/// bound (the API answers 503) instead of hanging, and the pool reconnects on its own once the
/// server is back. Long enough for a connection to open over a slow network and for a short
/// burst to queue behind 16 busy connections.
pub const POSTGRES_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a PostgreSQL connection may sit in the pool before it is pinged when handed out
/// again ([`ping_when_idle`]).
const POSTGRES_PING_AFTER_IDLE: Duration = Duration::from_secs(1);
/// SQLite is a local file and cannot be "down"; its writers queue on the file lock
/// (`busy_timeout`), so waiting for one of the 4 connections may take a while under load.
const SQLITE_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);
/// SQLite allows one writer at a time anyway: more write connections only queue on the lock.
const SQLITE_WRITE_CONNECTIONS: u32 = 4;
/// How long a SQLite connection waits for a lock (the writer's, or a checkpoint's) before it
/// fails with `SQLITE_BUSY`.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Which database engine a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The database plus the master key. Hands out no tenant data except through a [`TenantScope`].
#[derive(Clone)]
pub struct Store {
    /// Writes (and everything outside [`Scoped::read`]).
    pool: Pool,
    /// Read transactions. On SQLite a second pool over the same WAL file whose connections
    /// are `query_only`: WAL readers see the last committed state without waiting for the
    /// writer, so reads never queue behind the write lock. On PostgreSQL the same pool as
    /// writes (each read transaction is `READ ONLY`).
    read_pool: Pool,
    backend: Backend,
    master_key: Arc<MasterKey>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Connects to `sqlite://path?mode=rwc` (file created when missing, WAL mode) or
    /// `postgres://...`. Does not migrate; call [`Store::migrate`].
    pub async fn connect(url: &str, master_key: Arc<MasterKey>) -> Result<Self> {
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StorageError::InvalidInput {
                field: "database_url",
                message: "must start with sqlite: or postgres:".into(),
            });
        };
        let (pool, read_pool) = match backend {
            Backend::Sqlite => {
                let file = sqlite_file(url);
                if let Some(file) = &file {
                    prepare_sqlite_file(file)?;
                }
                let options = sqlite_options(url)?
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal);
                let pool = sqlite_pool(SQLITE_WRITE_CONNECTIONS)
                    .connect_with(options)
                    .await?;
                // An in-memory database exists once per connection: a second pool would read
                // another (empty) database, so its reads share the write pool.
                let read_pool = match file {
                    Some(_) => sqlite_read_pool(url).await?,
                    None => pool.clone(),
                };
                (Pool::Sqlite(pool), Pool::Sqlite(read_pool))
            }
            Backend::Postgres => {
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(POSTGRES_ACQUIRE_TIMEOUT)
                    .test_before_acquire(false)
                    .before_acquire(|conn, meta| Box::pin(ping_when_idle(conn, meta.idle_for)))
                    .connect(url)
                    .await?;
                (Pool::Postgres(pool.clone()), Pool::Postgres(pool))
            }
        };
        Ok(Self {
            pool,
            read_pool,
            backend,
            master_key,
        })
    }

    /// Creates or upgrades the schema.
    pub async fn migrate(&self) -> Result<()> {
        self.pool
            .migrate(match self.backend {
                Backend::Sqlite => &SQLITE_MIGRATIONS,
                Backend::Postgres => &POSTGRES_MIGRATIONS,
            })
            .await
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub(crate) fn master_key(&self) -> &MasterKey {
        &self.master_key
    }

    pub(crate) fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The only way to tenant data: a handle bound to the scope's tenant.
    pub fn scope(&self, scope: &TenantScope) -> Scoped<'_> {
        Scoped {
            store: self,
            tenant: scope.tenant,
            actor: scope.actor.clone(),
            request_id: scope.request_id.clone(),
        }
    }

    pub(crate) async fn begin_raw(&self) -> Result<Tx> {
        self.pool
            .begin_with(match self.backend {
                // Take the write lock up front: a deferred transaction that later writes can
                // fail with SQLITE_BUSY without waiting when another writer got there first.
                Backend::Sqlite => "BEGIN IMMEDIATE",
                Backend::Postgres => "BEGIN",
            })
            .await
    }

    /// The pool for single read-only statements outside a transaction.
    pub(crate) fn read_pool(&self) -> &Pool {
        &self.read_pool
    }

    pub async fn close(&self) {
        self.read_pool.close().await;
        self.pool.close().await;
    }

    /// One round trip to the database (readiness probes). Fails with
    /// [`StorageError::Unavailable`] within the acquire timeout while the database is down.
    pub async fn ping(&self) -> Result<()> {
        self.pool
            .acquire()
            .await?
            .conn()
            .execute("SELECT 1", &[])
            .await?;
        Ok(())
    }
}

/// The read pool of a SQLite file: one connection per core (a read runs on the core that asks),
/// each `query_only`, so a write through it fails (`SQLITE_READONLY`) instead of taking the lock.
async fn sqlite_read_pool(url: &str) -> Result<sqlx::SqlitePool> {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as u32;
    Ok(sqlite_pool(cores.max(2))
        .connect_with(sqlite_options(url)?.pragma("query_only", "ON"))
        .await?)
}

/// The settings of both SQLite pools. Without sqlx's liveness ping before each acquire: a
/// local file does not hang up, and the ping is a round trip to the connection's worker
/// thread on every request.
fn sqlite_pool(max_connections: u32) -> SqlitePoolOptions {
    SqlitePoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(SQLITE_ACQUIRE_TIMEOUT)
        .test_before_acquire(false)
        .after_connect(|conn, _| Box::pin(keep_statements_prepared(conn)))
}

/// Checks a PostgreSQL connection that sat in the pool for [`POSTGRES_PING_AFTER_IDLE`] or
/// longer before it is handed out (sqlx's default pings before every acquire). The ping is
/// a round trip of its own, on a read request one of four (besides the query, the tenant
/// binding and the token check), and a connection that served a request a moment ago is
/// as alive as a ping would show; one that sat idle is where a server restart or a cut
/// network shows. A connection that died after all fails its request as unavailable (503),
/// and sqlx's ping when it goes back to the pool closes it.
async fn ping_when_idle(conn: &mut sqlx::PgConnection, idle_for: Duration) -> sqlx::Result<bool> {
    use sqlx::Connection as _;
    if idle_for >= POSTGRES_PING_AFTER_IDLE {
        conn.ping().await?;
    }
    Ok(true)
}

/// Turns on SQLite's query planner stability guarantee (`SQLITE_DBCONFIG_ENABLE_QPSG`), so
/// that a cached statement is planned once, not on every run.
///
/// Without it SQLite marks a statement whose plan might depend on a bound value (an `=` term
/// some candidate plan leaves unused, a `LIMIT`, a `LIKE` pattern) to be prepared again when
/// that value is rebound, and `sqlite3_clear_bindings`, which sqlx calls after every run,
/// counts as a rebind: nearly every statement was parsed and planned anew each time it ran
/// (about a tenth of the CPU time of an API read request). The plans do not change: without
/// `ANALYZE` statistics the bound values never sway them.
async fn keep_statements_prepared(conn: &mut sqlx::SqliteConnection) -> sqlx::Result<()> {
    use libsqlite3_sys::{sqlite3_db_config, SQLITE_DBCONFIG_ENABLE_QPSG, SQLITE_OK};
    use std::ffi::c_int;
    let mut handle = conn.lock_handle().await?;
    let mut enabled: c_int = 0;
    // SAFETY: the handle is this connection's open database, locked to this call; the option
    // takes an int (1: on) and a pointer to an int that receives the new state
    // (https://sqlite.org/c3ref/c_dbconfig_defensive.html).
    let rc = unsafe {
        sqlite3_db_config(
            handle.as_raw_handle().as_ptr(),
            SQLITE_DBCONFIG_ENABLE_QPSG,
            1 as c_int,
            &mut enabled as *mut c_int,
        )
    };
    if rc != SQLITE_OK || enabled != 1 {
        return Err(sqlx::Error::Configuration(
            format!("SQLite refused SQLITE_DBCONFIG_ENABLE_QPSG (code {rc})").into(),
        ));
    }
    Ok(())
}

/// The options every SQLite connection shares: the file of `url`, foreign keys enforced, and
/// `busy_timeout` (a WAL reader waits only while a checkpoint or recovery holds the file
/// briefly, never for a writer's transaction).
fn sqlite_options(url: &str) -> Result<SqliteConnectOptions> {
    use std::str::FromStr;
    Ok(SqliteConnectOptions::from_str(url)?
        .foreign_keys(true)
        .busy_timeout(SQLITE_BUSY_TIMEOUT))
}

/// The database file of a `sqlite:` URL (`None` for in-memory databases).
fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = path.split('?').next()?;
    if path.is_empty() || path == ":memory:" {
        return None;
    }
    Some(std::path::PathBuf::from(path))
}

/// Creates the database file owner-only before SQLite opens it (SQLite gives its `-wal` and
/// `-shm` files the database file's mode), or refuses an existing one that group or others
/// can read: it holds payment data and the bank's key material.
fn prepare_sqlite_file(file: &std::path::Path) -> Result<()> {
    let refuse = |e: PrivateFileError| StorageError::InvalidInput {
        field: "database_url",
        message: e.to_string(),
    };
    ensure_private_file(file).map_err(refuse)?;
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut companion = file.as_os_str().to_owned();
        companion.push(suffix);
        check_private_if_exists(std::path::Path::new(&companion)).map_err(refuse)?;
    }
    Ok(())
}

/// Who is acting inside a tenant: named by every audit record (`ScopedTx::audit`), and the
/// API's role checks read the operator's role and grants from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// An operator authenticated by the admin API.
    Operator {
        operator: OperatorId,
        role: Role,
        /// When non-empty, the operator may act only for these EBICS users.
        restricted_to: Vec<crate::ids::EbicsUserId>,
    },
    /// The daemon itself (scheduler, recovery, CLI bootstrap).
    System { job: String },
}

/// Permission to read and write one tenant's data.
///
/// Its fields are private: a scope is obtained only from an [`AuthenticatedOperator`] (built by
/// the token check in `Admin::authenticate_token`) or explicitly as a named system job, so no
/// caller can conjure one from a tenant id found in a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantScope {
    tenant: TenantId,
    actor: Actor,
    /// The API request this work serves (`x-request-id`), written on its audit records.
    request_id: Option<String>,
}

impl TenantScope {
    /// The scope of an authenticated operator in their current tenant.
    pub fn for_operator(operator: &AuthenticatedOperator) -> Self {
        Self {
            tenant: operator.tenant,
            actor: Actor::Operator {
                operator: operator.operator,
                role: operator.role,
                restricted_to: operator.restricted_to.clone(),
            },
            request_id: None,
        }
    }

    /// The same scope, serving the API request `request_id` (its audit records name it).
    pub fn serving_request(mut self, request_id: Option<String>) -> Self {
        self.request_id = request_id;
        self
    }

    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// The scope of a daemon job working for `tenant` (scheduler, recovery, CLI bootstrap).
    /// The job name is recorded for audit.
    pub fn system_job(tenant: TenantId, job: impl Into<String>) -> Self {
        Self {
            tenant,
            actor: Actor::System { job: job.into() },
            request_id: None,
        }
    }

    pub fn tenant(&self) -> TenantId {
        self.tenant
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }
}

/// An operator whose API token was checked, with their role in the tenant the token acts in.
/// Constructed only by the storage layer's token check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedOperator {
    pub(crate) operator: OperatorId,
    pub(crate) tenant: TenantId,
    pub(crate) role: Role,
    pub(crate) restricted_to: Vec<crate::ids::EbicsUserId>,
}

impl AuthenticatedOperator {
    pub fn operator(&self) -> OperatorId {
        self.operator
    }
    pub fn tenant(&self) -> TenantId {
        self.tenant
    }
    pub fn role(&self) -> Role {
        self.role
    }
    pub fn restricted_to(&self) -> &[crate::ids::EbicsUserId] {
        &self.restricted_to
    }
}

/// A store bound to one tenant. Open a [`ScopedTx`] to read or write.
pub struct Scoped<'s> {
    store: &'s Store,
    tenant: TenantId,
    actor: Actor,
    request_id: Option<String>,
}

impl<'s> Scoped<'s> {
    /// Starts a read-write database transaction in this tenant. On SQLite it takes the write
    /// lock at once (`BEGIN IMMEDIATE`): writes are serialised. On PostgreSQL it switches to
    /// the `kontor_app` role and sets `kontor.tenant_id`, so row-level security backs the
    /// repository's own `tenant_id` filters.
    pub async fn begin(&self) -> Result<ScopedTx<'s>> {
        let tx = match self.store.backend {
            Backend::Postgres => {
                self.store
                    .pool
                    .begin_with(self.bound_begin("BEGIN"))
                    .await?
            }
            Backend::Sqlite => self.store.begin_raw().await?,
        };
        Ok(self.scoped(tx))
    }

    /// Starts a read-only transaction in this tenant, for work that only reads (the API's
    /// lists and details). Same tenant filters and row-level security as [`Scoped::begin`],
    /// but it never takes SQLite's write lock: it reads the last committed state while a
    /// writer works. Any write through it fails at run time (SQLite `query_only`,
    /// PostgreSQL `READ ONLY`) and changes nothing. (An in-memory SQLite database, one per
    /// connection, has no separate read pool: there it is a deferred write-pool transaction.)
    pub async fn read(&self) -> Result<ScopedTx<'s>> {
        self.read_on(self.store.read_pool.acquire().await?).await
    }

    /// [`Scoped::read`] on `conn`, a connection of the read pool that may have served
    /// statements outside a transaction before (the token check's).
    pub(crate) async fn read_on<'t>(&self, conn: PooledConn) -> Result<ScopedTx<'t>> {
        let tx = match self.store.backend {
            Backend::Postgres => conn.begin_with(self.bound_begin("BEGIN READ ONLY")).await?,
            Backend::Sqlite => conn.begin_with("BEGIN").await?,
        };
        Ok(self.scoped(tx))
    }

    /// The statement that starts a PostgreSQL transaction bound to this tenant in one round
    /// trip: `begin` and the switch to the `kontor_app` role with the `kontor.tenant_id`
    /// setting (both transaction-local) go as one simple-query batch, which the server runs
    /// in order and answers once. A batch takes no bound parameters; the one value in it is
    /// this scope's tenant id, formatted from its UUID (hex digits and dashes), never text
    /// from outside.
    fn bound_begin(&self, begin: &'static str) -> sqlx::AssertSqlSafe<String> {
        let tenant = self.tenant.as_uuid();
        sqlx::AssertSqlSafe(format!(
            "{begin}; SELECT set_config('role', 'kontor_app', true), \
                             set_config('kontor.tenant_id', '{tenant}', true)"
        ))
    }

    fn scoped<'t>(&self, tx: Tx) -> ScopedTx<'t> {
        ScopedTx {
            tx,
            tenant: self.tenant,
            actor: self.actor.clone(),
            request_id: self.request_id.clone(),
            store: self.store.clone(),
            _store: std::marker::PhantomData,
        }
    }

    pub fn tenant(&self) -> TenantId {
        self.tenant
    }
}

/// The name of a savepoint: a constant identifier, never built from input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Savepoint(pub &'static str);

/// A database transaction inside one tenant. Every repository hangs off it; dropping it
/// without [`ScopedTx::commit`] rolls back.
pub struct ScopedTx<'s> {
    pub(crate) tx: Tx,
    pub(crate) tenant: TenantId,
    /// Who acts; audit records name them.
    pub(crate) actor: Actor,
    /// The API request served, for audit records.
    pub(crate) request_id: Option<String>,
    /// Owned (a few reference counts), so that a transaction may outlive the borrow of the
    /// store it came from, e.g. kept by an API caller between its token check and handler.
    pub(crate) store: Store,
    _store: std::marker::PhantomData<&'s Store>,
}

impl ScopedTx<'_> {
    pub async fn commit(self) -> Result<()> {
        self.tx.commit().await
    }

    pub fn tenant(&self) -> TenantId {
        self.tenant
    }

    /// The same transaction, serving the API request `request_id` (its audit records name it).
    pub fn serving_request(mut self, request_id: Option<String>) -> Self {
        self.request_id = request_id;
        self
    }

    /// Marks a point inside this transaction that [`ScopedTx::rollback_to`] returns to, e.g.
    /// to drop one document of a file whose other documents stay. Both backends speak SQL
    /// savepoints; the tenant binding made at `begin` is not undone by them.
    pub async fn savepoint(&mut self, name: Savepoint) -> Result<()> {
        self.execute(&format!("SAVEPOINT {}", name.0), &[]).await?;
        Ok(())
    }

    /// Keeps what was written since the savepoint (and forgets the savepoint).
    pub async fn release(&mut self, name: Savepoint) -> Result<()> {
        self.execute(&format!("RELEASE SAVEPOINT {}", name.0), &[])
            .await?;
        Ok(())
    }

    /// Undoes what was written since the savepoint, which stays usable.
    pub async fn rollback_to(&mut self, name: Savepoint) -> Result<()> {
        self.execute(&format!("ROLLBACK TO SAVEPOINT {}", name.0), &[])
            .await?;
        Ok(())
    }

    pub(crate) fn tenant_val(&self) -> Val {
        self.tenant.to_db().into()
    }

    /// The transaction's connection, to run statements on.
    pub(crate) fn conn(&mut self) -> Conn<'_> {
        self.tx.conn()
    }

    pub(crate) async fn execute(&mut self, sql: &str, values: &[Val]) -> Result<u64, sqlx::Error> {
        self.conn().execute(sql, values).await
    }

    /// Runs a statement that must touch a row of `entity`: `NotFound` when none matched.
    pub(crate) async fn execute_found(
        &mut self,
        entity: &'static str,
        sql: &str,
        values: &[Val],
    ) -> Result<()> {
        let affected = self.execute(sql, values).await?;
        found(entity, affected)
    }

    /// Runs `sql`, an `UPDATE` of the record `id` (in the scope's tenant) under a condition of
    /// its own — the lease holder, an expected status, a counter that only grows — and says
    /// whether it changed the record. When it did not, the record is looked up, so a record
    /// outside the scope's tenant is `NotFound` rather than a condition that was not met.
    pub(crate) async fn update_if<I: EntityId>(
        &mut self,
        id: I,
        sql: &str,
        values: &[Val],
    ) -> Result<bool> {
        let changed = self.execute(sql, values).await? == 1;
        if !changed {
            let _: I::Entity = self.get(id).await?;
        }
        Ok(changed)
    }

    pub(crate) async fn fetch_all(&mut self, sql: &str, values: &[Val]) -> Result<Vec<DbRow>> {
        self.conn().fetch_all(sql, values).await
    }

    /// Runs a query and decodes its rows with `read`.
    pub(crate) async fn fetch_all_as<T>(
        &mut self,
        sql: &str,
        values: &[Val],
        read: fn(&RowReader<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        self.conn().fetch_all_as(sql, values, read).await
    }

    /// Runs a query that always returns a row (an aggregate, say).
    pub(crate) async fn fetch_one(&mut self, sql: &str, values: &[Val]) -> Result<DbRow> {
        self.conn().fetch_one(sql, values).await
    }

    pub(crate) async fn fetch_optional(
        &mut self,
        sql: &str,
        values: &[Val],
    ) -> Result<Option<DbRow>> {
        self.conn().fetch_optional(sql, values).await
    }

    /// Inserts a row into `E`'s table, given as (column, value) pairs; the tenant column is
    /// always the scope's tenant.
    pub(crate) async fn insert<E: Entity>(&mut self, row: &[(&str, Val)]) -> Result<()> {
        let (sql, values) = self.insert_sql(E::TABLE, row, "");
        self.execute(&sql, &values)
            .await
            .map_err(|e| StorageError::from_write(E::NAME, e))?;
        Ok(())
    }

    /// Inserts the record `id` with the other columns in `row` and reads it back as stored
    /// (with the defaults the schema fills in).
    pub(crate) async fn create<I: EntityId>(
        &mut self,
        id: I,
        row: &[(&str, Val)],
    ) -> Result<I::Entity> {
        let mut all = vec![("id", id.db_value().into())];
        all.extend_from_slice(row);
        self.insert::<I::Entity>(&all).await?;
        self.get(id).await
    }

    /// [`ScopedTx::create`] under a new id of `E`.
    pub(crate) async fn create_new<E: Entity>(&mut self, row: &[(&str, Val)]) -> Result<E>
    where
        E::Id: EntityId<Entity = E>,
    {
        self.create(E::Id::fresh(), row).await
    }

    /// `INSERT INTO table (tenant_id, columns...) VALUES ($1, ...)` with the scope's tenant
    /// first, then `suffix` (e.g. an `ON CONFLICT` clause).
    pub(crate) fn insert_sql(
        &self,
        table: &str,
        row: &[(&str, Val)],
        suffix: &str,
    ) -> (String, Vec<Val>) {
        let mut values = vec![self.tenant_val()];
        values.extend(row.iter().map(|(_, v)| v.clone()));
        let columns: Vec<&str> = row.iter().map(|(c, _)| *c).collect();
        let placeholders: Vec<String> = (1..=values.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "INSERT INTO {table} (tenant_id, {}) VALUES ({}){suffix}",
            columns.join(", "),
            placeholders.join(", ")
        );
        (sql, values)
    }

    /// Reads one record of the scope's tenant.
    pub async fn get<I: EntityId>(&mut self, id: I) -> Result<I::Entity> {
        let sql = format!(
            "SELECT * FROM {} WHERE id = $1 AND tenant_id = $2",
            <I::Entity as Entity>::TABLE
        );
        let row = self
            .fetch_optional(&sql, &[id.db_value().into(), self.tenant_val()])
            .await?
            .ok_or(StorageError::NotFound {
                entity: <I::Entity as Entity>::NAME,
            })?;
        <I::Entity as Entity>::from_row(&RowReader(&row))
    }

    /// Lists records of the scope's tenant whose `column` equals `value`, oldest first.
    pub(crate) async fn list_where<E: Entity>(
        &mut self,
        column: &str,
        value: impl Into<Val>,
    ) -> Result<Vec<E>> {
        let sql = format!(
            "SELECT * FROM {} WHERE tenant_id = $1 AND {column} = $2 ORDER BY id",
            E::TABLE
        );
        self.fetch_all_as(&sql, &[self.tenant_val(), value.into()], E::from_row)
            .await
    }

    /// Deletes the records of the scope's tenant whose `column` equals `value` (the children
    /// of one parent, before they are replaced); returns how many went.
    pub(crate) async fn delete_where<E: Entity>(
        &mut self,
        column: &str,
        value: impl Into<Val>,
    ) -> Result<u64> {
        let sql = format!(
            "DELETE FROM {} WHERE tenant_id = $1 AND {column} = $2",
            E::TABLE
        );
        Ok(self
            .execute(&sql, &[self.tenant_val(), value.into()])
            .await?)
    }

    /// Lists all records of `E` in the scope's tenant, oldest first, `limit` at a time after `after`.
    pub async fn list<E: Entity>(&mut self, page: Page<E::Id>) -> Result<Vec<E>>
    where
        E::Id: EntityId,
    {
        let (sql, values) = match page.after {
            Some(after) => (
                format!(
                    "SELECT * FROM {} WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3",
                    E::TABLE
                ),
                vec![
                    self.tenant_val(),
                    after.db_value().into(),
                    (page.limit as i64).into(),
                ],
            ),
            None => (
                format!(
                    "SELECT * FROM {} WHERE tenant_id = $1 ORDER BY id LIMIT $2",
                    E::TABLE
                ),
                vec![self.tenant_val(), (page.limit as i64).into()],
            ),
        };
        self.fetch_all_as(&sql, &values, E::from_row).await
    }

    /// One keyset page of `E` in the scope's tenant, newest first (see [`Newest`]).
    pub async fn newest<E: Entity>(&mut self, page: Newest<E::Id>) -> Result<Vec<E>>
    where
        E::Id: EntityId,
    {
        self.newest_where(page, &[], None).await
    }

    /// One keyset page of records of some EBICS users, newest first: all of the tenant's
    /// when `users` is `None` (an operator without grants), else only the granted users'.
    pub async fn newest_of_users<E: OfEbicsUser>(
        &mut self,
        page: Newest<E::Id>,
        users: Option<&[crate::ids::EbicsUserId]>,
    ) -> Result<Vec<E>>
    where
        E::Id: EntityId,
    {
        let any_of = users.map(|u| {
            (
                E::USER_COLUMN,
                u.iter().map(|id| id.to_db().into()).collect(),
            )
        });
        self.newest_where(page, &[], any_of).await
    }

    /// The keyset query behind every listing: `tenant_id = scope AND column = value ...
    /// [AND column IN (...)] [AND id < cursor] ORDER BY id DESC LIMIT n`. Column names are
    /// the crate's own literals, never input.
    pub(crate) async fn newest_where<E: Entity>(
        &mut self,
        page: Newest<E::Id>,
        equal: &[(&'static str, Val)],
        any_of: Option<(&'static str, Vec<Val>)>,
    ) -> Result<Vec<E>>
    where
        E::Id: EntityId,
    {
        self.newest_where_with(page, equal, &[], any_of).await
    }

    /// [`ScopedTx::newest_where`] with comparisons too: each `("column <op>", value)`.
    pub(crate) async fn newest_where_with<E: Entity>(
        &mut self,
        page: Newest<E::Id>,
        equal: &[(&'static str, Val)],
        compare: &[(&'static str, Val)],
        any_of: Option<(&'static str, Vec<Val>)>,
    ) -> Result<Vec<E>>
    where
        E::Id: EntityId,
    {
        let mut values = vec![self.tenant_val()];
        let mut sql = format!("SELECT * FROM {} WHERE tenant_id = $1", E::TABLE);
        for (column, value) in equal {
            values.push(value.clone());
            sql.push_str(&format!(" AND {column} = ${}", values.len()));
        }
        for (column_op, value) in compare {
            values.push(value.clone());
            sql.push_str(&format!(" AND {column_op} ${}", values.len()));
        }
        if let Some((column, ids)) = any_of {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let mut marks = Vec::with_capacity(ids.len());
            for id in ids {
                values.push(id);
                marks.push(format!("${}", values.len()));
            }
            sql.push_str(&format!(" AND {column} IN ({})", marks.join(", ")));
        }
        let before = page.before.map(|b| b.db_value().into());
        push_keyset_page(&mut sql, &mut values, "id", before, page.limit);
        self.fetch_all_as(&sql, &values, E::from_row).await
    }

    /// Deletes one record of the scope's tenant.
    pub async fn delete<I: EntityId>(&mut self, id: I) -> Result<()>
    where
        I::Entity: Deletable,
    {
        let sql = format!(
            "DELETE FROM {} WHERE id = $1 AND tenant_id = $2",
            <I::Entity as Entity>::TABLE
        );
        let affected = self
            .execute(&sql, &[id.db_value().into(), self.tenant_val()])
            .await
            .map_err(|e| StorageError::from_delete(<I::Entity as Entity>::NAME, e))?;
        found(<I::Entity as Entity>::NAME, affected)
    }

    /// Updates columns of one record of the scope's tenant.
    pub(crate) async fn update<I: EntityId>(
        &mut self,
        id: I,
        assignments: &[(&str, Val)],
    ) -> Result<()> {
        let affected = self
            .update_row::<I::Entity>(id.db_value(), assignments, None)
            .await?;
        found(<I::Entity as Entity>::NAME, affected)
    }

    /// [`ScopedTx::update`] of a record that keeps when it last changed: `updated_at` is set
    /// to now with the other columns.
    pub(crate) async fn touch<I: EntityId, const N: usize>(
        &mut self,
        id: I,
        columns: [(&str, Val); N],
    ) -> Result<()> {
        let stamp = ("updated_at", crate::db::now().into());
        self.update(id, &[columns.as_slice(), &[stamp]].concat())
            .await
    }

    /// `UPDATE table SET assignments WHERE id = .. AND tenant_id = .. [AND column = value]`;
    /// returns how many rows changed (0 or 1).
    async fn update_row<E: Entity>(
        &mut self,
        id: String,
        assignments: &[(&str, Val)],
        only_if: Option<(&str, Val)>,
    ) -> Result<u64> {
        let mut values: Vec<Val> = assignments.iter().map(|(_, v)| v.clone()).collect();
        let sets: Vec<String> = assignments
            .iter()
            .enumerate()
            .map(|(i, (c, _))| format!("{c} = ${}", i + 1))
            .collect();
        values.push(id.into());
        values.push(self.tenant_val());
        let mut sql = format!(
            "UPDATE {} SET {} WHERE id = ${} AND tenant_id = ${}",
            E::TABLE,
            sets.join(", "),
            values.len() - 1,
            values.len()
        );
        if let Some((column, value)) = only_if {
            values.push(value);
            sql.push_str(&format!(" AND {column} = ${}", values.len()));
        }
        self.execute(&sql, &values)
            .await
            .map_err(|e| StorageError::from_write(E::NAME, e))
    }

    /// [`ScopedTx::update`], then the record as it is now.
    pub(crate) async fn updated<I: EntityId>(
        &mut self,
        id: I,
        assignments: &[(&str, Val)],
    ) -> Result<I::Entity> {
        self.update(id, assignments).await?;
        self.get(id).await
    }

    /// Moves a record's status with compare-and-set: the state machine decides, and the write
    /// only happens if the stored status is still `from`.
    pub(crate) async fn set_status<I: EntityId, S: crate::status::DbEnum>(
        &mut self,
        id: I,
        column: &str,
        from: S,
        to: S,
        transition: impl Fn(S, S) -> Result<S, IllegalTransition>,
        extra: &[(&str, Val)],
    ) -> Result<()> {
        let target = transition(from, to)?;
        let mut assignments = vec![(column, target.as_str().into())];
        assignments.extend_from_slice(extra);
        let only_if = Some((column, from.as_str().into()));
        let changed = self
            .update_row::<I::Entity>(id.db_value(), &assignments, only_if)
            .await?;
        if changed == 1 {
            return Ok(());
        }
        // Tell a missing record (in this tenant) from a lost race.
        let entity = <I::Entity as Entity>::NAME;
        let exists = self
            .fetch_optional(
                &format!(
                    "SELECT id FROM {} WHERE id = $1 AND tenant_id = $2",
                    <I::Entity as Entity>::TABLE
                ),
                &[id.db_value().into(), self.tenant_val()],
            )
            .await?
            .is_some();
        Err(if exists {
            StorageError::StaleStatus {
                entity,
                expected: from.as_str(),
            }
        } else {
            StorageError::NotFound { entity }
        })
    }
}

/// One page of a listing: up to `limit` records after the id `after`.
#[derive(Debug, Clone, Copy)]
pub struct Page<I> {
    pub after: Option<I>,
    pub limit: u32,
}

impl<I> Page<I> {
    pub fn first(limit: u32) -> Self {
        Self { after: None, limit }
    }
}

impl<I> Default for Page<I> {
    fn default() -> Self {
        Self::first(100)
    }
}

/// One keyset page, newest first: up to `limit` records created before the record `before`
/// (none: from the newest). Ids are UUIDv7, so their order is the order of creation; a page
/// boundary is a record, not an offset, so records inserted while a client pages (all newer
/// than its first page) never shift what it has not read yet: nothing is missed or repeated.
#[derive(Debug, Clone, Copy)]
pub struct Newest<I> {
    pub before: Option<I>,
    pub limit: u32,
}

impl<I> Newest<I> {
    pub fn first(limit: u32) -> Self {
        Self {
            before: None,
            limit,
        }
    }
}

/// A record type that belongs to one EBICS user, named by `USER_COLUMN`: listings of an
/// operator restricted by grants filter on it.
pub trait OfEbicsUser: Entity {
    const USER_COLUMN: &'static str;
}

/// A tenant-owned record type stored in one table.
pub trait Entity: Sized {
    const TABLE: &'static str;
    /// Human name used in errors ("bank host").
    const NAME: &'static str;
    type Id;
    #[doc(hidden)]
    fn from_row(row: &RowReader<'_>) -> Result<Self>;
}

/// Records that may be deleted (the audit trail may not).
pub trait Deletable: Entity {}

/// An id that names a record of one entity type.
pub trait EntityId: Copy {
    type Entity: Entity;
    #[doc(hidden)]
    fn db_value(&self) -> String;
    /// A new id, for a record about to be created.
    #[doc(hidden)]
    fn fresh() -> Self;
}

/// Raw SQL for the conformance tests: they must be able to look behind the repositories.
#[cfg(feature = "testing")]
impl Store {
    pub async fn raw_execute(&self, sql: &str) -> Result<u64> {
        Ok(self.pool.acquire().await?.conn().execute(sql, &[]).await?)
    }

    pub async fn raw_count(&self, sql: &str) -> Result<i64> {
        raw_first(self.pool.acquire().await?.conn(), sql).await
    }

    /// The text in the first column of the first row (e.g. `SELECT sqlite_version()`).
    pub async fn raw_text(&self, sql: &str) -> Result<String> {
        raw_first(self.pool.acquire().await?.conn(), sql).await
    }
}

#[cfg(feature = "testing")]
impl ScopedTx<'_> {
    pub async fn raw_execute(&mut self, sql: &str, values: &[&str]) -> Result<u64> {
        let values: Vec<Val> = values.iter().map(|v| (*v).into()).collect();
        Ok(self.execute(sql, &values).await?)
    }

    pub async fn raw_count(&mut self, sql: &str) -> Result<i64> {
        raw_first(self.conn(), sql).await
    }
}

/// The first column of the first row `sql` returns.
#[cfg(feature = "testing")]
async fn raw_first<T: for<'r> crate::engine::Decodable<'r>>(
    conn: Conn<'_>,
    sql: &str,
) -> Result<T> {
    conn.fetch_one(sql, &[]).await?.first()
}
