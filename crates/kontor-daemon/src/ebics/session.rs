//! One EBICS user's view of its bank: host, partner, own keys and verified bank keys, and
//! the signed, verified exchange of messages.
//!
//! A [`Session`] lives for one client operation. It decrypts the user's authentication and
//! encryption private keys when it opens and drops them (zeroized by `rsa`) when it ends; the
//! signature private key is never loaded: electronic signatures come from the signers. It owns
//! its [`Line`] to the bank (transport and retry policy), so it needs nothing else to talk.

use std::sync::Arc;

use kontor_protocol::certificate::Certificate;
use kontor_protocol::envelope::{
    BankPubKeyDigests, EbicsRequest, EbicsResponse, EnvelopeError, HostId, InitHeader,
    KeyManagementResponse, Nonce, OrderDetails, PartnerId, Product, PubKeyDigest, SecurityMedium,
    SegmentNumber, SubscriberIds, TransactionId as BankTransactionId, TransferRequest, UserId,
};
use kontor_protocol::keys::{PrivateKey, PublicKey};
use kontor_protocol::return_code::{Retry, ReturnCode};
use kontor_protocol::ProtocolVersion;
use kontor_storage::{
    BankHost, BankKey, BankKeyKind, BankKeyVerification, EbicsUser, EbicsUserId, EbicsUserStatus,
    KeyPair, KeyUsage, Store, TenantScope, UserAtHost,
};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use zeroize::Zeroizing;

use super::error::{BankKeyBlock, BankRejection};
use super::transport::{BankEndpoint, RetryPolicy, Transport, TransportError};
use super::EbicsError;

/// The way to a bank: a transport and the retry policy for what it may retry.
#[derive(Clone)]
pub struct Line {
    transport: Arc<dyn Transport>,
    retry: RetryPolicy,
}

impl std::fmt::Debug for Line {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Line")
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl Line {
    pub fn new(transport: Arc<dyn Transport>, retry: RetryPolicy) -> Self {
        Self { transport, retry }
    }

    /// POSTs with the transport, retrying what the retry policy allows.
    pub async fn post(
        &self,
        endpoint: &BankEndpoint,
        body: Vec<u8>,
    ) -> Result<Vec<u8>, EbicsError> {
        let transport = self.transport.as_ref();
        Ok(self
            .retry
            .run(
                |_| transport.post(endpoint, body.clone()),
                TransportError::is_retryable,
            )
            .await?)
    }
}

/// Loads a user with its connection and host through the scope: what a session starts from.
pub async fn load_user_at_host(
    store: &Store,
    scope: &TenantScope,
    user: EbicsUserId,
) -> Result<UserAtHost, EbicsError> {
    let mut tx = store.scope(scope).begin().await?;
    let at_host = tx.ebics_users().at_host(user).await?;
    tx.commit().await?;
    Ok(at_host)
}

/// A user at its bank host as EBICS requests name it: the stored records read as the
/// envelope's checked identifiers, and the way to the host.
pub trait Subscriber {
    fn version(&self) -> ProtocolVersion;
    fn host_id(&self) -> Result<HostId, EbicsError>;
    fn partner_id(&self) -> Result<PartnerId, EbicsError>;
    fn user_id(&self) -> Result<UserId, EbicsError>;
    fn system_id(&self) -> Result<Option<UserId>, EbicsError>;
    /// The user as requests name it, with the product Kontor announces.
    fn subscriber(&self) -> Result<SubscriberIds, EbicsError>;
    /// Where and how the transport reaches the user's bank host.
    fn endpoint(&self) -> BankEndpoint;
}

impl Subscriber for UserAtHost {
    fn version(&self) -> ProtocolVersion {
        self.host.protocol_version
    }

    fn host_id(&self) -> Result<HostId, EbicsError> {
        HostId::new(self.host.host_id.clone()).map_err(EbicsError::request)
    }

    fn partner_id(&self) -> Result<PartnerId, EbicsError> {
        PartnerId::new(self.connection.partner_id.clone()).map_err(EbicsError::request)
    }

    fn user_id(&self) -> Result<UserId, EbicsError> {
        UserId::new(self.user.user_id.clone()).map_err(EbicsError::request)
    }

    fn system_id(&self) -> Result<Option<UserId>, EbicsError> {
        self.user
            .system_id
            .clone()
            .map(UserId::new)
            .transpose()
            .map_err(EbicsError::request)
    }

    fn subscriber(&self) -> Result<SubscriberIds, EbicsError> {
        Ok(SubscriberIds {
            partner_id: self.partner_id()?,
            user_id: self.user_id()?,
            system_id: self.system_id()?,
            product: Some(product()),
        })
    }

    fn endpoint(&self) -> BankEndpoint {
        BankEndpoint::of(&self.host)
    }
}

/// The product Kontor announces in requests.
pub fn product() -> Product {
    Product {
        name: "Kontor".into(),
        language: "EN".into(),
        institute_id: None,
    }
}

/// The host's bank keys, checked to be VERIFIED by an operator.
#[derive(Debug, Clone)]
pub struct VerifiedBankKeys {
    pub authentication: rsa::RsaPublicKey,
    pub encryption: PublicKey,
    pub encryption_certificate: Option<Certificate>,
    pub digests: BankPubKeyDigests,
}

/// The current key of `kind` for the host: the newest generation (HPB may have been repeated
/// after a rollover; older generations are kept, superseded).
pub fn newest(keys: &[BankKey], kind: BankKeyKind) -> Option<&BankKey> {
    keys.iter()
        .filter(|k| k.kind == kind)
        .max_by_key(|k| (k.generation, k.created_at, k.id))
}

/// Checks that the host's current bank keys are verified and decodes them.
pub fn verified_bank_keys(
    host: &BankHost,
    keys: &[BankKey],
) -> Result<VerifiedBankKeys, EbicsError> {
    let blocked = |reason: BankKeyBlock| EbicsError::BankKeysNotVerified {
        host_id: host.host_id.clone(),
        reason,
    };
    let mut checked = Vec::new();
    for kind in [BankKeyKind::Authentication, BankKeyKind::Encryption] {
        let key = newest(keys, kind).ok_or_else(|| blocked(BankKeyBlock::NotFetched(kind)))?;
        match key.verification_status {
            BankKeyVerification::Verified => checked.push(key),
            BankKeyVerification::Unverified => {
                return Err(blocked(BankKeyBlock::AwaitingVerification {
                    kind,
                    hash: key.key_hash,
                }))
            }
            BankKeyVerification::Rejected => {
                return Err(blocked(BankKeyBlock::Rejected {
                    kind,
                    hash: key.key_hash,
                    by: key
                        .verified_by
                        .clone()
                        .unwrap_or_else(|| "an operator".into()),
                }))
            }
        }
    }
    let (auth, enc) = (checked[0], checked[1]);
    let digest = |key: &BankKey| PubKeyDigest::sha256(*key.key_hash.as_bytes());
    // The kind of a stored key and its version agree unless the row was altered.
    let unusable = |key: &BankKey| {
        EbicsError::Key(format!(
            "stored {} bank key has version {}",
            key.kind, key.version
        ))
    };
    Ok(VerifiedBankKeys {
        authentication: rsa::RsaPublicKey::from_public_key_der(&auth.public_key)
            .map_err(EbicsError::key)?,
        encryption: PublicKey::from_spki_der(&enc.public_key).map_err(EbicsError::key)?,
        encryption_certificate: enc
            .certificate
            .as_deref()
            .map(Certificate::from_der)
            .transpose()
            .map_err(EbicsError::key)?,
        digests: BankPubKeyDigests {
            authentication_version: auth
                .version
                .authentication()
                .ok_or_else(|| unusable(auth))?,
            authentication: digest(auth),
            encryption_version: enc.version.encryption().ok_or_else(|| unusable(enc))?,
            encryption: digest(enc),
        },
    })
}

/// What a session needs before it may open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// Key management (HPB): own keys only.
    OwnKeys,
    /// Any order: a READY user and verified bank keys.
    Ready,
    /// The subscriber's own data (HTD, HKD, HAA) before activation: verified bank keys and
    /// an INITIALISED or READY user, whose status does not change. The sync runs with it, so
    /// a user becomes READY only after a successful sync.
    Subscriber,
}

impl Requirement {
    /// What a download of `order_type` needs: the subscriber's own data may be fetched
    /// before activation.
    pub fn for_download(order_type: &kontor_protocol::order_type::OrderType) -> Self {
        use kontor_protocol::order_type::OrderType;
        match order_type {
            OrderType::HTD | OrderType::HKD | OrderType::HAA | OrderType::HPD => Self::Subscriber,
            _ => Self::Ready,
        }
    }
}

/// A user's decrypted keys and its verified bank keys, for one operation.
pub struct Session {
    pub scope: TenantScope,
    pub ctx: UserAtHost,
    authentication: rsa::RsaPrivateKey,
    encryption: PrivateKey,
    pub own_encryption_key: KeyPair,
    pub bank: Option<VerifiedBankKeys>,
    line: Line,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("user", &self.ctx.user.user_id)
            .field("host", &self.ctx.host.host_id)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Opens a session. With [`Requirement::Ready`], an INITIALISED user whose bank keys an
    /// operator has verified meanwhile becomes READY here, and a rejected or unverified bank
    /// key blocks with [`EbicsError::BankKeysNotVerified`].
    pub async fn open(
        store: &Store,
        line: Line,
        scope: &TenantScope,
        user: EbicsUserId,
        requirement: Requirement,
    ) -> Result<Self, EbicsError> {
        let mut tx = store.scope(scope).begin().await?;
        let UserAtHost {
            user: mut record,
            connection,
            host,
        } = tx.ebics_users().at_host(user).await?;
        if host.retired_at.is_some() {
            return Err(EbicsError::HostRetired {
                host_id: host.host_id,
            });
        }
        let bank = if requirement != Requirement::OwnKeys {
            let keys = tx.bank_keys().list_for_host(host.id).await?;
            let verified = verified_bank_keys(&host, &keys)?;
            match record.status {
                EbicsUserStatus::Ready => {}
                EbicsUserStatus::Initialised if requirement == Requirement::Subscriber => {}
                EbicsUserStatus::Initialised => {
                    record = tx
                        .ebics_users()
                        .set_status(
                            record.id,
                            EbicsUserStatus::Initialised,
                            EbicsUserStatus::Ready,
                        )
                        .await?;
                    // The bank activated the subscriber with the keys it received: ACTIVE.
                    super::key_management::activate_submitted_keys(&mut tx, record.id).await?;
                }
                status => {
                    return Err(EbicsError::UserNotReady {
                        user_id: record.user_id.clone(),
                        status,
                        needed: "orders need a READY user (INI, HIA and verified bank keys)",
                    })
                }
            }
            Some(verified)
        } else {
            None
        };
        let authentication_pair = tx
            .key_pairs()
            .current(record.id, KeyUsage::Authentication)
            .await?
            .ok_or_else(|| missing_key(&record, KeyUsage::Authentication))?;
        let encryption_pair = tx
            .key_pairs()
            .current(record.id, KeyUsage::Encryption)
            .await?
            .ok_or_else(|| missing_key(&record, KeyUsage::Encryption))?;
        let authentication_der: Zeroizing<Vec<u8>> = tx
            .key_pairs()
            .load_private_key(authentication_pair.id)
            .await?;
        let encryption_der: Zeroizing<Vec<u8>> =
            tx.key_pairs().load_private_key(encryption_pair.id).await?;
        tx.commit().await?;
        Ok(Session {
            scope: scope.clone(),
            ctx: UserAtHost {
                user: record,
                connection,
                host,
            },
            authentication: rsa::RsaPrivateKey::from_pkcs8_der(&authentication_der)
                .map_err(EbicsError::key)?,
            encryption: PrivateKey::from_pkcs8_der(&encryption_der).map_err(EbicsError::key)?,
            own_encryption_key: encryption_pair,
            bank,
            line,
        })
    }
}

fn missing_key(user: &EbicsUser, usage: KeyUsage) -> EbicsError {
    EbicsError::MissingKey {
        user_id: user.user_id.clone(),
        usage,
    }
}

impl Session {
    /// Swaps in other own keys of the session's user: a key change whose answer was lost asks
    /// the bank with the new keys whether it holds them.
    pub async fn use_own_keys(
        &mut self,
        store: &Store,
        authentication: &KeyPair,
        encryption: &KeyPair,
    ) -> Result<(), EbicsError> {
        let mut tx = store.scope(&self.scope).begin().await?;
        for (pair, usage) in [
            (authentication, KeyUsage::Authentication),
            (encryption, KeyUsage::Encryption),
        ] {
            if pair.ebics_user_id != self.ctx.user.id || pair.usage != usage {
                return Err(EbicsError::Key(format!(
                    "key {} is not the user's {usage:?} key",
                    pair.id
                )));
            }
        }
        let authentication_der: Zeroizing<Vec<u8>> =
            tx.key_pairs().load_private_key(authentication.id).await?;
        let encryption_der: Zeroizing<Vec<u8>> =
            tx.key_pairs().load_private_key(encryption.id).await?;
        tx.commit().await?;
        self.authentication =
            rsa::RsaPrivateKey::from_pkcs8_der(&authentication_der).map_err(EbicsError::key)?;
        self.encryption = PrivateKey::from_pkcs8_der(&encryption_der).map_err(EbicsError::key)?;
        self.own_encryption_key = encryption.clone();
        Ok(())
    }
}

impl Session {
    pub fn version(&self) -> ProtocolVersion {
        self.ctx.version()
    }

    pub fn encryption_key(&self) -> &PrivateKey {
        &self.encryption
    }

    pub fn authentication_key(&self) -> &rsa::RsaPrivateKey {
        &self.authentication
    }

    pub fn bank(&self) -> Result<&VerifiedBankKeys, EbicsError> {
        self.bank
            .as_ref()
            .ok_or_else(|| EbicsError::BankKeysNotVerified {
                host_id: self.ctx.host.host_id.clone(),
                reason: BankKeyBlock::NotLoaded,
            })
    }

    /// A fresh initialisation header (new nonce and timestamp: call once per attempt).
    pub fn init_header(&self, order_details: OrderDetails) -> Result<InitHeader, EbicsError> {
        Ok(InitHeader {
            host_id: self.ctx.host_id()?,
            nonce: Nonce::random(&mut rand::rngs::OsRng),
            timestamp: chrono::Utc::now(),
            subscriber: self.ctx.subscriber()?,
            order_details,
            bank_pub_key_digests: self.bank()?.digests.clone(),
            security_medium: SecurityMedium::default(),
        })
    }

    /// Signs the request `build` makes, posts it and verifies the bank's signature on the
    /// answer. Network failures, unreadable or badly signed answers and temporary EBICS return
    /// codes are retried per the line's retry policy; `build` runs once per attempt, so an
    /// initialisation gets a fresh nonce each time while transfer and receipt requests (no
    /// nonce) are re-sent byte for byte, which is what EBICS recovery expects.
    pub async fn exchange(
        &self,
        build: impl Fn() -> Result<EbicsRequest, EbicsError>,
    ) -> Result<EbicsResponse, EbicsError> {
        self.exchange_with(build, true).await
    }

    /// The transfer-phase request for `segment` of the bank's `transaction`, through
    /// [`Session::exchange`]: an upload's carries the segment's `order_data`, a download's
    /// none (the bank answers with the segment).
    pub async fn exchange_segment(
        &self,
        transaction: BankTransactionId,
        segment: SegmentNumber,
        order_data: Option<Vec<u8>>,
    ) -> Result<EbicsResponse, EbicsError> {
        let host_id = self.ctx.host_id()?;
        self.exchange(|| {
            Ok(TransferRequest {
                version: self.version(),
                host_id: host_id.clone(),
                transaction_id: transaction,
                segment,
                order_data: order_data.clone(),
            }
            .into())
        })
        .await
    }

    /// Like [`Session::exchange`], but a request that may have reached the bank is never sent
    /// again: for a signature-only upload (HVE/HVS), whose initialisation is the whole order,
    /// a second attempt would be a second signature. Only a temporary return code, with
    /// which the bank says it did nothing, is retried.
    pub async fn exchange_at_most_once(
        &self,
        build: impl Fn() -> Result<EbicsRequest, EbicsError>,
    ) -> Result<EbicsResponse, EbicsError> {
        self.exchange_with(build, false).await
    }

    async fn exchange_with(
        &self,
        build: impl Fn() -> Result<EbicsRequest, EbicsError>,
        resend: bool,
    ) -> Result<EbicsResponse, EbicsError> {
        let bank_key = &self.bank()?.authentication;
        let endpoint = self.ctx.endpoint();
        let outcome = self
            .line
            .retry
            .run(
                |_| async {
                    let body = build()?
                        .to_signed_xml(&self.authentication)
                        .map_err(EbicsError::request)?;
                    let answer = self
                        .line
                        .transport
                        .post(&endpoint, body)
                        .await
                        .map_err(Attempt::Transport)?;
                    let response = EbicsResponse::parse_verified(&answer, bank_key)
                        .map_err(Attempt::Unreadable)?;
                    if response.technical_return_code.retry() == Retry::Later {
                        return Err(Attempt::Temporary(Box::new(response)));
                    }
                    Ok(response)
                },
                |attempt: &Attempt| {
                    if resend {
                        attempt.is_retryable()
                    } else {
                        matches!(attempt, Attempt::Temporary(_))
                    }
                },
            )
            .await;
        match outcome {
            Ok(response) => Ok(response),
            // Retries used up on a temporary code: hand the answer back, the caller records it.
            Err(Attempt::Temporary(response)) => Ok(*response),
            Err(Attempt::Transport(e)) => Err(e.into()),
            Err(Attempt::Unreadable(EnvelopeError::Signature(e))) => {
                Err(EbicsError::BankSignature(e))
            }
            Err(Attempt::Unreadable(e)) => Err(EbicsError::protocol(e)),
            Err(Attempt::Failed(e)) => Err(e),
        }
    }

    /// Posts a key-management message (not signed by the bank).
    pub async fn exchange_key_management(
        &self,
        body: Vec<u8>,
    ) -> Result<KeyManagementResponse, EbicsError> {
        let answer = self.line.post(&self.ctx.endpoint(), body).await?;
        KeyManagementResponse::parse(&answer).map_err(EbicsError::protocol)
    }
}

/// Why one attempt of an exchange failed.
enum Attempt {
    Transport(TransportError),
    Unreadable(EnvelopeError),
    Temporary(Box<EbicsResponse>),
    Failed(EbicsError),
}

impl Attempt {
    fn is_retryable(&self) -> bool {
        match self {
            Self::Transport(e) => e.is_retryable(),
            Self::Unreadable(_) | Self::Temporary(_) => true,
            Self::Failed(_) => false,
        }
    }
}

impl From<EbicsError> for Attempt {
    fn from(e: EbicsError) -> Self {
        Self::Failed(e)
    }
}

/// The bank's refusal as an error value, from the technical or business code.
pub fn rejection(code: &ReturnCode, report_text: &str) -> BankRejection {
    BankRejection {
        code: code.into(),
        text: if report_text.trim().is_empty() {
            code.meaning().to_owned()
        } else {
            report_text.trim().to_owned()
        },
        technical: code.kind() == kontor_protocol::return_code::ReturnCodeKind::Technical,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, Utc};
    use kontor_protocol::keys::KeyHash;
    use kontor_protocol::KeyVersion;
    use kontor_storage::{BankHostId, BankKeyId};

    fn host() -> BankHost {
        BankHost {
            id: BankHostId::new(),
            host_id: "KONTORBANK".into(),
            name: "Bank".into(),
            url: "http://127.0.0.1:1/ebicsweb".into(),
            protocol_version: ProtocolVersion::H004,
            btf: false,
            production: false,
            ca_bundle_pem: None,
            bank_parameters: None,
            x509_on_h004: false,
            bank_ca_pem: None,
            created_at: Utc::now(),
            retired_at: None,
            retired_by: None,
        }
    }

    fn key(kind: BankKeyKind, status: BankKeyVerification, age_minutes: i64) -> BankKey {
        BankKey {
            id: BankKeyId::new(),
            bank_host_id: BankHostId::new(),
            kind,
            version: if kind == BankKeyKind::Authentication {
                KeyVersion::X002
            } else {
                KeyVersion::E002
            },
            public_key: vec![],
            certificate: None,
            key_hash: KeyHash::from_bytes([0; 32]),
            verification_status: status,
            verification_method: None,
            verified_by: Some("ops@acme.example".into()),
            verified_at: None,
            // Older keys are earlier generations.
            generation: 1_000 - age_minutes,
            superseded_at: None,
            created_at: Utc::now() - Duration::minutes(age_minutes),
        }
    }

    fn reason(keys: &[BankKey]) -> String {
        match verified_bank_keys(&host(), keys) {
            Err(EbicsError::BankKeysNotVerified { reason, .. }) => reason.to_string(),
            other => panic!("expected a block, got {other:?}"),
        }
    }

    #[test]
    fn missing_unverified_and_rejected_bank_keys_block_with_the_reason() {
        use BankKeyKind::*;
        use BankKeyVerification::*;
        assert!(reason(&[]).contains("HPB"));
        assert!(reason(&[key(Authentication, Verified, 1)]).contains("ENCRYPTION"));
        assert!(reason(&[
            key(Authentication, Verified, 1),
            key(Encryption, Unverified, 1)
        ])
        .contains("awaits verification"));
        assert!(reason(&[
            key(Authentication, Rejected, 1),
            key(Encryption, Verified, 1)
        ])
        .contains("rejected by ops@acme.example"));
    }

    #[test]
    fn a_newer_unverified_key_replaces_an_older_verified_one() {
        use BankKeyKind::*;
        use BankKeyVerification::*;
        let keys = [
            key(Authentication, Verified, 10),
            key(Encryption, Verified, 10),
            key(Encryption, Unverified, 1),
        ];
        assert!(reason(&keys).contains("awaits verification"));
    }
}
