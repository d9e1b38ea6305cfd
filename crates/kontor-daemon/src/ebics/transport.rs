//! HTTP transport of EBICS messages and the retry policy shared by network failures and
//! temporary EBICS return codes.
//!
//! What the transport guarantees for every bank exchange, whatever the bank answers:
//! - **Bounded answers.** The body is read as a stream and the exchange is abandoned (the
//!   connection dropped) as soon as it passes [`TransportSettings::max_answer_bytes`], so a
//!   broken or hostile bank cannot make the daemon buffer more than that.
//! - **No redirects.** EBICS has one URL per host (EBICS 2.5 / 3.0, chapter 3: HTTP POST to
//!   the bank's URL); a 3xx is refused, never followed, so an answer cannot send an order to
//!   another server, e.g. the daemon's own API.
//! - **https for production.** A host marked production is only reached over TLS; the API
//!   refuses such a host with an `http://` URL, and [`BankEndpoint::check`] refuses it again
//!   here. Test hosts may use `http://` (emulator, demo on loopback).
//! - **Verified TLS.** Web roots, platform roots and the host's own CA bundle ([`trust`]);
//!   certificate verification cannot be switched off.
//! - **Timeouts** on connecting, on every read and on the whole exchange, and an optional
//!   outbound proxy with exceptions ([`settings`]).

mod settings;
mod trust;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use kontor_storage::BankHost;

pub use settings::{
    InvalidProxy, ProxySettings, TransportSettings, DEFAULT_MAX_ANSWER_BYTES, MIN_MAX_ANSWER_BYTES,
};
pub use trust::{CaBundle, InvalidCaBundle};

/// A boxed future, so [`Transport`] stays object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a POST failed, split by whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// Connection refused or reset, timeout, HTTP 5xx: the same request may succeed later.
    #[error("temporary network failure talking to {url}: {message}")]
    Retryable { url: String, message: String },
    /// Bad or insecure URL, TLS failure, HTTP 3xx or 4xx, an oversized answer: repeating the
    /// request cannot help.
    #[error("network failure talking to {url}: {message}")]
    Permanent { url: String, message: String },
}

impl TransportError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Retryable { .. })
    }

    fn permanent(url: &str, message: impl Into<String>) -> Self {
        Self::Permanent {
            url: url.to_owned(),
            message: message.into(),
        }
    }
}

/// Why a bank URL is refused for a host.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BankUrlError {
    #[error("url must be an absolute http:// or https:// URL with a host ({0})")]
    Invalid(String),
    #[error("a production bank host must use an https:// URL; plain http:// is only allowed for test hosts (production = false)")]
    HttpsRequired,
}

/// Where and how to reach one bank host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankEndpoint {
    pub url: String,
    /// A production host is only reached over https.
    pub production: bool,
    /// PEM certificates trusted for this host in addition to the web and platform roots.
    pub ca_bundle_pem: Option<String>,
}

impl BankEndpoint {
    pub fn of(host: &BankHost) -> Self {
        Self {
            url: host.url.clone(),
            production: host.production,
            ca_bundle_pem: host.ca_bundle_pem.clone(),
        }
    }

    /// The rule for bank URLs, applied by the API when a host is stored and by the transport
    /// before every request.
    pub fn check(url: &str, production: bool) -> Result<reqwest::Url, BankUrlError> {
        let parsed = reqwest::Url::parse(url).map_err(|e| BankUrlError::Invalid(e.to_string()))?;
        match parsed.scheme() {
            "https" => {}
            "http" if !production => {}
            "http" => return Err(BankUrlError::HttpsRequired),
            other => return Err(BankUrlError::Invalid(format!("scheme {other:?}"))),
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(BankUrlError::Invalid("no host".into()));
        }
        Ok(parsed)
    }
}

/// Sends one EBICS message and returns the bank's answer. Implemented by [`HttpTransport`];
/// tests wrap it to inject faults.
pub trait Transport: Send + Sync {
    fn post<'a>(
        &'a self,
        endpoint: &'a BankEndpoint,
        body: Vec<u8>,
    ) -> BoxFuture<'a, Result<Vec<u8>, TransportError>>;
}

/// reqwest over rustls, one pooled client per trust configuration.
#[derive(Clone)]
pub struct HttpTransport {
    clients: Arc<trust::ClientCache>,
}

impl std::fmt::Debug for HttpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpTransport")
            .field("settings", self.clients.settings())
            .finish_non_exhaustive()
    }
}

impl HttpTransport {
    pub fn new(settings: TransportSettings) -> Result<Self, TransportError> {
        let clients =
            trust::ClientCache::new(settings).map_err(|m| TransportError::permanent("", m))?;
        Ok(Self {
            clients: Arc::new(clients),
        })
    }

    async fn send(
        &self,
        endpoint: &BankEndpoint,
        body: Vec<u8>,
    ) -> Result<Vec<u8>, TransportError> {
        let url = endpoint.url.as_str();
        let target = BankEndpoint::check(url, endpoint.production)
            .map_err(|e| TransportError::permanent(url, e.to_string()))?;
        let client = self
            .clients
            .client(endpoint.ca_bundle_pem.as_deref())
            .map_err(|m| TransportError::permanent(url, m))?;
        let response = client
            .post(target)
            .header(reqwest::header::CONTENT_TYPE, "text/xml; charset=UTF-8")
            .body(body)
            .send()
            .await
            .map_err(|e| classify(url, &e))?;
        let status = response.status();
        if status.is_redirection() {
            let location: String = response
                .headers()
                .get(reqwest::header::LOCATION)
                // The bank's text: shown, but not at any length.
                .map(|l| {
                    String::from_utf8_lossy(l.as_bytes())
                        .chars()
                        .take(200)
                        .collect()
                })
                .unwrap_or_else(|| "an unnamed location".into());
            return Err(TransportError::permanent(
                url,
                format!("the bank answered HTTP {status}, a redirect to {location}; redirects are never followed: check the host's URL"),
            ));
        }
        if status.is_server_error() {
            return Err(TransportError::Retryable {
                url: url.to_owned(),
                message: format!("HTTP {status}"),
            });
        }
        if !status.is_success() {
            return Err(TransportError::permanent(url, format!("HTTP {status}")));
        }
        read_bounded(url, response, self.clients.settings().max_answer_bytes).await
    }
}

impl Transport for HttpTransport {
    fn post<'a>(
        &'a self,
        endpoint: &'a BankEndpoint,
        body: Vec<u8>,
    ) -> BoxFuture<'a, Result<Vec<u8>, TransportError>> {
        Box::pin(self.send(endpoint, body))
    }
}

/// Reads the answer chunk by chunk and gives up as soon as it passes `limit`: dropping the
/// response mid-body closes the connection, so the rest is never received, let alone stored.
async fn read_bounded(
    url: &str,
    mut response: reqwest::Response,
    limit: u64,
) -> Result<Vec<u8>, TransportError> {
    let too_large =
        || TransportError::permanent(url, format!("bank answer larger than {limit} bytes"));
    let declared = response.content_length();
    if declared.is_some_and(|length| length > limit) {
        return Err(too_large());
    }
    let expected = declared.unwrap_or(64 << 10).min(limit);
    let mut body = Vec::with_capacity(usize::try_from(expected).unwrap_or(usize::MAX));
    while let Some(chunk) = response.chunk().await.map_err(|e| classify(url, &e))? {
        if (body.len() + chunk.len()) as u64 > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn classify(url: &str, e: &reqwest::Error) -> TransportError {
    // Walk the source chain: reqwest wraps hyper wraps io, and the io kind decides.
    let message = error_chain(e);
    // A refused certificate or a failed handshake is a configuration matter (URL, CA
    // bundle, the bank's certificate): retrying within seconds cannot change it.
    if is_tls_failure(e) {
        return TransportError::permanent(url, format!("TLS failure: {message}"));
    }
    let retryable = e.is_timeout()
        || e.is_connect()
        || (e.is_request() && !e.is_builder())
        || e.is_body()
        || e.is_decode();
    if retryable && !e.is_builder() {
        TransportError::Retryable {
            url: url.to_owned(),
            message,
        }
    } else {
        TransportError::permanent(url, message)
    }
}

/// Whether a rustls error sits anywhere in the chain. `io::Error` hides a custom payload from
/// `source()` (it forwards to the payload's own source), so look inside it explicitly.
fn is_tls_failure(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(e);
    while let Some(error) = current {
        if error.is::<rustls::Error>() {
            return true;
        }
        if let Some(inner) = error
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            if is_tls_failure(inner) {
                return true;
            }
        }
        current = error.source();
    }
    false
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Waits between attempts; injectable so tests never sleep.
type Sleeper = Arc<dyn Fn(Duration) -> BoxFuture<'static, ()> + Send + Sync>;

/// Exponential backoff with full jitter: before retry `n` (1-based) it waits a random time in
/// `[0, min(max_delay, base_delay * 2^(n-1)))`, spreading retries of many clients apart.
#[derive(Clone)]
pub struct RetryPolicy {
    /// Attempts in total, including the first (1 = never retry).
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    sleeper: Sleeper,
}

impl std::fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("max_attempts", &self.max_attempts)
            .field("base_delay", &self.base_delay)
            .field("max_delay", &self.max_delay)
            .finish_non_exhaustive()
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::new(5, Duration::from_millis(500), Duration::from_secs(30))
    }
}

impl RetryPolicy {
    /// Real sleeping and random jitter (tests check the delays through
    /// [`RetryPolicy::delay_before`]).
    pub fn new(max_attempts: u32, base_delay: Duration, max_delay: Duration) -> Self {
        Self {
            max_attempts: max_attempts.max(1),
            base_delay,
            max_delay,
            sleeper: Arc::new(|d| Box::pin(tokio::time::sleep(d))),
        }
    }

    /// Retries `max_attempts - 1` times without waiting (tests).
    pub fn immediate(max_attempts: u32) -> Self {
        Self::new(max_attempts, Duration::ZERO, Duration::ZERO)
            .with_sleeper(Arc::new(|_| Box::pin(async {})))
    }

    fn with_sleeper(mut self, sleeper: Sleeper) -> Self {
        self.sleeper = sleeper;
        self
    }

    /// The wait before retry number `retry` (1-based) for a jitter factor in `[0, 1)`.
    pub fn delay_before(&self, retry: u32, jitter: f64) -> Duration {
        let exponent = retry.saturating_sub(1).min(31);
        let ceiling = self
            .base_delay
            .saturating_mul(1u32 << exponent)
            .min(self.max_delay);
        ceiling.mul_f64(jitter.clamp(0.0, 1.0))
    }

    /// Waits before retry number `retry` (1-based).
    pub async fn wait(&self, retry: u32) {
        let delay = self.delay_before(retry, rand::random::<f64>());
        (self.sleeper)(delay).await;
    }

    /// Runs `attempt` until it succeeds, fails with an error `retryable` rejects, or the
    /// attempts are used up; returns the last result.
    pub async fn run<T, E, F, Fut>(
        &self,
        mut attempt: F,
        retryable: impl Fn(&E) -> bool,
    ) -> Result<T, E>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut number = 1;
        loop {
            match attempt(number).await {
                Err(e) if retryable(&e) && number < self.max_attempts => {
                    self.wait(number).await;
                    number += 1;
                }
                other => return other,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_hosts_need_https_and_test_hosts_may_use_http() {
        let check = BankEndpoint::check;
        assert!(check("https://bank.example/ebicsweb", true).is_ok());
        assert!(check("http://127.0.0.1:8090/ebicsweb", false).is_ok());
        assert_eq!(
            check("http://bank.example/ebicsweb", true),
            Err(BankUrlError::HttpsRequired)
        );
        assert_eq!(
            check("HTTP://bank.example/ebicsweb", true),
            Err(BankUrlError::HttpsRequired),
            "the scheme is compared after normalisation"
        );
        for bad in [
            "ftp://bank.example",
            "bank.example",
            "https://",
            "file:///etc/passwd",
        ] {
            assert!(
                matches!(check(bad, false), Err(BankUrlError::Invalid(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn backoff_grows_exponentially_up_to_the_cap_and_jitter_scales_it() {
        let policy = RetryPolicy::new(10, Duration::from_millis(100), Duration::from_secs(1));
        let full = |n| policy.delay_before(n, 1.0);
        assert_eq!(full(1), Duration::from_millis(100));
        assert_eq!(full(2), Duration::from_millis(200));
        assert_eq!(full(4), Duration::from_millis(800));
        assert_eq!(full(5), Duration::from_secs(1));
        assert_eq!(full(40), Duration::from_secs(1));
        assert_eq!(policy.delay_before(3, 0.0), Duration::ZERO);
        assert_eq!(policy.delay_before(3, 0.5), Duration::from_millis(200));
    }

    /// `policy` running an operation that always fails with `error`; how often it was tried.
    async fn always_failing(
        policy: &RetryPolicy,
        error: &'static str,
        retryable: impl Fn(&&'static str) -> bool,
    ) -> (Result<(), &'static str>, u32) {
        let mut calls = 0;
        let result = policy
            .run(
                |_| {
                    calls += 1;
                    async move { Err(error) }
                },
                retryable,
            )
            .await;
        (result, calls)
    }

    #[tokio::test]
    async fn run_retries_retryable_errors_until_attempts_are_used_up() {
        let (result, calls) = always_failing(&RetryPolicy::immediate(3), "down", |_| true).await;
        assert_eq!(result, Err("down"));
        assert_eq!(calls, 3);
    }

    #[tokio::test]
    async fn run_stops_at_a_permanent_error_and_returns_success_after_a_retry() {
        let policy = RetryPolicy::immediate(5);
        let (permanent, calls) =
            always_failing(&policy, "bad request", |e| *e != "bad request").await;
        assert_eq!(calls, 1);
        assert!(permanent.is_err());
        let ok: Result<u32, &str> = policy
            .run(
                |n| async move {
                    if n < 3 {
                        Err("reset")
                    } else {
                        Ok(n)
                    }
                },
                |_| true,
            )
            .await;
        assert_eq!(ok, Ok(3));
    }
}
