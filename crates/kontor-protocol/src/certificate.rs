//! X.509 certificates for EBICS keys (H005+ transports every public key as a certificate).
//!
//! Kontor generates self-signed certificates for its subscriber keys (what EBICS 3.0 allows
//! when the bank does not require CA-issued ones) and imports CA-issued or bank certificates
//! as PEM or DER. An imported certificate keeps its original DER bytes, because the EBICS
//! H005 key hash is computed over exactly those bytes.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use ::signature::Verifier;
use chrono::{DateTime, Months, Utc};
use der::asn1::{GeneralizedTime, SetOfVec};
use der::oid::AssociatedOid;
use der::{Decode, Encode, EncodePem};
use rand::{CryptoRng, RngCore};
use rsa::pkcs1v15::{Signature as RsaSignature, SigningKey, VerifyingKey};
use sha2::Sha256;
use spki::{ObjectIdentifier, SubjectPublicKeyInfoOwned};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier};
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

use crate::keys::{KeyHash, PrivateKey, PublicKey};

const OID_COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
const OID_ORGANIZATION: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");
const OID_COUNTRY: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.6");
const OID_RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");

/// The longest validity Kontor puts into a self-signed certificate.
pub const MAX_VALIDITY_YEARS: u32 = 30;

/// Errors of certificate generation, import and checks.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateError {
    #[error("certificate is not valid DER: {0}")]
    InvalidDer(der::Error),
    #[error("not a PEM certificate (expected a `-----BEGIN CERTIFICATE-----` block)")]
    InvalidPem,
    #[error("certificate does not carry an RSA public key")]
    NotRsa,
    #[error("certificate public key is unusable: {0}")]
    InvalidPublicKey(#[from] crate::keys::KeyError),
    #[error("invalid certificate subject: {0}")]
    InvalidSubject(&'static str),
    #[error("validity must be between 1 and {MAX_VALIDITY_YEARS} years and start after 1970")]
    InvalidValidity,
    #[error("certificate could not be built: {0}")]
    Build(String),
    #[error("certificate signature algorithm {0} is not sha256WithRSAEncryption")]
    UnsupportedSignatureAlgorithm(ObjectIdentifier),
    #[error("certificate signature does not verify")]
    BadSignature,
}

/// What a subscriber (or bank) key is used for; decides the key usage extension Kontor writes
/// and the one it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyPurpose {
    /// Electronic signature (A005/A006): digitalSignature + nonRepudiation.
    Signature,
    /// Identification and authentication (X002): digitalSignature.
    Authentication,
    /// Encryption (E002): keyEncipherment + dataEncipherment.
    Encryption,
}

impl KeyPurpose {
    /// The key usage Kontor writes into the certificates it generates or issues.
    fn key_usage(self) -> KeyUsage {
        KeyUsage(match self {
            Self::Signature => KeyUsages::DigitalSignature | KeyUsages::NonRepudiation,
            Self::Authentication => KeyUsages::DigitalSignature.into(),
            Self::Encryption => KeyUsages::KeyEncipherment | KeyUsages::DataEncipherment,
        })
    }

    /// The key usage bits of which a certificate for this purpose needs at least one.
    ///
    /// The certificate profiles of EBICS (Common Implementation Guide to EBICS 2.5, annex 4.1
    /// "Structure of the certificates for EBICS customer workstations / bank servers", taken
    /// over by EBICS 3.0 annex 2, X.509 certificates; CFONB implementation guide annex A3):
    /// the ES certificate carries nonRepudiation (digitalSignature is what generic CAs set for
    /// signing keys, and A005/A006 are RSA signatures), the authentication certificate
    /// digitalSignature (X002 signs the request), the encryption certificate keyEncipherment
    /// (E002 wraps the transaction key with RSA; keyAgreement is the X.509 bit for a key that
    /// establishes a shared key, accepted likewise). A certificate of one purpose used for
    /// another is what `EBICS_X509_WRONG_KEY_USAGE` (091210) refuses.
    fn accepted_usages(self) -> KeyUsage {
        KeyUsage(match self {
            Self::Signature => KeyUsages::NonRepudiation | KeyUsages::DigitalSignature,
            Self::Authentication => KeyUsages::DigitalSignature.into(),
            Self::Encryption => KeyUsages::KeyEncipherment | KeyUsages::KeyAgreement,
        })
    }
}

impl fmt::Display for KeyPurpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Signature => "signature",
            Self::Authentication => "authentication",
            Self::Encryption => "encryption",
        })
    }
}

/// Subject of a self-signed certificate: CN, optional O and optional two-letter country.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateSubject {
    pub common_name: String,
    pub organization: Option<String>,
    /// ISO 3166 alpha-2 code, e.g. `DE`.
    pub country: Option<String>,
}

impl CertificateSubject {
    /// Builds the distinguished name attribute by attribute, so no user input is ever parsed
    /// as RFC 4514 syntax.
    fn to_name(&self) -> Result<Name, CertificateError> {
        let mut rdns = Vec::new();
        if let Some(country) = &self.country {
            if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(CertificateError::InvalidSubject(
                    "country must be two uppercase letters",
                ));
            }
            rdns.push(rdn(OID_COUNTRY, der::Tag::PrintableString, country)?);
        }
        if let Some(organization) = &self.organization {
            rdns.push(rdn(
                OID_ORGANIZATION,
                der::Tag::Utf8String,
                non_empty(organization)?,
            )?);
        }
        rdns.push(rdn(
            OID_COMMON_NAME,
            der::Tag::Utf8String,
            non_empty(&self.common_name)?,
        )?);
        Ok(RdnSequence(rdns))
    }
}

fn non_empty(value: &str) -> Result<&str, CertificateError> {
    let trimmed = value.trim();
    // RFC 5280 upper bounds: 64 characters for CN and O.
    if trimmed.is_empty() || trimmed.chars().count() > 64 {
        return Err(CertificateError::InvalidSubject(
            "names must have 1 to 64 characters",
        ));
    }
    Ok(trimmed)
}

fn rdn(
    oid: ObjectIdentifier,
    tag: der::Tag,
    value: &str,
) -> Result<RelativeDistinguishedName, CertificateError> {
    let value = der::Any::new(tag, value.as_bytes()).map_err(CertificateError::InvalidDer)?;
    let set = SetOfVec::try_from(vec![AttributeTypeAndValue { oid, value }])
        .map_err(CertificateError::InvalidDer)?;
    Ok(RelativeDistinguishedName(set))
}

/// An X.509 certificate: the DER bytes as received or generated, and the parsed form.
#[derive(Clone)]
pub struct Certificate {
    der: Vec<u8>,
    parsed: x509_cert::Certificate,
    public_key: PublicKey,
}

impl PartialEq for Certificate {
    fn eq(&self, other: &Self) -> bool {
        self.der == other.der
    }
}

impl Eq for Certificate {}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("subject", &self.subject())
            .field("serial", &self.serial_hex())
            .field("sha256", &self.fingerprint_sha256().to_hex_upper())
            .finish()
    }
}

impl Certificate {
    /// Generates a self-signed X.509 v3 certificate (sha256WithRSAEncryption) for `key`.
    ///
    /// Valid from `now` for `validity_years`; the serial number has 126 random bits. The
    /// extensions are basicConstraints CA:false, a subject key identifier and the key usage of
    /// `purpose` (marked critical).
    pub fn generate_self_signed<R: CryptoRng + RngCore>(
        key: &PrivateKey,
        subject: &CertificateSubject,
        purpose: KeyPurpose,
        now: DateTime<Utc>,
        validity_years: u32,
        rng: &mut R,
    ) -> Result<Self, CertificateError> {
        let period = ValidityPeriod::new(now, validity_years);
        self_signed(key, subject, Extensions::Leaf(purpose), period, rng)
    }

    /// Generates a self-signed CA certificate (basicConstraints CA:true, keyCertSign and
    /// cRLSign), as a bank's or a test CA's trust anchor.
    pub fn generate_ca<R: CryptoRng + RngCore>(
        key: &PrivateKey,
        subject: &CertificateSubject,
        now: DateTime<Utc>,
        validity_years: u32,
        rng: &mut R,
    ) -> Result<Self, CertificateError> {
        let period = ValidityPeriod::new(now, validity_years);
        self_signed(key, subject, Extensions::Authority, period, rng)
    }

    /// Issues a certificate for `public_key` signed by this CA certificate's `ca_key`: what a
    /// bank's CA does for a subscriber key (French banks, EBICS 3.0 H3K).
    pub fn issue<R: CryptoRng + RngCore>(
        &self,
        ca_key: &PrivateKey,
        public_key: &PublicKey,
        subject: &CertificateSubject,
        purpose: KeyPurpose,
        validity: ValidityPeriod,
        rng: &mut R,
    ) -> Result<Self, CertificateError> {
        if !self.matches_private_key(ca_key) {
            return Err(CertificateError::Build(
                "the CA key does not belong to the CA certificate".into(),
            ));
        }
        let issuer = self.parsed.tbs_certificate.subject.clone();
        build(
            ca_key,
            Some(issuer),
            subject.to_name()?,
            public_key,
            Extensions::Leaf(purpose),
            validity,
            rng,
        )
    }

    /// Parses a DER certificate carrying an RSA key. The bytes are kept as given.
    pub fn from_der(der: &[u8]) -> Result<Self, CertificateError> {
        let parsed = x509_cert::Certificate::from_der(der).map_err(CertificateError::InvalidDer)?;
        let spki = &parsed.tbs_certificate.subject_public_key_info;
        if spki.algorithm.oid != OID_RSA_ENCRYPTION {
            return Err(CertificateError::NotRsa);
        }
        let spki_der = spki.to_der().map_err(CertificateError::InvalidDer)?;
        let public_key = PublicKey::from_spki_der(&spki_der)?;
        Ok(Self {
            der: der.to_vec(),
            parsed,
            public_key,
        })
    }

    /// Parses the first `CERTIFICATE` PEM block of `pem`; text around it (other blocks of a
    /// chain, `openssl` attribute lines) is ignored.
    pub fn from_pem(pem: &str) -> Result<Self, CertificateError> {
        const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
        const END: &str = "-----END CERTIFICATE-----";
        let start = pem.find(BEGIN).ok_or(CertificateError::InvalidPem)?;
        let length = pem[start..].find(END).ok_or(CertificateError::InvalidPem)? + END.len();
        let (label, der) = der::pem::decode_vec(&pem.as_bytes()[start..start + length])
            .map_err(|_| CertificateError::InvalidPem)?;
        if label != "CERTIFICATE" {
            return Err(CertificateError::InvalidPem);
        }
        Self::from_der(&der)
    }

    /// The DER encoding this certificate was created or imported with.
    pub fn to_der(&self) -> &[u8] {
        &self.der
    }

    /// PEM with LF line endings.
    pub fn to_pem(&self) -> String {
        // Encoding a `CERTIFICATE` label over a byte slice cannot fail; fall back to the
        // parsed form only to avoid an unwrap.
        der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, &self.der)
            .or_else(|_| self.parsed.to_pem(der::pem::LineEnding::LF))
            .unwrap_or_default()
    }

    /// The certificate's public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    /// SHA-256 over the DER bytes; equals the EBICS H005 key hash.
    pub fn fingerprint_sha256(&self) -> KeyHash {
        KeyHash::of_certificate(self)
    }

    /// Whether `key` is the private half of this certificate's public key.
    pub fn matches_private_key(&self, key: &PrivateKey) -> bool {
        key.public_key() == self.public_key
    }

    /// Subject in RFC 4514 form, e.g. `CN=Jane Doe,O=ACME GmbH,C=DE`.
    pub fn subject(&self) -> String {
        self.parsed.tbs_certificate.subject.to_string()
    }

    /// Issuer in RFC 4514 form.
    pub fn issuer(&self) -> String {
        self.parsed.tbs_certificate.issuer.to_string()
    }

    /// Serial number as uppercase hex.
    pub fn serial_hex(&self) -> String {
        hex::encode_upper(self.parsed.tbs_certificate.serial_number.as_bytes())
    }

    pub fn not_before(&self) -> Option<DateTime<Utc>> {
        chrono_time(&self.parsed.tbs_certificate.validity.not_before)
    }

    pub fn not_after(&self) -> Option<DateTime<Utc>> {
        chrono_time(&self.parsed.tbs_certificate.validity.not_after)
    }

    /// Whether `at` lies within the validity period.
    pub fn is_valid_at(&self, at: DateTime<Utc>) -> bool {
        match (self.not_before(), self.not_after()) {
            (Some(from), Some(to)) => from <= at && at <= to,
            _ => false,
        }
    }

    /// Whether issuer and subject are the same name (a self-issued certificate).
    pub fn is_self_issued(&self) -> bool {
        self.parsed.tbs_certificate.issuer == self.parsed.tbs_certificate.subject
    }

    /// Verifies the certificate's signature with `issuer_key` (its own key for self-signed
    /// certificates). Only sha256WithRSAEncryption is supported.
    pub fn verify_signature(&self, issuer_key: &PublicKey) -> Result<(), CertificateError> {
        let algorithm = self.parsed.signature_algorithm.oid;
        if algorithm != OID_SHA256_WITH_RSA {
            return Err(CertificateError::UnsupportedSignatureAlgorithm(algorithm));
        }
        let tbs = self
            .parsed
            .tbs_certificate
            .to_der()
            .map_err(CertificateError::InvalidDer)?;
        let signature_bytes = self
            .parsed
            .signature
            .as_bytes()
            .ok_or(CertificateError::BadSignature)?;
        let signature =
            RsaSignature::try_from(signature_bytes).map_err(|_| CertificateError::BadSignature)?;
        VerifyingKey::<Sha256>::new(issuer_key.rsa().clone())
            .verify(&tbs, &signature)
            .map_err(|_| CertificateError::BadSignature)
    }

    /// The key usage extension, if present.
    pub fn key_usage(&self) -> Option<KeyUsage> {
        let extensions = self.parsed.tbs_certificate.extensions.as_ref()?;
        let extension = extensions.iter().find(|e| e.extn_id == KeyUsage::OID)?;
        KeyUsage::from_der(extension.extn_value.as_bytes()).ok()
    }

    /// The parsed certificate, for callers that need fields this type does not expose.
    pub fn x509(&self) -> &x509_cert::Certificate {
        &self.parsed
    }
}

/// Which extensions a built certificate carries.
enum Extensions {
    Leaf(KeyPurpose),
    Authority,
}

/// A certificate for `key`'s public key, signed with `key` itself.
fn self_signed<R: CryptoRng + RngCore>(
    key: &PrivateKey,
    subject: &CertificateSubject,
    extensions: Extensions,
    period: ValidityPeriod,
    rng: &mut R,
) -> Result<Certificate, CertificateError> {
    let name = subject.to_name()?;
    build(key, None, name, &key.public_key(), extensions, period, rng)
}

/// When a certificate is valid: `years` (1 to [`MAX_VALIDITY_YEARS`], checked when the
/// certificate is made) from `from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidityPeriod {
    pub from: DateTime<Utc>,
    pub years: u32,
}

impl ValidityPeriod {
    pub fn new(from: DateTime<Utc>, years: u32) -> Self {
        Self { from, years }
    }

    fn to_x509(self) -> Result<Validity, CertificateError> {
        if !(1..=MAX_VALIDITY_YEARS).contains(&self.years) {
            return Err(CertificateError::InvalidValidity);
        }
        let not_after = self
            .from
            .checked_add_months(Months::new(self.years * 12))
            .ok_or(CertificateError::InvalidValidity)?;
        Ok(Validity {
            not_before: x509_time(self.from)?,
            not_after: x509_time(not_after)?,
        })
    }
}

/// Builds and signs a certificate for `public_key` with `signing_key`; `issuer` `None` makes
/// it self-issued.
fn build<R: CryptoRng + RngCore>(
    signing_key: &PrivateKey,
    issuer: Option<Name>,
    subject: Name,
    public_key: &PublicKey,
    extensions: Extensions,
    period: ValidityPeriod,
    rng: &mut R,
) -> Result<Certificate, CertificateError> {
    let validity = period.to_x509()?;

    let mut serial = [0u8; 16];
    rng.fill_bytes(&mut serial);
    // Positive and without a leading zero byte, so the DER INTEGER keeps all 16 bytes.
    serial[0] = (serial[0] & 0x7F) | 0x40;
    let serial = SerialNumber::new(&serial).map_err(CertificateError::InvalidDer)?;

    let spki_der = public_key.to_spki_der()?;
    let spki =
        SubjectPublicKeyInfoOwned::from_der(&spki_der).map_err(CertificateError::InvalidDer)?;
    let ski = SubjectKeyIdentifier::try_from(der::referenced::OwnedToRef::owned_to_ref(&spki))
        .map_err(|e| CertificateError::Build(e.to_string()))?;

    let signer = SigningKey::<Sha256>::new(signing_key.rsa().clone());
    let mut builder = CertificateBuilder::new(
        Profile::Manual { issuer },
        serial,
        validity,
        subject,
        spki,
        &signer,
    )
    .map_err(|e| CertificateError::Build(e.to_string()))?;
    let build_err = |e: x509_cert::builder::Error| CertificateError::Build(e.to_string());
    let (ca, usage) = match extensions {
        Extensions::Leaf(purpose) => (false, purpose.key_usage()),
        Extensions::Authority => (true, KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign)),
    };
    builder
        .add_extension(&BasicConstraints {
            ca,
            path_len_constraint: None,
        })
        .map_err(build_err)?;
    builder.add_extension(&ski).map_err(build_err)?;
    builder.add_extension(&usage).map_err(build_err)?;

    let certificate = builder
        .build_with_rng::<RsaSignature>(rng)
        .map_err(build_err)?;
    let der = certificate.to_der().map_err(CertificateError::InvalidDer)?;
    Certificate::from_der(&der)
}

/// Why a certificate is not acceptable at a given time or under given trust anchors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrustError {
    #[error("the certificate is not valid before {0}")]
    NotYetValid(DateTime<Utc>),
    #[error("the certificate expired on {0}")]
    Expired(DateTime<Utc>),
    #[error("the certificate has no readable validity period")]
    NoValidity,
    #[error("the certificate (issuer {0}) is not issued by a trusted CA")]
    UnknownIssuer(String),
    /// The key usage extension does not allow the key's purpose (or cannot be read).
    #[error("the certificate's key usage ({found}) does not allow {purpose}")]
    WrongKeyUsage { purpose: KeyPurpose, found: String },
}

impl Certificate {
    /// Checks that `at` lies within the validity period, naming the bound that fails.
    pub fn check_validity(&self, at: DateTime<Utc>) -> Result<(), TrustError> {
        let (from, to) = self
            .not_before()
            .zip(self.not_after())
            .ok_or(TrustError::NoValidity)?;
        if at < from {
            return Err(TrustError::NotYetValid(from));
        }
        if at > to {
            return Err(TrustError::Expired(to));
        }
        Ok(())
    }

    /// Checks that the key usage extension, where the certificate carries one, allows
    /// `purpose` (see [`KeyPurpose`] for what each purpose needs). Without the extension any
    /// use is allowed (RFC 5280, 4.2.1.3); an extension that cannot be read allows nothing.
    pub fn check_key_usage(&self, purpose: KeyPurpose) -> Result<(), TrustError> {
        let wrong = |found: String| TrustError::WrongKeyUsage { purpose, found };
        let Some(extension) = self
            .parsed
            .tbs_certificate
            .extensions
            .as_ref()
            .and_then(|all| all.iter().find(|e| e.extn_id == KeyUsage::OID))
        else {
            return Ok(());
        };
        let usage = KeyUsage::from_der(extension.extn_value.as_bytes())
            .map_err(|e| wrong(format!("unreadable: {e}")))?;
        if (usage.0 & purpose.accepted_usages().0).is_empty() {
            return Err(wrong(key_usage_names(usage)));
        }
        Ok(())
    }

    /// Whether `issuer` issued this certificate: its subject is this certificate's issuer
    /// and its key verifies this certificate's signature.
    pub fn is_issued_by(&self, issuer: &Certificate) -> bool {
        self.parsed.tbs_certificate.issuer == issuer.parsed.tbs_certificate.subject
            && self.verify_signature(issuer.public_key()).is_ok()
    }

    /// Whether a CA issued this certificate, rather than its own key (self-signed).
    pub fn is_ca_issued(&self) -> bool {
        !(self.is_self_issued() && self.verify_signature(self.public_key()).is_ok())
    }

    /// Checks the validity period at `at` and that one of `anchors` issued this certificate
    /// directly (EBICS subscriber and bank certificates come from the bank's issuing CA; an
    /// intermediate belongs in `anchors`). The anchors must be valid at `at` too.
    pub fn check_trust(
        &self,
        anchors: &[Certificate],
        at: DateTime<Utc>,
    ) -> Result<(), TrustError> {
        self.check_validity(at)?;
        if anchors
            .iter()
            .any(|ca| ca.check_validity(at).is_ok() && self.is_issued_by(ca))
        {
            Ok(())
        } else {
            Err(TrustError::UnknownIssuer(self.issuer()))
        }
    }

    /// Every `CERTIFICATE` block of a PEM bundle, in order; none is an error.
    pub fn all_from_pem(pem: &str) -> Result<Vec<Self>, CertificateError> {
        const END: &str = "-----END CERTIFICATE-----";
        let mut out = Vec::new();
        let mut rest = pem;
        while let Some(start) = rest.find("-----BEGIN CERTIFICATE-----") {
            out.push(Self::from_pem(&rest[start..])?);
            let end = rest[start..]
                .find(END)
                .ok_or(CertificateError::InvalidPem)?;
            rest = &rest[start + end + END.len()..];
        }
        if out.is_empty() {
            return Err(CertificateError::InvalidPem);
        }
        Ok(out)
    }

    /// A certificate given as PEM text or DER bytes.
    pub fn from_pem_or_der(bytes: &[u8]) -> Result<Self, CertificateError> {
        match std::str::from_utf8(bytes) {
            Ok(text) if text.contains("-----BEGIN") => Self::from_pem(text),
            _ => Self::from_der(bytes),
        }
    }
}

/// The key usage bits in RFC 5280 names, e.g. `keyEncipherment, dataEncipherment`.
fn key_usage_names(usage: KeyUsage) -> String {
    let names: Vec<&str> = usage
        .0
        .into_iter()
        .map(|bit| match bit {
            KeyUsages::DigitalSignature => "digitalSignature",
            KeyUsages::NonRepudiation => "nonRepudiation",
            KeyUsages::KeyEncipherment => "keyEncipherment",
            KeyUsages::DataEncipherment => "dataEncipherment",
            KeyUsages::KeyAgreement => "keyAgreement",
            KeyUsages::KeyCertSign => "keyCertSign",
            KeyUsages::CRLSign => "cRLSign",
            KeyUsages::EncipherOnly => "encipherOnly",
            KeyUsages::DecipherOnly => "decipherOnly",
        })
        .collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

fn x509_time(at: DateTime<Utc>) -> Result<Time, CertificateError> {
    let seconds = u64::try_from(at.timestamp()).map_err(|_| CertificateError::InvalidValidity)?;
    let date_time = der::DateTime::from_unix_duration(Duration::from_secs(seconds))
        .map_err(|_| CertificateError::InvalidValidity)?;
    // The builder turns this into UTCTime for years before 2050, as RFC 5280 requires.
    Ok(Time::GeneralTime(GeneralizedTime::from_date_time(
        date_time,
    )))
}

fn chrono_time(time: &Time) -> Option<DateTime<Utc>> {
    let seconds = i64::try_from(time.to_unix_duration().as_secs()).ok()?;
    DateTime::from_timestamp(seconds, 0)
}

impl FromStr for Certificate {
    type Err = CertificateError;
    fn from_str(pem: &str) -> Result<Self, Self::Err> {
        Self::from_pem(pem)
    }
}
