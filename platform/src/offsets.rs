//! Partition end (and beginning) offsets for many partitions in one request per broker.
//!
//! librdkafka's per-partition watermark query costs a round of its internal queues each
//! (hundreds of milliseconds on a busy machine); a list-offsets request for every partition
//! at once costs one.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::connection::KafkaConnection;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::{Offset, TopicPartitionList};

/// Offsets by (topic, partition).
pub type OffsetMap = BTreeMap<(String, i32), i64>;

/// Which end of the partitions to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The oldest offset still retained (low watermark).
    Beginning,
    /// The offset the next record gets (high watermark; with `isolation.level=read_committed`,
    /// the last stable offset).
    Latest,
}

/// The offsets at `end` of every partition in `partitions`, from one client.
pub fn list_offsets<C: Consumer>(
    consumer: &C,
    partitions: &[(String, i32)],
    end: End,
    timeout: Duration,
) -> Result<OffsetMap, KafkaError> {
    if partitions.is_empty() {
        return Ok(OffsetMap::new());
    }
    let marker = match end {
        End::Beginning => Offset::Beginning,
        End::Latest => Offset::End,
    };
    let mut request = TopicPartitionList::new();
    for (topic, partition) in partitions {
        request.add_partition_offset(topic, *partition, marker)?;
    }
    let answer = consumer.offsets_for_times(request, timeout)?;
    let mut offsets = OffsetMap::new();
    for element in answer.elements() {
        element.error()?;
        if let Offset::Offset(offset) = element.offset() {
            offsets.insert((element.topic().to_owned(), element.partition()), offset);
        }
    }
    Ok(offsets)
}

/// Where each partition stood when a run started; the run's records all lie after it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StartOffsets(pub Vec<(String, i32, i64)>);

impl StartOffsets {
    /// Reads the end offset of every partition of `topics` now.
    pub fn snapshot(connection: &KafkaConnection, topics: &[&str]) -> Result<Self, KafkaError> {
        let client: BaseConsumer = connection.client_config().create()?;
        let timeout = Duration::from_secs(10);
        let mut partitions = Vec::new();
        for topic in topics {
            let metadata = client.fetch_metadata(Some(topic), timeout)?;
            for found in metadata.topics() {
                for partition in found.partitions() {
                    partitions.push(((*topic).to_owned(), partition.id()));
                }
            }
        }
        let ends = list_offsets(&client, &partitions, End::Latest, timeout)?;
        Ok(StartOffsets(
            ends.into_iter()
                .map(|((topic, partition), offset)| (topic, partition, offset))
                .collect(),
        ))
    }

    /// The offsets as a partition list, only those whose index `pick` accepts.
    pub fn partition_list(
        &self,
        pick: impl Fn(usize) -> bool,
    ) -> Result<TopicPartitionList, KafkaError> {
        let mut list = TopicPartitionList::new();
        for (index, (topic, partition, offset)) in self.0.iter().enumerate() {
            if pick(index) {
                list.add_partition_offset(topic, *partition, Offset::Offset(*offset))?;
            }
        }
        Ok(list)
    }
}
