//! Consumer lag: a group's committed offset against each partition's high watermark.

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};
use serde::Serialize;

use crate::connection::KafkaConnection;
use crate::offsets::{list_offsets, End};

/// One partition's lag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartitionLag {
    /// Topic.
    pub topic: String,
    /// Partition id.
    pub partition: i32,
    /// The group's committed offset; `None` when the group never committed on it.
    pub committed: Option<i64>,
    /// Oldest offset still retained.
    pub low_watermark: i64,
    /// Offset the next record will get.
    pub high_watermark: i64,
    /// Records not yet consumed: `high - committed`, or `high - low` with no commit.
    pub lag: i64,
}

/// A group's lag on every partition it has (or was asked about).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LagReport {
    /// The consumer group.
    pub group: String,
    /// Per partition, by topic then partition.
    pub partitions: Vec<PartitionLag>,
    /// Sum over partitions.
    pub total: i64,
}

/// Why lag could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LagError {
    /// A request to the cluster failed.
    #[error("{operation}: {source}")]
    Kafka {
        /// What was being read.
        operation: String,
        /// The client's error.
        source: KafkaError,
    },
    /// An explicitly requested topic does not exist.
    #[error("topic `{0}` does not exist")]
    UnknownTopic(String),
}

fn kafka(operation: impl Into<String>) -> impl FnOnce(KafkaError) -> LagError {
    let operation = operation.into();
    move |source| LagError::Kafka { operation, source }
}

/// Committed offsets, retried while the group's coordinator is still being elected or
/// loaded (the first request on a new cluster creates the offsets topic).
fn committed_offsets(
    consumer: &BaseConsumer,
    wanted: &TopicPartitionList,
    timeout: Duration,
) -> Result<TopicPartitionList, KafkaError> {
    let deadline = Instant::now() + timeout * 3;
    loop {
        match consumer.committed_offsets(wanted.clone(), timeout) {
            Err(error) if coordinator_not_ready(&error) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(250));
            }
            other => return other,
        }
    }
}

/// Whether a group request failed only because the group's coordinator is still being
/// elected or loading (normal on a cluster that just started); such requests are retried.
pub fn coordinator_not_ready(error: &KafkaError) -> bool {
    matches!(
        error.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::NotCoordinator
                | RDKafkaErrorCode::CoordinatorNotAvailable
                | RDKafkaErrorCode::CoordinatorLoadInProgress
        )
    )
}

/// A reusable client that samples one group's lag, for repeated sampling during a run.
pub struct LagProbe {
    consumer: BaseConsumer,
    group: String,
    timeout: Duration,
}

impl LagProbe {
    /// A probe of `group` on the cluster `connection` reaches.
    pub fn new(connection: &KafkaConnection, group: &str) -> Result<Self, LagError> {
        let consumer: BaseConsumer = connection
            .client_config()
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .create()
            .map_err(kafka(format!(
                "connect to Kafka at {}",
                connection.bootstrap_servers()
            )))?;
        Ok(LagProbe {
            consumer,
            group: group.to_owned(),
            timeout: Duration::from_secs(10),
        })
    }

    /// Reads the lag now. With `topics`, every partition of those topics is reported
    /// (uncommitted ones count everything retained as lag); without, every partition of every
    /// topic on which the group has committed an offset.
    ///
    /// Blocking: call from a blocking context.
    pub fn sample(&self, topics: Option<&[String]>) -> Result<LagReport, LagError> {
        let consumer = &self.consumer;
        let timeout = self.timeout;
        let group = self.group.as_str();
        let metadata = consumer
            .fetch_metadata(None, timeout)
            .map_err(kafka("fetch cluster metadata"))?;

        let mut wanted = TopicPartitionList::new();
        for requested in topics.unwrap_or_default() {
            if !metadata.topics().iter().any(|t| t.name() == requested) {
                return Err(LagError::UnknownTopic(requested.clone()));
            }
        }
        for topic in metadata.topics() {
            let requested = match topics {
                Some(list) => list.iter().any(|name| name == topic.name()),
                None => !topic.name().starts_with("__"),
            };
            if requested {
                for partition in topic.partitions() {
                    wanted.add_partition(topic.name(), partition.id());
                }
            }
        }
        let committed = committed_offsets(consumer, &wanted, timeout)
            .map_err(kafka(format!("read committed offsets of group `{group}`")))?;

        let wanted_list: Vec<(String, i32)> = committed
            .elements()
            .iter()
            .map(|e| (e.topic().to_owned(), e.partition()))
            .collect();
        let lows = list_offsets(consumer, &wanted_list, End::Beginning, timeout)
            .map_err(kafka("read the partitions' oldest offsets"))?;
        let highs = list_offsets(consumer, &wanted_list, End::Latest, timeout)
            .map_err(kafka("read the partitions' end offsets"))?;
        let mut partitions = Vec::new();
        for element in committed.elements() {
            let committed = match element.offset() {
                Offset::Offset(offset) => Some(offset),
                _ => None,
            };
            if committed.is_none() && topics.is_none() {
                continue;
            }
            let key = (element.topic().to_owned(), element.partition());
            let low = lows.get(&key).copied().unwrap_or(0);
            let high = highs.get(&key).copied().unwrap_or(low);
            partitions.push(PartitionLag {
                topic: key.0,
                partition: key.1,
                committed,
                low_watermark: low,
                high_watermark: high,
                lag: (high - committed.unwrap_or(low)).max(0),
            });
        }
        partitions.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
        Ok(LagReport {
            group: group.to_owned(),
            total: partitions.iter().map(|p| p.lag).sum(),
            partitions,
        })
    }
}

/// Reads the lag of `group` once; see [`LagProbe::sample`].
///
/// Blocking: call from a blocking context.
pub fn consumer_lag(
    connection: &KafkaConnection,
    group: &str,
    topics: Option<&[String]>,
) -> Result<LagReport, LagError> {
    LagProbe::new(connection, group)?.sample(topics)
}
