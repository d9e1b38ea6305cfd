//! `POST /ebicsweb`: the EBICS endpoint, with the fault layer in front of the dispatcher.
//!
//! Order of events for one request:
//! 1. read the body (size-limited) and route it ([`RequestEnvelope::sniff`]);
//! 2. collect [`RequestFacts`] (for Transfer/Receipt completed from the transaction table) and
//!    ask the [`FaultEngine`](crate::faults::FaultEngine) whether a rule fires;
//! 3. apply "before" faults (drop, HTTP status, delay) or turn the fault into directives;
//! 4. run the dispatcher on the blocking pool;
//! 5. apply "after" faults (drop the response, mangle the XML) or send the answer.
//!
//! The fault layer is a step of this handler rather than a separate tower layer because it
//! needs the routed envelope and the bank state, which the handler has anyway; parsing the body
//! twice would only cost time.

use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use bytes::Bytes;
use chrono::Utc;
use tracing::{debug, error, info, warn};

use crate::dispatch::{route, DispatchResponse, EbicsRequest, RequestContext};
use crate::envelope::{RequestEnvelope, TransactionPhase};
use crate::faults::{FaultAction, FaultDirectives, RequestFacts};
use crate::ids::TransactionId;
use crate::return_codes::ReturnCode;
use crate::server::{AppState, ConnectionControl};
use crate::state::BankState;

const XML_CONTENT_TYPE: &str = "text/xml; charset=UTF-8";

/// What the fault layer knows about a request: its own claims, completed from the transaction
/// table for Transfer and Receipt requests (which carry only a TransactionID).
pub(crate) fn request_facts(state: &BankState, envelope: Option<&RequestEnvelope>) -> RequestFacts {
    let Some(env) = envelope else {
        return RequestFacts::default();
    };
    let mut facts = RequestFacts {
        family: env.family,
        order_type: env.order_type.clone(),
        service: env.btf.as_ref().map(|b| b.service_name.clone()),
        partner_id: env.partner_id.clone(),
        user_id: env.user_id.clone(),
        phase: env.phase,
        segment: env.effective_segment(),
    };
    if matches!(
        env.phase,
        Some(TransactionPhase::Transfer | TransactionPhase::Receipt)
    ) {
        let tx = env
            .transaction_id
            .as_deref()
            .and_then(|t| t.parse::<TransactionId>().ok())
            .and_then(|id| state.transaction(&id));
        if let Some(tx) = tx {
            facts
                .order_type
                .get_or_insert_with(|| tx.order.order_type.to_string());
            if facts.service.is_none() {
                facts.service = tx.order.service.as_ref().map(|s| s.service_name.clone());
            }
            facts
                .partner_id
                .get_or_insert_with(|| tx.partner_id.to_string());
            facts.user_id.get_or_insert_with(|| tx.user_id.to_string());
        }
    }
    facts
}

/// Closes the client's TCP connection without answering. The connection task drops the
/// connection (and with it this handler) when notified; until then this future never resolves.
async fn drop_connection(conn: Option<&ConnectionControl>) -> Response {
    match conn {
        Some(conn) => {
            info!(peer = %conn.peer(), "fault injection: closing the connection without a response");
            conn.kill();
            std::future::pending::<Response>().await
        }
        None => {
            // Only reachable when the router is driven without the emulator's accept loop.
            warn!("fault injection: cannot drop a connection outside the emulator's server");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "drop_connection requested, but no connection control available",
            )
                .into_response()
        }
    }
}

/// An XML answer cut in half: never well-formed, as if the connection broke mid-body.
fn mangled(body: &Bytes) -> Bytes {
    if body.len() < 16 {
        return Bytes::from_static(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><ebicsResponse xmlns=\"urn:org:ebics:H004\"><header");
    }
    body.slice(..body.len() / 2)
}

fn xml_response(status: StatusCode, body: Bytes) -> Response {
    (status, [(header::CONTENT_TYPE, XML_CONTENT_TYPE)], body).into_response()
}

pub(crate) async fn ebicsweb(
    State(app): State<AppState>,
    conn: Option<Extension<ConnectionControl>>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Response {
    let received_at = Utc::now();
    let conn = conn.map(|Extension(c)| c);
    let envelope = RequestEnvelope::sniff(&body);
    let facts = request_facts(&app.state, envelope.as_ref().ok());
    debug!(family = ?facts.family, order_type = ?facts.order_type, phase = ?facts.phase, bytes = body.len(), "EBICS request");

    let mut directives = FaultDirectives::default();
    let mut after_dispatch = None;
    if let Some(fired) = app.faults.evaluate(&facts) {
        info!(rule = fired.rule_id, name = ?fired.name, action = ?fired.action, order_type = ?facts.order_type, phase = ?facts.phase, "fault injection: rule fired");
        match fired.action {
            FaultAction::DropConnection => return drop_connection(conn.as_ref()).await,
            FaultAction::HttpStatus { status } => {
                let status =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                return (
                    status,
                    [(header::CONTENT_TYPE, "text/plain; charset=UTF-8")],
                    format!("kontor-bank: injected fault, HTTP {status}\n"),
                )
                    .into_response();
            }
            FaultAction::Delay { ms } => tokio::time::sleep(Duration::from_millis(ms)).await,
            action @ (FaultAction::DropResponse | FaultAction::MalformedXml) => {
                after_dispatch = Some(action)
            }
            action @ (FaultAction::WrongAuthSignature
            | FaultAction::ReturnCode { .. }
            | FaultAction::NestedStatement { .. }
            | FaultAction::ZipForeignMember
            | FaultAction::ZipBomb { .. }
            | FaultAction::HveWithoutTransactionId) => {
                directives = FaultDirectives::from_action(&action);
            }
        }
    }

    let ctx = RequestContext {
        state: app.state.clone(),
        config: app.config.clone(),
        keys: app.keys.current(),
        previous_keys: app.keys.previous(),
        received_at,
        faults: directives,
        remote_addr: conn.as_ref().map(ConnectionControl::peer),
        host: headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| h.bytes().all(|b| b.is_ascii_graphic()))
            .map(str::to_owned),
    };
    let dispatcher = app.dispatcher.clone();
    let outcome = tokio::task::spawn_blocking(move || match envelope {
        Ok(envelope) => route(
            dispatcher.as_ref(),
            &ctx,
            &EbicsRequest {
                raw: body,
                envelope,
            },
        ),
        Err(error) => dispatcher.unroutable(&ctx, &body, &error),
    })
    .await;
    let response = match outcome {
        Ok(response) => response,
        Err(join_error) => {
            // A panicking dispatcher is a bug; the client still gets an EBICS-shaped answer.
            error!(%join_error, "dispatcher failed");
            let env = RequestEnvelope::default();
            let code = ReturnCode::INTERNAL_ERROR;
            DispatchResponse::ebics_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &env,
                code,
                &code.report_text(),
            )
        }
    };

    match after_dispatch {
        Some(FaultAction::DropResponse) => drop_connection(conn.as_ref()).await,
        Some(FaultAction::MalformedXml) => xml_response(response.status, mangled(&response.body)),
        _ => xml_response(response.status, response.body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::BankConfig;
    use crate::envelope::MessageFamily;
    use crate::state::{NewTransaction, OrderKind};

    #[test]
    fn receipt_facts_are_completed_from_the_transaction_table() {
        let config = BankConfig::demo().expect("demo");
        let state = BankState::from_config(&config);
        let id = state
            .with_transactions(|table| {
                table.begin_download(
                    NewTransaction {
                        protocol: kontor_protocol::ProtocolVersion::H004,
                        partner_id: "PARTNER1".parse().expect("id"),
                        user_id: "USER1".parse().expect("id"),
                        order: OrderKind::classic("C53".parse().expect("code")),
                        order_id: None,
                    },
                    vec![b"x".to_vec()],
                    Utc::now(),
                )
            })
            .expect("begin");
        let xml = format!(
            r#"<ebicsRequest xmlns="urn:org:ebics:H004"><header authenticate="true"><static><HostID>KONTORBANK</HostID><TransactionID>{id}</TransactionID></static><mutable><TransactionPhase>Receipt</TransactionPhase></mutable></header><body/></ebicsRequest>"#
        );
        let env = RequestEnvelope::sniff(xml.as_bytes()).expect("routable");
        let facts = request_facts(&state, Some(&env));
        assert_eq!(facts.family, Some(MessageFamily::Request));
        assert_eq!(facts.order_type.as_deref(), Some("C53"));
        assert_eq!(facts.user_id.as_deref(), Some("USER1"));
        assert_eq!(facts.phase, Some(TransactionPhase::Receipt));
    }

    #[test]
    fn mangled_xml_is_not_well_formed() {
        let good = Bytes::from_static(b"<?xml version=\"1.0\"?><ebicsResponse><header><static/></header><body/></ebicsResponse>");
        let bad = mangled(&good);
        assert!(roxmltree::Document::parse(std::str::from_utf8(&bad).unwrap_or("")).is_err());
        assert!(roxmltree::Document::parse(
            std::str::from_utf8(&mangled(&Bytes::new())).unwrap_or("")
        )
        .is_err());
    }
}
