//! Prometheus metrics of one process, rendered at `/metrics` in the text exposition format.
//!
//! Every series carries the `instance` label of the daemon instance that recorded it, so the
//! instances on one database can be told apart (and two runtimes in one test process too).
//! The registry is process-wide: the EBICS client, the services and the API record into it
//! without passing a handle through every layer.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

/// A metric family: its name, help text and kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Family {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// Declares the metric families, grouped by kind; each one's doc comment is also its `# HELP`.
macro_rules! families {
    ($($kind:ident { $(#[doc = $help:literal] $id:ident = $name:literal;)+ })+) => {$($(
        #[doc = $help]
        pub const $id: Family = Family { name: $name, help: $help.trim_ascii(), kind: Kind::$kind };
    )+)+};
}

families! {
    Counter {
        /// Finished EBICS transfers by order type, direction and outcome (COMPLETED, FAILED, ABORTED).
        TRANSFERS = "kontor_transfers_total";
        /// Order data bytes of finished transfers by order type, direction and outcome.
        TRANSFER_BYTES = "kontor_transfer_bytes_total";
        /// Failure codes that ended transfers (the bank's EBICS return code, or Kontor's own code).
        BANK_RETURN_CODES = "kontor_bank_return_codes_total";
        /// Recovery-and-effects passes by outcome.
        RECOVERY_PASSES = "kontor_recovery_passes_total";
        /// Webhook delivery attempts by outcome (delivered, retry, parked).
        WEBHOOK_DELIVERIES = "kontor_webhook_deliveries_total";
        /// Orphaned payment files removed, by place (orders: kept without a row; incoming: an interrupted receive).
        ORPHAN_FILES_REMOVED = "kontor_orphan_files_removed_total";
    }
    Histogram {
        /// Duration of finished transfers from initialisation to their end.
        TRANSFER_SECONDS = "kontor_transfer_duration_seconds";
        /// How late a scheduled download started after its due time.
        SCHEDULE_LAG = "kontor_schedule_lag_seconds";
    }
    Gauge {
        /// Pending webhook deliveries of all tenants, as last seen by this instance's worker.
        WEBHOOK_QUEUE = "kontor_webhook_queue_depth";
    }
}

/// Upper bounds of the histogram buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0,
];

type Labels = Vec<(&'static str, String)>;

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Default)]
struct Series {
    values: BTreeMap<(Family, Labels), f64>,
    histograms: BTreeMap<(Family, Labels), Histogram>,
}

/// The registry, locked. A panic elsewhere while it was held leaves only numbers behind, so
/// a poisoned lock is taken over rather than passed on.
fn registry() -> MutexGuard<'static, Series> {
    static REGISTRY: OnceLock<Mutex<Series>> = OnceLock::new();
    REGISTRY
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

fn labels(instance: &str, extra: &[(&'static str, &str)]) -> Labels {
    std::iter::once(("instance", instance.to_owned()))
        .chain(extra.iter().map(|(k, v)| (*k, (*v).to_owned())))
        .collect()
}

/// Adds `by` to a counter.
pub fn add(family: Family, instance: &str, extra: &[(&'static str, &str)], by: f64) {
    let mut series = registry();
    *series
        .values
        .entry((family, labels(instance, extra)))
        .or_default() += by;
}

/// Adds one to a counter.
pub fn inc(family: Family, instance: &str, extra: &[(&'static str, &str)]) {
    add(family, instance, extra, 1.0);
}

/// Sets a gauge.
pub fn set(family: Family, instance: &str, value: f64) {
    let mut series = registry();
    series.values.insert((family, labels(instance, &[])), value);
}

/// Records one observation of a histogram.
pub fn observe(family: Family, instance: &str, extra: &[(&'static str, &str)], value: Duration) {
    let seconds = value.as_secs_f64();
    let mut series = registry();
    let histogram = series
        .histograms
        .entry((family, labels(instance, extra)))
        .or_default();
    for (bound, count) in BUCKETS.iter().zip(histogram.counts.iter_mut()) {
        if seconds <= *bound {
            *count += 1;
        }
    }
    histogram.sum += seconds;
    histogram.count += 1;
}

fn render_labels(labels: &Labels, extra: Option<(&str, String)>) -> String {
    let escape = |v: &str| {
        v.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    };
    let parts: Vec<String> = labels
        .iter()
        .map(|(k, v)| (*k, v.clone()))
        .chain(extra)
        .map(|(k, v)| format!("{k}=\"{}\"", escape(&v)))
        .collect();
    format!("{{{}}}", parts.join(","))
}

/// Every recorded series in the text exposition format.
pub fn render() -> String {
    let series = registry();
    let mut out = String::new();
    let mut last: Option<Family> = None;
    let mut header = |out: &mut String, family: Family| {
        if last != Some(family) {
            let kind = match family.kind {
                Kind::Counter => "counter",
                Kind::Gauge => "gauge",
                Kind::Histogram => "histogram",
            };
            let _ = writeln!(out, "# HELP {} {}", family.name, family.help);
            let _ = writeln!(out, "# TYPE {} {kind}", family.name);
            last = Some(family);
        }
    };
    // One sample line: `name{labels} value`, with the histogram's `le` label where given.
    let sample = |out: &mut String,
                  name: &str,
                  labels: &Labels,
                  le: Option<String>,
                  value: &dyn std::fmt::Display| {
        let labels = render_labels(labels, le.map(|bound| ("le", bound)));
        let _ = writeln!(out, "{name}{labels} {value}");
    };
    for ((family, labels), value) in &series.values {
        header(&mut out, *family);
        sample(&mut out, family.name, labels, None, value);
    }
    for ((family, labels), histogram) in &series.histograms {
        header(&mut out, *family);
        let name = family.name;
        let bucket = format!("{name}_bucket");
        for (bound, count) in BUCKETS.iter().zip(histogram.counts) {
            sample(&mut out, &bucket, labels, Some(bound.to_string()), &count);
        }
        let inf = Some("+Inf".to_owned());
        sample(&mut out, &bucket, labels, inf, &histogram.count);
        sample(
            &mut out,
            &format!("{name}_sum"),
            labels,
            None,
            &histogram.sum,
        );
        sample(
            &mut out,
            &format!("{name}_count"),
            labels,
            None,
            &histogram.count,
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_histograms_render_with_their_labels() {
        inc(
            WEBHOOK_DELIVERIES,
            "metrics-test",
            &[("outcome", "delivered")],
        );
        observe(
            SCHEDULE_LAG,
            "metrics-test",
            &[],
            Duration::from_millis(300),
        );
        let text = render();
        assert!(text.contains(
            "kontor_webhook_deliveries_total{instance=\"metrics-test\",outcome=\"delivered\"} 1"
        ));
        assert!(text.contains(
            "kontor_schedule_lag_seconds_bucket{instance=\"metrics-test\",le=\"0.5\"} 1"
        ));
        assert!(text.contains(
            "kontor_schedule_lag_seconds_bucket{instance=\"metrics-test\",le=\"0.25\"} 0"
        ));
        assert!(text.contains(
            "kontor_schedule_lag_seconds_bucket{instance=\"metrics-test\",le=\"+Inf\"} 1"
        ));
        assert!(text.contains("kontor_schedule_lag_seconds_sum{instance=\"metrics-test\"} 0.3"));
        assert!(text.contains("kontor_schedule_lag_seconds_count{instance=\"metrics-test\"} 1"));
        assert!(text.contains("# TYPE kontor_schedule_lag_seconds histogram"));
    }
}
