//! `kontor sign rotate`: a signer replaces their signature key with the bank.
//!
//! The new key is generated into a new passphrase-protected file here; the PUB order data
//! (`SignaturePubKeyOrderData`: the new public key for H004, its self-signed certificate for
//! EBICS 3.0, where PUB carries X.509 like INI) is built and signed with the OLD key on this
//! machine. Only that document (public) and the signature go to the daemon, which checks both
//! and sends the PUB; the bank replaces the key only after verifying the ES with the old one.
//!
//! `kontor sign key-change` (HCA, HCS) goes the other way round: the daemon generates the new
//! authentication and encryption keys it will hold and builds the document (for HCS with the
//! public part of the signer's new key file); the signer checks here that the document is for
//! their user and names their new key ([`check_prepared`]) before signing it with the old key.

use std::path::Path;

use anyhow::{anyhow, bail, Context};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use kontor_protocol::certificate::Certificate;
use kontor_protocol::keys::PublicKey;
use kontor_protocol::orderdata::{
    HCARequestOrderData, HCSRequestOrderData, PublicKeyData, RsaKeyValue, SignaturePubKeyInfo,
    SignaturePubKeyOrderData, X509Data,
};
use kontor_protocol::{ProtocolVersion, SignatureVersion};
use secrecy::SecretString;
use serde_json::{json, Value};

use crate::signer_key::{self, PublicPart};

/// What `kontor sign rotate` needs from the daemon: the user's ids and its bank's version.
pub struct Subscriber {
    pub partner_id: String,
    pub user_id: String,
    pub version: ProtocolVersion,
}

impl Subscriber {
    /// Reads the user, its connection and its bank host from the API answers.
    pub fn from_api(user: &Value, connection: &Value, host: &Value) -> anyhow::Result<Self> {
        let text = |v: &Value, field: &str| -> anyhow::Result<String> {
            v[field]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| anyhow!("the daemon's answer lacks {field}"))
        };
        let version = text(host, "protocol_version")?;
        Ok(Self {
            partner_id: text(connection, "partner_id")?,
            user_id: text(user, "user_id")?,
            version: version
                .parse()
                .map_err(|_| anyhow!("unknown protocol version {version}"))?,
        })
    }
}

/// The new key file: created now, or (a retry after a failed send) the one created before.
pub fn new_key_file(
    out: &Path,
    passphrase: &SecretString,
    version: SignatureVersion,
    name: &str,
) -> anyhow::Result<PublicPart> {
    if out.exists() {
        // Prove the passphrase opens it before the key is announced to the bank.
        signer_key::open(out, passphrase)?;
        return Ok(signer_key::public_part(out)?);
    }
    Ok(signer_key::generate(out, passphrase, version, name)?)
}

/// The PUB order data naming `new` for `subscriber`.
pub fn pub_document(
    subscriber: &Subscriber,
    new: &PublicPart,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<Vec<u8>> {
    let key = if subscriber.version.uses_certificates() {
        let certificate = Certificate::from_pem(&new.certificate_pem)?;
        PublicKeyData::Certificate(X509Data::from_certificate(certificate.to_der().to_vec()))
    } else {
        let public = PublicKey::from_spki_pem(&new.public_key_pem)?;
        PublicKeyData::Rsa {
            key: RsaKeyValue {
                modulus: public.modulus(),
                exponent: public.exponent(),
            },
            timestamp: Some(now),
            x509: None,
        }
    };
    let document = SignaturePubKeyOrderData {
        version: subscriber.version,
        signature_pub_key_info: SignaturePubKeyInfo {
            key,
            version: new.version,
        },
        partner_id: subscriber.partner_id.clone(),
        user_id: subscriber.user_id.clone(),
    };
    document.to_xml().context("building the PUB order data")
}

/// The request body for `POST /v1/ebics-users/{id}/signer-keys/rotate`.
pub fn rotation_body(
    document: &[u8],
    signature: &[u8],
    old_version: SignatureVersion,
    new: &PublicPart,
) -> Value {
    json!({
        "document": B64.encode(document),
        "signature": B64.encode(signature),
        "signature_version": old_version.as_str(),
        "new_key_version": new.version,
    })
}

/// Refuses to rotate to the key file that signs now.
pub fn distinct(old: &PublicPart, new: &PublicPart) -> anyhow::Result<()> {
    if old.public_key_pem == new.public_key_pem {
        bail!("the new key file holds the current key; name a new file with --out");
    }
    Ok(())
}

/// HCA or HCS, as `kontor sign key-change --kind` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ChangeKind {
    /// New authentication and encryption keys (the daemon holds them).
    Hca,
    /// New authentication, encryption and signature keys (the signature key in a new file).
    Hcs,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hca => "HCA",
            Self::Hcs => "HCS",
        }
    }
}

/// Checks the document the daemon prepared before it is signed: the bank's version, this
/// subscriber, and for HCS the public key of `new` (the signer's new key file) as the
/// signature key. The authentication and encryption keys are the daemon's to choose.
pub fn check_prepared(
    kind: ChangeKind,
    document: &[u8],
    subscriber: &Subscriber,
    new: Option<&PublicPart>,
) -> anyhow::Result<()> {
    let (version, partner_id, user_id, signature) = match kind {
        ChangeKind::Hca => {
            let doc = HCARequestOrderData::parse(document).context("the HCA document")?;
            (doc.version, doc.partner_id, doc.user_id, None)
        }
        ChangeKind::Hcs => {
            let doc = HCSRequestOrderData::parse(document).context("the HCS document")?;
            (
                doc.version,
                doc.partner_id,
                doc.user_id,
                Some(doc.signature),
            )
        }
    };
    if version != subscriber.version {
        bail!(
            "the daemon prepared a {version:?} document for a {:?} bank; not signing",
            subscriber.version
        );
    }
    if partner_id != subscriber.partner_id || user_id != subscriber.user_id {
        bail!("the document names {partner_id}/{user_id}, not this signer; not signing");
    }
    if let (Some(info), Some(new)) = (signature, new) {
        let named = match &info.key {
            PublicKeyData::Rsa { key, .. } => {
                PublicKey::from_modulus_exponent(&key.modulus, &key.exponent)?
            }
            PublicKeyData::Certificate(x509) => Certificate::from_der(&x509.certificate)?
                .public_key()
                .clone(),
        };
        if named != PublicKey::from_spki_pem(&new.public_key_pem)? || info.version != new.version {
            bail!("the document does not name the new key file's signature key; not signing");
        }
    }
    Ok(())
}
