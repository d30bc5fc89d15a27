//! What the faults did to the load: the acknowledged rate before the first fault, inside the
//! fault windows and outside them, from a run's per-second series and its fault records.

use std::time::Duration;

use streamproof_result::{FaultRecord, FaultThroughput, SecondPoint};

/// The acknowledged events/s of the measured seconds before the first fault (their median:
/// the typical second, which a burst of acknowledgements held back during the warmup does
/// not inflate), and the mean inside any fault window and outside all of them.
pub fn fault_throughput(
    series: &[SecondPoint],
    faults: &[FaultRecord],
    warmup: Duration,
    load_end: Duration,
) -> Option<FaultThroughput> {
    if faults.is_empty() {
        return None;
    }
    let windows: Vec<(f64, f64)> = faults
        .iter()
        .map(|f| {
            (
                f.injected_at_s.floor(),
                f.healed_at_s.unwrap_or(f64::MAX).ceil(),
            )
        })
        .collect();
    let first_fault = windows.iter().map(|w| w.0).fold(f64::MAX, f64::min);
    let measured = series
        .iter()
        .filter(|p| p.second >= warmup.as_secs() && p.second < load_end.as_secs());
    let (mut before, mut during, mut outside) = (Vec::new(), Vec::new(), Vec::new());
    for point in measured {
        let second = point.second as f64;
        let acked = point.acked as f64;
        if windows
            .iter()
            .any(|(from, to)| second >= *from && second <= *to)
        {
            during.push(acked);
        } else {
            outside.push(acked);
            if second < first_fault {
                before.push(acked);
            }
        }
    }
    let mean = |values: &[f64]| {
        (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    };
    Some(FaultThroughput {
        before_faults_eps: median(&mut before),
        during_faults_eps: mean(&during),
        outside_faults_eps: mean(&outside),
    })
}

fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    Some(if values.len().is_multiple_of(2) {
        (values[middle - 1] + values[middle]) / 2.0
    } else {
        values[middle]
    })
}

/// How many of `faults` were applied and healed, of how many; None without faults.
pub fn healed(faults: &[FaultRecord]) -> Option<(usize, usize)> {
    let healed = faults
        .iter()
        .filter(|f| f.applied && f.healed_at_s.is_some())
        .count();
    (!faults.is_empty()).then_some((healed, faults.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(second: u64, acked: u64) -> SecondPoint {
        SecondPoint {
            second,
            acked,
            ..SecondPoint::default()
        }
    }

    /// The series split by one kill injected at 4.2 s and healed at 5.5 s, warmup 1 s.
    fn split_around_a_kill_from_4_2_to_5_5(series: &[SecondPoint]) -> FaultThroughput {
        let fault = FaultRecord {
            fault: 0,
            repetition: 0,
            kind: "kill".into(),
            target: "broker:1".into(),
            brokers: vec![1],
            injected_at_s: 4.2,
            healed_at_s: Some(5.5),
            detail: String::new(),
            applied: true,
            commands: Vec::new(),
        };
        fault_throughput(
            series,
            &[fault],
            Duration::from_secs(1),
            Duration::from_secs(10),
        )
        .expect("a split with one fault")
    }

    #[test]
    fn throughput_is_split_by_fault_windows() {
        let series: Vec<SecondPoint> = (0..10)
            .map(|s| point(s, if (4..=6).contains(&s) { 10 } else { 100 }))
            .collect();
        let split = split_around_a_kill_from_4_2_to_5_5(&series);
        assert_eq!(split.before_faults_eps, Some(100.0), "seconds 1 to 3");
        assert_eq!(split.during_faults_eps, Some(10.0), "seconds 4 to 6");
        assert_eq!(split.outside_faults_eps, Some(100.0));
        assert_eq!(
            fault_throughput(&series, &[], Duration::ZERO, Duration::from_secs(10)),
            None
        );
    }

    #[test]
    fn a_burst_of_held_back_acknowledgements_before_the_fault_does_not_raise_the_baseline() {
        // Second 1 acknowledges the warmup's backlog at once; the typical second is 100.
        let series: Vec<SecondPoint> = (0..10)
            .map(|s| point(s, if s == 1 { 900 } else { 100 }))
            .collect();
        let split = split_around_a_kill_from_4_2_to_5_5(&series);
        assert_eq!(
            split.before_faults_eps,
            Some(100.0),
            "median of 900, 100, 100"
        );
    }
}
