//! Webhooks: per-tenant subscriptions that receive signed events (Standard Webhooks).
//!
//! - **Emitting** is the storage outbox: a workflow calls
//!   `tx.webhooks().emit(WebhookEventType::OrderCompleted, data)` in the *same* scoped
//!   transaction as its state change ([`kontor_storage::Webhooks::emit`]), so an event exists
//!   exactly when the change committed. [`events`] builds the `data` of each event type in
//!   one place; new producers (certificate expiry, key rollover, ...) call the same two lines.
//! - **Managing** subscriptions is here: the target URL is checked ([`target`]) before the
//!   subscription is written, the secret is shown once at creation and rotation.
//! - **Delivering** is [`worker`]: leased across instances, in order per subscription, signed
//!   ([`signature`]), retried on a schedule of at least a day, then the subscription is parked.

pub mod events;
pub mod signature;
pub mod target;
pub mod worker;

use std::time::Duration;

use chrono::Utc;
use kontor_storage::{
    NewWebhookSubscription, TenantScope, WebhookDelivery, WebhookDeliveryId, WebhookSecret,
    WebhookSubscription, WebhookSubscriptionChange, WebhookSubscriptionId,
};

use super::error::{Refusal, ServiceError};
use super::Services;

/// How webhooks are checked and delivered (configuration `[webhooks]`).
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookSettings {
    /// Whether targets may resolve to private, loopback or link-local addresses
    /// (`webhooks.allow_private_targets`, `KONTOR_WEBHOOKS_ALLOW_PRIVATE_TARGETS`).
    pub allow_private_targets: bool,
    /// The pause before each retry: after the first failed attempt the first entry, and so
    /// on. When it is used up, the delivery fails and the subscription is parked.
    pub retry_schedule: Vec<Duration>,
    /// Up to this fraction of each pause is added at random, so receivers that come back
    /// after an outage are not hit by every instance at the same second.
    pub jitter: f64,
    /// Connect, send and answer of one attempt, in total.
    pub request_timeout: Duration,
    /// How long the previous secret keeps signing after a rotation.
    pub secret_overlap: Duration,
    /// How long a leased delivery stays with one instance (well above `request_timeout`).
    pub lease_for: Duration,
    /// Pause of the delivery worker when nothing was due.
    pub idle_wait: Duration,
    /// Deliveries leased per pass.
    pub batch: u32,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        let minutes = |m: u64| Duration::from_secs(60 * m);
        Self {
            allow_private_targets: false,
            // 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: eight attempts over about 27.6 hours.
            retry_schedule: vec![
                Duration::from_secs(5),
                minutes(5),
                minutes(30),
                minutes(120),
                minutes(300),
                minutes(600),
                minutes(600),
            ],
            jitter: 0.1,
            request_timeout: Duration::from_secs(15),
            secret_overlap: Duration::from_secs(24 * 3600),
            lease_for: Duration::from_secs(120),
            idle_wait: Duration::from_secs(2),
            batch: 32,
        }
    }
}

/// A subscription as created or rotated, with its secret (`whsec_...`), shown this once.
#[derive(Debug)]
pub struct WithSecret {
    pub subscription: WebhookSubscription,
    pub secret: WebhookSecret,
}

async fn check_target(services: &Services, url: &str) -> Result<(), ServiceError> {
    target::check(url, services.webhook_settings().allow_private_targets)
        .await
        .map(|_| ())
        .map_err(|e| Refusal::WebhookTarget(e).into())
}

/// Creates an enabled subscription after checking its target.
pub async fn create(
    services: &Services,
    scope: &TenantScope,
    new: NewWebhookSubscription,
) -> Result<WithSecret, ServiceError> {
    // Resolved before the transaction opens: a slow DNS answer must not hold SQLite's lock.
    check_target(services, &new.url).await?;
    let mut tx = services.store().scope(scope).begin().await?;
    let (subscription, secret) = tx.webhooks().create(new).await?;
    tx.commit().await?;
    Ok(WithSecret {
        subscription,
        secret,
    })
}

/// Changes a subscription (a new URL is checked like at creation).
pub async fn update(
    services: &Services,
    scope: &TenantScope,
    id: WebhookSubscriptionId,
    change: WebhookSubscriptionChange,
) -> Result<WebhookSubscription, ServiceError> {
    if let Some(url) = &change.url {
        check_target(services, url).await?;
    }
    let mut tx = services.store().scope(scope).begin().await?;
    let subscription = tx.webhooks().update(id, change).await?;
    tx.commit().await?;
    Ok(subscription)
}

/// Deletes a subscription with its deliveries and their log.
pub async fn delete(
    services: &Services,
    scope: &TenantScope,
    id: WebhookSubscriptionId,
) -> Result<(), ServiceError> {
    let mut tx = services.store().scope(scope).begin().await?;
    tx.delete(id).await?;
    tx.commit().await?;
    Ok(())
}

/// A new secret; the old one keeps signing for [`WebhookSettings::secret_overlap`].
pub async fn rotate_secret(
    services: &Services,
    scope: &TenantScope,
    id: WebhookSubscriptionId,
) -> Result<WithSecret, ServiceError> {
    let overlap = chrono::Duration::from_std(services.webhook_settings().secret_overlap)
        .map_err(|e| ServiceError::Internal(Box::new(e)))?;
    let mut tx = services.store().scope(scope).begin().await?;
    let (subscription, secret) = tx
        .webhooks()
        .rotate_secret(id, Utc::now() + overlap)
        .await?;
    tx.commit().await?;
    Ok(WithSecret {
        subscription,
        secret,
    })
}

/// Declares operations that are one call of the tenant's webhook repository, by id, in a
/// transaction of their own.
macro_rules! one_call {
    ($($(#[doc = $doc:literal])+ $name:ident($id:ty) -> $out:ty;)+) => {$(
        $(#[doc = $doc])+
        pub async fn $name(
            services: &Services,
            scope: &TenantScope,
            id: $id,
        ) -> Result<$out, ServiceError> {
            let mut tx = services.store().scope(scope).begin().await?;
            let out = tx.webhooks().$name(id).await?;
            tx.commit().await?;
            Ok(out)
        }
    )+};
}

one_call! {
    /// Resumes a parked subscription: its failed deliveries go out again, in order.
    resume(WebhookSubscriptionId) -> WebhookSubscription;
    /// Queues a `webhook.ping` event for one subscription.
    ping(WebhookSubscriptionId) -> WebhookDelivery;
    /// Queues a delivery's event again, under the same `webhook-id`.
    redeliver(WebhookDeliveryId) -> WebhookDelivery;
}
