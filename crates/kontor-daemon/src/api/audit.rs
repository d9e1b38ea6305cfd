//! `/v1/audit-events`: the tenant's append-only audit log, and the middleware that records
//! every state-changing call in it.
//!
//! Every POST, PUT, PATCH and DELETE that reaches a route is recorded once it has answered:
//! who (the token's operator), the route (`operation`), its target (the last id in the path,
//! or the id of what a 201 created), the request id and the outcome, a refusal included with
//! its stable error code. The [`super::auth::Caller`] extractor hands the caller's scope to
//! the middleware through a [`CallerSlot`] as soon as the token checks out, so calls refused
//! later (403, 404, 422, 409, ...) are recorded too. A request without a valid token names no
//! tenant and has no log to go into: it is not recorded (the request trace still is).
//! Services write their own records (a key verified, a statement file failed) inside the
//! transaction of the change; those carry the same request id.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum::Json;
use chrono::{DateTime, Utc};
use kontor_storage::{
    ApiCallRecord, AuditAction, AuditEvent, AuditFilter, AuditOutcome, EbicsUserId, TenantScope,
};
use serde::Deserialize;

use super::auth::Caller;
use super::error::ApiError;
use super::extract::QueryParams;
use super::page::{ItemPage, PageQuery};
use super::{AppState, Routes};

pub fn routes(routes: Routes) -> Routes {
    routes.read(
        "/v1/audit-events",
        "Append-only audit log of the tenant, newest first, filtered by action, operation, actor, target, outcome, request id and time (restricted operators: records about their users)",
        list,
    )
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    /// e.g. `API_CALL`, `SIGNER_KEY_REVOKED`.
    action: Option<String>,
    /// e.g. `POST /v1/orders/{id}/cancel`.
    operation: Option<String>,
    /// An operator id or a system job's name.
    actor: Option<String>,
    target_kind: Option<String>,
    target_id: Option<String>,
    /// `SUCCEEDED` or `FAILED`.
    outcome: Option<String>,
    request_id: Option<String>,
    /// RFC 3339; records at or after.
    from: Option<DateTime<Utc>>,
    /// RFC 3339; records before.
    to: Option<DateTime<Utc>>,
    limit: Option<u32>,
    cursor: Option<String>,
}

fn parsed<T: std::str::FromStr>(
    value: Option<String>,
    field: &'static str,
) -> Result<Option<T>, ApiError> {
    value
        .map(|v| {
            v.to_ascii_uppercase().parse().map_err(|_| ApiError::Input {
                code: format!("invalid_{field}"),
                field: Some(field.into()),
                message: format!("{field}: unknown value"),
            })
        })
        .transpose()
}

async fn list(
    caller: Caller,
    QueryParams(q): QueryParams<AuditQuery>,
) -> Result<Json<ItemPage<AuditEvent>>, ApiError> {
    let page = PageQuery::newest_of(q.limit, q.cursor)?;
    let filter = AuditFilter {
        action: parsed::<AuditAction>(q.action, "action")?,
        outcome: parsed::<AuditOutcome>(q.outcome, "outcome")?,
        actor: q.actor,
        target_kind: q.target_kind,
        target_id: q.target_id,
        operation: q.operation,
        request_id: q.request_id,
        from: q.from,
        to: q.to,
    };
    let mut tx = caller.read().await?;
    let scanned = tx.audit().search(&filter, page).await?;
    // The cursor follows the records scanned, so filtering below never loses a page.
    let next = ItemPage::keyset(scanned, page.limit, |e| e.id);
    // An operator limited to some EBICS users reads only the records about those users.
    let about_granted_user = |e: &AuditEvent| {
        e.detail["ebics_user_id"]
            .as_str()
            .and_then(|id| id.parse::<EbicsUserId>().ok())
            .is_some_and(|id| caller.may_act_for(id))
    };
    Ok(Json(if caller.is_restricted() {
        ItemPage {
            items: next.items.into_iter().filter(about_granted_user).collect(),
            next_cursor: next.next_cursor,
        }
    } else {
        next
    }))
}

/// Where the [`Caller`] extractor leaves the authenticated caller's scope for the audit
/// middleware of the same request.
#[derive(Clone, Default)]
pub struct CallerSlot(Arc<Mutex<Option<TenantScope>>>);

impl CallerSlot {
    pub fn fill(&self, scope: TenantScope) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(scope);
        }
    }

    fn take(&self) -> Option<TenantScope> {
        self.0.lock().ok().and_then(|mut slot| slot.take())
    }
}

/// The stable error code of an error response, for its audit record.
#[derive(Clone, Debug)]
pub struct ErrorCode(pub String);

/// Bodies of 201 answers up to this size are read for the created record's id.
const CREATED_BODY_LIMIT: u64 = 1 << 20;

/// Records every state-changing call that named a tenant (see the module doc).
pub async fn record_calls(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if !matches!(
        *req.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    ) {
        return next.run(req).await;
    }
    let slot = CallerSlot::default();
    req.extensions_mut().insert(slot.clone());
    let template = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default();
    let operation = format!("{} {template}", req.method());
    let path = req.uri().path().to_owned();
    let response = next.run(req).await;
    let Some(scope) = slot.take() else {
        return response;
    };
    let (target_kind, mut target_id) = target_of(&template, &path);
    let status = response.status();
    let (response, created) = if status == StatusCode::CREATED {
        created_id(response).await
    } else {
        (response, None)
    };
    if let Some(id) = created {
        target_id = id;
    }
    let error_code = (status.is_client_error() || status.is_server_error()).then(|| {
        response
            .extensions()
            .get::<ErrorCode>()
            .map(|c| c.0.clone())
            .unwrap_or_else(|| format!("http_{}", status.as_u16()))
    });
    let record = ApiCallRecord {
        operation,
        target_kind,
        target_id,
        outcome: if error_code.is_some() {
            AuditOutcome::Failed
        } else {
            AuditOutcome::Succeeded
        },
        error_code,
        detail: serde_json::json!({"status": status.as_u16(), "path": path}),
    };
    if let Err(error) = write(&state, &scope, record).await {
        // The call itself has happened (or been refused); its answer stands.
        tracing::error!(%error, "could not write the audit record of an API call");
    }
    response
}

async fn write(
    state: &AppState,
    scope: &TenantScope,
    record: ApiCallRecord,
) -> Result<(), kontor_storage::StorageError> {
    let mut tx = state.services.store().scope(scope).begin().await?;
    tx.audit().record_call(record).await?;
    tx.commit().await
}

/// The resource and id a path names: the last `{param}` of the route and the literal
/// segment before it (`/v1/orders/{id}/cancel` → `orders`, the order id); for a route
/// without one (a create), its last segment and no id yet.
fn target_of(template: &str, path: &str) -> (String, String) {
    let literal = template.split('/').filter(|s| !s.is_empty());
    let actual = path.split('/').filter(|s| !s.is_empty());
    let mut kind = String::new();
    let mut id = String::new();
    let mut last_literal = "";
    for (pattern, value) in literal.zip(actual) {
        if pattern.starts_with('{') {
            kind = last_literal.to_owned();
            id = value.to_owned();
        } else {
            last_literal = pattern;
        }
    }
    if id.is_empty() {
        kind = last_literal.to_owned();
    }
    (kind, id)
}

/// The `id` of the record a 201 answer shows (or the `id` of its `token` or `tenant`), read
/// from a small JSON body that is handed on unchanged.
async fn created_id(response: Response) -> (Response, Option<String>) {
    use axum::body::HttpBody as _;
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    let small = response
        .body()
        .size_hint()
        .upper()
        .is_some_and(|n| n <= CREATED_BODY_LIMIT);
    if !is_json || !small {
        return (response, None);
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, CREATED_BODY_LIMIT as usize).await else {
        return (Response::from_parts(parts, Body::empty()), None);
    };
    let id = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| {
            [&v["id"], &v["token"]["id"], &v["tenant"]["id"]]
                .into_iter()
                .find_map(|id| id.as_str().map(str::to_owned))
        });
    (Response::from_parts(parts, Body::from(bytes)), id)
}

#[cfg(test)]
mod tests {
    use super::target_of;

    #[test]
    fn the_target_is_the_last_id_of_the_path_or_the_collection_of_a_create() {
        let id = "0190a1b2-0000-7000-8000-000000000001";
        assert_eq!(
            target_of("/v1/orders/{id}/cancel", &format!("/v1/orders/{id}/cancel")),
            ("orders".into(), id.into())
        );
        assert_eq!(
            target_of(
                "/v1/memberships/{operator_id}/tokens/{token_id}",
                &format!("/v1/memberships/x/tokens/{id}")
            ),
            ("tokens".into(), id.into())
        );
        assert_eq!(
            target_of("/v1/orders", "/v1/orders"),
            ("orders".into(), String::new())
        );
    }
}
