//! The delivery worker: sends pending webhook deliveries, exactly once across instances.
//!
//! Each pass leases due deliveries in the database (`System::lease_due_webhook_deliveries`:
//! `FOR UPDATE SKIP LOCKED` on PostgreSQL, a conditional update under SQLite's write lock),
//! only the oldest pending delivery of each enabled subscription, so a receiver sees one
//! subscription's events one at a time and in order. The attempt and its outcome are
//! recorded only while the lease is still this instance's: a delivery another instance took
//! over after an expired lease is not recorded twice. (An attempt that outlives its lease
//! could reach the receiver twice; the lease lasts well beyond the request timeout, and
//! receivers de-duplicate on `webhook-id` as the Standard Webhooks convention asks.)
//!
//! Outcomes: a 2xx answer delivers; anything else (another status, a timeout, a refused
//! target, a redirect, which is never followed) is retried after the next pause of
//! [`WebhookSettings::retry_schedule`] plus jitter; when the schedule is used up the
//! delivery FAILS and its subscription is PARKED until an operator resumes it.

use std::time::Instant;

use chrono::{DateTime, Utc};
use kontor_storage::system::{LeaseTerms, LeasedDelivery};
use kontor_storage::{AttemptOutcome, DeliveryJob, NextStep, StorageError, Store};
use rand::Rng;

use super::signature::{sign, SignedHeaders};
use super::target::{self, GuardedResolver};
use super::WebhookSettings;
use crate::metrics;

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PassReport {
    pub delivered: usize,
    pub retried: usize,
    pub parked: usize,
}

impl PassReport {
    pub fn attempts(&self) -> usize {
        self.delivered + self.retried + self.parked
    }
}

/// One instance's delivery worker.
#[derive(Clone)]
pub struct DeliveryWorker {
    store: Store,
    settings: WebhookSettings,
    instance: String,
    http: reqwest::Client,
}

impl DeliveryWorker {
    pub fn new(
        store: Store,
        settings: WebhookSettings,
        instance: impl Into<String>,
    ) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(settings.request_timeout)
            .connect_timeout(settings.request_timeout)
            .no_proxy()
            .dns_resolver(
                GuardedResolver {
                    allow_private: settings.allow_private_targets,
                }
                .shared(),
            )
            .user_agent(concat!("Kontor-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            store,
            settings,
            instance: instance.into(),
            http,
        })
    }

    /// Leases what is due at `now` and delivers it (deliveries of different subscriptions
    /// concurrently). Timing is injectable: tests pass the clock.
    pub async fn pass(&self, now: DateTime<Utc>) -> Result<PassReport, StorageError> {
        let lease_for = chrono::Duration::from_std(self.settings.lease_for)
            .unwrap_or_else(|_| chrono::Duration::minutes(2));
        let leased = self
            .store
            .system()
            .lease_due_webhook_deliveries(LeaseTerms {
                owner: &self.instance,
                now,
                lease_for,
                limit: self.settings.batch,
            })
            .await?;
        let outcomes =
            futures::future::join_all(leased.into_iter().map(|l| self.deliver(l, now))).await;
        let mut report = PassReport::default();
        for outcome in outcomes {
            match outcome {
                Ok(Some(NextStep::Delivered)) => report.delivered += 1,
                Ok(Some(NextStep::RetryAt(_))) => report.retried += 1,
                Ok(Some(NextStep::Park)) => report.parked += 1,
                Ok(None) => {}
                Err(error) => tracing::warn!(%error, "recording a webhook delivery failed"),
            }
        }
        if let Ok(depth) = self.store.system().pending_webhook_deliveries().await {
            metrics::set(metrics::WEBHOOK_QUEUE, &self.instance, depth as f64);
        }
        Ok(report)
    }

    async fn deliver(
        &self,
        leased: LeasedDelivery,
        now: DateTime<Utc>,
    ) -> Result<Option<NextStep>, StorageError> {
        let scoped = self.store.scope(&leased.scope);
        let job = {
            let mut tx = scoped.begin().await?;
            let job = tx
                .webhooks()
                .leased_delivery(leased.delivery, &self.instance, now)
                .await?;
            tx.commit().await?;
            job
        };
        let Some(job) = job else {
            return Ok(None);
        };
        let started = Instant::now();
        let (response_code, error) = self.send(&job).await;
        let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let next = match (response_code, &error) {
            (Some(code), None) if (200..300).contains(&code) => NextStep::Delivered,
            _ => after_failure(&self.settings, job.delivery.attempts + 1, now),
        };
        let outcome = AttemptOutcome {
            attempted_at: now,
            response_code,
            error,
            duration_ms,
            next,
        };
        let mut tx = scoped.begin().await?;
        let recorded = tx
            .webhooks()
            .record_attempt(leased.delivery, &self.instance, &outcome)
            .await?;
        tx.commit().await?;
        if !recorded {
            return Ok(None);
        }
        let label = match next {
            NextStep::Delivered => "delivered",
            NextStep::RetryAt(_) => "retry",
            NextStep::Park => {
                tracing::warn!(delivery = %leased.delivery, "webhook retries used up; subscription parked");
                "parked"
            }
        };
        metrics::inc(
            metrics::WEBHOOK_DELIVERIES,
            &self.instance,
            &[("outcome", label)],
        );
        Ok(Some(next))
    }

    /// POSTs the signed event; the status code, or why there is none or it is not a success.
    async fn send(&self, job: &DeliveryJob) -> (Option<u16>, Option<String>) {
        let url = match target::parse(&job.url)
            .and_then(|u| target::check_literal(&u, self.settings.allow_private_targets).map(|_| u))
        {
            Ok(url) => url,
            Err(refused) => return (None, Some(refused.to_string())),
        };
        let headers = sign(
            &job.delivery.event_id.to_string(),
            Utc::now().timestamp(),
            &job.body,
            &job.secrets,
        );
        let sent = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SignedHeaders::ID, &headers.id)
            .header(SignedHeaders::TIMESTAMP, headers.timestamp.to_string())
            .header(SignedHeaders::SIGNATURE, &headers.signature)
            .body(job.body.clone())
            .send()
            .await;
        match sent {
            Ok(response) => {
                let code = response.status().as_u16();
                let error = (!response.status().is_success())
                    .then(|| format!("the receiver answered {code}"));
                (Some(code), error)
            }
            // Neither the URL (it may carry a token in its query) nor the body is logged.
            Err(error) => (None, Some(describe(&error))),
        }
    }
}

/// The next step after the `attempts`-th failed attempt: the schedule's pause plus up to
/// `jitter` of it, or parking once the schedule is used up.
fn after_failure(settings: &WebhookSettings, attempts: i64, now: DateTime<Utc>) -> NextStep {
    let index = usize::try_from(attempts - 1).unwrap_or(usize::MAX);
    match settings.retry_schedule.get(index) {
        Some(pause) => {
            let fraction = rand::thread_rng().gen_range(0.0..=settings.jitter.max(0.0));
            let wait = chrono::Duration::from_std(*pause + pause.mul_f64(fraction))
                .unwrap_or_else(|_| chrono::Duration::days(1));
            NextStep::RetryAt(now + wait)
        }
        None => NextStep::Park,
    }
}

fn describe(error: &reqwest::Error) -> String {
    let what = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    // The innermost cause names a refused address without repeating the URL.
    let mut cause: &dyn std::error::Error = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    format!("{what}: {cause}")
}

/// Runs the worker until the handle is aborted: a pass, then again at once while work was
/// found, else after [`WebhookSettings::idle_wait`].
pub fn spawn_delivery_loop(worker: DeliveryWorker) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let idle = match worker.pass(Utc::now()).await {
                Ok(report) => report.attempts() == 0,
                Err(error) => {
                    tracing::warn!(%error, "webhook delivery pass failed");
                    true
                }
            };
            if idle {
                tokio::time::sleep(worker.settings.idle_wait).await;
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn failures_are_retried_for_more_than_a_day_then_the_subscription_is_parked() {
        let settings = WebhookSettings {
            jitter: 0.0,
            ..WebhookSettings::default()
        };
        let span: Duration = settings.retry_schedule.iter().sum();
        assert!(span > Duration::from_secs(24 * 3600), "{span:?}");
        let now = Utc::now();
        let last = settings.retry_schedule.len() as i64;
        assert_eq!(
            after_failure(&settings, 1, now),
            NextStep::RetryAt(now + chrono::Duration::seconds(5))
        );
        assert_eq!(
            after_failure(&settings, last, now),
            NextStep::RetryAt(now + chrono::Duration::hours(10))
        );
        assert_eq!(after_failure(&settings, last + 1, now), NextStep::Park);
    }

    #[test]
    fn jitter_only_lengthens_a_pause_and_by_at_most_its_fraction() {
        let settings = WebhookSettings::default();
        let now = Utc::now();
        for _ in 0..100 {
            let NextStep::RetryAt(at) = after_failure(&settings, 2, now) else {
                panic!("retried")
            };
            let wait = (at - now).num_milliseconds();
            assert!((300_000..=330_000).contains(&wait), "{wait}");
        }
    }
}
