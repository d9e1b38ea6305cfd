//! What the API does with good and bad input: validation with stable codes that stores
//! nothing, Idempotency-Key on order creation, engine routes with and without an engine,
//! keyset pagination and CSV export, and request logs without secrets.

use std::sync::{Arc, Mutex};

use crate::support::api::{call, call_with, operator_token, world, world_with, Payload, World};
use crate::support::payments::pain001;
use axum::http::{Method, StatusCode};
use chrono::NaiveDate;
use std::num::NonZeroU64;

use kontor_daemon::ebics::{
    DownloadRequest, EbicsError, KeyOrder, UploadOutcome, UploadRequest, VeuSignature,
};
use kontor_daemon::services::{AsUser, Bank, BankCall, Delivery};
use kontor_documents::{BalanceKind, CreditDebit};
use kontor_protocol::order_type::OrderType;
use kontor_protocol::orderdata::{DataDigest, HVDResponseOrderData};
use kontor_protocol::{ProtocolVersion, SignatureVersion};
use kontor_storage::{
    BankKey, EbicsUserStatus, FileId, FileKind, MasterKey, NewBalance, NewBookedTransaction, Role,
    Store, StoredFile, TenantId, TenantScope, TransactionId,
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
        let reply = w
            .post(&w.admin_a, "/v1/accounts", Payload::Json(body))
            .await;
        reply.assert_error_for(
            format_args!("{field}={value}"),
            StatusCode::UNPROCESSABLE_ENTITY,
            code,
        );
    }
    let reply = w
        .post(
            &w.admin_a,
            "/v1/accounts",
            Payload::Raw("application/json", b"{not json".to_vec()),
        )
        .await;
    reply.assert_error(StatusCode::BAD_REQUEST, "malformed_body");
    let accounts = w.get(&w.admin_a, "/v1/accounts").await;
    assert_eq!(accounts.items().len(), 1);
    let reply = w
        .post(&w.admin_a, "/v1/accounts", Payload::Json(base))
        .await;
    reply.assert_status(StatusCode::CREATED);
}

#[tokio::test]
async fn bank_hosts_refuse_bad_input_and_taken_host_ids_and_store_nothing() {
    let w = world().await;
    let host = |host_id: &str| json!({"host_id": host_id, "name": "Bank", "url": "https://bank.example/ebicsweb", "protocol_version": "H004"});
    let post = |body| w.post(&w.owner_a, "/v1/bank-hosts", Payload::Json(body));
    let bad_id = post(host("HOST B!")).await;
    bad_id.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_host_id");
    let mut bad_version = host("HOSTB");
    bad_version["protocol_version"] = "H009".into();
    let bad_version = post(bad_version).await;
    bad_version.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_protocol_version");
    assert_eq!(post(host("HOSTB")).await.status, StatusCode::CREATED);
    let taken = post(host("HOSTB")).await;
    taken.assert_error(StatusCode::CONFLICT, "host_id_taken");
    let list = w.get(&w.viewer_a, "/v1/bank-hosts").await;
    assert_eq!(list.items().len(), 2, "HOSTA and HOSTB");
    let unknown = w.get(&w.owner_a, "/v1/bank-hosts/not-a-uuid").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
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
    first.assert_status(StatusCode::CREATED);
    let again = post(file.clone()).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.json()["id"], first.json()["id"]);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    let other = post(pain001("MSG-OTHER", &[("Gamma SA", "43.00")])).await;
    other.assert_error(StatusCode::CONFLICT, "idempotency_key_reused");
    // Without a key, the same file again is a duplicate payment, not a new order.
    let dup = w
        .post(&w.admin_a, &uri, Payload::Raw("application/xml", file))
        .await;
    dup.assert_error(StatusCode::CONFLICT, "duplicate_order");
    let orders = w.get(&w.admin_a, "/v1/orders").await;
    assert_eq!(orders.items().len(), 2, "fixture order + one");
}

#[tokio::test]
async fn bad_payment_files_and_order_types_are_refused_with_stable_codes() {
    let w = world().await;
    let w = &w;
    let post = |order_type: &str, body: Vec<u8>| {
        let uri = format!(
            "/v1/orders?ebics_user_id={}&order_type={order_type}",
            w.a.user_a
        );
        async move {
            w.post(&w.admin_a, &uri, Payload::Raw("application/xml", body))
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
        // BTU needs its service, the service its message; a service only with BTU.
        (
            "BTU",
            good.clone(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_btf_service",
        ),
        (
            "BTU&service=SCT",
            good.clone(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_btf_service",
        ),
        (
            "BTU&service=sct&message=PAIN.001&message_version=9",
            good.clone(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_btf_service",
        ),
        (
            "CCT&service=SCT&message=pain.001",
            good.clone(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_btf_service",
        ),
        (
            "BTU&service=SDD&service_option=COR&message=pain.008",
            good.clone(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "order_type_mismatch",
        ),
        // The fixture's host speaks EBICS 2.5: no BTF services there.
        (
            "BTU&service=SCT&message=pain.001",
            good.clone(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unsupported_order_type",
        ),
        // A classic payment type its bank does not offer.
        (
            "XE2",
            good.clone(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "order_type_not_offered",
        ),
    ] {
        let reply = post(order_type, body).await;
        reply.assert_error_for(order_type, status, code);
    }
    let reply = w
        .post(
            &w.admin_a,
            "/v1/orders?order_type=CCT",
            Payload::Raw("application/xml", good),
        )
        .await;
    reply.assert_error_for(
        "a missing query parameter is named",
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
    );
    assert!(reply.text().contains("ebics_user_id"), "{}", reply.text());
    let orders = w.get(&w.admin_a, "/v1/orders").await;
    assert_eq!(orders.items().len(), 1, "only the fixture order");
}

#[tokio::test]
async fn orders_show_their_content_summary_and_serve_their_file() {
    let w = world().await;
    let order = w
        .get(&w.viewer_a, &format!("/v1/orders/{}", w.a.order))
        .await
        .json();
    assert_eq!(order["summary"]["number_of_transactions"], 1);
    assert_eq!(order["summary"]["totals"]["EUR"], "10.00");
    assert_eq!(order["summary"]["creditor_names"], json!(["Alpha AG"]));
    let file = w
        .get(&w.viewer_a, &format!("/v1/orders/{}/file", w.a.order))
        .await;
    assert_eq!(
        file.headers["x-content-sha256"],
        order["content_hash"].as_str().unwrap()
    );
    let cancelled = w.order_action("cancel").await;
    assert_eq!(cancelled.json()["status"], "CANCELLED");
    let again = w.order_action("cancel").await;
    again.assert_error(StatusCode::CONFLICT, "not_cancellable");
}

/// Stands in for the bank: records every operation with the tenant it was scoped to and
/// answers as a bank with nothing pending would (HVD: a digest of zeros).
#[derive(Default)]
struct RecordingBank {
    calls: Mutex<Vec<(TenantId, String)>>,
}

impl RecordingBank {
    /// Records `what` was asked of the bank, as `who`: "{what} {user}" under their tenant.
    fn record(&self, who: AsUser<'_>, what: String) {
        let call = format!("{what} {}", who.user);
        self.calls.lock().unwrap().push((who.scope.tenant(), call));
    }

    fn calls(&self) -> Vec<(TenantId, String)> {
        self.calls.lock().unwrap().clone()
    }
}

fn hvd_with_zero_digest() -> Vec<u8> {
    HVDResponseOrderData {
        version: ProtocolVersion::H004,
        data_digest: DataDigest {
            signature_version: Some(SignatureVersion::A006),
            digest: vec![0; 32],
        },
        display_file: b"payment".to_vec(),
        order_data_available: true,
        order_data_size: NonZeroU64::new(100).unwrap(),
        order_details_available: true,
        signers: Vec::new(),
    }
    .to_xml()
    .unwrap()
}

impl Bank for RecordingBank {
    fn send_key_order<'a>(
        &'a self,
        who: AsUser<'a>,
        order: KeyOrder,
    ) -> BankCall<'a, EbicsUserStatus> {
        self.record(who, format!("{order:?}"));
        let status = match order {
            KeyOrder::Ini => EbicsUserStatus::PartlyInitialisedIni,
            KeyOrder::Hia | KeyOrder::H3k => EbicsUserStatus::Initialised,
        };
        Box::pin(async move { Ok(status) })
    }

    fn fetch_bank_keys<'a>(&'a self, who: AsUser<'a>) -> BankCall<'a, Vec<BankKey>> {
        self.record(who, "HPB".into());
        Box::pin(async { Ok(Vec::new()) })
    }

    fn activate<'a>(&'a self, who: AsUser<'a>) -> BankCall<'a, EbicsUserStatus> {
        self.record(who, "activate".into());
        Box::pin(async { Ok(EbicsUserStatus::Ready) })
    }

    fn download<'a>(&'a self, who: AsUser<'a>, request: DownloadRequest) -> BankCall<'a, Delivery> {
        self.record(who, request.order_type.to_string());
        let delivery = if request.order_type == OrderType::HVD {
            let bytes = hvd_with_zero_digest();
            Delivery::Data {
                file: StoredFile {
                    id: FileId::new(),
                    kind: FileKind::Download,
                    path: None,
                    size: bytes.len() as i64,
                    sha256: String::new(),
                    content: Some(bytes),
                    content_type: "application/xml".into(),
                    created_at: chrono::Utc::now(),
                },
                transaction: TransactionId::new(),
            }
        } else {
            Delivery::NoData {
                transaction: TransactionId::new(),
            }
        };
        Box::pin(async move { Ok(delivery) })
    }

    fn upload<'a>(
        &'a self,
        who: AsUser<'a>,
        request: UploadRequest,
    ) -> BankCall<'a, UploadOutcome> {
        self.record(who, request.order_type.to_string());
        Box::pin(async { Err(EbicsError::Protocol("recording only".into())) })
    }

    fn veu_signature<'a>(
        &'a self,
        signer: AsUser<'a>,
        signature: VeuSignature,
    ) -> BankCall<'a, ()> {
        let order = if signature.cancel { "HVS" } else { "HVE" };
        self.record(signer, order.into());
        Box::pin(async { Ok(()) })
    }
}

#[tokio::test]
async fn bank_routes_answer_503_without_a_bank_and_hand_the_callers_scope_to_one() {
    let w = world().await;
    let routes = |w: &World, new_user: &str| {
        vec![
            (
                Method::POST,
                format!("/v1/ebics-users/{new_user}/initialise"),
                Payload::None,
            ),
            (
                Method::POST,
                "/v1/veu-items/sync".to_string(),
                Payload::Json(json!({"ebics_user_id": w.a.user_a})),
            ),
            (
                Method::POST,
                format!("/v1/veu-items/{}/digest", w.a.veu_item),
                Payload::Json(json!({"signer_id": w.a.user_a})),
            ),
            (
                Method::POST,
                format!("/v1/schedules/{}/run", w.a.schedule),
                Payload::None,
            ),
        ]
    };
    for (method, uri, body) in routes(&w, &w.a.user_a) {
        let reply = call(&w.app, method.clone(), &uri, Some(&w.admin_a), body).await;
        reply.assert_error_for(
            format_args!("{method} {uri}"),
            StatusCode::SERVICE_UNAVAILABLE,
            "engine_unavailable",
        );
    }
    let bank = Arc::new(RecordingBank::default());
    let with = world_with({
        let bank = bank.clone();
        move |services| services.with_bank(bank)
    })
    .await;
    // A NEW user, so that onboarding has work for the bank.
    let created = with.post(&with.admin_a, "/v1/ebics-users", Payload::Json(json!({"connection_id": with.a.connection, "user_id": "NEWBIE", "name": "New", "signature_class": "E"}))).await;
    created.assert_status(StatusCode::CREATED);
    let new_user = created.json()["id"].as_str().unwrap().to_owned();
    for (method, uri, body) in routes(&with, &new_user) {
        let reply = call(&with.app, method.clone(), &uri, Some(&with.admin_a), body).await;
        assert!(
            reply.status.is_success(),
            "{method} {uri}: {}",
            reply.text()
        );
    }
    let submit = with.order_action("submit").await;
    submit.assert_error(StatusCode::CONFLICT, "not_signed");
    let tenant = with.tenant_a;
    let user_a = &with.a.user_a;
    let expected: Vec<(TenantId, String)> = [
        format!("Ini {new_user}"),
        format!("Hia {new_user}"),
        format!("HPB {new_user}"),
        format!("HVZ {user_a}"),
        format!("HVD {user_a}"),
        format!("HVT {user_a}"),
        format!("C53 {user_a}"),
    ]
    .into_iter()
    .map(|call| (tenant, call))
    .collect();
    assert_eq!(bank.calls(), expected);
}

#[tokio::test]
async fn webhook_targets_on_loopback_are_refused_and_nothing_is_stored() {
    let w = world().await;
    let before = w.get(&w.admin_a, "/v1/webhooks").await.json();
    for url in [
        "http://127.0.0.1:9/hook",
        "http://[::1]/hook",
        "http://169.254.169.254/latest",
    ] {
        let reply = w
            .post(
                &w.admin_a,
                "/v1/webhooks",
                Payload::Json(json!({"url": url})),
            )
            .await;
        reply.assert_error_for(
            url,
            StatusCode::UNPROCESSABLE_ENTITY,
            "webhook_target_refused",
        );
    }
    let reply = w
        .post(
            &w.admin_a,
            "/v1/webhooks",
            Payload::Json(json!({"url": "https://hooks.example/x", "event_types": ["order.paid"]})),
        )
        .await;
    reply.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(w.get(&w.admin_a, "/v1/webhooks").await.json(), before);
    // The fixture's subscription shows no secret when read.
    let shown = w
        .get(&w.viewer_a, &format!("/v1/webhooks/{}", w.a.webhook))
        .await;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(shown.json().get("secret").is_none());
    assert!(!shown.text().contains("whsec_"));
}

#[tokio::test]
async fn a_rotated_secret_is_shown_once_in_the_answer() {
    let w = world().await;
    let uri = format!("/v1/webhooks/{}/rotate-secret", w.a.webhook);
    let reply = w.post(&w.admin_a, &uri, Payload::None).await;
    reply.assert_status(StatusCode::OK);
    let secret = reply.json()["secret"].as_str().unwrap().to_owned();
    assert!(
        secret.starts_with("whsec_") && secret.len() > 40,
        "{secret}"
    );
    assert!(reply.json()["previous_secret_until"].is_string());
    let deliveries = w
        .get(
            &w.viewer_a,
            &format!("/v1/webhooks/{}/deliveries", w.a.webhook),
        )
        .await;
    assert!(!deliveries.text().contains(&secret));
    // Newest first: the fixture's order was created after its ping.
    let types: Vec<String> = deliveries
        .items()
        .iter()
        .map(|d| d["event_type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(types, ["order.created", "webhook.ping"]);
}

#[tokio::test]
async fn schedules_need_a_valid_cron_and_time_zone() {
    let w = world().await;
    for (cron, tz, code) in [
        ("61 6 * * *", "UTC", "invalid_cron"),
        ("0 6 * *", "UTC", "invalid_cron"),
        ("0 6 * * *", "Mars/Olympus", "invalid_time_zone"),
    ] {
        let reply = w.post(&w.admin_a, "/v1/schedules", Payload::Json(json!({"ebics_user_id": w.a.user_a, "order_type": "C53", "cron": cron, "time_zone": tz}))).await;
        reply.assert_error_for(
            format_args!("{cron} {tz}"),
            StatusCode::UNPROCESSABLE_ENTITY,
            code,
        );
    }
    let reply = w.post(&w.admin_a, "/v1/schedules", Payload::Json(json!({"ebics_user_id": w.a.user_a, "order_type": "C53", "cron": "30 6 * * 1-5", "time_zone": "Europe/Berlin"}))).await;
    reply.assert_status(StatusCode::CREATED);
}

#[tokio::test]
async fn booked_transactions_page_by_keyset_cursor_filter_by_date_and_export_as_csv() {
    let w = world().await;
    let tenant = w.tenant_a;
    let scope = TenantScope::system_job(tenant, "test");
    let mut tx = w.store.scope(&scope).begin().await.unwrap();
    for i in 0..25u32 {
        tx.statements()
            .insert_booking(NewBookedTransaction {
                account_id: w.a.account.parse().unwrap(),
                statement_id: None,
                booking_date: NaiveDate::from_ymd_opt(2026, 1, 1 + i % 10).unwrap(),
                value_date: None,
                amount: format!("{i}.00").parse().unwrap(),
                currency: "EUR".parse().unwrap(),
                credit_debit: CreditDebit::Credit,
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
    /// The page as `Json` writes it from the typed bookings.
    #[derive(serde::Serialize)]
    struct TypedPage {
        items: Vec<kontor_storage::BookedTransaction>,
        next_cursor: Option<String>,
    }
    let mut seen = Vec::new();
    let mut uri = format!("/v1/booked-transactions?account={}&limit=10", w.a.account);
    let mut after = None;
    loop {
        let reply = w.get(&w.viewer_a, &uri).await;
        assert_eq!(reply.headers["content-type"], "application/json");
        let page = reply.json();
        let mut tx = w.store.scope(&scope).read().await.unwrap();
        let filter = kontor_storage::BookingFilter {
            account_id: Some(w.a.account.parse().unwrap()),
            after,
            limit: 10,
            newest_first: true,
            ..Default::default()
        };
        let items = tx.statements().bookings(&filter).await.unwrap();
        after = items.last().map(|b| (b.booking_date, b.id));
        let next_cursor = page["next_cursor"].as_str().map(str::to_owned);
        let typed = TypedPage { items, next_cursor };
        assert_eq!(
            reply.text(),
            serde_json::to_string(&typed).unwrap(),
            "the page's bytes are those of its typed bookings"
        );
        for item in page["items"].as_array().unwrap() {
            seen.push((
                item["booking_date"].as_str().unwrap().to_owned(),
                item["id"].as_str().unwrap().to_owned(),
            ));
        }
        match page["next_cursor"].as_str() {
            Some(next) => {
                uri = format!(
                    "/v1/booked-transactions?account={}&limit=10&cursor={next}",
                    w.a.account
                )
            }
            None => break,
        }
    }
    assert_eq!(seen.len(), 25);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.reverse();
    sorted.dedup();
    assert_eq!(
        seen, sorted,
        "latest date first, then id, no duplicates across pages"
    );
    sorted.dedup();
    assert_eq!(sorted.len(), 25);

    let ranged = w
        .get(
            &w.viewer_a,
            "/v1/booked-transactions?from=2026-01-02&to=2026-01-03",
        )
        .await
        .json();
    assert_eq!(ranged["items"].as_array().unwrap().len(), 6, "3 per day");
    let bad = w
        .get(
            &w.viewer_a,
            "/v1/booked-transactions?from=2026-01-03&to=2026-01-02",
        )
        .await;
    assert_eq!(bad.code(), "invalid_date_range");

    let csv = w
        .get(
            &w.viewer_a,
            &format!("/v1/booked-transactions/csv?account={}", w.a.account),
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

/// Directions and balance types are stored typed but answer their ISO 20022 codes, in the
/// JSON of bookings and balances and in the CSV export, as they always did.
#[tokio::test]
async fn bookings_and_balances_answer_their_iso_codes() {
    let w = world().await;
    let scope = TenantScope::system_job(w.tenant_a, "test");
    let account: kontor_storage::AccountId = w.a.account.parse().unwrap();
    let day = NaiveDate::from_ymd_opt(2026, 2, 2).unwrap();
    let mut tx = w.store.scope(&scope).begin().await.unwrap();
    for (key, credit_debit) in [("in", CreditDebit::Credit), ("out", CreditDebit::Debit)] {
        let booking = NewBookedTransaction {
            account_id: account,
            statement_id: None,
            booking_date: day,
            value_date: None,
            amount: "1.00".parse().unwrap(),
            currency: "EUR".parse().unwrap(),
            credit_debit,
            counterparty_name: None,
            counterparty_iban: None,
            remittance: None,
            bank_reference: None,
            end_to_end_id: None,
            dedupe_key: key.into(),
        };
        assert!(tx.statements().insert_booking(booking).await.unwrap());
    }
    for kind in [
        BalanceKind::ClosingBooked,
        BalanceKind::Other("XBAL".into()),
    ] {
        let balance = NewBalance {
            account_id: account,
            statement_id: None,
            kind,
            balance_date: day,
            amount: "-5.25".parse().unwrap(),
            currency: "EUR".parse().unwrap(),
        };
        assert!(tx.statements().upsert_balance(balance).await.unwrap());
    }
    tx.commit().await.unwrap();

    // The sorted `field` of every item of the JSON list at `path`.
    let texts_of = async |path: String, field: &str| -> Vec<String> {
        let page = w.get(&w.viewer_a, &path).await.json();
        let items = page["items"].as_array().unwrap().iter();
        let mut texts: Vec<String> = items.map(|i| i[field].as_str().unwrap().into()).collect();
        texts.sort();
        texts
    };
    let account = &w.a.account;
    let bookings = format!("/v1/booked-transactions?account={account}&from=2026-02-02");
    assert_eq!(texts_of(bookings, "credit_debit").await, ["CRDT", "DBIT"]);
    let balances = format!("/v1/accounts/{account}/balances");
    assert_eq!(texts_of(balances, "kind").await, ["CLBD", "XBAL"]);

    let csv = format!("/v1/booked-transactions/csv?account={account}");
    let csv = w.get(&w.viewer_a, &csv).await.text();
    let mut csv_directions: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|row| row.split(',').nth(4).unwrap())
        .collect();
    csv_directions.sort();
    assert_eq!(csv_directions, ["CRDT", "DBIT"], "{csv}");
}

/// Log lines of requests whose id starts with [`CAPTURED_REQUEST`], from every test of this
/// binary. One global subscriber: a scoped one (`set_default`) can miss events, because
/// tracing caches per callsite, process-wide, whether anyone listens, and other test threads
/// register the same callsites concurrently.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

const CAPTURED_REQUEST: &str = "log-capture-";

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // The formatter writes one event per call, with its span's fields.
        if String::from_utf8_lossy(buf).contains(CAPTURED_REQUEST) {
            self.0.lock().unwrap().extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn captured_log() -> &'static Captured {
    static CAPTURED: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
    CAPTURED.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_global_default(subscriber)
            .expect("no other global subscriber in this test binary");
        captured
    })
}

#[tokio::test]
async fn request_logs_carry_method_path_and_request_id_but_never_the_token() {
    let w = world().await;
    let captured = captured_log();
    let request_id = format!("{CAPTURED_REQUEST}{}", uuid::Uuid::new_v4());
    let reply = call_with(
        &w.app,
        Method::GET,
        &format!("/v1/orders/{}?secret=1", w.a.order),
        Some(&w.owner_a),
        Payload::None,
        &[("x-request-id", &request_id)],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers["x-request-id"], request_id.as_str());
    let all = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let log: String = all
        .lines()
        .filter(|line| line.contains(&request_id))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(log.contains("method=GET"), "{log}");
    assert!(
        log.contains(&format!("path=/v1/orders/{}", w.a.order)),
        "{log}"
    );
    assert!(log.contains(&format!("request_id={request_id}")), "{log}");
    assert!(
        !log.contains(&w.owner_a),
        "the bearer token leaked into the log"
    );
    assert!(!log.contains("secret=1"), "query strings are not logged");
}

#[tokio::test]
async fn reading_a_veu_digest_never_reaches_the_bank_and_viewers_cannot_fetch_one() {
    let bank = Arc::new(RecordingBank::default());
    let w = world_with({
        let bank = bank.clone();
        move |services| services.with_bank(bank)
    })
    .await;
    let digest_uri = format!("/v1/veu-items/{}/digest", w.a.veu_item);
    let read = |token: String| {
        let (app, uri) = (
            w.app.clone(),
            format!("{digest_uri}?signer_id={}", w.a.user_a),
        );
        async move { call(&app, Method::GET, &uri, Some(&token), Payload::None).await }
    };
    let fetch = |token: String| {
        let (app, uri, body) = (
            w.app.clone(),
            digest_uri.clone(),
            json!({"signer_id": w.a.user_a}),
        );
        async move { call(&app, Method::POST, &uri, Some(&token), Payload::Json(body)).await }
    };
    let bank_calls = || bank.calls().len();

    let before = read(w.viewer_a.clone()).await;
    before.assert_error(StatusCode::CONFLICT, "digest_not_fetched");
    let refused = fetch(w.viewer_a.clone()).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(bank_calls(), 0, "a Viewer caused bank traffic");

    let fetched = fetch(w.admin_a.clone()).await;
    fetched.assert_status(StatusCode::OK);
    // HVD for the digest, HVT for the signer's view of the transactions.
    assert_eq!(bank_calls(), 2);
    for _ in 0..3 {
        let stored = read(w.viewer_a.clone()).await;
        stored.assert_status(StatusCode::OK);
        assert_eq!(stored.json(), fetched.json());
    }
    assert_eq!(bank_calls(), 2, "reading went to the bank");
    let item = w
        .get(&w.viewer_a, &format!("/v1/veu-items/{}", w.a.veu_item))
        .await;
    assert_eq!(item.json()["data_digest"], json!("00".repeat(32)));
}

#[tokio::test]
async fn adding_another_tenants_operator_answers_like_a_new_one_and_reveals_nothing() {
    let w = world().await;
    let add = async |token: &str, email: &str, name: &str| {
        let body = json!({"email": email, "display_name": name, "role": "VIEWER"});
        w.post(token, "/v1/operators", Payload::Json(body)).await
    };
    // Tenant A adds a brand-new address and an address tenant B already uses: both answers
    // have the same shape and show only what the request said.
    let fresh = add(&w.owner_a, "fresh@a.example", "Fresh").await;
    let in_b = add(&w.owner_b, "shared@b.example", "Secret name in B").await;
    in_b.assert_status(StatusCode::CREATED);
    let shared = add(&w.owner_a, "Shared@B.example", "Name in A").await;
    fresh.assert_status(StatusCode::CREATED);
    shared.assert_status(StatusCode::CREATED);
    let keys = |v: &serde_json::Value| {
        v.as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<String>>()
    };
    assert_eq!(keys(&fresh.json()), keys(&shared.json()));
    assert_eq!(shared.json()["display_name"], "Name in A");
    assert_eq!(shared.json()["email"], "shared@b.example");
    let members = w.get(&w.owner_a, "/v1/memberships").await.text();
    assert!(!members.contains("Secret name in B"), "{members}");
    // Tenant B's view is unchanged by A's membership.
    let members_b = w.get(&w.owner_b, "/v1/memberships").await.text();
    assert!(members_b.contains("Secret name in B") && !members_b.contains("Name in A"));
    // Only a second add in the same tenant conflicts.
    let again = add(&w.owner_a, "shared@b.example", "Again").await;
    again.assert_error(StatusCode::CONFLICT, "email_taken");
}

/// A TCP forwarder between the daemon's pool and PostgreSQL that a test can cut and restore,
/// to play a database outage without touching the shared server.
struct Forwarder {
    port: u16,
    open: Arc<std::sync::atomic::AtomicBool>,
    connections: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Forwarder {
    async fn start(target: std::net::SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let open = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let connections: Arc<Mutex<Vec<tokio::task::AbortHandle>>> = Arc::default();
        let accept = tokio::spawn({
            let (open, connections) = (open.clone(), connections.clone());
            async move {
                while let Ok((mut client, _)) = listener.accept().await {
                    if !open.load(std::sync::atomic::Ordering::SeqCst) {
                        continue; // dropped: the client sees the connection closed
                    }
                    let task = tokio::spawn(async move {
                        if let Ok(mut server) = tokio::net::TcpStream::connect(target).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    });
                    connections.lock().unwrap().push(task.abort_handle());
                }
            }
        });
        Self {
            port,
            open,
            connections,
            accept,
        }
    }

    /// Closes every forwarded connection and refuses new ones.
    fn cut(&self) {
        self.open.store(false, std::sync::atomic::Ordering::SeqCst);
        for task in self.connections.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    fn restore(&self) {
        self.open.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_answers_503_within_seconds_and_work_resumes_when_it_is_back() {
    let Some(db) = kontor_storage::testing::TestDb::postgres().await else {
        return;
    };
    let url = url::Url::parse(db.url()).unwrap();
    let target = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432));
    let target = tokio::net::lookup_host(target)
        .await
        .unwrap()
        .next()
        .unwrap();
    let forwarder = Forwarder::start(target).await;
    let mut through = url.clone();
    through.set_host(Some("127.0.0.1")).unwrap();
    through.set_port(Some(forwarder.port)).unwrap();
    let store = Store::connect(through.as_str(), Arc::new(MasterKey::generate()))
        .await
        .unwrap();
    let tenant = store.admin().create_tenant("Outage").await.unwrap();
    let (token, _, _) = operator_token(&store, "ops@outage.example", tenant.id, Role::Owner).await;
    let app = kontor_daemon::api::router(kontor_daemon::api::AppState::new(
        kontor_daemon::services::Services::new(store.clone()),
    ));
    let get = |path: &'static str| {
        let (app, token) = (app.clone(), token.clone());
        async move {
            tokio::time::timeout(
                std::time::Duration::from_secs(5),
                call(&app, Method::GET, path, Some(&token), Payload::None),
            )
            .await
            .unwrap_or_else(|_| panic!("GET {path} hung for 5 s"))
        }
    };
    assert_eq!(get("/v1/bank-hosts").await.status, StatusCode::OK);
    assert_eq!(get("/readyz").await.status, StatusCode::OK);

    forwarder.cut();
    for path in ["/v1/bank-hosts", "/readyz", "/v1/tenant"] {
        let reply = get(path).await;
        reply.assert_error_for(
            path,
            StatusCode::SERVICE_UNAVAILABLE,
            "database_unavailable",
        );
    }

    forwarder.restore();
    let mut recovered = false;
    for _ in 0..20 {
        if get("/v1/bank-hosts").await.status == StatusCode::OK {
            recovered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(
        recovered,
        "the API did not recover after the database came back"
    );
    assert_eq!(get("/readyz").await.status, StatusCode::OK);
    store.close().await;
}

#[tokio::test]
async fn only_owners_revoke_signer_keys_and_every_key_event_is_audited() {
    let w = world().await;
    let revoke = format!(
        "/v1/ebics-users/{}/signer-keys/{}/revoke",
        w.a.user_b, w.a.signer_key
    );
    let by_admin = w.post(&w.admin_a, &revoke, Payload::None).await;
    by_admin.assert_status(StatusCode::FORBIDDEN);
    let keys = format!("/v1/ebics-users/{}/key-pairs", w.a.user_b);
    let before = w.get(&w.owner_a, &keys).await;
    assert_eq!(before.json()["items"][0]["status"], "PENDING");

    let by_owner = w.post(&w.owner_a, &revoke, Payload::None).await;
    by_owner.assert_status(StatusCode::OK);
    assert_eq!(by_owner.json()["status"], "REVOKED");
    // Revoked is final: a second revocation is refused and changes nothing.
    let again = w.post(&w.owner_a, &revoke, Payload::None).await;
    again.assert_status(StatusCode::CONFLICT);

    // A READY user's signature key is the bank's business now: registering another is refused.
    let register = w
        .post(
            &w.owner_a,
            &format!("/v1/ebics-users/{}/signer-keys", w.a.user_b),
            Payload::Json(json!({"version": "A006", "public_key_pem": w.a.spare_public_key_pem})),
        )
        .await;
    register.assert_error(StatusCode::CONFLICT, "user_not_new");

    let audit = w.get(&w.viewer_a, "/v1/audit-events").await.json();
    let revocations: Vec<_> = audit["items"]
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
    let other = w.get(&w.owner_b, "/v1/audit-events").await.json();
    assert_eq!(other, json!({"items": [], "next_cursor": null}));
}

/// The text of every page of a PDF, as a viewer would copy it.
fn pdf_text(pdf: &[u8]) -> String {
    let document = lopdf::Document::load_mem(pdf).expect("a readable PDF");
    let pages: Vec<u32> = document.get_pages().keys().copied().collect();
    document.extract_text(&pages).expect("text")
}

#[tokio::test]
async fn keys_are_generated_shown_with_certificates_and_their_letters_render_as_pdf() {
    let w = world().await;
    let created = w.post(&w.owner_a, "/v1/ebics-users", Payload::Json(json!({"connection_id": w.a.connection, "user_id": "FRUSER1", "name": "Jeanne Exemple", "signature_class": "E"}))).await;
    created.assert_status(StatusCode::CREATED);
    let user = created.json()["id"].as_str().expect("id").to_owned();
    let generated = w
        .post(
            &w.owner_a,
            &format!("/v1/ebics-users/{user}/keys"),
            Payload::None,
        )
        .await;
    generated.assert_status(StatusCode::CREATED);
    let keys = generated.json();
    assert_eq!(keys.as_array().map(Vec::len), Some(3));
    assert_eq!(keys[0]["status"], "PENDING");
    assert_eq!(keys[0]["certificate"]["origin"], "SELF_SIGNED");
    assert_eq!(keys[0]["certificate"]["expires_soon"], false);
    let signature_hash = keys[0]["key_hash"].as_str().expect("hash").to_owned();
    // The letter prints the hash in groups of two hex digits, 16 bytes a line.
    let first_line = signature_hash.as_bytes()[..32]
        .chunks(2)
        .map(|pair| std::str::from_utf8(pair).expect("hex"))
        .collect::<Vec<_>>()
        .join(" ");

    for (lang, title) in [
        ("de", "EBICS-Initialisierungsbrief (INI)"),
        ("en", "EBICS initialisation letter (INI)"),
        ("fr", "Lettre d'initialisation EBICS (INI)"),
    ] {
        let letter = w
            .get(
                &w.viewer_a,
                &format!("/v1/ebics-users/{user}/letters/ini?format=pdf&lang={lang}"),
            )
            .await;
        letter.assert_status(StatusCode::OK);
        assert_eq!(letter.headers["content-type"], "application/pdf");
        let text = pdf_text(&letter.bytes);
        for expected in [title, "FRUSER1", "Jeanne Exemple", first_line.as_str()] {
            assert!(
                text.contains(expected),
                "{lang}: {expected:?} missing in\n{text}"
            );
        }
    }
    let html = w
        .get(
            &w.viewer_a,
            &format!("/v1/ebics-users/{user}/letters/hia?lang=fr"),
        )
        .await;
    assert!(html.text().contains("<html lang=\"fr\">"));
    let unknown = w
        .get(
            &w.viewer_a,
            &format!("/v1/ebics-users/{user}/letters/ini?lang=it"),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Certificates that are not one, or certify another key, are refused; nothing changes.
    let certificate = format!("/v1/ebics-users/{user}/keys/signature/certificate");
    let import = |body| {
        let payload = Payload::Raw("application/pkix-cert", body);
        w.send(Method::PUT, &w.owner_a, &certificate, payload)
    };
    let garbage = import(b"not a certificate".to_vec()).await;
    garbage.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_certificate");
    let other_key = kontor_protocol::keys::KeyPair::generate(
        &mut rand::rngs::OsRng,
        kontor_protocol::keys::KeySize::Bits2048,
    )
    .expect("key");
    let foreign = kontor_protocol::certificate::Certificate::generate_self_signed(
        other_key.private_key(),
        &kontor_protocol::certificate::CertificateSubject {
            common_name: "Someone Else".into(),
            organization: None,
            country: None,
        },
        kontor_protocol::certificate::KeyPurpose::Signature,
        chrono::Utc::now(),
        1,
        &mut rand::rngs::OsRng,
    )
    .expect("certificate");
    let mismatch = import(foreign.to_pem().into_bytes()).await;
    mismatch.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_certificate");
    let unchanged = w
        .get(&w.viewer_a, &format!("/v1/ebics-users/{user}/keys"))
        .await
        .json();
    assert_eq!(unchanged[0]["key_hash"], signature_hash.as_str());
}
