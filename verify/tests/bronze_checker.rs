//! The bronze checker against a real topic where records are missing or copied twice on
//! purpose: it must report the exact counts.

use std::time::Duration;

use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use streamproof_loadgen::consumer::StartOffsets;
use streamproof_loadgen::ledger::{
    Ledger, LedgerEntry, Outcome, RecordDigest, RecordMeta, SendId, SendKind,
};
use streamproof_platform::admin::KafkaAdmin;
use streamproof_platform::connection::KafkaConnection;
use streamproof_platform::topics::{CleanupPolicy, TopicConfig};
use streamproof_verify::bronze::{check_bronze, copies_downstream, BronzeCheck, BronzeFindings};

const RUN: &str = "bronze-checker-test-run";

fn bootstrap() -> String {
    std::env::var("STREAMPROOF_TEST_BOOTSTRAP_SERVERS")
        .expect("STREAMPROOF_TEST_BOOTSTRAP_SERVERS is not set: run the tests with `scripts/test`")
}

async fn topic() -> String {
    let name = format!(
        "bronze-checker-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    KafkaAdmin::connect(&KafkaConnection::new(bootstrap()))
        .unwrap()
        .create_topic(&TopicConfig {
            name: name.clone(),
            partitions: 2,
            replication_factor: 1,
            retention_ms: 3_600_000,
            compression_type: "producer".into(),
            min_insync_replicas: 1,
            cleanup_policy: CleanupPolicy::Delete,
        })
        .await
        .unwrap();
    name
}

/// The value raw holds for every send.
const VALUE: &str = "{}";

fn key(index: usize) -> String {
    format!("key-{index}")
}

async fn copy(producer: &FutureProducer, topic: &str, index: usize, value: &str) {
    let headers = RecordMeta {
        run_id: RUN.to_owned(),
        send_id: SendId::new(0, index),
        key_seq: 1,
        intended_us: 0,
    }
    .to_headers();
    let key = key(index);
    producer
        .send(
            FutureRecord::to(topic)
                .key(&key)
                .payload(value)
                .headers(headers),
            Duration::from_secs(30),
        )
        .await
        .unwrap();
}

/// A ledger of `count` acknowledged sends of task 0, each sent with [`key`] and [`VALUE`].
fn acked_ledger(count: usize) -> Ledger {
    let entries = (0..count)
        .map(|index| {
            let digest = RecordDigest::of(key(index).as_bytes(), VALUE.as_bytes());
            let mut entry = LedgerEntry::pending(0, SendKind::Fresh, 0, false, false, digest);
            entry.complete(Outcome::Acked, Some((0, index as i64)));
            entry
        })
        .collect();
    Ledger::from_tasks(vec![entries])
}

/// Checks `topic` (both partitions from offset 0) against the ledger of `count` sends.
async fn check(
    topic: String,
    count: usize,
    raw_copies: Vec<Vec<u8>>,
    removed: Vec<SendId>,
    drain_timeout: Duration,
) -> BronzeFindings {
    tokio::task::spawn_blocking(move || {
        let start = StartOffsets(vec![(topic.clone(), 0, 0), (topic.clone(), 1, 0)]);
        check_bronze(&BronzeCheck {
            connection: &KafkaConnection::new(bootstrap()),
            run_id: RUN,
            topic: &topic,
            ledger: &acked_ledger(count),
            raw_copies: &raw_copies,
            removed: &removed,
            start: &start,
            drain_timeout,
        })
        .unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn missing_doubled_and_altered_bronze_records_are_counted_exactly() {
    let topic = topic().await;
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .create()
        .unwrap();
    // Raw holds sends 0..6 once each, and send 5 twice (a raw duplicate bronze must mirror).
    let raw_copies = vec![vec![1, 1, 1, 1, 1, 2]];
    // Bronze: 0 once, 1 once but altered, 2 three times, 3 and 4 missing, 5 only once.
    for index in [0, 2, 2, 2, 5] {
        copy(&producer, &topic, index, VALUE).await;
    }
    copy(&producer, &topic, 1, "{ }").await;
    let findings = check(topic, 6, raw_copies, Vec::new(), Duration::from_secs(5)).await;
    assert_eq!(findings.expected, 7);
    assert_eq!(findings.present, 4);
    assert_eq!(
        findings.missing, 3,
        "sends 3 and 4, and the second copy of 5"
    );
    assert_eq!(
        findings.duplicates, 2,
        "send 2 twice more than raw holds it"
    );
    assert!(!findings.drained);
    let ids = |anomaly: &str| -> Vec<u64> {
        findings.examples[anomaly]
            .iter()
            .map(|e| e.send_id)
            .collect()
    };
    assert_eq!(ids("bronze_missing"), vec![3, 4, 5]);
    assert_eq!(ids("bronze_duplicates"), vec![2]);
    assert_eq!(findings.corrupted, 1, "send 1 arrived altered");
    assert_eq!(ids("bronze_corrupted"), vec![1]);
    assert_eq!(findings.records_read, 6);
}

#[tokio::test]
async fn sends_removed_from_raw_may_be_in_bronze_once_or_not_at_all() {
    let topic = topic().await;
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .create()
        .unwrap();
    // Raw holds sends 0 and 1; the platform removed 2, 3 and 4 from raw before the raw check
    // read it. Bronze copied 2 before the removal, never 3, and 4 twice.
    let raw_copies = vec![vec![1, 1, 0, 0, 0]];
    let removed = [2, 3, 4].map(|index| SendId::new(0, index));
    for index in [0, 1, 2, 4, 4] {
        copy(&producer, &topic, index, VALUE).await;
    }
    let findings = check(
        topic,
        5,
        raw_copies,
        removed.to_vec(),
        Duration::from_secs(20),
    )
    .await;
    assert!(findings.drained, "removed sends are not waited for");
    assert_eq!(
        (
            findings.expected,
            findings.present,
            findings.missing,
            findings.duplicates
        ),
        (2, 2, 0, 1),
        "send 3 missing is fine, send 4 twice is one copy too many"
    );
    assert_eq!(
        findings.removed_present,
        vec![SendId::new(0, 2), SendId::new(0, 4)]
    );
    assert_eq!(
        copies_downstream(&[vec![1, 1, 0, 0, 0]], &findings.removed_present),
        vec![vec![1, 1, 1, 0, 1]],
        "silver, the DLQ and gold must account for what bronze copied"
    );
}
