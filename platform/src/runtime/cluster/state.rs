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
    /// The command line that started it (program first; it runs in the directory of its
    /// `config`), so that another streamproof process can start it again. Empty in state
    /// recorded by older versions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub launch: Vec<String>,
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

    pub(super) fn broker_index(&self, node_id: i32) -> Result<usize, RuntimeError> {
        self.brokers
            .iter()
            .position(|b| b.node_id == node_id)
            .ok_or_else(|| {
                RuntimeError::InvalidSpec(format!(
                    "broker {node_id} is not part of the cluster in `{}` (brokers: {:?})",
                    self.dir.display(),
                    self.brokers.iter().map(|b| b.node_id).collect::<Vec<_>>()
                ))
            })
    }

    /// The node id of the active KRaft controller, from the quorum state a running broker
    /// keeps in its metadata log directory.
    pub fn controller_id(&self) -> Option<i32> {
        self.brokers
            .iter()
            .filter(|broker| broker.is_running())
            .find_map(|broker| {
                let path = broker
                    .data_dir
                    .join("__cluster_metadata-0")
                    .join("quorum-state");
                let text = std::fs::read_to_string(path).ok()?;
                let state: serde_json::Value = serde_json::from_str(&text).ok()?;
                state["leaderId"]
                    .as_i64()
                    .map(|id| id as i32)
                    .filter(|id| *id >= 0)
            })
    }

    /// Sends `signal` to broker `node_id`'s recorded process if it still runs that broker;
    /// returns the pid signalled, `None` when it was not running.
    pub fn signal_broker(&self, node_id: i32, signal: Signal) -> Result<Option<i32>, RuntimeError> {
        let broker = &self.brokers[self.broker_index(node_id)?];
        Ok(signal_if_ours(broker.pid, &broker.marker(), signal).then_some(broker.pid))
    }

    /// Waits up to `limit` for broker `node_id`'s recorded process to end; whether it did.
    pub fn wait_broker_exit(&self, node_id: i32, limit: Duration) -> Result<bool, RuntimeError> {
        let broker = &self.brokers[self.broker_index(node_id)?];
        let started = Instant::now();
        while broker.is_running() {
            if started.elapsed() > limit {
                return Ok(false);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(true)
    }

    /// Starts broker `node_id` of a kept cluster again from another process, with the
    /// command line recorded when it first started (same configuration and data), and
    /// records its new pid. Returns the pid; the running pid when it already runs.
    pub fn start_broker(&mut self, node_id: i32) -> Result<i32, RuntimeError> {
        let index = self.broker_index(node_id)?;
        let broker = self.brokers[index].clone();
        if broker.is_running() {
            return Ok(broker.pid);
        }
        if let Some(owner) = self
            .owner
            .filter(|o| o.lifetime != Lifetime::Kept && o.is_alive())
        {
            return Err(RuntimeError::InvalidSpec(format!(
                "the cluster in `{}` ends with the run that started it (pid {}), which restarts its brokers itself; only a kept cluster (`up`, `run --keep-platform`) is started from another process",
                self.dir.display(),
                owner.pid
            )));
        }
        let Some((program, args)) = broker.launch.split_first() else {
            return Err(RuntimeError::InvalidSpec(format!(
                "the cluster in `{}` was started by an older streamproof that did not record how to start broker {node_id}; restart the cluster with `streamproof down` and `streamproof up`",
                self.dir.display()
            )));
        };
        let mut command = Command::new(program);
        command
            .args(args)
            .current_dir(broker.config.parent().unwrap_or(&self.dir));
        let child = spawn_detached(command, &rotate_output_log(&broker), Lifetime::Kept)?;
        self.brokers[index].pid = child.id() as i32;
        self.save()?;
        Ok(self.brokers[index].pid)
    }
}

/// Keeps a broker's earlier standard output beside the new one; returns the path to write.
pub(super) fn rotate_output_log(broker: &BrokerProcess) -> PathBuf {
    let earlier = broker
        .output_log
        .with_extension(format!("{}.log", chrono::Utc::now().timestamp()));
    let _ = std::fs::rename(&broker.output_log, earlier);
    broker.output_log.clone()
}

/// The command line of `command`, as recorded for a restart from another process.
pub(super) fn command_line(command: &Command) -> Vec<String> {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|part| part.to_string_lossy().into_owned())
        .collect()
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
