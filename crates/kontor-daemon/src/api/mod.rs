//! The admin HTTP API. Every handler acts only through the caller's tenant scope.

pub mod auth;
pub mod error;
mod health;
mod hosts;
mod reads;

use std::sync::Arc;

use axum::Router;
use kontor_storage::Store;

/// Shared state of the API.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub metrics: Arc<health::Metrics>,
}

impl AppState {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            metrics: Arc::default(),
        }
    }
}

/// The whole API router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(health::router())
        .merge(hosts::router())
        .merge(reads::router())
        .layer(axum::middleware::from_fn_with_state(state.clone(), health::count_requests))
        .layer(
            tower_http::trace::TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                // Method and path only: headers (with the bearer token) are never logged.
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), id = %uuid::Uuid::new_v4())
            }),
        )
        .with_state(state)
}
