//! HPD at sync: the bank's parameters are stored on the host, shown with the user's
//! capabilities and honoured: a bank without recovery gets no recovery requests, an
//! interrupted transfer ends instead. H004 and H005, on SQLite and PostgreSQL.

use kontor_bank::{FaultAction, FaultMatcher, TransactionPhase as BankPhase};
use kontor_daemon::ebics::{EbicsError, RetryPolicy};
use kontor_daemon::services::onboarding::sync_user_data;
use kontor_protocol::order_type::OrderType;
use kontor_protocol::ProtocolVersion::{self, H004, H005};
use kontor_storage::{BankHost, TransactionPhase};
use kontor_storage::{KontorFailure, ResultCode};

use crate::support::emulator::{small_segment_bank, world, Setup};
use crate::support::TestDb;

async fn a_bank_without_recovery_gets_no_recovery_requests(db: TestDb, version: ProtocolVersion) {
    let mut setup = Setup::new(version);
    setup.bank = small_segment_bank();
    setup.bank.bank.recovery = false;
    setup.retry = RetryPolicy::immediate(2);
    let w = world(db, setup).await;
    w.ready().await;
    sync_user_data(&w.db.store, &w.client, &w.scope, w.user)
        .await
        .unwrap();
    let host: BankHost = w.tx().await.get(w.host).await.unwrap();
    let parameters = host.bank_parameters.expect("HPD stored at sync");
    assert_eq!(parameters.protocol.recovery, Some(false));
    assert!(parameters
        .protocol
        .protocol_versions
        .contains(&"H004".to_owned()));
    assert!(parameters
        .protocol
        .protocol_versions
        .contains(&"H005".to_owned()));
    assert_eq!(parameters.protocol.client_data_download, Some(true));
    assert_eq!(parameters.protocol.signature_versions, ["A005", "A006"]);

    // The connection drops at segment 3 more often than the session retries.
    w.fault(
        FaultMatcher {
            phase: Some(BankPhase::Transfer),
            segment: Some(3),
            ..Default::default()
        },
        FaultAction::DropConnection,
        Some(2),
    );
    let failed = w.download_days(OrderType::STA, 5).await.unwrap_err();
    assert!(matches!(failed, EbicsError::Transport(_)), "{failed}");
    let stuck = w.transactions().await.pop().unwrap();
    assert_eq!(stuck.phase, TransactionPhase::Transfer);
    let served_before = w.bank.state().served_downloads().len();

    let report = w.client.recover_unfinished().await.unwrap();
    assert_eq!(report.ended, vec![stuck.id], "{report:?}");
    let ended = w.transaction(stuck.id).await;
    assert_eq!(ended.phase, TransactionPhase::Failed);
    assert_eq!(
        ended.failure_code,
        Some(ResultCode::Kontor(KontorFailure::RecoveryUnsupported))
    );
    assert_eq!(
        w.bank.state().served_downloads().len(),
        served_before,
        "no recovery request reached the bank"
    );
}

on_both_databases! {
    h004_bank_without_recovery_gets_no_recovery_requests =>
        |db| a_bank_without_recovery_gets_no_recovery_requests(db, H004);
    h005_bank_without_recovery_gets_no_recovery_requests =>
        |db| a_bank_without_recovery_gets_no_recovery_requests(db, H005);
}
