//! Reading a range of partitions with read_committed: from the run's start offsets to their
//! end, until the observer has seen everything it waits for or the drain timeout passes.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::BorrowedMessage;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use streamproof_loadgen::consumer::StartOffsets;
use streamproof_platform::offsets::{list_offsets, End};

/// Why a check could not read what it needed.
#[derive(Debug, thiserror::Error)]
#[error("{context}: {source}")]
pub struct VerifyError {
    context: String,
    source: KafkaError,
}

pub(crate) fn kafka(context: impl Into<String>) -> impl FnOnce(KafkaError) -> VerifyError {
    let context = context.into();
    move |source| VerifyError { context, source }
}

/// Sees every record read and says when it has seen all it waits for.
pub(crate) trait Observer {
    fn observe(&mut self, message: &BorrowedMessage<'_>);
    fn complete(&self) -> bool;
}

/// What to read.
pub(crate) struct Range<'a> {
    pub bootstrap: &'a str,
    pub group: String,
    pub topics: &'a [String],
    pub start: &'a StartOffsets,
    pub timeout: Duration,
}

/// Once the observer is complete, this long without a record also ends the read: transaction
/// markers can keep a position one short of the end offset.
const QUIET: Duration = Duration::from_secs(2);

/// Reads the range into `observer`; returns whether it was complete before the timeout.
pub(crate) fn read_range(
    range: &Range<'_>,
    observer: &mut impl Observer,
) -> Result<bool, VerifyError> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", range.bootstrap)
        .set("group.id", &range.group)
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .create()
        .map_err(kafka("create the checker's consumer"))?;
    let mut assignment = TopicPartitionList::new();
    let mut starts = HashMap::new();
    for (topic, partition, offset) in &range.start.0 {
        if range.topics.contains(topic) {
            assignment
                .add_partition_offset(topic, *partition, Offset::Offset(*offset))
                .map_err(kafka("assign the partitions to read"))?;
            starts.insert((topic.clone(), *partition), *offset);
        }
    }
    consumer
        .assign(&assignment)
        .map_err(kafka("assign the partitions to read"))?;
    let deadline = Instant::now() + range.timeout;
    let mut ends = end_offsets(&consumer, &assignment)?;
    let mut last_refresh = Instant::now();
    let mut last_record = Instant::now();
    loop {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(message)) => {
                observer.observe(&message);
                last_record = Instant::now();
            }
            Some(Err(error)) => return Err(kafka("read the topics")(error)),
            None => {}
        }
        let complete = observer.complete();
        if complete && last_record.elapsed() > QUIET {
            return Ok(true);
        }
        if last_refresh.elapsed() > Duration::from_secs(1) || complete {
            if reached(&consumer, &starts, &ends)? {
                // Re-read the ends once more: the range is complete when nothing was added.
                let latest = end_offsets(&consumer, &assignment)?;
                if latest == ends && complete {
                    return Ok(true);
                }
                ends = latest;
            }
            last_refresh = Instant::now();
        }
        if Instant::now() > deadline {
            return Ok(observer.complete());
        }
    }
}

/// The last stable offset of every assigned partition (what read_committed can reach).
fn end_offsets(
    consumer: &BaseConsumer,
    assignment: &TopicPartitionList,
) -> Result<Vec<(String, i32, i64)>, VerifyError> {
    let partitions: Vec<(String, i32)> = assignment
        .elements()
        .iter()
        .map(|e| (e.topic().to_owned(), e.partition()))
        .collect();
    let ends = list_offsets(consumer, &partitions, End::Latest, Duration::from_secs(10))
        .map_err(kafka("read the end of the partitions"))?;
    Ok(ends
        .into_iter()
        .map(|((topic, partition), offset)| (topic, partition, offset))
        .collect())
}

/// Whether the consumer's position reached every end offset. A partition it has not read
/// from yet has no position and stands at its start offset.
fn reached(
    consumer: &BaseConsumer,
    starts: &HashMap<(String, i32), i64>,
    ends: &[(String, i32, i64)],
) -> Result<bool, VerifyError> {
    let positions = consumer
        .position()
        .map_err(kafka("read the checker's position"))?;
    Ok(ends.iter().all(|(topic, partition, end)| {
        let position = match positions
            .find_partition(topic, *partition)
            .map(|p| p.offset())
        {
            Some(Offset::Offset(position)) => position,
            _ => starts
                .get(&(topic.clone(), *partition))
                .copied()
                .unwrap_or(0),
        };
        position >= *end
    }))
}
