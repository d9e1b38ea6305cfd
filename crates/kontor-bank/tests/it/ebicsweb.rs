//! The EBICS endpoint and the fault layer in front of the dispatcher, in-process on a free port.

use crate::support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use chrono::Utc;
use kontor_bank::dispatch::{route, DispatchResponse};
use kontor_bank::faults::FaultDirectives;
use kontor_bank::state::{NewTransaction, OrderKind};
use kontor_bank::{Bank, BankConfig, Dispatcher, EbicsRequest, RequestContext, RunningBank};
use parking_lot::Mutex;
use serde_json::json;
use support::{demo_bank, http, node_capture, p, schema_dir, u};

/// A dispatcher that records what it was asked and answers a fixed XML document.
#[derive(Debug, Default)]
struct RecordingDispatcher {
    calls: AtomicUsize,
    seen: Mutex<Vec<(String, FaultDirectives)>>,
}

const OK_XML: &str = r#"<?xml version="1.0" encoding="UTF-8"?><ebicsResponse xmlns="urn:org:ebics:H004" Version="H004" Revision="1"><header authenticate="true"><static/><mutable><TransactionPhase>Initialisation</TransactionPhase><ReturnCode>000000</ReturnCode><ReportText>[EBICS_OK] OK</ReportText></mutable></header><body><ReturnCode authenticate="true">000000</ReturnCode></body></ebicsResponse>"#;

impl RecordingDispatcher {
    fn answer(&self, what: &str, ctx: &RequestContext) -> DispatchResponse {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.seen.lock().push((what.to_owned(), ctx.faults));
        DispatchResponse::xml(OK_XML)
    }
}

/// Dispatcher methods that record the call under the method's name and answer OK.
macro_rules! answer_each {
    ($($method:ident),*) => {
        $(fn $method(&self, ctx: &RequestContext, _: &EbicsRequest) -> DispatchResponse {
            self.answer(stringify!($method), ctx)
        })*
    };
}

impl Dispatcher for RecordingDispatcher {
    fn name(&self) -> &'static str {
        "recording"
    }
    answer_each! { key_management, bank_keys, unsigned, initialisation, transfer, receipt }
}

async fn recording_bank() -> (RunningBank, Arc<RecordingDispatcher>) {
    let dispatcher = Arc::new(RecordingDispatcher::default());
    let bank = Bank::builder(BankConfig::demo().expect("demo"))
        .dispatcher(dispatcher.clone())
        .start("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("starts");
    (bank, dispatcher)
}

async fn send(bank: &RunningBank, body: &str) -> Result<(u16, String), reqwest::Error> {
    let r = http()
        .post(bank.ebics_url())
        .header("content-type", "text/xml; charset=UTF-8")
        .body(body.to_owned())
        .send()
        .await?;
    let status = r.status().as_u16();
    Ok((status, r.text().await?))
}

const HEV: &str = r#"<?xml version="1.0" encoding="UTF-8"?><ebicsHEVRequest xmlns="http://www.ebics.org/H000"><HostID>KONTORBANK</HostID></ebicsHEVRequest>"#;

/// Installs a fault rule written as JSON.
async fn install(bank: &RunningBank, rule: serde_json::Value) {
    support::install_fault(bank, &rule.to_string()).await
}

#[tokio::test]
async fn hev_lists_the_offered_versions_and_validates_against_the_schema() {
    let bank = demo_bank().await;
    let (status, body) = send(&bank, HEV).await.expect("answer");
    assert_eq!(status, 200);
    assert!(
        body.contains(r#"<VersionNumber ProtocolVersion="H004">02.50</VersionNumber>"#),
        "{body}"
    );
    match (schema_dir(), which_xmllint()) {
        (Some(dir), Some(xmllint)) => {
            let file = std::env::temp_dir().join(format!("kontor-hev-{}.xml", std::process::id()));
            std::fs::write(&file, &body).expect("write temp file");
            let out = std::process::Command::new(xmllint)
                .args(["--noout", "--nonet", "--schema"])
                .arg(dir.join("H005/ebics_hev.xsd"))
                .arg(&file)
                .output()
                .expect("xmllint runs");
            let _ = std::fs::remove_file(&file);
            assert!(out.status.success(), "HEV answer is not schema-valid: {}", String::from_utf8_lossy(&out.stderr));
        }
        _ => println!("SKIPPED schema check: EBICS schemas (../shared/ebics-schemas) or xmllint not available"),
    }
    bank.shutdown().await;
}

fn which_xmllint() -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| std::path::Path::new(d).join("xmllint"))
        .find(|p| p.is_file())
}

#[tokio::test]
async fn node_client_requests_are_parsed_and_answered_for_real() {
    let bank = demo_bank().await;
    let code = |body: &str| {
        let start = body.find("<ReturnCode>").map(|i| i + 12).unwrap_or(0);
        body[start..start + 6].to_owned()
    };
    for (capture, expected) in [
        ("01-INI.request.xml", "000000"),
        ("02-HIA.request.xml", "000000"),
        // Not activated yet: the clerk has not compared the letters.
        ("03-HPB.request.xml", "091002"),
        ("04-STA-init.request.xml", "091002"),
    ] {
        let (status, body) = send(&bank, &node_capture(capture)).await.expect("answer");
        assert_eq!(status, 200, "{capture}: {body}");
        assert_eq!(code(&body), expected, "{capture}: {body}");
    }
    bank.shutdown().await;
}

#[tokio::test]
async fn unparseable_bodies_get_ebics_invalid_xml() {
    let bank = demo_bank().await;
    let (status, body) = send(&bank, "<ebicsRequest xmlns=\"urn:org:ebics:H004\"><header>")
        .await
        .expect("answer");
    assert_eq!(status, 200);
    assert!(body.contains("<ReturnCode>091010</ReturnCode>"), "{body}");
    bank.shutdown().await;
}

/// Issue #10: an envelope nested 20 000 levels deep used to overflow the stack and abort the
/// emulator before any authentication.
#[tokio::test]
async fn a_deeply_nested_envelope_gets_ebics_invalid_xml_and_the_bank_keeps_serving() {
    let bank = demo_bank().await;
    for protocol in ["H004", "H005"] {
        let depth = 100_000;
        let nested = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><ebicsRequest xmlns="urn:org:ebics:{protocol}" Version="{protocol}" Revision="1">{}{}</ebicsRequest>"#,
            "<header>".repeat(depth),
            "</header>".repeat(depth)
        );
        let (status, body) = send(&bank, &nested).await.expect("answer");
        assert_eq!(status, 200);
        assert!(body.contains("<ReturnCode>091010</ReturnCode>"), "{body}");
        assert!(
            body.contains("nesting depth exceeds the limit of 256"),
            "the report text names the limit: {body}"
        );
        assert!(
            body.contains(&format!("urn:org:ebics:{protocol}")),
            "{body}"
        );
    }
    let (status, body) = send(&bank, HEV).await.expect("the bank still answers");
    assert_eq!(status, 200);
    assert!(body.contains("<ReturnCode>000000</ReturnCode>"), "{body}");
    bank.shutdown().await;
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let mut config = BankConfig::demo().expect("demo");
    config.limits.segment_size_bytes = 1024;
    config.limits.max_request_bytes = 2048;
    let bank = Bank::start(config, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("starts");
    let (status, _) = send(&bank, &"x".repeat(4096)).await.expect("answer");
    assert_eq!(status, 413);
    bank.shutdown().await;
}

#[tokio::test]
async fn an_http_status_fault_fires_only_the_configured_number_of_times() {
    let (bank, dispatcher) = recording_bank().await;
    install(&bank, json!({ "match": { "order_type": "STA", "phase": "Initialisation" }, "action": { "kind": "http_status", "status": 503 }, "times": 2 })).await;
    let sta = node_capture("04-STA-init.request.xml");
    assert_eq!(send(&bank, &sta).await.expect("answer").0, 503);
    assert_eq!(
        send(&bank, &node_capture("06-C53-init.request.xml"))
            .await
            .expect("answer")
            .0,
        200,
        "C53 is not matched"
    );
    assert_eq!(send(&bank, &sta).await.expect("answer").0, 503);
    assert_eq!(
        send(&bank, &sta).await.expect("answer").0,
        200,
        "only the first 2 times"
    );
    assert_eq!(
        dispatcher.calls.load(Ordering::SeqCst),
        2,
        "faulted requests never reach the dispatcher"
    );
    let rules = bank.faults().rules();
    assert_eq!((rules[0].matched, rules[0].fired), (2, 2));
    bank.shutdown().await;
}

#[tokio::test]
async fn drop_connection_closes_without_an_answer_and_without_processing() {
    let (bank, dispatcher) = recording_bank().await;
    install(&bank, json!({ "match": { "order_type": "HPB" }, "action": { "kind": "drop_connection" }, "times": 1 })).await;
    let hpb = node_capture("03-HPB.request.xml");
    let err = send(&bank, &hpb).await.expect_err("no HTTP answer");
    assert!(
        !err.is_status() && !err.is_timeout(),
        "connection closed, not an HTTP error: {err:?}"
    );
    assert_eq!(dispatcher.calls.load(Ordering::SeqCst), 0);
    assert_eq!(send(&bank, &hpb).await.expect("the server lives on").0, 200);
    bank.shutdown().await;
}

#[tokio::test]
async fn drop_response_processes_the_request_but_loses_the_answer() {
    let (bank, dispatcher) = recording_bank().await;
    install(&bank, json!({ "match": { "order_type": "STA" }, "action": { "kind": "drop_response" }, "times": 1 })).await;
    assert!(send(&bank, &node_capture("04-STA-init.request.xml"))
        .await
        .is_err());
    assert_eq!(dispatcher.calls.load(Ordering::SeqCst), 1, "the bank acted");
    bank.shutdown().await;
}

#[tokio::test]
async fn malformed_xml_sends_an_unparseable_answer() {
    let (bank, _) = recording_bank().await;
    install(
        &bank,
        json!({ "action": { "kind": "malformed_xml" }, "times": 1 }),
    )
    .await;
    let (status, body) = send(&bank, &node_capture("04-STA-init.request.xml"))
        .await
        .expect("answer");
    assert_eq!(status, 200);
    assert!(roxmltree::Document::parse(&body).is_err(), "{body}");
    let (_, body) = send(&bank, &node_capture("04-STA-init.request.xml"))
        .await
        .expect("answer");
    assert!(
        roxmltree::Document::parse(&body).is_ok(),
        "next answer is intact"
    );
    bank.shutdown().await;
}

#[tokio::test]
async fn protocol_faults_reach_the_dispatcher_as_directives() {
    let (bank, dispatcher) = recording_bank().await;
    install(&bank, json!([
        { "match": { "family": "no_pub_key_digests" }, "action": { "kind": "wrong_auth_signature" }, "times": 1 },
        { "match": { "order_type": "C53" }, "action": { "kind": "return_code", "code": "090005" }, "times": 1 },
        { "match": { "order_type": "STA" }, "action": { "kind": "delay", "ms": 20 }, "times": 1 }
    ]))
    .await;
    send(&bank, &node_capture("03-HPB.request.xml"))
        .await
        .expect("answer");
    send(&bank, &node_capture("06-C53-init.request.xml"))
        .await
        .expect("answer");
    send(&bank, &node_capture("04-STA-init.request.xml"))
        .await
        .expect("answer after the delay");
    let seen = dispatcher.seen.lock().clone();
    assert_eq!(seen[0].0, "bank_keys");
    assert!(seen[0].1.corrupt_auth_signature);
    assert_eq!(
        seen[1].1.forced_return_code.map(|c| c.symbol),
        Some("EBICS_NO_DOWNLOAD_DATA_AVAILABLE")
    );
    assert_eq!(
        seen[2].1,
        FaultDirectives::default(),
        "a delay changes nothing for the dispatcher"
    );
    bank.shutdown().await;
}

#[tokio::test]
async fn a_forced_return_code_is_answered_instead_of_processing() {
    let bank = demo_bank().await;
    install(&bank, json!({ "match": { "order_type": "INI" }, "action": { "kind": "return_code", "code": "091002" } })).await;
    let (status, body) = send(&bank, &node_capture("01-INI.request.xml"))
        .await
        .expect("answer");
    assert_eq!(status, 200);
    assert!(body.contains("<ReturnCode>091002</ReturnCode>"), "{body}");
    bank.shutdown().await;
}

fn transfer_xml(txid: &str, segment: u32, last: bool) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><ebicsRequest xmlns="urn:org:ebics:H004" Version="H004" Revision="1"><header authenticate="true"><static><HostID>KONTORBANK</HostID><TransactionID>{txid}</TransactionID></static><mutable><TransactionPhase>Transfer</TransactionPhase><SegmentNumber lastSegment="{last}">{segment}</SegmentNumber></mutable></header><body/></ebicsRequest>"#
    )
}

#[tokio::test]
async fn a_segment_fault_hits_one_transfer_of_the_right_order_type() {
    let (bank, dispatcher) = recording_bank().await;
    let txid = bank
        .state()
        .with_transactions(|table| {
            table.begin_upload(
                NewTransaction {
                    protocol: kontor_protocol::ProtocolVersion::H004,
                    partner_id: p("PARTNER1"),
                    user_id: u("USER1"),
                    order: OrderKind::classic("CCT".parse().expect("code")),
                    order_id: None,
                },
                3,
                vec![],
                vec![],
                Utc::now(),
            )
        })
        .expect("upload begins")
        .to_string();
    // Transfer requests carry no order type: the fault layer takes it from the transaction.
    install(&bank, json!({ "match": { "order_type": "CCT", "phase": "Transfer", "segment": 2 }, "action": { "kind": "http_status", "status": 502 } })).await;
    // Segment 2 of the CCT matches, segment 3 does not; an unknown transaction has no order
    // type, so no match.
    let unknown = "00112233445566778899AABBCCDDEEFF";
    let cases = [
        (txid.as_str(), 2, false, 502),
        (txid.as_str(), 3, true, 200),
        (unknown, 2, false, 200),
    ];
    for (id, segment, last, status) in cases {
        let answer = send(&bank, &transfer_xml(id, segment, last))
            .await
            .expect("answer");
        assert_eq!(answer.0, status, "transaction {id}, segment {segment}");
    }
    assert_eq!(dispatcher.calls.load(Ordering::SeqCst), 2);
    bank.shutdown().await;
}

#[tokio::test]
async fn fault_rules_from_the_configuration_are_active_at_start() {
    let text = format!(
        "{}\n[[faults]]\nname = \"no HEV\"\nmatch = {{ order_type = \"HEV\" }}\naction = {{ kind = \"http_status\", status = 500 }}\n",
        kontor_bank::config::DEMO_BANK_TOML
    );
    let config = BankConfig::from_toml_str(&text).expect("valid");
    let bank = Bank::start(config, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("starts");
    assert_eq!(send(&bank, HEV).await.expect("answer").0, 500);
    bank.shutdown().await;
}

#[tokio::test]
async fn route_can_be_driven_without_http() {
    // The same routing the server uses, for dispatcher unit tests.
    let dispatcher = RecordingDispatcher::default();
    let config = BankConfig::demo().expect("demo");
    let ctx = RequestContext {
        previous_keys: None,
        state: kontor_bank::BankState::from_config(&config),
        keys: support::bank_keys(),
        config: Arc::new(config),
        received_at: Utc::now(),
        faults: FaultDirectives::default(),
        remote_addr: None,
        host: None,
    };
    let raw = node_capture("05-STA-receipt.request.xml");
    let req = EbicsRequest {
        envelope: kontor_bank::RequestEnvelope::sniff(raw.as_bytes()).expect("routable"),
        raw: raw.into(),
    };
    route(&dispatcher, &ctx, &req);
    assert_eq!(dispatcher.seen.lock()[0].0, "receipt");
}

#[tokio::test]
async fn after_shutdown_the_port_is_closed() {
    let bank = demo_bank().await;
    let url = bank.ebics_url();
    bank.shutdown().await;
    let result = http().post(url).body(HEV).send().await;
    assert!(result.is_err(), "nothing listens any more");
}
