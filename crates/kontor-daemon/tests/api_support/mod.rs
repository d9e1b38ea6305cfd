//! Shared fixture for the API tests: two tenants on SQLite, operators with every role, and
//! one record of every kind in tenant A.
#![allow(dead_code)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use chrono::{NaiveDate, Utc};
use http_body_util::BodyExt;
use kontor_daemon::api::{router, AppState};
use kontor_daemon::services::Services;
use kontor_documents::pain::{
    self, AccountParty, PainVersion, PaymentInfo, PaymentOrder, Transaction,
};
use kontor_documents::{Amount, Currency, Iban};
use kontor_protocol::keys::PublicKey;
use kontor_storage::{
    BankKeyKind, Direction, EbicsUserStatus, FileBody, FileKind, MasterKey, NewAccount,
    NewBankHost, NewBankKey, NewConnection, NewEbicsUser, NewFile, NewPermission, NewSchedule,
    NewSignerKey, NewStatement, NewTransaction, Role, SignatureClass, StatementFormat, Store,
    TenantScope, VeuSnapshot,
};
use secrecy::ExposeSecret;
use tower::ServiceExt;

/// Ids of tenant A's records, by the name the route table uses.
#[derive(Debug, Clone, Default)]
pub struct Ids {
    pub host: String,
    pub bank_key: String,
    pub connection: String,
    pub account: String,
    pub user_a: String,
    pub user_b: String,
    pub permission: String,
    pub order: String,
    pub veu_item: String,
    pub transaction: String,
    pub schedule: String,
    pub statement: String,
    pub member: String,
    pub token: String,
    /// A signer-held signature key of `user_b`.
    pub signer_key: String,
    /// A valid public key PEM (not stored anywhere), for bodies that need one.
    pub spare_public_key_pem: String,
}

impl Ids {
    pub fn all(&self) -> Vec<&str> {
        vec![
            &self.host,
            &self.bank_key,
            &self.connection,
            &self.account,
            &self.user_a,
            &self.user_b,
            &self.permission,
            &self.order,
            &self.veu_item,
            &self.transaction,
            &self.schedule,
            &self.statement,
            &self.member,
            &self.token,
            &self.signer_key,
        ]
    }
}

pub struct World {
    pub store: Store,
    pub app: axum::Router,
    pub owner_a: String,
    pub admin_a: String,
    pub viewer_a: String,
    /// An Admin of tenant A restricted (by a grant) to EBICS user `a.user_a`.
    pub restricted_a: String,
    pub owner_b: String,
    pub expired_a: String,
    pub revoked_a: String,
    pub a: Ids,
    pub _dir: tempfile::TempDir,
}

pub const IBAN_A: &str = "DE89370400440532013000";

/// A valid pain.001 with one transfer per creditor.
pub fn pain001(message_id: &str, creditors: &[(&str, &str)]) -> Vec<u8> {
    let debtor = AccountParty::new("Muster Treasury GmbH", Iban::parse(IBAN_A).unwrap(), None);
    let transactions = creditors
        .iter()
        .enumerate()
        .map(|(i, (name, amount))| Transaction {
            end_to_end_id: format!("E2E-{i}"),
            instruction_id: None,
            amount: Amount::parse(amount).unwrap(),
            currency: Currency::EUR,
            counterparty: AccountParty::new(
                name,
                Iban::parse("FR1420041010050500013M02606").unwrap(),
                None,
            ),
            mandate: None,
            remittance: Some(format!("Invoice {i}")),
        })
        .collect();
    let order = PaymentOrder {
        version: PainVersion::Pain001_001_09,
        message_id: message_id.into(),
        created: NaiveDate::from_ymd_opt(2026, 3, 1)
            .unwrap()
            .and_hms_opt(9, 0, 0)
            .unwrap(),
        initiating_party: Some("Muster Treasury GmbH".into()),
        payment_infos: vec![PaymentInfo {
            id: "PMT-1".into(),
            batch_booking: Some(true),
            service_level: Some("SEPA".into()),
            local_instrument: None,
            sequence_type: None,
            category_purpose: None,
            requested_date: NaiveDate::from_ymd_opt(2026, 3, 4).unwrap(),
            account: debtor,
            creditor_scheme_id: None,
            charge_bearer: Some("SLEV".into()),
            transactions,
        }],
    };
    pain::build(&order).unwrap().into_bytes()
}

pub enum Payload {
    None,
    Json(serde_json::Value),
    Raw(&'static str, Vec<u8>),
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub bytes: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.bytes).unwrap_or(serde_json::Value::Null)
    }
    pub fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

pub async fn call_with(
    app: &axum::Router,
    method: Method,
    path: &str,
    token: Option<&str>,
    payload: Payload,
    headers: &[(&str, &str)],
) -> Reply {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = match payload {
        Payload::None => req.body(Body::empty()).unwrap(),
        Payload::Json(v) => req
            .header("content-type", "application/json")
            .body(Body::from(v.to_string()))
            .unwrap(),
        Payload::Raw(ct, bytes) => req
            .header("content-type", ct)
            .body(Body::from(bytes))
            .unwrap(),
    };
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Reply {
        status,
        headers,
        bytes,
    }
}

pub async fn call(
    app: &axum::Router,
    method: Method,
    path: &str,
    token: Option<&str>,
    payload: Payload,
) -> Reply {
    call_with(app, method, path, token, payload, &[]).await
}

pub async fn store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("k.db").display());
    let store = Store::connect(&url, Arc::new(MasterKey::generate()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    (store, dir)
}

async fn token(
    store: &Store,
    email: &str,
    tenant: kontor_storage::TenantId,
    role: Role,
) -> (
    String,
    kontor_storage::OperatorId,
    kontor_storage::ApiTokenId,
) {
    let op = store
        .admin()
        .create_operator(email, email, tenant, role)
        .await
        .unwrap();
    let issued = store.admin().issue_token(op.id, "t", None).await.unwrap();
    (
        issued.secret.expose_secret().to_owned(),
        op.id,
        issued.token.id,
    )
}

/// Tenant A with one record of every kind; tenant B empty.
pub async fn world() -> World {
    world_with(|state| state).await
}

pub async fn world_with(configure: impl FnOnce(Services) -> Services) -> World {
    let (store, dir) = store().await;
    let admin = store.admin();
    let ta = admin.create_tenant("A").await.unwrap();
    let tb = admin.create_tenant("B").await.unwrap();
    let (owner_a, _, owner_token) = token(&store, "oa@x", ta.id, Role::Owner).await;
    let (admin_a, _, _) = token(&store, "aa@x", ta.id, Role::Admin).await;
    let (viewer_a, viewer_id, _) = token(&store, "va@x", ta.id, Role::Viewer).await;
    let (restricted_a, restricted_id, _) = token(&store, "ra@x", ta.id, Role::Admin).await;
    let (owner_b, _, _) = token(&store, "ob@x", tb.id, Role::Owner).await;
    let expired_op = store
        .admin()
        .create_operator("ea@x", "ea", ta.id, Role::Owner)
        .await
        .unwrap();
    let expired_a = store
        .admin()
        .issue_token(
            expired_op.id,
            "old",
            Some(Utc::now() - chrono::Duration::hours(1)),
        )
        .await
        .unwrap()
        .secret
        .expose_secret()
        .to_owned();
    let revoked = store
        .admin()
        .issue_token(expired_op.id, "revoked", None)
        .await
        .unwrap();
    store
        .admin()
        .revoke_token(expired_op.id, revoked.token.id)
        .await
        .unwrap();
    let revoked_a = revoked.secret.expose_secret().to_owned();

    let scope = TenantScope::system_job(ta.id, "test fixture");
    let mut tx = store.scope(&scope).begin().await.unwrap();
    let host = tx
        .bank_hosts()
        .create(NewBankHost {
            host_id: "HOSTA".into(),
            name: "Bank A".into(),
            url: "https://bank.example/ebicsweb".into(),
            protocol_version: "H004".parse().unwrap(),
            btf: false,
            production: false,
            ca_bundle_pem: None,
        })
        .await
        .unwrap();
    let bank_key = tx
        .bank_keys()
        .create(NewBankKey {
            bank_host_id: host.id,
            kind: BankKeyKind::Authentication,
            version: "X002".into(),
            public_key: vec![1, 2, 3],
            certificate: None,
            key_hash: "AB".repeat(32),
        })
        .await
        .unwrap();
    let connection = tx
        .connections()
        .create(NewConnection {
            bank_host_id: host.id,
            partner_id: "PARTNER1".into(),
            display_name: "Main".into(),
        })
        .await
        .unwrap();
    tx.connections()
        .set_order_types(connection.id, &["CCT".into(), "CDD".into(), "C53".into()])
        .await
        .unwrap();
    let account = tx
        .accounts()
        .create(
            connection.id,
            NewAccount {
                iban: Some(IBAN_A.into()),
                holder_name: "Muster".into(),
                currency: "EUR".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut users = Vec::new();
    for (uid, class) in [("SIGNA", SignatureClass::A), ("SIGNB", SignatureClass::B)] {
        let u = tx
            .ebics_users()
            .create(NewEbicsUser {
                connection_id: connection.id,
                user_id: uid.into(),
                system_id: None,
                name: uid.into(),
                signature_class: class,
            })
            .await
            .unwrap();
        tx.ebics_users()
            .set_status(u.id, EbicsUserStatus::New, EbicsUserStatus::Initialised)
            .await
            .unwrap();
        tx.ebics_users()
            .set_status(u.id, EbicsUserStatus::Initialised, EbicsUserStatus::Ready)
            .await
            .unwrap();
        users.push(u);
    }
    let signer_key = tx
        .key_pairs()
        .register_signer_key(NewSignerKey {
            ebics_user_id: users[1].id,
            version: "A006".into(),
            public_key: PublicKey::from_spki_pem(&spare_public_key_pem())
                .unwrap()
                .to_spki_der()
                .unwrap(),
            key_hash: "CD".repeat(32),
            certificate: None,
        })
        .await
        .unwrap();
    let permission = tx
        .permissions()
        .create(NewPermission {
            ebics_user_id: users[0].id,
            order_type: "CCT".into(),
            account_id: Some(account.id),
            authorisation_level: SignatureClass::A,
            max_amount: Some("10000.00".into()),
            currency: Some("EUR".into()),
        })
        .await
        .unwrap();
    let veu = tx
        .veu_items()
        .upsert(VeuSnapshot {
            connection_id: connection.id,
            bank_order_id: "A001".into(),
            order_type: "CCT".into(),
            signatures_collected: 1,
            signatures_required: 2,
            amount: Some("10.00".into()),
            currency: Some("EUR".into()),
            originator: None,
            expires_at: None,
        })
        .await
        .unwrap();
    let transaction = tx
        .transactions()
        .create(NewTransaction {
            ebics_user_id: users[0].id,
            direction: Direction::Download,
            order_type: "C53".into(),
            btf_params: None,
            order_id: None,
            file_id: None,
            num_segments: None,
            effect: None,
        })
        .await
        .unwrap();
    let schedule = tx
        .schedules()
        .create(NewSchedule {
            ebics_user_id: users[0].id,
            account_id: Some(account.id),
            order_type: "C53".into(),
            cron: "0 6 * * *".into(),
            time_zone: "UTC".into(),
            next_run_at: Utc::now(),
        })
        .await
        .unwrap();
    let file = tx
        .files()
        .create(NewFile {
            kind: FileKind::Statement,
            body: FileBody::Inline(b"<Document/>".to_vec()),
            content_type: "application/xml".into(),
        })
        .await
        .unwrap();
    let statement = tx
        .statements()
        .create(NewStatement {
            account_id: account.id,
            format: StatementFormat::Camt053,
            statement_ref: "STMT-1".into(),
            period_from: None,
            period_to: None,
            file_id: Some(file.id),
        })
        .await
        .unwrap();
    tx.memberships()
        .grant(restricted_id, users[0].id)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let app = router(AppState::new(configure(Services::new(store.clone()))));
    let order = call(
        &app,
        Method::POST,
        &format!("/v1/orders?ebics_user_id={}&order_type=CCT", users[0].id),
        Some(&owner_a),
        Payload::Raw(
            "application/xml",
            pain001("MSG-FIXTURE", &[("Alpha AG", "10.00")]),
        ),
    )
    .await;
    assert_eq!(order.status, StatusCode::CREATED, "{}", order.text());
    let order_id = order.json()["id"].as_str().unwrap().to_owned();

    World {
        a: Ids {
            host: host.id.to_string(),
            bank_key: bank_key.id.to_string(),
            connection: connection.id.to_string(),
            account: account.id.to_string(),
            user_a: users[0].id.to_string(),
            user_b: users[1].id.to_string(),
            permission: permission.id.to_string(),
            order: order_id,
            veu_item: veu.id.to_string(),
            transaction: transaction.id.to_string(),
            schedule: schedule.id.to_string(),
            statement: statement.id.to_string(),
            member: viewer_id.to_string(),
            token: owner_token.to_string(),
            signer_key: signer_key.id.to_string(),
            spare_public_key_pem: spare_public_key_pem(),
        },
        store,
        app,
        owner_a,
        admin_a,
        viewer_a,
        restricted_a,
        owner_b,
        expired_a,
        revoked_a,
        _dir: dir,
    }
}

/// One RSA public key per test process: generating keys is slow.
pub fn spare_public_key_pem() -> String {
    static PEM: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PEM.get_or_init(|| {
        let pair = kontor_protocol::keys::KeyPair::generate(
            &mut rand::rngs::OsRng,
            kontor_protocol::keys::KeySize::Bits2048,
        )
        .unwrap();
        pair.public_key().to_spki_pem().unwrap()
    })
    .clone()
}
