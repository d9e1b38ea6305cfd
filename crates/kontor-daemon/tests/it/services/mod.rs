//! The business workflows.

mod failures;
mod key_changes;
mod onboarding;
mod order_types;
mod orders;
mod payments;
mod scheduler;
mod statement_files;
mod statements;
mod veu;
mod webhooks;
