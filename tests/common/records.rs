//! Records of a run on the shared test cluster, read and sent again from outside the run, as
//! a misbehaving proxy or producer would.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde_json::Value;
use streamproof_loadgen::consumer::StartOffsets;
use streamproof_platform::connection::KafkaConnection;

use super::bootstrap;

/// `streamproof run SCENARIO` on the shared cluster into `out`, with `extra` arguments, left
/// running while the test acts on the platform.
pub fn spawn_run_on_shared_cluster(scenario: &Path, out: &Path, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_streamproof"))
        .arg("run")
        .arg(scenario)
        .args(["--bootstrap-servers", &bootstrap()])
        .arg("--out")
        .arg(out)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The end offset of raw-events/0 on the shared cluster; 0 before any run created it, `None`
/// while the cluster cannot say (a run is creating the topic).
pub fn end_of_partition_zero() -> Option<i64> {
    let ends = StartOffsets::snapshot(&KafkaConnection::new(bootstrap()), &["raw-events"]).ok()?;
    Some(
        ends.0
            .iter()
            .find(|(_, partition, _)| *partition == 0)
            .map_or(0, |(_, _, offset)| *offset),
    )
}

/// The first record a run sent to raw-events/0 at or after `from`, once one is there:
/// its key, value and headers.
pub fn first_record_of_a_run(from: i64) -> (Vec<u8>, Vec<u8>, OwnedHeaders) {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("group.id", "streamproof-test-reader")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset("raw-events", 0, Offset::Offset(from))
        .unwrap();
    consumer.assign(&assignment).unwrap();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(120) {
        let Some(Ok(message)) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let headers = message.headers().map(|h| h.detach()).unwrap_or_default();
        if headers.iter().any(|h| h.key == "streamproof.run") {
            return (
                message.key().unwrap_or_default().to_vec(),
                message.payload().unwrap_or_default().to_vec(),
                headers,
            );
        }
    }
    panic!("no record of the run reached raw-events/0");
}

/// Sends `value` with `key` and `headers` to raw-events/0 again.
pub fn resend_to_partition_zero(key: &[u8], value: &[u8], headers: OwnedHeaders) {
    let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .create()
        .unwrap();
    producer
        .send(
            BaseRecord::to("raw-events")
                .partition(0)
                .key(key)
                .payload(value)
                .headers(headers),
        )
        .map_err(|(error, _)| error)
        .unwrap();
    producer.flush(Duration::from_secs(30)).unwrap();
}

/// The names of the checks that failed.
pub fn failed_checks(result: &Value) -> Vec<&str> {
    result["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| c["name"].as_str().unwrap())
        .collect()
}
