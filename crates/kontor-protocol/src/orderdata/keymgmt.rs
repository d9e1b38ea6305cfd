//! Key-management order data: INI, HIA, H3K, HCA, HCS (subscriber to bank) and HPB (bank to
//! subscriber).
//!
//! H004 transports raw RSA keys (`PubKeyValue`, optionally with a certificate); H005 transports
//! X.509 certificates only (`ds:X509Data`), see [`PublicKeyData`].

use std::io::Write;

use super::common::{
    AuthenticationPubKeyInfo, CertificateInfo, EncryptionPubKeyInfo, SignaturePubKeyInfo,
};
use super::xml::{check, El, Family, Out};
use super::{document, Result};
use crate::version::{AuthenticationVersion, EncryptionVersion, ProtocolVersion, SignatureVersion};

#[cfg(doc)]
use super::common::PublicKeyData;

fn write_ids<W: Write>(out: &mut Out<'_, W>, partner_id: &str, user_id: &str) -> Result<()> {
    check::ebics_id("PartnerID", partner_id)?;
    check::ebics_id("UserID", user_id)?;
    out.leaf("PartnerID", partner_id)?;
    out.leaf("UserID", user_id)
}

fn read_ids(root: &El<'_, '_>) -> Result<(String, String)> {
    Ok((root.child_text("PartnerID")?, root.child_text("UserID")?))
}

/// INI order data (`SignaturePubKeyOrderData`, namespace S001/S002): the subscriber's
/// electronic-signature key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignaturePubKeyOrderData {
    /// H004 (namespace S001) or H005 (namespace S002).
    pub version: ProtocolVersion,
    /// The signature key (H004: RSA key value; H005: certificate) and its version.
    pub signature_pub_key_info: SignaturePubKeyInfo,
    /// `PartnerID`.
    pub partner_id: String,
    /// `UserID`.
    pub user_id: String,
}

document!(
    SignaturePubKeyOrderData,
    "SignaturePubKeyOrderData",
    Family::Signature,
    USES_DS
);

impl SignaturePubKeyOrderData {
    fn write_children<W: Write>(&self, out: &mut Out<'_, W>) -> Result<()> {
        self.signature_pub_key_info
            .write(out, "SignaturePubKeyInfo")?;
        write_ids(out, &self.partner_id, &self.user_id)
    }

    fn read_children(root: &El<'_, '_>, version: ProtocolVersion) -> Result<Self> {
        let info = root.child("SignaturePubKeyInfo")?;
        let (partner_id, user_id) = read_ids(root)?;
        Ok(Self {
            version,
            signature_pub_key_info: SignaturePubKeyInfo::read(
                &info,
                version == ProtocolVersion::H004,
            )?,
            partner_id,
            user_id,
        })
    }
}

/// The `AuthenticationPubKeyInfo` and `EncryptionPubKeyInfo` children (HIA, HCA, HCS, HPB).
fn read_auth_and_encryption(
    root: &El<'_, '_>,
    h004: bool,
) -> Result<(AuthenticationPubKeyInfo, EncryptionPubKeyInfo)> {
    Ok((
        AuthenticationPubKeyInfo::read(&root.child("AuthenticationPubKeyInfo")?, h004)?,
        EncryptionPubKeyInfo::read(&root.child("EncryptionPubKeyInfo")?, h004)?,
    ))
}

/// Declares a document made of an authentication key, an encryption key and the subscriber
/// ids (HIA and HCA share this shape).
macro_rules! auth_and_encryption_keys {
    ($(#[$doc:meta])* $ty:ident, $root:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $ty {
            /// H004 or H005.
            pub version: ProtocolVersion,
            /// `AuthenticationPubKeyInfo` (X002).
            pub authentication: AuthenticationPubKeyInfo,
            /// `EncryptionPubKeyInfo` (E002).
            pub encryption: EncryptionPubKeyInfo,
            /// `PartnerID`.
            pub partner_id: String,
            /// `UserID`.
            pub user_id: String,
        }

        document!($ty, $root, Family::Ebics, USES_DS);

        impl $ty {
            fn write_children<W: Write>(&self, out: &mut Out<'_, W>) -> Result<()> {
                self.authentication.write(out, "AuthenticationPubKeyInfo")?;
                self.encryption.write(out, "EncryptionPubKeyInfo")?;
                write_ids(out, &self.partner_id, &self.user_id)
            }

            fn read_children(root: &El<'_, '_>, version: ProtocolVersion) -> Result<Self> {
                let (authentication, encryption) =
                    read_auth_and_encryption(root, version == ProtocolVersion::H004)?;
                let (partner_id, user_id) = read_ids(root)?;
                Ok(Self {
                    version,
                    authentication,
                    encryption,
                    partner_id,
                    user_id,
                })
            }
        }
    };
}

auth_and_encryption_keys!(
    /// HIA order data (`HIARequestOrderData`): the subscriber's authentication and encryption
    /// keys for initialisation.
    HIARequestOrderData,
    "HIARequestOrderData"
);

auth_and_encryption_keys!(
    /// HCA order data (`HCARequestOrderData`): replacement authentication and encryption keys.
    HCARequestOrderData,
    "HCARequestOrderData"
);

/// HCS order data (`HCSRequestOrderData`): replacement of all three keys; the signature key is
/// an `esig:SignaturePubKeyInfo` in the signature namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HCSRequestOrderData {
    /// H004 or H005.
    pub version: ProtocolVersion,
    /// `AuthenticationPubKeyInfo` (X002).
    pub authentication: AuthenticationPubKeyInfo,
    /// `EncryptionPubKeyInfo` (E002).
    pub encryption: EncryptionPubKeyInfo,
    /// `esig:SignaturePubKeyInfo` (A005/A006).
    pub signature: SignaturePubKeyInfo,
    /// `PartnerID`.
    pub partner_id: String,
    /// `UserID`.
    pub user_id: String,
}

document!(
    HCSRequestOrderData,
    "HCSRequestOrderData",
    Family::Ebics,
    USES_DS,
    USES_ESIG
);

impl HCSRequestOrderData {
    fn write_children<W: Write>(&self, out: &mut Out<'_, W>) -> Result<()> {
        self.authentication.write(out, "AuthenticationPubKeyInfo")?;
        self.encryption.write(out, "EncryptionPubKeyInfo")?;
        // The signature key keeps the structure of the signature schema, whose elements are all
        // qualified in the esig namespace (declared on the root).
        out.with_prefix(Some("esig"), |out| {
            self.signature.write(out, "SignaturePubKeyInfo")
        })?;
        write_ids(out, &self.partner_id, &self.user_id)
    }

    fn read_children(root: &El<'_, '_>, version: ProtocolVersion) -> Result<Self> {
        let h004 = version == ProtocolVersion::H004;
        let (authentication, encryption) = read_auth_and_encryption(root, h004)?;
        let esig_ns = Family::Signature.namespace(version)?;
        let signature = root.child_ns(esig_ns, "SignaturePubKeyInfo")?;
        let (partner_id, user_id) = read_ids(root)?;
        Ok(Self {
            version,
            authentication,
            encryption,
            signature: SignaturePubKeyInfo::read(&signature, h004)?,
            partner_id,
            user_id,
        })
    }
}

/// H3K order data (`H3KRequestOrderData`, defined in `ebics_orders_H00x.xsd` of both versions):
/// all three subscriber keys as certificates, replacing INI + HIA + letters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct H3KRequestOrderData {
    /// H004 or H005.
    pub version: ProtocolVersion,
    /// `SignatureCertificateInfo`.
    pub signature: CertificateInfo<SignatureVersion>,
    /// `AuthenticationCertificateInfo`.
    pub authentication: CertificateInfo<AuthenticationVersion>,
    /// `EncryptionCertificateInfo`.
    pub encryption: CertificateInfo<EncryptionVersion>,
    /// `PartnerID`.
    pub partner_id: String,
    /// `UserID`.
    pub user_id: String,
}

document!(
    H3KRequestOrderData,
    "H3KRequestOrderData",
    Family::Ebics,
    USES_DS
);

impl H3KRequestOrderData {
    fn write_children<W: Write>(&self, out: &mut Out<'_, W>) -> Result<()> {
        self.signature.write(out, "SignatureCertificateInfo")?;
        self.authentication
            .write(out, "AuthenticationCertificateInfo")?;
        self.encryption.write(out, "EncryptionCertificateInfo")?;
        write_ids(out, &self.partner_id, &self.user_id)
    }

    fn read_children(root: &El<'_, '_>, version: ProtocolVersion) -> Result<Self> {
        let (partner_id, user_id) = read_ids(root)?;
        Ok(Self {
            version,
            signature: CertificateInfo::read(&root.child("SignatureCertificateInfo")?)?,
            authentication: CertificateInfo::read(&root.child("AuthenticationCertificateInfo")?)?,
            encryption: CertificateInfo::read(&root.child("EncryptionCertificateInfo")?)?,
            partner_id,
            user_id,
        })
    }
}

/// HPB order data (`HPBResponseOrderData`): the bank's authentication and encryption keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HPBResponseOrderData {
    /// H004 or H005.
    pub version: ProtocolVersion,
    /// The bank's `AuthenticationPubKeyInfo` (X002).
    pub authentication: AuthenticationPubKeyInfo,
    /// The bank's `EncryptionPubKeyInfo` (E002).
    pub encryption: EncryptionPubKeyInfo,
    /// `HostID`.
    pub host_id: String,
}

document!(
    HPBResponseOrderData,
    "HPBResponseOrderData",
    Family::Ebics,
    USES_DS
);

impl HPBResponseOrderData {
    fn write_children<W: Write>(&self, out: &mut Out<'_, W>) -> Result<()> {
        check::host_id("HostID", &self.host_id)?;
        self.authentication.write(out, "AuthenticationPubKeyInfo")?;
        self.encryption.write(out, "EncryptionPubKeyInfo")?;
        out.leaf("HostID", &self.host_id)
    }

    fn read_children(root: &El<'_, '_>, version: ProtocolVersion) -> Result<Self> {
        let (authentication, encryption) =
            read_auth_and_encryption(root, version == ProtocolVersion::H004)?;
        Ok(Self {
            version,
            authentication,
            encryption,
            host_id: root.child_text("HostID")?,
        })
    }
}
