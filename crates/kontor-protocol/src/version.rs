//! EBICS protocol versions and the key versions they use.

use std::fmt;

use crate::certificate::KeyPurpose;

/// An EBICS protocol version as it appears in the `Version` attribute of a request.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub enum ProtocolVersion {
    /// EBICS 2.4
    H003,
    /// EBICS 2.5
    H004,
    /// EBICS 3.0 (BTF order parameters, X.509 certificates)
    H005,
    /// EBICS 3.1/3.2 (announced; treated like H005 where supported)
    H006,
}

impl ProtocolVersion {
    /// The EBICS XML namespace of this version.
    pub fn namespace(self) -> &'static str {
        match self {
            Self::H003 => "http://www.ebics.org/H003",
            Self::H004 => "urn:org:ebics:H004",
            Self::H005 => "urn:org:ebics:H005",
            Self::H006 => "urn:org:ebics:H006",
        }
    }

    /// The `Revision` attribute value that goes with this version.
    pub fn revision(self) -> u8 {
        1
    }

    /// Whether order types are expressed as BTF service parameters (H005+).
    pub fn uses_btf(self) -> bool {
        matches!(self, Self::H005 | Self::H006)
    }

    /// Whether a subscriber's keys travel, are hashed and are shown in letters as X.509
    /// certificates (EBICS 3.0, H005+) rather than as bare RSA keys (H003/H004).
    pub fn uses_certificates(self) -> bool {
        matches!(self, Self::H005 | Self::H006)
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A protocol version string that Kontor does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown EBICS protocol version {0:?} (expected H003, H004, H005 or H006)")]
pub struct UnknownProtocolVersion(pub String);

text_codes!(
    ProtocolVersion,
    /// The string used in XML (`H004`, `H005`, ...).
    as_str,
    { H003 => "H003", H004 => "H004", H005 => "H005", H006 => "H006" },
    |other| -> UnknownProtocolVersion { UnknownProtocolVersion(other.to_owned()) }
);

/// The version of a user's electronic signature key (ES): A005 is RSA PKCS#1 v1.5 over SHA-256,
/// A006 is RSA-PSS over SHA-256.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub enum SignatureVersion {
    A005,
    A006,
}

/// The version of the authentication key: X002 is RSA-SHA256 over canonical XML.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub enum AuthenticationVersion {
    X002,
}

/// The version of the encryption key: E002 is AES-128-CBC with an RSA PKCS#1 v1.5 wrapped key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub enum EncryptionVersion {
    E002,
}

/// A version string that names no key version Kontor supports.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported key version {0:?}")]
pub struct UnknownKeyVersion(pub String);

text_codes!(
    SignatureVersion,
    as_str,
    { A005 => "A005", A006 => "A006" },
    |other| -> UnknownKeyVersion { UnknownKeyVersion(other.to_owned()) }
);

text_codes!(
    AuthenticationVersion,
    as_str,
    { X002 => "X002" },
    |other| -> UnknownKeyVersion { UnknownKeyVersion(other.to_owned()) }
);

text_codes!(
    EncryptionVersion,
    as_str,
    { E002 => "E002" },
    |other| -> UnknownKeyVersion { UnknownKeyVersion(other.to_owned()) }
);

/// A key's version, whichever of its three purposes it serves: what a stored key pair or a
/// bank key names, so that one value says both how the key is used and for what.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub enum KeyVersion {
    A005,
    A006,
    X002,
    E002,
}

impl KeyVersion {
    /// What a key of this version is for.
    pub fn purpose(self) -> KeyPurpose {
        match self {
            Self::A005 | Self::A006 => KeyPurpose::Signature,
            Self::X002 => KeyPurpose::Authentication,
            Self::E002 => KeyPurpose::Encryption,
        }
    }

    /// The signature version, if this is a signature key's version.
    pub fn signature(self) -> Option<SignatureVersion> {
        match self {
            Self::A005 => Some(SignatureVersion::A005),
            Self::A006 => Some(SignatureVersion::A006),
            Self::X002 | Self::E002 => None,
        }
    }

    /// The authentication version, if this is an authentication key's version.
    pub fn authentication(self) -> Option<AuthenticationVersion> {
        (self == Self::X002).then_some(AuthenticationVersion::X002)
    }

    /// The encryption version, if this is an encryption key's version.
    pub fn encryption(self) -> Option<EncryptionVersion> {
        (self == Self::E002).then_some(EncryptionVersion::E002)
    }
}

impl From<SignatureVersion> for KeyVersion {
    fn from(version: SignatureVersion) -> Self {
        match version {
            SignatureVersion::A005 => Self::A005,
            SignatureVersion::A006 => Self::A006,
        }
    }
}

impl From<AuthenticationVersion> for KeyVersion {
    fn from(version: AuthenticationVersion) -> Self {
        match version {
            AuthenticationVersion::X002 => Self::X002,
        }
    }
}

impl From<EncryptionVersion> for KeyVersion {
    fn from(version: EncryptionVersion) -> Self {
        match version {
            EncryptionVersion::E002 => Self::E002,
        }
    }
}

/// A key of `self`'s version verifies (or makes) signatures of `other`'s version.
impl PartialEq<SignatureVersion> for KeyVersion {
    fn eq(&self, other: &SignatureVersion) -> bool {
        *self == Self::from(*other)
    }
}

text_codes!(
    KeyVersion,
    /// The code as EBICS writes it (`A006`, `X002`, ...).
    as_str,
    { A005 => "A005", A006 => "A006", X002 => "X002", E002 => "E002" },
    |other| -> UnknownKeyVersion { UnknownKeyVersion(other.to_owned()) }
);

impl fmt::Display for KeyVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_round_trips_through_its_string() {
        for v in [
            ProtocolVersion::H003,
            ProtocolVersion::H004,
            ProtocolVersion::H005,
            ProtocolVersion::H006,
        ] {
            assert_eq!(v.as_str().parse::<ProtocolVersion>(), Ok(v));
        }
        assert!("H007".parse::<ProtocolVersion>().is_err());
    }

    #[test]
    fn key_version_names_its_purpose_and_its_narrower_version() {
        for (text, purpose) in [
            ("A005", KeyPurpose::Signature),
            ("A006", KeyPurpose::Signature),
            ("X002", KeyPurpose::Authentication),
            ("E002", KeyPurpose::Encryption),
        ] {
            let version: KeyVersion = text.parse().expect(text);
            assert_eq!(version.as_str(), text);
            assert_eq!(version.purpose(), purpose);
            let narrower = [
                version.signature().map(SignatureVersion::as_str),
                version.authentication().map(AuthenticationVersion::as_str),
                version.encryption().map(EncryptionVersion::as_str),
            ];
            assert_eq!(narrower.into_iter().flatten().collect::<Vec<_>>(), [text]);
        }
        assert_eq!(KeyVersion::A006, SignatureVersion::A006);
        assert_ne!(KeyVersion::A005, SignatureVersion::A006);
        assert_ne!(KeyVersion::X002, SignatureVersion::A006);
        assert!("a006".parse::<KeyVersion>().is_err());
    }
}
