//! `result.json`'s `schemas` section: the registry's subjects as the run left them, every
//! schema change made mid-run and the registry's answer, and every raw record decoded
//! through the registry.

use serde::{Deserialize, Serialize};

/// The schema registry's part of a run whose records carry registered schemas.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SchemaReport {
    /// `avro` or `json-schema`.
    pub format: String,
    /// The registry's Confluent-compatible API.
    pub registry: String,
    /// The compatibility level the run set on every subject.
    pub compatibility: String,
    /// Each raw topic's value subject and the versions the run registered or found.
    pub subjects: Vec<SubjectReport>,
    /// Every schema change the scenario made, in order.
    #[serde(default)]
    pub changes: Vec<SchemaChangeRecord>,
    /// The raw records decoded through the registry.
    pub decoding: SchemaDecoding,
}

/// One subject.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SubjectReport {
    /// `<topic>-value`.
    pub subject: String,
    /// Its compatibility level as the registry reports it.
    pub compatibility: String,
    /// The versions the run wrote with, oldest first.
    pub versions: Vec<SchemaVersion>,
}

/// A registered version.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaVersion {
    /// Its number in the subject.
    pub version: u32,
    /// The schema id records carry.
    pub id: u32,
}

/// A schema change made during the load.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SchemaChangeRecord {
    /// Seconds into the load it was made.
    pub at_seconds: f64,
    /// The event type whose schema changed.
    pub event_type: String,
    /// Its subject.
    pub subject: String,
    /// `add-optional-field`, `add-required-field` or `change-field-type`.
    pub change: String,
    /// The field added or changed.
    pub field: String,
    /// `accepted` or `refused`: what the scenario expected of the registry.
    pub expected: String,
    /// `accepted`, `refused`, or `error` when the registry could not be asked.
    pub outcome: String,
    /// The new version's schema id, when accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u32>,
    /// The registry's reason for a refusal, or the error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl SchemaChangeRecord {
    /// Whether the registry answered as the scenario expected.
    pub fn as_expected(&self) -> bool {
        self.outcome == self.expected
    }
}

/// Raw records decoded through the registry: each record's schema id looked up, its value
/// decoded with that (writer) schema, and read again with every version of its subject.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SchemaDecoding {
    /// Records of the run read from the raw topics.
    pub records: u64,
    /// Valid events decoded, each equal to the event sent (its id, type and routing key).
    pub decoded: u64,
    /// Valid events whose value is not in the wire format, names an unknown schema id, or
    /// does not decode with its schema.
    pub undecodable: u64,
    /// Valid events that decoded to something other than what was sent.
    pub mismatched: u64,
    /// Records carrying a schema id that is not a version of their topic's subject.
    pub foreign_schema: u64,
    /// Invalid events the schema refused (as it should).
    pub invalid_refused: u64,
    /// Invalid events that still match the schema (a malformed id or timestamp: the
    /// pipeline's validation catches those).
    pub invalid_matching: u64,
    /// Records per writer schema.
    pub writers: Vec<WriterCount>,
    /// Every version of each subject reading every valid event written to it.
    pub readers: Vec<ReaderCount>,
}

impl SchemaDecoding {
    /// Valid events not decoded as sent, for any reason.
    pub fn anomalies(&self) -> u64 {
        self.undecodable + self.mismatched + self.foreign_schema
    }

    /// Reads by a version of a subject that failed.
    pub fn reader_failures(&self) -> u64 {
        self.readers.iter().map(|r| r.failed).sum()
    }
}

/// Records written with one schema.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriterCount {
    /// The subject.
    pub subject: String,
    /// The schema id.
    pub id: u32,
    /// Records carrying it.
    pub records: u64,
}

/// One version of a subject reading the subject's valid events.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReaderCount {
    /// The subject.
    pub subject: String,
    /// The reader's version.
    pub version: u32,
    /// Its schema id.
    pub id: u32,
    /// Events it read.
    pub decoded: u64,
    /// Events it could not read.
    pub failed: u64,
}
