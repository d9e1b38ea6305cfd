//! The OpenAPI 3.1 document, generated from the route table so it lists exactly the routes
//! the router serves.

use std::sync::OnceLock;

use axum::http::Method;
use axum::Json;
use serde_json::{json, Map, Value};

use super::{Access, Routes};

/// One route: its method, path (with `{param}` placeholders), who may call it and a
/// one-line summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    pub summary: &'static str,
}

impl RouteInfo {
    /// Whether the route is reachable without a bearer token.
    pub fn is_public(&self) -> bool {
        self.access == Access::Public
    }
}

pub fn routes(routes: Routes) -> Routes {
    routes.get(
        "/openapi.json",
        Access::Public,
        "This OpenAPI document",
        document,
    )
}

async fn document() -> Json<Value> {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    Json(
        DOCUMENT
            .get_or_init(|| build(&super::route_table()))
            .clone(),
    )
}

fn build(table: &[RouteInfo]) -> Value {
    let mut paths = Map::new();
    for route in table {
        let parameters: Vec<Value> = route
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}))
            .collect();
        let mut operation = json!({
            "summary": route.summary,
            "description": format!("Who may call it: {}", route.access.describe()),
            "x-kontor-access": route.access.name(),
            "operationId": operation_id(route),
            "parameters": parameters,
            "responses": {
                "default": {"description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            },
        });
        if route.is_public() {
            operation["security"] = json!([]);
        }
        let item = paths
            .entry(route.path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        item[route.method.as_str().to_ascii_lowercase()] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Kontor admin API", "version": env!("CARGO_PKG_VERSION")},
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": {
                "type": "object",
                "required": ["error"],
                "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
                    "code": {"type": "string", "description": "Stable, documented error code"},
                    "field": {"type": "string", "description": "The request field at fault (validation errors, 422)"},
                    "message": {"type": "string"}
                }}}
            }}
        }
    })
}

fn operation_id(route: &RouteInfo) -> String {
    let mut id = route.method.as_str().to_ascii_lowercase();
    for segment in route
        .path
        .split('/')
        .filter(|s| !s.is_empty() && *s != "v1")
    {
        id.push('_');
        id.push_str(
            &segment
                .trim_start_matches('{')
                .trim_end_matches('}')
                .replace(['-', '.'], "_"),
        );
    }
    id
}
