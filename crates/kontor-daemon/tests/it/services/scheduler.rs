//! The database-leased scheduler: many instances, every due job exactly once, crashed
//! instances' leases taken over after expiry.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::support::seed::{c53_schedule, tenant, Tenant, IBAN};
use crate::support::TestDb;
use chrono::{DateTime, Duration, TimeZone, Utc};
use kontor_daemon::services::scheduler::{
    DueJob, JobFailed, JobOutcome, JobRunner, Scheduler, SchedulerConfig,
};
use kontor_storage::system::LeaseTerms;
use kontor_storage::{Schedule, ScheduleId, Store};

/// Counts the runs it is asked to do, per schedule.
#[derive(Default)]
struct CountingRunner {
    runs: Mutex<HashMap<ScheduleId, usize>>,
    fail: bool,
}

impl JobRunner for CountingRunner {
    async fn run(&self, job: DueJob) -> Result<JobOutcome, JobFailed> {
        *self
            .runs
            .lock()
            .unwrap()
            .entry(job.schedule.id)
            .or_default() += 1;
        // Yield so runs of both instances interleave.
        tokio::task::yield_now().await;
        if self.fail {
            return Err(JobFailed("bank unreachable".into()));
        }
        Ok(JobOutcome {
            detail: Some("ok".into()),
        })
    }
}

fn due_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 3, 1, 5, 0, 0).unwrap()
}

async fn create_schedules(store: &Store, t: &Tenant, n: usize) -> Vec<Schedule> {
    let mut all = Vec::new();
    for _ in 0..n {
        all.push(c53_schedule(store, t, t.account(), due_at()).await);
    }
    all
}

fn config(owner: &str) -> SchedulerConfig {
    SchedulerConfig {
        batch: 7,
        concurrency: 3,
        ..SchedulerConfig::new(owner)
    }
}

async fn drain(scheduler: &Scheduler<CountingRunner>, now: DateTime<Utc>) -> usize {
    let mut ran = 0;
    loop {
        let report = scheduler.tick(now).await.unwrap();
        assert_eq!(report.lost_lease, 0);
        if report.leased == 0 {
            return ran;
        }
        ran += report.succeeded;
    }
}

async fn two_instances_run_200_due_jobs_exactly_once(db: TestDb) {
    let t = tenant(&db.store, "acme", IBAN).await;
    let schedules = create_schedules(&db.store, &t, 200).await;
    let runner_a = Arc::new(CountingRunner::default());
    let runner_b = Arc::new(CountingRunner::default());
    let a = Scheduler::new(db.store.clone(), runner_a.clone(), config("instance-a"));
    let b = Scheduler::new(
        db.second_instance().await,
        runner_b.clone(),
        config("instance-b"),
    );
    let now = due_at() + Duration::minutes(1);

    let (ran_a, ran_b) = tokio::join!(drain(&a, now), drain(&b, now));

    assert_eq!(ran_a + ran_b, 200);
    let runs_a = runner_a.runs.lock().unwrap().clone();
    let runs_b = runner_b.runs.lock().unwrap().clone();
    for s in &schedules {
        let total = runs_a.get(&s.id).unwrap_or(&0) + runs_b.get(&s.id).unwrap_or(&0);
        assert_eq!(total, 1, "schedule {} ran {total} times", s.id);
    }
    assert_eq!(
        db.store
            .raw_count("SELECT COUNT(*) FROM job_runs")
            .await
            .unwrap(),
        200
    );
    assert_eq!(
        db.store
            .raw_count("SELECT COUNT(DISTINCT schedule_id) FROM job_runs")
            .await
            .unwrap(),
        200
    );
    eprintln!("instance a ran {ran_a}, instance b ran {ran_b}");

    // Every schedule now waits for its next local 06:00 (05:00 UTC in March) and holds no lease.
    let mut tx = db.store.scope(&t.scope).begin().await.unwrap();
    for s in &schedules {
        let s: Schedule = tx.get(s.id).await.unwrap();
        assert_eq!(
            s.next_run_at,
            Utc.with_ymd_and_hms(2024, 3, 2, 5, 0, 0).unwrap()
        );
        assert_eq!(s.lease_owner, None);
    }
    drop(tx);
    // Nothing is due again until then.
    assert_eq!(a.tick(now + Duration::hours(1)).await.unwrap().leased, 0);
}

async fn expired_lease_of_a_crashed_instance_is_taken_over(db: TestDb) {
    let t = tenant(&db.store, "acme", IBAN).await;
    let schedule = create_schedules(&db.store, &t, 1).await.remove(0);
    let now = due_at();
    let lease_for = Duration::minutes(15);

    // Instance "crashed" leases the job and dies without completing it.
    let leased = db
        .store
        .system()
        .lease_due_schedules(LeaseTerms {
            owner: "crashed",
            now,
            lease_for,
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(leased.len(), 1);

    let runner = Arc::new(CountingRunner::default());
    let survivor = Scheduler::new(db.store.clone(), runner.clone(), config("survivor"));
    assert_eq!(
        survivor
            .tick(now + Duration::minutes(1))
            .await
            .unwrap()
            .leased,
        0,
        "a live lease is respected"
    );
    let report = survivor
        .tick(now + lease_for + Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!((report.leased, report.succeeded), (1, 1));

    // The crashed instance coming back late cannot record its run over the survivor's.
    let mut tx = db.store.scope(&leased[0].scope).begin().await.unwrap();
    let late = tx
        .schedules()
        .complete_run(
            schedule.id,
            "crashed",
            now,
            now,
            kontor_storage::RunOutcome::Succeeded,
            None,
        )
        .await
        .unwrap();
    assert_eq!(late, None);
    let runs = tx.schedules().runs(schedule.id).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].owner, "survivor");
}

async fn failed_run_is_recorded_and_fires_again_at_its_next_time(db: TestDb) {
    let t = tenant(&db.store, "acme", IBAN).await;
    let schedule = create_schedules(&db.store, &t, 1).await.remove(0);
    let runner = Arc::new(CountingRunner {
        fail: true,
        ..Default::default()
    });
    let scheduler = Scheduler::new(db.store.clone(), runner, config("a"));
    let report = scheduler.tick(due_at()).await.unwrap();
    assert_eq!(report.failed, 1);

    let mut tx = db.store.scope(&t.scope).begin().await.unwrap();
    let runs = tx.schedules().runs(schedule.id).await.unwrap();
    assert_eq!(runs[0].outcome, Some(kontor_storage::RunOutcome::Failed));
    assert_eq!(runs[0].detail.as_deref(), Some("bank unreachable"));
    let stored: Schedule = tx.get(schedule.id).await.unwrap();
    assert_eq!(
        stored.next_run_at,
        Utc.with_ymd_and_hms(2024, 3, 2, 5, 0, 0).unwrap()
    );
}

on_both_databases! {
    two_instances_run_200_due_jobs_exactly_once;
    expired_lease_of_a_crashed_instance_is_taken_over;
    failed_run_is_recorded_and_fires_again_at_its_next_time;
}
