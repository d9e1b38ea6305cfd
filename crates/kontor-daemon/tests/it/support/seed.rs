//! The seed every world starts from (the one shared fixture, `kontor_testkit::seed`), and the
//! keys a NEW user gets from the daemon's own key service.

pub use kontor_testkit::seed::*;

use kontor_daemon::services::keys::ensure_user_keys;
use kontor_documents::{AccountInfo, Bic, Currency, Iban};
use kontor_storage::{EbicsUserId, Store, TenantScope};

/// Generates and stores a NEW user's three keys, as an operator would before INI and HIA
/// (their certificates name the user, `name`).
pub async fn give_keys(store: &Store, scope: &TenantScope, user: EbicsUserId, name: &str) {
    let generated = ensure_user_keys(store, scope, user).await.unwrap();
    assert_eq!(generated.len(), 3, "{name} had no keys yet");
}

/// ACME's EUR account `iban` as a bank's statements describe it, for generated ledgers.
pub fn statement_account(iban: &str) -> AccountInfo {
    AccountInfo {
        iban: Iban::parse(iban).unwrap(),
        bic: Bic::parse("COBADEFFXXX").unwrap(),
        currency: Currency::EUR,
        holder: "ACME GmbH".into(),
    }
}
