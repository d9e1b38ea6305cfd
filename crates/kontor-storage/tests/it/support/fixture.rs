//! A tenant with one record of every entity, for the isolation and conformance tests.

use chrono::{NaiveDate, Utc};
use kontor_documents::{BalanceKind, CreditDebit};
use kontor_protocol::keys::KeyHash;
use kontor_protocol::order_type::OrderType;
use kontor_protocol::KeyVersion;
use kontor_storage::system::LeaseTerms;
use kontor_storage::testing::seed::{self, records, Seed, IBAN};
use kontor_storage::*;
use zeroize::Zeroizing;

/// Ids of one full object graph inside a tenant.
pub struct Graph {
    pub scope: TenantScope,
    pub operator: OperatorId,
    pub host: BankHostId,
    pub bank_key: BankKeyId,
    pub connection: ConnectionId,
    pub account: AccountId,
    pub user: EbicsUserId,
    pub key_pair: KeyPairId,
    pub permission: PermissionId,
    pub file: FileId,
    pub order: OrderId,
    pub signature: OrderSignatureId,
    pub veu_item: VeuItemId,
    pub veu_signer: VeuSignerId,
    pub transaction: TransactionId,
    pub segment: SegmentId,
    pub event: EventId,
    pub schedule: ScheduleId,
    pub job_run: JobRunId,
    pub statement: StatementId,
    pub statement_file: StatementFileId,
    pub balance_date: NaiveDate,
    pub booking_key: String,
}

/// Reads one record of `scope` in a transaction of its own.
pub async fn read<I: EntityId>(store: &Store, scope: &TenantScope, id: I) -> I::Entity {
    store
        .scope(scope)
        .begin()
        .await
        .unwrap()
        .get(id)
        .await
        .unwrap()
}

pub async fn tenant(store: &Store, name: &str) -> TenantScope {
    let tenant = store.admin().create_tenant(name).await.unwrap();
    TenantScope::system_job(tenant.id, "test")
}

pub fn new_host(host_id: &str) -> NewBankHost {
    Seed {
        host_id: host_id.into(),
        ..Seed::new("")
    }
    .host()
}

/// Sets `assignment` (SQL) in the row of `id` behind the repositories' back, then reads the
/// record through them.
pub async fn read_tampered<I>(
    store: &Store,
    scope: &TenantScope,
    id: I,
    assignment: &str,
) -> Result<I::Entity>
where
    I: EntityId + std::fmt::Display,
{
    let table = <I::Entity as Entity>::TABLE;
    store
        .raw_execute(&format!(
            "UPDATE {table} SET {assignment} WHERE id = '{id}'"
        ))
        .await
        .unwrap();
    store.scope(scope).begin().await.unwrap().get(id).await
}

/// Sets each `(column, text)` of `bad` in the row of `id` behind the repositories' back, one
/// at a time, and expects its read to fail as `Corrupt` naming that column; `restore` (SQL
/// assignments) puts the good values back after each.
pub async fn assert_each_corrupt<I>(
    store: &Store,
    scope: &TenantScope,
    id: I,
    bad: &[(&'static str, &str)],
    restore: &str,
) where
    I: EntityId + std::fmt::Display + Copy,
    I::Entity: std::fmt::Debug,
{
    let table = <I::Entity as Entity>::TABLE;
    for (column, text) in bad {
        let tampered = format!("{column} = '{text}'");
        match read_tampered(store, scope, id, &tampered).await {
            Err(StorageError::Corrupt { column: named, .. }) => assert_eq!(named, *column),
            other => panic!("{column} = {text:?}: expected Corrupt, got {other:?}"),
        }
        store
            .raw_execute(&format!("UPDATE {table} SET {restore} WHERE id = '{id}'"))
            .await
            .unwrap();
    }
}

/// Sets `assignment` (SQL) in the booking with `dedupe_key` behind the repositories' back.
pub async fn tamper_booking(store: &Store, dedupe_key: &str, assignment: &str) {
    store
        .raw_execute(&format!(
            "UPDATE booked_transactions SET {assignment} WHERE dedupe_key = '{dedupe_key}'"
        ))
        .await
        .unwrap();
}

/// A host `host_id` of `scope`, created and committed in a transaction of its own.
pub async fn committed_host(store: &Store, scope: &TenantScope, host_id: &str) -> BankHost {
    let mut tx = store.scope(scope).begin().await.unwrap();
    let host = tx.bank_hosts().create(new_host(host_id)).await.unwrap();
    tx.commit().await.unwrap();
    host
}

/// Under PostgreSQL's row-level security, `tx` (of another tenant) counts no row of any of
/// `tables` even with raw SQL.
pub async fn assert_no_rows_leak(tx: &mut ScopedTx<'_>, tables: &[&str]) {
    for table in tables {
        let n = tx
            .raw_count(&format!("SELECT count(*) FROM {table}"))
            .await
            .unwrap();
        assert_eq!(n, 0, "{table} leaks rows to another tenant under RLS");
    }
}

/// The shared seed of `name` (host BANKHOST, user Alice of class A, an account) with one
/// record of every other kind on it.
pub async fn build(store: &Store, name: &str) -> Graph {
    let seed = Seed {
        host_id: "BANKHOST".into(),
        url: "https://ebics.bank.example/ebicsweb".into(),
        user_name: "Alice".into(),
        signature_class: SignatureClass::A,
        ..Seed::new(name).with_account(IBAN)
    };
    let planted = seed::plant(store, seed).await;
    let scope = planted.scope.clone();
    let (host, connection, user) = (planted.host, planted.connection, planted.user);
    let account = planted.account();
    let operator = store
        .admin()
        .create_operator(
            &format!("ops@{name}.example"),
            "Ops",
            scope.tenant(),
            Role::Admin,
        )
        .await
        .unwrap()
        .id;
    let mut tx = store.scope(&scope).begin().await.unwrap();
    let bank_key = tx
        .bank_keys()
        .create(records::bank_key(host, KeyHash::from_bytes([0xAB; 32])))
        .await
        .unwrap()
        .id;
    let key_pair = tx
        .key_pairs()
        .create(NewKeyPair {
            ebics_user_id: user,
            usage: KeyUsage::Signature,
            version: KeyVersion::A006,
            public_key: vec![9, 9],
            private_key_pkcs8: Zeroizing::new(b"pkcs8 private key bytes".to_vec()),
            key_hash: KeyHash::from_bytes([0xCA; 32]),
            certificate: None,
        })
        .await
        .unwrap()
        .id;
    let permission = tx
        .permissions()
        .create(records::limited_permission(
            user,
            account,
            SignatureClass::A,
        ))
        .await
        .unwrap()
        .id;
    tx.memberships().grant(operator, user).await.unwrap();
    let file = tx
        .files()
        .create(records::xml_file(FileKind::OrderContent, b"<pain/>"))
        .await
        .unwrap();
    let order = tx
        .orders()
        .create(NewOrder {
            idempotency_key: Some("idem-1".into()),
            ..records::order(user, &file, "100.00")
        })
        .await
        .unwrap()
        .id;
    let signature = tx
        .order_signatures()
        .create(NewOrderSignature {
            order_id: order,
            signer_id: user,
            signature_class: SignatureClass::A,
            signature_version: kontor_protocol::SignatureVersion::A006,
            signed_hash: file.sha256.clone(),
            signature_value: vec![7; 16],
        })
        .await
        .unwrap()
        .id;
    let veu_item = tx
        .veu_items()
        .upsert(VeuSnapshot {
            originator: Some("USER1".into()),
            ..records::veu_item(connection, "100.00")
        })
        .await
        .unwrap()
        .id;
    let veu_signer = tx
        .veu_items()
        .replace_signers(
            veu_item,
            vec![NewVeuSigner {
                partner_id: "PARTNER1".into(),
                user_id: "USER1".into(),
                name: Some("Alice".into()),
                signature_class: SignatureClass::A,
                signed_at: Some(Utc::now()),
            }],
        )
        .await
        .unwrap()[0]
        .id;
    let transaction = tx
        .transactions()
        .create(seed::c53_download(user))
        .await
        .unwrap()
        .id;
    let segment = tx
        .transactions()
        .add_segment(transaction, 1, true, "00ff", 10)
        .await
        .unwrap()
        .id;
    let event = tx.transactions().events(transaction).await.unwrap()[0].id;
    let schedule = tx
        .schedules()
        .create(seed::c53_schedule_of(
            user,
            account,
            "0 0 6 * * *",
            "Europe/Berlin",
            Utc::now(),
        ))
        .await
        .unwrap()
        .id;
    let statement_file = tx
        .statement_files()
        .find_or_create(NewStatementFile {
            file_id: file.id,
            ebics_user_id: user,
            transaction_id: None,
            order_type: Some(OrderType::C53),
        })
        .await
        .unwrap()
        .id;
    let statement = tx
        .statements()
        .create(records::statement(account, file.id))
        .await
        .unwrap()
        .id;
    let balance_date = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
    assert!(tx
        .statements()
        .upsert_balance(NewBalance {
            account_id: account,
            statement_id: Some(statement),
            kind: BalanceKind::ClosingBooked,
            balance_date,
            amount: "1234.56".parse().unwrap(),
            currency: "EUR".parse().unwrap(),
        })
        .await
        .unwrap());
    let booking_key = "REF-0001".to_string();
    assert!(tx
        .statements()
        .insert_booking(booking(account, statement, &booking_key))
        .await
        .unwrap());
    tx.commit().await.unwrap();

    // A job run needs the schedule leased by its owner.
    let leased = store
        .system()
        .lease_due_schedules(LeaseTerms {
            owner: "owner-a",
            now: Utc::now() + chrono::Duration::seconds(1),
            lease_for: chrono::Duration::minutes(5),
            limit: 1000,
        })
        .await
        .unwrap();
    let lease = leased
        .iter()
        .find(|l| l.schedule == schedule)
        .expect("schedule leased");
    let mut tx = store.scope(&lease.scope).begin().await.unwrap();
    let job_run = tx
        .schedules()
        .complete_run(
            schedule,
            "owner-a",
            Utc::now(),
            Utc::now() + chrono::Duration::days(1),
            RunOutcome::Succeeded,
            None,
        )
        .await
        .unwrap()
        .unwrap()
        .id;
    tx.commit().await.unwrap();

    Graph {
        scope,
        operator,
        host,
        bank_key,
        connection,
        account,
        user,
        key_pair,
        permission,
        file: file.id,
        order,
        signature,
        veu_item,
        veu_signer,
        transaction,
        segment,
        event,
        schedule,
        job_run,
        statement,
        statement_file,
        balance_date,
        booking_key,
    }
}

/// The first `limit` bookings of `account`.
pub fn bookings_of(account: AccountId, limit: u32) -> BookingFilter {
    BookingFilter {
        account_id: Some(account),
        limit,
        ..Default::default()
    }
}

pub fn booking(account: AccountId, statement: StatementId, key: &str) -> NewBookedTransaction {
    NewBookedTransaction {
        account_id: account,
        statement_id: Some(statement),
        booking_date: NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
        value_date: None,
        amount: "10.00".parse().unwrap(),
        currency: "EUR".parse().unwrap(),
        credit_debit: CreditDebit::Credit,
        counterparty_name: Some("Customer".into()),
        counterparty_iban: None,
        remittance: Some("Invoice 1".into()),
        bank_reference: Some(key.into()),
        end_to_end_id: None,
        dedupe_key: key.into(),
    }
}
