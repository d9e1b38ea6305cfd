//! # kontor-protocol
//!
//! Everything Kontor knows about EBICS that does not need a network or a database:
//! keys and their hashes, INI/HIA letters, X.509 certificates, the A005/A006 electronic
//! signature, the X002 authentication signature (XML-DSig with canonical XML), the E002
//! encryption, compression and segmentation, and the H004/H005 request and response messages.
//!
//! Invariant: this crate performs no I/O. Callers hand it bytes and get bytes back.

/// Implements the text codes of a field-less enum from one table: `$as_str` gives each
/// variant's code, and `FromStr` accepts exactly those codes (anything else is `$err`).
macro_rules! text_codes {
    (
        $ty:ident,
        $(#[$doc:meta])* $as_str:ident,
        { $($variant:ident => $code:literal),+ $(,)? },
        |$other:ident| -> $err_ty:ty $err:block
    ) => {
        impl $ty {
            $(#[$doc])*
            pub fn $as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $code,)+
                }
            }
        }

        impl std::str::FromStr for $ty {
            type Err = $err_ty;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($code => Ok(Self::$variant),)+
                    $other => Err($err),
                }
            }
        }
    };
}

pub mod c14n;
pub mod certificate;
pub mod compression;
pub mod encryption;
pub mod envelope;
pub mod keys;
pub mod letters;
pub mod lexical;
pub mod order_type;
pub mod orderdata;
pub mod return_code;
pub mod segmentation;
pub mod signature;
pub mod version;
pub mod xmldsig;

pub use version::{
    AuthenticationVersion, EncryptionVersion, KeyVersion, ProtocolVersion, SignatureVersion,
};
