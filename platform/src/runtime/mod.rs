//! The embedded local platform: Apache Kafka brokers (KRaft, combined broker and controller)
//! run as local processes on 127.0.0.1, from jars Maven fetches into a cache outside the
//! checkout. Every process is recorded by pid in the cluster directory and only those recorded
//! processes are ever signalled.

mod cluster;
mod distribution;
mod flink;
mod flink_udf;
mod owner;
mod process;
mod registry;
mod rest_catalog;
mod schema_registry;
mod toolchain;

use std::path::PathBuf;
use std::time::Duration;

pub use cluster::{
    BrokerProcess, BrokerStatus, ClusterSpec, ClusterState, ClusterStatus, Link, LocalCluster,
    ProxyRoute, Security, StopOutcome, StopReport, UpOutcome, CLIENT_USER, PORT_BLOCK, STATE_FILE,
};
pub use distribution::{default_cache_root, KafkaDistribution, KAFKA_VERSION};
pub use flink::{
    get_json, get_json_if_found, patch, post_json, FlinkCluster, FlinkDistribution, FlinkSpec,
    FLINK_PORTS, FLINK_VERSION,
};
pub use flink_udf::REGISTERED_JSON_CLASS;
pub use owner::{Lifetime, Owner};
pub use process::{
    AfterRestart, ManagedProcess, ProcessSpec, ProducerSwitch, RecordedProcess, SharedProcess,
};
pub use registry::{
    default_state_dir, Ownership, PlatformProcess, PlatformStop, ProcessKind, ProcessStop,
    RecordedPlatform, Registry,
};
pub use schema_registry::{
    schema_registry_dir, LocalSchemaRegistry, SchemaRegistryDistribution, SchemaRegistrySpec,
    CONFLUENT_API_PATH, SCHEMA_REGISTRY_PORTS, SCHEMA_REGISTRY_VERSION,
};
pub use toolchain::{java_at_least, java_command, java_major_version, require_maven};

/// Signals the runtime sends to broker processes.
pub use nix::sys::signal::Signal;

use crate::admin::AdminError;

/// Why the local platform could not be fetched, started, inspected or stopped.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// A program the runtime needs is not installed.
    #[error("`{tool}` was not found: {install_hint}")]
    ToolMissing {
        /// The program.
        tool: &'static str,
        /// How to install it.
        install_hint: &'static str,
    },
    /// Java is older than Kafka or Flink needs.
    #[error("Java {found} found at `{command}`, but {needed_by} needs Java {required} or newer; install it or point JAVA_HOME at it")]
    JavaTooOld {
        /// The java command used.
        command: String,
        /// Major version found.
        found: u32,
        /// Major version needed.
        required: u32,
        /// What needs it, with its version.
        needed_by: String,
    },
    /// A distribution could not be fetched (Maven Central or PyPI).
    #[error("{what} failed ({status}); Maven Central and PyPI must be reachable. Last output:\n{output}")]
    Fetch {
        /// What was being fetched, and how.
        what: String,
        /// Exit status.
        status: String,
        /// The end of Maven's output.
        output: String,
    },
    /// A file operation failed.
    #[error("{action} `{}`: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// On which path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A port the cluster needs is taken by another process.
    #[error("port {port} on 127.0.0.1 ({role}) is already in use; stop whatever listens there or choose other ports with --base-port")]
    PortInUse {
        /// The port.
        port: u16,
        /// What the cluster wanted it for.
        role: String,
    },
    /// A secret reference in the platform's client settings could not be resolved.
    #[error(transparent)]
    Secret(#[from] crate::secrets::SecretError),
    /// A platform already runs in the directory a new one should start in.
    #[error("a platform is already running in `{}`; choose another --out directory or stop it with `streamproof down --dir {}`", dir.display(), dir.display())]
    AlreadyRunning {
        /// The platform directory.
        dir: PathBuf,
    },
    /// No block of ports is free for the platform.
    #[error("no free block of {block} ports on 127.0.0.1 between 19092 and 60000")]
    NoFreePorts {
        /// Ports the platform needs side by side.
        block: u16,
    },
    /// A cluster already runs in the directory with a different shape.
    #[error("a {running}-broker cluster is already running in `{}`; run `streamproof down --dir {}` first to start a {requested}-broker one", dir.display(), dir.display())]
    ShapeMismatch {
        /// The cluster directory.
        dir: PathBuf,
        /// Brokers running.
        running: usize,
        /// Brokers requested.
        requested: usize,
    },
    /// The request itself is not possible.
    #[error("{0}")]
    InvalidSpec(String),
    /// A broker process exited while the cluster was starting.
    #[error("broker {node_id} exited during start-up ({status}); its log `{}` ends with:\n{tail}", log.display())]
    BrokerExited {
        /// Node id.
        node_id: i32,
        /// Exit status.
        status: String,
        /// Its log file.
        log: PathBuf,
        /// The last lines of the log.
        tail: String,
    },
    /// Kafka's storage tool refused to format a broker's log directory.
    #[error("formatting the storage of broker {node_id} failed ({status}):\n{output}")]
    Format {
        /// Node id.
        node_id: i32,
        /// Exit status.
        status: String,
        /// The tool's output.
        output: String,
    },
    /// The cluster did not come up in time.
    #[error("after {waited:?} the cluster lists {seen} of {expected} brokers; see the logs under `{}`", dir.display())]
    NotReady {
        /// How long we waited.
        waited: Duration,
        /// Brokers seen in metadata.
        seen: usize,
        /// Brokers expected.
        expected: usize,
        /// Cluster directory.
        dir: PathBuf,
    },
    /// No cluster state is recorded in the directory.
    #[error("no cluster is recorded in `{}`; start one with `streamproof up --dir {}`", dir.display(), dir.display())]
    NotRunning {
        /// The cluster directory.
        dir: PathBuf,
    },
    /// The recorded state file is unreadable.
    #[error("the cluster state `{}` is unreadable: {source}", path.display())]
    State {
        /// The state file.
        path: PathBuf,
        /// The parse error.
        source: serde_json::Error,
    },
    /// A Flink process did not come up.
    #[error("the Flink {role} is not ready: {reason}; its log `{}` ends with:\n{tail}", log.display())]
    FlinkNotReady {
        /// Which process.
        role: &'static str,
        /// Why.
        reason: String,
        /// Its log.
        log: PathBuf,
        /// The last lines of the log.
        tail: String,
    },
    /// A service of the platform (the schema registry) did not come up.
    #[error("the {service} is not ready: {reason}; its log `{}` ends with:\n{tail}", log.display())]
    ServiceNotReady {
        /// Which service.
        service: &'static str,
        /// Why.
        reason: String,
        /// Its log.
        log: PathBuf,
        /// The last lines of the log.
        tail: String,
    },
    /// The cluster answered an admin request with an error.
    #[error(transparent)]
    Admin(#[from] AdminError),
}

pub(crate) fn io_error(
    action: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(std::io::Error) -> RuntimeError {
    let path = path.into();
    move |source| RuntimeError::Io {
        action,
        path,
        source,
    }
}
