//! Builds the events a producer task sends, deterministically from the scenario seed: the
//! event mix, keys, sizes, deliberate duplicates, invalid records and late events.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::distr::weighted::WeightedIndex;
use rand::distr::Distribution;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::Zipf;
use serde_json::{Map, Value};
use streamproof_platform::events::{utc_timestamp, EventSchema, EventType};

use crate::ledger::{SendId, SendKind};
use crate::spec::{KeyDistribution, LoadSpec, PayloadBytes};

/// Index of an event type's raw topic in [`crate::RAW_TOPICS`].
pub fn topic_index(event_type: EventType) -> u8 {
    EventType::ALL
        .iter()
        .position(|t| *t == event_type)
        .unwrap_or(0) as u8
}

/// The event id of the fresh send `send` of a run: a UUID v4 derived from the run's salt and
/// the send id, so the checker can recompute every id from the ledger.
pub fn event_id(id_salt: u64, send: SendId) -> String {
    event_uuid(id_salt, send).to_string()
}

fn event_uuid(id_salt: u64, send: SendId) -> uuid::Uuid {
    let high = splitmix64(id_salt ^ send.0);
    let low = splitmix64(high ^ send.0.rotate_left(17));
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&high.to_le_bytes());
    bytes[8..].copy_from_slice(&low.to_le_bytes());
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// One record to send.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedSend {
    /// Index into [`crate::RAW_TOPICS`].
    pub topic: u8,
    /// Partition key.
    pub key: String,
    /// Its sequence number among this key's sends.
    pub key_seq: u64,
    /// The record value.
    pub body: Vec<u8>,
    /// Why it is sent.
    pub kind: SendKind,
    /// For a duplicate, how many sends back the original is.
    pub origin_back: u32,
    /// Whether its event time is deliberately old.
    pub late: bool,
}

/// A fresh send a later duplicate may repeat; the slots of the window are reused.
#[derive(Default)]
struct Recent {
    index: usize,
    topic: u8,
    /// Its key's entry in the key sequences.
    sequence: (u8, u64),
    key: String,
    body: Vec<u8>,
}

/// What one fresh event is drawn as, before it is written: the same draws, in the same order,
/// whether it becomes JSON directly or an [`EventSchema`] (invalid sends, and the tests' check
/// that both give the same bytes).
#[derive(Debug, Clone, Copy)]
struct Draw {
    event_type: EventType,
    key_number: u64,
    /// `number / 100` is the amount or metric value.
    number: u32,
    /// Indexes into the type's word lists, in payload order.
    words: [usize; 2],
    /// A user action's resource number.
    resource: u32,
}

const ACTIONS: &[&str] = &["login", "view_product", "add_to_cart", "purchase"];
const CURRENCIES: &[&str] = &["USD", "EUR", "GBP", "JPY"];
const TRANSACTION_TYPES: &[&str] = &["purchase", "payment", "refund"];
const STATUSES: &[&str] = &["started", "healthy", "degraded", "stopped"];
const SEVERITIES: &[&str] = &["debug", "info", "warn", "error"];
const SOURCE_SYSTEM: &str = "streamproof-loadgen";

/// How many recent events a duplicate may repeat.
const RECENT_WINDOW: usize = 256;

/// The event source of one producer task.
pub struct EventFactory {
    rng: StdRng,
    task: usize,
    tasks: usize,
    id_salt: u64,
    types: Vec<EventType>,
    weights: WeightedIndex<u32>,
    keys: KeyDraw,
    payload: PayloadBytes,
    duplicates: f64,
    invalid: f64,
    late_fraction: f64,
    late_delay: Duration,
    /// Sends so far per key, by event type and key number (what the key is made of).
    sequences: HashMap<(u8, u64), u64>,
    /// The last [`RECENT_WINDOW`] fresh sends (only kept when duplicates are drawn).
    recent: Vec<Recent>,
    /// How many slots of `recent` hold a send, and the slot the next one goes to.
    recent_len: usize,
    recent_next: usize,
    /// The send being built, its buffers reused from send to send.
    planned: PlannedSend,
    /// The event timestamp's text up to the seconds, for the second it was made for.
    stamp: (i64, String),
}

enum KeyDraw {
    Uniform(u64),
    Zipf(Zipf<f64>),
}

/// A load spec the factory cannot draw from.
#[derive(Debug, thiserror::Error)]
#[error("cannot generate this load: {0}")]
pub struct FactoryError(String);

impl EventFactory {
    /// The factory of producer task `task` of `tasks`; keys are split between tasks so each key
    /// is only ever sent by one producer, which keeps per-key order checkable.
    pub fn new(
        spec: &LoadSpec,
        seed: u64,
        id_salt: u64,
        task: usize,
        tasks: usize,
    ) -> Result<Self, FactoryError> {
        let (types, weights): (Vec<EventType>, Vec<u32>) = spec
            .mix
            .iter()
            .filter(|(_, weight)| **weight > 0)
            .map(|(t, w)| (*t, *w))
            .unzip();
        let weights =
            WeightedIndex::new(weights).map_err(|e| FactoryError(format!("event mix: {e}")))?;
        let per_task = spec.keys.cardinality.div_ceil(tasks as u64).max(1);
        let keys = match spec.keys.distribution {
            KeyDistribution::Uniform => KeyDraw::Uniform(per_task),
            KeyDistribution::Zipf => KeyDraw::Zipf(
                Zipf::new(per_task as f64, spec.keys.exponent)
                    .map_err(|e| FactoryError(format!("zipf keys: {e}")))?,
            ),
        };
        Ok(EventFactory {
            rng: StdRng::seed_from_u64(splitmix64(seed ^ (task as u64).wrapping_mul(0x1000_0001))),
            task,
            tasks,
            id_salt,
            types,
            weights,
            keys,
            payload: spec.payload_bytes,
            duplicates: spec.duplicates.get(),
            invalid: spec.invalid.get(),
            late_fraction: spec.late.fraction.get(),
            late_delay: spec.late.delay,
            sequences: HashMap::new(),
            recent: Vec::new(),
            recent_len: 0,
            recent_next: 0,
            planned: PlannedSend {
                topic: 0,
                key: String::new(),
                key_seq: 0,
                body: Vec::new(),
                kind: SendKind::Fresh,
                origin_back: 0,
                late: false,
            },
            stamp: (i64::MIN, String::new()),
        })
    }

    fn next_seq(&mut self, sequence: (u8, u64)) -> u64 {
        let seq = self.sequences.entry(sequence).or_insert(0);
        *seq += 1;
        *seq
    }

    fn draw_key_number(&mut self) -> u64 {
        let local = match &self.keys {
            KeyDraw::Uniform(count) => self.rng.random_range(0..*count),
            KeyDraw::Zipf(zipf) => zipf.sample(&mut self.rng) as u64 - 1,
        };
        local * self.tasks as u64 + self.task as u64
    }

    /// The send at position `index` of this task, meant for `intended` (wall clock). The
    /// send is the factory's own, overwritten by the next call: no allocation per send once
    /// the buffers have grown.
    pub fn next(&mut self, index: usize, intended: DateTime<Utc>) -> &PlannedSend {
        let roll: f64 = self.rng.random();
        if roll < self.duplicates && self.recent_len > 0 {
            self.duplicate(index);
            return &self.planned;
        }
        let invalid = roll >= self.duplicates && roll < self.duplicates + self.invalid;
        let late = self.rng.random::<f64>() < self.late_fraction;
        let event_time = if late {
            intended - chrono::Duration::from_std(self.late_delay).unwrap_or_default()
        } else {
            intended
        };
        let draw = self.draw();
        let target = self.draw_size();
        let sequence = (topic_index(draw.event_type), draw.key_number);
        let key_seq = self.next_seq(sequence);
        self.planned.topic = topic_index(draw.event_type);
        self.planned.key_seq = key_seq;
        self.planned.origin_back = 0;
        self.planned.late = late;
        write_key(&mut self.planned.key, &draw);
        if invalid {
            let mut event = self.event_schema(&draw, index, event_time);
            pad(&mut event, target);
            self.planned.body = self.break_event(event);
            self.planned.kind = SendKind::Invalid;
            return &self.planned;
        }
        self.planned.kind = SendKind::Fresh;
        let mut body = std::mem::take(&mut self.planned.body);
        self.write_event(&mut body, &draw, index, event_time, target);
        self.planned.body = body;
        if self.duplicates > 0.0 {
            self.remember(index, sequence);
        }
        &self.planned
    }

    /// [`EventFactory::next`] for an intended send time in µs since the Unix epoch, converted
    /// as the driver converts it; lets a checker replay a task's sends from the ledger.
    pub fn next_at_us(&mut self, index: usize, intended_us: i64) -> &PlannedSend {
        self.next(
            index,
            DateTime::from_timestamp_micros(intended_us).unwrap_or_default(),
        )
    }

    /// Keeps the fresh send just built for later duplicates, in the window's oldest slot.
    fn remember(&mut self, index: usize, sequence: (u8, u64)) {
        if self.recent.len() < RECENT_WINDOW {
            self.recent.push(Recent::default());
        }
        let slot = &mut self.recent[self.recent_next];
        slot.index = index;
        slot.topic = self.planned.topic;
        slot.sequence = sequence;
        slot.key.clear();
        slot.key.push_str(&self.planned.key);
        slot.body.clear();
        slot.body.extend_from_slice(&self.planned.body);
        self.recent_next = (self.recent_next + 1) % RECENT_WINDOW;
        self.recent_len = (self.recent_len + 1).min(RECENT_WINDOW);
    }

    fn duplicate(&mut self, index: usize) {
        let pick = self.rng.random_range(0..self.recent_len);
        // The window in age order starts at the oldest slot once it is full.
        let oldest = if self.recent_len == RECENT_WINDOW {
            self.recent_next
        } else {
            0
        };
        let original = &self.recent[(oldest + pick) % RECENT_WINDOW];
        self.planned.topic = original.topic;
        self.planned.key.clear();
        self.planned.key.push_str(&original.key);
        self.planned.body.clear();
        self.planned.body.extend_from_slice(&original.body);
        self.planned.origin_back = (index - original.index) as u32;
        self.planned.kind = SendKind::Duplicate;
        self.planned.late = false;
        let sequence = self.sequences.entry(original.sequence).or_insert(0);
        *sequence += 1;
        self.planned.key_seq = *sequence;
    }

    fn draw_size(&mut self) -> usize {
        match self.payload {
            PayloadBytes::Fixed(size) => size,
            PayloadBytes::Range { min, max } => self.rng.random_range(min..=max),
        }
    }

    /// Every random choice of one fresh event, in a fixed order.
    fn draw(&mut self) -> Draw {
        let event_type = self.types[self.weights.sample(&mut self.rng)];
        let key_number = self.draw_key_number();
        let number = self.rng.random_range(1..100_000);
        let mut words = [0; 2];
        let mut resource = 0;
        match event_type {
            EventType::UserAction => {
                words[0] = self.rng.random_range(0..ACTIONS.len());
                resource = self.rng.random_range(0..10_000);
            }
            EventType::Transaction => {
                words[0] = self.rng.random_range(0..CURRENCIES.len());
                words[1] = self.rng.random_range(0..TRANSACTION_TYPES.len());
            }
            EventType::SystemEvent => words[0] = self.rng.random_range(0..STATUSES.len()),
            EventType::MetricEvent => {}
            EventType::LogEvent => words[0] = self.rng.random_range(0..SEVERITIES.len()),
        }
        Draw {
            event_type,
            key_number,
            number,
            words,
            resource,
        }
    }

    /// The drawn event as an [`EventSchema`] (invalid sends are made from it).
    fn event_schema(&self, draw: &Draw, index: usize, at: DateTime<Utc>) -> EventSchema {
        let key = draw.key_number;
        let number = f64::from(draw.number) / 100.0;
        let payload: Map<String, Value> = match draw.event_type {
            EventType::UserAction => json_map([
                ("user_id", format!("user-{key}").into()),
                ("action", ACTIONS[draw.words[0]].into()),
                ("resource", format!("product-{}", draw.resource).into()),
            ]),
            EventType::Transaction => json_map([
                (
                    "transaction_id",
                    format!("txn-{}-{index}", self.task).into(),
                ),
                ("account_id", format!("acct-{key}").into()),
                ("amount", number.into()),
                ("currency", CURRENCIES[draw.words[0]].into()),
                ("transaction_type", TRANSACTION_TYPES[draw.words[1]].into()),
            ]),
            EventType::SystemEvent => json_map([
                ("component", format!("component-{key}").into()),
                ("status", STATUSES[draw.words[0]].into()),
            ]),
            EventType::MetricEvent => json_map([
                ("metric_name", format!("metric-{key}").into()),
                ("metric_value", number.into()),
                ("metric_unit", "milliseconds".into()),
            ]),
            EventType::LogEvent => json_map([
                ("application", format!("app-{key}").into()),
                ("severity", SEVERITIES[draw.words[0]].into()),
                ("message", "request served".into()),
            ]),
        };
        EventSchema {
            event_id: event_id(self.id_salt, SendId::new(self.task, index)),
            event_type: draw.event_type.as_str().to_owned(),
            event_timestamp: utc_timestamp(at),
            source_system: SOURCE_SYSTEM.to_owned(),
            payload,
            metadata: Map::new(),
            schema_version: streamproof_platform::events::SCHEMA_VERSION.to_owned(),
        }
    }

    /// Writes the drawn event's JSON into `body`, byte for byte what `serde_json` writes for
    /// [`EventFactory::event_schema`] padded to `target` (the tests hold them equal), without
    /// building it: a producer at its limit spends most of its time here otherwise.
    fn write_event(
        &mut self,
        body: &mut Vec<u8>,
        draw: &Draw,
        index: usize,
        at: DateTime<Utc>,
        target: usize,
    ) {
        body.clear();
        body.extend_from_slice(br#"{"event_id":""#);
        write_event_id(body, self.id_salt, SendId::new(self.task, index));
        body.extend_from_slice(br#"","event_type":""#);
        body.extend_from_slice(draw.event_type.as_str().as_bytes());
        body.extend_from_slice(br#"","event_timestamp":""#);
        self.write_timestamp(body, at);
        body.extend_from_slice(br#"","source_system":""#);
        body.extend_from_slice(SOURCE_SYSTEM.as_bytes());
        body.extend_from_slice(br#"","payload":{"#);
        self.write_payload(body, draw, index);
        body.extend_from_slice(br#"},"metadata":{"#);
        const TAIL: &[u8] = br#"},"schema_version":"1.0"}"#;
        // As `pad` measures it: the event with empty metadata, then the padding field.
        const FIELD_OVERHEAD: usize = r#","padding":"""#.len();
        let size = body.len() + TAIL.len();
        if target > size + FIELD_OVERHEAD {
            body.extend_from_slice(br#""padding":""#);
            body.resize(body.len() + target - size - FIELD_OVERHEAD, b'x');
            body.push(b'"');
        }
        body.extend_from_slice(TAIL);
    }

    /// The payload's fields in `serde_json`'s map order (sorted by name).
    fn write_payload(&self, body: &mut Vec<u8>, draw: &Draw, index: usize) {
        let key = draw.key_number;
        match draw.event_type {
            EventType::UserAction => {
                field_str(body, "action", ACTIONS[draw.words[0]], true);
                field_numbered(body, "resource", "product-", u64::from(draw.resource));
                field_numbered(body, "user_id", "user-", key);
            }
            EventType::Transaction => {
                field_numbered(body, "account_id", "acct-", key);
                field_cents(body, "amount", draw.number);
                field_str(body, "currency", CURRENCIES[draw.words[0]], false);
                body.extend_from_slice(br#","transaction_id":"txn-"#);
                body.extend_from_slice(itoa::Buffer::new().format(self.task).as_bytes());
                body.push(b'-');
                body.extend_from_slice(itoa::Buffer::new().format(index).as_bytes());
                body.push(b'"');
                field_str(
                    body,
                    "transaction_type",
                    TRANSACTION_TYPES[draw.words[1]],
                    false,
                );
            }
            EventType::SystemEvent => {
                field_numbered(body, "component", "component-", key);
                field_str(body, "status", STATUSES[draw.words[0]], false);
            }
            EventType::MetricEvent => {
                field_numbered(body, "metric_name", "metric-", key);
                field_str(body, "metric_unit", "milliseconds", false);
                field_cents(body, "metric_value", draw.number);
            }
            EventType::LogEvent => {
                field_numbered(body, "application", "app-", key);
                field_str(body, "message", "request served", false);
                field_str(body, "severity", SEVERITIES[draw.words[0]], false);
            }
        }
    }

    /// `utc_timestamp(at)` (RFC 3339, milliseconds, `Z`), the text up to the seconds made
    /// once per second.
    fn write_timestamp(&mut self, body: &mut Vec<u8>, at: DateTime<Utc>) {
        let second = at.timestamp();
        if self.stamp.0 != second {
            let whole = utc_timestamp(at);
            self.stamp = (second, whole[..whole.len() - 5].to_owned());
        }
        body.extend_from_slice(self.stamp.1.as_bytes());
        let millis = at.timestamp_subsec_millis();
        body.extend_from_slice(&[
            b'.',
            b'0' + (millis / 100) as u8,
            b'0' + (millis / 10 % 10) as u8,
            b'0' + (millis % 10) as u8,
            b'Z',
        ]);
    }

    /// An invalid record, as a misbehaving upstream would send: one schema defect, or not JSON.
    fn break_event(&mut self, mut event: EventSchema) -> Vec<u8> {
        match self.rng.random_range(0..4) {
            0 => {
                let mut body = b"{not json: ".to_vec();
                body.extend_from_slice(event.event_id.as_bytes());
                body
            }
            1 => {
                event.event_id = format!("not-a-uuid-{}", &event.event_id[..8]);
                event.to_json()
            }
            2 => {
                event.event_timestamp = "yesterday at noon".to_owned();
                event.to_json()
            }
            _ => {
                event.payload.clear();
                event.to_json()
            }
        }
    }
}

fn json_map<const N: usize>(fields: [(&str, Value); N]) -> Map<String, Value> {
    fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// The partition key of the drawn event, as `route` derives it from its payload.
fn write_key(key: &mut String, draw: &Draw) {
    let prefix = match draw.event_type {
        EventType::UserAction => "user-",
        EventType::Transaction => "acct-",
        EventType::SystemEvent => "component-",
        EventType::MetricEvent => "metric-",
        EventType::LogEvent => "app-",
    };
    key.clear();
    key.push_str(prefix);
    key.push_str(itoa::Buffer::new().format(draw.key_number));
}

/// `"name":"value"`, after a comma unless `first`. The values are fixed words: nothing to
/// escape.
fn field_str(body: &mut Vec<u8>, name: &str, value: &str, first: bool) {
    if !first {
        body.push(b',');
    }
    body.push(b'"');
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(b"\":\"");
    body.extend_from_slice(value.as_bytes());
    body.push(b'"');
}

/// `"name":"PREFIXnumber"`, after a comma unless it opens the payload.
fn field_numbered(body: &mut Vec<u8>, name: &str, prefix: &str, number: u64) {
    if body.last() != Some(&b'{') {
        body.push(b',');
    }
    body.push(b'"');
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(b"\":\"");
    body.extend_from_slice(prefix.as_bytes());
    body.extend_from_slice(itoa::Buffer::new().format(number).as_bytes());
    body.push(b'"');
}

/// `,"name":N.NN`: `cents / 100` as `serde_json` writes that `f64` (shortest form, at least
/// one decimal).
fn field_cents(body: &mut Vec<u8>, name: &str, cents: u32) {
    body.extend_from_slice(b",\"");
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(b"\":");
    body.extend_from_slice(itoa::Buffer::new().format(cents / 100).as_bytes());
    body.push(b'.');
    let fraction = cents % 100;
    body.push(b'0' + (fraction / 10) as u8);
    if !fraction.is_multiple_of(10) {
        body.push(b'0' + (fraction % 10) as u8);
    }
}

/// [`event_id`] written into `body` without an allocation.
fn write_event_id(body: &mut Vec<u8>, id_salt: u64, send: SendId) {
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    body.extend_from_slice(
        event_uuid(id_salt, send)
            .hyphenated()
            .encode_lower(&mut text)
            .as_bytes(),
    );
}

/// Grows the event to about `target` bytes of JSON with a `padding` metadata field.
fn pad(event: &mut EventSchema, target: usize) {
    const FIELD_OVERHEAD: usize = r#","padding":"""#.len();
    let size = event.to_json().len();
    if target > size + FIELD_OVERHEAD {
        let filler = "x".repeat(target - size - FIELD_OVERHEAD);
        event
            .metadata
            .insert("padding".to_owned(), Value::from(filler));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use streamproof_platform::routing::route;

    fn spec(json: &str) -> LoadSpec {
        serde_json::from_str(json).unwrap()
    }

    fn sends(spec: &LoadSpec, count: usize) -> Vec<PlannedSend> {
        let mut factory = EventFactory::new(spec, 42, 7, 0, 1).unwrap();
        let at = chrono::Utc::now();
        (0..count).map(|i| factory.next(i, at).clone()).collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_events() {
        let spec = spec(
            r#"{"duration": "1s", "rate": 10, "duplicates": 0.1, "invalid": 0.1,
            "mix": {"user_action": 1, "transaction": 1, "metric_event": 1}}"#,
        );
        let mut a = EventFactory::new(&spec, 42, 7, 0, 1).unwrap();
        let mut b = EventFactory::new(&spec, 42, 7, 0, 1).unwrap();
        let at = chrono::Utc::now();
        for i in 0..200 {
            assert_eq!(a.next(i, at), b.next(i, at));
        }
    }

    #[test]
    fn fresh_events_are_written_byte_for_byte_as_serde_writes_their_schema() {
        let spec = spec(
            r#"{"duration": "1s", "rate": 10, "payload_bytes": {"min": 10, "max": 2000},
            "mix": {"user_action": 1, "transaction": 1, "system_event": 1, "metric_event": 1, "log_event": 1}}"#,
        );
        let mut factory = EventFactory::new(&spec, 42, 7, 3, 4).unwrap();
        let start = DateTime::from_timestamp_micros(1_764_500_000_123_456).unwrap();
        for index in 0..5000 {
            let at = start + chrono::Duration::microseconds(index as i64 * 7_919);
            let draw = factory.draw();
            let target = factory.draw_size();
            let mut body = Vec::new();
            factory.write_event(&mut body, &draw, index, at, target);
            let mut event = factory.event_schema(&draw, index, at);
            pad(&mut event, target);
            assert_eq!(
                String::from_utf8_lossy(&body),
                String::from_utf8_lossy(&event.to_json()),
                "send {index}"
            );
            let mut key = String::new();
            write_key(&mut key, &draw);
            assert_eq!(route(&event).unwrap().key.as_deref(), Some(key.as_str()));
        }
    }

    #[test]
    fn fresh_events_are_valid_sized_and_carry_derivable_ids() {
        let spec = spec(
            r#"{"duration": "1s", "rate": 10, "payload_bytes": 700,
            "mix": {"user_action": 1, "transaction": 1, "system_event": 1, "metric_event": 1, "log_event": 1}}"#,
        );
        for (index, send) in sends(&spec, 100).iter().enumerate() {
            assert_eq!(send.kind, SendKind::Fresh);
            let event: EventSchema = serde_json::from_slice(&send.body).unwrap();
            assert!(event.validate().is_empty(), "{:?}", event.validate());
            assert_eq!(event.event_id, event_id(7, SendId::new(0, index)));
            assert!(
                (690..=710).contains(&send.body.len()),
                "{}",
                send.body.len()
            );
            assert_eq!(
                route(&event).unwrap().key.as_deref(),
                Some(send.key.as_str())
            );
        }
    }

    #[test]
    fn duplicates_repeat_an_earlier_body_and_invalid_sends_fail_validation() {
        let spec = spec(r#"{"duration": "1s", "rate": 10, "duplicates": 0.2, "invalid": 0.2}"#);
        let planned = sends(&spec, 2000);
        let duplicates: Vec<_> = planned
            .iter()
            .enumerate()
            .filter(|(_, s)| s.kind == SendKind::Duplicate)
            .collect();
        let invalid: Vec<_> = planned
            .iter()
            .filter(|s| s.kind == SendKind::Invalid)
            .collect();
        assert!(
            (300..500).contains(&duplicates.len()),
            "{}",
            duplicates.len()
        );
        assert!((300..500).contains(&invalid.len()), "{}", invalid.len());
        for (index, duplicate) in duplicates {
            let original = &planned[index - duplicate.origin_back as usize];
            assert_eq!(original.kind, SendKind::Fresh);
            assert_eq!(original.body, duplicate.body);
            assert_eq!(original.key, duplicate.key);
        }
        for send in invalid {
            let valid = serde_json::from_slice::<EventSchema>(&send.body)
                .map(|e| e.validate().is_empty())
                .unwrap_or(false);
            assert!(!valid, "{}", String::from_utf8_lossy(&send.body));
        }
    }

    #[test]
    fn key_sequences_count_up_per_key_and_tasks_own_disjoint_keys() {
        let spec = spec(r#"{"duration": "1s", "rate": 10, "keys": {"cardinality": 10}}"#);
        let mut last: HashMap<String, u64> = HashMap::new();
        for send in sends(&spec, 500) {
            let previous = last.insert(send.key.clone(), send.key_seq).unwrap_or(0);
            assert_eq!(send.key_seq, previous + 1);
        }
        assert!(last.len() <= 10);

        let at = chrono::Utc::now();
        let mut task0 = EventFactory::new(&spec, 1, 1, 0, 2).unwrap();
        let mut task1 = EventFactory::new(&spec, 1, 1, 1, 2).unwrap();
        let keys0: std::collections::HashSet<String> =
            (0..200).map(|i| task0.next(i, at).key.clone()).collect();
        let keys1: std::collections::HashSet<String> =
            (0..200).map(|i| task1.next(i, at).key.clone()).collect();
        assert!(keys0.is_disjoint(&keys1));
    }

    #[test]
    fn late_events_carry_old_timestamps() {
        let spec =
            spec(r#"{"duration": "1s", "rate": 10, "late": {"fraction": 1.0, "delay": "10m"}}"#);
        let at = chrono::Utc::now();
        let mut factory = EventFactory::new(&spec, 3, 3, 0, 1).unwrap();
        let send = factory.next(0, at);
        assert!(send.late);
        let event: EventSchema = serde_json::from_slice(&send.body).unwrap();
        let stamp = chrono::DateTime::parse_from_rfc3339(&event.event_timestamp).unwrap();
        let age = at.signed_duration_since(stamp.with_timezone(&Utc));
        assert!((599..=601).contains(&age.num_seconds()), "{age}");
    }

    #[test]
    fn zipf_keys_concentrate_on_a_few_hot_keys() {
        let spec = spec(
            r#"{"duration": "1s", "rate": 10, "keys": {"distribution": "zipf", "cardinality": 1000}}"#,
        );
        let mut counts: HashMap<String, usize> = HashMap::new();
        for send in sends(&spec, 5000) {
            *counts.entry(send.key).or_default() += 1;
        }
        let hottest = counts.values().max().copied().unwrap_or(0);
        assert!(hottest > 500, "the hottest key got {hottest} of 5000");
    }
}
