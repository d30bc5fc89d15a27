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

mod config;
mod security;
mod spec;
mod state;
#[cfg(test)]
mod tests;

use config::*;
use security::{scram_user_args, SecurityFiles};
pub use security::{Security, CLIENT_USER};
pub use spec::*;
pub use state::*;

/// A running local cluster started by this process.
///
/// It stops its brokers when dropped (at the end of a run, on error or on unwinding), unless
/// [`LocalCluster::detach`] left them running for `streamproof down`.
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
        let security = match spec.security {
            Security::Plaintext => None,
            Security::SaslSsl => Some(SecurityFiles::create(&spec.dir)?),
        };
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
                client_properties: security
                    .as_ref()
                    .map(SecurityFiles::client_properties)
                    .unwrap_or_default(),
            },
            children: Vec::new(),
            stop_on_drop: true,
            spec: spec.clone(),
            distribution: distribution.clone(),
        };
        for index in 0..spec.brokers {
            let broker = prepare_broker(&spec, index, &cluster_id, distribution)?;
            let command = broker_command(&spec, &broker, distribution);
            let launch = command_line(&command);
            let child = spawn_detached(command, &broker.output_log, spec.lifetime)?;
            cluster.state.brokers.push(BrokerProcess {
                pid: child.id() as i32,
                launch,
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
        let admin = KafkaAdmin::connect(&self.connection()?)?.with_timeout(Duration::from_secs(2));
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
    pub fn connection(&self) -> Result<KafkaConnection, RuntimeError> {
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
        self.state.broker_index(node_id)
    }

    /// Sends `signal` to broker `node_id`'s process if it still runs that broker; returns the
    /// pid signalled, `None` when it was not running.
    pub fn signal_broker(
        &mut self,
        node_id: i32,
        signal: Signal,
    ) -> Result<Option<i32>, RuntimeError> {
        self.state.signal_broker(node_id, signal)
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
        let child = spawn_detached(
            broker_command(&self.spec, &broker, &self.distribution),
            &rotate_output_log(&broker),
            self.spec.lifetime,
        )?;
        self.state.brokers[index].pid = child.id() as i32;
        self.children[index] = child;
        self.state.save()?;
        Ok(self.state.brokers[index].pid)
    }

    /// The node id of the active KRaft controller.
    pub fn controller_id(&self) -> Option<i32> {
        self.state.controller_id()
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
        let metadata = KafkaAdmin::connect(&state.connection()?)
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
