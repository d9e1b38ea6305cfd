//! API read path: clients list booked transactions over HTTP from an in-process daemon whose
//! tenant holds 100 000 bookings, walking pages as a UI scrolling would. Prints requests per
//! second and the 99th percentile latency against the targets of issue 15, and the CPU time
//! per request of the daemon apart from the clients': the clients run on threads of their own
//! (named [`CLIENT_THREAD`]), whose CPU time is read per thread from `/proc`.

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use kontor_documents::CreditDebit;
use kontor_storage::NewBookedTransaction;
use serde::Deserialize;

use crate::daemon::{on_each_database, seconds_from_env, Bench};
use crate::measure::Report;

/// Targets from issue 15.
const REQUESTS_PER_S_TARGET: f64 = 2_000.0;
const P99_MS_TARGET: f64 = 5.0;
const ROWS: u32 = 100_000;
const CLIENTS: usize = 8;
const PAGES_PER_WALK: usize = 5;
/// The clients' threads; everything else in the process is the daemon's (the HTTP server,
/// the services, the database driver; the PostgreSQL server's CPU is not in the process).
const CLIENT_THREAD: &str = "bench-client";
const CLIENT_THREADS: usize = 2;
/// The name of the PostgreSQL server's processes (the postmaster and one per connection).
const POSTGRES_PROCESS: &str = "postgres";

/// CPU time per request, of the daemon, of the clients and of the PostgreSQL server.
struct CpuPerRequest {
    daemon: Duration,
    clients: Duration,
    /// The PostgreSQL server's processes on this machine (zero on SQLite).
    server: Duration,
}

/// Runs the load on each database; `KONTOR_BENCH_API_SECONDS` (default 10) per database.
pub fn run(report: &mut Report) {
    on_each_database(
        report,
        |database| format!("API list bookings, {database}, {CLIENTS} clients"),
        seconds_from_env("KONTOR_BENCH_API_SECONDS", 10),
        load,
        |report, database, name, (per_s, p99, cpu)| {
            report.record(name, per_s, "req/s", REQUESTS_PER_S_TARGET, false);
            report.record(
                &format!("API list bookings, {database}, p99"),
                p99.as_secs_f64() * 1e3,
                "ms",
                P99_MS_TARGET,
                true,
            );
            // CPU time rises less than wall time on a loaded machine: the cost to compare
            // across runs there. The daemon's share bounds its throughput: on N cores it
            // serves at most N / (daemon CPU per request) requests per second.
            report.note(
                &format!("API list bookings, {database}, daemon CPU per request"),
                cpu.daemon.as_secs_f64() * 1e6,
                "µs",
            );
            report.note(
                &format!("API list bookings, {database}, clients' CPU per request"),
                cpu.clients.as_secs_f64() * 1e6,
                "µs",
            );
            if !cpu.server.is_zero() {
                report.note(
                    &format!("API list bookings, {database}, server CPU per request"),
                    cpu.server.as_secs_f64() * 1e6,
                    "µs",
                );
            }
        },
    );
}

/// The part of a page the client reads: `items` are skipped, not built.
#[derive(Deserialize)]
struct Page {
    next_cursor: Option<String>,
}

async fn load(database: &str, duration: Duration) -> (f64, Duration, CpuPerRequest) {
    let bench = Bench::new(database).await;
    let base = NaiveDate::from_ymd_opt(2025, 1, 1).expect("date");
    let started = Instant::now();
    for chunk in (0..ROWS).collect::<Vec<_>>().chunks(5_000) {
        let mut tx = bench.begin().await;
        let bookings = chunk.iter().map(|&i| NewBookedTransaction {
            account_id: bench.account,
            statement_id: None,
            booking_date: base + chrono::Days::new(u64::from(i % 365)),
            value_date: None,
            amount: format!("{}.{:02}", i % 10_000, i % 100)
                .parse()
                .expect("a decimal"),
            currency: "EUR".parse().unwrap(),
            credit_debit: if i % 3 == 0 {
                CreditDebit::Debit
            } else {
                CreditDebit::Credit
            },
            counterparty_name: Some(format!("Counterparty {}", i % 500)),
            counterparty_iban: Some("FR1420041010050500013M02606".parse().unwrap()),
            remittance: Some(format!("Invoice {i}")),
            bank_reference: Some(format!("REF{i}")),
            end_to_end_id: None,
            dedupe_key: format!("bench-{i}"),
        });
        tx.statements()
            .insert_bookings(bookings.collect())
            .await
            .expect("bookings");
        tx.commit().await.expect("commit");
    }
    let seeded = format!("{ROWS} bookings");
    let daemon = bench.start_seeded(&seeded, started).await;
    let address = daemon.api_addr;

    let client_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(CLIENT_THREADS)
        .thread_name(CLIENT_THREAD)
        .enable_all()
        .build()
        .expect("client runtime");
    let http = reqwest::Client::new();
    let cpu_before = crate::daemon::process_cpu();
    let clients_cpu_before = crate::daemon::threads_cpu(CLIENT_THREAD);
    let server_cpu_before = crate::daemon::processes_cpu(POSTGRES_PROCESS);
    let deadline = Instant::now() + duration;
    let mut clients = Vec::new();
    for client in 0..CLIENTS {
        let (http, token, account) = (http.clone(), bench.token.clone(), bench.account);
        clients.push(client_runtime.spawn(async move {
            let mut latencies = Vec::new();
            let mut day = client as u64 * 37;
            while Instant::now() < deadline {
                let from = base + chrono::Days::new(day % 365);
                day += 11;
                let mut cursor: Option<String> = None;
                for _ in 0..PAGES_PER_WALK {
                    let mut uri = format!(
                        "http://{address}/v1/booked-transactions?account={account}&from={from}&limit=100"
                    );
                    if let Some(cursor) = &cursor {
                        uri.push_str("&cursor=");
                        uri.push_str(cursor);
                    }
                    let t = Instant::now();
                    let response = http.get(&uri).bearer_auth(&token).send().await;
                    let body = response.expect("request").error_for_status().expect("200");
                    let page: Page =
                        serde_json::from_slice(&body.bytes().await.expect("body")).expect("page");
                    latencies.push(t.elapsed());
                    match page.next_cursor {
                        Some(next) => cursor = Some(next),
                        None => break,
                    }
                }
            }
            latencies
        }));
    }
    let run_started = Instant::now();
    let mut all = Vec::new();
    for client in clients {
        all.extend(client.await.expect("client"));
    }
    let elapsed = run_started.elapsed();
    // Read while the client threads live: a thread's CPU time leaves /proc with it.
    let clients_cpu = crate::daemon::threads_cpu(CLIENT_THREAD).saturating_sub(clients_cpu_before);
    let cpu = crate::daemon::process_cpu().saturating_sub(cpu_before);
    // Read while the daemon's pool holds its connections, each a server process.
    let server_cpu = match database {
        "PostgreSQL" => crate::daemon::processes_cpu_since(
            &server_cpu_before,
            &crate::daemon::processes_cpu(POSTGRES_PROCESS),
        ),
        _ => Duration::ZERO,
    };
    client_runtime.shutdown_background();
    daemon.shutdown().await;
    bench.store.close().await;
    all.sort();
    let p99 = all[((all.len() as f64 * 0.99) as usize).min(all.len() - 1)];
    eprintln!(
        "  {database}: {} requests in {elapsed:.1?}, p50 {:.2?}, p99 {p99:.2?}",
        all.len(),
        all[all.len() / 2],
    );
    let requests = all.len() as u32;
    let cpu = CpuPerRequest {
        daemon: cpu.saturating_sub(clients_cpu) / requests,
        clients: clients_cpu / requests,
        server: server_cpu / requests,
    };
    (all.len() as f64 / elapsed.as_secs_f64(), p99, cpu)
}
