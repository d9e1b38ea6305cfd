//! The seed every world starts from (the one shared fixture, `kontor_testkit::seed`), and the
//! keys a NEW user gets from the daemon's own key service.

pub use kontor_testkit::seed::*;

use kontor_daemon::services::keys::ensure_user_keys;
use kontor_storage::{EbicsUserId, Store, TenantScope};

/// Generates and stores a NEW user's three keys, as an operator would before INI and HIA
/// (their certificates name the user, `name`).
pub async fn give_keys(store: &Store, scope: &TenantScope, user: EbicsUserId, name: &str) {
    let generated = ensure_user_keys(store, scope, user).await.unwrap();
    assert_eq!(generated.len(), 3, "{name} had no keys yet");
}
