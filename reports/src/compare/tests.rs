//! Unit tests.

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
