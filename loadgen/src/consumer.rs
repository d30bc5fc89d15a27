//! Consumers that read the run's records as a platform consumer would, measuring end-to-end
//! latency (intended send → consumed, on one clock) and committing offsets so lag is visible.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, DefaultConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use streamproof_platform::batch::BatchReader;
use streamproof_platform::connection::KafkaConnection;
use streamproof_platform::lag::coordinator_not_ready;
use streamproof_platform::profiles::ClientSettings;
use tokio::sync::watch;

use crate::driver::{LiveCounters, RunClock};
use crate::ledger::RecordStamp;
use crate::stats::{latency_histogram, record as record_latency, Seconds};
pub use streamproof_platform::offsets::StartOffsets;

/// Commits the start offsets for `group`, so its lag counts only this run's records. Retries
/// while the group's coordinator is still loading (a cluster that just started).
pub fn commit_start(
    connection: &KafkaConnection,
    group: &str,
    start: &StartOffsets,
) -> Result<(), KafkaError> {
    let client: BaseConsumer = connection
        .client_config()
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()?;
    let offsets = start.partition_list(|_| true)?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match client.commit(&offsets, CommitMode::Sync) {
            Err(error) if coordinator_not_ready(&error) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(250));
            }
            other => return other,
        }
    }
}

/// One consumer instance.
pub struct ConsumerConfig {
    /// Full group id.
    pub group: String,
    /// This instance's number within the group.
    pub instance: usize,
    /// Instances in the group; partitions are split round-robin between them.
    pub instances: usize,
    /// The cluster.
    pub connection: KafkaConnection,
    /// Consumer settings.
    pub settings: ClientSettings,
    /// Only records of this run are measured.
    pub run_id: Arc<str>,
    /// The run's clock.
    pub clock: RunClock,
    /// Records meant to be sent before this are warmup.
    pub warmup_end_us: i64,
    /// Where to start reading.
    pub start: Arc<StartOffsets>,
    /// Shared progress counters.
    pub live: Arc<LiveCounters>,
    /// Becomes true when the consumer should commit and stop.
    pub stop: watch::Receiver<bool>,
}

/// What one consumer instance saw.
pub struct ConsumerResult {
    /// Group id.
    pub group: String,
    /// Records of this run consumed.
    pub consumed: u64,
    /// Records of other producers or runs seen and skipped.
    pub foreign: u64,
    /// End-to-end latency of measured records.
    pub end_to_end: Histogram<u64>,
    /// Per-second consumed counts and latencies.
    pub seconds: Seconds,
}

/// Records a consumer takes from its client at once.
const BATCH: usize = 1024;

/// A consumer instance's client, reading its partitions in batches.
pub type ConsumerClient = BatchReader<DefaultConsumerContext>;

impl ConsumerConfig {
    /// The instance's client, assigned its share of the partitions at their start offsets.
    /// Created before the load starts, so client start-up does not disturb the schedule.
    pub fn connect(&self) -> Result<ConsumerClient, KafkaError> {
        let mut client_config = self.connection.tuned(&self.settings);
        client_config.set("group.id", &self.group);
        let consumer: BaseConsumer = client_config.create()?;
        let assignment = self
            .start
            .partition_list(|index| index % self.instances == self.instance)?;
        let reader = BatchReader::new(consumer, BATCH);
        reader.assign(&assignment)?;
        Ok(reader)
    }
}

/// Consumes the assigned partitions until told to stop, on the calling thread (blocking).
pub fn run_consumer(config: ConsumerConfig, mut client: ConsumerClient) -> ConsumerResult {
    let commit_every = config.settings.max_poll_records().unwrap_or(500) as u64;
    let mut result = ConsumerResult {
        group: config.group.clone(),
        consumed: 0,
        foreign: 0,
        end_to_end: latency_histogram(),
        seconds: Seconds::default(),
    };
    let mut since_commit = 0u64;
    let mut last_commit = Instant::now();
    while !*config.stop.borrow() {
        // Every record of a batch was with the client when the batch was taken.
        let received = Instant::now();
        let taken = client.take(Duration::from_millis(100), |record| {
            if let Ok(record) = record {
                result.observe(&config, &record, received);
            }
        });
        since_commit += taken as u64;
        if since_commit >= commit_every
            || (since_commit > 0 && last_commit.elapsed() > Duration::from_millis(500))
        {
            let _ = client.consumer().commit_consumer_state(CommitMode::Async);
            since_commit = 0;
            last_commit = Instant::now();
        }
    }
    commit_final_positions(client.consumer());
    result
}

/// Commits where the consumer stands, waiting for the answer: an asynchronous commit still in
/// flight when the consumer closes may be dropped, which would leave lag that is not there.
fn commit_final_positions(consumer: &BaseConsumer) {
    let Ok(positions) = consumer.position() else {
        return;
    };
    for _ in 0..3 {
        match consumer.commit(&positions, CommitMode::Sync) {
            Err(error) if coordinator_not_ready(&error) => {
                std::thread::sleep(Duration::from_millis(250));
            }
            _ => return,
        }
    }
}

impl ConsumerResult {
    fn observe(&mut self, config: &ConsumerConfig, record: &impl Message, received: Instant) {
        match record.headers().and_then(RecordStamp::read) {
            Some(stamp) if stamp.of_run(&config.run_id) => {
                self.consumed += 1;
                config.live.consumed.fetch_add(1, Ordering::Relaxed);
                let bucket = self.seconds.at(config.clock.second_of(received));
                bucket.consumed += 1;
                if stamp.intended_us >= config.warmup_end_us {
                    let latency =
                        (config.clock.unix_us(received) - stamp.intended_us).max(0) as u64;
                    record_latency(&mut bucket.end_to_end, latency);
                    record_latency(&mut self.end_to_end, latency);
                }
            }
            _ => self.foreign += 1,
        }
    }
}
