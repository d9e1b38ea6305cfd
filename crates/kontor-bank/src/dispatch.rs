//! Where the EBICS protocol plugs in.
//!
//! The HTTP layer reads a request, routes it by message family and transaction phase (see
//! [`route`]) and calls one method of a [`Dispatcher`]. The dispatcher owns everything EBICS:
//! authenticating the request (X002), checking nonce/timestamp via [`BankState::check_nonce`],
//! decrypting (E002), verifying electronic signatures, driving the subscriber lifecycle and the
//! transaction table, and building (and signing) the response. It never fails: every problem
//! becomes an EBICS response with the right return code.
//!
//! Dispatchers are synchronous on purpose: their work is CPU-bound (RSA, compression) and the
//! server runs them on the blocking thread pool, so they must not assume an async context.
//!
//! [`EbicsDispatcher`](crate::ebics::EbicsDispatcher) is the implementation; the trait stays so
//! tests can put a dispatcher of their own behind the emulator's HTTP and fault layers.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::StatusCode;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use kontor_protocol::ProtocolVersion;

use crate::config::BankConfig;
use crate::envelope::{EnvelopeError, MessageFamily, RequestEnvelope, TransactionPhase};
use crate::faults::FaultDirectives;
use crate::keys::BankKeys;
use crate::responses;
use crate::return_codes::ReturnCode;
use crate::state::BankState;

/// Everything a dispatcher may use while handling one request.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The bank's mutable state.
    pub state: BankState,
    /// The seed configuration (partners, users, permissions, limits, ledger).
    pub config: Arc<BankConfig>,
    /// The bank's key material.
    pub keys: Arc<dyn BankKeys>,
    /// The keys the last rollover replaced: they sign the 091008 answers to subscribers that
    /// still name them.
    pub previous_keys: Option<Arc<dyn BankKeys>>,
    /// When the request arrived (use this, not the wall clock, for nonce windows and records).
    pub received_at: DateTime<Utc>,
    /// Instructions from fault injection that the protocol layer must honour.
    pub faults: FaultDirectives,
    /// The peer address, if known.
    pub remote_addr: Option<SocketAddr>,
    /// The `Host` the client addressed (HTTP header), for the URL HPD publishes.
    pub host: Option<String>,
}

impl RequestContext {
    /// The EBICS URL as the client reached it (HPD `AccessParams/URL`).
    pub fn ebics_url(&self) -> String {
        format!(
            "http://{}/ebicsweb",
            self.host.as_deref().unwrap_or("localhost")
        )
    }
}

/// A routed EBICS request: the raw body plus what it claims about itself (unverified).
#[derive(Debug, Clone)]
pub struct EbicsRequest {
    /// The request body exactly as received (needed for signature verification).
    pub raw: Bytes,
    /// Routing information read from the body.
    pub envelope: RequestEnvelope,
}

/// The HTTP answer to an EBICS request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispatchResponse {
    /// Normally 200: EBICS reports errors in the XML, not in the HTTP status.
    pub status: StatusCode,
    /// The response body (XML).
    pub body: Bytes,
}

impl DispatchResponse {
    /// A 200 answer with an XML body.
    pub fn xml(body: impl Into<Bytes>) -> Self {
        Self {
            status: StatusCode::OK,
            body: body.into(),
        }
    }

    /// A bare EBICS error answer for a routed request (see [`responses::error_response`]).
    pub fn ebics_error(
        status: StatusCode,
        envelope: &RequestEnvelope,
        code: ReturnCode,
        report_text: &str,
    ) -> Self {
        let family = envelope.family.unwrap_or(MessageFamily::Request);
        let protocol = envelope.protocol.unwrap_or(ProtocolVersion::H004);
        let body = responses::error_response(family, protocol, code, report_text, envelope.phase);
        Self {
            status,
            body: body.into(),
        }
    }
}

/// The EBICS protocol behind `/ebicsweb`: one method per message family and phase.
pub trait Dispatcher: Send + Sync + std::fmt::Debug + 'static {
    /// Short name for logs and `GET /admin/health`.
    fn name(&self) -> &'static str;

    /// `ebicsHEVRequest`: answered from the configuration (no cryptography involved).
    fn hev(&self, ctx: &RequestContext, req: &EbicsRequest) -> DispatchResponse {
        DispatchResponse::xml(responses::hev_response(
            &ctx.config,
            req.envelope.host_id.as_deref(),
        ))
    }

    /// `ebicsUnsecuredRequest`: INI, HIA (and H3K).
    fn key_management(&self, ctx: &RequestContext, req: &EbicsRequest) -> DispatchResponse;

    /// `ebicsNoPubKeyDigestsRequest`: HPB.
    fn bank_keys(&self, ctx: &RequestContext, req: &EbicsRequest) -> DispatchResponse;

    /// `ebicsUnsignedRequest`: uploads without electronic signature.
    fn unsigned(&self, ctx: &RequestContext, req: &EbicsRequest) -> DispatchResponse;

    /// `ebicsRequest`, phase Initialisation: start an upload or download.
    fn initialisation(&self, ctx: &RequestContext, req: &EbicsRequest) -> DispatchResponse;

    /// `ebicsRequest`, phase Transfer: upload or download one more segment.
    fn transfer(&self, ctx: &RequestContext, req: &EbicsRequest) -> DispatchResponse;

    /// `ebicsRequest`, phase Receipt: the client acknowledges a download.
    fn receipt(&self, ctx: &RequestContext, req: &EbicsRequest) -> DispatchResponse;

    /// A body that could not be routed (not XML, unknown root, no phase).
    fn unroutable(
        &self,
        _ctx: &RequestContext,
        raw: &[u8],
        error: &EnvelopeError,
    ) -> DispatchResponse {
        // Answer in the namespace the body seems to use, so clients can parse the answer.
        let text = String::from_utf8_lossy(&raw[..raw.len().min(4096)]);
        let protocol = if text.contains("urn:org:ebics:H005") {
            ProtocolVersion::H005
        } else {
            ProtocolVersion::H004
        };
        let family = if text.contains("ebicsUnsecuredRequest")
            || text.contains("ebicsNoPubKeyDigestsRequest")
        {
            MessageFamily::Unsecured
        } else {
            MessageFamily::Request
        };
        let code = ReturnCode::INVALID_XML;
        let body = responses::error_response(
            family,
            protocol,
            code,
            &format!("{} {error}", code.report_text()),
            None,
        );
        DispatchResponse::xml(body)
    }
}

/// Calls the dispatcher method for a routed request. Fault directives travel in the context;
/// honouring them (a forced return code must still be a signed answer) is the dispatcher's job.
pub fn route(
    dispatcher: &dyn Dispatcher,
    ctx: &RequestContext,
    req: &EbicsRequest,
) -> DispatchResponse {
    match (req.envelope.family, req.envelope.phase) {
        (Some(MessageFamily::Hev), _) => dispatcher.hev(ctx, req),
        (Some(MessageFamily::Unsecured), _) => dispatcher.key_management(ctx, req),
        (Some(MessageFamily::NoPubKeyDigests), _) => dispatcher.bank_keys(ctx, req),
        (Some(MessageFamily::Unsigned), _) => dispatcher.unsigned(ctx, req),
        (Some(MessageFamily::Request), Some(TransactionPhase::Initialisation)) => {
            dispatcher.initialisation(ctx, req)
        }
        (Some(MessageFamily::Request), Some(TransactionPhase::Transfer)) => {
            dispatcher.transfer(ctx, req)
        }
        (Some(MessageFamily::Request), Some(TransactionPhase::Receipt)) => {
            dispatcher.receipt(ctx, req)
        }
        (Some(MessageFamily::Request), None) => {
            dispatcher.unroutable(ctx, &req.raw, &EnvelopeError::MissingPhase)
        }
        (None, _) => dispatcher.unroutable(
            ctx,
            &req.raw,
            &EnvelopeError::UnknownRoot(req.envelope.root_element.clone()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ebics::EbicsDispatcher;
    use crate::keys::BankKeyPairs;

    fn ctx(faults: FaultDirectives) -> RequestContext {
        let config = BankConfig::demo().expect("demo");
        RequestContext {
            state: BankState::from_config(&config),
            keys: Arc::new(
                BankKeyPairs::generate(&config.bank.host_id, Utc::now()).expect("bank keys"),
            ),
            previous_keys: None,
            config: Arc::new(config),
            received_at: Utc::now(),
            faults,
            remote_addr: None,
            host: None,
        }
    }

    fn request(xml: &str) -> EbicsRequest {
        EbicsRequest {
            raw: Bytes::copy_from_slice(xml.as_bytes()),
            envelope: RequestEnvelope::sniff(xml.as_bytes()).expect("routable"),
        }
    }

    #[test]
    fn hev_is_answered_from_the_configuration() {
        let req = request(
            r#"<ebicsHEVRequest xmlns="http://www.ebics.org/H000"><HostID>KONTORBANK</HostID></ebicsHEVRequest>"#,
        );
        let out = route(&EbicsDispatcher, &ctx(FaultDirectives::default()), &req);
        assert_eq!(out.status, StatusCode::OK);
        assert!(String::from_utf8_lossy(&out.body).contains("ProtocolVersion=\"H005\""));
    }

    #[test]
    fn unroutable_bodies_get_invalid_xml() {
        let out = EbicsDispatcher.unroutable(
            &ctx(FaultDirectives::default()),
            b"<oops",
            &EnvelopeError::Xml(kontor_xml::ReadError::Malformed {
                reason: "eof".into(),
            }),
        );
        assert_eq!(out.status, StatusCode::OK);
        assert!(String::from_utf8_lossy(&out.body).contains("<ReturnCode>091010</ReturnCode>"));
    }
}
