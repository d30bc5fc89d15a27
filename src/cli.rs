//! Command-line definitions: what the user can type, checked by clap, nothing more.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Benchmark, load-generation and chaos-testing harness for a Kafka → Flink → Iceberg
/// streaming platform.
#[derive(Debug, Parser)]
#[command(name = "streamproof", version, about, long_about = None)]
pub struct Cli {
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run scenario files: platform up, load, faults, drain, verify, report. Exit code 0 when
    /// every expectation held, 1 when one failed, 2 when a scenario or the environment is wrong.
    Run(RunArgs),
    /// Check scenario files without running them.
    Validate(ValidateArgs),
    /// Render a run's report (index.html, summary.md, optionally PNG charts) again from its
    /// result.json.
    Report(ReportArgs),
    /// Compare a candidate run with a baseline, figure by figure; exit code 1 on a regression.
    Compare(CompareArgs),
    /// Run one scenario under several values of one setting and compare them in one report.
    Matrix(MatrixArgs),
    /// Run the raw → bronze copier (consume-transform-produce) until stopped.
    Copier(CopierArgs),
    /// Start the embedded local platform: Kafka brokers on 127.0.0.1.
    Up(UpArgs),
    /// Show the local platform's brokers and whether they answer; with --all every platform
    /// streamproof started on this machine, and whose it is.
    Status(StatusArgs),
    /// Stop the local platform's brokers (only the processes `up` started); logs are kept.
    /// With --all, every platform whose owning streamproof process is gone.
    Down(DownArgs),
    /// Act on one broker of a kept local platform (`up`, `run --keep-platform`) through its
    /// recorded pid: kill, pause, resume, stop or start it, or print the active controller's
    /// id. The platform file `up` writes gives these as its fault commands.
    Broker(BrokerArgs),
    /// Create or describe the platform's topics.
    #[command(subcommand)]
    Topics(TopicsCommand),
    /// The platform's event schemas: print them, check two versions' compatibility.
    #[command(subcommand)]
    Schema(SchemaCommand),
    /// A consumer group's lag per partition and in total.
    Lag(LagArgs),
    /// Publish one event (JSON from --event or stdin) and print where it landed.
    Publish(PublishArgs),
    /// Print the producer and consumer tuning profiles with their effective properties.
    Profiles(ProfilesArgs),
    /// Size a topic: partitions, replication and retention storage.
    Capacity(CapacityArgs),
    /// Plan capacity for a workload: calibrate on the cluster (the sustainable rate at the
    /// objective per partition count, the consumers' catch-up rate), size every topic with
    /// the formulas, and optionally prove the plan with a run.
    Plan(PlanArgs),
}

#[derive(Debug, Args)]
pub struct DirArgs {
    /// Directory of the local platform (configs, data, logs, recorded pids).
    #[arg(long, default_value = ".streamproof/cluster", env = "STREAMPROOF_DIR")]
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub dir: DirArgs,
    /// Number of brokers (each also a KRaft controller).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=9))]
    pub brokers: u8,
    /// Broker N listens on base-port + N - 1; its controller on base-port + 10 + N - 1.
    #[arg(long, default_value_t = 9092)]
    pub base_port: u16,
    /// Java heap per broker, MiB.
    #[arg(long, default_value_t = 512)]
    pub heap_mb: u32,
    /// Also start a stream processor for the pipeline: `flink` starts a Flink session cluster
    /// (JobManager, TaskManager, SQL Gateway) with its REST API on base-port + 60 and the SQL
    /// Gateway on base-port + 69.
    #[arg(long, value_name = "ENGINE")]
    pub pipeline: Option<PipelineEngineArg>,
    /// The Iceberg catalog of the pipeline's tables: `hadoop` (a warehouse directory beside
    /// Flink's) or `rest` (Apache Iceberg's REST catalog server on base-port + 70, writing to
    /// that same directory).
    #[arg(long, value_enum, default_value_t = CatalogArg::Hadoop, requires = "pipeline")]
    pub catalog: CatalogArg,
    /// How clients reach the brokers: `plaintext`, or `sasl-ssl` (TLS with a throwaway CA
    /// made now, SASL/SCRAM with a generated password). Either way `up` writes DIR/platform.yaml,
    /// the platform file that reaches it (`run --platform DIR/platform.yaml`).
    #[arg(long, value_enum, default_value_t = SecurityArg::Plaintext)]
    pub security: SecurityArg,
    /// Also start a schema registry (Apicurio Registry, Confluent-compatible API) on
    /// base-port + 71, for scenarios whose schema.format is `avro` or `json-schema`; the
    /// platform file names it.
    #[arg(long)]
    pub schema_registry: bool,
}

/// How `up`'s brokers are secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SecurityArg {
    /// No TLS, no authentication.
    Plaintext,
    /// TLS and SASL/SCRAM-SHA-256 and -512.
    SaslSsl,
}

/// Iceberg catalogs `up --pipeline flink` can start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CatalogArg {
    /// Iceberg's Hadoop catalog on a warehouse directory.
    Hadoop,
    /// An Iceberg REST catalog server.
    Rest,
}

/// Stream processors `up --pipeline` can start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PipelineEngineArg {
    /// Apache Flink 1.20.
    Flink,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub dir: DirArgs,
    /// Every platform streamproof recorded on this machine (kept by `up` or
    /// `--keep-platform`, in use by a run, or left behind), instead of the one in --dir.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct DownArgs {
    #[command(flatten)]
    pub dir: DirArgs,
    /// Stop every recorded platform whose owning streamproof process has ended (kept by `up`
    /// or `--keep-platform`, or left behind), instead of the one in --dir; a platform whose
    /// run is still going is left alone.
    #[arg(long)]
    pub all: bool,
    /// Seconds to wait for a graceful shutdown before killing.
    #[arg(long, default_value_t = 30)]
    pub grace_secs: u64,
}

#[derive(Debug, Args)]
pub struct BrokerArgs {
    /// What to do.
    #[arg(value_enum)]
    pub action: BrokerAction,
    /// The broker's node id (every action but `controller`).
    pub id: Option<i32>,
    #[command(flatten)]
    pub dir: DirArgs,
    /// Seconds `stop` waits for a graceful exit before it kills the broker.
    #[arg(long, default_value_t = 60)]
    pub grace_secs: u64,
}

/// What `streamproof broker` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BrokerAction {
    /// SIGKILL, then wait for the exit.
    Kill,
    /// SIGSTOP.
    Pause,
    /// SIGCONT.
    Resume,
    /// SIGTERM, wait for the exit (SIGKILL after --grace-secs).
    Stop,
    /// Start it again with its configuration and data; wait until the cluster lists it.
    Start,
    /// Print the node id of the active KRaft controller.
    Controller,
}

/// A platform streamproof did not start: a platform file, or a cluster's bootstrap servers.
#[derive(Debug, Args)]
pub struct ExistingArgs {
    /// A platform file describing an existing platform: its Kafka cluster with the client
    /// settings every client needs, and for runs its Flink session cluster and catalog (see
    /// docs/platform-file.md).
    #[arg(
        long,
        env = "STREAMPROOF_PLATFORM",
        value_name = "FILE",
        conflicts_with = "bootstrap_servers"
    )]
    pub platform: Option<PathBuf>,
    /// Kafka bootstrap servers of an existing cluster (default: for `run` the embedded
    /// platform, for other commands the local platform in --dir).
    #[arg(long, env = "STREAMPROOF_BOOTSTRAP_SERVERS")]
    pub bootstrap_servers: Option<String>,
}

/// Where the cluster is: an existing one, or the local platform recorded in a directory.
#[derive(Debug, Args)]
pub struct ClusterArgs {
    #[command(flatten)]
    pub existing: ExistingArgs,
    #[command(flatten)]
    pub dir: DirArgs,
}

#[derive(Debug, Subcommand)]
pub enum SchemaCommand {
    /// Whether NEW may follow OLD at a compatibility level, by Avro's resolution rules, as a
    /// schema registry would decide: exit 0 compatible, 1 not, 2 a file is not Avro.
    Check(SchemaCheckArgs),
    /// Print the platform's Avro schema of an event type.
    Show(SchemaShowArgs),
}

#[derive(Debug, Args)]
pub struct SchemaCheckArgs {
    /// The registered schema (an Avro .avsc file).
    #[arg(value_name = "OLD")]
    pub old: PathBuf,
    /// The schema that would follow it.
    #[arg(value_name = "NEW")]
    pub new: PathBuf,
    /// BACKWARD (new readers read old data), FORWARD (old readers read new data), FULL or NONE.
    #[arg(long, default_value = "BACKWARD")]
    pub level: String,
}

#[derive(Debug, Args)]
pub struct SchemaShowArgs {
    /// user_action, transaction, system_event, metric_event or log_event.
    #[arg(value_name = "EVENT_TYPE")]
    pub event_type: String,
}

#[derive(Debug, Subcommand)]
pub enum TopicsCommand {
    /// Create the standard topic set (idempotent; differing settings are reported).
    Apply(ApplyArgs),
    /// Partitions, leaders, replicas, ISR and configs of one topic or every topic.
    Describe(DescribeArgs),
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Partitions for every topic (default: 6 for raw, bronze and silver; 3 for gold and dlq).
    #[arg(long)]
    pub partitions: Option<i32>,
    /// Replication factor (default: min(brokers, 3)).
    #[arg(long)]
    pub replication_factor: Option<i32>,
    /// min.insync.replicas (default: min(replication factor, 2)).
    #[arg(long)]
    pub min_insync_replicas: Option<i32>,
    /// compression.type of the topics (default: producer).
    #[arg(long)]
    pub compression_type: Option<String>,
}

#[derive(Debug, Args)]
pub struct DescribeArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// The topic (default: every topic).
    pub name: Option<String>,
}

#[derive(Debug, Args)]
pub struct LagArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Consumer group id.
    #[arg(long)]
    pub group: String,
    /// Only these topics (default: every topic the group has committed offsets on).
    #[arg(long = "topic")]
    pub topics: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PublishArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// The event as JSON; read from stdin when absent.
    #[arg(long)]
    pub event: Option<String>,
    /// Producer tuning profile.
    #[arg(long, default_value = "reliability")]
    pub profile: String,
    /// Override a producer property: NAME=VALUE (librdkafka name or short name such as linger_ms).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub overrides: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ProfilesArgs {
    /// Show only this profile.
    pub name: Option<String>,
    /// Show the effect of an override: NAME=VALUE.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub overrides: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CapacityArgs {
    /// Target throughput (events/s or MB/s; same unit as --partition-throughput).
    #[arg(long)]
    pub target_throughput: f64,
    /// What one partition sustains, in the same unit.
    #[arg(long)]
    pub partition_throughput: f64,
    /// Consumers in the largest consumer group.
    #[arg(long, default_value_t = 1)]
    pub consumers: u32,
    /// Brokers in the cluster.
    #[arg(long, default_value_t = 3)]
    pub brokers: u32,
    /// Average message size, bytes.
    #[arg(long)]
    pub message_bytes: Option<u64>,
    /// Messages per day.
    #[arg(long)]
    pub messages_per_day: Option<u64>,
    /// Retention, days.
    #[arg(long, default_value_t = 7)]
    pub retention_days: u64,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The plan file (YAML): the workload, the objective and how to calibrate.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
    /// Directory for plan.json, summary.md, index.html and every calibration run (default:
    /// runs/plan-NAME-TIME).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Calibrate on an existing platform instead of the embedded one.
    #[command(flatten)]
    pub existing: ExistingArgs,
    /// Also run the planned workload on the plan's topic layout and check the objective; the
    /// plan is marked proven or not.
    #[arg(long)]
    pub prove: bool,
    /// Partition counts to calibrate at instead of the plan file's `calibration.partitions`
    /// (e.g. `1,2,4,8`; on an existing cluster one count, that of its `raw-events` topic).
    #[arg(long, value_delimiter = ',', value_name = "N,…")]
    pub partitions: Option<Vec<u32>>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenario files (YAML).
    #[arg(required = true, value_name = "SCENARIO")]
    pub scenarios: Vec<PathBuf>,
    /// Directory for result.json and summary.md (default: runs/SCENARIO-TIME; with
    /// several scenarios, one subdirectory each).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Run against an existing platform instead of starting the embedded one.
    #[command(flatten)]
    pub existing: ExistingArgs,
    /// The schema registry (its Confluent-compatible API) for scenarios whose schema.format is
    /// `avro` or `json-schema`, instead of the platform file's `schema_registry` or a registry
    /// started for the run.
    #[arg(long, env = "STREAMPROOF_SCHEMA_REGISTRY", value_name = "URL")]
    pub schema_registry: Option<String>,
    /// Serve Prometheus metrics at http://ADDR/metrics while the scenarios run (e.g.
    /// `127.0.0.1:9464`): the seed's `kafka_producer_latency_seconds` and
    /// `kafka_messages_consumed_total`, and streamproof's own (see docs/metrics.md).
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// With --metrics-addr: how long the endpoint stays up after the last run, so that
    /// Prometheus scrapes the final values (the verdict's anomalies among them).
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = humantime_serde::re::humantime::parse_duration, requires = "metrics_addr")]
    pub metrics_linger: std::time::Duration,
    /// Leave the embedded platform running after the run, to inspect it; stop it later with
    /// `streamproof down --dir OUT/platform` (or `down --all`). Without it the platform ends
    /// with the run, however the run ends.
    #[arg(long)]
    pub keep_platform: bool,
    /// Run each scenario N times, each repetition in OUT/rep-K, so that `compare` can tell a
    /// change from noise.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub repeat: u32,
    /// Also write the checks of every run as JUnit XML to this file, for CI.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A run directory (holding result.json).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Also write each chart as a PNG file under DIR/charts.
    #[arg(long)]
    pub png: bool,
}

#[derive(Debug, Args)]
pub struct ToleranceArgs {
    /// Tolerances as YAML (keys: throughput_drop_percent, latency_rise_percent,
    /// latency_floor_us, lag_rise_percent, lag_floor_records, recovery_rise_percent,
    /// recovery_floor_seconds, anomaly_increase_allowed, failing_check_regresses).
    #[arg(long, value_name = "FILE")]
    pub tolerances: Option<PathBuf>,
    /// Largest throughput drop that is not a regression, percent (default 5).
    #[arg(long, value_name = "PERCENT")]
    pub throughput_drop: Option<f64>,
    /// Largest latency percentile rise that is not a regression, percent (default 10).
    #[arg(long, value_name = "PERCENT")]
    pub latency_rise: Option<f64>,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The baseline: a result.json, a run directory, or a directory of repetitions.
    #[arg(value_name = "BASELINE")]
    pub baseline: PathBuf,
    /// The candidate, in the same forms.
    #[arg(value_name = "CANDIDATE")]
    pub candidate: PathBuf,
    #[command(flatten)]
    pub tolerances: ToleranceArgs,
    /// Write the comparison (index.html and summary.md) to this directory.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct MatrixArgs {
    /// The scenario file.
    #[arg(value_name = "SCENARIO")]
    pub scenario: PathBuf,
    /// The setting and its values, e.g. `platform.producer_profile=reliability,throughput`
    /// or `platform.producer_overrides.linger.ms=0,5,20`; the first value is the baseline.
    #[arg(long = "set", value_name = "KEY=V1,V2,...")]
    pub set: String,
    /// Runs of each value (medians and spreads are compared).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub repeat: u32,
    /// Directory for every run and the comparison (default: runs/SCENARIO-matrix-TIME).
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub tolerances: ToleranceArgs,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Scenario files (YAML).
    #[arg(required = true, value_name = "SCENARIO")]
    pub scenarios: Vec<PathBuf>,
    /// Also check a platform file, and that each scenario can run on what it describes
    /// (nothing is contacted).
    #[arg(long, value_name = "FILE", env = "STREAMPROOF_PLATFORM")]
    pub platform: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CopierArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Consumer group (and transactional id prefix).
    #[arg(long, default_value = "bronze-copier")]
    pub group: String,
    /// `exactly-once` (records and offsets in one transaction) or `at-least-once`.
    #[arg(long, default_value = "exactly-once")]
    pub mode: String,
    /// Records per batch.
    #[arg(long, default_value_t = 500)]
    pub batch: usize,
    /// Serve Prometheus metrics at http://ADDR/metrics while copying (e.g. `127.0.0.1:9465`):
    /// the seed's `kafka_messages_consumed_total` per raw topic and the batches committed and
    /// aborted (see docs/metrics.md).
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<std::net::SocketAddr>,
}
