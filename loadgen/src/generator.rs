//! Builds the events a producer task sends, deterministically from the scenario seed: the
//! event mix, keys, sizes, deliberate duplicates, invalid records and late events.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::distr::weighted::WeightedIndex;
use rand::distr::Distribution;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::Zipf;
use serde_json::{Map, Value};
use streamproof_platform::events::{utc_timestamp, EventSchema, EventType};
use streamproof_platform::routing::route;

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
    let high = splitmix64(id_salt ^ send.0);
    let low = splitmix64(high ^ send.0.rotate_left(17));
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&high.to_le_bytes());
    bytes[8..].copy_from_slice(&low.to_le_bytes());
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
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

struct Recent {
    index: usize,
    topic: u8,
    key: String,
    body: Vec<u8>,
}

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
    sequences: HashMap<String, u64>,
    recent: VecDeque<Recent>,
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
            recent: VecDeque::with_capacity(RECENT_WINDOW),
        })
    }

    fn next_seq(&mut self, key: &str) -> u64 {
        let seq = self.sequences.entry(key.to_owned()).or_insert(0);
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

    /// The send at position `index` of this task, meant for `intended` (wall clock).
    pub fn next(&mut self, index: usize, intended: DateTime<Utc>) -> PlannedSend {
        let roll: f64 = self.rng.random();
        if roll < self.duplicates && !self.recent.is_empty() {
            return self.duplicate(index);
        }
        let invalid = roll >= self.duplicates && roll < self.duplicates + self.invalid;
        let late = self.rng.random::<f64>() < self.late_fraction;
        let event_time = if late {
            intended - chrono::Duration::from_std(self.late_delay).unwrap_or_default()
        } else {
            intended
        };
        let event_type = self.types[self.weights.sample(&mut self.rng)];
        let mut event = self.build_event(event_type, index, event_time);
        let target = self.draw_size();
        pad(&mut event, target);
        let key = route(&event).ok().and_then(|r| r.key).unwrap_or_default();
        let topic = topic_index(event_type);
        let key_seq = self.next_seq(&key);
        if invalid {
            return PlannedSend {
                topic,
                key,
                key_seq,
                body: self.break_event(event),
                kind: SendKind::Invalid,
                origin_back: 0,
                late,
            };
        }
        let body = event.to_json();
        if self.recent.len() == RECENT_WINDOW {
            self.recent.pop_front();
        }
        self.recent.push_back(Recent {
            index,
            topic,
            key: key.clone(),
            body: body.clone(),
        });
        PlannedSend {
            topic,
            key,
            key_seq,
            body,
            kind: SendKind::Fresh,
            origin_back: 0,
            late,
        }
    }

    /// [`EventFactory::next`] for an intended send time in µs since the Unix epoch, converted
    /// as the driver converts it; lets a checker replay a task's sends from the ledger.
    pub fn next_at_us(&mut self, index: usize, intended_us: i64) -> PlannedSend {
        self.next(
            index,
            DateTime::from_timestamp_micros(intended_us).unwrap_or_default(),
        )
    }

    fn duplicate(&mut self, index: usize) -> PlannedSend {
        let pick = self.rng.random_range(0..self.recent.len());
        let original = &self.recent[pick];
        let (topic, key, body) = (original.topic, original.key.clone(), original.body.clone());
        let origin_back = (index - original.index) as u32;
        let key_seq = self.next_seq(&key);
        PlannedSend {
            topic,
            key,
            key_seq,
            body,
            kind: SendKind::Duplicate,
            origin_back,
            late: false,
        }
    }

    fn draw_size(&mut self) -> usize {
        match self.payload {
            PayloadBytes::Fixed(size) => size,
            PayloadBytes::Range { min, max } => self.rng.random_range(min..=max),
        }
    }

    fn build_event(
        &mut self,
        event_type: EventType,
        index: usize,
        at: DateTime<Utc>,
    ) -> EventSchema {
        let key = self.draw_key_number();
        let number = self.rng.random_range(1..100_000) as f64 / 100.0;
        let payload: Map<String, Value> = match event_type {
            EventType::UserAction => json_map([
                ("user_id", format!("user-{key}").into()),
                (
                    "action",
                    pick(
                        &mut self.rng,
                        &["login", "view_product", "add_to_cart", "purchase"],
                    )
                    .into(),
                ),
                (
                    "resource",
                    format!("product-{}", self.rng.random_range(0..10_000)).into(),
                ),
            ]),
            EventType::Transaction => json_map([
                (
                    "transaction_id",
                    format!("txn-{}-{index}", self.task).into(),
                ),
                ("account_id", format!("acct-{key}").into()),
                ("amount", number.into()),
                (
                    "currency",
                    pick(&mut self.rng, &["USD", "EUR", "GBP", "JPY"]).into(),
                ),
                (
                    "transaction_type",
                    pick(&mut self.rng, &["purchase", "payment", "refund"]).into(),
                ),
            ]),
            EventType::SystemEvent => json_map([
                ("component", format!("component-{key}").into()),
                (
                    "status",
                    pick(
                        &mut self.rng,
                        &["started", "healthy", "degraded", "stopped"],
                    )
                    .into(),
                ),
            ]),
            EventType::MetricEvent => json_map([
                ("metric_name", format!("metric-{key}").into()),
                ("metric_value", number.into()),
                ("metric_unit", "milliseconds".into()),
            ]),
            EventType::LogEvent => json_map([
                ("application", format!("app-{key}").into()),
                (
                    "severity",
                    pick(&mut self.rng, &["debug", "info", "warn", "error"]).into(),
                ),
                ("message", "request served".into()),
            ]),
        };
        EventSchema {
            event_id: event_id(self.id_salt, SendId::new(self.task, index)),
            event_type: event_type.as_str().to_owned(),
            event_timestamp: utc_timestamp(at),
            source_system: "streamproof-loadgen".to_owned(),
            payload,
            metadata: Map::new(),
            schema_version: streamproof_platform::events::SCHEMA_VERSION.to_owned(),
        }
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

fn pick<'a>(rng: &mut StdRng, choices: &[&'a str]) -> &'a str {
    choices[rng.random_range(0..choices.len())]
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

    fn spec(json: &str) -> LoadSpec {
        serde_json::from_str(json).unwrap()
    }

    fn sends(spec: &LoadSpec, count: usize) -> Vec<PlannedSend> {
        let mut factory = EventFactory::new(spec, 42, 7, 0, 1).unwrap();
        let at = chrono::Utc::now();
        (0..count).map(|i| factory.next(i, at)).collect()
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
            (0..200).map(|i| task0.next(i, at).key).collect();
        let keys1: std::collections::HashSet<String> =
            (0..200).map(|i| task1.next(i, at).key).collect();
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
