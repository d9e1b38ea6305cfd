//! Reading a whole list route of the daemon's API, page by page.

use std::future::Future;

use serde_json::Value;

/// Every item of the list route `path`, newest first: `get` fetches one page (as much as the
/// API allows, 1000 items) and the loop follows `next_cursor` until the last page.
pub async fn every_item<F, Fut>(path: &str, get: F) -> anyhow::Result<Vec<Value>>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = anyhow::Result<Value>>,
{
    let separator = if path.contains('?') { '&' } else { '?' };
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page_path = match &cursor {
            // The cursor is base64url: safe in a query string as it is.
            Some(c) => format!("{path}{separator}limit=1000&cursor={c}"),
            None => format!("{path}{separator}limit=1000"),
        };
        let page = get(page_path).await?;
        items.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return Ok(items),
        }
    }
}
