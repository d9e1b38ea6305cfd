//! The admin HTTP API. Every handler acts only through the caller's tenant scope.
//!
//! Routes are registered through [`Routes`], which records each method, path and [`Access`]
//! level as it adds them to the router: that record is the OpenAPI document's route list and
//! the level the [`auth::Caller`] extractor enforces, so neither the document nor the
//! authorisation can drift from what the router really serves.

pub mod auth;
pub mod engine_port;
pub mod error;
mod extract;
mod health;
mod hosts;
pub mod input;
mod openapi;
mod orders;
mod records;
mod statements;
mod tenancy;
mod users;
mod veu;

use std::path::PathBuf;
use std::sync::Arc;

use axum::handler::Handler;
use axum::http::Method;
use axum::routing::MethodRouter;
use axum::Router;
use kontor_storage::Store;

pub use auth::Access;
pub use engine_port::{
    DetachedSignature, EngineCommandError, EngineCommands, EngineResult, VeuDigest,
};
pub use openapi::RouteInfo;

/// Shared state of the API.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub metrics: Arc<health::Metrics>,
    /// The engine, when this process runs one; engine-triggered routes answer 503 without it.
    pub engine: Option<Arc<dyn EngineCommands>>,
    /// The daemon's data directory: stored files that live on disk (downloads) are below it.
    pub data_dir: Option<PathBuf>,
}

impl AppState {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            metrics: Arc::default(),
            engine: None,
            data_dir: None,
        }
    }

    pub fn with_engine(mut self, engine: Arc<dyn EngineCommands>) -> Self {
        self.engine = Some(engine);
        self
    }

    pub fn with_data_dir(mut self, data_dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(data_dir.into());
        self
    }

    /// The engine, or 503 `engine_unavailable`.
    pub(crate) fn engine(&self) -> Result<&Arc<dyn EngineCommands>, error::ApiError> {
        self.engine
            .as_ref()
            .ok_or(error::ApiError::EngineUnavailable)
    }
}

/// A router that remembers every (method, path) it serves.
pub struct Routes {
    router: Router<AppState>,
    table: Vec<RouteInfo>,
}

macro_rules! route_method {
    ($($name:ident => $method:ident),+ $(,)?) => {$(
        pub fn $name<H, T>(
            self,
            path: &'static str,
            access: Access,
            summary: &'static str,
            handler: H,
        ) -> Self
        where
            H: Handler<T, AppState>,
            T: 'static,
        {
            self.add(Method::$method, path, access, summary, axum::routing::$name(handler))
        }
    )+};
}

impl Routes {
    fn new() -> Self {
        Self {
            router: Router::new(),
            table: Vec::new(),
        }
    }

    fn add(
        mut self,
        method: Method,
        path: &'static str,
        access: Access,
        summary: &'static str,
        route: MethodRouter<AppState>,
    ) -> Self {
        // The level travels with each request of this route to the `Caller` extractor.
        // Axum merges method routers registered for the same path, each keeping its layer.
        self.router = self
            .router
            .route(path, route.layer(axum::Extension(access)));
        self.table.push(RouteInfo {
            method,
            path,
            access,
            summary,
        });
        self
    }

    /// A read route: every member of the tenant (`Access::Read`), or `Access::Public`.
    pub fn read<H, T>(self, path: &'static str, summary: &'static str, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.get(path, Access::Read, summary, handler)
    }

    route_method!(get => GET, post => POST, put => PUT, patch => PATCH, delete => DELETE);
}

/// Every route of the API, in documentation order.
fn all_routes() -> Routes {
    let routes = Routes::new();
    let routes = health::routes(routes);
    let routes = openapi::routes(routes);
    let routes = tenancy::routes(routes);
    let routes = hosts::routes(routes);
    let routes = users::routes(routes);
    let routes = orders::routes(routes);
    let routes = veu::routes(routes);
    let routes = records::routes(routes);
    statements::routes(routes)
}

/// The (method, path) of every route the router serves.
pub fn route_table() -> Vec<RouteInfo> {
    all_routes().table
}

/// The whole API router.
pub fn router(state: AppState) -> Router {
    use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
    let request_id = axum::http::HeaderName::from_static("x-request-id");
    all_routes()
        .router
        .fallback(|| async { error::ApiError::NoRoute })
        .method_not_allowed_fallback(|| async { error::ApiError::MethodNotAllowed })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            health::count_requests,
        ))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(
            |req: &axum::http::Request<_>| {
                // Method, path and request id only: headers (with the bearer token), query
                // strings and bodies are never logged.
                let id = req
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
            },
        ))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state)
}
