//! What a local cluster is asked to be: its size, ports, broker settings and the proxied
//! layout of its links.

use super::*;

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
    /// How clients reach the brokers.
    pub security: Security,
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
            security: Security::Plaintext,
        }
    }
}

impl ClusterSpec {
    pub(super) fn client_port(&self, index: usize) -> u16 {
        self.base_port + index as u16
    }

    pub(super) fn controller_port(&self, index: usize) -> u16 {
        self.base_port + 10 + index as u16
    }

    /// Where broker `index` listens for controllers: the voters' port, or behind a proxy a
    /// hidden one.
    pub(super) fn controller_listen_port(&self, index: usize) -> u16 {
        if self.proxied {
            self.base_port + 40 + index as u16
        } else {
            self.controller_port(index)
        }
    }

    /// Where broker `index` listens for clients: its public port, or behind a proxy a
    /// hidden one.
    pub(super) fn listen_port(&self, index: usize) -> u16 {
        if self.proxied {
            self.base_port + 20 + index as u16
        } else {
            self.client_port(index)
        }
    }

    pub(super) fn replication_port(&self, index: usize) -> u16 {
        self.base_port + 30 + index as u16
    }

    /// Where broker `index` listens for its peers: behind a proxy a hidden port, else the
    /// port its peers connect to.
    pub(super) fn replication_listen_port(&self, index: usize) -> u16 {
        if self.proxied {
            self.base_port + 50 + index as u16
        } else {
            self.replication_port(index)
        }
    }

    /// Whether replication has a listener of its own (behind proxies, or beside a secured
    /// client listener).
    pub(super) fn separate_replication(&self) -> bool {
        self.proxied || self.security != Security::Plaintext
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

    pub(super) fn check(&self) -> Result<(), RuntimeError> {
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
