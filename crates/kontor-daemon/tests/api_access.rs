//! Every admin API route: a Viewer cannot mutate, another tenant's ids answer 404, and a
//! missing or bad token answers 401 without detail.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use kontor_daemon::api::{router, AppState};
use kontor_daemon::services::Services;
use kontor_storage::{MasterKey, Role, Store};
use secrecy::ExposeSecret;
use tower::ServiceExt;

struct Fixture {
    app: axum::Router,
    owner_a: String,
    viewer_a: String,
    owner_b: String,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("k.db").display());
    let store = Store::connect(&url, Arc::new(MasterKey::generate()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let admin = store.admin();
    let a = admin.create_tenant("A").await.unwrap();
    let b = admin.create_tenant("B").await.unwrap();
    let token = |email: &'static str, tenant, role| {
        let admin = store.admin();
        async move {
            let op = admin
                .create_operator(email, email, tenant, role)
                .await
                .unwrap();
            admin
                .issue_token(op.id, "t", None)
                .await
                .unwrap()
                .secret
                .expose_secret()
                .to_owned()
        }
    };
    let owner_a = token("oa@x", a.id, Role::Owner).await;
    let viewer_a = token("va@x", a.id, Role::Viewer).await;
    let owner_b = token("ob@x", b.id, Role::Owner).await;
    Fixture {
        app: router(AppState::new(Services::new(store))),
        owner_a,
        viewer_a,
        owner_b,
        _dir: dir,
    }
}

async fn call(
    app: &axum::Router,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<serde_json::Value>,
) -> (StatusCode, serde_json::Value) {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let req = match body {
        Some(b) => req
            .header("content-type", "application/json")
            .body(Body::from(b.to_string()))
            .unwrap(),
        None => req.body(Body::empty()).unwrap(),
    };
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

fn host_body(host_id: &str) -> serde_json::Value {
    serde_json::json!({"host_id": host_id, "name": "Bank", "url": "https://bank.example/ebicsweb", "protocol_version": "H004"})
}

#[tokio::test]
async fn missing_or_bad_tokens_answer_401_without_detail() {
    let f = fixture().await;
    for token in [None, Some("kontor_nope"), Some("")] {
        let (status, body) = call(&f.app, Method::GET, "/v1/bank-hosts", token, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["error"]["code"], "unauthorized");
    }
    let (status, _) = call(&f.app, Method::GET, "/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn viewers_cannot_mutate_and_other_tenants_get_404() {
    let f = fixture().await;
    let (status, host) = call(
        &f.app,
        Method::POST,
        "/v1/bank-hosts",
        Some(&f.owner_a),
        Some(host_body("HOSTA")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{host}");
    let id = host["id"].as_str().unwrap().to_owned();

    // Mutating routes refused for a Viewer of the same tenant.
    let mutations = [
        (
            Method::POST,
            "/v1/bank-hosts".to_string(),
            Some(host_body("HOSTV")),
        ),
        (
            Method::PATCH,
            format!("/v1/bank-hosts/{id}"),
            Some(serde_json::json!({"name": "x"})),
        ),
        (Method::DELETE, format!("/v1/bank-hosts/{id}"), None),
        (
            Method::POST,
            format!("/v1/bank-keys/{id}/verify"),
            Some(serde_json::json!({"expected_hash": "00"})),
        ),
    ];
    for (method, path, body) in mutations.iter().cloned() {
        let (status, resp) = call(&f.app, method.clone(), &path, Some(&f.viewer_a), body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {resp}");
    }
    // The Viewer may read.
    let (status, list) = call(
        &f.app,
        Method::GET,
        "/v1/bank-hosts",
        Some(&f.viewer_a),
        None,
    )
    .await;
    assert_eq!(
        (status, list.as_array().unwrap().len()),
        (StatusCode::OK, 1)
    );

    // Another tenant's owner sees nothing and reaches nothing.
    let (_, list) = call(
        &f.app,
        Method::GET,
        "/v1/bank-hosts",
        Some(&f.owner_b),
        None,
    )
    .await;
    assert!(list.as_array().unwrap().is_empty());
    for (method, path, body) in [
        (Method::GET, format!("/v1/bank-hosts/{id}"), None),
        (Method::GET, format!("/v1/bank-hosts/{id}/keys"), None),
        (
            Method::PATCH,
            format!("/v1/bank-hosts/{id}"),
            Some(serde_json::json!({"name": "x"})),
        ),
        (Method::DELETE, format!("/v1/bank-hosts/{id}"), None),
    ] {
        let (status, resp) = call(&f.app, method.clone(), &path, Some(&f.owner_b), body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {resp}");
        assert_eq!(resp["error"]["code"], "not_found");
    }
    // ... and the host is untouched.
    let (_, host_after) = call(
        &f.app,
        Method::GET,
        &format!("/v1/bank-hosts/{id}"),
        Some(&f.owner_a),
        None,
    )
    .await;
    assert_eq!(host_after, host);
}

#[tokio::test]
async fn bad_input_gets_a_clear_error_and_stores_nothing() {
    let f = fixture().await;
    let mut bad = host_body("HOST A!");
    let (status, resp) = call(
        &f.app,
        Method::POST,
        "/v1/bank-hosts",
        Some(&f.owner_a),
        Some(bad.clone()),
    )
    .await;
    assert_eq!(
        (status, resp["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_host_id"))
    );
    bad["host_id"] = "HOSTA".into();
    bad["protocol_version"] = "H009".into();
    let (status, resp) = call(
        &f.app,
        Method::POST,
        "/v1/bank-hosts",
        Some(&f.owner_a),
        Some(bad),
    )
    .await;
    assert_eq!(
        (status, resp["error"]["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("invalid_protocol_version")
        )
    );
    let (status, _) = call(
        &f.app,
        Method::POST,
        "/v1/bank-hosts",
        Some(&f.owner_a),
        Some(host_body("HOSTA")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, resp) = call(
        &f.app,
        Method::POST,
        "/v1/bank-hosts",
        Some(&f.owner_a),
        Some(host_body("HOSTA")),
    )
    .await;
    assert_eq!(
        (status, resp["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("host_id_taken"))
    );
    let (_, list) = call(
        &f.app,
        Method::GET,
        "/v1/bank-hosts",
        Some(&f.owner_a),
        None,
    )
    .await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (status, _) = call(
        &f.app,
        Method::GET,
        "/v1/bank-hosts/not-a-uuid",
        Some(&f.owner_a),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
