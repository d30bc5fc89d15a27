//! TCP proxies in front of every broker listener, so network faults can be applied to one
//! broker's links. Between clients and a broker: added latency with jitter, a bandwidth
//! limit, a blackhole (the connection stays open, the bytes vanish), a reset of every open
//! connection, and a complete cut-off, each direction with its own settings. Between brokers
//! (replication and controller links): isolation of one broker from all its peers, both
//! ways, while its clients still reach it. Brokers advertise the proxies' addresses and the
//! controllers know each other by them, so no link bypasses them.
//!
//! Only 127.0.0.1 is ever listened on or connected to.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use streamproof_platform::runtime::{Link, ProxyRoute};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// What happens to the bytes flowing one way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shaping {
    /// Delay added to every chunk.
    pub latency: Duration,
    /// Up to this much more or less delay, drawn per chunk (order is kept).
    pub jitter: Duration,
    /// Bytes per second; `None` is unlimited.
    pub bandwidth: Option<u64>,
    /// Bytes are read and dropped; the connection stays open.
    pub blackhole: bool,
}

/// The fault state of one proxy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyFaults {
    /// Client → broker.
    pub to_broker: Shaping,
    /// Broker → client.
    pub to_client: Shaping,
    /// New connections are refused (accepted and closed at once) and open ones are dropped.
    pub cut: bool,
}

/// Why a proxy could not start.
#[derive(Debug, thiserror::Error)]
#[error("the proxy for 127.0.0.1:{upstream} cannot listen on 127.0.0.1:{listen}: {source}")]
pub struct ProxyError {
    listen: u16,
    upstream: u16,
    source: std::io::Error,
}

/// One proxy: its settings and a counter that, when bumped, drops every open connection.
struct Control {
    route: ProxyRoute,
    faults: watch::Sender<ProxyFaults>,
    resets: watch::Sender<u64>,
}

/// `(node index, pid)` of every running broker, to tell which broker opened a peer link.
type NodePids = Arc<RwLock<Vec<(usize, i32)>>>;

/// Proxies for a set of brokers, run on a thread of their own.
pub struct ProxySet {
    controls: Vec<Control>,
    isolated: watch::Sender<BTreeSet<usize>>,
    nodes: NodePids,
    runtime: Option<tokio::runtime::Runtime>,
}

impl ProxySet {
    /// Starts one proxy per route on 127.0.0.1.
    pub fn start(routes: &[ProxyRoute]) -> Result<Self, ProxyError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("streamproof-proxy")
            .enable_all()
            .build()
            .map_err(|source| ProxyError {
                listen: 0,
                upstream: 0,
                source,
            })?;
        let (isolated, _) = watch::channel(BTreeSet::new());
        let nodes = NodePids::default();
        let mut controls = Vec::new();
        for route in routes {
            let listener = runtime
                .block_on(TcpListener::bind(("127.0.0.1", route.listen)))
                .map_err(|source| ProxyError {
                    listen: route.listen,
                    upstream: route.upstream,
                    source,
                })?;
            let (faults, faults_rx) = watch::channel(ProxyFaults::default());
            let (resets, resets_rx) = watch::channel(0);
            let endpoint = Endpoint {
                route: *route,
                faults: faults_rx,
                resets: resets_rx,
                isolated: isolated.subscribe(),
                nodes: nodes.clone(),
            };
            runtime.spawn(accept_loop(listener, endpoint));
            controls.push(Control {
                route: *route,
                faults,
                resets,
            });
        }
        Ok(ProxySet {
            controls,
            isolated,
            nodes,
            runtime: Some(runtime),
        })
    }

    /// Tells the proxies which process is which broker (`(node index, pid)`); needed to
    /// isolate a broker, and again after a broker restarts under a new pid.
    pub fn track_nodes(&self, nodes: Vec<(usize, i32)>) {
        if let Ok(mut known) = self.nodes.write() {
            *known = nodes;
        }
    }

    fn client_proxy(&self, node: usize) -> Option<&Control> {
        self.controls
            .iter()
            .find(|c| c.route.node_index == node && c.route.link == Link::Client)
    }

    /// Replaces the fault state between clients and broker `node` (its index). Cutting also
    /// drops open connections.
    pub fn set(&self, node: usize, faults: ProxyFaults) {
        if let Some(control) = self.client_proxy(node) {
            control.faults.send_replace(faults);
            if faults.cut {
                self.reset(node);
            }
        }
    }

    /// Drops every open client connection of broker `node` (clients see a reset and
    /// reconnect).
    pub fn reset(&self, node: usize) {
        if let Some(control) = self.client_proxy(node) {
            control.resets.send_modify(|generation| *generation += 1);
        }
    }

    /// Heals the client links of broker `node`.
    pub fn clear(&self, node: usize) {
        self.set(node, ProxyFaults::default());
    }

    /// Cuts broker `node` off from its peers: every replication and controller link it
    /// opened or accepted stalls both ways (bytes wait, as TCP's would in a partition).
    pub fn isolate(&self, node: usize) {
        self.isolated.send_modify(|set| {
            set.insert(node);
        });
    }

    /// Heals an isolation: stalled links carry their bytes on.
    pub fn rejoin(&self, node: usize) {
        self.isolated.send_modify(|set| {
            set.remove(&node);
        });
    }
}

impl Drop for ProxySet {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(1));
        }
    }
}

/// The proxies shared between the run and the fault injector.
pub type SharedProxies = Arc<Mutex<ProxySet>>;

/// What one proxy's connections share.
#[derive(Clone)]
struct Endpoint {
    route: ProxyRoute,
    faults: watch::Receiver<ProxyFaults>,
    resets: watch::Receiver<u64>,
    isolated: watch::Receiver<BTreeSet<usize>>,
    nodes: NodePids,
}

/// The two brokers of a peer link.
#[derive(Clone)]
struct PeerEnds {
    /// The broker that opened the link; looked up when first needed, since links opened
    /// while the cluster starts precede the knowledge of its pids.
    source: Option<usize>,
    destination: usize,
    peer_port: u16,
    proxy_port: u16,
    nodes: NodePids,
}

impl PeerEnds {
    fn source(&mut self) -> Option<usize> {
        if self.source.is_none() {
            let nodes = self.nodes.read().ok()?.clone();
            self.source = crate::owner::connecting_node(self.peer_port, self.proxy_port, &nodes);
        }
        self.source
    }
}

/// Whether a connection between two brokers is partitioned: it is when either end is
/// isolated, unless a broker talks to itself (its broker and controller roles share a
/// process). Client links never are.
#[derive(Clone)]
struct Gate {
    isolated: watch::Receiver<BTreeSet<usize>>,
    /// `None` on client links.
    peers: Option<PeerEnds>,
}

impl Gate {
    fn partitioned(&mut self) -> bool {
        let Some(peers) = self.peers.as_mut() else {
            return false;
        };
        if self.isolated.borrow().is_empty() {
            return false;
        }
        let source = peers.source();
        let isolated = self.isolated.borrow();
        match source {
            Some(source) if source == peers.destination => false,
            Some(source) => isolated.contains(&source) || isolated.contains(&peers.destination),
            None => isolated.contains(&peers.destination),
        }
    }

    /// Returns once the connection is not partitioned.
    async fn wait_open(&mut self) {
        while self.partitioned() {
            if self.isolated.changed().await.is_err() {
                return;
            }
        }
    }
}

async fn accept_loop(listener: TcpListener, endpoint: Endpoint) {
    while let Ok((client, peer)) = listener.accept().await {
        let cut = endpoint.faults.borrow().cut;
        if cut {
            drop(client);
            continue;
        }
        let gate = Gate {
            isolated: endpoint.isolated.clone(),
            peers: (endpoint.route.link != Link::Client).then(|| PeerEnds {
                source: None,
                destination: endpoint.route.node_index,
                peer_port: peer.port(),
                proxy_port: endpoint.route.listen,
                nodes: endpoint.nodes.clone(),
            }),
        };
        let endpoint = endpoint.clone();
        tokio::spawn(async move {
            let upstream_addr = SocketAddr::from(([127, 0, 0, 1], endpoint.route.upstream));
            if let Ok(broker) = TcpStream::connect(upstream_addr).await {
                relay(client, broker, endpoint, gate).await;
            }
        });
    }
}

/// Relays both directions until either side closes or a reset is requested.
async fn relay(client: TcpStream, broker: TcpStream, endpoint: Endpoint, gate: Gate) {
    let _ = client.set_nodelay(true);
    let _ = broker.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (broker_read, broker_write) = broker.into_split();
    let faults = endpoint.faults;
    let mut resets = endpoint.resets;
    let upstream = pump(
        client_read,
        broker_write,
        faults.clone(),
        gate.clone(),
        |f| f.to_broker,
    );
    let downstream = pump(broker_read, client_write, faults, gate, |f| f.to_client);
    resets.mark_unchanged();
    tokio::select! {
        () = upstream => {}
        () = downstream => {}
        _ = resets.changed() => {}
    }
}

/// A chunk read from one side, with when it may be written to the other.
struct Chunk {
    bytes: Vec<u8>,
    due: Instant,
}

/// Moves bytes one way, shaped by `shaping(faults)`: a reader stamps each chunk with its due
/// time (latency ± jitter, never before the previous chunk) and a writer writes it then, at
/// most at the bandwidth limit. While the gate is closed the reader holds its chunk and
/// stops reading, so the sender's TCP window fills as in a partition.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    faults: watch::Receiver<ProxyFaults>,
    mut gate: Gate,
    shaping: fn(&ProxyFaults) -> Shaping,
) {
    let (sender, mut receiver) = mpsc::channel::<Chunk>(256);
    let writer_faults = faults.clone();
    let reader = async move {
        let mut buffer = vec![0u8; 64 * 1024];
        let mut last_due = Instant::now();
        let mut jitter_state = 0x9E37_79B9_u64;
        loop {
            let read = match from.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(read) => read,
            };
            gate.wait_open().await;
            let now = shaping(&faults.borrow());
            if now.blackhole {
                continue;
            }
            jitter_state = jitter_state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            let jitter = jittered(now.latency, now.jitter, jitter_state);
            let due = (Instant::now() + jitter).max(last_due);
            last_due = due;
            let chunk = Chunk {
                bytes: buffer[..read].to_vec(),
                due,
            };
            if sender.send(chunk).await.is_err() {
                return;
            }
        }
    };
    let writer = async move {
        while let Some(chunk) = receiver.recv().await {
            tokio::time::sleep_until(chunk.due).await;
            let limit = shaping(&writer_faults.borrow()).bandwidth;
            if let Some(rate) = limit.filter(|r| *r > 0) {
                let seconds = chunk.bytes.len() as f64 / rate as f64;
                tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
            }
            if to.write_all(&chunk.bytes).await.is_err() {
                return;
            }
        }
    };
    tokio::select! {
        () = reader => {}
        () = writer => {}
    }
}

/// `latency` moved by up to `jitter` either way, from a cheap pseudo-random state.
fn jittered(latency: Duration, jitter: Duration, state: u64) -> Duration {
    if jitter.is_zero() {
        return latency;
    }
    let span = jitter.as_micros() as u64 * 2;
    let offset = (state >> 33) % (span + 1);
    let micros = latency.as_micros() as i64 + offset as i64 - jitter.as_micros() as i64;
    Duration::from_micros(micros.max(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_its_bounds() {
        let latency = Duration::from_millis(50);
        let jitter = Duration::from_millis(10);
        let mut state = 1u64;
        for _ in 0..1000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            let value = jittered(latency, jitter, state);
            assert!(value >= Duration::from_millis(40) && value <= Duration::from_millis(60));
        }
        assert_eq!(jittered(latency, Duration::ZERO, 7), latency);
    }
}
