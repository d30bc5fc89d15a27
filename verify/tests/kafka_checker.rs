//! The Kafka-level checker against anomalies made on purpose in a real topic: each test breaks
//! one invariant and asserts the exact count the checker reports.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use rdkafka::{Offset, TopicPartitionList};
use streamproof_loadgen::consumer::StartOffsets;
use streamproof_loadgen::ledger::{
    Ledger, LedgerEntry, Outcome, RecordDigest, RecordMeta, SendId, SendKind,
};
use streamproof_platform::admin::KafkaAdmin;
use streamproof_platform::connection::KafkaConnection;
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
        KafkaAdmin::connect(&KafkaConnection::new(bootstrap()))
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
        self.produce_bytes(key, &body(key), headers).await
    }

    async fn produce_bytes(
        &self,
        key: &str,
        body: &str,
        headers: Option<OwnedHeaders>,
    ) -> (i32, i64) {
        let mut record = FutureRecord::to(&self.topic).key(key).payload(body);
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
            let key = key_of(index);
            let seq = (index / 3) as u64 + 1;
            let position = self.produce(index, &key, seq, RUN).await;
            self.entries.push(acked(&key, position));
        }
    }

    /// Removes every record below `offset` from the partition, as an operator's
    /// DeleteRecords would.
    async fn delete_records_before(&self, offset: i64) {
        let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", bootstrap())
            .create()
            .unwrap();
        let mut before = TopicPartitionList::new();
        before
            .add_partition_offset(&self.topic, 0, Offset::Offset(offset))
            .unwrap();
        let answer = admin
            .delete_records(&before, &AdminOptions::new())
            .await
            .unwrap();
        for element in answer.elements() {
            element.error().unwrap();
        }
    }

    fn check(&self, entries: Vec<LedgerEntry>, drain_timeout: Duration) -> KafkaFindings {
        let ledger = Ledger::from_tasks(vec![entries]);
        let topics = vec![self.topic.clone()];
        let start = StartOffsets(vec![(self.topic.clone(), 0, 0)]);
        check_kafka(&KafkaCheck {
            connection: &KafkaConnection::new(bootstrap()),
            run_id: RUN,
            topics: &topics,
            ledger: &ledger,
            start: &start,
            drain_timeout,
            replay: None,
            schemas: None,
        })
        .unwrap()
    }
}

/// The key of send `index` in [`Fixture::send_acked`].
fn key_of(index: usize) -> String {
    format!("key-{}", index % 3)
}

/// The value the fixture sends with `key`.
fn body(key: &str) -> String {
    format!("{{\"n\": \"{key}\"}}")
}

/// A pending entry for a record with `key` and the fixture's value for it.
fn pending(key: &str, kind: SendKind, origin_back: u32) -> LedgerEntry {
    let digest = RecordDigest::of(key.as_bytes(), body(key).as_bytes());
    LedgerEntry::pending(0, kind, origin_back, false, false, digest)
}

fn acked(key: &str, position: (i32, i64)) -> LedgerEntry {
    let mut entry = pending(key, SendKind::Fresh, 0);
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
        let mut entry = pending("key-0", kind, origin_back);
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
        fixture.entries.push(acked("account-1", position));
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
    entries[3] = pending(&key_of(3), SendKind::Fresh, 0);
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
    entries[0] = pending(&key_of(0), SendKind::Fresh, 0);
    entries[0].complete(Outcome::Unknown, None);
    entries.push(pending(&key_of(3), SendKind::Fresh, 0));
    entries[3].complete(Outcome::Unknown, None);
    let findings = fixture.check(entries, DRAIN);
    assert_eq!(findings.counts.unknown, 2);
    assert_eq!(findings.counts.unknown_present, 1);
    assert_eq!((findings.counts.lost, findings.counts.phantoms), (0, 0));
}

#[tokio::test]
async fn records_removed_below_the_log_start_are_lost_and_counted_apart() {
    let mut fixture = Fixture::new().await;
    fixture.send_acked(20).await;
    fixture.delete_records_before(8).await;
    let mut entries = fixture.entries.clone();
    // An acknowledgement at offset 12, where another send's record sits: the reader passes
    // that offset without finding it, so it is lost in flight, not removed.
    entries.push(acked("key-0", (0, 12)));
    let findings = fixture.check(entries, Duration::from_secs(120));
    let counts = findings.counts;
    assert!(
        findings.drained,
        "every missing record is proven gone: the drain must not wait out its timeout"
    );
    assert_eq!(
        (
            counts.acked,
            counts.present,
            counts.lost,
            counts.removed_below_log_start
        ),
        (21, 12, 9, 8)
    );
    assert_eq!(
        example_ids(&findings, "removed_below_log_start"),
        (0..8).map(|i| SendId::new(0, i).0).collect::<Vec<_>>()
    );
    assert_eq!(example_ids(&findings, "lost").len(), 9);
    assert_eq!(
        counts.offset_mismatches, 0,
        "records present are where they were acked"
    );
    let partition = &findings.partitions[0];
    assert_eq!(
        (
            partition.run_start,
            partition.log_start,
            partition.end,
            partition.removed()
        ),
        (0, 8, 20, 8)
    );
}

#[tokio::test]
async fn altered_records_are_corrupted_wherever_the_bytes_differ() {
    let mut fixture = Fixture::new().await;
    fixture.send_acked(6).await;
    // Sends 6, 7 and 8 arrive altered: value changed, key changed, value truncated. Send 9
    // arrives as sent.
    let sent_as = [
        ("key-0", r#"{"n": "key-X"}"#),
        ("key-Y", r#"{"n": "key-1"}"#),
        ("key-2", r#"{"n": "key-"#),
        ("key-0", r#"{"n": "key-0"}"#),
    ];
    for (offset, (key, value)) in sent_as.into_iter().enumerate() {
        let index = 6 + offset;
        let meta = RecordMeta {
            run_id: RUN.to_owned(),
            send_id: SendId::new(0, index),
            key_seq: (index / 3) as u64 + 1,
            intended_us: 0,
        };
        let position = fixture
            .produce_bytes(key, value, Some(meta.to_headers()))
            .await;
        fixture.entries.push(acked(&key_of(index), position));
    }
    // A duplicate copy of send 2 that differs from it.
    let meta = RecordMeta {
        run_id: RUN.to_owned(),
        send_id: SendId::new(0, 2),
        key_seq: 1,
        intended_us: 0,
    };
    fixture
        .produce_bytes("key-2", r#"{"n": "KEY-2"}"#, Some(meta.to_headers()))
        .await;
    let findings = fixture.check(fixture.entries.clone(), DRAIN);
    assert_eq!(findings.counts.corrupted, 4);
    let mut ids = example_ids(&findings, "corrupted");
    ids.sort_unstable();
    assert_eq!(ids, [2, 6, 7, 8].map(|i| SendId::new(0, i).0).to_vec());
    assert_eq!(
        (
            findings.counts.present,
            findings.counts.lost,
            findings.counts.duplicates
        ),
        (10, 0, 1)
    );
}
