//! JUnit XML: each check of a run as a test case, so CI systems list, count and track checks
//! like any other test.
//!
//! One `<testsuite>` per run, named after its scenario; one `<testcase>` per check, with a
//! `<failure>` saying what was expected and what happened when it did not hold. The run's id,
//! scenario file and platform are the suite's properties, so a failure can be traced back to
//! its `result.json`.

use std::fmt::Write as _;

use crate::escape::markup as esc;
use crate::result::RunResult;

/// Renders the checks of one or more runs as a JUnit `<testsuites>` document.
pub fn junit_xml(results: &[&RunResult]) -> String {
    let tests: usize = results.iter().map(|r| r.checks.len()).sum();
    let failures: usize = results
        .iter()
        .map(|r| r.checks.iter().filter(|c| !c.passed).count())
        .sum();
    let time: f64 = results
        .iter()
        .map(|r| finite_seconds(r.duration_seconds))
        .sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"streamproof\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" time=\"{time:.3}\">"
    );
    for result in results {
        testsuite(&mut out, result);
    }
    out.push_str("</testsuites>\n");
    out
}

/// JUnit readers reject `NaN` and negative times.
fn finite_seconds(seconds: f64) -> f64 {
    if seconds.is_finite() && seconds > 0.0 {
        seconds
    } else {
        0.0
    }
}

fn testsuite(out: &mut String, result: &RunResult) {
    let failures = result.checks.iter().filter(|c| !c.passed).count();
    let suite = esc(&result.scenario.name);
    let _ = writeln!(
        out,
        "  <testsuite name=\"{suite}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\" time=\"{:.3}\" timestamp=\"{}\">",
        result.checks.len(),
        finite_seconds(result.duration_seconds),
        esc(&result.started_at)
    );
    out.push_str("    <properties>\n");
    let properties = [
        ("run_id", result.run_id.as_str()),
        ("scenario_file", result.scenario.file.as_str()),
        ("scenario_sha256", result.scenario.sha256.as_str()),
        ("platform", result.platform.kind.as_str()),
        (
            "bootstrap_servers",
            result.platform.bootstrap_servers.as_str(),
        ),
        ("kafka_version", result.platform.kafka_version.as_str()),
        ("streamproof_version", result.streamproof_version.as_str()),
    ];
    for (name, value) in properties {
        let _ = writeln!(
            out,
            "      <property name=\"{name}\" value=\"{}\"/>",
            esc(value)
        );
    }
    out.push_str("    </properties>\n");
    for check in &result.checks {
        let name = esc(&check.name);
        if check.passed {
            let _ = writeln!(
                out,
                "    <testcase name=\"{name}\" classname=\"streamproof.{suite}\" time=\"0\"/>"
            );
        } else {
            let _ = writeln!(
                out,
                "    <testcase name=\"{name}\" classname=\"streamproof.{suite}\" time=\"0\">\n      \
                 <failure message=\"expected {}, actual {}\" type=\"check\">expected: {}\nactual: {}</failure>\n    \
                 </testcase>",
                esc(&check.expected),
                esc(&check.actual),
                esc(&check.expected),
                esc(&check.actual)
            );
        }
    }
    let _ = writeln!(
        out,
        "    <system-out>{}</system-out>",
        esc(&format!(
            "run {} of {}: {}",
            result.run_id,
            result.scenario.name,
            if result.passed() {
                "every check held"
            } else {
                "at least one check failed"
            }
        ))
    );
    out.push_str("  </testsuite>\n");
}
