//! Invariant 8 through the lakehouse: `gold.metrics` against windows recomputed from the
//! ground truth.
//!
//! The gold job (`platform/pipeline/gold.sql`) aggregates silver into event-time tumbling
//! windows per `(event_type, metric_name)`. This module recomputes those windows without the
//! platform: the event bodies are replayed with the generator's own [`EventFactory`] (the
//! same seed, load spec, run salt and task split, called for every send of every task in
//! ledger order, so its random draws stay in step), and silver's derivation is applied to
//! them:
//!
//! - `metric_event` → `payload.metric_name`, value `payload.metric_value`;
//! - `transaction` → `amount.<currency>`, value `payload.amount`;
//! - every other type → `events`, no value;
//! - event time: `event_timestamp` at millisecond precision.
//!
//! Which events count is silver's rule, as [`crate::pipeline::expected_silver`] has it: every
//! non-invalid send present in raw contributes its event (a deliberate duplicate its
//! original's), each event once.
//!
//! Why replay and not read raw or bronze: the replay depends on nothing the platform wrote,
//! so a value corrupted anywhere along raw → bronze → silver → gold shows up here. The event
//! bodies do not depend on the send time (the factory's random draws never look at it); only
//! the event timestamp does, so the replay needs each send's intended time: for an open-loop
//! run it follows from the run clock's start and the rate ([`SendTimes::OpenLoop`]); a
//! closed-loop run (`rate: max`) sends "now", which only the records' headers remember
//! ([`SendTimes::Recorded`]).
//!
//! Late events (the generator's deliberately old timestamps) are kept apart from the on-time
//! aggregates: Flink drops an event whose window already fired, but admits one whose window
//! is still open (e.g. late events in the first silver snapshot gold reads, before any
//! watermark). A gold row that equals the on-time aggregate is a match; one that equals it
//! plus some of the window's late events is counted as `windows_late_admitted`, not as a
//! mismatch.
//!
//! Only closed windows are compared: the latest window end in gold is the horizon; every
//! recomputed window ending at or before it must be in gold, later ones may still be open.
//! A gold job stopped with a final watermark (`Closed::Every`) has closed every window.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chrono::{DateTime, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use streamproof_loadgen::driver::Schedule;
use streamproof_loadgen::generator::{EventFactory, FactoryError};
use streamproof_loadgen::ledger::{Ledger, RecordMeta, SendId, SendKind};
use streamproof_loadgen::spec::{LoadSpec, Rate};
use streamproof_platform::events::EventType;

use crate::kafka::MAX_EXAMPLES;
use crate::lakehouse::{Decimal, GoldRow};

/// Digits after the point of gold's `value_sum_dec` (`DECIMAL(38, 9)`) and of every exact
/// value here.
pub const SCALE: i8 = 9;

/// Relative tolerance of the floating-point columns (`value_avg`, `value_sum`, `value_min`,
/// `value_max`); `event_count`, `value_count` and `value_sum_dec` compare exactly.
pub const RELATIVE_TOLERANCE: f64 = 1e-9;

/// One silver event, as gold sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoldInput {
    /// The send that first carried the event.
    pub send: SendId,
    /// Its type.
    pub event_type: EventType,
    /// Silver's `metric_name`.
    pub metric_name: String,
    /// Silver's `metric_value_dec`, unscaled at [`SCALE`] (`None` for types without a value).
    pub value: Option<i128>,
    /// Silver's `event_ts`: µs since the epoch, at millisecond precision.
    pub event_time_us: i64,
    /// Whether the generator made its timestamp deliberately old.
    pub late: bool,
}

/// A gold window: its start and group.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct WindowKey {
    /// Window start, µs since the epoch.
    pub window_start_us: i64,
    /// The event type.
    pub event_type: String,
    /// The metric name.
    pub metric_name: String,
}

/// Exact aggregates of a set of events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Events.
    pub event_count: u64,
    /// Of those, with a value.
    pub value_count: u64,
    /// Sum of the values, unscaled at [`SCALE`].
    pub value_sum: i128,
    /// Smallest value, unscaled at [`SCALE`].
    pub value_min: Option<i128>,
    /// Largest value, unscaled at [`SCALE`].
    pub value_max: Option<i128>,
}

impl Totals {
    fn add(&mut self, value: Option<i128>) {
        self.event_count += 1;
        if let Some(value) = value {
            self.value_count += 1;
            self.value_sum += value;
            self.value_min = Some(self.value_min.map_or(value, |m| m.min(value)));
            self.value_max = Some(self.value_max.map_or(value, |m| m.max(value)));
        }
    }

    fn merged(&self, other: &Totals) -> Totals {
        let pick = |a: Option<i128>, b: Option<i128>, f: fn(i128, i128) -> i128| match (a, b) {
            (Some(a), Some(b)) => Some(f(a, b)),
            (a, b) => a.or(b),
        };
        Totals {
            event_count: self.event_count + other.event_count,
            value_count: self.value_count + other.value_count,
            value_sum: self.value_sum + other.value_sum,
            value_min: pick(self.value_min, other.value_min, i128::min),
            value_max: pick(self.value_max, other.value_max, i128::max),
        }
    }

    /// The mean of the values.
    pub fn value_avg(&self) -> Option<f64> {
        (self.value_count > 0).then(|| to_f64(self.value_sum) / self.value_count as f64)
    }
}

/// One recomputed window: what gold must hold for it, and the late events kept out of that.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowAggregate {
    /// Window end (exclusive), µs since the epoch.
    pub window_end_us: i64,
    /// Aggregates of the on-time events: what gold must hold.
    pub on_time: Totals,
    /// Aggregates of the late events: excluded, but a gold row may include some of them.
    pub late: Totals,
}

/// The window gold uses for `window`: `gold.sql` is rendered with whole seconds, at least one
/// (see `PipelineSettings`), so a sub-second part is dropped as there.
pub fn pipeline_window_us(window: Duration) -> i64 {
    window.as_secs().max(1) as i64 * 1_000_000
}

/// Recomputes gold's windows from silver's events: `TUMBLE(rowtime, window)` per
/// `(event_type, metric_name)`, epoch-aligned (the pipeline runs in UTC). Late events go to
/// [`WindowAggregate::late`], the rest to [`WindowAggregate::on_time`].
pub fn recompute_windows(
    events: impl IntoIterator<Item = GoldInput>,
    window: Duration,
) -> BTreeMap<WindowKey, WindowAggregate> {
    let size = pipeline_window_us(window);
    // Group by window and type first, so the key's strings are built once per group.
    let mut groups: HashMap<(i64, EventType, String), WindowAggregate> = HashMap::new();
    for event in events {
        let start = event.event_time_us.div_euclid(size) * size;
        let aggregate = groups
            .entry((start, event.event_type, event.metric_name))
            .or_insert_with(|| WindowAggregate {
                window_end_us: start + size,
                ..WindowAggregate::default()
            });
        if event.late {
            aggregate.late.add(event.value);
        } else {
            aggregate.on_time.add(event.value);
        }
    }
    groups
        .into_iter()
        .map(|((start, event_type, metric_name), aggregate)| {
            (
                WindowKey {
                    window_start_us: start,
                    event_type: event_type.as_str().to_owned(),
                    metric_name,
                },
                aggregate,
            )
        })
        .collect()
}

/// Late events in a recomputation (all excluded from the on-time aggregates).
pub fn late_excluded(windows: &BTreeMap<WindowKey, WindowAggregate>) -> u64 {
    windows.values().map(|w| w.late.event_count).sum()
}

/// What the gold check found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GoldFindings {
    /// Rows read from `gold.metrics`.
    pub gold_rows: u64,
    /// On-time events recomputed (each valid event present in raw, once).
    pub events_recomputed: u64,
    /// Late events left out of the on-time aggregates.
    pub late_excluded: u64,
    /// Late events gold shows as admitted (in `windows_late_admitted`).
    pub late_admitted: u64,
    /// Recomputed windows with on-time events.
    pub windows_expected: u64,
    /// Latest window end in gold, µs since the epoch: windows ending later may still be open.
    pub horizon_end_us: Option<i64>,
    /// Recomputed windows ending after the horizon: not compared.
    pub windows_open: u64,
    /// Closed windows compared: matching + mismatched + missing + unexpected + late admitted.
    pub windows_checked: u64,
    /// Gold rows equal to the recomputation.
    pub windows_matching: u64,
    /// Gold rows that differ from it.
    pub windows_mismatched: u64,
    /// Recomputed closed windows with no gold row.
    pub windows_missing: u64,
    /// Gold rows for windows with no event at all.
    pub windows_unexpected: u64,
    /// Gold rows equal to the on-time aggregate plus some or all of the window's late events.
    pub windows_late_admitted: u64,
    /// Extra gold rows for a window (beyond the first).
    pub windows_duplicated: u64,
    /// Sends whose replay did not match their ledger entry (kind, topic, late flag or
    /// duplicate origin): the replay was not given the run's seed or load, and nothing above
    /// can be trusted.
    pub replay_mismatches: u64,
    /// Events that count but whose send time is not known (closed loop, no record with it).
    pub untimed: u64,
    /// Replayed events silver's derivation could not read.
    pub unparsable: u64,
    /// Up to ten descriptions per anomaly (`mismatched`, `missing`, `unexpected`,
    /// `late_admitted`, `duplicated`, `replay_mismatches`, `untimed`, `unparsable`).
    pub examples: BTreeMap<String, Vec<String>>,
}

impl GoldFindings {
    /// Whether gold holds exactly the recomputation for every closed window, and the
    /// recomputation itself is sound.
    pub fn is_clean(&self) -> bool {
        self.windows_mismatched == 0
            && self.windows_missing == 0
            && self.windows_unexpected == 0
            && self.windows_duplicated == 0
            && self.replay_mismatches == 0
            && self.untimed == 0
            && self.unparsable == 0
    }

    fn example(&mut self, anomaly: &str, text: impl FnOnce() -> String) {
        let examples = self.examples.entry(anomaly.to_owned()).or_default();
        if examples.len() < MAX_EXAMPLES {
            examples.push(text());
        }
    }

    /// Adds what a replay counted.
    pub fn add_replay(&mut self, stats: &ReplayStats) {
        self.replay_mismatches += stats.replay_mismatches;
        self.untimed += stats.untimed;
        self.unparsable += stats.unparsable;
        for (anomaly, texts) in &stats.examples {
            for text in texts {
                self.example(anomaly, || text.clone());
            }
        }
    }
}

/// Which of gold's windows have closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// Those ending at or before the latest window end in gold (the job still runs).
    ThroughLatestRow,
    /// Every one: the job was stopped with a final watermark that fired them all.
    Every,
}

/// Compares `gold.metrics` with the recomputation, closed windows only (see the module).
pub fn check_gold(
    expected: &BTreeMap<WindowKey, WindowAggregate>,
    gold: &[GoldRow],
) -> GoldFindings {
    check_gold_closed(expected, gold, Closed::ThroughLatestRow)
}

/// [`check_gold`] with the closed windows stated.
pub fn check_gold_closed(
    expected: &BTreeMap<WindowKey, WindowAggregate>,
    gold: &[GoldRow],
    closed: Closed,
) -> GoldFindings {
    let mut findings = GoldFindings {
        gold_rows: gold.len() as u64,
        events_recomputed: expected.values().map(|w| w.on_time.event_count).sum(),
        late_excluded: late_excluded(expected),
        windows_expected: expected
            .values()
            .filter(|w| w.on_time.event_count > 0)
            .count() as u64,
        ..GoldFindings::default()
    };
    let horizon = gold.iter().map(|row| row.window_end_us).max();
    findings.horizon_end_us = horizon;
    let mut rows: BTreeMap<WindowKey, Vec<&GoldRow>> = BTreeMap::new();
    for row in gold {
        let key = WindowKey {
            window_start_us: row.window_start_us,
            event_type: row.event_type.clone(),
            metric_name: row.metric_name.clone(),
        };
        rows.entry(key).or_default().push(row);
    }
    for (key, window_rows) in &rows {
        if window_rows.len() > 1 {
            findings.windows_duplicated += window_rows.len() as u64 - 1;
            findings.example("duplicated", || {
                format!("{} gold rows for {}", window_rows.len(), describe_key(key))
            });
        }
        let aggregate = expected.get(key).copied().unwrap_or_default();
        findings.windows_checked += 1;
        let verdicts: Vec<Verdict> = window_rows
            .iter()
            .map(|row| judge(&aggregate, row))
            .collect();
        let worst = verdicts
            .iter()
            .max_by_key(|v| v.rank())
            .cloned()
            .unwrap_or(Verdict::Match);
        match worst {
            Verdict::Match => findings.windows_matching += 1,
            Verdict::LateAdmitted { events, all } => {
                findings.windows_late_admitted += 1;
                findings.late_admitted += events;
                findings.example("late_admitted", || {
                    format!(
                        "{}: {} of {} late events admitted{}",
                        describe_key(key),
                        events,
                        aggregate.late.event_count,
                        if all {
                            ""
                        } else {
                            " (consistent counts and sum)"
                        }
                    )
                });
            }
            Verdict::Unexpected => {
                findings.windows_unexpected += 1;
                findings.example("unexpected", || {
                    format!(
                        "{}: no event expected; gold {}",
                        describe_key(key),
                        describe_row(window_rows[0])
                    )
                });
            }
            Verdict::Mismatch(differs) => {
                findings.windows_mismatched += 1;
                findings.example("mismatched", || {
                    format!(
                        "{}: expected {}; gold {} (differs: {})",
                        describe_key(key),
                        describe_totals(&aggregate.on_time),
                        describe_row(window_rows[0]),
                        differs.join(", ")
                    )
                });
            }
        }
    }
    for (key, aggregate) in expected {
        if aggregate.on_time.event_count == 0 || rows.contains_key(key) {
            continue;
        }
        if closed == Closed::Every || horizon.is_some_and(|end| aggregate.window_end_us <= end) {
            findings.windows_checked += 1;
            findings.windows_missing += 1;
            findings.example("missing", || {
                format!(
                    "{}: expected {}; no gold row",
                    describe_key(key),
                    describe_totals(&aggregate.on_time)
                )
            });
        } else {
            findings.windows_open += 1;
        }
    }
    findings
}

#[derive(Debug, Clone)]
enum Verdict {
    Match,
    LateAdmitted { events: u64, all: bool },
    Unexpected,
    Mismatch(Vec<&'static str>),
}

impl Verdict {
    fn rank(&self) -> u8 {
        match self {
            Verdict::Match => 0,
            Verdict::LateAdmitted { .. } => 1,
            Verdict::Unexpected => 2,
            Verdict::Mismatch(_) => 3,
        }
    }
}

fn judge(aggregate: &WindowAggregate, row: &GoldRow) -> Verdict {
    let differs = differences(&aggregate.on_time, row);
    // an unexpected window has no recomputed end
    let end_ok = aggregate.window_end_us == 0 || row.window_end_us == aggregate.window_end_us;
    if differs.is_empty() && end_ok && aggregate.on_time.event_count > 0 {
        return Verdict::Match;
    }
    let late = &aggregate.late;
    if late.event_count > 0 && end_ok {
        if differences(&aggregate.on_time.merged(late), row).is_empty() {
            return Verdict::LateAdmitted {
                events: late.event_count,
                all: true,
            };
        }
        if let Some(events) = some_late_admitted(&aggregate.on_time, late, row) {
            return Verdict::LateAdmitted { events, all: false };
        }
    }
    if aggregate.on_time.event_count == 0 && late.event_count == 0 {
        return Verdict::Unexpected;
    }
    let mut differs = differs;
    if !end_ok {
        differs.insert(0, "window_end");
    }
    if differs.is_empty() {
        // No on-time event, only late ones, and gold holds none of them: nothing to hold.
        differs.push("event_count");
    }
    Verdict::Mismatch(differs)
}

/// Whether `row` can be `on_time` plus some (not all, not none) of the window's late events:
/// counts within bounds and the extra sum between `k · late min` and `k · late max` for the
/// `k` extra values. Necessary conditions only; returns the late events admitted.
fn some_late_admitted(on_time: &Totals, late: &Totals, row: &GoldRow) -> Option<u64> {
    let events = u64::try_from(row.event_count)
        .ok()?
        .checked_sub(on_time.event_count)?;
    let values = u64::try_from(row.value_count)
        .ok()?
        .checked_sub(on_time.value_count)?;
    let valueless = events.checked_sub(values)?;
    if events == 0 || values > late.value_count || valueless > late.event_count - late.value_count {
        return None;
    }
    let gold_sum = match row.value_sum_dec {
        Some(sum) => rescale(sum)?,
        None if row.value_count == 0 => 0,
        None => return None,
    };
    let extra = gold_sum - on_time.value_sum;
    let k = i128::from(values);
    let fits = match (late.value_min, late.value_max) {
        _ if values == 0 => extra == 0,
        (Some(min), Some(max)) => k * min <= extra && extra <= k * max,
        _ => false,
    };
    fits.then_some(events)
}

/// The columns of `row` that differ from `totals`.
fn differences(totals: &Totals, row: &GoldRow) -> Vec<&'static str> {
    let mut differs = Vec::new();
    if row.event_count < 0 || row.event_count as u64 != totals.event_count {
        differs.push("event_count");
    }
    if row.value_count < 0 || row.value_count as u64 != totals.value_count {
        differs.push("value_count");
    }
    let with_values = totals.value_count > 0;
    let sum_dec_ok = match row.value_sum_dec {
        Some(sum) => with_values && rescale(sum) == Some(totals.value_sum),
        None => !with_values,
    };
    if !sum_dec_ok {
        differs.push("value_sum_dec");
    }
    let float =
        |name: &'static str, actual: Option<f64>, expected: Option<f64>| match (actual, expected) {
            (None, None) => None,
            (Some(a), Some(e)) if close(a, e) => None,
            _ => Some(name),
        };
    let sum = with_values.then(|| to_f64(totals.value_sum));
    differs.extend(float("value_sum", row.value_sum, sum));
    differs.extend(float("value_avg", row.value_avg, totals.value_avg()));
    differs.extend(float(
        "value_min",
        row.value_min,
        totals.value_min.map(to_f64),
    ));
    differs.extend(float(
        "value_max",
        row.value_max,
        totals.value_max.map(to_f64),
    ));
    differs
}

/// Within [`RELATIVE_TOLERANCE`] (plus one unit at [`SCALE`], for sums that cancel to zero).
fn close(actual: f64, expected: f64) -> bool {
    (actual - expected).abs() <= RELATIVE_TOLERANCE * expected.abs().max(actual.abs()) + 1e-9
}

/// `decimal` unscaled at [`SCALE`], when exact.
fn rescale(decimal: Decimal) -> Option<i128> {
    let shift = i32::from(SCALE) - i32::from(decimal.scale);
    if shift >= 0 {
        decimal
            .unscaled
            .checked_mul(10i128.checked_pow(shift as u32)?)
    } else {
        let divisor = 10i128.checked_pow(shift.unsigned_abs())?;
        (decimal.unscaled % divisor == 0).then(|| decimal.unscaled / divisor)
    }
}

fn decimal_text(unscaled: i128) -> String {
    Decimal {
        unscaled,
        scale: SCALE,
    }
    .to_string()
}

/// The nearest double (through the exact text, so it is correctly rounded).
fn to_f64(unscaled: i128) -> f64 {
    decimal_text(unscaled).parse().unwrap_or(f64::NAN)
}

fn describe_key(key: &WindowKey) -> String {
    format!(
        "window {} {}/{}",
        format_us(key.window_start_us),
        key.event_type,
        key.metric_name
    )
}

fn describe_totals(totals: &Totals) -> String {
    let avg = totals
        .value_avg()
        .map_or_else(|| "null".to_owned(), |a| a.to_string());
    let sum = if totals.value_count > 0 {
        decimal_text(totals.value_sum)
    } else {
        "null".to_owned()
    };
    format!(
        "events {}, values {}, sum {sum}, avg {avg}",
        totals.event_count, totals.value_count
    )
}

fn describe_row(row: &GoldRow) -> String {
    let text = |v: Option<f64>| v.map_or_else(|| "null".to_owned(), |v| v.to_string());
    format!(
        "events {}, values {}, sum {}, avg {}, end {}",
        row.event_count,
        row.value_count,
        row.value_sum_dec
            .map_or_else(|| "null".to_owned(), |d| d.to_string()),
        text(row.value_avg),
        format_us(row.window_end_us)
    )
}

// ---------------------------------------------------------------------------------------
// Silver's derivation of one event body.

#[derive(Deserialize)]
struct Body {
    event_type: Option<Value>,
    event_timestamp: Option<Value>,
    payload: Option<Map<String, Value>>,
}

/// Applies silver's derivation (`silver.sql`) to the body of a valid event: its type, metric
/// name, exact value (`DECIMAL(38, 9)`, half-up beyond 9 digits) and event time
/// (milliseconds, extra digits truncated). Not a validator: it only refuses bodies it cannot
/// derive these from. Numbers are read as the JSON text serde_json writes for them, which is
/// the generator's own text.
pub fn gold_input_from_body(send: SendId, body: &[u8], late: bool) -> Result<GoldInput, String> {
    let body: Body =
        serde_json::from_slice(body).map_err(|e| format!("not a JSON event object: {e}"))?;
    let event_type: EventType = body
        .event_type
        .and_then(|t| serde_json::from_value(t).ok())
        .ok_or("event_type: not a known type")?;
    let stamp = match &body.event_timestamp {
        Some(Value::String(stamp)) => stamp.as_str(),
        _ => return Err("event_timestamp: not a string".to_owned()),
    };
    let event_time_us = parse_event_time_us(stamp)
        .ok_or_else(|| format!("event_timestamp: `{stamp}` is not an ISO 8601 UTC timestamp"))?;
    let payload = body.payload.ok_or("payload: not an object")?;
    let scalar = |field: &str| match payload.get(field) {
        Some(Value::String(text)) => Some(text.clone()),
        Some(Value::Null) | None => None,
        Some(other) => Some(other.to_string()),
    };
    let number = |field: &str| match payload.get(field) {
        Some(Value::Number(number)) => parse_decimal(&number.to_string())
            .ok_or_else(|| format!("payload.{field}: `{number}` overflows DECIMAL(38, 9)")),
        _ => Err(format!("payload.{field}: not a number")),
    };
    let (metric_name, value) = match event_type {
        EventType::MetricEvent => (
            scalar("metric_name").ok_or("payload.metric_name: missing")?,
            Some(number("metric_value")?),
        ),
        EventType::Transaction => (
            format!(
                "amount.{}",
                scalar("currency").ok_or("payload.currency: missing")?
            ),
            Some(number("amount")?),
        ),
        _ => ("events".to_owned(), None),
    };
    Ok(GoldInput {
        send,
        event_type,
        metric_name,
        value,
        event_time_us,
        late,
    })
}

/// A decimal text (optional sign, digits, fraction, exponent) unscaled at [`SCALE`], rounded
/// half-up as `CAST(… AS DECIMAL(38, 9))`; `None` when it is not a number or exceeds 38
/// digits.
pub fn parse_decimal(text: &str) -> Option<i128> {
    let (negative, rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(at) => (&rest[..at], rest[at + 1..].parse::<i32>().ok()?),
        None => (rest, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let digits = format!("{int}{frac}");
    let digits = digits.trim_start_matches('0');
    let shift = exponent.checked_sub(frac.len() as i32)?.checked_add(9)?;
    let value = if shift >= 0 {
        if digits.len() + shift as usize > 38 {
            return (digits.is_empty()).then_some(0);
        }
        digits.parse::<i128>().unwrap_or(0) * 10i128.pow(shift as u32)
    } else {
        let cut = shift.unsigned_abs() as usize;
        if cut > digits.len() {
            // below a tenth of the last kept place: rounds to zero
            0
        } else {
            let (kept, dropped) = digits.split_at(digits.len() - cut);
            if kept.len() > 38 {
                return None;
            }
            let kept = if kept.is_empty() {
                0
            } else {
                kept.parse::<i128>().ok()?
            };
            kept + i128::from(dropped.as_bytes().first() >= Some(&b'5'))
        }
    };
    if value >= 10i128.pow(38) {
        return None;
    }
    Some(if negative { -value } else { value })
}

/// An event timestamp as silver accepts it (`YYYY-MM-DDTHH:MM:SS[.f{1,9}]` with `Z`,
/// `+00:00` or `-00:00`, a real date) → µs since the epoch at millisecond precision.
pub fn parse_event_time_us(stamp: &str) -> Option<i64> {
    if !stamp.is_ascii() {
        return None;
    }
    let (body, zone_ok) = if let Some(body) = stamp.strip_suffix('Z') {
        (body, true)
    } else if stamp.len() > 6 {
        let (body, zone) = stamp.split_at(stamp.len() - 6);
        (body, zone == "+00:00" || zone == "-00:00")
    } else {
        (stamp, false)
    };
    let bytes = body.as_bytes();
    if !zone_ok || bytes.len() < 19 {
        return None;
    }
    let shape = bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes[10] == b'T'
        && bytes[13] == b':'
        && bytes[16] == b':';
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let text = &body[range];
        text.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| text.parse().ok())
            .flatten()
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    let millis = match &body[19..] {
        "" => 0,
        fraction => {
            let digits = fraction.strip_prefix('.')?;
            if !(1..=9).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            format!("{:0<3}", &digits[..digits.len().min(3)])
                .parse::<u32>()
                .ok()?
        }
    };
    if !shape {
        return None;
    }
    let at = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month as u32, day as u32)?
        .and_hms_milli_opt(hour as u32, minute as u32, second as u32, millis)?;
    // chrono takes a leap second (second 60); silver does not.
    (second < 60).then(|| at.and_utc().timestamp_micros())
}

/// µs since the epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn format_us(us: i64) -> String {
    DateTime::from_timestamp_micros(us)
        .map(|at| at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_else(|| format!("{us} µs since the epoch"))
}

// ---------------------------------------------------------------------------------------
// Replaying the run's events.

/// Each send's intended time, which the event timestamp is made from.
#[derive(Debug, Clone, Copy)]
pub enum SendTimes<'a> {
    /// An open-loop run (`rate: <n>`): the schedule follows from the run clock's start
    /// (`LoadOutcome::clock.start_unix_us`) and the load's rate and producer count.
    OpenLoop {
        /// `RunClock::start_unix_us` of the run.
        start_unix_us: i64,
    },
    /// Times read from the records' `streamproof.intended_us` headers (a closed-loop run).
    Recorded(&'a IntendedTimes),
}

/// Intended send times read from record headers, by send.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IntendedTimes {
    tasks: Vec<Vec<Option<i64>>>,
}

impl IntendedTimes {
    /// Room for every send of `ledger`.
    pub fn new(ledger: &Ledger) -> Self {
        IntendedTimes {
            tasks: (0..ledger.tasks())
                .map(|t| vec![None; ledger.task_len(t)])
                .collect(),
        }
    }

    /// Notes a record's headers (records of other runs must be filtered out before).
    pub fn observe(&mut self, meta: &RecordMeta) {
        if let Some(slot) = self
            .tasks
            .get_mut(meta.send_id.task())
            .and_then(|t| t.get_mut(meta.send_id.index()))
        {
            *slot = Some(meta.intended_us);
        }
    }

    /// The intended time of a send, if a record of it was seen.
    pub fn get(&self, send: SendId) -> Option<i64> {
        *self.tasks.get(send.task())?.get(send.index())?
    }
}

/// The intended send time of send `index` of task `task` in an open-loop run, in wall-clock
/// µs: the run clock's start plus the generator's own schedule ([`Schedule::offset_of`]).
pub fn open_loop_intended_us(
    start_unix_us: i64,
    rate: f64,
    tasks: usize,
    task: usize,
    index: usize,
) -> i64 {
    let offset = Schedule::open(rate, tasks, task)
        .offset_of(index)
        .unwrap_or_default();
    start_unix_us + offset.as_micros() as i64
}

/// Everything the replay needs besides the ledger.
#[derive(Debug, Clone, Copy)]
pub struct GoldReplay<'a> {
    /// The scenario's `load:` section, as the run used it.
    pub load: &'a LoadSpec,
    /// The scenario seed (`LoadPlan::seed`).
    pub seed: u64,
    /// The run id (salts the event ids).
    pub run_id: &'a str,
    /// Where the send times come from.
    pub times: SendTimes<'a>,
}

/// Why the replay cannot start.
#[derive(Debug, thiserror::Error)]
pub enum GoldError {
    /// The load spec cannot be generated.
    #[error(transparent)]
    Factory(#[from] FactoryError),
    /// A closed loop sends "now": its times are only in the records.
    #[error("a closed-loop run (`rate: max`) needs the recorded send times (SendTimes::Recorded)")]
    ClosedLoopTimes,
    /// The ledger was not made with this load.
    #[error("the ledger has {ledger} producer tasks, the load {load}")]
    Tasks {
        /// Tasks in the ledger.
        ledger: usize,
        /// `load.producers`.
        load: usize,
    },
}

/// What a replay counted besides the events it yielded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayStats {
    /// Sends replayed (all of them, in ledger order).
    pub sends: u64,
    /// Events yielded (late ones included).
    pub events: u64,
    /// Of those, late.
    pub late: u64,
    /// Sends whose replay disagreed with the ledger.
    pub replay_mismatches: u64,
    /// Events that count but have no known send time.
    pub untimed: u64,
    /// Events silver's derivation could not read.
    pub unparsable: u64,
    /// Up to ten descriptions per kind.
    pub examples: BTreeMap<String, Vec<String>>,
}

impl ReplayStats {
    fn example(&mut self, kind: &str, text: impl FnOnce() -> String) {
        let examples = self.examples.entry(kind.to_owned()).or_default();
        if examples.len() < MAX_EXAMPLES {
            examples.push(text());
        }
    }
}

/// The events silver must hold, replayed: each valid event present in raw once, as a
/// [`GoldInput`], task by task in send order. Read [`GoldInputs::stats`] when done.
pub struct GoldInputs<'a> {
    ledger: &'a Ledger,
    times: Times<'a>,
    factories: Vec<EventFactory>,
    counts: Vec<Vec<bool>>,
    task: usize,
    index: usize,
    stats: ReplayStats,
}

enum Times<'a> {
    Open {
        start_unix_us: i64,
        rate: f64,
        tasks: usize,
    },
    Recorded(&'a IntendedTimes),
}

impl<'a> GoldInputs<'a> {
    /// A replay of the run's events. `raw_copies` are the copies of each send found in the
    /// raw topics (`KafkaFindings::copies`).
    pub fn new(
        replay: &GoldReplay<'a>,
        ledger: &'a Ledger,
        raw_copies: &[Vec<u8>],
    ) -> Result<Self, GoldError> {
        let tasks = replay.load.producers;
        if ledger.tasks() != tasks && !ledger.is_empty() {
            return Err(GoldError::Tasks {
                ledger: ledger.tasks(),
                load: tasks,
            });
        }
        let times = match (replay.times, replay.load.rate) {
            (SendTimes::Recorded(recorded), _) => Times::Recorded(recorded),
            (SendTimes::OpenLoop { start_unix_us }, Rate::PerSecond(rate)) => Times::Open {
                start_unix_us,
                rate,
                tasks,
            },
            (SendTimes::OpenLoop { .. }, Rate::Max) => return Err(GoldError::ClosedLoopTimes),
        };
        let salt = streamproof_loadgen::id_salt(replay.run_id);
        let factories = (0..ledger.tasks())
            .map(|task| EventFactory::new(replay.load, replay.seed, salt, task, tasks))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(GoldInputs {
            ledger,
            times,
            factories,
            counts: counted_events(ledger, raw_copies),
            task: 0,
            index: 0,
            stats: ReplayStats::default(),
        })
    }

    /// What the replay counted so far.
    pub fn stats(&self) -> &ReplayStats {
        &self.stats
    }

    fn intended_us(&self, send: SendId) -> Option<i64> {
        match self.times {
            Times::Open {
                start_unix_us,
                rate,
                tasks,
            } => Some(open_loop_intended_us(
                start_unix_us,
                rate,
                tasks,
                send.task(),
                send.index(),
            )),
            Times::Recorded(recorded) => recorded.get(send),
        }
    }
}

/// Which sends' events silver holds, by task and index: the origin of every non-invalid send
/// present in raw (as [`crate::pipeline::expected_silver`]).
fn counted_events(ledger: &Ledger, raw_copies: &[Vec<u8>]) -> Vec<Vec<bool>> {
    let mut counted: Vec<Vec<bool>> = (0..ledger.tasks())
        .map(|t| vec![false; ledger.task_len(t)])
        .collect();
    for (id, entry) in ledger.iter() {
        let present = raw_copies
            .get(id.task())
            .and_then(|t| t.get(id.index()))
            .is_some_and(|c| *c > 0);
        if present && entry.kind() != SendKind::Invalid {
            let origin = ledger.event_send(id);
            if let Some(slot) = counted
                .get_mut(origin.task())
                .and_then(|t| t.get_mut(origin.index()))
            {
                *slot = true;
            }
        }
    }
    counted
}

impl Iterator for GoldInputs<'_> {
    type Item = GoldInput;

    fn next(&mut self) -> Option<GoldInput> {
        loop {
            if self.task >= self.factories.len() {
                return None;
            }
            if self.index >= self.ledger.task_len(self.task) {
                self.task += 1;
                self.index = 0;
                continue;
            }
            let send = SendId::new(self.task, self.index);
            self.index += 1;
            self.stats.sends += 1;
            let counts = self.counts[send.task()][send.index()];
            let intended = self.intended_us(send);
            // The factory's draws do not depend on the time: any time keeps it in step.
            let planned =
                self.factories[send.task()].next_at_us(send.index(), intended.unwrap_or(0));
            if let Some(entry) = self.ledger.get(send) {
                let same = planned.kind == entry.kind()
                    && planned.topic == entry.topic()
                    && planned.late == entry.late()
                    && planned.origin_back == entry.origin_back();
                if !same {
                    self.stats.replay_mismatches += 1;
                    self.stats.example("replay_mismatches", || {
                        format!(
                            "send {} (task {}, index {}): replayed {:?} topic {} late {} back {}, ledger {:?} topic {} late {} back {}",
                            send.0, send.task(), send.index(),
                            planned.kind, planned.topic, planned.late, planned.origin_back,
                            entry.kind(), entry.topic(), entry.late(), entry.origin_back()
                        )
                    });
                }
            }
            if !counts {
                continue;
            }
            if intended.is_none() {
                self.stats.untimed += 1;
                self.stats.example("untimed", || {
                    format!(
                        "send {} (task {}, index {}): no record with its send time",
                        send.0,
                        send.task(),
                        send.index()
                    )
                });
                continue;
            }
            match gold_input_from_body(send, &planned.body, planned.late) {
                Ok(input) => {
                    self.stats.events += 1;
                    self.stats.late += u64::from(input.late);
                    return Some(input);
                }
                Err(reason) => {
                    self.stats.unparsable += 1;
                    self.stats
                        .example("unparsable", || format!("send {}: {reason}", send.0));
                }
            }
        }
    }
}

/// The whole gold check: replays the run's events, recomputes the windows of gold's
/// `window` (the pipeline's `window` setting) and compares `gold` (`Warehouse::read_gold`)
/// with them.
pub fn verify_gold(
    replay: &GoldReplay<'_>,
    ledger: &Ledger,
    raw_copies: &[Vec<u8>],
    window: Duration,
    gold: &[GoldRow],
    closed: Closed,
) -> Result<GoldFindings, GoldError> {
    let mut inputs = GoldInputs::new(replay, ledger, raw_copies)?;
    let expected = recompute_windows(&mut inputs, window);
    let mut findings = check_gold_closed(&expected, gold, closed);
    findings.add_replay(inputs.stats());
    Ok(findings)
}

/// The gold row Flink writes for a recomputed window of on-time events.
pub fn expected_row(key: &WindowKey, aggregate: &WindowAggregate) -> GoldRow {
    let totals = &aggregate.on_time;
    let with_values = totals.value_count > 0;
    GoldRow {
        window_start_us: key.window_start_us,
        window_end_us: aggregate.window_end_us,
        event_type: key.event_type.clone(),
        metric_name: key.metric_name.clone(),
        event_count: totals.event_count as i64,
        value_count: totals.value_count as i64,
        value_sum: with_values.then(|| to_f64(totals.value_sum)),
        value_sum_dec: with_values.then_some(Decimal {
            unscaled: totals.value_sum,
            scale: SCALE,
        }),
        value_avg: totals.value_avg(),
        value_min: totals.value_min.map(to_f64),
        value_max: totals.value_max.map(to_f64),
        computed_at_us: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000_000_000; // 2023-11-14T22:13:20Z, on a 10 s boundary
    const W: Duration = Duration::from_secs(10);

    fn input(
        send: u64,
        event_type: EventType,
        metric: &str,
        value: Option<&str>,
        offset_ms: i64,
    ) -> GoldInput {
        GoldInput {
            send: SendId(send),
            event_type,
            metric_name: metric.to_owned(),
            value: value.map(|v| parse_decimal(v).unwrap()),
            event_time_us: T0 + offset_ms * 1_000,
            late: false,
        }
    }

    fn hand_made() -> Vec<GoldInput> {
        vec![
            input(1, EventType::MetricEvent, "metric-1", Some("12.34"), 0),
            input(2, EventType::MetricEvent, "metric-1", Some("0.01"), 9_999),
            input(
                3,
                EventType::MetricEvent,
                "metric-1",
                Some("999.99"),
                10_000,
            ),
            input(4, EventType::Transaction, "amount.USD", Some("0.1"), 1_000),
            input(5, EventType::Transaction, "amount.USD", Some("0.2"), 2_000),
            input(6, EventType::UserAction, "events", None, 3_000),
            input(7, EventType::UserAction, "events", None, 4_000),
            input(8, EventType::UserAction, "events", None, 25_000),
        ]
    }

    fn key(offset_s: i64, event_type: &str, metric: &str) -> WindowKey {
        WindowKey {
            window_start_us: T0 + offset_s * 1_000_000,
            event_type: event_type.to_owned(),
            metric_name: metric.to_owned(),
        }
    }

    fn gold_of(expected: &BTreeMap<WindowKey, WindowAggregate>) -> Vec<GoldRow> {
        expected.iter().map(|(k, a)| expected_row(k, a)).collect()
    }

    #[test]
    fn gold_recomputes_a_hand_made_set_exactly() {
        let windows = recompute_windows(hand_made(), W);
        assert_eq!(windows.len(), 5);
        let first = &windows[&key(0, "metric_event", "metric-1")];
        assert_eq!(first.window_end_us, T0 + 10_000_000);
        assert_eq!(
            first.on_time,
            Totals {
                event_count: 2,
                value_count: 2,
                value_sum: 12_350_000_000,
                value_min: Some(10_000_000),
                value_max: Some(12_340_000_000),
            }
        );
        assert_eq!(first.on_time.value_avg(), Some(6.175));
        let next = &windows[&key(10, "metric_event", "metric-1")];
        assert_eq!(next.on_time.value_sum, 999_990_000_000);
        // 0.1 + 0.2 is exactly 0.3 in decimal
        let usd = &windows[&key(0, "transaction", "amount.USD")];
        assert_eq!(usd.on_time.value_sum, 300_000_000);
        assert_eq!(decimal_text(usd.on_time.value_sum), "0.300000000");
        let users = &windows[&key(0, "user_action", "events")];
        assert_eq!(
            (users.on_time.event_count, users.on_time.value_count),
            (2, 0)
        );
        assert_eq!(users.on_time.value_avg(), None);
        assert_eq!(
            windows[&key(20, "user_action", "events")]
                .on_time
                .event_count,
            1
        );
        assert_eq!(late_excluded(&windows), 0);

        let findings = check_gold(&windows, &gold_of(&windows));
        assert!(findings.is_clean(), "{findings:?}");
        assert_eq!(
            (findings.windows_checked, findings.windows_matching),
            (5, 5)
        );
        assert_eq!(findings.events_recomputed, 8);
    }

    #[test]
    fn gold_rows_with_a_wrong_sum_or_count_are_mismatched() {
        let windows = recompute_windows(hand_made(), W);
        let mut gold = gold_of(&windows);
        let usd = gold
            .iter_mut()
            .find(|r| r.metric_name == "amount.USD")
            .unwrap();
        usd.value_sum_dec = Some(Decimal {
            unscaled: 300_000_001,
            scale: 9,
        });
        let users = gold
            .iter_mut()
            .find(|r| r.event_type == "user_action" && r.event_count == 2)
            .unwrap();
        users.event_count = 3;
        let findings = check_gold(&windows, &gold);
        assert_eq!(findings.windows_checked, 5);
        assert_eq!(findings.windows_mismatched, 2);
        assert_eq!(findings.windows_matching, 3);
        assert_eq!(findings.windows_missing + findings.windows_unexpected, 0);
        let examples = &findings.examples["mismatched"];
        assert_eq!(examples.len(), 2);
        assert!(
            examples.iter().any(|e| e.contains("amount.USD")
                && e.contains("sum 0.300000000")
                && e.contains("sum 0.300000001")
                && e.contains("differs: value_sum_dec")),
            "{examples:?}"
        );
        assert!(
            examples
                .iter()
                .any(|e| e.contains("events 2,") && e.contains("events 3,")),
            "{examples:?}"
        );
        assert!(!findings.is_clean());
    }

    #[test]
    fn gold_decimal_sums_compare_across_scales_and_floats_within_tolerance() {
        let windows = recompute_windows(hand_made(), W);
        let mut gold = gold_of(&windows);
        for row in &mut gold {
            if let Some(sum) = row.value_sum_dec.as_mut() {
                *sum = Decimal {
                    unscaled: sum.unscaled / 10_000_000,
                    scale: 2,
                };
            }
            row.value_avg = row.value_avg.map(|a| a * (1.0 + 1e-12));
        }
        assert!(check_gold(&windows, &gold).is_clean());
        gold[0].value_avg = gold[0].value_avg.map(|a| a * (1.0 + 1e-6));
        let findings = check_gold(&windows, &gold);
        assert_eq!(findings.windows_mismatched, 1);
        assert!(findings.examples["mismatched"][0].contains("differs: value_avg"));
    }

    #[test]
    fn a_closed_window_without_a_gold_row_is_missing() {
        let windows = recompute_windows(hand_made(), W);
        let gold: Vec<GoldRow> = gold_of(&windows)
            .into_iter()
            .filter(|r| r.metric_name != "amount.USD")
            .collect();
        let findings = check_gold(&windows, &gold);
        assert_eq!(findings.windows_missing, 1);
        assert_eq!(findings.windows_checked, 5);
        assert_eq!(findings.windows_matching, 4);
        assert!(findings.examples["missing"][0].contains("transaction/amount.USD"));
        assert!(findings.examples["missing"][0].contains("2023-11-14T22:13:20.000Z"));
    }

    #[test]
    fn open_windows_after_the_last_gold_window_are_not_flagged() {
        let windows = recompute_windows(hand_made(), W);
        // gold has fired only the first window (end T0 + 10 s)
        let gold: Vec<GoldRow> = gold_of(&windows)
            .into_iter()
            .filter(|r| r.window_start_us == T0)
            .collect();
        let findings = check_gold(&windows, &gold);
        assert!(findings.is_clean(), "{findings:?}");
        assert_eq!(findings.horizon_end_us, Some(T0 + 10_000_000));
        assert_eq!(findings.windows_checked, 3);
        assert_eq!(findings.windows_open, 2);
        // no gold at all: nothing is closed yet
        let findings = check_gold(&windows, &[]);
        assert_eq!((findings.windows_checked, findings.windows_open), (0, 5));
    }

    #[test]
    fn unexpected_and_duplicated_gold_rows_are_counted() {
        let windows = recompute_windows(hand_made(), W);
        let mut gold = gold_of(&windows);
        gold.push(gold[0].clone());
        let mut stray = gold[0].clone();
        stray.metric_name = "metric-999".to_owned();
        gold.push(stray);
        let findings = check_gold(&windows, &gold);
        assert_eq!(findings.windows_duplicated, 1);
        assert_eq!(findings.windows_unexpected, 1);
        assert_eq!(findings.windows_matching, 5);
        assert_eq!(findings.windows_checked, 6);
    }

    #[test]
    fn late_events_are_excluded_but_may_be_admitted() {
        let mut events = hand_made();
        let mut late = input(9, EventType::MetricEvent, "metric-1", Some("5"), 500);
        late.late = true;
        events.push(late.clone());
        late.send = SendId(10);
        late.event_time_us -= 600_000_000; // ten minutes before, alone in its window
        events.push(late);
        let windows = recompute_windows(events, W);
        assert_eq!(late_excluded(&windows), 2);
        assert_eq!(
            windows[&key(0, "metric_event", "metric-1")]
                .on_time
                .event_count,
            2
        );

        // Flink dropped both: gold matches, the late-only window is not missing
        let on_time_gold: Vec<GoldRow> = gold_of(&windows)
            .into_iter()
            .filter(|r| r.event_count > 0)
            .collect();
        let findings = check_gold(&windows, &on_time_gold);
        assert!(findings.is_clean(), "{findings:?}");
        assert_eq!(findings.late_excluded, 2);
        assert_eq!(findings.windows_checked, 5);

        // Flink admitted both: each window holds on-time plus late
        let mut admitted = Vec::new();
        for (key, aggregate) in &windows {
            let mut all = *aggregate;
            all.on_time = aggregate.on_time.merged(&aggregate.late);
            admitted.push(expected_row(key, &all));
        }
        let findings = check_gold(&windows, &admitted);
        assert!(findings.is_clean(), "{findings:?}");
        assert_eq!(findings.windows_late_admitted, 2);
        assert_eq!(findings.late_admitted, 2);
        assert_eq!(findings.windows_matching, 4);
    }

    #[test]
    fn decimals_parse_exactly_and_round_half_up() {
        assert_eq!(parse_decimal("12.34"), Some(12_340_000_000));
        assert_eq!(parse_decimal("5.0"), Some(5_000_000_000));
        assert_eq!(parse_decimal("7"), Some(7_000_000_000));
        assert_eq!(parse_decimal("-0.5"), Some(-500_000_000));
        assert_eq!(parse_decimal("1e-7"), Some(100));
        assert_eq!(parse_decimal("1.5E2"), Some(150_000_000_000));
        assert_eq!(parse_decimal("0.0000000015"), Some(2));
        assert_eq!(parse_decimal("0.0000000014"), Some(1));
        assert_eq!(parse_decimal("0.00000000049"), Some(0));
        assert_eq!(parse_decimal("0.0000000005"), Some(1));
        assert_eq!(parse_decimal("1e30"), None);
        assert_eq!(parse_decimal("12a"), None);
        assert_eq!(parse_decimal("."), None);
    }

    #[test]
    fn timestamps_parse_as_silver_reads_them() {
        assert_eq!(parse_event_time_us("2023-11-14T22:13:20.000Z"), Some(T0));
        assert_eq!(parse_event_time_us("2023-11-14T22:13:20Z"), Some(T0));
        assert_eq!(
            parse_event_time_us("2023-11-14T22:13:20.123456+00:00"),
            Some(T0 + 123_000)
        );
        assert_eq!(
            parse_event_time_us("2024-02-29T00:00:00.5-00:00").map(|t| t % 1_000_000),
            Some(500_000)
        );
        assert_eq!(parse_event_time_us("2023-02-29T00:00:00Z"), None);
        assert_eq!(parse_event_time_us("2023-11-14T22:13:20+01:00"), None);
        assert_eq!(parse_event_time_us("yesterday at noon"), None);
        assert_eq!(format_us(T0 + 123_000), "2023-11-14T22:13:20.123Z");
        assert_eq!(format_us(0), "1970-01-01T00:00:00.000Z");
        for us in [0, T0, 951_782_400_000_000, 4_102_444_800_123_000] {
            assert_eq!(parse_event_time_us(&format_us(us)), Some(us));
        }
        // against chrono, one day apart over ~270 years, with a millisecond part
        for day in (-60_000i64..40_000).step_by(7) {
            let us = day * 86_400_000_000 + 45_296_789_000;
            let at = chrono::DateTime::from_timestamp_micros(us).unwrap();
            let text = at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            assert_eq!(format_us(us), text);
            assert_eq!(parse_event_time_us(&text), Some(us));
        }
    }

    #[test]
    fn bodies_derive_silver_columns() {
        let body = br#"{"event_id":"x","event_type":"transaction","event_timestamp":"2023-11-14T22:13:20.000Z",
            "payload":{"amount":12.5,"currency":"EUR","transaction_id":"t"},"metadata":{"padding":"xx"}}"#;
        let input = gold_input_from_body(SendId(3), body, true).unwrap();
        assert_eq!(input.event_type, EventType::Transaction);
        assert_eq!(input.metric_name, "amount.EUR");
        assert_eq!(input.value, Some(12_500_000_000));
        assert_eq!(input.event_time_us, T0);
        assert!(input.late);
        let body = br#"{"event_type":"metric_event","event_timestamp":"2023-11-14T22:13:20.999Z",
            "payload":{"metric_name":"metric-7","metric_value":0.01}}"#;
        let input = gold_input_from_body(SendId(4), body, false).unwrap();
        assert_eq!(
            (input.metric_name.as_str(), input.value),
            ("metric-7", Some(10_000_000))
        );
        let body =
            br#"{"event_type":"log_event","event_timestamp":"2023-11-14T22:13:20Z","payload":{}}"#;
        let input = gold_input_from_body(SendId(5), body, false).unwrap();
        assert_eq!((input.metric_name.as_str(), input.value), ("events", None));
        assert!(gold_input_from_body(SendId(6), b"{not json", false).is_err());
        let body = br#"{"event_type":"metric_event","event_timestamp":"2023-11-14T22:13:20Z","payload":{"metric_name":"m","metric_value":"1"}}"#;
        assert!(gold_input_from_body(SendId(7), body, false).is_err());
    }

    #[test]
    fn the_open_loop_schedule_matches_the_drivers_arithmetic() {
        // the driver: intended = start + phase + interval * index (Instants), then RunClock
        let start = std::time::Instant::now();
        let (rate, tasks) = (300.0, 3);
        for task in 0..tasks {
            let interval = Duration::from_secs_f64(tasks as f64 / rate);
            let phase = Duration::from_secs_f64(task as f64 / rate);
            for index in [0usize, 1, 2, 999, 123_457] {
                let intended = start + phase + interval * index as u32;
                let driver = T0 + intended.saturating_duration_since(start).as_micros() as i64;
                assert_eq!(open_loop_intended_us(T0, rate, tasks, task, index), driver);
            }
        }
    }
}
