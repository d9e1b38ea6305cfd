//! Subscriber initialisation: INI, HIA and H3K (`ebicsUnsecuredRequest`, unsigned by nature:
//! the letters the clerk compares make INI/HIA trustworthy, the bank's CA H3K) and HPB
//! (`ebicsNoPubKeyDigestsRequest`, signed with the freshly registered X002 key, answered
//! encrypted for the E002 key).

use chrono::{DateTime, Utc};
use kontor_protocol::certificate::{Certificate, KeyPurpose, TrustError};
use kontor_protocol::compression;
use kontor_protocol::envelope::{
    KeyManagementDataTransfer, NoPubKeyDigestsRequest, UnsecuredRequest,
};
use kontor_protocol::keys::{KeyHash, PublicKey};
use kontor_protocol::order_type::OrderType;
use kontor_protocol::orderdata::{
    AuthenticationPubKeyInfo, CertificateInfo, EncryptionPubKeyInfo, H3KRequestOrderData,
    HIARequestOrderData, HPBResponseOrderData, KeyVersionElement, PubKeyInfo, PublicKeyData,
    RsaKeyValue, SignaturePubKeyOrderData, X509Data,
};
use kontor_protocol::{AuthenticationVersion, EncryptionVersion, KeyVersion, ProtocolVersion};

use super::auth::{self, Caller};
use super::reply::{self, Reject};
use crate::ca::TestCa;
use crate::dispatch::{DispatchResponse, EbicsRequest, RequestContext};
use crate::ids::{PartnerId, UserId};
use crate::keys::{BankKeyPair, BankKeyPairs};
use crate::return_codes::ReturnCode;
use crate::state::SubmittedKey;

/// Key documents are small; anything larger is an attack or a mistake.
const KEY_DOCUMENT_LIMIT: u64 = 1 << 20;
const MIN_KEY_BITS: usize = 2048;
const MAX_KEY_BITS: usize = 4096;

/// The answer a fault rule forces instead of handling the request.
fn injected_fault(ctx: &RequestContext, version: ProtocolVersion) -> Option<DispatchResponse> {
    let code = ctx.faults.forced_return_code?;
    let reject = Reject::new(code, "injected fault");
    Some(reply::key_management(version, Some(&reject), None, None))
}

pub fn unsecured(ctx: &RequestContext, req: &EbicsRequest) -> DispatchResponse {
    let version = req.envelope.protocol.unwrap_or(ProtocolVersion::H004);
    if let Some(forced) = injected_fault(ctx, version) {
        return forced;
    }
    let outcome = UnsecuredRequest::parse(&req.raw)
        .map_err(|e| Reject::new(ReturnCode::INVALID_XML, e.to_string()))
        .and_then(|request| record_keys(ctx, &request));
    match outcome {
        Ok(()) => reply::key_management(version, None, None, None),
        Err(reject) => {
            tracing::info!(code = reject.code.code, detail = %reject.detail, "key management refused");
            reply::key_management(version, Some(&reject), None, None)
        }
    }
}

fn record_keys(ctx: &RequestContext, request: &UnsecuredRequest) -> Result<(), Reject> {
    auth::check_host(ctx, request.host_id.as_str())?;
    auth::check_version(ctx, request.version)?;
    let (partner, user) = auth::ids(
        request.subscriber.partner_id.as_str(),
        request.subscriber.user_id.as_str(),
    )?;
    auth::known_subscriber(ctx, &partner, &user)?;
    let data = compression::decompress(&request.order_data, KEY_DOCUMENT_LIMIT)
        .map_err(|e| Reject::new(ReturnCode::INVALID_ORDER_DATA_FORMAT, e.to_string()))?;
    let format = |e: kontor_protocol::orderdata::OrderDataError| {
        Reject::new(ReturnCode::INVALID_ORDER_DATA_FORMAT, e.to_string())
    };
    let intake = KeyIntake {
        version: request.version,
        now: ctx.received_at,
        bank_issued: auth::known_subscriber(ctx, &partner, &user)?.bank_issued_certificates,
    };
    match request.order_type {
        OrderType::INI => {
            let doc = SignaturePubKeyOrderData::parse(&data).map_err(format)?;
            same_subscriber(&doc.partner_id, &doc.user_id, &partner, &user)?;
            let key = intake.key(&doc.signature_pub_key_info, KeyPurpose::Signature)?;
            ctx.state
                .with_subscriber(&partner, &user, |s| s.record_ini(key))
                .map_err(lifecycle)?;
        }
        OrderType::HIA => {
            let doc = HIARequestOrderData::parse(&data).map_err(format)?;
            same_subscriber(&doc.partner_id, &doc.user_id, &partner, &user)?;
            let authentication = intake.key(&doc.authentication, KeyPurpose::Authentication)?;
            let encryption = intake.key(&doc.encryption, KeyPurpose::Encryption)?;
            distinct(&authentication, &encryption)?;
            ctx.state
                .with_subscriber(&partner, &user, |s| {
                    s.record_hia(authentication, encryption)
                })
                .map_err(lifecycle)?;
        }
        OrderType::H3K => {
            let doc = H3KRequestOrderData::parse(&data).map_err(format)?;
            record_h3k(ctx, &partner, &user, &doc)?;
        }
        ref other => {
            return Err(Reject::new(
                ReturnCode::INVALID_ORDER_TYPE,
                format!("{other} is not sent as an unsecured request"),
            ))
        }
    }
    tracing::info!(%partner, %user, order_type = %request.order_type, "subscriber keys received");
    Ok(())
}

/// Records the three certificates of an H3K document (unsecured, or signed: see
/// [`super::signed_h3k`]).
///
/// H3K replaces INI and HIA *and their letters*: no clerk compares hashes, so the bank must
/// trust the keys through a CA. EBICS 3.0 (chapter 4.4.1.2, H3K) allows it only where the ES
/// key is certified by a CA the bank accepts; self-signed certificates need INI and HIA with
/// the initialisation letters. The ES certificate is therefore always checked against the
/// bank's CA, and refused with 091214 `EBICS_X509_UNKNOWN_CERTIFICATE_AUTHORITY` ("the chain
/// cannot be verified due to an unknown certificate authority"; Annex 1 makes the refusal
/// mandatory for the ES key of INI, PUB and HCS, and H3K carries exactly that key) when
/// self-signed or issued by another CA. The authentication and encryption certificates may
/// stay self-signed: the ES over the document vouches for them (they, too, must come from
/// the bank's CA where the subscriber's switch says the bank issues its certificates).
pub(super) fn record_h3k(
    ctx: &RequestContext,
    partner: &PartnerId,
    user: &UserId,
    doc: &H3KRequestOrderData,
) -> Result<(), Reject> {
    same_subscriber(&doc.partner_id, &doc.user_id, partner, user)?;
    let intake = KeyIntake {
        version: ProtocolVersion::H005,
        now: ctx.received_at,
        bank_issued: auth::known_subscriber(ctx, partner, user)?.bank_issued_certificates,
    };
    // The ES certificate needs the bank's CA whatever the subscriber's switch says.
    let signature = KeyIntake {
        bank_issued: true,
        ..intake
    }
    .certificate(&doc.signature, KeyPurpose::Signature)
    .map_err(|reject| self_signed_h3k(reject, &doc.signature.x509))?;
    let authentication = intake.certificate(&doc.authentication, KeyPurpose::Authentication)?;
    let encryption = intake.certificate(&doc.encryption, KeyPurpose::Encryption)?;
    distinct(&authentication, &encryption)?;
    distinct(&signature, &authentication)?;
    // H3K carries all three keys at once: both halves of the lifecycle, atomically
    // enough for an emulator (a failure of the second half is reported and visible).
    ctx.state
        .with_subscriber(partner, user, |s| {
            s.record_ini(signature)?;
            s.record_hia(authentication, encryption)
        })
        .map_err(lifecycle)?;
    Ok(())
}

/// Says why a self-signed ES certificate cannot come with H3K (the code stays 091214).
fn self_signed_h3k(reject: Reject, x509: &X509Data) -> Reject {
    let self_signed = Certificate::from_der(&x509.certificate).is_ok_and(|c| !c.is_ca_issued());
    if reject.code == ReturnCode::X509_UNKNOWN_CERTIFICATE_AUTHORITY && self_signed {
        return Reject::new(
            reject.code,
            "H3K needs the signature certificate issued by the bank's CA; with self-signed \
             certificates send INI and HIA and the initialisation letters",
        );
    }
    reject
}

pub(super) fn same_subscriber(
    doc_partner: &str,
    doc_user: &str,
    partner: &PartnerId,
    user: &UserId,
) -> Result<(), Reject> {
    if doc_partner != partner.as_str() || doc_user != user.as_str() {
        return Err(Reject::new(
            ReturnCode::INVALID_ORDER_DATA_FORMAT,
            "the key document names another subscriber than the request",
        ));
    }
    Ok(())
}

pub(super) fn distinct(a: &SubmittedKey, b: &SubmittedKey) -> Result<(), Reject> {
    if a.public_key == b.public_key {
        return Err(Reject::new(
            ReturnCode::KEYMGMT_DUPLICATE_KEY,
            format!("{} and {} are the same key", a.version, b.version),
        ));
    }
    Ok(())
}

fn lifecycle(e: crate::state::LifecycleError) -> Reject {
    Reject::new(e.return_code(), e.to_string())
}

/// How the keys of one key document are checked: in the request's protocol version, at its
/// time, and with certificates from the bank's CA where the subscriber needs them.
#[derive(Clone, Copy)]
pub(super) struct KeyIntake {
    pub version: ProtocolVersion,
    pub now: DateTime<Utc>,
    pub bank_issued: bool,
}

impl KeyIntake {
    /// The key of `info` as [`submitted`] checks it.
    pub fn key<V: KeyVersionElement>(
        &self,
        info: &PubKeyInfo<V>,
        purpose: KeyPurpose,
    ) -> Result<SubmittedKey, Reject> {
        submitted(
            self.version,
            &info.key,
            info.version.into(),
            purpose,
            self.now,
            self.bank_issued,
        )
    }

    /// The key of a certificate-only document (H3K) as [`submitted`] checks it.
    pub fn certificate<V: KeyVersionElement>(
        &self,
        info: &CertificateInfo<V>,
        purpose: KeyPurpose,
    ) -> Result<SubmittedKey, Reject> {
        let key = PublicKeyData::Certificate(info.x509.clone());
        self.key(
            &PubKeyInfo {
                key,
                version: info.version,
            },
            purpose,
        )
    }
}

/// The key a document carries, with its EBICS hash in the request's protocol version (H004:
/// over exponent and modulus; H005: over the certificate) and its certificate. An H004 key may
/// carry `ds:X509Data` (French banks): its certificate must certify that very key. A
/// certificate's key usage must fit `purpose` (091210). With `bank_issued` the key needs a
/// certificate from the bank's CA, valid now.
pub(super) fn submitted(
    version: ProtocolVersion,
    data: &PublicKeyData,
    key_version: KeyVersion,
    purpose: KeyPurpose,
    now: DateTime<Utc>,
    bank_issued: bool,
) -> Result<SubmittedKey, Reject> {
    let bad = |e: String| Reject::new(ReturnCode::INVALID_ORDER_DATA_FORMAT, e);
    let certificate = data
        .x509()
        .map(|x509| Certificate::from_der(&x509.certificate))
        .transpose()
        .map_err(|e| bad(e.to_string()))?;
    let (key, hash) = match (version, data) {
        (ProtocolVersion::H003 | ProtocolVersion::H004, PublicKeyData::Rsa { key, .. }) => {
            let public = PublicKey::from_modulus_exponent(&key.modulus, &key.exponent)
                .map_err(|e| bad(e.to_string()))?;
            if certificate
                .as_ref()
                .is_some_and(|c| c.public_key() != &public)
            {
                return Err(Reject::new(
                    ReturnCode::CERTIFICATES_VALIDATION_ERROR,
                    format!(
                        "the {key_version} certificate certifies another key than the one sent"
                    ),
                ));
            }
            let hash = KeyHash::of_public_key(&public);
            (public, hash)
        }
        (_, PublicKeyData::Certificate(_)) | (_, PublicKeyData::Rsa { x509: Some(_), .. }) => {
            let certificate = certificate
                .as_ref()
                .ok_or_else(|| bad("certificate missing".into()))?;
            let hash = KeyHash::of_certificate(certificate);
            (certificate.public_key().clone(), hash)
        }
        (_, PublicKeyData::Rsa { .. }) => {
            return Err(Reject::new(
                ReturnCode::ONLY_X509_SUPPORT,
                "H005 keys travel as X.509 certificates",
            ))
        }
    };
    if let Some(certificate) = &certificate {
        check_key_usage(certificate, key_version, purpose)?;
    }
    if bank_issued {
        check_bank_issued(certificate.as_ref(), key_version, now)?;
    }
    if !(MIN_KEY_BITS..=MAX_KEY_BITS).contains(&key.bits()) {
        return Err(Reject::new(
            length_error(purpose),
            format!(
                "{} bits, accepted are {MIN_KEY_BITS} to {MAX_KEY_BITS}",
                key.bits()
            ),
        ));
    }
    Ok(SubmittedKey {
        version: key_version,
        public_key: key.to_spki_der().map_err(|e| bad(e.to_string()))?,
        hash,
        received_at: now,
        certificate: certificate.map(|c| c.to_der().to_vec()),
    })
}

/// The return code for a key of `purpose` whose length the bank does not accept.
fn length_error(purpose: KeyPurpose) -> ReturnCode {
    match purpose {
        KeyPurpose::Signature => ReturnCode::KEYMGMT_KEYLENGTH_ERROR_SIGNATURE,
        KeyPurpose::Authentication => ReturnCode::KEYMGMT_KEYLENGTH_ERROR_AUTHENTICATION,
        KeyPurpose::Encryption => ReturnCode::KEYMGMT_KEYLENGTH_ERROR_ENCRYPTION,
    }
}

/// A certificate whose key usage extension does not fit the key it is sent for (an
/// encryption certificate as the ES key, say) is refused with 091210
/// `EBICS_X509_WRONG_KEY_USAGE` (EBICS 3.0 Annex 1: "the certificate has not been issued for
/// the current use", for key management order types).
fn check_key_usage(
    certificate: &Certificate,
    key_version: KeyVersion,
    purpose: KeyPurpose,
) -> Result<(), Reject> {
    certificate.check_key_usage(purpose).map_err(|e| {
        Reject::new(
            ReturnCode::X509_WRONG_KEY_USAGE,
            format!("the {key_version} certificate: {e}"),
        )
    })
}

/// A bank that issues its subscribers' certificates accepts only its own, valid ones
/// (EBICS 3.0 Annex 1: 091217 without a certificate, 091208/091209 outside the validity
/// period, 091214 from another issuer).
fn check_bank_issued(
    certificate: Option<&Certificate>,
    key_version: KeyVersion,
    now: DateTime<Utc>,
) -> Result<(), Reject> {
    let certificate = certificate.ok_or_else(|| {
        Reject::new(
            ReturnCode::ONLY_X509_SUPPORT,
            format!("the {key_version} key needs the certificate the bank issued for it"),
        )
    })?;
    match certificate.check_validity(now) {
        Ok(()) => {}
        Err(TrustError::NotYetValid(_)) => {
            return Err(Reject::new(
                ReturnCode::X509_CERTIFICATE_NOT_VALID_YET,
                format!("the {key_version} certificate is not valid yet"),
            ))
        }
        Err(e) => {
            return Err(Reject::new(
                ReturnCode::X509_CERTIFICATE_EXPIRED,
                format!("the {key_version} certificate: {e}"),
            ))
        }
    }
    if !TestCa::get().issued(certificate) {
        return Err(Reject::new(
            ReturnCode::X509_UNKNOWN_CERTIFICATE_AUTHORITY,
            format!(
                "the {key_version} certificate is issued by {}, not by this bank's CA",
                certificate.issuer()
            ),
        ));
    }
    Ok(())
}

pub fn hpb(ctx: &RequestContext, req: &EbicsRequest, keys: &BankKeyPairs) -> DispatchResponse {
    let version = req.envelope.protocol.unwrap_or(ProtocolVersion::H004);
    if let Some(forced) = injected_fault(ctx, version) {
        return forced;
    }
    match bank_keys_for(ctx, req, keys) {
        Ok(data) => reply::key_management(version, None, None, Some(data)),
        Err(reject) => {
            tracing::info!(code = reject.code.code, detail = %reject.detail, "HPB refused");
            reply::key_management(version, Some(&reject), None, None)
        }
    }
}

fn bank_keys_for(
    ctx: &RequestContext,
    req: &EbicsRequest,
    keys: &BankKeyPairs,
) -> Result<KeyManagementDataTransfer, Reject> {
    let request = NoPubKeyDigestsRequest::parse(&req.raw)
        .map_err(|e| Reject::new(ReturnCode::INVALID_XML, e.to_string()))?;
    auth::check_host(ctx, request.host_id.as_str())?;
    auth::check_version(ctx, request.version)?;
    if request.order_type != OrderType::HPB {
        return Err(Reject::new(
            ReturnCode::INVALID_ORDER_TYPE,
            format!(
                "{} is not sent without bank key digests",
                request.order_type
            ),
        ));
    }
    let (partner, user) = auth::ids(
        request.subscriber.partner_id.as_str(),
        request.subscriber.user_id.as_str(),
    )?;
    let caller = auth::authenticate(ctx, &partner, &user, |key| {
        NoPubKeyDigestsRequest::verify(&req.raw, key).is_ok()
    })?;
    auth::check_nonce(ctx, request.nonce.as_bytes(), request.timestamp)?;
    let document = hpb_document(request.version, ctx, keys)?;
    encrypt_for(&caller, request.version, &compression::compress(&document))
}

fn hpb_document(
    version: ProtocolVersion,
    ctx: &RequestContext,
    keys: &BankKeyPairs,
) -> Result<Vec<u8>, Reject> {
    let key_data = |pair: &BankKeyPair| match version {
        ProtocolVersion::H003 | ProtocolVersion::H004 => PublicKeyData::Rsa {
            key: RsaKeyValue {
                modulus: pair.public_key().modulus(),
                exponent: pair.public_key().exponent(),
            },
            timestamp: None,
            x509: None,
        },
        ProtocolVersion::H005 | ProtocolVersion::H006 => PublicKeyData::Certificate(
            X509Data::from_certificate(pair.certificate().to_der().to_vec()),
        ),
    };
    let document = HPBResponseOrderData {
        version,
        authentication: AuthenticationPubKeyInfo {
            key: key_data(&keys.authentication),
            version: AuthenticationVersion::X002,
        },
        encryption: EncryptionPubKeyInfo {
            key: key_data(&keys.encryption),
            version: EncryptionVersion::E002,
        },
        host_id: ctx.config.bank.host_id.to_string(),
    };
    document
        .to_xml()
        .map_err(|e| Reject::new(ReturnCode::INTERNAL_ERROR, e.to_string()))
}

/// E002-encrypts compressed order data for the caller's encryption key.
pub fn encrypt_for(
    caller: &Caller,
    _version: ProtocolVersion,
    compressed: &[u8],
) -> Result<KeyManagementDataTransfer, Reject> {
    let (info, ciphertext) = auth::encrypt_for_subscriber(caller, compressed)?;
    Ok(KeyManagementDataTransfer {
        data_encryption_info: info,
        order_data: ciphertext,
    })
}
