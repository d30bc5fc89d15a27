//! Every chart draws, without panicking, for ordinary and awkward runs.

mod common;

use streamproof_reports::charts::{self, ChartKind};
use streamproof_reports::result::RunResult;

fn all_svgs(result: &RunResult) -> Vec<String> {
    ChartKind::ALL
        .iter()
        .map(|&kind| charts::svg(result, kind).expect("the chart draws"))
        .collect()
}

#[test]
fn charts_of_a_chaos_run_show_the_fault_window_on_every_time_chart() {
    let result = common::broker_kill();
    for kind in ChartKind::ALL {
        let svg = charts::svg(&result, kind).unwrap();
        assert!(svg.starts_with("<svg"), "{kind:?}");
        assert!(svg.contains(kind.title()), "{kind:?} has its title");
        let time_chart = kind != ChartKind::LatencyDistribution;
        assert_eq!(
            svg.contains("kill leader:raw-events/0"),
            time_chart,
            "{kind:?} labels the fault window"
        );
    }
}

#[test]
fn chart_legends_name_each_series() {
    let result = common::broker_kill();
    let throughput = charts::svg(&result, ChartKind::Throughput).unwrap();
    for label in [
        "target",
        "sent",
        "acknowledged",
        "consumed",
        "fault window",
        "warmup",
    ] {
        assert!(throughput.contains(label), "throughput shows {label}");
    }
    let latency = charts::svg(&result, ChartKind::Latency).unwrap();
    for label in ["produce p99", "end-to-end p99", "latency, ms (log)"] {
        assert!(latency.contains(label), "latency shows {label}");
    }
    let distribution = charts::svg(&result, ChartKind::LatencyDistribution).unwrap();
    for label in [
        "produce (corrected)",
        "produce (uncorrected)",
        "50%",
        "90%",
        "99%",
        "99.9%",
    ] {
        assert!(distribution.contains(label), "distribution shows {label}");
    }
}

#[test]
fn charts_of_a_run_without_faults_have_no_fault_window() {
    for svg in all_svgs(&common::without_faults()) {
        assert!(!svg.contains("fault window"));
        assert!(!svg.contains("kill leader"));
    }
}

#[test]
fn charts_of_empty_series_say_so() {
    let result = common::empty_series();
    let svgs = all_svgs(&result);
    assert!(svgs[0].contains("no per-second samples"));
    assert!(svgs[1].contains("no latency samples"));
    assert!(svgs[2].contains("no latency samples"));
    assert!(svgs[3].contains("no lag samples"));
}

#[test]
fn charts_of_a_single_point_draw() {
    for svg in all_svgs(&common::single_point()) {
        assert!(svg.len() > 1000);
    }
}

#[test]
fn charts_of_zero_latencies_draw_on_log_axes() {
    let mut result = common::broker_kill();
    for point in &mut result.timeseries {
        point.produce_p50_us = 0;
        point.produce_p99_us = 0;
        point.end_to_end_p50_us = 0;
        point.end_to_end_p99_us = 0;
    }
    for point in &mut result.latency_distribution.produce {
        point.value_us = 0;
    }
    let svg = charts::svg(&result, ChartKind::Latency).unwrap();
    assert!(svg.contains("no latency samples"));
    charts::svg(&result, ChartKind::LatencyDistribution).unwrap();
}

#[test]
fn charts_of_a_huge_series_stay_small() {
    let result = common::huge_series(100_000);
    for (kind, svg) in ChartKind::ALL.iter().zip(all_svgs(&result)) {
        // Four lines of at most a few thousand points each, plus axes and labels.
        assert!(svg.len() < 1_000_000, "{kind:?}: {} bytes", svg.len());
        if *kind != ChartKind::LatencyDistribution {
            assert!(svg.contains("never healed"), "{kind:?}");
            // Dense series are hairlines: wide mitred joins would spike out of the plot.
            assert!(!svg.contains("stroke-width=\"4\""), "{kind:?}");
        }
    }
}

#[test]
fn png_charts_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let written = charts::write_pngs(&common::broker_kill(), dir.path()).unwrap();
    assert_eq!(written.len(), ChartKind::ALL.len());
    for path in written {
        let bytes = std::fs::read(&path).unwrap();
        assert!(bytes.starts_with(b"\x89PNG"), "{}", path.display());
    }
}

#[test]
fn png_into_a_missing_directory_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let error = charts::write_png(
        &common::broker_kill(),
        ChartKind::Lag,
        &dir.path().join("missing/lag.png"),
    )
    .unwrap_err();
    assert!(error.to_string().contains("lag.png"), "{error}");
}

#[test]
fn charts_of_odd_values_draw() {
    let mut result = common::broker_kill();
    result.throughput.target_eps = Some(f64::NAN);
    result.timeseries[3].lag_records = Some(-5);
    result.timeseries[4].produce_p99_us = u64::MAX;
    result.faults[0].injected_at_s = f64::NAN;
    let mut late = result.faults[0].clone();
    late.injected_at_s = 1e7;
    late.healed_at_s = Some(-1.0);
    late.applied = false;
    result.faults.push(late);
    result.latency_distribution.produce[0].percentile = f64::NAN;
    result.latency_distribution.produce[1].percentile = 250.0;
    result.latency_distribution.produce[2].percentile = -3.0;
    for kind in ChartKind::ALL {
        charts::svg(&result, kind).unwrap();
    }
    assert!(charts::svg(&result, ChartKind::Lag)
        .unwrap()
        .contains("(not applied)"));
}
