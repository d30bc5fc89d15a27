//! Records the platform removes from the start of a raw partition while a run goes on: the
//! checker counts exactly those as lost and removed below the log start, never the records
//! still there, and its drain does not wait for records it can prove gone.

mod common;

use common::{bootstrap, exclusive, explain, read_result, streamproof};

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use streamproof_loadgen::consumer::StartOffsets;
use streamproof_platform::admin::KafkaAdmin;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The end offset of raw-events/0 on the shared cluster.
fn end_of_partition_zero() -> i64 {
    let ends = StartOffsets::snapshot(&bootstrap(), &["raw-events"]).expect("list offsets");
    ends.0
        .iter()
        .find(|(_, partition, _)| *partition == 0)
        .map(|(_, _, offset)| *offset)
        .expect("raw-events/0")
}

fn failed_checks(result: &Value) -> Vec<&str> {
    result["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| c["name"].as_str().unwrap())
        .collect()
}

fn raw_partitions(result: &Value) -> &Vec<Value> {
    result["verification"]["raw_partitions"].as_array().unwrap()
}

fn removed_offsets(result: &Value) -> i64 {
    raw_partitions(result)
        .iter()
        .map(|p| p["log_start"].as_i64().unwrap() - p["run_start"].as_i64().unwrap())
        .filter(|removed| *removed > 0)
        .sum()
}

#[test]
fn records_deleted_mid_run_are_counted_exactly_as_removed_and_fail_the_run() {
    let _one = exclusive();
    let out = tempfile::tempdir().unwrap();
    let before_run = end_of_partition_zero();
    let run = Command::new(env!("CARGO_BIN_EXE_streamproof"))
        .args(["run", fixture("delete-records.yaml").to_str().unwrap()])
        .args(["--bootstrap-servers", &bootstrap()])
        .args(["--out", out.path().to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once the run has written at least 100 records to raw-events/0, delete them all.
    let started = Instant::now();
    let deleted_before = loop {
        let end = end_of_partition_zero();
        if end >= before_run + 100 {
            break end;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the run never wrote to raw-events/0"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let admin = KafkaAdmin::connect(&bootstrap()).unwrap();
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(admin.delete_records_before("raw-events", 0, deleted_before))
        .unwrap();
    let output = run.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", explain(&output));

    let result = read_result(out.path());
    let removed = deleted_before - before_run;
    let counts = &result["counts"];
    assert_eq!(counts["removed_below_log_start"], removed);
    assert_eq!(counts["lost"], removed, "only the removed records are lost");
    assert_eq!(
        counts["present"].as_i64().unwrap() + removed,
        counts["acked"].as_i64().unwrap()
    );
    assert_eq!(
        failed_checks(&result),
        vec!["lost", "removed_below_log_start"],
        "the drain ends without waiting for records proven gone"
    );
    let partition = raw_partitions(&result)
        .iter()
        .find(|p| p["topic"] == "raw-events" && p["partition"] == 0)
        .unwrap();
    assert_eq!(
        (&partition["run_start"], &partition["log_start"]),
        (&Value::from(before_run), &Value::from(deleted_before))
    );
    for example in result["anomalies"]["removed_below_log_start"]
        .as_array()
        .unwrap()
    {
        let offset = example["offset"].as_i64().unwrap();
        assert!((before_run..deleted_before).contains(&offset), "{example}");
    }
    let summary = std::fs::read_to_string(out.path().join("summary.md")).unwrap();
    assert!(
        summary.contains(&format!(
            "raw-events/0: the platform removed {removed} records of the run from its start"
        )),
        "{summary}"
    );
}

#[test]
fn segments_deleted_by_retention_mid_run_are_removed_records_a_scenario_may_allow() {
    let _one = exclusive();
    let out = tempfile::tempdir().unwrap();
    let output = streamproof(&[
        "run",
        fixture("retention.yaml").to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let result = read_result(out.path());
    let counts = &result["counts"];
    let removed = counts["removed_below_log_start"].as_i64().unwrap();
    assert!(removed > 0, "retention removed records mid-run: {counts}");
    assert_eq!(counts["lost"], removed, "nothing lost in flight");
    assert_eq!(
        counts["present"].as_i64().unwrap() + removed,
        counts["acked"].as_i64().unwrap()
    );
    // Every offset below a log start held one record of this run (a fresh broker, one
    // producer without transactions): the offsets removed are the records removed, unless
    // retention struck again between reading a segment and the last look at the log start.
    assert!(removed_offsets(&result) >= removed);
    let checks: Vec<&str> = result["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(checks.contains(&"removed_below_log_start"), "{checks:?}");
    assert!(failed_checks(&result).is_empty());
    let drain = result["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "drain")
        .unwrap();
    assert_eq!(
        drain["actual"],
        format!(
            "all accounted for: {removed} proven gone (below their partition's log start, or passed by the reader)"
        )
    );
}
