//! One table of every authenticated route drives the access rules: no, expired or revoked
//! tokens answer 401 without detail, Viewers are refused on every mutating route, operators
//! restricted by grants are refused on tenant-wide configuration, another tenant's ids
//! answer 404, and overlong, NUL-containing or malformed input answers 422 and stores
//! nothing. The table must cover exactly the routes in the OpenAPI document, so a new route
//! cannot be forgotten.

use std::collections::BTreeSet;

use crate::support::api::{call, call_with, world, Ids, Payload, Reply, World};
use crate::support::payments::pain001;
use axum::http::{Method, StatusCode};
use serde_json::json;

/// Whether a route names tenant A's records (another tenant must get 404) or is tenant-wide
/// (lists and creates that reference nothing of tenant A).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reach {
    TenantA,
    TenantWide,
}

struct Case {
    method: Method,
    route: &'static str,
    reach: Reach,
    uri: fn(&Ids) -> String,
    body: fn(&Ids) -> Payload,
}

impl Case {
    /// The case's request for tenant A's records with `token` (`None`: without one): its URI
    /// and the answer.
    async fn send(&self, w: &World, token: Option<&str>) -> (String, Reply) {
        let uri = (self.uri)(&w.a);
        let reply = call(&w.app, self.method.clone(), &uri, token, (self.body)(&w.a)).await;
        (uri, reply)
    }
}

/// The OpenAPI document the router serves.
async fn openapi(w: &World) -> serde_json::Value {
    let doc = call(&w.app, Method::GET, "/openapi.json", None, Payload::None).await;
    doc.json()
}

fn none(_: &Ids) -> Payload {
    Payload::None
}

macro_rules! case {
    ($method:ident $route:literal, $reach:ident, $uri:expr) => {
        case!($method $route, $reach, $uri, none)
    };
    ($method:ident $route:literal, $reach:ident, $uri:expr, $body:expr) => {
        Case {
            method: Method::$method,
            route: $route,
            reach: Reach::$reach,
            uri: $uri,
            body: $body,
        }
    };
}

fn signed(ids: &Ids) -> Payload {
    Payload::Json(
        json!({"signer_id": ids.user_a, "signature_version": "A006", "key_hash": "00".repeat(32), "signature": "AAAA"}),
    )
}

fn cases() -> Vec<Case> {
    vec![
        // tenancy
        case!(GET "/v1/tenant", TenantWide, |_| "/v1/tenant".into()),
        case!(GET "/v1/memberships", TenantWide, |_| "/v1/memberships".into()),
        case!(POST "/v1/operators", TenantWide, |_| "/v1/operators".into(),
            |_| Payload::Json(json!({"email": "new@x.example", "display_name": "New", "role": "VIEWER"}))),
        case!(PATCH "/v1/memberships/{operator_id}", TenantA, |i| format!("/v1/memberships/{}", i.member),
            |_| Payload::Json(json!({"role": "ADMIN"}))),
        case!(DELETE "/v1/memberships/{operator_id}", TenantA, |i| format!("/v1/memberships/{}", i.member)),
        case!(GET "/v1/memberships/{operator_id}/grants", TenantA, |i| format!("/v1/memberships/{}/grants", i.member)),
        case!(POST "/v1/memberships/{operator_id}/grants", TenantA, |i| format!("/v1/memberships/{}/grants", i.member),
            |i| Payload::Json(json!({"ebics_user_id": i.user_a}))),
        case!(DELETE "/v1/memberships/{operator_id}/grants/{ebics_user_id}", TenantA,
            |i| format!("/v1/memberships/{}/grants/{}", i.member, i.user_a)),
        case!(GET "/v1/memberships/{operator_id}/tokens", TenantA, |i| format!("/v1/memberships/{}/tokens", i.member)),
        case!(POST "/v1/memberships/{operator_id}/tokens", TenantA, |i| format!("/v1/memberships/{}/tokens", i.member),
            |_| Payload::Json(json!({"name": "ci", "days": 1}))),
        case!(DELETE "/v1/memberships/{operator_id}/tokens/{token_id}", TenantA,
            |i| format!("/v1/memberships/{}/tokens/{}", i.member, i.member_token)),
        case!(GET "/v1/tokens", TenantWide, |_| "/v1/tokens".into()),
        case!(POST "/v1/tokens", TenantWide, |_| "/v1/tokens".into(),
            |_| Payload::Json(json!({"name": "ci", "days": 1}))),
        case!(DELETE "/v1/tokens/{id}", TenantA, |i| format!("/v1/tokens/{}", i.token)),
        // bank hosts and keys
        case!(GET "/v1/bank-hosts", TenantWide, |_| "/v1/bank-hosts".into()),
        case!(POST "/v1/bank-hosts", TenantWide, |_| "/v1/bank-hosts".into(),
            |_| Payload::Json(json!({"host_id": "HOSTV", "name": "V", "url": "https://v.example", "protocol_version": "H004"}))),
        case!(GET "/v1/bank-hosts/{id}", TenantA, |i| format!("/v1/bank-hosts/{}", i.host)),
        case!(PATCH "/v1/bank-hosts/{id}", TenantA, |i| format!("/v1/bank-hosts/{}", i.host),
            |_| Payload::Json(json!({"name": "x", "url": "https://x.example/ebicsweb"}))),
        case!(DELETE "/v1/bank-hosts/{id}", TenantA, |i| format!("/v1/bank-hosts/{}", i.host)),
        case!(GET "/v1/bank-hosts/{id}/keys", TenantA, |i| format!("/v1/bank-hosts/{}/keys", i.host)),
        case!(POST "/v1/bank-hosts/{id}/keys/refresh", TenantA, |i| format!("/v1/bank-hosts/{}/keys/refresh", i.host)),
        case!(POST "/v1/bank-keys/{id}/verify", TenantA, |i| format!("/v1/bank-keys/{}/verify", i.bank_key),
            |_| Payload::Json(json!({"expected_hash": "AB".repeat(32)}))),
        // connections and accounts
        case!(GET "/v1/connections", TenantWide, |_| "/v1/connections".into()),
        case!(POST "/v1/connections", TenantA, |_| "/v1/connections".into(),
            |i| Payload::Json(json!({"bank_host_id": i.host, "partner_id": "P2", "display_name": "x", "order_types": ["CCT"]}))),
        case!(GET "/v1/connections/{id}", TenantA, |i| format!("/v1/connections/{}", i.connection)),
        case!(PUT "/v1/connections/{id}/order-types", TenantA, |i| format!("/v1/connections/{}/order-types", i.connection),
            |_| Payload::Json(json!({"order_types": ["CCT"]}))),
        case!(GET "/v1/accounts", TenantWide, |_| "/v1/accounts".into()),
        case!(POST "/v1/accounts", TenantA, |_| "/v1/accounts".into(),
            |i| Payload::Json(json!({"connection_id": i.connection, "holder_name": "x", "currency": "EUR", "iban": "GB82WEST12345698765432", "bic": "NWBKGB2L", "bank_account_id": "ACC-9"}))),
        case!(GET "/v1/accounts/{id}", TenantA, |i| format!("/v1/accounts/{}", i.account)),
        case!(GET "/v1/accounts/{id}/balances", TenantA, |i| format!("/v1/accounts/{}/balances", i.account)),
        // EBICS users
        case!(GET "/v1/ebics-users", TenantWide, |_| "/v1/ebics-users".into()),
        case!(POST "/v1/ebics-users", TenantA, |_| "/v1/ebics-users".into(),
            |i| Payload::Json(json!({"connection_id": i.connection, "user_id": "U9", "system_id": "S9", "name": "x", "signature_class": "E"}))),
        case!(GET "/v1/ebics-users/{id}", TenantA, |i| format!("/v1/ebics-users/{}", i.user_a)),
        case!(POST "/v1/ebics-users/{id}/suspend", TenantA, |i| format!("/v1/ebics-users/{}/suspend", i.user_a)),
        case!(POST "/v1/ebics-users/{id}/suspend/signed", TenantA, |i| format!("/v1/ebics-users/{}/suspend/signed", i.user_a),
            |_| Payload::Json(json!({"signature_version": "A006", "key_hash": "00".repeat(32), "signature": "AAAA"}))),
        case!(POST "/v1/ebics-users/{id}/resume", TenantA, |i| format!("/v1/ebics-users/{}/resume", i.user_a)),
        case!(POST "/v1/ebics-users/{id}/initialise", TenantA, |i| format!("/v1/ebics-users/{}/initialise", i.user_a)),
        case!(POST "/v1/ebics-users/{id}/sync", TenantA, |i| format!("/v1/ebics-users/{}/sync", i.user_a)),
        case!(GET "/v1/ebics-users/{id}/letters/ini", TenantA, |i| format!("/v1/ebics-users/{}/letters/ini", i.user_a)),
        case!(GET "/v1/ebics-users/{id}/letters/hia", TenantA, |i| format!("/v1/ebics-users/{}/letters/hia", i.user_a)),
        case!(GET "/v1/ebics-users/{id}/key-pairs", TenantA, |i| format!("/v1/ebics-users/{}/key-pairs", i.user_a)),
        case!(GET "/v1/ebics-users/{id}/keys", TenantA, |i| format!("/v1/ebics-users/{}/keys", i.user_a)),
        case!(POST "/v1/ebics-users/{id}/keys", TenantA, |i| format!("/v1/ebics-users/{}/keys", i.user_a)),
        case!(PUT "/v1/ebics-users/{id}/keys/{usage}/certificate", TenantA,
            |i| format!("/v1/ebics-users/{}/keys/signature/certificate", i.user_a),
            |i| Payload::Raw("application/x-pem-file", i.spare_public_key_pem.clone().into_bytes())),
        case!(POST "/v1/ebics-users/{id}/signer-keys", TenantA, |i| format!("/v1/ebics-users/{}/signer-keys", i.user_a),
            |i| Payload::Json(json!({"version": "A006", "public_key_pem": i.spare_public_key_pem}))),
        case!(POST "/v1/ebics-users/{id}/signer-keys/{key}/revoke", TenantA,
            |i| format!("/v1/ebics-users/{}/signer-keys/{}/revoke", i.user_b, i.signer_key)),
        case!(POST "/v1/ebics-users/{id}/key-changes", TenantA, |i| format!("/v1/ebics-users/{}/key-changes", i.user_a),
            |_| Payload::Json(json!({"kind": "HCA"}))),
        case!(POST "/v1/ebics-users/{id}/key-changes/prepare", TenantA, |i| format!("/v1/ebics-users/{}/key-changes/prepare", i.user_a),
            |_| Payload::Json(json!({"kind": "HCA"}))),
        case!(POST "/v1/ebics-users/{id}/key-changes/signed", TenantA, |i| format!("/v1/ebics-users/{}/key-changes/signed", i.user_a),
            |_| Payload::Json(json!({"kind": "HCA", "document": "PEV4YW1wbGUvPg==", "signature": "AAAA", "signature_version": "A006"}))),
        case!(POST "/v1/ebics-users/{id}/key-changes/{change}/settle", TenantA,
            |i| format!("/v1/ebics-users/{}/key-changes/{}/settle", i.user_a, i.transaction),
            |_| Payload::Json(json!({"decision": "ACCEPTED", "note": "confirmed by the bank"}))),
        case!(POST "/v1/ebics-users/{id}/signer-keys/rotate", TenantA, |i| format!("/v1/ebics-users/{}/signer-keys/rotate", i.user_a),
            |_| Payload::Json(json!({"document": "PEV4YW1wbGUvPg==", "signature": "AAAA", "signature_version": "A006", "new_key_version": "A006"}))),
        case!(GET "/v1/ebics-users/{id}/permissions", TenantA, |i| format!("/v1/ebics-users/{}/permissions", i.user_a)),
        case!(POST "/v1/ebics-users/{id}/permissions", TenantA, |i| format!("/v1/ebics-users/{}/permissions", i.user_a),
            |i| Payload::Json(json!({"order_type": "CDD", "account_id": i.account, "authorisation_level": "A", "max_amount": "100.00", "currency": "EUR"}))),
        case!(GET "/v1/ebics-users/{id}/grants", TenantA, |i| format!("/v1/ebics-users/{}/grants", i.user_a)),
        case!(GET "/v1/ebics-users/{id}/capabilities", TenantA, |i| format!("/v1/ebics-users/{}/capabilities", i.user_a)),
        // orders
        case!(GET "/v1/orders", TenantWide, |_| "/v1/orders".into()),
        case!(POST "/v1/orders", TenantA, |i| format!("/v1/orders?ebics_user_id={}&order_type=CCT", i.user_a),
            |_| Payload::Raw("application/xml", pain001("MSG-ROUTES", &[("Beta AG", "5.00")]))),
        case!(GET "/v1/orders/{id}", TenantA, |i| format!("/v1/orders/{}", i.order)),
        case!(GET "/v1/orders/{id}/file", TenantA, |i| format!("/v1/orders/{}/file", i.order)),
        case!(POST "/v1/orders/{id}/signatures", TenantA, |i| format!("/v1/orders/{}/signatures", i.order), signed),
        case!(POST "/v1/orders/{id}/submit", TenantA, |i| format!("/v1/orders/{}/submit", i.order)),
        case!(POST "/v1/orders/{id}/cancel", TenantA, |i| format!("/v1/orders/{}/cancel", i.order)),
        // JSON payments
        case!(POST "/v1/payments", TenantA, |i| format!("/v1/payments?ebics_user_id={}", i.user_a),
            |_| Payload::Json(json!({"scheme": "SCT", "account": {"name": "ACME", "iban": "DE89370400440532013000"},
                "transactions": [{"end_to_end_id": "E2E-1", "amount": "5.00",
                    "counterparty": {"name": "Beta AG", "iban": "GB82WEST12345698765432"}}]}))),
        case!(GET "/v1/payments/{id}", TenantA, |i| format!("/v1/payments/{}", i.order)),
        // VEU
        case!(GET "/v1/veu-items", TenantWide, |_| "/v1/veu-items".into()),
        case!(POST "/v1/veu-items/sync", TenantA, |_| "/v1/veu-items/sync".into(),
            |i| Payload::Json(json!({"ebics_user_id": i.user_a}))),
        case!(GET "/v1/veu-items/{id}", TenantA, |i| format!("/v1/veu-items/{}", i.veu_item)),
        case!(GET "/v1/veu-items/{id}/digest", TenantA, |i| format!("/v1/veu-items/{}/digest?signer_id={}", i.veu_item, i.user_a)),
        case!(POST "/v1/veu-items/{id}/digest", TenantA, |i| format!("/v1/veu-items/{}/digest", i.veu_item),
            |i| Payload::Json(json!({"signer_id": i.user_a}))),
        case!(POST "/v1/veu-items/{id}/approve", TenantA, |i| format!("/v1/veu-items/{}/approve", i.veu_item), signed),
        case!(POST "/v1/veu-items/{id}/cancel", TenantA, |i| format!("/v1/veu-items/{}/cancel", i.veu_item), signed),
        // transactions and schedules
        case!(GET "/v1/transactions", TenantWide, |_| "/v1/transactions".into()),
        case!(GET "/v1/transactions/{id}", TenantA, |i| format!("/v1/transactions/{}", i.transaction)),
        case!(GET "/v1/transactions/{id}/segments", TenantA, |i| format!("/v1/transactions/{}/segments", i.transaction)),
        case!(GET "/v1/transactions/{id}/events", TenantA, |i| format!("/v1/transactions/{}/events", i.transaction)),
        case!(GET "/v1/schedules", TenantWide, |_| "/v1/schedules".into()),
        case!(POST "/v1/schedules", TenantA, |_| "/v1/schedules".into(),
            |i| Payload::Json(json!({"ebics_user_id": i.user_a, "account_id": i.account, "order_type": "C53", "cron": "0 6 * * 1-5", "time_zone": "Europe/Berlin"}))),
        case!(GET "/v1/schedules/{id}", TenantA, |i| format!("/v1/schedules/{}", i.schedule)),
        case!(PATCH "/v1/schedules/{id}", TenantA, |i| format!("/v1/schedules/{}", i.schedule),
            |_| Payload::Json(json!({"enabled": false}))),
        case!(DELETE "/v1/schedules/{id}", TenantA, |i| format!("/v1/schedules/{}", i.schedule)),
        case!(GET "/v1/schedules/{id}/runs", TenantA, |i| format!("/v1/schedules/{}/runs", i.schedule)),
        case!(POST "/v1/schedules/{id}/run", TenantA, |i| format!("/v1/schedules/{}/run", i.schedule)),
        case!(POST "/v1/downloads", TenantA, |_| "/v1/downloads".into(),
            |i| Payload::Json(json!({"ebics_user_id": i.user_a, "order_type": "C53"}))),
        case!(GET "/v1/audit-events", TenantWide, |_| "/v1/audit-events".into()),
        // statements and bookings
        case!(GET "/v1/statements", TenantWide, |_| "/v1/statements".into()),
        case!(GET "/v1/statements/{id}", TenantA, |i| format!("/v1/statements/{}", i.statement)),
        case!(GET "/v1/statements/{id}/file", TenantA, |i| format!("/v1/statements/{}/file", i.statement)),
        case!(GET "/v1/statements/files", TenantWide, |_| "/v1/statements/files".into()),
        case!(GET "/v1/statements/files/{id}", TenantA, |i| format!("/v1/statements/files/{}", i.statement_file)),
        case!(GET "/v1/statements/files/{id}/content", TenantA, |i| format!("/v1/statements/files/{}/content", i.statement_file)),
        case!(POST "/v1/statements/files/{id}/ingest", TenantA, |i| format!("/v1/statements/files/{}/ingest", i.statement_file)),
        case!(GET "/v1/booked-transactions", TenantWide, |_| "/v1/booked-transactions".into()),
        case!(GET "/v1/booked-transactions/csv", TenantWide, |_| "/v1/booked-transactions/csv".into()),
        // webhooks
        case!(GET "/v1/webhooks", TenantWide, |_| "/v1/webhooks".into()),
        case!(POST "/v1/webhooks", TenantWide, |_| "/v1/webhooks".into(),
            |_| Payload::Json(json!({"url": "https://hooks.example/new", "description": "ERP", "event_types": ["order.completed"]}))),
        case!(GET "/v1/webhooks/{id}", TenantA, |i| format!("/v1/webhooks/{}", i.webhook)),
        case!(PATCH "/v1/webhooks/{id}", TenantA, |i| format!("/v1/webhooks/{}", i.webhook),
            |_| Payload::Json(json!({"description": "ERP 2", "event_types": ["order.created"]}))),
        case!(DELETE "/v1/webhooks/{id}", TenantA, |i| format!("/v1/webhooks/{}", i.webhook)),
        case!(POST "/v1/webhooks/{id}/ping", TenantA, |i| format!("/v1/webhooks/{}/ping", i.webhook)),
        case!(POST "/v1/webhooks/{id}/rotate-secret", TenantA, |i| format!("/v1/webhooks/{}/rotate-secret", i.webhook)),
        case!(POST "/v1/webhooks/{id}/resume", TenantA, |i| format!("/v1/webhooks/{}/resume", i.webhook)),
        case!(GET "/v1/webhooks/{id}/deliveries", TenantA, |i| format!("/v1/webhooks/{}/deliveries", i.webhook)),
        case!(GET "/v1/webhook-deliveries/{id}/attempts", TenantA, |i| format!("/v1/webhook-deliveries/{}/attempts", i.webhook_delivery)),
        case!(POST "/v1/webhook-deliveries/{id}/redeliver", TenantA, |i| format!("/v1/webhook-deliveries/{}/redeliver", i.webhook_delivery)),
    ]
}

fn documented_routes(doc: &serde_json::Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            // Public routes declare `security: []`; the access table covers the others but
            // the platform administrator's (their own test: `api::tenancy`).
            if operation["security"] != json!([]) && operation["x-kontor-access"] != "platform" {
                out.insert((method.to_ascii_uppercase(), path.clone()));
            }
        }
    }
    out
}

#[tokio::test]
async fn the_access_table_covers_every_documented_route() {
    let w = world().await;
    let doc = openapi(&w).await;
    let table: BTreeSet<(String, String)> = cases()
        .iter()
        .map(|c| (c.method.to_string(), c.route.to_owned()))
        .collect();
    assert_eq!(table.len(), cases().len(), "a route is listed twice");
    let documented = documented_routes(&doc);
    let missing: Vec<_> = documented.difference(&table).collect();
    let stale: Vec<_> = table.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "routes without access cases: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "access cases for routes that do not exist: {stale:?}"
    );
}

#[tokio::test]
async fn every_route_refuses_missing_expired_and_revoked_tokens_without_detail() {
    let w = world().await;
    for case in cases() {
        for token in [
            None,
            Some(""),
            Some("kontor_nope"),
            Some(w.expired_a.as_str()),
            Some(w.revoked_a.as_str()),
        ] {
            let (uri, reply) = case.send(&w, token).await;
            reply.assert_status_for(
                format_args!("{} {uri}", case.method),
                StatusCode::UNAUTHORIZED,
            );
            assert_eq!(
                reply.json(),
                json!({"error": {"code": "unauthorized", "message": "authentication required"}}),
                "{} {uri}",
                case.method
            );
        }
    }
    // Public routes need no token.
    let health = call(&w.app, Method::GET, "/healthz", None, Payload::None).await;
    assert_eq!(health.status, StatusCode::OK);
}

#[tokio::test]
async fn viewers_are_refused_on_every_mutating_route_and_may_read_the_others() {
    let w = world().await;
    let doc = openapi(&w).await;
    for case in cases() {
        let (uri, reply) = case.send(&w, Some(&w.viewer_a)).await;
        // Owners alone read other operators' tokens.
        if case.method == Method::GET && declared_access(&doc, &case) != "own" {
            assert_ne!(
                reply.status,
                StatusCode::FORBIDDEN,
                "{} {uri}: {}",
                case.method,
                reply.text()
            );
            assert_ne!(
                reply.status,
                StatusCode::UNAUTHORIZED,
                "{} {uri}",
                case.method
            );
            // The case names a record tenant A has, so another tenant's 404 means something.
            if case.reach == Reach::TenantA {
                assert_ne!(reply.status, StatusCode::NOT_FOUND, "{} {uri}", case.method);
            }
        } else {
            reply.assert_status_for(format_args!("{} {uri}", case.method), StatusCode::FORBIDDEN);
            assert_eq!(reply.code(), "forbidden");
        }
    }
}

#[tokio::test]
async fn another_tenant_gets_404_for_every_id_and_sees_nothing_in_listings() {
    let w = world().await;
    let host_uri = format!("/v1/bank-hosts/{}", w.a.host);
    let host = w.get(&w.owner_a, &host_uri).await;
    for case in cases() {
        let (uri, reply) = case.send(&w, Some(&w.owner_b)).await;
        match case.reach {
            Reach::TenantA => {
                reply.assert_status_for(
                    format_args!("{} {uri}", case.method),
                    StatusCode::NOT_FOUND,
                );
                assert_eq!(reply.code(), "not_found", "{} {uri}", case.method);
            }
            Reach::TenantWide if case.method == Method::GET => {
                reply.assert_status_for(format_args!("{} {uri}", case.method), StatusCode::OK);
                let mut shown = reply.json();
                if case.route == "/v1/audit-events" {
                    // B's own calls at A's ids are B's to audit: they all failed, 404.
                    let items = shown["items"].as_array().unwrap().clone();
                    let (attempts, others): (Vec<_>, Vec<_>) = items
                        .into_iter()
                        .partition(|e| e["error_code"] == "not_found");
                    assert!(!attempts.is_empty(), "B's refused calls are audited");
                    shown = json!(others);
                }
                let text = shown.to_string();
                for id in w.a.all() {
                    assert!(
                        !text.contains(id),
                        "{} {uri} shows tenant A's {id}",
                        case.method
                    );
                }
            }
            Reach::TenantWide => {}
        }
    }
    // Tenant A's records are untouched by all of that.
    let order = w
        .get(&w.owner_a, &format!("/v1/orders/{}", w.a.order))
        .await;
    assert_eq!(order.json()["status"], "DRAFT");
    let user = w
        .get(&w.owner_a, &format!("/v1/ebics-users/{}", w.a.user_a))
        .await;
    assert_eq!(user.json()["status"], "READY");
    let hosts = w.get(&w.owner_a, "/v1/bank-hosts").await;
    assert_eq!(hosts.items().len(), 1);
    let after = w.get(&w.owner_a, &host_uri).await;
    assert_eq!(after.json(), host.json(), "the host is untouched");
}

/// The access level the OpenAPI document declares for a route.
fn declared_access(doc: &serde_json::Value, case: &Case) -> String {
    doc["paths"][case.route][case.method.as_str().to_ascii_lowercase()]["x-kontor-access"]
        .as_str()
        .unwrap_or_else(|| panic!("{} {} declares no access", case.method, case.route))
        .to_owned()
}

#[tokio::test]
async fn restricted_operators_are_refused_on_tenant_wide_configuration_only() {
    let w = world().await;
    let doc = openapi(&w).await;
    let host_before = w
        .get(&w.owner_a, &format!("/v1/bank-hosts/{}", w.a.host))
        .await
        .json();
    let mut refused = Vec::new();
    for case in cases() {
        let access = declared_access(&doc, &case);
        let (uri, reply) = case.send(&w, Some(&w.restricted_a)).await;
        match access.as_str() {
            "configure" | "own" => {
                reply.assert_error_for(
                    format_args!("{} {uri}", case.method),
                    StatusCode::FORBIDDEN,
                    "forbidden",
                );
                refused.push(case.route);
            }
            "read" | "operate" => assert_ne!(
                reply.status,
                StatusCode::FORBIDDEN,
                "{} {uri}: {}",
                case.method,
                reply.text()
            ),
            other => panic!("unexpected access {other}"),
        }
    }
    // The finding's examples: renaming the bank host, emptying the connection's order types.
    for route in [
        "/v1/bank-hosts/{id}",
        "/v1/connections/{id}/order-types",
        "/v1/bank-hosts",
        "/v1/accounts",
        "/v1/ebics-users",
        "/v1/ebics-users/{id}/permissions",
        "/v1/bank-keys/{id}/verify",
    ] {
        assert!(refused.contains(&route), "{route} is not refused");
    }
    let host_after = w
        .get(&w.owner_a, &format!("/v1/bank-hosts/{}", w.a.host))
        .await
        .json();
    assert_eq!(host_after, host_before);
    let connection = w
        .get(&w.owner_a, &format!("/v1/connections/{}", w.a.connection))
        .await
        .json();
    assert_eq!(connection["order_types"], json!(["CCT", "CDD", "C53"]));
    // The restricted Admin still acts for their granted user: suspending user A reaches the
    // bank step (SPR; this world runs no EBICS client: 503), resuming the READY user is
    // refused for its status, neither for the operator's rights.
    for (action, expected) in [
        ("suspend", StatusCode::SERVICE_UNAVAILABLE),
        ("resume", StatusCode::CONFLICT),
    ] {
        let reply = w
            .post(
                &w.restricted_a,
                &format!("/v1/ebics-users/{}/{action}", w.a.user_a),
                Payload::None,
            )
            .await;
        assert_eq!(reply.status, expected, "{action}: {}", reply.text());
    }
}

/// Everything tenant A has that a write could change, as the owner sees it.
async fn snapshot(w: &World) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for path in [
        "/v1/bank-hosts".to_owned(),
        format!("/v1/bank-hosts/{}/keys", w.a.host),
        "/v1/connections".to_owned(),
        "/v1/accounts".to_owned(),
        "/v1/ebics-users".to_owned(),
        format!("/v1/ebics-users/{}/permissions", w.a.user_a),
        format!("/v1/ebics-users/{}/key-pairs", w.a.user_a),
        "/v1/orders".to_owned(),
        "/v1/veu-items".to_owned(),
        "/v1/schedules".to_owned(),
        "/v1/memberships".to_owned(),
        format!("/v1/memberships/{}/grants", w.a.member),
    ] {
        let reply = w.get(&w.owner_a, &path).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        out.push(reply.json());
    }
    let tokens = w.get(&w.owner_a, "/v1/tokens").await;
    out.push(json!(tokens.items().len()));
    out
}

/// Values no field accepts: too long, with NUL, with another control character, blank.
fn hostile_texts() -> Vec<String> {
    vec![
        "a".repeat(100_000),
        "ok\0ok".into(),
        "line\nbreak".into(),
        "   ".into(),
    ]
}

/// Per field, values of the right length and characters that are still not valid.
fn malformed(field: &str) -> &'static [&'static str] {
    match field {
        "email" => &["@", "a@", "a@b", "a b@c.example", "Eve <eve@x.example>"],
        "url" => &["ftp://x.example", "not a url", "https://u:p@h.example/"],
        "host_id" => &["HOST A!"],
        "partner_id" | "user_id" | "system_id" => &["A B", "x/y"],
        "currency" => &["EURO", "XYZ"],
        "iban" => &["GB82WEST12345698765433"],
        "bic" => &["NOTABIC"],
        "max_amount" => &["1.001", "0", "-5", "abc", "1e3"],
        "role" => &["KING"],
        "signature_class" | "authorisation_level" => &["Z"],
        "order_type" | "order_types" => &["C#T", "CCTX"],
        "cron" => &["61 6 * * *", "0 6 * *"],
        "time_zone" => &["Mars/Olympus"],
        "key_hash" | "expected_hash" => &["XYZ", "AB"],
        "signature" => &["***"],
        "signature_version" | "version" | "new_key_version" => &["A004"],
        "kind" => &["HCX", "INI"],
        "document" => &["***"],
        "protocol_version" => &["H009"],
        "ebics_user_id" | "signer_id" | "connection_id" | "bank_host_id" | "account_id" => {
            &["not-a-uuid", "00000000-0000-0000-0000-00000000000G"]
        }
        _ => &[],
    }
}

#[tokio::test]
async fn every_write_route_refuses_overlong_nul_and_malformed_input_with_422_and_changes_nothing() {
    let w = world().await;
    let before = snapshot(&w).await;
    let mut tried = 0;
    for case in cases() {
        if ![Method::POST, Method::PATCH, Method::PUT].contains(&case.method) {
            continue;
        }
        let uri = (case.uri)(&w.a);
        let Payload::Json(body) = (case.body)(&w.a) else {
            continue;
        };
        for (field, value) in body.as_object().unwrap() {
            let is_list = value.is_array();
            if !(value.is_string() || is_list) {
                continue;
            }
            let mut bad: Vec<String> = hostile_texts();
            bad.extend(malformed(field).iter().map(|s| s.to_string()));
            for text in bad {
                let mut mutated = body.clone();
                mutated[field] = if is_list { json!([text]) } else { json!(text) };
                let reply = call(
                    &w.app,
                    case.method.clone(),
                    &uri,
                    Some(&w.owner_a),
                    Payload::Json(mutated),
                )
                .await;
                let shown: String = text.chars().take(20).collect();
                assert_eq!(
                    reply.status,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "{} {uri} {field}={shown:?}: {}",
                    case.method,
                    reply.text()
                );
                let error = &reply.json()["error"];
                assert!(
                    error["code"].as_str().unwrap().starts_with("invalid_"),
                    "{} {uri} {field}: {error}",
                    case.method
                );
                // PEM documents span lines; the key parser checks them and names the key.
                if !field.ends_with("_pem") {
                    assert!(
                        error["message"].as_str().unwrap().contains(field.as_str()),
                        "{} {uri} the message names {field}: {error}",
                        case.method
                    );
                }
                tried += 1;
            }
        }
    }
    // The upload route takes its parameters in the query and a header.
    let upload = |query: String, key: Option<String>| {
        let app = w.app.clone();
        let token = w.owner_a.clone();
        async move {
            let headers: Vec<(&str, String)> =
                key.into_iter().map(|k| ("idempotency-key", k)).collect();
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            call_with(
                &app,
                Method::POST,
                &format!("/v1/orders?{query}"),
                Some(&token),
                Payload::Raw(
                    "application/xml",
                    pain001("MSG-HOSTILE", &[("Eve", "1.00")]),
                ),
                &headers,
            )
            .await
        }
    };
    let user = &w.a.user_a;
    for (query, key) in [
        (
            format!("ebics_user_id={}&order_type=CCT", "a".repeat(5000)),
            None,
        ),
        (format!("ebics_user_id={user}&order_type=C%00T"), None),
        (format!("ebics_user_id={user}&order_type=CCT%0A"), None),
        (
            format!("ebics_user_id={user}&order_type={}", "C".repeat(5000)),
            None,
        ),
        (
            format!("ebics_user_id={user}&order_type=CCT&signature_rule=ALL"),
            None,
        ),
        ("ebics_user_id=x%00&order_type=CCT".to_owned(), None),
        (
            format!("ebics_user_id={user}&order_type=CCT"),
            Some("k".repeat(256)),
        ),
        (
            format!("ebics_user_id={user}&order_type=CCT"),
            Some("a key".into()),
        ),
    ] {
        let reply = upload(query.clone(), key).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "POST /v1/orders?{}: {}",
            query.chars().take(80).collect::<String>(),
            reply.text()
        );
        tried += 1;
    }
    assert!(tried > 200, "only {tried} hostile requests");
    assert_eq!(
        snapshot(&w).await,
        before,
        "a refused request changed something"
    );
}

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_routes_the_router_serves() {
    let w = world().await;
    let doc = openapi(&w).await;
    let served: BTreeSet<(String, String)> = kontor_daemon::api::route_table()
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_owned()))
        .collect();
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert((method.to_ascii_uppercase(), path.clone()));
        }
    }
    assert_eq!(documented, served);

    // And the router really answers each of them, and only with the documented methods.
    let nil = "00000000-0000-0000-0000-000000000000";
    let all_methods = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    ];
    for (path, item) in doc["paths"].as_object().unwrap() {
        let uri = path
            .replace("{id}", nil)
            .replace("{operator_id}", nil)
            .replace("{ebics_user_id}", nil)
            .replace("{token_id}", nil);
        for method in &all_methods {
            let reply = call(
                &w.app,
                method.clone(),
                &uri,
                Some(&w.owner_a),
                Payload::None,
            )
            .await;
            let documented = item.get(method.as_str().to_ascii_lowercase()).is_some();
            if documented {
                assert_ne!(
                    reply.status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path}"
                );
                assert_ne!(reply.code(), "no_route", "{method} {path}");
            } else {
                assert_eq!(
                    reply.status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path}: {}",
                    reply.text()
                );
                assert_eq!(reply.code(), "method_not_allowed");
            }
        }
    }
    let reply = w.get(&w.owner_a, "/v1/nothing-here").await;
    reply.assert_error(StatusCode::NOT_FOUND, "no_route");
}
