//! Expectations (a scenario's `expect:` section) and the checks that compare them with what a
//! run observed.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use streamproof_loadgen::stats::Latency;
use streamproof_platform::problem::{PathStep::Key, Problem};

use crate::kafka::Counts;

mod search;
pub use search::{search_checks, search_step};

/// A limit on a count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    /// At most this many (a bare number in the scenario).
    AtMost(u64),
    /// At least this many (`{at_least: 1}`: the scenario exists to produce the anomaly).
    AtLeast(u64),
    /// Anything goes (`any`): reported, never failed.
    Any,
}

impl Bound {
    /// The bound as the typed limit result.json carries beside its text.
    fn limit(self) -> Limit {
        match self {
            Bound::AtMost(limit) => Limit::AtMost(Value::Count(limit)),
            Bound::AtLeast(floor) => Limit::AtLeast(Value::Count(floor)),
            Bound::Any => Limit::Any,
        }
    }

    fn holds(self, actual: u64) -> bool {
        match self {
            Bound::AtMost(limit) => actual <= limit,
            Bound::AtLeast(floor) => actual >= floor,
            Bound::Any => true,
        }
    }
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bound::AtMost(0) => write!(f, "0"),
            Bound::AtMost(limit) => write!(f, "≤ {limit}"),
            Bound::AtLeast(floor) => write!(f, "≥ {floor}"),
            Bound::Any => write!(f, "any"),
        }
    }
}

impl<'de> Deserialize<'de> for Bound {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Word(String),
            Map {
                at_least: Option<u64>,
                at_most: Option<u64>,
            },
        }
        const HELP: &str =
            "write a count (at most that many, e.g. `0`), `{at_least: 1}`, `{at_most: 5}` or `any`";
        match Raw::deserialize(deserializer).map_err(|_| de::Error::custom(HELP))? {
            Raw::Number(limit) => Ok(Bound::AtMost(limit)),
            Raw::Word(word) if word == "any" => Ok(Bound::Any),
            Raw::Map {
                at_least: Some(floor),
                at_most: None,
            } => Ok(Bound::AtLeast(floor)),
            Raw::Map {
                at_least: None,
                at_most: Some(limit),
            } => Ok(Bound::AtMost(limit)),
            _ => Err(de::Error::custom(HELP)),
        }
    }
}

fn zero() -> Bound {
    Bound::AtMost(0)
}

/// The `expect:` section. Counts default to 0 (nothing lost, duplicated, phantom, misplaced
/// or reordered); latency, throughput and lag limits apply only when given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectations {
    /// Acknowledged records missing from the topics. When `removed_below_log_start` allows
    /// removal, records the platform removed are not counted here.
    #[serde(default = "zero")]
    pub lost: Bound,
    /// Acknowledged records missing because the platform removed them from the start of their
    /// partition (retention, DeleteRecords, truncation): by default none, and they count as
    /// lost too; a scenario that removes records on purpose allows them here (e.g. `any`).
    #[serde(default = "zero")]
    pub removed_below_log_start: Bound,
    /// Records of the run whose key or value differ from what was sent.
    #[serde(default = "zero")]
    pub corrupted: Bound,
    /// Extra copies of a send (producer retries that were not deduplicated).
    #[serde(default = "zero")]
    pub duplicates: Bound,
    /// Failed sends that appeared anyway.
    #[serde(default = "zero")]
    pub phantoms: Bound,
    /// Records not at the offset they were acknowledged at.
    #[serde(default = "zero")]
    pub offset_mismatches: Bound,
    /// Per-key sequence going backwards within a partition.
    #[serde(default = "zero")]
    pub order_violations: Bound,
    /// Raw records missing from bronze (when the copier runs).
    #[serde(default = "zero")]
    pub bronze_missing: Bound,
    /// Extra copies of raw records in bronze (when the copier runs).
    #[serde(default = "zero")]
    pub bronze_duplicates: Bound,
    /// Records in bronze whose key or value differ from what was sent to raw.
    #[serde(default = "zero")]
    pub bronze_corrupted: Bound,
    /// Raw records missing from the `bronze.events` Iceberg table (with the pipeline).
    #[serde(default = "zero")]
    pub lakehouse_bronze_missing: Bound,
    /// Extra copies in the `bronze.events` Iceberg table (with the pipeline).
    #[serde(default = "zero")]
    pub lakehouse_bronze_duplicates: Bound,
    /// Rows of `bronze.events` whose key or value differ from what was sent to raw.
    #[serde(default = "zero")]
    pub lakehouse_bronze_corrupted: Bound,
    /// Valid event ids present in raw but missing from `silver.events`.
    #[serde(default = "zero")]
    pub silver_missing: Bound,
    /// Rows of `silver.events` beyond the first per event id.
    #[serde(default = "zero")]
    pub silver_duplicates: Bound,
    /// Event ids in `silver.events` that no valid send carried.
    #[serde(default = "zero")]
    pub silver_unexpected: Bound,
    /// Invalid records present in raw but missing from `dlq-events`.
    #[serde(default = "zero")]
    pub dlq_missing: Bound,
    /// Extra copies in `dlq-events`.
    #[serde(default = "zero")]
    pub dlq_duplicates: Bound,
    /// Records in `dlq-events` that point at no invalid raw record of the run.
    #[serde(default = "zero")]
    pub dlq_unexpected: Bound,
    /// Closed gold windows that differ from the ledger's recomputation, lack a row, or have
    /// a row without events (counted together).
    #[serde(default = "zero")]
    pub gold_windows_wrong: Bound,
    /// Valid events of a registered-schema format that do not decode through the registry as
    /// sent: not in the wire format, an unknown or foreign schema id, undecodable, or decoded
    /// to another event.
    #[serde(default = "zero")]
    pub schema_undecodable: Bound,
    /// Reads of a valid event by a version of its subject (old readers of new events, new
    /// readers of old ones) that failed.
    #[serde(default = "zero")]
    pub schema_reader_failures: Bound,
    /// Achieved throughput as a fraction of the target rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_throughput: Option<f64>,
    /// Produce latency p99 (intended send to ack).
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    pub produce_p99: Option<Duration>,
    /// Produce latency p99.9.
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    pub produce_p999: Option<Duration>,
    /// End-to-end latency p99 (intended send to consumed).
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    pub end_to_end_p99: Option<Duration>,
    /// Largest lag of any consumer group, records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_lag: Option<u64>,
    /// Time after the load ends (or the last fault heals) until every group's lag is back to
    /// its level before the faults (zero without faults).
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    pub lag_recovery: Option<Duration>,
    /// With faults: acknowledged throughput outside the fault windows as a fraction of the
    /// throughput before the first fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throughput_outside_faults: Option<f64>,
    /// Whether the load generator must have offered the intended load (default true).
    #[serde(default = "yes")]
    pub generator_kept_up: bool,
}

fn yes() -> bool {
    true
}

impl Default for Expectations {
    fn default() -> Self {
        Expectations {
            lost: zero(),
            removed_below_log_start: zero(),
            corrupted: zero(),
            duplicates: zero(),
            phantoms: zero(),
            offset_mismatches: zero(),
            order_violations: zero(),
            bronze_missing: zero(),
            bronze_duplicates: zero(),
            bronze_corrupted: zero(),
            lakehouse_bronze_missing: zero(),
            lakehouse_bronze_duplicates: zero(),
            lakehouse_bronze_corrupted: zero(),
            silver_missing: zero(),
            silver_duplicates: zero(),
            silver_unexpected: zero(),
            dlq_missing: zero(),
            dlq_duplicates: zero(),
            dlq_unexpected: zero(),
            gold_windows_wrong: zero(),
            schema_undecodable: zero(),
            schema_reader_failures: zero(),
            min_throughput: None,
            produce_p99: None,
            produce_p999: None,
            end_to_end_p99: None,
            max_lag: None,
            lag_recovery: None,
            throughput_outside_faults: None,
            generator_kept_up: true,
        }
    }
}

impl Expectations {
    /// Problems no single field shows, each at the field to fix.
    pub fn problems(&self) -> Vec<Problem> {
        match self.min_throughput {
            Some(fraction) if !(0.0..=1.0).contains(&fraction) => vec![Problem::at(
                [Key("expect"), Key("min_throughput")],
                format!(
                    "expect.min_throughput {fraction} is a fraction of the target rate; write a number from 0 to 1, e.g. 0.95"
                ),
            )],
            _ => Vec::new(),
        }
    }
}

/// What a run observed, in the units the checks compare.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    /// Kafka-level counts.
    pub counts: Counts,
    /// Whether every acknowledged record became visible in time.
    pub drained: bool,
    /// The drain timeout.
    pub drain_timeout: Duration,
    /// Target events per second (`None` in a closed loop).
    pub target_eps: Option<f64>,
    /// Acknowledged events per second in the measured part.
    pub achieved_eps: f64,
    /// Produce latency.
    pub produce: Latency,
    /// End-to-end latency, when consumers ran.
    pub end_to_end: Option<Latency>,
    /// Largest lag sample, when consumers ran.
    pub max_lag: Option<i64>,
    /// Time to lag zero after the load, when consumers ran; `Some(None)` when it never got there.
    pub lag_recovery: Option<Option<Duration>>,
    /// Whether the generator kept up, and why.
    pub generator: (bool, String),
    /// Faults applied and healed, of those fired; `None` without faults.
    pub faults_healed: Option<(usize, usize)>,
    /// Bronze's anomalies; `None` when no copier ran.
    pub bronze: Option<BronzeCounts>,
    /// The lakehouse's anomaly counts, when the pipeline ran.
    pub lakehouse: Option<LakehouseCounts>,
    /// Acknowledged events/s before the first fault and outside every fault window.
    pub fault_throughput: Option<(Option<f64>, Option<f64>)>,
    /// The records decoded through the schema registry and the schema changes made, when the
    /// format carries registered schemas.
    pub schemas: Option<SchemaCounts>,
}

/// What decoding through the registry and the schema changes came to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchemaCounts {
    /// Valid events not decoded as sent.
    pub undecodable: u64,
    /// Failed reads by a version of a subject.
    pub reader_failures: u64,
    /// Valid events decoded as sent.
    pub decoded: u64,
    /// Each schema change, as `(what, expected, outcome)`.
    pub changes: Vec<(String, String, String)>,
}

pub use streamproof_result::Check;
use streamproof_result::{CheckNote, Limit, Value};

/// A check with its expectation and measurement twice: typed, for reports and tools, and as
/// the sentences result.json has always carried, which older tools read.
fn check(
    name: &str,
    (expected, expected_value): (impl fmt::Display, Limit),
    (actual, actual_value): (impl fmt::Display, Option<Value>),
    passed: bool,
) -> Check {
    Check {
        name: name.to_owned(),
        expected: expected.to_string(),
        actual: actual.to_string(),
        passed,
        expected_value: Some(expected_value),
        actual_value,
        note: None,
    }
}

/// A count against its bound.
fn count_check(name: &str, bound: Bound, actual: u64) -> Check {
    check(
        name,
        (bound, bound.limit()),
        (actual, Some(Value::Count(actual))),
        bound.holds(actual),
    )
}

fn millis(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

const NOT_MEASURED: &str = "not measured (no consumers)";

fn latency_check(name: &str, limit: Option<Duration>, actual_us: Option<u64>) -> Option<Check> {
    let limit = limit?;
    let expected = (
        format!("≤ {}", millis(limit)),
        Limit::AtMost(Value::Seconds(limit.as_secs_f64())),
    );
    Some(match actual_us.map(Duration::from_micros) {
        Some(took) => check(
            name,
            expected,
            (millis(took), Some(Value::Seconds(took.as_secs_f64()))),
            took <= limit,
        ),
        None => check(name, expected, (NOT_MEASURED, None), false),
    })
}

/// Acknowledged records missing: all of them, or (when the scenario allows the platform to
/// remove records) those lost in flight; the actual value says how many the platform removed.
fn lost_check(expect: &Expectations, counts: &Counts, lost_in_flight: u64) -> Check {
    let removed = counts.removed_below_log_start;
    let actual = match (removed, lost_in_flight == counts.lost) {
        (0, _) => counts.lost.to_string(),
        (_, true) => format!(
            "{} ({removed} of them removed below their partition's log start by the platform)",
            counts.lost
        ),
        (_, false) => format!(
            "{lost_in_flight} (besides {removed} removed below their partition's log start by the platform, as allowed)"
        ),
    };
    Check {
        note: (removed > 0).then_some(CheckNote::RemovedBelowLogStart {
            records: removed,
            counted: lost_in_flight == counts.lost,
        }),
        ..check(
            "lost",
            (expect.lost, expect.lost.limit()),
            (actual, Some(Value::Count(lost_in_flight))),
            expect.lost.holds(lost_in_flight),
        )
    }
}

/// Gold's windows against the recomputation; when gold's window operator dropped records as
/// late, the actual value says so, since that is the usual cause of wrong windows.
fn gold_check(bound: Bound, lakehouse: &LakehouseCounts) -> Check {
    let wrong = lakehouse.gold_windows_wrong;
    let check = count_check("gold_windows_wrong", bound, wrong);
    match lakehouse.gold_late_dropped {
        late if late > 0 && wrong > 0 => Check {
            actual: format!(
                "{wrong} ({late} records dropped as late by gold's windows: the pipeline reordered events by more than the watermark delay)"
            ),
            note: Some(CheckNote::DroppedAsLate { records: late }),
            ..check
        },
        _ => check,
    }
}

/// Decoding through the registry, each subject's versions reading every event, and every
/// schema change answered as the scenario expected.
fn schema_checks(expect: &Expectations, schemas: &SchemaCounts) -> Vec<Check> {
    let mut checks = vec![
        Check {
            actual: format!(
                "{} ({} valid events decoded as sent)",
                schemas.undecodable, schemas.decoded
            ),
            ..count_check(
                "schema_undecodable",
                expect.schema_undecodable,
                schemas.undecodable,
            )
        },
        count_check(
            "schema_reader_failures",
            expect.schema_reader_failures,
            schemas.reader_failures,
        ),
    ];
    if !schemas.changes.is_empty() {
        let unexpected: Vec<String> = schemas
            .changes
            .iter()
            .filter(|(_, expected, outcome)| expected != outcome)
            .map(|(what, expected, outcome)| format!("{what}: {outcome}, expected {expected}"))
            .collect();
        checks.push(check(
            "schema_changes",
            (
                format!(
                    "each of {} schema change(s) accepted or refused by the registry as expected",
                    schemas.changes.len()
                ),
                Limit::AtMost(Value::Count(0)),
            ),
            (
                if unexpected.is_empty() {
                    "every change answered as expected".to_owned()
                } else {
                    unexpected.join("; ")
                },
                Some(Value::Count(unexpected.len() as u64)),
            ),
            unexpected.is_empty(),
        ));
    }
    checks
}

/// A layer copied from raw (the `bronze-events` topic, the `bronze.events` table) against raw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BronzeCounts {
    /// Raw records missing.
    pub missing: u64,
    /// Extra copies.
    pub duplicates: u64,
    /// Records whose key or value differ from what was sent.
    pub corrupted: u64,
}

impl BronzeCounts {
    fn checks(&self, layer: &str, bounds: [Bound; 3]) -> impl Iterator<Item = Check> + '_ {
        let layer = layer.to_owned();
        ["missing", "duplicates", "corrupted"]
            .into_iter()
            .zip(bounds)
            .zip([self.missing, self.duplicates, self.corrupted])
            .map(move |((anomaly, bound), actual)| {
                count_check(&format!("{layer}_{anomaly}"), bound, actual)
            })
    }
}

/// The lakehouse's anomaly counts, for the verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LakehouseCounts {
    /// `bronze.events` against raw.
    pub bronze: BronzeCounts,
    /// Expected event ids missing from silver.
    pub silver_missing: u64,
    /// Silver rows beyond one per event id.
    pub silver_duplicates: u64,
    /// Silver event ids no valid send carried.
    pub silver_unexpected: u64,
    /// Invalid records missing from the DLQ.
    pub dlq_missing: u64,
    /// Extra DLQ copies.
    pub dlq_duplicates: u64,
    /// DLQ records pointing at no invalid raw record.
    pub dlq_unexpected: u64,
    /// Gold windows mismatched, missing, unexpected or duplicated, plus replay mismatches.
    pub gold_windows_wrong: u64,
    /// Records gold's window operator dropped as late (Flink's `numLateRecordsDropped`).
    pub gold_late_dropped: u64,
}

/// The checks that measure how well the platform kept up (rates, latencies, lag, the drain)
/// rather than what it kept: a rate above what a platform sustains fails these, and only
/// these, when the platform is correct.
pub const OBJECTIVE_CHECKS: [&str; 9] = [
    "min_throughput",
    "produce_p99",
    "produce_p999",
    "end_to_end_p99",
    "max_lag",
    "lag_recovery",
    "throughput_outside_faults",
    "generator_kept_up",
    "drain",
];

/// Whether a check is one of the [`OBJECTIVE_CHECKS`].
pub fn is_objective(check_name: &str) -> bool {
    OBJECTIVE_CHECKS.contains(&check_name)
}

/// Every check of a run, in a stable order.
pub fn evaluate(expect: &Expectations, observed: &Observed) -> Vec<Check> {
    let counts = &observed.counts;
    let removal_allowed = expect.removed_below_log_start != zero();
    let lost_in_flight = if removal_allowed {
        counts.lost.saturating_sub(counts.removed_below_log_start)
    } else {
        counts.lost
    };
    // A scenario that expects loss expects records that never show up; the drain then
    // accounts for them as lost instead of failing on its own.
    let loss_expected = (expect.lost != zero() && expect.lost.holds(lost_in_flight))
        || (removal_allowed
            && expect
                .removed_below_log_start
                .holds(counts.removed_below_log_start));
    // Where loss is expected, a condition that also fails on loss is reported, not judged.
    let unless_loss_expected = |limit: Limit| if loss_expected { Limit::Any } else { limit };
    let mut checks = vec![check(
        "drain",
        (
            format!(
                "every acknowledged record visible within {}s",
                observed.drain_timeout.as_secs()
            ),
            unless_loss_expected(Limit::Equals(Value::Bool(true))),
        ),
        (
            if observed.drained && counts.lost == 0 {
                "all visible".to_owned()
            } else if observed.drained {
                format!(
                    "all accounted for: {} proven gone (below their partition's log start, or passed by the reader)",
                    counts.lost
                )
            } else {
                format!("{} never seen", counts.lost)
            },
            Some(Value::Bool(observed.drained)),
        ),
        observed.drained || loss_expected,
    )];
    checks.push(lost_check(expect, counts, lost_in_flight));
    if removal_allowed || counts.removed_below_log_start > 0 {
        checks.push(count_check(
            "removed_below_log_start",
            expect.removed_below_log_start,
            counts.removed_below_log_start,
        ));
    }
    for (name, bound, actual) in [
        ("corrupted", expect.corrupted, counts.corrupted),
        ("duplicates", expect.duplicates, counts.duplicates),
        ("phantoms", expect.phantoms, counts.phantoms),
        (
            "offset_mismatches",
            expect.offset_mismatches,
            counts.offset_mismatches,
        ),
        (
            "order_violations",
            expect.order_violations,
            counts.order_violations,
        ),
    ] {
        checks.push(count_check(name, bound, actual));
    }
    if let Some(lakehouse) = &observed.lakehouse {
        checks.extend(lakehouse.bronze.checks(
            "lakehouse_bronze",
            [
                expect.lakehouse_bronze_missing,
                expect.lakehouse_bronze_duplicates,
                expect.lakehouse_bronze_corrupted,
            ],
        ));
        for (name, bound, actual) in [
            (
                "silver_missing",
                expect.silver_missing,
                lakehouse.silver_missing,
            ),
            (
                "silver_duplicates",
                expect.silver_duplicates,
                lakehouse.silver_duplicates,
            ),
            (
                "silver_unexpected",
                expect.silver_unexpected,
                lakehouse.silver_unexpected,
            ),
            ("dlq_missing", expect.dlq_missing, lakehouse.dlq_missing),
            (
                "dlq_duplicates",
                expect.dlq_duplicates,
                lakehouse.dlq_duplicates,
            ),
            (
                "dlq_unexpected",
                expect.dlq_unexpected,
                lakehouse.dlq_unexpected,
            ),
        ] {
            checks.push(count_check(name, bound, actual));
        }
        checks.push(gold_check(expect.gold_windows_wrong, lakehouse));
    }
    if let Some(schemas) = &observed.schemas {
        checks.extend(schema_checks(expect, schemas));
    }
    if let Some(bronze) = &observed.bronze {
        checks.extend(bronze.checks(
            "bronze",
            [
                expect.bronze_missing,
                expect.bronze_duplicates,
                expect.bronze_corrupted,
            ],
        ));
    }
    for (name, what, present, sent, missing) in [
        (
            "deliberate_duplicates_present",
            "deliberate duplicate",
            counts.deliberate_duplicates_present,
            counts.deliberate_duplicates_sent,
            counts.deliberate_duplicates_missing,
        ),
        (
            "invalid_present",
            "invalid record",
            counts.invalid_present,
            counts.invalid_sent,
            counts.invalid_missing,
        ),
    ] {
        checks.push(Check {
            note: Some(CheckNote::Present { present, sent }),
            ..check(
                name,
                (
                    format!("every acknowledged {what} present as sent"),
                    unless_loss_expected(Limit::AtMost(Value::Count(0))),
                ),
                (
                    format!("{present} of {sent} sent present, {missing} acknowledged missing"),
                    Some(Value::Count(missing)),
                ),
                missing == 0 || loss_expected,
            )
        });
    }
    if let (Some(fraction), Some(target)) = (expect.min_throughput, observed.target_eps) {
        let achieved = observed.achieved_eps / target;
        checks.push(Check {
            note: Some(CheckNote::Rates {
                measured_eps: observed.achieved_eps,
                reference_eps: target,
            }),
            ..check(
                "min_throughput",
                (
                    format!("≥ {:.0}% of {target:.0} events/s", fraction * 100.0),
                    Limit::AtLeast(Value::Fraction(fraction)),
                ),
                (
                    format!(
                        "{:.1}% ({:.0} events/s)",
                        achieved * 100.0,
                        observed.achieved_eps
                    ),
                    Some(Value::Fraction(achieved)),
                ),
                achieved >= fraction,
            )
        });
    }
    let e2e_p99 = observed.end_to_end.map(|l| l.p99_us);
    checks.extend(latency_check(
        "produce_p99",
        expect.produce_p99,
        Some(observed.produce.p99_us),
    ));
    checks.extend(latency_check(
        "produce_p999",
        expect.produce_p999,
        Some(observed.produce.p999_us),
    ));
    checks.extend(latency_check(
        "end_to_end_p99",
        expect.end_to_end_p99,
        e2e_p99,
    ));
    if let Some(limit) = expect.max_lag {
        let expected = (
            format!("≤ {limit} records"),
            Limit::AtMost(Value::Records(limit)),
        );
        checks.push(match observed.max_lag {
            Some(lag) => check(
                "max_lag",
                expected,
                (
                    format!("{lag} records"),
                    // A lag below 0 (offsets read a moment apart) is none.
                    Some(Value::Records(u64::try_from(lag).unwrap_or(0))),
                ),
                lag <= limit as i64,
            ),
            None => check("max_lag", expected, (NOT_MEASURED, None), false),
        });
    }
    if let Some(limit) = expect.lag_recovery {
        let expected = (
            format!(
                "lag 0 within {} after the load",
                humantime_serde::re::humantime::format_duration(limit)
            ),
            Limit::AtMost(Value::Seconds(limit.as_secs_f64())),
        );
        checks.push(match observed.lag_recovery {
            Some(Some(took)) => check(
                "lag_recovery",
                expected,
                (
                    format!("{:.1} s", took.as_secs_f64()),
                    Some(Value::Seconds(took.as_secs_f64())),
                ),
                took <= limit,
            ),
            Some(None) => check("lag_recovery", expected, ("never recovered", None), false),
            None => check("lag_recovery", expected, (NOT_MEASURED, None), false),
        });
    }
    if let Some(fraction) = expect.throughput_outside_faults {
        let expected = (
            format!(
                "≥ {:.0}% of the throughput before the first fault",
                fraction * 100.0
            ),
            Limit::AtLeast(Value::Fraction(fraction)),
        );
        checks.push(match observed.fault_throughput {
            Some((Some(before), Some(outside))) if before > 0.0 => Check {
                note: Some(CheckNote::Rates {
                    measured_eps: outside,
                    reference_eps: before,
                }),
                ..check(
                    "throughput_outside_faults",
                    expected,
                    (
                        format!(
                            "{:.1}% ({outside:.0} of {before:.0} events/s)",
                            outside / before * 100.0
                        ),
                        Some(Value::Fraction(outside / before)),
                    ),
                    outside / before >= fraction,
                )
            },
            _ => check(
                "throughput_outside_faults",
                expected,
                ("not measured (no fault-free seconds)", None),
                false,
            ),
        });
    }
    if let Some((healed, fired)) = observed.faults_healed {
        // Fault counts are small; a count beyond u64 cannot occur.
        let count = |faults: usize| Value::Count(u64::try_from(faults).unwrap_or(u64::MAX));
        checks.push(check(
            "faults_healed",
            (
                format!("all {fired} faults applied and healed before verification"),
                Limit::Equals(count(fired)),
            ),
            (format!("{healed} of {fired}"), Some(count(healed))),
            healed == fired,
        ));
    }
    let (kept_up, note) = &observed.generator;
    checks.push(check(
        "generator_kept_up",
        if expect.generator_kept_up {
            (
                "the generator offered the intended load",
                Limit::Equals(Value::Bool(true)),
            )
        } else {
            ("not required", Limit::Any)
        },
        (note, Some(Value::Bool(*kept_up))),
        *kept_up || !expect.generator_kept_up,
    ));
    checks
}

#[cfg(test)]
mod tests;
