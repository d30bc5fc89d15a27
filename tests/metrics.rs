//! `run --metrics-addr` scraped by a real Prometheus (Debian's `prometheus` package), queried
//! through its HTTP API: the seed's metric names and labels, streamproof's own, the run id on
//! every series; and the Grafana dashboard in the repository uses only metrics a scrape has.
//! `copier --metrics-addr` serves what the copier copied under the same names.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::records::spawn_run_on_shared_cluster;
use common::{exclusive, explain, read_result};
use serde_json::Value;

const METRICS_PORT: u16 = 28464;
const PROMETHEUS_PORT: u16 = 28490;

/// A Prometheus server scraping the run's endpoint every second; killed when dropped.
struct Prometheus {
    child: Child,
    _data: tempfile::TempDir,
}

impl Prometheus {
    fn start() -> Self {
        let data = tempfile::tempdir().unwrap();
        let config = data.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: streamproof\n    static_configs:\n      - targets: ['127.0.0.1:{METRICS_PORT}']\n"
            ),
        )
        .unwrap();
        let child = Command::new(prometheus_binary())
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                data.path().join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{PROMETHEUS_PORT}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus (Debian's `prometheus` package)");
        let server = Prometheus { child, _data: data };
        let started = Instant::now();
        while ureq::get(&format!("http://127.0.0.1:{PROMETHEUS_PORT}/-/ready"))
            .call()
            .is_err()
        {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "Prometheus never became ready"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
        server
    }

    /// The result vector of an instant query.
    fn query(&self, promql: &str) -> Vec<Value> {
        let mut answer = ureq::get(&format!("http://127.0.0.1:{PROMETHEUS_PORT}/api/v1/query"))
            .query("query", promql)
            .call()
            .unwrap_or_else(|e| panic!("query `{promql}`: {e}"));
        let body: Value = answer.body_mut().read_json().unwrap();
        assert_eq!(body["status"], "success", "{body}");
        body["data"]["result"].as_array().unwrap().clone()
    }

    /// Every metric name Prometheus has ingested.
    fn metric_names(&self) -> BTreeSet<String> {
        let mut answer = ureq::get(&format!(
            "http://127.0.0.1:{PROMETHEUS_PORT}/api/v1/label/__name__/values"
        ))
        .call()
        .unwrap();
        let body: Value = answer.body_mut().read_json().unwrap();
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|name| name.as_str().unwrap().to_owned())
            .collect()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn prometheus_binary() -> PathBuf {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|dir| dir.join("prometheus"))
        .find(|candidate| candidate.exists())
        .unwrap_or_else(|| PathBuf::from("/usr/bin/prometheus"))
}

/// The metric names a PromQL expression reads (streamproof's and the seed's).
fn metrics_in(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut current = String::new();
    for c in expr.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
            current.push(c);
        } else {
            if current.starts_with("kafka_") || current.starts_with("streamproof_") {
                names.push(std::mem::take(&mut current));
            }
            current.clear();
        }
    }
    names
}

fn dashboard() -> Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("platform/monitoring/grafana-dashboard.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Every PromQL expression of the dashboard: panel targets, annotations, variables.
fn dashboard_queries(dashboard: &Value) -> Vec<String> {
    let mut queries: Vec<String> = dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|panel| panel["targets"].as_array().unwrap().iter())
        .map(|target| target["expr"].as_str().unwrap().to_owned())
        .collect();
    for annotation in dashboard["annotations"]["list"].as_array().unwrap() {
        queries.extend(annotation["expr"].as_str().map(str::to_owned));
    }
    for variable in dashboard["templating"]["list"].as_array().unwrap() {
        queries.extend(variable["definition"].as_str().map(str::to_owned));
    }
    queries
}

#[test]
fn a_real_prometheus_scrapes_the_seeds_metrics_and_the_dashboard_finds_each_one() {
    let _one = exclusive();
    let prometheus = Prometheus::start();
    let out = tempfile::tempdir().unwrap();
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/metrics.yaml");
    let run = spawn_run_on_shared_cluster(
        &scenario,
        out.path(),
        &[
            "--metrics-addr",
            &format!("127.0.0.1:{METRICS_PORT}"),
            "--metrics-linger",
            "3s",
        ],
    );
    let output = run.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let result = read_result(out.path());
    let run_id = result["run_id"].as_str().unwrap();

    let consumed = prometheus.query(&format!(
        "last_over_time(kafka_messages_consumed_total{{status=\"success\",run_id=\"{run_id}\"}}[10m])"
    ));
    let value = |series: &Value| series["value"][1].as_str().unwrap().parse::<f64>().unwrap();
    // Every raw topic has a series; the scenario's mix sends to two of them.
    let topics: BTreeSet<&str> = consumed
        .iter()
        .filter(|series| value(series) > 0.0)
        .map(|series| series["metric"]["topic"].as_str().unwrap())
        .collect();
    assert_eq!(
        topics,
        BTreeSet::from(["raw-events", "raw-transactions"]),
        "{consumed:?}"
    );
    assert_eq!(consumed.len(), 5);
    for series in &consumed {
        assert!(series["metric"]["group_id"]
            .as_str()
            .unwrap()
            .starts_with("metrics-readers-"));
    }
    let scraped: f64 = consumed.iter().map(value).sum();
    let total = result["counts"]["present"].as_f64().unwrap();
    assert!(scraped > 0.0 && scraped <= total, "{scraped} of {total}");

    let latency = prometheus.query(&format!(
        "last_over_time(kafka_producer_latency_seconds_count{{run_id=\"{run_id}\"}}[10m])"
    ));
    let measured: Vec<&str> = latency
        .iter()
        .filter(|series| value(series) > 0.0)
        .map(|series| series["metric"]["topic"].as_str().unwrap())
        .collect();
    assert_eq!(
        measured,
        vec!["raw-events", "raw-transactions"],
        "{latency:?}"
    );
    let acked: f64 = latency.iter().map(value).sum();
    assert!(acked <= result["counts"]["acked"].as_f64().unwrap());
    let faults = prometheus.query(&format!(
        "max_over_time(streamproof_fault_active{{kind=\"kill\",target=\"producers\",run_id=\"{run_id}\"}}[10m])"
    ));
    assert_eq!(faults.len(), 1, "{faults:?}");
    assert_eq!(faults[0]["value"][1], "1", "the fault was seen acting");
    let lag = prometheus.query(&format!(
        "last_over_time(streamproof_consumer_lag_records{{run_id=\"{run_id}\"}}[10m])"
    ));
    assert!(!lag.is_empty(), "lag per group and partition");

    // The verification's counts, scraped once the run ended (the endpoint lingers for it).
    for anomaly in ["lost", "duplicates", "phantoms", "corrupted"] {
        let found = prometheus.query(&format!(
            "last_over_time(streamproof_anomalies{{anomaly=\"{anomaly}\",run_id=\"{run_id}\"}}[10m])"
        ));
        assert_eq!(found.len(), 1, "{anomaly}: {found:?}");
        assert_eq!(
            value(&found[0]),
            result["counts"][anomaly].as_f64().unwrap(),
            "{anomaly}"
        );
    }

    let names = prometheus.metric_names();
    for query in dashboard_queries(&dashboard()) {
        for metric in metrics_in(&query) {
            assert!(
                names.contains(&metric),
                "the dashboard reads `{metric}` ({query}), which no scrape had: {names:?}"
            );
        }
    }
}

#[test]
fn a_metrics_address_in_use_is_named() {
    let taken = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny.yaml");
    let output = common::streamproof(&["run", scenario.to_str().unwrap(), "--metrics-addr", &addr]);
    assert_eq!(output.status.code(), Some(2), "{}", explain(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&addr) && stderr.contains("in use"),
        "{stderr}"
    );
}

const COPIER_METRICS_PORT: u16 = 28465;

/// The copier's `kafka_messages_consumed_total` and committed batches for `group`, summed
/// over topics, from one scrape of its endpoint; `None` while it does not answer.
fn copier_counts(group: &str) -> Option<(f64, f64)> {
    let text = ureq::get(&format!("http://127.0.0.1:{COPIER_METRICS_PORT}/metrics"))
        .call()
        .ok()?
        .body_mut()
        .read_to_string()
        .ok()?;
    let group_label = format!("group_id=\"{group}\"");
    let sum = |prefix: &str, label: &str| -> f64 {
        text.lines()
            .filter(|line| line.starts_with(prefix) && line.contains(&group_label))
            .filter(|line| line.contains(label))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    Some((
        sum("kafka_messages_consumed_total{", "status=\"success\""),
        sum("streamproof_copier_batches_total{", "outcome=\"committed\""),
    ))
}

/// `copier --metrics-addr`: the records it copied per raw topic under the seed's
/// `kafka_messages_consumed_total` and its committed batches, equal to what it reports
/// having copied when it stops. Needs the shared test cluster of `scripts/test`.
#[test]
fn the_copier_serves_what_it_copied_under_the_seeds_names() {
    let _one = exclusive();
    let group = format!("metrics-copier-{}", uuid::Uuid::new_v4().simple());
    let servers = common::bootstrap();
    // The raw topics exist once any run used the cluster; on a fresh one, create them (an
    // existing set with other settings is only reported).
    common::streamproof(&["topics", "apply", "--bootstrap-servers", &servers]);
    let event = serde_json::json!({
        "event_id": uuid::Uuid::new_v4().to_string(),
        "event_type": "user_action",
        "event_timestamp": "2026-12-01T10:30:00Z",
        "source_system": "web-app",
        "payload": {"user_id": "user-123", "action": "purchase"}
    });
    let published = common::streamproof(&[
        "publish",
        "--bootstrap-servers",
        &servers,
        "--event",
        &event.to_string(),
    ]);
    assert_eq!(published.status.code(), Some(0), "{}", explain(&published));
    let copier = Command::new(env!("CARGO_BIN_EXE_streamproof"))
        .args(["copier", "--bootstrap-servers", &servers, "--group", &group])
        .args([
            "--metrics-addr",
            &format!("127.0.0.1:{COPIER_METRICS_PORT}"),
        ])
        .arg("--json")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Copied everything there is once three scrapes a second apart agree.
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_secs(1));
        if let Some(counts) = copier_counts(&group) {
            seen.push(counts);
        }
        let last = seen.last().copied().unwrap_or_default();
        if last.0 >= 1.0 && seen.len() >= 3 && seen[seen.len() - 3..].iter().all(|c| *c == last) {
            break;
        }
    }
    let (records, batches) = *seen.last().expect("the copier's endpoint answered");
    let interrupted = Command::new("kill")
        .args(["-INT", &copier.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let output = copier.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let stats: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(records >= 1.0, "the published event was copied: {records}");
    assert_eq!(records, stats["records"].as_f64().unwrap(), "{stats}");
    assert_eq!(batches, stats["batches"].as_f64().unwrap(), "{stats}");
}
