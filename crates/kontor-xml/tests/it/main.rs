//! kontor-xml's integration tests, one binary for the crate (every test binary is linked on
//! its own, which costs CI minutes). Modules are named after what they test.

mod policy;
