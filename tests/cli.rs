//! The `streamproof` binary as users run it: output, JSON and exit codes.

mod common;

use common::{bootstrap, streamproof};

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn with_stdin(args: &[&str], input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_streamproof"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run streamproof");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn capacity_reproduces_the_worked_examples() {
    let output = streamproof(&[
        "capacity",
        "--target-throughput",
        "1000",
        "--partition-throughput",
        "100",
        "--consumers",
        "6",
        "--brokers",
        "5",
        "--message-bytes",
        "1000",
        "--messages-per-day",
        "1000000",
        "--retention-days",
        "7",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("max(ceil(1000 / 100), 6) = 10"), "{text}");
    assert!(text.contains("min(5, 3) = 3"), "{text}");
    assert!(
        text.contains("= 7 GB per copy, 21 GB with 3 replicas"),
        "{text}"
    );
}

#[test]
fn profiles_print_effective_properties_with_overrides_marked() {
    let output = streamproof(&["profiles", "throughput", "--set", "linger.ms=5"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.starts_with("throughput (producer)\n"), "{text}");
    assert!(text.contains("  compression.type = lz4\n"), "{text}");
    assert!(text.contains("  linger.ms = 5  (override)\n"), "{text}");

    let all = stdout(&streamproof(&["profiles", "--json"]));
    let profiles: serde_json::Value = serde_json::from_str(&all).unwrap();
    let names: Vec<&str> = profiles
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["profile"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec![
            "reliability",
            "throughput",
            "development",
            "production",
            "at-least-once",
            "exactly-once",
            "low-latency",
            "high-throughput"
        ]
    );

    let unknown = streamproof(&["profiles", "turbo"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("choose one of: reliability"));
}

#[test]
fn commands_without_a_cluster_say_how_to_get_one() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path().to_str().unwrap();
    let output = streamproof(&["topics", "describe", "--dir", dir]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("streamproof up"),
        "{}",
        stderr(&output)
    );
    let status = streamproof(&["status", "--dir", dir]);
    assert_eq!(status.status.code(), Some(2));
    assert!(stderr(&status).contains("no cluster is recorded"));
}

#[test]
fn topics_apply_then_describe_shows_the_standard_set() {
    let servers = bootstrap();
    let apply = streamproof(&["topics", "apply", "--bootstrap-servers", &servers]);
    assert!(apply.status.success(), "{}", stderr(&apply));
    let described = streamproof(&[
        "topics",
        "describe",
        "raw-events",
        "--bootstrap-servers",
        &servers,
        "--json",
    ]);
    assert!(described.status.success(), "{}", stderr(&described));
    let topics: serde_json::Value = serde_json::from_slice(&described.stdout).unwrap();
    let raw = &topics[0];
    assert_eq!(raw["name"], "raw-events");
    assert_eq!(raw["configs"]["retention.ms"], "604800000");
    assert_eq!(raw["partitions"].as_array().unwrap().len(), 6);
    assert_eq!(raw["partitions"][0]["isr"].as_array().unwrap().len(), 3);

    let conflicting = streamproof(&[
        "topics",
        "apply",
        "--bootstrap-servers",
        &servers,
        "--partitions",
        "2",
    ]);
    assert_eq!(conflicting.status.code(), Some(2));
    assert!(stderr(&conflicting).contains("partitions: existing 6, requested 2"));
}

#[test]
fn publish_prints_partition_and_offset_and_refuses_invalid_events() {
    let servers = bootstrap();
    let apply = streamproof(&["topics", "apply", "--bootstrap-servers", &servers]);
    assert!(apply.status.success(), "{}", stderr(&apply));
    let event = serde_json::json!({
        "event_id": uuid::Uuid::new_v4().to_string(),
        "event_type": "user_action",
        "event_timestamp": "2025-12-25T10:30:00Z",
        "source_system": "web-app",
        "payload": {"user_id": "user-123", "action": "purchase", "product_id": "prod-456", "amount": 99.99},
        "metadata": {"session_id": "session-789"}
    });
    let published = with_stdin(
        &["publish", "--bootstrap-servers", &servers, "--json"],
        &event.to_string(),
    );
    assert!(published.status.success(), "{}", stderr(&published));
    let result: serde_json::Value = serde_json::from_slice(&published.stdout).unwrap();
    assert_eq!(result["topic"], "raw-events");
    assert!(result["partition"].as_i64().unwrap() >= 0);
    assert!(result["offset"].as_i64().unwrap() >= 0);

    let invalid = streamproof(&[
        "publish",
        "--bootstrap-servers",
        &servers,
        "--event",
        r#"{"event_id":"evt-1","event_type":"transaction","event_timestamp":"now","source_system":"x","payload":{}}"#,
    ]);
    assert_eq!(invalid.status.code(), Some(2));
    let message = stderr(&invalid);
    assert!(
        message.contains("event_id: `evt-1` is not a UUID"),
        "{message}"
    );
    assert!(
        message.contains("payload.currency: is required"),
        "{message}"
    );

    let not_json = streamproof(&["publish", "--bootstrap-servers", &servers, "--event", "{"]);
    assert_eq!(not_json.status.code(), Some(2));
    assert!(stderr(&not_json).contains("not an event JSON object"));
}

/// A cluster whose topics others provision: with `kafka.topics: existing` a run creates no
/// topic, names every missing one (exit 2), and runs on the topics once they are there.
/// librdkafka's mock cluster stands in for a cluster where the run may not create topics: it
/// cannot create any.
#[test]
fn a_platform_whose_topics_others_provision_is_only_checked_for_them() {
    let cluster = rdkafka::mocking::MockCluster::new(1).expect("a mock cluster");
    cluster.create_topic("raw-events", 3, 1).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let platform = dir.path().join("platform.yaml");
    std::fs::write(
        &platform,
        format!(
            "kafka:\n  bootstrap_servers: {}\n  topics: existing\n",
            cluster.bootstrap_servers()
        ),
    )
    .unwrap();
    let run = |out: &str| {
        streamproof(&[
            "run",
            "tests/fixtures/tiny.yaml",
            "--platform",
            platform.to_str().unwrap(),
            "--out",
            dir.path().join(out).to_str().unwrap(),
        ])
    };

    let refused = run("refused");
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    let message = stderr(&refused);
    assert!(message.contains("`raw-logs`"), "{message}");
    assert!(message.contains("`gold-metrics`"), "{message}");
    assert!(!message.contains("`raw-events`"), "{message}");
    assert!(message.contains("kafka.topics: existing"), "{message}");

    for topic in streamproof_platform::topics::STANDARD_TOPICS {
        if topic != "raw-events" {
            cluster.create_topic(topic, 3, 1).unwrap();
        }
    }
    let ran = run("ran");
    assert_eq!(ran.status.code(), Some(0), "{}", stderr(&ran));
    let result: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("ran/result.json")).unwrap())
            .unwrap();
    assert_eq!(result["counts"]["lost"], 0);
    assert_eq!(result["counts"]["present"], result["counts"]["sent"]);
}
