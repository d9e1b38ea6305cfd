//! # kontor-protocol
//!
//! Everything Kontor knows about EBICS that does not need a network or a database:
//! keys and their hashes, INI/HIA letters, X.509 certificates, the A005/A006 electronic
//! signature, the X002 authentication signature (XML-DSig with canonical XML), the E002
//! encryption, compression and segmentation, and the H004/H005 request and response messages.
//!
//! Invariant: this crate performs no I/O. Callers hand it bytes and get bytes back.

pub mod c14n;
pub mod certificate;
pub mod compression;
pub mod encryption;
pub mod envelope;
pub mod keys;
pub mod letters;
pub mod order_type;
pub mod orderdata;
pub mod return_code;
pub mod segmentation;
pub mod signature;
pub mod version;
pub mod xmldsig;

pub use version::{AuthenticationVersion, EncryptionVersion, ProtocolVersion, SignatureVersion};
