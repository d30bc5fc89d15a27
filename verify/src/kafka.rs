//! Kafka-level invariants: the raw topics read back with read_committed and compared, record
//! by record, with the ledger.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::gold::GoldReplay;
pub use crate::read::VerifyError;
use crate::read::{log_starts_by_partition, read_range, Observer, PartitionView, Range};
use crate::schema::{RecordDecoder, SchemaReaders, SentRecord};
use crate::sent::AlteredRecord;
use rdkafka::message::Message;
use serde::{Deserialize, Serialize};
use streamproof_loadgen::consumer::StartOffsets;
use streamproof_loadgen::generator::event_id;
use streamproof_loadgen::ledger::{Ledger, Outcome, RecordDigest, RecordStamp, SendId, SendKind};
use streamproof_loadgen::LoadOutcome;
use streamproof_platform::connection::KafkaConnection;
pub use streamproof_result::{AnomalyExample, ByteDifference, Counts, RawPartition};

/// Examples kept per anomaly.
pub const MAX_EXAMPLES: usize = 10;

/// What to check.
pub struct KafkaCheck<'a> {
    /// The cluster.
    pub connection: &'a KafkaConnection,
    /// The run whose records count; others are foreign.
    pub run_id: &'a str,
    /// Topic names by the index ledger entries store.
    pub topics: &'a [String],
    /// The ground truth.
    pub ledger: &'a Ledger,
    /// Where to start reading each partition.
    pub start: &'a StartOffsets,
    /// How long to wait for every acknowledged record to become visible.
    pub drain_timeout: Duration,
    /// How to rebuild what a send carried, to show where an altered record first differs
    /// (`None`: altered records are counted without that detail).
    pub replay: Option<GoldReplay<'a>>,
    /// The registry's schemas to decode every record with, when values carry registered
    /// schemas.
    pub schemas: Option<&'a SchemaReaders>,
}

impl<'a> KafkaCheck<'a> {
    /// The check of a load's raw topics: every send of `outcome`'s ledger from where the raw
    /// partitions stood before the load.
    pub fn of_load(
        connection: &'a KafkaConnection,
        outcome: &'a LoadOutcome,
        topics: &'a [String],
        drain_timeout: Duration,
        replay: GoldReplay<'a>,
    ) -> Self {
        KafkaCheck {
            connection,
            run_id: replay.run_id,
            topics,
            ledger: &outcome.ledger,
            start: &outcome.start_offsets,
            drain_timeout,
            replay: Some(replay),
            schemas: None,
        }
    }
}

/// What the Kafka-level check found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KafkaFindings {
    /// The counts.
    pub counts: Counts,
    /// Up to [`MAX_EXAMPLES`] examples per anomaly (`lost`, `removed_below_log_start`,
    /// `corrupted`, `duplicates`, `phantoms`, `offset_mismatches`, `order_violations`).
    pub examples: std::collections::BTreeMap<String, Vec<AnomalyExample>>,
    /// Whether every acknowledged record became visible, or was proven gone (below its
    /// partition's log start, or passed by the reader), before the drain timeout.
    pub drained: bool,
    /// Every partition read: where the run began, its log start and the end reached.
    #[serde(default)]
    pub partitions: Vec<RawPartition>,
    /// How long reading took.
    pub read_seconds: f64,
    /// Records read in the range (own and foreign).
    pub records_read: u64,
    /// Copies found of each send, by producer task and index (for the bronze check).
    #[serde(skip)]
    pub copies: Vec<Vec<u8>>,
    /// The sends counted in `removed_below_log_start`, in send order: layers copied from raw
    /// may or may not hold them, depending on whether they were copied before the removal.
    #[serde(skip)]
    pub removed: Vec<SendId>,
    /// The records decoded through the schema registry, when values carry registered schemas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schemas: Option<streamproof_result::schema::SchemaDecoding>,
}

/// Per-send observations, two bytes per send.
struct Seen {
    copies: Vec<Vec<u8>>,
    at_position: Vec<Vec<bool>>,
}

impl Seen {
    fn copies(&self, id: SendId) -> u8 {
        self.copies[id.task()][id.index()]
    }
}

impl Seen {
    fn new(ledger: &Ledger) -> Self {
        Seen {
            copies: (0..ledger.tasks())
                .map(|t| vec![0; ledger.task_len(t)])
                .collect(),
            at_position: (0..ledger.tasks())
                .map(|t| vec![false; ledger.task_len(t)])
                .collect(),
        }
    }
}

/// The last sequence number read per key and partition, looked up without an allocation per
/// record (a key is copied once, when first seen).
#[derive(Default)]
struct KeySequences {
    last: HashMap<Box<[u8]>, u64>,
    lookup: Vec<u8>,
}

impl KeySequences {
    /// Records `seq` as the latest of `key` in the partition; `false` when it is not above the
    /// latest read before (the key's order broke).
    fn advance(&mut self, topic: &str, partition: i32, key: &[u8], seq: u64) -> bool {
        self.lookup.clear();
        self.lookup
            .extend_from_slice(&(topic.len() as u32).to_le_bytes());
        self.lookup.extend_from_slice(topic.as_bytes());
        self.lookup.extend_from_slice(&partition.to_le_bytes());
        self.lookup.extend_from_slice(key);
        match self.last.get_mut(self.lookup.as_slice()) {
            Some(last) if seq <= *last => false,
            Some(last) => {
                *last = seq;
                true
            }
            None => {
                self.last.insert(self.lookup.as_slice().into(), seq);
                true
            }
        }
    }
}

struct Reader<'a> {
    check: &'a KafkaCheck<'a>,
    seen: Seen,
    last_seq: KeySequences,
    findings: KafkaFindings,
    acked_seen: u64,
    acked_total: u64,
    salt: u64,
    altered: Vec<AlteredRecord>,
    decoder: Option<RecordDecoder>,
}

impl Observer for Reader<'_> {
    fn observe<M: Message>(&mut self, message: &M) {
        Reader::observe(self, message);
    }

    fn complete(&self) -> bool {
        self.acked_seen >= self.acked_total
    }

    fn accounted_for(&mut self, partitions: &PartitionView<'_>) -> bool {
        if self.complete() {
            return true;
        }
        let topics = self.check.topics;
        let proven_gone = self
            .check
            .ledger
            .iter()
            .filter(|(id, _)| self.seen.copies(*id) == 0)
            .filter_map(|(_, entry)| {
                Some((topics.get(usize::from(entry.topic()))?, entry.position()?))
            })
            .filter(|(topic, (partition, offset))| {
                *offset < partitions.log_start(topic, *partition)
                    || *offset < partitions.position(topic, *partition)
            })
            .count() as u64;
        self.acked_seen + proven_gone >= self.acked_total
    }
}

/// Reads every raw partition from its start offset and compares with the ledger. Waits up to
/// the drain timeout for acknowledged records that are not visible yet. Blocking.
pub fn check_kafka(check: &KafkaCheck<'_>) -> Result<KafkaFindings, VerifyError> {
    let started = Instant::now();
    let acked_total = check
        .ledger
        .iter()
        .filter(|(_, entry)| entry.outcome() == Outcome::Acked)
        .count() as u64;
    let mut reader = Reader {
        check,
        seen: Seen::new(check.ledger),
        last_seq: KeySequences::default(),
        findings: KafkaFindings::default(),
        acked_seen: 0,
        acked_total,
        salt: streamproof_loadgen::id_salt(check.run_id),
        altered: Vec::new(),
        decoder: check
            .schemas
            .map(RecordDecoder::new)
            .transpose()
            .map_err(|error| VerifyError::Schema(error.to_string()))?,
    };
    let range = Range {
        connection: check.connection,
        group: format!("streamproof-verify-{}", check.run_id),
        topics: check.topics,
        start: check.start,
        timeout: check.drain_timeout,
    };
    let outcome = read_range(&range, &mut reader)?;
    reader.findings.drained = outcome.drained;
    reader.findings.partitions = outcome.partitions;
    let mut findings = reader.finish();
    findings.read_seconds = started.elapsed().as_secs_f64();
    Ok(findings)
}

impl Reader<'_> {
    fn observe<M: Message>(&mut self, message: &M) {
        self.findings.records_read += 1;
        let meta = message.headers().and_then(RecordStamp::read);
        let Some(meta) = meta.filter(|m| m.of_run(self.check.run_id)) else {
            self.findings.counts.foreign += 1;
            return;
        };
        let topic = message.topic();
        let position = (message.partition(), message.offset());
        let Some(entry) = self.check.ledger.get(meta.send_id) else {
            self.findings.counts.phantoms += 1;
            self.example("phantoms", meta.send_id, topic, Some(position));
            return;
        };
        let copies = &mut self.seen.copies[meta.send_id.task()][meta.send_id.index()];
        *copies = copies.saturating_add(1);
        let first_copy = *copies == 1;
        let key = message.key().unwrap_or_default();
        let value = message.payload().unwrap_or_default();
        if RecordDigest::of(key, value) != entry.digest() {
            self.findings.counts.corrupted += 1;
            if self.altered.len() < MAX_EXAMPLES {
                self.altered.push(AlteredRecord {
                    send: meta.send_id,
                    topic: topic.to_owned(),
                    position,
                    intended_us: meta.intended_us,
                    key: key.to_vec(),
                    value: value.to_vec(),
                });
            }
        }
        if first_copy && entry.outcome() == Outcome::Acked {
            self.acked_seen += 1;
        }
        if let Some(decoder) = &mut self.decoder {
            let event_id = event_id(self.salt, self.check.ledger.event_send(meta.send_id));
            let sent = SentRecord {
                topic: usize::from(entry.topic()),
                kind: entry.kind(),
                event_id: &event_id,
            };
            if let Some(anomaly) = decoder.observe(&sent, key, value) {
                self.example(anomaly, meta.send_id, topic, Some(position));
            }
        }
        let expected_topic = self.check.topics.get(usize::from(entry.topic()));
        if entry.position() == Some(position) && expected_topic.is_some_and(|t| t == topic) {
            self.seen.at_position[meta.send_id.task()][meta.send_id.index()] = true;
        }
        if first_copy
            && !self
                .last_seq
                .advance(topic, message.partition(), key, meta.key_seq)
        {
            self.findings.counts.order_violations += 1;
            self.example("order_violations", meta.send_id, topic, Some(position));
        }
    }

    fn example(&mut self, anomaly: &str, send: SendId, topic: &str, position: Option<(i32, i64)>) {
        let examples = self
            .findings
            .examples
            .entry(anomaly.to_owned())
            .or_default();
        if examples.len() < MAX_EXAMPLES {
            examples.push(AnomalyExample {
                send_id: send.0,
                event_id: event_id(self.salt, self.check.ledger.event_send(send)),
                topic: topic.to_owned(),
                partition: position.map(|p| p.0),
                offset: position.map(|p| p.1),
                difference: None,
            });
        }
    }

    /// Altered records as examples, each with where it first differs from what was sent when
    /// the send can be rebuilt.
    fn altered_examples(&mut self) {
        let altered = std::mem::take(&mut self.altered);
        let expected = match &self.check.replay {
            Some(replay) => crate::sent::rebuild(replay, self.check.ledger, &altered),
            None => HashMap::new(),
        };
        let examples: Vec<AnomalyExample> = altered
            .iter()
            .map(|record| AnomalyExample {
                send_id: record.send.0,
                event_id: event_id(self.salt, self.check.ledger.event_send(record.send)),
                topic: record.topic.clone(),
                partition: Some(record.position.0),
                offset: Some(record.position.1),
                difference: expected
                    .get(&record.send)
                    .and_then(|sent| record.first_difference(sent)),
            })
            .collect();
        if !examples.is_empty() {
            self.findings
                .examples
                .insert("corrupted".to_owned(), examples);
        }
    }

    fn finish(mut self) -> KafkaFindings {
        self.altered_examples();
        self.findings.schemas = self.decoder.take().map(RecordDecoder::finish);
        self.findings.copies = std::mem::take(&mut self.seen.copies);
        let log_starts = log_starts_by_partition(&self.findings.partitions);
        let mut removed = Vec::new();
        let ledger = self.check.ledger;
        for (id, entry) in ledger.iter() {
            let copies = self.findings.copies[id.task()][id.index()];
            let topic = self
                .check
                .topics
                .get(usize::from(entry.topic()))
                .cloned()
                .unwrap_or_default();
            let counts = &mut self.findings.counts;
            counts.sent += 1;
            if copies > 0 {
                counts.present += 1;
            }
            if copies > 1 {
                counts.duplicates += u64::from(copies - 1);
            }
            let acked_but_absent = entry.outcome() == Outcome::Acked && copies == 0;
            match entry.kind() {
                SendKind::Invalid => {
                    counts.invalid_sent += 1;
                    counts.invalid_present += u64::from(copies > 0);
                    counts.invalid_missing += u64::from(acked_but_absent);
                }
                SendKind::Duplicate => {
                    counts.deliberate_duplicates_sent += 1;
                    counts.deliberate_duplicates_present += u64::from(copies > 0);
                    counts.deliberate_duplicates_missing += u64::from(acked_but_absent);
                }
                SendKind::Fresh => {}
            }
            counts.late_sent += u64::from(entry.late());
            match entry.outcome() {
                Outcome::Acked => {
                    counts.acked += 1;
                    if copies == 0 {
                        counts.lost += 1;
                        self.example("lost", id, &topic, entry.position());
                        let below_log_start =
                            entry.position().is_some_and(|(partition, offset)| {
                                log_starts
                                    .get(&(topic.clone(), partition))
                                    .is_some_and(|start| offset < *start)
                            });
                        if below_log_start {
                            removed.push((id, topic.clone(), entry.position()));
                        }
                    } else if !self.seen.at_position[id.task()][id.index()] {
                        self.findings.counts.offset_mismatches += 1;
                        self.example("offset_mismatches", id, &topic, entry.position());
                    }
                }
                Outcome::Failed => {
                    counts.failed += 1;
                    if copies > 0 {
                        counts.phantoms += 1;
                        self.example("phantoms", id, &topic, None);
                    }
                }
                Outcome::Unknown | Outcome::Pending => {
                    counts.unknown += 1;
                    counts.unknown_present += u64::from(copies > 0);
                }
            }
            if copies > 1 {
                self.example("duplicates", id, &topic, None);
            }
        }
        self.findings.counts.removed_below_log_start = removed.len() as u64;
        for (id, topic, position) in removed {
            self.example("removed_below_log_start", id, &topic, position);
            self.findings.removed.push(id);
        }
        self.findings
    }
}
