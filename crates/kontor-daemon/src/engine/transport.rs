//! HTTP transport of EBICS messages and the retry policy shared by network failures and
//! temporary EBICS return codes.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// A boxed future, so [`Transport`] stays object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a POST failed, split by whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// Connection refused or reset, timeout, HTTP 5xx: the same request may succeed later.
    #[error("temporary network failure talking to {url}: {message}")]
    Retryable { url: String, message: String },
    /// Bad URL, TLS failure, HTTP 4xx: repeating the request cannot help.
    #[error("network failure talking to {url}: {message}")]
    Permanent { url: String, message: String },
}

impl TransportError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Retryable { .. })
    }
}

/// Sends one EBICS message and returns the bank's answer. Implemented by [`HttpTransport`];
/// tests wrap it to inject faults.
pub trait Transport: Send + Sync {
    fn post<'a>(
        &'a self,
        url: &'a str,
        body: Vec<u8>,
    ) -> BoxFuture<'a, Result<Vec<u8>, TransportError>>;
}

/// Timeouts of the HTTP client.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub connect_timeout: Duration,
    /// For the whole exchange, including a 1 MiB segment on a slow line.
    pub request_timeout: Duration,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(120),
        }
    }
}

/// reqwest over rustls.
#[derive(Debug, Clone)]
pub struct HttpTransport {
    client: reqwest::Client,
}

impl HttpTransport {
    pub fn new(settings: HttpSettings) -> Result<Self, TransportError> {
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .user_agent(concat!("kontor/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| TransportError::Permanent {
                url: String::new(),
                message: e.to_string(),
            })?;
        Ok(Self { client })
    }

    async fn send(&self, url: &str, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        let response = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "text/xml; charset=UTF-8")
            .body(body)
            .send()
            .await
            .map_err(|e| classify(url, &e))?;
        let status = response.status();
        if status.is_server_error() {
            return Err(TransportError::Retryable {
                url: url.to_owned(),
                message: format!("HTTP {status}"),
            });
        }
        if !status.is_success() {
            return Err(TransportError::Permanent {
                url: url.to_owned(),
                message: format!("HTTP {status}"),
            });
        }
        let bytes = response.bytes().await.map_err(|e| classify(url, &e))?;
        Ok(bytes.to_vec())
    }
}

impl Transport for HttpTransport {
    fn post<'a>(
        &'a self,
        url: &'a str,
        body: Vec<u8>,
    ) -> BoxFuture<'a, Result<Vec<u8>, TransportError>> {
        Box::pin(self.send(url, body))
    }
}

fn classify(url: &str, e: &reqwest::Error) -> TransportError {
    // Walk the source chain: reqwest wraps hyper wraps io, and the io kind decides.
    let message = error_chain(e);
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
        TransportError::Permanent {
            url: url.to_owned(),
            message,
        }
    }
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
pub type Sleeper = Arc<dyn Fn(Duration) -> BoxFuture<'static, ()> + Send + Sync>;
/// Draws the jitter factor in `[0, 1)`; injectable so tests are deterministic.
pub type JitterSource = Arc<dyn Fn() -> f64 + Send + Sync>;

/// Exponential backoff with full jitter: before retry `n` (1-based) it waits a random time in
/// `[0, min(max_delay, base_delay * 2^(n-1)))`, spreading retries of many clients apart.
#[derive(Clone)]
pub struct RetryPolicy {
    /// Attempts in total, including the first (1 = never retry).
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    sleeper: Sleeper,
    jitter: JitterSource,
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
    /// Real sleeping and random jitter.
    pub fn new(max_attempts: u32, base_delay: Duration, max_delay: Duration) -> Self {
        Self {
            max_attempts: max_attempts.max(1),
            base_delay,
            max_delay,
            sleeper: Arc::new(|d| Box::pin(tokio::time::sleep(d))),
            jitter: Arc::new(rand::random::<f64>),
        }
    }

    /// Retries `max_attempts - 1` times without waiting (tests).
    pub fn immediate(max_attempts: u32) -> Self {
        Self::new(max_attempts, Duration::ZERO, Duration::ZERO)
            .with_sleeper(Arc::new(|_| Box::pin(async {})))
    }

    pub fn with_sleeper(mut self, sleeper: Sleeper) -> Self {
        self.sleeper = sleeper;
        self
    }

    pub fn with_jitter(mut self, jitter: JitterSource) -> Self {
        self.jitter = jitter;
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
        let delay = self.delay_before(retry, (self.jitter)());
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

    #[tokio::test]
    async fn run_retries_retryable_errors_until_attempts_are_used_up() {
        let policy = RetryPolicy::immediate(3);
        let mut calls = 0;
        let result: Result<(), &str> = policy
            .run(
                |_| {
                    calls += 1;
                    async { Err("down") }
                },
                |_| true,
            )
            .await;
        assert_eq!(result, Err("down"));
        assert_eq!(calls, 3);
    }

    #[tokio::test]
    async fn run_stops_at_a_permanent_error_and_returns_success_after_a_retry() {
        let policy = RetryPolicy::immediate(5);
        let mut calls = 0;
        let permanent: Result<(), &str> = policy
            .run(
                |_| {
                    calls += 1;
                    async { Err("bad request") }
                },
                |e| *e != "bad request",
            )
            .await;
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
