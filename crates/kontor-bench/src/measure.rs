//! Timing and the printed table.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// Runs per measurement; the fastest counts (the least disturbed by other processes).
const RUNS: usize = 3;

/// One measured line: throughput and, when given, its target and the limit it is bounded by.
#[derive(Debug)]
pub struct Row {
    name: String,
    mb_per_s: f64,
    target: Option<f64>,
    limit: Option<f64>,
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
        });
        mb_per_s
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
            "{:<48} {:>9} {:>9} {:>8} {:>9} {:>8}",
            "measure", "MB/s", "target", "ratio", "limit", "ratio"
        );
        let cell = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.0}"));
        for row in &self.rows {
            let ratio = |of: Option<f64>| {
                of.map_or_else(|| "-".to_owned(), |of| format!("{:.2}", row.mb_per_s / of))
            };
            println!(
                "{:<48} {:>9.0} {:>9} {:>8} {:>9} {:>8}",
                row.name,
                row.mb_per_s,
                cell(row.target),
                ratio(row.target),
                cell(row.limit),
                ratio(row.limit),
            );
        }
    }
}
