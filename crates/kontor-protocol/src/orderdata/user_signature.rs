//! `UserSignatureData`: the electronic signatures (A005/A006) that accompany an upload, an HVE
//! co-signature or an HVS cancellation.

use std::io::Write;
use std::str::FromStr;

use super::common::X509Data;
use super::xml::{check, format_base64, parse_base64, El, Family, Out, NS_DS};
use super::{document, OrderDataError, Result};
use crate::version::{ProtocolVersion, SignatureVersion};

/// One subscriber's signature (`OrderSignatureData`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderSignatureData {
    /// `SignatureVersion` (A005/A006).
    pub signature_version: SignatureVersion,
    /// `SignatureValue`: the raw RSA signature bytes.
    pub signature_value: Vec<u8>,
    /// `PartnerID` of the signer.
    pub partner_id: String,
    /// `UserID` of the signer.
    pub user_id: String,
    /// `ds:X509Data`: the signer's certificate (optional in both S001 and S002).
    pub x509: Option<X509Data>,
}

impl OrderSignatureData {
    fn write<W: Write>(&self, out: &mut Out<'_, W>) -> Result<()> {
        if self.signature_value.is_empty() {
            return Err(OrderDataError::invalid(
                "OrderSignatureData/SignatureValue",
                "",
                "must not be empty",
            ));
        }
        check::ebics_id("OrderSignatureData/PartnerID", &self.partner_id)?;
        check::ebics_id("OrderSignatureData/UserID", &self.user_id)?;
        out.start("OrderSignatureData", &[])?;
        out.leaf("SignatureVersion", self.signature_version.as_str())?;
        out.leaf("SignatureValue", &format_base64(&self.signature_value))?;
        out.leaf("PartnerID", &self.partner_id)?;
        out.leaf("UserID", &self.user_id)?;
        if let Some(x509) = &self.x509 {
            x509.write(out)?;
        }
        out.end("OrderSignatureData")
    }

    fn read(el: &El<'_, '_>) -> Result<Self> {
        Ok(Self {
            signature_version: el.child_value("SignatureVersion", |s| {
                SignatureVersion::from_str(s).map_err(|_| "unsupported signature version")
            })?,
            signature_value: el.child_value("SignatureValue", parse_base64)?,
            partner_id: el.child_text("PartnerID")?,
            user_id: el.child_text("UserID")?,
            x509: el
                .opt_child_ns(NS_DS, "X509Data")
                .map(|x| X509Data::read(&x))
                .transpose()?,
        })
    }
}

/// `UserSignatureData` (namespace S001 with H004, S002 with H005): one or more signatures over
/// the same order data.
///
/// Legacy S001 `OrderSignature` elements (pre-A005) are ignored when parsing; a document must
/// contain at least one `OrderSignatureData`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSignatureData {
    /// H004 (namespace S001) or H005 (namespace S002).
    pub version: ProtocolVersion,
    /// The signatures (at least one).
    pub signatures: Vec<OrderSignatureData>,
}

document!(
    UserSignatureData,
    "UserSignatureData",
    Family::Signature,
    USES_DS
);

impl UserSignatureData {
    /// A document with a single signature.
    pub fn single(version: ProtocolVersion, signature: OrderSignatureData) -> Self {
        Self {
            version,
            signatures: vec![signature],
        }
    }

    fn write_children<W: Write>(&self, out: &mut Out<'_, W>) -> Result<()> {
        check::nonempty("UserSignatureData", &self.signatures, "signature")?;
        self.signatures.iter().try_for_each(|s| s.write(out))
    }

    fn read_children(root: &El<'_, '_>, version: ProtocolVersion) -> Result<Self> {
        let signatures =
            root.read_nonempty_children("OrderSignatureData", OrderSignatureData::read)?;
        Ok(Self {
            version,
            signatures,
        })
    }
}
