//! Scheduler at rest: an in-process daemon whose tenant has 10 000 EBICS users, each with a
//! daily statement download not due yet, left alone; the process's CPU time over the wait,
//! as a share of one core, against the < 1 % target of issue 15.

use std::time::{Duration, Instant};

use chrono::{Days, Utc};
use kontor_protocol::order_type::OrderType;
use kontor_storage::{NewEbicsUser, NewSchedule, SignatureClass};

use crate::daemon::{on_each_database, process_cpu, seconds_from_env, Bench};
use crate::measure::Report;

/// Target from issue 15: percent of one core.
const IDLE_CPU_TARGET: f64 = 1.0;
const USERS: u32 = 10_000;

/// `KONTOR_BENCH_IDLE_SECONDS` (default 30) of rest per database.
pub fn run(report: &mut Report) {
    on_each_database(
        report,
        |database| format!("idle daemon, {database}, {USERS} daily schedules"),
        seconds_from_env("KONTOR_BENCH_IDLE_SECONDS", 30),
        rest,
        |report, _, name, share| report.record(name, share, "% of a core", IDLE_CPU_TARGET, true),
    );
}

async fn rest(database: &str, wait: Duration) -> f64 {
    let bench = Bench::new(database).await;
    let started = Instant::now();
    // Due tomorrow: nothing runs during the measure, as on a quiet day between downloads.
    let next_run_at = Utc::now() + Days::new(1);
    let mut tx = bench.begin().await;
    for i in 0..USERS {
        let user = tx
            .ebics_users()
            .create(NewEbicsUser {
                connection_id: bench.connection,
                user_id: format!("USER{i:05}"),
                system_id: None,
                name: format!("User {i}"),
                signature_class: SignatureClass::T,
            })
            .await
            .expect("user");
        tx.schedules()
            .create(NewSchedule {
                ebics_user_id: user.id,
                account_id: Some(bench.account),
                order_type: OrderType::C53,
                btf_service: None,
                cron: "0 6 * * *".into(),
                time_zone: "Europe/Berlin".into(),
                next_run_at,
            })
            .await
            .expect("schedule");
    }
    tx.commit().await.expect("commit");
    // The daemon's own defaults: the measure is what an operator's instance does at rest.
    let seeded = format!("{USERS} users and schedules");
    let daemon = bench.start_seeded(&seeded, started).await;
    // Start-up passes (recovery, completion, certificate watch) run once at once; at rest
    // is after them.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (cpu, wall) = (process_cpu(), Instant::now());
    tokio::time::sleep(wait).await;
    let (cpu, wall) = (process_cpu() - cpu, wall.elapsed());
    daemon.shutdown().await;
    bench.store.close().await;
    eprintln!("  {database}: {cpu:.2?} CPU in {wall:.1?}");
    100.0 * cpu.as_secs_f64() / wall.as_secs_f64()
}
