//! The real EBICS protocol behind `/ebicsweb`: [`EbicsDispatcher`], built on `kontor-protocol`
//! (envelopes, X002, E002, A005/A006, segmentation) and `kontor-documents` (statements, pain).
//!
//! - [`keymgmt`]: INI, HIA, H3K, HPB; [`signed_h3k`]: H3K as `ebicsUnsignedRequest` with its ES;
//! - [`auth`]: host, version, subscriber, X002, state and replay checks;
//! - [`orders`]: order type / BTF service resolution and permissions;
//! - [`download`]: HKD/HTD/HAA ([`customer`]), statements, VEU listings ([`veu`]);
//! - [`status`]: HAC (pain.002) and PTK order status reports;
//! - [`key_change`]: HCA, HCS and PUB (the ES by the current signature key, then the new keys);
//! - [`upload`]: payments with signature, permission, account and limit checks; VEU items;
//! - [`reply`]: signed answers, return codes, fault directives.
//!
//! A fault rule's forced return code is answered (signed) before anything is processed.

pub mod auth;
pub mod customer;
pub mod download;
pub mod key_change;
pub mod keymgmt;
pub mod orders;
pub mod reply;
pub mod signed_h3k;
pub mod status;
pub mod upload;
pub mod veu;

use axum::http::StatusCode;
use kontor_protocol::envelope::{
    BankPubKeyDigests, EbicsRequest as WireRequest, EbicsResponse, OrderId as WireOrderId,
    ReceiptCode, TransactionId as WireTransactionId, TransactionPhase,
};
use kontor_protocol::order_type::Direction;
use kontor_protocol::ProtocolVersion;

use self::auth::Caller;
use self::orders::ResolvedOrder;
use self::reply::Reject;
use crate::dispatch::{DispatchResponse, Dispatcher, EbicsRequest, RequestContext};
use crate::ids::{OrderId, TransactionId};
use crate::keys::BankKeyPairs;
use crate::return_codes::ReturnCode;
use crate::state::{FinalReply, NewTransaction, OrderKind, TransactionSummary};

/// The emulator's EBICS implementation.
#[derive(Debug, Default, Clone, Copy)]
pub struct EbicsDispatcher;

pub(crate) fn wire_transaction_id(id: TransactionId) -> WireTransactionId {
    WireTransactionId::from_bytes(*id.as_bytes())
}

pub(crate) fn wire_order_id(id: OrderId) -> Result<WireOrderId, Reject> {
    WireOrderId::new(id.as_str())
        .map_err(|e| Reject::new(ReturnCode::INTERNAL_ERROR, e.to_string()))
}

fn bank_keys(ctx: &RequestContext) -> Option<&BankKeyPairs> {
    ctx.keys.as_any().downcast_ref::<BankKeyPairs>()
}

/// A subscriber told its bank key digests are outdated still holds the keys the rollover
/// replaced, so that answer is signed with the old X002 key: the subscriber can verify it and
/// knows to fetch HPB, instead of seeing an answer it cannot trust.
fn signer_of_refusal<'a>(ctx: &'a RequestContext, reject: &Reject) -> Option<&'a BankKeyPairs> {
    if reject.code != ReturnCode::BANK_PUBKEY_UPDATE_REQUIRED {
        return None;
    }
    ctx.previous_keys
        .as_ref()
        .and_then(|keys| keys.as_any().downcast_ref::<BankKeyPairs>())
}

fn no_keys(req: &EbicsRequest) -> DispatchResponse {
    DispatchResponse::ebics_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        &req.envelope,
        ReturnCode::INTERNAL_ERROR,
        "the bank has no usable key pairs",
    )
}

fn version_of(req: &EbicsRequest) -> ProtocolVersion {
    req.envelope.protocol.unwrap_or(ProtocolVersion::H004)
}

/// Runs one transaction phase: forced faults first, then `handle`; every outcome is signed.
fn answer(
    ctx: &RequestContext,
    req: &EbicsRequest,
    phase: TransactionPhase,
    handle: impl FnOnce(&BankKeyPairs, ProtocolVersion) -> Result<EbicsResponse, Reject>,
) -> DispatchResponse {
    let Some(keys) = bank_keys(ctx) else {
        return no_keys(req);
    };
    let version = version_of(req);
    if let Some(code) = ctx.faults.forced_return_code {
        return reply::signed(
            ctx,
            keys,
            &reply::status(version, phase, &Reject::new(code, "injected fault")),
        );
    }
    match handle(keys, version) {
        Ok(response) => reply::signed(ctx, keys, &response),
        Err(reject) => {
            tracing::info!(?phase, code = reject.code.code, detail = %reject.detail, "EBICS request refused");
            let signer = signer_of_refusal(ctx, &reject).unwrap_or(keys);
            reply::signed(ctx, signer, &reply::status(version, phase, &reject))
        }
    }
}

fn parse(req: &EbicsRequest) -> Result<WireRequest, Reject> {
    WireRequest::parse(&req.raw).map_err(|e| Reject::new(ReturnCode::INVALID_XML, e.to_string()))
}

fn verifier(req: &EbicsRequest) -> impl FnOnce(&rsa::RsaPublicKey) -> bool + '_ {
    move |key| WireRequest::verify(&req.raw, key).is_ok()
}

/// The client's idea of the bank keys must be current (else it must fetch HPB again).
fn check_bank_digests(
    keys: &BankKeyPairs,
    version: ProtocolVersion,
    digests: &BankPubKeyDigests,
) -> Result<(), Reject> {
    let current = keys.published_for(version);
    if digests.authentication.digest != *current.authentication.hash.as_bytes()
        || digests.encryption.digest != *current.encryption.hash.as_bytes()
    {
        return Err(Reject::new(
            ReturnCode::BANK_PUBKEY_UPDATE_REQUIRED,
            "bank key digests do not match the current bank keys",
        ));
    }
    Ok(())
}

/// The order of a running transaction, resolved again from what was recorded.
fn resolved_from_kind(
    ctx: &RequestContext,
    caller: &Caller,
    kind: &OrderKind,
    direction: Direction,
) -> ResolvedOrder {
    let offer = kind.service.as_ref().and_then(|service| {
        ctx.config
            .partner(caller.partner())
            .and_then(|p| p.btf.iter().find(|o| &o.service == service))
    });
    ResolvedOrder {
        kind: kind.clone(),
        classic: match (&kind.service, offer.and_then(|o| o.classic.as_ref())) {
            (None, _) => kind.order_type.to_string(),
            (Some(_), Some(classic)) => classic.to_string(),
            (Some(_), None) => String::new(),
        },
        msg_name: kind.service.as_ref().map(|s| s.msg_name.clone()),
        direction,
    }
}

/// A repeated last request of a finished transaction: the remembered answer, if the same
/// subscriber asks (its X002 signature must verify) and the bank supports recovery (a bank
/// without it has forgotten the transaction: `091101`).
fn remembered(
    ctx: &RequestContext,
    req: &EbicsRequest,
    id: &TransactionId,
    step: u32,
) -> Option<DispatchResponse> {
    if !ctx.config.bank.recovery {
        return None;
    }
    let reply = ctx.state.final_reply(id, step)?;
    auth::authenticate(ctx, &reply.partner_id, &reply.user_id, verifier(req)).ok()?;
    tracing::info!(transaction = %id, step, "recovery: repeating the answer to a finished transaction");
    Some(DispatchResponse::xml(reply.body))
}

fn remember(
    ctx: &RequestContext,
    caller: &Caller,
    id: TransactionId,
    step: u32,
    response: &DispatchResponse,
) {
    ctx.state.remember_final_reply(
        id,
        step,
        FinalReply {
            partner_id: caller.partner().clone(),
            user_id: caller.user().clone(),
            body: response.body.to_vec(),
        },
    );
}

/// The transaction a Transfer or Receipt request continues, and its owner, authenticated.
fn continued_transaction(
    ctx: &RequestContext,
    req: &EbicsRequest,
    host_id: &str,
    transaction_id: &WireTransactionId,
) -> Result<(TransactionId, TransactionSummary, Caller), Reject> {
    auth::check_host(ctx, host_id)?;
    let id = bank_transaction_id(transaction_id);
    let tx = ctx
        .state
        .transaction(&id)
        .ok_or_else(|| Reject::new(ReturnCode::TX_UNKNOWN_TXID, id.to_string()))?;
    let caller = auth::authenticate(ctx, &tx.partner_id, &tx.user_id, verifier(req))?;
    Ok((id, tx, caller))
}

/// A transaction of `caller`'s own (download: `order_id` none; upload: the allocated id).
fn new_transaction(
    caller: &Caller,
    version: ProtocolVersion,
    order: &OrderKind,
    order_id: Option<OrderId>,
) -> NewTransaction {
    NewTransaction {
        protocol: version,
        partner_id: caller.partner().clone(),
        user_id: caller.user().clone(),
        order: order.clone(),
        order_id,
    }
}

fn bank_transaction_id(id: &WireTransactionId) -> TransactionId {
    let hex = id.to_hex();
    hex.parse().unwrap_or_else(|_| TransactionId::random())
}

impl Dispatcher for EbicsDispatcher {
    fn name(&self) -> &'static str {
        "ebics"
    }

    fn key_management(&self, ctx: &RequestContext, req: &EbicsRequest) -> DispatchResponse {
        keymgmt::unsecured(ctx, req)
    }

    fn bank_keys(&self, ctx: &RequestContext, req: &EbicsRequest) -> DispatchResponse {
        match bank_keys(ctx) {
            Some(keys) => keymgmt::hpb(ctx, req, keys),
            None => no_keys(req),
        }
    }

    fn unsigned(&self, ctx: &RequestContext, req: &EbicsRequest) -> DispatchResponse {
        signed_h3k::unsigned(ctx, req)
    }

    fn initialisation(&self, ctx: &RequestContext, req: &EbicsRequest) -> DispatchResponse {
        answer(
            ctx,
            req,
            TransactionPhase::Initialisation,
            |keys, version| {
                let WireRequest::Initialisation(init) = parse(req)? else {
                    return Err(Reject::new(
                        ReturnCode::INVALID_REQUEST,
                        "not an initialisation",
                    ));
                };
                let header = &init.header;
                auth::check_host(ctx, header.host_id.as_str())?;
                auth::check_version(ctx, init.version)?;
                let ids = &header.subscriber;
                let (partner, user) = auth::ids(ids.partner_id.as_str(), ids.user_id.as_str())?;
                let caller = auth::authenticate(ctx, &partner, &user, verifier(req))?;
                auth::check_nonce(ctx, header.nonce.as_bytes(), header.timestamp)?;
                check_bank_digests(keys, version, &header.bank_pub_key_digests)?;
                let partner_config = customer::partner(&ctx.config, &partner)?;
                let order = orders::resolve(partner_config, &header.order_details)?;
                orders::require_permission(&ctx.config, &partner, &user, &order)?;
                match (&init.upload, order.direction) {
                    (None, Direction::Download) => {
                        download::begin(ctx, &caller, &order, &header.order_details.params, version)
                    }
                    (Some(upload), Direction::Upload) => upload::begin(
                        ctx,
                        keys,
                        &caller,
                        &order,
                        &header.order_details,
                        upload,
                        version,
                    ),
                    _ => Err(Reject::new(
                        ReturnCode::INVALID_REQUEST_CONTENT,
                        format!("{} does not go in this direction", order.permission_code()),
                    )),
                }
            },
        )
    }

    fn transfer(&self, ctx: &RequestContext, req: &EbicsRequest) -> DispatchResponse {
        let parsed = parse(req);
        if let Ok(WireRequest::Transfer(t)) = &parsed {
            let id = bank_transaction_id(&t.transaction_id);
            if ctx.faults.forced_return_code.is_none() && ctx.state.transaction(&id).is_none() {
                if let Some(again) = remembered(ctx, req, &id, t.segment.number()) {
                    return again;
                }
            }
        }
        let mut finished: Option<(Caller, TransactionId, u32)> = None;
        let response = answer(ctx, req, TransactionPhase::Transfer, |keys, version| {
            let WireRequest::Transfer(t) = parsed? else {
                return Err(Reject::new(ReturnCode::INVALID_REQUEST, "not a transfer"));
            };
            let (id, tx, caller) =
                continued_transaction(ctx, req, t.host_id.as_str(), &t.transaction_id)?;
            match (tx.direction, t.order_data) {
                (crate::state::Direction::Download, _) => {
                    download::transfer(ctx, &caller, id, t.segment.number(), version)
                }
                (crate::state::Direction::Upload, Some(data)) => {
                    let order = resolved_from_kind(ctx, &caller, &tx.order, Direction::Upload);
                    let (response, done) =
                        upload::transfer(ctx, keys, &caller, &order, id, t.segment, data, version)?;
                    if done {
                        finished = Some((caller, id, t.segment.number()));
                    }
                    Ok(response)
                }
                (crate::state::Direction::Upload, None) => Err(Reject::new(
                    ReturnCode::INVALID_REQUEST_CONTENT,
                    "upload transfer without order data",
                )),
            }
        });
        if let Some((caller, id, step)) = finished {
            remember(ctx, &caller, id, step, &response);
        }
        response
    }

    fn receipt(&self, ctx: &RequestContext, req: &EbicsRequest) -> DispatchResponse {
        let parsed = parse(req);
        if let Ok(WireRequest::Receipt(r)) = &parsed {
            let id = bank_transaction_id(&r.transaction_id);
            if ctx.faults.forced_return_code.is_none() && ctx.state.transaction(&id).is_none() {
                if let Some(again) = remembered(ctx, req, &id, 0) {
                    return again;
                }
            }
        }
        let mut finished: Option<(Caller, TransactionId)> = None;
        let response = answer(ctx, req, TransactionPhase::Receipt, |_, version| {
            let WireRequest::Receipt(r) = parsed? else {
                return Err(Reject::new(ReturnCode::INVALID_REQUEST, "not a receipt"));
            };
            let (id, _, caller) =
                continued_transaction(ctx, req, r.host_id.as_str(), &r.transaction_id)?;
            let acknowledged = r.receipt_code == ReceiptCode::Acknowledged;
            let response = download::receipt(ctx, &caller, id, acknowledged, version)?;
            finished = Some((caller, id));
            Ok(response)
        });
        if let Some((caller, id)) = finished {
            remember(ctx, &caller, id, 0, &response);
        }
        response
    }
}
