//! Large payment files through the API: a 50 MiB pain.001 is streamed in, signed, and
//! uploaded to the bank emulator in several segments; a file over the configured limit
//! answers a JSON 413 with the limit and stores nothing. On SQLite and PostgreSQL.

use axum::http::{Method, StatusCode};
use kontor_daemon::api::{router, AppState};
use kontor_protocol::ProtocolVersion::H005;
use kontor_storage::{
    Order, OrderId, OrderStatus, Page, Role, SignatureClass, StoredFile, Transaction,
};

use crate::support::api::{call, call_with, Payload};
use crate::support::emulator::{ready_world, world, Setup, World};
use crate::support::payments::pain001;
use crate::support::TestDb;

/// A pain.001 of at least `bytes`: cent transfers, so the total stays within every limit.
fn pain001_of_at_least(bytes: usize) -> Vec<u8> {
    let sample = pain001("MSG-SIZE", &[("Lieferant GmbH", "0.01"); 100]).len();
    // Longer end-to-end ids make later transfers a little larger than the sample's.
    let count = bytes / (sample / 100) * 21 / 20;
    let creditors = vec![("Lieferant GmbH", "0.01"); count];
    let file = pain001("MSG-LARGE", &creditors);
    assert!(file.len() >= bytes, "{} < {bytes}", file.len());
    file
}

/// A ready H005 world whose user may send CCT, with the API over it and an admin's token.
struct OrdersApi {
    w: World,
    app: axum::Router,
    token: String,
}

impl OrdersApi {
    async fn new(db: TestDb) -> Self {
        let w = ready_world(db, H005).await;
        w.describe_bank(&["CCT", "BTU"]).await;
        w.permit("CCT", SignatureClass::E).await;
        let token = w.token("ops@acme.example", Role::Admin).await;
        let app = router(AppState::new(w.services.clone()));
        Self { w, app, token }
    }

    /// `method path` as the admin, answered `status`; the answer's JSON.
    async fn call(
        &self,
        method: Method,
        path: &str,
        payload: Payload,
        status: StatusCode,
    ) -> serde_json::Value {
        let reply = call(&self.app, method, path, Some(&self.token), payload).await;
        reply.assert_status(status);
        reply.json()
    }

    /// Uploads `file` as a CCT order; the created order's view and its id.
    async fn create_order(&self, file: &[u8]) -> (serde_json::Value, OrderId) {
        let uri = format!("/v1/orders?ebics_user_id={}&order_type=CCT", self.w.user);
        let payload = Payload::Raw("application/xml", file.to_vec());
        let body = self
            .call(Method::POST, &uri, payload, StatusCode::CREATED)
            .await;
        let id = body["id"].as_str().unwrap().parse().unwrap();
        (body, id)
    }
}

async fn fifty_mib_pain001_is_uploaded_through_the_api_in_segments(db: TestDb) {
    let api = OrdersApi::new(db).await;
    let w = &api.w;
    let file = pain001_of_at_least(50 << 20);

    let (body, id) = api.create_order(&file).await;
    assert_eq!(body["content_size"].as_i64(), Some(file.len() as i64));

    w.signed_by_user(id, &file).await;

    let submit = format!("/v1/orders/{id}/submit");
    api.call(Method::POST, &submit, Payload::None, StatusCode::ACCEPTED)
        .await;
    let mut tx = w.tx().await;
    let order: Order = tx.get(id).await.unwrap();
    assert!(
        matches!(
            order.status,
            OrderStatus::Processing | OrderStatus::Completed
        ),
        "{order:?}"
    );
    let upload: Transaction = tx.get(order.transaction_id.unwrap()).await.unwrap();
    let segments = upload.num_segments.unwrap();
    assert!(segments > 1, "in segments: {segments}");
    println!(
        "{} byte pain.001 uploaded in {segments} segments",
        file.len()
    );
}

async fn file_over_the_limit_answers_413_and_stores_nothing(db: TestDb) {
    let w = world(db, Setup::new(H005)).await;
    w.describe_bank(&["CCT"]).await;
    let token = w.token("ops@acme.example", Role::Admin).await;
    let limit: u64 = 1 << 20;
    let app = router(AppState::new(w.services.clone()).with_max_order_file_bytes(limit));
    let file = pain001_of_at_least(limit as usize + 1);
    let uri = format!("/v1/orders?ebics_user_id={}&order_type=CCT", w.user);

    // Counted while streaming (no Content-Length), and refused at once by its Content-Length.
    let length = file.len().to_string();
    for headers in [vec![], vec![("content-length", length.as_str())]] {
        let reply = call_with(
            &app,
            Method::POST,
            &uri,
            Some(&token),
            Payload::Raw("application/xml", file.clone()),
            &headers,
        )
        .await;
        reply.assert_status(StatusCode::PAYLOAD_TOO_LARGE);
        let body = reply.json();
        assert_eq!(body["error"]["code"], "payload_too_large");
        assert_eq!(body["error"]["limit_bytes"], limit);
    }

    let mut tx = w.tx().await;
    let orders: Vec<Order> = tx.list(Page::first(10)).await.unwrap();
    let files: Vec<StoredFile> = tx.list(Page::first(10)).await.unwrap();
    assert!(
        orders.is_empty() && files.is_empty(),
        "{orders:?} {files:?}"
    );
    drop(tx);
    let incoming = w.data_dir.path().join("incoming");
    let left = std::fs::read_dir(&incoming).map_or(0, |d| d.count());
    assert_eq!(left, 0, "no spooled file is left behind");
}

/// Showing an order reads the summary stored at its creation, not its (possibly large) file;
/// an order of an earlier version, which has none, is summarised from its file.
async fn order_view_shows_the_stored_summary_without_reading_the_file(db: TestDb) {
    let api = OrdersApi::new(db).await;
    let w = &api.w;
    let file = pain001(
        "MSG-VIEW",
        &[("Lieferant GmbH", "10.00"), ("Beta AG", "2.50")],
    );
    let (created, id) = api.create_order(&file).await;
    assert_eq!(created["summary"]["number_of_transactions"], 2);
    let path = format!("/v1/orders/{id}");
    let show = || async {
        let shown = api
            .call(Method::GET, &path, Payload::None, StatusCode::OK)
            .await;
        shown["summary"].clone()
    };

    // The file on disk is not read: not even a broken one changes the view.
    let order: Order = w.tx().await.get(id).await.unwrap();
    let stored: StoredFile = w.tx().await.get(order.content_file_id).await.unwrap();
    let kept = w.data_dir.path().join(stored.path.unwrap());
    std::fs::write(&kept, b"not a payment file").unwrap();
    assert_eq!(show().await, created["summary"]);

    // An order of an earlier version has no stored summary: its file is read.
    std::fs::write(&kept, &file).unwrap();
    let mut tx = w.tx().await;
    let removed = tx
        .raw_execute(
            "DELETE FROM order_summaries WHERE order_id = $1",
            &[id.to_string().as_str()],
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(removed, 1);
    assert_eq!(show().await, created["summary"]);
}

on_both_databases! {
    order_view_shows_the_stored_summary_without_reading_the_file;
    fifty_mib_pain001_is_uploaded_through_the_api_in_segments;
    file_over_the_limit_answers_413_and_stores_nothing;
}
