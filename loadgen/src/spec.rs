//! What load to generate, as a scenario's `load:` and `consumers:` sections describe it.
//! Every value is checked while it is read, so a bad value is reported at its line.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;
pub use streamproof_platform::profiles::property_map;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use streamproof_platform::events::EventType;
use streamproof_platform::problem::{PathStep::Key, Problem};
use streamproof_platform::profiles::ConsumerProfile;

use crate::search::SearchSpec;

pub use streamproof_platform::duration as human_duration;

/// A number from 0 to 1.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default, Serialize)]
#[serde(transparent)]
pub struct Fraction(f64);

impl Fraction {
    /// The value.
    pub fn get(self) -> f64 {
        self.0
    }

    /// A fraction, if `value` lies in 0..=1.
    pub fn new(value: f64) -> Option<Self> {
        (0.0..=1.0).contains(&value).then_some(Fraction(value))
    }
}

impl<'de> Deserialize<'de> for Fraction {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = f64::deserialize(deserializer)?;
        Fraction::new(value).ok_or_else(|| {
            de::Error::custom(format!(
                "{value} is not a fraction; write a number from 0 to 1, e.g. 0.01 for 1%"
            ))
        })
    }
}

/// Events per second: a fixed open-loop rate, or `max` (closed loop, as fast as acknowledged).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Rate {
    /// Open loop at this many events per second in total.
    PerSecond(f64),
    /// Closed loop: each producer keeps a window of sends in flight.
    #[serde(serialize_with = "serialize_max")]
    Max,
    /// The highest open-loop rate at which every expectation holds, found by a search of
    /// verified steps (`load.search`). The run resolves it to a fixed rate per step; a load
    /// started with it unresolved runs as a closed loop.
    #[serde(serialize_with = "serialize_find_max")]
    FindMax,
}

fn serialize_max<S: serde::Serializer>(serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str("max")
}

fn serialize_find_max<S: serde::Serializer>(serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str("find-max")
}

impl Rate {
    /// The fixed open-loop rate, if there is one.
    pub fn per_second(self) -> Option<f64> {
        match self {
            Rate::PerSecond(rate) => Some(rate),
            Rate::Max | Rate::FindMax => None,
        }
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RateVisitor;
        impl de::Visitor<'_> for RateVisitor {
            type Value = Rate;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("events per second (a positive number), `max` or `find-max`")
            }
            fn visit_f64<E: de::Error>(self, value: f64) -> Result<Rate, E> {
                if value.is_finite() && value > 0.0 && value <= 10_000_000.0 {
                    Ok(Rate::PerSecond(value))
                } else {
                    Err(E::custom(format!(
                        "rate {value} is out of range; write events per second from 1 to 10000000, or `max` for a closed loop"
                    )))
                }
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Rate, E> {
                self.visit_f64(value as f64)
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Rate, E> {
                self.visit_f64(value as f64)
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Rate, E> {
                match value {
                    "max" => Ok(Rate::Max),
                    "find-max" => Ok(Rate::FindMax),
                    _ => Err(E::custom(format!(
                        "rate `{value}` is neither a number, `max` nor `find-max`; write e.g. `rate: 1000`, `rate: max` or `rate: find-max`"
                    ))),
                }
            }
        }
        deserializer.deserialize_any(RateVisitor)
    }
}

/// How keys are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyDistribution {
    /// Every key equally likely.
    #[default]
    Uniform,
    /// A few hot keys (Zipf, exponent `exponent`).
    Zipf,
}

/// Partition keys: how many distinct ones, and how they are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySpec {
    /// uniform or zipf.
    #[serde(default)]
    pub distribution: KeyDistribution,
    /// Number of distinct keys.
    #[serde(deserialize_with = "positive_u64")]
    pub cardinality: u64,
    /// Zipf exponent (default 1.0).
    #[serde(default = "default_zipf_exponent")]
    pub exponent: f64,
}

impl Default for KeySpec {
    fn default() -> Self {
        KeySpec {
            distribution: KeyDistribution::Uniform,
            cardinality: 1000,
            exponent: default_zipf_exponent(),
        }
    }
}

fn default_zipf_exponent() -> f64 {
    1.0
}

fn positive_u64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    let value = u64::deserialize(deserializer)?;
    if value == 0 {
        return Err(de::Error::custom("must be at least 1"));
    }
    Ok(value)
}

/// Size of each event's JSON: fixed, or drawn uniformly from a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum PayloadBytes {
    /// Every event about this size.
    Fixed(usize),
    /// Uniform in `min..=max`.
    Range {
        /// Smallest.
        min: usize,
        /// Largest.
        max: usize,
    },
}

impl Default for PayloadBytes {
    fn default() -> Self {
        PayloadBytes::Fixed(512)
    }
}

/// The largest event the generator will build; the platform refuses events over 1 MiB.
pub const MAX_PAYLOAD_BYTES: usize = 1_000_000;

impl<'de> Deserialize<'de> for PayloadBytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Fixed(usize),
            Range { min: usize, max: usize },
        }
        let raw = Raw::deserialize(deserializer).map_err(|_| {
            de::Error::custom(
                "payload_bytes is a byte count (e.g. 512) or a range `{min: 200, max: 2000}`",
            )
        })?;
        let (min, max, parsed) = match raw {
            Raw::Fixed(n) => (n, n, PayloadBytes::Fixed(n)),
            Raw::Range { min, max } => (min, max, PayloadBytes::Range { min, max }),
        };
        if min > max {
            return Err(de::Error::custom(format!(
                "payload_bytes range has min {min} above max {max}; swap them"
            )));
        }
        if max > MAX_PAYLOAD_BYTES {
            return Err(de::Error::custom(format!(
                "payload_bytes {max} is over the platform's 1 MiB event limit; use at most {MAX_PAYLOAD_BYTES}"
            )));
        }
        Ok(parsed)
    }
}

/// Events whose timestamps are older than their send time, as from a backfill or a device
/// that was offline.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LateSpec {
    /// Fraction of events that are late.
    pub fraction: Fraction,
    /// How much older their event time is.
    #[serde(with = "human_duration")]
    pub delay: Duration,
}

/// The `load:` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadSpec {
    /// Measured part of the load (e.g. `30s`, `5m`).
    #[serde(with = "human_duration")]
    pub duration: Duration,
    /// Load before the measured part; its sends are verified but excluded from rates and latencies.
    #[serde(with = "human_duration", default)]
    pub warmup: Duration,
    /// Events per second, or `max`.
    pub rate: Rate,
    /// Parallel producer tasks, each with its own client.
    #[serde(default = "default_producers", deserialize_with = "producer_count")]
    pub producers: usize,
    /// Relative weights per event type (default: user_action only).
    #[serde(default = "default_mix")]
    pub mix: BTreeMap<EventType, u32>,
    /// Partition keys.
    #[serde(default)]
    pub keys: KeySpec,
    /// Size of each event.
    #[serde(default)]
    pub payload_bytes: PayloadBytes,
    /// Fraction of sends that re-send an earlier event with the same event_id.
    #[serde(default)]
    pub duplicates: Fraction,
    /// Fraction of sends that break the schema or are not JSON at all.
    #[serde(default)]
    pub invalid: Fraction,
    /// Late events.
    #[serde(default)]
    pub late: LateSpec,
    /// How `rate: find-max` searches (defaults when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<SearchSpec>,
}

fn default_producers() -> usize {
    1
}

fn producer_count<'de, D: Deserializer<'de>>(deserializer: D) -> Result<usize, D::Error> {
    let value = usize::deserialize(deserializer)?;
    if !(1..=64).contains(&value) {
        return Err(de::Error::custom(format!(
            "producers {value} is out of range; use 1 to 64 parallel producers"
        )));
    }
    Ok(value)
}

fn default_mix() -> BTreeMap<EventType, u32> {
    BTreeMap::from([(EventType::UserAction, 1)])
}

impl LoadSpec {
    /// Warmup plus duration.
    pub fn total(&self) -> Duration {
        self.warmup + self.duration
    }

    /// Problems no single field shows (checked after parsing), each at the field to fix.
    pub fn problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        if self.duration.is_zero() {
            problems.push(Problem::at(
                [Key("load"), Key("duration")],
                "load.duration must be longer than 0s, e.g. `30s`",
            ));
        }
        if self.mix.values().all(|weight| *weight == 0) {
            problems.push(Problem::at(
                [Key("load"), Key("mix")],
                "load.mix needs at least one event type with a weight above 0, e.g. `user_action: 1`",
            ));
        }
        if self.duplicates.get() + self.invalid.get() > 1.0 {
            problems.push(Problem::at(
                [Key("load"), Key("duplicates")],
                format!(
                    "load.duplicates ({}) plus load.invalid ({}) exceed 1; together they must leave room for ordinary events",
                    self.duplicates.get(),
                    self.invalid.get()
                ),
            ));
        }
        match (&self.search, self.rate) {
            (Some(_), Rate::PerSecond(_) | Rate::Max) => problems.push(Problem::at(
                [Key("load"), Key("search")],
                "load.search only applies to `rate: find-max`; remove it or set `rate: find-max`",
            )),
            (Some(search), Rate::FindMax) => {
                for (field, fix) in search.problems() {
                    problems.push(Problem::at(
                        [Key("load"), Key("search"), Key(field)],
                        format!("load.search.{field}: {fix}"),
                    ));
                }
            }
            (None, _) => {}
        }
        problems
    }
}

/// One consumer group of the `consumers:` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsumerGroupSpec {
    /// Group name; the run id is appended so runs never share offsets.
    pub group: String,
    /// Consumer instances in the group.
    #[serde(default = "default_instances")]
    pub instances: usize,
    /// Consumer tuning profile (default: the platform's consumer profile).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<ConsumerProfile>,
    /// Property overrides on top of the profile.
    #[serde(default, deserialize_with = "property_map")]
    pub overrides: BTreeMap<String, String>,
}

fn default_instances() -> usize {
    1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse<T: for<'de> Deserialize<'de>>(json: &str) -> Result<T, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn rates_are_numbers_or_max() {
        assert_eq!(parse::<Rate>("1000"), Ok(Rate::PerSecond(1000.0)));
        assert_eq!(parse::<Rate>("12.5"), Ok(Rate::PerSecond(12.5)));
        assert_eq!(parse::<Rate>("\"max\""), Ok(Rate::Max));
        assert!(parse::<Rate>("0").unwrap_err().contains("out of range"));
        assert!(parse::<Rate>("\"fast\"")
            .unwrap_err()
            .contains("`rate: max`"));
    }

    #[test]
    fn fractions_must_lie_between_zero_and_one() {
        assert_eq!(parse::<Fraction>("0.25").map(Fraction::get), Ok(0.25));
        assert!(parse::<Fraction>("1.5")
            .unwrap_err()
            .contains("from 0 to 1"));
    }

    #[test]
    fn payload_sizes_are_fixed_or_ranges() {
        assert_eq!(parse::<PayloadBytes>("300"), Ok(PayloadBytes::Fixed(300)));
        assert_eq!(
            parse::<PayloadBytes>(r#"{"min": 10, "max": 20}"#),
            Ok(PayloadBytes::Range { min: 10, max: 20 })
        );
        assert!(parse::<PayloadBytes>(r#"{"min": 20, "max": 10}"#)
            .unwrap_err()
            .contains("swap them"));
        assert!(parse::<PayloadBytes>("2000000")
            .unwrap_err()
            .contains("1 MiB"));
    }

    #[test]
    fn load_spec_defaults_and_cross_field_problems() {
        let spec: LoadSpec = parse(r#"{"duration": "10s", "rate": 100}"#).unwrap();
        assert_eq!(spec.producers, 1);
        assert_eq!(spec.mix, default_mix());
        assert!(spec.problems().is_empty());

        let spec: LoadSpec = parse(
            r#"{"duration": "0s", "rate": 100, "duplicates": 0.6, "invalid": 0.6, "mix": {"transaction": 0}}"#,
        )
        .unwrap();
        assert_eq!(spec.problems().len(), 3);

        let unknown =
            parse::<LoadSpec>(r#"{"duration": "1s", "rate": 1, "rates": 2}"#).unwrap_err();
        assert!(unknown.contains("unknown field `rates`"), "{unknown}");
    }
}
