//! One producer task: sends on its intended schedule (or as fast as acknowledged), records
//! every outcome in its part of the ledger, and measures latency from the intended send time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::sync::Mutex;

use hdrhistogram::Histogram;
use rdkafka::client::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{
    BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext, PurgeConfig,
};
use streamproof_platform::connection::KafkaConnection;
use streamproof_platform::profiles::ClientSettings;
use tokio::sync::watch;

use crate::control::{Command, Order, ProducerControl};
use crate::generator::EventFactory;
use crate::ledger::{record_headers, LedgerEntry, Outcome, RecordDigest, SendId};
use crate::meters::ProducerMeters;
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
    /// How many sends the schedule makes within `total` (open loop; 0 for a closed loop, whose
    /// count depends on the platform). The ledger is sized for it up front: growing a
    /// ten-million-entry ledger by doubling would copy it and, at its peak, hold it three times.
    pub fn sends_within(&self, total: Duration) -> usize {
        match self {
            Schedule::Open { interval, phase } if !interval.is_zero() => {
                let span = total.saturating_sub(*phase).as_nanos();
                usize::try_from(span / interval.as_nanos() + 1).unwrap_or(0)
            }
            _ => 0,
        }
    }

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

/// A producer task's client: librdkafka's own producer, polled by the task's thread, which
/// reports each delivery straight into the task's queue (no future per send).
pub type Client = BaseProducer<Deliveries>;

/// Creates a producer client (again, after a client fault).
pub type Connect = Arc<dyn Fn() -> Result<Client, KafkaError> + Send + Sync>;

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
    /// Encodes values in a schema registry's wire format (`None`: the JSON events as they are).
    pub encoder: Option<Arc<crate::wire::WireEncoder>>,
    /// The encoded value of the send being made, its buffer reused.
    pub encoded: Vec<u8>,
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

/// One delivery report, as the client's callback queues it for the task.
#[derive(Debug, Clone, Copy)]
struct Delivered {
    /// The send's [`Ticket`].
    ticket: usize,
    /// Key and value bytes.
    bytes: usize,
    /// Partition and offset, or the client's error.
    result: Result<(i32, i64), RDKafkaErrorCode>,
}

/// The client's delivery reports, queued by its callback (which runs inside the task's own
/// `poll`) for the task to take in batches.
#[derive(Default)]
pub struct Deliveries {
    queue: Mutex<Vec<Delivered>>,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, ticket: usize) {
        let delivered = match result {
            Ok(message) => Delivered {
                ticket,
                bytes: message.payload_len() + message.key_len(),
                result: Ok((message.partition(), message.offset())),
            },
            Err((error, message)) => Delivered {
                ticket,
                bytes: message.payload_len() + message.key_len(),
                result: Err(error
                    .rdkafka_error_code()
                    .unwrap_or(RDKafkaErrorCode::Unknown)),
            },
        };
        if let Ok(mut queue) = self.queue.lock() {
            queue.push(delivered);
        }
    }
}

impl Deliveries {
    /// Moves every queued report into `into` (emptied first), keeping both allocations.
    fn take(&self, into: &mut Vec<Delivered>) {
        into.clear();
        if let Ok(mut queue) = self.queue.lock() {
            std::mem::swap(&mut *queue, into);
        }
    }
}

/// What a send's opaque carries to its delivery report, so that nothing is kept per send in
/// flight: its index in the task (32 bits) and when it went out, in units of
/// [`TICKET_UNIT_US`] since the start of the load (32 bits, about 9.5 hours).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Ticket {
    index: usize,
    sent_units: u32,
}

/// The resolution of a ticket's send time.
const TICKET_UNIT_US: u64 = 8;

impl Ticket {
    fn new(index: usize, sent_at: Instant, clock: &RunClock) -> Self {
        let units =
            sent_at.saturating_duration_since(clock.start).as_micros() as u64 / TICKET_UNIT_US;
        Ticket {
            index,
            sent_units: units.min(u64::from(u32::MAX)) as u32,
        }
    }

    fn pack(self) -> usize {
        ((self.index as u64) << 32 | u64::from(self.sent_units)) as usize
    }

    fn unpack(opaque: usize) -> Self {
        let opaque = opaque as u64;
        Ticket {
            index: (opaque >> 32) as usize,
            sent_units: opaque as u32,
        }
    }

    fn sent_at(self, clock: &RunClock) -> Instant {
        clock.start + Duration::from_micros(u64::from(self.sent_units) * TICKET_UNIT_US)
    }
}

/// Errors after which the record is certainly not in the topic.
fn definitely_not_written(error: RDKafkaErrorCode) -> bool {
    matches!(
        error,
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
}

fn outcome_of(error: RDKafkaErrorCode) -> Outcome {
    if definitely_not_written(error) {
        Outcome::Failed
    } else {
        Outcome::Unknown
    }
}

/// How long the task's thread blocks in one `poll` at most: the longest it may take to see
/// a client fault's order.
const POLL_AT_MOST: Duration = Duration::from_millis(50);

/// Ledger entries reserved up front at most (1 GB); a longer ledger grows as it fills.
const LEDGER_RESERVED_AT_MOST: usize = 50_000_000;

/// How long the end of a task waits for its last reports at most.
const FINISH_AT_MOST: Duration = Duration::from_secs(300);

/// Runs one producer task on the calling thread (blocking) to the end of the load and until
/// every send completed. `producer` is created before the clock starts, so that client
/// start-up does not count as slip.
pub fn run_task(mut config: TaskConfig, producer: Client) -> TaskResult {
    let mut task = Task {
        deliveries: producer.context().clone(),
        producer: Some(producer),
        commands: config.control.subscribe(),
        reports: Vec::new(),
        in_flight: 0,
        state: TaskState {
            result: TaskResult {
                ledger: Vec::with_capacity(
                    config
                        .schedule
                        .sends_within(config.total)
                        .min(LEDGER_RESERVED_AT_MOST),
                ),
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
            schedule: config.schedule,
            warmup_end: config.clock.start + config.warmup,
            live: config.live.clone(),
            last_second: 0,
            resumed_at: config.clock.start,
            meters: ProducerMeters::new(&config.run_id),
        },
    };
    let end = config.clock.start + config.total;
    std::thread::sleep(config.clock.start.saturating_duration_since(Instant::now()));
    let mut index = 0;
    loop {
        if task.commands.has_changed().unwrap_or(false) {
            let order = task.commands.borrow_and_update().order;
            match config.obey(order, &mut task) {
                Ok(abandoned) => config.control.obeyed(abandoned),
                Err(reason) => {
                    config.control.failed(reason);
                    break;
                }
            }
            continue;
        }
        if task.producer.is_none() {
            // Killed: wait for the order that starts a client again.
            if task.commands.has_changed().is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
            continue;
        }
        let intended = match config.schedule {
            open @ Schedule::Open { .. } => {
                config.clock.start + open.offset_of(index).unwrap_or_default()
            }
            Schedule::Closed { window } => {
                if task.in_flight >= window {
                    task.poll(POLL_AT_MOST);
                    continue;
                }
                Instant::now()
            }
        };
        if intended >= end {
            break;
        }
        // Serve delivery reports while waiting for the intended send time; a task on or
        // behind schedule only takes the reports that are ready.
        let now = Instant::now();
        if intended > now {
            task.poll((intended - now).min(POLL_AT_MOST));
            continue;
        }
        config.send_one(index, intended, &mut task);
        index += 1;
    }
    config.control.retire();
    task.finish();
    task.state.result
}

/// A producer task's moving parts.
struct Task {
    /// `None` between a kill and the order to start again.
    producer: Option<Client>,
    /// The client's report queue (kept after the client is dropped, for its last reports).
    deliveries: Arc<Deliveries>,
    commands: watch::Receiver<Command>,
    /// Reports taken from the client, reused between polls.
    reports: Vec<Delivered>,
    /// Sends handed to the client and not reported yet.
    in_flight: usize,
    state: TaskState,
}

impl Task {
    /// Polls the client (serving its callbacks for up to `timeout`) and records every report.
    fn poll(&mut self, timeout: Duration) {
        match &self.producer {
            Some(producer) => producer.poll(timeout),
            None => std::thread::sleep(timeout),
        }
        self.record_reports();
    }

    fn record_reports(&mut self) {
        let mut reports = std::mem::take(&mut self.reports);
        self.deliveries.take(&mut reports);
        for delivered in &reports {
            self.in_flight = self.in_flight.saturating_sub(1);
            self.state.complete(delivered);
        }
        self.reports = reports;
    }

    /// Waits for every send of the client to be reported, then drops the client; sends never
    /// reported are unknown.
    fn finish(&mut self) {
        // librdkafka reports every send by message.timeout.ms; this only bounds a wedged one.
        let started = Instant::now();
        while self.in_flight > 0 && self.producer.is_some() && started.elapsed() < FINISH_AT_MOST {
            self.poll(POLL_AT_MOST);
        }
        self.drop_client();
        for entry in &mut self.state.result.ledger {
            if entry.outcome() == Outcome::Pending {
                entry.complete(Outcome::Unknown, None);
                self.state.live.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Drops the client, as a crash would: it purges what it holds, and the reports that
    /// produces are recorded.
    fn drop_client(&mut self) {
        if let Some(producer) = self.producer.take() {
            drop(producer);
            self.record_reports();
            self.in_flight = 0;
        }
    }
}

/// A producer client with `settings`.
pub fn producer(
    connection: &KafkaConnection,
    settings: &ClientSettings,
) -> Result<Client, KafkaError> {
    connection
        .tuned(settings)
        .create_with_context(Deliveries::default())
}

impl TaskConfig {
    /// Carries out a client fault's order; returns how many sends a kill abandoned.
    fn obey(&self, order: Order, task: &mut Task) -> Result<usize, String> {
        match order {
            Order::Kill => {
                let abandoned = task.in_flight;
                if let Some(client) = &task.producer {
                    client.purge(PurgeConfig::default().queue().inflight());
                }
                task.drop_client();
                Ok(abandoned)
            }
            Order::Run if task.producer.is_some() => Ok(0),
            Order::Run | Order::Restart => {
                task.finish_in_flight();
                task.drop_client();
                let client = (self.connect)().map_err(|error| {
                    format!("producer {} could not start again: {error}", self.task)
                })?;
                task.deliveries = client.context().clone();
                task.producer = Some(client);
                task.state.resumed_at = Instant::now();
                Ok(0)
            }
        }
    }

    /// Plans and sends one record; a refusal by the client is completed at once.
    fn send_one(&mut self, index: usize, intended: Instant, task: &mut Task) {
        let intended_us = self.clock.unix_us(intended);
        let wall = chrono::DateTime::from_timestamp_micros(intended_us).unwrap_or_default();
        let planned = self.factory.next(index, wall);
        let value: &[u8] = match &self.encoder {
            Some(encoder) => {
                encoder.encode(
                    planned.topic,
                    planned.kind,
                    &planned.body,
                    &mut self.encoded,
                );
                &self.encoded
            }
            None => &planned.body,
        };
        let warmup = intended < task.state.warmup_end;
        task.state.result.ledger.push(LedgerEntry::pending(
            planned.topic,
            planned.kind,
            planned.origin_back,
            planned.late,
            warmup,
            RecordDigest::of(planned.key.as_bytes(), value),
        ));
        let headers = record_headers(
            &self.run_id,
            SendId::new(self.task, index),
            planned.key_seq,
            intended_us,
        );
        let topic = RAW_TOPICS[usize::from(planned.topic)];
        let second = self.clock.second_of(intended);
        task.state.result.seconds.at(second).sent += 1;
        self.live.sent.fetch_add(1, Ordering::Relaxed);
        if !warmup {
            task.state.result.measured_sent += 1;
        }
        let mut headers = Some(headers);
        loop {
            let Some(producer) = &task.producer else {
                // Killed while the client's queue was full: the send never left.
                let ticket = Ticket::new(index, Instant::now(), &self.clock);
                task.state.complete(&Delivered {
                    ticket: ticket.pack(),
                    bytes: value.len() + planned.key.len(),
                    result: Err(RDKafkaErrorCode::PurgeQueue),
                });
                return;
            };
            let sent_at = Instant::now();
            let ticket = Ticket::new(index, sent_at, &self.clock).pack();
            let outgoing = BaseRecord::with_opaque_to(topic, ticket)
                .payload(value)
                .key(&planned.key)
                .headers(headers.take().unwrap_or_default());
            match producer.send(outgoing) {
                Ok(()) => {
                    task.in_flight += 1;
                    // Sends held back by a client fault are late on purpose, not slip.
                    if !warmup && intended >= task.state.resumed_at {
                        let slip = sent_at.saturating_duration_since(intended).as_micros() as u64;
                        record(&mut task.state.result.slip, slip);
                        task.state.meters.slipped(slip);
                    }
                    // librdkafka's own producer tools poll after every send: it serves the
                    // delivery reports at once and keeps the queue short.
                    producer.poll(Duration::ZERO);
                    task.record_reports();
                    return;
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                    // The client's buffer is full: the platform is not keeping up. Serve
                    // reports until there is room; the wait counts as latency.
                    headers = returned.headers;
                    task.state.result.queue_full_waits += 1;
                    task.poll(Duration::from_millis(1));
                }
                Err((error, _)) => {
                    task.state.complete(&Delivered {
                        ticket,
                        bytes: value.len() + planned.key.len(),
                        result: Err(error
                            .rdkafka_error_code()
                            .unwrap_or(RDKafkaErrorCode::Unknown)),
                    });
                    return;
                }
            }
        }
    }
}

impl Task {
    /// Waits until every send in flight is reported (before a client is replaced).
    fn finish_in_flight(&mut self) {
        while self.in_flight > 0 && self.producer.is_some() {
            self.poll(POLL_AT_MOST);
        }
    }
}

struct TaskState {
    result: TaskResult,
    clock: RunClock,
    schedule: Schedule,
    warmup_end: Instant,
    live: Arc<LiveCounters>,
    last_second: usize,
    /// When the client last came back from a client fault.
    resumed_at: Instant,
    /// What the task shows while it runs.
    meters: ProducerMeters,
}

impl TaskState {
    fn complete(&mut self, done: &Delivered) {
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
        let ticket = Ticket::unpack(done.ticket);
        let (outcome, position) = match done.result {
            Ok(position) => (Outcome::Acked, Some(position)),
            Err(error) => (outcome_of(error), None),
        };
        let Some(entry) = self.result.ledger.get_mut(ticket.index) else {
            return;
        };
        if entry.outcome() != Outcome::Pending {
            return;
        }
        entry.complete(outcome, position);
        let warmup = entry.warmup();
        let topic = entry.topic();
        let sent_at = ticket.sent_at(&self.clock);
        let intended = self.intended(ticket.index, sent_at);
        let corrected = now.saturating_duration_since(intended).as_micros() as u64;
        self.meters.completed(topic, outcome, corrected);
        let bucket = self.result.seconds.at(second);
        if outcome == Outcome::Acked {
            self.live.acked.fetch_add(1, Ordering::Relaxed);
            bucket.acked += 1;
            if !warmup {
                record(&mut bucket.produce, corrected);
                record(&mut self.result.produce, corrected);
                let service = now.saturating_duration_since(sent_at).as_micros() as u64;
                record(&mut self.result.service, service);
                self.result.measured_acked += 1;
                self.result.measured_bytes += done.bytes as u64;
            }
        } else {
            self.live.failed.fetch_add(1, Ordering::Relaxed);
            bucket.failed += 1;
        }
    }

    /// When send `index` was meant to go out: its place in an open-loop schedule, or (closed
    /// loop) when it went.
    fn intended(&self, index: usize, sent_at: Instant) -> Instant {
        match self.schedule.offset_of(index) {
            Some(offset) => self.clock.start + offset,
            None => sent_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_open_schedule_knows_how_many_sends_it_makes_and_a_closed_one_does_not() {
        let open = Schedule::Open {
            interval: Duration::from_micros(5),
            phase: Duration::from_micros(2),
        };
        // Sends at 2, 7, 12 ... µs: every one before the end of 50 s.
        assert_eq!(open.sends_within(Duration::from_secs(50)), 10_000_000);
        assert_eq!(open.sends_within(Duration::from_micros(1)), 1);
        let closed = Schedule::Closed { window: 64 };
        assert_eq!(closed.sends_within(Duration::from_secs(50)), 0);
    }

    #[test]
    fn a_ticket_carries_the_index_and_the_send_time_to_the_delivery_report() {
        let clock = RunClock::now();
        let sent = clock.start + Duration::from_micros(3_600_000_123);
        let ticket = Ticket::new(4_000_000_000, sent, &clock);
        let back = Ticket::unpack(ticket.pack());
        assert_eq!(back, ticket);
        assert_eq!(back.index, 4_000_000_000);
        // The ticket keeps the send time rounded down to its unit.
        assert!(back.sent_at(&clock) <= sent);
        let error = sent.duration_since(back.sent_at(&clock));
        assert!(error < Duration::from_micros(TICKET_UNIT_US), "{error:?}");
    }

    #[test]
    fn only_refusals_before_appending_count_as_definite_failures() {
        for (error, outcome) in [
            (RDKafkaErrorCode::NotEnoughReplicas, Outcome::Failed),
            (RDKafkaErrorCode::MessageTimedOut, Outcome::Unknown),
            (
                RDKafkaErrorCode::NotEnoughReplicasAfterAppend,
                Outcome::Unknown,
            ),
            (RDKafkaErrorCode::PurgeInflight, Outcome::Unknown),
        ] {
            assert_eq!(outcome_of(error), outcome, "{error:?}");
        }
    }
}
