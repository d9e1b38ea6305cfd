//! The admin HTTP API.

mod behaviour;
mod large_files;
mod routes;
mod tenancy;
