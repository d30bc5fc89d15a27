//! The local runtime starting, refusing and stopping a real single-broker cluster of its own
//! (beside the shared test cluster, on other ports).

use std::net::TcpListener;
use std::time::Duration;

use streamproof_platform::admin::KafkaAdmin;
use streamproof_platform::runtime::{
    default_cache_root, ClusterSpec, KafkaDistribution, LocalCluster, RuntimeError, Signal,
    StopOutcome, UpOutcome, STATE_FILE,
};

/// A block from `start` whose client and controller ports are free now; each test searches
/// its own range so tests running at once never pick the same block.
fn free_base_port(start: u16) -> u16 {
    (start..start + 400)
        .step_by(20)
        .find(|base| {
            [*base, base + 10]
                .iter()
                .all(|port| TcpListener::bind(("127.0.0.1", *port)).is_ok())
        })
        .expect("a free port block")
}

/// Starts a one-broker cluster in `dir` on the first block from `start` that is still free
/// when the cluster binds it (another program may take a port between the check and the start).
fn start_single(dir: &std::path::Path, start: u16) -> (ClusterSpec, LocalCluster) {
    let distribution = KafkaDistribution::ensure(&default_cache_root()).unwrap();
    let mut from = start;
    loop {
        let spec = ClusterSpec {
            dir: dir.to_owned(),
            base_port: free_base_port(from),
            heap_mb: 256,
            ..ClusterSpec::default()
        };
        match LocalCluster::up(&spec, &distribution) {
            Ok(UpOutcome::Started(cluster)) => return (spec, cluster),
            Err(RuntimeError::PortInUse { .. }) if from < start + 380 => from = spec.base_port + 20,
            Err(error) => panic!("{error}"),
            Ok(UpOutcome::AlreadyRunning(_)) => panic!("a fresh directory starts a cluster"),
        }
    }
}

#[test]
fn up_status_refusals_and_down() {
    let distribution = KafkaDistribution::ensure(&default_cache_root()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let spec = ClusterSpec {
        brokers: 1,
        dir: dir.path().join("cluster"),
        base_port: free_base_port(29_100),
        heap_mb: 256,
        ..ClusterSpec::default()
    };
    let UpOutcome::Started(cluster) = LocalCluster::up(&spec, &distribution).unwrap() else {
        panic!("a fresh directory starts a cluster");
    };
    let state = cluster.state().clone();
    assert_eq!(
        state.bootstrap_servers,
        format!("127.0.0.1:{}", spec.base_port)
    );
    assert!(spec.dir.join(STATE_FILE).exists());
    assert!(state.brokers[0].is_running());

    // Asking again for the same cluster reports the running one.
    match LocalCluster::up(&spec, &distribution).unwrap() {
        UpOutcome::AlreadyRunning(running) => assert_eq!(running.cluster_id, state.cluster_id),
        UpOutcome::Started(_) => panic!("a second cluster was started in the same directory"),
    }
    // A different shape in the same directory is refused.
    let three = ClusterSpec {
        brokers: 3,
        ..spec.clone()
    };
    assert!(matches!(
        LocalCluster::up(&three, &distribution),
        Err(RuntimeError::ShapeMismatch {
            running: 1,
            requested: 3,
            ..
        })
    ));
    // Another directory on the same ports names the port in use.
    let elsewhere = ClusterSpec {
        dir: dir.path().join("other"),
        ..spec.clone()
    };
    match LocalCluster::up(&elsewhere, &distribution) {
        Err(RuntimeError::PortInUse { port, role }) => {
            assert_eq!(port, spec.base_port);
            assert_eq!(role, "broker 1 client listener");
        }
        Err(other) => panic!("expected the port to be named, got {other}"),
        Ok(_) => panic!("a second cluster started on ports in use"),
    }

    let status = LocalCluster::status(&spec.dir).unwrap();
    assert!(status.brokers.iter().all(|b| b.running));
    assert_eq!(status.metadata.as_ref().unwrap().len(), 1);

    let report = cluster.stop(Duration::from_secs(30));
    assert_eq!(report.brokers.len(), 1);
    assert_ne!(report.brokers[0].2, StopOutcome::StillRunning);
    assert!(!state.brokers[0].is_running(), "the broker process is gone");
    assert!(state.brokers[0].server_log.exists(), "logs are kept");
    assert!(!spec.dir.join(STATE_FILE).exists());
    assert!(matches!(
        LocalCluster::status(&spec.dir),
        Err(RuntimeError::NotRunning { .. })
    ));
}

#[test]
fn dropping_a_started_cluster_stops_it() {
    let dir = tempfile::tempdir().unwrap();
    let (_, cluster) = start_single(dir.path(), 29_500);
    let broker = cluster.state().brokers[0].clone();
    assert!(broker.is_running());
    drop(cluster);
    assert!(!broker.is_running());
}

#[test]
fn brokers_can_be_paused_killed_and_started_again() {
    let dir = tempfile::tempdir().unwrap();
    let (_, mut cluster) = start_single(dir.path(), 29_900);
    let connection = cluster.connection().expect("the cluster's connection");
    let metadata_lists_broker = || {
        KafkaAdmin::connect(&connection)
            .unwrap()
            .with_timeout(Duration::from_secs(2))
            .brokers()
            .is_ok_and(|brokers| brokers.len() == 1)
    };
    assert!(metadata_lists_broker());
    assert_eq!(cluster.controller_id(), Some(1));

    // A paused broker stops answering, and answers again once resumed.
    let pid = cluster
        .signal_broker(1, Signal::SIGSTOP)
        .unwrap()
        .expect("running");
    assert!(!metadata_lists_broker(), "a stopped broker must not answer");
    assert_eq!(
        cluster.signal_broker(1, Signal::SIGCONT).unwrap(),
        Some(pid)
    );
    assert!(
        wait_until(metadata_lists_broker),
        "the resumed broker answers"
    );

    // A killed broker is gone; started again it rejoins with a new pid.
    cluster.signal_broker(1, Signal::SIGKILL).unwrap();
    assert!(cluster
        .wait_broker_exit(1, Duration::from_secs(10))
        .unwrap());
    assert_eq!(
        cluster.signal_broker(1, Signal::SIGCONT).unwrap(),
        None,
        "nothing to signal"
    );
    let new_pid = cluster.start_broker(1).unwrap();
    assert_ne!(new_pid, pid);
    assert!(
        wait_until(metadata_lists_broker),
        "the restarted broker rejoins"
    );
    assert!(matches!(
        cluster.signal_broker(7, Signal::SIGKILL),
        Err(RuntimeError::InvalidSpec(_))
    ));
    let report = cluster.stop(Duration::from_secs(30));
    assert_eq!(report.brokers[0].1, new_pid);
}

fn wait_until(condition: impl Fn() -> bool) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}
