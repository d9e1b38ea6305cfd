//! Writing and reading the elements several envelopes share.

use roxmltree::Node;

use super::types::{DataEncryptionInfo, PartnerId, Product, PubKeyDigest, UserId};
use super::xml::{attr, base64_of, require_authenticated, text_of, token_of, Children, XmlOut};
use super::EnvelopeError;
use crate::version::EncryptionVersion;

pub(crate) fn write_product(out: &mut XmlOut, product: &Product) -> Result<(), EnvelopeError> {
    product.validate()?;
    match &product.institute_id {
        Some(institute) => out.text(
            "Product",
            &[("Language", &product.language), ("InstituteID", institute)],
            &product.name,
        ),
        None => out.text("Product", &[("Language", &product.language)], &product.name),
    }
}

pub(crate) fn parse_product(node: Node<'_, '_>) -> Result<Option<Product>, EnvelopeError> {
    // `Product` is nillable; a nil product is the same as an absent one.
    let nil = node
        .attributes()
        .any(|a| a.name() == "nil" && a.value() == "true");
    if nil {
        return Ok(None);
    }
    Ok(Some(Product {
        name: text_of(node),
        language: attr(node, "Product", "Language")?.to_owned(),
        institute_id: node.attribute("InstituteID").map(str::to_owned),
    }))
}

/// The subscriber part of a request's `static` header, in schema order: `PartnerID`, `UserID`
/// and the optional `SystemID` and `Product`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriberIds {
    /// The customer (`PartnerID`) the user belongs to.
    pub partner_id: PartnerId,
    pub user_id: UserId,
    /// The technical subscriber that sends on the user's behalf, if not the user itself.
    pub system_id: Option<UserId>,
    /// The client software, as the bank may log it (nillable: `None` leaves it out).
    pub product: Option<Product>,
}

impl SubscriberIds {
    pub(crate) fn write(&self, out: &mut XmlOut) -> Result<(), EnvelopeError> {
        out.text("PartnerID", &[], self.partner_id.as_str())?;
        out.text("UserID", &[], self.user_id.as_str())?;
        if let Some(system_id) = &self.system_id {
            out.text("SystemID", &[], system_id.as_str())?;
        }
        match &self.product {
            Some(product) => write_product(out, product),
            None => Ok(()),
        }
    }

    pub(crate) fn parse(s: &mut Children<'_, '_>) -> Result<Self, EnvelopeError> {
        let partner_id = PartnerId::new(token_of(s.required("PartnerID")?))?;
        let user_id = UserId::new(token_of(s.required("UserID")?))?;
        let system_id = s
            .optional("SystemID")
            .map(|n| UserId::new(token_of(n)))
            .transpose()?;
        let product = match s.optional("Product") {
            Some(n) => parse_product(n)?,
            None => None,
        };
        Ok(Self {
            partner_id,
            user_id,
            system_id,
            product,
        })
    }
}

/// Writes a public key digest element (`Authentication`, `Encryption`,
/// `EncryptionPubKeyDigest`) with its `Version` and `Algorithm` attributes.
pub(crate) fn write_digest(
    out: &mut XmlOut,
    element: &str,
    version: &str,
    digest: &PubKeyDigest,
) -> Result<(), EnvelopeError> {
    out.base64(
        element,
        &[("Version", version), ("Algorithm", &digest.algorithm)],
        &digest.digest,
    )
}

pub(crate) fn parse_digest(
    node: Node<'_, '_>,
    element: &'static str,
) -> Result<(String, PubKeyDigest), EnvelopeError> {
    let version = attr(node, element, "Version")?.to_owned();
    let algorithm = attr(node, element, "Algorithm")?.to_owned();
    let digest = base64_of(node, element)?;
    Ok((version, PubKeyDigest { digest, algorithm }))
}

/// `DataEncryptionInfo authenticate="true"`.
pub(crate) fn write_data_encryption_info(
    out: &mut XmlOut,
    info: &DataEncryptionInfo,
) -> Result<(), EnvelopeError> {
    out.start("DataEncryptionInfo", &[("authenticate", "true")])?;
    write_digest(
        out,
        "EncryptionPubKeyDigest",
        info.encryption_version.as_str(),
        &info.encryption_pub_key_digest,
    )?;
    out.base64("TransactionKey", &[], &info.transaction_key)?;
    out.end("DataEncryptionInfo")
}

pub(crate) fn parse_data_encryption_info(
    node: Node<'_, '_>,
    ns: &str,
) -> Result<DataEncryptionInfo, EnvelopeError> {
    require_authenticated(node, "DataEncryptionInfo")?;
    let mut c = Children::of(node, "DataEncryptionInfo", ns);
    let (version, digest) = parse_digest(
        c.required("EncryptionPubKeyDigest")?,
        "EncryptionPubKeyDigest",
    )?;
    let transaction_key = base64_of(c.required("TransactionKey")?, "TransactionKey")?;
    c.finish()?;
    Ok(DataEncryptionInfo {
        encryption_version: version.parse::<EncryptionVersion>()?,
        encryption_pub_key_digest: digest,
        transaction_key,
    })
}
