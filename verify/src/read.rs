//! Reading a range of partitions with read_committed: from the run's start offsets to their
//! end, until the observer has seen (or can prove gone) everything it waits for, or the drain
//! timeout passes.
//!
//! Records can disappear from the start of a partition while a run goes on (retention, an
//! operator's DeleteRecords, truncation). The reader never lets the client reset a position on
//! its own (librdkafka's default jumps to the partition's *end*, which would make every record
//! of that partition look lost): it starts each partition at `max(run start, log start)`, and
//! when the log start passes its position mid-read it continues from the new log start and
//! records it. A reset it cannot explain that way is an error naming the partition.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer, DefaultConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use streamproof_loadgen::consumer::StartOffsets;
use streamproof_platform::batch::BatchReader;
use streamproof_platform::connection::KafkaConnection;
use streamproof_platform::offsets::{list_offsets, End, OffsetMap};
use streamproof_result::{RawPartition, VerificationStep};

/// Why a check could not read what it needed.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The client failed.
    #[error("{context}: {source}")]
    Kafka {
        /// What was being done.
        context: String,
        /// The client's error.
        source: KafkaError,
    },
    /// A partition's position became invalid for a reason other than removed records.
    #[error("the reader's position on {topic}/{partition} became invalid (position {position}, log start {log_start}, end {end}): the platform truncated the partition while it was read; run the verification again, or look for an unclean leader election in the broker logs")]
    UnexplainedReset {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// The reader's position.
        position: i64,
        /// The partition's log start.
        log_start: i64,
        /// The partition's end.
        end: i64,
    },
    /// A schema of the registry cannot be parsed.
    #[error("a schema registered for the run cannot be parsed: {0}")]
    Schema(String),
}

pub(crate) fn kafka(context: impl Into<String>) -> impl FnOnce(KafkaError) -> VerifyError {
    let context = context.into();
    move |source| VerifyError::Kafka { context, source }
}

/// The cost of verifying `layer`, whose reading began at `started`.
pub fn cost(layer: &str, started: std::time::Instant, records_read: u64) -> VerificationStep {
    VerificationStep {
        layer: layer.to_owned(),
        seconds: started.elapsed().as_secs_f64(),
        records_read,
    }
}

/// What the reader knows of every partition it reads: log starts and its own positions.
pub(crate) struct PartitionView<'a> {
    log_starts: &'a OffsetMap,
    positions: &'a OffsetMap,
}

impl PartitionView<'_> {
    /// The partition's log start offset (0 when unknown).
    pub fn log_start(&self, topic: &str, partition: i32) -> i64 {
        lookup(self.log_starts, topic, partition).unwrap_or(0)
    }

    /// The next offset the reader will read in the partition (every record below it has been
    /// read or was removed).
    pub fn position(&self, topic: &str, partition: i32) -> i64 {
        lookup(self.positions, topic, partition).unwrap_or(0)
    }
}

fn lookup(map: &OffsetMap, topic: &str, partition: i32) -> Option<i64> {
    map.get(&(topic.to_owned(), partition)).copied()
}

/// Sees every record read and says when it has seen all it waits for.
pub(crate) trait Observer {
    fn observe<M: Message>(&mut self, message: &M);

    /// Whether every record waited for has been seen. Called after every record: cheap.
    fn complete(&self) -> bool;

    /// Whether every record waited for has been seen or is proven gone: below its partition's
    /// log start, or below the reader's position there. Called about once a second while
    /// records are missing.
    fn accounted_for(&mut self, _partitions: &PartitionView<'_>) -> bool {
        self.complete()
    }
}

/// What to read.
pub(crate) struct Range<'a> {
    pub connection: &'a KafkaConnection,
    pub group: String,
    pub topics: &'a [String],
    pub start: &'a StartOffsets,
    pub timeout: Duration,
}

/// How a read ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ReadOutcome {
    /// Whether everything waited for was seen or proven gone before the timeout.
    pub drained: bool,
    /// Every partition read.
    pub partitions: Vec<RawPartition>,
}

/// Once the observer is complete, this long without a record also ends the read: transaction
/// markers can keep a position one short of the end offset.
const QUIET: Duration = Duration::from_secs(2);

const LIST_TIMEOUT: Duration = Duration::from_secs(10);

/// Records taken from the client between two looks at the clock: reading the clock per record
/// would cost more than the record's check.
const BATCH: usize = 1024;

/// Reads the range into `observer`.
pub(crate) fn read_range(
    range: &Range<'_>,
    observer: &mut impl Observer,
) -> Result<ReadOutcome, VerifyError> {
    let mut reader = PartitionReader::open(range)?;
    let deadline = Instant::now() + range.timeout;
    let mut last_refresh = Instant::now();
    let mut last_record = Instant::now();
    let mut done = false;
    loop {
        let read = reader.take_batch(observer)?;
        let idle = read == 0;
        if !idle {
            last_record = Instant::now();
        }
        done = done || observer.complete();
        if done && last_record.elapsed() > QUIET {
            return Ok(reader.outcome(true));
        }
        // An idle reader may have reached the end: look sooner than once a second.
        let due = last_refresh.elapsed()
            > if idle {
                Duration::from_millis(250)
            } else {
                Duration::from_secs(1)
            };
        if due || done {
            reader.refresh_positions()?;
            if reader.reached_ends() {
                // Only a reader at the end can be done, so only then is it worth proving the
                // missing records gone (a scan of the ledger and a log-start request).
                if !done {
                    reader.refresh_log_starts()?;
                    done = observer.accounted_for(&reader.view());
                }
                // Re-read the ends once more: the range is complete when nothing was added.
                let latest = reader.list(End::Latest)?;
                if latest == reader.ends && done {
                    return Ok(reader.outcome(true));
                }
                reader.ends = latest;
            }
            last_refresh = Instant::now();
        }
        if Instant::now() > deadline {
            return Ok(reader.outcome(done));
        }
    }
}

/// The checker's consumer and what it knows of each partition.
struct PartitionReader {
    reader: BatchReader<DefaultConsumerContext>,
    partitions: Vec<(String, i32)>,
    run_starts: OffsetMap,
    log_starts: OffsetMap,
    /// The next offset to read per partition: where it was assigned until a record is read.
    positions: OffsetMap,
    ends: OffsetMap,
}

impl PartitionReader {
    fn open(range: &Range<'_>) -> Result<Self, VerifyError> {
        let consumer: BaseConsumer = range
            .connection
            .client_config()
            .set("group.id", &range.group)
            .set("enable.auto.commit", "false")
            .set("isolation.level", "read_committed")
            // Never move a position silently: a reset is handled (or refused) explicitly.
            .set("auto.offset.reset", "error")
            // The client stops fetching once this many records wait, then pauses for
            // fetch.queue.backoff.ms (1 s by default): longer than the checker takes to empty
            // the queue, so it sat idle most of the time (143,000 records/s read back where
            // kcat read 950,000). Fetch more ahead and look again soon.
            .set("queued.min.messages", "1000000")
            .set("fetch.queue.backoff.ms", "10")
            .create()
            .map_err(kafka("create the checker's consumer"))?;
        let reader = BatchReader::new(consumer, BATCH);
        let run_starts: OffsetMap = range
            .start
            .0
            .iter()
            .filter(|(topic, _, _)| range.topics.contains(topic))
            .map(|(topic, partition, offset)| ((topic.clone(), *partition), *offset))
            .collect();
        let mut reader = PartitionReader {
            reader,
            partitions: run_starts.keys().cloned().collect(),
            run_starts,
            log_starts: OffsetMap::new(),
            positions: OffsetMap::new(),
            ends: OffsetMap::new(),
        };
        reader.refresh_log_starts()?;
        reader.positions = reader
            .run_starts
            .iter()
            .map(|(key, start)| (key.clone(), (*start).max(reader.log_start(key))))
            .collect();
        reader.assign()?;
        reader.ends = reader.list(End::Latest)?;
        Ok(reader)
    }

    fn list(&self, end: End) -> Result<OffsetMap, VerifyError> {
        list_offsets(self.reader.consumer(), &self.partitions, end, LIST_TIMEOUT)
            .map_err(kafka("read the start and end of the partitions"))
    }

    fn log_start(&self, key: &(String, i32)) -> i64 {
        self.log_starts.get(key).copied().unwrap_or(0)
    }

    fn refresh_log_starts(&mut self) -> Result<(), VerifyError> {
        self.log_starts = self.list(End::Beginning)?;
        Ok(())
    }

    /// Hands the records the client has ready, up to [`BATCH`], to `observer`, waiting up to
    /// 100 ms for the first; the number handed.
    fn take_batch(&mut self, observer: &mut impl Observer) -> Result<usize, VerifyError> {
        let mut reset = false;
        let mut failure = None;
        // Records after an error in the same batch are still read: the client handed them over.
        let taken = self
            .reader
            .take(Duration::from_millis(100), |record| match record {
                Ok(record) => observer.observe(&record),
                Err(KafkaError::MessageConsumption(RDKafkaErrorCode::AutoOffsetReset)) => {
                    reset = true;
                }
                Err(error) => {
                    failure.get_or_insert(error);
                }
            });
        if let Some(error) = failure {
            return Err(kafka("read the topics")(error));
        }
        if reset {
            self.continue_from_log_starts()?;
        }
        Ok(taken)
    }

    /// Assigns every partition at its position.
    fn assign(&self) -> Result<(), VerifyError> {
        let mut assignment = TopicPartitionList::new();
        for ((topic, partition), offset) in &self.positions {
            assignment
                .add_partition_offset(topic, *partition, Offset::Offset(*offset))
                .map_err(kafka("assign the partitions to read"))?;
        }
        self.reader
            .assign(&assignment)
            .map_err(kafka("assign the partitions to read"))
    }

    /// After the client refused a position (records below it were removed while the read was
    /// going on): every partition whose position fell below its log start continues there.
    fn continue_from_log_starts(&mut self) -> Result<(), VerifyError> {
        self.refresh_positions()?;
        self.refresh_log_starts()?;
        self.ends = self.list(End::Latest)?;
        let mut moved = false;
        for (key, position) in self.positions.iter_mut() {
            let log_start = self.log_starts.get(key).copied().unwrap_or(0);
            if *position < log_start {
                *position = log_start;
                moved = true;
            }
        }
        if moved {
            return self.assign();
        }
        let beyond_end = self
            .positions
            .iter()
            .find(|(key, position)| **position > self.ends.get(*key).copied().unwrap_or(0));
        let (key, position) = beyond_end
            .or_else(|| self.positions.iter().next())
            .map(|(key, position)| (key.clone(), *position))
            .unwrap_or_default();
        Err(VerifyError::UnexplainedReset {
            log_start: self.log_start(&key),
            end: self.ends.get(&key).copied().unwrap_or(0),
            topic: key.0,
            partition: key.1,
            position,
        })
    }

    /// Takes the client's position where it has one (a partition it has read from).
    fn refresh_positions(&mut self) -> Result<(), VerifyError> {
        let positions = self
            .reader
            .consumer()
            .position()
            .map_err(kafka("read the checker's position"))?;
        for element in positions.elements() {
            if let Offset::Offset(offset) = element.offset() {
                let key = (element.topic().to_owned(), element.partition());
                if let Some(position) = self.positions.get_mut(&key) {
                    *position = (*position).max(offset);
                }
            }
        }
        Ok(())
    }

    /// Whether the position reached every end offset.
    fn reached_ends(&self) -> bool {
        self.ends.iter().all(|(key, end)| {
            self.positions
                .get(key)
                .is_some_and(|position| position >= end)
        })
    }

    fn view(&self) -> PartitionView<'_> {
        PartitionView {
            log_starts: &self.log_starts,
            positions: &self.positions,
        }
    }

    fn outcome(&self, drained: bool) -> ReadOutcome {
        let partitions = self
            .partitions
            .iter()
            .map(|key| RawPartition {
                topic: key.0.clone(),
                partition: key.1,
                run_start: self.run_starts.get(key).copied().unwrap_or(0),
                log_start: self.log_start(key),
                end: self.ends.get(key).copied().unwrap_or(0),
            })
            .collect();
        ReadOutcome {
            drained,
            partitions,
        }
    }
}

/// Log starts by (topic, partition), for observers that look them up per record.
pub(crate) fn log_starts_by_partition(partitions: &[RawPartition]) -> HashMap<(String, i32), i64> {
    partitions
        .iter()
        .map(|p| ((p.topic.clone(), p.partition), p.log_start))
        .collect()
}
