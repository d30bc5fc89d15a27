//! Tuning profiles: named client presets from the platform's performance-tuning tables, mapped
//! to librdkafka properties, with per-property overrides.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Which side of Kafka a profile configures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientRole {
    /// A producer.
    Producer,
    /// A consumer.
    Consumer,
}

/// The producer presets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProducerProfile {
    /// acks=all, 3 retries, snappy, 1 MiB requests, idempotent: nothing acknowledged is lost.
    Reliability,
    /// acks=1, 32 KiB batches, 100 ms linger, lz4: as many events per second as possible.
    Throughput,
    /// acks=1, 16 KiB batches, no linger, no compression, 32 MiB buffer: fast feedback.
    Development,
    /// acks=all, 32 KiB batches, 100 ms linger, snappy, 64 MiB buffer, idempotent.
    Production,
}

/// The consumer presets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConsumerProfile {
    /// Manual commits after processing, start from the earliest offset, batches of 100.
    AtLeastOnce,
    /// Manual commits, read only committed transactional data.
    ExactlyOnce,
    /// Fetch as soon as one byte is there, batches of 100.
    LowLatency,
    /// Wait for 1 KiB or 500 ms per fetch, batches of 500.
    HighThroughput,
}

/// A profile name that is not a preset of that role.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    /// Not one of the presets.
    #[error("unknown {role} profile `{name}`; choose one of: {choices}")]
    UnknownProfile {
        /// producer or consumer.
        role: &'static str,
        /// The rejected name.
        name: String,
        /// The valid names.
        choices: String,
    },
    /// An override name that is neither a librdkafka property nor a known setting.
    #[error("unknown setting `{name}`; use a librdkafka property name (such as linger.ms or fetch.wait.max.ms) or one of: {aliases}")]
    UnknownSetting {
        /// The rejected name.
        name: String,
        /// Accepted short names.
        aliases: String,
    },
    /// A value that must be a number is not.
    #[error("setting `{name}` needs a whole number, got `{value}`")]
    NotANumber {
        /// The setting.
        name: String,
        /// The rejected value.
        value: String,
    },
}

impl ProducerProfile {
    /// Every producer preset.
    pub const ALL: [ProducerProfile; 4] = [
        ProducerProfile::Reliability,
        ProducerProfile::Throughput,
        ProducerProfile::Development,
        ProducerProfile::Production,
    ];

    /// The profile's name as users write it.
    pub fn name(self) -> &'static str {
        match self {
            ProducerProfile::Reliability => "reliability",
            ProducerProfile::Throughput => "throughput",
            ProducerProfile::Development => "development",
            ProducerProfile::Production => "production",
        }
    }

    /// The preset's settings, by the short names of the tuning tables.
    fn settings(self) -> &'static [(&'static str, &'static str)] {
        match self {
            ProducerProfile::Reliability => &[
                ("acks", "all"),
                ("retries", "3"),
                ("compression_type", "snappy"),
                ("max_request_size", "1048576"),
                ("enable_idempotence", "true"),
            ],
            ProducerProfile::Throughput => &[
                ("acks", "1"),
                ("batch_size", "32768"),
                ("linger_ms", "100"),
                ("compression_type", "lz4"),
            ],
            ProducerProfile::Development => &[
                ("acks", "1"),
                ("batch_size", "16384"),
                ("linger_ms", "0"),
                ("compression_type", "none"),
                ("buffer_memory", "33554432"),
            ],
            ProducerProfile::Production => &[
                ("acks", "all"),
                ("batch_size", "32768"),
                ("linger_ms", "100"),
                ("compression_type", "snappy"),
                ("buffer_memory", "67108864"),
                ("enable_idempotence", "true"),
            ],
        }
    }

    /// The effective client settings of this preset.
    pub fn settings_map(self) -> ClientSettings {
        ClientSettings::from_preset(ClientRole::Producer, self.name(), self.settings())
    }
}

impl ConsumerProfile {
    /// Every consumer preset.
    pub const ALL: [ConsumerProfile; 4] = [
        ConsumerProfile::AtLeastOnce,
        ConsumerProfile::ExactlyOnce,
        ConsumerProfile::LowLatency,
        ConsumerProfile::HighThroughput,
    ];

    /// The profile's name as users write it.
    pub fn name(self) -> &'static str {
        match self {
            ConsumerProfile::AtLeastOnce => "at-least-once",
            ConsumerProfile::ExactlyOnce => "exactly-once",
            ConsumerProfile::LowLatency => "low-latency",
            ConsumerProfile::HighThroughput => "high-throughput",
        }
    }

    fn settings(self) -> &'static [(&'static str, &'static str)] {
        match self {
            ConsumerProfile::AtLeastOnce => &[
                ("enable_auto_commit", "false"),
                ("auto_offset_reset", "earliest"),
                ("max_poll_records", "100"),
            ],
            ConsumerProfile::ExactlyOnce => &[
                ("enable_auto_commit", "false"),
                ("auto_offset_reset", "earliest"),
                ("isolation_level", "read_committed"),
            ],
            ConsumerProfile::LowLatency => &[
                ("max_poll_records", "100"),
                ("fetch_min_bytes", "1"),
                ("fetch_max_wait_ms", "0"),
            ],
            ConsumerProfile::HighThroughput => &[
                ("max_poll_records", "500"),
                ("fetch_min_bytes", "1024"),
                ("fetch_max_wait_ms", "500"),
            ],
        }
    }

    /// The effective client settings of this preset.
    pub fn settings_map(self) -> ClientSettings {
        ClientSettings::from_preset(ClientRole::Consumer, self.name(), self.settings())
    }
}

fn parse_profile<T: Copy>(
    all: &[T],
    name_of: fn(T) -> &'static str,
    role: &'static str,
    name: &str,
) -> Result<T, ProfileError> {
    all.iter()
        .copied()
        .find(|p| name_of(*p) == name)
        .ok_or_else(|| ProfileError::UnknownProfile {
            role,
            name: name.to_owned(),
            choices: all
                .iter()
                .map(|p| name_of(*p))
                .collect::<Vec<_>>()
                .join(", "),
        })
}

impl FromStr for ProducerProfile {
    type Err = ProfileError;
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        parse_profile(&Self::ALL, Self::name, "producer", name)
    }
}

impl FromStr for ConsumerProfile {
    type Err = ProfileError;
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        parse_profile(&Self::ALL, Self::name, "consumer", name)
    }
}

impl fmt::Display for ProducerProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for ConsumerProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The client-side setting librdkafka has no property for: how many records a consumer
/// processes per poll batch before it commits.
pub const MAX_POLL_RECORDS: &str = "max.poll.records";

/// Short setting names of the tuning tables and the librdkafka property each one sets.
const ALIASES: [(&str, &str); 14] = [
    ("acks", "acks"),
    ("retries", "retries"),
    ("compression_type", "compression.type"),
    ("max_request_size", "message.max.bytes"),
    ("batch_size", "batch.size"),
    ("linger_ms", "linger.ms"),
    ("buffer_memory", "queue.buffering.max.kbytes"),
    ("enable_idempotence", "enable.idempotence"),
    ("enable_auto_commit", "enable.auto.commit"),
    ("auto_offset_reset", "auto.offset.reset"),
    ("max_poll_records", MAX_POLL_RECORDS),
    ("fetch_min_bytes", "fetch.min.bytes"),
    ("fetch_max_wait_ms", "fetch.wait.max.ms"),
    ("isolation_level", "isolation.level"),
];

/// Translates a setting to the librdkafka property and value it means. librdkafka sizes its
/// producer buffer in KiB where the tuning tables give bytes.
fn to_property(name: &str, value: &str) -> Result<(String, String), ProfileError> {
    if name.contains('.') {
        return Ok((name.to_owned(), value.to_owned()));
    }
    let (_, property) = ALIASES
        .iter()
        .find(|(alias, _)| *alias == name)
        .ok_or_else(|| ProfileError::UnknownSetting {
            name: name.to_owned(),
            aliases: ALIASES.map(|(alias, _)| alias).join(", "),
        })?;
    let value = if name == "buffer_memory" {
        let bytes: u64 = value.parse().map_err(|_| ProfileError::NotANumber {
            name: name.to_owned(),
            value: value.to_owned(),
        })?;
        (bytes / 1024).to_string()
    } else {
        value.to_owned()
    };
    Ok(((*property).to_owned(), value))
}

/// Property names whose values are secrets and never printed or stored.
pub(crate) fn is_secret(property: &str) -> bool {
    const MARKERS: [&str; 6] = [
        "password",
        "secret",
        "token",
        "jaas",
        "key.pem",
        "oauthbearer.config",
    ];
    let lower = property.to_ascii_lowercase();
    MARKERS.iter().any(|marker| lower.contains(marker))
}

/// Shown instead of a secret value.
pub const REDACTED: &str = "[redacted]";

/// A profile's effective settings: librdkafka properties plus the few settings streamproof
/// applies itself, and which of them the user overrode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientSettings {
    /// Producer or consumer.
    pub role: ClientRole,
    /// The preset this started from.
    pub profile: String,
    /// librdkafka properties by name (and [`MAX_POLL_RECORDS`]).
    pub properties: BTreeMap<String, String>,
    /// Properties the user set on top of the preset.
    pub overridden: BTreeSet<String>,
}

impl ClientSettings {
    fn from_preset(role: ClientRole, profile: &str, settings: &[(&str, &str)]) -> Self {
        let properties = settings
            .iter()
            // Preset settings are all known aliases with valid values.
            .filter_map(|(name, value)| to_property(name, value).ok())
            .collect();
        ClientSettings {
            role,
            profile: profile.to_owned(),
            properties,
            overridden: BTreeSet::new(),
        }
    }

    /// Sets one property, by its librdkafka name or a short name of the tuning tables
    /// (`linger_ms`, `buffer_memory` in bytes, ...).
    pub fn set(&mut self, name: &str, value: &str) -> Result<&mut Self, ProfileError> {
        let (property, value) = to_property(name.trim(), value.trim())?;
        self.overridden.insert(property.clone());
        self.properties.insert(property, value);
        Ok(self)
    }

    /// Applies several overrides in order.
    pub fn with_overrides<'a>(
        mut self,
        overrides: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, ProfileError> {
        for (name, value) in overrides {
            self.set(name, value)?;
        }
        Ok(self)
    }

    /// Records a consumer processes per batch, when the profile sets it.
    pub fn max_poll_records(&self) -> Option<usize> {
        self.properties.get(MAX_POLL_RECORDS)?.parse().ok()
    }

    /// The properties librdkafka takes (streamproof's own, such as `max.poll.records`, left
    /// out); [`crate::connection::KafkaConnection::tuned`] applies them.
    pub fn librdkafka_properties(&self) -> impl Iterator<Item = (&str, &str)> {
        self.properties
            .iter()
            .filter(|(name, _)| name.as_str() != MAX_POLL_RECORDS)
            .map(|(name, value)| (name.as_str(), value.as_str()))
    }

    /// The properties with secret values replaced by [`REDACTED`], safe to print or store.
    pub fn redacted(&self) -> BTreeMap<String, String> {
        self.properties
            .iter()
            .map(|(name, value)| {
                let shown = if is_secret(name) { REDACTED } else { value };
                (name.clone(), shown.to_owned())
            })
            .collect()
    }
}

/// Reads a map of client properties whose values may be written as strings, numbers or
/// booleans (`linger.ms: 5`, `enable.idempotence: true`).
pub fn property_map<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Scalar {
        Text(String),
        Integer(i64),
        Float(f64),
        Flag(bool),
    }
    let raw = <BTreeMap<String, Scalar> as serde::Deserialize>::deserialize(deserializer).map_err(|_| {
        serde::de::Error::custom("properties are `name: value` pairs with a string, number or true/false value, e.g. `linger.ms: 5`")
    })?;
    Ok(raw
        .into_iter()
        .map(|(name, value)| {
            let text = match value {
                Scalar::Text(text) => text,
                Scalar::Integer(number) => number.to_string(),
                Scalar::Float(number) => number.to_string(),
                Scalar::Flag(flag) => flag.to_string(),
            };
            (name, text)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn property<'a>(settings: &'a ClientSettings, name: &str) -> Option<&'a str> {
        settings.properties.get(name).map(String::as_str)
    }

    #[test]
    fn producer_presets_match_the_tuning_tables() {
        let reliability = ProducerProfile::Reliability.settings_map();
        assert_eq!(property(&reliability, "acks"), Some("all"));
        assert_eq!(property(&reliability, "retries"), Some("3"));
        assert_eq!(property(&reliability, "compression.type"), Some("snappy"));
        assert_eq!(property(&reliability, "message.max.bytes"), Some("1048576"));

        let throughput = ProducerProfile::Throughput.settings_map();
        assert_eq!(property(&throughput, "acks"), Some("1"));
        assert_eq!(property(&throughput, "batch.size"), Some("32768"));
        assert_eq!(property(&throughput, "linger.ms"), Some("100"));
        assert_eq!(property(&throughput, "compression.type"), Some("lz4"));

        let development = ProducerProfile::Development.settings_map();
        assert_eq!(property(&development, "linger.ms"), Some("0"));
        assert_eq!(property(&development, "compression.type"), Some("none"));
        assert_eq!(
            property(&development, "queue.buffering.max.kbytes"),
            Some("32768")
        );

        let production = ProducerProfile::Production.settings_map();
        assert_eq!(property(&production, "acks"), Some("all"));
        assert_eq!(
            property(&production, "queue.buffering.max.kbytes"),
            Some("65536")
        );
    }

    #[test]
    fn consumer_presets_match_the_tuning_tables() {
        let low = ConsumerProfile::LowLatency.settings_map();
        assert_eq!(low.max_poll_records(), Some(100));
        assert_eq!(property(&low, "fetch.min.bytes"), Some("1"));
        assert_eq!(property(&low, "fetch.wait.max.ms"), Some("0"));
        let high = ConsumerProfile::HighThroughput.settings_map();
        assert_eq!(high.max_poll_records(), Some(500));
        assert_eq!(property(&high, "fetch.min.bytes"), Some("1024"));
        assert_eq!(property(&high, "fetch.wait.max.ms"), Some("500"));
        let exactly = ConsumerProfile::ExactlyOnce.settings_map();
        assert_eq!(
            property(&exactly, "isolation.level"),
            Some("read_committed")
        );
        assert_eq!(property(&exactly, "enable.auto.commit"), Some("false"));
        let at_least = ConsumerProfile::AtLeastOnce.settings_map();
        assert_eq!(property(&at_least, "auto.offset.reset"), Some("earliest"));
    }

    #[test]
    fn overrides_accept_both_property_and_short_names() {
        let settings = ProducerProfile::Throughput
            .settings_map()
            .with_overrides([
                ("linger.ms", "5"),
                ("acks", "all"),
                ("buffer_memory", "2097152"),
            ])
            .unwrap();
        assert_eq!(property(&settings, "linger.ms"), Some("5"));
        assert_eq!(property(&settings, "acks"), Some("all"));
        assert_eq!(
            property(&settings, "queue.buffering.max.kbytes"),
            Some("2048")
        );
        assert_eq!(settings.overridden.len(), 3);
    }

    #[test]
    fn unknown_short_names_and_profiles_are_errors_that_list_the_choices() {
        let err = ProducerProfile::Throughput
            .settings_map()
            .with_overrides([("lingerms", "5")])
            .unwrap_err();
        assert!(err.to_string().contains("linger_ms"), "{err}");
        let err = "fast".parse::<ProducerProfile>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown producer profile `fast`; choose one of: reliability, throughput, development, production"
        );
        assert_eq!(
            "exactly-once".parse::<ConsumerProfile>(),
            Ok(ConsumerProfile::ExactlyOnce)
        );
    }

    #[test]
    fn secrets_are_redacted() {
        let settings = ProducerProfile::Reliability
            .settings_map()
            .with_overrides([("sasl.password", "hunter2"), ("ssl.key.password", "x")])
            .unwrap();
        let shown = settings.redacted();
        assert_eq!(shown["sasl.password"], REDACTED);
        assert_eq!(shown["ssl.key.password"], REDACTED);
        assert_eq!(shown["acks"], "all");
    }

    #[test]
    fn librdkafka_properties_leave_out_client_side_settings() {
        let settings = ConsumerProfile::HighThroughput.settings_map();
        let properties: BTreeMap<&str, &str> = settings.librdkafka_properties().collect();
        assert_eq!(properties.get(MAX_POLL_RECORDS), None);
        assert_eq!(properties.get("fetch.wait.max.ms"), Some(&"500"));
    }
}
