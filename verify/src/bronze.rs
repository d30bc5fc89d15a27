//! Invariant 4: bronze holds each committed raw record exactly once. Every record the run left
//! in the raw topics must appear in `bronze-events` (read with read_committed) as many times as
//! it is in raw: once, unless the raw layer itself held a duplicate.

use std::time::{Duration, Instant};

use rdkafka::message::Message;
use serde::{Deserialize, Serialize};
use streamproof_loadgen::consumer::StartOffsets;
use streamproof_loadgen::generator::event_id;
use streamproof_loadgen::ledger::{Ledger, RecordDigest, RecordMeta, SendId};
use streamproof_platform::connection::KafkaConnection;
use streamproof_platform::copier::CopierStage;

use crate::kafka::{AnomalyExample, KafkaFindings, MAX_EXAMPLES};
use crate::read::{read_range, Observer, Range, VerifyError};

/// What to check.
pub struct BronzeCheck<'a> {
    /// The cluster.
    pub connection: &'a KafkaConnection,
    /// The run whose records count.
    pub run_id: &'a str,
    /// The bronze topic.
    pub topic: &'a str,
    /// The ground truth.
    pub ledger: &'a Ledger,
    /// Copies of each send found in the raw topics ([`crate::kafka::KafkaFindings::copies`]).
    pub raw_copies: &'a [Vec<u8>],
    /// Sends the platform removed from raw before the raw check read them
    /// ([`crate::kafka::KafkaFindings::removed`]): bronze may hold each once, or not at all.
    pub removed: &'a [SendId],
    /// Where the bronze partitions stood when the run started.
    pub start: &'a StartOffsets,
    /// How long to wait for missing records.
    pub drain_timeout: Duration,
}

/// What the bronze check found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BronzeFindings {
    /// Raw records of the run that bronze must hold.
    pub expected: u64,
    /// Of those, found in bronze.
    pub present: u64,
    /// Raw records missing from bronze.
    pub missing: u64,
    /// Extra copies in bronze beyond what raw holds.
    pub duplicates: u64,
    /// Records of the run whose key or value differ from what was sent to raw.
    #[serde(default)]
    pub corrupted: u64,
    /// Records of other runs or producers in the range read.
    pub foreign: u64,
    /// Up to ten examples each of `bronze_missing`, `bronze_duplicates` and
    /// `bronze_corrupted`.
    pub examples: std::collections::BTreeMap<String, Vec<AnomalyExample>>,
    /// Whether every expected record appeared before the drain timeout.
    pub drained: bool,
    /// How long reading took.
    pub read_seconds: f64,
    /// Records (or rows) read.
    #[serde(default)]
    pub records_read: u64,
    /// Of the sends removed from raw before the raw check read them, those this layer holds:
    /// they were in raw when copied, so the layers after this one must hold them too.
    #[serde(skip)]
    pub removed_present: Vec<SendId>,
}

/// The copies of each send the layers after bronze must account for: what raw held when the
/// raw check read it, plus once each send removed from raw after bronze copied it.
pub fn copies_downstream(raw_copies: &[Vec<u8>], removed_present: &[SendId]) -> Vec<Vec<u8>> {
    let mut copies = raw_copies.to_vec();
    for send in removed_present {
        if let Some(slot) = copies
            .get_mut(send.task())
            .and_then(|task| task.get_mut(send.index()))
        {
            *slot = (*slot).max(1);
        }
    }
    copies
}

/// A record (or row) of a layer derived from raw: the headers it carried, its key and value
/// when they were read, and where it sits.
pub struct LayerRecord<'m> {
    /// The streamproof headers, decoded.
    pub meta: Option<RecordMeta>,
    /// Key and value, when read (a missing key reads as empty).
    pub bytes: Option<(&'m [u8], &'m [u8])>,
    /// Its partition and offset in the layer (or, for a table row, of its raw source).
    pub position: Option<(i32, i64)>,
}

/// Copies of each send found in a layer derived from raw, against the copies raw holds. The
/// Kafka bronze check and the lakehouse's bronze table check share it.
pub struct CopyTally<'a> {
    run_id: &'a str,
    ledger: &'a Ledger,
    raw_copies: &'a [Vec<u8>],
    removed: &'a [SendId],
    copies: Vec<Vec<u8>>,
    expected_seen: u64,
    expected: u64,
    foreign: u64,
    read: u64,
    corrupted: u64,
    corrupted_examples: Vec<(SendId, Option<(i32, i64)>)>,
}

impl<'a> CopyTally<'a> {
    /// An empty tally for the run's records, `raw_copies` per send; each of the `removed`
    /// sends (in send order) may be held once or not at all.
    pub fn new(
        run_id: &'a str,
        ledger: &'a Ledger,
        raw_copies: &'a [Vec<u8>],
        removed: &'a [SendId],
    ) -> Self {
        CopyTally {
            run_id,
            ledger,
            raw_copies,
            removed,
            copies: raw_copies.iter().map(|t| vec![0; t.len()]).collect(),
            expected_seen: 0,
            expected: raw_copies.iter().flatten().map(|c| u64::from(*c)).sum(),
            foreign: 0,
            read: 0,
            corrupted: 0,
            corrupted_examples: Vec::new(),
        }
    }

    /// Counts one record of the layer by the streamproof headers it carried, and compares
    /// its bytes with what was sent when they were read.
    pub fn observe(&mut self, record: LayerRecord<'_>) {
        self.read += 1;
        let Some(meta) = record.meta.filter(|m| m.run_id == self.run_id) else {
            self.foreign += 1;
            return;
        };
        let id = meta.send_id;
        let altered = match (record.bytes, self.ledger.get(id)) {
            (Some((key, value)), Some(entry)) => RecordDigest::of(key, value) != entry.digest(),
            _ => false,
        };
        if altered {
            self.corrupted += 1;
            if self.corrupted_examples.len() < MAX_EXAMPLES {
                self.corrupted_examples.push((id, record.position));
            }
        }
        let Some(copies) = self
            .copies
            .get_mut(id.task())
            .and_then(|t| t.get_mut(id.index()))
        else {
            self.foreign += 1;
            return;
        };
        *copies = copies.saturating_add(1);
        if *copies <= self.raw_copies[id.task()][id.index()] {
            self.expected_seen += 1;
        }
    }

    /// Whether every raw record has been seen.
    pub fn complete(&self) -> bool {
        self.expected_seen >= self.expected
    }

    /// Missing and extra copies, with examples named after `layer` (e.g. `bronze` gives
    /// `bronze_missing` and `bronze_duplicates`).
    pub fn findings(&self, ledger: &Ledger, layer: &str, topic: &str) -> BronzeFindings {
        let salt = streamproof_loadgen::id_salt(self.run_id);
        let mut findings = BronzeFindings {
            expected: self.expected,
            foreign: self.foreign,
            drained: self.complete(),
            corrupted: self.corrupted,
            records_read: self.read,
            ..BronzeFindings::default()
        };
        if !self.corrupted_examples.is_empty() {
            let examples = self
                .corrupted_examples
                .iter()
                .map(|(id, position)| AnomalyExample {
                    send_id: id.0,
                    event_id: event_id(salt, ledger.event_send(*id)),
                    topic: topic.to_owned(),
                    partition: position.map(|p| p.0),
                    offset: position.map(|p| p.1),
                    difference: None,
                })
                .collect();
            findings
                .examples
                .insert(format!("{layer}_corrupted"), examples);
        }
        for (task, sends) in self.copies.iter().enumerate() {
            for (index, found) in sends.iter().enumerate() {
                let id = SendId::new(task, index);
                let in_raw = self.raw_copies[task][index];
                findings.present += u64::from((*found).min(in_raw));
                let mut wanted = in_raw;
                if self.removed.binary_search(&id).is_ok() {
                    // Copied before the platform removed it from raw, or not at all.
                    wanted = wanted.max((*found).min(1));
                    if *found > 0 {
                        findings.removed_present.push(id);
                    }
                }
                let anomaly = if found < &wanted {
                    findings.missing += u64::from(wanted - found);
                    "missing"
                } else if found > &wanted {
                    findings.duplicates += u64::from(found - wanted);
                    "duplicates"
                } else {
                    continue;
                };
                let examples = findings
                    .examples
                    .entry(format!("{layer}_{anomaly}"))
                    .or_default();
                if examples.len() < MAX_EXAMPLES {
                    examples.push(AnomalyExample {
                        send_id: id.0,
                        event_id: event_id(salt, ledger.event_send(id)),
                        topic: topic.to_owned(),
                        partition: None,
                        offset: None,
                        difference: None,
                    });
                }
            }
        }
        findings
    }
}

struct BronzeReader<'a> {
    tally: CopyTally<'a>,
}

impl Observer for BronzeReader<'_> {
    fn observe<M: Message>(&mut self, message: &M) {
        self.tally.observe(LayerRecord {
            meta: message.headers().and_then(RecordMeta::from_headers),
            bytes: Some((
                message.key().unwrap_or_default(),
                message.payload().unwrap_or_default(),
            )),
            position: Some((message.partition(), message.offset())),
        });
    }

    fn complete(&self) -> bool {
        self.tally.complete()
    }
}

/// The copier's output against raw, once the copier has drained and stopped: each raw record
/// of the run in `bronze-events` exactly once. Blocking.
pub fn check_copier(
    copier: &CopierStage,
    run_id: &str,
    ledger: &Ledger,
    raw: &KafkaFindings,
    drain_timeout: Duration,
) -> Result<BronzeFindings, VerifyError> {
    check_bronze(&BronzeCheck {
        connection: copier.connection(),
        run_id,
        topic: copier.output(),
        ledger,
        raw_copies: &raw.copies,
        removed: &raw.removed,
        start: &copier.start,
        drain_timeout,
    })
}

/// Reads bronze from the run's start offsets and compares it with the raw layer. Blocking.
pub fn check_bronze(check: &BronzeCheck<'_>) -> Result<BronzeFindings, VerifyError> {
    let started = Instant::now();
    let mut reader = BronzeReader {
        tally: CopyTally::new(check.run_id, check.ledger, check.raw_copies, check.removed),
    };
    let topics = vec![check.topic.to_owned()];
    let range = Range {
        connection: check.connection,
        group: format!("streamproof-verify-bronze-{}", check.run_id),
        topics: &topics,
        start: check.start,
        timeout: check.drain_timeout,
    };
    let drained = read_range(&range, &mut reader)?.drained;
    Ok(BronzeFindings {
        drained,
        read_seconds: started.elapsed().as_secs_f64(),
        ..reader.tally.findings(check.ledger, "bronze", check.topic)
    })
}
