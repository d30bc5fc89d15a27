//! `streamproof plan` and `rate: find-max` as users run them: a plan calibrated on the
//! embedded platform and proven, a search that finds a throttle put on the cluster on
//! purpose, and plan files that cannot be used.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{exclusive, explain, read_result, streamproof, UpPlatform};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/plan")
        .join(name)
}

fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("JSON")
}

#[test]
fn a_plan_is_calibrated_on_the_embedded_platform_sized_and_proven() {
    let _one = exclusive();
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().display().to_string();
    let plan_file = fixture("small.yaml").display().to_string();
    let output = streamproof(&["plan", &plan_file, "--out", &dir, "--prove"]);
    assert!(output.status.success(), "{}", explain(&output));

    let plan = read_json(&out.path().join("plan.json"));
    assert_eq!(plan["plan_version"], 1);
    let points = plan["calibration"]["points"].as_array().unwrap();
    let counts: Vec<u64> = points
        .iter()
        .map(|p| p["partitions"].as_u64().unwrap())
        .collect();
    assert_eq!(counts, vec![1, 2]);
    for point in points {
        let steps = point["search"]["steps"].as_array().unwrap();
        assert!(!steps.is_empty());
        // Every step was a verified run: its result is kept, and nothing was lost.
        for step in steps {
            assert_eq!(step["lost"], 0, "{step}");
            assert_eq!(step["duplicates"], 0, "{step}");
        }
        assert!(
            point["sustainable_eps"].as_f64().unwrap() >= 2000.0,
            "{point}"
        );
        assert!(point["catch_up_eps"].as_f64().unwrap() > 0.0, "{point}");
        assert!(point["catch_up_records"].as_u64().unwrap() > 0, "{point}");
        let results = out.path().join(point["results_dir"].as_str().unwrap());
        assert!(results.join("scenario.yaml").is_file());
        assert!(results.join("search/step-01/result.json").is_file());
        assert_eq!(
            read_result(&results)["rate_search"]["steps"],
            point["search"]["steps"]
        );
    }

    // The seed's formulas with the measured per-partition throughput.
    let per_partition = plan["calibration"]["partition_throughput_eps"]
        .as_f64()
        .unwrap();
    let first_point = points[0]["sustainable_eps"].as_f64().unwrap();
    assert_eq!(per_partition, first_point);
    for topic in plan["topics"].as_array().unwrap() {
        let planned = topic["planned_eps"].as_f64().unwrap();
        assert_eq!(planned, topic["target_eps"].as_f64().unwrap() * 1.5);
        let for_throughput = (planned / per_partition).ceil() as u64;
        let largest_group = topic["largest_group"].as_u64().unwrap();
        assert_eq!(
            topic["partitions"].as_u64().unwrap(),
            for_throughput.max(largest_group)
        );
        assert_eq!(topic["replication_factor"], 1);
        let per_day = (planned * 86_400.0).ceil() as u64;
        let bytes = topic["record_bytes"].as_u64().unwrap() * per_day * 7;
        assert_eq!(topic["storage_bytes"].as_u64().unwrap(), bytes);
    }
    assert_eq!(
        plan["topics"][0]["partitions"], 2,
        "raw-events: the readers group has 2 instances"
    );

    // The proof ran the plan's layout at the planned rates and held.
    assert_eq!(plan["proof"]["proven"], true, "{}", plan["proof"]);
    let proof = read_result(&out.path().join("prove"));
    assert_eq!(proof["verdict"], "pass");
    assert_eq!(proof["throughput"]["target_eps"], 3750.0);
    let topics = proof["platform"]["topics"].as_array().unwrap();
    let raw_events = topics.iter().find(|t| t["name"] == "raw-events").unwrap();
    assert_eq!(raw_events["partitions"], 2);
    let validated = streamproof(&[
        "validate",
        &out.path().join("prove/scenario.yaml").display().to_string(),
    ]);
    assert!(validated.status.success(), "{}", explain(&validated));

    let page = std::fs::read_to_string(out.path().join("index.html")).unwrap();
    assert!(page.contains("Capacity plan: small") && page.contains("<svg"));
    let summary = std::fs::read_to_string(out.path().join("summary.md")).unwrap();
    assert!(
        summary.starts_with("# ✅ PROVEN: capacity plan small"),
        "{summary}"
    );
}

/// The client quota the throttled scenario's producer gets, bytes per second.
const QUOTA_BYTES_PER_S: f64 = 256_000.0;

/// Sets a produce quota for one client id with Kafka's own configuration tool.
fn set_client_quota(bootstrap: &str, client_id: &str, bytes_per_s: f64) {
    let libs = streamproof_platform::runtime::default_cache_root().join("kafka-4.1.1/libs/*");
    let output = Command::new(streamproof_platform::runtime::java_command())
        .arg("-cp")
        .arg(libs)
        .args([
            "kafka.admin.ConfigCommand",
            "--bootstrap-server",
            bootstrap,
            "--alter",
            "--add-config",
            &format!("producer_byte_rate={bytes_per_s:.0}"),
            "--entity-type",
            "clients",
            "--entity-name",
            client_id,
        ])
        .output()
        .expect("run Kafka's ConfigCommand");
    assert!(output.status.success(), "{}", explain(&output));
}

#[test]
fn the_rate_search_converges_on_a_cluster_throttled_on_purpose() {
    let _one = exclusive();
    let platform = UpPlatform::start("28192", &[]);
    let bootstrap = "127.0.0.1:28192";
    set_client_quota(bootstrap, "streamproof-throttled", QUOTA_BYTES_PER_S);
    let out = tempfile::tempdir().unwrap();
    let output = streamproof(&[
        "run",
        &fixture("throttled.yaml").display().to_string(),
        "--bootstrap-servers",
        bootstrap,
        "--out",
        &out.path().display().to_string(),
    ]);
    assert!(output.status.success(), "{}", explain(&output));
    let result = read_result(out.path());
    let search = &result["rate_search"];
    let found = search["max_sustainable_eps"].as_f64().unwrap();
    // Each record carries at least its 1,000-byte value, so the quota admits at most 256
    // records/s; headers and batch framing make the true limit lower. The search must find
    // the throttle (a failed rate above the found one) and stop within [0.5, 1.05] of 256/s.
    let admitted = QUOTA_BYTES_PER_S / 1000.0;
    assert!(
        (0.5 * admitted..=1.05 * admitted).contains(&found),
        "found {found}/s against a quota admitting at most {admitted}/s: {search}"
    );
    assert!(search["lowest_failed_eps"].as_f64().is_some(), "{search}");
    assert_eq!(search["converged"], true, "{search}");
    let steps = search["steps"].as_array().unwrap();
    assert!(
        steps.iter().all(|s| s["lost"] == 0 && s["duplicates"] == 0),
        "{search}"
    );
    drop(platform);
}

#[test]
fn a_plan_file_that_cannot_be_used_exits_2_naming_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.yaml");
    std::fs::write(
        &file,
        "name: bad\nobjective:\n  produce_p99: 50ms\ntopics:\n  - topic: raw-events\n    rate: -5\n    record_bytes: 100\n",
    )
    .unwrap();
    let output = streamproof(&["plan", &file.display().to_string()]);
    assert_eq!(output.status.code(), Some(2), "{}", explain(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("bad.yaml:6:5: -5 is not a target; write a positive number"),
        "{stderr}"
    );
}

#[test]
fn an_existing_cluster_is_calibrated_at_one_partition_count_only() {
    let output = streamproof(&[
        "plan",
        &fixture("small.yaml").display().to_string(),
        "--bootstrap-servers",
        "127.0.0.1:1",
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", explain(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("calibration.partitions: [N]"), "{stderr}");
}
