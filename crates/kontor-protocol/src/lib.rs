//! # kontor-protocol
//!
//! Everything Kontor knows about EBICS that does not need a network or a database:
//! keys and their hashes, INI/HIA letters, X.509 certificates, the A005/A006 electronic
//! signature, the X002 authentication signature (XML-DSig with canonical XML), the E002
//! encryption, compression and segmentation, and the H004/H005 request and response messages.
//!
//! Invariant: this crate performs no I/O. Callers hand it bytes and get bytes back.

pub mod version;

pub use version::{AuthenticationVersion, EncryptionVersion, ProtocolVersion, SignatureVersion};
