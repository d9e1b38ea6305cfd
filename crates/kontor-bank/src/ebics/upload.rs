//! Uploads: the initialisation names the order and carries the encrypted transaction key and
//! the electronic signatures; transfers bring the segments; after the last one the bank
//! decrypts, checks the document, verifies every signature against the signer's registered key,
//! checks permissions (order type, account, amount limit) and stores the order — released, or as
//! a VEU item when the signatures do not yet satisfy the release rule.
//!
//! Recovery: a segment sent twice replaces the first copy; the answer to the last segment is
//! remembered (see [`crate::state::BankState::remember_final_reply`]), so a client that lost it
//! and re-sends the segment gets the same answer and order id — never a second order.

use kontor_documents::pain::{self, PaymentKind};
use kontor_protocol::certificate::KeyPurpose;
use kontor_protocol::compression;
use kontor_protocol::encryption::{self, TransactionKey};
use kontor_protocol::envelope::{
    EbicsResponse, OrderDetails, OrderParams, SegmentNumber, TransactionPhase, UploadInit,
};
use kontor_protocol::keys::PublicKey;
use kontor_protocol::orderdata::{OrderSignatureData, UserSignatureData};
use kontor_protocol::signature::{order_data_digest, verify_order_data};
use kontor_protocol::ProtocolVersion;
use rust_decimal::Decimal;

use super::auth::Caller;
use super::download::{transfer_ok, tx_error};
use super::orders::{self, ResolvedOrder};
use super::reply::{self, Reject};
use super::{veu, wire_order_id, wire_transaction_id};
use crate::config::SignatureClass;
use crate::dispatch::RequestContext;
use crate::ids::{AccountId, OrderId, TransactionId};
use crate::keys::BankKeyPairs;
use crate::return_codes::ReturnCode;
use crate::state::veu::required_signatures;
use crate::state::{
    signatures_release, NewOrder, OrderSignature, OrderStatus, UploadProgress, UploadSegment,
    VeuItem, VeuSigner, VeuStatus,
};

/// Largest decompressed order the emulator accepts.
pub const ORDER_DATA_LIMIT: u64 = 512 << 20;
const SIGNATURE_DATA_LIMIT: u64 = 1 << 20;

fn bad_signature_file(e: impl std::fmt::Display) -> Reject {
    Reject::new(ReturnCode::INVALID_SIGNATURE_FILE_FORMAT, e.to_string())
}

/// The transaction key of an upload, after checking it was encrypted for the current bank key.
fn transaction_key(
    keys: &BankKeyPairs,
    version: ProtocolVersion,
    upload: &UploadInit,
) -> Result<TransactionKey, Reject> {
    let info = &upload.data_encryption_info;
    if info.encryption_pub_key_digest.digest != *keys.encryption.hash(version).as_bytes() {
        return Err(Reject::new(
            ReturnCode::BANK_PUBKEY_UPDATE_REQUIRED,
            "data encrypted for another bank encryption key",
        ));
    }
    TransactionKey::decrypt_from(keys.encryption.private_key(), &info.transaction_key).map_err(
        |e| {
            Reject::new(
                ReturnCode::INVALID_REQUEST_CONTENT,
                format!("transaction key: {e}"),
            )
        },
    )
}

fn signature_document(key: &TransactionKey, encrypted: &[u8]) -> Result<Vec<u8>, Reject> {
    let compressed = encryption::decrypt_with_key(key, encrypted).map_err(bad_signature_file)?;
    compression::decompress(&compressed, SIGNATURE_DATA_LIMIT).map_err(bad_signature_file)
}

fn signatures(xml: &[u8]) -> Result<Vec<OrderSignatureData>, Reject> {
    Ok(UserSignatureData::parse(xml)
        .map_err(bad_signature_file)?
        .signatures)
}

/// The "order data" of SPR: one blank. SPR carries no business data, but an upload needs order
/// data, so H004 clients send a blank and sign it; EBICS 3.0 clients may send the ES alone
/// (NumSegments 0), signed over the same blank or over nothing.
const SPR_DUMMY_ORDER_DATA: &[u8] = b" ";

/// SPR (EBICS spec, "Suspension of access authorisation"): the subscriber suspends itself, with
/// its own ES over the dummy order data. Afterwards every request of the subscriber is refused
/// with 091002 EBICS_INVALID_USER_OR_USER_STATE until it initialises again with INI and HIA.
fn suspend_by_spr(
    ctx: &RequestContext,
    caller: &Caller,
    signed_by: &[OrderSignatureData],
    signed_data: &[&[u8]],
) -> Result<(), Reject> {
    let (signature, key) = own_signature(ctx, caller, signed_by, "SPR", "it suspends")?;
    let verified = signed_data.iter().any(|data| {
        verify_order_data(
            signature.signature_version,
            &key,
            data,
            &signature.signature_value,
        )
        .is_ok()
    });
    if !verified {
        return Err(Reject::new(
            ReturnCode::SIGNATURE_VERIFICATION_FAILED,
            "the ES of SPR does not verify",
        ));
    }
    ctx.state
        .suspend_user(caller.partner(), caller.user())
        .map_err(|e| Reject::new(ReturnCode::INTERNAL_ERROR, e.to_string()))?;
    tracing::info!(partner = %caller.partner(), user = %caller.user(), "SPR: subscriber suspended itself");
    Ok(())
}

/// The one ES an order about the subscriber itself (SPR, key changes) must carry: by the
/// caller, who must be Ready; returned with the caller's current signature key. `order` and
/// `whose` name the order and what it does to the subscriber, for the refusal's text.
pub(super) fn own_signature<'s>(
    ctx: &RequestContext,
    caller: &Caller,
    signed_by: &'s [OrderSignatureData],
    order: &str,
    whose: &str,
) -> Result<(&'s OrderSignatureData, PublicKey), Reject> {
    let [signature] = signed_by else {
        return Err(Reject::new(
            ReturnCode::SIGNATURE_VERIFICATION_FAILED,
            format!("{order} carries exactly one ES, got {}", signed_by.len()),
        ));
    };
    if signature.partner_id != caller.partner().as_str()
        || signature.user_id != caller.user().as_str()
    {
        return Err(Reject::new(
            ReturnCode::SIGNATURE_VERIFICATION_FAILED,
            format!("{order} must be signed by the subscriber {whose}"),
        ));
    }
    Ok((signature, SignerCheck::signer(ctx, signature)?))
}

/// The H005 BTU `SignatureFlag`: required, since this bank takes no order without its ES
/// (BTUParams, `ebics_orders_H005.xsd`: without the flag "the order doesn't contain any ES and
/// shall be authorised outside EBICS", which this bank does not offer). Returns whether it asks
/// for the distributed signature (`requestEDS="true"`: "the sender desires spooling into the
/// EBICS distributed signature queue").
fn btu_signature_flag(details: &OrderDetails) -> Result<bool, Reject> {
    match &details.params {
        OrderParams::Btu {
            signature_flag: None,
            ..
        } => Err(Reject::new(
            ReturnCode::INVALID_ORDER_PARAMS,
            "BTU without SignatureFlag: this bank takes no orders authorised outside EBICS",
        )),
        OrderParams::Btu {
            signature_flag: Some(flag),
            ..
        } => Ok(flag.request_eds == Some(true)),
        _ => Ok(false),
    }
}

/// Upload initialisation.
pub fn begin(
    ctx: &RequestContext,
    keys: &BankKeyPairs,
    caller: &Caller,
    order: &ResolvedOrder,
    details: &OrderDetails,
    upload: &UploadInit,
    version: ProtocolVersion,
) -> Result<EbicsResponse, Reject> {
    let key = transaction_key(keys, version, upload)?;
    let signature_xml = signature_document(&key, &upload.signature_data)?;
    let signed_by = signatures(&signature_xml)?;
    let veu_reference = match &details.params {
        OrderParams::Hve(r) | OrderParams::Hvs(r) => Some(r),
        _ => None,
    };
    let mut response = reply::ok(version, TransactionPhase::Initialisation);
    if order.classic == "SPR" && upload.num_segments == 0 {
        // SPR as EBICS 3.0 clients send it: the ES alone, no order data.
        suspend_by_spr(ctx, caller, &signed_by, &[SPR_DUMMY_ORDER_DATA, b""])?;
        response.transaction_id = Some(wire_transaction_id(TransactionId::random()));
        response.order_id = Some(wire_order_id(
            ctx.state.allocate_order_id(caller.partner()),
        )?);
        return Ok(response);
    }
    if let (Some(reference), 0) = (veu_reference, upload.num_segments) {
        // Signature-only orders end with the initialisation.
        let cancel = order.classic == "HVS";
        let order_id = veu::sign_or_cancel(ctx, caller, cancel, reference, &signed_by)?;
        // The `hve_without_transaction_id` fault: the signature counted, the id is lost.
        if ctx.faults.omit_hve_transaction_id {
            tracing::info!(%order_id, "fault injection: HVE/HVS answer without TransactionID");
        } else {
            response.transaction_id = Some(wire_transaction_id(TransactionId::random()));
        }
        response.order_id = Some(wire_order_id(order_id)?);
        return Ok(response);
    }
    if upload.num_segments == 0 {
        return Err(Reject::new(
            ReturnCode::INVALID_REQUEST_CONTENT,
            "an upload announces at least one segment",
        ));
    }
    let request_eds = btu_signature_flag(details)?;
    // Fail early on signers the bank does not know, before any data is transferred.
    for signature in &signed_by {
        SignerCheck::signer(ctx, signature)?;
    }
    let order_id = ctx.state.allocate_order_id(caller.partner());
    let new = super::new_transaction(caller, version, &order.kind, Some(order_id));
    let id = ctx
        .state
        .with_transactions(|table| {
            table.begin_upload(
                new,
                upload.num_segments,
                upload.data_encryption_info.transaction_key.clone(),
                signature_xml,
                ctx.received_at,
            )
        })
        .map_err(tx_error)?;
    if let Some(digest) = &upload.data_digest {
        ctx.state.announce_data_digest(id, digest.digest.clone());
    }
    if request_eds {
        ctx.state.request_eds(id);
    }
    response.transaction_id = Some(wire_transaction_id(id));
    response.order_id = Some(wire_order_id(order_id)?);
    Ok(response)
}

/// One upload segment; after the last, the order is processed. Returns the answer and whether
/// it ended the transaction (then it must be remembered for recovery).
#[allow(clippy::too_many_arguments)]
pub fn transfer(
    ctx: &RequestContext,
    keys: &BankKeyPairs,
    caller: &Caller,
    order: &ResolvedOrder,
    id: TransactionId,
    segment: SegmentNumber,
    data: Vec<u8>,
    version: ProtocolVersion,
) -> Result<(EbicsResponse, bool), Reject> {
    let segment_data = UploadSegment {
        number: segment.number(),
        last: segment.is_last(),
        data,
    };
    let progress = ctx
        .state
        .with_transactions(|table| {
            table.record_upload_segment(
                &id,
                caller.partner(),
                caller.user(),
                segment_data,
                ctx.received_at,
            )
        })
        .map_err(tx_error)?;
    let mut response = transfer_ok(version, id, segment.number(), segment.is_last())?;
    if let UploadProgress::Pending { .. } = progress {
        return Ok((response, false));
    }
    let completed = ctx
        .state
        .with_transactions(|table| table.complete_upload(&id, caller.partner(), caller.user()))
        .map_err(tx_error)?;
    let order_id = completed
        .transaction
        .order_id
        .ok_or_else(|| Reject::new(ReturnCode::INTERNAL_ERROR, "upload without order id"))?;
    response.order_id = Some(wire_order_id(order_id)?);
    let outcome = (|| {
        let key = TransactionKey::decrypt_from(
            keys.encryption.private_key(),
            &completed.encrypted_transaction_key,
        )
        .map_err(|e| Reject::new(ReturnCode::INVALID_REQUEST_CONTENT, e.to_string()))?;
        let compressed = encryption::decrypt_with_key(&key, &completed.order_data)
            .map_err(|e| Reject::new(ReturnCode::INVALID_ORDER_DATA_FORMAT, e.to_string()))?;
        let content = compression::decompress(&compressed, ORDER_DATA_LIMIT)
            .map_err(|e| Reject::new(ReturnCode::INVALID_ORDER_DATA_FORMAT, e.to_string()))?;
        if let Some(announced) = ctx.state.take_announced_digest(&id) {
            // H005: the DataDigest of the initialisation must be the digest of what arrived.
            if announced != order_data_digest(&content) {
                return Err(Reject::new(
                    ReturnCode::SIGNATURE_VERIFICATION_FAILED,
                    "DataDigest does not match the transferred order data",
                ));
            }
        }
        let signed_by = signatures(&completed.signature_data)?;
        accept_order(
            ctx, caller, order, id, order_id, content, &signed_by, version,
        )
    })();
    if let Err(reject) = outcome {
        tracing::info!(transaction = %id, order = %order_id, code = reject.code.code, detail = %reject.detail, "upload rejected");
        let mut refused = reply::status(version, TransactionPhase::Transfer, &reject);
        refused.transaction_id = response.transaction_id;
        refused.segment = response.segment;
        refused.order_id = response.order_id;
        return Ok((refused, true));
    }
    Ok((response, true))
}

/// The accounts an order debits or credits on the customer's side, and its total.
pub(super) struct Payments {
    /// `GrpHdr/MsgId`.
    message_id: String,
    accounts: Vec<AccountId>,
    total: Decimal,
    currency: Option<kontor_documents::Currency>,
}

/// Validates the document of a payment order type of `partner`; `None` for other order types.
pub(super) fn payments(
    ctx: &RequestContext,
    partner: &crate::ids::PartnerId,
    order: &ResolvedOrder,
    content: &[u8],
) -> Result<Option<Payments>, Reject> {
    let expected = match (order.classic.as_str(), order.msg_name.as_deref()) {
        ("CCT" | "CIP", _) | (_, Some("pain.001")) => PaymentKind::CreditTransfer,
        ("CDD" | "CDB", _) | (_, Some("pain.008")) => PaymentKind::DirectDebit,
        _ => return Ok(None),
    };
    let invalid = |e: String| Reject::new(ReturnCode::INVALID_ORDER_DATA_FORMAT, e);
    let document = pain::parse_bytes(content).map_err(|e| invalid(e.to_string()))?;
    if document.kind() != expected {
        return Err(invalid(format!(
            "{:?} document in a {expected:?} order",
            document.kind()
        )));
    }
    let mut accounts = Vec::new();
    for info in &document.payment_infos {
        let iban = &info.account.iban;
        let account = ctx
            .config
            .accounts_of(partner)
            .find(|a| &a.iban == iban)
            .ok_or_else(|| {
                Reject::new(
                    ReturnCode::ACCOUNT_AUTHORISATION_FAILED,
                    format!("{iban} is not an account of {partner}"),
                )
            })?;
        if !accounts.contains(&account.id) {
            accounts.push(account.id.clone());
        }
    }
    let summary = document.summary();
    Ok(Some(Payments {
        message_id: document.message_id.clone(),
        accounts,
        total: summary.control_sum.as_decimal(),
        currency: summary.totals.keys().next().copied(),
    }))
}

/// Verifies signatures of one order against the signers' keys and permissions.
pub struct SignerCheck<'a> {
    ctx: &'a RequestContext,
    order: &'a ResolvedOrder,
    content: &'a [u8],
    payments: Option<Payments>,
}

impl<'a> SignerCheck<'a> {
    pub fn new(
        ctx: &'a RequestContext,
        order: &'a ResolvedOrder,
        content: &'a [u8],
    ) -> Result<Self, Reject> {
        Ok(Self {
            ctx,
            order,
            content,
            payments: None,
        })
    }

    /// Checks each signer's account and amount limits against these payments.
    pub(super) fn with_payments(mut self, payments: Option<Payments>) -> Self {
        self.payments = payments;
        self
    }

    /// The signer's registered signature key (signer known and Ready).
    pub(super) fn signer(
        ctx: &RequestContext,
        signature: &OrderSignatureData,
    ) -> Result<PublicKey, Reject> {
        let unknown = || {
            Reject::new(
                ReturnCode::SIGNER_UNKNOWN,
                format!("{}/{}", signature.partner_id, signature.user_id),
            )
        };
        let partner = signature.partner_id.parse().map_err(|_| unknown())?;
        let user = signature.user_id.parse().map_err(|_| unknown())?;
        let subscriber = ctx.state.subscriber(&partner, &user).ok_or_else(unknown)?;
        if !subscriber.status.may_transact() {
            return Err(Reject::new(
                ReturnCode::INVALID_SIGNER_STATE,
                format!("{partner}/{user} is {:?}", subscriber.status),
            ));
        }
        subscriber
            .keys
            .get(KeyPurpose::Signature)
            .and_then(|k| PublicKey::from_spki_der(&k.public_key).ok())
            .ok_or_else(unknown)
    }

    /// Verifies one signature; returns the signature class the signer holds for this order.
    pub fn verify(&self, signature: &OrderSignatureData) -> Result<SignatureClass, Reject> {
        let key = Self::signer(self.ctx, signature)?;
        verify_order_data(
            signature.signature_version,
            &key,
            self.content,
            &signature.signature_value,
        )
        .map_err(|e| {
            Reject::new(
                ReturnCode::SIGNATURE_VERIFICATION_FAILED,
                format!("{}/{}: {e}", signature.partner_id, signature.user_id),
            )
        })?;
        let partner = signature
            .partner_id
            .parse()
            .map_err(|_| Reject::new(ReturnCode::SIGNER_UNKNOWN, ""))?;
        let user = signature
            .user_id
            .parse()
            .map_err(|_| Reject::new(ReturnCode::SIGNER_UNKNOWN, ""))?;
        let permitted: Vec<_> =
            orders::permissions(&self.ctx.config, &partner, &user, self.order).collect();
        if permitted.is_empty() {
            return Err(Reject::new(
                ReturnCode::AUTHORISATION_ORDER_TYPE_FAILED,
                format!(
                    "{partner}/{user} may not sign {}",
                    self.order.permission_code()
                ),
            ));
        }
        let Some(payments) = &self.payments else {
            return Ok(strongest(permitted.iter().map(|p| p.authorisation_level)));
        };
        let covering: Vec<_> = permitted
            .into_iter()
            .filter(|p| {
                payments
                    .accounts
                    .iter()
                    .all(|a| orders::covers_account(p, a))
            })
            .collect();
        if covering.is_empty() {
            return Err(Reject::new(
                ReturnCode::ACCOUNT_AUTHORISATION_FAILED,
                format!("{partner}/{user} may not sign for these accounts"),
            ));
        }
        let within: Vec<_> = covering
            .into_iter()
            .filter(|p| p.max_amount.is_none_or(|max| payments.total <= max))
            .collect();
        if within.is_empty() {
            return Err(Reject::new(
                ReturnCode::AMOUNT_CHECK_FAILED,
                format!("{} exceeds the limit of {partner}/{user}", payments.total),
            ));
        }
        Ok(strongest(within.iter().map(|p| p.authorisation_level)))
    }
}

fn strongest(classes: impl Iterator<Item = SignatureClass>) -> SignatureClass {
    let rank = |c: &SignatureClass| match c {
        SignatureClass::E => 3,
        SignatureClass::A => 2,
        SignatureClass::B => 1,
        SignatureClass::T => 0,
    };
    classes.max_by_key(rank).unwrap_or(SignatureClass::T)
}

#[allow(clippy::too_many_arguments)]
fn accept_order(
    ctx: &RequestContext,
    caller: &Caller,
    order: &ResolvedOrder,
    id: TransactionId,
    order_id: OrderId,
    content: Vec<u8>,
    signed_by: &[OrderSignatureData],
    version: ProtocolVersion,
) -> Result<(), Reject> {
    if matches!(order.classic.as_str(), "HVE" | "HVS") {
        return Err(Reject::new(
            ReturnCode::INVALID_REQUEST_CONTENT,
            "HVE/HVS carry no order data",
        ));
    }
    if order.classic == "SPR" {
        if content != SPR_DUMMY_ORDER_DATA {
            return Err(Reject::new(
                ReturnCode::INVALID_ORDER_DATA_FORMAT,
                "SPR order data is one blank",
            ));
        }
        return suspend_by_spr(ctx, caller, signed_by, &[&content]);
    }
    if super::key_change::is_key_change(&order.classic) {
        return super::key_change::change_keys(
            ctx,
            caller,
            &order.classic,
            &content,
            signed_by,
            version,
        );
    }
    let payments = payments(ctx, caller.partner(), order, &content)?;
    let (total, currency) = payments
        .as_ref()
        .map_or((None, None), |p| (Some(p.total), p.currency));
    let message_id = payments.as_ref().map(|p| p.message_id.clone());
    let check = SignerCheck::new(ctx, order, &content)?.with_payments(payments);
    let now = ctx.received_at;
    let mut signatures: Vec<OrderSignature> = Vec::new();
    for signature in signed_by {
        if signatures.iter().any(|s| {
            s.partner_id.as_str() == signature.partner_id && s.user_id.as_str() == signature.user_id
        }) {
            return Err(Reject::new(
                ReturnCode::DUPLICATE_SIGNATURE,
                format!("{}/{}", signature.partner_id, signature.user_id),
            ));
        }
        let class = check.verify(signature)?;
        signatures.push(OrderSignature {
            partner_id: signature
                .partner_id
                .parse()
                .map_err(|_| Reject::new(ReturnCode::SIGNER_UNKNOWN, ""))?,
            user_id: signature
                .user_id
                .parse()
                .map_err(|_| Reject::new(ReturnCode::SIGNER_UNKNOWN, ""))?,
            signature_class: class,
            version: signature.signature_version.as_str().to_owned(),
            verified: true,
            signed_at: now,
        });
    }
    let classes: Vec<SignatureClass> = signatures.iter().map(|s| s.signature_class).collect();
    // `requestEDS`: the order waits in the VEU for further signatures even when the ones it
    // carries would release it.
    let eds_requested = ctx.state.take_eds_request(&id);
    let released = signatures_release(classes.iter().copied()) && !eds_requested;
    let veu = (!released).then(|| VeuItem {
        order_id,
        order: order.kind.clone(),
        partner_id: caller.partner().clone(),
        originator: caller.user().clone(),
        amount: total,
        currency,
        required_signatures: required_signatures(
            classes
                .iter()
                .copied()
                .find(|c| c.is_bank_technical())
                .unwrap_or(SignatureClass::T),
        )
        // With `requestEDS` at least one more signature than the order carries.
        .max(if eds_requested {
            u8::try_from(classes.iter().filter(|c| c.is_bank_technical()).count() + 1)
                .unwrap_or(u8::MAX)
        } else {
            0
        }),
        signers: signatures
            .iter()
            .filter(|s| s.signature_class.is_bank_technical())
            .map(|s| VeuSigner {
                user_id: s.user_id.clone(),
                signature_class: s.signature_class,
                signed_at: s.signed_at,
            })
            .collect(),
        status: VeuStatus::Pending,
        created_at: now,
    });
    let status = if released {
        OrderStatus::Accepted
    } else {
        OrderStatus::AwaitingSignatures
    };
    ctx.state
        .record_order(
            NewOrder {
                order_id,
                order: order.kind.clone(),
                protocol: version,
                partner_id: caller.partner().clone(),
                user_id: caller.user().clone(),
                transaction_id: Some(id),
                content,
                signatures,
                status,
                status_reason: None,
                message_id,
            },
            veu,
            now,
        )
        // Banks refuse a payment file whose message id they already received (DK Anlage 3 and
        // the EPC rulebooks make `GrpHdr/MsgId` unique per submitter): a client that retries a
        // lost upload as a new transaction must not pay twice. The answer is 091122
        // EBICS_ORDER_ALREADY_EXISTS (EBICS Annex 1, return codes: "the order has already been
        // submitted"); recovery of the same transaction is answered from the remembered reply.
        .map_err(|e| Reject::new(ReturnCode::ORDER_ALREADY_EXISTS, e.to_string()))?;
    tracing::info!(transaction = %id, order = %order_id, ?status, "order received");
    Ok(())
}
