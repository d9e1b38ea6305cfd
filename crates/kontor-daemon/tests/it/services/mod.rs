//! The business workflows.

mod certificates;
mod failures;
mod onboarding;
mod order_types;
mod orders;
mod scheduler;
mod statement_files;
mod statements;
mod veu;
