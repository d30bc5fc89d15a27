//! The lakehouse check against tables and a DLQ topic broken on purpose: a small run (20
//! valid sends, 2 deliberate duplicates, 3 invalid sends over two producer tasks, with a
//! failed send and raw duplicates) is written to `bronze.events` and `silver.events` in a
//! Hadoop-layout warehouse and to a fresh DLQ topic; each test breaks one invariant and
//! asserts the exact counts `check_lakehouse` reports (a check that cannot fail is a defect).

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::{
    ArrayRef, Decimal128Array, Float64Array, Int32Array, Int64Array, StringArray,
    TimestampMicrosecondArray,
};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use streamproof_loadgen::consumer::StartOffsets;
use streamproof_loadgen::generator::event_id;
use streamproof_loadgen::id_salt;
use streamproof_loadgen::ledger::{
    Ledger, LedgerEntry, Outcome, RecordDigest, RecordMeta, SendId, SendKind,
};
use streamproof_verify::kafka::AnomalyExample;
use streamproof_verify::lakehouse::Warehouse;
use streamproof_verify::pipeline::{check_lakehouse, LakehouseCheck, LakehouseFindings};
use support::{
    as_refs, bronze_schema, fresh_topic, headers_column, meta_headers, retyped, silver_schema,
    HadoopTable,
};

fn bootstrap() -> String {
    std::env::var("STREAMPROOF_TEST_BOOTSTRAP_SERVERS")
        .expect("STREAMPROOF_TEST_BOOTSTRAP_SERVERS is not set: run the tests with `scripts/test`")
}

const RUN: &str = "lakehouse-check-test-run";
const RAW_TOPIC: &str = "raw-events";
const INTENDED_US: i64 = 1_700_000_000_000_000;

use streamproof_platform::connection::KafkaConnection;
use SendKind::{Duplicate as D, Fresh as F, Invalid as I};

/// Each task's sends: kind, how far back a duplicate's original is, copies left in raw.
const TASKS: [&[(SendKind, u32, u8)]; 2] = [
    &[
        (F, 0, 1),
        (F, 0, 1),
        (F, 0, 1),
        (I, 0, 1),
        (F, 0, 1),
        (F, 0, 2), // a producer retry raw kept: bronze must hold it twice too
        (D, 4, 1), // re-sends 0/2's event
        (F, 0, 1),
        (F, 0, 1),
        (I, 0, 2), // both raw copies of an invalid record go to the DLQ
        (F, 0, 1),
        (F, 0, 1),
    ],
    &[
        (F, 0, 1),
        (F, 0, 1),
        (F, 0, 1),
        (F, 0, 1),
        (I, 0, 0), // failed: not in raw, so not expected in the DLQ
        (F, 0, 1),
        (F, 0, 1),
        (F, 0, 1),
        (F, 0, 1),
        (F, 0, 1),
        (D, 9, 1), // re-sends 1/1's event
        (F, 0, 1),
        (F, 0, 0), // failed: not in raw, so not expected in bronze or silver
    ],
];

/// One record the run left in raw (partition = task).
#[derive(Debug, Clone)]
struct Raw {
    send: SendId,
    event_id: String,
    partition: i32,
    offset: i64,
}

impl Raw {
    fn key(&self) -> String {
        format!("key-{}", self.send.0)
    }

    fn value(&self) -> String {
        format!(
            r#"{{"event_id":"{}","event_type":"user_action","event_timestamp":"2023-11-14T22:13:20Z"}}"#,
            self.event_id
        )
    }
}

/// The run: its ledger, what raw holds, and what each layer should hold.
struct Run {
    ledger: Ledger,
    raw_copies: Vec<Vec<u8>>,
    raw: Vec<Raw>,
}

impl Run {
    fn new() -> Self {
        let salt = id_salt(RUN);
        let mut tasks = Vec::new();
        let mut raw = Vec::new();
        for (task, sends) in TASKS.iter().enumerate() {
            let mut entries = Vec::new();
            let mut offset = 0;
            for (index, &(kind, origin_back, copies)) in sends.iter().enumerate() {
                let send = SendId::new(task, index);
                let origin = SendId::new(task, index - origin_back as usize);
                let sent = Raw {
                    send,
                    event_id: event_id(salt, origin),
                    partition: task as i32,
                    offset,
                };
                let digest = RecordDigest::of(sent.key().as_bytes(), sent.value().as_bytes());
                let mut entry = LedgerEntry::pending(0, kind, origin_back, false, false, digest);
                if copies == 0 {
                    entry.complete(Outcome::Failed, None);
                } else {
                    entry.complete(Outcome::Acked, Some((task as i32, offset)));
                }
                for _ in 0..copies {
                    raw.push(Raw {
                        send,
                        event_id: event_id(salt, origin),
                        partition: task as i32,
                        offset,
                    });
                    offset += 1;
                }
                entries.push(entry);
            }
            tasks.push(entries);
        }
        let raw_copies = TASKS
            .iter()
            .map(|sends| sends.iter().map(|s| s.2).collect())
            .collect();
        Run {
            ledger: Ledger::from_tasks(tasks),
            raw_copies,
            raw,
        }
    }

    fn kind(&self, send: SendId) -> SendKind {
        self.ledger.get(send).expect("a send of the run").kind()
    }

    /// What a correct silver holds: the first raw record of each valid event id.
    fn silver(&self) -> Vec<Raw> {
        let mut seen = std::collections::HashSet::new();
        self.raw
            .iter()
            .filter(|r| self.kind(r.send) != I && seen.insert(r.event_id.clone()))
            .cloned()
            .collect()
    }

    /// What a correct DLQ holds: every raw record of an invalid send.
    fn dlq(&self) -> Vec<Raw> {
        self.dlq_without(None)
    }

    /// The DLQ without the records of send `lost`.
    fn dlq_without(&self, lost: Option<SendId>) -> Vec<Raw> {
        self.raw
            .iter()
            .filter(|r| self.kind(r.send) == I && Some(r.send) != lost)
            .cloned()
            .collect()
    }

    fn find(&self, send: SendId) -> Raw {
        self.raw
            .iter()
            .find(|r| r.send == send)
            .cloned()
            .expect("a raw record of the send")
    }
}

fn id(task: usize, index: usize) -> SendId {
    SendId::new(task, index)
}

// ---------------------------------------------------------------------------------------
// Writing the layers.

/// Bronze holding `rows` of the run, then one row of another run.
async fn write_bronze(root: &Path, rows: &[Raw], other_run: &Raw) {
    let mut table = HadoopTable::create(root, "bronze", "events", bronze_schema()).await;
    let schema = table.arrow_schema();
    let runs = rows.iter().map(|r| (r, RUN));
    let rows: Vec<(&Raw, &str)> = runs.chain([(other_run, "another-run")]).collect();
    let n = rows.len();
    let headers: Vec<Vec<(String, Vec<u8>)>> = rows
        .iter()
        .map(|(r, run)| {
            meta_headers(&RecordMeta {
                run_id: (*run).to_owned(),
                send_id: r.send,
                key_seq: r.send.index() as u64,
                intended_us: INTENDED_US,
            })
        })
        .collect();
    let header_rows: Vec<_> = headers.iter().map(|h| as_refs(h)).collect();
    let columns = vec![
        Arc::new(StringArray::from(vec![RAW_TOPIC; n])) as ArrayRef,
        Arc::new(Int32Array::from_iter_values(
            rows.iter().map(|(r, _)| r.partition),
        )),
        Arc::new(Int64Array::from_iter_values(
            rows.iter().map(|(r, _)| r.offset),
        )),
        Arc::new(TimestampMicrosecondArray::from(vec![INTENDED_US; n])),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|(r, _)| r.key()),
        )),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|(r, _)| r.value()),
        )),
        headers_column(schema.field(6).data_type(), &header_rows),
        Arc::new(TimestampMicrosecondArray::from(vec![
            INTENDED_US + 1_000;
            n
        ])),
    ];
    table.append(retyped(&schema, columns)).await;
}

async fn write_silver(root: &Path, rows: &[Raw]) {
    let mut table = HadoopTable::create(root, "silver", "events", silver_schema()).await;
    let schema = table.arrow_schema();
    let n = rows.len();
    let text = |value: &str| Arc::new(StringArray::from(vec![value; n])) as ArrayRef;
    let columns = vec![
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| r.event_id.clone()),
        )) as ArrayRef,
        text("user_action"),
        Arc::new(TimestampMicrosecondArray::from(vec![INTENDED_US; n])),
        text("2023-11-14T22:13:20Z"),
        text("lakehouse-check"),
        text("1.0"),
        text("events"),
        Arc::new(Float64Array::from(vec![None; n])),
        Arc::new(Decimal128Array::from(vec![None; n])),
        text("{}"),
        text("{}"),
        Arc::new(StringArray::from_iter_values(rows.iter().map(Raw::value))),
        text(RAW_TOPIC),
        Arc::new(Int32Array::from_iter_values(
            rows.iter().map(|r| r.partition),
        )),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.offset))),
        Arc::new(TimestampMicrosecondArray::from(vec![
            INTENDED_US + 2_000;
            n
        ])),
    ];
    table.append(retyped(&schema, columns)).await;
}

/// A fresh two-partition DLQ topic holding one record of an earlier run (before the start
/// offsets, so it must not count), then the envelopes of `records`.
async fn write_dlq(run: &Run, records: &[Raw]) -> (String, StartOffsets) {
    let topic = fresh_topic(&bootstrap(), "dlq-check", 2).await;
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("enable.idempotence", "true")
        .create()
        .unwrap();
    let earlier = run.find(id(0, 3));
    envelope(&producer, &topic, &earlier).await;
    let start = {
        let (bootstrap, topic) = (bootstrap(), topic.clone());
        tokio::task::spawn_blocking(move || {
            StartOffsets::snapshot(&KafkaConnection::new(bootstrap), &[&topic])
        })
        .await
        .unwrap()
        .unwrap()
    };
    assert_eq!(start.0.len(), 2, "{start:?}");
    for record in records {
        envelope(&producer, &topic, record).await;
    }
    (topic, start)
}

/// The silver job's DLQ envelope for a raw record.
async fn envelope(producer: &FutureProducer, topic: &str, raw: &Raw) {
    let body = serde_json::json!({
        "original_message": raw.value(),
        "error": "event_type: unknown event type `nope`",
        "timestamp": "2023-11-14T22:13:21.000Z",
        "source_topic": RAW_TOPIC,
        "source_partition": raw.partition,
        "source_offset": raw.offset,
    })
    .to_string();
    let key = raw.send.0.to_string();
    producer
        .send(
            FutureRecord::to(topic).key(&key).payload(&body),
            Duration::from_secs(30),
        )
        .await
        .unwrap();
}

/// Writes the three layers and checks them against `run`.
async fn check(
    run: Run,
    bronze: &[Raw],
    silver: &[Raw],
    dlq: &[Raw],
    timeout: Duration,
) -> LakehouseFindings {
    let dir = tempfile::tempdir().expect("temp dir");
    write_bronze(dir.path(), bronze, &run.find(id(0, 0))).await;
    write_silver(dir.path(), silver).await;
    let (topic, start) = write_dlq(&run, dlq).await;
    let root = dir.path().to_owned();
    let started = Instant::now();
    let findings = tokio::task::spawn_blocking(move || {
        check_lakehouse(&LakehouseCheck {
            run_id: RUN,
            ledger: &run.ledger,
            raw_copies: &run.raw_copies,
            removed: &[],
            warehouse: &Warehouse::new(&root),
            connection: &KafkaConnection::new(bootstrap()),
            dlq_topic: &topic,
            dlq_start: &start,
            timeout,
            bronze_text: Default::default(),
        })
        .expect("check the lakehouse")
    })
    .await
    .unwrap();
    eprintln!("checked in {:.1}s", started.elapsed().as_secs_f64());
    findings
}

/// The send ids of an anomaly's examples.
fn example_sends(examples: &BTreeMap<String, Vec<AnomalyExample>>, anomaly: &str) -> Vec<SendId> {
    examples
        .get(anomaly)
        .map(|examples| examples.iter().map(|e| SendId(e.send_id)).collect())
        .unwrap_or_default()
}

/// Every anomaly count the check reports, so that each test pins all of them: breaking one
/// layer must not show up in another.
#[derive(Debug, Default, PartialEq)]
struct Anomalies {
    bronze_missing: u64,
    bronze_duplicates: u64,
    bronze_corrupted: u64,
    silver_missing: u64,
    silver_duplicates: u64,
    silver_duplicate_ids: u64,
    silver_unexpected: u64,
    dlq_missing: u64,
    dlq_duplicates: u64,
}

impl From<&LakehouseFindings> for Anomalies {
    fn from(f: &LakehouseFindings) -> Self {
        Anomalies {
            bronze_missing: f.bronze.missing,
            bronze_duplicates: f.bronze.duplicates,
            bronze_corrupted: f.bronze.corrupted,
            silver_missing: f.silver_missing,
            silver_duplicates: f.silver_duplicates,
            silver_duplicate_ids: f.silver_duplicate_ids,
            silver_unexpected: f.silver_unexpected,
            dlq_missing: f.dlq_missing,
            dlq_duplicates: f.dlq_duplicates,
        }
    }
}

/// Enough for a complete DLQ (the read ends once it has everything); an incomplete one
/// waits this long.
const TIMEOUT: Duration = Duration::from_secs(10);
const SHORT_TIMEOUT: Duration = Duration::from_secs(4);

// ---------------------------------------------------------------------------------------
// The tests.

#[test]
fn the_run_is_what_the_tests_assume() {
    let run = Run::new();
    let kinds = |kind| run.ledger.iter().filter(|(_, e)| e.kind() == kind).count();
    assert_eq!((kinds(F), kinds(D), kinds(I)), (20, 2, 3));
    assert_eq!(run.raw.len(), 25, "raw records of the run");
    assert_eq!(run.silver().len(), 19, "distinct valid event ids in raw");
    assert_eq!(run.dlq().len(), 3, "invalid records in raw");
    assert_eq!(run.ledger.event_send(id(0, 6)), id(0, 2));
    assert_eq!(run.ledger.event_send(id(1, 10)), id(1, 1));
}

#[tokio::test]
async fn a_correct_lakehouse_has_no_anomalies() {
    let run = Run::new();
    let (bronze, silver, dlq) = (run.raw.clone(), run.silver(), run.dlq());
    let findings = check(run, &bronze, &silver, &dlq, TIMEOUT).await;

    assert_eq!(Anomalies::from(&findings), Anomalies::default());
    let b = &findings.bronze;
    assert_eq!((b.expected, b.present), (25, 25));
    assert_eq!(b.foreign, 1, "the other run's bronze row");
    assert!(b.drained);
    assert_eq!(findings.bronze_rows, 26);
    assert_eq!((findings.silver_expected, findings.silver_rows), (19, 19));
    assert_eq!(
        (findings.dlq_expected, findings.dlq_present),
        (3, 3),
        "the earlier run's DLQ record before the start offsets does not count"
    );
    assert!(findings.examples.is_empty(), "{:?}", findings.examples);
    assert!(b.examples.is_empty(), "{:?}", b.examples);
}

#[tokio::test]
async fn a_dropped_and_a_doubled_bronze_row_are_counted_with_their_sends() {
    let run = Run::new();
    let (silver, dlq) = (run.silver(), run.dlq());
    let dropped = id(1, 7);
    let doubled = id(0, 4);
    let mut bronze: Vec<Raw> = run
        .raw
        .iter()
        .filter(|r| r.send != dropped)
        .cloned()
        .collect();
    bronze.push(run.find(doubled));
    let findings = check(run, &bronze, &silver, &dlq, TIMEOUT).await;

    assert_eq!(
        Anomalies::from(&findings),
        Anomalies {
            bronze_missing: 1,
            bronze_duplicates: 1,
            ..Anomalies::default()
        }
    );
    let b = &findings.bronze;
    assert_eq!((b.expected, b.present, b.foreign), (25, 24, 1));
    assert!(!b.drained);
    assert_eq!(findings.bronze_rows, 26);
    let examples = &b.examples;
    assert_eq!(
        example_sends(examples, "lakehouse_bronze_missing"),
        vec![dropped]
    );
    assert_eq!(
        example_sends(examples, "lakehouse_bronze_duplicates"),
        vec![doubled]
    );
    let missing = &examples["lakehouse_bronze_missing"][0];
    assert_eq!(missing.event_id, event_id(id_salt(RUN), dropped));
    assert_eq!(missing.topic, "bronze.events");
}

#[tokio::test]
async fn a_bronze_row_altered_from_what_was_sent_is_corrupted() {
    let run = Run::new();
    let (silver, dlq) = (run.silver(), run.dlq());
    let altered = id(1, 5);
    let bronze: Vec<Raw> = run
        .raw
        .iter()
        .map(|r| Raw {
            event_id: if r.send == altered {
                format!("{}X", r.event_id)
            } else {
                r.event_id.clone()
            },
            ..r.clone()
        })
        .collect();
    let source = run.find(altered);
    let findings = check(run, &bronze, &silver, &dlq, TIMEOUT).await;

    assert_eq!(
        Anomalies::from(&findings),
        Anomalies {
            bronze_corrupted: 1,
            ..Anomalies::default()
        }
    );
    assert_eq!(
        findings.bronze.present, 25,
        "an altered row is present, not missing"
    );
    let examples = &findings.bronze.examples["lakehouse_bronze_corrupted"];
    assert_eq!(
        example_sends(&findings.bronze.examples, "lakehouse_bronze_corrupted"),
        vec![altered]
    );
    assert_eq!(
        (examples[0].partition, examples[0].offset),
        (Some(source.partition), Some(source.offset))
    );
}

#[tokio::test]
async fn silver_missing_doubled_and_invalid_event_ids_are_counted() {
    let run = Run::new();
    let (bronze, dlq) = (run.raw.clone(), run.dlq());
    let salt = id_salt(RUN);
    let dropped = id(0, 7);
    let mut silver: Vec<Raw> = run
        .silver()
        .into_iter()
        .filter(|r| r.send != dropped)
        .collect();
    // Dedup failed: the deliberate duplicate 0/6 made a second row of 0/2's event.
    silver.push(run.find(id(0, 6)));
    // Validation failed: the invalid send 0/3 got through.
    let invalid = run.find(id(0, 3));
    silver.push(invalid.clone());
    let findings = check(run, &bronze, &silver, &dlq, TIMEOUT).await;

    assert_eq!(
        Anomalies::from(&findings),
        Anomalies {
            silver_missing: 1,
            silver_duplicates: 1,
            silver_duplicate_ids: 1,
            silver_unexpected: 1,
            ..Anomalies::default()
        }
    );
    assert_eq!((findings.silver_expected, findings.silver_rows), (19, 20));
    let examples = &findings.examples;
    assert_eq!(example_sends(examples, "silver_missing"), vec![dropped]);
    assert_eq!(
        examples["silver_missing"][0].event_id,
        event_id(salt, dropped)
    );
    assert_eq!(
        example_sends(examples, "silver_duplicates"),
        vec![id(0, 2)],
        "named by the original send"
    );
    assert_eq!(
        examples["silver_duplicates"][0].event_id,
        event_id(salt, id(0, 2))
    );
    assert_eq!(examples["silver_unexpected"].len(), 1);
    assert_eq!(examples["silver_unexpected"][0].event_id, invalid.event_id);
}

#[tokio::test]
async fn a_dlq_record_missing_and_one_twice_are_counted() {
    let run = Run::new();
    let (bronze, silver) = (run.raw.clone(), run.silver());
    // 0/3 never reached the DLQ; the first raw copy of 0/9 reached it twice, its second once.
    let mut dlq = run.dlq_without(Some(id(0, 3)));
    assert_eq!(dlq.len(), 2);
    dlq.push(dlq[0].clone());
    let findings = check(run, &bronze, &silver, &dlq, SHORT_TIMEOUT).await;

    assert_eq!(
        Anomalies::from(&findings),
        Anomalies {
            dlq_missing: 1,
            dlq_duplicates: 1,
            ..Anomalies::default()
        }
    );
    assert_eq!((findings.dlq_expected, findings.dlq_present), (3, 2));
}

#[tokio::test]
async fn a_dlq_record_for_a_valid_event_does_not_stand_in_for_a_missing_invalid_one() {
    let run = Run::new();
    let (bronze, silver) = (run.raw.clone(), run.silver());
    // 0/3 never reached the DLQ; a record pointing at the valid 0/0 did.
    let mut dlq = run.dlq_without(Some(id(0, 3)));
    dlq.push(run.find(id(0, 0)));
    let findings = check(run, &bronze, &silver, &dlq, SHORT_TIMEOUT).await;

    assert_eq!(findings.dlq_missing, 1, "0/3 is missing from the DLQ");
    assert_eq!(findings.dlq_present, 2, "0/0 is not an invalid record");
}
