//! The checks: the table, and the expected and actual text of each check, from its typed
//! values when the result has them.

use super::{Block, Column, Row, Section, Span, Table, Text};
use crate::format;
use crate::result::{Check, CheckNote, RunResult, Value};

pub(super) fn checks(result: &RunResult) -> Section {
    let blocks = if result.checks.is_empty() {
        vec![Block::Note(Text::plain("No checks were configured."))]
    } else {
        vec![Block::Table(Table {
            columns: vec![
                Column::text("check"),
                Column::text("expected"),
                Column::text("actual"),
                Column::text(""),
            ],
            rows: result.checks.iter().map(check_row).collect(),
            aligned_in_markdown: false,
        })]
    };
    Section {
        title: "Checks",
        blocks,
    }
}

fn check_row(check: &Check) -> Row {
    let (expected, actual) = check_texts(check);
    Row {
        cells: vec![
            Text(vec![Span::Name(check.name.clone())]),
            Text::plain(expected),
            Text::plain(actual),
            Text(vec![Span::Verdict(check.passed)]),
        ],
        failed: !check.passed,
    }
}

/// What a check expected and found, as a reader should see it.
///
/// Typed values are formatted here; a result written before they existed has only the
/// sentences. A condition (the drain, the generator) keeps its sentence, which says more
/// than yes or no, and so does a value that was not measured, whose sentence says why.
pub(crate) fn check_texts(check: &Check) -> (String, String) {
    let sentences = || (check.expected.clone(), check.actual.clone());
    match (&check.expected_value, &check.actual_value) {
        (None, _) | (_, Some(Value::Bool(_))) => sentences(),
        (Some(limit), None) => (format::limit(limit), check.actual.clone()),
        (Some(limit), Some(actual)) => (format::limit(limit), actual_text(actual, check.note)),
    }
}

fn actual_text(actual: &Value, note: Option<CheckNote>) -> String {
    let figure = format::value(actual);
    match note {
        None => figure,
        Some(CheckNote::RemovedBelowLogStart {
            records,
            counted: true,
        }) => format!(
            "{figure} ({} of them removed below their partition's log start by the platform)",
            format::grouped(records)
        ),
        Some(CheckNote::RemovedBelowLogStart {
            records,
            counted: false,
        }) => format!(
            "{figure} (besides {} removed below their partition's log start by the platform, as allowed)",
            format::grouped(records)
        ),
        Some(CheckNote::DroppedAsLate { records }) => format!(
            "{figure} ({} records dropped as late by gold's windows: the pipeline reordered events by more than the watermark delay)",
            format::grouped(records)
        ),
        Some(CheckNote::Rates {
            measured_eps,
            reference_eps,
        }) => format!(
            "{figure} ({} of {})",
            format::grouped(measured_eps.round().max(0.0) as u64),
            format::value(&Value::EventsPerSecond(reference_eps))
        ),
        Some(CheckNote::Present { present, sent }) => format!(
            "{} of {} sent present, {figure} acknowledged missing",
            format::grouped(present),
            format::grouped(sent)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::Limit;

    fn check(expected_value: Limit, actual_value: Option<Value>, note: Option<CheckNote>) -> Check {
        Check {
            name: "a".to_owned(),
            expected: "sentence expected".to_owned(),
            actual: "sentence actual".to_owned(),
            passed: true,
            expected_value: Some(expected_value),
            actual_value,
            note,
        }
    }

    #[test]
    fn typed_values_are_formatted_and_sentences_kept_where_they_say_more() {
        let lost = check(
            Limit::AtMost(Value::Count(0)),
            Some(Value::Count(15_000)),
            Some(CheckNote::RemovedBelowLogStart {
                records: 12_000,
                counted: true,
            }),
        );
        assert_eq!(
            check_texts(&lost),
            (
                "0".to_owned(),
                "15,000 (12,000 of them removed below their partition's log start by the platform)"
                    .to_owned()
            )
        );
        let throughput = check(
            Limit::AtLeast(Value::Fraction(0.9)),
            Some(Value::Fraction(1.34)),
            Some(CheckNote::Rates {
                measured_eps: 547.2,
                reference_eps: 408.0,
            }),
        );
        assert_eq!(check_texts(&throughput).1, "134% (547 of 408 events/s)");
        let condition = check(
            Limit::Equals(Value::Bool(true)),
            Some(Value::Bool(true)),
            None,
        );
        assert_eq!(check_texts(&condition).0, "sentence expected");
        let unmeasured = check(Limit::AtMost(Value::Seconds(0.005)), None, None);
        assert_eq!(
            check_texts(&unmeasured),
            ("≤ 5.0 ms".to_owned(), "sentence actual".to_owned())
        );
        let old = Check {
            expected_value: None,
            ..unmeasured
        };
        assert_eq!(check_texts(&old).0, "sentence expected");
    }
}
