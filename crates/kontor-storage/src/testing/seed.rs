//! The one seed every crate's tests start from: a tenant with a bank host, a connection (a
//! partner at the host), an EBICS user and optionally an account. The storage tests build
//! their object graphs on it, the daemon's and the CLI's worlds add a bank, and the benchmark
//! its load.

use chrono::{DateTime, Utc};
use kontor_protocol::order_type::OrderType;
use kontor_protocol::ProtocolVersion;
use secrecy::ExposeSecret;

use crate::{
    AccountId, BankHostId, BookingFilter, ConnectionId, Direction, EbicsUserId, NewAccount,
    NewBankHost, NewConnection, NewEbicsUser, NewPermission, NewSchedule, NewTransaction, Role,
    Schedule, ScopedTx, SignatureClass, Store, TenantId, TenantScope,
};

/// The emulator partner's main account, and the account every seed with an account has.
pub const IBAN: &str = "DE89370400440532013000";

/// What to plant; [`Seed::new`] gives a test host no request ever reaches.
#[derive(Debug, Clone)]
pub struct Seed {
    pub tenant: String,
    pub host_id: String,
    pub url: String,
    pub version: ProtocolVersion,
    pub production: bool,
    pub partner: String,
    pub user: String,
    pub user_name: String,
    pub signature_class: SignatureClass,
    /// An account with this IBAN on the connection.
    pub account: Option<String>,
    pub account_holder: String,
}

impl Seed {
    pub fn new(tenant: &str) -> Self {
        Self {
            tenant: tenant.into(),
            host_id: "KONTORBANK".into(),
            url: "http://127.0.0.1:1/ebicsweb".into(),
            version: ProtocolVersion::H005,
            production: false,
            partner: "PARTNER1".into(),
            user: "USER1".into(),
            user_name: "Erika Mustermann".into(),
            signature_class: SignatureClass::E,
            account: None,
            account_holder: "ACME GmbH".into(),
        }
    }

    pub fn at(mut self, url: impl Into<String>, version: ProtocolVersion) -> Self {
        self.url = url.into();
        self.version = version;
        self
    }

    pub fn with_account(mut self, iban: &str) -> Self {
        self.account = Some(iban.into());
        self
    }

    /// The bank host record of the seed (BTF exactly when its protocol version has it).
    pub fn host(&self) -> NewBankHost {
        NewBankHost {
            host_id: self.host_id.clone(),
            name: "Kontor Test Bank".into(),
            url: self.url.clone(),
            protocol_version: self.version,
            btf: self.version.uses_btf(),
            production: self.production,
            ca_bundle_pem: None,
        }
    }
}

/// The planted records.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub scope: TenantScope,
    pub host: BankHostId,
    pub connection: ConnectionId,
    pub user: EbicsUserId,
    pub account: Option<AccountId>,
}

impl Tenant {
    pub fn account(&self) -> AccountId {
        self.account.expect("the seed has an account")
    }
}

pub async fn plant(store: &Store, seed: Seed) -> Tenant {
    let created = store.admin().create_tenant(&seed.tenant).await.unwrap();
    let scope = TenantScope::system_job(created.id, "test seed");
    let mut tx = store.scope(&scope).begin().await.unwrap();
    let host = tx.bank_hosts().create(seed.host()).await.unwrap().id;
    let connection = tx
        .connections()
        .create(NewConnection {
            bank_host_id: host,
            partner_id: seed.partner,
            display_name: "Main".into(),
        })
        .await
        .unwrap()
        .id;
    let account = match seed.account {
        Some(iban) => Some(
            tx.accounts()
                .create(connection, account(&iban, &seed.account_holder))
                .await
                .unwrap()
                .id,
        ),
        None => None,
    };
    let user = create_user(
        &mut tx,
        connection,
        &seed.user,
        &seed.user_name,
        seed.signature_class,
    )
    .await;
    tx.commit().await.unwrap();
    Tenant {
        scope,
        host,
        connection,
        user,
        account,
    }
}

async fn create_user(
    tx: &mut ScopedTx<'_>,
    connection: ConnectionId,
    user_id: &str,
    name: &str,
    class: SignatureClass,
) -> EbicsUserId {
    tx.ebics_users()
        .create(NewEbicsUser {
            connection_id: connection,
            user_id: user_id.into(),
            system_id: None,
            name: name.into(),
            signature_class: class,
        })
        .await
        .unwrap()
        .id
}

impl Tenant {
    /// Another EBICS user of the tenant's connection (NEW, without keys).
    pub async fn add_user(
        &self,
        store: &Store,
        user_id: &str,
        name: &str,
        class: SignatureClass,
    ) -> EbicsUserId {
        let mut tx = store.scope(&self.scope).begin().await.unwrap();
        let user = create_user(&mut tx, self.connection, user_id, name, class).await;
        tx.commit().await.unwrap();
        user
    }

    /// The order types the bank offers on the tenant's connection (as its HTD/HKD said).
    pub async fn offer(&self, store: &Store, order_types: &[OrderType]) {
        let mut tx = store.scope(&self.scope).begin().await.unwrap();
        tx.connections()
            .set_order_types(self.connection, order_types)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
}

/// A EUR account of `holder` with `iban`.
pub fn account(iban: &str, holder: &str) -> NewAccount {
    NewAccount {
        iban: Some(iban.parse().expect("a test IBAN")),
        holder_name: holder.into(),
        currency: "EUR".parse().unwrap(),
        bank_account_id: None,
        national_number: None,
        bank_code: None,
        bic: None,
    }
}

/// `user`'s permission for `order_type` at `class` on every account, without a limit; a
/// test narrows it with struct update syntax.
pub fn permission(
    user: EbicsUserId,
    order_type: OrderType,
    class: SignatureClass,
) -> NewPermission {
    NewPermission {
        ebics_user_id: user,
        order_type,
        btf_service: None,
        account_id: None,
        authorisation_level: class,
        max_amount: None,
        currency: None,
    }
}

/// A new operator of `tenant` with `role`, and the secret of an API token issued to them.
pub async fn operator_token(store: &Store, tenant: TenantId, email: &str, role: Role) -> String {
    let admin = store.admin();
    let operator = admin
        .create_operator(email, "Ops", tenant, role)
        .await
        .unwrap();
    let issued = admin.issue_token(operator.id, "test", None).await.unwrap();
    issued.secret.expose_secret().to_owned()
}

/// All bookings of an account, paging through the keyset cursor.
pub async fn count_bookings(store: &Store, scope: &TenantScope, account: AccountId) -> usize {
    let mut tx = store.scope(scope).begin().await.unwrap();
    let mut filter = BookingFilter {
        account_id: Some(account),
        limit: 1000,
        ..Default::default()
    };
    let mut all = 0;
    loop {
        let page = tx.statements().bookings(&filter).await.unwrap();
        all += page.len();
        match page.last() {
            Some(last) => filter.after = Some((last.booking_date, last.id)),
            None => return all,
        }
    }
}

/// A new C53 download transaction of `user`, before its first request.
pub fn c53_download(user: EbicsUserId) -> NewTransaction {
    NewTransaction {
        ebics_user_id: user,
        direction: Direction::Download,
        order_type: OrderType::C53,
        btf_params: None,
        order_id: None,
        file_id: None,
        num_segments: None,
        effect: None,
    }
}

/// A daily C53 schedule of `user` for `account` at `cron` in `time_zone`, due at
/// `next_run_at`.
pub fn c53_schedule_of(
    user: EbicsUserId,
    account: AccountId,
    cron: &str,
    time_zone: &str,
    next_run_at: DateTime<Utc>,
) -> NewSchedule {
    NewSchedule {
        ebics_user_id: user,
        account_id: Some(account),
        order_type: OrderType::C53,
        btf_service: None,
        cron: cron.into(),
        time_zone: time_zone.into(),
        next_run_at,
    }
}

/// A daily 06:00 (Berlin) C53 schedule of the tenant's user for its account, due at
/// `next_run_at`.
pub async fn c53_schedule(
    store: &Store,
    tenant: &Tenant,
    account: AccountId,
    next_run_at: DateTime<Utc>,
) -> Schedule {
    c53_schedule_at(store, tenant, account, "0 6 * * *", next_run_at).await
}

/// A C53 schedule of the tenant's user for `account` at `cron` (Berlin time), due at
/// `next_run_at`, stored and committed.
pub async fn c53_schedule_at(
    store: &Store,
    tenant: &Tenant,
    account: AccountId,
    cron: &str,
    next_run_at: DateTime<Utc>,
) -> Schedule {
    let mut tx = store.scope(&tenant.scope).begin().await.unwrap();
    let schedule = tx
        .schedules()
        .create(c53_schedule_of(
            tenant.user,
            account,
            cron,
            "Europe/Berlin",
            next_run_at,
        ))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    schedule
}

/// The seed with an account of `iban`, for tests that need no bank.
pub async fn tenant(store: &Store, name: &str, iban: &str) -> Tenant {
    plant(store, Seed::new(name).with_account(iban)).await
}

/// One record of a kind, for the worlds that plant one of every kind on the seed (the storage
/// graph, the API world); a test changes a field with struct update syntax.
pub mod records {
    use super::*;
    use crate::{
        BankKeyKind, FileBody, FileKind, NewBankKey, NewFile, NewOrder, NewStatement,
        SignatureRule, StatementFormat, StoredFile, VeuSnapshot,
    };

    /// An authentication key of `host` with `key_hash`.
    pub fn bank_key(host: BankHostId, key_hash: kontor_protocol::keys::KeyHash) -> NewBankKey {
        NewBankKey {
            bank_host_id: host,
            kind: BankKeyKind::Authentication,
            version: kontor_protocol::KeyVersion::X002,
            public_key: vec![1, 2, 3],
            certificate: None,
            key_hash,
        }
    }

    /// An XML file of `kind`, stored inline.
    pub fn xml_file(kind: FileKind, body: &[u8]) -> NewFile {
        NewFile {
            kind,
            body: FileBody::Inline(body.to_vec()),
            content_type: "application/xml".into(),
        }
    }

    /// A standard CCT order of `user` whose content is `file`, of `amount` EUR.
    pub fn order(user: EbicsUserId, file: &StoredFile, amount: &str) -> NewOrder {
        NewOrder {
            ebics_user_id: user,
            order_type: OrderType::CCT,
            btf_service: None,
            signature_rule: SignatureRule::Standard,
            content_file_id: file.id,
            content_hash: file.sha256.clone(),
            content_size: file.size,
            amount_total: Some(amount.parse().expect("a test amount")),
            currency: Some("EUR".parse().unwrap()),
            idempotency_key: None,
        }
    }

    /// `user`'s CCT permission at `class` on `account`, up to 10,000.00 EUR.
    pub fn limited_permission(
        user: EbicsUserId,
        account: AccountId,
        class: SignatureClass,
    ) -> NewPermission {
        NewPermission {
            account_id: Some(account),
            max_amount: Some("10000.00".parse().unwrap()),
            currency: Some("EUR".parse().unwrap()),
            ..permission(user, OrderType::CCT, class)
        }
    }

    /// The bank's VEU item A001 (a CCT of `amount` EUR with one of two signatures).
    pub fn veu_item(connection: ConnectionId, amount: &str) -> VeuSnapshot {
        VeuSnapshot {
            connection_id: connection,
            bank_order_id: "A001".into(),
            order_type: OrderType::CCT.into(),
            signatures_collected: 1,
            signatures_required: 2,
            amount: Some(amount.parse().expect("a test amount")),
            currency: Some("EUR".parse().unwrap()),
            originator: None,
            expires_at: None,
        }
    }

    /// The camt.053 statement STMT-1 of `account`, read from `file`.
    pub fn statement(account: AccountId, file: crate::FileId) -> NewStatement {
        NewStatement {
            account_id: account,
            format: StatementFormat::Camt053,
            statement_ref: "STMT-1".into(),
            period_from: None,
            period_to: None,
            file_id: Some(file),
        }
    }
}
