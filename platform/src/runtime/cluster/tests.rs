//! Unit tests.

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
        launch: Vec::new(),
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
