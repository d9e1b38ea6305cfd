//! The business workflows.

mod onboarding;
mod orders;
mod scheduler;
mod statement_files;
mod statements;
mod veu;
