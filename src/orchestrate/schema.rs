//! The schema registry's part of a run: each raw topic's subject registered before the load
//! with the scenario's compatibility level, the scenario's schema changes made on the load's
//! clock (producers switch to an accepted version at once), the versions the checker decodes
//! with, and the report.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use streamproof_loadgen::generator::topic_index;
use streamproof_loadgen::wire::{WireEncoder, WriterSchema};
use streamproof_loadgen::RAW_TOPICS;
use streamproof_platform::events::EventType;
use streamproof_platform::handle::Platform;
use streamproof_platform::schema_registry::{
    value_subject, RegistryClient, RegistryError, SchemaDocument, SchemaKind,
};
use streamproof_platform::schemas::{event_schema_document, evolve, AvroEvent, SchemaChange};
use streamproof_reports::result::schema::{
    SchemaChangeRecord, SchemaDecoding, SchemaReport, SchemaVersion, SubjectReport,
};
use streamproof_verify::expect::SchemaCounts;
use streamproof_verify::schema::{SchemaReaders, SubjectReaders};

use crate::scenario::schema::{SchemaChangeSpec, SchemaSection};

/// A raw topic's subject and what the run wrote with.
struct TopicSchema {
    subject: String,
    /// The version producers write with now.
    document: SchemaDocument,
    /// Every schema id the run registered or accepted for it, oldest first.
    ids: Vec<u32>,
}

/// The registry as a run uses it.
pub struct SchemaRun {
    client: RegistryClient,
    section: SchemaSection,
    encoder: Arc<WireEncoder>,
    topics: Mutex<Vec<TopicSchema>>,
}

impl SchemaRun {
    /// Registers every raw topic's event schema under `<topic>-value` with the scenario's
    /// compatibility level; `None` for plain JSON.
    pub fn register(section: &SchemaSection, platform: &Platform) -> Result<Option<Arc<Self>>> {
        let Some(kind) = section.format.schema_kind() else {
            return Ok(None);
        };
        let connection = platform
            .schema_registry
            .as_ref()
            .context("the platform has no schema registry for this format")?;
        let client = RegistryClient::new(connection);
        let level = section.compatibility.level();
        let mut topics = Vec::new();
        let mut writers = Vec::new();
        for (index, topic) in RAW_TOPICS.iter().enumerate() {
            let event_type = event_type_of(index);
            let subject = value_subject(topic);
            let document = event_schema_document(event_type, kind);
            let id = client
                .register(&subject, &document)
                .with_context(|| format!("register the {event_type} schema as `{subject}`"))?;
            client
                .set_compatibility(&subject, level)
                .with_context(|| format!("set `{subject}`'s compatibility to {level}"))?;
            writers.push(writer(id, &document)?);
            topics.push(TopicSchema {
                subject,
                document,
                ids: vec![id],
            });
        }
        eprintln!(
            "registered {} {} schemas at {} ({level})",
            topics.len(),
            section.format.as_str(),
            client.url()
        );
        Ok(Some(Arc::new(SchemaRun {
            client,
            section: section.clone(),
            encoder: Arc::new(WireEncoder::new(writers)),
            topics: Mutex::new(topics),
        })))
    }

    /// What producers encode values with.
    pub fn encoder(&self) -> Arc<WireEncoder> {
        self.encoder.clone()
    }

    /// Makes the scenario's changes at their times from `start`, on a thread of its own.
    pub fn start_changes(self: &Arc<Self>, start: Instant) -> ScheduledChanges {
        let stop = Arc::new(AtomicBool::new(false));
        let run = self.clone();
        let stopped = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut records = Vec::new();
            for spec in &run.section.changes {
                if !sleep_until(start + spec.at, &stopped) {
                    break;
                }
                records.push(run.apply(spec, start.elapsed()));
            }
            records
        });
        ScheduledChanges { stop, handle }
    }

    /// Registers the changed schema; when the registry accepts an optional field, producers
    /// of that topic write with it from now on.
    fn apply(&self, spec: &SchemaChangeSpec, at: Duration) -> SchemaChangeRecord {
        let index = usize::from(topic_index(spec.event_type));
        let change = spec.change();
        let mut record = SchemaChangeRecord {
            at_seconds: at.as_secs_f64(),
            event_type: spec.event_type.to_string(),
            change: change.kind().to_owned(),
            field: change.field().to_owned(),
            expected: spec
                .expected(self.section.compatibility)
                .as_str()
                .to_owned(),
            ..SchemaChangeRecord::default()
        };
        let Ok(mut topics) = self.topics.lock() else {
            record.outcome = "error".to_owned();
            return record;
        };
        let Some(topic) = topics.get_mut(index) else {
            record.outcome = "error".to_owned();
            return record;
        };
        record.subject = topic.subject.clone();
        match self.ask(&topic.subject, &topic.document, &change) {
            Answer::Accepted(id, document) => {
                record.outcome = "accepted".to_owned();
                record.id = Some(id);
                topic.ids.push(id);
                // Producers can write a version whose new fields are optional; any other
                // accepted change is registered, and readers of it are checked, but producers
                // keep writing the version they had.
                if matches!(change, SchemaChange::AddOptionalField(_)) {
                    if let Ok(new_writer) = writer(id, &document) {
                        self.encoder.switch(index as u8, new_writer);
                        topic.document = document;
                    }
                }
            }
            Answer::Refused(reason) => {
                record.outcome = "refused".to_owned();
                record.message = Some(reason);
            }
            Answer::Error(error) => {
                record.outcome = "error".to_owned();
                record.message = Some(error);
            }
        }
        eprintln!(
            "schema change at {:.1}s: {} {} `{}` on {}: {}",
            record.at_seconds,
            record.event_type,
            record.change,
            record.field,
            record.subject,
            record.outcome
        );
        record
    }

    /// `current` with `change` applied, registered under `subject`.
    fn ask(&self, subject: &str, current: &SchemaDocument, change: &SchemaChange) -> Answer {
        let document = match evolve(current, change) {
            Ok(document) => document,
            Err(error) => return Answer::Error(error.to_string()),
        };
        match self.client.register(subject, &document) {
            Ok(id) => Answer::Accepted(id, document),
            Err(RegistryError::Incompatible { message, .. }) => Answer::Refused(message),
            Err(other) => Answer::Error(other.to_string()),
        }
    }

    /// Every version the run registered or accepted, per raw topic, as the checker reads
    /// with them (fetched from the registry).
    pub fn readers(&self) -> Result<SchemaReaders> {
        let topics = self
            .topics
            .lock()
            .map_err(|_| anyhow::anyhow!("the schema state was poisoned"))?;
        let subjects = topics
            .iter()
            .map(|topic| {
                let versions = self
                    .client
                    .versions(&topic.subject)
                    .with_context(|| format!("list the versions of `{}`", topic.subject))?
                    .into_iter()
                    .filter(|version| topic.ids.contains(&version.id))
                    .collect();
                Ok(SubjectReaders {
                    subject: topic.subject.clone(),
                    versions,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(SchemaReaders {
            registry: self.client.clone(),
            subjects,
        })
    }

    /// The report of the run's subjects, changes and decoding.
    pub fn report(
        &self,
        readers: &SchemaReaders,
        changes: Vec<SchemaChangeRecord>,
        decoding: SchemaDecoding,
    ) -> SchemaReport {
        SchemaReport {
            format: self.section.format.as_str().to_owned(),
            registry: self.client.url().to_owned(),
            compatibility: self.section.compatibility.level().to_string(),
            subjects: readers
                .subjects
                .iter()
                .map(|subject| SubjectReport {
                    subject: subject.subject.clone(),
                    compatibility: self
                        .client
                        .compatibility(&subject.subject)
                        .unwrap_or_default(),
                    versions: subject
                        .versions
                        .iter()
                        .map(|v| SchemaVersion {
                            version: v.version,
                            id: v.id,
                        })
                        .collect(),
                })
                .collect(),
            changes,
            decoding,
        }
    }
}

/// The checks' view of a report.
pub fn schema_counts(report: &SchemaReport) -> SchemaCounts {
    SchemaCounts {
        undecodable: report.decoding.anomalies(),
        reader_failures: report.decoding.reader_failures(),
        decoded: report.decoding.decoded,
        changes: report
            .changes
            .iter()
            .map(|c| {
                (
                    format!("{} {} `{}`", c.event_type, c.change, c.field),
                    c.expected.clone(),
                    c.outcome.clone(),
                )
            })
            .collect(),
    }
}

/// The registry's answer to a new version.
enum Answer {
    Accepted(u32, SchemaDocument),
    Refused(String),
    Error(String),
}

/// The changes being made during the load.
pub struct ScheduledChanges {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<Vec<SchemaChangeRecord>>,
}

impl ScheduledChanges {
    /// The changes made; those not yet due are not made.
    pub fn finish(self) -> Vec<SchemaChangeRecord> {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().unwrap_or_default()
    }
}

/// Sleeps until `deadline`; `false` when told to stop first.
fn sleep_until(deadline: Instant, stop: &AtomicBool) -> bool {
    while Instant::now() < deadline {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        std::thread::sleep((deadline - Instant::now()).min(Duration::from_millis(100)));
    }
    !stop.load(Ordering::Relaxed)
}

/// The event type whose events go to raw topic `index`.
fn event_type_of(index: usize) -> EventType {
    EventType::ALL
        .into_iter()
        .find(|t| usize::from(topic_index(*t)) == index)
        .unwrap_or(EventType::UserAction)
}

fn writer(id: u32, document: &SchemaDocument) -> Result<WriterSchema> {
    let avro = match document.kind {
        SchemaKind::Avro => Some(Arc::new(
            AvroEvent::parse(&document.text).context("parse the Avro schema")?,
        )),
        SchemaKind::Json => None,
    };
    Ok(WriterSchema { id, avro })
}
