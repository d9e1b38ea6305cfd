//! Read transactions (`Scoped::read`): they refuse writes, keep the tenant walls, and do not
//! wait for an open write transaction.

use kontor_storage::*;

use crate::support::conformance;
use crate::support::fixture;

async fn hosts_of(store: &Store, scope: &TenantScope) -> Vec<BankHost> {
    let mut tx = store.scope(scope).read().await.unwrap();
    tx.list(Page::first(100)).await.unwrap()
}

async fn a_read_transaction_cannot_write(store: &Store) {
    let scope = fixture::tenant(store, "reader").await;
    let host = fixture::committed_host(store, &scope, "HOST").await;

    let mut tx = store.scope(&scope).read().await.unwrap();
    let insert = tx.bank_hosts().create(fixture::new_host("OTHER")).await;
    assert!(insert.is_err(), "insert in a read transaction: {insert:?}");
    drop(tx);
    let mut tx = store.scope(&scope).read().await.unwrap();
    let delete = tx.delete(host.id).await;
    assert!(delete.is_err(), "delete in a read transaction: {delete:?}");
    // Even a commit of the refused work changes nothing.
    tx.commit().await.unwrap();
    assert_eq!(hosts_of(store, &scope).await, vec![host]);
}

/// A read transaction starts and reads the last committed state while a writer holds its
/// transaction open (on SQLite: while another connection holds the write lock). Were reads
/// to take the write lock, `read()` would wait for the busy timeout and fail.
async fn reads_proceed_while_a_write_transaction_is_open(store: &Store) {
    let scope = fixture::tenant(store, "busy").await;
    let committed = fixture::committed_host(store, &scope, "COMMITTED").await;

    let mut writer = store.scope(&scope).begin().await.unwrap();
    let pending = writer
        .bank_hosts()
        .create(fixture::new_host("PENDING"))
        .await
        .unwrap();
    assert_eq!(hosts_of(store, &scope).await, vec![committed.clone()]);
    writer.commit().await.unwrap();
    let mut both = vec![committed, pending];
    both.sort_by_key(|h| h.id.to_string());
    assert_eq!(hosts_of(store, &scope).await, both);
}

/// A read transaction of one tenant sees none of another tenant's records.
async fn read_transactions_are_scoped_to_their_tenant(store: &Store) {
    let a = fixture::build(store, "tenant-a").await;
    let b = fixture::tenant(store, "tenant-b").await;
    let mut tx = store.scope(&b).read().await.unwrap();
    assert!(matches!(
        tx.get(a.host).await,
        Err(StorageError::NotFound { .. })
    ));
    let orders: Vec<Order> = tx.list(Page::first(100)).await.unwrap();
    assert!(orders.is_empty(), "other tenant's orders: {orders:?}");
    drop(tx);
    let mut tx = store.scope(&a.scope).read().await.unwrap();
    assert_eq!(tx.get(a.host).await.unwrap().id, a.host);
}

/// On PostgreSQL a read transaction runs under row-level security like a write one: as
/// `kontor_app`, with the tenant set, so raw SQL sees no other tenant's rows.
async fn row_level_security_holds_in_read_transactions(store: &Store) {
    let a = fixture::build(store, "tenant-a").await;
    let b = fixture::tenant(store, "tenant-b").await;
    let mut tx = store.scope(&b).read().await.unwrap();
    let tables = [
        "bank_hosts",
        "orders",
        "transactions",
        "booked_transactions",
    ];
    fixture::assert_no_rows_leak(&mut tx, &tables).await;
    assert_eq!(
        tx.raw_count("SELECT count(*) WHERE current_user = 'kontor_app'")
            .await
            .unwrap(),
        1,
        "read transactions run as kontor_app"
    );
    drop(tx);
    let mut tx = store.scope(&a.scope).read().await.unwrap();
    assert_eq!(
        tx.raw_count("SELECT count(*) FROM orders").await.unwrap(),
        1
    );
}

conformance!(
    a_read_transaction_cannot_write,
    reads_proceed_while_a_write_transaction_is_open,
    read_transactions_are_scoped_to_their_tenant;
    postgres_only: row_level_security_holds_in_read_transactions,
);
