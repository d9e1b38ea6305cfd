//! The bank transport against real servers on loopback: TLS with a CA made in the test, the
//! answer size limit, redirects, https for production hosts, the outbound proxy — and that
//! the API and the engine apply the host's production flag and CA bundle.

use axum::http::{Method, StatusCode};
use kontor_daemon::api::{router, AppState};
use kontor_daemon::ebics::transport::{
    BankEndpoint, HttpTransport, ProxySettings, Transport, TransportError, TransportSettings,
};
use kontor_daemon::ebics::{Client, ClientConfig, EbicsError, RetryPolicy};
use kontor_protocol::ProtocolVersion;
use kontor_storage::*;
use serde_json::{json, Value};

use crate::support::api::{call, operator_token, Payload};
use crate::support::seed::{self, give_keys, Seed};
use crate::support::transport::{ConnectProxy, PlainServer, TestPki, TlsBank, OK_ANSWER};
use crate::support::TestDb;

fn transport(settings: TransportSettings) -> HttpTransport {
    HttpTransport::new(settings).unwrap()
}

fn endpoint(url: String, production: bool, ca_bundle_pem: Option<&str>) -> BankEndpoint {
    BankEndpoint {
        url,
        production,
        ca_bundle_pem: ca_bundle_pem.map(str::to_owned),
    }
}

fn permanent_message(result: Result<Vec<u8>, TransportError>) -> String {
    match result {
        Err(TransportError::Permanent { message, .. }) => message,
        other => panic!("expected a permanent failure, got {other:?}"),
    }
}

// --- TLS trust --------------------------------------------------------------------------

#[tokio::test]
async fn a_bank_certificate_from_an_unknown_ca_is_refused() {
    let pki = TestPki::new("Bank Test CA");
    let bank = TlsBank::start(&pki, "").await;
    let other_ca = TestPki::new("Some Other CA");
    let http = transport(TransportSettings::default());
    for bundle in [None, Some(other_ca.ca_pem.as_str())] {
        let message = permanent_message(
            http.post(
                &endpoint(bank.url("localhost", "/ebicsweb"), true, bundle),
                b"<ebicsRequest/>".to_vec(),
            )
            .await,
        );
        assert!(
            message.contains("TLS failure") && message.contains("certificate"),
            "{message}"
        );
    }
    assert_eq!(bank.requests(), 0);
}

#[tokio::test]
async fn the_hosts_ca_bundle_is_trusted_for_that_host() {
    let pki = TestPki::new("Bank Test CA");
    let bank = TlsBank::start(&pki, "").await;
    let http = transport(TransportSettings::default());
    let bundle = format!("# the bank's test system CA\n{}", pki.ca_pem);
    for host in ["localhost", "127.0.0.1"] {
        let answer = http
            .post(
                &endpoint(bank.url(host, "/ebicsweb"), true, Some(&bundle)),
                b"<ebicsRequest/>".to_vec(),
            )
            .await
            .unwrap();
        assert_eq!(answer, OK_ANSWER);
    }
    assert_eq!(bank.requests(), 2);
    // The bundle widens trust for its host only: the same client config without it refuses.
    assert!(http
        .post(
            &endpoint(bank.url("localhost", "/ebicsweb"), true, None),
            vec![]
        )
        .await
        .is_err());
}

// --- answer size limit --------------------------------------------------------------------

#[tokio::test]
async fn an_answer_over_the_limit_is_refused_and_its_connection_dropped() {
    let pki = TestPki::new("Bank Test CA");
    let bank = TlsBank::start(&pki, "").await;
    let settings = TransportSettings::default();
    let limit = settings.max_answer_bytes;
    let http = transport(settings);
    let message = permanent_message(
        http.post(
            &endpoint(bank.url("localhost", "/huge"), true, Some(&pki.ca_pem)),
            vec![],
        )
        .await,
    );
    assert_eq!(message, format!("bank answer larger than {limit} bytes"));
    // The server streams 1 GiB only as fast as it is read. It stops because the client
    // dropped the connection, having sent the limit plus what socket buffers hold.
    assert!(
        bank.streamed().wait_ended().await,
        "the server is still sending"
    );
    let sent = bank.streamed().sent();
    println!("server produced {sent} bytes of a 1 GiB answer (limit {limit})");
    assert!(sent > limit, "the limit was passed: {sent}");
    assert!(sent < limit + (32 << 20), "bounded: {sent} bytes");
}

#[tokio::test]
async fn an_answer_announcing_a_size_over_the_limit_is_refused_unread() {
    let pki = TestPki::new("Bank Test CA");
    let bank = TlsBank::start(&pki, "").await;
    let http = transport(TransportSettings::default());
    let message = permanent_message(
        http.post(
            &endpoint(
                bank.url("localhost", "/huge-declared"),
                true,
                Some(&pki.ca_pem),
            ),
            vec![],
        )
        .await,
    );
    assert_eq!(message, "bank answer larger than 4194304 bytes");
    assert!(bank.declared().wait_ended().await);
    assert!(bank.declared().sent() < 32 << 20);
}

// --- redirects and https for production -----------------------------------------------------

#[tokio::test]
async fn a_redirect_is_refused_and_never_followed() {
    let pki = TestPki::new("Bank Test CA");
    let daemon_api = PlainServer::start().await;
    let target = daemon_api.url("/v1/bank-hosts");
    let bank = TlsBank::start(&pki, &target).await;
    let http = transport(TransportSettings::default());
    let message = permanent_message(
        http.post(
            &endpoint(bank.url("localhost", "/redirect"), false, Some(&pki.ca_pem)),
            b"<ebicsRequest/>".to_vec(),
        )
        .await,
    );
    assert!(message.contains("302"), "{message}");
    assert!(message.contains(&target), "names the target: {message}");
    assert_eq!(daemon_api.requests(), 0, "the redirect was not followed");
}

#[tokio::test]
async fn plain_http_is_refused_for_production_hosts_and_allowed_for_test_hosts() {
    let server = PlainServer::start().await;
    let http = transport(TransportSettings::default());
    let message = permanent_message(
        http.post(&endpoint(server.url("/ebicsweb"), true, None), vec![])
            .await,
    );
    assert!(message.contains("https://"), "{message}");
    assert_eq!(server.requests(), 0, "nothing was sent");
    let answer = http
        .post(&endpoint(server.url("/ebicsweb"), false, None), vec![])
        .await
        .unwrap();
    assert_eq!((answer.as_slice(), server.requests()), (OK_ANSWER, 1));
}

// --- proxy --------------------------------------------------------------------------------

#[tokio::test]
async fn bank_traffic_goes_through_the_proxy_except_for_excepted_hosts() {
    let pki = TestPki::new("Bank Test CA");
    let bank = TlsBank::start(&pki, "").await;
    let proxy = ConnectProxy::start().await;
    let http = transport(TransportSettings {
        proxy: Some(ProxySettings::new(&proxy.url(), vec!["localhost".into()]).unwrap()),
        ..TransportSettings::default()
    });
    let through_proxy = endpoint(bank.url("127.0.0.1", "/ebicsweb"), true, Some(&pki.ca_pem));
    assert_eq!(http.post(&through_proxy, vec![]).await.unwrap(), OK_ANSWER);
    let tunnel = format!("127.0.0.1:{}", bank.addr.port());
    assert_eq!(proxy.tunnels().len(), 1);
    assert_eq!(proxy.tunnels()[0], tunnel);

    let excepted = endpoint(bank.url("localhost", "/ebicsweb"), true, Some(&pki.ca_pem));
    assert_eq!(http.post(&excepted, vec![]).await.unwrap(), OK_ANSWER);
    assert_eq!(proxy.tunnels(), [tunnel], "the excepted host went direct");
    assert_eq!(bank.requests(), 2);
}

#[tokio::test]
async fn without_a_proxy_setting_bank_traffic_goes_direct() {
    let pki = TestPki::new("Bank Test CA");
    let bank = TlsBank::start(&pki, "").await;
    let proxy = ConnectProxy::start().await;
    let http = transport(TransportSettings::default());
    let answer = http
        .post(
            &endpoint(bank.url("127.0.0.1", "/ebicsweb"), true, Some(&pki.ca_pem)),
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(answer, OK_ANSWER);
    assert!(proxy.tunnels().is_empty());
}

// --- the API: https for production, CA bundles ----------------------------------------------

struct Api {
    app: axum::Router,
    token: String,
}

async fn api(db: &TestDb) -> Api {
    let tenant = db
        .store
        .admin()
        .create_tenant("ACME Treasury")
        .await
        .unwrap();
    let (token, _, _) = operator_token(&db.store, "ops@acme.example", tenant.id, Role::Owner).await;
    Api {
        app: router(AppState::new(db.store.clone())),
        token,
    }
}

impl Api {
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let payload = body.map_or(Payload::None, Payload::Json);
        let reply = call(&self.app, method, path, Some(&self.token), payload).await;
        (reply.status, reply.json())
    }

    async fn create_host(&self, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, "/v1/bank-hosts", Some(body)).await
    }

    async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, Some(body)).await
    }

    async fn hosts(&self) -> Vec<Value> {
        let (_, list) = self.call(Method::GET, "/v1/bank-hosts", None).await;
        list["items"].as_array().unwrap().clone()
    }
}

fn host_json(host_id: &str, url: &str, production: bool) -> Value {
    json!({"host_id": host_id, "name": "Bank", "url": url, "protocol_version": "H005",
           "production": production})
}

fn refused(reply: &(StatusCode, Value), code: &str) -> bool {
    reply.0 == StatusCode::UNPROCESSABLE_ENTITY && reply.1["error"]["code"] == code
}

async fn production_hosts_need_https_at_the_api(db: TestDb) {
    let api = api(&db).await;
    let reply = api
        .create_host(host_json("PROD", "http://bank.example/ebicsweb", true))
        .await;
    assert!(refused(&reply, "https_required"), "{reply:?}");
    assert!(api.hosts().await.is_empty(), "nothing stored");

    // Test hosts may use plain http (emulator, demo on loopback).
    let (status, test_host) = api
        .create_host(host_json("TEST", "http://127.0.0.1:8090/ebicsweb", false))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{test_host}");
    let test_path = format!("/v1/bank-hosts/{}", test_host["id"].as_str().unwrap());
    // Marking the http host production is refused like storing an http production host.
    let reply = api.patch(&test_path, json!({"production": true})).await;
    assert!(refused(&reply, "https_required"), "{reply:?}");

    let (status, prod) = api
        .create_host(host_json("PROD", "https://bank.example/ebicsweb", true))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{prod}");
    let prod_path = format!("/v1/bank-hosts/{}", prod["id"].as_str().unwrap());
    let reply = api
        .patch(&prod_path, json!({"url": "http://bank.example/ebicsweb"}))
        .await;
    assert!(refused(&reply, "https_required"), "{reply:?}");
    for bad in ["ftp://bank.example", "bank.example/ebicsweb", "https://"] {
        let reply = api.patch(&prod_path, json!({"url": bad})).await;
        assert!(refused(&reply, "invalid_url"), "{bad}: {reply:?}");
    }
    let hosts = api.hosts().await;
    assert_eq!(hosts.len(), 2);
    assert!(
        hosts.contains(&test_host) && hosts.contains(&prod),
        "unchanged"
    );
}

async fn ca_bundles_are_validated_stored_and_removable(db: TestDb) {
    let api = api(&db).await;
    let pki = TestPki::new("Bank Test CA");
    let key_pem = rcgen::KeyPair::generate().unwrap().serialize_pem();
    for bad in [
        "not a certificate".to_owned(),
        "-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n".to_owned(),
        format!("{}{key_pem}", pki.ca_pem),
    ] {
        let mut body = host_json("TEST", "https://test.bank.example/ebicsweb", false);
        body["ca_bundle_pem"] = bad.clone().into();
        let reply = api.create_host(body).await;
        assert!(refused(&reply, "invalid_ca_bundle"), "{bad}: {reply:?}");
    }
    assert!(api.hosts().await.is_empty(), "nothing stored");

    let mut body = host_json("TEST", "https://test.bank.example/ebicsweb", false);
    body["ca_bundle_pem"] = pki.ca_pem.clone().into();
    let (status, host) = api.create_host(body).await;
    assert_eq!(status, StatusCode::CREATED, "{host}");
    assert_eq!(host["ca_bundle_pem"], pki.ca_pem.as_str());
    let path = format!("/v1/bank-hosts/{}", host["id"].as_str().unwrap());

    // Leaving the field out keeps the bundle; a bad one is refused and changes nothing.
    let (status, renamed) = api.patch(&path, json!({"name": "Test system"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(renamed["ca_bundle_pem"], pki.ca_pem.as_str());
    let reply = api.patch(&path, json!({"ca_bundle_pem": key_pem})).await;
    assert!(refused(&reply, "invalid_ca_bundle"), "{reply:?}");
    let (_, shown) = api.call(Method::GET, &path, None).await;
    assert_eq!(shown, renamed);

    // null removes it; a new one replaces it.
    let (_, cleared) = api.patch(&path, json!({"ca_bundle_pem": null})).await;
    assert_eq!(cleared["ca_bundle_pem"], Value::Null);
    let other = TestPki::new("Renewed CA");
    let (_, replaced) = api
        .patch(&path, json!({"ca_bundle_pem": other.ca_pem}))
        .await;
    assert_eq!(replaced["ca_bundle_pem"], other.ca_pem.as_str());
}

// --- the engine: the stored host decides how it is reached ---------------------------------

struct EngineWorld {
    db: TestDb,
    client: Client,
    scope: TenantScope,
    host: BankHostId,
    user: EbicsUserId,
    _data_dir: tempfile::TempDir,
}

/// The seed's NEW EBICS user with stored keys, at a host with the given URL and production
/// flag (stored through the repository, as rows from before the API check could be).
async fn engine_world(db: TestDb, url: String, production: bool) -> EngineWorld {
    let mut seed = Seed::new("ACME").at(url, ProtocolVersion::H004);
    seed.production = production;
    let tenant = seed::plant(&db.store, seed).await;
    give_keys(&db.store, &tenant.scope, tenant.user, "Erika Mustermann").await;
    let data_dir = tempfile::tempdir().unwrap();
    let mut config = ClientConfig::new(data_dir.path());
    config.retry = RetryPolicy::immediate(3);
    EngineWorld {
        client: Client::new(db.store.clone(), config).unwrap(),
        db,
        scope: tenant.scope,
        host: tenant.host,
        user: tenant.user,
        _data_dir: data_dir,
    }
}

async fn the_engine_uses_the_ca_bundle_stored_on_the_host(db: TestDb) {
    let pki = TestPki::new("Bank Test CA");
    let bank = TlsBank::start(&pki, "").await;
    let w = engine_world(db, bank.url("localhost", "/ebicsweb"), true).await;
    match w.client.send_ini(&w.scope, w.user).await {
        Err(EbicsError::Transport(e)) => {
            assert!(!e.is_retryable(), "a TLS refusal is not retried: {e}")
        }
        other => panic!("expected a TLS refusal, got {other:?}"),
    }
    assert_eq!(bank.requests(), 0);

    let mut tx = w.db.store.scope(&w.scope).begin().await.unwrap();
    tx.bank_hosts()
        .update(
            w.host,
            BankHostChanges {
                ca_bundle_pem: Some(Some(pki.ca_pem.clone())),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // Now the handshake succeeds and INI reaches the bank, whose "<ok/>" is no EBICS answer.
    match w.client.send_ini(&w.scope, w.user).await {
        Err(EbicsError::Protocol(_)) => {}
        other => panic!("expected the bank's answer to be unreadable, got {other:?}"),
    }
    assert!(bank.requests() >= 1);
}

async fn the_engine_refuses_a_stored_http_production_host(db: TestDb) {
    let server = PlainServer::start().await;
    let w = engine_world(db, server.url("/ebicsweb"), true).await;
    match w.client.send_ini(&w.scope, w.user).await {
        Err(EbicsError::Transport(e)) => {
            assert!(!e.is_retryable());
            assert!(e.to_string().contains("https://"), "{e}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(server.requests(), 0, "nothing was sent");
    let mut tx = w.db.store.scope(&w.scope).begin().await.unwrap();
    let user: EbicsUser = tx.get(w.user).await.unwrap();
    assert_eq!(
        user.status,
        EbicsUserStatus::New,
        "nothing recorded as sent"
    );
}

on_both_databases! {
    production_hosts_need_https_through_the_api => production_hosts_need_https_at_the_api;
    ca_bundles_are_validated_stored_and_removable_through_the_api => ca_bundles_are_validated_stored_and_removable;
    engine_reaches_a_private_ca_host_only_with_its_stored_bundle => the_engine_uses_the_ca_bundle_stored_on_the_host;
    engine_refuses_an_http_production_host_before_sending => the_engine_refuses_a_stored_http_production_host;
}
