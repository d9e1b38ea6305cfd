//! The admin HTTP API.

mod behaviour;
mod routes;
