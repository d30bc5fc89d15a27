//! `run --metrics-addr`: a Prometheus `/metrics` endpoint served while scenarios run, with the
//! seed's metric names and streamproof's own (see `docs/metrics.md`), and the run-level
//! series this process sets itself: which run is running, and the anomalies its verification
//! found.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result};
use metrics::gauge;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
use streamproof_loadgen::meters::{GENERATOR_SLIP, PRODUCER_LATENCY};
use streamproof_reports::result::RunResult;

/// 1 for the run in progress (labels: `run_id`, `scenario`), 0 once it ended.
pub const RUN_INFO: &str = "streamproof_run_info";
/// Anomalies the run's verification found, per kind.
pub const ANOMALIES: &str = "streamproof_anomalies";

/// Latency buckets, seconds: 1 ms to 10 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Serves `/metrics` on `addr` for the rest of this process.
pub fn serve(addr: SocketAddr) -> Result<()> {
    PrometheusBuilder::new()
        .with_http_listener(addr)
        .set_buckets_for_metric(Matcher::Full(PRODUCER_LATENCY.to_owned()), LATENCY_BUCKETS)
        .and_then(|b| {
            b.set_buckets_for_metric(Matcher::Full(GENERATOR_SLIP.to_owned()), LATENCY_BUCKETS)
        })
        .context("configure the metrics endpoint")?
        .install()
        .with_context(|| {
            format!(
                "serve metrics on {addr} (is the port in use? choose another with --metrics-addr)"
            )
        })?;
    eprintln!("serving Prometheus metrics at http://{addr}/metrics");
    Ok(())
}

/// Keeps the endpoint up for `how_long` after the last run, for a final scrape.
pub fn linger(how_long: Duration) {
    if how_long.is_zero() {
        return;
    }
    eprintln!(
        "keeping the metrics endpoint up for {} for a last scrape…",
        humantime_serde::re::humantime::format_duration(how_long)
    );
    std::thread::sleep(how_long);
}

/// Marks run `run_id` of `scenario` as running.
pub fn run_started(run_id: &str, scenario: &str) {
    gauge!(RUN_INFO, "run_id" => run_id.to_owned(), "scenario" => scenario.to_owned()).set(1.0);
}

/// Marks the run ended, with the anomalies its verification counted.
pub fn run_ended(result: &RunResult) {
    let run_id = result.run_id.clone();
    gauge!(RUN_INFO, "run_id" => run_id.clone(), "scenario" => result.scenario.name.clone())
        .set(0.0);
    let counts = &result.counts;
    for (anomaly, count) in [
        ("lost", counts.lost),
        ("duplicates", counts.duplicates),
        ("corrupted", counts.corrupted),
        ("phantoms", counts.phantoms),
        ("offset_mismatches", counts.offset_mismatches),
        ("order_violations", counts.order_violations),
    ] {
        gauge!(ANOMALIES, "anomaly" => anomaly, "run_id" => run_id.clone()).set(count as f64);
    }
}
