//! User key changes: HCA (authentication and encryption keys), HCS (all three) and PUB (the
//! signature key), on H004 and H005 (EBICS 3.0 keeps all three as administrative order types;
//! PUB's `SignaturePubKeyOrderData` is S002 there and carries the key as an X.509
//! certificate, like INI).
//!
//! They are ordinary uploads (H004 `OZHNN`): the order data is the key document, and it must
//! carry exactly one ES, by the subscriber itself, that verifies with the signature key the
//! bank holds now. Only then do the new keys replace the old ones, at once; every later
//! request is checked against the new keys.

use kontor_protocol::certificate::KeyPurpose;
use kontor_protocol::orderdata::{
    HCARequestOrderData, HCSRequestOrderData, OrderDataError, OrderSignatureData,
    SignaturePubKeyOrderData,
};
use kontor_protocol::signature::verify_order_data;
use kontor_protocol::ProtocolVersion;

use super::auth::Caller;
use super::keymgmt::{distinct, same_subscriber, KeyIntake};
use super::reply::Reject;
use super::upload::own_signature;
use crate::dispatch::RequestContext;
use crate::return_codes::ReturnCode;
use crate::state::SubscriberKeys;

/// Whether `classic` is a key change order type.
pub fn is_key_change(classic: &str) -> bool {
    matches!(classic, "HCA" | "HCS" | "PUB")
}

/// Checks the ES and the key document of a key change and replaces the subscriber's keys.
pub fn change_keys(
    ctx: &RequestContext,
    caller: &Caller,
    classic: &str,
    content: &[u8],
    signed_by: &[OrderSignatureData],
    version: ProtocolVersion,
) -> Result<(), Reject> {
    let (signature, current) =
        own_signature(ctx, caller, signed_by, classic, "whose keys it changes")?;
    verify_order_data(
        signature.signature_version,
        &current,
        content,
        &signature.signature_value,
    )
    .map_err(|e| {
        Reject::new(
            ReturnCode::SIGNATURE_VERIFICATION_FAILED,
            format!("the ES of {classic} does not verify with the current signature key: {e}"),
        )
    })?;
    let keys = new_keys(ctx, caller, classic, content, version)?;
    if let Some(signature) = &keys.signature {
        if signature.public_key == current.to_spki_der().unwrap_or_default() {
            return Err(Reject::new(
                ReturnCode::KEYMGMT_DUPLICATE_KEY,
                "the new signature key is the current one",
            ));
        }
    }
    ctx.state
        .replace_keys(caller.partner(), caller.user(), keys)
        .map_err(|e| Reject::new(e.return_code(), e.to_string()))?;
    tracing::info!(partner = %caller.partner(), user = %caller.user(), order_type = classic, "subscriber keys changed");
    Ok(())
}

/// The keys the document carries, checked like INI/HIA keys (format, version, length).
fn new_keys(
    ctx: &RequestContext,
    caller: &Caller,
    classic: &str,
    content: &[u8],
    version: ProtocolVersion,
) -> Result<SubscriberKeys, Reject> {
    let format =
        |e: OrderDataError| Reject::new(ReturnCode::INVALID_ORDER_DATA_FORMAT, e.to_string());
    let wrong_version = |document: ProtocolVersion| {
        Reject::new(
            ReturnCode::INVALID_ORDER_DATA_FORMAT,
            format!("{classic} document of {document:?} in a {version:?} request"),
        )
    };
    let (partner, user) = (caller.partner(), caller.user());
    // Each key checked like an INI/HIA key (format, version, length, certificate); a
    // subscriber the bank issues certificates for changes keys with the bank's ones only.
    let intake = KeyIntake {
        version,
        now: ctx.received_at,
        bank_issued: ctx
            .state
            .subscriber(partner, user)
            .is_some_and(|s| s.bank_issued_certificates),
    };
    // The document is of the request's version and names the subscriber that sent it.
    let document_of = |document: ProtocolVersion, partner_id: &str, user_id: &str| {
        if document != version {
            return Err(wrong_version(document));
        }
        same_subscriber(partner_id, user_id, partner, user)
    };
    use KeyPurpose::{Authentication, Encryption, Signature};
    let mut keys = SubscriberKeys::default();
    match classic {
        "PUB" => {
            let doc = SignaturePubKeyOrderData::parse(content).map_err(format)?;
            document_of(doc.version, &doc.partner_id, &doc.user_id)?;
            keys.signature = Some(intake.key(&doc.signature_pub_key_info, Signature)?);
        }
        "HCA" => {
            let doc = HCARequestOrderData::parse(content).map_err(format)?;
            document_of(doc.version, &doc.partner_id, &doc.user_id)?;
            keys.authentication = Some(intake.key(&doc.authentication, Authentication)?);
            keys.encryption = Some(intake.key(&doc.encryption, Encryption)?);
        }
        "HCS" => {
            let doc = HCSRequestOrderData::parse(content).map_err(format)?;
            document_of(doc.version, &doc.partner_id, &doc.user_id)?;
            keys.signature = Some(intake.key(&doc.signature, Signature)?);
            keys.authentication = Some(intake.key(&doc.authentication, Authentication)?);
            keys.encryption = Some(intake.key(&doc.encryption, Encryption)?);
        }
        other => {
            return Err(Reject::new(
                ReturnCode::INVALID_ORDER_TYPE,
                format!("{other} is not a key change"),
            ))
        }
    }
    if let (Some(a), Some(e)) = (&keys.authentication, &keys.encryption) {
        distinct(a, e)?;
    }
    if let (Some(s), Some(a)) = (&keys.signature, &keys.authentication) {
        distinct(s, a)?;
    }
    Ok(keys)
}
