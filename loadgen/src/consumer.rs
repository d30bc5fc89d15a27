//! Consumers that read the run's records as a platform consumer would, measuring end-to-end
//! latency (intended send → consumed, on one clock) and committing offsets so lag is visible.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use streamproof_platform::connection::KafkaConnection;
use streamproof_platform::lag::coordinator_not_ready;
use streamproof_platform::profiles::ClientSettings;
use tokio::sync::watch;

use crate::driver::{LiveCounters, RunClock};
use crate::ledger::RecordMeta;
use crate::meters::ConsumerMeters;
use crate::stats::{latency_histogram, record, Seconds};
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

impl ConsumerConfig {
    /// The instance's client, assigned its share of the partitions at their start offsets.
    /// Created before the load starts, so client start-up does not disturb the schedule.
    pub fn connect(&self) -> Result<StreamConsumer, KafkaError> {
        let mut client_config = self.connection.tuned(&self.settings);
        client_config.set("group.id", &self.group);
        let consumer: StreamConsumer = client_config.create()?;
        let assignment = self
            .start
            .partition_list(|index| index % self.instances == self.instance)?;
        consumer.assign(&assignment)?;
        Ok(consumer)
    }
}

/// Consumes the assigned partitions until told to stop.
pub async fn run_consumer(config: ConsumerConfig, consumer: StreamConsumer) -> ConsumerResult {
    let commit_every = config.settings.max_poll_records().unwrap_or(500) as u64;
    let mut result = ConsumerResult {
        group: config.group.clone(),
        consumed: 0,
        foreign: 0,
        end_to_end: latency_histogram(),
        seconds: Seconds::default(),
    };
    let meters = ConsumerMeters::new(&config.run_id, &config.group);
    let mut stop = config.stop.clone();
    let mut since_commit = 0u64;
    let mut last_commit = Instant::now();
    loop {
        tokio::select! {
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    break;
                }
            }
            message = consumer.recv() => {
                let Ok(message) = message else {
                    meters.failed();
                    continue;
                };
                let received = Instant::now();
                match message.headers().and_then(RecordMeta::from_headers) {
                    Some(meta) if *meta.run_id == *config.run_id => {
                        result.consumed += 1;
                        config.live.consumed.fetch_add(1, Ordering::Relaxed);
                        meters.consumed(message.topic());
                        let bucket = result.seconds.at(config.clock.second_of(received));
                        bucket.consumed += 1;
                        if meta.intended_us >= config.warmup_end_us {
                            let latency = (config.clock.unix_us(received) - meta.intended_us).max(0) as u64;
                            record(&mut bucket.end_to_end, latency);
                            record(&mut result.end_to_end, latency);
                        }
                    }
                    _ => result.foreign += 1,
                }
                since_commit += 1;
            }
        }
        if since_commit >= commit_every
            || (since_commit > 0 && last_commit.elapsed() > Duration::from_millis(500))
        {
            let _ = consumer.commit_consumer_state(CommitMode::Async);
            since_commit = 0;
            last_commit = Instant::now();
        }
    }
    // Always, once anything was read: the last asynchronous commit may still be in flight
    // (it reset `since_commit`) and would be lost with the client, leaving lag behind that
    // the group never had.
    if result.consumed + result.foreign > 0 {
        for _ in 0..3 {
            match consumer.commit_consumer_state(CommitMode::Sync) {
                // Nothing newer than what is committed: the last commit arrived.
                Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => break,
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }
    result
}
