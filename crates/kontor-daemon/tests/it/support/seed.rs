//! The seed every world starts from: a tenant with one bank host, one connection (a partner at
//! the host), one EBICS user and optionally one account.

use chrono::{DateTime, Utc};
use kontor_daemon::services::keys::{generate_key_material, store_user_keys};
use kontor_protocol::certificate::CertificateSubject;
use kontor_protocol::keys::KeySize;
use kontor_protocol::ProtocolVersion;
use kontor_storage::{
    AccountId, BankHostId, BookingFilter, ConnectionId, Direction, EbicsUserId, NewAccount,
    NewBankHost, NewConnection, NewEbicsUser, NewSchedule, NewTransaction, Schedule,
    SignatureClass, Store, TenantScope,
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
    let host = tx
        .bank_hosts()
        .create(NewBankHost {
            host_id: seed.host_id,
            name: "Kontor Test Bank".into(),
            url: seed.url,
            protocol_version: seed.version,
            btf: seed.version.uses_btf(),
            production: seed.production,
            ca_bundle_pem: None,
        })
        .await
        .unwrap()
        .id;
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
                .create(
                    connection,
                    NewAccount {
                        iban: Some(iban),
                        holder_name: "ACME GmbH".into(),
                        currency: "EUR".into(),
                        ..Default::default()
                    },
                )
                .await
                .unwrap()
                .id,
        ),
        None => None,
    };
    let user = tx
        .ebics_users()
        .create(NewEbicsUser {
            connection_id: connection,
            user_id: seed.user,
            system_id: None,
            name: seed.user_name,
            signature_class: seed.signature_class,
        })
        .await
        .unwrap()
        .id;
    tx.commit().await.unwrap();
    Tenant {
        scope,
        host,
        connection,
        user,
        account,
    }
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
        let user = tx
            .ebics_users()
            .create(NewEbicsUser {
                connection_id: self.connection,
                user_id: user_id.into(),
                system_id: None,
                name: name.into(),
                signature_class: class,
            })
            .await
            .unwrap()
            .id;
        tx.commit().await.unwrap();
        user
    }
}

/// Generates and stores a NEW user's three keys, as an operator would before INI and HIA.
pub async fn give_keys(store: &Store, scope: &TenantScope, user: EbicsUserId, name: &str) {
    let subject = CertificateSubject {
        common_name: name.into(),
        organization: Some("ACME".into()),
        country: Some("DE".into()),
    };
    let material = tokio::task::spawn_blocking(move || {
        generate_key_material(&subject, KeySize::Bits2048, Utc::now()).unwrap()
    })
    .await
    .unwrap();
    let mut tx = store.scope(scope).begin().await.unwrap();
    store_user_keys(&mut tx, user, &material, Utc::now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
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
        order_type: kontor_protocol::order_type::OrderType::C53,
        btf_params: None,
        order_id: None,
        file_id: None,
        num_segments: None,
        effect: None,
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
    let mut tx = store.scope(&tenant.scope).begin().await.unwrap();
    let schedule = tx
        .schedules()
        .create(NewSchedule {
            ebics_user_id: tenant.user,
            account_id: Some(account),
            order_type: kontor_protocol::order_type::OrderType::C53,
            btf_service: None,
            cron: "0 6 * * *".into(),
            time_zone: "Europe/Berlin".into(),
            next_run_at,
        })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    schedule
}

/// The seed with an account of `iban`, for tests that need no bank.
pub async fn tenant(store: &Store, name: &str, iban: &str) -> Tenant {
    plant(store, Seed::new(name).with_account(iban)).await
}
