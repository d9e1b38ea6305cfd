//! The admin API, against an in-process demo bank on a free port.

use crate::support;

use chrono::Utc;
use kontor_bank::ids::TransactionId;
use kontor_bank::state::ServedDownload;
use kontor_protocol::keys::KeyHash;
use serde_json::{json, Value};
use support::{
    admin_get_json, demo_bank, get_json as get, http, initialise, p, post_json as post,
    record_pending_cct, u,
};

/// The status of `GET url` sent with `token` as its bearer token.
async fn status_with_token(url: &str, token: &str) -> u16 {
    http()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("reachable")
        .status()
        .as_u16()
}

#[tokio::test]
async fn health_reports_the_ebics_dispatcher() {
    let bank = demo_bank().await;
    let body = admin_get_json(&bank, "/health").await;
    assert_eq!(body["status"], "ok");
    assert_eq!(body["host_id"], "KONTORBANK");
    assert_eq!(body["dispatcher"], "ebics");
    assert_eq!(body["protocol_versions"], json!(["H004", "H005"]));
    bank.shutdown().await;
}

#[tokio::test]
async fn seeded_users_are_listed_as_new() {
    let bank = demo_bank().await;
    let body = admin_get_json(&bank, "/users").await;
    assert_eq!(body["count"], 5);
    let user1 = body["users"]
        .as_array()
        .expect("array")
        .iter()
        .find(|x| x["user_id"] == "USER1")
        .expect("USER1")
        .clone();
    assert_eq!(user1["status"], "New");
    assert_eq!(user1["signature_class"], "E");
    bank.shutdown().await;
}

#[tokio::test]
async fn activation_before_ini_and_hia_is_refused() {
    let bank = demo_bank().await;
    let (status, body) = post(
        format!("{}/users/PARTNER1/USER1/activate", bank.admin_url()),
        None,
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("activation is not allowed in status New"),
        "{body}"
    );
    bank.shutdown().await;
}

#[tokio::test]
async fn the_clerk_activates_an_initialised_user() {
    let bank = demo_bank().await;
    initialise(&bank, "PARTNER1", "USER1");
    let (status, body) = post(
        format!("{}/users/PARTNER1/USER1/activate", bank.admin_url()),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "Ready");
    assert_eq!(body["keys"]["authentication"]["version"], "X002");
    assert_eq!(
        body["keys"]["authentication"]["hash_sha256_hex"],
        KeyHash::from_bytes([2; 32]).to_hex_lower()
    );
    let (_, one) = get(format!("{}/users/PARTNER1/USER1", bank.admin_url())).await;
    assert_eq!(one["status"], "Ready");
    assert_eq!(
        bank.state()
            .subscriber(&p("PARTNER1"), &u("USER1"))
            .map(|s| s.status.may_transact()),
        Some(true)
    );
    bank.shutdown().await;
}

#[tokio::test]
async fn activation_checks_the_letter_hashes() {
    let bank = demo_bank().await;
    initialise(&bank, "PARTNER1", "USER2");
    let url = format!("{}/users/PARTNER1/USER2/activate", bank.admin_url());
    let wrong = json!({ "letter": { "signature": KeyHash::from_bytes([9; 32]).to_hex_lower() } });
    let (status, body) = post(url.clone(), Some(wrong)).await;
    assert_eq!(status, 409, "{body}");
    let right = json!({ "letter": { "signature": KeyHash::from_bytes([1; 32]).to_string(), "encryption": KeyHash::from_bytes([3; 32]).to_hex_lower() } });
    let (status, body) = post(url, Some(right)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "Ready");
    bank.shutdown().await;
}

#[tokio::test]
async fn lifecycle_actions_and_error_statuses() {
    let bank = demo_bank().await;
    let base = bank.admin_url();
    let (status, body) = post(format!("{base}/users/PARTNER1/USER3/lock"), None).await;
    assert_eq!((status, body["status"].clone()), (200, json!("Locked")));
    let (status, _) = post(format!("{base}/users/PARTNER1/USER3/suspend"), None).await;
    assert_eq!(status, 409, "a locked user must be unlocked first");
    let (status, body) = post(format!("{base}/users/PARTNER1/USER3/unlock"), None).await;
    assert_eq!((status, body["status"].clone()), (200, json!("New")));
    let (status, _) = post(format!("{base}/users/PARTNER1/NOBODY/activate"), None).await;
    assert_eq!(status, 404);
    let (status, _) = post(format!("{base}/users/PARTNER1/bad%20id/activate"), None).await;
    assert_eq!(status, 400);
    let (status, _) = post(format!("{base}/users/PARTNER1/USER3/explode"), None).await;
    assert_eq!(status, 404);
    bank.shutdown().await;
}

#[tokio::test]
async fn orders_veu_and_downloads_are_listed() {
    let bank = demo_bank().await;
    let state = bank.state();
    record_pending_cct(state, "USER2", None);
    let now = Utc::now();
    state.record_served_download(ServedDownload {
        transaction_id: TransactionId::random(),
        order_type: "STA".into(),
        service: None,
        partner_id: p("PARTNER1"),
        user_id: u("USER1"),
        size: 3,
        sha256: "00".repeat(32),
        created_at: now,
    });

    let base = bank.admin_url();
    let (_, orders) = get(format!("{base}/orders")).await;
    assert_eq!(orders["count"], 1);
    assert_eq!(orders["orders"][0]["order_id"], "A001");
    assert_eq!(orders["orders"][0]["order"]["order_type"], "CCT");
    assert_eq!(orders["orders"][0]["status"], "awaiting_signatures");
    assert!(
        orders["orders"][0].get("content_base64").is_none(),
        "content only on request"
    );
    let (_, with_content) = get(format!("{base}/orders?include_content=true")).await;
    assert_eq!(
        with_content["orders"][0]["content_base64"],
        "PERvY3VtZW50Lz4="
    );
    let (_, count) = get(format!("{base}/orders/count")).await;
    assert_eq!(count["count"], 1);
    let (_, veu) = get(format!("{base}/veu")).await;
    assert_eq!(veu["items"][0]["status"], "pending");
    assert_eq!(veu["items"][0]["required_signatures"], 2);
    let (_, downloads) = get(format!("{base}/downloads")).await;
    assert_eq!(downloads["downloads"][0]["order_type"], "STA");
    let (_, txs) = get(format!("{base}/transactions")).await;
    assert_eq!(txs["count"], 0);
    bank.shutdown().await;
}

#[tokio::test]
async fn bank_keys_are_published_in_both_hash_forms() {
    let bank = demo_bank().await;
    let body = admin_get_json(&bank, "/bank-keys").await;
    assert_eq!(body["h005"]["authentication"]["version"], "X002");
    assert_ne!(
        body["h005"]["authentication"]["hash_sha256_hex"],
        body["authentication"]["hash_sha256_hex"],
        "H005 hashes the certificate, H004 the key"
    );
    assert_eq!(body["authentication"]["version"], "X002");
    assert_eq!(body["encryption"]["version"], "E002");
    let hex = body["authentication"]["hash_sha256_hex"]
        .as_str()
        .expect("hex");
    assert_eq!(hex.len(), 64);
    assert_eq!(
        Some(hex.to_owned()),
        bank.keys()
            .published()
            .authentication
            .hash
            .to_hex_lower()
            .into()
    );
    bank.shutdown().await;
}

#[tokio::test]
async fn fault_rules_can_be_installed_listed_and_cleared() {
    let bank = demo_bank().await;
    let url = format!("{}/faults", bank.admin_url());
    let rule = json!({ "name": "slow STA", "match": { "order_type": "STA" }, "action": { "kind": "delay", "ms": 5 }, "times": 2 });
    let (status, body) = post(url.clone(), Some(rule)).await;
    assert_eq!(status, 201, "{body}");
    let id = body["installed"][0].as_u64().expect("id");
    let (_, list) = get(url.clone()).await;
    assert_eq!(list["count"], 1);
    assert_eq!(list["rules"][0]["id"], id);
    assert_eq!(list["rules"][0]["action"]["kind"], "delay");
    assert_eq!(list["rules"][0]["fired"], 0);

    let (status, body) = post(
        url.clone(),
        Some(json!({ "action": { "kind": "http_status", "status": 200 } })),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        bank.faults().rules().len(),
        1,
        "invalid rules are not installed"
    );

    let r = http()
        .delete(format!("{url}/{id}"))
        .send()
        .await
        .expect("reachable");
    assert_eq!(r.status().as_u16(), 200);
    post(url.clone(), Some(json!([{ "action": { "kind": "drop_connection" } }, { "action": { "kind": "malformed_xml" } }]))).await;
    let r = http().delete(url.clone()).send().await.expect("reachable");
    let body: Value = serde_json::from_str(&r.text().await.expect("body")).expect("json");
    assert_eq!(body["removed"], 2);
    assert!(bank.faults().rules().is_empty());
    bank.shutdown().await;
}

#[tokio::test]
async fn beyond_loopback_the_admin_api_needs_a_token_and_a_set_token_is_enforced() {
    use kontor_bank::{Bank, BankConfig, StartError};
    // Refused before anything binds: no socket beyond loopback is ever opened here.
    let refused = Bank::builder(BankConfig::demo().expect("demo config"))
        .keys(support::bank_keys())
        .start("0.0.0.0:0".parse().expect("addr"))
        .await;
    let err = refused.expect_err("an all-interfaces bind without a token is refused");
    assert!(matches!(err, StartError::AdminUnprotected { .. }), "{err}");
    assert!(err.to_string().contains("--admin-token"), "{err}");

    let bank = Bank::builder(BankConfig::demo().expect("demo config"))
        .keys(support::bank_keys())
        .admin_token(Some("s3cret-admin".into()))
        .start("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("bank starts");
    let users = format!("{}/users", bank.admin_url());
    let (status, _) = get(users.clone()).await;
    assert_eq!(status, 401, "no token");
    assert_eq!(
        status_with_token(&users, "s3cret-admiN").await,
        401,
        "wrong token"
    );
    assert_eq!(status_with_token(&users, "s3cret-admin").await, 200);
    // The EBICS endpoint is not behind the admin token.
    let ebics = http()
        .post(bank.ebics_url())
        .body("<not-ebics/>")
        .send()
        .await
        .expect("reachable");
    assert_ne!(ebics.status().as_u16(), 401);
    bank.shutdown().await;
}
