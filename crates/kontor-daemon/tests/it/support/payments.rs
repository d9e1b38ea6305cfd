//! Payment files: the shared builders of `kontor_testkit::payments`.

pub use kontor_testkit::payments::{interop_payment, pain001, pain008};
