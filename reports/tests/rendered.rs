//! Snapshots of the rendered Markdown and JUnit, and properties of the HTML page.

mod common;

use streamproof_reports::result::{AnomalyExample, ByteDifference, RunResult, Verdict};
use streamproof_reports::{html, junit, markdown};

/// The fixture failing two checks, with anomaly examples and text that needs escaping.
fn failing_run() -> RunResult {
    let mut result = common::broker_kill();
    result.verdict = Verdict::Fail;
    result.counts.lost = 5;
    result.counts.duplicates = 2;
    for check in &mut result.checks {
        match check.name.as_str() {
            "lost" => {
                check.actual = "5".to_owned();
                check.passed = false;
            }
            "duplicates" => {
                check.actual = "2 <dup> & \"more\" | piped".to_owned();
                check.passed = false;
            }
            _ => {}
        }
    }
    result.anomalies.insert(
        "lost".to_owned(),
        vec![AnomalyExample {
            send_id: 1_099_511_627_777,
            event_id: "evt-<script>alert(1)</script>".to_owned(),
            topic: "raw-events".to_owned(),
            partition: Some(0),
            offset: Some(4242),
            difference: None,
        }],
    );
    result.anomalies.insert(
        "corrupted".to_owned(),
        vec![AnomalyExample {
            send_id: 7,
            event_id: "evt-7".to_owned(),
            topic: "raw-events".to_owned(),
            partition: Some(1),
            offset: Some(12),
            difference: Some(ByteDifference {
                field: "value".to_owned(),
                at: 40,
                expected: Some(b'a'),
                found: Some(b'<'),
            }),
        }],
    );
    result
}

#[test]
fn summary_of_a_passing_chaos_run() {
    insta::assert_snapshot!(markdown::summary(&common::broker_kill()));
}

#[test]
fn summary_of_a_failing_run() {
    insta::assert_snapshot!(markdown::summary(&failing_run()));
}

#[test]
fn junit_of_a_passing_and_a_failing_run() {
    let passing = common::broker_kill();
    let failing = failing_run();
    insta::assert_snapshot!(junit::junit_xml(&[&passing, &failing]));
}

#[test]
fn junit_of_no_runs_is_an_empty_document() {
    let xml = junit::junit_xml(&[]);
    assert!(xml.contains("<testsuites name=\"streamproof\" tests=\"0\" failures=\"0\""));
    assert!(xml.trim_end().ends_with("</testsuites>"));
}

#[test]
fn html_is_self_contained() {
    for result in [
        common::broker_kill(),
        failing_run(),
        common::empty_series(),
        common::huge_series(100_000),
    ] {
        let page = html::render_html(&result);
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(!page.contains("http://"), "no network references");
        assert!(!page.contains("https://"), "no network references");
        assert!(!page.contains("<script"), "no scripts");
        assert!(!page.contains("<link"), "no stylesheets to fetch");
        assert!(!page.contains("@import"), "no stylesheets to fetch");
        assert!(!page.contains("url("), "no fonts or images to fetch");
        assert!(page.contains("@media print"));
    }
}

#[test]
fn html_shows_the_verdict_checks_and_settings() {
    let result = common::broker_kill();
    let page = html::render_html(&result);
    let verdict = page
        .find("<div class=\"badge\">PASS</div>")
        .expect("verdict");
    let checks = page.find("<h2>Checks</h2>").expect("checks");
    assert!(verdict < checks, "the verdict comes first");
    for check in &result.checks {
        assert!(page.contains(&format!("<code>{}</code>", check.name)));
    }
    for needle in [
        "12 of 12 checks held",
        "kill leader:raw-events/0",
        "SIGKILL broker 1",
        "<code>enable.idempotence</code>",
        "<code>isolation.level</code>",
        "min.insync.replicas",
        "Scenario as run",
        "restart_after",
        "Latency by percentile",
        "Consumer lag over time",
        "kept up",
    ] {
        assert!(page.contains(needle), "the page shows {needle}");
    }
}

#[test]
fn html_escapes_what_the_run_reports() {
    let page = html::render_html(&failing_run());
    assert!(page.contains("<div class=\"badge\">FAIL</div>"));
    assert!(page.contains("evt-&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(page.contains("2 &lt;dup&gt; &amp; &quot;more&quot; | piped"));
    assert!(
        page.contains("1099511627777"),
        "anomaly examples show their send id"
    );
}

#[test]
fn run_dir_gets_the_page_and_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    let result = common::broker_kill();
    let written = html::render_run_dir(&out, &result).unwrap();
    assert_eq!(written.index_html, out.join("index.html"));
    assert_eq!(
        std::fs::read_to_string(&written.index_html).unwrap(),
        html::render_html(&result)
    );
    assert_eq!(
        std::fs::read_to_string(&written.summary_md).unwrap(),
        markdown::summary(&result)
    );
}

#[test]
fn run_dir_that_cannot_be_created_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let error = html::render_run_dir(&file.join("report"), &common::broker_kill()).unwrap_err();
    assert!(error.to_string().contains("a-file"), "{error}");
}

#[test]
fn a_result_of_a_newer_format_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("result.json");
    let mut result = common::broker_kill();
    result.result_version = 99;
    result.write(&path).unwrap();
    let error = RunResult::read(&path).unwrap_err().to_string();
    assert!(
        error.contains("has result format 99; this streamproof reads format 1 and older"),
        "{error}"
    );
    result.result_version = 1;
    result.write(&path).unwrap();
    assert_eq!(RunResult::read(&path).unwrap(), result);
}

#[test]
fn typed_check_values_are_formatted_with_their_units() {
    use streamproof_reports::result::{CheckNote, Limit, Value};
    let mut result = common::broker_kill();
    for check in &mut result.checks {
        match check.name.as_str() {
            "lost" => {
                check.expected_value = Some(Limit::AtMost(Value::Count(0)));
                check.actual_value = Some(Value::Count(12_345));
                check.note = Some(CheckNote::RemovedBelowLogStart {
                    records: 12_000,
                    counted: true,
                });
                check.passed = false;
            }
            "lag_recovery" => {
                check.expected_value = Some(Limit::AtMost(Value::Seconds(30.0)));
                check.actual_value = Some(Value::Seconds(9.04));
            }
            _ => {}
        }
    }
    let summary = markdown::summary(&result);
    assert!(
        summary.contains(
            "| lost | 0 | 12,345 (12,000 of them removed below their partition's log start by the platform) | ❌ |"
        ),
        "{summary}"
    );
    assert!(
        summary.contains("| lag_recovery | ≤ 30.0 s | 9.0 s | ✅ |"),
        "{summary}"
    );
    let page = html::render_html(&result);
    assert!(
        page.contains("<td>12,345 (12,000 of them removed"),
        "{page}"
    );
}

#[test]
fn the_pipeline_sections_render_in_both_formats() {
    let result = common::pipeline_smoke();
    let summary = markdown::summary(&result);
    let page = html::render_html(&result);
    for title in ["Lakehouse", "Bronze"] {
        assert!(summary.contains(&format!("## {title}\n")), "{summary}");
        assert!(page.contains(&format!("<h2>{title}</h2>")), "{title}");
    }
    assert!(summary.contains("| bronze.events |"), "{summary}");
    assert!(
        !summary.contains("## Charts"),
        "charts are on the page only"
    );
}
