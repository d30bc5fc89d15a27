//! `result.json`: the product's contract, owned here once. Documented field by field in
//! `docs/results.md`; [`RESULT_VERSION`] changes whenever a field changes meaning or disappears.
//!
//! The crates that measure a run (the load generator, the fault injector, the checker) emit
//! these types directly and the reports read them; this crate depends on serde alone and
//! never measures or renders anything.
#![deny(missing_docs)]

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

mod check;
pub mod plan;
pub mod schema;
pub use check::{Check, CheckNote, Limit, Value};

/// Version of the result format.
pub const RESULT_VERSION: u32 = 1;

/// A whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    /// [`RESULT_VERSION`] of the writer.
    pub result_version: u32,
    /// Unique id of the run; every record it sent carries it.
    pub run_id: String,
    /// streamproof version that ran it.
    pub streamproof_version: String,
    /// Where and how it ran: the command line, the streamproof build, the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<RunEnvironment>,
    /// The scenario.
    pub scenario: ScenarioInfo,
    /// Start time, RFC 3339 UTC.
    pub started_at: String,
    /// Wall time of the whole run (platform start to verdict), seconds.
    pub duration_seconds: f64,
    /// The platform it ran on.
    pub platform: PlatformInfo,
    /// Every send and what the topics hold.
    pub counts: Counts,
    /// Rates of the measured part (warmup excluded).
    pub throughput: Throughput,
    /// Latency summaries of the measured part.
    pub latency: Latencies,
    /// Latency distributions (value at log-spaced percentiles), for plots.
    pub latency_distribution: LatencyDistributions,
    /// Consumer lag.
    pub lag: Lag,
    /// Whether the load generator kept up.
    pub generator: Generator,
    /// Each expectation against what happened.
    pub checks: Vec<Check>,
    /// Up to ten examples per anomaly.
    pub anomalies: BTreeMap<String, Vec<AnomalyExample>>,
    /// `pass` when every check held, else `fail`.
    pub verdict: Verdict,
    /// One point per second of the load and drain.
    pub timeseries: Vec<SecondPoint>,
    /// Every fault fired, with its resolved brokers and times (empty without faults).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<FaultRecord>,
    /// The bronze layer against the raw layer, when the copier ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bronze: Option<Bronze>,
    /// Acknowledged events per second before, during and outside fault windows (with faults).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault_throughput: Option<FaultThroughput>,
    /// The Flink pipeline and the Iceberg tables it wrote, when the pipeline ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lakehouse: Option<Lakehouse>,
    /// What verifying the run cost, and where each raw partition began.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
    /// The steps of a `rate: find-max` search, when the scenario searched; the rest of the
    /// result is then the highest step every expectation held at (or the last step).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_search: Option<RateSearch>,
    /// The schema registry's subjects, the schema changes made mid-run and the raw records
    /// decoded through the registry, when the scenario's format is `avro` or `json-schema`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schemas: Option<schema::SchemaReport>,
}

/// A search for the highest rate at which every expectation holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateSearch {
    /// The highest rate every expectation held at, events per second; `null` when none did.
    pub max_sustainable_eps: Option<f64>,
    /// The lowest rate an expectation failed at; `null` when none did (the ceiling held).
    pub lowest_failed_eps: Option<f64>,
    /// Whether the two ended within `precision` of each other (else the step budget or the
    /// ceiling ended the search).
    pub converged: bool,
    /// The search's precision, a fraction of the sustained rate.
    pub precision: f64,
    /// Every step, in the order run.
    pub steps: Vec<SearchStep>,
}

/// One verified step of a rate search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchStep {
    /// The step's run id (its records carry it).
    pub run_id: String,
    /// Rate offered, events per second.
    pub target_eps: f64,
    /// Events acknowledged per second.
    pub achieved_eps: f64,
    /// Produce latency p99, microseconds (from the intended send time).
    pub produce_p99_us: u64,
    /// End-to-end latency p99, microseconds; `null` without consumer groups.
    pub end_to_end_p99_us: Option<u64>,
    /// Acknowledged records missing from the topics.
    pub lost: u64,
    /// Extra copies of sends.
    pub duplicates: u64,
    /// Whether every expectation held.
    pub sustainable: bool,
    /// Names of the checks that failed.
    pub failed_checks: Vec<String>,
}

/// Where and how a run ran, so a result file explains itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunEnvironment {
    /// The command line, as given.
    pub command_line: Vec<String>,
    /// The git revision streamproof was built from (`unknown` outside a checkout).
    pub git_revision: String,
    /// Host name.
    pub host: String,
    /// CPU cores available to the run.
    pub cores: usize,
    /// Memory of the host, bytes (0 when unknown).
    pub memory_bytes: u64,
}

impl RunEnvironment {
    /// This process's command line and host, for a build of `git_revision`.
    pub fn of_this_process(git_revision: &str) -> Self {
        let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
        let memory_kib: u64 = read("/proc/meminfo")
            .lines()
            .find_map(|line| line.strip_prefix("MemTotal:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0);
        RunEnvironment {
            command_line: std::env::args().collect(),
            git_revision: git_revision.to_owned(),
            host: read("/proc/sys/kernel/hostname").trim().to_owned(),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_bytes: memory_kib * 1024,
        }
    }
}

/// What the checker read and how long it took.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    /// One step per layer read: `raw`, then (when they ran) `bronze-events`,
    /// `bronze.events`, `silver.events`, `dlq-events` and `gold.metrics`.
    pub steps: Vec<VerificationStep>,
    /// Every raw partition: where the run began in it, its log start when read, the end
    /// reached.
    pub raw_partitions: Vec<RawPartition>,
}

/// One layer's verification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerificationStep {
    /// The layer (topic or table) read.
    pub layer: String,
    /// Seconds spent reading and comparing it, drain waits included.
    pub seconds: f64,
    /// Records (or rows) read.
    pub records_read: u64,
}

/// One raw partition as the checker read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPartition {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The partition's end when the run started: the run's records lie at or above it.
    pub run_start: i64,
    /// The partition's log start offset when read; the run's records below it were removed
    /// by the platform.
    pub log_start: i64,
    /// The end offset reached.
    pub end: i64,
}

/// The pipeline's jobs and its tables against the ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lakehouse {
    /// The engine and its version (`flink 1.20.3`).
    pub engine: String,
    /// `exactly-once` or `at-least-once`.
    pub guarantee: String,
    /// Checkpoint interval, ms.
    pub checkpoint_interval_ms: u64,
    /// The tables' format: `iceberg` or `paimon` (results written before Paimon tables
    /// existed are Iceberg's).
    #[serde(default = "iceberg")]
    pub table_format: String,
    /// Where the tables are: the warehouse directory, or the Iceberg REST catalog's URI.
    pub warehouse: String,
    /// Each job with its checkpoint statistics at the end of the run.
    pub jobs: Vec<PipelineJob>,
    /// Seconds from the end of the load until the tables held what the checks wait for.
    pub drain_seconds: f64,
    /// Rows in `bronze.events`.
    pub bronze_rows: u64,
    /// Raw records of the run that `bronze.events` must hold.
    pub bronze_expected: u64,
    /// Raw records missing from `bronze.events`.
    pub bronze_missing: u64,
    /// Extra copies in `bronze.events`.
    pub bronze_duplicates: u64,
    /// Rows of `bronze.events` whose key or value differ from what was sent.
    #[serde(default)]
    pub bronze_corrupted: u64,
    /// Rows in `silver.events`.
    pub silver_rows: u64,
    /// Distinct valid event ids present in raw.
    pub silver_expected: u64,
    /// Of those, missing from silver.
    pub silver_missing: u64,
    /// Rows beyond the first per event id.
    pub silver_duplicates: u64,
    /// Event ids with more than one row (the seed's duplicate query).
    pub silver_duplicate_ids: u64,
    /// Event ids in silver that no valid send carried.
    pub silver_unexpected: u64,
    /// Invalid records present in raw.
    pub dlq_expected: u64,
    /// Of those, in `dlq-events`.
    pub dlq_present: u64,
    /// Missing from `dlq-events`.
    pub dlq_missing: u64,
    /// Extra copies in `dlq-events`.
    pub dlq_duplicates: u64,
    /// Records in `dlq-events` pointing at no invalid raw record of the run.
    #[serde(default)]
    pub dlq_unexpected: u64,
    /// From the intended send time to the Iceberg commit that made the event visible in
    /// silver (late events excluded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub silver_visible: Option<Latency>,
    /// Gold's closed windows against the ledger's recomputation (open-loop runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gold: Option<GoldWindows>,
    /// Each job's checkpoint statistics, sampled once a second from Flink's REST API.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checkpoint_series: Vec<CheckpointPoint>,
}

/// One sample of one job's checkpoint statistics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointPoint {
    /// When, ms since the epoch.
    pub unix_ms: i64,
    /// `bronze`, `silver` or `gold`.
    pub layer: String,
    /// Completed checkpoints so far.
    pub completed: u64,
    /// Failed checkpoints so far.
    pub failed: u64,
    /// Restores from a checkpoint so far.
    pub restored: u64,
    /// Duration of the latest completed checkpoint, ms.
    pub latest_duration_ms: u64,
    /// State size of the latest completed checkpoint, bytes.
    pub latest_size_bytes: u64,
}

/// `gold.metrics` against the windows recomputed from the ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GoldWindows {
    /// Rows in `gold.metrics`.
    pub rows: u64,
    /// Closed windows compared.
    pub windows_checked: u64,
    /// Equal to the recomputation (count and sum exact, average within 1e-9).
    pub windows_matching: u64,
    /// Different from it.
    pub windows_mismatched: u64,
    /// Closed windows with events but no gold row.
    pub windows_missing: u64,
    /// Gold rows for windows without events.
    pub windows_unexpected: u64,
    /// Extra gold rows for one window.
    pub windows_duplicated: u64,
    /// Windows that also counted late events that arrived before they closed.
    pub windows_late_admitted: u64,
    /// Windows after the latest closed one: not compared yet.
    pub windows_open: u64,
    /// Late events left out of the recomputation (gold drops them by design).
    pub late_excluded: u64,
    /// Records gold's window operator dropped as late, by Flink's count (since the job's
    /// tasks last started): more than `late_excluded` means the pipeline reordered events
    /// by more than the watermark delay.
    #[serde(default)]
    pub late_dropped: u64,
    /// Sends whose replay disagreed with the ledger (the recomputation is void when > 0).
    pub replay_mismatches: u64,
}

/// One Flink job of the pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineJob {
    /// `bronze`, `silver` or `gold`.
    pub layer: String,
    /// Flink's job id.
    pub job_id: String,
    /// Its state at the end of the run.
    pub state: String,
    /// Completed checkpoints.
    pub checkpoints_completed: u64,
    /// Failed checkpoints.
    pub checkpoints_failed: u64,
    /// Restores from a checkpoint (restarts after failures).
    pub restored: u64,
    /// Duration of the latest checkpoint, ms.
    pub latest_checkpoint_ms: u64,
    /// State size of the latest checkpoint, bytes.
    pub latest_checkpoint_bytes: u64,
}

/// Throughput around faults, from the measured seconds of the time series.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FaultThroughput {
    /// Before the first fault fired.
    pub before_faults_eps: Option<f64>,
    /// While any fault was active.
    pub during_faults_eps: Option<f64>,
    /// Outside every fault window (before, between and after them).
    pub outside_faults_eps: Option<f64>,
}

/// Bronze against raw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bronze {
    /// `exactly-once` or `at-least-once`.
    pub copier_mode: String,
    /// Raw records of the run bronze must hold.
    pub expected: u64,
    /// Of those, found.
    pub present: u64,
    /// Missing from bronze.
    pub missing: u64,
    /// Extra copies in bronze.
    pub duplicates: u64,
    /// Records whose key or value differ from what was sent.
    #[serde(default)]
    pub corrupted: u64,
    /// Records of others in the range read.
    pub foreign: u64,
}

/// One firing of a fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRecord {
    /// Index in the scenario's `faults:`.
    pub fault: usize,
    /// Repetition, from 0.
    pub repetition: u32,
    /// `kill`, `pause`, `restart` or `rolling-restart`.
    pub kind: String,
    /// The target as written (`leader:raw-events/0`).
    pub target: String,
    /// The broker(s) it resolved to when it fired.
    pub brokers: Vec<i32>,
    /// Seconds from the start of the load.
    pub injected_at_s: f64,
    /// When it healed; `null` when it never did.
    pub healed_at_s: Option<f64>,
    /// What was done (signals, pids), or why it could not be.
    pub detail: String,
    /// False when the fault could not be applied.
    pub applied: bool,
    /// The platform file's commands it ran, in order, on a platform streamproof did not
    /// start; empty when it signalled processes itself.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<FaultCommand>,
}

/// One command a fault ran (`faults:` of a platform file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultCommand {
    /// Which of the file's commands: `kill`, `pause`, `resume`, `stop`, `start` or `locate`.
    pub action: String,
    /// The command as run by `sh -c`, placeholders filled (secrets stay `$NAME`: the shell
    /// expands them).
    pub command: String,
    /// Its exit code; `null` when it was ended by a signal or after its time limit.
    pub exit_code: Option<i32>,
    /// Its standard output and error, the last 4 KiB.
    pub output: String,
    /// Seconds from the start of the load.
    pub started_at_s: f64,
    /// How long it ran.
    pub seconds: f64,
}

impl FaultCommand {
    /// Whether it exited with 0.
    pub fn succeeded(&self) -> bool {
        self.exit_code == Some(0)
    }
}

/// Which scenario ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioInfo {
    /// `name:` of the scenario.
    pub name: String,
    /// `description:`.
    pub description: String,
    /// The file as given on the command line.
    pub file: String,
    /// SHA-256 of the file's bytes.
    pub sha256: String,
    /// `seed:`.
    pub seed: u64,
    /// The scenario as run, defaults filled in.
    pub as_run: serde_json::Value,
}

/// The cluster and clients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlatformInfo {
    /// `embedded` (started by streamproof) or `existing` (`--bootstrap-servers`).
    pub kind: String,
    /// Bootstrap servers.
    pub bootstrap_servers: String,
    /// Brokers in the cluster metadata.
    pub brokers: usize,
    /// Kafka version of the embedded platform (`unknown` for an existing cluster).
    pub kafka_version: String,
    /// The client properties every client carried to reach the cluster (a platform file's
    /// `kafka.properties`), as written: secret references as references, literal secrets
    /// redacted.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub connection_properties: BTreeMap<String, String>,
    /// Producer profile name.
    pub producer_profile: String,
    /// Effective producer properties, secrets redacted.
    pub producer_properties: BTreeMap<String, String>,
    /// Per consumer group: profile and effective properties, secrets redacted.
    pub consumer_groups: Vec<ConsumerGroupInfo>,
    /// Topics as applied.
    pub topics: Vec<TopicInfo>,
}

/// One consumer group's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsumerGroupInfo {
    /// Group id.
    pub group: String,
    /// Instances.
    pub instances: usize,
    /// Profile name.
    pub profile: String,
    /// Effective properties, secrets redacted.
    pub properties: BTreeMap<String, String>,
    /// Records of this run consumed.
    pub consumed: u64,
}

/// A topic as applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopicInfo {
    /// Name.
    pub name: String,
    /// Partitions.
    pub partitions: i32,
    /// Replication factor.
    pub replication_factor: i32,
    /// min.insync.replicas.
    pub min_insync_replicas: i32,
}

/// Counts over every send of the run, warmup included, so they reconcile record for record
/// with the topics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counts {
    /// Sends made.
    pub sent: u64,
    /// Acknowledged.
    pub acked: u64,
    /// Definitely failed.
    pub failed: u64,
    /// Outcome unknown.
    pub unknown: u64,
    /// Sends found in the topics.
    pub present: u64,
    /// Acknowledged but not found.
    pub lost: u64,
    /// Of those, below their partition's log start: removed by the platform.
    #[serde(default)]
    pub removed_below_log_start: u64,
    /// Records of the run whose key or value differ from what was sent.
    #[serde(default)]
    pub corrupted: u64,
    /// Extra copies of a send.
    pub duplicates: u64,
    /// Failed sends found anyway, or records no send explains.
    pub phantoms: u64,
    /// Unknown-outcome sends found.
    pub unknown_present: u64,
    /// Acknowledged sends found elsewhere than acknowledged.
    pub offset_mismatches: u64,
    /// Per-key sequence going backwards within a partition.
    pub order_violations: u64,
    /// Invalid records sent on purpose.
    pub invalid_sent: u64,
    /// Of those, found.
    pub invalid_present: u64,
    /// Invalid records acknowledged but not found.
    pub invalid_missing: u64,
    /// Deliberate duplicates sent.
    pub deliberate_duplicates_sent: u64,
    /// Of those, found.
    pub deliberate_duplicates_present: u64,
    /// Deliberate duplicates acknowledged but not found.
    pub deliberate_duplicates_missing: u64,
    /// Late events sent.
    pub late_sent: u64,
    /// Records of other producers or runs in the range read.
    pub foreign: u64,
}

/// Rates.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Throughput {
    /// Target events per second; `null` in a closed loop.
    pub target_eps: Option<f64>,
    /// Events sent per second.
    pub sent_eps: f64,
    /// Events acknowledged per second.
    pub achieved_eps: f64,
    /// Bytes (key + value) acknowledged per second.
    pub bytes_per_s: f64,
    /// Measured seconds.
    pub measured_seconds: f64,
}

/// Percentiles of one latency, microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Latency {
    /// Samples.
    pub count: u64,
    /// Median.
    pub p50_us: u64,
    /// 90th percentile.
    pub p90_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// Largest.
    pub max_us: u64,
}

/// Every latency of a run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Latencies {
    /// Intended send → acknowledged (coordinated omission corrected).
    pub produce: Latency,
    /// Actual send → acknowledged (service time, not corrected).
    pub produce_uncorrected: Latency,
    /// Intended send → consumed; `null` without consumers.
    pub end_to_end: Option<Latency>,
}

/// A point of a latency distribution.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PercentilePoint {
    /// Percentile, 0..=100.
    pub percentile: f64,
    /// Value there, microseconds.
    pub value_us: u64,
}

/// Latency distributions for plots.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyDistributions {
    /// Produce, corrected.
    pub produce: Vec<PercentilePoint>,
    /// Produce, uncorrected.
    pub produce_uncorrected: Vec<PercentilePoint>,
    /// End to end.
    pub end_to_end: Vec<PercentilePoint>,
}

/// Consumer lag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lag {
    /// Largest sample of any group; `null` without consumers.
    pub max_records: Option<i64>,
    /// Last sample (worst group); `null` without consumers.
    pub final_records: Option<i64>,
    /// Seconds after the load until every group's lag was 0; `null` when it never was or
    /// nothing consumed.
    pub recovery_seconds: Option<f64>,
    /// Records the consumers had not read when the drain ended.
    pub undrained_records: u64,
}

/// The generator's own health.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Generator {
    /// CPU of the streamproof process during the load, percent of one core.
    pub cpu_percent: f64,
    /// Cores available.
    pub cores: usize,
    /// Actual − intended send time, p99, µs.
    pub schedule_slip_p99_us: u64,
    /// Largest slip, µs.
    pub schedule_slip_max_us: u64,
    /// Times the producer buffer was full.
    pub queue_full_waits: u64,
    /// Whether it offered the intended load.
    pub kept_up: bool,
    /// Why.
    pub note: String,
}

/// An example of an anomaly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnomalyExample {
    /// Send id (record header `streamproof.send`).
    pub send_id: u64,
    /// Business event id.
    pub event_id: String,
    /// Topic.
    pub topic: String,
    /// Partition, when known.
    pub partition: Option<i32>,
    /// Offset, when known.
    pub offset: Option<i64>,
    /// For an altered record, where it first differs from what was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub difference: Option<ByteDifference>,
}

/// Where an altered record first differs from what was sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ByteDifference {
    /// `key` or `value`.
    pub field: String,
    /// Byte index of the first difference.
    pub at: usize,
    /// The byte sent there; `null` when what was sent ends before it.
    pub expected: Option<u8>,
    /// The byte found there; `null` when what was found ends before it.
    pub found: Option<u8>,
}

impl std::fmt::Display for ByteDifference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let byte = |b: Option<u8>| match b {
            Some(b) if b.is_ascii_graphic() || b == b' ' => format!("0x{b:02x} '{}'", b as char),
            Some(b) => format!("0x{b:02x}"),
            None => "nothing (it ends there)".to_owned(),
        };
        write!(
            f,
            "{} byte {}: sent {}, found {}",
            self.field,
            self.at,
            byte(self.expected),
            byte(self.found)
        )
    }
}

impl RawPartition {
    /// Offsets of the run removed from the start of the partition.
    pub fn removed(&self) -> u64 {
        u64::try_from(self.log_start - self.run_start).unwrap_or(0)
    }
}

impl Verification {
    /// Raw partitions from whose start the platform removed records of the run.
    pub fn partitions_with_removals(&self) -> impl Iterator<Item = &RawPartition> {
        self.raw_partitions.iter().filter(|p| p.removed() > 0)
    }
}

/// The run's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Every check held.
    Pass,
    /// At least one did not.
    Fail,
}

impl Verdict {
    /// Pass when every one of `checks` held.
    pub fn of(checks: &[Check]) -> Self {
        if checks.iter().all(|c| c.passed) {
            Verdict::Pass
        } else {
            Verdict::Fail
        }
    }
}

/// One second of the time series.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct SecondPoint {
    /// Seconds since the load started.
    pub second: u64,
    /// Whether the second lies in the warmup.
    pub warmup: bool,
    /// Sends.
    pub sent: u64,
    /// Acknowledgements.
    pub acked: u64,
    /// Failures (definite or unknown).
    pub failed: u64,
    /// Records consumed (all groups).
    pub consumed: u64,
    /// Produce latency p50 of sends acknowledged this second, µs.
    pub produce_p50_us: u64,
    /// Produce latency p99, µs.
    pub produce_p99_us: u64,
    /// End-to-end latency p50 of records consumed this second, µs.
    pub end_to_end_p50_us: u64,
    /// End-to-end latency p99, µs.
    pub end_to_end_p99_us: u64,
    /// Lag of the worst group sampled this second.
    pub lag_records: Option<i64>,
}

/// Why a result file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ResultError {
    /// File system.
    #[error("{action} `{path}`: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// Which file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// Not a result file this version reads.
    #[error("`{path}` is not a streamproof result: {source}")]
    Format {
        /// Which file.
        path: String,
        /// The parse error.
        source: serde_json::Error,
    },
    /// Written by a newer streamproof, in a format this one does not know.
    #[error("`{path}` has result format {found}; this streamproof reads format {RESULT_VERSION} and older: use the streamproof that wrote it, or a newer one")]
    Version {
        /// Which file.
        path: String,
        /// The file's `result_version`.
        found: u64,
    },
}

impl RunResult {
    /// Writes the result as pretty JSON.
    pub fn write(&self, path: &Path) -> Result<(), ResultError> {
        let text = serde_json::to_string_pretty(self).map_err(|source| ResultError::Format {
            path: path.display().to_string(),
            source,
        })?;
        std::fs::write(path, text + "\n").map_err(|source| ResultError::Io {
            action: "write",
            path: path.display().to_string(),
            source,
        })
    }

    /// Reads a result file.
    pub fn read(path: &Path) -> Result<Self, ResultError> {
        let text = std::fs::read_to_string(path).map_err(|source| ResultError::Io {
            action: "read",
            path: path.display().to_string(),
            source,
        })?;
        let format = |source| ResultError::Format {
            path: path.display().to_string(),
            source,
        };
        let value: serde_json::Value = serde_json::from_str(&text).map_err(format)?;
        match value["result_version"].as_u64() {
            Some(found) if found > u64::from(RESULT_VERSION) => Err(ResultError::Version {
                path: path.display().to_string(),
                found,
            }),
            _ => serde_json::from_value(value).map_err(format),
        }
    }

    /// Whether every check held.
    pub fn passed(&self) -> bool {
        self.verdict == Verdict::Pass
    }
}

fn iceberg() -> String {
    "iceberg".to_owned()
}
