//! Webhooks end to end: every event of an order story reaches a local receiver with a valid
//! Standard Webhooks signature; a failing receiver gets the event again under the same id
//! until the subscription is parked, and again after it is resumed; two instances deliver
//! each event once; loopback targets are refused unless allowed.

use std::collections::HashMap;

use chrono::Utc;
use kontor_daemon::services::orders::completion::sync_order_status;
use kontor_daemon::services::orders::submit_order;
use kontor_daemon::services::webhooks::worker::{DeliveryWorker, PassReport};
use kontor_daemon::services::webhooks::{self, WebhookSettings};
use kontor_daemon::services::ServiceError;
use kontor_daemon::services::Services;
use kontor_protocol::ProtocolVersion::H004;
use kontor_storage::{
    NewWebhookSubscription, SignatureClass, SignatureRule, Store, TenantScope,
    WebhookDeliveryStatus, WebhookSubscription, WebhookSubscriptionId, WebhookSubscriptionStatus,
};

use crate::support::emulator::{world, Setup};
use crate::support::payments::pain001;
use crate::support::webhooks::{loopback_settings, Receiver};
use crate::support::TestDb;

/// Subscribes `url` to every event type; returns the subscription and its `whsec_` secret.
async fn subscribe(
    store: &Store,
    scope: &TenantScope,
    settings: WebhookSettings,
    url: &str,
) -> (WebhookSubscriptionId, String) {
    let services = Services::new(store.clone()).with_webhook_settings(settings);
    let created = webhooks::create(
        &services,
        scope,
        NewWebhookSubscription {
            url: url.into(),
            description: Some("ERP".into()),
            event_types: vec![],
        },
    )
    .await
    .unwrap();
    (
        created.subscription.id,
        created.secret.to_whsec().to_string(),
    )
}

/// Runs passes at `now` until one finds nothing due.
async fn drain(worker: &DeliveryWorker) -> PassReport {
    let mut total = PassReport::default();
    loop {
        let report = worker.pass(Utc::now()).await.unwrap();
        if report.attempts() == 0 {
            return total;
        }
        total.delivered += report.delivered;
        total.retried += report.retried;
        total.parked += report.parked;
    }
}

async fn subscription(
    store: &Store,
    scope: &TenantScope,
    id: WebhookSubscriptionId,
) -> WebhookSubscription {
    let mut tx = store.scope(scope).read().await.unwrap();
    tx.get(id).await.unwrap()
}

async fn every_event_of_an_order_story_arrives_signed(db: TestDb) {
    let receiver = Receiver::start().await;
    let w = world(db, Setup::new(H004)).await;
    let settings = loopback_settings(2);
    let (_, secret) = subscribe(&w.db.store, &w.scope, settings.clone(), &receiver.url).await;

    w.ready().await;
    w.describe_bank(&["CCT", "C53"]).await;
    w.permit("CCT", SignatureClass::E).await;
    let content = pain001("WEBHOOK-MSG-1", &[("Beta AG", "1250.00")]);
    let order = w.signed_order(&content, SignatureRule::Standard).await;
    submit_order(&w.services, &w.scope, order.id).await.unwrap();
    sync_order_status(&w.db.store, &w.client, &w.scope, w.user)
        .await
        .unwrap();

    let worker = DeliveryWorker::new(w.db.store.clone(), settings, "instance-a").unwrap();
    let report = drain(&worker).await;
    let received = receiver.received();
    assert_eq!(report.delivered, received.len());
    let types: Vec<String> = received.iter().map(|r| r.event_type()).collect();
    assert_eq!(
        types,
        [
            "bank_keys.verification_needed",
            "bank_keys.verification_needed",
            "user.ready",
            "order.created",
            "order.signed",
            "order.submitted",
            "order.completed",
        ],
        "in the order they were written"
    );
    for r in &received {
        assert!(r.verifies(&secret), "{r:?}");
        assert!((Utc::now().timestamp() - r.timestamp).abs() < 300);
    }
    let completed: serde_json::Value = serde_json::from_str(&received[6].body).unwrap();
    assert_eq!(completed["data"]["order_id"], order.id.to_string());
    assert_eq!(completed["data"]["status"], "COMPLETED");
    let ids: std::collections::HashSet<&str> = received.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids.len(), received.len(), "one webhook-id per event");
}

async fn a_failing_receiver_is_retried_under_one_id_then_parked_and_resumed(db: TestDb) {
    let receiver = Receiver::start().await;
    receiver.answer(500);
    let store = db.store.clone();
    let t = crate::support::seed::tenant(&store, "ACME", crate::support::seed::IBAN).await;
    let settings = loopback_settings(2);
    let (id, secret) = subscribe(&store, &t.scope, settings.clone(), &receiver.url).await;
    let services = Services::new(store.clone()).with_webhook_settings(settings.clone());
    let worker = DeliveryWorker::new(store.clone(), settings, "instance-a").unwrap();

    let ping = webhooks::ping(&services, &t.scope, id).await.unwrap();
    // Three attempts (the first and two retries), then the subscription is parked.
    let report = drain(&worker).await;
    assert_eq!((report.retried, report.parked), (2, 1), "{report:?}");
    assert_eq!(
        subscription(&store, &t.scope, id).await.status,
        WebhookSubscriptionStatus::Parked
    );
    // An event written while parked waits behind the failed one.
    webhooks::ping(&services, &t.scope, id).await.unwrap();
    assert_eq!(
        drain(&worker).await.attempts(),
        0,
        "a parked subscription gets nothing"
    );

    receiver.answer(200);
    webhooks::resume(&services, &t.scope, id).await.unwrap();
    let report = drain(&worker).await;
    assert_eq!(report.delivered, 2);

    let received = receiver.received();
    let first_id = ping.event_id.to_string();
    let answers: Vec<(bool, u16)> = received
        .iter()
        .map(|r| (r.id == first_id, r.answered))
        .collect();
    assert_eq!(
        answers,
        [
            (true, 500),
            (true, 500),
            (true, 500),
            (true, 200),
            (false, 200)
        ],
        "the same webhook-id until it is delivered, then the next event"
    );
    assert!(received.iter().all(|r| r.verifies(&secret)));

    // The delivery log shows each attempt's response code.
    let mut tx = store.scope(&t.scope).read().await.unwrap();
    let log = tx.webhooks().deliveries(id, 10).await.unwrap();
    assert!(log
        .iter()
        .all(|d| d.status == WebhookDeliveryStatus::Delivered));
    let attempts = tx.webhooks().attempts(ping.id).await.unwrap();
    let codes: Vec<Option<i64>> = attempts.iter().map(|a| a.response_code).collect();
    assert_eq!(codes, [Some(500), Some(500), Some(500), Some(200)]);
    drop(tx);

    // A redelivery goes out again under the same id.
    webhooks::redeliver(&services, &t.scope, ping.id)
        .await
        .unwrap();
    assert_eq!(drain(&worker).await.delivered, 1);
    assert_eq!(receiver.received().last().unwrap().id, first_id);
}

async fn two_instances_deliver_each_event_once(db: TestDb) {
    let receiver = Receiver::start().await;
    let store = db.store.clone();
    let t = crate::support::seed::tenant(&store, "ACME", crate::support::seed::IBAN).await;
    let settings = loopback_settings(2);
    let services = Services::new(store.clone()).with_webhook_settings(settings.clone());
    let mut subscriptions = Vec::new();
    for _ in 0..3 {
        let (id, _) = subscribe(&store, &t.scope, settings.clone(), &receiver.url).await;
        subscriptions.push(id);
    }
    for _ in 0..10 {
        for id in &subscriptions {
            webhooks::ping(&services, &t.scope, *id).await.unwrap();
        }
    }
    let a = DeliveryWorker::new(store.clone(), settings.clone(), "instance-a").unwrap();
    let b = DeliveryWorker::new(db.second_instance().await, settings, "instance-b").unwrap();
    let (ra, rb) = tokio::join!(drain(&a), drain(&b));
    // A pass can find nothing while the other instance holds the only due deliveries.
    let rest = drain(&a).await;
    assert_eq!(ra.delivered + rb.delivered + rest.delivered, 30);

    let received = receiver.received();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for r in &received {
        *seen.entry(r.id.as_str()).or_default() += 1;
    }
    assert_eq!(received.len(), 30, "each event exactly once");
    assert!(seen.values().all(|n| *n == 1));
    // Per subscription in the order written (event ids are time-ordered).
    let mut per_subscription: HashMap<String, Vec<String>> = HashMap::new();
    for r in &received {
        let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        let sub = body["data"]["subscription_id"].as_str().unwrap().to_owned();
        per_subscription.entry(sub).or_default().push(r.id.clone());
    }
    for ids in per_subscription.values() {
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, &sorted);
    }
}

async fn a_loopback_target_is_refused_unless_allowed(db: TestDb) {
    let receiver = Receiver::start().await;
    let store = db.store.clone();
    let t = crate::support::seed::tenant(&store, "ACME", crate::support::seed::IBAN).await;
    let strict = Services::new(store.clone());
    let refused = webhooks::create(
        &strict,
        &t.scope,
        NewWebhookSubscription {
            url: receiver.url.clone(),
            description: None,
            event_types: vec![],
        },
    )
    .await;
    assert!(
        matches!(&refused, Err(ServiceError::Refused(_))),
        "{refused:?}"
    );
    let mut tx = store.scope(&t.scope).read().await.unwrap();
    assert!(
        tx.webhooks().list().await.unwrap().is_empty(),
        "nothing stored"
    );
    drop(tx);

    // Allowed when created, refused at delivery by a worker that does not allow it.
    let (id, _) = subscribe(&store, &t.scope, loopback_settings(1), &receiver.url).await;
    let ping = webhooks::ping(&strict, &t.scope, id).await.unwrap();
    let worker = DeliveryWorker::new(
        store.clone(),
        WebhookSettings {
            jitter: 0.0,
            retry_schedule: vec![std::time::Duration::ZERO],
            ..WebhookSettings::default()
        },
        "strict",
    )
    .unwrap();
    let report = drain(&worker).await;
    assert_eq!((report.retried, report.parked), (1, 1));
    assert!(receiver.received().is_empty(), "no request left the daemon");
    let mut tx = store.scope(&t.scope).read().await.unwrap();
    let attempts = tx.webhooks().attempts(ping.id).await.unwrap();
    let error = attempts[0].error.clone().unwrap();
    assert!(error.contains("private, loopback or link-local"), "{error}");
}

async fn after_a_rotation_old_and_new_secret_both_sign_until_the_overlap_ends(db: TestDb) {
    let receiver = Receiver::start().await;
    let store = db.store.clone();
    let t = crate::support::seed::tenant(&store, "ACME", crate::support::seed::IBAN).await;
    let settings = loopback_settings(1);
    let (id, old) = subscribe(&store, &t.scope, settings.clone(), &receiver.url).await;
    let services = Services::new(store.clone()).with_webhook_settings(settings.clone());
    let rotated = webhooks::rotate_secret(&services, &t.scope, id)
        .await
        .unwrap();
    let new = rotated.secret.to_whsec().to_string();
    assert_ne!(new, old);
    webhooks::ping(&services, &t.scope, id).await.unwrap();
    let worker = DeliveryWorker::new(store.clone(), settings, "instance-a").unwrap();
    assert_eq!(drain(&worker).await.delivered, 1);
    let [during] = receiver.received().try_into().unwrap();
    assert_eq!(
        during.signature.split(' ').count(),
        2,
        "{}",
        during.signature
    );
    assert!(during.verifies(&old) && during.verifies(&new));

    // After the overlap only the new secret signs.
    let mut tx = store.scope(&t.scope).begin().await.unwrap();
    let later = Utc::now() + chrono::Duration::hours(25);
    let secrets = tx.webhooks().signing_secrets(id, later).await.unwrap();
    assert_eq!(secrets.len(), 1);
    assert_eq!(secrets[0].to_whsec().as_str(), new);
}

on_both_databases! {
    after_a_rotation_old_and_new_secret_both_sign_until_the_overlap_ends;
    every_event_of_an_order_story_arrives_signed;
    a_failing_receiver_is_retried_under_one_id_then_parked_and_resumed;
    two_instances_deliver_each_event_once;
    a_loopback_target_is_refused_unless_allowed;
}
