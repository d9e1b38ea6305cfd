//! The two database engines behind one small surface: pools, transactions, connections and
//! rows of SQLite or PostgreSQL through their native sqlx drivers.
//!
//! sqlx's `Any` driver would serve both with one type, but it copies every row into its own
//! value representation and every bound value into its own arguments before handing them to
//! the native driver; on the API's read path that copying was a fifth of the CPU time. Here a
//! statement is bound straight into the engine's own arguments and rows are read where the
//! driver left them (text borrowed, not copied), at the price of one `match` per call.

use sqlx::migrate::Migrator;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnection, PgPool, PgRow};
use sqlx::query::Query;
use sqlx::sqlite::{SqliteConnection, SqlitePool, SqliteRow};
use sqlx::{AssertSqlSafe, Database, Decode, Encode, Postgres, SqlSafeStr, Sqlite, Type};

use crate::db::{RowReader, Val};
use crate::error::Result;

/// A connection pool of either engine.
#[derive(Clone)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// An open transaction of either engine; dropped without [`Tx::commit`], it rolls back.
pub(crate) enum Tx {
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

/// A connection taken from a [`Pool`] for one or more statements outside a transaction.
pub(crate) enum PooledConn {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
}

/// One row of a result, as its engine's driver produced it.
pub(crate) enum DbRow {
    Sqlite(SqliteRow),
    Postgres(PgRow),
}

/// A Rust type that both engines' drivers decode from a column of a row borrowed for `'r`.
pub(crate) trait Decodable<'r>:
    Decode<'r, Sqlite> + Type<Sqlite> + Decode<'r, Postgres> + Type<Postgres>
{
}

impl<'r, T> Decodable<'r> for T where
    T: Decode<'r, Sqlite> + Type<Sqlite> + Decode<'r, Postgres> + Type<Postgres>
{
}

#[cfg(feature = "testing")]
impl DbRow {
    /// The first column (the conformance tests' raw counts and texts).
    pub(crate) fn first<T: for<'r> Decodable<'r>>(&self) -> Result<T> {
        use sqlx::Row;
        Ok(match self {
            DbRow::Sqlite(row) => row.try_get(0)?,
            DbRow::Postgres(row) => row.try_get(0)?,
        })
    }
}

/// A connection to run statements on: a transaction's or a pooled one.
pub(crate) enum Conn<'c> {
    Sqlite(&'c mut SqliteConnection),
    Postgres(&'c mut PgConnection),
}

impl Pool {
    /// Starts a transaction with `begin` (e.g. `BEGIN IMMEDIATE`, or a batch that also binds
    /// the tenant) on a connection of this pool.
    pub(crate) async fn begin_with(&self, begin: impl SqlSafeStr) -> Result<Tx> {
        self.acquire().await?.begin_with(begin).await
    }

    pub(crate) async fn acquire(&self) -> Result<PooledConn> {
        Ok(match self {
            Pool::Sqlite(pool) => PooledConn::Sqlite(pool.acquire().await?),
            Pool::Postgres(pool) => PooledConn::Postgres(pool.acquire().await?),
        })
    }

    pub(crate) async fn migrate(&self, migrator: &Migrator) -> Result<()> {
        match self {
            Pool::Sqlite(pool) => migrator.run(pool).await?,
            Pool::Postgres(pool) => migrator.run(pool).await?,
        }
        Ok(())
    }

    pub(crate) async fn close(&self) {
        match self {
            Pool::Sqlite(pool) => pool.close().await,
            Pool::Postgres(pool) => pool.close().await,
        }
    }
}

impl Tx {
    pub(crate) fn conn(&mut self) -> Conn<'_> {
        match self {
            Tx::Sqlite(tx) => Conn::Sqlite(tx),
            Tx::Postgres(tx) => Conn::Postgres(tx),
        }
    }

    pub(crate) async fn commit(self) -> Result<()> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await?,
            Tx::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }
}

impl PooledConn {
    /// Starts a transaction with `begin` on this connection, which goes back to its pool when
    /// the transaction ends. (`Transaction::begin` is what sqlx's `Pool::begin_with` runs on
    /// the connection it acquires; here the connection may have served statements before.)
    pub(crate) async fn begin_with(self, begin: impl SqlSafeStr) -> Result<Tx> {
        let begin = Some(begin.into_sql_str());
        Ok(match self {
            PooledConn::Sqlite(c) => Tx::Sqlite(sqlx::Transaction::begin(c, begin).await?),
            PooledConn::Postgres(c) => Tx::Postgres(sqlx::Transaction::begin(c, begin).await?),
        })
    }

    pub(crate) fn conn(&mut self) -> Conn<'_> {
        match self {
            PooledConn::Sqlite(c) => Conn::Sqlite(c),
            PooledConn::Postgres(c) => Conn::Postgres(c),
        }
    }
}

impl Conn<'_> {
    /// Runs a statement; how many rows it changed.
    pub(crate) async fn execute(self, sql: &str, values: &[Val]) -> Result<u64, sqlx::Error> {
        Ok(match self {
            Conn::Sqlite(c) => bound(sql, values).execute(c).await?.rows_affected(),
            Conn::Postgres(c) => bound(sql, values).execute(c).await?.rows_affected(),
        })
    }

    pub(crate) async fn fetch_all(self, sql: &str, values: &[Val]) -> Result<Vec<DbRow>> {
        Ok(match self {
            Conn::Sqlite(c) => rows(bound(sql, values).fetch_all(c).await?, DbRow::Sqlite),
            Conn::Postgres(c) => rows(bound(sql, values).fetch_all(c).await?, DbRow::Postgres),
        })
    }

    /// Runs a query that always returns a row (an aggregate, say).
    pub(crate) async fn fetch_one(self, sql: &str, values: &[Val]) -> Result<DbRow> {
        Ok(match self {
            Conn::Sqlite(c) => DbRow::Sqlite(bound(sql, values).fetch_one(c).await?),
            Conn::Postgres(c) => DbRow::Postgres(bound(sql, values).fetch_one(c).await?),
        })
    }

    pub(crate) async fn fetch_optional(self, sql: &str, values: &[Val]) -> Result<Option<DbRow>> {
        Ok(match self {
            Conn::Sqlite(c) => bound(sql, values)
                .fetch_optional(c)
                .await?
                .map(DbRow::Sqlite),
            Conn::Postgres(c) => bound(sql, values)
                .fetch_optional(c)
                .await?
                .map(DbRow::Postgres),
        })
    }

    /// Runs a query and decodes each row with `read` as it is taken from the driver's
    /// result, without collecting the rows first.
    pub(crate) async fn fetch_all_as<T>(
        self,
        sql: &str,
        values: &[Val],
        read: fn(&RowReader<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        match self {
            Conn::Sqlite(c) => decode(bound(sql, values).fetch_all(c).await?, DbRow::Sqlite, read),
            Conn::Postgres(c) => decode(
                bound(sql, values).fetch_all(c).await?,
                DbRow::Postgres,
                read,
            ),
        }
    }
}

fn rows<R>(rows: Vec<R>, wrap: fn(R) -> DbRow) -> Vec<DbRow> {
    rows.into_iter().map(wrap).collect()
}

fn decode<R, T>(
    rows: Vec<R>,
    wrap: fn(R) -> DbRow,
    read: fn(&RowReader<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    rows.into_iter()
        .map(|row| read(&RowReader(&wrap(row))))
        .collect()
}

/// A statement with its values bound to `$1`, `$2`, ... in order, in the engine's own
/// argument buffer.
///
/// sqlx takes only `&'static str` as SQL unless the text is asserted safe. Kontor's statements
/// are assembled at run time, but only from the code's own table and column names and `$n`
/// placeholders; every value, above all anything from outside, is bound here and never
/// spliced into the text. This is the one place that makes that assertion. The text is the
/// key of each connection's prepared-statement cache, so a statement assembled the same way
/// is prepared once per connection.
fn bound<'q, DB>(sql: &str, values: &[Val]) -> Query<'q, DB, DB::Arguments>
where
    DB: Database,
    for<'v> Option<&'v str>: Encode<'v, DB> + Type<DB>,
    for<'v> Option<&'v [u8]>: Encode<'v, DB> + Type<DB>,
    for<'v> Option<i64>: Encode<'v, DB> + Type<DB>,
    for<'v> bool: Encode<'v, DB> + Type<DB>,
{
    let mut query = sqlx::query(AssertSqlSafe(sql.to_owned()));
    for value in values {
        query = match value {
            Val::Text(v) => query.bind(v.as_deref()),
            Val::Int(v) => query.bind(*v),
            Val::Bool(v) => query.bind(*v),
            Val::Blob(v) => query.bind(v.as_deref()),
        };
    }
    query
}
