//! How one figure of the candidate is judged against the baseline: measures within noise,
//! anomalies that must not appear, checks that must not start failing.

use super::*;

/// Judges one figure.
pub(super) fn judge(
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

pub(super) fn change_percent(baseline: f64, candidate: f64) -> Option<f64> {
    if baseline == candidate {
        return Some(0.0);
    }
    let percent = (candidate - baseline) / baseline.abs() * 100.0;
    (baseline != 0.0 && percent.is_finite()).then_some(percent)
}

/// Whether the spread of the runs explains the difference of the medians: the candidate's
/// median lies within the baseline's runs, or the baseline's within the candidate's. A side
/// of one run has no spread to speak of.
pub(super) fn explained_by_noise(b: &Spread, c: &Spread) -> bool {
    (b.runs > 1 && b.contains(c.median)) || (c.runs > 1 && c.contains(b.median))
}

/// Throughput, latency, lag and recovery: relative change against a tolerance, ignoring
/// changes below an absolute floor, then the noise.
pub(super) fn judge_measure(
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

pub(super) fn trim_number(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Data-safety counts: a count the baseline never had is a regression; otherwise medians and
/// spreads decide.
pub(super) fn judge_anomaly(b: &Spread, c: &Spread, increase_allowed: u64) -> (Change, String) {
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
pub(super) fn judge_check(b: &Spread, c: &Spread, failing_regresses: bool) -> (Change, String) {
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
