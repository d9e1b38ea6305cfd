//! Bounded memory for uploads: a payment file far larger than a segment, stored on disk, is
//! uploaded to the emulator while the process doing it never holds the whole file.
//!
//! The emulator runs in the test process (it holds what it receives, and verifies the
//! electronic signature and the document as always); the daemon's work (reading the stored
//! file, digest, compression, E002, segments into the spool, the transfer) runs in a child
//! process (see `support::child`), whose peak resident memory is the upload's alone.

use kontor_daemon::ebics::{OrderData, UploadRequest};
use kontor_protocol::order_type::OrderType;
use kontor_protocol::orderdata::OrderSignatureData;
use kontor_protocol::signature::sign_order_data;
use kontor_protocol::ProtocolVersion::H005;
use kontor_protocol::SignatureVersion;
use kontor_storage::{FileBody, FileId, FileKind, NewFile, SignatureClass, StoredFile};
use sha2::{Digest, Sha256};

use crate::support::child::{peak_rss_kib, Daemon, Task};
use crate::support::emulator::{world, Setup};
use crate::support::payments::pain001;
use crate::support::TestDb;

/// The payment file's least size: the daemon side must stay well below it.
const ORDER_BYTES: usize = 64 << 20;
/// What the child reads its task from; unset, the child test does nothing.
const CHILD_ENV: &str = "KONTOR_BOUNDED_UPLOAD_CHILD";
const CHILD_TEST: &str = "services::bounded_upload::bounded_upload_child";

on_both_databases! {
    payment_file_larger_than_memory_is_uploaded_without_holding_it => flow;
}

async fn flow(db: TestDb) {
    let w = world(db, Setup::new(H005)).await;
    w.ready().await;
    w.describe_bank(&["CCT"]).await;
    w.permit("CCT", SignatureClass::E).await;

    // Many small transfers: a valid pain.001 the bank parses and checks like any other.
    let content = large_pain001(ORDER_BYTES);
    let relative = "orders/large-pain001.xml";
    std::fs::create_dir_all(w.data_dir.path().join("orders")).unwrap();
    std::fs::write(w.data_dir.path().join(relative), &content).unwrap();
    let sha256 = hex::encode(Sha256::digest(&content));
    let mut tx = w.db.store.scope(&w.scope).begin().await.unwrap();
    let file: StoredFile = tx
        .files()
        .create(NewFile {
            kind: FileKind::OrderContent,
            body: FileBody::OnDisk {
                path: relative.into(),
                size: content.len() as i64,
                sha256: sha256.clone(),
            },
            content_type: "application/xml".into(),
        })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let key = w.signing_key(w.user).await;
    let signature = sign_order_data(SignatureVersion::A006, &key, &content).unwrap();
    drop(content);

    let task = Task::of(
        &w,
        &[
            file.id.to_string(),
            w.partner_id.clone(),
            w.user_id.clone(),
            hex::encode(&signature),
        ],
    );
    let fields = task.run(CHILD_TEST, CHILD_ENV, "bounded-upload").await;
    let [segments, baseline_kib, peak_kib] = [0, 1, 2].map(|i| fields[i].parse::<u64>().unwrap());

    // The bank took the document whole, with the signature it verified over it.
    let received = w.bank.state().received_orders();
    let order = received.last().expect("the bank received the order");
    assert_eq!(order.sha256, sha256);
    assert_eq!(order.signatures.len(), 1);
    assert!(segments > 1, "{segments} segments");
    // Holding the file once (or its segments) would grow the child by more than this.
    let growth = peak_kib.saturating_sub(baseline_kib);
    println!(
        "uploaded {} MiB in {segments} segments; the child grew by {} MiB",
        ORDER_BYTES >> 20,
        growth / 1024
    );
    assert!(
        growth * 1024 < ORDER_BYTES as u64 / 2,
        "the child grew by {} MiB while uploading a {} MiB file (baseline {baseline_kib} KiB)",
        growth / 1024,
        ORDER_BYTES >> 20
    );
}

/// A pain.001 of at least `bytes`, one small transfer after the other, each to a creditor
/// of its own name (so the file does not compress into a single segment).
fn large_pain001(bytes: usize) -> Vec<u8> {
    let names: Vec<String> = (0..bytes / 400)
        .map(|i| {
            format!(
                "Creditor {}",
                &hex::encode(Sha256::digest(i.to_le_bytes()))[..48]
            )
        })
        .collect();
    let creditors: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "0.01")).collect();
    let content = pain001("LARGE-UPLOAD-1", &creditors);
    assert!(content.len() >= bytes, "{} bytes", content.len());
    content
}

/// The daemon side, run by [`flow`] in a child process: prints `bounded-upload segments
/// baseline peak`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the child process of payment_file_larger_than_memory_is_uploaded_without_holding_it"]
async fn bounded_upload_child() {
    let Some(daemon) = Daemon::connect(CHILD_ENV, "bounded-upload").await else {
        return;
    };
    // After connecting: what the upload adds is measured, not the database driver's setup.
    let baseline_kib = peak_rss_kib();
    let [file, partner_id, user_id, signature] = &daemon.extra[..] else {
        panic!("task: {:?}", daemon.extra);
    };
    let mut tx = daemon.store.scope(&daemon.scope).begin().await.unwrap();
    let file: StoredFile = tx.get(file.parse::<FileId>().unwrap()).await.unwrap();
    tx.commit().await.unwrap();
    let signature = OrderSignatureData {
        signature_version: SignatureVersion::A006,
        signature_value: hex::decode(signature).unwrap(),
        partner_id: partner_id.clone(),
        user_id: user_id.clone(),
        x509: None,
    };
    let request = UploadRequest::new(OrderType::CCT, OrderData::Stored(file), vec![signature]);
    let outcome = daemon
        .client
        .upload(&daemon.scope, daemon.user, request)
        .await
        .unwrap();
    assert_eq!(outcome.return_code, "000000");
    let mut tx = daemon.store.scope(&daemon.scope).begin().await.unwrap();
    let transaction: kontor_storage::Transaction = tx.get(outcome.transaction).await.unwrap();
    tx.commit().await.unwrap();
    println!(
        "bounded-upload {} {baseline_kib} {}",
        transaction.num_segments.unwrap_or_default(),
        peak_rss_kib()
    );
}
