//! Shared by the integration tests: the real Kafka cluster `scripts/test` starts for them.
#![allow(dead_code)]

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::OwnedMessage;
use rdkafka::{ClientConfig, Message};
use streamproof_platform::admin::KafkaAdmin;
use streamproof_platform::connection::KafkaConnection;
use streamproof_platform::topics::{CleanupPolicy, TopicConfig};

/// Bootstrap servers of the shared three-broker test cluster.
pub fn bootstrap() -> String {
    std::env::var("STREAMPROOF_TEST_BOOTSTRAP_SERVERS").expect(
        "STREAMPROOF_TEST_BOOTSTRAP_SERVERS is not set: run the tests with `scripts/test`, which starts a real Kafka cluster for them",
    )
}

pub fn admin() -> KafkaAdmin {
    KafkaAdmin::connect(&KafkaConnection::new(bootstrap())).expect("admin client")
}

/// A topic name no other test (or earlier run) uses.
pub fn unique_topic(layer: &str) -> String {
    format!(
        "{layer}-test-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

pub fn topic_config(name: &str, partitions: i32, replication_factor: i32) -> TopicConfig {
    TopicConfig {
        name: name.to_owned(),
        partitions,
        replication_factor,
        retention_ms: 604_800_000,
        compression_type: "producer".into(),
        min_insync_replicas: 1,
        cleanup_policy: CleanupPolicy::Delete,
    }
}

/// A consumer of `topics` in `group`, reading from the earliest offset.
pub fn consumer(group: &str) -> BaseConsumer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("isolation.level", "read_committed")
        .create()
        .expect("consumer")
}

/// Reads records from `topic` until `count` arrived or 60 s passed.
pub fn read(topic: &str, count: usize) -> Vec<OwnedMessage> {
    let consumer = consumer(&format!("reader-{}", uuid::Uuid::new_v4()));
    consumer.subscribe(&[topic]).expect("subscribe");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut records = Vec::new();
    while records.len() < count && std::time::Instant::now() < deadline {
        if let Some(Ok(message)) = consumer.poll(Duration::from_millis(200)) {
            records.push(message.detach());
        }
    }
    records
}

pub fn payload(message: &OwnedMessage) -> &[u8] {
    message.payload().unwrap_or_default()
}
