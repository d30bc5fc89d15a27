//! One producer task: sends on its intended schedule (or as fast as acknowledged), records
//! every outcome in its part of the ledger, and measures latency from the intended send time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, StreamExt};
use futures::FutureExt;
use hdrhistogram::Histogram;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer, PurgeConfig};
use streamproof_platform::connection::KafkaConnection;
use streamproof_platform::profiles::ClientSettings;
use tokio::sync::watch;

use crate::control::{Command, Order, ProducerControl};
use crate::generator::EventFactory;
use crate::ledger::{LedgerEntry, Outcome, RecordDigest, RecordMeta, SendId};
use crate::stats::{latency_histogram, record, Seconds};
use crate::RAW_TOPICS;

/// The run's two clocks: a monotonic one for scheduling, the wall clock for timestamps that
/// consumers compare against.
#[derive(Debug, Clone, Copy)]
pub struct RunClock {
    /// When the load started.
    pub start: Instant,
    /// The same moment, µs since the Unix epoch.
    pub start_unix_us: i64,
}

impl RunClock {
    /// A clock starting now.
    pub fn now() -> Self {
        RunClock::starting_in(Duration::ZERO)
    }

    /// A clock starting `delay` from now.
    pub fn starting_in(delay: Duration) -> Self {
        RunClock {
            start: Instant::now() + delay,
            start_unix_us: chrono::Utc::now().timestamp_micros() + delay.as_micros() as i64,
        }
    }

    /// Wall-clock µs of a monotonic instant.
    pub fn unix_us(&self, at: Instant) -> i64 {
        self.start_unix_us + at.saturating_duration_since(self.start).as_micros() as i64
    }

    /// Wall-clock µs now.
    pub fn now_unix_us(&self) -> i64 {
        self.unix_us(Instant::now())
    }

    /// The second (from the start) an instant falls in.
    pub fn second_of(&self, at: Instant) -> usize {
        at.saturating_duration_since(self.start).as_secs() as usize
    }
}

/// When sends happen.
#[derive(Debug, Clone, Copy)]
pub enum Schedule {
    /// Open loop: one send every `interval`, starting `phase` after the start.
    Open {
        /// Time between this task's sends.
        interval: Duration,
        /// Offset of this task's first send, so tasks interleave.
        phase: Duration,
    },
    /// Closed loop: keep `window` sends in flight.
    Closed {
        /// Sends in flight.
        window: usize,
    },
}

impl Schedule {
    /// The open-loop schedule of producer task `task` of `tasks` sharing `rate` events/s:
    /// each task sends every `tasks / rate` seconds, the tasks interleaved `1 / rate` apart.
    pub fn open(rate: f64, tasks: usize, task: usize) -> Self {
        Schedule::Open {
            interval: Duration::from_secs_f64(tasks as f64 / rate),
            phase: Duration::from_secs_f64(task as f64 / rate),
        }
    }

    /// How long after the start of the load send `index` is meant to go out; `None` in a
    /// closed loop, which sends as soon as there is room. The one definition of the schedule:
    /// the checker replays send times with it.
    pub fn offset_of(&self, index: usize) -> Option<Duration> {
        match self {
            Schedule::Open { interval, phase } => Some(*phase + *interval * index as u32),
            Schedule::Closed { .. } => None,
        }
    }
}

/// Counters every task updates, read by the progress display.
#[derive(Debug, Default)]
pub struct LiveCounters {
    /// Sends handed to the client.
    pub sent: AtomicU64,
    /// Acknowledged.
    pub acked: AtomicU64,
    /// Definitely failed or unknown.
    pub failed: AtomicU64,
    /// Records of this run consumed (all groups).
    pub consumed: AtomicU64,
    /// Produce p99 of the last complete second, µs.
    pub last_p99_us: AtomicU64,
}

/// Creates a producer client (again, after a client fault).
pub type Connect = Arc<dyn Fn() -> Result<FutureProducer, KafkaError> + Send + Sync>;

/// Everything one producer task needs.
pub struct TaskConfig {
    /// Task number.
    pub task: usize,
    /// Creates the task's client again after a kill or restart.
    pub connect: Connect,
    /// Orders from client faults.
    pub control: Arc<ProducerControl>,
    /// The run id every record carries.
    pub run_id: Arc<str>,
    /// When to send.
    pub schedule: Schedule,
    /// The run's clock.
    pub clock: RunClock,
    /// Sends before this are warmup.
    pub warmup: Duration,
    /// No send is scheduled at or after this.
    pub total: Duration,
    /// The task's events.
    pub factory: EventFactory,
    /// Shared progress counters.
    pub live: Arc<LiveCounters>,
}

/// What one task measured.
pub struct TaskResult {
    /// Its sends, in order.
    pub ledger: Vec<LedgerEntry>,
    /// Intended send → ack (coordinated omission corrected), measured part only.
    pub produce: Histogram<u64>,
    /// Actual send → ack (service time), measured part only.
    pub service: Histogram<u64>,
    /// Actual − intended send time.
    pub slip: Histogram<u64>,
    /// Per-second counts and latencies.
    pub seconds: Seconds,
    /// Times the client's queue was full and the send had to wait.
    pub queue_full_waits: u64,
    /// Sends in the measured part.
    pub measured_sent: u64,
    /// Acknowledged sends in the measured part.
    pub measured_acked: u64,
    /// Bytes (key + value) acknowledged in the measured part.
    pub measured_bytes: u64,
}

struct Completion {
    index: usize,
    intended: Instant,
    sent_at: Instant,
    bytes: usize,
    /// Partition and offset, or the error (`None` when the client dropped the delivery).
    result: Result<(i32, i64), Option<KafkaError>>,
}

/// Errors after which the record is certainly not in the topic.
fn definitely_not_written(error: &KafkaError) -> bool {
    matches!(
        error.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::MessageSizeTooLarge
                | RDKafkaErrorCode::InvalidMessageSize
                | RDKafkaErrorCode::InvalidMessage
                | RDKafkaErrorCode::MessageBatchTooLarge
                | RDKafkaErrorCode::InvalidRecord
                | RDKafkaErrorCode::NotEnoughReplicas
                | RDKafkaErrorCode::InvalidRequiredAcks
                | RDKafkaErrorCode::TopicAuthorizationFailed
                | RDKafkaErrorCode::ClusterAuthorizationFailed
                | RDKafkaErrorCode::InvalidTopic
                | RDKafkaErrorCode::UnknownTopic
                | RDKafkaErrorCode::UnknownPartition
                | RDKafkaErrorCode::QueueFull
                | RDKafkaErrorCode::PurgeQueue
        )
    )
}

fn outcome_of(error: &KafkaError) -> Outcome {
    if definitely_not_written(error) {
        Outcome::Failed
    } else {
        Outcome::Unknown
    }
}

/// Runs one producer task to the end of the load and until every send completed. `producer`
/// is created before the clock starts, so that client start-up does not count as slip.
pub async fn run_task(mut config: TaskConfig, producer: FutureProducer) -> TaskResult {
    let mut producer = Some(producer);
    let mut commands = config.control.subscribe();
    let mut order_pending = false;
    let mut state = TaskState {
        result: TaskResult {
            ledger: Vec::new(),
            produce: latency_histogram(),
            service: latency_histogram(),
            slip: latency_histogram(),
            seconds: Seconds::default(),
            queue_full_waits: 0,
            measured_sent: 0,
            measured_acked: 0,
            measured_bytes: 0,
        },
        clock: config.clock,
        warmup_end: config.clock.start + config.warmup,
        live: config.live.clone(),
        last_second: 0,
        resumed_at: config.clock.start,
    };
    let mut in_flight = FuturesUnordered::new();
    let end = config.clock.start + config.total;
    tokio::time::sleep_until(tokio::time::Instant::from_std(config.clock.start)).await;
    let mut index = 0;
    loop {
        if producer.is_none() && !order_pending {
            order_pending = wait_for_order(&mut commands, &mut in_flight, &mut state).await;
            if !order_pending {
                break;
            }
        }
        if order_pending || commands.has_changed().unwrap_or(false) {
            order_pending = false;
            let order = commands.borrow_and_update().order;
            match config
                .obey(order, &mut producer, &mut in_flight, &mut state)
                .await
            {
                Ok(abandoned) => config.control.obeyed(abandoned),
                Err(reason) => {
                    config.control.failed(reason);
                    break;
                }
            }
            continue;
        }
        let intended = match config.schedule {
            open @ Schedule::Open { .. } => {
                config.clock.start + open.offset_of(index).unwrap_or_default()
            }
            Schedule::Closed { window } => {
                while in_flight.len() >= window && !order_pending {
                    tokio::select! {
                        biased;
                        Ok(()) = commands.changed() => order_pending = true,
                        Some(done) = in_flight.next() => state.complete(done),
                    }
                }
                if order_pending {
                    continue;
                }
                Instant::now()
            }
        };
        if intended >= end {
            break;
        }
        // Collect completions while waiting for the intended send time. A timer armed for a
        // moment already past still waits for the next timer tick (about a millisecond), so
        // a task that is on or behind schedule only takes the completions that are ready.
        if intended > Instant::now() {
            let deadline = tokio::time::Instant::from_std(intended);
            loop {
                tokio::select! {
                    biased;
                    Ok(()) = commands.changed() => {
                        order_pending = true;
                        break;
                    }
                    Some(done) = in_flight.next(), if !in_flight.is_empty() => state.complete(done),
                    () = tokio::time::sleep_until(deadline) => break,
                }
            }
            if order_pending {
                continue;
            }
        } else {
            while let Some(Some(done)) = in_flight.next().now_or_never() {
                state.complete(done);
            }
        }
        let Some(client) = producer.as_ref() else {
            continue;
        };
        let send = config
            .send_one(client, index, intended, &mut state, &mut in_flight)
            .await;
        if let Some(done) = send {
            state.complete(done);
        }
        index += 1;
    }
    config.control.retire();
    while let Some(done) = in_flight.next().await {
        state.complete(done);
    }
    state.result
}

/// While the client is dead: completes what is in flight until the next order; false when
/// no order can come any more.
async fn wait_for_order(
    commands: &mut watch::Receiver<Command>,
    in_flight: &mut InFlight,
    state: &mut TaskState,
) -> bool {
    loop {
        tokio::select! {
            biased;
            changed = commands.changed() => return changed.is_ok(),
            Some(done) = in_flight.next(), if !in_flight.is_empty() => state.complete(done),
        }
    }
}

/// A producer client with `settings`.
pub fn producer(
    connection: &KafkaConnection,
    settings: &ClientSettings,
) -> Result<FutureProducer, KafkaError> {
    connection.tuned(settings).create()
}

type InFlight = FuturesUnordered<futures::future::BoxFuture<'static, Completion>>;

impl TaskConfig {
    /// Carries out a client fault's order; returns how many sends a kill abandoned.
    async fn obey(
        &self,
        order: Order,
        producer: &mut Option<FutureProducer>,
        in_flight: &mut InFlight,
        state: &mut TaskState,
    ) -> Result<usize, String> {
        match order {
            Order::Kill => {
                let abandoned = in_flight.len();
                if let Some(client) = producer.take() {
                    client.purge(PurgeConfig::default().queue().inflight());
                    // Dropping the last handle destroys the client, as a crash would.
                    tokio::task::block_in_place(|| drop(client));
                }
                Ok(abandoned)
            }
            Order::Run if producer.is_some() => Ok(0),
            Order::Run | Order::Restart => {
                while let Some(done) = in_flight.next().await {
                    state.complete(done);
                }
                if let Some(old) = producer.take() {
                    tokio::task::block_in_place(|| drop(old));
                }
                let client = (self.connect)().map_err(|error| {
                    format!("producer {} could not start again: {error}", self.task)
                })?;
                *producer = Some(client);
                state.resumed_at = Instant::now();
                Ok(0)
            }
        }
    }

    /// Plans and sends one record; returns a completion at once when the client refused it.
    async fn send_one(
        &mut self,
        producer: &FutureProducer,
        index: usize,
        intended: Instant,
        state: &mut TaskState,
        in_flight: &mut InFlight,
    ) -> Option<Completion> {
        let intended_us = self.clock.unix_us(intended);
        let wall = chrono::DateTime::from_timestamp_micros(intended_us).unwrap_or_default();
        let planned = self.factory.next(index, wall);
        let warmup = intended < state.warmup_end;
        state.result.ledger.push(LedgerEntry::pending(
            planned.topic,
            planned.kind,
            planned.origin_back,
            planned.late,
            warmup,
            RecordDigest::of(planned.key.as_bytes(), &planned.body),
        ));
        let meta = RecordMeta {
            run_id: self.run_id.to_string(),
            send_id: SendId::new(self.task, index),
            key_seq: planned.key_seq,
            intended_us,
        };
        let topic = RAW_TOPICS[usize::from(planned.topic)];
        let bytes = planned.body.len() + planned.key.len();
        let mut record = FutureRecord::to(topic)
            .payload(&planned.body)
            .key(&planned.key)
            .headers(meta.to_headers());
        let second = self.clock.second_of(intended);
        state.result.seconds.at(second).sent += 1;
        self.live.sent.fetch_add(1, Ordering::Relaxed);
        if !warmup {
            state.result.measured_sent += 1;
        }
        loop {
            let sent_at = Instant::now();
            match producer.send_result(record) {
                Ok(delivery) => {
                    // Sends held back by a client fault are late on purpose, not slip.
                    if !warmup && intended >= state.resumed_at {
                        record_slip(&mut state.result.slip, intended, sent_at);
                    }
                    in_flight.push(Box::pin(async move {
                        let result = match delivery.await {
                            Ok(Ok(delivered)) => Ok((delivered.partition, delivered.offset)),
                            Ok(Err((error, _))) => Err(Some(error)),
                            Err(_) => Err(None),
                        };
                        Completion {
                            index,
                            intended,
                            sent_at,
                            bytes,
                            result,
                        }
                    }));
                    return None;
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                    // The client's buffer is full: the platform is not keeping up. Wait for a
                    // completion (or briefly) and try again; the wait counts as latency.
                    record = returned;
                    state.result.queue_full_waits += 1;
                    match in_flight.next().await {
                        Some(done) => state.complete(done),
                        None => tokio::time::sleep(Duration::from_millis(1)).await,
                    }
                }
                Err((error, _)) => {
                    return Some(Completion {
                        index,
                        intended,
                        sent_at,
                        bytes,
                        result: Err(Some(error)),
                    });
                }
            }
        }
    }
}

fn record_slip(slip: &mut Histogram<u64>, intended: Instant, sent_at: Instant) {
    record(
        slip,
        sent_at.saturating_duration_since(intended).as_micros() as u64,
    );
}

struct TaskState {
    result: TaskResult,
    clock: RunClock,
    warmup_end: Instant,
    live: Arc<LiveCounters>,
    last_second: usize,
    /// When the client last came back from a client fault.
    resumed_at: Instant,
}

impl TaskState {
    fn complete(&mut self, done: Completion) {
        let now = Instant::now();
        let second = self.clock.second_of(now);
        if second > self.last_second {
            let finished = &self.result.seconds.at(self.last_second).produce;
            if !finished.is_empty() {
                self.live
                    .last_p99_us
                    .store(finished.value_at_quantile(0.99), Ordering::Relaxed);
            }
            self.last_second = second;
        }
        let (outcome, position) = match &done.result {
            Ok(position) => (Outcome::Acked, Some(*position)),
            Err(Some(error)) => (outcome_of(error), None),
            Err(None) => (Outcome::Unknown, None),
        };
        if let Some(entry) = self.result.ledger.get_mut(done.index) {
            entry.complete(outcome, position);
        }
        let measured = done.intended >= self.warmup_end;
        let bucket = self.result.seconds.at(second);
        if outcome == Outcome::Acked {
            self.live.acked.fetch_add(1, Ordering::Relaxed);
            bucket.acked += 1;
            let corrected = now.saturating_duration_since(done.intended).as_micros() as u64;
            if measured {
                record(&mut bucket.produce, corrected);
                record(&mut self.result.produce, corrected);
                let service = now.saturating_duration_since(done.sent_at).as_micros() as u64;
                record(&mut self.result.service, service);
                self.result.measured_acked += 1;
                self.result.measured_bytes += done.bytes as u64;
            }
        } else {
            self.live.failed.fetch_add(1, Ordering::Relaxed);
            bucket.failed += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_refusals_before_appending_count_as_definite_failures() {
        let refused = KafkaError::MessageProduction(RDKafkaErrorCode::NotEnoughReplicas);
        assert_eq!(outcome_of(&refused), Outcome::Failed);
        let timed_out = KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut);
        assert_eq!(outcome_of(&timed_out), Outcome::Unknown);
        let after_append =
            KafkaError::MessageProduction(RDKafkaErrorCode::NotEnoughReplicasAfterAppend);
        assert_eq!(outcome_of(&after_append), Outcome::Unknown);
    }
}
