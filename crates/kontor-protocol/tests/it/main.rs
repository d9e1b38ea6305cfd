//! kontor-protocol's integration tests, one binary for the whole crate (every test binary is
//! linked on its own, which costs CI minutes). Modules are named after what they test;
//! `support` holds the fixtures they share.

mod certificates;
mod encryption;
mod envelope;
mod keys;
mod letters;
mod nesting_limits;
mod openssl_interop;
mod orderdata;
mod segmentation;
mod signature;
mod support;
