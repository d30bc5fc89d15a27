//! The Kafka-level checker against anomalies made on purpose in a real topic: each test breaks
//! one invariant and asserts the exact count the checker reports.

use std::time::Duration;

use rdkafka::message::OwnedHeaders;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use streamproof_loadgen::consumer::StartOffsets;
use streamproof_loadgen::ledger::{Ledger, LedgerEntry, Outcome, RecordMeta, SendId, SendKind};
use streamproof_platform::admin::KafkaAdmin;
use streamproof_platform::topics::{CleanupPolicy, TopicConfig};
use streamproof_verify::kafka::{check_kafka, KafkaCheck, KafkaFindings};

fn bootstrap() -> String {
    std::env::var("STREAMPROOF_TEST_BOOTSTRAP_SERVERS")
        .expect("STREAMPROOF_TEST_BOOTSTRAP_SERVERS is not set: run the tests with `scripts/test`")
}

const RUN: &str = "checker-test-run";

/// A fresh one-partition topic, a producer, and the ledger being written alongside.
struct Fixture {
    topic: String,
    producer: FutureProducer,
    entries: Vec<LedgerEntry>,
}

impl Fixture {
    async fn new() -> Self {
        let topic = format!(
            "raw-checker-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        KafkaAdmin::connect(&bootstrap())
            .unwrap()
            .create_topic(&TopicConfig {
                name: topic.clone(),
                partitions: 1,
                replication_factor: 1,
                retention_ms: 3_600_000,
                compression_type: "producer".into(),
                min_insync_replicas: 1,
                cleanup_policy: CleanupPolicy::Delete,
            })
            .await
            .unwrap();
        let producer = ClientConfig::new()
            .set("bootstrap.servers", bootstrap())
            .set("enable.idempotence", "true")
            .create()
            .unwrap();
        Fixture {
            topic,
            producer,
            entries: Vec::new(),
        }
    }

    /// Produces a record for send `index` of task 0 with `key` and sequence `seq`.
    async fn produce(&self, index: usize, key: &str, seq: u64, run: &str) -> (i32, i64) {
        let meta = RecordMeta {
            run_id: run.to_owned(),
            send_id: SendId::new(0, index),
            key_seq: seq,
            intended_us: 0,
        };
        self.produce_with(key, Some(meta.to_headers())).await
    }

    async fn produce_with(&self, key: &str, headers: Option<OwnedHeaders>) -> (i32, i64) {
        let body = format!("{{\"n\": \"{key}\"}}");
        let mut record = FutureRecord::to(&self.topic).key(key).payload(&body);
        if let Some(headers) = headers {
            record = record.headers(headers);
        }
        let delivered = self
            .producer
            .send(record, Duration::from_secs(30))
            .await
            .unwrap();
        (delivered.partition, delivered.offset)
    }

    /// Sends `count` records (keys cycle over three) and records them as acknowledged.
    async fn send_acked(&mut self, count: usize) {
        for _ in 0..count {
            let index = self.entries.len();
            let key = format!("key-{}", index % 3);
            let seq = (index / 3) as u64 + 1;
            let position = self.produce(index, &key, seq, RUN).await;
            self.entries.push(acked(position));
        }
    }

    fn check(&self, entries: Vec<LedgerEntry>, drain_timeout: Duration) -> KafkaFindings {
        let ledger = Ledger::from_tasks(vec![entries]);
        let topics = vec![self.topic.clone()];
        let start = StartOffsets(vec![(self.topic.clone(), 0, 0)]);
        check_kafka(&KafkaCheck {
            bootstrap: &bootstrap(),
            run_id: RUN,
            topics: &topics,
            ledger: &ledger,
            start: &start,
            drain_timeout,
        })
        .unwrap()
    }
}

fn acked(position: (i32, i64)) -> LedgerEntry {
    let mut entry = LedgerEntry::pending(0, SendKind::Fresh, 0, false, false);
    entry.complete(Outcome::Acked, Some(position));
    entry
}

fn example_ids(findings: &KafkaFindings, anomaly: &str) -> Vec<u64> {
    findings
        .examples
        .get(anomaly)
        .map(|examples| examples.iter().map(|e| e.send_id).collect())
        .unwrap_or_default()
}

const DRAIN: Duration = Duration::from_secs(20);

#[tokio::test]
async fn a_clean_topic_has_no_anomalies() {
    let mut fixture = Fixture::new().await;
    fixture.send_acked(20).await;
    let findings = fixture.check(fixture.entries.clone(), DRAIN);
    let counts = findings.counts;
    assert!(findings.drained);
    assert_eq!((counts.sent, counts.acked, counts.present), (20, 20, 20));
    assert_eq!(
        (
            counts.lost,
            counts.duplicates,
            counts.phantoms,
            counts.offset_mismatches,
            counts.order_violations,
            counts.foreign
        ),
        (0, 0, 0, 0, 0, 0)
    );
}

#[tokio::test]
async fn dropped_records_are_lost_with_their_ids_and_fail_the_drain() {
    let mut fixture = Fixture::new().await;
    fixture.send_acked(10).await;
    let mut entries = fixture.entries.clone();
    // Three acknowledgements for records that never reached the topic: an ordinary event, an
    // invalid record and a deliberate duplicate (of send 9).
    for (offset, kind, origin_back) in [
        (100, SendKind::Fresh, 0),
        (101, SendKind::Invalid, 0),
        (102, SendKind::Duplicate, 3),
    ] {
        let mut entry = LedgerEntry::pending(0, kind, origin_back, false, false);
        entry.complete(Outcome::Acked, Some((0, offset)));
        entries.push(entry);
    }
    let findings = fixture.check(entries, Duration::from_secs(3));
    assert!(!findings.drained, "acknowledged records were never seen");
    assert_eq!(findings.counts.lost, 3);
    assert_eq!(
        example_ids(&findings, "lost"),
        vec![
            SendId::new(0, 10).0,
            SendId::new(0, 11).0,
            SendId::new(0, 12).0
        ]
    );
    assert_eq!(findings.counts.present, 10);
    assert_eq!(findings.counts.invalid_missing, 1);
    assert_eq!(findings.counts.deliberate_duplicates_missing, 1);
}

#[tokio::test]
async fn records_written_twice_are_duplicates() {
    let mut fixture = Fixture::new().await;
    fixture.send_acked(10).await;
    // A producer retry that was not deduplicated: the same send appears again.
    fixture.produce(2, "key-2", 1, RUN).await;
    fixture.produce(5, "key-2", 2, RUN).await;
    fixture.produce(5, "key-2", 2, RUN).await;
    let findings = fixture.check(fixture.entries.clone(), DRAIN);
    assert_eq!(findings.counts.duplicates, 3);
    assert_eq!(
        example_ids(&findings, "duplicates"),
        vec![SendId::new(0, 2).0, SendId::new(0, 5).0]
    );
    assert_eq!(findings.counts.lost, 0);
    assert_eq!(
        findings.counts.order_violations, 0,
        "a repeated copy is a duplicate, not a reorder"
    );
}

#[tokio::test]
async fn a_sequence_going_backwards_is_an_order_violation() {
    let mut fixture = Fixture::new().await;
    for (index, seq) in [1, 2, 4, 3, 5].into_iter().enumerate() {
        let position = fixture.produce(index, "account-1", seq, RUN).await;
        fixture.entries.push(acked(position));
    }
    let findings = fixture.check(fixture.entries.clone(), DRAIN);
    assert_eq!(findings.counts.order_violations, 1);
    assert_eq!(
        example_ids(&findings, "order_violations"),
        vec![SendId::new(0, 3).0]
    );
}

#[tokio::test]
async fn failed_sends_that_appear_and_unknown_send_ids_are_phantoms() {
    let mut fixture = Fixture::new().await;
    fixture.send_acked(6).await;
    let mut entries = fixture.entries.clone();
    entries[3] = LedgerEntry::pending(0, SendKind::Fresh, 0, false, false);
    entries[3].complete(Outcome::Failed, None);
    // A record claiming a send this run never made.
    fixture.produce(999, "key-0", 99, RUN).await;
    let findings = fixture.check(entries, DRAIN);
    assert_eq!(findings.counts.phantoms, 2);
    assert_eq!(findings.counts.failed, 1);
    let mut ids = example_ids(&findings, "phantoms");
    ids.sort_unstable();
    assert_eq!(ids, vec![SendId::new(0, 3).0, SendId::new(0, 999).0]);
}

#[tokio::test]
async fn an_acknowledgement_at_the_wrong_offset_is_an_offset_mismatch() {
    let mut fixture = Fixture::new().await;
    fixture.send_acked(5).await;
    let mut entries = fixture.entries.clone();
    let (partition, offset) = entries[1].position().unwrap();
    entries[1].complete(Outcome::Acked, Some((partition, offset + 1)));
    let findings = fixture.check(entries, DRAIN);
    assert_eq!(findings.counts.offset_mismatches, 1);
    assert_eq!(
        example_ids(&findings, "offset_mismatches"),
        vec![SendId::new(0, 1).0]
    );
    assert_eq!(findings.counts.lost, 0);
}

#[tokio::test]
async fn other_producers_records_are_foreign_not_anomalies() {
    let mut fixture = Fixture::new().await;
    fixture.send_acked(4).await;
    fixture.produce_with("someone-else", None).await;
    fixture.produce(1, "key-1", 1, "another-run").await;
    let findings = fixture.check(fixture.entries.clone(), DRAIN);
    assert_eq!(findings.counts.foreign, 2);
    assert_eq!(findings.counts.duplicates, 0);
    assert_eq!(findings.counts.phantoms, 0);
    assert_eq!(findings.counts.present, 4);
}

#[tokio::test]
async fn unknown_outcomes_may_be_present_without_anomaly() {
    let mut fixture = Fixture::new().await;
    fixture.send_acked(3).await;
    let mut entries = fixture.entries.clone();
    entries[0] = LedgerEntry::pending(0, SendKind::Fresh, 0, false, false);
    entries[0].complete(Outcome::Unknown, None);
    entries.push(LedgerEntry::pending(0, SendKind::Fresh, 0, false, false));
    entries[3].complete(Outcome::Unknown, None);
    let findings = fixture.check(entries, DRAIN);
    assert_eq!(findings.counts.unknown, 2);
    assert_eq!(findings.counts.unknown_present, 1);
    assert_eq!((findings.counts.lost, findings.counts.phantoms), (0, 0));
}
