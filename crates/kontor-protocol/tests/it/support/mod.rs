//! Fixtures shared by every test module: keys generated once, order data, one sample of every
//! envelope and order-data document, and the external tools of the cross-checks.

use kontor_protocol::ProtocolVersion;

pub mod data;
pub mod envelopes;
pub mod hostile;
pub mod keys;
pub mod orderdata;
pub mod tools;

/// The protocol versions Kontor speaks.
pub const VERSIONS: [ProtocolVersion; 2] = [ProtocolVersion::H004, ProtocolVersion::H005];
