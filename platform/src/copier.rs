//! The raw → bronze copier: the consume-transform-produce stage of the reference platform.
//!
//! It reads the raw topics with read_committed and writes every record unchanged (value, key,
//! headers, plus a `streamproof.source` header naming the raw topic, partition and offset) to
//! `bronze-events`. Exactly-once mode puts each batch's records and the consumed offsets in one
//! Kafka transaction, the pattern Kafka's own exactly-once tests use; at-least-once mode writes
//! each batch and commits the offsets once a second, so a crash copies the last second again.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, Headers, Message, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};

use metrics::{counter, Counter};

use crate::connection::KafkaConnection;
use crate::lag::LagProbe;
use crate::monitoring::{COPIER_BATCHES, MESSAGES_CONSUMED};
use crate::offsets::StartOffsets;
use crate::runtime::{ManagedProcess, ProcessSpec, RuntimeError, SharedProcess};

/// Header naming where a bronze record came from: `topic/partition/offset`.
pub const HEADER_SOURCE: &str = "streamproof.source";

/// How the copier commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CopierMode {
    /// Records and offsets in one transaction per batch.
    ExactlyOnce,
    /// Records first, offsets after: a crash in between duplicates the batch.
    AtLeastOnce,
}

impl CopierMode {
    /// The mode's name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            CopierMode::ExactlyOnce => "exactly-once",
            CopierMode::AtLeastOnce => "at-least-once",
        }
    }
}

/// What to copy and how.
#[derive(Debug, Clone)]
pub struct CopierConfig {
    /// The cluster.
    pub connection: KafkaConnection,
    /// Consumer group (and transactional id prefix).
    pub group: String,
    /// Commit mode.
    pub mode: CopierMode,
    /// Records per batch (per transaction).
    pub batch: usize,
    /// Topics to read.
    pub inputs: Vec<String>,
    /// Topic to write.
    pub output: String,
}

/// Why the copier stopped.
#[derive(Debug, thiserror::Error)]
#[error("{context}: {source}")]
pub struct CopierError {
    context: String,
    source: KafkaError,
}

fn kafka(context: impl Into<String>) -> impl FnOnce(KafkaError) -> CopierError {
    let context = context.into();
    move |source| CopierError { context, source }
}

/// What the copier did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CopierStats {
    /// Batches committed.
    pub batches: u64,
    /// Records copied in committed batches.
    pub records: u64,
    /// Batches aborted and read again.
    pub aborted: u64,
}

const TIMEOUT: Duration = Duration::from_secs(30);

/// Copies until `stop` is set; returns what it did.
pub fn run(config: &CopierConfig, stop: &AtomicBool) -> Result<CopierStats, CopierError> {
    let consumer: BaseConsumer = config
        .connection
        .client_config()
        .set("group.id", &config.group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("isolation.level", "read_committed")
        // Static membership: a copier restarted after a crash takes over its partitions at
        // once instead of waiting for the dead instance's session to time out.
        .set("group.instance.id", format!("{}-copier", config.group))
        .set("session.timeout.ms", "10000")
        .create()
        .map_err(kafka("create the copier's consumer"))?;
    let inputs: Vec<&str> = config.inputs.iter().map(String::as_str).collect();
    consumer
        .subscribe(&inputs)
        .map_err(kafka("subscribe to the raw topics"))?;
    let mut producer_config = config.connection.client_config();
    producer_config
        .set("enable.idempotence", "true")
        .set("linger.ms", "5");
    if config.mode == CopierMode::ExactlyOnce {
        producer_config.set("transactional.id", format!("{}-copier", config.group));
    }
    let producer: BaseProducer = producer_config
        .create()
        .map_err(kafka("create the copier's producer"))?;
    if config.mode == CopierMode::ExactlyOnce {
        producer
            .init_transactions(TIMEOUT)
            .map_err(kafka("initialise transactions"))?;
    }
    let meters = CopierMeters::new(config);
    let mut stats = CopierStats::default();
    let mut uncommitted = BTreeMap::new();
    let mut last_commit = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        let batch = next_batch(&consumer, config.batch, &meters)?;
        if config.mode == CopierMode::AtLeastOnce
            && (last_commit.elapsed() >= AT_LEAST_ONCE_COMMIT_INTERVAL || batch.is_empty())
        {
            commit(&consumer, &mut uncommitted)?;
            last_commit = Instant::now();
        }
        if batch.is_empty() {
            continue;
        }
        match config.mode {
            CopierMode::ExactlyOnce => {
                match copy_in_transaction(&consumer, &producer, config, &batch) {
                    Ok(()) => {}
                    Err(error) if abortable(&error.source) => {
                        producer
                            .abort_transaction(TIMEOUT)
                            .map_err(kafka("abort a failed transaction"))?;
                        rewind(&consumer, &batch)?;
                        stats.aborted += 1;
                        meters.aborted.increment(1);
                        continue;
                    }
                    Err(error) => return Err(error),
                }
            }
            CopierMode::AtLeastOnce => {
                produce_all(&producer, &config.output, &batch)?;
                producer.flush(TIMEOUT).map_err(kafka("write to bronze"))?;
                uncommitted.extend(next_offset_map(&batch));
            }
        }
        stats.batches += 1;
        stats.records += batch.len() as u64;
        meters.copied(&batch);
    }
    commit(&consumer, &mut uncommitted)?;
    Ok(stats)
}

/// At-least-once commits consumed offsets on an interval, as consumers with periodic commits
/// do; everything copied since the last commit is copied again after a crash.
const AT_LEAST_ONCE_COMMIT_INTERVAL: Duration = Duration::from_secs(1);

fn commit(
    consumer: &BaseConsumer,
    offsets: &mut BTreeMap<(String, i32), i64>,
) -> Result<(), CopierError> {
    if offsets.is_empty() {
        return Ok(());
    }
    let list = offset_list(offsets)?;
    consumer
        .commit(&list, CommitMode::Sync)
        .map_err(kafka("commit the consumed offsets"))?;
    offsets.clear();
    Ok(())
}

fn abortable(error: &KafkaError) -> bool {
    match error {
        KafkaError::Transaction(error) => error.txn_requires_abort(),
        _ => false,
    }
}

/// The copier's metrics: records copied per raw topic under the seed's
/// `kafka_messages_consumed_total` (counted once their batch is committed, so a batch read
/// again after an abort is not counted twice), read errors, batches by outcome.
struct CopierMeters {
    consumed: Vec<(String, Counter)>,
    errors: Counter,
    committed: Counter,
    aborted: Counter,
}

impl CopierMeters {
    fn new(config: &CopierConfig) -> Self {
        let consumed = |topic: &str, status: &'static str| {
            counter!(
                MESSAGES_CONSUMED,
                "topic" => topic.to_owned(),
                "group_id" => config.group.clone(),
                "status" => status
            )
        };
        let batches = |outcome: &'static str| counter!(COPIER_BATCHES, "group_id" => config.group.clone(), "outcome" => outcome);
        CopierMeters {
            consumed: config
                .inputs
                .iter()
                .map(|topic| (topic.clone(), consumed(topic, "success")))
                .collect(),
            errors: consumed("", "error"),
            committed: batches("committed"),
            aborted: batches("aborted"),
        }
    }

    fn copied(&self, batch: &[OwnedMessage]) {
        for (topic, counter) in &self.consumed {
            let records = batch.iter().filter(|m| m.topic() == topic).count();
            counter.increment(records as u64);
        }
        self.committed.increment(1);
    }
}

/// Up to `size` records, waiting at most 200 ms for more once the first arrived.
fn next_batch(
    consumer: &BaseConsumer,
    size: usize,
    meters: &CopierMeters,
) -> Result<Vec<OwnedMessage>, CopierError> {
    let mut batch = Vec::new();
    let started = Instant::now();
    while batch.len() < size && started.elapsed() < Duration::from_millis(200) {
        match consumer.poll(Duration::from_millis(50)) {
            Some(Ok(message)) => batch.push(message.detach()),
            Some(Err(error @ KafkaError::MessageConsumptionFatal(_))) => {
                return Err(kafka("read the raw topics")(error))
            }
            // A broker that goes away (a restart, a lost connection) is reported as a consumer
            // error that librdkafka recovers from on its own: keep copying once it is back.
            Some(Err(error)) => {
                meters.errors.increment(1);
                eprintln!("copier: {error}; retrying");
            }
            None if batch.is_empty() => return Ok(batch),
            None => {}
        }
    }
    Ok(batch)
}

/// The offsets after the batch, per partition: what to commit.
fn next_offset_map(batch: &[OwnedMessage]) -> BTreeMap<(String, i32), i64> {
    let mut next: BTreeMap<(String, i32), i64> = BTreeMap::new();
    for message in batch {
        let entry = next
            .entry((message.topic().to_owned(), message.partition()))
            .or_insert(0);
        *entry = (*entry).max(message.offset() + 1);
    }
    next
}

fn offset_list(offsets: &BTreeMap<(String, i32), i64>) -> Result<TopicPartitionList, CopierError> {
    let mut list = TopicPartitionList::new();
    for ((topic, partition), offset) in offsets {
        list.add_partition_offset(topic, *partition, Offset::Offset(*offset))
            .map_err(kafka("build the offsets to commit"))?;
    }
    Ok(list)
}

/// Seeks every partition of the batch back to the batch's first record.
fn rewind(consumer: &BaseConsumer, batch: &[OwnedMessage]) -> Result<(), CopierError> {
    let mut first: BTreeMap<(String, i32), i64> = BTreeMap::new();
    for message in batch {
        let entry = first
            .entry((message.topic().to_owned(), message.partition()))
            .or_insert(i64::MAX);
        *entry = (*entry).min(message.offset());
    }
    for ((topic, partition), offset) in first {
        consumer
            .seek(&topic, partition, Offset::Offset(offset), TIMEOUT)
            .map_err(kafka("rewind after an aborted transaction"))?;
    }
    Ok(())
}

fn bronze_headers(message: &OwnedMessage) -> OwnedHeaders {
    let mut headers = OwnedHeaders::new();
    if let Some(source) = message.headers() {
        for header in source.iter() {
            headers = headers.insert(Header {
                key: header.key,
                value: header.value,
            });
        }
    }
    let origin = format!(
        "{}/{}/{}",
        message.topic(),
        message.partition(),
        message.offset()
    );
    headers.insert(Header {
        key: HEADER_SOURCE,
        value: Some(origin.as_bytes()),
    })
}

/// Queues every record of the batch on the producer, waiting while its queue is full.
fn produce_all(
    producer: &BaseProducer,
    output: &str,
    batch: &[OwnedMessage],
) -> Result<(), CopierError> {
    for message in batch {
        let mut record = BaseRecord::<[u8], [u8]>::to(output).headers(bronze_headers(message));
        if let Some(key) = message.key() {
            record = record.key(key);
        }
        if let Some(payload) = message.payload() {
            record = record.payload(payload);
        }
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                    record = returned;
                    producer.poll(Duration::from_millis(10));
                }
                Err((error, _)) => return Err(kafka("write to bronze")(error)),
            }
        }
    }
    Ok(())
}

fn copy_in_transaction(
    consumer: &BaseConsumer,
    producer: &BaseProducer,
    config: &CopierConfig,
    batch: &[OwnedMessage],
) -> Result<(), CopierError> {
    producer
        .begin_transaction()
        .map_err(kafka("begin a transaction"))?;
    produce_all(producer, &config.output, batch)?;
    let metadata = consumer
        .group_metadata()
        .ok_or_else(|| kafka("read the group metadata")(KafkaError::NoMessageReceived))?;
    producer
        .send_offsets_to_transaction(&offset_list(&next_offset_map(batch))?, &metadata, TIMEOUT)
        .map_err(kafka("add the consumed offsets to the transaction"))?;
    producer
        .commit_transaction(TIMEOUT)
        .map_err(kafka("commit a transaction"))
}

/// The copier as a stage of a run: a process of its own (so faults can kill it), drained
/// and stopped before bronze is verified.
pub struct CopierStage {
    /// The copier's process.
    pub process: SharedProcess,
    /// Where the output topic stood before the copier started.
    pub start: StartOffsets,
    config: CopierConfig,
}

/// Why the copier stage could not start.
#[derive(Debug, thiserror::Error)]
pub enum CopierStageError {
    /// The output topic's offsets could not be read.
    #[error("read {topic}'s offsets: {source}")]
    Offsets {
        /// The output topic.
        topic: String,
        /// Kafka's error.
        source: KafkaError,
    },
    /// The process did not start.
    #[error("start the copier: {0}")]
    Process(#[from] RuntimeError),
}

impl CopierStage {
    /// Notes where the output topic stands, then starts `executable copier REACH …` with
    /// `config` (`reach`: the arguments that name the cluster, e.g. `--platform FILE`), its
    /// output in `dir/copier.log` and its pid in `dir/copier.pid`. It ends with this process
    /// in every case; the pid file tells where it ran should this process be killed.
    pub fn start(
        config: &CopierConfig,
        executable: &Path,
        reach: &[String],
        dir: &Path,
    ) -> Result<Self, CopierStageError> {
        let start = StartOffsets::snapshot(&config.connection, &[config.output.as_str()]).map_err(
            |source| CopierStageError::Offsets {
                topic: config.output.clone(),
                source,
            },
        )?;
        let mut args = vec!["copier".to_owned()];
        args.extend(reach.iter().cloned());
        args.extend([
            "--group".to_owned(),
            config.group.clone(),
            "--mode".to_owned(),
            config.mode.as_str().to_owned(),
            "--batch".to_owned(),
            config.batch.to_string(),
        ]);
        let process = ManagedProcess::launch(ProcessSpec {
            pid_file: Some(dir.join("copier.pid")),
            ..ProcessSpec::new(executable, args, &config.group, &dir.join("copier.log"))
        })?;
        Ok(CopierStage {
            process: Arc::new(Mutex::new(process)),
            start,
            config: config.clone(),
        })
    }

    /// The cluster it copies in.
    pub fn connection(&self) -> &KafkaConnection {
        &self.config.connection
    }

    /// The topic it writes.
    pub fn output(&self) -> &str {
        &self.config.output
    }

    /// The copier's mode, as the result names it.
    pub fn mode(&self) -> &'static str {
        self.config.mode.as_str()
    }

    /// Waits until the copier has committed everything in its input topics (or `timeout`),
    /// then stops it.
    pub fn drain_and_stop(&self, timeout: Duration) {
        let started = Instant::now();
        if let Ok(probe) = LagProbe::new(&self.config.connection, &self.config.group) {
            while started.elapsed() < timeout {
                if probe
                    .sample(Some(&self.config.inputs))
                    .is_ok_and(|report| report.total == 0)
                {
                    break;
                }
                std::thread::sleep(Duration::from_millis(250));
            }
        }
        if let Ok(mut process) = self.process.lock() {
            process.stop(Duration::from_secs(30));
        }
    }
}
