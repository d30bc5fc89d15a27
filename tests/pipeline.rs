//! The Flink pipeline end to end on the embedded platform: Kafka, a real Flink session
//! cluster and real Iceberg tables. A passing run whose tables another engine (PyIceberg)
//! counts the same; a TaskManager kill and a JobManager kill (jobs resubmitted from their
//! checkpoints) that must still be exactly-once; the at-least-once profile whose replayed
//! duplicates must be caught; Avro through a schema registry, exact through gold; the same
//! pipeline into Paimon tables, counted by pypaimon too.

mod common;

use common::{exclusive, explain, files_containing, read_result, streamproof, UpPlatform};

use std::path::Path;
use std::process::{Command, Output};

use streamproof_verify::lakehouse::{duplicates_by, Warehouse};

fn run_pipeline(name: &str) -> (Output, tempfile::TempDir) {
    let out = tempfile::tempdir().unwrap();
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios/pipeline")
        .join(name);
    let output = streamproof(&[
        "run",
        scenario.to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
    ]);
    (output, out)
}

/// Runs a Python script of `tests/python` that another engine's reader needs; its stdout.
fn python(script: &str, args: &[&str], install: &str) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(script);
    let output = Command::new("python3")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "{args:?} failed (install the reader with `python3 -m pip install '{install}'`): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `<table> <rows>` lines as pairs.
fn table_counts(printed: &str) -> Vec<(String, u64)> {
    printed
        .lines()
        .filter_map(|line| {
            let (table, rows) = line.split_once(' ')?;
            Some((table.to_owned(), rows.parse().ok()?))
        })
        .collect()
}

fn rows_of(counted: &[(String, u64)], table: &str) -> Option<u64> {
    counted
        .iter()
        .find(|(name, _)| name == table)
        .map(|(_, rows)| *rows)
}

/// Row counts per table as PyIceberg reads them.
fn pyiceberg_counts(warehouse: &str) -> Vec<(String, u64)> {
    table_counts(&python(
        "count_iceberg.py",
        &[warehouse],
        "pyiceberg[pyarrow]",
    ))
}

/// Row counts per table as pypaimon reads them.
fn pypaimon_counts(warehouse: &str) -> Vec<(String, u64)> {
    table_counts(&python(
        "paimon_tables.py",
        &["count", warehouse],
        "pypaimon",
    ))
}

/// Runs pipeline scenario `name`, which must pass with its tables in `table_format` holding
/// exactly what the ledger says; its result and run directory.
fn passing_pipeline(name: &str, table_format: &str) -> (serde_json::Value, tempfile::TempDir) {
    let (output, out) = run_pipeline(name);
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let result = read_result(out.path());
    assert_layers_exact(&result);
    assert_eq!(result["lakehouse"]["table_format"], table_format);
    (result, out)
}

/// The layers of a passing run hold exactly what the ledger says.
fn assert_layers_exact(result: &serde_json::Value) {
    let lake = &result["lakehouse"];
    let counts = &result["counts"];
    assert_eq!(lake["bronze_rows"], counts["present"]);
    assert_eq!(lake["bronze_expected"], counts["present"]);
    assert_eq!(lake["silver_rows"], lake["silver_expected"]);
    assert_eq!(lake["dlq_expected"], counts["invalid_present"]);
    assert_eq!(lake["dlq_present"], counts["invalid_present"]);
    assert!(lake["silver_expected"].as_u64().unwrap() > 0);
    let gold = &lake["gold"];
    assert!(gold["windows_checked"].as_u64().unwrap() > 0, "{gold}");
    assert_eq!(gold["windows_matching"], gold["windows_checked"]);
    // Stopped with a final watermark, gold closed every window of the run.
    assert_eq!(gold["windows_open"], 0, "{gold}");
}

#[test]
fn the_pipeline_passes_and_another_engine_counts_the_same_rows() {
    let _one = exclusive();
    let (result, _out) = passing_pipeline("smoke.yaml", "iceberg");
    let lake = &result["lakehouse"];
    let jobs: Vec<&str> = lake["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|job| job["layer"].as_str().unwrap())
        .collect();
    assert_eq!(jobs, vec!["bronze", "silver", "gold"]);
    let counted = pyiceberg_counts(lake["warehouse"].as_str().unwrap());
    assert_eq!(
        rows_of(&counted, "bronze.events"),
        lake["bronze_rows"].as_u64()
    );
    assert_eq!(
        rows_of(&counted, "silver.events"),
        lake["silver_rows"].as_u64()
    );
}

/// The same pipeline writing Paimon append tables: exactly-once through gold by streamproof's
/// reader, the same counts by pypaimon's, and copies another writer commits are counted.
#[test]
fn paimon_tables_hold_the_run_exactly_once_and_another_engine_counts_the_same_rows() {
    let _one = exclusive();
    let (result, _out) = passing_pipeline("paimon.yaml", "paimon");
    let lake = &result["lakehouse"];
    let warehouse = lake["warehouse"].as_str().unwrap();
    let counted = pypaimon_counts(warehouse);
    assert_eq!(
        rows_of(&counted, "bronze.events"),
        lake["bronze_rows"].as_u64()
    );
    assert_eq!(
        rows_of(&counted, "silver.events"),
        lake["silver_rows"].as_u64()
    );
    assert_eq!(
        rows_of(&counted, "gold.metrics"),
        lake["gold"]["rows"].as_u64()
    );

    // A writer that commits 7 copies of bronze rows as one more snapshot: streamproof's
    // reader sees exactly 7 extra copies of Kafka coordinates it already held.
    python(
        "paimon_tables.py",
        &["append-copies", warehouse, "bronze.events", "7"],
        "pypaimon",
    );
    let bronze = Warehouse::paimon(warehouse).read_bronze().unwrap();
    let before = lake["bronze_rows"].as_u64().unwrap() as usize;
    assert_eq!(bronze.rows.len(), before + 7);
    let copies = duplicates_by(&bronze.rows, |row| {
        (row.topic.clone(), row.partition, row.offset)
    });
    assert_eq!(copies.extra_copies, 7, "{:?}", copies.repeated);
    assert_eq!(copies.repeated.len(), 7);
    let snapshot = bronze.snapshot.unwrap();
    assert_eq!(snapshot.total_records, Some(before as u64 + 7));
    assert_eq!(
        rows_of(&pypaimon_counts(warehouse), "bronze.events"),
        Some(before as u64 + 7)
    );
}

#[test]
fn avro_values_are_decoded_through_the_registry_and_exact_through_gold() {
    let _one = exclusive();
    let (output, out) = run_pipeline("avro.yaml");
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let result = read_result(out.path());
    let lake = &result["lakehouse"];
    let counts = &result["counts"];
    // Bronze kept every record byte for byte (they are compared with what was sent).
    assert_eq!(lake["bronze_rows"], counts["present"]);
    assert_eq!(lake["silver_rows"], lake["silver_expected"]);
    // Every invalid record reached the DLQ: those the schema cannot decode and those it can.
    let decoding = &result["schemas"]["decoding"];
    assert!(
        decoding["invalid_refused"].as_u64().unwrap() > 0,
        "{decoding}"
    );
    assert!(
        decoding["invalid_matching"].as_u64().unwrap() > 0,
        "{decoding}"
    );
    assert_eq!(lake["dlq_present"], counts["invalid_present"]);
    let gold = &lake["gold"];
    assert!(gold["windows_checked"].as_u64().unwrap() > 0, "{gold}");
    assert_eq!(gold["windows_matching"], gold["windows_checked"]);
    assert_eq!(result["schemas"]["changes"][0]["outcome"], "accepted");
}

/// Runs a scenario whose one fault kills `target`; it must pass, with the kill applied.
/// Returns the result and the fault's detail.
fn run_with_kill(scenario: &str, target: &str) -> (serde_json::Value, String) {
    let (output, out) = run_pipeline(scenario);
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let result = read_result(out.path());
    let fault = &result["faults"][0];
    assert_eq!(fault["target"], target);
    assert_eq!(fault["applied"], true, "{}", fault["detail"]);
    let detail = fault["detail"].as_str().unwrap().to_owned();
    assert!(
        detail.starts_with(&format!("SIGKILL the {target}")),
        "{detail}"
    );
    (result, detail)
}

#[test]
fn a_killed_taskmanager_leaves_the_lakehouse_exactly_once() {
    let _one = exclusive();
    let (result, _) = run_with_kill("taskmanager-kill.yaml", "taskmanager");
    let lake = &result["lakehouse"];
    assert_eq!(lake["bronze_duplicates"], 0);
    assert_eq!(lake["silver_duplicates"], 0);
    assert_eq!(result["bronze"]["duplicates"], 0);
    let restored: u64 = lake["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|job| job["restored"].as_u64().unwrap())
        .sum();
    assert!(restored > 0, "the jobs restored from a checkpoint: {lake}");
}

#[test]
fn a_killed_jobmanager_gets_its_jobs_back_from_their_checkpoints() {
    let _one = exclusive();
    let (result, detail) = run_with_kill("jobmanager-kill.yaml", "jobmanager");
    assert!(
        detail.contains("jobs resubmitted (bronze from chk-"),
        "{detail}"
    );
    let lake = &result["lakehouse"];
    for job in lake["jobs"].as_array().unwrap() {
        assert_eq!(job["restored"], 1, "resubmitted from a checkpoint: {job}");
    }
    // Gold's window state came through the restore: every window of the run is checked.
    let gold = &lake["gold"];
    assert!(gold["windows_checked"].as_u64().unwrap() > 0, "{gold}");
    assert_eq!(gold["windows_matching"], gold["windows_checked"], "{gold}");
    assert_eq!(gold["windows_open"], 0, "{gold}");
    assert_eq!(lake["bronze_rows"], result["counts"]["present"]);
    assert_eq!(lake["bronze_duplicates"], 0);
    assert_eq!(lake["silver_rows"], lake["silver_expected"]);
    assert_eq!(lake["silver_duplicates"], 0);
    assert_eq!(lake["dlq_duplicates"], 0);
    assert_eq!(result["bronze"]["duplicates"], 0);
}

#[test]
fn at_least_once_replays_are_caught_as_bronze_duplicates() {
    let _one = exclusive();
    let (output, out) = run_pipeline("at-least-once.yaml");
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let result = read_result(out.path());
    let duplicates = result["bronze"]["duplicates"].as_u64().unwrap();
    assert!(duplicates > 0);
    let examples = result["anomalies"]["bronze_duplicates"].as_array().unwrap();
    assert!(!examples.is_empty() && examples.len() <= 10);
    // The Iceberg tables commit on checkpoints only: exactly-once even here.
    assert_eq!(result["lakehouse"]["bronze_duplicates"], 0);
}

/// Stops a platform `up` started, however the test ends.
/// Job states on the Flink cluster at `rest`, from its REST API.
fn flink_job_states(rest: &str) -> Vec<String> {
    let output = Command::new("curl")
        .args(["-s", &format!("{rest}/jobs/overview")])
        .output()
        .expect("curl runs");
    let overview: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("Flink's job overview is JSON");
    overview["jobs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|job| job["state"].as_str().map(str::to_owned))
        .collect()
}

/// A platform a team runs, as `up` starts it: the jobs reach the brokers over TLS with SCRAM
/// (the settings the platform file gives every other client, translated for Flink's Kafka
/// connector) and commit through Apache Iceberg's REST catalog server, which the checker
/// asks where each table is; no job is left running on the Flink it did not start.
#[test]
fn the_pipeline_runs_on_a_flink_cluster_and_rest_catalog_given_by_their_addresses_against_a_secured_cluster(
) {
    let _one = exclusive();
    let platform = UpPlatform::start(
        "26492",
        &[
            "--pipeline",
            "flink",
            "--catalog",
            "rest",
            "--security",
            "sasl-ssl",
        ],
    );
    let file = platform.platform_file();
    let dir = platform.path().display().to_string();
    let text = std::fs::read_to_string(&file).unwrap();
    let rest = "http://127.0.0.1:26552";
    let catalog = "http://127.0.0.1:26562";
    assert!(text.contains(rest), "{text}");
    assert!(text.contains(&format!("rest: {catalog}")), "{text}");

    let out = tempfile::tempdir().unwrap();
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/pipeline/smoke.yaml");
    let output = streamproof(&[
        "run",
        "--platform",
        file.to_str().unwrap(),
        scenario.to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let result = read_result(out.path());
    let lake = &result["lakehouse"];
    assert_eq!(result["platform"]["kind"], "existing");
    assert_eq!(lake["bronze_rows"], result["counts"]["present"]);
    assert_eq!(lake["bronze_duplicates"], 0);
    assert_eq!(lake["silver_rows"], lake["silver_expected"]);
    assert_eq!(lake["silver_duplicates"], 0);
    assert_eq!(lake["dlq_present"], lake["dlq_expected"]);
    assert_eq!(lake["gold"]["windows_mismatched"], 0);
    assert_eq!(lake["warehouse"], catalog, "read through the REST catalog");
    let silver_metadata = Path::new(&dir).join("warehouse/silver/events/metadata");
    assert!(
        silver_metadata.is_dir(),
        "the REST catalog committed silver into the platform's warehouse"
    );
    assert!(
        !out.path().join("flink").exists(),
        "no Flink of the run's own was started"
    );
    let states = flink_job_states(rest);
    assert!(
        !states.iter().any(|state| state == "RUNNING"),
        "the run's jobs were cancelled on a Flink it did not start: {states:?}"
    );
    let password = platform.password();
    for dir in [out.path().to_owned(), platform.path().join("flink/log")] {
        let leaks = files_containing(&dir, &password);
        assert!(leaks.is_empty(), "the password is in {leaks:?}");
    }
}
