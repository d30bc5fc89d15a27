//! A run's measurements turned into result.json's series: one point per second, the lag
//! summary and how long lag took to recover after the load (or after the last fault healed).

use std::collections::BTreeMap;
use std::time::Duration;

use streamproof_result::{FaultRecord, Lag, SecondPoint};

use crate::stats::quantile;
use crate::{LagSample, LoadOutcome};

/// From when lag recovery is measured, and to what level: after the load ends, back to 0;
/// with faults, after the last one healed, back to the worst lag seen between the warmup and
/// the first fault.
pub struct RecoveryWindow {
    /// Seconds since the load started from which recovery is measured.
    pub from_second: u64,
    /// The lag level to get back to.
    pub baseline: i64,
}

/// The recovery window of a load of `warmup` then `total` seconds with lag `samples` and
/// `faults`.
pub fn recovery_window(
    samples: &[LagSample],
    warmup: Duration,
    total: Duration,
    faults: &[FaultRecord],
) -> RecoveryWindow {
    let last_heal = faults
        .iter()
        .filter_map(|f| f.healed_at_s)
        .fold(None, |latest: Option<f64>, heal| {
            Some(latest.map_or(heal, |l| l.max(heal)))
        });
    let Some(last_heal) = last_heal else {
        return RecoveryWindow {
            from_second: total.as_secs(),
            baseline: 0,
        };
    };
    let first_fault = faults
        .iter()
        .map(|f| f.injected_at_s)
        .fold(f64::MAX, f64::min);
    let warmup_end = warmup.as_secs_f64();
    let baseline = worst_per_second(samples)
        .into_iter()
        .filter(|(second, _)| (*second as f64) >= warmup_end && (*second as f64) < first_fault)
        .map(|(_, lag)| lag)
        .max()
        .unwrap_or(0);
    RecoveryWindow {
        from_second: last_heal.ceil() as u64,
        baseline,
    }
}

/// Max and final lag (worst group), and how long after the window's start every group was
/// back at the window's baseline.
pub fn lag_summary(samples: &[LagSample], window: &RecoveryWindow, undrained: u64) -> Lag {
    let worst_by_second = worst_per_second(samples);
    let recovery_seconds = worst_by_second
        .iter()
        .find(|&(&second, &lag)| second >= window.from_second && lag <= window.baseline)
        .map(|(second, _)| (second - window.from_second) as f64);
    Lag {
        max_records: worst_by_second.values().copied().max(),
        final_records: worst_by_second.values().last().copied(),
        recovery_seconds,
        undrained_records: undrained,
    }
}

fn worst_per_second(samples: &[LagSample]) -> BTreeMap<u64, i64> {
    let mut worst = BTreeMap::new();
    for sample in samples {
        let entry = worst.entry(sample.second).or_insert(i64::MIN);
        *entry = (*entry).max(sample.records);
    }
    worst
}

/// One point per second of the load and drain: sends, acknowledgements, failures,
/// consumption, latency percentiles and the worst group's lag.
pub fn timeseries(outcome: &LoadOutcome, warmup: Duration) -> Vec<SecondPoint> {
    let lag = worst_per_second(&outcome.lag);
    outcome
        .seconds
        .buckets()
        .iter()
        .enumerate()
        .map(|(second, bucket)| SecondPoint {
            second: second as u64,
            warmup: (second as u64) < warmup.as_secs(),
            sent: bucket.sent,
            acked: bucket.acked,
            failed: bucket.failed,
            consumed: bucket.consumed,
            produce_p50_us: quantile(&bucket.produce, 0.5),
            produce_p99_us: quantile(&bucket.produce, 0.99),
            end_to_end_p50_us: quantile(&bucket.end_to_end, 0.5),
            end_to_end_p99_us: quantile(&bucket.end_to_end, 0.99),
            lag_records: lag.get(&(second as u64)).copied(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(second: u64, group: &str, records: i64) -> LagSample {
        LagSample {
            second,
            group: group.to_owned(),
            records,
        }
    }

    #[test]
    fn lag_recovery_is_the_first_second_after_the_load_with_every_group_at_zero() {
        let samples = vec![
            sample(8, "a", 50),
            sample(10, "a", 30),
            sample(10, "b", 0),
            sample(11, "a", 0),
            sample(11, "b", 5),
            sample(13, "a", 0),
            sample(13, "b", 0),
        ];
        let after_load = RecoveryWindow {
            from_second: 10,
            baseline: 0,
        };
        let lag = lag_summary(&samples, &after_load, 0);
        assert_eq!(lag.max_records, Some(50));
        assert_eq!(lag.final_records, Some(0));
        assert_eq!(lag.recovery_seconds, Some(3.0));
        assert_eq!(
            lag_summary(&samples[..3], &after_load, 0).recovery_seconds,
            None
        );
        let with_baseline = RecoveryWindow {
            from_second: 10,
            baseline: 5,
        };
        assert_eq!(
            lag_summary(&samples, &with_baseline, 0).recovery_seconds,
            Some(1.0)
        );
    }
}
