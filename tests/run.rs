//! `streamproof run` end to end: real clusters, real exit codes, and the counts reconciled
//! with an independent client.

mod common;

use common::{bootstrap, exclusive, explain, read_result, streamproof};

use std::path::{Path, PathBuf};
use std::process::Command;

use streamproof_platform::runtime::{default_cache_root, KafkaDistribution};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Counts the run's records in the raw topics with Kafka's own Java consumer.
fn independent_count(run_id: &str) -> u64 {
    let distribution = KafkaDistribution::ensure(&default_cache_root()).unwrap();
    let source = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/java/CountRecords.java");
    let output = Command::new(&distribution.java)
        .arg("-cp")
        .arg(distribution.class_path())
        .arg(source)
        .arg(bootstrap())
        .arg(run_id)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", explain(&output));
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn a_short_scenario_passes_and_its_counts_match_an_independent_count() {
    let _one = exclusive();
    let out = tempfile::tempdir().unwrap();
    let output = streamproof(&[
        "run",
        fixture("short.yaml").to_str().unwrap(),
        "--bootstrap-servers",
        &bootstrap(),
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let result = read_result(out.path());
    assert_eq!(result["verdict"], "pass");
    assert_eq!(result["result_version"], 1);
    let environment = &result["environment"];
    assert_eq!(environment["command_line"][1], "run");
    assert!(environment["cores"].as_u64().unwrap() >= 1);
    assert!(environment["memory_bytes"].as_u64().unwrap() > 0);
    assert!(!environment["git_revision"].as_str().unwrap().is_empty());
    let counts = &result["counts"];
    let sent = counts["sent"].as_u64().unwrap();
    assert_eq!(sent, 1250, "250 events/s for 5 s, warmup included");
    assert_eq!(counts["acked"], sent);
    assert_eq!(counts["present"], sent);
    assert_eq!(counts["lost"], 0);
    assert!(counts["deliberate_duplicates_sent"].as_u64().unwrap() > 0);
    assert!(counts["invalid_sent"].as_u64().unwrap() > 0);
    assert_eq!(counts["invalid_present"], counts["invalid_sent"]);
    assert_eq!(independent_count(result["run_id"].as_str().unwrap()), sent);

    let summary = std::fs::read_to_string(out.path().join("summary.md")).unwrap();
    assert!(summary.starts_with("# ✅ PASS: short"), "{summary}");
    assert!(result["timeseries"].as_array().unwrap().len() >= 5);
    assert!(result["latency"]["end_to_end"]["count"].as_u64().unwrap() > 0);
}

#[test]
fn an_expectation_no_platform_meets_fails_with_exit_code_1() {
    let _one = exclusive();
    let out = tempfile::tempdir().unwrap();
    let output = streamproof(&[
        "run",
        fixture("unsafe-lag.yaml").to_str().unwrap(),
        "--bootstrap-servers",
        &bootstrap(),
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", explain(&output));
    let result = read_result(out.path());
    assert_eq!(result["verdict"], "fail");
    let failed: Vec<&str> = result["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(failed, vec!["max_lag"]);
    assert_eq!(result["counts"]["lost"], 0);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("✗ max_lag: expected ≤ 0 records"),
        "{stdout}"
    );
}

#[test]
fn a_malformed_scenario_exits_2_with_file_line_and_column() {
    let file = fixture("malformed.yaml");
    for command in ["validate", "run"] {
        let output = streamproof(&[command, file.to_str().unwrap()]);
        assert_eq!(output.status.code(), Some(2), "{}", explain(&output));
        let stderr = String::from_utf8_lossy(&output.stderr);
        let expected = format!("{}:5:15: 2 is not a fraction", file.display());
        assert!(stderr.contains(&expected), "{stderr}");
    }
}

/// Every process whose command line mentions `dir`.
fn processes_mentioning(dir: &Path) -> Vec<String> {
    let needle = dir.to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let cmdline = std::fs::read(path.join("cmdline")).ok()?;
            let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            text.contains(&needle).then_some(text)
        })
        .collect()
}

#[test]
fn a_run_on_the_embedded_platform_stops_everything_it_started() {
    let _one = exclusive();
    let out = tempfile::tempdir().unwrap();
    let out_dir = std::fs::canonicalize(out.path()).unwrap();
    let output = streamproof(&[
        "run",
        fixture("tiny.yaml").to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let result = read_result(&out_dir);
    assert_eq!(result["platform"]["kind"], "embedded");
    assert_eq!(result["platform"]["kafka_version"], "4.1.1");
    assert_eq!(result["counts"]["present"], 150);
    assert!(
        out_dir.join("platform/broker-1/server.log").exists(),
        "logs are kept"
    );
    assert_eq!(processes_mentioning(&out_dir), Vec::<String>::new());
}
