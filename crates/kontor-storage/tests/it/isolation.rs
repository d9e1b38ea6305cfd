//! Tenant isolation: a record created in tenant A is invisible, unmodifiable and undeletable
//! from tenant B, for every entity. Each check fails if a repository loses its tenant filter.

use kontor_documents::BalanceKind;
use kontor_protocol::order_type::OrderType;
use std::fmt::Debug;

use kontor_storage::*;

use crate::support::conformance;
use crate::support::fixture::{self, Graph};

fn assert_not_found<T: Debug>(result: Result<T>, what: &str) {
    match result {
        Err(StorageError::NotFound { .. }) => {}
        other => panic!("{what}: expected NotFound from the other tenant, got {other:?}"),
    }
}

/// Asserts of each `"what": call;` (a repository call on another tenant's record) that the
/// call fails with `NotFound`.
macro_rules! each_not_found {
    ($($what:literal: $call:expr;)+) => {
        $(assert_not_found($call.await, $what);)+
    };
}

/// Asserts of each `"what": call;` (a listing in another tenant's scope) that it lists nothing.
macro_rules! each_empty {
    ($($what:literal: $call:expr;)+) => {
        $(
            let listed = $call.await.unwrap();
            assert!(listed.is_empty(), "{}: {listed:?}", $what);
        )+
    };
}

/// Reading, listing and deleting `id` from `other` fails, and the record survives in its tenant.
async fn assert_sealed<I>(store: &Store, owner: &TenantScope, other: &TenantScope, id: I)
where
    I: EntityId + Debug,
    I::Entity: Deletable + Debug + PartialEq,
    <I::Entity as Entity>::Id: EntityId,
{
    let before = fixture::read(store, owner, id).await;
    let mut tx = store.scope(other).begin().await.unwrap();
    assert_not_found(tx.get(id).await, &format!("get {id:?}"));
    let listed: Vec<I::Entity> = tx.list(Page::first(1000)).await.unwrap();
    assert!(
        listed.is_empty(),
        "list in the other tenant shows {listed:?}"
    );
    assert_not_found(tx.delete(id).await, &format!("delete {id:?}"));
    tx.commit().await.unwrap();
    let after = fixture::read(store, owner, id).await;
    assert_eq!(before, after, "record changed by the other tenant");
}

async fn every_entity_is_sealed_from_other_tenants(store: &Store) {
    let a: Graph = fixture::build(store, "tenant-a").await;
    let b = fixture::tenant(store, "tenant-b").await;
    let s = &a.scope;
    assert_sealed(store, s, &b, a.host).await;
    assert_sealed(store, s, &b, a.bank_key).await;
    assert_sealed(store, s, &b, a.connection).await;
    assert_sealed(store, s, &b, a.account).await;
    assert_sealed(store, s, &b, a.user).await;
    assert_sealed(store, s, &b, a.key_pair).await;
    assert_sealed(store, s, &b, a.permission).await;
    assert_sealed(store, s, &b, a.file).await;
    assert_sealed(store, s, &b, a.order).await;
    assert_sealed(store, s, &b, a.signature).await;
    assert_sealed(store, s, &b, a.veu_item).await;
    assert_sealed(store, s, &b, a.veu_signer).await;
    assert_sealed(store, s, &b, a.transaction).await;
    assert_sealed(store, s, &b, a.segment).await;
    assert_sealed(store, s, &b, a.schedule).await;
    assert_sealed(store, s, &b, a.job_run).await;
    assert_sealed(store, s, &b, a.statement).await;
    assert_sealed(store, s, &b, a.statement_file).await;

    // The audit trail cannot be deleted at all; it is still invisible.
    let mut tx = store.scope(&b).begin().await.unwrap();
    assert_not_found(tx.get(a.event).await, "get event");
    let events: Vec<TransactionEvent> = tx.list(Page::first(100)).await.unwrap();
    assert!(events.is_empty());
    let balances: Vec<Balance> = tx.list(Page::first(100)).await.unwrap();
    assert!(balances.is_empty());
    let bookings: Vec<BookedTransaction> = tx.list(Page::first(100)).await.unwrap();
    assert!(bookings.is_empty());
    let by_file = tx.statement_files().by_file(a.file).await.unwrap();
    assert!(by_file.is_none(), "statement file by file: {by_file:?}");
    each_empty! {
        "transaction events": tx.transactions().events(a.transaction);
        "account balances": tx.statements().balances(a.account);
        "statement files": tx.statement_files().list(None, None, Newest::first(100));
        "bookings": tx.statements().bookings(&BookingFilter::default());
        "members": tx.memberships().list();
        "grants": tx.memberships().grants_of(a.operator);
    }
    let bookings = tx
        .statements()
        .bookings_json(&BookingFilter::default())
        .await
        .unwrap();
    assert_eq!(
        (bookings.json.as_str(), bookings.len),
        ("[]", 0),
        "{bookings:?}"
    );
    assert_not_found(tx.memberships().role_of(a.operator).await, "role_of");
    assert_not_found(tx.memberships().access_of(a.operator).await, "access_of");
    assert_not_found(tx.ebics_users().at_host(a.user).await, "user at host");
}

async fn updates_from_another_tenant_are_not_found_and_change_nothing(store: &Store) {
    let a = fixture::build(store, "tenant-a").await;
    let b = fixture::tenant(store, "tenant-b").await;
    let mut tx = store.scope(&b).begin().await.unwrap();
    let evil_url = BankHostChanges {
        url: Some("https://evil.example".into()),
        ..Default::default()
    };
    let verified = BankKeyVerification::Verified;
    let (initialisation, aborted) = (TransactionPhase::Initialisation, TransactionPhase::Aborted);
    each_not_found! {
        "update host": tx.bank_hosts().update(a.host, evil_url);
        "verify key": tx.bank_keys().decide(a.bank_key, verified, VerificationMethod::Letter, "mallory");
        "rename connection": tx.connections().rename(a.connection, "x");
        "order types": tx.connections().set_order_types(a.connection, &[OrderType::CCT]);
        "account holder": tx.accounts().update_holder(a.account, "x");
        "user status": tx.ebics_users().set_status(
            a.user, EbicsUserStatus::New, EbicsUserStatus::PartlyInitialisedIni,
        );
        "rename user": tx.ebics_users().rename(a.user, "x");
        "permissions cache": tx.ebics_users().set_permissions_cache(a.user, &serde_json::json!([]));
        "key status": tx.key_pairs().set_status(a.key_pair, KeyStatus::Pending, KeyStatus::Submitted);
        "load private key": tx.key_pairs().load_private_key(a.key_pair);
        "permission limit": tx.permissions().set_limit(a.permission, Some("1".parse().unwrap()), None);
        "order status": tx.orders().set_status(a.order, OrderStatus::Draft, OrderStatus::Cancelled);
        "veu status": tx.veu_items().set_status(a.veu_item, VeuStatus::Pending, VeuStatus::Cancelled);
        "veu signers": tx.veu_items().replace_signers(a.veu_item, vec![]);
        "transaction phase": tx.transactions().set_phase(
            a.transaction, initialisation, aborted, TransactionEventKind::Aborted, serde_json::json!({}),
        );
        "acknowledge": tx.transactions().acknowledge_up_to(a.transaction, 5);
        "segment status": tx.transactions().set_segment_status(
            a.segment, SegmentStatus::Pending, SegmentStatus::Sent,
        );
        "schedule enabled": tx.schedules().set_enabled(a.schedule, false);
    }
    drop(tx);
    // Writes that reference another tenant's records fail (on PostgreSQL a failed statement
    // aborts the transaction, so each gets its own).
    let mut tx = store.scope(&b).begin().await.unwrap();
    assert!(
        tx.transactions()
            .append_event(
                a.transaction,
                TransactionEventKind::Failed,
                serde_json::json!({})
            )
            .await
            .is_err(),
        "event on a foreign transaction"
    );
    drop(tx);
    let mut tx = store.scope(&b).begin().await.unwrap();
    assert!(
        tx.memberships().grant(a.operator, a.user).await.is_err(),
        "grant on a foreign operator"
    );
    drop(tx);
    let mut tx = store.scope(&b).begin().await.unwrap();
    assert!(tx
        .bank_keys()
        .create(NewBankKey {
            bank_host_id: a.host,
            kind: BankKeyKind::Encryption,
            version: kontor_protocol::KeyVersion::E002,
            public_key: vec![1],
            certificate: None,
            key_hash: kontor_protocol::keys::KeyHash::from_bytes([0xEE; 32]),
        })
        .await
        .is_err());
    drop(tx);

    let mut tx = store.scope(&b).begin().await.unwrap();
    assert!(!tx
        .statements()
        .upsert_balance(NewBalance {
            account_id: a.account,
            statement_id: None,
            kind: BalanceKind::ClosingBooked,
            balance_date: a.balance_date,
            amount: "0".parse().unwrap(),
            currency: "EUR".parse().unwrap()
        })
        .await
        .unwrap_or(false));
    drop(tx);

    // Everything in A is as it was.
    let mut tx = store.scope(&a.scope).begin().await.unwrap();
    let host: BankHost = tx.get(a.host).await.unwrap();
    assert_eq!(host.url, "https://ebics.bank.example/ebicsweb");
    let key: BankKey = tx.get(a.bank_key).await.unwrap();
    assert_eq!(key.verification_status, BankKeyVerification::Unverified);
    let user: EbicsUser = tx.get(a.user).await.unwrap();
    assert_eq!(
        (user.status, user.name.as_str()),
        (EbicsUserStatus::New, "Alice")
    );
    let order: Order = tx.get(a.order).await.unwrap();
    assert_eq!(order.status, OrderStatus::Draft);
    let t: Transaction = tx.get(a.transaction).await.unwrap();
    assert_eq!(
        (t.phase, t.last_acknowledged_segment),
        (TransactionPhase::Initialisation, 0)
    );
    assert_eq!(
        tx.transactions().events(a.transaction).await.unwrap().len(),
        1
    );
    assert_eq!(tx.veu_items().signers(a.veu_item).await.unwrap().len(), 1);
    let schedule: Schedule = tx.get(a.schedule).await.unwrap();
    assert!(schedule.enabled);
    let balances = tx.statements().balances(a.account).await.unwrap();
    assert_eq!(balances[0].amount.to_string(), "1234.56");
    assert_eq!(
        tx.key_pairs()
            .load_private_key(a.key_pair)
            .await
            .unwrap()
            .as_slice(),
        b"pkcs8 private key bytes"
    );
    assert_eq!(
        tx.memberships().grants_of(a.operator).await.unwrap(),
        vec![a.user]
    );
    // The token check's one-query read of the same role and grants.
    assert_eq!(
        tx.memberships().access_of(a.operator).await.unwrap(),
        (Role::Admin, vec![a.user])
    );
}

/// On PostgreSQL, row-level security refuses other tenants' rows even to raw SQL. (SQLite has
/// no row-level security: the test exists only for PostgreSQL.)
async fn row_level_security_hides_rows_from_raw_queries(store: &Store) {
    assert_eq!(store.backend(), Backend::Postgres);
    let a = fixture::build(store, "tenant-a").await;
    let b = fixture::tenant(store, "tenant-b").await;
    let member = store
        .admin()
        .create_operator("rls@a.example", "RLS", a.scope.tenant(), Role::Admin)
        .await
        .unwrap();
    store
        .admin()
        .issue_token(member.id, "a", None)
        .await
        .unwrap();
    let mut tx = store.scope(&b).begin().await.unwrap();
    let tables = [
        "api_tokens",
        "audit_events",
        "bank_hosts",
        "bank_keys",
        "bank_connections",
        "accounts",
        "ebics_users",
        "key_pairs",
        "permissions",
        "files",
        "orders",
        "order_signatures",
        "payment_transfer_statuses",
        "veu_items",
        "veu_signers",
        "transactions",
        "segments",
        "transaction_events",
        "schedules",
        "job_runs",
        "statements",
        "balances",
        "booked_transactions",
        "statement_files",
        "memberships",
        "operator_grants",
    ];
    fixture::assert_no_rows_leak(&mut tx, &tables).await;
    let err = tx
        .raw_execute(
            "INSERT INTO bank_hosts (id, tenant_id, host_id, name, url, protocol_version, btf, production, created_at) \
             VALUES ('00000000-0000-0000-0000-000000000001', $1, 'X', 'X', 'X', 'H004', false, false, 'x')",
            &[&a.scope.tenant().to_string()],
        )
        .await;
    assert!(
        err.is_err(),
        "insert with another tenant's id must be refused by the policy"
    );
    drop(tx);
    let mut tx = store.scope(&a.scope).begin().await.unwrap();
    assert_eq!(
        tx.raw_count("SELECT count(*) FROM orders").await.unwrap(),
        1
    );
}

/// A member's tokens are the tenant's: another tenant's scope neither lists nor revokes them,
/// and removing the member revokes exactly their tokens for that tenant.
async fn tokens_are_sealed_from_other_tenants(store: &Store) {
    let a = fixture::tenant(store, "tenant-a").await;
    let b = fixture::tenant(store, "tenant-b").await;
    let op = store
        .admin()
        .create_operator("two@x.example", "Two", a.tenant(), Role::Admin)
        .await
        .unwrap();
    let mut tx = store.scope(&b).begin().await.unwrap();
    tx.memberships()
        .add(op.id, Role::Viewer, "Two")
        .await
        .unwrap();
    let in_b = tx
        .memberships()
        .issue_token(op.id, "b", None)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let in_a = store.admin().issue_token(op.id, "a", None).await.unwrap();
    assert_eq!(in_a.token.tenant_id, Some(a.tenant()));
    assert_eq!(in_b.token.tenant_id, Some(b.tenant()));

    let mut tx = store.scope(&b).begin().await.unwrap();
    let listed = tx.memberships().tokens(op.id, None, 100).await.unwrap();
    assert_eq!(listed, vec![in_b.token.clone()]);
    assert_not_found(
        tx.memberships().revoke_token(op.id, in_a.token.id).await,
        "revoke A's token from B",
    );
    tx.memberships().remove(op.id).await.unwrap();
    tx.commit().await.unwrap();
    let now = chrono::Utc::now();
    let secret =
        |t: &admin::IssuedToken| secrecy::ExposeSecret::expose_secret(&t.secret).to_owned();
    assert!(store
        .admin()
        .authenticate_token(&secret(&in_b), now)
        .await
        .is_err());
    let still = store
        .admin()
        .authenticate_token(&secret(&in_a), now)
        .await
        .unwrap();
    assert_eq!(still.tenant(), a.tenant());
}

conformance!(
    every_entity_is_sealed_from_other_tenants,
    tokens_are_sealed_from_other_tenants,
    updates_from_another_tenant_are_not_found_and_change_nothing;
    postgres_only: row_level_security_hides_rows_from_raw_queries,
);
