//! EBICS envelopes: build and parse, X002 signatures, the official schemas, an independent
//! XML-DSig implementation, and hostile input.

mod fuzz;
mod roundtrip;
mod schema;
mod xmldsig;
mod xmlsec_interop;
