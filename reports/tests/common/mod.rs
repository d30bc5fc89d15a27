//! Fixtures shared by the integration tests: a real chaos run and variants made from it.
#![allow(dead_code)]

use std::path::Path;

use streamproof_reports::result::{RunResult, SecondPoint};

/// A real `broker-kill` run: three brokers, the leader of raw-events/0 killed at 15 s and
/// restarted 10 s later; it passed.
pub fn broker_kill() -> RunResult {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/broker-kill.json");
    RunResult::read(&path).expect("the broker-kill fixture reads")
}

/// A real run of `scenarios/pipeline/smoke.yaml`: the Flink pipeline and its lakehouse.
pub fn pipeline_smoke() -> RunResult {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pipeline-smoke.json");
    RunResult::read(&path).expect("the pipeline-smoke fixture reads")
}

/// The same run without its fault.
pub fn without_faults() -> RunResult {
    let mut result = broker_kill();
    result.faults.clear();
    result.fault_throughput = None;
    result
}

/// The run with no per-second samples and no distributions.
pub fn empty_series() -> RunResult {
    let mut result = broker_kill();
    result.timeseries.clear();
    result.latency_distribution = Default::default();
    result
}

/// The run with one per-second sample.
pub fn single_point() -> RunResult {
    let mut result = broker_kill();
    result.timeseries.truncate(1);
    result.latency_distribution.produce.truncate(1);
    result.latency_distribution.produce_uncorrected.truncate(1);
    result.latency_distribution.end_to_end.truncate(1);
    result
}

/// A day-long run: `seconds` points repeating the fixture's shape, with a fault that never
/// healed near the end.
pub fn huge_series(seconds: u64) -> RunResult {
    let mut result = broker_kill();
    let template = result.timeseries.clone();
    result.timeseries = (0..seconds)
        .map(|second| {
            let mut point: SecondPoint = template[(second as usize) % template.len()];
            point.second = second;
            point.warmup = second < 5;
            point
        })
        .collect();
    let mut never_healed = result.faults[0].clone();
    never_healed.injected_at_s = seconds as f64 - 500.0;
    never_healed.healed_at_s = None;
    result.faults.push(never_healed);
    result
}

/// The run with its throughput and every latency scaled, as another repetition of it would be.
pub fn scaled(result: &RunResult, throughput: f64, latency: f64) -> RunResult {
    let mut result = result.clone();
    let t = &mut result.throughput;
    t.achieved_eps *= throughput;
    t.sent_eps *= throughput;
    t.bytes_per_s *= throughput;
    if let Some(ft) = &mut result.fault_throughput {
        for eps in [
            &mut ft.before_faults_eps,
            &mut ft.during_faults_eps,
            &mut ft.outside_faults_eps,
        ]
        .into_iter()
        .flatten()
        {
            *eps *= throughput;
        }
    }
    let scale = |micros: &mut u64| *micros = (*micros as f64 * latency).round() as u64;
    let l = &mut result.latency;
    for latency in [&mut l.produce, &mut l.produce_uncorrected]
        .into_iter()
        .chain(l.end_to_end.as_mut())
    {
        for micros in [
            &mut latency.p50_us,
            &mut latency.p90_us,
            &mut latency.p99_us,
            &mut latency.p999_us,
            &mut latency.max_us,
        ] {
            scale(micros);
        }
    }
    result
}
