//! Schemas as users meet them: the shipped schemas and the offline compatibility check
//! (`streamproof schema`), and runs whose values are Avro or JSON Schema registered in a real
//! schema registry (Apicurio Registry): the embedded platform's own, and the one
//! `scripts/test` starts beside the shared cluster. Every decoding anomaly is provoked on
//! purpose and counted exactly.

mod common;

use std::path::{Path, PathBuf};

use common::records::{
    end_of_partition_zero, failed_checks, first_record_of_a_run, resend_to_partition_zero,
    spawn_run_on_shared_cluster,
};
use common::{exclusive, explain, read_result, streamproof};
use serde_json::Value;
use streamproof_platform::events::EventType;
use streamproof_platform::schema_registry::{split_wire_format, write_wire_header};
use streamproof_platform::schemas::{avro_schema, AvroEvent};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/schema")
        .join(name)
}

/// The schema registry `scripts/test` starts beside the shared cluster.
fn shared_registry() -> String {
    std::env::var("STREAMPROOF_TEST_SCHEMA_REGISTRY")
        .expect("STREAMPROOF_TEST_SCHEMA_REGISTRY is not set: run the tests with `scripts/test`")
}

/// A run of `scenario` on the shared cluster and registry, to its end.
fn run_on_shared_registry(scenario: &str, out: &Path) -> (Option<i32>, Value) {
    let run = spawn_run_on_shared_cluster(
        &fixture(scenario),
        out,
        &["--schema-registry", &shared_registry()],
    );
    let output = run.wait_with_output().unwrap();
    let code = output.status.code();
    assert!(
        out.join("result.json").exists(),
        "no result: {}",
        explain(&output)
    );
    (code, read_result(out))
}

fn decoding(result: &Value) -> &Value {
    &result["schemas"]["decoding"]
}

fn count(value: &Value) -> u64 {
    value
        .as_u64()
        .unwrap_or_else(|| panic!("not a count: {value}"))
}

/// The reads of each version of `subject`: `(version, decoded, failed)`.
fn readers_of(result: &Value, subject: &str) -> Vec<(u64, u64, u64)> {
    decoding(result)["readers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["subject"] == subject)
        .map(|r| {
            (
                count(&r["version"]),
                count(&r["decoded"]),
                count(&r["failed"]),
            )
        })
        .collect()
}

/// Every record of the run is accounted for by the decoding, and valid ones all decoded.
fn assert_every_event_decoded(result: &Value) {
    let counts = &result["counts"];
    let decoded = decoding(result);
    assert_eq!(decoded["records"], counts["present"], "{decoded}");
    assert_eq!(
        count(&decoded["decoded"])
            + count(&decoded["invalid_refused"])
            + count(&decoded["invalid_matching"]),
        count(&decoded["records"]),
        "{decoded}"
    );
    assert_eq!(
        count(&decoded["invalid_refused"]) + count(&decoded["invalid_matching"]),
        count(&counts["invalid_present"])
    );
    for anomaly in ["undecodable", "mismatched", "foreign_schema"] {
        assert_eq!(decoded[anomaly], 0, "{anomaly}: {decoded}");
    }
}

/// The outcome of each schema change, in order.
fn change_outcomes(result: &Value) -> Vec<&str> {
    result["schemas"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["outcome"].as_str().unwrap())
        .collect()
}

/// Processes whose command line names the registry started in `dir`.
fn registries_running_in(dir: &Path) -> usize {
    let marker = format!("-Dstreamproof.schema-registry={}", dir.display());
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|entry| {
            std::fs::read(entry.path().join("cmdline"))
                .is_ok_and(|cmdline| String::from_utf8_lossy(&cmdline).contains(&marker))
        })
        .count()
}

fn show(event_type: &str) -> String {
    let output = streamproof(&["schema", "show", event_type]);
    assert!(output.status.success(), "{}", explain(&output));
    String::from_utf8(output.stdout).expect("UTF-8")
}

#[test]
fn a_compatible_change_passes_and_an_incompatible_one_fails_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let old = show("transaction");
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let old_file = write("v1.avsc", &old);
    let optional = old.replacen(
        r#""name": "currency","#,
        r#""name": "merchant", "type": ["null", "string"], "default": null},
          {
            "name": "currency","#,
        1,
    );
    let required = optional.replace(r#"["null", "string"], "default": null"#, r#""string""#);
    let cases = [
        (
            write("optional.avsc", &optional),
            "FULL",
            Some(0),
            "compatible (FULL)",
        ),
        (
            write("required.avsc", &required),
            "BACKWARD",
            Some(1),
            "incompatible (BACKWARD)",
        ),
        (
            write("required2.avsc", &required),
            "FORWARD",
            Some(0),
            "compatible (FORWARD)",
        ),
        (
            write("broken.avsc", "{\"type\": \"record\""),
            "FULL",
            Some(2),
            "",
        ),
    ];
    for (new_file, level, code, said) in cases {
        let output = streamproof(&["schema", "check", &old_file, &new_file, "--level", level]);
        assert_eq!(
            output.status.code(),
            code,
            "{new_file} {level}: {}",
            explain(&output)
        );
        assert!(
            String::from_utf8_lossy(&output.stdout).contains(said),
            "{new_file} {level}: {}",
            explain(&output)
        );
    }
    let output = streamproof(&[
        "schema", "check", &old_file, &old_file, "--level", "SIDEWAYS",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("use BACKWARD, FORWARD, FULL or NONE"));
}

#[test]
fn json_schema_on_the_embedded_registry_evolves_mid_run_and_decodes_every_event() {
    let _one = exclusive();
    let out = tempfile::tempdir().unwrap();
    let output = streamproof(&[
        "run",
        fixture("json-schema-evolve.yaml").to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let result = read_result(out.path());
    assert_eq!(result["schemas"]["format"], "json-schema");
    assert_every_event_decoded(&result);
    assert_eq!(change_outcomes(&result), vec!["accepted", "refused"]);
    // Producers switched to the accepted version, and both versions read every event.
    let writers: Vec<&Value> = decoding(&result)["writers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["subject"] == "raw-transactions-value")
        .collect();
    assert_eq!(writers.len(), 2, "{writers:?}");
    let readers = readers_of(&result, "raw-transactions-value");
    assert_eq!(readers.len(), 2);
    assert_eq!(readers[0].1, readers[1].1);
    assert!(
        readers[0].1 > 0 && readers.iter().all(|r| r.2 == 0),
        "{readers:?}"
    );
    // The registry was the run's own: its log is kept and its process is gone.
    let registry_dir = std::fs::canonicalize(out.path().join("platform/schema-registry")).unwrap();
    let log = std::fs::read_to_string(registry_dir.join("schema-registry.log")).unwrap();
    assert!(log.contains("apicurio-registry"), "{log}");
    assert_eq!(registries_running_in(&registry_dir), 0);
}

#[test]
fn avro_on_the_shared_registry_evolves_mid_run_and_decodes_every_event() {
    let _one = exclusive();
    let out = tempfile::tempdir().unwrap();
    let (code, result) = run_on_shared_registry("avro-evolve.yaml", out.path());
    assert_eq!(code, Some(0), "{:?}", failed_checks(&result));
    assert_eq!(result["schemas"]["format"], "avro");
    assert_every_event_decoded(&result);
    assert_eq!(change_outcomes(&result), vec!["accepted", "refused"]);
    let readers = readers_of(&result, "raw-transactions-value");
    assert_eq!(readers.len(), 2, "{readers:?}");
    assert_eq!(readers[0].1, readers[1].1);
    assert!(result["schemas"]["changes"][1]["message"]
        .as_str()
        .unwrap()
        .contains("ncompatible"));
}

#[test]
fn a_version_accepted_without_compatibility_fails_every_read_of_older_events() {
    let _one = exclusive();
    let out = tempfile::tempdir().unwrap();
    let (code, result) = run_on_shared_registry("avro-none.yaml", out.path());
    assert_eq!(code, Some(0), "{:?}", failed_checks(&result));
    assert_eq!(change_outcomes(&result), vec!["accepted"]);
    let readers = readers_of(&result, "raw-logs-value");
    assert_eq!(readers.len(), 2, "{readers:?}");
    let (old, new) = (readers[0], readers[1]);
    assert!(old.1 > 0 && old.2 == 0, "{old:?}");
    assert_eq!(
        (new.1, new.2),
        (0, old.1),
        "the new version reads none of them"
    );
    let check = result["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "schema_reader_failures")
        .unwrap();
    assert_eq!(check["actual_value"]["count"], old.1);
}

#[test]
fn altered_records_are_counted_by_cause_and_an_unexpected_refusal_fails_the_run() {
    let _one = exclusive();
    let out = tempfile::tempdir().unwrap();
    let before_run = end_of_partition_zero().expect("list the offsets of raw-events/0");
    let run = spawn_run_on_shared_cluster(
        &fixture("avro-altered.yaml"),
        out.path(),
        &["--schema-registry", &shared_registry()],
    );
    let (key, value, headers) = first_record_of_a_run(before_run);
    let (id, datum) = split_wire_format(&value).expect("the record is in the wire format");
    // A schema id no version of raw-events-value has.
    let mut foreign = value.clone();
    foreign[1..5].copy_from_slice(&(id + 100_000).to_be_bytes());
    // The datum cut short.
    let truncated = value[..value.len() - 3].to_vec();
    // A well-formed datum of another event.
    let schema = AvroEvent::parse(avro_schema(EventType::UserAction)).unwrap();
    let mut event = schema.decode(datum, &schema).unwrap();
    event["event_id"] = Value::from("00000000-0000-4000-8000-000000000000");
    let mut other = Vec::new();
    write_wire_header(&mut other, id);
    schema
        .encode_json(event.to_string().as_bytes(), &mut other)
        .unwrap();
    for altered in [&foreign, &truncated, &other] {
        resend_to_partition_zero(&key, altered, headers.clone());
    }
    let output = run.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", explain(&output));

    let result = read_result(out.path());
    let decoded = decoding(&result);
    assert_eq!(
        (
            &decoded["foreign_schema"],
            &decoded["undecodable"],
            &decoded["mismatched"]
        ),
        (&Value::from(1), &Value::from(1), &Value::from(1)),
        "{decoded}"
    );
    assert_eq!(result["counts"]["corrupted"], 3);
    assert_eq!(
        failed_checks(&result),
        vec![
            "corrupted",
            "duplicates",
            "schema_undecodable",
            "schema_changes"
        ]
    );
    for anomaly in ["foreign_schema", "undecodable", "mismatched"] {
        assert_eq!(
            result["anomalies"][anomaly][0]["partition"], 0,
            "{anomaly}: {}",
            result["anomalies"]
        );
    }
    assert_eq!(change_outcomes(&result), vec!["refused"]);
}
