//! Liveness, readiness and Prometheus metrics.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{AppState, Routes};

#[derive(Default)]
pub struct Metrics {
    requests: AtomicU64,
    errors: AtomicU64,
}

pub fn routes(routes: Routes) -> Routes {
    routes
        .get("/healthz", "Liveness", || async { "ok" })
        .get("/readyz", "Readiness (database reachable)", readyz)
        .get("/metrics", "Prometheus metrics", metrics)
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.admin().list_tenants().await {
        Ok(_) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "database not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
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
         kontor_http_errors_total {}\n",
        state.metrics.requests.load(Ordering::Relaxed),
        state.metrics.errors.load(Ordering::Relaxed),
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
