//! Comparison of runs: did a change make the platform slower, laggier or lose data?
//!
//! [`compare`] sets the runs of a candidate (a new version, a new setting) against the runs of
//! a baseline, figure by figure, and gives each figure a [`Change`]. With several runs per side
//! it compares medians and takes the spread (min to max) of the runs as the noise: a candidate
//! whose median lies inside the baseline's spread, or the other way round, is
//! [`Change::WithinNoise`], not a regression. With one run per side every change beyond the
//! [`Tolerances`] counts.
//!
//! Data-safety figures are judged harder than speed: an anomaly the baseline never had (a lost
//! record, a duplicate) or a check that starts failing is a regression whatever the noise.
//!
//! [`compare_many`] does the same for a matrix — one scenario under several values of a
//! setting — against the first value. Rendering lives in [`crate::markdown`] and
//! [`crate::html`].
//!
//! ```
//! use streamproof_reports::compare::{compare, Change, Tolerances};
//! # fn demo(baseline: &[streamproof_reports::result::RunResult],
//! #         candidate: &[streamproof_reports::result::RunResult]) {
//! let comparison = compare(baseline, candidate, &Tolerances::default());
//! if comparison.regressed() {
//!     for metric in comparison.metrics.iter().filter(|m| m.change == Change::Regressed) {
//!         eprintln!("{} regressed: {}", metric.name, metric.reason);
//!     }
//! }
//! # }
//! ```

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::result::{Lakehouse, Latency, RunResult};

mod figures;
mod judging;
mod matrix;
#[cfg(test)]
mod tests;

use figures::*;
use judging::*;
pub use matrix::*;

/// How far a figure may move before it counts as a change. Every field has a default, so a
/// configuration file names only what it changes (`latency_rise_percent: 20`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Tolerances {
    /// Largest drop of a throughput, percent of the baseline, that is not yet a change.
    pub throughput_drop_percent: f64,
    /// Largest rise of a latency percentile, percent of the baseline.
    pub latency_rise_percent: f64,
    /// Latency changes smaller than this never count, µs: below it, clocks and scheduling
    /// decide more than the platform does.
    pub latency_floor_us: f64,
    /// Largest rise of the maximum consumer lag, percent.
    pub lag_rise_percent: f64,
    /// Lag changes smaller than this never count, records: lag is sampled once a second and
    /// moves by a second's worth of records on its own.
    pub lag_floor_records: f64,
    /// Largest rise of the time the lag needs to come back to 0, percent.
    pub recovery_rise_percent: f64,
    /// Recovery changes smaller than this never count, seconds: lag is sampled once a second.
    pub recovery_floor_seconds: f64,
    /// How many more anomalies (lost, duplicates, …) than the baseline's worst run the
    /// candidate's worst run may have. 0: any new anomaly is a regression.
    pub anomaly_increase_allowed: u64,
    /// Whether a check that held in every baseline run and fails in a candidate run is a
    /// regression.
    pub failing_check_regresses: bool,
}

impl Default for Tolerances {
    fn default() -> Self {
        Self {
            throughput_drop_percent: 5.0,
            latency_rise_percent: 10.0,
            latency_floor_us: 100.0,
            lag_rise_percent: 20.0,
            lag_floor_records: 100.0,
            recovery_rise_percent: 20.0,
            recovery_floor_seconds: 1.0,
            anomaly_increase_allowed: 0,
            failing_check_regresses: true,
        }
    }
}

/// What happened to a figure, or to the whole comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Worse by more than the tolerance, and the runs' spread does not explain it.
    Regressed,
    /// Better by more than the tolerance, and the runs' spread does not explain it.
    Improved,
    /// Moved by more than the tolerance, but within the spread of the runs.
    WithinNoise,
    /// Moved by no more than the tolerance.
    Unchanged,
    /// One side has no value (no consumers, no faults, a check only one side ran).
    NotCompared,
}

/// What a value measures, for rendering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Events per second.
    EventsPerSecond,
    /// Bytes per second.
    BytesPerSecond,
    /// Microseconds.
    Micros,
    /// Records.
    Records,
    /// Seconds; infinite means never.
    Seconds,
    /// How many times something happened.
    Count,
    /// Per run 1 when a check failed, 0 when it held.
    CheckFailed,
}

/// Which direction is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    /// More is better (throughput).
    Higher,
    /// Less is better (latency, lag, anomalies).
    Lower,
}

/// How a figure is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// Rates, against [`Tolerances::throughput_drop_percent`].
    Throughput,
    /// Latency percentiles, against [`Tolerances::latency_rise_percent`].
    Latency,
    /// Maximum lag, against [`Tolerances::lag_rise_percent`].
    Lag,
    /// Lag recovery time, against [`Tolerances::recovery_rise_percent`].
    Recovery,
    /// Data-safety counts, where a new one is a regression.
    Anomaly,
    /// A check of the scenario.
    Check,
}

/// The values of one figure over the runs of one side.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// Runs with a value.
    pub runs: usize,
    /// Median.
    pub median: f64,
    /// Smallest.
    pub min: f64,
    /// Largest.
    pub max: f64,
    /// Mean.
    pub mean: f64,
    /// Median absolute deviation from the median.
    pub mad: f64,
}

impl Spread {
    /// The spread of `values`; `None` when there are none. Infinite values (a lag that never
    /// recovered) are kept; NaN values are dropped.
    pub fn of(values: &[f64]) -> Option<Spread> {
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
        if sorted.is_empty() {
            return None;
        }
        sorted.sort_by(f64::total_cmp);
        let median = median_of_sorted(&sorted);
        let mut deviations: Vec<f64> = sorted
            .iter()
            .map(|v| {
                if *v == median {
                    0.0
                } else {
                    (v - median).abs()
                }
            })
            .collect();
        deviations.sort_by(f64::total_cmp);
        Some(Spread {
            runs: sorted.len(),
            median,
            min: sorted[0],
            max: sorted[sorted.len() - 1],
            mean: sorted.iter().sum::<f64>() / sorted.len() as f64,
            mad: median_of_sorted(&deviations),
        })
    }

    fn contains(&self, value: f64) -> bool {
        self.min <= value && value <= self.max
    }
}

fn median_of_sorted(sorted: &[f64]) -> f64 {
    let middle = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[middle]
    } else if sorted[middle - 1] == sorted[middle] {
        // Also covers two infinite values, whose mean would be NaN.
        sorted[middle]
    } else {
        (sorted[middle - 1] + sorted[middle]) / 2.0
    }
}

/// One figure, baseline against candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricComparison {
    /// Name, e.g. `produce latency p99`.
    pub name: String,
    /// How it is judged.
    pub family: Family,
    /// What the values measure.
    pub unit: Unit,
    /// Which direction is better.
    pub better: Better,
    /// The baseline's runs; `None` when none has a value.
    pub baseline: Option<Spread>,
    /// The candidate's runs.
    pub candidate: Option<Spread>,
    /// Candidate median against baseline median, percent; `None` when the baseline is 0 or
    /// either side has no value.
    pub change_percent: Option<f64>,
    /// The verdict.
    pub change: Change,
    /// Why, in a few words: `beyond the 10% tolerance`, `new anomaly`, …
    pub reason: String,
}

/// A candidate against a baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Scenario names of the baseline's runs, each once.
    pub baseline_scenarios: Vec<String>,
    /// Scenario names of the candidate's runs, each once.
    pub candidate_scenarios: Vec<String>,
    /// Runs on the baseline side.
    pub baseline_runs: usize,
    /// Runs on the candidate side.
    pub candidate_runs: usize,
    /// Every figure.
    pub metrics: Vec<MetricComparison>,
    /// [`Change::Regressed`] when any figure regressed, else [`Change::Improved`] when any
    /// improved, else [`Change::WithinNoise`] when any moved within the noise, else
    /// [`Change::Unchanged`].
    pub verdict: Change,
    /// What a reader should know before trusting the figures.
    pub notes: Vec<String>,
    /// The tolerances applied.
    pub tolerances: Tolerances,
}

impl Comparison {
    /// Whether any figure regressed.
    pub fn regressed(&self) -> bool {
        self.verdict == Change::Regressed
    }
}

/// Compares the runs of a candidate with the runs of a baseline.
pub fn compare(
    baseline: &[RunResult],
    candidate: &[RunResult],
    tolerances: &Tolerances,
) -> Comparison {
    let mut metrics = Vec::new();
    for figure in FIGURES {
        let values =
            |runs: &[RunResult]| -> Vec<f64> { runs.iter().filter_map(figure.value).collect() };
        let (b, c) = (
            Spread::of(&values(baseline)),
            Spread::of(&values(candidate)),
        );
        if b.is_none() && c.is_none() {
            continue;
        }
        metrics.push(judge(
            figure.name.to_owned(),
            figure.family,
            figure.unit,
            figure.better,
            b,
            c,
            tolerances,
        ));
    }
    let check_names: BTreeSet<&str> = baseline
        .iter()
        .chain(candidate)
        .flat_map(|r| r.checks.iter().map(|c| c.name.as_str()))
        .collect();
    for name in check_names {
        let failed = |runs: &[RunResult]| -> Vec<f64> {
            runs.iter()
                .flat_map(|r| r.checks.iter().filter(|c| c.name == name))
                .map(|c| if c.passed { 0.0 } else { 1.0 })
                .collect()
        };
        metrics.push(judge(
            format!("check {name}"),
            Family::Check,
            Unit::CheckFailed,
            Better::Lower,
            Spread::of(&failed(baseline)),
            Spread::of(&failed(candidate)),
            tolerances,
        ));
    }
    let verdict = overall(metrics.iter().map(|m| m.change));
    Comparison {
        baseline_scenarios: scenario_names(baseline),
        candidate_scenarios: scenario_names(candidate),
        baseline_runs: baseline.len(),
        candidate_runs: candidate.len(),
        notes: notes(baseline, candidate),
        metrics,
        verdict,
        tolerances: tolerances.clone(),
    }
}

fn overall(changes: impl Iterator<Item = Change>) -> Change {
    let changes: BTreeSet<Change> = changes.collect();
    // Ordered by precedence: the worst news first.
    [Change::Regressed, Change::Improved, Change::WithinNoise]
        .into_iter()
        .find(|c| changes.contains(c))
        .unwrap_or(Change::Unchanged)
}

fn scenario_names(runs: &[RunResult]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for run in runs {
        if !names.contains(&run.scenario.name) {
            names.push(run.scenario.name.clone());
        }
    }
    names
}

fn notes(baseline: &[RunResult], candidate: &[RunResult]) -> Vec<String> {
    let mut notes = Vec::new();
    if baseline.is_empty() || candidate.is_empty() {
        notes.push("One side has no runs; nothing could be compared.".to_owned());
        return notes;
    }
    let files: BTreeSet<&str> = baseline
        .iter()
        .chain(candidate)
        .map(|r| r.scenario.sha256.as_str())
        .collect();
    if files.len() > 1 {
        notes.push(
            "The runs come from different scenario files; differences may come from the \
             scenarios rather than the platform."
                .to_owned(),
        );
    }
    if baseline.len() < 2 || candidate.len() < 2 {
        notes.push(
            "With a single run on a side, noise cannot be told apart from change; repeat each \
             side (3 runs or more) to see the spread."
                .to_owned(),
        );
    }
    for (side, runs) in [("baseline", baseline), ("candidate", candidate)] {
        let behind = runs.iter().filter(|r| !r.generator.kept_up).count();
        if behind > 0 {
            notes.push(format!(
                "The load generator did not keep up in {behind} of {} {side} run(s): its \
                 throughput and latency measure the generator as much as the platform.",
                runs.len()
            ));
        }
    }
    notes
}
