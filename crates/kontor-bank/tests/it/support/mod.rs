//! Shared helpers for the integration tests: an in-process demo bank on a free port.

pub mod client;
pub mod payments;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use chrono::Days;
use kontor_bank::ids::{OrderId, PartnerId, UserId};
use kontor_bank::state::{
    BankState, NewOrder, OrderKind, OrderStatus, SubmittedKey, VeuItem, VeuStatus,
};
use kontor_bank::{Bank, BankConfig, BankKeyPairs, RunningBank};
use kontor_protocol::envelope::{DateRange, EbicsResponse};
use kontor_protocol::keys::KeyHash;
use rust_decimal::Decimal;

/// One set of bank keys per test binary (RSA generation is the slow part of starting a bank).
pub fn bank_keys() -> Arc<BankKeyPairs> {
    static KEYS: OnceLock<Arc<BankKeyPairs>> = OnceLock::new();
    KEYS.get_or_init(|| {
        Arc::new(
            BankKeyPairs::generate(&"KONTORBANK".parse().expect("host"), chrono::Utc::now())
                .expect("bank keys"),
        )
    })
    .clone()
}

/// A bank with this seed on a free port.
pub async fn bank_with(config: BankConfig) -> RunningBank {
    Bank::builder(config)
        .keys(bank_keys())
        .start("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("bank starts")
}

pub async fn demo_bank() -> RunningBank {
    bank_with(BankConfig::demo().expect("demo config")).await
}

/// The demo bank with its `PARTNER1`/`USER1` initialised and activated for `version` (key
/// slot 0): how most protocol tests start.
pub async fn demo_bank_with_user1(
    version: kontor_protocol::ProtocolVersion,
) -> (RunningBank, client::Subscriber) {
    demo_bank_adjusted_with_user1(version, |_| {}).await
}

/// Like [`demo_bank_with_user1`], for the demo configuration as `adjust` changes it (smaller
/// segments, no recovery, ...).
pub async fn demo_bank_adjusted_with_user1(
    version: kontor_protocol::ProtocolVersion,
    adjust: impl FnOnce(&mut BankConfig),
) -> (RunningBank, client::Subscriber) {
    let mut config = BankConfig::demo().expect("demo config");
    adjust(&mut config);
    let bank = bank_with(config).await;
    let user1 = client::ready_subscriber(&bank, version, "PARTNER1", "USER1", 0).await;
    (bank, user1)
}

/// Segments of 4 KiB, for [`demo_bank_adjusted_with_user1`]: a few days of STA take several.
pub fn small_segments(config: &mut BankConfig) {
    config.limits.segment_size_bytes = 4096;
}

pub fn p(id: &str) -> PartnerId {
    id.parse().expect("partner id")
}

pub fn u(id: &str) -> UserId {
    id.parse().expect("user id")
}

/// A CCT order of `originator` (of PARTNER1) recorded straight into the state, waiting in the
/// VEU for two bank-technical signatures; `amount` is in EUR.
pub fn record_pending_cct(state: &BankState, originator: &str, amount: Option<Decimal>) -> OrderId {
    let now = chrono::Utc::now();
    let order_id = state.allocate_order_id(&p("PARTNER1"));
    let kind = OrderKind::classic("CCT".parse().expect("code"));
    let order = NewOrder {
        order_id,
        order: kind.clone(),
        protocol: kontor_protocol::ProtocolVersion::H004,
        partner_id: p("PARTNER1"),
        user_id: u(originator),
        transaction_id: None,
        content: b"<Document/>".to_vec(),
        signatures: vec![],
        status: OrderStatus::AwaitingSignatures,
        status_reason: None,
        message_id: None,
    };
    let veu = VeuItem {
        order_id,
        order: kind,
        partner_id: p("PARTNER1"),
        originator: u(originator),
        amount,
        currency: amount.map(|_| "EUR".parse().expect("currency")),
        required_signatures: 2,
        signers: vec![],
        status: VeuStatus::Pending,
        created_at: now,
    };
    state.record_order(order, Some(veu), now).expect("recorded");
    order_id
}

pub fn key(version: &str, fill: u8) -> SubmittedKey {
    SubmittedKey {
        version: version.parse().expect("key version"),
        public_key: vec![fill; 4],
        hash: KeyHash::from_bytes([fill; 32]),
        received_at: chrono::Utc::now(),
        certificate: None,
    }
}

/// What the protocol layer will do on INI and HIA, done directly through the state API.
pub fn initialise(bank: &RunningBank, partner: &str, user: &str) {
    bank.state()
        .with_subscriber(&p(partner), &u(user), |s| s.record_ini(key("A006", 1)))
        .expect("INI");
    bank.state()
        .with_subscriber(&p(partner), &u(user), |s| {
            s.record_hia(key("X002", 2), key("E002", 3))
        })
        .expect("HIA");
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("client")
}

/// A path below the workspace's `tests/` (interoperability harnesses, fixtures, captures).
pub fn workspace_tests(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests")
        .join(path)
}

/// The pain.001 the interoperability harnesses upload (a CCT of PARTNER1's main account).
pub fn cct_fixture() -> PathBuf {
    workspace_tests("interop-node/tools/fixtures/pain.001-kontorbank.xml")
}

/// Whether an interoperability test skips: `missing` says why its other side (`client`) is not
/// installed. Where `require_var` is `1` (CI installed the client) that fails the test instead.
pub fn skip_interop(missing: Option<String>, require_var: &str, client: &str) -> bool {
    let Some(reason) = missing else {
        return false;
    };
    if std::env::var(require_var).as_deref() == Ok("1") {
        panic!("{require_var}=1 but {reason}");
    }
    println!("SKIPPED the {client} interoperability test: {reason}");
    true
}

/// Runs an interoperability harness (`command`: its interpreter and script) against `bank` as
/// PARTNER1/USER1, writing what it downloads to `out`, and returns its output.
pub async fn run_harness(
    mut command: std::process::Command,
    bank: &RunningBank,
    out: &std::path::Path,
) -> std::process::Output {
    command
        .env("BANK_URL", bank.ebics_url())
        .env("ADMIN_URL", bank.admin_url())
        .env("HOST_ID", "KONTORBANK")
        .env("PARTNER_ID", "PARTNER1")
        .env("USER_ID", "USER1")
        .env("OUT_DIR", out);
    tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("join")
        .expect("the harness runs")
}

/// A request the Node EBICS client sent (captured in tests/interop-node/captures).
pub fn node_capture(name: &str) -> String {
    let path = workspace_tests("interop-node/captures").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The official EBICS schemas, if present beside the checkout (or where
/// `KONTOR_EBICS_SCHEMAS` points).
pub fn schema_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("KONTOR_EBICS_SCHEMAS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/ebics-schemas")
        });
    dir.is_dir().then_some(dir)
}

/// The technical and the business return code of an answer.
pub fn codes(r: &EbicsResponse) -> (&str, &str) {
    (
        r.technical_return_code.code(),
        r.business_return_code.code(),
    )
}

/// The `n` days up to yesterday: a range the seeded ledgers have bookings for.
pub fn last_days(n: u64) -> DateRange {
    let today = chrono::Utc::now().date_naive();
    DateRange {
        start: today.checked_sub_days(Days::new(n)).expect("date"),
        end: today.checked_sub_days(Days::new(1)).expect("date"),
    }
}

/// The members of a ZIP container, in order: (name, bytes).
pub fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    kontor_bank::container::unzip(bytes).expect("a ZIP container")
}

/// POSTs to the admin API, with `json` as the body when given.
pub async fn admin_post(bank: &RunningBank, path: &str, json: Option<&str>) -> reqwest::Response {
    let mut request = http().post(format!("{}{path}", bank.admin_url()));
    if let Some(json) = json {
        request = request
            .header("content-type", "application/json")
            .body(json.to_owned());
    }
    request.send().await.expect("admin")
}

/// GETs `path` (with its query) from the admin API and returns the body of the 200 answer.
pub async fn admin_get(bank: &RunningBank, path: &str) -> Vec<u8> {
    let response = http()
        .get(format!("{}{path}", bank.admin_url()))
        .send()
        .await
        .expect("admin");
    assert_eq!(response.status(), 200, "GET {path}");
    response.bytes().await.expect("body").to_vec()
}

/// GETs `url`: the status and the JSON answer.
pub async fn get_json(url: String) -> (u16, serde_json::Value) {
    status_and_json(http().get(url).send().await.expect("reachable")).await
}

/// POSTs `body` (JSON, or nothing) to `url`: the status and the JSON answer.
pub async fn post_json(url: String, body: Option<serde_json::Value>) -> (u16, serde_json::Value) {
    let mut request = http().post(url);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    status_and_json(request.send().await.expect("reachable")).await
}

async fn status_and_json(response: reqwest::Response) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    (status, json_body(response).await)
}

/// The JSON body of an admin API answer.
pub async fn json_body(response: reqwest::Response) -> serde_json::Value {
    serde_json::from_slice(&response.bytes().await.expect("body")).expect("json")
}

/// The JSON the admin API answers `GET path` with.
pub async fn admin_get_json(bank: &RunningBank, path: &str) -> serde_json::Value {
    serde_json::from_slice(&admin_get(bank, path).await).expect("json")
}

/// Installs a fault rule through the admin API.
pub async fn install_fault(bank: &RunningBank, rule: &str) {
    let response = admin_post(bank, "/faults", Some(rule)).await;
    assert_eq!(
        response.status().as_u16(),
        201,
        "{}",
        response.text().await.unwrap_or_default()
    );
}
