//! `plan.json`: a capacity plan, the seed's sizing formulas fed with what streamproof measured
//! on the cluster the plan was calibrated on. Documented in `docs/plan.md`; [`PLAN_VERSION`]
//! changes whenever a field changes meaning or disappears.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::RateSearch;

/// Version of the plan format.
pub const PLAN_VERSION: u32 = 1;

/// A capacity plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapacityPlan {
    /// [`PLAN_VERSION`] of the writer.
    pub plan_version: u32,
    /// The plan file's name.
    pub name: String,
    /// streamproof version that made it.
    pub streamproof_version: String,
    /// When it was made, RFC 3339 UTC.
    pub created_at: String,
    /// The cluster it was calibrated on.
    pub calibrated_on: CalibratedOn,
    /// The latency objective every calibration step was held to.
    pub objective: Objective,
    /// Growth factor applied to every target rate before sizing.
    pub headroom: f64,
    /// What was measured.
    pub calibration: Calibration,
    /// Each topic of the workload, sized.
    pub topics: Vec<TopicPlan>,
    /// Storage per layer (`raw`, `bronze`, …), summed over its topics.
    pub storage_by_layer: BTreeMap<String, Storage>,
    /// Brokers the planned load needs.
    pub brokers: BrokerPlan,
    /// The plan's topic layout run at the planned rates, when `--prove` was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<Proof>,
    /// Assumptions and limits of this plan, in words.
    pub notes: Vec<String>,
}

/// The cluster a plan was calibrated on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalibratedOn {
    /// `embedded` (started by streamproof) or `existing`.
    pub kind: String,
    /// Bootstrap servers.
    pub bootstrap_servers: String,
    /// Brokers in the cluster.
    pub brokers: u32,
    /// Producer tuning profile of every step.
    pub producer_profile: String,
    /// Consumer tuning profile of every step and of the catch-up consumers.
    pub consumer_profile: String,
}

/// Latency limits a rate must meet to count as sustainable.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Objective {
    /// Produce p99 (intended send → acknowledged), milliseconds.
    pub produce_p99_ms: Option<f64>,
    /// End-to-end p99 (intended send → consumed), milliseconds.
    pub end_to_end_p99_ms: Option<f64>,
    /// Share of the offered rate that must be acknowledged.
    pub min_throughput: f64,
}

/// What calibration measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Record size every step sent (the workload's average, weighted by rate), bytes.
    pub record_bytes: u64,
    /// One point per partition count tried, in increasing order.
    pub points: Vec<PartitionPoint>,
    /// The partition count after which adding partitions raised the sustainable rate by less
    /// than 10%; `null` when every step up still paid.
    pub knee_partitions: Option<u32>,
    /// Events per second one partition sustains at the objective (the one-partition point's
    /// sustainable rate, or the lowest point's divided by its partitions).
    pub partition_throughput_eps: f64,
    /// The highest sustainable rate of any point: the cluster's ceiling at the objective.
    pub cluster_ceiling_eps: f64,
    /// Events per second one consumer instance drains a backlog at (the catch-up rate of the
    /// lowest point, per instance).
    pub catch_up_eps_per_consumer: f64,
}

/// The measurements at one partition count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartitionPoint {
    /// Partitions of the calibration topic.
    pub partitions: u32,
    /// The highest rate at which the objective held; `null` when no rate did.
    pub sustainable_eps: Option<f64>,
    /// `sustainable_eps` per partition.
    pub per_partition_eps: Option<f64>,
    /// The search's steps (latency against rate).
    pub search: RateSearch,
    /// Consumers that drained the topic's backlog afterwards (one per partition).
    pub catch_up_instances: u32,
    /// Records they read.
    pub catch_up_records: u64,
    /// Records per second while draining.
    pub catch_up_eps: f64,
    /// Whether they read the whole backlog within the time budget.
    pub catch_up_drained: bool,
    /// Where the point's step results are, relative to the plan's directory.
    pub results_dir: String,
}

/// One topic, sized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopicPlan {
    /// Topic name (`<layer>-<data type>`).
    pub topic: String,
    /// Its layer.
    pub layer: String,
    /// Target rate, events per second.
    pub target_eps: f64,
    /// Target times headroom, events per second: what the topic is sized for.
    pub planned_eps: f64,
    /// Average record size, bytes.
    pub record_bytes: u64,
    /// Planned bytes per second.
    pub planned_bytes_per_s: f64,
    /// `max(ceil(planned / partition throughput), largest group)`.
    pub partitions: u32,
    /// `ceil(planned / partition throughput)` alone.
    pub partitions_for_throughput: u32,
    /// Instances of its largest consumer group.
    pub largest_group: u32,
    /// `min(brokers, 3)`.
    pub replication_factor: u32,
    /// Retention, days.
    pub retention_days: f64,
    /// Storage for the retention, one copy, bytes.
    pub storage_bytes: u64,
    /// Storage with every replica, bytes.
    pub storage_bytes_replicated: u64,
    /// Recovery from an outage of its consumers.
    pub recovery: Recovery,
}

/// How long a topic's largest group takes to catch up after an outage.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Recovery {
    /// Length of the outage planned for, seconds.
    pub outage_seconds: f64,
    /// Records that pile up meanwhile at the planned rate.
    pub backlog_records: u64,
    /// Drain rate of the group (its instances, at most one per partition, times the measured
    /// per-consumer catch-up rate), events per second.
    pub catch_up_eps: f64,
    /// Seconds to drain the backlog while new records keep arriving; `null` when the group
    /// drains no faster than records arrive (it never catches up).
    pub seconds: Option<f64>,
}

/// Storage of one layer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Storage {
    /// One copy, bytes.
    pub bytes: u64,
    /// Every replica, bytes.
    pub bytes_replicated: u64,
}

/// Brokers for the planned load.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BrokerPlan {
    /// Brokers of the calibrated cluster.
    pub calibrated: u32,
    /// Sum of every topic's planned rate, events per second.
    pub planned_eps: f64,
    /// The calibrated cluster's ceiling at the objective, events per second.
    pub ceiling_eps: f64,
    /// Brokers needed, scaling the calibrated cluster linearly: the calibrated count while
    /// the planned rate fits under its ceiling.
    pub needed: u32,
}

/// The plan run: its layout applied and its rates sent, its objective checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proof {
    /// Whether every expectation of the proving run held.
    pub proven: bool,
    /// The scenario generated for it, relative to the plan's directory.
    pub scenario: String,
    /// Its result.json, relative to the plan's directory.
    pub result: String,
    /// Names of the checks that failed.
    pub failed_checks: Vec<String>,
}

/// A byte count, shown in decimal units (1 KB = 1000 bytes) as storage is sold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Bytes(pub u64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 6] = ["B", "KB", "MB", "GB", "TB", "PB"];
        let mut value = self.0 as f64;
        let mut unit = 0;
        while value >= 1000.0 && unit + 1 < UNITS.len() {
            value /= 1000.0;
            unit += 1;
        }
        if unit == 0 || value.fract() == 0.0 {
            write!(f, "{value} {}", UNITS[unit])
        } else {
            write!(f, "{value:.2} {}", UNITS[unit])
        }
    }
}
