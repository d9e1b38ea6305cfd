//! Bank-side listings: HAA (what can be downloaded) and HPD (bank parameters).

use std::io::Write;

use chrono::{DateTime, Utc};

use super::subscriber::{parse_order_type_list, write_order_type_list};
use super::xml::{
    check, format_bool, format_timestamp, parse_bool, parse_timestamp, El, Family, Out,
};
use super::{document, Result};
use crate::order_type::BtfService;
use crate::version::{ProtocolVersion, SignatureVersion};

/// HAA order data (`HAAResponseOrderData`): order types (H004) or services (H005) for which
/// the bank holds downloadable data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HAAResponseOrderData {
    /// H004 or H005.
    pub version: ProtocolVersion,
    /// H004 `OrderTypes`.
    pub order_types: Vec<String>,
    /// H005 `Service` list.
    pub services: Vec<BtfService>,
}

document!(HAAResponseOrderData, "HAAResponseOrderData", Family::Ebics);

impl HAAResponseOrderData {
    fn write_children<W: Write>(&self, out: &mut Out<'_, W>) -> Result<()> {
        if out.is_h004() {
            out.forbid("HAAResponseOrderData/Service", !self.services.is_empty())?;
            write_order_type_list(out, "OrderTypes", &self.order_types)
        } else {
            out.forbid(
                "HAAResponseOrderData/OrderTypes",
                !self.order_types.is_empty(),
            )?;
            self.services
                .iter()
                .try_for_each(|s| s.write(out, "Service"))
        }
    }

    fn read_children(root: &El<'_, '_>, version: ProtocolVersion) -> Result<Self> {
        if version == ProtocolVersion::H004 {
            Ok(Self {
                version,
                order_types: root.child_value("OrderTypes", parse_order_type_list)?,
                services: Vec::new(),
            })
        } else {
            Ok(Self {
                version,
                order_types: Vec::new(),
                services: root.read_children("Service", BtfService::read)?,
            })
        }
    }
}

/// One `AccessParams/URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HpdUrl {
    /// The EBICS server URL.
    pub url: String,
    /// `valid_from`: when the URL takes effect.
    pub valid_from: Option<DateTime<Utc>>,
}

/// `AccessParams`: where and who the bank is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessParams {
    /// `URL` list (at least one).
    pub urls: Vec<HpdUrl>,
    /// `Institute` (at most 80 characters).
    pub institute: String,
    /// `HostID`.
    pub host_id: Option<String>,
}

/// `X509Data` support flags of the H004 protocol parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct X509DataSupport {
    /// `supported` (default `true`).
    pub supported: bool,
    /// `persistent`: whether the bank stores subscriber certificates (default `false`).
    pub persistent: bool,
}

/// `ProtocolParams`: versions and optional features the bank supports.
///
/// Feature flags are `None` when the bank does not mention the feature, otherwise the value of
/// its `supported` attribute (which defaults to `true`). Serialisable: a client stores what its
/// bank published.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct ProtocolParams {
    /// `Version/Protocol`, e.g. `["H004", "H005"]`.
    pub protocol_versions: Vec<String>,
    /// `Version/Authentication`, e.g. `["X002"]`.
    pub authentication_versions: Vec<String>,
    /// `Version/Encryption`, e.g. `["E002"]`.
    pub encryption_versions: Vec<String>,
    /// `Version/Signature`, e.g. `["A005", "A006"]`.
    pub signature_versions: Vec<String>,
    /// `Recovery`: transaction recovery.
    pub recovery: Option<bool>,
    /// `PreValidation`.
    pub pre_validation: Option<bool>,
    /// H004 `X509Data` flags (absent from what was stored before they were kept).
    #[serde(default)]
    pub x509_data: Option<X509DataSupport>,
    /// `ClientDataDownload` (HKD/HTD).
    pub client_data_download: Option<bool>,
    /// `DownloadableOrderData` (HAA).
    pub downloadable_order_data: Option<bool>,
}

impl ProtocolParams {
    /// Whether a client may resume an interrupted transfer (EBICS recovery): unless the bank
    /// said it does not support it.
    pub fn allows_recovery(&self) -> bool {
        self.recovery != Some(false)
    }

    /// Whether the bank lists `version`.
    pub fn supports_protocol(&self, version: ProtocolVersion) -> bool {
        self.protocol_versions.iter().any(|v| v == version.as_str())
    }

    /// Whether the bank lists signature version `version`.
    pub fn supports_signature(&self, version: SignatureVersion) -> bool {
        self.signature_versions
            .iter()
            .any(|v| v == version.as_str())
    }
}

/// HPD order data (`HPDResponseOrderData`): the bank parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HPDResponseOrderData {
    /// H004 or H005.
    pub version: ProtocolVersion,
    /// `AccessParams`.
    pub access_params: AccessParams,
    /// `ProtocolParams`.
    pub protocol_params: ProtocolParams,
}

document!(HPDResponseOrderData, "HPDResponseOrderData", Family::Ebics);

fn write_flag<W: Write>(out: &mut Out<'_, W>, element: &str, flag: Option<bool>) -> Result<()> {
    match flag {
        Some(supported) => out.empty(element, &[("supported", format_bool(supported))]),
        None => Ok(()),
    }
}

fn read_flag(el: &El<'_, '_>, element: &'static str) -> Result<Option<bool>> {
    el.opt_child(element)
        .map(|f| Ok(f.attr_value("supported", parse_bool)?.unwrap_or(true)))
        .transpose()
}

fn write_versions<W: Write>(
    out: &mut Out<'_, W>,
    element: &str,
    versions: &[String],
    letter: char,
) -> Result<()> {
    for v in versions {
        check::version_code(&format!("Version/{element}"), v, letter)?;
    }
    out.leaf(element, &versions.join(" "))
}

fn parse_list(s: &str) -> std::result::Result<Vec<String>, &'static str> {
    Ok(s.split_ascii_whitespace().map(str::to_owned).collect())
}

impl HPDResponseOrderData {
    fn write_children<W: Write>(&self, out: &mut Out<'_, W>) -> Result<()> {
        let access = &self.access_params;
        check::nonempty("AccessParams/URL", &access.urls, "URL")?;
        check::max_chars("AccessParams/Institute", &access.institute, 80)?;
        out.start("AccessParams", &[])?;
        for url in &access.urls {
            check::token("AccessParams/URL", &url.url, 1, usize::MAX)?;
            let valid_from = url.valid_from.as_ref().map(format_timestamp);
            let attrs: Vec<(&str, &str)> = valid_from
                .iter()
                .map(|v| ("valid_from", v.as_str()))
                .collect();
            out.leaf_attrs("URL", &attrs, &url.url)?;
        }
        out.leaf("Institute", &access.institute)?;
        if let Some(host_id) = &access.host_id {
            check::host_id("AccessParams/HostID", host_id)?;
            out.leaf("HostID", host_id)?;
        }
        out.end("AccessParams")?;

        let protocol = &self.protocol_params;
        out.start("ProtocolParams", &[])?;
        out.start("Version", &[])?;
        write_versions(out, "Protocol", &protocol.protocol_versions, 'H')?;
        write_versions(
            out,
            "Authentication",
            &protocol.authentication_versions,
            'X',
        )?;
        write_versions(out, "Encryption", &protocol.encryption_versions, 'E')?;
        write_versions(out, "Signature", &protocol.signature_versions, 'A')?;
        out.end("Version")?;
        write_flag(out, "Recovery", protocol.recovery)?;
        write_flag(out, "PreValidation", protocol.pre_validation)?;
        if let Some(x509) = protocol.x509_data {
            if !out.is_h004() {
                return Err(out.not_expressible("ProtocolParams/X509Data"));
            }
            out.empty(
                "X509Data",
                &[
                    ("supported", format_bool(x509.supported)),
                    ("persistent", format_bool(x509.persistent)),
                ],
            )?;
        }
        write_flag(out, "ClientDataDownload", protocol.client_data_download)?;
        write_flag(
            out,
            "DownloadableOrderData",
            protocol.downloadable_order_data,
        )?;
        out.end("ProtocolParams")
    }

    fn read_children(root: &El<'_, '_>, version: ProtocolVersion) -> Result<Self> {
        let access = root.child("AccessParams")?;
        let urls = access.read_nonempty_children("URL", |u| {
            Ok(HpdUrl {
                url: u.nonempty_text()?,
                valid_from: u.attr_value("valid_from", parse_timestamp)?,
            })
        })?;
        let protocol = root.child("ProtocolParams")?;
        let versions = protocol.child("Version")?;
        let x509_data = match protocol.opt_child("X509Data") {
            Some(x) => Some(X509DataSupport {
                supported: x.attr_value("supported", parse_bool)?.unwrap_or(true),
                persistent: x.attr_value("persistent", parse_bool)?.unwrap_or(false),
            }),
            None => None,
        };
        Ok(Self {
            version,
            access_params: AccessParams {
                urls,
                institute: access.child("Institute")?.text(),
                host_id: access.opt_child_text("HostID"),
            },
            protocol_params: ProtocolParams {
                protocol_versions: versions.child_value("Protocol", parse_list)?,
                authentication_versions: versions.child_value("Authentication", parse_list)?,
                encryption_versions: versions.child_value("Encryption", parse_list)?,
                signature_versions: versions.child_value("Signature", parse_list)?,
                recovery: read_flag(&protocol, "Recovery")?,
                pre_validation: read_flag(&protocol, "PreValidation")?,
                x509_data,
                client_data_download: read_flag(&protocol, "ClientDataDownload")?,
                downloadable_order_data: read_flag(&protocol, "DownloadableOrderData")?,
            },
        })
    }
}
