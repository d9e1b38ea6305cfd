//! The admin API world: two tenants on SQLite, operators with every role, and one record of
//! every kind in tenant A (planted from the common seed).

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use chrono::Utc;
use http_body_util::BodyExt;
use kontor_daemon::api::{router, AppState};
use kontor_daemon::services::Services;
use kontor_protocol::keys::{KeyHash, PublicKey};
use kontor_protocol::order_type::OrderType;
use kontor_protocol::{ProtocolVersion, SignatureVersion};
use kontor_storage::{
    FileKind, NewSignerKey, NewStatementFile, Role, SignatureClass, Store, TenantId,
};
use secrecy::ExposeSecret;
use tower::ServiceExt;

use super::payments::pain001;
use super::seed::{self, records, Seed, IBAN};
use super::TestDb;
use kontor_testkit::bank::ready_user;

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
    pub statement_file: String,
    pub member: String,
    /// A token of `member` (the Viewer) for tenant A.
    pub member_token: String,
    pub token: String,
    /// A signer-held signature key of `user_b`.
    pub signer_key: String,
    /// A valid public key PEM (not stored anywhere), for bodies that need one.
    pub spare_public_key_pem: String,
    pub webhook: String,
    /// A ping delivery of `webhook`.
    pub webhook_delivery: String,
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
            &self.statement_file,
            &self.member,
            &self.member_token,
            &self.token,
            &self.signer_key,
            &self.webhook,
            &self.webhook_delivery,
        ]
    }
}

pub struct World {
    pub store: Store,
    pub app: axum::Router,
    /// Tenant A, which holds every fixture record.
    pub tenant_a: TenantId,
    pub owner_a: String,
    pub admin_a: String,
    pub viewer_a: String,
    /// An Admin of tenant A restricted (by a grant) to EBICS user `a.user_a`.
    pub restricted_a: String,
    pub owner_b: String,
    pub expired_a: String,
    pub revoked_a: String,
    pub a: Ids,
    _db: TestDb,
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

    /// The `items` of a listing.
    #[track_caller]
    pub fn items(&self) -> Vec<serde_json::Value> {
        let items = self.json()["items"].as_array().cloned();
        items.unwrap_or_else(|| panic!("not a listing: {}", self.text()))
    }

    /// Asserts `status`, showing the body when it is another.
    #[track_caller]
    pub fn assert_status(&self, status: StatusCode) {
        self.assert_status_for("", status);
    }

    /// [`Reply::assert_status`] for one `case` of a table, named when it fails.
    #[track_caller]
    pub fn assert_status_for(&self, case: impl std::fmt::Display, status: StatusCode) {
        assert_eq!(self.status, status, "{case}: {}", self.text());
    }

    /// Asserts an error answer: `status` with the stable error `code`.
    #[track_caller]
    pub fn assert_error(&self, status: StatusCode, code: &str) {
        self.assert_error_for("", status, code);
    }

    /// [`Reply::assert_error`] for one `case` of a table, named when it fails.
    #[track_caller]
    pub fn assert_error_for(&self, case: impl std::fmt::Display, status: StatusCode, code: &str) {
        assert_eq!(
            (self.status, self.code().as_str()),
            (status, code),
            "{case}: {}",
            self.text()
        );
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
    let uri = path.to_owned();
    let checked_method = req.method_ref().cloned().unwrap_or_default();
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
    super::openapi::check_reply(&checked_method, &uri, status, &headers, &bytes);
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

/// An operator of `tenant` with `role` and an API token: (secret, operator, token).
pub async fn operator_token(
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

impl World {
    /// A GET with `token`.
    pub async fn get(&self, token: &str, path: &str) -> Reply {
        call(&self.app, Method::GET, path, Some(token), Payload::None).await
    }

    /// Any request with `token`.
    pub async fn send(&self, method: Method, token: &str, path: &str, payload: Payload) -> Reply {
        call(&self.app, method, path, Some(token), payload).await
    }

    /// A POST with `token`.
    pub async fn post(&self, token: &str, path: &str, payload: Payload) -> Reply {
        self.send(Method::POST, token, path, payload).await
    }

    /// `POST /v1/orders/{order}/{action}` on tenant A's fixture order, as its Admin.
    pub async fn order_action(&self, action: &str) -> Reply {
        let path = format!("/v1/orders/{}/{action}", self.a.order);
        self.post(&self.admin_a, &path, Payload::None).await
    }
}

/// Tenant A with one record of every kind; tenant B empty.
pub async fn world() -> World {
    world_with(|state| state).await
}

pub async fn world_with(configure: impl FnOnce(Services) -> Services) -> World {
    let db = TestDb::sqlite().await;
    let store = db.store.clone();
    let mut seed = Seed::new("A").at("https://bank.example/ebicsweb", ProtocolVersion::H004);
    seed.host_id = "HOSTA".into();
    seed.user = "SIGNA".into();
    seed.user_name = "SIGNA".into();
    seed.signature_class = SignatureClass::A;
    let a = seed::plant(&store, seed.with_account(IBAN)).await;
    let ta = a.scope.tenant();
    let tb = store.admin().create_tenant("B").await.unwrap().id;
    let (owner_a, _, owner_token) = operator_token(&store, "oa@x", ta, Role::Owner).await;
    let (admin_a, _, _) = operator_token(&store, "aa@x", ta, Role::Admin).await;
    let (viewer_a, viewer_id, viewer_token) =
        operator_token(&store, "va@x", ta, Role::Viewer).await;
    let (restricted_a, restricted_id, _) = operator_token(&store, "ra@x", ta, Role::Admin).await;
    let (owner_b, _, _) = operator_token(&store, "ob@x", tb, Role::Owner).await;
    // An Owner of A whose only tokens are a revoked and an expired one.
    let (revoked_a, expired_op, revoked) = operator_token(&store, "ea@x", ta, Role::Owner).await;
    store
        .admin()
        .revoke_token(expired_op, revoked)
        .await
        .unwrap();
    let expired_a = store
        .admin()
        .issue_token(
            expired_op,
            "old",
            Some(Utc::now() - chrono::Duration::hours(1)),
        )
        .await
        .unwrap()
        .secret
        .expose_secret()
        .to_owned();

    let user_b = a
        .add_user(&store, "SIGNB", "SIGNB", SignatureClass::B)
        .await;
    let users = [a.user, user_b];
    let account = a.account();
    a.offer(&store, &[OrderType::CCT, OrderType::CDD, OrderType::C53])
        .await;
    let mut tx = store.scope(&a.scope).begin().await.unwrap();
    let bank_key = tx
        .bank_keys()
        .create(records::bank_key(a.host, KeyHash::from_bytes([0xAB; 32])))
        .await
        .unwrap();
    for user in users {
        ready_user(&mut tx, user).await;
    }
    let signer_key = tx
        .key_pairs()
        .register_signer_key(NewSignerKey {
            ebics_user_id: users[1],
            version: SignatureVersion::A006,
            public_key: PublicKey::from_spki_pem(&spare_public_key_pem())
                .unwrap()
                .to_spki_der()
                .unwrap(),
            key_hash: KeyHash::from_bytes([0xCD; 32]),
            certificate: None,
        })
        .await
        .unwrap();
    let permission = tx
        .permissions()
        .create(records::limited_permission(
            users[0],
            account,
            SignatureClass::A,
        ))
        .await
        .unwrap();
    let veu = tx
        .veu_items()
        .upsert(records::veu_item(a.connection, "10.00"))
        .await
        .unwrap();
    let transaction = tx
        .transactions()
        .create(seed::c53_download(users[0]))
        .await
        .unwrap();
    let schedule = tx
        .schedules()
        .create(seed::c53_schedule_of(
            users[0],
            account,
            "0 6 * * *",
            "UTC",
            Utc::now(),
        ))
        .await
        .unwrap();
    let file = tx
        .files()
        .create(records::xml_file(FileKind::Statement, b"<Document/>"))
        .await
        .unwrap();
    let statement = tx
        .statements()
        .create(records::statement(account, file.id))
        .await
        .unwrap();
    let statement_file = tx
        .statement_files()
        .find_or_create(NewStatementFile {
            file_id: file.id,
            ebics_user_id: users[0],
            transaction_id: None,
            order_type: Some(OrderType::C53),
        })
        .await
        .unwrap();
    tx.memberships()
        .grant(restricted_id, users[0])
        .await
        .unwrap();
    let (webhook, _) = tx
        .webhooks()
        .create(kontor_storage::NewWebhookSubscription {
            url: "https://hooks.example/erp".into(),
            description: None,
            event_types: vec![],
        })
        .await
        .unwrap();
    let webhook_delivery = tx.webhooks().ping(webhook.id).await.unwrap();
    tx.commit().await.unwrap();

    let app = router(AppState::new(configure(Services::new(store.clone()))));
    let order = call(
        &app,
        Method::POST,
        &format!("/v1/orders?ebics_user_id={}&order_type=CCT", users[0]),
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
            host: a.host.to_string(),
            bank_key: bank_key.id.to_string(),
            connection: a.connection.to_string(),
            account: account.to_string(),
            user_a: users[0].to_string(),
            user_b: users[1].to_string(),
            permission: permission.id.to_string(),
            order: order_id,
            veu_item: veu.id.to_string(),
            transaction: transaction.id.to_string(),
            schedule: schedule.id.to_string(),
            statement: statement.id.to_string(),
            statement_file: statement_file.id.to_string(),
            member: viewer_id.to_string(),
            member_token: viewer_token.to_string(),
            token: owner_token.to_string(),
            signer_key: signer_key.id.to_string(),
            spare_public_key_pem: spare_public_key_pem(),
            webhook: webhook.id.to_string(),
            webhook_delivery: webhook_delivery.id.to_string(),
        },
        store,
        app,
        tenant_a: ta,
        owner_a,
        admin_a,
        viewer_a,
        restricted_a,
        owner_b,
        expired_a,
        revoked_a,
        _db: db,
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
