//! Liveness, readiness and Prometheus metrics.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::error::ApiError;
use super::{Access, AppState, Routes};

#[derive(Default)]
pub struct Metrics {
    requests: AtomicU64,
    errors: AtomicU64,
}

pub fn routes(routes: Routes) -> Routes {
    routes
        .get("/healthz", Access::Public, "Liveness", || async { "ok" })
        .get(
            "/readyz",
            Access::Public,
            "Readiness: the database answers (503 `database_unavailable` within seconds otherwise)",
            readyz,
        )
        .get("/metrics", Access::Public, "Prometheus metrics", metrics)
}

/// How long readiness waits for the database. Shorter than the pool's acquire timeout, so a
/// probe reports an outage even while requests still queue for connections.
const READINESS_TIMEOUT: Duration = Duration::from_secs(2);

async fn readyz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    match tokio::time::timeout(READINESS_TIMEOUT, state.services.store().ping()).await {
        Ok(Ok(())) => Ok("ready"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "database not ready");
            Err(ApiError::DatabaseUnavailable)
        }
        Err(_) => {
            tracing::warn!("database did not answer the readiness probe in time");
            Err(ApiError::DatabaseUnavailable)
        }
    }
}

async fn metrics(State(state): State<AppState>) -> String {
    format!(
        "# HELP kontor_http_requests_total Admin API requests served.\n\
         # TYPE kontor_http_requests_total counter\n\
         kontor_http_requests_total {}\n\
         # HELP kontor_http_errors_total Admin API responses with a 5xx status.\n\
         # TYPE kontor_http_errors_total counter\n\
         kontor_http_errors_total {}\n{}",
        state.metrics.requests.load(Ordering::Relaxed),
        state.metrics.errors.load(Ordering::Relaxed),
        crate::metrics::render(),
    )
}

pub async fn count_requests(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    state.metrics.requests.fetch_add(1, Ordering::Relaxed);
    let response = next.run(request).await;
    if response.status().is_server_error() {
        state.metrics.errors.fetch_add(1, Ordering::Relaxed);
    }
    response
}
