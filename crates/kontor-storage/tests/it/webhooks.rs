//! Webhook outbox and delivery leases: an event commits with its transaction or not at all,
//! subscriptions and deliveries are sealed from other tenants, and a subscription's
//! deliveries are leased one at a time, in order, by one owner.

use chrono::{Duration, Utc};
use kontor_storage::system::LeaseTerms;
use kontor_storage::*;
use serde_json::json;

use crate::support::conformance;
use crate::support::fixture;

async fn subscribe(
    store: &Store,
    scope: &TenantScope,
    types: Vec<WebhookEventType>,
) -> WebhookSubscription {
    let mut tx = store.scope(scope).begin().await.unwrap();
    let (subscription, _) = tx
        .webhooks()
        .create(NewWebhookSubscription {
            url: "https://erp.example/hooks".into(),
            description: None,
            event_types: types,
        })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    subscription
}

/// Records an attempt of `delivery` as `owner` in a transaction of its own; whether it was
/// recorded (only the lease's owner may).
async fn record_attempt(
    store: &Store,
    scope: &TenantScope,
    delivery: WebhookDeliveryId,
    owner: &str,
    outcome: &AttemptOutcome,
) -> bool {
    let mut tx = store.scope(scope).begin().await.unwrap();
    let recorded = tx
        .webhooks()
        .record_attempt(delivery, owner, outcome)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    recorded
}

async fn an_event_commits_with_its_change_or_not_at_all(store: &Store) {
    let scope = fixture::tenant(store, "tenant-a").await;
    subscribe(store, &scope, vec![WebhookEventType::UserReady]).await;
    let pending = || async { store.system().pending_webhook_deliveries().await.unwrap() };

    let mut tx = store.scope(&scope).begin().await.unwrap();
    let filtered = tx
        .webhooks()
        .emit(WebhookEventType::OrderCreated, json!({}))
        .await
        .unwrap();
    assert_eq!(filtered, None, "no subscription wants order.created");
    let written = tx
        .webhooks()
        .emit(WebhookEventType::UserReady, json!({}))
        .await
        .unwrap();
    assert!(written.is_some());
    drop(tx); // the change is rolled back, and its event with it
    assert_eq!(pending().await, 0);

    let mut tx = store.scope(&scope).begin().await.unwrap();
    tx.webhooks()
        .emit(WebhookEventType::UserReady, json!({"n": 1}))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(pending().await, 1);
}

async fn subscriptions_and_deliveries_are_sealed_from_other_tenants(store: &Store) {
    let a = fixture::tenant(store, "tenant-a").await;
    let b = fixture::tenant(store, "tenant-b").await;
    let subscription = subscribe(store, &a, vec![]).await;
    let mut tx = store.scope(&a).begin().await.unwrap();
    let delivery = tx.webhooks().ping(subscription.id).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.scope(&b).begin().await.unwrap();
    assert!(matches!(
        tx.get(subscription.id).await,
        Err(StorageError::NotFound { .. })
    ));
    assert!(matches!(
        tx.get(delivery.id).await,
        Err(StorageError::NotFound { .. })
    ));
    assert!(tx.webhooks().list().await.unwrap().is_empty());
    assert!(matches!(
        tx.webhooks().deliveries(subscription.id, 10).await,
        Err(StorageError::NotFound { .. })
    ));
    assert!(matches!(
        tx.webhooks().redeliver(delivery.id).await,
        Err(StorageError::NotFound { .. })
    ));
    assert!(matches!(
        tx.delete(subscription.id).await,
        Err(StorageError::NotFound { .. })
    ));
    // B's events never reach A's subscription.
    let event = tx
        .webhooks()
        .emit(WebhookEventType::UserReady, json!({}))
        .await
        .unwrap();
    assert_eq!(event, None);
    tx.commit().await.unwrap();
    assert_eq!(
        fixture::read(store, &a, subscription.id).await,
        subscription
    );

    // Its owner deletes it with its deliveries.
    let mut tx = store.scope(&a).begin().await.unwrap();
    tx.delete(subscription.id).await.unwrap();
    assert!(matches!(
        tx.get(delivery.id).await,
        Err(StorageError::NotFound { .. })
    ));
    tx.commit().await.unwrap();
    assert_eq!(
        store.system().pending_webhook_deliveries().await.unwrap(),
        0
    );
}

async fn deliveries_are_leased_one_at_a_time_in_order_per_subscription(store: &Store) {
    let scope = fixture::tenant(store, "tenant-a").await;
    let subscription = subscribe(store, &scope, vec![]).await;
    let mut tx = store.scope(&scope).begin().await.unwrap();
    let first = tx.webhooks().ping(subscription.id).await.unwrap();
    let second = tx.webhooks().ping(subscription.id).await.unwrap();
    tx.commit().await.unwrap();

    let now = Utc::now();
    let lease = |owner: &'static str| async move {
        store
            .system()
            .lease_due_webhook_deliveries(LeaseTerms {
                owner,
                now,
                lease_for: Duration::minutes(2),
                limit: 10,
            })
            .await
            .unwrap()
            .into_iter()
            .map(|l| l.delivery)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        lease("a").await,
        [first.id],
        "only the oldest pending delivery"
    );
    assert!(
        lease("b").await.is_empty(),
        "leased, and the second waits behind it"
    );

    let delivered = AttemptOutcome {
        attempted_at: now,
        response_code: Some(204),
        error: None,
        duration_ms: 3,
        next: NextStep::Delivered,
    };
    assert!(
        !record_attempt(store, &scope, first.id, "b", &delivered).await,
        "only the lease owner records"
    );
    assert!(record_attempt(store, &scope, first.id, "a", &delivered).await);
    assert_eq!(lease("b").await, [second.id]);
}

async fn row_level_security_hides_webhook_rows_from_raw_queries(store: &Store) {
    assert_eq!(store.backend(), Backend::Postgres);
    let a = fixture::tenant(store, "tenant-a").await;
    let b = fixture::tenant(store, "tenant-b").await;
    let subscription = subscribe(store, &a, vec![]).await;
    let mut tx = store.scope(&a).begin().await.unwrap();
    tx.webhooks().ping(subscription.id).await.unwrap();
    tx.commit().await.unwrap();
    let [leased] = store
        .system()
        .lease_due_webhook_deliveries(LeaseTerms {
            owner: "a",
            now: Utc::now(),
            lease_for: Duration::minutes(2),
            limit: 10,
        })
        .await
        .unwrap()
        .try_into()
        .unwrap();
    let failed = AttemptOutcome {
        attempted_at: Utc::now(),
        response_code: Some(500),
        error: Some("the receiver answered 500".into()),
        duration_ms: 1,
        next: NextStep::RetryAt(Utc::now() + Duration::hours(1)),
    };
    assert!(record_attempt(store, &a, leased.delivery, "a", &failed).await);

    let mut tx = store.scope(&b).begin().await.unwrap();
    let tables = [
        "webhook_subscriptions",
        "webhook_events",
        "webhook_deliveries",
        "webhook_attempts",
    ];
    fixture::assert_no_rows_leak(&mut tx, &tables).await;
}

conformance!(
    an_event_commits_with_its_change_or_not_at_all,
    subscriptions_and_deliveries_are_sealed_from_other_tenants,
    deliveries_are_leased_one_at_a_time_in_order_per_subscription;
    postgres_only: row_level_security_hides_webhook_rows_from_raw_queries,
);
