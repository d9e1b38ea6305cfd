//! What the API does with good and bad input: validation with stable codes that stores
//! nothing, Idempotency-Key on order creation, engine routes with and without an engine,
//! keyset pagination and CSV export, and request logs without secrets.

mod api_support;

use std::sync::{Arc, Mutex};

use api_support::{call, call_with, pain001, world, world_with, Payload};
use axum::http::{Method, StatusCode};
use chrono::NaiveDate;
use kontor_daemon::api::{
    DetachedSignature, EngineCommandError, EngineCommands, EngineResult, VeuDigest,
};
use kontor_storage::{
    EbicsUserId, NewBookedTransaction, Order, OrderId, ScheduleId, TenantId, TenantScope, VeuItemId,
};
use serde_json::json;

#[tokio::test]
async fn accounts_with_bad_iban_bic_or_currency_are_refused_and_nothing_is_stored() {
    let w = world().await;
    let base = json!({"connection_id": w.a.connection, "holder_name": "x", "currency": "EUR", "iban": "GB82WEST12345698765432"});
    for (field, value, code) in [
        ("iban", "GB82WEST12345698765433", "invalid_iban"),
        ("bic", "NOTABIC", "invalid_bic"),
        ("currency", "EURO", "invalid_currency"),
        ("currency", "XYZ", "invalid_currency"),
    ] {
        let mut body = base.clone();
        body[field] = value.into();
        let reply = call(
            &w.app,
            Method::POST,
            "/v1/accounts",
            Some(&w.admin_a),
            Payload::Json(body),
        )
        .await;
        assert_eq!(
            (reply.status, reply.code().as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, code),
            "{field}={value}"
        );
    }
    let reply = call(
        &w.app,
        Method::POST,
        "/v1/accounts",
        Some(&w.admin_a),
        Payload::Raw("application/json", b"{not json".to_vec()),
    )
    .await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (StatusCode::BAD_REQUEST, "malformed_body")
    );
    let accounts = call(
        &w.app,
        Method::GET,
        "/v1/accounts",
        Some(&w.admin_a),
        Payload::None,
    )
    .await;
    assert_eq!(accounts.json().as_array().unwrap().len(), 1);
    let reply = call(
        &w.app,
        Method::POST,
        "/v1/accounts",
        Some(&w.admin_a),
        Payload::Json(base),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
}

#[tokio::test]
async fn the_same_idempotency_key_and_body_return_the_same_order_and_another_body_conflicts() {
    let w = world().await;
    let uri = format!("/v1/orders?ebics_user_id={}&order_type=CCT", w.a.user_a);
    let file = pain001("MSG-IDEM", &[("Gamma SA", "42.00")]);
    let post = |file: Vec<u8>| {
        let (app, uri, token) = (w.app.clone(), uri.clone(), w.admin_a.clone());
        async move {
            call_with(
                &app,
                Method::POST,
                &uri,
                Some(&token),
                Payload::Raw("application/xml", file),
                &[("idempotency-key", "pay-run-7")],
            )
            .await
        }
    };
    let first = post(file.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text());
    let again = post(file.clone()).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.json()["id"], first.json()["id"]);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    let other = post(pain001("MSG-OTHER", &[("Gamma SA", "43.00")])).await;
    assert_eq!(
        (other.status, other.code().as_str()),
        (StatusCode::CONFLICT, "idempotency_key_reused")
    );
    // Without a key, the same file again is a duplicate payment, not a new order.
    let dup = call(
        &w.app,
        Method::POST,
        &uri,
        Some(&w.admin_a),
        Payload::Raw("application/xml", file),
    )
    .await;
    assert_eq!(
        (dup.status, dup.code().as_str()),
        (StatusCode::CONFLICT, "duplicate_order")
    );
    let orders = call(
        &w.app,
        Method::GET,
        "/v1/orders",
        Some(&w.admin_a),
        Payload::None,
    )
    .await;
    assert_eq!(
        orders.json().as_array().unwrap().len(),
        2,
        "fixture order + one"
    );
}

#[tokio::test]
async fn bad_payment_files_and_order_types_are_refused_with_stable_codes() {
    let w = world().await;
    let post = |order_type: &str, body: Vec<u8>| {
        let uri = format!(
            "/v1/orders?ebics_user_id={}&order_type={order_type}",
            w.a.user_a
        );
        let (app, token) = (w.app.clone(), w.admin_a.clone());
        async move {
            call(
                &app,
                Method::POST,
                &uri,
                Some(&token),
                Payload::Raw("application/xml", body),
            )
            .await
        }
    };
    let good = pain001("MSG-V", &[("Delta", "1.00")]);
    for (order_type, body, status, code) in [
        (
            "CCT",
            b"<not-pain/>".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_payment_file",
        ),
        (
            "CCT",
            Vec::new(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "empty_file",
        ),
        (
            "CIP",
            good.clone(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "order_type_not_offered",
        ),
        (
            "CDD",
            good.clone(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "order_type_mismatch",
        ),
        (
            "STA",
            good.clone(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unsupported_order_type",
        ),
        (
            "C#T",
            good.clone(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_order_type",
        ),
    ] {
        let reply = post(order_type, body).await;
        assert_eq!(
            (reply.status, reply.code().as_str()),
            (status, code),
            "{order_type}: {}",
            reply.text()
        );
    }
    let reply = call(
        &w.app,
        Method::POST,
        "/v1/orders?order_type=CCT",
        Some(&w.admin_a),
        Payload::Raw("application/xml", good),
    )
    .await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (StatusCode::BAD_REQUEST, "malformed_query")
    );
    let orders = call(
        &w.app,
        Method::GET,
        "/v1/orders",
        Some(&w.admin_a),
        Payload::None,
    )
    .await;
    assert_eq!(
        orders.json().as_array().unwrap().len(),
        1,
        "only the fixture order"
    );
}

/// Issue #10: a pain.001 nested 3 000 levels deep overflowed the stack and aborted the whole
/// multi-tenant daemon, and any Admin of any tenant could send one.
#[tokio::test]
async fn a_deeply_nested_payment_file_is_refused_with_422_and_the_api_keeps_serving() {
    let w = world().await;
    let uri = format!("/v1/orders?ebics_user_id={}&order_type=CCT", w.a.user_a);
    let depth = 100_000;
    let nested = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"><CstmrCdtTrfInitn>{}{}</CstmrCdtTrfInitn></Document>"#,
        "<PmtInf>".repeat(depth),
        "</PmtInf>".repeat(depth)
    );
    let post = |body: Vec<u8>| {
        call(
            &w.app,
            Method::POST,
            &uri,
            Some(&w.admin_a),
            Payload::Raw("application/xml", body),
        )
    };
    let refused = post(nested.into_bytes()).await;
    assert_eq!(
        (refused.status, refused.code().as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_payment_file"),
        "{}",
        refused.text()
    );
    let message = refused.json()["error"]["message"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    assert!(
        message.contains("nesting depth exceeds the limit of 256"),
        "{message}"
    );
    // The same process goes on serving: the next, valid file becomes an order.
    let accepted = post(pain001("MSG-AFTER-NESTING", &[("Delta", "5.00")])).await;
    assert_eq!(accepted.status, StatusCode::CREATED, "{}", accepted.text());
    let orders = call(
        &w.app,
        Method::GET,
        "/v1/orders",
        Some(&w.admin_a),
        Payload::None,
    )
    .await;
    assert_eq!(
        orders.json().as_array().unwrap().len(),
        2,
        "the fixture order and the valid one, nothing of the refused file"
    );
}

#[tokio::test]
async fn orders_show_their_content_summary_and_serve_their_file() {
    let w = world().await;
    let order = call(
        &w.app,
        Method::GET,
        &format!("/v1/orders/{}", w.a.order),
        Some(&w.viewer_a),
        Payload::None,
    )
    .await
    .json();
    assert_eq!(order["summary"]["number_of_transactions"], 1);
    assert_eq!(order["summary"]["totals"]["EUR"], "10.00");
    assert_eq!(order["summary"]["creditor_names"], json!(["Alpha AG"]));
    let file = call(
        &w.app,
        Method::GET,
        &format!("/v1/orders/{}/file", w.a.order),
        Some(&w.viewer_a),
        Payload::None,
    )
    .await;
    assert_eq!(
        file.headers["x-content-sha256"],
        order["content_hash"].as_str().unwrap()
    );
    let cancelled = call(
        &w.app,
        Method::POST,
        &format!("/v1/orders/{}/cancel", w.a.order),
        Some(&w.admin_a),
        Payload::None,
    )
    .await;
    assert_eq!(cancelled.json()["status"], "CANCELLED");
    let again = call(
        &w.app,
        Method::POST,
        &format!("/v1/orders/{}/cancel", w.a.order),
        Some(&w.admin_a),
        Payload::None,
    )
    .await;
    assert_eq!(
        (again.status, again.code().as_str()),
        (StatusCode::CONFLICT, "not_cancellable")
    );
}

/// Records the commands it gets, with the tenant they were scoped to.
#[derive(Default)]
struct RecordingEngine {
    calls: Mutex<Vec<(TenantId, String)>>,
}

impl RecordingEngine {
    fn record(&self, scope: &TenantScope, what: String) {
        self.calls.lock().unwrap().push((scope.tenant(), what));
    }
}

impl EngineCommands for RecordingEngine {
    fn initialise_user(&self, scope: TenantScope, user: EbicsUserId) -> EngineResult<()> {
        self.record(&scope, format!("initialise {user}"));
        Box::pin(async { Ok(()) })
    }
    fn submit_order(&self, scope: TenantScope, order: OrderId) -> EngineResult<Order> {
        self.record(&scope, format!("submit {order}"));
        Box::pin(async { Err(EngineCommandError::Unreachable("recording only".into())) })
    }
    fn sync_veu(&self, scope: TenantScope, user: EbicsUserId) -> EngineResult<()> {
        self.record(&scope, format!("sync {user}"));
        Box::pin(async { Ok(()) })
    }
    fn veu_digest(
        &self,
        scope: TenantScope,
        item: VeuItemId,
        _: EbicsUserId,
    ) -> EngineResult<VeuDigest> {
        self.record(&scope, format!("digest {item}"));
        Box::pin(async {
            Ok(VeuDigest {
                data_digest: "00".repeat(32),
                signature_version: "A006".into(),
            })
        })
    }
    fn approve_veu(
        &self,
        scope: TenantScope,
        item: VeuItemId,
        _: DetachedSignature,
    ) -> EngineResult<()> {
        self.record(&scope, format!("approve {item}"));
        Box::pin(async { Ok(()) })
    }
    fn cancel_veu(
        &self,
        scope: TenantScope,
        item: VeuItemId,
        _: DetachedSignature,
    ) -> EngineResult<()> {
        self.record(&scope, format!("cancel {item}"));
        Box::pin(async { Ok(()) })
    }
    fn run_schedule(&self, scope: TenantScope, schedule: ScheduleId) -> EngineResult<()> {
        self.record(&scope, format!("run {schedule}"));
        Box::pin(async { Ok(()) })
    }
}

#[tokio::test]
async fn engine_routes_answer_503_without_an_engine_and_hand_the_callers_scope_to_one() {
    let w = world().await;
    let routes = |w: &api_support::World| {
        vec![
            (
                Method::POST,
                format!("/v1/ebics-users/{}/initialise", w.a.user_a),
                Payload::None,
            ),
            (
                Method::POST,
                "/v1/veu-items/sync".to_string(),
                Payload::Json(json!({"ebics_user_id": w.a.user_a})),
            ),
            (
                Method::GET,
                format!(
                    "/v1/veu-items/{}/digest?signer_id={}",
                    w.a.veu_item, w.a.user_a
                ),
                Payload::None,
            ),
            (
                Method::POST,
                format!("/v1/schedules/{}/run", w.a.schedule),
                Payload::None,
            ),
        ]
    };
    for (method, uri, body) in routes(&w) {
        let reply = call(&w.app, method.clone(), &uri, Some(&w.admin_a), body).await;
        assert_eq!(
            (reply.status, reply.code().as_str()),
            (StatusCode::SERVICE_UNAVAILABLE, "engine_unavailable"),
            "{method} {uri}"
        );
    }
    let engine = Arc::new(RecordingEngine::default());
    let with = world_with({
        let engine = engine.clone();
        move |state| state.with_engine(engine)
    })
    .await;
    for (method, uri, body) in routes(&with) {
        let reply = call(&with.app, method.clone(), &uri, Some(&with.admin_a), body).await;
        assert!(
            reply.status.is_success(),
            "{method} {uri}: {}",
            reply.text()
        );
    }
    let submit = call(
        &with.app,
        Method::POST,
        &format!("/v1/orders/{}/submit", with.a.order),
        Some(&with.admin_a),
        Payload::None,
    )
    .await;
    assert_eq!(
        (submit.status, submit.code().as_str()),
        (StatusCode::CONFLICT, "not_signed")
    );
    let calls = engine.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 4, "{calls:?}");
    let tenant = with
        .store
        .admin()
        .find_tenant_by_name("A")
        .await
        .unwrap()
        .unwrap()
        .id;
    assert!(calls.iter().all(|(t, _)| *t == tenant));
}

#[tokio::test]
async fn schedules_need_a_valid_cron_and_time_zone() {
    let w = world().await;
    for (cron, tz, code) in [
        ("61 6 * * *", "UTC", "invalid_cron"),
        ("0 6 * *", "UTC", "invalid_cron"),
        ("0 6 * * *", "Mars/Olympus", "invalid_time_zone"),
    ] {
        let reply = call(&w.app, Method::POST, "/v1/schedules", Some(&w.admin_a), Payload::Json(json!({"ebics_user_id": w.a.user_a, "order_type": "C53", "cron": cron, "time_zone": tz}))).await;
        assert_eq!(
            (reply.status, reply.code().as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, code),
            "{cron} {tz}"
        );
    }
    let reply = call(&w.app, Method::POST, "/v1/schedules", Some(&w.admin_a), Payload::Json(json!({"ebics_user_id": w.a.user_a, "order_type": "C53", "cron": "30 6 * * 1-5", "time_zone": "Europe/Berlin"}))).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
}

#[tokio::test]
async fn booked_transactions_page_by_keyset_cursor_filter_by_date_and_export_as_csv() {
    let w = world().await;
    let tenant = w
        .store
        .admin()
        .find_tenant_by_name("A")
        .await
        .unwrap()
        .unwrap()
        .id;
    let scope = TenantScope::system_job(tenant, "test");
    let mut tx = w.store.scope(&scope).begin().await.unwrap();
    for i in 0..25u32 {
        tx.statements()
            .insert_booking(NewBookedTransaction {
                account_id: w.a.account.parse().unwrap(),
                statement_id: None,
                booking_date: NaiveDate::from_ymd_opt(2026, 1, 1 + i % 10).unwrap(),
                value_date: None,
                amount: format!("{i}.00"),
                currency: "EUR".into(),
                credit_debit: "CRDT".into(),
                counterparty_name: Some(format!("Payer, \"{i}\"")),
                counterparty_iban: None,
                remittance: Some("=HYPERLINK(\"x\")".into()),
                bank_reference: None,
                end_to_end_id: None,
                dedupe_key: format!("k{i}"),
            })
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let mut seen = Vec::new();
    let mut uri = format!("/v1/booked-transactions?account={}&limit=10", w.a.account);
    loop {
        let page = call(&w.app, Method::GET, &uri, Some(&w.viewer_a), Payload::None)
            .await
            .json();
        for item in page["items"].as_array().unwrap() {
            seen.push((
                item["booking_date"].as_str().unwrap().to_owned(),
                item["id"].as_str().unwrap().to_owned(),
            ));
        }
        match page["next"].as_str() {
            Some(next) => {
                uri = format!(
                    "/v1/booked-transactions?account={}&limit=10&after={next}",
                    w.a.account
                )
            }
            None => break,
        }
    }
    assert_eq!(seen.len(), 25);
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(
        seen, sorted,
        "ordered by date then id, no duplicates across pages"
    );
    sorted.dedup();
    assert_eq!(sorted.len(), 25);

    let ranged = call(
        &w.app,
        Method::GET,
        "/v1/booked-transactions?from=2026-01-02&to=2026-01-03",
        Some(&w.viewer_a),
        Payload::None,
    )
    .await
    .json();
    assert_eq!(ranged["items"].as_array().unwrap().len(), 6, "3 per day");
    let bad = call(
        &w.app,
        Method::GET,
        "/v1/booked-transactions?from=2026-01-03&to=2026-01-02",
        Some(&w.viewer_a),
        Payload::None,
    )
    .await;
    assert_eq!(bad.code(), "invalid_date_range");

    let csv = call(
        &w.app,
        Method::GET,
        &format!("/v1/booked-transactions/csv?account={}", w.a.account),
        Some(&w.viewer_a),
        Payload::None,
    )
    .await;
    assert!(csv.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = csv.text();
    assert_eq!(text.lines().count(), 26, "header + 25 rows");
    assert!(text.contains("\"Payer, \"\"7\"\"\""), "quoted per RFC 4180");
    assert!(
        text.contains("\"'=HYPERLINK(\"\"x\"\")\""),
        "formulas are defused"
    );
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn request_logs_carry_method_path_and_request_id_but_never_the_token() {
    let w = world().await;
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let reply = call_with(
        &w.app,
        Method::GET,
        &format!("/v1/orders/{}?secret=1", w.a.order),
        Some(&w.owner_a),
        Payload::None,
        &[("x-request-id", "req-42")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers["x-request-id"], "req-42");
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("method=GET"), "{log}");
    assert!(
        log.contains(&format!("path=/v1/orders/{}", w.a.order)),
        "{log}"
    );
    assert!(log.contains("request_id=req-42"), "{log}");
    assert!(
        !log.contains(&w.owner_a),
        "the bearer token leaked into the log"
    );
    assert!(!log.contains("secret=1"), "query strings are not logged");
}

#[tokio::test]
async fn only_owners_revoke_signer_keys_and_every_key_event_is_audited() {
    let w = world().await;
    let revoke = format!(
        "/v1/ebics-users/{}/signer-keys/{}/revoke",
        w.a.user_b, w.a.signer_key
    );
    let by_admin = call(
        &w.app,
        Method::POST,
        &revoke,
        Some(&w.admin_a),
        Payload::None,
    )
    .await;
    assert_eq!(
        by_admin.status,
        StatusCode::FORBIDDEN,
        "{}",
        by_admin.text()
    );
    let keys = format!("/v1/ebics-users/{}/key-pairs", w.a.user_b);
    let before = call(&w.app, Method::GET, &keys, Some(&w.owner_a), Payload::None).await;
    assert_eq!(before.json()[0]["status"], "PENDING");

    let by_owner = call(
        &w.app,
        Method::POST,
        &revoke,
        Some(&w.owner_a),
        Payload::None,
    )
    .await;
    assert_eq!(by_owner.status, StatusCode::OK, "{}", by_owner.text());
    assert_eq!(by_owner.json()["status"], "REVOKED");
    // Revoked is final: a second revocation is refused and changes nothing.
    let again = call(
        &w.app,
        Method::POST,
        &revoke,
        Some(&w.owner_a),
        Payload::None,
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text());

    // A READY user's signature key is the bank's business now: registering another is refused.
    let register = call(
        &w.app,
        Method::POST,
        &format!("/v1/ebics-users/{}/signer-keys", w.a.user_b),
        Some(&w.owner_a),
        Payload::Json(json!({"version": "A006", "public_key_pem": w.a.spare_public_key_pem})),
    )
    .await;
    assert_eq!(
        (register.status, register.code().as_str()),
        (StatusCode::CONFLICT, "user_not_new")
    );

    let audit = call(
        &w.app,
        Method::GET,
        "/v1/audit-events",
        Some(&w.viewer_a),
        Payload::None,
    )
    .await
    .json();
    let revocations: Vec<_> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "SIGNER_KEY_REVOKED")
        .collect();
    assert_eq!(revocations.len(), 1, "{audit}");
    assert_eq!(revocations[0]["target_id"], w.a.signer_key.as_str());
    assert_eq!(revocations[0]["actor_kind"], "OPERATOR");
    assert_eq!(revocations[0]["detail"]["previous_status"], "PENDING");
    // Tenant B sees nothing of it.
    let other = call(
        &w.app,
        Method::GET,
        "/v1/audit-events",
        Some(&w.owner_b),
        Payload::None,
    )
    .await
    .json();
    assert_eq!(other, json!([]));
}
