//! H3K in the form EBICS 3.0 clients send it: an `ebicsUnsignedRequest` ("unsigned": no X002
//! authentication signature, no bank key digests) whose `DataTransfer` carries the subscriber's
//! electronic signature (`SignatureData`) over the H3K document (`OrderData`), both compressed
//! and base64, not encrypted (the client has no bank key yet). The certificates are issued by a
//! CA, so no initialisation letter is needed: the ES, verified with the signature certificate
//! the document itself carries, proves that the sender holds that key
//! (`ebics_keymgmt_request_H005.xsd`, `ebicsUnsignedRequest`; EBICS 3.0 spec, H3K).
//!
//! Every other order in an `ebicsUnsignedRequest` is refused: this bank requires electronic
//! signatures on uploads.

use kontor_protocol::certificate::Certificate;
use kontor_protocol::compression;
use kontor_protocol::orderdata::{H3KRequestOrderData, UserSignatureData};
use kontor_protocol::signature::verify_order_data;
use kontor_protocol::ProtocolVersion;
use kontor_xml::Limits;

use super::auth;
use super::keymgmt;
use super::reply::{self, Reject};
use crate::dispatch::{DispatchResponse, EbicsRequest, RequestContext};
use crate::return_codes::ReturnCode;

const DOCUMENT_LIMIT: u64 = 1 << 20;

/// What an `ebicsUnsignedRequest` says.
struct UnsignedUpload {
    host_id: String,
    partner_id: String,
    user_id: String,
    order_type: String,
    signature_data: Vec<u8>,
    order_data: Vec<u8>,
}

fn malformed(what: impl std::fmt::Display) -> Reject {
    Reject::new(ReturnCode::INVALID_REQUEST, what.to_string())
}

fn child<'a, 'i>(
    parent: roxmltree::Node<'a, 'i>,
    name: &str,
) -> Result<roxmltree::Node<'a, 'i>, Reject> {
    parent
        .children()
        .find(|n| n.is_element() && n.tag_name().name() == name)
        .ok_or_else(|| malformed(format!("{name} missing")))
}

fn parse(raw: &[u8]) -> Result<UnsignedUpload, Reject> {
    let xml = kontor_xml::decode(raw).map_err(malformed)?;
    let doc = kontor_xml::parse(xml, &Limits::DEFAULT).map_err(malformed)?;
    let root = doc.root_element();
    let text = |node: roxmltree::Node<'_, '_>| node.text().unwrap_or_default().trim().to_owned();
    let header = child(child(root, "header")?, "static")?;
    let details = child(header, "OrderDetails")?;
    let order_type = child(details, "AdminOrderType").or_else(|_| child(details, "OrderType"))?;
    let transfer = child(child(root, "body")?, "DataTransfer")?;
    let base64 = |node: roxmltree::Node<'_, '_>| {
        use base64::Engine as _;
        let compact: String = text(node).split_ascii_whitespace().collect();
        base64::engine::general_purpose::STANDARD
            .decode(compact)
            .map_err(|e| malformed(format!("{}: {e}", node.tag_name().name())))
    };
    Ok(UnsignedUpload {
        host_id: text(child(header, "HostID")?),
        partner_id: text(child(header, "PartnerID")?),
        user_id: text(child(header, "UserID")?),
        order_type: text(order_type),
        signature_data: base64(child(transfer, "SignatureData")?)?,
        order_data: base64(child(transfer, "OrderData")?)?,
    })
}

pub fn unsigned(ctx: &RequestContext, req: &EbicsRequest) -> DispatchResponse {
    let version = req.envelope.protocol.unwrap_or(ProtocolVersion::H005);
    let outcome = match ctx.faults.forced_return_code {
        Some(code) => Err(Reject::new(code, "injected fault")),
        None => parse(&req.raw).and_then(|upload| signed_h3k(ctx, version, &upload)),
    };
    match outcome {
        Ok(()) => reply::key_management(version, None, None, None),
        Err(reject) => {
            tracing::info!(code = reject.code.code, detail = %reject.detail, "unsigned request refused");
            reply::key_management(version, Some(&reject), None, None)
        }
    }
}

fn signed_h3k(
    ctx: &RequestContext,
    version: ProtocolVersion,
    upload: &UnsignedUpload,
) -> Result<(), Reject> {
    auth::check_host(ctx, &upload.host_id)?;
    auth::check_version(ctx, version)?;
    if upload.order_type != "H3K" || version != ProtocolVersion::H005 {
        return Err(Reject::new(
            ReturnCode::INVALID_ORDER_PARAMS,
            "this bank requires electronic signatures: ebicsUnsignedRequest only for H3K (H005)",
        ));
    }
    let (partner, user) = auth::ids(&upload.partner_id, &upload.user_id)?;
    auth::known_subscriber(ctx, &partner, &user)?;
    let format = |e: String| Reject::new(ReturnCode::INVALID_ORDER_DATA_FORMAT, e);
    let data = compression::decompress(&upload.order_data, DOCUMENT_LIMIT)
        .map_err(|e| format(e.to_string()))?;
    let document = H3KRequestOrderData::parse(&data).map_err(|e| format(e.to_string()))?;
    let signature_xml = compression::decompress(&upload.signature_data, DOCUMENT_LIMIT)
        .map_err(|e| Reject::new(ReturnCode::INVALID_SIGNATURE_FILE_FORMAT, e.to_string()))?;
    let signatures = UserSignatureData::parse(&signature_xml)
        .map_err(|e| Reject::new(ReturnCode::INVALID_SIGNATURE_FILE_FORMAT, e.to_string()))?
        .signatures;
    let [signature] = signatures.as_slice() else {
        return Err(Reject::new(
            ReturnCode::SIGNATURE_VERIFICATION_FAILED,
            format!("H3K carries exactly one ES, got {}", signatures.len()),
        ));
    };
    if signature.partner_id != partner.as_str() || signature.user_id != user.as_str() {
        return Err(Reject::new(
            ReturnCode::SIGNATURE_VERIFICATION_FAILED,
            "H3K must be signed by the subscriber whose keys it carries",
        ));
    }
    let certificate = Certificate::from_der(&document.signature.x509.certificate)
        .map_err(|e| format(e.to_string()))?;
    verify_order_data(
        signature.signature_version,
        certificate.public_key(),
        &data,
        &signature.signature_value,
    )
    .map_err(|e| {
        Reject::new(
            ReturnCode::SIGNATURE_VERIFICATION_FAILED,
            format!("the ES of H3K does not verify with its signature certificate: {e}"),
        )
    })?;
    keymgmt::record_h3k(ctx, &partner, &user, &document)?;
    tracing::info!(%partner, %user, "subscriber keys received (signed H3K)");
    Ok(())
}
