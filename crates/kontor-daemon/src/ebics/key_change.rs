//! User key changes (EBICS 2.5 and 3.0, "changing the subscriber keys"): HCA replaces the
//! authentication and encryption keys, HCS all three, PUB the signature key.
//!
//! Unlike INI/HIA they are ordinary uploads (H004 `OZHNN`): the order data is the key document
//! and carries one ES made with the signature key the bank holds now, which is what makes the
//! change trustworthy without a letter. EBICS 3.0 keeps all three as administrative order types
//! (no BTF service); its `SignaturePubKeyOrderData` (S002) carries the PUB key as an X.509
//! certificate, like INI. The new keys are the user's PENDING replacements (see
//! `KeyPairs::replacement`); they turn ACTIVE only once the bank accepted the change.

use kontor_protocol::order_type::OrderType;
use kontor_protocol::orderdata::{
    HCARequestOrderData, HCSRequestOrderData, SignaturePubKeyInfo, SignaturePubKeyOrderData,
};
use kontor_protocol::return_code::ReturnCode;
use kontor_protocol::SignatureVersion;
use kontor_storage::{KeyPair, KeyUsage};

use super::key_management::{key_data, transport_key_infos, KeyFormat, PublicKeyRecord};
use super::session::verified_bank_keys;
use super::EbicsError;

/// Which keys a key change replaces.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
pub enum KeyChange {
    /// Authentication and encryption keys.
    #[serde(rename = "HCA")]
    Hca,
    /// All three keys.
    #[serde(rename = "HCS")]
    Hcs,
    /// The signature key.
    #[serde(rename = "PUB")]
    Pub,
}

impl KeyChange {
    pub fn order_type(self) -> OrderType {
        match self {
            Self::Hca => OrderType::HCA,
            Self::Hcs => OrderType::HCS,
            Self::Pub => OrderType::PUB,
        }
    }

    /// The key change an upload of `order_type` is, if any.
    pub fn of_order_type(order_type: &str) -> Option<Self> {
        match order_type {
            "HCA" => Some(Self::Hca),
            "HCS" => Some(Self::Hcs),
            "PUB" => Some(Self::Pub),
            _ => None,
        }
    }

    /// The keys the change replaces, in the order its document lists them.
    pub fn usages(self) -> &'static [KeyUsage] {
        match self {
            Self::Hca => &[KeyUsage::Authentication, KeyUsage::Encryption],
            Self::Hcs => &[
                KeyUsage::Authentication,
                KeyUsage::Encryption,
                KeyUsage::Signature,
            ],
            Self::Pub => &[KeyUsage::Signature],
        }
    }

    /// The order data carrying `keys` (as [`KeyChange::usages`] lists them) for the user
    /// `user_id` of partner `partner_id`.
    pub fn document(
        self,
        format: KeyFormat,
        partner_id: &str,
        user_id: &str,
        keys: &[KeyPair],
    ) -> Result<Vec<u8>, EbicsError> {
        let records = keys
            .iter()
            .map(PublicKeyRecord::of)
            .collect::<Result<Vec<_>, _>>()?;
        let (partner_id, user_id) = (partner_id.to_owned(), user_id.to_owned());
        let version = format.version;
        let signature_info = |record: &PublicKeyRecord| -> Result<SignaturePubKeyInfo, EbicsError> {
            Ok(SignaturePubKeyInfo {
                key: key_data(format, record)?,
                version: signature_version(record)?,
            })
        };
        let xml = match (self, records.as_slice()) {
            // HCS announces what HCA does, and the signature key besides.
            (Self::Hca, [authentication, encryption])
            | (Self::Hcs, [authentication, encryption, _]) => {
                let (authentication, encryption) =
                    transport_key_infos(format, authentication, encryption)?;
                match records.get(2) {
                    None => HCARequestOrderData {
                        version,
                        authentication,
                        encryption,
                        partner_id,
                        user_id,
                    }
                    .to_xml(),
                    Some(signature) => HCSRequestOrderData {
                        version,
                        authentication,
                        encryption,
                        signature: signature_info(signature)?,
                        partner_id,
                        user_id,
                    }
                    .to_xml(),
                }
            }
            (Self::Pub, [signature]) => SignaturePubKeyOrderData {
                version,
                signature_pub_key_info: signature_info(signature)?,
                partner_id,
                user_id,
            }
            .to_xml(),
            _ => {
                return Err(EbicsError::KeyUnusable(
                    "the keys do not match the key change",
                ))
            }
        };
        xml.map_err(EbicsError::protocol)
    }
}

fn signature_version(record: &PublicKeyRecord) -> Result<SignatureVersion, EbicsError> {
    record
        .key_pair
        .as_ref()
        .map_or(Ok(SignatureVersion::A006), |pair| {
            Ok(pair.signature_version()?)
        })
}

/// What the bank answered a harmless request (HPB) made with a set of the user's keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyProbe {
    /// Accepted, and its answer decrypted with the encryption key: the bank holds both.
    Held,
    /// Refused with `061001` (EBICS_AUTHENTICATION_FAILED): the bank holds another
    /// authentication key.
    NotHeld,
}

impl super::Client {
    /// Asks the bank whether it holds `authentication` and `encryption` as the user's keys:
    /// an HPB signed with the one, its answer decrypted with the other (HPB changes nothing
    /// at the bank). Any answer but acceptance or `061001` is an error: it decides nothing.
    ///
    /// Only a bank whose keys an operator verified is asked, and its answer counts only if it
    /// shows those keys: an answer showing others is a bank key rollover, recorded as every
    /// HPB records one ([`Self::store_bank_keys`]: the new keys UNVERIFIED, the host's orders
    /// held), and the probe fails with [`EbicsError::BankKeysNotVerified`] until an operator
    /// verified them against the bank's letter.
    pub async fn probe_keys(
        &self,
        scope: &kontor_storage::TenantScope,
        user: kontor_storage::EbicsUserId,
        authentication: &KeyPair,
        encryption: &KeyPair,
    ) -> Result<KeyProbe, EbicsError> {
        let mut session = self
            .open_session(scope, user, super::session::Requirement::OwnKeys)
            .await?;
        let mut tx = self.store().scope(scope).read().await?;
        let known = tx.bank_keys().list_for_host(session.ctx.host.id).await?;
        tx.commit().await?;
        verified_bank_keys(&session.ctx.host, &known)?;
        session
            .use_own_keys(self.store(), authentication, encryption)
            .await?;
        match super::key_management::hpb(&session).await {
            Ok(answer) => {
                let keys = self.store_bank_keys(scope, &session.ctx, &answer).await?;
                verified_bank_keys(&session.ctx.host, &keys)?;
                Ok(KeyProbe::Held)
            }
            Err(EbicsError::Bank { rejection, .. })
                if rejection.code.is(&ReturnCode::AuthenticationFailed) =>
            {
                Ok(KeyProbe::NotHeld)
            }
            Err(e) => Err(e),
        }
    }
}
