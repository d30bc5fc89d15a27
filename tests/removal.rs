//! What the platform does to records while a run goes on, done on purpose from outside the
//! run: records removed from the start of a raw partition are counted exactly as lost and
//! removed below the log start, never the records still there, and the drain does not wait
//! for records it can prove gone; a record altered in flight is counted as corrupted, with
//! the first byte where it differs from what was sent.

mod common;

use common::records::{
    end_of_partition_zero, failed_checks, first_record_of_a_run, resend_to_partition_zero,
    spawn_run_on_shared_cluster,
};
use common::{bootstrap, exclusive, explain, read_result, streamproof};

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use serde_json::Value;
use streamproof_platform::admin::KafkaAdmin;
use streamproof_platform::connection::KafkaConnection;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// `streamproof run` of the eight-second user-action load on the shared cluster, into `out`,
/// left running while the test acts on the platform.
fn start_run(out: &Path) -> Child {
    spawn_run_on_shared_cluster(&fixture("delete-records.yaml"), out, &[])
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
    let before_run = end_of_partition_zero().expect("list the offsets of raw-events/0");
    let run = start_run(out.path());
    // Once the run has written at least 100 records to raw-events/0, delete them all.
    let started = Instant::now();
    let deleted_before = loop {
        let end = end_of_partition_zero();
        if let Some(end) = end.filter(|end| *end >= before_run + 100) {
            break end;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the run never wrote to raw-events/0"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let admin = KafkaAdmin::connect(&KafkaConnection::new(bootstrap())).unwrap();
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

#[test]
fn a_copy_altered_in_flight_is_corrupted_at_the_byte_it_differs() {
    let _one = exclusive();
    let out = tempfile::tempdir().unwrap();
    let before_run = end_of_partition_zero().expect("list the offsets of raw-events/0");
    let run = start_run(out.path());
    // A proxy that rewrote one byte of a record's value, and a producer that re-sent it.
    let (key, mut value, headers) = first_record_of_a_run(before_run);
    const AT: usize = 60;
    let sent_byte = value[AT];
    value[AT] = if sent_byte == b'#' { b'%' } else { b'#' };
    resend_to_partition_zero(&key, &value, headers);
    let output = run.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", explain(&output));

    let result = read_result(out.path());
    let counts = &result["counts"];
    assert_eq!(
        (&counts["corrupted"], &counts["duplicates"], &counts["lost"]),
        (&Value::from(1), &Value::from(1), &Value::from(0))
    );
    assert_eq!(failed_checks(&result), vec!["corrupted", "duplicates"]);
    let example = &result["anomalies"]["corrupted"][0];
    assert_eq!(example["partition"], 0);
    assert_eq!(
        example["difference"],
        serde_json::json!({
            "field": "value",
            "at": AT,
            "expected": sent_byte,
            "found": value[AT],
        }),
        "the sent record is rebuilt from the scenario, so only the altered byte differs"
    );
}
