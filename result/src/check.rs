//! A check of a run: its verdict, the strings older tools read, and the same expectation and
//! measurement as typed values with their units, so that readers compute with numbers and only
//! `reports` decides how they read.

use serde::{Deserialize, Serialize};

/// An expectation against what happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    /// Stable name.
    pub name: String,
    /// Expected, as a sentence (kept for the tools that read it; see `expected_value`).
    pub expected: String,
    /// Actual, as a sentence (kept for the tools that read it; see `actual_value`).
    pub actual: String,
    /// Whether it held.
    pub passed: bool,
    /// The expectation as a typed limit; absent in results written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_value: Option<Limit>,
    /// What was measured, typed; absent when nothing was (no consumers, never recovered) and
    /// in results written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual_value: Option<Value>,
    /// What else explains the actual value, when the checker knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<CheckNote>,
}

/// A measured quantity in its unit. Serialized with the unit as the key (`{"count": 3}`,
/// `{"seconds": 0.0134}`), so a reader never parses a number out of text.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Value {
    /// A number of things the check's name says (lost records, wrong windows, faults).
    Count(u64),
    /// A number of records (consumer lag).
    Records(u64),
    /// A time span.
    Seconds(f64),
    /// A rate of events.
    EventsPerSecond(f64),
    /// A share of a whole, 0 to 1.
    Fraction(f64),
    /// A condition that held or not.
    Bool(bool),
}

/// How the actual value of a check is judged.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Limit {
    /// At most this.
    AtMost(Value),
    /// At least this.
    AtLeast(Value),
    /// Exactly this.
    Equals(Value),
    /// Anything: reported, never failed.
    Any,
}

/// What the checker knows besides the actual value, typed so each report phrases it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckNote {
    /// Records the platform removed below their partition's log start (retention,
    /// DeleteRecords, truncation). `counted`: they are part of the actual value; otherwise the
    /// scenario allowed them and they were left out.
    RemovedBelowLogStart {
        /// Records removed.
        records: u64,
        /// Whether the actual value includes them.
        counted: bool,
    },
    /// Records gold's window operator dropped as late: the pipeline reordered events by more
    /// than the watermark delay, the usual cause of wrong windows.
    DroppedAsLate {
        /// Records dropped.
        records: u64,
    },
    /// The rates a throughput fraction divides.
    Rates {
        /// The rate measured, events/s.
        measured_eps: f64,
        /// The rate it is a fraction of, events/s.
        reference_eps: f64,
    },
    /// Records of one kind (invalid, deliberate duplicates) sent and found.
    Present {
        /// Found in the topics.
        present: u64,
        /// Sent.
        sent: u64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_written_before_typed_values_still_reads() {
        let old = r#"{"name": "lost", "expected": "0", "actual": "0", "passed": true}"#;
        let check: Check = serde_json::from_str(old).unwrap();
        assert_eq!(
            (check.expected_value, check.actual_value, check.note),
            (None, None, None)
        );
    }

    #[test]
    fn typed_values_carry_their_unit_in_the_key() {
        let check = Check {
            name: "produce_p99".to_owned(),
            expected: "≤ 5.0 ms".to_owned(),
            actual: "8.0 ms".to_owned(),
            passed: false,
            expected_value: Some(Limit::AtMost(Value::Seconds(0.005))),
            actual_value: Some(Value::Seconds(0.008)),
            note: None,
        };
        let json = serde_json::to_value(&check).unwrap();
        assert_eq!(json["expected_value"]["at_most"]["seconds"], 0.005);
        assert_eq!(json["actual_value"]["seconds"], 0.008);
        assert_eq!(serde_json::to_value(Limit::Any).unwrap(), "any");
        assert_eq!(serde_json::from_value::<Check>(json).unwrap(), check);
    }
}
