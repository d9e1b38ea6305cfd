//! Minimal EBICS responses the emulator can build without the protocol crate: the HEV answer
//! (which is unsigned by definition) and bare error answers carrying only return codes.
//!
//! Error answers here are *not* complete EBICS messages: an `ebicsResponse` lacks the
//! mandatory `AuthSignature` (only the protocol layer can sign). They exist so that a client
//! gets a parseable, explicit return code from the dispatcher and from requests
//! too broken to route. Once the protocol is wired, the dispatcher answers everything else.

use std::fmt::Write as _;

use kontor_protocol::ProtocolVersion;

use crate::config::BankConfig;
use crate::envelope::{MessageFamily, TransactionPhase, HEV_NAMESPACE};
use crate::return_codes::{ReturnCode, ReturnCodeKind};

/// Escapes text for XML element content and attribute values.
pub fn escape_xml(text: &str) -> String {
    quick_xml::escape::escape(text).into_owned()
}

/// The `VersionNumber` HEV reports for a protocol version (`02.50` for H004, `03.00` for H005).
fn spec_version_number(version: ProtocolVersion) -> &'static str {
    match version {
        ProtocolVersion::H003 => "02.40",
        ProtocolVersion::H004 => "02.50",
        ProtocolVersion::H005 => "03.00",
        ProtocolVersion::H006 => "03.02",
    }
}

/// The HEV answer: the protocol versions the bank offers, or EBICS_INVALID_HOST_ID when the
/// request names another host.
pub fn hev_response(config: &BankConfig, requested_host: Option<&str>) -> String {
    let host_ok = requested_host.is_some_and(|h| h == config.bank.host_id.as_str());
    let code = if host_ok {
        ReturnCode::OK
    } else {
        ReturnCode::INVALID_HOST_ID
    };
    let mut xml = String::new();
    let _ = write!(
        xml,
        r#"<?xml version="1.0" encoding="UTF-8"?><ebicsHEVResponse xmlns="{HEV_NAMESPACE}"><SystemReturnCode><ReturnCode>{}</ReturnCode><ReportText>{}</ReportText></SystemReturnCode>"#,
        code.code,
        escape_xml(&code.report_text())
    );
    if host_ok {
        for v in &config.bank.protocol_versions {
            let _ = write!(
                xml,
                r#"<VersionNumber ProtocolVersion="{}">{}</VersionNumber>"#,
                v.as_str(),
                spec_version_number(*v)
            );
        }
    }
    xml.push_str("</ebicsHEVResponse>");
    xml
}

/// A bare error answer in the shape of the family's response, in the request's namespace.
///
/// A technical code goes into the header and the body carries `000000`; a business code goes
/// into the body with `000000` in the header, as EBICS separates the two tables.
pub fn error_response(
    family: MessageFamily,
    protocol: ProtocolVersion,
    code: ReturnCode,
    report_text: &str,
    phase: Option<TransactionPhase>,
) -> String {
    let (technical, business) = match code.kind {
        ReturnCodeKind::Technical => (code, ReturnCode::OK),
        ReturnCodeKind::Business => (ReturnCode::OK, code),
    };
    let root = match family {
        MessageFamily::Hev => return String::new(),
        other => other.response_root(),
    };
    let phase_xml = match (family, phase) {
        (MessageFamily::Request | MessageFamily::Unsigned, Some(p)) => {
            format!("<TransactionPhase>{p:?}</TransactionPhase>")
        }
        (MessageFamily::Request | MessageFamily::Unsigned, None) => {
            "<TransactionPhase>Initialisation</TransactionPhase>".to_owned()
        }
        _ => String::new(),
    };
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><{root} xmlns="{ns}" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Version="{ver}" Revision="1"><header authenticate="true"><static/><mutable>{phase_xml}<ReturnCode>{tc}</ReturnCode><ReportText>{text}</ReportText></mutable></header><body><ReturnCode authenticate="true">{bc}</ReturnCode></body></{root}>"#,
        ns = protocol.namespace(),
        ver = protocol.as_str(),
        tc = technical.code,
        bc = business.code,
        text = escape_xml(report_text),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hev_lists_the_configured_versions() {
        let config = BankConfig::demo().expect("demo");
        let xml = hev_response(&config, Some("KONTORBANK"));
        assert!(
            xml.contains(r#"<VersionNumber ProtocolVersion="H004">02.50</VersionNumber>"#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<VersionNumber ProtocolVersion="H005">03.00</VersionNumber>"#),
            "{xml}"
        );
        assert!(xml.contains("<ReturnCode>000000</ReturnCode>"));
        roxmltree::Document::parse(&xml).expect("well-formed");
    }

    #[test]
    fn hev_for_another_host_reports_invalid_host_id() {
        let config = BankConfig::demo().expect("demo");
        let xml = hev_response(&config, Some("OTHERBANK"));
        assert!(xml.contains("<ReturnCode>091011</ReturnCode>"), "{xml}");
        assert!(!xml.contains("VersionNumber"));
    }

    #[test]
    fn technical_and_business_codes_go_to_their_own_element() {
        let tech = error_response(
            MessageFamily::Request,
            ProtocolVersion::H004,
            ReturnCode::AUTHENTICATION_FAILED,
            "x",
            Some(TransactionPhase::Transfer),
        );
        assert!(
            tech.contains(
                "<TransactionPhase>Transfer</TransactionPhase><ReturnCode>061001</ReturnCode>"
            ),
            "{tech}"
        );
        assert!(
            tech.contains(r#"<ReturnCode authenticate="true">000000</ReturnCode>"#),
            "{tech}"
        );
        let biz = error_response(
            MessageFamily::Unsecured,
            ProtocolVersion::H005,
            ReturnCode::NO_DOWNLOAD_DATA_AVAILABLE,
            "<none>",
            None,
        );
        assert!(biz.starts_with(r#"<?xml version="1.0" encoding="UTF-8"?><ebicsKeyManagementResponse xmlns="urn:org:ebics:H005""#), "{biz}");
        assert!(
            biz.contains(r#"<ReturnCode authenticate="true">090005</ReturnCode>"#),
            "{biz}"
        );
        assert!(biz.contains("&lt;none&gt;"), "report text is escaped");
        roxmltree::Document::parse(&biz).expect("well-formed");
    }
}
