//! Persisted downloads and uploads against the bank emulator over loopback HTTP, including
//! interruptions, recovery after a lost process and the emulator's fault modes. (A
//! multi-segment C53 and an upload whose answer is lost are checked down to their
//! transactions where the services drive them: `services::statements`, `services::orders`.)

use http_body_util::BodyExt;
use kontor_bank::{FaultAction, FaultMatcher, TransactionPhase as BankPhase};
use kontor_daemon::api::{router, AppState};
use kontor_daemon::ebics::{
    DownloadOutcome, EbicsError, Files, KeySubmission, OrderData, RetryPolicy, UploadRequest,
};
use kontor_daemon::services::statement_files::{ingest_delivered, DeliveredStatements, Reading};
use kontor_daemon::services::Services;
use kontor_protocol::order_type::OrderType;
use kontor_protocol::orderdata::OrderSignatureData;
use kontor_protocol::signature::sign_order_data;
use kontor_protocol::ProtocolVersion::{self, H004, H005};
use kontor_protocol::SignatureVersion;
use kontor_storage::ResultCode;
use kontor_storage::*;
use sha2::{Digest, Sha256};
use tower::ServiceExt;

use crate::support::emulator::{ready_world, small_segment_bank, world, Setup, World};
use crate::support::payments::interop_payment;
use crate::support::TestDb;

async fn downloaded_file(w: &World, outcome: &DownloadOutcome) -> Vec<u8> {
    let DownloadOutcome::Data { file, .. } = outcome else {
        panic!("expected data, got {outcome:?}");
    };
    assert!(file.path.is_some(), "large downloads live on disk");
    w.client.read_file(&w.scope, file.id).await.unwrap()
}

/// A pain.001 signed with the user's own A006 key, as the signer CLI would.
async fn signed_payment(w: &World) -> (Vec<u8>, Vec<OrderSignatureData>) {
    let data = interop_payment();
    let key = w.signing_key(w.user).await;
    let value = sign_order_data(SignatureVersion::A006, &key, &data).unwrap();
    let signature = OrderSignatureData {
        signature_version: SignatureVersion::A006,
        signature_value: value,
        partner_id: w.partner_id.clone(),
        user_id: w.user_id.clone(),
        x509: None,
    };
    (data, vec![signature])
}

/// A READY user at a bank with 4 KiB segments, whose connection drops twice when `segment`
/// of an MT940 download is asked for; `attempts` is the retry policy's.
async fn dropping_world(db: TestDb, segment: u32, attempts: u32) -> World {
    let mut setup = Setup::new(H004);
    setup.bank = small_segment_bank();
    setup.retry = RetryPolicy::immediate(attempts);
    let w = world(db, setup).await;
    w.ready().await;
    w.fault(
        FaultMatcher {
            phase: Some(BankPhase::Transfer),
            segment: Some(segment),
            ..Default::default()
        },
        FaultAction::DropConnection,
        Some(2),
    );
    w
}

async fn five_days_of_mt940(w: &World) -> Result<DownloadOutcome, EbicsError> {
    w.download_days(OrderType::STA, 5).await
}

async fn dropped_connection_is_retried_flow(db: TestDb) {
    let w = dropping_world(db, 2, 4).await;
    let outcome = five_days_of_mt940(&w).await.unwrap();
    let bytes = downloaded_file(&w, &outcome).await;
    assert_eq!(hex::encode(Sha256::digest(&bytes)), w.last_served_sha256());
}

async fn interrupted_download_resumes_flow(db: TestDb) {
    // The connection drops at segment 3 more often than the retry policy tries: the call
    // fails, the transaction stays where it was.
    let w = dropping_world(db, 3, 2).await;
    let failed = five_days_of_mt940(&w).await.unwrap_err();
    assert!(matches!(failed, EbicsError::Transport(_)), "{failed}");
    let stuck = w.transactions().await.pop().unwrap();
    assert_eq!(stuck.phase, TransactionPhase::Transfer);
    assert_eq!(stuck.last_acknowledged_segment, 2);

    let report = w.client.recover_unfinished().await.unwrap();
    assert_eq!(report.completed, vec![stuck.id]);
    let done = w.transaction(stuck.id).await;
    assert_eq!(done.phase, TransactionPhase::Completed);
    let events = w.events(stuck.id).await;
    assert!(events.contains(&TransactionEventKind::RecoveryStarted));
    let mut tx = w.tx().await;
    let file: StoredFile = tx.get(done.file_id.unwrap()).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(file.sha256, w.last_served_sha256());
    // Segments 1 and 2 were not fetched again.
    let received = events
        .iter()
        .filter(|e| **e == TransactionEventKind::SegmentReceived)
        .count() as i64;
    assert_eq!(received, done.num_segments.unwrap());
}

async fn upload_flow(db: TestDb, version: ProtocolVersion) {
    let w = ready_world(db, version).await;
    let (data, signatures) = signed_payment(&w).await;
    let outcome = w
        .client
        .upload(
            &w.scope,
            w.user,
            UploadRequest::new(OrderType::CCT, data.clone(), signatures),
        )
        .await
        .unwrap();
    assert!(outcome.bank_order_id.is_some(), "{outcome:?}");
    let orders = w.bank.state().received_orders();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].sha256, hex::encode(Sha256::digest(&data)));
    let record = w.transaction(outcome.transaction).await;
    assert_eq!(record.phase, TransactionPhase::Completed);
    let events = w.events(outcome.transaction).await;
    assert!(events.contains(&TransactionEventKind::SegmentSent));
}

/// The payment file as the daemon stores a file on disk below its data directory.
async fn stored_on_disk(w: &World, relative: &str, data: &[u8]) -> StoredFile {
    let path = w.data_dir.path().join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, data).unwrap();
    let mut tx = w.tx().await;
    let file = tx
        .files()
        .create(NewFile {
            kind: FileKind::OrderContent,
            body: FileBody::OnDisk {
                path: relative.into(),
                size: data.len() as i64,
                sha256: hex::encode(Sha256::digest(data)),
            },
            content_type: "application/xml".into(),
        })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    file
}

async fn stored_file_upload_flow(db: TestDb) {
    let w = ready_world(db, H005).await;
    let (data, signatures) = signed_payment(&w).await;
    let file = stored_on_disk(&w, "orders/payment.xml", &data).await;
    let request = UploadRequest::new(OrderType::CCT, OrderData::Stored(file.clone()), signatures);
    let outcome = w
        .client
        .upload(&w.scope, w.user, request.clone())
        .await
        .unwrap();
    assert_eq!(outcome.return_code, "000000");
    let orders = w.bank.state().received_orders();
    assert_eq!(orders.len(), 1);
    assert_eq!(
        orders[0].sha256, file.sha256,
        "the bank took the stored file"
    );

    // The file changed on disk since it was stored (and signed): it is not sent, and no
    // transaction or spool is left behind.
    let mut changed = data.clone();
    changed.extend_from_slice(b"<!-- appended -->");
    std::fs::write(w.data_dir.path().join("orders/payment.xml"), &changed).unwrap();
    let transactions = w.transactions().await.len();
    let refused = w.client.upload(&w.scope, w.user, request).await;
    assert!(
        matches!(refused, Err(EbicsError::FileChanged(id)) if id == file.id),
        "{refused:?}"
    );
    assert_eq!(w.bank.state().received_orders().len(), 1);
    assert_eq!(w.transactions().await.len(), transactions);
    let spools: Vec<_> = std::fs::read_dir(w.data_dir.path().join("transfers"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.contains("upload"))
        .collect();
    assert!(spools.is_empty(), "{spools:?}");
}

/// A key change hands its keys over only while they are PENDING: one a newer preparation
/// revoked (here: any key no longer PENDING) stops the upload before it is recorded or sent.
async fn key_no_longer_pending_stops_the_upload_flow(db: TestDb) {
    let w = ready_world(db, H005).await;
    let (data, signatures) = signed_payment(&w).await;
    let mut tx = w.tx().await;
    let active = tx.key_pairs().list_for_user(w.user).await.unwrap()[0].clone();
    tx.commit().await.unwrap();
    assert_ne!(active.status, KeyStatus::Pending);
    let transactions = w.transactions().await.len();
    let request =
        UploadRequest::new(OrderType::CCT, data, signatures).submitting(vec![KeySubmission {
            key: active.id,
            audit_detail: serde_json::json!({}),
        }]);
    let refused = w.client.upload(&w.scope, w.user, request).await;
    assert!(
        matches!(
            refused,
            Err(EbicsError::Storage(StorageError::StaleStatus { .. }))
        ),
        "{refused:?}"
    );
    assert!(w.bank.state().received_orders().is_empty());
    assert_eq!(w.transactions().await.len(), transactions);
    let mut tx = w.tx().await;
    let key = tx.get(active.id).await.unwrap();
    assert_eq!(key.status, active.status, "the key is untouched");
}

async fn server_errors_are_retried_flow(db: TestDb) {
    let w = ready_world(db, H004).await;
    w.fault_in(
        BankPhase::Initialisation,
        FaultAction::HttpStatus { status: 503 },
        Some(2),
    );
    w.fault_in(BankPhase::Receipt, FaultAction::MalformedXml, Some(1));
    let outcome = w.download_days(OrderType::STA, 3).await.unwrap();
    assert!(matches!(outcome, DownloadOutcome::Data { .. }));
}

async fn permanent_refusal_is_recorded_flow(db: TestDb) {
    let w = ready_world(db, H004).await;
    w.fault_in(
        BankPhase::Initialisation,
        FaultAction::ReturnCode {
            code: "091005".into(),
            table: None,
        },
        None,
    );
    let refused = w.download_sta().await.unwrap_err();
    let EbicsError::Bank {
        rejection,
        transaction: Some(id),
        ..
    } = refused
    else {
        panic!("{refused}")
    };
    assert_eq!(rejection.code.as_str(), "091005");
    let record = w.transaction(id).await;
    assert_eq!(record.phase, TransactionPhase::Failed);
    assert_eq!(record.failure_code, Some(ResultCode::Bank("091005".into())));
    assert_eq!(
        w.events(id).await.last(),
        Some(&TransactionEventKind::Failed)
    );
}

/// A downloaded statement is served by the admin API from the data directory, whatever the
/// process's working directory: the body is the bank's statement, byte for byte.
async fn statement_file_is_served_from_the_data_directory_flow(db: TestDb) {
    let w = ready_world(db, H005).await;
    w.describe_bank(&["C53"]).await;
    let outcome = w.download_days(OrderType::C53, 3).await.unwrap();
    let DownloadOutcome::Data { file, .. } = &outcome else {
        panic!("{outcome:?}")
    };
    assert!(file.path.is_some(), "the download lives on disk");
    let bank_bytes = w.client.read_file(&w.scope, file.id).await.unwrap();
    assert_eq!(
        hex::encode(Sha256::digest(&bank_bytes)),
        w.last_served_sha256()
    );
    let reading = Reading::new(&w.db.store, w.client.files());
    let delivered = DeliveredStatements::downloaded(w.user, OrderType::C53, file.id, None);
    let report = ingest_delivered(reading, &w.scope, &delivered)
        .await
        .unwrap();
    assert!(report.statements_new > 0, "{report:?}");

    let operator =
        w.db.store
            .admin()
            .create_operator(
                "viewer@acme.example",
                "Viewer",
                w.scope.tenant(),
                Role::Viewer,
            )
            .await
            .unwrap();
    let token =
        w.db.store
            .admin()
            .issue_token(operator.id, "t", None)
            .await
            .unwrap()
            .secret;
    let services = Services::new(w.db.store.clone()).with_files(Files::new(w.data_dir.path()));
    let app = router(AppState::new(services));
    let get = |uri: String| {
        use secrecy::ExposeSecret;
        let request = axum::http::Request::get(uri)
            .header("authorization", format!("Bearer {}", token.expose_secret()))
            .body(axum::body::Body::empty())
            .unwrap();
        let app = app.clone();
        async move {
            let response = app.oneshot(request).await.unwrap();
            let status = response.status();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            (status, body.to_vec())
        }
    };
    let (status, list) = get("/v1/statements".into()).await;
    assert_eq!(status, 200);
    let list: serde_json::Value = serde_json::from_slice(&list).unwrap();
    let statement = list["items"][0]["id"]
        .as_str()
        .expect("a statement")
        .to_owned();
    let (status, body) = get(format!("/v1/statements/{statement}/file")).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert!(body == bank_bytes, "the file is the bank's statement");
}

on_both_databases! {
    statement_file_is_served_from_the_data_directory => statement_file_is_served_from_the_data_directory_flow;
    dropped_connection_at_a_segment_is_retried => dropped_connection_is_retried_flow;
    interrupted_download_resumes_from_last_acknowledged_segment => interrupted_download_resumes_flow;
    h004_signed_upload_reaches_the_bank_once => |db| upload_flow(db, H004);
    h005_signed_upload_reaches_the_bank_once => |db| upload_flow(db, H005);
    stored_file_is_uploaded_and_refused_once_it_changed => stored_file_upload_flow;
    key_no_longer_pending_stops_the_upload => key_no_longer_pending_stops_the_upload_flow;
    server_errors_and_garbled_answers_are_retried => server_errors_are_retried_flow;
    permanent_refusal_ends_failed_with_the_bank_code => permanent_refusal_is_recorded_flow;
}
