//! Bounded memory for uploads: a payment file far larger than a segment becomes an order the
//! way the API makes one (the body streamed to disk, kept below the data directory), is
//! signed, and is submitted to the emulator while the process doing it never holds the whole
//! file.
//!
//! The emulator runs in the test process (it holds what it receives, and verifies the
//! electronic signature and the document as always), and so does the order's creation (the
//! document is parsed whole to validate it); the submission (reading the stored file, digest,
//! compression, E002, segments into the spool, the transfer) runs in a child process (see
//! `support::child`), whose peak resident memory is the submission's alone.

use kontor_daemon::services::orders::received::create_order_from_body;
use kontor_daemon::services::orders::{submit, CreateOrder, SubmitOutcome, Submitter};
use kontor_protocol::order_type::OrderType;
use kontor_protocol::ProtocolVersion::H005;
use kontor_storage::{Order, OrderId, OrderStatus, SignatureClass, SignatureRule, StoredFile};
use sha2::{Digest, Sha256};

use crate::support::child::{peak_rss_kib, Daemon, Task};
use crate::support::emulator::{ready_world, World};
use crate::support::payments::pain001;
use crate::support::TestDb;

/// The payment file's least size: the daemon side must stay well below it.
const ORDER_BYTES: usize = 64 << 20;
const CHILD_TEST: &str = "services::bounded_upload::bounded_upload_child";

on_both_databases! {
    payment_file_larger_than_memory_is_uploaded_without_holding_it => flow;
}

async fn flow(db: TestDb) {
    let w = ready_world(db, H005).await;
    w.describe_bank(&["CCT"]).await;
    w.permit("CCT", SignatureClass::E).await;

    // Many small transfers: a valid pain.001 the bank parses and checks like any other.
    let content = large_pain001(ORDER_BYTES);
    let sha256 = hex::encode(Sha256::digest(&content));
    let order = signed_order_from_body(&w, &content).await;
    drop(content);
    let file: StoredFile = w.tx().await.get(order.content_file_id).await.unwrap();
    let tenant_dir = format!("orders/{}/", w.scope.tenant());
    assert!(
        file.content.is_none() && file.path.as_ref().unwrap().starts_with(&tenant_dir),
        "kept on disk below the tenant's directory: {:?}",
        file.path
    );
    assert_eq!(file.sha256, sha256);

    let task = Task::of(&w, &[order.id.to_string()]);
    let fields = task.run(CHILD_TEST, "bounded-upload").await;
    let [segments, baseline_kib, peak_kib] = [0, 1, 2].map(|i| fields[i].parse::<u64>().unwrap());

    // The bank took the document whole, with the signature it verified over it.
    let received = w.bank.state().received_orders();
    let received = received.last().expect("the bank received the order");
    assert_eq!(received.sha256, sha256);
    assert_eq!(received.signatures.len(), 1);
    let order: Order = w.tx().await.get(order.id).await.unwrap();
    assert_eq!(order.status, OrderStatus::Processing);
    assert!(segments > 1, "{segments} segments");
    // Holding the file once (or its segments) would grow the child by more than this.
    let growth = peak_kib.saturating_sub(baseline_kib);
    println!(
        "submitted {} MiB in {segments} segments; the child grew by {} MiB",
        ORDER_BYTES >> 20,
        growth / 1024
    );
    assert!(
        growth * 1024 < ORDER_BYTES as u64 / 2,
        "the child grew by {} MiB while submitting a {} MiB file (baseline {baseline_kib} KiB)",
        growth / 1024,
        ORDER_BYTES >> 20
    );
}

/// Creates a CCT order from `content` received as a request body is (1 MiB chunks), and signs
/// it with the user's own key.
async fn signed_order_from_body(w: &World, content: &[u8]) -> Order {
    let chunks = content.chunks(1 << 20).map(Ok::<_, std::io::Error>);
    let received = create_order_from_body(
        &w.services,
        &w.scope,
        CreateOrder {
            user: w.user,
            content: Vec::new(),
            signature_rule: SignatureRule::Standard,
            idempotency_key: None,
            order_type: Some(OrderType::CCT),
            service: None,
        },
        futures::stream::iter(chunks),
        u64::MAX,
    )
    .await
    .unwrap();
    let order = w.signed_by_user(received.created.order.id, content).await;
    assert_eq!(order.status, OrderStatus::Signed);
    order
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
    let Some(daemon) = Daemon::connect("bounded-upload").await else {
        return;
    };
    // After connecting: what the submission adds is measured, not the database driver's setup.
    let baseline_kib = peak_rss_kib();
    let [order] = &daemon.extra[..] else {
        panic!("task: {:?}", daemon.extra);
    };
    let submitter = Submitter::new("bounded-upload-child");
    let order = order.parse::<OrderId>().unwrap();
    let outcome = submit(
        &daemon.store,
        &daemon.client,
        &submitter,
        &daemon.scope,
        order,
    )
    .await
    .unwrap();
    let SubmitOutcome::Accepted(order) = outcome else {
        panic!("{outcome:?}");
    };
    let transaction = order.transaction_id.expect("the upload's transaction");
    let mut tx = daemon.store.scope(&daemon.scope).begin().await.unwrap();
    let transaction: kontor_storage::Transaction = tx.get(transaction).await.unwrap();
    tx.commit().await.unwrap();
    println!(
        "bounded-upload {} {baseline_kib} {}",
        transaction.num_segments.unwrap_or_default(),
        peak_rss_kib()
    );
}
