//! The demo's webhook receiver: a local HTTP endpoint, standing in for an ERP, that checks
//! each request's Standard Webhooks signature with the subscription's secret, as any
//! receiver would, before it believes the event.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use kontor_daemon::services::webhooks::signature::{self, SignedHeaders};
use kontor_storage::WebhookSecret;

/// One request the receiver accepted: its signature verified.
#[derive(Debug, Clone)]
pub struct Verified {
    pub id: String,
    pub signature: String,
    pub event_type: String,
}

#[derive(Clone)]
struct Shared {
    secret: Arc<Mutex<Option<WebhookSecret>>>,
    verified: Arc<Mutex<Vec<Verified>>>,
}

pub struct Receiver {
    pub url: String,
    shared: Shared,
    server: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub async fn start() -> anyhow::Result<Self> {
        let shared = Shared {
            secret: Arc::default(),
            verified: Arc::default(),
        };
        let app = axum::Router::new()
            .route("/erp/webhooks", axum::routing::post(receive))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/erp/webhooks", listener.local_addr()?);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            url,
            shared,
            server,
        })
    }

    /// The secret the subscription's creation showed (once).
    pub fn trust(&self, whsec: &str) -> anyhow::Result<()> {
        let secret = WebhookSecret::from_whsec(whsec).context("the secret is not whsec_...")?;
        *self.shared.secret.lock().unwrap() = Some(secret);
        Ok(())
    }

    /// Waits (at most 30 s) for the first verified event.
    pub async fn first(&self) -> anyhow::Result<Verified> {
        for _ in 0..300 {
            if let Some(first) = self.shared.verified.lock().unwrap().first() {
                return Ok(first.clone());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("no webhook arrived within 30 s")
    }

    pub fn stop(self) {
        self.server.abort();
    }
}

async fn receive(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let Some(signed) = SignedHeaders::received(&headers) else {
        return StatusCode::BAD_REQUEST;
    };
    let Ok(body) = String::from_utf8(body.to_vec()) else {
        return StatusCode::BAD_REQUEST;
    };
    let verified = match &*shared.secret.lock().unwrap() {
        Some(secret) => signature::verify(
            secret,
            &signed.id,
            signed.timestamp,
            &body,
            &signed.signature,
        ),
        None => false,
    };
    // Receivers refuse stale timestamps (replays); 5 minutes as the convention suggests.
    let fresh = (chrono::Utc::now().timestamp() - signed.timestamp).abs() <= 300;
    if !verified || !fresh {
        return StatusCode::UNAUTHORIZED;
    }
    let event_type = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["type"].as_str().map(str::to_owned))
        .unwrap_or_default();
    shared.verified.lock().unwrap().push(Verified {
        id: signed.id,
        signature: signed.signature,
        event_type,
    });
    StatusCode::NO_CONTENT
}
