//! Order-data documents: round trips, documents as banks write them, damaged input and the
//! official schemas.

mod bank_samples;
mod malformed;
mod roundtrip;
mod schema;
