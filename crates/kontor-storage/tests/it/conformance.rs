//! Repository behaviour that must hold identically on SQLite and PostgreSQL.

use chrono::{Duration, Utc};
use kontor_documents::{Amount, BalanceKind, CreditDebit, Currency, Iban};
use kontor_protocol::keys::KeyHash;
use kontor_protocol::order_type::OrderType;
use kontor_protocol::{KeyVersion, SignatureVersion};
use kontor_storage::system::LeaseTerms;
use kontor_storage::*;

use crate::support::conformance;
use crate::support::fixture;

async fn duplicate_host_id_is_a_conflict_within_a_tenant_only(store: &Store) {
    let a = fixture::tenant(store, "a").await;
    let b = fixture::tenant(store, "b").await;
    let first = fixture::committed_host(store, &a, "HOST").await;

    let mut tx = store.scope(&a).begin().await.unwrap();
    let mut dup = fixture::new_host("HOST");
    dup.url = "https://other.example".into();
    match tx.bank_hosts().create(dup).await {
        Err(StorageError::Conflict {
            entity: "bank host",
            constraint,
        }) => {
            assert!(
                constraint.contains("host"),
                "constraint named: {constraint}"
            )
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    drop(tx);
    let mut tx = store.scope(&a).begin().await.unwrap();
    let hosts: Vec<BankHost> = tx.list(Page::first(10)).await.unwrap();
    assert_eq!(hosts, vec![first], "the stored host is unchanged");
    drop(tx);

    let mut tx = store.scope(&b).begin().await.unwrap();
    tx.bank_hosts()
        .create(fixture::new_host("HOST"))
        .await
        .expect("same host id in another tenant");
    tx.commit().await.unwrap();
}

async fn a_hosts_ca_bundle_is_stored_kept_and_removed(store: &Store) {
    let a = fixture::tenant(store, "a").await;
    let mut tx = store.scope(&a).begin().await.unwrap();
    let mut new = fixture::new_host("HOST");
    new.ca_bundle_pem = Some("-----BEGIN CERTIFICATE-----\n...".into());
    let host = tx.bank_hosts().create(new).await.unwrap();
    assert_eq!(
        host.ca_bundle_pem.as_deref(),
        Some("-----BEGIN CERTIFICATE-----\n...")
    );
    let renamed = tx
        .bank_hosts()
        .update(
            host.id,
            BankHostChanges {
                name: Some("Renamed".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.ca_bundle_pem, host.ca_bundle_pem, "kept");
    let cleared = tx
        .bank_hosts()
        .update(
            host.id,
            BankHostChanges {
                ca_bundle_pem: Some(None),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(cleared.ca_bundle_pem, None);
    tx.commit().await.unwrap();
}

async fn unknown_enum_value_in_the_database_is_a_typed_error(store: &Store) {
    let g = fixture::build(store, "a").await;
    let read = fixture::read_tampered(store, &g.scope, g.order, "status = 'TELEPORTED'").await;
    assert_unknown_enum_value(read, "orders.status", "TELEPORTED");
}

/// The read failed with `UnknownEnumValue` naming `column` and the stored `value`.
#[track_caller]
fn assert_unknown_enum_value<T: std::fmt::Debug>(read: Result<T>, column: &str, value: &str) {
    match read {
        Err(StorageError::UnknownEnumValue(e)) => {
            assert_eq!((e.column, e.value.as_str()), (column, value))
        }
        other => panic!("expected UnknownEnumValue, got {other:?}"),
    }
}

/// Money is stored as the text it always was (no data migration), read back typed, and a
/// stored text that does not validate is an error naming the column, never a panic.
async fn money_is_stored_as_its_text_and_bad_text_is_corrupt(store: &Store) {
    let g = fixture::build(store, "a").await;
    let mut tx = store.scope(&g.scope).begin().await.unwrap();
    let mut new = fixture::booking(g.account, g.statement, "REF-MONEY");
    new.amount = Amount::parse("1250.50").unwrap();
    new.counterparty_iban = Some(Iban::parse("de89 3704 0044 0532 0130 00").unwrap());
    assert!(tx.statements().insert_booking(new).await.unwrap());
    tx.commit().await.unwrap();
    let stored = store
        .raw_text(
            "SELECT amount || ' ' || currency || ' ' || counterparty_iban \
             FROM booked_transactions WHERE dedupe_key = 'REF-MONEY'",
        )
        .await
        .unwrap();
    assert_eq!(stored, "1250.50 EUR DE89370400440532013000");
    let account: Account = fixture::read(store, &g.scope, g.account).await;
    assert_eq!(account.currency, Currency::EUR);
    assert_eq!(
        account.iban.as_ref().map(Iban::electronic),
        Some("DE89370400440532013000")
    );

    fixture::assert_each_corrupt(
        store,
        &g.scope,
        g.account,
        &[("currency", "euro"), ("iban", "DE00123"), ("bic", "X")],
        "currency = 'EUR', iban = 'DE89370400440532013000', bic = 'COBADEFFXXX'",
    )
    .await;
    tampered_booking_is_corrupt(store, &g, "REF-MONEY", "amount = '12,50'", "amount").await;
}

/// After `assignment` (SQL) in the booking with `dedupe_key`, reading the account's bookings
/// fails with `Corrupt` naming `column`.
async fn tampered_booking_is_corrupt(
    store: &Store,
    g: &fixture::Graph,
    dedupe_key: &str,
    assignment: &str,
    column: &str,
) {
    fixture::tamper_booking(store, dedupe_key, assignment).await;
    let mut tx = store.scope(&g.scope).read().await.unwrap();
    let read = tx
        .statements()
        .bookings(&fixture::bookings_of(g.account, 10))
        .await;
    match read {
        Err(StorageError::Corrupt { column: named, .. }) => assert_eq!(named, column),
        other => panic!("{assignment}: expected Corrupt, got {other:?}"),
    }
}

/// A booking's direction, a balance's type and a statement file's container are stored as
/// the codes they always were, read back typed (a proprietary balance type too), and a stored
/// code that is none of them is an error naming the column.
async fn statement_codes_are_stored_as_text_and_read_typed(store: &Store) {
    let g = fixture::build(store, "a").await;
    let mut tx = store.scope(&g.scope).begin().await.unwrap();
    let mut debit = fixture::booking(g.account, g.statement, "REF-DEBIT");
    debit.credit_debit = CreditDebit::Debit;
    assert!(tx.statements().insert_booking(debit).await.unwrap());
    assert!(tx
        .statements()
        .upsert_balance(NewBalance {
            account_id: g.account,
            statement_id: None,
            kind: BalanceKind::Other("XBAL".into()),
            balance_date: g.balance_date,
            amount: "-1.00".parse().unwrap(),
            currency: Currency::EUR,
        })
        .await
        .unwrap());
    let outcome = StatementFileOutcome {
        status: StatementFileStatus::Ingested,
        container: StatementContainer::Zip,
        error: None,
        members: Vec::new(),
        counts: StatementFileCounts::default(),
    };
    let file = tx
        .statement_files()
        .record_outcome(g.statement_file, StatementFileStatus::Pending, outcome)
        .await
        .unwrap();
    assert_eq!(file.container, Some(StatementContainer::Zip));
    tx.commit().await.unwrap();

    let stored = |sql: String| async move { store.raw_text(&sql).await.unwrap() };
    for (key, code) in [(g.booking_key.as_str(), "CRDT"), ("REF-DEBIT", "DBIT")] {
        let sql =
            format!("SELECT credit_debit FROM booked_transactions WHERE dedupe_key = '{key}'");
        assert_eq!(stored(sql).await, code);
    }
    let kinds = "SELECT min(kind) || ' ' || max(kind) FROM balances".to_owned();
    assert_eq!(stored(kinds).await, "CLBD XBAL");
    let container = format!(
        "SELECT container FROM statement_files WHERE id = '{}'",
        g.statement_file
    );
    assert_eq!(stored(container).await, "ZIP");

    let mut tx = store.scope(&g.scope).read().await.unwrap();
    let directions: Vec<_> = tx
        .statements()
        .bookings(&fixture::bookings_of(g.account, 10))
        .await
        .unwrap()
        .into_iter()
        .map(|b| (b.dedupe_key, b.credit_debit))
        .collect();
    assert_eq!(
        directions,
        [
            ("REF-0001".to_owned(), CreditDebit::Credit),
            ("REF-DEBIT".to_owned(), CreditDebit::Debit)
        ]
    );
    let kinds: Vec<_> = tx
        .statements()
        .balances(g.account)
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            BalanceKind::ClosingBooked,
            BalanceKind::Other("XBAL".into())
        ]
    );
    drop(tx);

    let debit = "credit_debit = 'DEBIT'";
    tampered_booking_is_corrupt(store, &g, "REF-DEBIT", debit, "credit_debit").await;
    let read = fixture::read_tampered(store, &g.scope, g.statement_file, "container = 'TAR'").await;
    assert_unknown_enum_value(read, "statement_files.container", "TAR");
}

/// An audit record's kind of actor is stored as its text and read typed; a stored kind that
/// is none of them is a typed error naming the column.
async fn audit_actor_kind_is_stored_as_text_and_read_typed(store: &Store) {
    let g = fixture::build(store, "a").await;
    let mut tx = store.scope(&g.scope).begin().await.unwrap();
    let event = tx
        .audit()
        .record(
            AuditAction::StatementFileFailed,
            "statement_file",
            &g.statement_file.to_string(),
            serde_json::json!({}),
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(event.actor_kind, AuditActorKind::System);
    let sql = format!(
        "SELECT actor_kind FROM audit_events WHERE id = '{}'",
        event.id
    );
    assert_eq!(store.raw_text(&sql).await.unwrap(), "SYSTEM");
    let read: AuditEvent = fixture::read(store, &g.scope, event.id).await;
    assert_eq!(read, event);

    // The log is append-only even behind the repositories' back: the bad kind goes in raw.
    let columns = "id, tenant_id, actor_kind, actor, action, target_kind, target_id, outcome, \
                   detail, created_at";
    let copy = AuditEventId::new();
    store
        .raw_execute(&format!(
            "INSERT INTO audit_events ({columns}) SELECT '{copy}', tenant_id, 'ROBOT', actor, \
             action, target_kind, target_id, outcome, detail, created_at FROM audit_events \
             WHERE id = '{}'",
            event.id
        ))
        .await
        .unwrap();
    let mut tx = store.scope(&g.scope).read().await.unwrap();
    let tampered: Result<AuditEvent> = tx.get(copy).await;
    assert_unknown_enum_value(tampered, "audit_events.actor_kind", "ROBOT");
}

/// Key versions and key hashes are stored as the text they always were ("A006", upper-case
/// hex), read back typed; a stored text that is not one is an error naming the column.
async fn key_versions_and_hashes_are_stored_as_text_and_bad_text_is_corrupt(store: &Store) {
    let g = fixture::build(store, "a").await;
    let pair: KeyPair = fixture::read(store, &g.scope, g.key_pair).await;
    assert_eq!(
        (pair.version, pair.key_hash),
        (KeyVersion::A006, KeyHash::from_bytes([0xCA; 32]))
    );
    let bank_key: BankKey = fixture::read(store, &g.scope, g.bank_key).await;
    assert_eq!(
        (bank_key.version, bank_key.key_hash),
        (KeyVersion::X002, KeyHash::from_bytes([0xAB; 32]))
    );
    let stored = |table: &str, id: String| {
        format!("SELECT version || ' ' || key_hash FROM {table} WHERE id = '{id}'")
    };
    let texts = [
        store
            .raw_text(&stored("key_pairs", g.key_pair.to_string()))
            .await
            .unwrap(),
        store
            .raw_text(&stored("bank_keys", g.bank_key.to_string()))
            .await
            .unwrap(),
    ];
    assert_eq!(
        texts,
        [
            format!("A006 {}", "CA".repeat(32)),
            format!("X002 {}", "AB".repeat(32))
        ]
    );
    // A signature key's version is its signature version; any other is a corrupt row.
    assert_eq!(pair.signature_version().unwrap(), SignatureVersion::A006);
    let misfiled = fixture::read_tampered(store, &g.scope, g.key_pair, "version = 'X002'")
        .await
        .unwrap();
    assert!(matches!(
        misfiled.signature_version(),
        Err(StorageError::Corrupt {
            column: "key_pairs.version",
            ..
        })
    ));

    // Lower case, letter spacing and short hashes are no stored form.
    let bad_hashes = [
        "ca".repeat(32),
        KeyHash::from_bytes([0xCA; 32]).to_string(),
        "CAFE".to_owned(),
    ];
    for bad in bad_hashes {
        let tampered = format!("key_hash = '{bad}'");
        match fixture::read_tampered(store, &g.scope, g.key_pair, &tampered).await {
            Err(StorageError::Corrupt { column, .. }) => assert_eq!(column, "key_hash"),
            other => panic!("key_hash = {bad:?}: expected Corrupt, got {other:?}"),
        }
    }
    for bad in ["a006", "A007", ""] {
        let tampered = format!("version = '{bad}'");
        match fixture::read_tampered(store, &g.scope, g.bank_key, &tampered).await {
            Err(StorageError::Corrupt { column, .. }) => assert_eq!(column, "version"),
            other => panic!("version = {bad:?}: expected Corrupt, got {other:?}"),
        }
    }
}

/// The state machine refused the move: the write failed with `IllegalTransition`.
#[track_caller]
fn assert_illegal_transition<T: std::fmt::Debug>(result: Result<T>) {
    let err = result.unwrap_err();
    assert!(matches!(err, StorageError::IllegalTransition(_)), "{err:?}");
}

async fn illegal_transition_is_refused_and_leaves_the_row(store: &Store) {
    let g = fixture::build(store, "a").await;
    let mut tx = store.scope(&g.scope).begin().await.unwrap();
    assert_illegal_transition(
        tx.orders()
            .set_status(g.order, OrderStatus::Draft, OrderStatus::Completed)
            .await,
    );
    assert_illegal_transition(
        tx.ebics_users()
            .set_status(g.user, EbicsUserStatus::New, EbicsUserStatus::Ready)
            .await,
    );
    tx.commit().await.unwrap();
    let mut tx = store.scope(&g.scope).begin().await.unwrap();
    let order: Order = tx.get(g.order).await.unwrap();
    assert_eq!(order.status, OrderStatus::Draft);
    let user: EbicsUser = tx.get(g.user).await.unwrap();
    assert_eq!(user.status, EbicsUserStatus::New);
}

async fn status_change_is_compare_and_set(store: &Store) {
    let g = fixture::build(store, "a").await;
    let mut tx = store.scope(&g.scope).begin().await.unwrap();
    tx.orders()
        .set_status(g.order, OrderStatus::Draft, OrderStatus::PendingSignature)
        .await
        .unwrap();
    // A second writer that still believes the order is a draft loses.
    let err = tx
        .orders()
        .set_status(g.order, OrderStatus::Draft, OrderStatus::Cancelled)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StorageError::StaleStatus {
                entity: "order",
                expected: "DRAFT"
            }
        ),
        "{err:?}"
    );
    tx.orders()
        .set_status(g.order, OrderStatus::PendingSignature, OrderStatus::Signed)
        .await
        .unwrap();
    let t = TransactionId::new();
    // Only one submission wins even when two callers race.
    let first = tx.orders().mark_submitted(g.order, t).await;
    let second = tx
        .orders()
        .mark_submitted(g.order, TransactionId::new())
        .await;
    assert!(first.is_ok());
    assert!(matches!(second, Err(StorageError::StaleStatus { .. })));
    tx.commit().await.unwrap();
    let order: Order = fixture::read(store, &g.scope, g.order).await;
    assert_eq!(
        (order.status, order.transaction_id),
        (OrderStatus::Submitted, Some(t))
    );
}

async fn transaction_events_are_append_only(store: &Store) {
    let g = fixture::build(store, "a").await;
    let mut tx = store.scope(&g.scope).begin().await.unwrap();
    tx.transactions()
        .set_phase(
            g.transaction,
            TransactionPhase::Initialisation,
            TransactionPhase::Transfer,
            TransactionEventKind::TransferStarted,
            serde_json::json!({"segments": 3}),
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(store
        .raw_execute("UPDATE transaction_events SET kind = 'COMPLETED'")
        .await
        .is_err());
    assert!(store
        .raw_execute("DELETE FROM transaction_events")
        .await
        .is_err());
    let mut tx = store.scope(&g.scope).begin().await.unwrap();
    let events = tx.transactions().events(g.transaction).await.unwrap();
    let kinds: Vec<_> = events.iter().map(|e| (e.seq, e.kind)).collect();
    assert_eq!(
        kinds,
        vec![
            (1, TransactionEventKind::Initialised),
            (2, TransactionEventKind::TransferStarted)
        ]
    );
}

async fn transaction_phases_record_failure_and_release_the_lease(store: &Store) {
    let g = fixture::build(store, "a").await;
    let now = Utc::now();
    let leased = store
        .system()
        .lease_unfinished_transactions(LeaseTerms {
            owner: "owner-1",
            now,
            lease_for: Duration::minutes(5),
            limit: 10,
        })
        .await
        .unwrap();
    assert!(leased.iter().any(|l| l.transaction == g.transaction));
    let mut tx = store.scope(&g.scope).begin().await.unwrap();
    let t = tx
        .transactions()
        .set_phase(
            g.transaction,
            TransactionPhase::Initialisation,
            TransactionPhase::Failed,
            TransactionEventKind::Failed,
            serde_json::json!({"code": "091005", "text": "EBICS_NO_DOWNLOAD_DATA_AVAILABLE"}),
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(t.failure_code, Some(ResultCode::Bank("091005".into())));
    assert_eq!(t.lease_owner, None);
    let again = store
        .system()
        .lease_unfinished_transactions(LeaseTerms {
            owner: "owner-2",
            now: now + Duration::hours(1),
            lease_for: Duration::minutes(5),
            limit: 10,
        })
        .await
        .unwrap();
    assert!(
        again.iter().all(|l| l.transaction != g.transaction),
        "final transactions are not leased"
    );
}

async fn private_keys_are_encrypted_and_bound_to_their_record(store: &Store) {
    let g = fixture::build(store, "a").await;
    let mut tx = store.scope(&g.scope).begin().await.unwrap();
    let pair: KeyPair = tx.get(g.key_pair).await.unwrap();
    assert!(
        !pair
            .encrypted_private_key()
            .windows(5)
            .any(|w| w == b"pkcs8"),
        "stored in clear"
    );
    assert!(!format!("{pair:?}").contains("pkcs8"));
    // A second key pair of the same user, whose ciphertext we swap into the first.
    let other = tx
        .key_pairs()
        .create(NewKeyPair {
            ebics_user_id: g.user,
            usage: KeyUsage::Signature,
            version: KeyVersion::A006,
            public_key: vec![1],
            private_key_pkcs8: zeroize::Zeroizing::new(b"another key".to_vec()),
            key_hash: KeyHash::from_bytes([0xBE; 32]),
            certificate: None,
        })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let hex_other = hex::encode(other.encrypted_private_key());
    let swap = match store.backend() {
        Backend::Sqlite => format!(
            "UPDATE key_pairs SET encrypted_private_key = X'{hex_other}' WHERE id = '{}'",
            g.key_pair
        ),
        Backend::Postgres => format!(
            "UPDATE key_pairs SET encrypted_private_key = '\\x{hex_other}'::bytea WHERE id = '{}'",
            g.key_pair
        ),
    };
    store.raw_execute(&swap).await.unwrap();
    let mut tx = store.scope(&g.scope).begin().await.unwrap();
    assert!(matches!(
        tx.key_pairs().load_private_key(g.key_pair).await,
        Err(StorageError::KeyDecryption(_))
    ));
    assert_eq!(
        tx.key_pairs()
            .load_private_key(other.id)
            .await
            .unwrap()
            .as_slice(),
        b"another key"
    );
}

async fn wrong_master_key_cannot_decrypt(store: &Store) {
    let g = fixture::build(store, "a").await;
    let pair: KeyPair = fixture::read(store, &g.scope, g.key_pair).await;
    let context = format!(
        "kontor/key_pairs/{}/{}/SIGNATURE",
        g.scope.tenant(),
        g.key_pair
    );
    assert!(MasterKey::generate()
        .decrypt(pair.encrypted_private_key(), context.as_bytes())
        .is_err());
}

async fn same_payment_file_is_one_live_order(store: &Store) {
    let g = fixture::build(store, "a").await;
    let mut tx = store.scope(&g.scope).begin().await.unwrap();
    let original: Order = tx.get(g.order).await.unwrap();
    let dup = NewOrder {
        ebics_user_id: g.user,
        order_type: OrderType::CCT,
        btf_service: None,
        signature_rule: SignatureRule::Standard,
        content_file_id: g.file,
        content_hash: original.content_hash.clone(),
        content_size: original.content_size,
        amount_total: None,
        currency: None,
        idempotency_key: None,
    };
    assert!(matches!(
        tx.orders().create(dup.clone()).await,
        Err(StorageError::Conflict { .. })
    ));
    drop(tx);
    let mut tx = store.scope(&g.scope).begin().await.unwrap();
    tx.orders()
        .set_status(g.order, OrderStatus::Draft, OrderStatus::Cancelled)
        .await
        .unwrap();
    tx.orders()
        .create(dup)
        .await
        .expect("allowed once the first order is cancelled");
    tx.commit().await.unwrap();
}

async fn idempotency_key_finds_the_existing_order(store: &Store) {
    let g = fixture::build(store, "a").await;
    let mut tx = store.scope(&g.scope).begin().await.unwrap();
    let found = tx
        .orders()
        .find_by_idempotency_key("idem-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, g.order);
    assert!(tx
        .orders()
        .find_by_idempotency_key("other")
        .await
        .unwrap()
        .is_none());
}

async fn bookings_are_stored_once_per_dedupe_key(store: &Store) {
    let g = fixture::build(store, "a").await;
    let mut tx = store.scope(&g.scope).begin().await.unwrap();
    assert!(!tx
        .statements()
        .insert_booking(fixture::booking(g.account, g.statement, &g.booking_key))
        .await
        .unwrap());
    assert!(tx
        .statements()
        .insert_booking(fixture::booking(g.account, g.statement, "REF-0002"))
        .await
        .unwrap());
    tx.commit().await.unwrap();
    let mut tx = store.scope(&g.scope).begin().await.unwrap();
    let all = tx
        .statements()
        .bookings(&fixture::bookings_of(g.account, 10))
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    let page2 = tx
        .statements()
        .bookings(&BookingFilter {
            after: Some((all[0].booking_date, all[0].id)),
            ..fixture::bookings_of(g.account, 10)
        })
        .await
        .unwrap();
    assert_eq!(page2, vec![all[1].clone()]);
}

/// The database's JSON of a page of bookings is, byte for byte, what `serde_json` writes for
/// the typed bookings of the same page, for awkward text (quotes, backslashes, control
/// characters, non-ASCII), absent values, amounts and timestamps of every shape; and the
/// typed bookings read back as they were written.
async fn bookings_json_is_the_typed_bookings_serialised(store: &Store) {
    let g = fixture::build(store, "a").await;
    let awkward = "quote \" backslash \\ slash / tab\t lf\n cr\r bs\u{8} ff\u{c} \
                   ctl\u{1}\u{1f} del\u{7f} é € 😀 \u{2028} </script>";
    let date = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 3, d).unwrap();
    let mut written = Vec::new();
    for (i, amount) in [
        "0.01",
        "1000000.00",
        "-42.50",
        "0",
        "123456789012345678.123",
        "7",
    ]
    .into_iter()
    .enumerate()
    {
        let mut new = fixture::booking(g.account, g.statement, &format!("JSON-{i}"));
        new.amount = Amount::parse(amount).unwrap();
        new.booking_date = date(1 + (i as u32 % 3));
        if i % 2 == 0 {
            new.statement_id = None;
            new.value_date = Some(date(28));
            new.counterparty_name = Some(awkward.into());
            new.counterparty_iban = Some(Iban::parse("FR14 2004 1010 0505 0001 3M02 606").unwrap());
            new.remittance = Some(String::new());
            new.end_to_end_id = Some(format!("E2E\"{i}\\"));
            new.currency = "CHF".parse().unwrap();
            new.credit_debit = CreditDebit::Debit;
        } else {
            new.counterparty_name = None;
            new.remittance = None;
            new.bank_reference = None;
        }
        written.push(new.clone());
        let mut tx = store.scope(&g.scope).begin().await.unwrap();
        assert!(tx.statements().insert_booking(new).await.unwrap());
        tx.commit().await.unwrap();
    }
    // Stored timestamps with six, three and no significant decimals.
    for (key, created_at) in [
        ("JSON-0", "2026-03-01T10:11:12.000000Z"),
        ("JSON-1", "2026-03-01T10:11:12.120000Z"),
        ("JSON-2", "2026-03-01T10:11:12.123456Z"),
        ("JSON-3", "2026-03-01T10:11:12.100000Z"),
        ("JSON-4", "2026-03-01T10:11:12.000100Z"),
    ] {
        fixture::tamper_booking(store, key, &format!("created_at = '{created_at}'")).await;
    }

    let mut tx = store.scope(&g.scope).read().await.unwrap();
    // Each first page, then the page after it.
    for newest_first in [true, false] {
        for limit in [100, 3, 1] {
            let first = BookingFilter {
                newest_first,
                ..fixture::bookings_of(g.account, limit)
            };
            let page = typed_and_json_agree(&mut tx, &first).await;
            let after = page.last().map(|b| (b.booking_date, b.id));
            typed_and_json_agree(&mut tx, &BookingFilter { after, ..first }).await;
        }
    }
    for (from, to) in [(date(2), Some(date(2))), (date(20), None)] {
        let range = BookingFilter {
            from: Some(from),
            to,
            ..fixture::bookings_of(g.account, 100)
        };
        typed_and_json_agree(&mut tx, &range).await;
    }
    let all = typed_and_json_agree(&mut tx, &fixture::bookings_of(g.account, 100)).await;
    for new in &written {
        let read = all.iter().find(|b| b.dedupe_key == new.dedupe_key).unwrap();
        assert_eq!(
            (
                read.account_id,
                read.statement_id,
                read.booking_date,
                read.value_date,
                &read.amount,
                &read.currency,
                &read.credit_debit,
                &read.counterparty_name,
                &read.counterparty_iban,
                &read.remittance,
                &read.bank_reference,
                &read.end_to_end_id,
            ),
            (
                new.account_id,
                new.statement_id,
                new.booking_date,
                new.value_date,
                &new.amount,
                &new.currency,
                &new.credit_debit,
                &new.counterparty_name,
                &new.counterparty_iban,
                &new.remittance,
                &new.bank_reference,
                &new.end_to_end_id,
            ),
            "{} reads back as written",
            new.dedupe_key
        );
    }
    assert_eq!(all.len(), 7, "the fixture's booking and the six above");
    let typed = serde_json::to_string(&all).unwrap();
    for shape in [
        "12Z\"",
        "12.120Z\"",
        "12.123456Z\"",
        "12.100Z\"",
        "12.000100Z\"",
    ] {
        assert!(
            typed.contains(shape),
            "a timestamp ending {shape} in {typed}"
        );
    }
    assert!(typed.contains("ctl\\u0001\\u001f del\u{7f}"), "{typed}");
}

/// Asserts that [`Statements::bookings_json`] of `filter` is `serde_json`'s text of its
/// typed page, with its length and last position; returns the typed page.
async fn typed_and_json_agree(
    tx: &mut ScopedTx<'_>,
    filter: &BookingFilter,
) -> Vec<BookedTransaction> {
    let typed = tx.statements().bookings(filter).await.unwrap();
    let json = tx.statements().bookings_json(filter).await.unwrap();
    let expected = BookingsJson {
        json: serde_json::to_string(&typed).unwrap(),
        len: typed.len(),
        last: typed.last().map(|b| (b.booking_date, b.id)),
    };
    assert_eq!(json, expected, "{filter:?}");
    typed
}

/// Bookings stored in bulk (several multi-row statements) count and skip exactly as one
/// by one: a key already stored, and a key repeated within the same statement or across
/// statements of one call, are stored once.
async fn bookings_in_bulk_are_stored_once_per_dedupe_key(store: &Store) {
    let g = fixture::build(store, "a").await;
    // More keys than one statement takes (250 rows): one repeated within the first statement,
    // one in the second.
    let mut keys: Vec<String> = (0..600).map(|i| format!("BULK-{i:03}")).collect();
    keys.insert(7, "BULK-006".into());
    keys.insert(400, "BULK-005".into());
    keys.push(g.booking_key.clone());
    let bookings = |keys: &[String]| -> Vec<NewBookedTransaction> {
        keys.iter()
            .map(|key| fixture::booking(g.account, g.statement, key))
            .collect()
    };
    let mut tx = store.scope(&g.scope).begin().await.unwrap();
    let new = tx.statements().insert_bookings(bookings(&keys)).await;
    assert_eq!(new.unwrap(), 600);
    assert_eq!(
        tx.statements().insert_bookings(Vec::new()).await.unwrap(),
        0
    );
    tx.commit().await.unwrap();

    let mut tx = store.scope(&g.scope).begin().await.unwrap();
    let again = tx.statements().insert_bookings(bookings(&keys)).await;
    assert_eq!(again.unwrap(), 0, "a second delivery stores nothing");
    let whole_account = fixture::bookings_of(g.account, 1000);
    let stored = tx.statements().bookings(&whole_account).await.unwrap();
    let mut stored_keys: Vec<&str> = stored.iter().map(|b| b.dedupe_key.as_str()).collect();
    stored_keys.sort_unstable();
    let mut expected: Vec<&str> = keys.iter().map(String::as_str).collect();
    expected.sort_unstable();
    expected.dedup();
    assert_eq!(stored_keys, expected);
    let first = stored.iter().find(|b| b.dedupe_key == "BULK-000").unwrap();
    let wanted = fixture::booking(g.account, g.statement, "BULK-000");
    assert_eq!(
        (&first.amount, &first.currency, first.remittance.as_deref()),
        (
            &wanted.amount,
            &wanted.currency,
            wanted.remittance.as_deref()
        )
    );
}

async fn concurrent_leasers_never_share_a_schedule(store: &Store) {
    let g = fixture::build(store, "a").await;
    let mut tx = store.scope(&g.scope).begin().await.unwrap();
    for _ in 0..40 {
        tx.schedules()
            .create(NewSchedule {
                ebics_user_id: g.user,
                account_id: None,
                order_type: kontor_protocol::order_type::OrderType::C53,
                btf_service: None,
                cron: "0 0 6 * * *".into(),
                time_zone: "UTC".into(),
                next_run_at: Utc::now() - Duration::minutes(1),
            })
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let now = Utc::now();
    let mut handles = Vec::new();
    for owner in 0..4 {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            for _ in 0..10 {
                mine.extend(
                    store
                        .system()
                        .lease_due_schedules(LeaseTerms {
                            owner: &format!("owner-{owner}"),
                            now,
                            lease_for: Duration::minutes(5),
                            limit: 3,
                        })
                        .await
                        .unwrap()
                        .into_iter()
                        .map(|l| l.schedule),
                );
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap());
    }
    let unique: std::collections::HashSet<_> = all.iter().collect();
    assert_eq!(unique.len(), all.len(), "a schedule was leased twice");
    assert_eq!(all.len(), 40, "every due schedule is leased exactly once");
    // After the leases expire, another owner takes them over.
    let later = now + Duration::minutes(10);
    let taken = store
        .system()
        .lease_due_schedules(LeaseTerms {
            owner: "owner-new",
            now: later,
            lease_for: Duration::minutes(5),
            limit: 100,
        })
        .await
        .unwrap();
    assert_eq!(taken.len(), 40);
    // A finished run by a stale owner does not overwrite the new owner's lease.
    let mut tx = store.scope(&taken[0].scope).begin().await.unwrap();
    assert!(tx
        .schedules()
        .complete_run(
            taken[0].schedule,
            "owner-0",
            now,
            later,
            RunOutcome::Succeeded,
            None
        )
        .await
        .unwrap()
        .is_none());
    assert!(tx
        .schedules()
        .complete_run(
            taken[0].schedule,
            "owner-new",
            now,
            later + Duration::days(1),
            RunOutcome::Succeeded,
            None
        )
        .await
        .unwrap()
        .is_some());
    tx.commit().await.unwrap();
}

async fn tokens_authenticate_until_expired_or_revoked(store: &Store) {
    let g = fixture::build(store, "a").await;
    let admin = store.admin();
    let now = Utc::now();
    let issued = admin
        .issue_token(g.operator, "ci", Some(now + Duration::hours(1)))
        .await
        .unwrap();
    use secrecy::ExposeSecret;
    let secret = issued.secret.expose_secret().to_owned();
    assert!(!format!("{issued:?}").contains(&secret));
    let op = admin.authenticate_token(&secret, now).await.unwrap();
    assert_eq!(
        (op.tenant(), op.role(), op.restricted_to()),
        (g.scope.tenant(), Role::Admin, &[g.user][..])
    );
    let scope = TenantScope::for_operator(&op);
    let order: Order = fixture::read(store, &scope, g.order).await;
    assert_eq!(order.id, g.order);
    assert!(
        admin
            .authenticate_token(&secret, now + Duration::hours(2))
            .await
            .is_err(),
        "expired"
    );
    assert!(admin
        .authenticate_token("kontor_nonsense", now)
        .await
        .is_err());
    assert!(admin.authenticate_token("", now).await.is_err());
    admin
        .revoke_token(g.operator, issued.token.id)
        .await
        .unwrap();
    assert!(
        admin.authenticate_token(&secret, now).await.is_err(),
        "revoked"
    );
}

/// Forty requests, each with a token not used for a minute, at once: more than the pool's
/// connections. The token check writes `last_used_at`; were it to hold its read connection
/// while waiting for a write connection, the pool would starve and requests fail.
async fn more_fresh_tokens_than_connections_all_authenticate(store: &Store) {
    use secrecy::ExposeSecret;
    let g = fixture::build(store, "a").await;
    let admin = store.admin();
    let mut secrets = Vec::new();
    for i in 0..40 {
        let issued = admin
            .issue_token(g.operator, &format!("t{i}"), None)
            .await
            .unwrap();
        secrets.push(issued.secret.expose_secret().to_owned());
    }
    let admin = &admin;
    let checks = secrets.iter().map(|secret| async move {
        let (op, mut tx) = admin.authenticate_token_reading(secret, Utc::now()).await?;
        // The request reads in the transaction it was handed, then answers.
        let order: Order = tx.get(g.order).await?;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        drop(tx);
        Ok::<_, kontor_storage::admin::AuthError>((op.tenant(), order.id))
    });
    for checked in futures::future::join_all(checks).await {
        assert_eq!(checked.unwrap(), (g.scope.tenant(), g.order));
    }
    let used = admin.list_tokens(g.operator).await.unwrap();
    assert!(
        used.iter().all(|t| t.last_used_at.is_some()),
        "every token's use is recorded"
    );
}

/// `by` decides on `key` after comparing the hash in the bank's letter.
async fn decide_by_letter(
    tx: &mut ScopedTx<'_>,
    key: BankKeyId,
    outcome: BankKeyVerification,
    by: &str,
) -> Result<BankKey> {
    let letter = VerificationMethod::Letter;
    tx.bank_keys().decide(key, outcome, letter, by).await
}

async fn a_rejected_bank_key_can_be_verified_and_a_verified_one_is_final(store: &Store) {
    use BankKeyVerification::{Rejected, Verified};
    let g = fixture::build(store, "a").await;
    let mut tx = store.scope(&g.scope).begin().await.unwrap();
    let key = decide_by_letter(&mut tx, g.bank_key, Rejected, "alice").await;
    assert_eq!(key.unwrap().verification_status, Rejected);
    // The operator mistyped the letter's hash: the corrected check verifies the key.
    let key = decide_by_letter(&mut tx, g.bank_key, Verified, "bob")
        .await
        .unwrap();
    assert_eq!(key.verification_status, Verified);
    assert_eq!(key.verified_by.as_deref(), Some("bob"));
    assert_illegal_transition(decide_by_letter(&mut tx, g.bank_key, Rejected, "carol").await);
}

async fn btf_services_permissions_and_sync_outcomes_are_stored_typed(store: &Store) {
    use kontor_protocol::order_type::{BtfService, MessageName};
    let g = fixture::build(store, "a").await;
    let mut tx = store.scope(&g.scope).begin().await.unwrap();
    let sdd = BtfService {
        service_option: Some("COR".into()),
        ..BtfService::new("SDD", MessageName::new("pain.008").with_version("08"))
    };
    let sct = BtfService::new("SCT", MessageName::new("pain.001"));
    for service in [&sct, &sdd] {
        tx.permissions()
            .create(NewPermission {
                ebics_user_id: g.user,
                order_type: OrderType::BTU,
                btf_service: Some(service.clone()),
                account_id: None,
                authorisation_level: SignatureClass::E,
                max_amount: None,
                currency: None,
            })
            .await
            .unwrap();
    }
    let btu: Vec<Option<BtfService>> = tx
        .permissions()
        .list_for_user(g.user)
        .await
        .unwrap()
        .into_iter()
        .filter(|p| p.order_type == OrderType::BTU)
        .map(|p| p.btf_service)
        .collect();
    assert_eq!(btu.len(), 2, "BTU/SCT and BTU/SDD stay two permissions");
    assert!(btu.contains(&Some(sct.clone())) && btu.contains(&Some(sdd.clone())));

    let offers = vec![BtfOffer {
        order_type: OrderType::BTU,
        service: sdd.clone(),
    }];
    tx.connections()
        .set_order_types(
            g.connection,
            &[OrderType::BTU, OrderType::other("XE2").unwrap()],
        )
        .await
        .unwrap();
    tx.connections()
        .set_btf_offers(g.connection, &offers)
        .await
        .unwrap();
    let connection: Connection = tx.get(g.connection).await.unwrap();
    assert_eq!(connection.btf_offers, offers);
    assert_eq!(connection.order_types[1].as_str(), "XE2");

    let failed = tx
        .ebics_users()
        .record_sync_failure(
            g.user,
            &KontorFailure::NoSubscriberData.into(),
            "the bank sent no subscriber data",
        )
        .await
        .unwrap();
    assert_eq!(
        failed.sync_failure_code,
        Some(ResultCode::Kontor(KontorFailure::NoSubscriberData)),
        "a Kontor code reads back as Kontor's"
    );
    assert_eq!(failed.synced_at, None);
    let synced = tx.ebics_users().record_sync_success(g.user).await.unwrap();
    assert!(synced.synced_at.is_some());
    assert_eq!(
        (synced.sync_failure_code, synced.sync_failure_message),
        (None, None)
    );

    // A lock keeps the bank's code and text until the status moves on.
    let locked = tx
        .ebics_users()
        .set_status_with_reason(
            g.user,
            synced.status,
            EbicsUserStatus::Locked,
            &ResultCode::Bank("091002".into()),
            "EBICS_INVALID_USER_OR_USER_STATE",
        )
        .await
        .unwrap();
    assert_eq!(
        locked.status_reason_code,
        Some(ResultCode::Bank("091002".into()))
    );
    assert_eq!(
        locked.status_reason_message.as_deref(),
        Some("EBICS_INVALID_USER_OR_USER_STATE")
    );
    assert!(locked.status_reason_at.is_some());
    let reset = tx
        .ebics_users()
        .set_status(g.user, EbicsUserStatus::Locked, EbicsUserStatus::New)
        .await
        .unwrap();
    assert_eq!(
        (
            reset.status_reason_code,
            reset.status_reason_message,
            reset.status_reason_at
        ),
        (None, None, None)
    );
}

async fn signer_held_keys_store_no_private_part(store: &Store) {
    let g = fixture::build(store, "a").await;
    let mut tx = store.scope(&g.scope).begin().await.unwrap();
    let pair = tx
        .key_pairs()
        .register_signer_key(NewSignerKey {
            ebics_user_id: g.user,
            version: SignatureVersion::A006,
            public_key: vec![1, 2],
            key_hash: KeyHash::from_bytes([0xCA; 32]),
            certificate: None,
        })
        .await
        .unwrap();
    assert_eq!(pair.custody, KeyCustody::Signer);
    assert!(pair.encrypted_private_key().is_empty());
    assert!(matches!(
        tx.key_pairs().load_private_key(pair.id).await,
        Err(StorageError::InvalidInput { .. })
    ));
    let daemon_held: KeyPair = tx.get(g.key_pair).await.unwrap();
    assert_eq!(daemon_held.custody, KeyCustody::Daemon);
    tx.commit().await.unwrap();
    // The schema itself refuses a signer-held key with a ciphertext.
    let smuggle = match store.backend() {
        Backend::Sqlite => "X'00'",
        Backend::Postgres => "'\\x00'::bytea",
    };
    assert!(store
        .raw_execute(&format!(
            "UPDATE key_pairs SET encrypted_private_key = {smuggle} WHERE id = '{}'",
            pair.id
        ))
        .await
        .is_err());
}

async fn a_user_is_read_with_its_connection_and_host(store: &Store) {
    let a = fixture::build(store, "a").await;
    let mut tx = store.scope(&a.scope).read().await.unwrap();
    let user: EbicsUser = tx.get(a.user).await.unwrap();
    let expected = UserAtHost {
        connection: tx.get(a.connection).await.unwrap(),
        host: tx.get(a.host).await.unwrap(),
        user: user.clone(),
    };
    assert_eq!(tx.ebics_users().at_host(a.user).await.unwrap(), expected);
    assert_eq!(tx.ebics_users().with_host(user).await.unwrap(), expected);
}

/// A VEU item keeps the order as the bank listed it, every part of its service in the text
/// column; the labels stored before (`CCT`, `SCT/pain.001`) still load as what they meant, and
/// the next sync of such an order completes that row instead of adding a second one.
async fn veu_items_keep_the_listed_service_and_old_labels_still_load(store: &Store) {
    use kontor_protocol::order_type::{BtfService, ContainerType, MessageName, OrderTypeOrService};
    use kontor_protocol::SignatureVersion;
    let g = fixture::build(store, "a").await;
    let sdd = BtfService {
        scope: Some("DE".into()),
        service_option: Some("COR".into()),
        container: Some(ContainerType::Zip),
        ..BtfService::new("SDD", MessageName::new("pain.008").with_version("08"))
    };
    let mut tx = store.scope(&g.scope).begin().await.unwrap();
    let item = tx
        .veu_items()
        .upsert(VeuSnapshot {
            bank_order_id: "B002".into(),
            order_type: OrderTypeOrService::service(sdd.clone()).unwrap(),
            ..testing::seed::records::veu_item(g.connection, "10.00")
        })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        fixture::read(store, &g.scope, item.id).await.order_type,
        OrderTypeOrService::Service(sdd.clone())
    );
    assert_eq!(
        stored_order_type(store, item.id).await,
        "SDD/pain.008;scope=DE;service_option=COR;container=ZIP;msg_version=08"
    );
    // The API's JSON keeps the label it always showed and adds the whole service.
    let json = serde_json::to_value(&item).unwrap();
    assert_eq!(json["order_type"], "SDD/pain.008");
    assert_eq!(json["btf_service"], serde_json::to_value(&sdd).unwrap());
    let cct = serde_json::to_value(fixture::read(store, &g.scope, g.veu_item).await).unwrap();
    assert_eq!(
        (&cct["order_type"], &cct["btf_service"]),
        (&"CCT".into(), &serde_json::Value::Null)
    );

    // A label written before every part was kept: the service it named, nothing more.
    let old = fixture::read_tampered(store, &g.scope, g.veu_item, "order_type = 'SCT/pain.001'")
        .await
        .unwrap();
    let sct = BtfService::new("SCT", MessageName::new("pain.001"));
    assert_eq!(old.order_type, OrderTypeOrService::Service(sct.clone()));
    // Listed again with its version and scope, the same order completes its row.
    let listed = BtfService {
        scope: Some("DE".into()),
        ..BtfService::new("SCT", MessageName::new("pain.001").with_version("09"))
    };
    let mut tx = store.scope(&g.scope).begin().await.unwrap();
    let again = tx
        .veu_items()
        .upsert(VeuSnapshot {
            order_type: OrderTypeOrService::service(listed.clone()).unwrap(),
            ..testing::seed::records::veu_item(g.connection, "100.00")
        })
        .await
        .unwrap();
    let all = tx
        .veu_items()
        .list_by_status(VeuStatus::Pending)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(again.id, g.veu_item);
    assert_eq!(again.order_type, OrderTypeOrService::Service(listed));
    assert_eq!(all.iter().filter(|i| i.bank_order_id == "A001").count(), 1);
    assert_eq!(
        stored_order_type(store, g.veu_item).await,
        "SCT/pain.001;scope=DE;msg_version=09"
    );

    // The digest's signature version is stored as its code and read back typed.
    let mut tx = store.scope(&g.scope).begin().await.unwrap();
    tx.veu_items()
        .record_digest(item.id, "ab", Some(SignatureVersion::A005))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let read = fixture::read(store, &g.scope, item.id).await;
    assert_eq!(read.data_digest_version, Some(SignatureVersion::A005));
    assert_eq!(
        store
            .raw_text(&format!(
                "SELECT data_digest_version FROM veu_items WHERE id = '{}'",
                item.id
            ))
            .await
            .unwrap(),
        "A005"
    );

    fixture::assert_each_corrupt(
        store,
        &g.scope,
        item.id,
        &[
            ("order_type", "SDD/pain.008;scope=de"),
            ("order_type", "SDD/pain.008;colour=blue"),
            ("data_digest_version", "A004"),
        ],
        "order_type = 'CCT', data_digest_version = 'A005'",
    )
    .await;
}

/// The text in a VEU item's `order_type` column.
async fn stored_order_type(store: &Store, id: VeuItemId) -> String {
    store
        .raw_text(&format!(
            "SELECT order_type FROM veu_items WHERE id = '{id}'"
        ))
        .await
        .unwrap()
}

conformance!(
    signer_held_keys_store_no_private_part,
    duplicate_host_id_is_a_conflict_within_a_tenant_only,
    a_hosts_ca_bundle_is_stored_kept_and_removed,
    unknown_enum_value_in_the_database_is_a_typed_error,
    money_is_stored_as_its_text_and_bad_text_is_corrupt,
    key_versions_and_hashes_are_stored_as_text_and_bad_text_is_corrupt,
    statement_codes_are_stored_as_text_and_read_typed,
    audit_actor_kind_is_stored_as_text_and_read_typed,
    illegal_transition_is_refused_and_leaves_the_row,
    status_change_is_compare_and_set,
    transaction_events_are_append_only,
    transaction_phases_record_failure_and_release_the_lease,
    private_keys_are_encrypted_and_bound_to_their_record,
    wrong_master_key_cannot_decrypt,
    same_payment_file_is_one_live_order,
    idempotency_key_finds_the_existing_order,
    bookings_are_stored_once_per_dedupe_key,
    bookings_in_bulk_are_stored_once_per_dedupe_key,
    bookings_json_is_the_typed_bookings_serialised,
    concurrent_leasers_never_share_a_schedule,
    tokens_authenticate_until_expired_or_revoked,
    more_fresh_tokens_than_connections_all_authenticate,
    a_rejected_bank_key_can_be_verified_and_a_verified_one_is_final,
    btf_services_permissions_and_sync_outcomes_are_stored_typed,
    a_user_is_read_with_its_connection_and_host,
    veu_items_keep_the_listed_service_and_old_labels_still_load,
);
