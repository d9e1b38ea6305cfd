//! Low-level helpers shared by every repository: bound values, row decoding, timestamps.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use kontor_documents::{Amount, BalanceKind, Bic, CreditDebit, Currency, Iban};
use sqlx::{Postgres, Row};

pub(crate) use crate::engine::DbRow;
use crate::engine::Decodable;
use crate::error::{Result, StorageError};
use crate::status::DbEnum;

/// A value bound to a `$n` placeholder. One list of these serves both backends.
#[derive(Debug, Clone)]
pub(crate) enum Val {
    Text(Option<String>),
    Int(Option<i64>),
    Bool(bool),
    Blob(Option<Vec<u8>>),
}

impl From<&str> for Val {
    fn from(v: &str) -> Self {
        Val::Text(Some(v.to_owned()))
    }
}
impl From<String> for Val {
    fn from(v: String) -> Self {
        Val::Text(Some(v))
    }
}
impl From<&String> for Val {
    fn from(v: &String) -> Self {
        Val::Text(Some(v.clone()))
    }
}
impl From<Option<String>> for Val {
    fn from(v: Option<String>) -> Self {
        Val::Text(v)
    }
}
impl From<Option<&str>> for Val {
    fn from(v: Option<&str>) -> Self {
        Val::Text(v.map(str::to_owned))
    }
}
impl From<i64> for Val {
    fn from(v: i64) -> Self {
        Val::Int(Some(v))
    }
}
impl From<Option<i64>> for Val {
    fn from(v: Option<i64>) -> Self {
        Val::Int(v)
    }
}
impl From<bool> for Val {
    fn from(v: bool) -> Self {
        Val::Bool(v)
    }
}
impl From<Vec<u8>> for Val {
    fn from(v: Vec<u8>) -> Self {
        Val::Blob(Some(v))
    }
}
impl From<&[u8]> for Val {
    fn from(v: &[u8]) -> Self {
        Val::Blob(Some(v.to_vec()))
    }
}
impl From<Option<Vec<u8>>> for Val {
    fn from(v: Option<Vec<u8>>) -> Self {
        Val::Blob(v)
    }
}
impl From<DateTime<Utc>> for Val {
    fn from(v: DateTime<Utc>) -> Self {
        Val::Text(Some(ts_to_db(v)))
    }
}
impl From<Option<DateTime<Utc>>> for Val {
    fn from(v: Option<DateTime<Utc>>) -> Self {
        Val::Text(v.map(ts_to_db))
    }
}
impl From<NaiveDate> for Val {
    fn from(v: NaiveDate) -> Self {
        Val::Text(Some(v.to_string()))
    }
}
impl From<Option<NaiveDate>> for Val {
    fn from(v: Option<NaiveDate>) -> Self {
        Val::Text(v.map(|d| d.to_string()))
    }
}

/// Implements `From<T>` and `From<Option<T>>` for [`Val`] for types stored as text: the text
/// `$text` gives (their canonical form, which their row reader reads back).
macro_rules! val_as_text {
    ($($ty:ty => $text:expr),+ $(,)?) => {$(
        impl From<$ty> for crate::db::Val {
            fn from(v: $ty) -> Self {
                crate::db::Val::Text(Some($text(&v)))
            }
        }
        impl From<Option<$ty>> for crate::db::Val {
            fn from(v: Option<$ty>) -> Self {
                crate::db::Val::Text(v.as_ref().map($text))
            }
        }
    )+};
}
pub(crate) use val_as_text;

// Money as the documents crate validates it. An IBAN is stored in its electronic form (its
// `Display` is the spaced paper form).
val_as_text! {
    Amount => |a: &Amount| a.to_string(),
    Currency => |c: &Currency| c.as_str().to_owned(),
    Iban => |i: &Iban| i.electronic().to_owned(),
    Bic => |b: &Bic| b.as_str().to_owned(),
}

// Statement vocabulary as its ISO 20022 codes.
val_as_text! {
    CreditDebit => |d: &CreditDebit| d.iso_code().to_owned(),
    BalanceKind => |k: &BalanceKind| k.code().to_owned(),
}

// A protocol, signature or key version as its code, a key hash as upper-case hex; a BTF
// service, several parts, as JSON; an order named by its order type or service as its
// canonical text (`CCT`, `SCT/pain.001;msg_version=09`).
val_as_text! {
    kontor_protocol::ProtocolVersion => |v: &kontor_protocol::ProtocolVersion| v.as_str().to_owned(),
    kontor_protocol::SignatureVersion => |v: &kontor_protocol::SignatureVersion| v.as_str().to_owned(),
    kontor_protocol::KeyVersion => |v: &kontor_protocol::KeyVersion| v.as_str().to_owned(),
    KeyHash => KeyHash::to_hex_upper,
    kontor_protocol::order_type::BtfService => to_json,
    kontor_protocol::order_type::OrderTypeOrService => ToString::to_string,
    serde_json::Value => to_json,
}

impl From<OrderType> for Val {
    fn from(v: OrderType) -> Self {
        v.as_str().into()
    }
}

/// An absent order type is stored as an empty text: its one column that may lack it
/// (`statement_files.order_type`) is `NOT NULL`. (The reader takes NULL as absent too.)
impl From<Option<OrderType>> for Val {
    fn from(v: Option<OrderType>) -> Self {
        v.as_ref().map_or("", OrderType::as_str).into()
    }
}

/// Timestamps are stored as fixed-width RFC 3339 text so that they sort and compare as text.
/// Ends a keyset query newest first: rows before the cursor `before` (when there is one),
/// ordered by `column` descending, at most `limit`. The values are numbered after `values`.
pub(crate) fn push_keyset_page(
    sql: &mut String,
    values: &mut Vec<Val>,
    column: &str,
    before: Option<Val>,
    limit: u32,
) {
    if let Some(before) = before {
        values.push(before);
        sql.push_str(&format!(" AND {column} < ${}", values.len()));
    }
    values.push(i64::from(limit).into());
    sql.push_str(&format!(" ORDER BY {column} DESC LIMIT ${}", values.len()));
}

pub(crate) fn ts_to_db(ts: DateTime<Utc>) -> String {
    ts.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(crate) fn now() -> DateTime<Utc> {
    Utc::now()
}

fn corrupt(column: &'static str, message: impl ToString) -> StorageError {
    StorageError::Corrupt {
        column,
        message: message.to_string(),
    }
}

use kontor_protocol::keys::KeyHash;
use kontor_protocol::order_type::OrderType;

/// Typed access to a row's columns with errors that name the column. Text is read where the
/// driver holds it; only the values a record keeps as `String` are copied.
pub struct RowReader<'r>(pub(crate) &'r DbRow);

impl<'r> RowReader<'r> {
    /// The column as `T`, as the engine's driver decodes it.
    fn get<T: Decodable<'r>>(&self, column: &'static str) -> Result<T> {
        match self.0 {
            DbRow::Sqlite(row) => row.try_get::<T, _>(column),
            DbRow::Postgres(row) => row.try_get::<T, _>(column),
        }
        .map_err(|e| corrupt(column, e))
    }

    /// The text of a column, borrowed from the row.
    pub fn str(&self, column: &'static str) -> Result<&'r str> {
        self.get(column)
    }

    pub fn opt_str(&self, column: &'static str) -> Result<Option<&'r str>> {
        self.get(column)
    }

    pub fn text(&self, column: &'static str) -> Result<String> {
        self.str(column).map(str::to_owned)
    }

    pub fn opt_text(&self, column: &'static str) -> Result<Option<String>> {
        Ok(self.opt_str(column)?.map(str::to_owned))
    }

    pub fn int(&self, column: &'static str) -> Result<i64> {
        self.opt_int(column)?
            .ok_or_else(|| corrupt(column, "unexpected NULL"))
    }

    pub fn opt_int(&self, column: &'static str) -> Result<Option<i64>> {
        match self.0 {
            DbRow::Sqlite(_) => self.get(column),
            // A few PostgreSQL columns are INTEGER (INT4), which the driver will not widen.
            DbRow::Postgres(row) => {
                let raw = row.try_get_raw(column).map_err(|e| corrupt(column, e))?;
                let int4 =
                    <i32 as sqlx::Type<Postgres>>::compatible(&sqlx::ValueRef::type_info(&raw));
                if int4 {
                    Ok(self.get::<Option<i32>>(column)?.map(i64::from))
                } else {
                    self.get(column)
                }
            }
        }
    }

    pub fn bool(&self, column: &'static str) -> Result<bool> {
        // SQLite stores booleans as integers, which its driver decodes as `bool` too.
        self.get(column)
    }

    pub fn blob(&self, column: &'static str) -> Result<Vec<u8>> {
        self.get(column)
    }

    pub fn opt_blob(&self, column: &'static str) -> Result<Option<Vec<u8>>> {
        self.get(column)
    }

    pub fn ts(&self, column: &'static str) -> Result<DateTime<Utc>> {
        parse_ts(column, self.str(column)?)
    }

    pub fn opt_ts(&self, column: &'static str) -> Result<Option<DateTime<Utc>>> {
        self.opt_str(column)?
            .map(|v| parse_ts(column, v))
            .transpose()
    }

    pub fn date(&self, column: &'static str) -> Result<NaiveDate> {
        let v = self.str(column)?;
        v.parse().map_err(|e| corrupt(column, e))
    }

    pub fn opt_date(&self, column: &'static str) -> Result<Option<NaiveDate>> {
        self.opt_str(column)?
            .map(|v| v.parse().map_err(|e| corrupt(column, e)))
            .transpose()
    }

    pub fn enumeration<T: DbEnum>(&self, column: &'static str) -> Result<T> {
        Ok(T::parse_db(self.str(column)?)?)
    }

    pub fn opt_enumeration<T: DbEnum>(&self, column: &'static str) -> Result<Option<T>> {
        Ok(self.opt_str(column)?.map(|v| T::parse_db(v)).transpose()?)
    }

    pub fn parsed<T: std::str::FromStr>(&self, column: &'static str) -> Result<T>
    where
        T::Err: std::fmt::Display,
    {
        let v = self.str(column)?;
        v.parse().map_err(|e: T::Err| corrupt(column, e))
    }

    pub fn opt_parsed<T: std::str::FromStr>(&self, column: &'static str) -> Result<Option<T>>
    where
        T::Err: std::fmt::Display,
    {
        self.opt_str(column)?
            .map(|v| v.parse().map_err(|e: T::Err| corrupt(column, e)))
            .transpose()
    }

    /// An order type as stored: any well-formed code (banks publish their own).
    pub fn order_type(&self, column: &'static str) -> Result<OrderType> {
        OrderType::parse_lenient(self.str(column)?).map_err(|e| corrupt(column, e))
    }

    /// An order type that may be absent, stored as NULL or as an empty text.
    pub fn opt_order_type(&self, column: &'static str) -> Result<Option<OrderType>> {
        match self.opt_str(column)? {
            None | Some("") => Ok(None),
            Some(code) => OrderType::parse_lenient(code)
                .map(Some)
                .map_err(|e| corrupt(column, e)),
        }
    }

    /// A key hash as stored: exactly its canonical upper-case hex.
    pub fn key_hash(&self, column: &'static str) -> Result<KeyHash> {
        KeyHash::from_hex_upper(self.str(column)?).map_err(|e| corrupt(column, e))
    }

    /// An optional JSON column.
    pub fn opt_json<T: serde::de::DeserializeOwned>(
        &self,
        column: &'static str,
    ) -> Result<Option<T>> {
        self.opt_str(column)?
            .map(|v| serde_json::from_str(v).map_err(|e| corrupt(column, e)))
            .transpose()
    }

    pub fn json<T: serde::de::DeserializeOwned>(&self, column: &'static str) -> Result<T> {
        let v = self.str(column)?;
        serde_json::from_str(v).map_err(|e| corrupt(column, e))
    }
}

/// How a field type is stored in its column, so that a record's row reader follows from its
/// declaration (see [`record!`]): text, integers, blobs, RFC 3339 timestamps, dates, ids and
/// [`DbEnum`]s as their strings, structured values as JSON.
pub(crate) trait Column: Sized {
    fn read(row: &RowReader<'_>, column: &'static str) -> Result<Self>;
}

/// Implements [`Column`] for types through one `RowReader` method each.
macro_rules! column_via {
    ($($ty:ty => $method:ident),+ $(,)?) => {$(
        impl crate::db::Column for $ty {
            fn read(
                row: &crate::db::RowReader<'_>,
                column: &'static str,
            ) -> crate::error::Result<Self> {
                row.$method(column)
            }
        }
    )+};
}
pub(crate) use column_via;

column_via! {
    String => text,
    Option<String> => opt_text,
    i64 => int,
    Option<i64> => opt_int,
    bool => bool,
    Vec<u8> => blob,
    Option<Vec<u8>> => opt_blob,
    DateTime<Utc> => ts,
    Option<DateTime<Utc>> => opt_ts,
    NaiveDate => date,
    Option<NaiveDate> => opt_date,
    OrderType => order_type,
    Option<OrderType> => opt_order_type,
    serde_json::Value => json,
    Option<serde_json::Value> => opt_json,
    Option<kontor_protocol::order_type::BtfService> => opt_json,
    Vec<OrderType> => json,
    kontor_protocol::ProtocolVersion => parsed,
    kontor_protocol::SignatureVersion => parsed,
    Option<kontor_protocol::SignatureVersion> => opt_parsed,
    kontor_protocol::order_type::OrderTypeOrService => parsed,
    kontor_protocol::KeyVersion => parsed,
    KeyHash => key_hash,
    // Text that no longer validates is `StorageError::Corrupt` naming the column.
    Amount => parsed,
    Option<Amount> => opt_parsed,
    Currency => parsed,
    Option<Currency> => opt_parsed,
    Option<Iban> => opt_parsed,
    Option<Bic> => opt_parsed,
}

/// A booking's direction as its ISO 20022 code (`CRDT`, `DBIT`).
impl Column for CreditDebit {
    fn read(row: &RowReader<'_>, column: &'static str) -> Result<Self> {
        let code = row.str(column)?;
        CreditDebit::from_iso_code(code)
            .ok_or_else(|| corrupt(column, format!("unknown credit/debit code {code:?}")))
    }
}

/// A balance type as its code: any code reads, since banks add proprietary ones
/// ([`BalanceKind::Other`]).
impl Column for BalanceKind {
    fn read(row: &RowReader<'_>, column: &'static str) -> Result<Self> {
        Ok(BalanceKind::from_code(row.str(column)?))
    }
}

/// Implements [`Column`] for a record nested in another (see [`record!`]): its fields are
/// columns of the outer record's row, read by their own names; the nesting field's name is
/// no column.
macro_rules! column_group {
    ($ty:ty) => {
        impl crate::db::Column for $ty {
            fn read(
                row: &crate::db::RowReader<'_>,
                _group: &'static str,
            ) -> crate::error::Result<Self> {
                <$ty>::read(row)
            }
        }
    };
}
pub(crate) use column_group;

impl<T: DbEnum> Column for T {
    fn read(row: &RowReader<'_>, column: &'static str) -> Result<Self> {
        row.enumeration(column)
    }
}

impl<T: DbEnum> Column for Option<T> {
    fn read(row: &RowReader<'_>, column: &'static str) -> Result<Self> {
        row.opt_enumeration(column)
    }
}

/// Declares a stored record: the struct as written, and `read`, its row reader, which takes
/// each field from the column of the same name, decoded as the field's type is stored
/// ([`Column`]). A record's fields are thus listed once, for its type and its mapping alike.
///
/// A record that callers create may name its insert struct after it (`pub struct NewThing;`).
/// That struct gets the fields marked `#[new]`, those the caller chooses (the others, such as
/// the id, a status or a timestamp, the repository sets), and `into_row`, the insert row that
/// names each of its values by its column ([`Val`]'s `From` says how a type is stored).
///
/// ```ignore
/// record! {
///     pub struct Note {
///         pub id: NoteId,
///         #[new] pub text: String,
///         pub created_at: DateTime<Utc>,
///     }
///     pub struct NewNote;
/// }
/// ```
macro_rules! record {
    // `#[new]`: the next field is also one of the insert struct's.
    (@field $name:ident $head:tt $insert:tt record[$($r:tt)*] new[$($n:tt)*]
        names[$($f:ident)*] attrs[$($a:tt)*] marked[$($m:tt)*]
        #[new] $($rest:tt)*
    ) => {
        crate::db::record!(@field $name $head $insert record[$($r)*] new[$($n)*]
            names[$($f)*] attrs[$($a)*] marked[yes] $($rest)*);
    };
    // Any other attribute stays with the record's field.
    (@field $name:ident $head:tt $insert:tt record[$($r:tt)*] new[$($n:tt)*]
        names[$($f:ident)*] attrs[$($a:tt)*] marked[$($m:tt)*]
        #[$attr:meta] $($rest:tt)*
    ) => {
        crate::db::record!(@field $name $head $insert record[$($r)*] new[$($n)*]
            names[$($f)*] attrs[$($a)* #[$attr]] marked[$($m)*] $($rest)*);
    };
    (@field $name:ident $head:tt $insert:tt record[$($r:tt)*] new[$($n:tt)*]
        names[$($f:ident)*] attrs[$($a:tt)*] marked[yes]
        $vis:vis $field:ident: $ty:ty $(, $($rest:tt)*)?
    ) => {
        crate::db::record!(@field $name $head $insert
            record[$($r)* $($a)* $vis $field: $ty,] new[$($n)* $field: $ty,]
            names[$($f)* $field] attrs[] marked[] $($($rest)*)?);
    };
    (@field $name:ident $head:tt $insert:tt record[$($r:tt)*] new[$($n:tt)*]
        names[$($f:ident)*] attrs[$($a:tt)*] marked[]
        $vis:vis $field:ident: $ty:ty $(, $($rest:tt)*)?
    ) => {
        crate::db::record!(@field $name $head $insert
            record[$($r)* $($a)* $vis $field: $ty,] new[$($n)*]
            names[$($f)* $field] attrs[] marked[] $($($rest)*)?);
    };
    // Every field read: the record, its row reader and its insert struct.
    (@field $name:ident [$($head:tt)*] $insert:tt record[$($r:tt)*] new $new:tt
        names[$($f:ident)*] attrs[] marked[]
    ) => {
        $($head)* {
            $($r)*
        }

        impl $name {
            pub(crate) fn read(row: &crate::db::RowReader<'_>) -> crate::error::Result<Self> {
                Ok(Self {
                    $($f: crate::db::Column::read(row, stringify!($f))?),+
                })
            }
        }

        crate::db::record!(@insert $insert $new);
    };
    (@insert [] $new:tt) => {};
    (@insert [$(#[$meta:meta])* struct $insert:ident] [$($f:ident: $ty:ty,)+]) => {
        $(#[$meta])*
        pub struct $insert {
            $(pub $f: $ty,)+
        }

        impl $insert {
            /// The insert row: these values named by their columns, then `stored`, those the
            /// repository sets.
            pub(crate) fn into_row<const N: usize>(
                self,
                stored: [(&'static str, crate::db::Val); N],
            ) -> Vec<(&'static str, crate::db::Val)> {
                // One allocation: chained arrays know their length.
                [$((stringify!($f), self.$f.into())),+].into_iter().chain(stored).collect()
            }
        }
    };
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident { $($fields:tt)* }
        $($(#[$insert_meta:meta])* pub struct $insert:ident;)?
    ) => {
        crate::db::record!(@field $name [$(#[$meta])* $vis struct $name]
            [$($(#[$insert_meta])* struct $insert)?]
            record[] new[] names[] attrs[] marked[] $($fields)*);
    };
}
pub(crate) use record;

/// Decodes every row with `read` (a record's row reader).
pub(crate) fn read_rows<T>(
    rows: &[DbRow],
    read: fn(&RowReader<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    rows.iter().map(|r| read(&RowReader(r))).collect()
}

fn parse_ts(column: &'static str, value: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| corrupt(column, e))
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("serialising plain data to JSON cannot fail")
}
