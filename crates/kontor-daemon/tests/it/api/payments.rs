//! `POST /v1/payments` over HTTP: every invalid field in one 422 answer with its JSON path,
//! nothing stored; a valid payment is an order with per-transfer status at
//! `GET /v1/payments/{id}`.

use axum::http::StatusCode;
use serde_json::json;

use crate::support::api::{world, Payload};

fn transfer(end_to_end_id: &str, amount: serde_json::Value) -> serde_json::Value {
    json!({"end_to_end_id": end_to_end_id, "amount": amount,
           "counterparty": {"name": "Beta AG", "iban": "GB82WEST12345698765432"}})
}

#[tokio::test]
async fn invalid_payment_answers_422_with_every_json_path_and_stores_nothing() {
    let w = world().await;
    let uri = format!("/v1/payments?ebics_user_id={}", w.a.user_a);
    let orders_before = w.get(&w.admin_a, "/v1/orders").await.json();
    let mut transactions: Vec<serde_json::Value> = (0..150)
        .map(|i| transfer(&format!("E2E-{i}"), json!("0.00")))
        .collect();
    transactions.push(transfer("E2E-X", json!(12.5)));
    let reply = w
        .post(
            &w.admin_a,
            &uri,
            Payload::Json(json!({
                "scheme": "SEPA",
                "account": {"name": "ACME", "iban": "DE89370400440532013000"},
                "transactions": transactions,
            })),
        )
        .await;
    reply.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    let error = &reply.json()["error"];
    assert_eq!(error["code"], "invalid_payment");
    assert_eq!(error["errors"][0]["path"], "$.scheme");
    assert_eq!(error["errors"][0]["code"], "invalid_scheme");
    assert_eq!(error["errors"][1]["path"], "$.transactions[0].amount");
    assert_eq!(error["errors"][1]["code"], "invalid_amount");
    // 152 invalid fields, the first 100 listed.
    assert_eq!(error["error_count"], 152);
    assert_eq!(error["errors"].as_array().unwrap().len(), 100);
    assert!(error["message"].as_str().unwrap().starts_with("$.scheme: "));
    assert_eq!(w.get(&w.admin_a, "/v1/orders").await.json(), orders_before);
}

#[tokio::test]
async fn a_valid_payment_is_an_order_whose_transfers_show_their_status() {
    let w = world().await;
    let uri = format!("/v1/payments?ebics_user_id={}", w.a.user_a);
    let reply = w
        .post(&w.admin_a,
            &uri,
            Payload::Json(json!({
                "scheme": "SCT",
                "account": {"name": "ACME", "iban": "DE89370400440532013000"},
                "transactions": [transfer("E2E-1", json!("10.00")), transfer("E2E-2", json!("2.50"))],
            })),
        )
        .await;
    reply.assert_status(StatusCode::CREATED);
    let created = reply.json();
    assert_eq!(created["scheme"], "SCT");
    assert_eq!(created["number_of_transactions"], 2);
    assert_eq!(created["order"]["order_type"], "CCT");
    let id = created["order"]["id"].as_str().unwrap();
    // The same order as an uploaded file: its view and its file.
    let order = w.get(&w.admin_a, &format!("/v1/orders/{id}")).await;
    assert_eq!(order.json()["summary"]["control_sum"], "12.50");
    let payment = w
        .get(&w.admin_a, &format!("/v1/payments/{id}"))
        .await
        .json();
    let transfers = payment["transfers"].as_array().unwrap();
    assert_eq!(transfers.len(), 2);
    assert_eq!(transfers[1]["end_to_end_id"], "E2E-2");
    assert_eq!(transfers[1]["amount"], "2.50");
    assert_eq!(transfers[1]["status"], "PENDING");
    // Another tenant does not see it.
    let other = w.get(&w.owner_b, &format!("/v1/payments/{id}")).await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
}
