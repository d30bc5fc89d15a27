//! Topic naming (`<layer>-<data_type>`), per-layer retention and the standard topic set.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// A layer of the medallion architecture; the first part of every topic name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layer {
    /// Events as producers sent them: a short-term buffer, the data lives on in bronze.
    Raw,
    /// Raw records landed as-is, for replay and debugging.
    Bronze,
    /// Validated, cleansed and deduplicated events.
    Silver,
    /// Aggregated business metrics.
    Gold,
    /// Records that failed processing, with the error that made them fail.
    Dlq,
}

impl Layer {
    /// Every layer, upstream first.
    pub const ALL: [Layer; 5] = [
        Layer::Raw,
        Layer::Bronze,
        Layer::Silver,
        Layer::Gold,
        Layer::Dlq,
    ];

    /// The name prefix of this layer's topics.
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Raw => "raw",
            Layer::Bronze => "bronze",
            Layer::Silver => "silver",
            Layer::Gold => "gold",
            Layer::Dlq => "dlq",
        }
    }

    /// Default retention of the layer's topics in milliseconds: raw 7 days, bronze 90 days,
    /// silver 2 years and gold 7 years, as the platform's retention policy sets them. Dead
    /// letters are kept 30 days, long enough to investigate and replay them.
    pub fn default_retention_ms(self) -> i64 {
        match self {
            Layer::Raw => 7 * DAY_MS,
            Layer::Bronze => 90 * DAY_MS,
            Layer::Silver => 2 * 365 * DAY_MS,
            Layer::Gold => 7 * 365 * DAY_MS,
            Layer::Dlq => 30 * DAY_MS,
        }
    }

    /// Partitions a standard topic of this layer gets unless the user overrides them.
    pub fn default_partitions(self) -> i32 {
        match self {
            Layer::Raw | Layer::Bronze | Layer::Silver => 6,
            Layer::Gold | Layer::Dlq => 3,
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A topic name that follows the `<layer>-<data_type>` convention.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicName {
    layer: Layer,
    data_type: String,
}

/// Why a string is not a conventional topic name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopicNameError {
    /// The prefix before the first `-` is not a known layer.
    #[error("topic `{name}` does not start with a layer (raw-, bronze-, silver-, gold- or dlq-)")]
    UnknownLayer {
        /// The rejected name.
        name: String,
    },
    /// Nothing, or something Kafka would refuse, follows the layer.
    #[error("topic `{name}` needs a data type of lowercase letters, digits, `-` or `_` after the layer, e.g. `raw-events`")]
    BadDataType {
        /// The rejected name.
        name: String,
    },
}

impl TopicName {
    /// A name from its two parts; the data type is checked like a parsed name's.
    pub fn new(layer: Layer, data_type: &str) -> Result<Self, TopicNameError> {
        format!("{layer}-{data_type}").parse()
    }

    /// The layer part.
    pub fn layer(&self) -> Layer {
        self.layer
    }

    /// The data type part (`events`, `transactions`, ...).
    pub fn data_type(&self) -> &str {
        &self.data_type
    }
}

impl FromStr for TopicName {
    type Err = TopicNameError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        let (prefix, data_type) =
            name.split_once('-')
                .ok_or_else(|| TopicNameError::UnknownLayer {
                    name: name.to_owned(),
                })?;
        let layer = Layer::ALL
            .into_iter()
            .find(|layer| layer.as_str() == prefix)
            .ok_or_else(|| TopicNameError::UnknownLayer {
                name: name.to_owned(),
            })?;
        let well_formed = !data_type.is_empty()
            && name.len() <= 249
            && data_type
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if !well_formed {
            return Err(TopicNameError::BadDataType {
                name: name.to_owned(),
            });
        }
        Ok(TopicName {
            layer,
            data_type: data_type.to_owned(),
        })
    }
}

impl fmt::Display for TopicName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.layer, self.data_type)
    }
}

/// Kafka's `cleanup.policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CleanupPolicy {
    /// Old segments are deleted when retention expires.
    Delete,
    /// Only the latest record per key is kept.
    Compact,
    /// Both.
    CompactDelete,
}

impl CleanupPolicy {
    /// The value Kafka stores for this policy.
    pub fn as_kafka(self) -> &'static str {
        match self {
            CleanupPolicy::Delete => "delete",
            CleanupPolicy::Compact => "compact",
            CleanupPolicy::CompactDelete => "compact,delete",
        }
    }

    /// Parses Kafka's value, in either order of `compact,delete`.
    pub fn from_kafka(value: &str) -> Option<Self> {
        let mut parts: Vec<&str> = value.split(',').map(str::trim).collect();
        parts.sort_unstable();
        match parts.as_slice() {
            ["delete"] => Some(CleanupPolicy::Delete),
            ["compact"] => Some(CleanupPolicy::Compact),
            ["compact", "delete"] => Some(CleanupPolicy::CompactDelete),
            _ => None,
        }
    }
}

/// Everything streamproof sets when it creates a topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicConfig {
    /// Topic name.
    pub name: String,
    /// Number of partitions.
    pub partitions: i32,
    /// Replicas per partition.
    pub replication_factor: i32,
    /// `retention.ms`.
    pub retention_ms: i64,
    /// `compression.type` (`producer` keeps whatever the producer sent).
    pub compression_type: String,
    /// `min.insync.replicas`.
    pub min_insync_replicas: i32,
    /// `cleanup.policy`.
    pub cleanup_policy: CleanupPolicy,
}

impl TopicConfig {
    /// The topic as the result describes it.
    pub fn info(&self) -> streamproof_result::TopicInfo {
        streamproof_result::TopicInfo {
            name: self.name.clone(),
            partitions: self.partitions,
            replication_factor: self.replication_factor,
            min_insync_replicas: self.min_insync_replicas,
        }
    }
}

impl TopicConfig {
    /// The topic-level configs Kafka stores for this topic, by Kafka's names.
    pub fn kafka_configs(&self) -> BTreeMap<&'static str, String> {
        BTreeMap::from([
            ("retention.ms", self.retention_ms.to_string()),
            ("compression.type", self.compression_type.clone()),
            ("min.insync.replicas", self.min_insync_replicas.to_string()),
            ("cleanup.policy", self.cleanup_policy.as_kafka().to_owned()),
        ])
    }
}

/// The names of the standard topic set, in the order they are applied.
pub const STANDARD_TOPICS: [&str; 9] = [
    "raw-events",
    "raw-transactions",
    "raw-system-events",
    "raw-metrics",
    "raw-logs",
    "bronze-events",
    "silver-events",
    "gold-metrics",
    "dlq-events",
];

/// How the standard topic set is sized; `None` fields adapt to the cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicSetOptions {
    /// Partitions for every topic instead of the per-layer default.
    pub partitions: Option<i32>,
    /// Replication factor instead of `min(brokers, 3)`.
    pub replication_factor: Option<i32>,
    /// `min.insync.replicas` instead of `min(replication, 2)`.
    pub min_insync_replicas: Option<i32>,
    /// `compression.type` instead of `producer`.
    pub compression_type: Option<String>,
}

/// Replication factor the platform uses on a cluster of `brokers`: `min(brokers, 3)`.
pub fn replication_for(brokers: usize) -> i32 {
    brokers.clamp(1, 3) as i32
}

/// `min.insync.replicas` for a replication factor: `min(replication, 2)`, so a single replica
/// may be lost without blocking `acks=all` writers.
pub fn min_insync_for(replication_factor: i32) -> i32 {
    replication_factor.clamp(1, 2)
}

/// The standard topic set for a cluster of `brokers`, with the per-layer retention.
pub fn standard_topics(brokers: usize, options: &TopicSetOptions) -> Vec<TopicConfig> {
    let replication_factor = options
        .replication_factor
        .unwrap_or_else(|| replication_for(brokers));
    let min_insync_replicas = options
        .min_insync_replicas
        .unwrap_or_else(|| min_insync_for(replication_factor));
    STANDARD_TOPICS
        .iter()
        .map(|name| {
            let layer = name
                .parse::<TopicName>()
                .map(|topic| topic.layer())
                .unwrap_or(Layer::Raw);
            TopicConfig {
                name: (*name).to_owned(),
                partitions: options
                    .partitions
                    .unwrap_or_else(|| layer.default_partitions()),
                replication_factor,
                retention_ms: layer.default_retention_ms(),
                compression_type: options
                    .compression_type
                    .clone()
                    .unwrap_or_else(|| "producer".to_owned()),
                min_insync_replicas,
                cleanup_policy: CleanupPolicy::Delete,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_standard_topic_follows_the_naming_convention() {
        for name in STANDARD_TOPICS {
            let parsed: TopicName = name.parse().unwrap();
            assert_eq!(parsed.to_string(), name);
        }
    }

    #[test]
    fn names_without_a_layer_or_data_type_are_rejected() {
        assert!(matches!(
            "events".parse::<TopicName>(),
            Err(TopicNameError::UnknownLayer { .. })
        ));
        assert!(matches!(
            "platinum-events".parse::<TopicName>(),
            Err(TopicNameError::UnknownLayer { .. })
        ));
        assert!(matches!(
            "raw-".parse::<TopicName>(),
            Err(TopicNameError::BadDataType { .. })
        ));
        assert!(matches!(
            "raw-Events".parse::<TopicName>(),
            Err(TopicNameError::BadDataType { .. })
        ));
        assert_eq!(
            TopicName::new(Layer::Gold, "metrics").unwrap().to_string(),
            "gold-metrics"
        );
    }

    #[test]
    fn retention_follows_the_layer_policy() {
        assert_eq!(Layer::Raw.default_retention_ms(), 604_800_000);
        assert_eq!(Layer::Bronze.default_retention_ms(), 7_776_000_000);
        assert_eq!(Layer::Silver.default_retention_ms(), 63_072_000_000);
        assert_eq!(Layer::Gold.default_retention_ms(), 220_752_000_000);
    }

    #[test]
    fn standard_set_adapts_replication_to_the_cluster() {
        let single = standard_topics(1, &TopicSetOptions::default());
        assert_eq!(single.len(), 9);
        assert!(single
            .iter()
            .all(|t| t.replication_factor == 1 && t.min_insync_replicas == 1));

        let five = standard_topics(5, &TopicSetOptions::default());
        assert!(five
            .iter()
            .all(|t| t.replication_factor == 3 && t.min_insync_replicas == 2));
        let raw = &five[0];
        assert_eq!(raw.name, "raw-events");
        assert_eq!(raw.partitions, 6);
        assert_eq!(raw.retention_ms, 604_800_000);
        let gold = five.iter().find(|t| t.name == "gold-metrics").unwrap();
        assert_eq!(gold.retention_ms, Layer::Gold.default_retention_ms());
    }

    #[test]
    fn overrides_win_over_the_adaptive_defaults() {
        let options = TopicSetOptions {
            partitions: Some(12),
            replication_factor: Some(2),
            min_insync_replicas: None,
            compression_type: Some("lz4".into()),
        };
        for topic in standard_topics(3, &options) {
            assert_eq!(topic.partitions, 12);
            assert_eq!(topic.replication_factor, 2);
            assert_eq!(topic.min_insync_replicas, 2);
            assert_eq!(topic.compression_type, "lz4");
        }
    }

    #[test]
    fn cleanup_policy_round_trips_kafka_values() {
        for policy in [
            CleanupPolicy::Delete,
            CleanupPolicy::Compact,
            CleanupPolicy::CompactDelete,
        ] {
            assert_eq!(CleanupPolicy::from_kafka(policy.as_kafka()), Some(policy));
        }
        assert_eq!(
            CleanupPolicy::from_kafka("delete,compact"),
            Some(CleanupPolicy::CompactDelete)
        );
        assert_eq!(CleanupPolicy::from_kafka("shred"), None);
    }
}
