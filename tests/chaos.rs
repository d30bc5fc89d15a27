//! Fault scenarios end to end on the embedded three-broker platform: a real leader kill that
//! must lose nothing, and an unsafe configuration whose loss must be detected and reconcile
//! with an independent count.

mod common;

use common::{exclusive, explain, read_result, streamproof, UpPlatform};

use std::path::Path;
use std::process::{Command, Output};

use streamproof_platform::runtime::{default_cache_root, KafkaDistribution};

fn scenario(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios/chaos")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn a_killed_leader_loses_nothing_with_acks_all() {
    let _one = exclusive();
    let out = tempfile::tempdir().unwrap();
    let output = streamproof(&[
        "run",
        &scenario("broker-kill.yaml"),
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let result = read_result(out.path());
    let counts = &result["counts"];
    assert_eq!(counts["lost"], 0);
    assert_eq!(counts["duplicates"], 0);
    assert_eq!(counts["acked"], counts["present"]);
    let fault = &result["faults"][0];
    assert_eq!(fault["kind"], "kill");
    assert_eq!(fault["target"], "leader:raw-events/0");
    assert_eq!(fault["applied"], true);
    assert_eq!(fault["brokers"].as_array().unwrap().len(), 1);
    let injected = fault["injected_at_s"].as_f64().unwrap();
    let healed = fault["healed_at_s"].as_f64().unwrap();
    assert!((14.9..16.0).contains(&injected), "{injected}");
    assert!(healed - injected >= 10.0, "restarted after 10 s: {healed}");
    assert!(fault["detail"]
        .as_str()
        .unwrap()
        .starts_with("SIGKILL broker"));
}

/// The platform file `up` wrote gives its faults as `streamproof broker ACTION {id}`
/// commands: the run acts on brokers it did not start only through them, as it would
/// through a team's `kubectl` or `systemctl`.
#[test]
fn a_killed_leader_of_a_cluster_started_earlier_is_killed_and_started_by_the_platform_files_commands(
) {
    let _one = exclusive();
    let platform = UpPlatform::start("27392", &["--brokers", "3"]);
    let file = platform.platform_file();
    let out = tempfile::tempdir().unwrap();
    let output = broker_kill_on(&file, out.path());
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let result = read_result(out.path());
    assert_eq!(result["platform"]["kind"], "existing");
    assert_eq!(result["counts"]["lost"], 0);
    assert_eq!(result["counts"]["duplicates"], 0);
    let fault = &result["faults"][0];
    assert_eq!(fault["applied"], true, "{fault}");
    let broker = fault["brokers"][0]
        .as_i64()
        .expect("the leader it resolved to");
    let commands = fault["commands"].as_array().expect("the commands it ran");
    let ran: Vec<(&str, &str, i64)> = commands
        .iter()
        .map(|c| {
            (
                c["action"].as_str().unwrap(),
                c["command"].as_str().unwrap(),
                c["exit_code"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(ran.len(), 2, "{fault}");
    for ((action, command, exit), expected) in ran.iter().zip(["kill", "start"]) {
        assert_eq!(*action, expected);
        assert!(
            command.ends_with(&format!(
                "broker --dir '{}' {expected} {broker}",
                platform.path().display()
            )),
            "{command}"
        );
        assert_eq!(*exit, 0);
    }
    assert!(commands[0]["output"]
        .as_str()
        .unwrap()
        .starts_with(&format!("broker {broker} (pid ")));
    let started = commands[1]["started_at_s"].as_f64().unwrap();
    let killed = commands[0]["started_at_s"].as_f64().unwrap();
    assert!(
        started - killed >= 10.0,
        "started again after restart_after: {fault}"
    );
    let summary = std::fs::read_to_string(out.path().join("summary.md")).unwrap();
    assert!(
        summary.contains(&format!(
            "broker --dir '{}' kill {broker}",
            platform.path().display()
        )),
        "the report lists the commands: {summary}"
    );
}

/// `scenarios/chaos/broker-kill.yaml` on the platform `platform_file` describes, into `out`.
fn broker_kill_on(platform_file: &Path, out: &Path) -> Output {
    streamproof(&[
        "run",
        &scenario("broker-kill.yaml"),
        "--platform",
        platform_file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
}

/// Faults a platform file gives no command for are refused before anything starts, at the
/// fault's line in the scenario, naming the missing key.
#[test]
fn a_fault_the_platform_file_cannot_carry_out_is_refused_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("platform.yaml");
    std::fs::write(
        &file,
        "kafka:\n  bootstrap_servers: 127.0.0.1:1\nfaults:\n  broker:\n    kill: 'true'\n",
    )
    .unwrap();
    let output = broker_kill_on(&file, &dir.path().join("run"));
    assert_eq!(output.status.code(), Some(2), "{}", explain(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("broker-kill.yaml:30:5"), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "`{}` has no faults.broker.start; add it",
            file.display()
        )),
        "{stderr}"
    );
    assert!(!dir.path().join("run/result.json").exists());
}

#[test]
fn loss_under_acks_1_is_detected_and_every_lost_id_is_really_missing() {
    let _one = exclusive();
    let out = tempfile::tempdir().unwrap();
    let out_dir = out.path().to_str().unwrap();
    let output = streamproof(&[
        "run",
        &scenario("unsafe-acks.yaml"),
        "--out",
        out_dir,
        "--keep-platform",
    ]);
    let platform = out.path().join("platform");
    let stop = || streamproof(&["down", "--dir", platform.to_str().unwrap()]);
    if output.status.code() != Some(0) {
        stop();
        panic!("{}", explain(&output));
    }
    let result = read_result(out.path());
    let counts = &result["counts"];
    let lost = counts["lost"].as_u64().unwrap();
    let acked = counts["acked"].as_u64().unwrap();
    let present = counts["present"].as_u64().unwrap();
    assert!(
        lost > 0,
        "the unsafe configuration must lose acknowledged records"
    );
    assert_eq!(counts["unknown"], 0);
    assert_eq!(
        acked - lost,
        present - counts["unknown_present"].as_u64().unwrap()
    );
    assert!(!result["anomalies"]["lost"].as_array().unwrap().is_empty());

    // Kafka's own consumer finds exactly the records the checker found present.
    let distribution = KafkaDistribution::ensure(&default_cache_root()).unwrap();
    let source = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/java/CountRecords.java");
    let counted = Command::new(&distribution.java)
        .arg("-cp")
        .arg(distribution.class_path())
        .arg(source)
        .arg(result["platform"]["bootstrap_servers"].as_str().unwrap())
        .arg(result["run_id"].as_str().unwrap())
        .output()
        .unwrap();
    stop();
    assert!(counted.status.success(), "{}", explain(&counted));
    let independent: u64 = String::from_utf8_lossy(&counted.stdout)
        .trim()
        .parse()
        .unwrap();
    let duplicates = counts["duplicates"].as_u64().unwrap();
    assert_eq!(
        independent,
        present + duplicates,
        "records of the run in the raw topics"
    );
}

fn run_scenario(name: &str) -> (Output, tempfile::TempDir) {
    let out = tempfile::tempdir().unwrap();
    let output = streamproof(&[
        "run",
        &scenario(name),
        "--out",
        out.path().to_str().unwrap(),
    ]);
    (output, out)
}

#[test]
fn a_killed_transactional_copier_leaves_bronze_exactly_once() {
    let _one = exclusive();
    let (output, out) = run_scenario("copier-kill.yaml");
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let result = read_result(out.path());
    let bronze = &result["bronze"];
    assert_eq!(bronze["copier_mode"], "exactly-once");
    assert_eq!(bronze["expected"], result["counts"]["present"]);
    assert_eq!(bronze["present"], bronze["expected"]);
    assert_eq!(bronze["missing"], 0);
    assert_eq!(bronze["duplicates"], 0);
    let kills: Vec<&serde_json::Value> = result["faults"].as_array().unwrap().iter().collect();
    assert_eq!(kills.len(), 2);
    assert!(kills
        .iter()
        .all(|k| k["target"] == "copier" && k["applied"] == true));
}

#[test]
fn a_killed_at_least_once_copier_duplicates_and_the_checker_counts_them() {
    let _one = exclusive();
    let (output, out) = run_scenario("copier-at-least-once.yaml");
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let result = read_result(out.path());
    let bronze = &result["bronze"];
    let duplicates = bronze["duplicates"].as_u64().unwrap();
    assert!(
        duplicates > 0,
        "an at-least-once copier killed mid-run copies records again"
    );
    assert_eq!(bronze["missing"], 0);
    let examples = result["anomalies"]["bronze_duplicates"].as_array().unwrap();
    assert!(!examples.is_empty() && examples.len() <= 10);
}

#[test]
fn network_faults_through_the_client_proxies_lose_nothing() {
    let _one = exclusive();
    let (output, out) = run_scenario("network-latency.yaml");
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let result = read_result(out.path());
    assert_eq!(result["counts"]["lost"], 0);
    assert_eq!(result["counts"]["duplicates"], 0);
    let kinds: Vec<&str> = result["faults"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["latency", "blackhole", "reset"]);
    assert!(result["faults"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["applied"] == true && !f["healed_at_s"].is_null()));
}

#[test]
fn a_leader_isolated_from_its_peers_stalls_acks_all_and_loses_nothing() {
    let _one = exclusive();
    let (output, out) = run_scenario("broker-isolation.yaml");
    let result = read_result(out.path());
    assert_eq!(result["counts"]["lost"], 0, "{}", explain(&output));
    assert_eq!(result["counts"]["duplicates"], 0);
    assert_eq!(result["counts"]["acked"], result["counts"]["present"]);
    let fault = &result["faults"][0];
    assert_eq!(fault["kind"], "isolate");
    assert_eq!(fault["applied"], true, "{}", fault["detail"]);
    let injected = fault["injected_at_s"].as_f64().unwrap();
    let healed = fault["healed_at_s"].as_f64().unwrap();
    // The partition is real: with the leader unable to replicate, acks=all sends stall until
    // the controller fences it and the followers take over.
    let stalled_seconds = result["timeseries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|point| {
            let second = point["second"].as_f64().unwrap();
            second >= injected && second < healed && point["acked"].as_u64().unwrap() < 40
        })
        .count();
    assert!(
        stalled_seconds > 0,
        "no stall seen while broker {} was isolated",
        fault["brokers"][0]
    );
}

#[test]
fn killed_producers_leave_unknown_outcomes_and_lose_nothing() {
    let _one = exclusive();
    let (output, out) = run_scenario("producer-kill.yaml");
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let result = read_result(out.path());
    let counts = &result["counts"];
    assert_eq!(counts["lost"], 0);
    assert_eq!(counts["duplicates"], 0);
    let abandoned = counts["failed"].as_u64().unwrap() + counts["unknown"].as_u64().unwrap();
    assert!(abandoned > 0, "the kill abandoned sends: {counts}");
    assert_eq!(
        counts["present"].as_u64().unwrap(),
        counts["acked"].as_u64().unwrap() + counts["unknown_present"].as_u64().unwrap(),
        "every acknowledged send and every unknown one that landed is present, nothing else"
    );
    let kinds: Vec<(&str, &str)> = result["faults"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["kind"].as_str().unwrap(), f["target"].as_str().unwrap()))
        .collect();
    assert_eq!(kinds, vec![("kill", "producers"), ("restart", "producers")]);
    assert!(result["faults"][0]["detail"]
        .as_str()
        .unwrap()
        .starts_with("killed 2 producer client(s)"));
}
