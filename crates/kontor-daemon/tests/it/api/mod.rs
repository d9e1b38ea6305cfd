//! The admin HTTP API.

mod behaviour;
mod large_files;
mod openapi;
mod payments;
mod routes;
mod tenancy;
