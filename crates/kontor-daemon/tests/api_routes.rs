//! One table of every authenticated route drives the access rules: no, expired or revoked
//! tokens answer 401 without detail, Viewers are refused on every mutating route, and another
//! tenant's ids answer 404. The table must cover exactly the routes in the OpenAPI document,
//! so a new route cannot be forgotten.

mod api_support;

use std::collections::BTreeSet;

use api_support::{call, pain001, world, Ids, Payload};
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
        json!({"signer_id": ids.user_a, "signature_version": "A006", "key_hash": "00", "signature": "AAAA"}),
    )
}

fn cases() -> Vec<Case> {
    vec![
        // tenancy
        case!(GET "/v1/tenant", TenantWide, |_| "/v1/tenant".into()),
        case!(GET "/v1/memberships", TenantWide, |_| "/v1/memberships".into()),
        case!(POST "/v1/operators", TenantWide, |_| "/v1/operators".into(),
            |_| Payload::Json(json!({"email": "new@x", "role": "VIEWER"}))),
        case!(PATCH "/v1/memberships/{operator_id}", TenantA, |i| format!("/v1/memberships/{}", i.member),
            |_| Payload::Json(json!({"role": "ADMIN"}))),
        case!(DELETE "/v1/memberships/{operator_id}", TenantA, |i| format!("/v1/memberships/{}", i.member)),
        case!(GET "/v1/memberships/{operator_id}/grants", TenantA, |i| format!("/v1/memberships/{}/grants", i.member)),
        case!(POST "/v1/memberships/{operator_id}/grants", TenantA, |i| format!("/v1/memberships/{}/grants", i.member),
            |i| Payload::Json(json!({"ebics_user_id": i.user_a}))),
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
            |_| Payload::Json(json!({"name": "x"}))),
        case!(DELETE "/v1/bank-hosts/{id}", TenantA, |i| format!("/v1/bank-hosts/{}", i.host)),
        case!(GET "/v1/bank-hosts/{id}/keys", TenantA, |i| format!("/v1/bank-hosts/{}/keys", i.host)),
        case!(POST "/v1/bank-keys/{id}/verify", TenantA, |i| format!("/v1/bank-keys/{}/verify", i.bank_key),
            |_| Payload::Json(json!({"expected_hash": "AB"}))),
        // connections and accounts
        case!(GET "/v1/connections", TenantWide, |_| "/v1/connections".into()),
        case!(POST "/v1/connections", TenantA, |_| "/v1/connections".into(),
            |i| Payload::Json(json!({"bank_host_id": i.host, "partner_id": "P2", "display_name": "x"}))),
        case!(GET "/v1/connections/{id}", TenantA, |i| format!("/v1/connections/{}", i.connection)),
        case!(PUT "/v1/connections/{id}/order-types", TenantA, |i| format!("/v1/connections/{}/order-types", i.connection),
            |_| Payload::Json(json!({"order_types": ["CCT"]}))),
        case!(GET "/v1/accounts", TenantWide, |_| "/v1/accounts".into()),
        case!(POST "/v1/accounts", TenantA, |_| "/v1/accounts".into(),
            |i| Payload::Json(json!({"connection_id": i.connection, "holder_name": "x", "currency": "EUR", "iban": "GB82WEST12345698765432"}))),
        case!(GET "/v1/accounts/{id}", TenantA, |i| format!("/v1/accounts/{}", i.account)),
        case!(GET "/v1/accounts/{id}/balances", TenantA, |i| format!("/v1/accounts/{}/balances", i.account)),
        // EBICS users
        case!(GET "/v1/ebics-users", TenantWide, |_| "/v1/ebics-users".into()),
        case!(POST "/v1/ebics-users", TenantA, |_| "/v1/ebics-users".into(),
            |i| Payload::Json(json!({"connection_id": i.connection, "user_id": "U9", "name": "x", "signature_class": "E"}))),
        case!(GET "/v1/ebics-users/{id}", TenantA, |i| format!("/v1/ebics-users/{}", i.user_a)),
        case!(POST "/v1/ebics-users/{id}/suspend", TenantA, |i| format!("/v1/ebics-users/{}/suspend", i.user_a)),
        case!(POST "/v1/ebics-users/{id}/resume", TenantA, |i| format!("/v1/ebics-users/{}/resume", i.user_a)),
        case!(POST "/v1/ebics-users/{id}/initialise", TenantA, |i| format!("/v1/ebics-users/{}/initialise", i.user_a)),
        case!(GET "/v1/ebics-users/{id}/letters/ini", TenantA, |i| format!("/v1/ebics-users/{}/letters/ini", i.user_a)),
        case!(GET "/v1/ebics-users/{id}/letters/hia", TenantA, |i| format!("/v1/ebics-users/{}/letters/hia", i.user_a)),
        case!(GET "/v1/ebics-users/{id}/key-pairs", TenantA, |i| format!("/v1/ebics-users/{}/key-pairs", i.user_a)),
        case!(POST "/v1/ebics-users/{id}/signer-keys", TenantA, |i| format!("/v1/ebics-users/{}/signer-keys", i.user_a),
            |i| Payload::Json(json!({"version": "A006", "public_key_pem": i.spare_public_key_pem}))),
        case!(POST "/v1/ebics-users/{id}/signer-keys/{key}/revoke", TenantA,
            |i| format!("/v1/ebics-users/{}/signer-keys/{}/revoke", i.user_b, i.signer_key)),
        case!(GET "/v1/ebics-users/{id}/permissions", TenantA, |i| format!("/v1/ebics-users/{}/permissions", i.user_a)),
        case!(POST "/v1/ebics-users/{id}/permissions", TenantA, |i| format!("/v1/ebics-users/{}/permissions", i.user_a),
            |_| Payload::Json(json!({"order_type": "CDD", "authorisation_level": "A"}))),
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
        // VEU
        case!(GET "/v1/veu-items", TenantWide, |_| "/v1/veu-items".into()),
        case!(POST "/v1/veu-items/sync", TenantA, |_| "/v1/veu-items/sync".into(),
            |i| Payload::Json(json!({"ebics_user_id": i.user_a}))),
        case!(GET "/v1/veu-items/{id}", TenantA, |i| format!("/v1/veu-items/{}", i.veu_item)),
        case!(GET "/v1/veu-items/{id}/digest", TenantA, |i| format!("/v1/veu-items/{}/digest?signer_id={}", i.veu_item, i.user_a)),
        case!(POST "/v1/veu-items/{id}/approve", TenantA, |i| format!("/v1/veu-items/{}/approve", i.veu_item), signed),
        case!(POST "/v1/veu-items/{id}/cancel", TenantA, |i| format!("/v1/veu-items/{}/cancel", i.veu_item), signed),
        // transactions and schedules
        case!(GET "/v1/transactions", TenantWide, |_| "/v1/transactions".into()),
        case!(GET "/v1/transactions/{id}", TenantA, |i| format!("/v1/transactions/{}", i.transaction)),
        case!(GET "/v1/transactions/{id}/segments", TenantA, |i| format!("/v1/transactions/{}/segments", i.transaction)),
        case!(GET "/v1/transactions/{id}/events", TenantA, |i| format!("/v1/transactions/{}/events", i.transaction)),
        case!(GET "/v1/schedules", TenantWide, |_| "/v1/schedules".into()),
        case!(POST "/v1/schedules", TenantA, |_| "/v1/schedules".into(),
            |i| Payload::Json(json!({"ebics_user_id": i.user_a, "order_type": "C53", "cron": "0 6 * * 1-5"}))),
        case!(GET "/v1/schedules/{id}", TenantA, |i| format!("/v1/schedules/{}", i.schedule)),
        case!(PATCH "/v1/schedules/{id}", TenantA, |i| format!("/v1/schedules/{}", i.schedule),
            |_| Payload::Json(json!({"enabled": false}))),
        case!(DELETE "/v1/schedules/{id}", TenantA, |i| format!("/v1/schedules/{}", i.schedule)),
        case!(GET "/v1/schedules/{id}/runs", TenantA, |i| format!("/v1/schedules/{}/runs", i.schedule)),
        case!(POST "/v1/schedules/{id}/run", TenantA, |i| format!("/v1/schedules/{}/run", i.schedule)),
        case!(GET "/v1/audit-events", TenantWide, |_| "/v1/audit-events".into()),
        // statements and bookings
        case!(GET "/v1/statements", TenantWide, |_| "/v1/statements".into()),
        case!(GET "/v1/statements/{id}", TenantA, |i| format!("/v1/statements/{}", i.statement)),
        case!(GET "/v1/statements/{id}/file", TenantA, |i| format!("/v1/statements/{}/file", i.statement)),
        case!(GET "/v1/booked-transactions", TenantWide, |_| "/v1/booked-transactions".into()),
        case!(GET "/v1/booked-transactions/csv", TenantWide, |_| "/v1/booked-transactions/csv".into()),
    ]
}

fn documented_routes(doc: &serde_json::Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            // Public routes declare `security: []`; the access table covers the others.
            if operation["security"] != json!([]) {
                out.insert((method.to_ascii_uppercase(), path.clone()));
            }
        }
    }
    out
}

#[tokio::test]
async fn the_access_table_covers_every_documented_route() {
    let w = world().await;
    let doc = call(&w.app, Method::GET, "/openapi.json", None, Payload::None)
        .await
        .json();
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
        let uri = (case.uri)(&w.a);
        for token in [
            None,
            Some(""),
            Some("kontor_nope"),
            Some(w.expired_a.as_str()),
            Some(w.revoked_a.as_str()),
        ] {
            let reply = call(&w.app, case.method.clone(), &uri, token, (case.body)(&w.a)).await;
            assert_eq!(
                reply.status,
                StatusCode::UNAUTHORIZED,
                "{} {uri}: {}",
                case.method,
                reply.text()
            );
            assert_eq!(
                reply.json(),
                json!({"error": {"code": "unauthorized", "message": "authentication required"}}),
                "{} {uri}",
                case.method
            );
        }
    }
}

#[tokio::test]
async fn viewers_are_refused_on_every_mutating_route_and_may_read_the_others() {
    let w = world().await;
    for case in cases() {
        let uri = (case.uri)(&w.a);
        let reply = call(
            &w.app,
            case.method.clone(),
            &uri,
            Some(&w.viewer_a),
            (case.body)(&w.a),
        )
        .await;
        if case.method == Method::GET {
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
        } else {
            assert_eq!(
                reply.status,
                StatusCode::FORBIDDEN,
                "{} {uri}: {}",
                case.method,
                reply.text()
            );
            assert_eq!(reply.code(), "forbidden");
        }
    }
}

#[tokio::test]
async fn another_tenant_gets_404_for_every_id_and_sees_nothing_in_listings() {
    let w = world().await;
    for case in cases() {
        let uri = (case.uri)(&w.a);
        let reply = call(
            &w.app,
            case.method.clone(),
            &uri,
            Some(&w.owner_b),
            (case.body)(&w.a),
        )
        .await;
        match case.reach {
            Reach::TenantA => {
                assert_eq!(
                    reply.status,
                    StatusCode::NOT_FOUND,
                    "{} {uri}: {}",
                    case.method,
                    reply.text()
                );
                assert_eq!(reply.code(), "not_found", "{} {uri}", case.method);
            }
            Reach::TenantWide if case.method == Method::GET => {
                assert_eq!(
                    reply.status,
                    StatusCode::OK,
                    "{} {uri}: {}",
                    case.method,
                    reply.text()
                );
                let text = reply.text();
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
    let order = call(
        &w.app,
        Method::GET,
        &format!("/v1/orders/{}", w.a.order),
        Some(&w.owner_a),
        Payload::None,
    )
    .await;
    assert_eq!(order.json()["status"], "DRAFT");
    let user = call(
        &w.app,
        Method::GET,
        &format!("/v1/ebics-users/{}", w.a.user_a),
        Some(&w.owner_a),
        Payload::None,
    )
    .await;
    assert_eq!(user.json()["status"], "READY");
    let hosts = call(
        &w.app,
        Method::GET,
        "/v1/bank-hosts",
        Some(&w.owner_a),
        Payload::None,
    )
    .await;
    assert_eq!(hosts.json().as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_routes_the_router_serves() {
    let w = world().await;
    let doc = call(&w.app, Method::GET, "/openapi.json", None, Payload::None)
        .await
        .json();
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
        let uri = path.replace("{id}", nil).replace("{operator_id}", nil);
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
    let reply = call(
        &w.app,
        Method::GET,
        "/v1/nothing-here",
        Some(&w.owner_a),
        Payload::None,
    )
    .await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (StatusCode::NOT_FOUND, "no_route")
    );
}
