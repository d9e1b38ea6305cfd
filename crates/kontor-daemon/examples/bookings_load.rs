//! Load generator: lists booked transactions over real HTTP against an in-process API with
//! 100 000 bookings, and reports p50/p99 latency and requests per second.
//!
//! `cargo run --release -p kontor-daemon --example bookings_load -- [rows] [clients] [seconds]`
//! Uses SQLite in a temporary directory, or PostgreSQL when `KONTOR_BENCH_DATABASE_URL` is set
//! (an empty database: the tables are created).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use kontor_daemon::api::{router, AppState};
use kontor_storage::{
    MasterKey, NewAccount, NewBankHost, NewBookedTransaction, NewConnection, Role, Store,
    TenantScope,
};
use secrecy::ExposeSecret;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rows: u32 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let clients: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(8);
    let seconds: u64 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(10);

    let dir = tempfile::tempdir().unwrap();
    let url = std::env::var("KONTOR_BENCH_DATABASE_URL").unwrap_or_else(|_| {
        format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("bench.db").display()
        )
    });
    let store = Store::connect(&url, Arc::new(MasterKey::generate()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let tenant = store
        .admin()
        .create_tenant(&format!("bench-{}", uuid::Uuid::new_v4()))
        .await
        .unwrap();
    let operator = store
        .admin()
        .create_operator(
            &format!("{}@bench", uuid::Uuid::new_v4()),
            "bench",
            tenant.id,
            Role::Viewer,
        )
        .await
        .unwrap();
    let token = store
        .admin()
        .issue_token(operator.id, "bench", None)
        .await
        .unwrap();
    let token = token.secret.expose_secret().to_owned();

    let scope = TenantScope::system_job(tenant.id, "bench setup");
    let mut tx = store.scope(&scope).begin().await.unwrap();
    let host = tx
        .bank_hosts()
        .create(NewBankHost {
            host_id: "BENCH".into(),
            name: "Bench".into(),
            url: "https://bank.example".into(),
            protocol_version: "H004".parse().unwrap(),
            btf: false,
            production: false,
            ca_bundle_pem: None,
        })
        .await
        .unwrap();
    let connection = tx
        .connections()
        .create(NewConnection {
            bank_host_id: host.id,
            partner_id: "P".into(),
            display_name: "P".into(),
        })
        .await
        .unwrap();
    let account = tx
        .accounts()
        .create(
            connection.id,
            NewAccount {
                iban: Some("DE89370400440532013000".into()),
                holder_name: "Bench".into(),
                currency: "EUR".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let started = Instant::now();
    let base = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    for chunk in (0..rows).collect::<Vec<_>>().chunks(5_000) {
        let mut tx = store.scope(&scope).begin().await.unwrap();
        for &i in chunk {
            tx.statements()
                .insert_booking(NewBookedTransaction {
                    account_id: account.id,
                    statement_id: None,
                    booking_date: base + chrono::Days::new(u64::from(i % 365)),
                    value_date: None,
                    amount: format!("{}.{:02}", i % 10_000, i % 100),
                    currency: "EUR".into(),
                    credit_debit: if i % 3 == 0 { "DBIT" } else { "CRDT" }.into(),
                    counterparty_name: Some(format!("Counterparty {}", i % 500)),
                    counterparty_iban: Some("FR1420041010050500013M02606".into()),
                    remittance: Some(format!("Invoice {i}")),
                    bank_reference: Some(format!("REF{i}")),
                    end_to_end_id: None,
                    dedupe_key: format!("bench-{i}"),
                })
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
    }
    eprintln!(
        "seeded {rows} bookings in {:.1?} ({:?})",
        started.elapsed(),
        store.backend()
    );

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = router(AppState::new(store.clone()));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let deadline = Instant::now() + Duration::from_secs(seconds);
    let http = reqwest::Client::new();
    let mut tasks = Vec::new();
    for client in 0..clients {
        let (http, token) = (http.clone(), token.clone());
        let account = account.id;
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut day = client as u64 * 37;
            while Instant::now() < deadline {
                // A reader walking five pages from a date, as a UI scrolling would.
                let from = base + chrono::Days::new(day % 365);
                day += 11;
                let mut after: Option<String> = None;
                for _ in 0..5 {
                    let mut uri = format!("http://{address}/v1/booked-transactions?account={account}&from={from}&limit=100");
                    if let Some(a) = &after {
                        uri.push_str(&format!("&after={a}"));
                    }
                    let t = Instant::now();
                    let response = http.get(&uri).bearer_auth(&token).send().await.unwrap();
                    assert!(response.status().is_success());
                    let page: serde_json::Value =
                        serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
                    latencies.push(t.elapsed());
                    match page["next"].as_str() {
                        Some(next) => after = Some(next.to_owned()),
                        None => break,
                    }
                }
            }
            latencies
        }));
    }
    let run_started = Instant::now();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let elapsed = run_started.elapsed();
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    println!(
        "{:?}, {rows} rows, {clients} clients, {:.1?}: {} requests, {:.0} req/s, p50 {:.2?}, p99 {:.2?}",
        store.backend(),
        elapsed,
        all.len(),
        all.len() as f64 / elapsed.as_secs_f64(),
        pct(0.50),
        pct(0.99),
    );
}
