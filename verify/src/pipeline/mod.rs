//! Invariants 4–7 through the lakehouse: the pipeline's Iceberg tables and its DLQ topic
//! against the ledger and what the raw topics hold.
//!
//! - bronze (`bronze.events`): each raw record of the run exactly once (by its streamproof
//!   headers, which bronze keeps);
//! - silver (`silver.events`): exactly the event ids of the valid events present in raw, each
//!   once (deliberate duplicates share their original's id and must collapse into it);
//!   nothing invalid; the seed's duplicate query (`event_id` having count > 1) is counted;
//! - DLQ (`dlq-events`): every invalid record present in raw, once.

mod run;

pub use run::{verify_pipeline, PipelineFindings, PipelineRun};

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use rdkafka::message::Message;
use serde::{Deserialize, Serialize};
use streamproof_loadgen::consumer::StartOffsets;
use streamproof_loadgen::generator::event_id;
use streamproof_loadgen::ledger::{Ledger, SendId, SendKind};
use streamproof_loadgen::stats::{latency_histogram, record, summarize, Latency};
use streamproof_platform::connection::KafkaConnection;
use streamproof_result::VerificationStep;

use crate::bronze::{BronzeFindings, CopyTally, LayerRecord};
use crate::kafka::{AnomalyExample, MAX_EXAMPLES};
use crate::lakehouse::{BronzeRead, LakehouseError, Warehouse, SILVER};

/// The silver table, as reports name it.
const SILVER_TABLE: &str = "silver.events";
use crate::read::{cost, read_range, Observer, Range, VerifyError};

/// What the lakehouse check found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LakehouseFindings {
    /// `bronze.events` against the raw topics.
    pub bronze: BronzeFindings,
    /// Rows in `bronze.events`.
    pub bronze_rows: u64,
    /// Distinct valid event ids present in raw: what silver must hold.
    pub silver_expected: u64,
    /// Rows in `silver.events`.
    pub silver_rows: u64,
    /// Expected event ids missing from silver.
    pub silver_missing: u64,
    /// Rows beyond the first of an event id (the seed's duplicate query, summed).
    pub silver_duplicates: u64,
    /// Event ids with more than one row (the seed's duplicate query's row count).
    pub silver_duplicate_ids: u64,
    /// Distinct event ids in silver that no valid send of the run carried (e.g. invalid ones).
    pub silver_unexpected: u64,
    /// Invalid records present in raw: what the DLQ must hold.
    pub dlq_expected: u64,
    /// DLQ records pointing at distinct raw records.
    pub dlq_present: u64,
    /// Invalid raw records missing from the DLQ.
    pub dlq_missing: u64,
    /// DLQ records beyond one per raw record.
    pub dlq_duplicates: u64,
    /// DLQ records that point at no invalid raw record of the run (a valid one, another
    /// run's, or an envelope without its source).
    #[serde(default)]
    pub dlq_unexpected: u64,
    /// Up to ten examples per anomaly (`silver_missing`, `silver_duplicates`,
    /// `silver_unexpected`).
    pub examples: BTreeMap<String, Vec<AnomalyExample>>,
    /// From the intended send time to the Iceberg commit that made the event visible in
    /// silver (late events excluded): the commit is the first silver snapshot committed at
    /// or after the row was processed.
    pub silver_visible: Option<Latency>,
    /// What reading `bronze.events`, `silver.events` and `dlq-events` cost.
    #[serde(default)]
    pub costs: Vec<VerificationStep>,
}

/// What the lakehouse check needs.
pub struct LakehouseCheck<'a> {
    /// The run.
    pub run_id: &'a str,
    /// The ground truth.
    pub ledger: &'a Ledger,
    /// Copies of each send in the raw topics, with the sends removed from raw that bronze
    /// copied before the removal ([`crate::bronze::copies_downstream`]).
    pub raw_copies: &'a [Vec<u8>],
    /// Sends the platform removed from raw before the raw check read them, in send order.
    pub removed: &'a [SendId],
    /// The Iceberg warehouse.
    pub warehouse: &'a Warehouse,
    /// The cluster (for the DLQ topic).
    pub connection: &'a KafkaConnection,
    /// The DLQ topic and where it stood when the run started.
    pub dlq_topic: &'a str,
    /// Start offsets of the DLQ topic.
    pub dlq_start: &'a StartOffsets,
    /// How long to wait for the DLQ.
    pub timeout: Duration,
    /// How bronze's `raw_value` text holds the record value's bytes.
    pub bronze_text: BronzeText,
}

/// How the `bronze.events` table's `raw_value` text holds a record value's bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BronzeText {
    /// UTF-8 (JSON values).
    #[default]
    Utf8,
    /// One character per byte, ISO-8859-1 (values in a schema registry's wire format).
    Latin1,
}

impl BronzeText {
    /// The value's bytes from its text.
    fn bytes(self, text: &str) -> std::borrow::Cow<'_, [u8]> {
        match self {
            BronzeText::Utf8 => std::borrow::Cow::Borrowed(text.as_bytes()),
            // A character above U+00FF cannot come from one byte: it becomes a byte that
            // differs from the one sent, and the record counts as altered.
            BronzeText::Latin1 => text
                .chars()
                .map(|c| u8::try_from(c).unwrap_or(0xFF))
                .collect(),
        }
    }
}

/// Why the lakehouse could not be checked.
#[derive(Debug, thiserror::Error)]
pub enum LakehouseCheckError {
    /// An Iceberg table could not be read.
    #[error(transparent)]
    Table(#[from] LakehouseError),
    /// The DLQ or the `bronze-events` topic could not be read.
    #[error(transparent)]
    Kafka(#[from] VerifyError),
    /// Gold could not be recomputed from the ledger.
    #[error("recompute gold from the ledger: {0}")]
    Gold(#[from] crate::gold::GoldError),
}

/// Event ids silver must hold, and the send that first carried each.
pub fn expected_silver(
    ledger: &Ledger,
    run_id: &str,
    raw_copies: &[Vec<u8>],
) -> HashMap<String, SendId> {
    let salt = streamproof_loadgen::id_salt(run_id);
    ledger
        .iter()
        .filter(|(id, entry)| entry.kind() != SendKind::Invalid && copies(raw_copies, *id) > 0)
        .map(|(id, _)| {
            let origin = ledger.event_send(id);
            (event_id(salt, origin), origin)
        })
        .collect()
}

fn copies(raw_copies: &[Vec<u8>], id: SendId) -> u8 {
    raw_copies
        .get(id.task())
        .and_then(|t| t.get(id.index()))
        .copied()
        .unwrap_or(0)
}

/// Reads bronze, silver and the DLQ and compares them with the ledger. Blocking.
pub fn check_lakehouse(
    check: &LakehouseCheck<'_>,
) -> Result<LakehouseFindings, LakehouseCheckError> {
    let mut findings = LakehouseFindings::default();
    let started = Instant::now();
    let mut tally = CopyTally::new(check.run_id, check.ledger, check.raw_copies, check.removed);
    let mut bronze_rows = 0u64;
    // Where each invalid raw record of the run sits: the DLQ envelopes must point there.
    let mut invalid_sources = HashSet::new();
    check.warehouse.visit_bronze(
        BronzeRead {
            raw_value: true,
            headers: true,
        },
        |row| {
            bronze_rows += 1;
            let invalid = row
                .meta
                .as_ref()
                .filter(|meta| meta.run_id == check.run_id)
                .and_then(|meta| check.ledger.get(meta.send_id))
                .is_some_and(|entry| entry.kind() == SendKind::Invalid);
            if invalid {
                invalid_sources.insert((row.topic.clone(), i64::from(row.partition), row.offset));
            }
            let value = row
                .raw_value
                .as_deref()
                .map(|text| check.bronze_text.bytes(text));
            tally.observe(LayerRecord {
                bytes: value
                    .as_deref()
                    .map(|value| (row.key.as_deref().unwrap_or_default().as_bytes(), value)),
                position: Some((row.partition, row.offset)),
                meta: row.meta,
            });
        },
    )?;
    findings.bronze_rows = bronze_rows;
    findings.bronze = tally.findings(check.ledger, "lakehouse_bronze", "bronze.events");
    findings.bronze.read_seconds = started.elapsed().as_secs_f64();
    findings
        .costs
        .push(cost("bronze.events", started, bronze_rows));
    let started = Instant::now();
    silver(check, &mut findings)?;
    findings
        .costs
        .push(cost(SILVER_TABLE, started, findings.silver_rows));
    let started = Instant::now();
    let dlq_read = dlq(check, invalid_sources, &mut findings)?;
    findings
        .costs
        .push(cost(check.dlq_topic, started, dlq_read));
    Ok(findings)
}

fn silver(
    check: &LakehouseCheck<'_>,
    findings: &mut LakehouseFindings,
) -> Result<(), LakehouseCheckError> {
    let expected = expected_silver(check.ledger, check.run_id, check.raw_copies);
    findings.silver_expected = expected.len() as u64;
    let mut rows_per_id: HashMap<String, u64> = HashMap::new();
    let mut rows = 0u64;
    let commits = snapshot_commit_times_ms(check.warehouse)?;
    let mut visible = latency_histogram();
    check.warehouse.visit_silver(false, |row| {
        rows += 1;
        let on_time = expected
            .get(&row.event_id)
            .and_then(|id| check.ledger.get(*id))
            .is_some_and(|entry| !entry.late());
        let processed_ms = row.processed_at_us / 1000;
        // The first commit at or after processing: commits are sorted, so search.
        let commit = commits.get(commits.partition_point(|at| *at < processed_ms));
        if let (true, Some(commit)) = (on_time, commit) {
            let micros = commit * 1000 - row.event_ts_us;
            record(&mut visible, micros.max(0) as u64);
        }
        *rows_per_id.entry(row.event_id).or_default() += 1;
    })?;
    findings.silver_rows = rows;
    findings.silver_visible = (!visible.is_empty()).then(|| summarize(&visible));
    let example =
        |findings: &mut LakehouseFindings, anomaly: &str, id: Option<SendId>, event: &str| {
            let examples = findings.examples.entry(anomaly.to_owned()).or_default();
            if examples.len() < MAX_EXAMPLES {
                examples.push(AnomalyExample {
                    send_id: id.map_or(0, |id| id.0),
                    event_id: event.to_owned(),
                    topic: SILVER_TABLE.to_owned(),
                    partition: None,
                    offset: None,
                    difference: None,
                });
            }
        };
    let mut missing: Vec<(&String, &SendId)> = expected
        .iter()
        .filter(|(event, _)| !rows_per_id.contains_key(*event))
        .collect();
    missing.sort_by_key(|(_, id)| id.0);
    findings.silver_missing = missing.len() as u64;
    for (event, id) in missing.iter().take(MAX_EXAMPLES) {
        example(findings, "silver_missing", Some(**id), event);
    }
    let mut sorted: Vec<(&String, &u64)> = rows_per_id.iter().collect();
    sorted.sort();
    for (event, count) in sorted {
        let origin = expected.get(event).copied();
        if *count > 1 {
            findings.silver_duplicate_ids += 1;
            findings.silver_duplicates += count - 1;
            example(findings, "silver_duplicates", origin, event);
        }
        if origin.is_none() {
            findings.silver_unexpected += 1;
            example(findings, "silver_unexpected", None, event);
        }
    }
    Ok(())
}

/// Commit times of every snapshot of silver, ms since the epoch, ascending.
fn snapshot_commit_times_ms(warehouse: &Warehouse) -> Result<Vec<i64>, LakehouseError> {
    let location = warehouse.metadata_location(SILVER.0, SILVER.1)?;
    let text = std::fs::read_to_string(&location.file).unwrap_or_default();
    let metadata: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let mut times: Vec<i64> = metadata["snapshots"]
        .as_array()
        .map(|snapshots| {
            snapshots
                .iter()
                .filter_map(|snapshot| snapshot["timestamp-ms"].as_i64())
                .collect()
        })
        .unwrap_or_default();
    times.sort_unstable();
    Ok(times)
}

/// Counts DLQ records by the raw record they point at (`source_topic`, `source_partition`,
/// `source_offset` in the envelope).
struct DlqReader {
    invalid_sources: HashSet<(String, i64, i64)>,
    seen: HashMap<(String, i64, i64), u64>,
    unexpected: u64,
    expected: u64,
    read: u64,
}

impl Observer for DlqReader {
    fn observe<M: Message>(&mut self, message: &M) {
        self.read += 1;
        let source = message
            .payload()
            .and_then(|payload| serde_json::from_slice::<serde_json::Value>(payload).ok())
            .and_then(|envelope| {
                Some((
                    envelope["source_topic"].as_str()?.to_owned(),
                    envelope["source_partition"].as_i64()?,
                    envelope["source_offset"].as_i64()?,
                ))
            })
            .filter(|source| self.invalid_sources.contains(source));
        match source {
            Some(source) => *self.seen.entry(source).or_default() += 1,
            None => self.unexpected += 1,
        }
    }

    fn complete(&self) -> bool {
        self.seen.len() as u64 >= self.expected
    }
}

/// Checks the DLQ; returns the records read.
fn dlq(
    check: &LakehouseCheck<'_>,
    invalid_sources: HashSet<(String, i64, i64)>,
    findings: &mut LakehouseFindings,
) -> Result<u64, LakehouseCheckError> {
    let expected: u64 = check
        .ledger
        .iter()
        .filter(|(id, entry)| {
            entry.kind() == SendKind::Invalid && copies(check.raw_copies, *id) > 0
        })
        .map(|(id, _)| u64::from(copies(check.raw_copies, id)))
        .sum();
    findings.dlq_expected = expected;
    let mut reader = DlqReader {
        invalid_sources,
        seen: HashMap::new(),
        unexpected: 0,
        expected,
        read: 0,
    };
    let topics = vec![check.dlq_topic.to_owned()];
    read_range(
        &Range {
            connection: check.connection,
            group: format!("streamproof-verify-dlq-{}", check.run_id),
            topics: &topics,
            start: check.dlq_start,
            timeout: check.timeout,
        },
        &mut reader,
    )?;
    let distinct = reader.seen.len() as u64;
    findings.dlq_present = distinct;
    findings.dlq_missing = expected.saturating_sub(distinct);
    findings.dlq_duplicates = reader.seen.values().map(|copies| copies - 1).sum();
    findings.dlq_unexpected = reader.unexpected;
    Ok(reader.read)
}

#[cfg(test)]
mod bronze_text_tests {
    use super::BronzeText;

    #[test]
    fn latin1_text_gives_back_every_byte_and_utf8_its_encoding() {
        let sent: Vec<u8> = (0..=255).collect();
        let text: String = sent.iter().map(|&b| char::from(b)).collect();
        assert_eq!(BronzeText::Latin1.bytes(&text).as_ref(), sent.as_slice());
        assert_eq!(BronzeText::Utf8.bytes("é").as_ref(), "é".as_bytes());
        assert_eq!(BronzeText::Latin1.bytes("€").as_ref(), &[0xFF]);
    }
}
