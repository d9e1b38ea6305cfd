//! Key management messages: INI and HIA (or H3K) send the user's public keys, HPB fetches the
//! bank's, and activation opens a session once an operator has verified them.
//!
//! INI, HIA and H3K are unsigned (the bank does not know the user's keys yet); HPB is signed
//! with the user's authentication key, and its answer is encrypted for the user (EBICS 2.5
//! and 3.0, chapter 4).

use chrono::{DateTime, Utc};
use kontor_protocol::certificate::{Certificate, TrustError};
use kontor_protocol::compression;
use kontor_protocol::encryption;
use kontor_protocol::envelope::{
    KeyManagementResponse, NoPubKeyDigestsRequest, Nonce, SecurityMedium, UnsecuredRequest,
};
use kontor_protocol::keys::{public_key_hash, PublicKey};
use kontor_protocol::order_type::OrderType;
use kontor_protocol::orderdata::{
    AuthenticationPubKeyInfo, CertificateInfo, EncryptionPubKeyInfo, H3KRequestOrderData,
    HIARequestOrderData, HPBResponseOrderData, PublicKeyData, RsaKeyValue, SignaturePubKeyInfo,
    SignaturePubKeyOrderData, X509Data,
};
use kontor_protocol::signature::SPR_ORDER_DATA;
use kontor_protocol::{
    AuthenticationVersion, EncryptionVersion, KeyVersion, ProtocolVersion, SignatureVersion,
};
use kontor_storage::{
    AuditAction, BankHost, BankKey, BankKeyKind, EbicsUserId, EbicsUserStatus, KeyPair, KeyPairId,
    KeyStatus, KeyUsage, NewBankKey, ScopedTx, StorageError, TenantScope, UserAtHost,
};

use super::session::{rejection, Requirement, Subscriber};
use super::{Client, EbicsError};

/// A key management order that sends the user's public keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOrder {
    /// The signature key (INI): NEW → PARTLY_INITIALISED_INI, or PARTLY_INITIALISED_HIA →
    /// INITIALISED.
    Ini,
    /// The authentication and encryption keys (HIA): NEW → PARTLY_INITIALISED_HIA, or
    /// PARTLY_INITIALISED_INI → INITIALISED.
    Hia,
    /// All three as certificates (H3K, EBICS 3.0): NEW → INITIALISED.
    H3k,
}

impl KeyOrder {
    fn order_type(self) -> OrderType {
        match self {
            Self::Ini => OrderType::INI,
            Self::Hia => OrderType::HIA,
            Self::H3k => OrderType::H3K,
        }
    }

    /// The keys the order sends, in the order its document lists them.
    fn usages(self) -> &'static [KeyUsage] {
        match self {
            Self::Ini => &[KeyUsage::Signature],
            Self::Hia => &[KeyUsage::Authentication, KeyUsage::Encryption],
            Self::H3k => &[
                KeyUsage::Signature,
                KeyUsage::Authentication,
                KeyUsage::Encryption,
            ],
        }
    }

    /// The user's status once the bank took the order, or `None` when the order does not
    /// apply to a user in `status`.
    fn next_status(self, status: EbicsUserStatus) -> Option<EbicsUserStatus> {
        use EbicsUserStatus::*;
        match (self, status) {
            (Self::Ini, New) => Some(PartlyInitialisedIni),
            (Self::Hia, New) => Some(PartlyInitialisedHia),
            (Self::Ini, PartlyInitialisedHia) | (Self::Hia, PartlyInitialisedIni) => {
                Some(Initialised)
            }
            (Self::H3k, New) => Some(Initialised),
            _ => None,
        }
    }

    fn needs(self) -> &'static str {
        match self {
            Self::Ini => "INI needs NEW or PARTLY_INITIALISED_HIA",
            Self::Hia => "HIA needs NEW or PARTLY_INITIALISED_INI",
            Self::H3k => "H3K needs NEW",
        }
    }

    /// The order data document with `keys` (as [`KeyOrder::usages`] lists them).
    fn document(self, ctx: &UserAtHost, keys: &[PublicKeyRecord]) -> Result<Vec<u8>, EbicsError> {
        let (partner_id, user_id) = (ctx.connection.partner_id.clone(), ctx.user.user_id.clone());
        let xml = match (self, keys) {
            (Self::Ini, [signature]) => SignaturePubKeyOrderData {
                version: ctx.version(),
                signature_pub_key_info: SignaturePubKeyInfo {
                    key: key_data(KeyFormat::of(&ctx.host), signature)?,
                    version: SignatureVersion::A006,
                },
                partner_id,
                user_id,
            }
            .to_xml(),
            (Self::Hia, [authentication, encryption]) => {
                let (authentication, encryption) =
                    transport_key_infos(KeyFormat::of(&ctx.host), authentication, encryption)?;
                HIARequestOrderData {
                    version: ctx.version(),
                    authentication,
                    encryption,
                    partner_id,
                    user_id,
                }
                .to_xml()
            }
            (Self::H3k, [signature, authentication, encryption]) => {
                let certificate = |record: &PublicKeyRecord| {
                    record
                        .certificate
                        .clone()
                        .map(X509Data::from_certificate)
                        .ok_or(EbicsError::KeyUnusable(
                            "H3K needs certificates for all keys",
                        ))
                };
                H3KRequestOrderData {
                    version: ctx.version(),
                    signature: CertificateInfo {
                        x509: certificate(signature)?,
                        version: SignatureVersion::A006,
                    },
                    authentication: CertificateInfo {
                        x509: certificate(authentication)?,
                        version: AuthenticationVersion::X002,
                    },
                    encryption: CertificateInfo {
                        x509: certificate(encryption)?,
                        version: EncryptionVersion::E002,
                    },
                    partner_id,
                    user_id,
                }
                .to_xml()
            }
            _ => return Err(EbicsError::KeyUnusable("the keys do not match the order")),
        };
        xml.map_err(EbicsError::protocol)
    }
}

/// A user's public key as the bank needs it: the key, and for H005 its certificate.
#[derive(Debug, Clone)]
pub struct PublicKeyRecord {
    pub key: PublicKey,
    pub certificate: Option<Vec<u8>>,
    pub created_at: DateTime<Utc>,
    /// The stored key pair, when the daemon holds one (a signer's key may live elsewhere).
    pub key_pair: Option<KeyPair>,
}

impl PublicKeyRecord {
    /// The public part of a stored key pair.
    pub fn of(pair: &KeyPair) -> Result<Self, EbicsError> {
        Ok(Self {
            key: PublicKey::from_spki_der(&pair.public_key).map_err(EbicsError::key)?,
            certificate: pair.certificate.clone(),
            created_at: pair.created_at,
            key_pair: Some(pair.clone()),
        })
    }
}

/// Moves a key pair from one status to another (compare-and-set, `(from, to)`) and audits
/// it as `action` with `detail`, in the caller's transaction. Returns the key as it is now.
pub(crate) async fn set_key_status_audited(
    tx: &mut ScopedTx<'_>,
    key: KeyPairId,
    (from, to): (KeyStatus, KeyStatus),
    action: AuditAction,
    detail: serde_json::Value,
) -> Result<KeyPair, StorageError> {
    let moved = tx.key_pairs().set_status(key, from, to).await?;
    tx.audit()
        .record(action, "key_pair", &key.to_string(), detail)
        .await?;
    Ok(moved)
}

/// SUBMITTED → ACTIVE for every key of a user the bank has just activated (the subscriber
/// became READY with the keys INI/HIA sent), with an audit record each.
pub(super) async fn activate_submitted_keys(
    tx: &mut ScopedTx<'_>,
    user: EbicsUserId,
) -> Result<(), EbicsError> {
    for pair in tx.key_pairs().list_for_user(user).await? {
        if pair.status == KeyStatus::Submitted {
            let detail = serde_json::json!({
                "ebics_user_id": user,
                "usage": pair.usage,
                "key_hash": pair.key_hash,
                "reason": "the bank activated the user",
            });
            let moves = (KeyStatus::Submitted, KeyStatus::Active);
            set_key_status_audited(tx, pair.id, moves, AuditAction::KeyActivated, detail).await?;
        }
    }
    Ok(())
}

/// The user's current public key for `usage`, wherever it is stored. INI needs only the
/// public signature key, so a signer who keeps the private key outside the daemon can still
/// be initialised once the public key is registered.
async fn public_key_for(
    tx: &mut ScopedTx<'_>,
    user: EbicsUserId,
    usage: KeyUsage,
) -> Result<PublicKeyRecord, EbicsError> {
    let pair = tx
        .key_pairs()
        .current(user, usage)
        .await?
        .ok_or_else(|| EbicsError::NoPublicKey(usage))?;
    PublicKeyRecord::of(&pair)
}

/// How a host wants public keys sent: its protocol version, and on H004 whether with X.509
/// certificates (French banks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyFormat {
    pub version: ProtocolVersion,
    pub x509_on_h004: bool,
}

impl KeyFormat {
    pub fn of(host: &BankHost) -> Self {
        Self {
            version: host.protocol_version,
            x509_on_h004: host.x509_on_h004,
        }
    }
}

/// The X002 authentication and E002 encryption key infos, as HIA, HCA and HCS announce them.
pub(super) fn transport_key_infos(
    format: KeyFormat,
    authentication: &PublicKeyRecord,
    encryption: &PublicKeyRecord,
) -> Result<(AuthenticationPubKeyInfo, EncryptionPubKeyInfo), EbicsError> {
    Ok((
        AuthenticationPubKeyInfo {
            key: key_data(format, authentication)?,
            version: AuthenticationVersion::X002,
        },
        EncryptionPubKeyInfo {
            key: key_data(format, encryption)?,
            version: EncryptionVersion::E002,
        },
    ))
}

pub(super) fn key_data(
    format: KeyFormat,
    record: &PublicKeyRecord,
) -> Result<PublicKeyData, EbicsError> {
    if format.version.uses_certificates() {
        let der = record
            .certificate
            .clone()
            .ok_or_else(|| EbicsError::KeyUnusable("an H005 key needs its X.509 certificate"))?;
        Ok(PublicKeyData::Certificate(X509Data::from_certificate(der)))
    } else {
        // H004 carries `ds:X509Data` before `PubKeyValue` where the bank wants certificates
        // (French banks; `ebics_orders_H004.xsd`, `SignaturePubKeyInfoType` and siblings);
        // the key hash stays the one over exponent and modulus.
        let x509 = if format.x509_on_h004 {
            let der = record.certificate.clone().ok_or(EbicsError::KeyUnusable(
                "this host wants X.509 certificates on H004, and the key has none",
            ))?;
            Some(X509Data::from_certificate(der))
        } else {
            None
        };
        Ok(PublicKeyData::Rsa {
            key: RsaKeyValue {
                modulus: record.key.modulus(),
                exponent: record.key.exponent(),
            },
            timestamp: Some(record.created_at),
            x509,
        })
    }
}

/// HPB with the session's own keys: signed with its authentication key, the answer
/// decrypted with its encryption key. The bank's answer is not yet trusted (not checked
/// against verified keys).
pub(crate) async fn hpb(
    session: &super::session::Session,
) -> Result<HPBResponseOrderData, EbicsError> {
    let ctx = &session.ctx;
    let request = NoPubKeyDigestsRequest {
        version: ctx.version(),
        host_id: ctx.host_id()?,
        nonce: Nonce::random(&mut rand::rngs::OsRng),
        timestamp: Utc::now(),
        subscriber: ctx.subscriber()?,
        order_type: OrderType::HPB,
        security_medium: SecurityMedium::default(),
    };
    let body = request
        .to_signed_xml(session.authentication_key())
        .map_err(EbicsError::protocol)?;
    let response = session.exchange_key_management(body).await?;
    check_key_management(&OrderType::HPB, &response)?;
    let transfer = response
        .data_transfer
        .ok_or_else(|| EbicsError::Protocol("HPB response without order data".into()))?;
    let compressed = encryption::decrypt(
        session.encryption_key(),
        &transfer.data_encryption_info.transaction_key,
        &transfer.order_data,
    )
    .map_err(EbicsError::protocol)?;
    let xml = compression::decompress(&compressed, 1 << 20).map_err(EbicsError::protocol)?;
    let hpb = HPBResponseOrderData::parse(&xml).map_err(EbicsError::protocol)?;
    if hpb.host_id != ctx.host.host_id {
        return Err(EbicsError::Protocol(format!(
            "HPB answer names host {}, expected {}",
            hpb.host_id, ctx.host.host_id
        )));
    }
    Ok(hpb)
}

fn check_key_management(
    order_type: &OrderType,
    response: &KeyManagementResponse,
) -> Result<(), EbicsError> {
    for code in [
        &response.technical_return_code,
        &response.business_return_code,
    ] {
        if !code.is_ok() {
            return Err(EbicsError::Bank {
                order_type: order_type.clone(),
                rejection: rejection(code, &response.report_text),
                transaction: None,
            });
        }
    }
    Ok(())
}

impl Client {
    async fn send_unsecured(
        &self,
        ctx: &UserAtHost,
        order_type: OrderType,
        order_data_xml: Vec<u8>,
    ) -> Result<(), EbicsError> {
        let request = UnsecuredRequest {
            version: ctx.version(),
            host_id: ctx.host_id()?,
            subscriber: ctx.subscriber()?,
            order_type: order_type.clone(),
            security_medium: SecurityMedium::default(),
            order_data: compression::compress(&order_data_xml),
        };
        let body = request.to_xml().map_err(EbicsError::request)?.into_bytes();
        let answer = self.line.post(&ctx.endpoint(), body).await?;
        let response = KeyManagementResponse::parse(&answer).map_err(EbicsError::protocol)?;
        check_key_management(&order_type, &response)
    }

    /// Records that the bank accepted keys: key pairs PENDING → SUBMITTED and the user's status.
    async fn record_submitted(
        &self,
        scope: &TenantScope,
        ctx: &UserAtHost,
        keys: &[&PublicKeyRecord],
        to: EbicsUserStatus,
    ) -> Result<EbicsUserStatus, EbicsError> {
        let mut tx = self.store().scope(scope).begin().await?;
        for pair in keys.iter().filter_map(|k| k.key_pair.as_ref()) {
            if pair.status == KeyStatus::Pending {
                tx.key_pairs()
                    .set_status(pair.id, KeyStatus::Pending, KeyStatus::Submitted)
                    .await?;
            }
        }
        let user = tx
            .ebics_users()
            .set_status(ctx.user.id, ctx.user.status, to)
            .await?;
        tx.commit().await?;
        tracing::info!(user = %ctx.user.user_id, host = %ctx.host.host_id, status = %user.status, "keys submitted");
        Ok(user.status)
    }

    /// Sends one key management order (see [`KeyOrder`]) with the user's current public
    /// keys; returns the user's status after it.
    pub async fn send_key_order(
        &self,
        scope: &TenantScope,
        user: EbicsUserId,
        order: KeyOrder,
    ) -> Result<EbicsUserStatus, EbicsError> {
        let ctx = self.user_at_host(scope, user).await?;
        let to = order
            .next_status(ctx.user.status)
            .ok_or_else(|| not_for_status(&ctx, ctx.user.status, order.needs()))?;
        let mut tx = self.store().scope(scope).begin().await?;
        let mut keys = Vec::new();
        for usage in order.usages() {
            keys.push(public_key_for(&mut tx, user, *usage).await?);
        }
        tx.commit().await?;
        let xml = order.document(&ctx, &keys)?;
        self.send_unsecured(&ctx, order.order_type(), xml).await?;
        let keys: Vec<&PublicKeyRecord> = keys.iter().collect();
        self.record_submitted(scope, &ctx, &keys, to).await
    }

    /// Sends INI (signature public key only: the private key may live with the signer).
    pub async fn send_ini(
        &self,
        scope: &TenantScope,
        user: EbicsUserId,
    ) -> Result<EbicsUserStatus, EbicsError> {
        self.send_key_order(scope, user, KeyOrder::Ini).await
    }

    /// Sends HIA (authentication and encryption public keys).
    pub async fn send_hia(
        &self,
        scope: &TenantScope,
        user: EbicsUserId,
    ) -> Result<EbicsUserStatus, EbicsError> {
        self.send_key_order(scope, user, KeyOrder::Hia).await
    }

    /// Fetches the bank's keys (HPB) for an INITIALISED (or READY) user and stores them
    /// UNVERIFIED, unless identical keys are already stored for the host. Returns the host's
    /// keys.
    pub async fn fetch_bank_keys(
        &self,
        scope: &TenantScope,
        user: EbicsUserId,
    ) -> Result<Vec<BankKey>, EbicsError> {
        let session = self.open_session(scope, user, Requirement::OwnKeys).await?;
        let ctx = &session.ctx;
        if !matches!(
            ctx.user.status,
            EbicsUserStatus::Initialised | EbicsUserStatus::Ready
        ) {
            return Err(not_for_status(
                ctx,
                ctx.user.status,
                "HPB needs an INITIALISED user",
            ));
        }
        let hpb = hpb(&session).await?;
        self.store_bank_keys(scope, ctx, &hpb).await
    }

    /// Records the bank keys an HPB answer shows, the one place a bank key rollover is
    /// noticed (after 091008, or in an HPB made for another reason): the same key fetched
    /// again keeps its verification; a changed key is stored UNVERIFIED as the next
    /// generation (audited as `BANK_KEY_CHANGED`), and every order for the host waits for an
    /// operator. Certificates are checked before anything is stored. Returns the host's keys.
    pub(super) async fn store_bank_keys(
        &self,
        scope: &TenantScope,
        ctx: &UserAtHost,
        hpb: &HPBResponseOrderData,
    ) -> Result<Vec<BankKey>, EbicsError> {
        let received = [
            bank_key(
                ctx,
                BankKeyKind::Authentication,
                &hpb.authentication.key,
                hpb.authentication.version.into(),
            )?,
            bank_key(
                ctx,
                BankKeyKind::Encryption,
                &hpb.encryption.key,
                hpb.encryption.version.into(),
            )?,
        ];
        check_bank_certificates(&ctx.host, &received, Utc::now())?;
        let mut tx = self.store().scope(scope).begin().await?;
        let known = tx.bank_keys().list_for_host(ctx.host.id).await?;
        for key in received {
            let current = super::session::newest(&known, key.kind);
            if current.map(|k| k.key_hash) == Some(key.key_hash) {
                continue;
            }
            tracing::info!(host = %ctx.host.host_id, kind = %key.kind, hash = %key.key_hash.to_hex_upper(), "bank key stored, awaiting verification");
            let stored = tx.bank_keys().create(key).await?;
            if let Some(replaced) = current {
                tx.audit()
                    .record(
                        AuditAction::BankKeyChanged,
                        "bank_key",
                        &stored.id.to_string(),
                        serde_json::json!({
                            "bank_host_id": ctx.host.id,
                            "host_id": ctx.host.host_id,
                            "kind": stored.kind,
                            "generation": stored.generation,
                            "key_hash": stored.key_hash,
                            "replaces": replaced.id,
                            "replaced_hash": replaced.key_hash,
                        }),
                    )
                    .await?;
            }
        }
        let keys = tx.bank_keys().list_for_host(ctx.host.id).await?;
        tx.commit().await?;
        Ok(keys)
    }

    /// INITIALISED → READY once the host's current bank keys are VERIFIED; fails with
    /// [`EbicsError::BankKeysNotVerified`] otherwise.
    pub async fn activate(
        &self,
        scope: &TenantScope,
        user: EbicsUserId,
    ) -> Result<EbicsUserStatus, EbicsError> {
        let session = self.open_session(scope, user, Requirement::Ready).await?;
        Ok(session.ctx.user.status)
    }
}

fn bank_key(
    ctx: &UserAtHost,
    kind: BankKeyKind,
    data: &PublicKeyData,
    version: KeyVersion,
) -> Result<NewBankKey, EbicsError> {
    let (key, certificate) = match data {
        PublicKeyData::Rsa { key, x509, .. } => (
            PublicKey::from_modulus_exponent(&key.modulus, &key.exponent)
                .map_err(EbicsError::key)?,
            x509.as_ref().map(|x| x.certificate.clone()),
        ),
        PublicKeyData::Certificate(x509) => {
            let certificate = Certificate::from_der(&x509.certificate).map_err(EbicsError::key)?;
            (
                certificate.public_key().clone(),
                Some(x509.certificate.clone()),
            )
        }
    };
    let parsed = certificate
        .as_deref()
        .map(Certificate::from_der)
        .transpose()
        .map_err(EbicsError::key)?;
    let hash = public_key_hash(ctx.version(), &key, parsed.as_ref()).map_err(EbicsError::key)?;
    Ok(NewBankKey {
        bank_host_id: ctx.host.id,
        kind,
        version,
        public_key: key.to_spki_der().map_err(EbicsError::key)?,
        certificate,
        key_hash: hash,
    })
}

/// Checks the certificates the bank sent with its keys (always on H005, where present on
/// H004): each must be valid at `now`, allow its key's use where it has a key usage
/// extension (X002: digitalSignature, E002: keyEncipherment; the bank server profile of the
/// EBICS certificate annex) and, where the host names the bank's CA (`bank_ca_pem`), be
/// issued by it. A refused certificate stops HPB before anything is stored, so no order is
/// ever sent with it.
fn check_bank_certificates(
    host: &BankHost,
    keys: &[NewBankKey],
    now: DateTime<Utc>,
) -> Result<(), EbicsError> {
    let anchors = host
        .bank_ca_pem
        .as_deref()
        .map(Certificate::all_from_pem)
        .transpose()
        .map_err(EbicsError::key)?;
    for key in keys {
        let Some(der) = &key.certificate else {
            continue;
        };
        let certificate = Certificate::from_der(der).map_err(EbicsError::key)?;
        check_bank_certificate(&certificate, key.kind, anchors.as_deref(), now).map_err(|reason| {
            tracing::warn!(host = %host.host_id, kind = %key.kind, %reason, "bank certificate refused");
            EbicsError::BankCertificateInvalid {
                kind: key.kind,
                reason,
            }
        })?;
    }
    Ok(())
}

/// One bank certificate: valid at `now`, issued by one of `anchors` (where the host names
/// its CA) and fit for the key's use.
fn check_bank_certificate(
    certificate: &Certificate,
    kind: BankKeyKind,
    anchors: Option<&[Certificate]>,
    now: DateTime<Utc>,
) -> Result<(), TrustError> {
    match anchors {
        Some(anchors) => certificate.check_trust(anchors, now)?,
        None => certificate.check_validity(now)?,
    }
    certificate.check_key_usage(kind.purpose())
}

fn not_for_status(ctx: &UserAtHost, status: EbicsUserStatus, needed: &'static str) -> EbicsError {
    EbicsError::UserNotReady {
        user_id: ctx.user.user_id.clone(),
        status,
        needed,
    }
}

/// A signer's ES over [`SPR_ORDER_DATA`], made on their machine with the signer-held
/// signature key (`kontor sign suspend`); the service verified it against the ACTIVE key.
#[derive(Debug, Clone)]
pub struct SignerSpr {
    pub version: SignatureVersion,
    pub value: Vec<u8>,
}

impl Client {
    /// SPR: the user asks the bank to suspend it, signed with its own signature key: by the
    /// daemon when it holds the key, else the signer's ES given in `signed`. Returns once the
    /// bank accepted; the bank refuses every further request of the user until it is
    /// initialised again (INI/HIA) and activated.
    pub async fn send_spr(
        &self,
        scope: &TenantScope,
        user: EbicsUserId,
        signed: Option<SignerSpr>,
    ) -> Result<(), EbicsError> {
        let (version, value, partner_id, user_id) = {
            let ctx = self.user_at_host(scope, user).await?;
            let mut tx = self.store().scope(scope).begin().await?;
            let pair = tx
                .key_pairs()
                .current(user, KeyUsage::Signature)
                .await?
                .ok_or(EbicsError::NoPublicKey(KeyUsage::Signature))?;
            let (version, value) = match (pair.custody, signed) {
                (kontor_storage::KeyCustody::Signer, Some(signed)) => {
                    (signed.version, signed.value)
                }
                (kontor_storage::KeyCustody::Signer, None) => {
                    return Err(EbicsError::KeyUnusable(
                        "SPR is signed with the user's signature key, which its signer holds: \
                         the signer suspends with `kontor sign suspend`",
                    ))
                }
                (_, Some(_)) => {
                    return Err(EbicsError::KeyUnusable(
                        "the daemon holds the user's signature key and signs SPR itself",
                    ))
                }
                (_, None) => {
                    let der = tx.key_pairs().load_private_key(pair.id).await?;
                    let version = pair.signature_version()?;
                    let key = kontor_protocol::keys::PrivateKey::from_pkcs8_der(&der)
                        .map_err(EbicsError::key)?;
                    let value =
                        kontor_protocol::signature::sign_order_data(version, &key, SPR_ORDER_DATA)
                            .map_err(EbicsError::key)?;
                    (version, value)
                }
            };
            tx.commit().await?;
            (
                version,
                value,
                ctx.connection.partner_id.clone(),
                ctx.user.user_id.clone(),
            )
        };
        let signature = kontor_protocol::orderdata::OrderSignatureData {
            signature_version: version,
            signature_value: value,
            partner_id,
            user_id,
            x509: None,
        };
        let request =
            super::UploadRequest::new(OrderType::SPR, SPR_ORDER_DATA.to_vec(), vec![signature]);
        self.upload(scope, user, request).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use kontor_protocol::certificate::{Certificate, CertificateSubject, KeyPurpose, TrustError};
    use kontor_protocol::keys::{KeyPair, KeySize};
    use kontor_storage::BankKeyKind;

    use super::check_bank_certificate;

    fn bank_certificate(purpose: KeyPurpose) -> Certificate {
        let mut rng = rand::rngs::OsRng;
        let key = KeyPair::generate(&mut rng, KeySize::Bits2048).expect("key");
        let subject = CertificateSubject {
            common_name: "Bank".into(),
            organization: None,
            country: None,
        };
        Certificate::generate_self_signed(
            key.private_key(),
            &subject,
            purpose,
            Utc::now(),
            1,
            &mut rng,
        )
        .expect("certificate")
    }

    #[test]
    fn a_bank_certificate_made_for_another_use_is_refused() {
        let signing = bank_certificate(KeyPurpose::Authentication);
        let wrapping = bank_certificate(KeyPurpose::Encryption);
        let now = Utc::now();
        assert!(check_bank_certificate(&signing, BankKeyKind::Authentication, None, now).is_ok());
        assert!(check_bank_certificate(&wrapping, BankKeyKind::Encryption, None, now).is_ok());
        // The X002 certificate offered as the E002 one (and the reverse) is refused.
        for (certificate, kind) in [
            (&signing, BankKeyKind::Encryption),
            (&wrapping, BankKeyKind::Authentication),
        ] {
            assert!(matches!(
                check_bank_certificate(certificate, kind, None, now),
                Err(TrustError::WrongKeyUsage { .. })
            ));
        }
    }
}
