//! Webhook subscriptions and the transactional outbox of their events.
//!
//! **No event is lost or invented.** [`Webhooks::emit`] writes the event and one delivery row
//! per subscription that wants it *inside the caller's scoped transaction*: the state change
//! and its event commit together or not at all. A worker (the daemon's delivery pass) later
//! leases pending deliveries across instances (`System::lease_due_webhook_deliveries`) and
//! records each attempt here.
//!
//! **In order per subscription.** A delivery is due only while no older (smaller UUIDv7 id)
//! delivery of the same subscription is still pending, so a receiver sees a subscription's
//! events in the order they were written, retries included.
//!
//! Secrets are stored encrypted under the master key, bound to tenant and subscription, and
//! leave this module only as [`WebhookSecret`] (zeroized, `Debug` prints `[redacted]`).

use base64::Engine as _;
use chrono::{DateTime, Utc};
use rand::RngCore;
use zeroize::Zeroizing;

use super::{entity, repository};
use crate::db::{now, read_rows, record, to_json, RowReader, Val};
use crate::error::{Result, StorageError};
use crate::ids::{WebhookAttemptId, WebhookDeliveryId, WebhookEventId, WebhookSubscriptionId};
use crate::status::{WebhookDeliveryStatus, WebhookEventType, WebhookSubscriptionStatus};

/// The prefix of a secret as shown to the operator (Standard Webhooks: `whsec_<base64>`).
const SECRET_PREFIX: &str = "whsec_";

/// A subscription's signing key: 32 random bytes (Standard Webhooks recommends 24 to 64).
pub struct WebhookSecret(Zeroizing<Vec<u8>>);

impl WebhookSecret {
    fn generate() -> Self {
        let mut bytes = Zeroizing::new(vec![0u8; 32]);
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// The key HMAC-SHA256 uses.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// The secret as the operator copies it: `whsec_` and the key in standard base64.
    pub fn to_whsec(&self) -> Zeroizing<String> {
        Zeroizing::new(format!(
            "{SECRET_PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(&*self.0)
        ))
    }

    /// Reads a `whsec_` secret (receivers and tests verify with it).
    pub fn from_whsec(text: &str) -> Option<Self> {
        let encoded = text.strip_prefix(SECRET_PREFIX)?;
        base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()
            .map(|b| Self(Zeroizing::new(b)))
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

record! {
    /// Where a tenant's events go. The secret is not part of it: it is shown once, at creation
    /// and rotation.
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
    #[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
    pub struct WebhookSubscription {
        pub id: WebhookSubscriptionId,
        #[new] pub url: String,
        #[new] pub description: Option<String>,
        /// The event types it receives; empty means all.
        #[new] pub event_types: Vec<WebhookEventType>,
        pub status: WebhookSubscriptionStatus,
        /// Until then the secret before the last rotation signs too.
        pub previous_secret_until: Option<DateTime<Utc>>,
        pub parked_at: Option<DateTime<Utc>>,
        pub created_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
    }
    /// A subscription to create.
    #[derive(Debug, Clone)]
    pub struct NewWebhookSubscription;
}

crate::db::column_via!(Vec<WebhookEventType> => json);
crate::db::val_as_text!(Vec<WebhookEventType> => to_json);

impl WebhookSubscription {
    /// Whether the subscription receives events of `event_type`.
    pub fn wants(&self, event_type: WebhookEventType) -> bool {
        self.status.records_events()
            && (self.event_types.is_empty() || self.event_types.contains(&event_type))
    }
}
entity!(
    WebhookSubscription,
    WebhookSubscriptionId,
    "webhook_subscriptions",
    "webhook subscription",
    Deletable
);

/// Changes to a subscription; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct WebhookSubscriptionChange {
    pub url: Option<String>,
    pub description: Option<Option<String>>,
    pub event_types: Option<Vec<WebhookEventType>>,
    /// Enable (also from PARKED, like a resume) or disable.
    pub enabled: Option<bool>,
}

record! {
    /// One event for one subscription: its state and the outcome of its last attempt.
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
    #[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
    pub struct WebhookDelivery {
        pub id: WebhookDeliveryId,
        pub subscription_id: WebhookSubscriptionId,
        /// The `webhook-id` a receiver sees: the same for every attempt and redelivery.
        pub event_id: WebhookEventId,
        pub event_type: WebhookEventType,
        pub status: WebhookDeliveryStatus,
        pub attempts: i64,
        pub next_attempt_at: DateTime<Utc>,
        pub last_attempt_at: Option<DateTime<Utc>>,
        pub last_response_code: Option<i64>,
        pub last_error: Option<String>,
        pub delivered_at: Option<DateTime<Utc>>,
        pub created_at: DateTime<Utc>,
    }
}

entity!(
    WebhookDelivery,
    WebhookDeliveryId,
    "webhook_deliveries",
    "webhook delivery"
);

record! {
    /// One HTTP attempt of a delivery (the delivery log).
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
    #[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
    pub struct WebhookAttempt {
        pub id: WebhookAttemptId,
        pub delivery_id: WebhookDeliveryId,
        pub attempted_at: DateTime<Utc>,
        /// The receiver's HTTP status, when it answered.
        pub response_code: Option<i64>,
        /// Why the attempt failed (timeout, refused target, non-2xx answer).
        pub error: Option<String>,
        pub duration_ms: i64,
    }
}

/// What the worker needs to send a leased delivery.
#[derive(Debug)]
pub struct DeliveryJob {
    pub delivery: WebhookDelivery,
    pub url: String,
    /// The exact body to send and sign.
    pub body: String,
    /// The current secret, then the previous one during a rotation's overlap.
    pub secrets: Vec<WebhookSecret>,
}

/// How an attempt ended, as the worker records it.
#[derive(Debug, Clone)]
pub struct AttemptOutcome {
    pub attempted_at: DateTime<Utc>,
    pub response_code: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: i64,
    /// What follows: delivered, retry at a time, or give up and park the subscription.
    pub next: NextStep,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    Delivered,
    RetryAt(DateTime<Utc>),
    Park,
}

repository!(
    /// Webhook subscriptions, events and deliveries of the scope's tenant.
    Webhooks,
    webhooks
);

impl Webhooks<'_, '_> {
    fn secret_context(&self, id: WebhookSubscriptionId) -> Vec<u8> {
        format!("{}/webhook/{}", self.tx.tenant, id).into_bytes()
    }

    fn seal(&self, id: WebhookSubscriptionId, secret: &WebhookSecret) -> Vec<u8> {
        self.tx
            .store
            .master_key()
            .encrypt(secret.bytes(), &self.secret_context(id))
    }

    fn open(&self, id: WebhookSubscriptionId, stored: &[u8]) -> Result<WebhookSecret> {
        let plain = self
            .tx
            .store
            .master_key()
            .decrypt(stored, &self.secret_context(id))?;
        Ok(WebhookSecret(Zeroizing::new(plain.to_vec())))
    }

    /// Creates an enabled subscription with a new secret, returned here and never again.
    pub async fn create(
        &mut self,
        new: NewWebhookSubscription,
    ) -> Result<(WebhookSubscription, WebhookSecret)> {
        let id = WebhookSubscriptionId::new();
        let secret = WebhookSecret::generate();
        let sealed = self.seal(id, &secret);
        let at = now();
        self.tx
            .insert::<WebhookSubscription>(&new.into_row([
                ("id", id.to_db().into()),
                ("status", WebhookSubscriptionStatus::Enabled.as_str().into()),
                ("secret", sealed.into()),
                ("created_at", at.into()),
                ("updated_at", at.into()),
            ]))
            .await?;
        Ok((self.tx.get(id).await?, secret))
    }

    /// All subscriptions of the tenant, oldest first.
    pub async fn list(&mut self) -> Result<Vec<WebhookSubscription>> {
        let rows = self
            .tx
            .fetch_all(
                "SELECT * FROM webhook_subscriptions WHERE tenant_id = $1 ORDER BY id",
                &[self.tx.tenant_val()],
            )
            .await?;
        read_rows(&rows, WebhookSubscription::read)
    }

    /// Applies `change`; enabling a parked subscription resumes it (see [`Webhooks::resume`]).
    pub async fn update(
        &mut self,
        id: WebhookSubscriptionId,
        change: WebhookSubscriptionChange,
    ) -> Result<WebhookSubscription> {
        let current: WebhookSubscription = self.tx.get(id).await?;
        let mut sets: Vec<(&str, Val)> = vec![("updated_at", now().into())];
        if let Some(url) = change.url {
            sets.push(("url", url.into()));
        }
        if let Some(description) = change.description {
            sets.push(("description", description.into()));
        }
        if let Some(types) = &change.event_types {
            sets.push(("event_types", to_json(types).into()));
        }
        self.tx.update(id, &sets).await?;
        let target = match change.enabled {
            Some(true) => WebhookSubscriptionStatus::Enabled,
            Some(false) => WebhookSubscriptionStatus::Disabled,
            None => current.status,
        };
        if target != current.status {
            if current.status == WebhookSubscriptionStatus::Parked {
                self.requeue_failed(id).await?;
            }
            self.move_status(id, current.status, target).await?;
        }
        self.tx.get(id).await
    }

    async fn move_status(
        &mut self,
        id: WebhookSubscriptionId,
        from: WebhookSubscriptionStatus,
        to: WebhookSubscriptionStatus,
    ) -> Result<()> {
        let parked_at: Val = if to == WebhookSubscriptionStatus::Parked {
            now().into()
        } else {
            Option::<String>::None.into()
        };
        let columns = [("parked_at", parked_at), ("updated_at", now().into())];
        let transition = WebhookSubscriptionStatus::transition;
        self.tx
            .set_status(id, "status", from, to, transition, &columns)
            .await
    }

    /// Resumes a parked subscription: it is enabled again and its failed deliveries are due
    /// now, oldest first, from the start of the retry schedule.
    pub async fn resume(&mut self, id: WebhookSubscriptionId) -> Result<WebhookSubscription> {
        self.requeue_failed(id).await?;
        self.move_status(
            id,
            WebhookSubscriptionStatus::Parked,
            WebhookSubscriptionStatus::Enabled,
        )
        .await?;
        self.tx.get(id).await
    }

    async fn requeue_failed(&mut self, id: WebhookSubscriptionId) -> Result<()> {
        self.tx
            .execute(
                "UPDATE webhook_deliveries SET status = $1, attempts = 0, next_attempt_at = $2 \
                 WHERE tenant_id = $3 AND subscription_id = $4 AND status = $5",
                &[
                    WebhookDeliveryStatus::Pending.as_str().into(),
                    now().into(),
                    self.tx.tenant_val(),
                    id.to_db().into(),
                    WebhookDeliveryStatus::Failed.as_str().into(),
                ],
            )
            .await?;
        Ok(())
    }

    /// Replaces the secret; the old one keeps signing (a second `v1,` signature) until
    /// `overlap_until`, so receivers can switch without losing an event. Returns the new
    /// secret, shown once.
    pub async fn rotate_secret(
        &mut self,
        id: WebhookSubscriptionId,
        overlap_until: DateTime<Utc>,
    ) -> Result<(WebhookSubscription, WebhookSecret)> {
        let row = self.secret_row(id).await?;
        let old = RowReader(&row).blob("secret")?;
        let secret = WebhookSecret::generate();
        let sealed = self.seal(id, &secret);
        let columns = [
            ("secret", sealed.into()),
            ("previous_secret", old.into()),
            ("previous_secret_until", overlap_until.into()),
        ];
        self.tx.touch(id, columns).await?;
        Ok((self.tx.get(id).await?, secret))
    }

    async fn secret_row(&mut self, id: WebhookSubscriptionId) -> Result<crate::db::DbRow> {
        self.tx
            .fetch_optional(
                "SELECT secret, previous_secret, previous_secret_until FROM webhook_subscriptions \
                 WHERE id = $1 AND tenant_id = $2",
                &[id.to_db().into(), self.tx.tenant_val()],
            )
            .await?
            .ok_or(StorageError::NotFound {
                entity: "webhook subscription",
            })
    }

    /// The secrets that sign at `at`: the current one, and the previous one during the
    /// overlap after a rotation.
    pub async fn signing_secrets(
        &mut self,
        id: WebhookSubscriptionId,
        at: DateTime<Utc>,
    ) -> Result<Vec<WebhookSecret>> {
        let row = self.secret_row(id).await?;
        let r = RowReader(&row);
        let mut secrets = vec![self.open(id, &r.blob("secret")?)?];
        if let (Some(previous), Some(until)) = (
            r.opt_blob("previous_secret")?,
            r.opt_ts("previous_secret_until")?,
        ) {
            if at < until {
                secrets.push(self.open(id, &previous)?);
            }
        }
        Ok(secrets)
    }

    /// Records that `event_type` happened, with `data`, in the caller's transaction: the
    /// event and a pending delivery for every enabled or parked subscription that wants it.
    /// Call it in the transaction of the state change itself. Without such a subscription
    /// nothing is written and `None` is returned.
    ///
    /// ```ignore
    /// tx.webhooks().emit(WebhookEventType::OrderCompleted, json!({"order_id": id})).await?;
    /// ```
    pub async fn emit(
        &mut self,
        event_type: WebhookEventType,
        data: serde_json::Value,
    ) -> Result<Option<WebhookEventId>> {
        let targets: Vec<WebhookSubscriptionId> = self
            .list()
            .await?
            .into_iter()
            .filter(|s| s.wants(event_type))
            .map(|s| s.id)
            .collect();
        if targets.is_empty() {
            return Ok(None);
        }
        let event = self.insert_event(event_type, data).await?;
        for subscription in targets {
            self.insert_delivery(subscription, event, event_type)
                .await?;
        }
        Ok(Some(event))
    }

    /// Sends a `webhook.ping` event to one subscription only (whatever its filter).
    pub async fn ping(&mut self, id: WebhookSubscriptionId) -> Result<WebhookDelivery> {
        let subscription: WebhookSubscription = self.tx.get(id).await?;
        let event = self
            .insert_event(
                WebhookEventType::Ping,
                serde_json::json!({ "subscription_id": subscription.id }),
            )
            .await?;
        let delivery = self
            .insert_delivery(id, event, WebhookEventType::Ping)
            .await?;
        self.tx.get(delivery).await
    }

    /// Sends a delivery's event again to its subscription, under the same `webhook-id`, as a
    /// new delivery (the old one and its log stay).
    pub async fn redeliver(&mut self, id: WebhookDeliveryId) -> Result<WebhookDelivery> {
        let old: WebhookDelivery = self.tx.get(id).await?;
        let delivery = self
            .insert_delivery(old.subscription_id, old.event_id, old.event_type)
            .await?;
        self.tx.get(delivery).await
    }

    async fn insert_event(
        &mut self,
        event_type: WebhookEventType,
        data: serde_json::Value,
    ) -> Result<WebhookEventId> {
        let id = WebhookEventId::new();
        let at = now();
        // The Standard Webhooks payload shape: type, timestamp, data.
        let body = to_json(&serde_json::json!({
            "type": event_type,
            "timestamp": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "data": data,
        }));
        self.tx
            .execute(
                "INSERT INTO webhook_events (tenant_id, id, event_type, body, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    self.tx.tenant_val(),
                    id.to_db().into(),
                    event_type.as_str().into(),
                    body.into(),
                    at.into(),
                ],
            )
            .await
            .map_err(|e| StorageError::from_write("webhook event", e))?;
        Ok(id)
    }

    async fn insert_delivery(
        &mut self,
        subscription: WebhookSubscriptionId,
        event: WebhookEventId,
        event_type: WebhookEventType,
    ) -> Result<WebhookDeliveryId> {
        let id = WebhookDeliveryId::new();
        let at = now();
        self.tx
            .insert::<WebhookDelivery>(&[
                ("id", id.to_db().into()),
                ("subscription_id", subscription.to_db().into()),
                ("event_id", event.to_db().into()),
                ("event_type", event_type.as_str().into()),
                ("status", WebhookDeliveryStatus::Pending.as_str().into()),
                ("next_attempt_at", at.into()),
                ("created_at", at.into()),
            ])
            .await?;
        Ok(id)
    }

    /// The newest `limit` deliveries of a subscription, newest first.
    pub async fn deliveries(
        &mut self,
        subscription: WebhookSubscriptionId,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>> {
        let _: WebhookSubscription = self.tx.get(subscription).await?;
        let rows = self
            .tx
            .fetch_all(
                "SELECT * FROM webhook_deliveries WHERE tenant_id = $1 AND subscription_id = $2 \
                 ORDER BY id DESC LIMIT $3",
                &[
                    self.tx.tenant_val(),
                    subscription.to_db().into(),
                    i64::from(limit).into(),
                ],
            )
            .await?;
        read_rows(&rows, WebhookDelivery::read)
    }

    /// The attempts of a delivery, oldest first.
    pub async fn attempts(&mut self, delivery: WebhookDeliveryId) -> Result<Vec<WebhookAttempt>> {
        let rows = self
            .tx
            .fetch_all(
                "SELECT * FROM webhook_attempts WHERE tenant_id = $1 AND delivery_id = $2 \
                 ORDER BY attempted_at, id",
                &[self.tx.tenant_val(), delivery.to_db().into()],
            )
            .await?;
        read_rows(&rows, WebhookAttempt::read)
    }

    /// A delivery leased by `owner`, with what sending it needs; `None` when the lease was
    /// lost (expired and taken over) or the delivery is no longer pending.
    pub async fn leased_delivery(
        &mut self,
        id: WebhookDeliveryId,
        owner: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<DeliveryJob>> {
        let row = self
            .tx
            .fetch_optional(
                "SELECT d.*, s.url AS url, e.body AS body FROM webhook_deliveries d \
                 JOIN webhook_subscriptions s ON s.tenant_id = d.tenant_id AND s.id = d.subscription_id \
                 JOIN webhook_events e ON e.tenant_id = d.tenant_id AND e.id = d.event_id \
                 WHERE d.tenant_id = $1 AND d.id = $2 AND d.lease_owner = $3 AND d.status = $4",
                &[
                    self.tx.tenant_val(),
                    id.to_db().into(),
                    owner.into(),
                    WebhookDeliveryStatus::Pending.as_str().into(),
                ],
            )
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let r = RowReader(&row);
        let delivery = WebhookDelivery::read(&r)?;
        let (url, body) = (r.text("url")?, r.text("body")?);
        let secrets = self.signing_secrets(delivery.subscription_id, at).await?;
        Ok(Some(DeliveryJob {
            delivery,
            url,
            body,
            secrets,
        }))
    }

    /// Records an attempt of a delivery leased by `owner` and releases the lease: delivered,
    /// due again later, or failed for good, which parks its subscription. Returns `false`
    /// (and writes nothing) when `owner` no longer holds the lease.
    pub async fn record_attempt(
        &mut self,
        id: WebhookDeliveryId,
        owner: &str,
        outcome: &AttemptOutcome,
    ) -> Result<bool> {
        let delivery: WebhookDelivery = self.tx.get(id).await?;
        let (status, next_at, delivered_at) = match outcome.next {
            NextStep::Delivered => (
                WebhookDeliveryStatus::Delivered,
                delivery.next_attempt_at,
                Some(outcome.attempted_at),
            ),
            NextStep::RetryAt(at) => (WebhookDeliveryStatus::Pending, at, None),
            NextStep::Park => (
                WebhookDeliveryStatus::Failed,
                delivery.next_attempt_at,
                None,
            ),
        };
        let changed = self
            .tx
            .execute(
                "UPDATE webhook_deliveries SET status = $1, attempts = attempts + 1, \
                 next_attempt_at = $2, last_attempt_at = $3, last_response_code = $4, \
                 last_error = $5, delivered_at = $6, lease_owner = NULL, lease_expires_at = NULL \
                 WHERE tenant_id = $7 AND id = $8 AND lease_owner = $9 AND status = $10",
                &[
                    status.as_str().into(),
                    next_at.into(),
                    outcome.attempted_at.into(),
                    outcome.response_code.map(i64::from).into(),
                    outcome.error.clone().into(),
                    delivered_at.into(),
                    self.tx.tenant_val(),
                    id.to_db().into(),
                    owner.into(),
                    WebhookDeliveryStatus::Pending.as_str().into(),
                ],
            )
            .await?;
        if changed != 1 {
            return Ok(false);
        }
        self.tx
            .execute(
                "INSERT INTO webhook_attempts \
                 (tenant_id, id, delivery_id, attempted_at, response_code, error, duration_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    self.tx.tenant_val(),
                    WebhookAttemptId::new().to_db().into(),
                    id.to_db().into(),
                    outcome.attempted_at.into(),
                    outcome.response_code.map(i64::from).into(),
                    outcome.error.clone().into(),
                    outcome.duration_ms.into(),
                ],
            )
            .await?;
        if outcome.next == NextStep::Park {
            let subscription: WebhookSubscription = self.tx.get(delivery.subscription_id).await?;
            if subscription.status == WebhookSubscriptionStatus::Enabled {
                self.move_status(
                    subscription.id,
                    WebhookSubscriptionStatus::Enabled,
                    WebhookSubscriptionStatus::Parked,
                )
                .await?;
            }
        }
        Ok(true)
    }
}
