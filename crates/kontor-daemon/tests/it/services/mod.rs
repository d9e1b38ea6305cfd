//! The business workflows.

mod failures;
mod onboarding;
mod order_types;
mod orders;
mod scheduler;
mod statements;
mod veu;
