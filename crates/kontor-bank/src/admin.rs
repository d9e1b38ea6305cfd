//! The admin API under `/admin` (JSON). It shares the listener with `/ebicsweb` and is meant
//! for tests and the demo only. It lets anyone who reaches it activate subscribers, reject
//! orders and inject faults, so it is unauthenticated only on loopback: binding beyond
//! loopback requires an admin token (`kontor-bank serve --admin-token`, or
//! `KONTOR_BANK_ADMIN_TOKEN`), and then every `/admin` route (on loopback too, once a token is
//! set) answers 401 without `Authorization: Bearer <token>`.
//!
//! | method | path | what |
//! |---|---|---|
//! | GET | `/admin/health` | liveness, host id, dispatcher in use |
//! | GET | `/admin/users` | all subscribers with status and key hashes |
//! | GET | `/admin/users/{partner}/{user}` | one subscriber |
//! | POST | `/admin/users/{partner}/{user}/activate` | the bank clerk activates (optional body `{"letter": {"signature": hex, ...}}`) |
//! | POST | `/admin/users/{partner}/{user}/suspend` \| `lock` \| `unlock` \| `reset` | other lifecycle steps |
//! | POST | `/admin/users/{partner}/{user}/bank-issued-certificates` \| `self-signed-certificates` | whether the bank issues this subscriber's certificates and accepts only those (INI/HIA on H004 with `X509Data`, H005, H3K) |
//! | GET | `/admin/ca` | the test CA's certificate: `{"certificate_pem"}` |
//! | POST | `/admin/ca/issue` | the CA issues a certificate: `{"public_key_pem", "common_name", "purpose": "signature"\|"authentication"\|"encryption"}` → `{"certificate_pem"}` |
//! | GET | `/admin/orders` (`?include_content=true`, `?status=accepted`) / `/admin/orders/count` (`?status=`) | received orders with SHA-256 of their content; `accepted` = executed, `awaiting_signatures` = in the VEU |
//! | POST | `/admin/orders/{partner}/{order_id}/transactions/{end_to_end_id}/reject` | the bank rejects one transaction of an accepted payment at execution (body optional: `{"reason_code": "AC04"}`, the default); HAC reports it as `RJCT` in `TxInfAndSts`, the order stays accepted |
//! | POST | `/admin/orders/{partner}/{order_id}/reject` | the bank rejects an accepted order afterwards (body optional: `{"reason_code": "AM04", "reason": "insufficient funds"}`, those are the defaults); HAC/PTK then report it as rejected |
//! | GET | `/admin/veu` | orders awaiting signatures |
//! | GET | `/admin/transactions` | transactions in progress |
//! | GET | `/admin/downloads` | payloads served (size, SHA-256) |
//! | GET | `/admin/bank-keys` | bank key hashes (X002, E002; H004 form and `h005` certificate form) |
//! | POST | `/admin/bank-keys/roll` | the bank rolls its keys: answers the new hashes; requests naming the old keys get 091008 (signed with the old key) until HPB |
//! | GET | `/admin/statements?partner=P&order_type=C53&from=YYYY-MM-DD&to=YYYY-MM-DD[&accounts=A,B]` | the exact bytes a download of that range delivers: the ZIP container for C52/C53/C54/Z52/Z53/Z54, else the document; `format=mt940\|camt.052\|camt.053\|camt.054` instead of `order_type` names a BTD message, then `container=zip` asks for the container as a BTD with `Container ZIP` does |
//! | GET | `/admin/statements/members?…` (same parameters) | the members a ZIP delivery holds, in container order: `[{"name", "account", "date", "sha256", "document"}]` (the document as text) |
//! | PUT | `/admin/accounts/{id}/ledger` | size knob: `{"entries_per_day": n}` (or `null` for the seed's value) |
//! | GET / POST / DELETE | `/admin/faults` | list / install / clear fault rules |
//! | DELETE | `/admin/faults/{id}` | remove one rule |

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use base64::Engine as _;
use bytes::Bytes;
use chrono::Utc;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::ca::TestCa;
use crate::container;
use crate::faults::{FaultRule, RuleId};
use crate::ids::{AccountId, PartnerId, UserId};
use crate::server::AppState;
use crate::state::{LetterHashes, LifecycleError, Subscriber, UserAction};
use crate::state::{OrderRejectError, OrderStatus, ReceivedOrder};
use crate::statements::{self, StatementError, StatementKind, StatementQuery};
use kontor_protocol::certificate::KeyPurpose;
use kontor_protocol::keys::PublicKey;

/// An admin request that cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let status = match self {
            AdminError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AdminError::NotFound(_) => StatusCode::NOT_FOUND,
            AdminError::Conflict(_) => StatusCode::CONFLICT,
        };
        (status, Json(json!({ "error": self.to_string() }))).into_response()
    }
}

impl From<LifecycleError> for AdminError {
    fn from(e: LifecycleError) -> Self {
        match e {
            LifecycleError::UnknownSubscriber { .. } => AdminError::NotFound(e.to_string()),
            LifecycleError::MalformedLetterHash(_) => AdminError::BadRequest(e.to_string()),
            _ => AdminError::Conflict(e.to_string()),
        }
    }
}

type AdminResult = Result<Response, AdminError>;

/// Refuses admin requests without the configured bearer token (when one is configured).
pub(crate) async fn require_token(
    State(app): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if let Some(expected) = &app.admin_token {
        let presented = request
            .headers()
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !same_secret(presented.as_bytes(), expected.as_bytes()) {
            return (
                StatusCode::UNAUTHORIZED,
                Json(json!({ "error": "admin token required" })),
            )
                .into_response();
        }
    }
    next.run(request).await
}

/// Compares without stopping at the first difference.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/health", get(health))
        .merge(subscriber_routes())
        .merge(order_routes())
        .merge(bank_routes())
        .merge(fault_routes())
}

/// Subscribers and the test CA that certifies their keys.
fn subscriber_routes() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(users))
        .route("/admin/users/{partner}/{user}", get(user))
        .route("/admin/users/{partner}/{user}/{action}", post(user_action))
        .route("/admin/ca", get(ca_certificate))
        .route("/admin/ca/issue", post(ca_issue))
}

/// Received orders, the VEU, transactions and served downloads.
fn order_routes() -> Router<AppState> {
    let reject_transaction_path =
        "/admin/orders/{partner}/{order_id}/transactions/{end_to_end_id}/reject";
    Router::new()
        .route("/admin/orders", get(orders))
        .route("/admin/orders/count", get(order_count))
        .route(
            "/admin/orders/{partner}/{order_id}/reject",
            post(reject_order),
        )
        .route(reject_transaction_path, post(reject_transaction))
        .route("/admin/veu", get(veu))
        .route("/admin/transactions", get(transactions))
        .route("/admin/downloads", get(downloads))
}

/// The bank's own keys, statements and account ledgers.
fn bank_routes() -> Router<AppState> {
    Router::new()
        .route("/admin/bank-keys", get(bank_keys))
        .route("/admin/bank-keys/roll", post(roll_bank_keys))
        .route("/admin/statements", get(statement))
        .route("/admin/statements/members", get(statement_members))
        .route("/admin/accounts/{id}/ledger", put(set_ledger))
}

fn fault_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/admin/faults",
            get(list_faults).post(install_faults).delete(clear_faults),
        )
        .route("/admin/faults/{id}", delete(remove_fault))
}

fn ids(partner: &str, user: &str) -> Result<(PartnerId, UserId), AdminError> {
    let p = partner
        .parse::<PartnerId>()
        .map_err(|e| AdminError::BadRequest(e.to_string()))?;
    let u = user
        .parse::<UserId>()
        .map_err(|e| AdminError::BadRequest(e.to_string()))?;
    Ok((p, u))
}

fn ok_json(value: impl serde::Serialize) -> AdminResult {
    Ok(Json(value).into_response())
}

/// The answer of every list route: `{"count": n, "<key>": [...]}`.
fn list_answer<T: serde::Serialize>(key: &str, items: &[T]) -> AdminResult {
    ok_json(json!({ "count": items.len(), key: items }))
}

async fn health(State(app): State<AppState>) -> AdminResult {
    ok_json(json!({
        "status": "ok",
        "host_id": app.config.bank.host_id,
        "bank_name": app.config.bank.name,
        "protocol_versions": app.config.bank.protocol_versions,
        "dispatcher": app.dispatcher.name(),
        "started_at": app.started_at,
        "version": env!("CARGO_PKG_VERSION"),
    }))
}

async fn users(State(app): State<AppState>) -> AdminResult {
    let users = app.state.subscribers();
    list_answer("users", &users)
}

async fn user(
    State(app): State<AppState>,
    Path((partner, user)): Path<(String, String)>,
) -> AdminResult {
    let (p, u) = ids(&partner, &user)?;
    let found = app
        .state
        .subscriber(&p, &u)
        .ok_or_else(|| AdminError::NotFound(format!("subscriber {p}/{u} is unknown")))?;
    ok_json(found)
}

/// Body of `POST .../activate`: optional hashes from the subscriber's letter.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActivateRequest {
    #[serde(default)]
    letter: Option<LetterHashes>,
}

async fn user_action(
    State(app): State<AppState>,
    Path((partner, user, action)): Path<(String, String, String)>,
    body: Bytes,
) -> AdminResult {
    let (p, u) = ids(&partner, &user)?;
    let result: Result<Subscriber, LifecycleError> = match action.as_str() {
        "activate" => {
            let request: ActivateRequest = if body.iter().all(u8::is_ascii_whitespace) {
                ActivateRequest::default()
            } else {
                serde_json::from_slice(&body)
                    .map_err(|e| AdminError::BadRequest(format!("activate body: {e}")))?
            };
            app.state
                .activate_user(&p, &u, request.letter.as_ref(), Utc::now())
        }
        "suspend" => app.state.apply_user_action(&p, &u, UserAction::Suspend),
        "lock" => app.state.apply_user_action(&p, &u, UserAction::Lock),
        "unlock" => app.state.apply_user_action(&p, &u, UserAction::Unlock),
        "reset" => app.state.apply_user_action(&p, &u, UserAction::Reset),
        "bank-issued-certificates" => app.state.set_bank_issued_certificates(&p, &u, true),
        "self-signed-certificates" => app.state.set_bank_issued_certificates(&p, &u, false),
        other => {
            return Err(AdminError::NotFound(format!(
                "unknown user action {other:?} (activate, suspend, lock, unlock, reset, \
                 bank-issued-certificates, self-signed-certificates)"
            )))
        }
    };
    let subscriber = result?;
    tracing::info!(partner = %p, user = %u, %action, status = ?subscriber.status, "admin: subscriber lifecycle step");
    ok_json(subscriber)
}

async fn ca_certificate() -> AdminResult {
    ok_json(json!({ "certificate_pem": TestCa::get().certificate().to_pem() }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IssueRequest {
    /// SubjectPublicKeyInfo PEM of the subscriber's key.
    public_key_pem: String,
    common_name: String,
    purpose: String,
}

/// The bank's CA issues a certificate for a subscriber's public key (what a French bank's
/// registration office does before INI/HIA, or a bank before H3K).
async fn ca_issue(Json(request): Json<IssueRequest>) -> AdminResult {
    let key = PublicKey::from_spki_pem(&request.public_key_pem)
        .map_err(|e| AdminError::BadRequest(format!("public_key_pem: {e}")))?;
    let purpose = match request.purpose.as_str() {
        "signature" => KeyPurpose::Signature,
        "authentication" => KeyPurpose::Authentication,
        "encryption" => KeyPurpose::Encryption,
        other => {
            return Err(AdminError::BadRequest(format!(
                "purpose {other:?} (signature, authentication, encryption)"
            )))
        }
    };
    let certificate = TestCa::get()
        .issue(&key, &request.common_name, purpose, Utc::now())
        .map_err(|e| AdminError::BadRequest(e.to_string()))?;
    tracing::info!(subject = %certificate.subject(), serial = %certificate.serial_hex(), "admin: test CA issued a certificate");
    ok_json(json!({ "certificate_pem": certificate.to_pem() }))
}

#[derive(Debug, Default, Deserialize)]
struct OrdersQuery {
    #[serde(default)]
    include_content: bool,
    #[serde(default)]
    status: Option<OrderStatus>,
}

fn filtered_orders(app: &AppState, status: Option<OrderStatus>) -> Vec<ReceivedOrder> {
    let mut orders = app.state.received_orders();
    if let Some(status) = status {
        orders.retain(|o| o.status == status);
    }
    orders
}

async fn orders(State(app): State<AppState>, Query(q): Query<OrdersQuery>) -> AdminResult {
    let orders = filtered_orders(&app, q.status);
    let list: Vec<Value> = orders
        .iter()
        .map(|o| {
            let mut v = serde_json::to_value(o).unwrap_or(Value::Null);
            if q.include_content {
                if let Value::Object(map) = &mut v {
                    map.insert(
                        "content_base64".into(),
                        Value::String(base64::engine::general_purpose::STANDARD.encode(&o.content)),
                    );
                }
            }
            v
        })
        .collect();
    list_answer("orders", &list)
}

async fn order_count(State(app): State<AppState>, Query(q): Query<OrdersQuery>) -> AdminResult {
    ok_json(json!({ "count": filtered_orders(&app, q.status).len() }))
}

/// Body of `POST /admin/orders/{partner}/{order_id}/reject`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RejectRequest {
    #[serde(default = "default_reject_code")]
    reason_code: String,
    #[serde(default = "default_reject_reason")]
    reason: String,
}

fn default_reject_code() -> String {
    "AM04".to_owned()
}

fn default_reject_reason() -> String {
    "insufficient funds".to_owned()
}

async fn reject_order(
    State(app): State<AppState>,
    Path((partner, order_id)): Path<(String, String)>,
    body: Bytes,
) -> AdminResult {
    let (partner, order_id) = order_path(&partner, &order_id)?;
    let request: RejectRequest = reject_body(&body)?;
    check_reason_code(&request.reason_code, "AM04")?;
    let order = app
        .state
        .reject_order(&partner, order_id, &request.reason_code, &request.reason)
        .map_err(reject_error)?;
    tracing::info!(%partner, %order_id, code = %request.reason_code, "admin: order rejected after acceptance");
    ok_json(order)
}

/// The partner and order id of an `/admin/orders/{partner}/{order_id}/...` path.
fn order_path(
    partner: &str,
    order_id: &str,
) -> Result<(PartnerId, crate::ids::OrderId), AdminError> {
    let partner = partner
        .parse::<PartnerId>()
        .map_err(|e| AdminError::BadRequest(e.to_string()))?;
    let order_id = order_id
        .parse::<crate::ids::OrderId>()
        .map_err(|e| AdminError::BadRequest(e.to_string()))?;
    Ok((partner, order_id))
}

/// A reject request's JSON body; an empty body takes every default.
fn reject_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, AdminError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        &b"{}"[..]
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| AdminError::BadRequest(format!("reject body: {e}")))
}

/// ExternalStatusReason1Code (1 to 4 letters or digits): HAC must stay schema-valid.
fn check_reason_code(code: &str, example: &str) -> Result<(), AdminError> {
    if code.is_empty() || code.len() > 4 || !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(AdminError::BadRequest(format!(
            "reason_code {code:?} must be an ISO status reason code of 1 to 4 letters or digits (e.g. {example})"
        )));
    }
    Ok(())
}

/// An unknown order or transaction is 404; an order no longer accepted is 409.
fn reject_error(e: OrderRejectError) -> AdminError {
    match e {
        OrderRejectError::UnknownOrder { .. } | OrderRejectError::UnknownTransaction { .. } => {
            AdminError::NotFound(e.to_string())
        }
        OrderRejectError::NotAccepted { .. } => AdminError::Conflict(e.to_string()),
    }
}

/// Body of `POST /admin/orders/{partner}/{order_id}/transactions/{end_to_end_id}/reject`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RejectTransactionRequest {
    #[serde(default = "default_transaction_reject_code")]
    reason_code: String,
}

fn default_transaction_reject_code() -> String {
    "AC04".to_owned()
}

async fn reject_transaction(
    State(app): State<AppState>,
    Path((partner, order_id, end_to_end_id)): Path<(String, String, String)>,
    body: Bytes,
) -> AdminResult {
    let (partner, order_id) = order_path(&partner, &order_id)?;
    let request: RejectTransactionRequest = reject_body(&body)?;
    let code = &request.reason_code;
    check_reason_code(code, "AC04")?;
    let order = app
        .state
        .reject_transaction(&partner, order_id, &end_to_end_id, code)
        .map_err(reject_error)?;
    tracing::info!(%partner, %order_id, %end_to_end_id, %code, "admin: transaction rejected at execution");
    ok_json(order)
}

#[derive(Debug, Deserialize)]
struct StatementParams {
    partner: String,
    order_type: Option<String>,
    format: Option<String>,
    /// `zip` for a BTD with `Container ZIP` (classic order types decide themselves).
    container: Option<String>,
    from: Option<chrono::NaiveDate>,
    to: Option<chrono::NaiveDate>,
    /// Comma-separated account ids (default: all accounts of the partner).
    accounts: Option<String>,
}

/// A statement request of the admin API, checked.
struct AdminStatement {
    partner: PartnerId,
    accounts: Option<Vec<AccountId>>,
    kind: StatementKind,
    range: Option<(chrono::NaiveDate, chrono::NaiveDate)>,
    zipped: bool,
}

impl AdminStatement {
    fn parse(q: StatementParams) -> Result<Self, AdminError> {
        let partner: PartnerId = q
            .partner
            .parse()
            .map_err(|e| AdminError::BadRequest(format!("partner: {e}")))?;
        let kind = match (&q.order_type, &q.format) {
            (Some(t), _) => StatementKind::for_order_type(t),
            (None, Some(f)) => StatementKind::for_message(f),
            (None, None) => None,
        }
        .ok_or_else(|| {
            AdminError::BadRequest(
                "order_type STA/C52/C53/C54/Z52/Z53/Z54 or format mt940/camt.05x required".into(),
            )
        })?;
        let zipped = match (q.order_type.as_deref(), q.container.as_deref()) {
            (Some(t), None) => StatementKind::zipped_by_order_type(t),
            (Some(_), Some(_)) => {
                return Err(AdminError::BadRequest(
                    "container goes with format (BTD); an order type decides itself".into(),
                ))
            }
            (None, None) => false,
            (None, Some(c)) if c.eq_ignore_ascii_case("zip") => true,
            (None, Some(c)) if c.eq_ignore_ascii_case("xml") => false,
            (None, Some(c)) => {
                return Err(AdminError::BadRequest(format!(
                    "container {c:?}: zip or xml"
                )))
            }
        };
        let range = match (q.from, q.to) {
            (Some(from), Some(to)) => Some((from, to)),
            (None, None) => None,
            _ => {
                return Err(AdminError::BadRequest(
                    "give both from and to, or neither".into(),
                ))
            }
        };
        let accounts: Option<Vec<AccountId>> = q
            .accounts
            .as_deref()
            .map(|list| {
                list.split(',')
                    .map(|a| {
                        a.trim()
                            .parse()
                            .map_err(|e| AdminError::BadRequest(format!("account: {e}")))
                    })
                    .collect::<Result<_, _>>()
            })
            .transpose()?;
        Ok(Self {
            partner,
            accounts,
            kind,
            range,
            zipped,
        })
    }

    fn query(&self) -> StatementQuery<'_> {
        StatementQuery {
            partner: &self.partner,
            accounts: self.accounts.as_deref(),
            kind: self.kind,
            range: self.range,
            today: Utc::now().date_naive(),
        }
    }
}

fn statement_error(e: StatementError) -> AdminError {
    match e {
        StatementError::NoData => AdminError::NotFound(e.to_string()),
        other => AdminError::BadRequest(other.to_string()),
    }
}

async fn statement(
    State(app): State<AppState>,
    Query(q): Query<StatementParams>,
) -> Result<Response, AdminError> {
    let request = AdminStatement::parse(q)?;
    let entries_per_day = |a: &AccountId| app.state.entries_per_day(a);
    if request.zipped {
        let members = statements::members(&app.config, &request.query(), &entries_per_day)
            .map_err(statement_error)?;
        let bytes =
            container::zip(&members, None).map_err(|e| AdminError::Conflict(e.to_string()))?;
        return Ok((
            [(axum::http::header::CONTENT_TYPE, "application/zip")],
            bytes,
        )
            .into_response());
    }
    let document = statements::generate(&app.config, &request.query(), &entries_per_day)
        .map_err(statement_error)?;
    let content_type = if request.kind == StatementKind::Mt940 {
        "text/plain; charset=UTF-8"
    } else {
        "application/xml"
    };
    Ok(([(axum::http::header::CONTENT_TYPE, content_type)], document).into_response())
}

async fn statement_members(
    State(app): State<AppState>,
    Query(q): Query<StatementParams>,
) -> AdminResult {
    let request = AdminStatement::parse(q)?;
    let members = statements::members(&app.config, &request.query(), &|a| {
        app.state.entries_per_day(a)
    })
    .map_err(statement_error)?;
    let listed: Vec<Value> = members
        .iter()
        .map(|m| {
            json!({
                "name": m.name,
                "account": m.account,
                "date": m.date,
                "sha256": crate::state::orders::sha256_hex(&m.document),
                "document": String::from_utf8_lossy(&m.document),
            })
        })
        .collect();
    ok_json(listed)
}

#[derive(Debug, Deserialize)]
struct LedgerKnob {
    entries_per_day: Option<u32>,
}

async fn set_ledger(
    State(app): State<AppState>,
    Path(id): Path<String>,
    Json(knob): Json<LedgerKnob>,
) -> AdminResult {
    let account: AccountId = id
        .parse()
        .map_err(|e| AdminError::BadRequest(format!("account: {e}")))?;
    if app.config.account(&account).is_none() {
        return Err(AdminError::NotFound(format!("account {account}")));
    }
    app.state
        .set_entries_per_day(account.clone(), knob.entries_per_day);
    tracing::info!(%account, entries_per_day = ?knob.entries_per_day, "admin: ledger size changed");
    ok_json(
        json!({ "account": account, "entries_per_day": knob.entries_per_day.unwrap_or(app.config.ledger.entries_per_day) }),
    )
}

async fn veu(State(app): State<AppState>) -> AdminResult {
    let items = app.state.veu_items();
    list_answer("items", &items)
}

async fn transactions(State(app): State<AppState>) -> AdminResult {
    let list = app.state.transactions();
    list_answer("transactions", &list)
}

async fn downloads(State(app): State<AppState>) -> AdminResult {
    let list = app.state.served_downloads();
    list_answer("downloads", &list)
}

async fn bank_keys(State(app): State<AppState>) -> AdminResult {
    ok_json(published_keys(&app, app.keys.current().as_ref()))
}

/// The bank clerk rolls the bank's keys: the new ones are published at once (HPB, letters),
/// requests naming the old ones get 091008 until the subscriber fetched HPB again.
async fn roll_bank_keys(State(app): State<AppState>) -> AdminResult {
    let next = crate::server::roll_keys(&app)
        .await
        .map_err(|e| AdminError::Conflict(e.to_string()))?;
    ok_json(published_keys(&app, next.as_ref()))
}

fn published_keys(app: &AppState, keys: &dyn crate::keys::BankKeys) -> Value {
    let published = keys.published();
    let key = |k: &crate::keys::PublishedKeyHash| json!({ "version": k.version, "hash_sha256_hex": k.hash.to_hex_lower(), "hash_base64": k.hash.to_base64(), "letter_format": k.hash.to_string() });
    json!({
        "host_id": app.config.bank.host_id,
        "authentication": key(&published.authentication),
        "encryption": key(&published.encryption),
        "h005": keys.published_h005().map(|h| json!({
            "authentication": key(&h.authentication),
            "encryption": key(&h.encryption),
        })),
    })
}

async fn list_faults(State(app): State<AppState>) -> AdminResult {
    let rules = app.faults.rules();
    list_answer("rules", &rules)
}

/// Accepts one rule, an array of rules, or `{"rules": [...]}`.
fn parse_rules(body: &[u8]) -> Result<Vec<FaultRule>, AdminError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| AdminError::BadRequest(format!("fault rules: {e}")))?;
    let rules = match value {
        Value::Array(_) => value,
        Value::Object(ref map) if map.contains_key("rules") && !map.contains_key("action") => {
            map["rules"].clone()
        }
        single => Value::Array(vec![single]),
    };
    serde_json::from_value(rules).map_err(|e| AdminError::BadRequest(format!("fault rules: {e}")))
}

async fn install_faults(State(app): State<AppState>, body: Bytes) -> AdminResult {
    let rules = parse_rules(&body)?;
    let ids = app
        .faults
        .install(rules)
        .map_err(|(i, e)| AdminError::BadRequest(format!("rule {i}: {e}")))?;
    tracing::info!(?ids, "admin: fault rules installed");
    Ok((StatusCode::CREATED, Json(json!({ "installed": ids }))).into_response())
}

async fn clear_faults(State(app): State<AppState>) -> AdminResult {
    let removed = app.faults.clear();
    tracing::info!(removed, "admin: fault rules cleared");
    ok_json(json!({ "removed": removed }))
}

async fn remove_fault(State(app): State<AppState>, Path(id): Path<RuleId>) -> AdminResult {
    if app.faults.remove(id) {
        ok_json(json!({ "removed": 1 }))
    } else {
        Err(AdminError::NotFound(format!("no fault rule {id}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_rules_are_accepted_in_three_shapes() {
        let one = br#"{"action":{"kind":"drop_connection"}}"#;
        let many = br#"[{"action":{"kind":"drop_connection"}},{"action":{"kind":"delay","ms":5}}]"#;
        let wrapped = br#"{"rules":[{"action":{"kind":"malformed_xml"}}]}"#;
        assert_eq!(parse_rules(one).map(|r| r.len()).ok(), Some(1));
        assert_eq!(parse_rules(many).map(|r| r.len()).ok(), Some(2));
        assert_eq!(parse_rules(wrapped).map(|r| r.len()).ok(), Some(1));
        assert!(parse_rules(b"not json").is_err());
        assert!(parse_rules(br#"{"action":{"kind":"nope"}}"#).is_err());
    }
}
