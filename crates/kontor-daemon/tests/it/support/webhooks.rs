//! A local webhook receiver: records every request it gets and answers with a status the
//! test sets (200 unless told otherwise).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use kontor_daemon::services::webhooks::signature::{self, SignedHeaders};
use kontor_daemon::services::webhooks::WebhookSettings;
use kontor_storage::WebhookSecret;

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub timestamp: i64,
    pub signature: String,
    pub body: String,
    /// The status the receiver answered.
    pub answered: u16,
}

impl Received {
    /// The event's `type`.
    pub fn event_type(&self) -> String {
        let body: serde_json::Value = serde_json::from_str(&self.body).unwrap();
        body["type"].as_str().unwrap().to_owned()
    }

    /// Whether the Standard Webhooks signature verifies with `whsec`.
    pub fn verifies(&self, whsec: &str) -> bool {
        let secret = WebhookSecret::from_whsec(whsec).expect("a whsec_ secret");
        signature::verify(
            &secret,
            &self.id,
            self.timestamp,
            &self.body,
            &self.signature,
        )
    }
}

#[derive(Clone, Default)]
struct Shared {
    received: Arc<Mutex<Vec<Received>>>,
    status: Arc<AtomicU16>,
}

pub struct Receiver {
    pub url: String,
    shared: Shared,
    _server: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub async fn start() -> Self {
        let shared = Shared::default();
        shared.status.store(200, Ordering::SeqCst);
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            url: format!("http://{addr}/hook"),
            shared,
            _server: server,
        }
    }

    /// From now on answer `status`.
    pub fn answer(&self, status: u16) {
        self.shared.status.store(status, Ordering::SeqCst);
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }
}

async fn receive(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let signed = SignedHeaders::received(&headers).expect("Standard Webhooks headers");
    let answered = shared.status.load(Ordering::SeqCst);
    shared.received.lock().unwrap().push(Received {
        id: signed.id,
        timestamp: signed.timestamp,
        signature: signed.signature,
        body: String::from_utf8(body.to_vec()).unwrap(),
        answered,
    });
    StatusCode::from_u16(answered).unwrap()
}

/// Settings for tests: loopback targets allowed, `retries` immediate retries, no jitter.
pub fn loopback_settings(retries: usize) -> WebhookSettings {
    WebhookSettings {
        allow_private_targets: true,
        retry_schedule: vec![std::time::Duration::ZERO; retries],
        jitter: 0.0,
        ..WebhookSettings::default()
    }
}
