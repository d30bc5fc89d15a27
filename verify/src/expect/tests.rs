//! Unit tests.

use super::*;

fn observed() -> Observed {
    Observed {
        counts: Counts {
            sent: 100,
            acked: 100,
            present: 100,
            ..Counts::default()
        },
        drained: true,
        drain_timeout: Duration::from_secs(60),
        target_eps: Some(100.0),
        achieved_eps: 99.0,
        produce: Latency {
            count: 100,
            p99_us: 8_000,
            p999_us: 20_000,
            ..Latency::default()
        },
        end_to_end: None,
        max_lag: None,
        lag_recovery: None,
        generator: (true, "kept up".into()),
        faults_healed: None,
        bronze: None,
        lakehouse: None,
        fault_throughput: None,
        schemas: None,
    }
}

fn failed(checks: &[Check]) -> Vec<&str> {
    checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.name.as_str())
        .collect()
}

#[test]
fn a_clean_run_passes_every_default_check() {
    let checks = evaluate(&Expectations::default(), &observed());
    assert!(failed(&checks).is_empty(), "{checks:?}");
    assert_eq!(
        checks.iter().find(|c| c.name == "lost").unwrap().expected,
        "0"
    );
}

#[test]
fn wrong_gold_windows_name_the_late_records_flink_dropped() {
    let mut run = observed();
    run.lakehouse = Some(LakehouseCounts {
        gold_windows_wrong: 26,
        gold_late_dropped: 41,
        ..LakehouseCounts::default()
    });
    let checks = evaluate(&Expectations::default(), &run);
    assert_eq!(failed(&checks), vec!["gold_windows_wrong"]);
    let gold = checks.iter().find(|c| !c.passed).unwrap();
    assert!(
        gold.actual.starts_with("26 (41 records dropped as late"),
        "{}",
        gold.actual
    );

    run.lakehouse = Some(LakehouseCounts {
        gold_late_dropped: 41,
        ..LakehouseCounts::default()
    });
    let checks = evaluate(&Expectations::default(), &run);
    assert!(
        failed(&checks).is_empty(),
        "late records the recomputation also excludes"
    );
}

#[test]
fn each_anomaly_fails_its_own_check() {
    let mut run = observed();
    run.counts.lost = 3;
    run.counts.duplicates = 1;
    run.counts.order_violations = 2;
    run.drained = false;
    let checks = evaluate(&Expectations::default(), &run);
    assert_eq!(
        failed(&checks),
        vec!["drain", "lost", "duplicates", "order_violations"]
    );
    let drain = &checks[0];
    assert_eq!(drain.actual, "3 never seen");
}

#[test]
fn acknowledged_duplicates_and_invalid_records_must_be_present() {
    let mut run = observed();
    run.counts.invalid_sent = 4;
    run.counts.invalid_missing = 1;
    run.counts.deliberate_duplicates_sent = 5;
    run.counts.deliberate_duplicates_missing = 2;
    let checks = evaluate(&Expectations::default(), &run);
    assert_eq!(
        failed(&checks),
        vec!["deliberate_duplicates_present", "invalid_present"]
    );
    let invalid = checks.iter().find(|c| c.name == "invalid_present").unwrap();
    assert_eq!(
        invalid.actual,
        "0 of 4 sent present, 1 acknowledged missing"
    );
}

#[test]
fn an_expected_anomaly_passes_only_when_it_happens() {
    let expect: Expectations = serde_json::from_str(r#"{"lost": {"at_least": 1}}"#).unwrap();
    assert_eq!(failed(&evaluate(&expect, &observed())), vec!["lost"]);
    let mut lossy = observed();
    lossy.counts.lost = 5;
    lossy.drained = false;
    assert!(failed(&evaluate(&expect, &lossy)).is_empty());
}

#[test]
fn limits_apply_only_when_given() {
    let expect: Expectations = serde_json::from_str(
        r#"{"min_throughput": 0.995, "produce_p99": "5ms", "produce_p999": "50ms", "max_lag": 0}"#,
    )
    .unwrap();
    let checks = evaluate(&expect, &observed());
    assert_eq!(
        failed(&checks),
        vec!["min_throughput", "produce_p99", "max_lag"]
    );
    let p99 = checks.iter().find(|c| c.name == "produce_p99").unwrap();
    assert_eq!(
        (p99.expected.as_str(), p99.actual.as_str()),
        ("≤ 5.0 ms", "8.0 ms")
    );
}

#[test]
fn throughput_outside_faults_is_compared_with_the_phase_before_them() {
    let expect: Expectations =
        serde_json::from_str(r#"{"throughput_outside_faults": 0.9}"#).unwrap();
    let mut run = observed();
    run.fault_throughput = Some((Some(400.0), Some(380.0)));
    assert!(failed(&evaluate(&expect, &run)).is_empty());
    run.fault_throughput = Some((Some(400.0), Some(300.0)));
    assert_eq!(
        failed(&evaluate(&expect, &run)),
        vec!["throughput_outside_faults"]
    );
    run.fault_throughput = None;
    assert_eq!(
        failed(&evaluate(&expect, &run)),
        vec!["throughput_outside_faults"]
    );
}

#[test]
fn records_removed_by_the_platform_fail_lost_unless_the_scenario_allows_removal() {
    let mut run = observed();
    run.counts.lost = 15;
    run.counts.removed_below_log_start = 12;
    let checks = evaluate(&Expectations::default(), &run);
    assert_eq!(failed(&checks), vec!["lost", "removed_below_log_start"]);
    let lost = checks.iter().find(|c| c.name == "lost").unwrap();
    assert_eq!(
        lost.actual,
        "15 (12 of them removed below their partition's log start by the platform)"
    );

    let allowing: Expectations =
        serde_json::from_str(r#"{"removed_below_log_start": "any"}"#).unwrap();
    let checks = evaluate(&allowing, &run);
    assert_eq!(failed(&checks), vec!["lost"], "3 were lost in flight");
    let lost = checks.iter().find(|c| c.name == "lost").unwrap();
    assert_eq!(
        lost.actual,
        "3 (besides 12 removed below their partition's log start by the platform, as allowed)"
    );
    run.counts.lost = 12;
    assert!(failed(&evaluate(&allowing, &run)).is_empty());
}

#[test]
fn altered_records_fail_the_run() {
    let mut run = observed();
    run.counts.corrupted = 1;
    assert_eq!(
        failed(&evaluate(&Expectations::default(), &run)),
        vec!["corrupted"]
    );
}

#[test]
fn bronze_checks_run_only_with_a_copier() {
    let mut run = observed();
    assert!(!evaluate(&Expectations::default(), &run)
        .iter()
        .any(|c| c.name.starts_with("bronze")));
    run.bronze = Some(BronzeCounts {
        missing: 0,
        duplicates: 3,
        corrupted: 2,
    });
    assert_eq!(
        failed(&evaluate(&Expectations::default(), &run)),
        vec!["bronze_duplicates", "bronze_corrupted"]
    );
    run.bronze = Some(BronzeCounts {
        duplicates: 3,
        ..BronzeCounts::default()
    });
    let expect: Expectations =
        serde_json::from_str(r#"{"bronze_duplicates": {"at_least": 1}}"#).unwrap();
    assert!(failed(&evaluate(&expect, &run)).is_empty());
}

#[test]
fn a_fault_that_did_not_heal_fails_the_run() {
    let mut run = observed();
    run.faults_healed = Some((1, 2));
    let checks = evaluate(&Expectations::default(), &run);
    assert_eq!(failed(&checks), vec!["faults_healed"]);
    run.faults_healed = Some((2, 2));
    assert!(failed(&evaluate(&Expectations::default(), &run)).is_empty());
}

#[test]
fn a_generator_that_fell_behind_fails_the_run_unless_allowed() {
    let mut run = observed();
    run.generator = (false, "fell behind".into());
    assert_eq!(
        failed(&evaluate(&Expectations::default(), &run)),
        vec!["generator_kept_up"]
    );
    let lenient: Expectations = serde_json::from_str(r#"{"generator_kept_up": false}"#).unwrap();
    assert!(failed(&evaluate(&lenient, &run)).is_empty());
}

#[test]
fn bounds_parse_with_a_helpful_error() {
    assert_eq!(
        serde_json::from_str::<Bound>("0").unwrap(),
        Bound::AtMost(0)
    );
    assert_eq!(
        serde_json::from_str::<Bound>("\"any\"").unwrap(),
        Bound::Any
    );
    assert_eq!(
        serde_json::from_str::<Bound>(r#"{"at_most": 4}"#).unwrap(),
        Bound::AtMost(4)
    );
    let error = serde_json::from_str::<Bound>("\"some\"")
        .unwrap_err()
        .to_string();
    assert!(error.contains("{at_least: 1}"), "{error}");
}

#[test]
fn every_check_carries_its_typed_limit() {
    let expect: Expectations = serde_json::from_str(
        r#"{"min_throughput": 0.9, "produce_p99": "5ms", "max_lag": 10, "lag_recovery": "30s"}"#,
    )
    .unwrap();
    let mut run = observed();
    run.max_lag = Some(4);
    run.lag_recovery = Some(None);
    run.faults_healed = Some((1, 2));
    let checks = evaluate(&expect, &run);
    assert!(
        checks.iter().all(|c| c.expected_value.is_some()),
        "{checks:?}"
    );
    let typed = |name: &str| {
        let check = checks.iter().find(|c| c.name == name).unwrap();
        (check.expected_value.unwrap(), check.actual_value)
    };
    assert_eq!(
        typed("lost"),
        (Limit::AtMost(Value::Count(0)), Some(Value::Count(0)))
    );
    assert_eq!(
        typed("produce_p99"),
        (
            Limit::AtMost(Value::Seconds(0.005)),
            Some(Value::Seconds(0.008))
        )
    );
    assert_eq!(
        typed("min_throughput"),
        (
            Limit::AtLeast(Value::Fraction(0.9)),
            Some(Value::Fraction(0.99))
        )
    );
    assert_eq!(
        typed("max_lag"),
        (Limit::AtMost(Value::Records(10)), Some(Value::Records(4)))
    );
    assert_eq!(
        typed("lag_recovery"),
        (Limit::AtMost(Value::Seconds(30.0)), None),
        "never recovered: nothing measured"
    );
    assert_eq!(
        typed("faults_healed"),
        (Limit::Equals(Value::Count(2)), Some(Value::Count(1)))
    );
    assert_eq!(
        typed("generator_kept_up"),
        (Limit::Equals(Value::Bool(true)), Some(Value::Bool(true)))
    );
}

#[test]
fn what_explains_an_actual_value_is_typed_too() {
    let mut run = observed();
    run.counts.lost = 15;
    run.counts.removed_below_log_start = 12;
    let allowing: Expectations =
        serde_json::from_str(r#"{"removed_below_log_start": "any"}"#).unwrap();
    let checks = evaluate(&allowing, &run);
    let lost = checks.iter().find(|c| c.name == "lost").unwrap();
    assert_eq!(lost.actual_value, Some(Value::Count(3)));
    assert_eq!(
        lost.note,
        Some(CheckNote::RemovedBelowLogStart {
            records: 12,
            counted: false
        })
    );

    run.lakehouse = Some(LakehouseCounts {
        gold_windows_wrong: 26,
        gold_late_dropped: 41,
        ..LakehouseCounts::default()
    });
    let checks = evaluate(&Expectations::default(), &run);
    let gold = checks
        .iter()
        .find(|c| c.name == "gold_windows_wrong")
        .unwrap();
    assert_eq!(gold.actual_value, Some(Value::Count(26)));
    assert_eq!(gold.note, Some(CheckNote::DroppedAsLate { records: 41 }));
}

#[test]
fn schema_checks_count_undecodable_events_failed_readers_and_unexpected_answers() {
    let mut run = observed();
    run.schemas = Some(SchemaCounts {
        undecodable: 0,
        reader_failures: 0,
        decoded: 90,
        changes: vec![(
            "transaction add-optional-field channel".to_owned(),
            "accepted".to_owned(),
            "accepted".to_owned(),
        )],
    });
    let checks = evaluate(&Expectations::default(), &run);
    assert!(failed(&checks).is_empty(), "{checks:?}");
    let names: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
    for name in [
        "schema_undecodable",
        "schema_reader_failures",
        "schema_changes",
    ] {
        assert!(names.contains(&name), "{name}");
    }
    run.schemas = Some(SchemaCounts {
        undecodable: 3,
        reader_failures: 2,
        decoded: 87,
        changes: vec![(
            "transaction add-required-field region".to_owned(),
            "refused".to_owned(),
            "accepted".to_owned(),
        )],
    });
    let checks = evaluate(&Expectations::default(), &run);
    assert_eq!(
        failed(&checks),
        vec![
            "schema_undecodable",
            "schema_reader_failures",
            "schema_changes"
        ]
    );
    let undecodable = checks
        .iter()
        .find(|c| c.name == "schema_undecodable")
        .unwrap();
    assert_eq!(undecodable.actual_value, Some(Value::Count(3)));
    let changes = checks.iter().find(|c| c.name == "schema_changes").unwrap();
    assert!(
        changes.actual.contains("accepted, expected refused"),
        "{}",
        changes.actual
    );
}
