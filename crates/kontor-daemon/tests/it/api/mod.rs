//! The admin HTTP API.

mod behaviour;
mod large_files;
mod payments;
mod routes;
mod tenancy;
