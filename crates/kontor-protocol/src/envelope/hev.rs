//! HEV: which EBICS versions the bank supports (`ebics_hev.xsd`, namespace H000, version
//! independent, unsigned).

use roxmltree::Node;

use super::response::{check_report_text, parse_return_code};
use super::types::HostId;
use super::xml::{
    as_text, attr, parse_document, text_of, token_of, Children, XmlOut, HEV_NAMESPACE,
};
use super::EnvelopeError;
use crate::return_code::ReturnCode;
use crate::version::ProtocolVersion;

const REQUEST: &str = "ebicsHEVRequest";
const RESPONSE: &str = "ebicsHEVResponse";

/// `ebicsHEVRequest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HevRequest {
    pub host_id: HostId,
}

/// One `VersionNumber` of an HEV response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HevVersion {
    /// Schema version such as `H004` (kept as text: banks also list versions Kontor does not
    /// speak, e.g. `H003`).
    pub protocol_version: String,
    /// Release number such as `02.50` or `03.00`.
    pub version_number: String,
}

impl HevVersion {
    /// The protocol version if Kontor knows it.
    pub fn protocol(&self) -> Option<ProtocolVersion> {
        self.protocol_version.parse().ok()
    }

    /// The conventional entry for a protocol version (`H004` → `02.50`, `H005` → `03.00`).
    pub fn for_protocol(version: ProtocolVersion) -> Self {
        let number = match version {
            ProtocolVersion::H003 => "02.40",
            ProtocolVersion::H004 => "02.50",
            ProtocolVersion::H005 => "03.00",
            ProtocolVersion::H006 => "03.20",
        };
        Self {
            protocol_version: version.as_str().to_owned(),
            version_number: number.to_owned(),
        }
    }
}

/// `ebicsHEVResponse`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HevResponse {
    /// `SystemReturnCode/ReturnCode` (technical).
    pub return_code: ReturnCode,
    pub report_text: String,
    pub versions: Vec<HevVersion>,
}

impl HevResponse {
    /// The known protocol versions the bank lists, in the bank's order.
    pub fn supported(&self) -> Vec<ProtocolVersion> {
        self.versions
            .iter()
            .filter_map(HevVersion::protocol)
            .collect()
    }
}

/// Checks the HEV root and walks its children.
fn hev_root<'a, 'input>(
    root: Node<'a, 'input>,
    expected: &'static str,
) -> Result<Children<'a, 'input>, EnvelopeError> {
    let ns = root.tag_name().namespace().unwrap_or("");
    if ns != HEV_NAMESPACE {
        return Err(EnvelopeError::WrongNamespace {
            expected: HEV_NAMESPACE,
            found: ns.to_owned(),
        });
    }
    if root.tag_name().name() != expected {
        return Err(EnvelopeError::WrongRootElement {
            expected,
            found: root.tag_name().name().to_owned(),
        });
    }
    Ok(Children::of(root, expected, HEV_NAMESPACE))
}

impl HevRequest {
    pub fn to_xml(&self) -> Result<String, EnvelopeError> {
        let mut out = XmlOut::new()?;
        out.start(REQUEST, &[("xmlns", HEV_NAMESPACE)])?;
        out.text("HostID", &[], self.host_id.as_str())?;
        out.end(REQUEST)?;
        out.finish()
    }

    pub fn parse(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        let doc = parse_document(as_text(bytes)?)?;
        let mut c = hev_root(doc.root_element(), REQUEST)?;
        let host_id = HostId::new(token_of(c.required("HostID")?))?;
        c.finish()?;
        Ok(Self { host_id })
    }
}

impl HevResponse {
    pub fn to_xml(&self) -> Result<String, EnvelopeError> {
        super::response::check_return_code(&self.return_code)?;
        check_report_text(&self.report_text)?;
        let mut out = XmlOut::new()?;
        out.start(RESPONSE, &[("xmlns", HEV_NAMESPACE)])?;
        out.start("SystemReturnCode", &[])?;
        out.text("ReturnCode", &[], self.return_code.code())?;
        out.text("ReportText", &[], &self.report_text)?;
        out.end("SystemReturnCode")?;
        for v in &self.versions {
            let pv = v.protocol_version.as_bytes();
            let number = v.version_number.as_bytes();
            let pv_ok = pv.len() == 4 && pv[0] == b'H' && pv[1..].iter().all(u8::is_ascii_digit);
            let number_ok = number.len() == 5
                && number[2] == b'.'
                && number[..2]
                    .iter()
                    .chain(&number[3..])
                    .all(u8::is_ascii_digit);
            if !pv_ok || !number_ok {
                return Err(EnvelopeError::InvalidValue {
                    element: "VersionNumber",
                    reason: format!("{:?} {:?}", v.protocol_version, v.version_number),
                });
            }
            out.text(
                "VersionNumber",
                &[("ProtocolVersion", &v.protocol_version)],
                &v.version_number,
            )?;
        }
        out.end(RESPONSE)?;
        out.finish()
    }

    pub fn parse(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        let doc = parse_document(as_text(bytes)?)?;
        let mut c = hev_root(doc.root_element(), RESPONSE)?;
        let src = c.required("SystemReturnCode")?;
        let mut s = Children::of(src, "SystemReturnCode", HEV_NAMESPACE);
        let return_code = parse_return_code(s.required("ReturnCode")?, false)?;
        let report_text = text_of(s.required("ReportText")?);
        s.finish()?;
        let versions = c
            .repeated("VersionNumber")
            .into_iter()
            .map(|n| {
                Ok(HevVersion {
                    protocol_version: attr(n, "VersionNumber", "ProtocolVersion")?
                        .trim()
                        .to_owned(),
                    version_number: token_of(n),
                })
            })
            .collect::<Result<Vec<_>, EnvelopeError>>()?;
        c.finish()?;
        Ok(Self {
            return_code,
            report_text,
            versions,
        })
    }
}
