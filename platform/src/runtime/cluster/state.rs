//! What `cluster.json` records of a started cluster, and what `status` and `down` report.

use super::*;

/// One broker process as recorded in the state file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerProcess {
    /// Kafka node id (1-based).
    pub node_id: i32,
    /// Process id.
    pub pid: i32,
    /// Client listener port.
    pub port: u16,
    /// Controller listener port.
    pub controller_port: u16,
    /// Its `server.properties`; unique per broker, so it also identifies the process.
    pub config: PathBuf,
    /// Kafka's own log.
    pub server_log: PathBuf,
    /// The JVM's standard output and error.
    pub output_log: PathBuf,
    /// Log segment directory.
    pub data_dir: PathBuf,
}

impl BrokerProcess {
    pub(super) fn marker(&self) -> String {
        self.config.display().to_string()
    }

    /// Whether the recorded process still runs this broker.
    pub fn is_running(&self) -> bool {
        runs(self.pid, &self.marker())
    }

    pub(super) fn log_tail(&self) -> String {
        [&self.server_log, &self.output_log]
            .iter()
            .filter_map(|path| std::fs::read_to_string(path).ok())
            .map(|text| last_lines(&text, 15))
            .filter(|tail| !tail.trim().is_empty())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// What `cluster.json` records about a started cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterState {
    /// Kafka cluster id.
    pub cluster_id: String,
    /// Kafka version.
    pub kafka_version: String,
    /// RFC 3339 start time.
    pub started_at: String,
    /// Comma-separated client addresses.
    pub bootstrap_servers: String,
    /// The cluster directory.
    pub dir: PathBuf,
    /// Every broker.
    pub brokers: Vec<BrokerProcess>,
    /// The streamproof process that started the brokers; absent in state recorded by older
    /// versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
    /// The client settings that reach the brokers (a secured listener's), secrets as
    /// references to files in the cluster directory.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub client_properties: BTreeMap<String, String>,
}

impl ClusterState {
    /// Loads the state recorded in `dir`, `None` when there is none.
    pub fn load(dir: &Path) -> Result<Option<Self>, RuntimeError> {
        let path = dir.join(STATE_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(io_error("read", &path)(error)),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|source| RuntimeError::State { path, source })
    }

    pub(super) fn save(&self) -> Result<(), RuntimeError> {
        let path = self.dir.join(STATE_FILE);
        let text = serde_json::to_string_pretty(self).map_err(|source| RuntimeError::State {
            path: path.clone(),
            source,
        })?;
        std::fs::write(&path, text).map_err(io_error("write", &path))
    }

    /// How clients reach the cluster: the embedded platform needs no client properties.
    pub fn connection(&self) -> Result<KafkaConnection, RuntimeError> {
        Ok(KafkaConnection::with_properties(
            self.bootstrap_servers.as_str(),
            &self.client_properties,
        )?)
    }

    pub(super) fn any_running(&self) -> bool {
        self.brokers.iter().any(BrokerProcess::is_running)
    }
}

/// What `up` did.
pub enum UpOutcome {
    /// A new cluster was started.
    Started(LocalCluster),
    /// The same cluster already ran in that directory; nothing was started.
    AlreadyRunning(ClusterState),
}

/// One broker in [`ClusterStatus`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrokerStatus {
    /// Node id.
    pub node_id: i32,
    /// Recorded pid.
    pub pid: i32,
    /// Client port.
    pub port: u16,
    /// Whether the process runs.
    pub running: bool,
}

/// The recorded cluster, which of its processes run, and what the cluster metadata lists.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterStatus {
    /// The recorded state.
    pub state: ClusterState,
    /// Per broker.
    pub brokers: Vec<BrokerStatus>,
    /// Brokers listed by a metadata request, or why the request failed.
    pub metadata: Result<Vec<BrokerInfo>, String>,
}

/// How one broker was stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopOutcome {
    /// It exited after SIGTERM.
    Graceful,
    /// It ignored SIGTERM for the grace period and was killed.
    Killed,
    /// It was not running (or its pid now belongs to another program, which was left alone).
    NotRunning,
    /// It survived SIGKILL.
    StillRunning,
}

/// What `down` did to each broker.
#[derive(Debug, Clone, Serialize)]
pub struct StopReport {
    /// (node id, pid, outcome) per broker.
    pub brokers: Vec<(i32, i32, StopOutcome)>,
    /// The directory whose logs were kept.
    pub dir: PathBuf,
}
