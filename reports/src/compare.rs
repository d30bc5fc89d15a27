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

/// How a figure is read from a run.
struct Figure {
    name: &'static str,
    family: Family,
    unit: Unit,
    better: Better,
    value: fn(&RunResult) -> Option<f64>,
}

const fn figure(
    name: &'static str,
    family: Family,
    unit: Unit,
    better: Better,
    value: fn(&RunResult) -> Option<f64>,
) -> Figure {
    Figure {
        name,
        family,
        unit,
        better,
        value,
    }
}

fn end_to_end(result: &RunResult, percentile: fn(&Latency) -> u64) -> Option<f64> {
    result
        .latency
        .end_to_end
        .as_ref()
        .filter(|l| l.count > 0)
        .map(|l| percentile(l) as f64)
}

fn produce(latency: &Latency, percentile: fn(&Latency) -> u64) -> Option<f64> {
    (latency.count > 0).then(|| percentile(latency) as f64)
}

/// Every headline figure, in the order reports show them.
const FIGURES: &[Figure] = {
    use Better::{Higher, Lower};
    use Family::*;
    &[
        figure(
            "throughput (acknowledged)",
            Throughput,
            Unit::EventsPerSecond,
            Higher,
            |r| Some(r.throughput.achieved_eps),
        ),
        figure(
            "throughput (bytes)",
            Throughput,
            Unit::BytesPerSecond,
            Higher,
            |r| Some(r.throughput.bytes_per_s),
        ),
        figure(
            "throughput outside faults",
            Throughput,
            Unit::EventsPerSecond,
            Higher,
            |r| r.fault_throughput.and_then(|f| f.outside_faults_eps),
        ),
        figure(
            "throughput during faults",
            Throughput,
            Unit::EventsPerSecond,
            Higher,
            |r| r.fault_throughput.and_then(|f| f.during_faults_eps),
        ),
        figure("produce latency p50", Latency, Unit::Micros, Lower, |r| {
            produce(&r.latency.produce, |l| l.p50_us)
        }),
        figure("produce latency p99", Latency, Unit::Micros, Lower, |r| {
            produce(&r.latency.produce, |l| l.p99_us)
        }),
        figure("produce latency p99.9", Latency, Unit::Micros, Lower, |r| {
            produce(&r.latency.produce, |l| l.p999_us)
        }),
        figure(
            "produce service time p99 (uncorrected)",
            Latency,
            Unit::Micros,
            Lower,
            |r| produce(&r.latency.produce_uncorrected, |l| l.p99_us),
        ),
        figure(
            "end-to-end latency p50",
            Latency,
            Unit::Micros,
            Lower,
            |r| end_to_end(r, |l| l.p50_us),
        ),
        figure(
            "end-to-end latency p99",
            Latency,
            Unit::Micros,
            Lower,
            |r| end_to_end(r, |l| l.p99_us),
        ),
        figure(
            "end-to-end latency p99.9",
            Latency,
            Unit::Micros,
            Lower,
            |r| end_to_end(r, |l| l.p999_us),
        ),
        figure("max consumer lag", Lag, Unit::Records, Lower, |r| {
            r.lag.max_records.map(|m| m as f64)
        }),
        figure("lag recovery", Recovery, Unit::Seconds, Lower, |r| {
            // Without consumers there is no lag to recover; with them, never is infinitely slow.
            r.lag
                .max_records
                .map(|_| r.lag.recovery_seconds.unwrap_or(f64::INFINITY))
        }),
        figure("undrained records", Anomaly, Unit::Records, Lower, |r| {
            Some(r.lag.undrained_records as f64)
        }),
        figure("lost", Anomaly, Unit::Count, Lower, |r| {
            Some(r.counts.lost as f64)
        }),
        figure("duplicates", Anomaly, Unit::Count, Lower, |r| {
            Some(r.counts.duplicates as f64)
        }),
        figure(
            "removed below the log start",
            Anomaly,
            Unit::Count,
            Lower,
            |r| Some(r.counts.removed_below_log_start as f64),
        ),
        figure("altered", Anomaly, Unit::Count, Lower, |r| {
            Some(r.counts.corrupted as f64)
        }),
        figure("phantoms", Anomaly, Unit::Count, Lower, |r| {
            Some(r.counts.phantoms as f64)
        }),
        figure("offset mismatches", Anomaly, Unit::Count, Lower, |r| {
            Some(r.counts.offset_mismatches as f64)
        }),
        figure("order violations", Anomaly, Unit::Count, Lower, |r| {
            Some(r.counts.order_violations as f64)
        }),
        figure(
            "invalid records missing",
            Anomaly,
            Unit::Count,
            Lower,
            |r| Some(r.counts.invalid_missing as f64),
        ),
        figure(
            "deliberate duplicates missing",
            Anomaly,
            Unit::Count,
            Lower,
            |r| Some(r.counts.deliberate_duplicates_missing as f64),
        ),
        figure("bronze missing", Anomaly, Unit::Count, Lower, |r| {
            r.bronze.as_ref().map(|b| b.missing as f64)
        }),
        figure("bronze duplicates", Anomaly, Unit::Count, Lower, |r| {
            r.bronze.as_ref().map(|b| b.duplicates as f64)
        }),
        figure("bronze altered", Anomaly, Unit::Count, Lower, |r| {
            r.bronze.as_ref().map(|b| b.corrupted as f64)
        }),
        figure("visible in silver p50", Latency, Unit::Micros, Lower, |r| {
            silver_visible(r, |l| l.p50_us)
        }),
        figure("visible in silver p99", Latency, Unit::Micros, Lower, |r| {
            silver_visible(r, |l| l.p99_us)
        }),
        figure("lakehouse anomalies", Anomaly, Unit::Count, Lower, |r| {
            r.lakehouse.as_ref().map(|l| lakehouse_anomalies(l) as f64)
        }),
        figure(
            "gold records dropped as late",
            Anomaly,
            Unit::Count,
            Lower,
            |r| {
                r.lakehouse
                    .as_ref()
                    .and_then(|l| l.gold.as_ref())
                    .map(|g| g.late_dropped as f64)
            },
        ),
    ]
};

/// Send to visible in silver (Iceberg commit), when a pipeline ran.
fn silver_visible(result: &RunResult, percentile: fn(&Latency) -> u64) -> Option<f64> {
    let visible = result.lakehouse.as_ref()?.silver_visible.as_ref()?;
    produce(visible, percentile)
}

/// Every record the lakehouse holds wrongly: bronze and silver missing, duplicated, altered
/// or unexpected, DLQ likewise, and wrong gold windows.
fn lakehouse_anomalies(lake: &Lakehouse) -> u64 {
    let gold = lake.gold.as_ref().map_or(0, |g| {
        g.windows_mismatched + g.windows_missing + g.windows_unexpected + g.windows_duplicated
    });
    lake.bronze_missing
        + lake.bronze_duplicates
        + lake.bronze_corrupted
        + lake.silver_missing
        + lake.silver_duplicates
        + lake.silver_unexpected
        + lake.dlq_missing
        + lake.dlq_duplicates
        + lake.dlq_unexpected
        + gold
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

/// Judges one figure.
fn judge(
    name: String,
    family: Family,
    unit: Unit,
    better: Better,
    baseline: Option<Spread>,
    candidate: Option<Spread>,
    tolerances: &Tolerances,
) -> MetricComparison {
    let (change, change_percent, reason) = match (baseline, candidate) {
        (Some(b), Some(c)) => {
            // A check holds or fails; a percentage of that would mean nothing.
            let percent = if family == Family::Check {
                None
            } else {
                change_percent(b.median, c.median)
            };
            let (change, reason) = match family {
                Family::Anomaly => judge_anomaly(&b, &c, tolerances.anomaly_increase_allowed),
                Family::Check => judge_check(&b, &c, tolerances.failing_check_regresses),
                Family::Throughput => {
                    judge_measure(&b, &c, better, tolerances.throughput_drop_percent, 0.0)
                }
                Family::Latency => judge_measure(
                    &b,
                    &c,
                    better,
                    tolerances.latency_rise_percent,
                    tolerances.latency_floor_us,
                ),
                Family::Lag => judge_measure(
                    &b,
                    &c,
                    better,
                    tolerances.lag_rise_percent,
                    tolerances.lag_floor_records,
                ),
                Family::Recovery => judge_measure(
                    &b,
                    &c,
                    better,
                    tolerances.recovery_rise_percent,
                    tolerances.recovery_floor_seconds,
                ),
            };
            (change, percent, reason)
        }
        (None, Some(_)) => (
            Change::NotCompared,
            None,
            "only the candidate has it".to_owned(),
        ),
        (Some(_), None) => (
            Change::NotCompared,
            None,
            "only the baseline has it".to_owned(),
        ),
        (None, None) => (Change::NotCompared, None, "neither side has it".to_owned()),
    };
    MetricComparison {
        name,
        family,
        unit,
        better,
        baseline,
        candidate,
        change_percent,
        change,
        reason,
    }
}

fn change_percent(baseline: f64, candidate: f64) -> Option<f64> {
    if baseline == candidate {
        return Some(0.0);
    }
    let percent = (candidate - baseline) / baseline.abs() * 100.0;
    (baseline != 0.0 && percent.is_finite()).then_some(percent)
}

/// Whether the spread of the runs explains the difference of the medians: the candidate's
/// median lies within the baseline's runs, or the baseline's within the candidate's. A side
/// of one run has no spread to speak of.
fn explained_by_noise(b: &Spread, c: &Spread) -> bool {
    (b.runs > 1 && b.contains(c.median)) || (c.runs > 1 && c.contains(b.median))
}

/// Throughput, latency, lag and recovery: relative change against a tolerance, ignoring
/// changes below an absolute floor, then the noise.
fn judge_measure(
    b: &Spread,
    c: &Spread,
    better: Better,
    tolerance_percent: f64,
    floor: f64,
) -> (Change, String) {
    if b.median == c.median {
        return (Change::Unchanged, "same median".to_owned());
    }
    let difference = c.median - b.median;
    if difference.abs() <= floor {
        return (
            Change::Unchanged,
            "below the smallest change that counts".to_owned(),
        );
    }
    // Positive when the candidate is worse.
    let worse_by = match better {
        Better::Higher => -difference,
        Better::Lower => difference,
    };
    let worse_percent = if b.median == 0.0 {
        worse_by.signum() * f64::INFINITY
    } else {
        worse_by / b.median.abs() * 100.0
    };
    let tolerance = tolerance_percent.max(0.0);
    if worse_percent.abs() <= tolerance {
        return (
            Change::Unchanged,
            format!("within the {}% tolerance", trim_number(tolerance)),
        );
    }
    if explained_by_noise(b, c) {
        return (
            Change::WithinNoise,
            "within the spread of the runs".to_owned(),
        );
    }
    if worse_percent > 0.0 {
        (
            Change::Regressed,
            format!("worse than the {}% tolerance", trim_number(tolerance)),
        )
    } else {
        (
            Change::Improved,
            format!("better than the {}% tolerance", trim_number(tolerance)),
        )
    }
}

fn trim_number(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Data-safety counts: a count the baseline never had is a regression; otherwise medians and
/// spreads decide.
fn judge_anomaly(b: &Spread, c: &Spread, increase_allowed: u64) -> (Change, String) {
    let allowed = increase_allowed as f64;
    if b.max == 0.0 && c.max == 0.0 {
        return (Change::Unchanged, "none on either side".to_owned());
    }
    if b.max == 0.0 {
        return if c.max > allowed {
            (Change::Regressed, "new anomaly".to_owned())
        } else {
            (
                Change::WithinNoise,
                "new, but within the allowed increase".to_owned(),
            )
        };
    }
    if c.max == 0.0 {
        return (Change::Improved, "gone".to_owned());
    }
    if c.median > b.max + allowed {
        (
            Change::Regressed,
            "more than in any baseline run".to_owned(),
        )
    } else if c.median < b.min {
        (
            Change::Improved,
            "fewer than in any baseline run".to_owned(),
        )
    } else if c.median == b.median {
        (Change::Unchanged, "same median".to_owned())
    } else {
        (
            Change::WithinNoise,
            "within the spread of the runs".to_owned(),
        )
    }
}

/// Checks, as 1 (failed) or 0 (held) per run.
fn judge_check(b: &Spread, c: &Spread, failing_regresses: bool) -> (Change, String) {
    let failed_anywhere = |s: &Spread| s.max > 0.0;
    let failed_everywhere = |s: &Spread| s.min > 0.0;
    match (failed_anywhere(b), failed_anywhere(c)) {
        (false, false) => (Change::Unchanged, "holds".to_owned()),
        (false, true) if failing_regresses => (Change::Regressed, "now fails".to_owned()),
        (false, true) => (Change::WithinNoise, "now fails (not counted)".to_owned()),
        (true, false) => (Change::Improved, "now holds".to_owned()),
        (true, true) => {
            if failed_everywhere(c) && !failed_everywhere(b) && failing_regresses {
                (Change::Regressed, "now fails in every run".to_owned())
            } else if failed_everywhere(b) && !failed_everywhere(c) {
                (Change::Improved, "now holds in some runs".to_owned())
            } else if b.mean == c.mean {
                (Change::Unchanged, "fails on both sides".to_owned())
            } else {
                (Change::WithinNoise, "fails on both sides".to_owned())
            }
        }
    }
}

/// One scenario under several values of a setting, each against the first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Matrix {
    /// The values, the baseline first.
    pub labels: Vec<String>,
    /// Runs per value.
    pub runs: Vec<usize>,
    /// One row per figure.
    pub rows: Vec<MatrixRow>,
    /// Each value after the first against the first.
    pub comparisons: Vec<Comparison>,
    /// [`Change::Regressed`] when any value regressed any figure, and so on as in
    /// [`Comparison::verdict`].
    pub verdict: Change,
}

/// One figure across the values of a matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatrixRow {
    /// Name of the figure.
    pub name: String,
    /// What the values measure.
    pub unit: Unit,
    /// Which direction is better.
    pub better: Better,
    /// The baseline's runs.
    pub baseline: Option<Spread>,
    /// Each other value against the baseline, in the order of [`Matrix::labels`] after the
    /// first; `None` where that value lacks the figure entirely.
    pub others: Vec<Option<MatrixCell>>,
}

/// A value of a matrix against the baseline, for one figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatrixCell {
    /// The runs of this value.
    pub spread: Option<Spread>,
    /// Against the baseline's median, percent.
    pub change_percent: Option<f64>,
    /// The verdict against the baseline.
    pub change: Change,
}

/// Compares each labelled set of runs with the first one.
pub fn compare_many(labelled: &[(String, Vec<RunResult>)], tolerances: &Tolerances) -> Matrix {
    let Some((_, baseline)) = labelled.first() else {
        return Matrix {
            labels: Vec::new(),
            runs: Vec::new(),
            rows: Vec::new(),
            comparisons: Vec::new(),
            verdict: Change::Unchanged,
        };
    };
    let comparisons: Vec<Comparison> = labelled[1..]
        .iter()
        .map(|(_, runs)| compare(baseline, runs, tolerances))
        .collect();
    // The rows of the baseline alone, for a matrix of one value, come from comparing it with
    // itself; every figure it has is then listed.
    let reference = compare(baseline, baseline, tolerances);
    let mut names: Vec<(String, Unit, Better)> = Vec::new();
    for metric in reference
        .metrics
        .iter()
        .chain(comparisons.iter().flat_map(|c| c.metrics.iter()))
    {
        if !names.iter().any(|(name, ..)| *name == metric.name) {
            names.push((metric.name.clone(), metric.unit, metric.better));
        }
    }
    let rows = names
        .into_iter()
        .map(|(name, unit, better)| {
            let baseline = reference
                .metrics
                .iter()
                .find(|m| m.name == name)
                .and_then(|m| m.baseline);
            let others = comparisons
                .iter()
                .map(|comparison| {
                    comparison
                        .metrics
                        .iter()
                        .find(|m| m.name == name)
                        .map(|m| MatrixCell {
                            spread: m.candidate,
                            change_percent: m.change_percent,
                            change: m.change,
                        })
                })
                .collect();
            MatrixRow {
                name,
                unit,
                better,
                baseline,
                others,
            }
        })
        .collect();
    Matrix {
        labels: labelled.iter().map(|(label, _)| label.clone()).collect(),
        runs: labelled.iter().map(|(_, runs)| runs.len()).collect(),
        verdict: overall(comparisons.iter().map(|c| c.verdict)),
        rows,
        comparisons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spread(values: &[f64]) -> Spread {
        Spread::of(values).unwrap()
    }

    #[test]
    fn spread_takes_median_extremes_and_deviation() {
        let s = spread(&[3.0, 1.0, 2.0, 10.0]);
        assert_eq!((s.runs, s.median, s.min, s.max), (4, 2.5, 1.0, 10.0));
        assert_eq!(s.mad, 1.0);
        assert_eq!(Spread::of(&[]), None);
        assert_eq!(Spread::of(&[f64::NAN]), None);
        assert_eq!(
            spread(&[f64::INFINITY, f64::INFINITY]).median,
            f64::INFINITY
        );
    }

    #[test]
    fn measures_are_judged_by_tolerance_then_noise() {
        let t = 10.0;
        let one = |v| spread(&[v]);
        assert_eq!(
            judge_measure(&one(100.0), &one(109.0), Better::Lower, t, 0.0).0,
            Change::Unchanged
        );
        assert_eq!(
            judge_measure(&one(100.0), &one(111.0), Better::Lower, t, 0.0).0,
            Change::Regressed
        );
        assert_eq!(
            judge_measure(&one(100.0), &one(80.0), Better::Lower, t, 0.0).0,
            Change::Improved
        );
        assert_eq!(
            judge_measure(&one(100.0), &one(80.0), Better::Higher, t, 0.0).0,
            Change::Regressed
        );
        // 50 µs on 100 µs is +50%, but below the floor.
        assert_eq!(
            judge_measure(&one(100.0), &one(150.0), Better::Lower, t, 100.0).0,
            Change::Unchanged
        );
        // Candidate median inside the baseline's runs.
        let noisy = spread(&[80.0, 100.0, 140.0]);
        assert_eq!(
            judge_measure(&noisy, &one(130.0), Better::Lower, t, 0.0).0,
            Change::WithinNoise
        );
        assert_eq!(
            judge_measure(&noisy, &spread(&[150.0, 160.0]), Better::Lower, t, 0.0).0,
            Change::Regressed
        );
    }

    #[test]
    fn never_recovering_is_a_regression_and_never_twice_is_unchanged() {
        let t = 20.0;
        let never = spread(&[f64::INFINITY]);
        assert_eq!(
            judge_measure(&spread(&[9.0]), &never, Better::Lower, t, 1.0).0,
            Change::Regressed
        );
        assert_eq!(
            judge_measure(&never, &never, Better::Lower, t, 1.0).0,
            Change::Unchanged
        );
        assert_eq!(
            judge_measure(&never, &spread(&[9.0]), Better::Lower, t, 1.0).0,
            Change::Improved
        );
    }

    #[test]
    fn a_new_anomaly_is_a_regression_whatever_the_noise() {
        let zero = spread(&[0.0, 0.0, 0.0]);
        assert_eq!(
            judge_anomaly(&zero, &spread(&[0.0, 0.0, 1.0]), 0).0,
            Change::Regressed
        );
        assert_eq!(
            judge_anomaly(&zero, &spread(&[0.0, 0.0, 1.0]), 1).0,
            Change::WithinNoise
        );
        assert_eq!(judge_anomaly(&zero, &zero, 0).0, Change::Unchanged);
        assert_eq!(judge_anomaly(&spread(&[2.0]), &zero, 0).0, Change::Improved);
        assert_eq!(
            judge_anomaly(&spread(&[0.0, 4.0]), &spread(&[3.0]), 0).0,
            Change::WithinNoise
        );
        assert_eq!(
            judge_anomaly(&spread(&[0.0, 4.0]), &spread(&[2.0]), 0).0,
            Change::Unchanged
        );
        assert_eq!(
            judge_anomaly(&spread(&[0.0, 4.0]), &spread(&[9.0]), 0).0,
            Change::Regressed
        );
    }

    #[test]
    fn a_check_that_starts_failing_is_a_regression() {
        let held = spread(&[0.0, 0.0]);
        let failed_once = spread(&[0.0, 1.0]);
        assert_eq!(judge_check(&held, &failed_once, true).0, Change::Regressed);
        assert_eq!(
            judge_check(&held, &failed_once, false).0,
            Change::WithinNoise
        );
        assert_eq!(judge_check(&failed_once, &held, true).0, Change::Improved);
        assert_eq!(
            judge_check(&failed_once, &spread(&[1.0, 1.0]), true).0,
            Change::Regressed
        );
        assert_eq!(judge_check(&held, &held, true).0, Change::Unchanged);
    }

    #[test]
    fn tolerances_read_partially_and_reject_unknown_keys() {
        let t: Tolerances = serde_json::from_str(r#"{"latency_rise_percent": 25}"#).unwrap();
        assert_eq!(t.latency_rise_percent, 25.0);
        assert_eq!(t.throughput_drop_percent, 5.0);
        assert!(serde_json::from_str::<Tolerances>(r#"{"latency_rise": 25}"#).is_err());
    }

    #[test]
    fn overall_verdict_takes_the_worst_news() {
        use Change::*;
        assert_eq!(overall([Improved, Regressed].into_iter()), Regressed);
        assert_eq!(
            overall([Unchanged, WithinNoise, Improved].into_iter()),
            Improved
        );
        assert_eq!(overall([Unchanged, NotCompared].into_iter()), Unchanged);
        assert_eq!(overall(std::iter::empty()), Unchanged);
    }
}
