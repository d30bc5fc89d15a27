//! A TCP proxy in front of each broker's client listener, so network faults can be applied
//! between clients and one broker: added latency with jitter, a bandwidth limit, a blackhole
//! (the connection stays open, the bytes vanish), a reset of every open connection, and a
//! complete cut-off. Each direction has its own settings. Brokers advertise the proxy's
//! address, so clients never bypass it.
//!
//! Only 127.0.0.1 is ever listened on or connected to.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
    faults: watch::Sender<ProxyFaults>,
    resets: watch::Sender<u64>,
}

/// Proxies for a set of brokers, run on a thread of their own.
pub struct ProxySet {
    controls: Vec<Control>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl ProxySet {
    /// Starts one proxy per `(listen port, upstream port)` pair on 127.0.0.1.
    pub fn start(pairs: &[(u16, u16)]) -> Result<Self, ProxyError> {
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
        let mut controls = Vec::new();
        for (listen, upstream) in pairs {
            let listener = runtime
                .block_on(TcpListener::bind(("127.0.0.1", *listen)))
                .map_err(|source| ProxyError {
                    listen: *listen,
                    upstream: *upstream,
                    source,
                })?;
            let (faults, faults_rx) = watch::channel(ProxyFaults::default());
            let (resets, resets_rx) = watch::channel(0);
            runtime.spawn(accept_loop(listener, *upstream, faults_rx, resets_rx));
            controls.push(Control { faults, resets });
        }
        Ok(ProxySet {
            controls,
            runtime: Some(runtime),
        })
    }

    /// Replaces the fault state of proxy `index`. Cutting also drops open connections.
    pub fn set(&self, index: usize, faults: ProxyFaults) {
        if let Some(control) = self.controls.get(index) {
            control.faults.send_replace(faults);
            if faults.cut {
                self.reset(index);
            }
        }
    }

    /// Drops every open connection of proxy `index` (clients see a reset and reconnect).
    pub fn reset(&self, index: usize) {
        if let Some(control) = self.controls.get(index) {
            control.resets.send_modify(|generation| *generation += 1);
        }
    }

    /// Heals proxy `index`.
    pub fn clear(&self, index: usize) {
        self.set(index, ProxyFaults::default());
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

async fn accept_loop(
    listener: TcpListener,
    upstream: u16,
    faults: watch::Receiver<ProxyFaults>,
    resets: watch::Receiver<u64>,
) {
    while let Ok((client, _)) = listener.accept().await {
        let cut = faults.borrow().cut;
        if cut {
            drop(client);
            continue;
        }
        let (faults, resets) = (faults.clone(), resets.clone());
        tokio::spawn(async move {
            let upstream_addr = SocketAddr::from(([127, 0, 0, 1], upstream));
            if let Ok(broker) = TcpStream::connect(upstream_addr).await {
                relay(client, broker, faults, resets).await;
            }
        });
    }
}

/// Relays both directions until either side closes or a reset is requested.
async fn relay(
    client: TcpStream,
    broker: TcpStream,
    faults: watch::Receiver<ProxyFaults>,
    mut resets: watch::Receiver<u64>,
) {
    let _ = client.set_nodelay(true);
    let _ = broker.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (broker_read, broker_write) = broker.into_split();
    let upstream = pump(client_read, broker_write, faults.clone(), |f| f.to_broker);
    let downstream = pump(broker_read, client_write, faults, |f| f.to_client);
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
/// most at the bandwidth limit.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    faults: watch::Receiver<ProxyFaults>,
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
