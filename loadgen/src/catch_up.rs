//! How fast consumers drain a backlog: the catch-up rate a group reaches after an outage.
//!
//! Each instance reads its share of a topic's partitions (round-robin, as the scenario's groups
//! split them) from the oldest retained record, with the consumer profile's settings, until
//! every partition reaches the end it had when the measurement began or the time budget is
//! spent; a topic holding days of records is sampled, not read whole. The rate counts from
//! the first record received, so client start-up is reported apart from draining.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::{Offset, TopicPartitionList};
use streamproof_platform::connection::KafkaConnection;
use streamproof_platform::offsets::{list_offsets, End, StartOffsets};

use streamproof_platform::profiles::ClientSettings;

/// What a catch-up measurement saw.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CatchUp {
    /// Consumer instances.
    pub instances: usize,
    /// Records read.
    pub records: u64,
    /// From creating the clients to the first record, seconds.
    pub first_record_seconds: f64,
    /// From the first record to the end of the backlog (or of the budget), seconds.
    pub drain_seconds: f64,
    /// Whether the whole backlog was read within the budget.
    pub drained: bool,
}

impl CatchUp {
    /// Records per second while draining.
    pub fn rate(&self) -> f64 {
        if self.drain_seconds > 0.0 {
            self.records as f64 / self.drain_seconds
        } else {
            0.0
        }
    }
}

/// Reads `topic`'s backlog with `instances` consumers for at most `timeout`.
pub fn measure_catch_up(
    connection: &KafkaConnection,
    settings: &ClientSettings,
    topic: &str,
    instances: usize,
    timeout: Duration,
) -> Result<CatchUp, KafkaError> {
    let probe: BaseConsumer = connection.tuned(settings).create()?;
    let metadata = probe.fetch_metadata(Some(topic), Duration::from_secs(10))?;
    let partitions: Vec<(String, i32)> = metadata
        .topics()
        .iter()
        .flat_map(|t| t.partitions().iter().map(|p| (t.name().to_owned(), p.id())))
        .collect();
    let begins = list_offsets(&probe, &partitions, End::Beginning, Duration::from_secs(10))?;
    let ends = list_offsets(&probe, &partitions, End::Latest, Duration::from_secs(10))?;
    drop(probe);
    let from = StartOffsets(
        begins
            .into_iter()
            .map(|((topic, partition), offset)| (topic, partition, offset))
            .collect(),
    );
    let instances = instances.clamp(1, partitions.len().max(1));
    let read = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let first_record = Arc::new(std::sync::OnceLock::new());
    let workers: Vec<_> = (0..instances)
        .map(|instance| {
            let mut share = TopicPartitionList::new();
            let mut targets = Vec::new();
            for (index, (topic, partition, offset)) in from.0.iter().enumerate() {
                let end = ends
                    .get(&(topic.clone(), *partition))
                    .copied()
                    .unwrap_or(*offset);
                if index % instances == instance && end > *offset {
                    share.add_partition_offset(topic, *partition, Offset::Offset(*offset))?;
                    targets.push((topic.clone(), *partition, end));
                }
            }
            let client: BaseConsumer = connection
                .tuned(settings)
                .set(
                    "group.id",
                    format!("streamproof-catch-up-{}", uuid::Uuid::new_v4()),
                )
                .set("enable.auto.commit", "false")
                .create()?;
            client.assign(&share)?;
            let (read, first_record) = (read.clone(), first_record.clone());
            Ok(std::thread::spawn(move || {
                drain(&client, &targets, &read, &first_record, (started, timeout))
            }))
        })
        .collect::<Result<_, KafkaError>>()?;
    let mut drained = true;
    let mut done = Duration::ZERO;
    for worker in workers {
        let (finished, at) = worker.join().unwrap_or((false, timeout));
        drained &= finished;
        done = done.max(at);
    }
    let records = read.load(Ordering::Relaxed);
    let first = first_record.get().copied().unwrap_or(done);
    Ok(CatchUp {
        instances,
        records,
        first_record_seconds: first.as_secs_f64(),
        drain_seconds: done.saturating_sub(first).as_secs_f64(),
        drained,
    })
}

/// Reads until every target partition's position reaches its end (`true`) or `timeout` after
/// `started` (`false`); with the time since `started` when it stopped.
fn drain(
    client: &BaseConsumer,
    targets: &[(String, i32, i64)],
    read: &AtomicU64,
    first_record: &std::sync::OnceLock<Duration>,
    (started, timeout): (Instant, Duration),
) -> (bool, Duration) {
    let mut since_check = 0u32;
    while started.elapsed() < timeout {
        if let Some(Ok(_)) = client.poll(Duration::from_millis(100)) {
            let _ = first_record.set(started.elapsed());
            read.fetch_add(1, Ordering::Relaxed);
            since_check += 1;
            // Positions are asked for every thousand records, and whenever a poll comes back
            // empty (the end may have been reached).
            if since_check < 1000 {
                continue;
            }
        }
        since_check = 0;
        if reached_ends(client, targets) {
            return (true, started.elapsed());
        }
    }
    (false, started.elapsed())
}

/// Whether the client's position is at or past the end of every target partition (control
/// records of transactions occupy offsets too, so positions, not counts, say when it is done).
fn reached_ends(client: &BaseConsumer, targets: &[(String, i32, i64)]) -> bool {
    let Ok(positions) = client.position() else {
        return false;
    };
    targets.iter().all(|(topic, partition, end)| {
        matches!(
            positions.find_partition(topic, *partition).map(|p| p.offset()),
            Some(Offset::Offset(position)) if position >= *end
        )
    })
}
