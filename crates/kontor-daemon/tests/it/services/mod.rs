//! The business workflows.

mod bank_keys;
mod bank_parameters;
mod bounded_download;
mod bounded_upload;
mod certificates;
mod failures;
mod key_change_races;
mod key_change_rollover;
mod key_changes;
mod onboarding;
mod order_types;
mod orders;
mod payments;
mod scheduler;
mod statement_files;
mod statements;
mod suspension;
mod veu;
mod webhooks;
