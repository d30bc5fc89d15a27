//! What the load shows while it runs, through the `metrics` facade: the seed's
//! `kafka_producer_latency_seconds{topic}` and `kafka_messages_consumed_total{topic, group_id,
//! status}`, and streamproof's own sends by outcome, lag per group and partition and generator
//! slip, every series labelled with the run id. Nothing is recorded unless the program
//! installed a recorder (`run --metrics-addr`); the handles are made once per task, so a send
//! costs one atomic update per metric.

use metrics::{counter, gauge, histogram, Counter, Gauge, Histogram};

use crate::ledger::Outcome;
use crate::RAW_TOPICS;

pub use streamproof_platform::monitoring::{MESSAGES_CONSUMED, PRODUCER_LATENCY};
/// Sends by outcome (`acked`, `failed`, `unknown`).
pub const SENDS: &str = "streamproof_sends_total";
/// Lag of a consumer group on a partition, records.
pub const CONSUMER_LAG: &str = "streamproof_consumer_lag_records";
/// How late the generator handed sends to the client.
pub const GENERATOR_SLIP: &str = "streamproof_generator_slip_seconds";

/// One producer task's handles.
pub struct ProducerMeters {
    latency: Vec<Histogram>,
    acked: Counter,
    failed: Counter,
    unknown: Counter,
    slip: Histogram,
}

impl ProducerMeters {
    /// The handles of run `run_id`.
    pub fn new(run_id: &str) -> Self {
        let run = run_id.to_owned();
        let sends =
            |outcome: &'static str| counter!(SENDS, "outcome" => outcome, "run_id" => run.clone());
        ProducerMeters {
            latency: RAW_TOPICS
                .iter()
                .map(|topic| histogram!(PRODUCER_LATENCY, "topic" => *topic, "run_id" => run.clone()))
                .collect(),
            acked: sends("acked"),
            failed: sends("failed"),
            unknown: sends("unknown"),
            slip: histogram!(GENERATOR_SLIP, "run_id" => run.clone()),
        }
    }

    /// A send to raw topic `topic` completed with `outcome`, `latency_us` after it was meant
    /// to be sent.
    pub fn completed(&self, topic: u8, outcome: Outcome, latency_us: u64) {
        match outcome {
            Outcome::Acked => {
                self.acked.increment(1);
                if let Some(latency) = self.latency.get(usize::from(topic)) {
                    latency.record(latency_us as f64 / 1e6);
                }
            }
            Outcome::Failed => self.failed.increment(1),
            Outcome::Unknown | Outcome::Pending => self.unknown.increment(1),
        }
    }

    /// A send left `slip_us` after it was meant to.
    pub fn slipped(&self, slip_us: u64) {
        self.slip.record(slip_us as f64 / 1e6);
    }
}

/// One consumer instance's handles.
pub struct ConsumerMeters {
    consumed: Vec<Counter>,
    errors: Counter,
}

impl ConsumerMeters {
    /// The handles of group `group_id` in run `run_id`.
    pub fn new(run_id: &str, group_id: &str) -> Self {
        let labels = |topic: &str, status: &'static str| {
            counter!(
                MESSAGES_CONSUMED,
                "topic" => topic.to_owned(),
                "group_id" => group_id.to_owned(),
                "status" => status,
                "run_id" => run_id.to_owned()
            )
        };
        ConsumerMeters {
            consumed: RAW_TOPICS
                .iter()
                .map(|topic| labels(topic, "success"))
                .collect(),
            errors: labels("", "error"),
        }
    }

    /// A record of raw topic `topic` was consumed.
    pub fn consumed(&self, topic: &str) {
        if let Some(index) = RAW_TOPICS.iter().position(|t| *t == topic) {
            self.consumed[index].increment(1);
        }
    }

    /// The client returned an error instead of a record.
    pub fn failed(&self) {
        self.errors.increment(1);
    }
}

/// The lag gauge of `group_id` on `topic`/`partition` in run `run_id`.
pub fn lag_gauge(run_id: &str, group_id: &str, topic: &str, partition: i32) -> Gauge {
    gauge!(
        CONSUMER_LAG,
        "group_id" => group_id.to_owned(),
        "topic" => topic.to_owned(),
        "partition" => partition.to_string(),
        "run_id" => run_id.to_owned()
    )
}
