//! The proxies against a real TCP echo server on 127.0.0.1: latency is added, a blackhole
//! stalls, a reset drops connections, a cut refuses them, an isolation stalls peer links
//! (told apart by the process that opened them) and leaves client links alone.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use streamproof_chaos::proxy::{ProxyFaults, ProxySet, Shaping};
use streamproof_platform::runtime::{Link, ProxyRoute};

/// An echo server on a free port; returns the port.
fn echo_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut buffer = [0u8; 1024];
                while let Ok(read) = stream.read(&mut buffer) {
                    if read == 0 || stream.write_all(&buffer[..read]).is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn proxy_for(link: Link) -> (ProxySet, u16) {
    let route = ProxyRoute {
        node_index: 0,
        link,
        listen: free_port(),
        upstream: echo_server(),
    };
    (ProxySet::start(&[route]).unwrap(), route.listen)
}

fn proxy() -> (ProxySet, u16) {
    proxy_for(Link::Client)
}

fn connect(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    stream
}

/// Sends `ping` and waits for the echo; returns the round trip, or `None` when nothing came.
fn round_trip(stream: &mut TcpStream) -> Option<Duration> {
    let started = Instant::now();
    stream.write_all(b"ping").ok()?;
    let mut buffer = [0u8; 4];
    stream.read_exact(&mut buffer).ok()?;
    (&buffer == b"ping").then(|| started.elapsed())
}

#[test]
fn latency_is_added_each_way() {
    let (proxies, port) = proxy();
    let mut stream = connect(port);
    assert!(round_trip(&mut stream).is_some());
    let slow = Shaping {
        latency: Duration::from_millis(100),
        ..Shaping::default()
    };
    proxies.set(
        0,
        ProxyFaults {
            to_broker: slow,
            to_client: slow,
            cut: false,
        },
    );
    let delayed = round_trip(&mut stream).expect("the echo still arrives");
    assert!(delayed >= Duration::from_millis(200), "{delayed:?}");
    proxies.clear(0);
    assert!(round_trip(&mut stream).is_some());
}

#[test]
fn a_blackhole_stalls_without_closing() {
    let (proxies, port) = proxy();
    let mut stream = connect(port);
    proxies.set(
        0,
        ProxyFaults {
            to_broker: Shaping {
                blackhole: true,
                ..Shaping::default()
            },
            ..ProxyFaults::default()
        },
    );
    assert_eq!(round_trip(&mut stream), None, "the bytes vanish");
    proxies.clear(0);
    assert!(
        round_trip(&mut stream).is_some(),
        "the same connection works again"
    );
}

#[test]
fn a_reset_drops_open_connections() {
    let (proxies, port) = proxy();
    let mut stream = connect(port);
    assert!(round_trip(&mut stream).is_some());
    proxies.reset(0);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(round_trip(&mut stream), None, "the connection is gone");
    let mut fresh = connect(port);
    assert!(round_trip(&mut fresh).is_some(), "new connections work");
}

#[test]
fn a_cut_refuses_new_connections_until_healed() {
    let (proxies, port) = proxy();
    proxies.set(
        0,
        ProxyFaults {
            cut: true,
            ..ProxyFaults::default()
        },
    );
    let mut refused = connect(port);
    assert_eq!(round_trip(&mut refused), None);
    proxies.clear(0);
    let mut healed = connect(port);
    assert!(round_trip(&mut healed).is_some());
}

#[test]
fn isolation_stalls_peer_links_of_the_isolated_broker_until_it_rejoins() {
    let (proxies, port) = proxy_for(Link::Replication);
    // This test process plays broker 1 connecting to broker 0's replication listener.
    proxies.track_nodes(vec![(1, std::process::id() as i32)]);
    let mut stream = connect(port);
    assert!(round_trip(&mut stream).is_some());
    proxies.isolate(1);
    assert_eq!(round_trip(&mut stream), None, "the link stalls");
    proxies.rejoin(1);
    let mut held = [0u8; 4];
    stream
        .read_exact(&mut held)
        .expect("the held bytes arrive after the heal");
    assert_eq!(&held, b"ping");
    assert!(round_trip(&mut stream).is_some());
    proxies.isolate(0);
    assert_eq!(
        round_trip(&mut stream),
        None,
        "isolating the destination stalls it too"
    );
    proxies.rejoin(0);
}

#[test]
fn isolation_leaves_client_links_and_a_brokers_own_links_alone() {
    let (clients, client_port) = proxy();
    clients.isolate(0);
    assert!(round_trip(&mut connect(client_port)).is_some());
    let (peers, peer_port) = proxy_for(Link::Controller);
    peers.track_nodes(vec![(0, std::process::id() as i32)]);
    peers.isolate(0);
    assert!(
        round_trip(&mut connect(peer_port)).is_some(),
        "a broker reaches its own controller"
    );
}
