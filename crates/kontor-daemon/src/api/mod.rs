//! The admin HTTP API: HTTP only, one file per resource. Every handler acts only through the
//! caller's tenant scope, and every state-changing handler calls exactly one function of
//! [`crate::services`], the API's only way to the data and the bank.
//!
//! Routes are registered through [`Routes`], which records each method, path, [`Access`]
//! level and handler as it adds them to the router: that record is the OpenAPI document's
//! route list (with the schemas the handler's own types give, see [`openapi`]) and the level
//! the [`auth::Caller`] extractor enforces, so neither the document nor the authorisation can
//! drift from what the router really serves. Authorisation lives in
//! [`auth`] (the caller, the route's access level, the tenant transaction, grants) and
//! [`extract`] (typed path ids, bodies and queries).

mod accounts;
mod audit;
pub mod auth;
mod bookings;
mod certificates;
mod connections;
mod downloads;
mod ebics_users;
pub mod error;
mod extract;
mod files;
mod health;
mod hosts;
pub mod input;
mod key_changes;
mod letters;
mod memberships;
mod openapi;
mod orders;
pub mod page;
mod payments;
mod permissions;
mod records;
mod respond;
mod schedules;
mod signer_keys;
mod statement_files;
mod statements;
mod tenant;
mod tokens;
mod transactions;
mod veu;
mod webhooks;

use std::sync::Arc;

use axum::handler::Handler;
use axum::http::Method;
use axum::routing::MethodRouter;
use axum::Router;

use crate::services::Services;

pub use auth::Access;
pub use openapi::{openapi_document, RouteInfo};
use openapi::{DocHandler, Docs, Operation};

/// Shared state of the API.
#[derive(Clone)]
pub struct AppState {
    /// The API's way to everything: without a bank, bank-bound routes answer 503
    /// `engine_unavailable` and change nothing.
    pub services: Services,
    pub metrics: Arc<health::Metrics>,
    /// The largest payment file `POST /v1/orders` takes.
    pub max_order_file_bytes: u64,
}

impl AppState {
    /// The API over `services` (a bare store gives services without a bank).
    pub fn new(services: impl Into<Services>) -> Self {
        Self {
            services: services.into(),
            metrics: Arc::default(),
            max_order_file_bytes: crate::config::DEFAULT_MAX_ORDER_FILE_BYTES,
        }
    }

    /// Payment files up to `bytes` (see `max_order_file_bytes` in the configuration).
    pub fn with_max_order_file_bytes(mut self, bytes: u64) -> Self {
        self.max_order_file_bytes = bytes;
        self
    }
}

/// A router that remembers every (method, path) it serves.
pub struct Routes {
    router: Router<AppState>,
    table: Vec<RouteInfo>,
}

macro_rules! route_method {
    ($($name:ident => $method:ident),+ $(,)?) => {$(
        pub fn $name<H, T, A>(
            self,
            path: &'static str,
            access: Access,
            summary: &'static str,
            handler: H,
        ) -> Self
        where
            H: Handler<T, AppState> + DocHandler<A>,
            T: 'static,
        {
            self.add(
                Method::$method,
                path,
                access,
                summary,
                axum::routing::$name(handler),
                H::document,
            )
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
        document: fn(&mut Operation, &mut Docs),
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
            document,
        });
        self
    }

    /// A read route: every member of the tenant (`Access::Read`), or `Access::Public`.
    pub fn read<H, T, A>(self, path: &'static str, summary: &'static str, handler: H) -> Self
    where
        H: Handler<T, AppState> + DocHandler<A>,
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
    let routes = tenant::routes(routes);
    let routes = memberships::routes(routes);
    let routes = tokens::routes(routes);
    let routes = hosts::routes(routes);
    let routes = connections::routes(routes);
    let routes = accounts::routes(routes);
    let routes = ebics_users::routes(routes);
    let routes = letters::routes(routes);
    let routes = certificates::routes(routes);
    let routes = signer_keys::routes(routes);
    let routes = key_changes::routes(routes);
    let routes = permissions::routes(routes);
    let routes = orders::routes(routes);
    let routes = payments::routes(routes);
    let routes = veu::routes(routes);
    let routes = transactions::routes(routes);
    let routes = schedules::routes(routes);
    let routes = audit::routes(routes);
    let routes = statements::routes(routes);
    let routes = statement_files::routes(routes);
    let routes = downloads::routes(routes);
    let routes = webhooks::routes(routes);
    bookings::routes(routes)
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
        // Around matched routes only: the audit record names the route's template.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            audit::record_calls,
        ))
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
