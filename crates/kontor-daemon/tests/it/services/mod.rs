//! The business workflows.

mod onboarding;
mod orders;
mod scheduler;
mod statements;
mod veu;
