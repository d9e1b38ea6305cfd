//! The two HTTP parties of the demo: the daemon's admin API (bearer token) and the emulator's
//! clerk endpoints. Every non-2xx answer becomes an error naming the call and the answer.

use anyhow::{bail, Context};
use serde_json::Value;

/// The daemon's admin API as the treasury operator uses it.
pub struct AdminApi {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl AdminApi {
    pub fn new(base: String, token: String) -> Self {
        Self {
            base,
            token,
            http: reqwest::Client::new(),
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.send("GET", self.http.get(self.url(path))).await
    }

    /// Every item of a list route, newest first, following `next_cursor` page by page.
    pub async fn all(&self, path: &str) -> anyhow::Result<Vec<Value>> {
        crate::pages::every_item(path, |page| async move { self.get(&page).await }).await
    }

    pub async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.send("POST", self.http.post(self.url(path)).json(&body))
            .await
    }

    /// Uploads a payment file with an Idempotency-Key, so a retried request creates one order.
    pub async fn post_file(
        &self,
        path: &str,
        idempotency_key: &str,
        body: Vec<u8>,
    ) -> anyhow::Result<Value> {
        let request = self
            .http
            .post(self.url(path))
            .header("content-type", "application/xml")
            .header("idempotency-key", idempotency_key)
            .body(body);
        self.send("POST", request).await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn send(&self, method: &str, request: reqwest::RequestBuilder) -> anyhow::Result<Value> {
        let response = request
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| format!("cannot reach the admin API at {}", self.base))?;
        let path = response.url().path().to_owned();
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            bail!("admin API {method} {path} answered {status}: {text}");
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

/// The emulator's clerk endpoints (paths below `/admin`): what the bank's staff and letters would say.
pub struct BankClerk {
    base: String,
    http: reqwest::Client,
}

impl BankClerk {
    /// `admin_url` is the emulator's `/admin` base.
    pub fn new(admin_url: String) -> Self {
        Self {
            base: admin_url,
            http: reqwest::Client::new(),
        }
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let response = self.http.get(format!("{}{path}", self.base)).send().await?;
        Self::json(path, response).await
    }

    pub async fn post(&self, path: &str) -> anyhow::Result<Value> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .send()
            .await?;
        Self::json(path, response).await
    }

    async fn json(path: &str, response: reqwest::Response) -> anyhow::Result<Value> {
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            bail!("bank emulator {path} answered {status}: {text}");
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

/// A string field of a JSON answer, or an error naming it.
pub fn text<'v>(value: &'v Value, field: &str) -> anyhow::Result<&'v str> {
    value[field]
        .as_str()
        .with_context(|| format!("the answer has no {field:?}: {value}"))
}
