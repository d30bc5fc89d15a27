//! The reference platform in Docker containers, started from Rust tests through
//! testcontainers (cargo feature `testcontainers`), for teams whose CI has a Docker engine and
//! no Java: the brokers of docker-compose.yml, with the same image, on free loopback ports.
//!
//! The containers use the host's network, as docker-compose.yml does, so that the address a
//! broker advertises is the one clients dial; each container is removed when its handle is
//! dropped (testcontainers' guarantee), so a failed test leaves nothing behind.

use testcontainers::core::WaitFor;
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, GenericImage, ImageExt};

use crate::connection::KafkaConnection;
use crate::handle::free_port_block;
use crate::runtime::{RuntimeError, KAFKA_VERSION};

/// Why the containers could not start.
#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    /// No free loopback ports for the broker.
    #[error("find free ports for the broker container: {0}")]
    Ports(#[from] RuntimeError),
    /// Docker refused or the broker never said it started.
    #[error(
        "start the `apache/kafka:{KAFKA_VERSION}` container (is a Docker engine running?): {0}"
    )]
    Docker(#[from] testcontainers::TestcontainersError),
}

/// A single-node Kafka (KRaft, broker and controller) in a container.
pub struct KafkaContainer {
    /// Kept for its drop, which removes the container.
    _container: ContainerAsync<GenericImage>,
    bootstrap_servers: String,
}

impl KafkaContainer {
    /// Starts `apache/kafka` at the embedded platform's version and waits until it serves.
    pub async fn start() -> Result<Self, ContainerError> {
        let port = free_port_block()?;
        let controller = port + 1;
        let image = GenericImage::new("apache/kafka", KAFKA_VERSION)
            .with_wait_for(WaitFor::message_on_stdout("Kafka Server started"));
        let settings = [
            // docker-compose.yml's cluster id (16 bytes, base64url).
            ("CLUSTER_ID", "c3RyZWFtcHJvb2YtZG9jaw".to_owned()),
            ("KAFKA_NODE_ID", "1".to_owned()),
            ("KAFKA_PROCESS_ROLES", "broker,controller".to_owned()),
            ("KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER".to_owned()),
            (
                "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP",
                "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT".to_owned(),
            ),
            (
                "KAFKA_LISTENERS",
                format!("PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}"),
            ),
            (
                "KAFKA_ADVERTISED_LISTENERS",
                format!("PLAINTEXT://127.0.0.1:{port}"),
            ),
            (
                "KAFKA_CONTROLLER_QUORUM_VOTERS",
                format!("1@127.0.0.1:{controller}"),
            ),
            ("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "1".to_owned()),
            (
                "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
                "1".to_owned(),
            ),
            ("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1".to_owned()),
            ("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0".to_owned()),
            ("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "false".to_owned()),
        ];
        let mut request = image.with_network("host");
        for (name, value) in settings {
            request = request.with_env_var(name, value);
        }
        let container = request.start().await?;
        Ok(KafkaContainer {
            _container: container,
            bootstrap_servers: format!("127.0.0.1:{port}"),
        })
    }

    /// The broker's address.
    pub fn bootstrap_servers(&self) -> &str {
        &self.bootstrap_servers
    }

    /// A connection every streamproof client can be built from.
    pub fn connection(&self) -> KafkaConnection {
        KafkaConnection::new(self.bootstrap_servers.as_str())
    }
}
