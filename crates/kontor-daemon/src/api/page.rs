//! Cursor pagination, one shape for every list route: `?limit=&cursor=` in,
//! `{"items": [...], "next_cursor": "..."}` out, newest first.
//!
//! Pages are keyset pages: a cursor names the last record a page showed (by its UUIDv7 id,
//! whose order is creation order), and the next page starts strictly after it. Records
//! created while a client pages are all newer than its first page, so they never shift a
//! page it has not read yet: it sees every record that existed when it started exactly once.
//! The cursor is opaque (base64url): clients pass back what they were given.

use std::fmt::Display;
use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use kontor_storage::Newest;
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::respond::JsonText;

/// The page size when the client names none.
pub const DEFAULT_LIMIT: u32 = 100;
/// The largest page a client may ask for.
pub const MAX_LIMIT: u32 = 1000;

/// `?limit=&cursor=` of a list route without other parameters.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Records per page, 1 to 1000 (default 100).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageQuery {
    /// The page size; outside 1..=1000 answers 422 `invalid_limit`.
    pub fn limit(&self) -> Result<u32, ApiError> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            Some(_) => Err(ApiError::invalid(
                "invalid_limit",
                "limit: must be between 1 and 1000",
            )),
        }
    }

    /// The decoded position the cursor names; a cursor this API did not give answers 422
    /// `invalid_cursor`.
    pub fn position<K: FromStr>(&self) -> Result<Option<K>, ApiError> {
        self.cursor
            .as_deref()
            .map(|c| decode(c).and_then(|key| key.parse().map_err(|_| bad_cursor())))
            .transpose()
    }

    /// The storage page this query asks for.
    pub fn newest<I: FromStr>(&self) -> Result<Newest<I>, ApiError> {
        Ok(Newest {
            before: self.position()?,
            limit: self.limit()?,
        })
    }

    /// The storage page of a list query with filters of its own, which carries `limit` and
    /// `cursor` among them (serde cannot flatten into a struct that denies unknown fields).
    pub fn newest_of<I: FromStr>(
        limit: Option<u32>,
        cursor: Option<String>,
    ) -> Result<Newest<I>, ApiError> {
        Self { limit, cursor }.newest()
    }
}

fn bad_cursor() -> ApiError {
    ApiError::invalid(
        "invalid_cursor",
        "cursor: must be the next_cursor of a previous page",
    )
}

/// The opaque cursor for a position.
pub fn encode(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(key.as_bytes())
}

fn decode(cursor: &str) -> Result<String, ApiError> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad_cursor())?;
    String::from_utf8(bytes).map_err(|_| bad_cursor())
}

/// The cursor after a keyset page of `len` records that asked for `limit`, whose last
/// record is at `last`: a full page continues after its last record.
fn next_cursor<K: Display>(len: usize, limit: u32, last: Option<K>) -> Option<String> {
    (len == limit as usize)
        .then(|| last.map(|last| encode(&last.to_string())))
        .flatten()
}

/// One page of a list.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ItemPage<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> ItemPage<T> {
    /// A page from a keyset query that asked for `limit` records.
    pub fn keyset<K: Display>(items: Vec<T>, limit: u32, key: impl Fn(&T) -> K) -> Self {
        let next_cursor = next_cursor(items.len(), limit, items.last().map(key));
        Self { items, next_cursor }
    }

    /// [`ItemPage::keyset`] of items already written as a JSON array (`items`, of `len`
    /// items, the last at `last`): the page's JSON, byte for byte what `Json` writes for the
    /// page of the same items.
    pub fn keyset_json<K: Display>(
        items: &str,
        len: usize,
        limit: u32,
        last: Option<K>,
    ) -> JsonText<Self> {
        let next_cursor = serde_json::to_string(&next_cursor(len, limit, last))
            .expect("serialising an optional string to JSON cannot fail");
        let mut json = String::with_capacity(items.len() + next_cursor.len() + 26);
        json.push_str("{\"items\":");
        json.push_str(items);
        json.push_str(",\"next_cursor\":");
        json.push_str(&next_cursor);
        json.push('}');
        JsonText::new(json)
    }

    /// A page of a short list read whole (a bank host's keys, a user's permissions, a
    /// transaction's segments): the same keyset rules, applied in memory, newest first.
    /// The page is decoded ([`PageQuery::newest`]) before the list is read, so a malformed
    /// query answers 422 whatever the path names, as on every keyset route.
    pub fn of_all<K>(mut items: Vec<T>, page: Newest<K>, key: impl Fn(&T) -> K) -> Self
    where
        K: Ord + Display,
    {
        items.sort_by_key(|item| std::cmp::Reverse(key(item)));
        let items: Vec<T> = items
            .into_iter()
            .filter(|item| page.before.as_ref().is_none_or(|b| key(item) < *b))
            .take(page.limit as usize)
            .collect();
        Self::keyset(items, page.limit, key)
    }
}
