//! Scenario-driven load for the reference platform.
//!
//! [`run`] drives a [`LoadPlan`]: producer tasks send events on an open-loop, intended-send
//! schedule (latency is measured from the intended send time, so coordinated omission is
//! corrected; the uncorrected service time is kept too) or in a closed loop (`rate: max`);
//! consumers read the run's records and measure end-to-end latency; a sampler reads every
//! consumer group's lag each second. Every send lands in the [`ledger::Ledger`] with its
//! outcome, and every record carries headers ([`ledger::RecordMeta`]) tying it to its send.
//!
//! The events come from [`generator::EventFactory`], deterministic from the scenario seed:
//! the event mix, keys (uniform or Zipf), sizes, deliberate duplicates (same `event_id`),
//! invalid records (schema defects or not JSON) and late events.
//!
//! This crate does not judge results or format them: it returns a typed [`LoadOutcome`] for
//! the checker and the reports.
#![deny(missing_docs)]

pub mod catch_up;
pub mod consumer;
pub mod control;
pub mod driver;
pub mod generator;
pub mod ledger;
pub mod meters;
pub mod search;
pub mod series;
pub mod spec;
pub mod stats;
mod summary;
pub mod wire;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use rdkafka::error::KafkaError;
use serde::{Deserialize, Serialize};
use streamproof_platform::connection::KafkaConnection;
use streamproof_platform::lag::LagProbe;
use streamproof_platform::profiles::ClientSettings;
use tokio::sync::watch;

use consumer::{commit_start, run_consumer, ConsumerConfig, StartOffsets};
use control::ProducerControl;
use driver::{run_task, Connect, LiveCounters, RunClock, Schedule, TaskConfig};
use generator::EventFactory;
use ledger::Ledger;
use spec::{LoadSpec, Rate};
use stats::{latency_histogram, summarize, Latency, Seconds};

/// The raw topics, in the order of `EventType::ALL`; ledger entries store an index into it.
pub const RAW_TOPICS: [&str; 5] = [
    "raw-events",
    "raw-transactions",
    "raw-system-events",
    "raw-metrics",
    "raw-logs",
];

/// Sends each closed-loop producer keeps in flight.
const CLOSED_LOOP_WINDOW: usize = 10_000;

/// One consumer group to run.
#[derive(Debug, Clone)]
pub struct GroupPlan {
    /// Full group id (unique to the run).
    pub group_id: String,
    /// Instances.
    pub instances: usize,
    /// Consumer settings.
    pub settings: ClientSettings,
}

/// Everything a load run needs.
#[derive(Debug, Clone)]
pub struct LoadPlan {
    /// Carried by every record; the checker ignores records of other runs.
    pub run_id: String,
    /// Seed of every random choice.
    pub seed: u64,
    /// The cluster.
    pub connection: KafkaConnection,
    /// Producer settings.
    pub producer: ClientSettings,
    /// The load.
    pub load: LoadSpec,
    /// Consumer groups.
    pub consumers: Vec<GroupPlan>,
    /// How long consumers may take after the load to read every acknowledged record.
    pub drain_timeout: Duration,
    /// Orders from client faults to the producer tasks (one task per `load.producers`).
    pub control: Arc<ProducerControl>,
    /// Consumer groups of the platform itself (e.g. the pipeline's source) whose lag is
    /// sampled with the run's own groups.
    pub observed_groups: Vec<String>,
    /// Values in a schema registry's wire format (`None`: JSON as the generator writes it).
    pub encoder: Option<Arc<wire::WireEncoder>>,
}

/// A progress report, once a second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Time since the load started.
    pub elapsed: Duration,
    /// Planned load time (warmup + duration).
    pub total: Duration,
    /// Sends so far.
    pub sent: u64,
    /// Acknowledged so far.
    pub acked: u64,
    /// Failed so far.
    pub failed: u64,
    /// Consumed so far (all groups).
    pub consumed: u64,
    /// Produce p99 of the last complete second, µs.
    pub last_p99_us: u64,
    /// Latest total lag sample (worst group), records.
    pub lag: u64,
}

/// A lag sample.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LagSample {
    /// Seconds since the load started.
    pub second: u64,
    /// The group.
    pub group: String,
    /// Total records behind across the raw topics.
    pub records: i64,
}

/// Whether the generator itself kept up, so a slow run is not blamed on the platform when the
/// load generator was the bottleneck.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneratorHealth {
    /// CPU the whole streamproof process used during the load, percent of one core.
    pub cpu_percent: f64,
    /// Cores available.
    pub cores: usize,
    /// Actual minus intended send time.
    pub schedule_slip: Latency,
    /// Times the producer's buffer was full (back-pressure from the platform).
    pub queue_full_waits: u64,
    /// Sends per second in the measured part.
    pub send_rate_eps: f64,
    /// False when the generator could not offer the intended load by its own fault.
    pub kept_up: bool,
    /// One sentence on why.
    pub note: String,
}

/// Per-group consumption.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupConsumption {
    /// Group id.
    pub group: String,
    /// Records of this run consumed.
    pub consumed: u64,
    /// Records of others skipped.
    pub foreign: u64,
}

/// Everything a load run measured.
pub struct LoadOutcome {
    /// Every send and its outcome.
    pub ledger: Ledger,
    /// Where the raw partitions stood before the first send.
    pub start_offsets: StartOffsets,
    /// The run's clock.
    pub clock: RunClock,
    /// Target events per second (`None` for a closed loop).
    pub target_eps: Option<f64>,
    /// Measured duration (warmup excluded).
    pub measured_duration: Duration,
    /// Sends in the measured part.
    pub measured_sent: u64,
    /// Acks in the measured part.
    pub measured_acked: u64,
    /// Bytes acknowledged in the measured part.
    pub measured_bytes: u64,
    /// Produce latency from the intended send time.
    pub produce: Histogram<u64>,
    /// Produce latency from the actual send time (not corrected for coordinated omission).
    pub service: Histogram<u64>,
    /// End-to-end latency, all groups.
    pub end_to_end: Histogram<u64>,
    /// One-second series.
    pub seconds: Seconds,
    /// Lag samples, one per group per second.
    pub lag: Vec<LagSample>,
    /// Consumption per group.
    pub groups: Vec<GroupConsumption>,
    /// Generator health.
    pub generator: GeneratorHealth,
    /// Records the consumers had not read when the drain timed out (0 when they caught up).
    pub undrained: u64,
}

/// Why a load run could not run.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A Kafka client failed.
    #[error("{context}: {source}")]
    Kafka {
        /// What was being done.
        context: String,
        /// The error.
        source: KafkaError,
    },
    /// The load spec cannot be generated.
    #[error(transparent)]
    Factory(#[from] generator::FactoryError),
    /// A task of the run crashed.
    #[error("a load task stopped unexpectedly: {0}")]
    Task(String),
}

fn kafka(context: impl Into<String>) -> impl FnOnce(KafkaError) -> LoadError {
    let context = context.into();
    move |source| LoadError::Kafka { context, source }
}

/// A stable 64-bit hash of the run id, salting event ids so two runs never share them.
pub fn id_salt(run_id: &str) -> u64 {
    run_id
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        })
}

fn process_cpu_seconds() -> f64 {
    use nix::sys::resource::{getrusage, UsageWho};
    getrusage(UsageWho::RUSAGE_SELF)
        .map(|usage| {
            let user = usage.user_time();
            let system = usage.system_time();
            (user.tv_sec() + system.tv_sec()) as f64
                + (user.tv_usec() + system.tv_usec()) as f64 / 1e6
        })
        .unwrap_or(0.0)
}

/// Runs the load, the consumers and the lag sampler; returns once the consumers drained.
/// `on_start` learns the instant the load starts (before the first send), e.g. to schedule
/// faults relative to it.
pub async fn run(
    plan: LoadPlan,
    progress: &(dyn Fn(&Progress) + Sync),
    on_start: &mut (dyn FnMut(Instant) + Send),
) -> Result<LoadOutcome, LoadError> {
    let start_offsets = Arc::new(
        StartOffsets::snapshot(&plan.connection, &RAW_TOPICS)
            .map_err(kafka("read the raw topics' offsets"))?,
    );
    let run_id: Arc<str> = Arc::from(plan.run_id.as_str());
    let live = Arc::new(LiveCounters::default());
    let (stop_consumers, stop_signal) = watch::channel(false);
    let clients = (0..plan.load.producers)
        .map(|_| driver::producer(&plan.connection, &plan.producer))
        .collect::<Result<Vec<_>, _>>()
        .map_err(kafka("create a producer"))?;
    let mut consumer_clients = Vec::new();
    for group in &plan.consumers {
        commit_start(&plan.connection, &group.group_id, &start_offsets).map_err(kafka(format!(
            "set the start offsets of group `{}`",
            group.group_id
        )))?;
        for instance in 0..group.instances {
            let config = ConsumerConfig {
                group: group.group_id.clone(),
                instance,
                instances: group.instances,
                connection: plan.connection.clone(),
                settings: group.settings.clone(),
                run_id: run_id.clone(),
                clock: RunClock::now(),
                warmup_end_us: 0,
                start: start_offsets.clone(),
                live: live.clone(),
                stop: stop_signal.clone(),
            };
            let client = config.connect().map_err(kafka(format!(
                "create a consumer of group `{}`",
                group.group_id
            )))?;
            consumer_clients.push((config, client));
        }
    }
    // The clock starts a moment after every client exists, so the first sends are on time.
    let clock = RunClock::starting_in(Duration::from_millis(100));
    on_start(clock.start);
    let warmup_end_us = clock.unix_us(clock.start + plan.load.warmup);
    let consumers: Vec<_> = consumer_clients
        .into_iter()
        .map(|(config, client)| {
            let config = ConsumerConfig {
                clock,
                warmup_end_us,
                ..config
            };
            tokio::spawn(run_consumer(config, client))
        })
        .collect();
    let sampler = LagSampler::start(&plan, clock);

    let tasks = plan.load.producers;
    let salt = id_salt(&plan.run_id);
    let mut producers = Vec::new();
    let cpu_before = process_cpu_seconds();
    for (task, client) in clients.into_iter().enumerate() {
        let schedule = match plan.load.rate {
            Rate::PerSecond(rate) => Schedule::open(rate, tasks, task),
            Rate::Max | Rate::FindMax => Schedule::Closed {
                window: CLOSED_LOOP_WINDOW,
            },
        };
        let (connection, settings) = (plan.connection.clone(), plan.producer.clone());
        let connect: Connect = Arc::new(move || driver::producer(&connection, &settings));
        let config = TaskConfig {
            task,
            connect,
            control: plan.control.clone(),
            run_id: run_id.clone(),
            schedule,
            clock,
            warmup: plan.load.warmup,
            total: plan.load.total(),
            factory: EventFactory::new(&plan.load, plan.seed, salt, task, tasks)?,
            live: live.clone(),
            encoder: plan.encoder.clone(),
            encoded: Vec::new(),
        };
        // Each producer polls its own client on a thread of its own: no future per send.
        producers.push(tokio::task::spawn_blocking(move || {
            run_task(config, client)
        }));
    }

    let latest_lag = sampler.latest.clone();
    let report = |elapsed: Duration| {
        progress(&Progress {
            elapsed,
            total: plan.load.total(),
            sent: live.sent.load(Ordering::Relaxed),
            acked: live.acked.load(Ordering::Relaxed),
            failed: live.failed.load(Ordering::Relaxed),
            consumed: live.consumed.load(Ordering::Relaxed),
            last_p99_us: live.last_p99_us.load(Ordering::Relaxed),
            lag: latest_lag.load(Ordering::Relaxed),
        })
    };
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    let mut results = Vec::new();
    for producer in producers {
        let mut producer = producer;
        loop {
            tokio::select! {
                joined = &mut producer => {
                    results.push(joined.map_err(|e| LoadError::Task(e.to_string()))?);
                    break;
                }
                _ = ticker.tick() => report(clock.start.elapsed()),
            }
        }
    }
    let load_wall = clock.start.elapsed();
    let cpu_seconds = process_cpu_seconds() - cpu_before;

    let acked: u64 = results
        .iter()
        .map(|r| r.ledger.iter().filter(|e| e.position().is_some()).count() as u64)
        .sum();
    let wanted = acked * plan.consumers.len() as u64;
    let drain_started = Instant::now();
    while live.consumed.load(Ordering::Relaxed) < wanted
        && drain_started.elapsed() < plan.drain_timeout
    {
        tokio::select! {
            _ = ticker.tick() => report(clock.start.elapsed()),
            () = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
    let undrained = wanted.saturating_sub(live.consumed.load(Ordering::Relaxed));
    let _ = stop_consumers.send(true);
    let mut consumer_results = Vec::new();
    for consumer in consumers {
        consumer_results.push(consumer.await.map_err(|e| LoadError::Task(e.to_string()))?);
    }
    let lag = sampler.stop();
    report(clock.start.elapsed());

    Ok(assemble(AssembleInput {
        plan: &plan,
        clock,
        start_offsets: Arc::try_unwrap(start_offsets).unwrap_or_else(|shared| (*shared).clone()),
        results,
        consumer_results,
        lag,
        cpu_seconds,
        load_wall,
        undrained,
    }))
}

struct AssembleInput<'a> {
    plan: &'a LoadPlan,
    clock: RunClock,
    start_offsets: StartOffsets,
    results: Vec<driver::TaskResult>,
    consumer_results: Vec<consumer::ConsumerResult>,
    lag: Vec<LagSample>,
    cpu_seconds: f64,
    load_wall: Duration,
    undrained: u64,
}

fn assemble(input: AssembleInput<'_>) -> LoadOutcome {
    let AssembleInput {
        plan,
        clock,
        start_offsets,
        results,
        consumer_results,
        lag,
        cpu_seconds,
        load_wall,
        undrained,
    } = input;
    let mut produce = latency_histogram();
    let mut service = latency_histogram();
    let mut slip = latency_histogram();
    let mut seconds = Seconds::default();
    let mut queue_full_waits = 0;
    let (mut measured_sent, mut measured_acked, mut measured_bytes) = (0, 0, 0);
    let mut ledgers = Vec::new();
    for result in results {
        let _ = produce.add(&result.produce);
        let _ = service.add(&result.service);
        let _ = slip.add(&result.slip);
        seconds.merge(&result.seconds);
        queue_full_waits += result.queue_full_waits;
        measured_sent += result.measured_sent;
        measured_acked += result.measured_acked;
        measured_bytes += result.measured_bytes;
        ledgers.push(result.ledger);
    }
    let mut end_to_end = latency_histogram();
    let mut groups: Vec<GroupConsumption> = Vec::new();
    for result in &consumer_results {
        let _ = end_to_end.add(&result.end_to_end);
        seconds.merge(&result.seconds);
        match groups.iter_mut().find(|g| g.group == result.group) {
            Some(group) => {
                group.consumed += result.consumed;
                group.foreign += result.foreign;
            }
            None => groups.push(GroupConsumption {
                group: result.group.clone(),
                consumed: result.consumed,
                foreign: result.foreign,
            }),
        }
    }
    let measured_duration = plan.load.duration;
    let target_eps = plan.load.rate.per_second();
    let generator = generator_health(
        cpu_seconds,
        load_wall,
        &slip,
        queue_full_waits,
        measured_sent as f64 / measured_duration.as_secs_f64(),
        target_eps,
    );
    LoadOutcome {
        ledger: Ledger::from_tasks(ledgers),
        start_offsets,
        clock,
        target_eps,
        measured_duration,
        measured_sent,
        measured_acked,
        measured_bytes,
        produce,
        service,
        end_to_end,
        seconds,
        lag,
        groups,
        generator,
        undrained,
    }
}

/// Judges whether the generator offered the intended load. It did not keep up when it sent
/// below 99% of the target rate, or fell more than [`MAX_SLIP_P99_US`] behind its schedule at
/// p99, while the platform was not pushing back (a full producer buffer is the platform's
/// doing). Smaller slips are reported, not judged: latency is measured from the intended
/// time, so a late send cannot hide latency, and on a shared small machine the scheduler
/// alone delays a send by tens of milliseconds now and then.
/// Slip p99 beyond which the generator is judged behind its schedule, µs.
const MAX_SLIP_P99_US: u64 = 1_000_000;

fn generator_health(
    cpu_seconds: f64,
    wall: Duration,
    slip: &Histogram<u64>,
    queue_full_waits: u64,
    send_rate_eps: f64,
    target_eps: Option<f64>,
) -> GeneratorHealth {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cpu_percent = 100.0 * cpu_seconds / wall.as_secs_f64().max(1e-9);
    let schedule_slip = summarize(slip);
    let saturated = cpu_percent >= 90.0 * cores as f64;
    let (kept_up, note) = match target_eps {
        _ if queue_full_waits > 0 => (
            true,
            format!("the platform pushed back: the producer buffer was full {queue_full_waits} times"),
        ),
        Some(target) if send_rate_eps < 0.99 * target || schedule_slip.p99_us > MAX_SLIP_P99_US => (
            false,
            format!(
                "the generator fell behind its schedule (sent {send_rate_eps:.0} of {target:.0} events/s, slip p99 {} ms, CPU {cpu_percent:.0}% of {cores} cores): the load offered was lower than intended",
                schedule_slip.p99_us / 1000
            ),
        ),
        None if saturated => (
            false,
            format!("the generator used {cpu_percent:.0}% CPU of {cores} cores: the closed loop measured the generator, not the platform"),
        ),
        _ => (true, format!("kept up (CPU {cpu_percent:.0}% of one core, slip p99 {} µs)", schedule_slip.p99_us)),
    };
    GeneratorHealth {
        cpu_percent,
        cores,
        schedule_slip,
        queue_full_waits,
        send_rate_eps,
        kept_up,
        note,
    }
}

/// Samples every group's lag once a second on a thread of its own (the lag requests block).
struct LagSampler {
    stop: Arc<AtomicBool>,
    latest: Arc<AtomicU64>,
    samples: Arc<Mutex<Vec<LagSample>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LagSampler {
    fn start(plan: &LoadPlan, clock: RunClock) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let latest = Arc::new(AtomicU64::new(0));
        let samples = Arc::new(Mutex::new(Vec::new()));
        let groups: Vec<String> = plan
            .consumers
            .iter()
            .map(|g| g.group_id.clone())
            .chain(plan.observed_groups.iter().cloned())
            .collect();
        let connection = plan.connection.clone();
        let thread = (!groups.is_empty()).then(|| {
            let (stop, latest, samples) = (stop.clone(), latest.clone(), samples.clone());
            let run_id = plan.run_id.clone();
            std::thread::spawn(move || {
                let sampler = Sampling {
                    connection: &connection,
                    run_id: &run_id,
                    groups: &groups,
                    clock,
                };
                sample_lag(&sampler, &stop, &latest, &samples)
            })
        });
        LagSampler {
            stop,
            latest,
            samples,
            thread,
        }
    }

    fn stop(mut self) -> Vec<LagSample> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.samples.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

/// What the lag sampler reads, and for which run.
struct Sampling<'a> {
    connection: &'a KafkaConnection,
    run_id: &'a str,
    groups: &'a [String],
    clock: RunClock,
}

fn sample_lag(
    sampling: &Sampling<'_>,
    stop: &AtomicBool,
    latest: &AtomicU64,
    samples: &Mutex<Vec<LagSample>>,
) {
    let Sampling {
        connection,
        run_id,
        groups,
        clock,
    } = *sampling;
    let topics: Vec<String> = RAW_TOPICS.iter().map(|t| (*t).to_owned()).collect();
    let probes: Vec<(String, LagProbe)> = groups
        .iter()
        .filter_map(|group| Some((group.clone(), LagProbe::new(connection, group).ok()?)))
        .collect();
    let mut next = Instant::now();
    loop {
        let stopping = stop.load(Ordering::Relaxed);
        let second = clock.start.elapsed().as_secs();
        let mut worst = 0;
        for (group, probe) in &probes {
            // The last sample decides whether lag recovered: one that fails is asked again.
            let attempts = if stopping { 3 } else { 1 };
            let sampled = (0..attempts).find_map(|_| probe.sample(Some(&topics)).ok());
            if let Some(report) = sampled {
                worst = worst.max(report.total);
                for partition in &report.partitions {
                    meters::lag_gauge(run_id, group, &partition.topic, partition.partition)
                        .set(partition.lag as f64);
                }
                if let Ok(mut samples) = samples.lock() {
                    samples.push(LagSample {
                        second,
                        group: group.clone(),
                        records: report.total,
                    });
                }
            }
        }
        latest.store(worst.max(0) as u64, Ordering::Relaxed);
        if stopping {
            return;
        }
        next += Duration::from_secs(1);
        while Instant::now() < next {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
