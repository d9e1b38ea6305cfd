//! Timing and the printed table.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// Runs per measurement; the fastest counts (the least disturbed by other processes).
const RUNS: usize = 3;

/// One measured line: a value (MB/s unless `unit` says otherwise) and, when given, its target
/// and the limit it is bounded by.
#[derive(Debug)]
pub struct Row {
    name: String,
    mb_per_s: f64,
    target: Option<f64>,
    limit: Option<f64>,
    /// `None` for MB/s; otherwise the unit of `mb_per_s`, `target` and `limit`.
    unit: Option<&'static str>,
    /// A latency or a CPU share: the ratio printed is target / value, so above 1 is met.
    lower_is_better: bool,
}

#[derive(Debug, Default)]
pub struct Report {
    pub rows: Vec<Row>,
    /// Only measures whose name contains this run (e.g. under a profiler).
    pub only: Option<String>,
}

impl Report {
    /// Times `work` over `bytes` of input; returns MB/s.
    pub fn measure<T>(&mut self, name: &str, bytes: usize, mut work: impl FnMut() -> T) -> f64 {
        if self
            .only
            .as_deref()
            .is_some_and(|only| !name.contains(only))
        {
            return f64::NAN;
        }
        let best = (0..RUNS)
            .map(|_| {
                let start = Instant::now();
                black_box(work());
                start.elapsed()
            })
            .min()
            .unwrap_or(Duration::MAX);
        let mb_per_s = bytes as f64 / 1e6 / best.as_secs_f64();
        eprintln!("  {name}: {mb_per_s:.0} MB/s");
        self.rows.push(Row {
            name: name.to_owned(),
            mb_per_s,
            target: None,
            limit: None,
            unit: None,
            lower_is_better: false,
        });
        mb_per_s
    }

    /// Records a value measured elsewhere (requests per second, a latency, a CPU share) in
    /// `unit`, with its target; `lower_is_better` for latencies and costs. Every printed
    /// ratio reads the same way: 1 or more meets the target.
    pub fn record(
        &mut self,
        name: &str,
        value: f64,
        unit: &'static str,
        target: f64,
        lower_is_better: bool,
    ) {
        eprintln!("  {name}: {value:.2} {unit}");
        self.rows.push(Row {
            name: name.to_owned(),
            mb_per_s: value,
            target: Some(target),
            limit: None,
            unit: Some(unit),
            lower_is_better,
        });
    }

    /// Records a value measured elsewhere that has no target of its own (a peer's time, the
    /// parts of a ratio that has one).
    pub fn note(&mut self, name: &str, value: f64, unit: &'static str) {
        eprintln!("  {name}: {value:.2} {unit}");
        self.rows.push(Row {
            name: name.to_owned(),
            mb_per_s: value,
            target: None,
            limit: None,
            unit: Some(unit),
            lower_is_better: false,
        });
    }

    /// Whether a measure of this name runs (the `ONLY` argument).
    pub fn wants(&self, name: &str) -> bool {
        self.only.as_deref().is_none_or(|only| name.contains(only))
    }

    /// Sets the target (MB/s) and the machine limit (MB/s, 0 for none) of the last row.
    pub fn compare(&mut self, target: f64, limit: f64) {
        if limit.is_nan() {
            return;
        }
        if let Some(row) = self.rows.last_mut() {
            row.target = Some(target);
            row.limit = (limit > 0.0).then_some(limit);
        }
    }

    pub fn print(&self) {
        println!(
            "{:<60} {:>9} {:>9} {:>8} {:>9} {:>8}",
            "measure", "value", "target", "ratio", "limit", "ratio"
        );
        let cell = |v: Option<f64>| {
            v.map_or_else(
                || "-".to_owned(),
                |v| format!("{v:.*}", (v < 10.0) as usize * 2),
            )
        };
        for row in &self.rows {
            let ratio = |of: Option<f64>| {
                of.map_or_else(
                    || "-".to_owned(),
                    |of| match row.lower_is_better {
                        true => format!("{:.2}", of / row.mb_per_s),
                        false => format!("{:.2}", row.mb_per_s / of),
                    },
                )
            };
            let name = match row.unit {
                Some(unit) => format!("{} ({unit})", row.name),
                None => format!("{} (MB/s)", row.name),
            };
            println!(
                "{:<60} {:>9} {:>9} {:>8} {:>9} {:>8}",
                name,
                cell(Some(row.mb_per_s)),
                cell(row.target),
                ratio(row.target),
                cell(row.limit),
                ratio(row.limit),
            );
        }
    }
}
