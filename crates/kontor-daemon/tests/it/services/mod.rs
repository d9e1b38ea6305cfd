//! The business workflows.

mod bank_keys;
mod bank_parameters;
mod failures;
mod onboarding;
mod order_types;
mod orders;
mod scheduler;
mod statement_files;
mod statements;
mod suspension;
mod veu;
