//! A local Kafka cluster: every node a combined broker and controller on 127.0.0.1, sharing
//! one static voters list.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use base64::Engine as _;
use nix::sys::signal::Signal;
use serde::{Deserialize, Serialize};

use super::distribution::{last_lines, KafkaDistribution};
use super::owner::{Lifetime, Owner};
use super::process::{runs, signal_if_ours, spawn_detached};
use super::registry::{register_quietly, Registry};
use super::{io_error, RuntimeError};
use crate::admin::{BrokerInfo, KafkaAdmin};
use crate::connection::KafkaConnection;
use crate::topics::{min_insync_for, replication_for};

/// The file in the cluster directory that records what is running.
pub const STATE_FILE: &str = "cluster.json";

/// The most nodes a local cluster may have: ports are laid out in blocks of ten.
const MAX_BROKERS: usize = 9;

/// What to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterSpec {
    /// Number of nodes (each a broker and a controller).
    pub brokers: usize,
    /// Directory for configs, data, logs and the state file.
    pub dir: PathBuf,
    /// Node `i` (from 0) listens for clients on `base_port + i` and for controllers on
    /// `base_port + 10 + i`.
    pub base_port: u16,
    /// Java heap of each broker, MiB.
    pub heap_mb: u32,
    /// How long the brokers may take to all appear in the cluster metadata.
    pub startup_timeout: Duration,
    /// Extra broker properties, written after streamproof's own (so they win).
    pub broker_properties: BTreeMap<String, String>,
    /// Every link to broker `i` goes through a proxy the caller runs (see
    /// [`ClusterSpec::proxy_routes`]): clients reach it on its public port `base_port + i`,
    /// its peers replicate from it over `base_port + 30 + i` and the controllers talk to it
    /// over `base_port + 10 + i`. The broker itself listens on hidden ports: clients
    /// `base_port + 20 + i`, controllers `base_port + 40 + i`, replication `base_port + 50 + i`.
    pub proxied: bool,
    /// Whether the brokers end with this process or are kept (`up`, `--keep-platform`);
    /// restarted brokers keep it.
    pub lifetime: Lifetime,
}

impl Default for ClusterSpec {
    fn default() -> Self {
        ClusterSpec {
            brokers: 1,
            dir: PathBuf::from(".streamproof/cluster"),
            base_port: 9092,
            heap_mb: 512,
            startup_timeout: Duration::from_secs(120),
            broker_properties: BTreeMap::new(),
            proxied: false,
            lifetime: Lifetime::EndsWithThisProcess,
        }
    }
}

impl ClusterSpec {
    fn client_port(&self, index: usize) -> u16 {
        self.base_port + index as u16
    }

    fn controller_port(&self, index: usize) -> u16 {
        self.base_port + 10 + index as u16
    }

    /// Where broker `index` listens for controllers: the voters' port, or behind a proxy a
    /// hidden one.
    fn controller_listen_port(&self, index: usize) -> u16 {
        if self.proxied {
            self.base_port + 40 + index as u16
        } else {
            self.controller_port(index)
        }
    }

    /// Where broker `index` listens for clients: its public port, or behind a proxy a
    /// hidden one.
    fn listen_port(&self, index: usize) -> u16 {
        if self.proxied {
            self.base_port + 20 + index as u16
        } else {
            self.client_port(index)
        }
    }

    fn replication_port(&self, index: usize) -> u16 {
        self.base_port + 30 + index as u16
    }

    fn replication_listen_port(&self, index: usize) -> u16 {
        self.base_port + 50 + index as u16
    }

    /// The proxies a proxied cluster needs, three per broker: clients, controllers and
    /// replication. They must listen before the brokers start, or the controllers cannot
    /// form a quorum.
    pub fn proxy_routes(&self) -> Vec<ProxyRoute> {
        (0..self.brokers)
            .flat_map(|index| {
                [
                    (
                        Link::Client,
                        self.client_port(index),
                        self.listen_port(index),
                    ),
                    (
                        Link::Controller,
                        self.controller_port(index),
                        self.controller_listen_port(index),
                    ),
                    (
                        Link::Replication,
                        self.replication_port(index),
                        self.replication_listen_port(index),
                    ),
                ]
                .map(|(link, listen, upstream)| ProxyRoute {
                    node_index: index,
                    link,
                    listen,
                    upstream,
                })
            })
            .collect()
    }

    fn check(&self) -> Result<(), RuntimeError> {
        if self.brokers == 0 || self.brokers > MAX_BROKERS {
            return Err(RuntimeError::InvalidSpec(format!(
                "a local cluster has 1 to {MAX_BROKERS} brokers, not {}",
                self.brokers
            )));
        }
        if u32::from(self.base_port) + u32::from(PORT_BLOCK) > u32::from(u16::MAX) {
            return Err(RuntimeError::InvalidSpec(format!(
                "base port {} leaves no room for the controller ports above it; choose one below 65000",
                self.base_port
            )));
        }
        if self.base_port < 1024 {
            return Err(RuntimeError::InvalidSpec(format!(
                "base port {} is privileged; choose one from 1024 up (the default is 9092)",
                self.base_port
            )));
        }
        Ok(())
    }
}

/// Ports a cluster may use from its base port up (the proxied layout uses all of them).
pub const PORT_BLOCK: u16 = 60;

/// Which of a broker's links a proxy carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Link {
    /// Clients (producers, consumers, admin).
    Client,
    /// KRaft controller traffic: votes, metadata fetches, broker heartbeats.
    Controller,
    /// Followers fetching from leaders.
    Replication,
}

/// One proxy in front of one broker listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyRoute {
    /// The broker's index in the cluster (node id − 1).
    pub node_index: usize,
    /// What the proxy carries.
    pub link: Link,
    /// The public port the proxy listens on.
    pub listen: u16,
    /// The broker's hidden port it forwards to.
    pub upstream: u16,
}

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
    fn marker(&self) -> String {
        self.config.display().to_string()
    }

    /// Whether the recorded process still runs this broker.
    pub fn is_running(&self) -> bool {
        runs(self.pid, &self.marker())
    }

    fn log_tail(&self) -> String {
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

    fn save(&self) -> Result<(), RuntimeError> {
        let path = self.dir.join(STATE_FILE);
        let text = serde_json::to_string_pretty(self).map_err(|source| RuntimeError::State {
            path: path.clone(),
            source,
        })?;
        std::fs::write(&path, text).map_err(io_error("write", &path))
    }

    /// How clients reach the cluster: the embedded platform needs no client properties.
    pub fn connection(&self) -> KafkaConnection {
        KafkaConnection::new(self.bootstrap_servers.as_str())
    }

    fn any_running(&self) -> bool {
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

/// A running local cluster started by this process.
///
/// With [`LocalCluster::stop_on_drop`] it stops its brokers when dropped (at the end of a
/// run, on error or on unwinding); otherwise it leaves them running for `streamproof down`.
pub struct LocalCluster {
    state: ClusterState,
    children: Vec<Child>,
    stop_on_drop: bool,
    spec: ClusterSpec,
    distribution: KafkaDistribution,
}

impl LocalCluster {
    /// Starts a cluster as `spec` describes, or reports the one already running there.
    /// Waits until a metadata request lists every broker.
    pub fn up(
        spec: &ClusterSpec,
        distribution: &KafkaDistribution,
    ) -> Result<UpOutcome, RuntimeError> {
        spec.check()?;
        std::fs::create_dir_all(&spec.dir).map_err(io_error("create", &spec.dir))?;
        let dir = std::fs::canonicalize(&spec.dir).map_err(io_error("resolve", &spec.dir))?;
        if let Some(existing) = ClusterState::load(&dir)? {
            if existing.any_running() {
                if existing.brokers.len() != spec.brokers {
                    return Err(RuntimeError::ShapeMismatch {
                        dir,
                        running: existing.brokers.len(),
                        requested: spec.brokers,
                    });
                }
                return Ok(UpOutcome::AlreadyRunning(existing));
            }
        }
        check_ports_free(spec)?;
        let spec = ClusterSpec {
            dir,
            ..spec.clone()
        };
        let cluster_id = new_cluster_id();
        let mut cluster = LocalCluster {
            state: ClusterState {
                cluster_id: cluster_id.clone(),
                kafka_version: distribution.version.to_owned(),
                started_at: crate::events::utc_timestamp(chrono::Utc::now()),
                bootstrap_servers: (0..spec.brokers)
                    .map(|i| format!("127.0.0.1:{}", spec.client_port(i)))
                    .collect::<Vec<_>>()
                    .join(","),
                dir: spec.dir.clone(),
                brokers: Vec::new(),
                owner: Some(Owner::this_process(spec.lifetime)),
            },
            children: Vec::new(),
            stop_on_drop: true,
            spec: spec.clone(),
            distribution: distribution.clone(),
        };
        for index in 0..spec.brokers {
            let broker = prepare_broker(&spec, index, &cluster_id, distribution)?;
            let child = spawn_detached(
                broker_command(&spec, &broker, distribution),
                &broker.output_log,
                spec.lifetime,
            )?;
            cluster.state.brokers.push(BrokerProcess {
                pid: child.id() as i32,
                ..broker
            });
            cluster.children.push(child);
            cluster.state.save()?;
            if index == 0 {
                register_quietly(&spec.dir);
            }
        }
        cluster.wait_until_ready(spec.startup_timeout)?;
        Ok(UpOutcome::Started(cluster))
    }

    fn wait_until_ready(&mut self, timeout: Duration) -> Result<(), RuntimeError> {
        let started = Instant::now();
        let admin = KafkaAdmin::connect(&self.connection())?.with_timeout(Duration::from_secs(2));
        let expected = self.state.brokers.len();
        loop {
            for (child, broker) in self.children.iter_mut().zip(&self.state.brokers) {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(RuntimeError::BrokerExited {
                        node_id: broker.node_id,
                        status: status.to_string(),
                        log: broker.server_log.clone(),
                        tail: broker.log_tail(),
                    });
                }
            }
            let seen = admin.brokers().map_or(0, |brokers| brokers.len());
            if seen == expected {
                return Ok(());
            }
            if started.elapsed() > timeout {
                return Err(RuntimeError::NotReady {
                    waited: started.elapsed(),
                    seen,
                    expected,
                    dir: self.state.dir.clone(),
                });
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// The recorded state.
    pub fn state(&self) -> &ClusterState {
        &self.state
    }

    /// Comma-separated client addresses.
    pub fn bootstrap_servers(&self) -> &str {
        &self.state.bootstrap_servers
    }

    /// How clients reach the cluster.
    pub fn connection(&self) -> KafkaConnection {
        self.state.connection()
    }

    /// Leaves the brokers running after this value is gone (for `streamproof up`); they are
    /// stopped later by `streamproof down`.
    pub fn detach(mut self) -> ClusterState {
        self.stop_on_drop = false;
        self.state.clone()
    }

    /// Stops every broker now: SIGTERM, then SIGKILL after `grace`. Logs are kept.
    pub fn stop(mut self, grace: Duration) -> StopReport {
        self.stop_on_drop = false;
        let report = stop_brokers(&self.state, grace);
        for child in &mut self.children {
            let _ = child.try_wait();
        }
        report
    }

    /// Node ids of the brokers.
    pub fn broker_ids(&self) -> Vec<i32> {
        self.state.brokers.iter().map(|b| b.node_id).collect()
    }

    fn broker_index(&self, node_id: i32) -> Result<usize, RuntimeError> {
        self.state
            .brokers
            .iter()
            .position(|b| b.node_id == node_id)
            .ok_or_else(|| {
                RuntimeError::InvalidSpec(format!(
                    "broker {node_id} is not part of this cluster (brokers: {:?})",
                    self.broker_ids()
                ))
            })
    }

    /// Sends `signal` to broker `node_id`'s process if it still runs that broker; returns the
    /// pid signalled, `None` when it was not running.
    pub fn signal_broker(
        &mut self,
        node_id: i32,
        signal: Signal,
    ) -> Result<Option<i32>, RuntimeError> {
        let index = self.broker_index(node_id)?;
        let broker = &self.state.brokers[index];
        let sent = signal_if_ours(broker.pid, &broker.marker(), signal);
        Ok(sent.then_some(broker.pid))
    }

    /// Waits up to `limit` for broker `node_id`'s process to exit; returns whether it did.
    pub fn wait_broker_exit(
        &mut self,
        node_id: i32,
        limit: Duration,
    ) -> Result<bool, RuntimeError> {
        let index = self.broker_index(node_id)?;
        let started = Instant::now();
        loop {
            let _ = self.children[index].try_wait();
            if !self.state.brokers[index].is_running() {
                return Ok(true);
            }
            if started.elapsed() > limit {
                return Ok(false);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Starts broker `node_id` again (same configuration and data) when it is not running;
    /// records its new pid. Returns the pid.
    pub fn start_broker(&mut self, node_id: i32) -> Result<i32, RuntimeError> {
        let index = self.broker_index(node_id)?;
        let _ = self.children[index].try_wait();
        if self.state.brokers[index].is_running() {
            return Ok(self.state.brokers[index].pid);
        }
        let broker = self.state.brokers[index].clone();
        let log = broker
            .output_log
            .with_extension(format!("{}.log", chrono::Utc::now().timestamp()));
        let _ = std::fs::rename(&broker.output_log, log);
        let child = spawn_detached(
            broker_command(&self.spec, &broker, &self.distribution),
            &broker.output_log,
            self.spec.lifetime,
        )?;
        self.state.brokers[index].pid = child.id() as i32;
        self.children[index] = child;
        self.state.save()?;
        Ok(self.state.brokers[index].pid)
    }

    /// The node id of the active KRaft controller, from the quorum state a running broker
    /// keeps in its metadata log directory.
    pub fn controller_id(&self) -> Option<i32> {
        self.state
            .brokers
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

    /// Status of the cluster recorded in `dir`.
    pub fn status(dir: &Path) -> Result<ClusterStatus, RuntimeError> {
        let state = ClusterState::load(dir)?.ok_or_else(|| RuntimeError::NotRunning {
            dir: dir.to_owned(),
        })?;
        let brokers = state
            .brokers
            .iter()
            .map(|broker| BrokerStatus {
                node_id: broker.node_id,
                pid: broker.pid,
                port: broker.port,
                running: broker.is_running(),
            })
            .collect();
        let metadata = KafkaAdmin::connect(&state.connection())
            .map(|admin| admin.with_timeout(Duration::from_secs(5)))
            .and_then(|admin| admin.brokers())
            .map_err(|error| error.to_string());
        Ok(ClusterStatus {
            state,
            brokers,
            metadata,
        })
    }

    /// Stops the cluster recorded in `dir` (only its recorded processes) and forgets it.
    pub fn down(dir: &Path, grace: Duration) -> Result<StopReport, RuntimeError> {
        let state = ClusterState::load(dir)?.ok_or_else(|| RuntimeError::NotRunning {
            dir: dir.to_owned(),
        })?;
        Ok(stop_brokers(&state, grace))
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        if self.stop_on_drop {
            stop_brokers(&self.state, Duration::from_secs(15));
            for child in &mut self.children {
                let _ = child.try_wait();
            }
        }
    }
}

fn stop_brokers(state: &ClusterState, grace: Duration) -> StopReport {
    let mut outcomes: Vec<(i32, i32, StopOutcome)> = state
        .brokers
        .iter()
        .map(|broker| {
            let outcome = if signal_if_ours(broker.pid, &broker.marker(), Signal::SIGTERM) {
                StopOutcome::Graceful
            } else {
                StopOutcome::NotRunning
            };
            (broker.node_id, broker.pid, outcome)
        })
        .collect();
    wait_for_exit(state, grace);
    for (broker, outcome) in state.brokers.iter().zip(outcomes.iter_mut()) {
        if signal_if_ours(broker.pid, &broker.marker(), Signal::SIGKILL) {
            outcome.2 = StopOutcome::Killed;
        }
    }
    wait_for_exit(state, Duration::from_secs(10));
    for (broker, outcome) in state.brokers.iter().zip(outcomes.iter_mut()) {
        if broker.is_running() {
            outcome.2 = StopOutcome::StillRunning;
        }
    }
    if outcomes
        .iter()
        .all(|(_, _, o)| *o != StopOutcome::StillRunning)
    {
        let _ = std::fs::remove_file(state.dir.join(STATE_FILE));
        Registry::from_env().forget_if_idle(&state.dir);
    }
    StopReport {
        brokers: outcomes,
        dir: state.dir.clone(),
    }
}

fn wait_for_exit(state: &ClusterState, limit: Duration) {
    let started = Instant::now();
    while state.any_running() && started.elapsed() < limit {
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn check_ports_free(spec: &ClusterSpec) -> Result<(), RuntimeError> {
    for index in 0..spec.brokers {
        let node = index + 1;
        let mut ports = vec![
            (
                spec.listen_port(index),
                format!("broker {node} client listener"),
            ),
            (
                spec.controller_listen_port(index),
                format!("broker {node} controller listener"),
            ),
        ];
        if spec.proxied {
            ports.push((
                spec.replication_listen_port(index),
                format!("broker {node} replication listener"),
            ));
        }
        for (port, role) in ports {
            if TcpListener::bind(("127.0.0.1", port)).is_err() {
                return Err(RuntimeError::PortInUse { port, role });
            }
        }
    }
    Ok(())
}

/// A Kafka cluster id: 16 random bytes in URL-safe base64 without padding.
/// Like Kafka's own ids, never starting with `-`, which command lines would take for a flag.
fn new_cluster_id() -> String {
    loop {
        let id = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(uuid::Uuid::new_v4().as_bytes());
        if !id.starts_with('-') {
            return id;
        }
    }
}

/// Writes a broker's configs into a fresh directory and formats its storage.
fn prepare_broker(
    spec: &ClusterSpec,
    index: usize,
    cluster_id: &str,
    distribution: &KafkaDistribution,
) -> Result<BrokerProcess, RuntimeError> {
    let node_id = index as i32 + 1;
    let home = spec.dir.join(format!("broker-{node_id}"));
    if home.exists() {
        std::fs::remove_dir_all(&home)
            .map_err(io_error("clear the old broker directory", &home))?;
    }
    std::fs::create_dir_all(&home).map_err(io_error("create", &home))?;
    let broker = BrokerProcess {
        node_id,
        pid: 0,
        port: spec.client_port(index),
        controller_port: spec.controller_port(index),
        config: home.join("server.properties"),
        server_log: home.join("server.log"),
        output_log: home.join("stdout.log"),
        data_dir: home.join("data"),
    };
    std::fs::write(&broker.config, server_properties(spec, &broker))
        .map_err(io_error("write", &broker.config))?;
    let log_config = home.join("log4j2.properties");
    std::fs::write(&log_config, log4j2_properties(&broker.server_log))
        .map_err(io_error("write", &log_config))?;
    let output = Command::new(&distribution.java)
        .arg("-Xmx256m")
        .arg(format!(
            "-Dlog4j2.configurationFile={}",
            log_config.display()
        ))
        .arg("-cp")
        .arg(distribution.class_path())
        .args(["kafka.tools.StorageTool", "format", "--ignore-formatted"])
        .arg(format!("--cluster-id={cluster_id}"))
        .arg(format!("--config={}", broker.config.display()))
        .output()
        .map_err(io_error("run Kafka's storage format for", &broker.config))?;
    if !output.status.success() {
        return Err(RuntimeError::Format {
            node_id,
            status: output.status.to_string(),
            output: last_lines(
                &format!(
                    "{}{}",
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                ),
                15,
            ),
        });
    }
    Ok(broker)
}

fn broker_command(
    spec: &ClusterSpec,
    broker: &BrokerProcess,
    distribution: &KafkaDistribution,
) -> Command {
    let mut command = Command::new(&distribution.java);
    let home = broker.config.parent().unwrap_or(&spec.dir);
    command
        .arg(format!("-Xms{}m", spec.heap_mb))
        .arg(format!("-Xmx{}m", spec.heap_mb))
        .args([
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
        ])
        .arg(format!(
            "-Dlog4j2.configurationFile={}",
            home.join("log4j2.properties").display()
        ))
        .arg(format!("-Dkafka.logs.dir={}", home.display()))
        .arg("-cp")
        .arg(distribution.class_path())
        .arg("kafka.Kafka")
        .arg(&broker.config)
        .current_dir(home);
    command
}

fn server_properties(spec: &ClusterSpec, broker: &BrokerProcess) -> String {
    let voters = (0..spec.brokers)
        .map(|i| format!("{}@127.0.0.1:{}", i + 1, spec.controller_port(i)))
        .collect::<Vec<_>>()
        .join(",");
    let replication = replication_for(spec.brokers);
    let min_insync = min_insync_for(replication);
    let index = (broker.node_id - 1) as usize;
    let mut listeners = vec![
        format!("PLAINTEXT://127.0.0.1:{}", spec.listen_port(index)),
        format!(
            "CONTROLLER://127.0.0.1:{}",
            spec.controller_listen_port(index)
        ),
    ];
    let mut advertised = vec![format!("PLAINTEXT://127.0.0.1:{}", broker.port)];
    // Behind proxies, replication gets a listener of its own so that client-side network
    // faults do not also cut brokers off from each other, and peers can be cut separately.
    let inter_broker = if spec.proxied {
        listeners.push(format!(
            "REPLICATION://127.0.0.1:{}",
            spec.replication_listen_port(index)
        ));
        advertised.push(format!(
            "REPLICATION://127.0.0.1:{}",
            spec.replication_port(index)
        ));
        "REPLICATION"
    } else {
        "PLAINTEXT"
    };
    let mut text = String::from("# Written by streamproof for its local cluster.\n");
    let settings = [
        ("process.roles", "broker,controller".to_owned()),
        ("node.id", broker.node_id.to_string()),
        ("controller.quorum.voters", voters),
        ("listeners", listeners.join(",")),
        ("advertised.listeners", advertised.join(",")),
        ("controller.listener.names", "CONTROLLER".to_owned()),
        ("inter.broker.listener.name", inter_broker.to_owned()),
        (
            "listener.security.protocol.map",
            "PLAINTEXT:PLAINTEXT,REPLICATION:PLAINTEXT,CONTROLLER:PLAINTEXT".to_owned(),
        ),
        ("log.dirs", broker.data_dir.display().to_string()),
        // Topics are created explicitly with the platform's settings; a typo must not
        // silently create a one-partition topic.
        ("auto.create.topics.enable", "false".to_owned()),
        ("default.replication.factor", replication.to_string()),
        ("min.insync.replicas", min_insync.to_string()),
        ("offsets.topic.replication.factor", replication.to_string()),
        // Fewer internal partitions than production's 50: the cluster is ready sooner on a
        // small machine and nothing here needs more coordinators.
        ("offsets.topic.num.partitions", "12".to_owned()),
        (
            "transaction.state.log.replication.factor",
            replication.to_string(),
        ),
        ("transaction.state.log.min.isr", min_insync.to_string()),
        ("transaction.state.log.num.partitions", "12".to_owned()),
        ("group.initial.rebalance.delay.ms", "0".to_owned()),
        ("num.network.threads", "2".to_owned()),
        ("num.io.threads", "4".to_owned()),
    ];
    for (name, value) in settings {
        let _ = writeln!(text, "{name}={value}");
    }
    if !spec.broker_properties.is_empty() {
        text.push_str("# Set by the scenario.\n");
        for (name, value) in &spec.broker_properties {
            let _ = writeln!(text, "{name}={value}");
        }
    }
    text
}

fn log4j2_properties(server_log: &Path) -> String {
    format!(
        "status = warn\n\
         appender.server.type = File\n\
         appender.server.name = server\n\
         appender.server.fileName = {}\n\
         appender.server.layout.type = PatternLayout\n\
         appender.server.layout.pattern = [%d] %p %m (%c)%n\n\
         rootLogger.level = info\n\
         rootLogger.appenderRef.server.ref = server\n",
        server_log.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_laid_out_per_node() {
        let spec = ClusterSpec {
            brokers: 3,
            base_port: 19092,
            ..ClusterSpec::default()
        };
        assert_eq!(spec.client_port(2), 19094);
        assert_eq!(spec.controller_port(0), 19102);
        assert!(spec.check().is_ok());
    }

    #[test]
    fn impossible_specs_are_refused() {
        for spec in [
            ClusterSpec {
                brokers: 0,
                ..ClusterSpec::default()
            },
            ClusterSpec {
                base_port: 65530,
                ..ClusterSpec::default()
            },
            ClusterSpec {
                base_port: 80,
                ..ClusterSpec::default()
            },
        ] {
            assert!(matches!(spec.check(), Err(RuntimeError::InvalidSpec(_))));
        }
    }

    /// Broker 2 of a three-broker cluster on base port 19092.
    fn second_broker() -> BrokerProcess {
        BrokerProcess {
            node_id: 2,
            pid: 0,
            port: 19093,
            controller_port: 19103,
            config: PathBuf::from("/tmp/c/broker-2/server.properties"),
            server_log: PathBuf::from("/tmp/c/broker-2/server.log"),
            output_log: PathBuf::from("/tmp/c/broker-2/stdout.log"),
            data_dir: PathBuf::from("/tmp/c/broker-2/data"),
        }
    }

    #[test]
    fn server_properties_share_one_voters_list() {
        let spec = ClusterSpec {
            brokers: 3,
            base_port: 19092,
            dir: PathBuf::from("/tmp/c"),
            ..ClusterSpec::default()
        };
        let text = server_properties(&spec, &second_broker());
        assert!(text.contains(
            "controller.quorum.voters=1@127.0.0.1:19102,2@127.0.0.1:19103,3@127.0.0.1:19104\n"
        ));
        assert!(text.contains("advertised.listeners=PLAINTEXT://127.0.0.1:19093\n"));
        assert!(text.contains("offsets.topic.replication.factor=3\n"));
        assert!(text.contains("transaction.state.log.min.isr=2\n"));
    }

    #[test]
    fn proxied_brokers_hide_every_listener_behind_a_proxy() {
        let spec = ClusterSpec {
            brokers: 3,
            base_port: 19092,
            proxied: true,
            ..ClusterSpec::default()
        };
        let text = server_properties(&spec, &second_broker());
        assert!(text.contains(
            "controller.quorum.voters=1@127.0.0.1:19102,2@127.0.0.1:19103,3@127.0.0.1:19104\n"
        ));
        assert!(text.contains(
            "listeners=PLAINTEXT://127.0.0.1:19113,CONTROLLER://127.0.0.1:19133,REPLICATION://127.0.0.1:19143\n"
        ));
        assert!(text.contains(
            "advertised.listeners=PLAINTEXT://127.0.0.1:19093,REPLICATION://127.0.0.1:19123\n"
        ));
        let routes = spec.proxy_routes();
        assert_eq!(routes.len(), 9);
        let broker_two: Vec<(Link, u16, u16)> = routes
            .iter()
            .filter(|r| r.node_index == 1)
            .map(|r| (r.link, r.listen, r.upstream))
            .collect();
        assert_eq!(
            broker_two,
            vec![
                (Link::Client, 19093, 19113),
                (Link::Controller, 19103, 19133),
                (Link::Replication, 19123, 19143)
            ]
        );
    }

    #[test]
    fn cluster_ids_are_kafka_shaped() {
        let id = new_cluster_id();
        assert_eq!(id.len(), 22);
        assert!(id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }
}
