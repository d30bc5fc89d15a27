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

mod derive;
mod judge;
mod replay;
#[cfg(test)]
mod tests;

pub use derive::*;
pub use judge::*;
pub use replay::*;

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
