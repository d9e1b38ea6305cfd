//! Value types shared by the envelopes. Each validates the schema constraint of its XML type
//! on construction, so a built envelope cannot carry a value the bank's schema check rejects.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use rand::{CryptoRng, RngCore};

use super::EnvelopeError;
use crate::lexical;
use crate::version::{AuthenticationVersion, EncryptionVersion, SignatureVersion};
use crate::xmldsig::SHA256_ALGORITHM;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $element:literal, $check:expr, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps the value.
            pub fn new(value: impl Into<String>) -> Result<Self, EnvelopeError> {
                let value = value.into();
                let check: fn(&str) -> bool = $check;
                if check(&value) {
                    Ok(Self(value))
                } else {
                    Err(EnvelopeError::InvalidValue {
                        element: $element,
                        reason: format!("{:?} is not {}", value, $what),
                    })
                }
            }

            /// The value as written in XML.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = EnvelopeError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }
    };
}

id_type!(
    /// `HostID`: the bank system's identifier (`xs:token`, at most 35 characters).
    HostId,
    "HostID",
    |s| (1..=35).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic()),
    "1-35 printable characters without spaces"
);
id_type!(
    /// `PartnerID`: the customer's identifier (`[a-zA-Z0-9,=]{1,35}`).
    PartnerId,
    "PartnerID",
    lexical::is_subscriber_id,
    "1-35 characters of a-z A-Z 0-9 , ="
);
id_type!(
    /// `UserID` / `SystemID`: a subscriber's identifier (`[a-zA-Z0-9,=]{1,35}`).
    UserId,
    "UserID",
    lexical::is_subscriber_id,
    "1-35 characters of a-z A-Z 0-9 , ="
);
id_type!(
    /// `OrderID`: four characters, an uppercase letter followed by three of `[A-Z0-9]`.
    OrderId,
    "OrderID",
    |s| {
        let b = s.as_bytes();
        b.len() == 4
            && b[0].is_ascii_uppercase()
            && b[1..].iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    },
    "an OrderID like A001"
);
id_type!(
    /// `SecurityMedium`: four digits (`0000` when not specified).
    SecurityMedium,
    "SecurityMedium",
    |s| s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()),
    "four digits"
);

impl Default for SecurityMedium {
    fn default() -> Self {
        Self("0000".to_owned())
    }
}

macro_rules! hex16_type {
    ($(#[$doc:meta])* $name:ident, $element:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name([u8; 16]);

        impl $name {
            /// Wraps 16 bytes.
            pub fn from_bytes(bytes: [u8; 16]) -> Self {
                Self(bytes)
            }

            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; 16] {
                &self.0
            }

            /// Uppercase hex, as written in XML.
            pub fn to_hex(&self) -> String {
                hex::encode_upper(self.0)
            }

            /// Parses 32 hex digits (either case).
            pub fn from_hex(s: &str) -> Result<Self, EnvelopeError> {
                let mut bytes = [0u8; 16];
                hex::decode_to_slice(s.trim(), &mut bytes).map_err(|_| {
                    EnvelopeError::InvalidValue {
                        element: $element,
                        reason: format!("expected 32 hex digits, got {s:?}"),
                    }
                })?;
                Ok(Self(bytes))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_hex())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }
    };
}

hex16_type!(
    /// The `Nonce` of an initialisation request: 16 random bytes, makes the request unique.
    Nonce,
    "Nonce"
);
hex16_type!(
    /// The bank-assigned `TransactionID` (16 bytes).
    TransactionId,
    "TransactionID"
);

impl Nonce {
    /// A fresh nonce from a cryptographic RNG.
    pub fn random<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        let mut bytes = [0u8; 16];
        rng.fill_bytes(&mut bytes);
        Self(bytes)
    }
}

impl TransactionId {
    /// A fresh transaction ID (bank side).
    pub fn random<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        let mut bytes = [0u8; 16];
        rng.fill_bytes(&mut bytes);
        Self(bytes)
    }
}

/// `SegmentNumber` with its `lastSegment` flag. Segment numbers start at 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SegmentNumber {
    number: u32,
    last: bool,
}

impl SegmentNumber {
    /// Fails for 0 (segments are numbered from 1).
    pub fn new(number: u32, last: bool) -> Result<Self, EnvelopeError> {
        if number == 0 {
            return Err(EnvelopeError::InvalidValue {
                element: "SegmentNumber",
                reason: "segment numbers start at 1".into(),
            });
        }
        Ok(Self { number, last })
    }

    /// The 1-based segment number.
    pub fn number(&self) -> u32 {
        self.number
    }

    /// Whether this is the last segment.
    pub fn is_last(&self) -> bool {
        self.last
    }
}

/// `TransactionPhase`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransactionPhase {
    Initialisation,
    Transfer,
    Receipt,
}

impl TransactionPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Initialisation => "Initialisation",
            Self::Transfer => "Transfer",
            Self::Receipt => "Receipt",
        }
    }
}

impl FromStr for TransactionPhase {
    type Err = EnvelopeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "Initialisation" => Ok(Self::Initialisation),
            "Transfer" => Ok(Self::Transfer),
            "Receipt" => Ok(Self::Receipt),
            other => Err(EnvelopeError::InvalidValue {
                element: "TransactionPhase",
                reason: format!("unknown phase {other:?}"),
            }),
        }
    }
}

/// `ReceiptCode` of a download receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReceiptCode {
    /// `0`: data received and processed; the bank may mark it as fetched.
    Acknowledged,
    /// `1`: data not processed; the bank must offer it again.
    NotAcknowledged,
}

impl ReceiptCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Acknowledged => "0",
            Self::NotAcknowledged => "1",
        }
    }
}

/// `Product` with its language and optional institute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    /// Product name, at most 64 characters.
    pub name: String,
    /// Two-letter language code, e.g. `en`, `de`.
    pub language: String,
    /// Optional institute identifier, at most 64 characters.
    pub institute_id: Option<String>,
}

impl Product {
    /// Checks the schema limits.
    pub fn validate(&self) -> Result<(), EnvelopeError> {
        let bad = |reason: &str| EnvelopeError::InvalidValue {
            element: "Product",
            reason: reason.to_owned(),
        };
        if self.name.chars().count() > 64 || self.name.contains(['\t', '\n', '\r']) {
            return Err(bad(
                "name must be at most 64 characters without line breaks",
            ));
        }
        if self.language.len() != 2 || !self.language.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(bad("language must be two letters"));
        }
        if self
            .institute_id
            .as_ref()
            .is_some_and(|i| i.chars().count() > 64 || i.contains(['\t', '\n', '\r']))
        {
            return Err(bad("InstituteID must be at most 64 characters"));
        }
        Ok(())
    }
}

/// A public key digest with its algorithm (`Algorithm` attribute), e.g. in `BankPubKeyDigests`
/// or `EncryptionPubKeyDigest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PubKeyDigest {
    /// The digest bytes (SHA-256 of the key or certificate, 32 bytes).
    pub digest: Vec<u8>,
    /// Algorithm URI; [`SHA256_ALGORITHM`] for current key versions.
    pub algorithm: String,
}

impl PubKeyDigest {
    /// A SHA-256 digest.
    pub fn sha256(digest: [u8; 32]) -> Self {
        Self {
            digest: digest.to_vec(),
            algorithm: SHA256_ALGORITHM.to_owned(),
        }
    }
}

/// `BankPubKeyDigests`: the bank keys the client believes current; the bank rejects the
/// request with `EBICS_BANK_PUBKEY_UPDATE_REQUIRED` if they changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankPubKeyDigests {
    pub authentication_version: AuthenticationVersion,
    pub authentication: PubKeyDigest,
    pub encryption_version: EncryptionVersion,
    pub encryption: PubKeyDigest,
}

/// `DataEncryptionInfo`: which recipient key encrypted the transaction key, and the
/// RSA-encrypted transaction key itself (opaque here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataEncryptionInfo {
    pub encryption_version: EncryptionVersion,
    pub encryption_pub_key_digest: PubKeyDigest,
    /// The transaction key encrypted with the recipient's encryption key.
    pub transaction_key: Vec<u8>,
}

/// `DataDigest` (H005 uploads): the hash of the order data as signed, with the signature
/// version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDigest {
    pub signature_version: SignatureVersion,
    pub digest: Vec<u8>,
}

/// `DateRange` with inclusive start and end dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

/// A generic order `Parameter` (name, value and its XML Schema type name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter {
    pub name: String,
    pub value: String,
    /// The `Type` attribute, an NCName such as `string`.
    pub value_type: String,
}

/// `FileFormat` of H004 FUL/FDL and distributed signature requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileFormat {
    /// Format identifier, e.g. `pain.001.001.03`.
    pub format: String,
    /// Optional two-letter country code.
    pub country_code: Option<String>,
}
