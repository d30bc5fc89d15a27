//! Raw records decoded through the schema registry: each record's schema id looked up in the
//! registry, its value decoded with that writer schema and compared with the event the ledger
//! says was sent, then read again with every version of its topic's subject (old readers of
//! new data, new readers of old data).

use std::collections::{BTreeMap, HashMap};

use streamproof_loadgen::ledger::SendKind;
use streamproof_platform::events::EventSchema;
use streamproof_platform::routing::route;
use streamproof_platform::schema_registry::{
    split_wire_format, RegisteredVersion, RegistryClient, SchemaDocument, SchemaKind,
};
use streamproof_platform::schemas::{AvroEvent, CodecError, JsonSchemaEvent};
pub use streamproof_result::schema::{ReaderCount, SchemaDecoding, WriterCount};

/// A subject's versions, as readers: what the checker decodes a topic's records with.
#[derive(Debug, Clone)]
pub struct SubjectReaders {
    /// The subject.
    pub subject: String,
    /// Its versions the run wrote with, oldest first.
    pub versions: Vec<RegisteredVersion>,
}

/// What to decode the raw topics with.
#[derive(Debug, Clone)]
pub struct SchemaReaders {
    /// The registry schema ids are looked up in.
    pub registry: RegistryClient,
    /// By raw topic, in the check's topic order.
    pub subjects: Vec<SubjectReaders>,
}

/// A parsed schema of either kind.
enum Decoder {
    Avro(AvroEvent),
    Json(JsonSchemaEvent),
}

impl Decoder {
    fn parse(document: &SchemaDocument) -> Result<Self, CodecError> {
        match document.kind {
            SchemaKind::Avro => AvroEvent::parse(&document.text).map(Decoder::Avro),
            SchemaKind::Json => JsonSchemaEvent::parse(&document.text).map(Decoder::Json),
        }
    }

    /// `datum` written with `self`, read as `reader` reads it.
    fn read(&self, datum: &[u8], reader: &Decoder) -> Result<serde_json::Value, CodecError> {
        match (self, reader) {
            (Decoder::Avro(writer), Decoder::Avro(reader)) => writer.decode(datum, reader),
            (_, Decoder::Json(reader)) => reader.decode(datum),
            (Decoder::Json(_), Decoder::Avro(_)) => Err(CodecError::Undecodable(
                "a JSON Schema value read with an Avro schema".to_owned(),
            )),
        }
    }
}

/// One version of a subject, parsed, with its tally.
struct Reader {
    count: ReaderCount,
    decoder: Decoder,
}

/// Decodes records one by one and tallies what it found.
pub(crate) struct RecordDecoder {
    registry: RegistryClient,
    /// Writer schemas by id, fetched from the registry on first sight (`None`: unknown id).
    writers: HashMap<u32, Option<Decoder>>,
    /// Each topic's subject, its version ids and readers.
    topics: Vec<(String, Vec<u32>, Vec<Reader>)>,
    by_writer: BTreeMap<(String, u32), u64>,
    pub decoding: SchemaDecoding,
}

/// What a record was sent as, from the ledger.
pub(crate) struct SentRecord<'a> {
    /// Index of its raw topic.
    pub topic: usize,
    /// Why it was sent.
    pub kind: SendKind,
    /// The event id it carries.
    pub event_id: &'a str,
}

impl RecordDecoder {
    /// A decoder with every subject version parsed.
    pub fn new(readers: &SchemaReaders) -> Result<Self, CodecError> {
        let topics = readers
            .subjects
            .iter()
            .map(|subject| {
                let parsed = subject
                    .versions
                    .iter()
                    .map(|version| {
                        Ok(Reader {
                            count: ReaderCount {
                                subject: subject.subject.clone(),
                                version: version.version,
                                id: version.id,
                                decoded: 0,
                                failed: 0,
                            },
                            decoder: Decoder::parse(&version.schema)?,
                        })
                    })
                    .collect::<Result<Vec<_>, CodecError>>()?;
                let ids = subject.versions.iter().map(|v| v.id).collect();
                Ok((subject.subject.clone(), ids, parsed))
            })
            .collect::<Result<Vec<_>, CodecError>>()?;
        Ok(RecordDecoder {
            registry: readers.registry.clone(),
            writers: HashMap::new(),
            topics,
            by_writer: BTreeMap::new(),
            decoding: SchemaDecoding::default(),
        })
    }

    /// Decodes one record of the run, sent as `sent`, with key `key` and value `value`;
    /// returns the anomaly it is, if any (`undecodable`, `mismatched`, `foreign_schema`).
    pub fn observe(
        &mut self,
        sent: &SentRecord<'_>,
        key: &[u8],
        value: &[u8],
    ) -> Option<&'static str> {
        self.decoding.records += 1;
        let invalid = sent.kind == SendKind::Invalid;
        let decoded = self.decode_with_writer(sent.topic, value);
        let (id, datum, event) = match decoded {
            Ok(found) => found,
            Err(_) if invalid => {
                self.decoding.invalid_refused += 1;
                return None;
            }
            Err(anomaly) => {
                match anomaly {
                    "foreign_schema" => self.decoding.foreign_schema += 1,
                    _ => self.decoding.undecodable += 1,
                }
                return Some(anomaly);
            }
        };
        if invalid {
            self.decoding.invalid_matching += 1;
            return None;
        }
        if !is_the_event_sent(&event, sent.event_id, key) {
            self.decoding.mismatched += 1;
            return Some("mismatched");
        }
        self.decoding.decoded += 1;
        self.read_with_every_version(sent.topic, id, datum);
        None
    }

    /// The writer's id, the encoded value and the event, or the anomaly.
    fn decode_with_writer<'v>(
        &mut self,
        topic: usize,
        value: &'v [u8],
    ) -> Result<(u32, &'v [u8], serde_json::Value), &'static str> {
        let (id, datum) = split_wire_format(value).ok_or("undecodable")?;
        let (subject, ids, _) = self.topics.get(topic).ok_or("foreign_schema")?;
        *self.by_writer.entry((subject.clone(), id)).or_insert(0) += 1;
        if !ids.contains(&id) {
            return Err("foreign_schema");
        }
        let registry = &self.registry;
        let writer = self.writers.entry(id).or_insert_with(|| {
            registry
                .schema_by_id(id)
                .ok()
                .and_then(|document| Decoder::parse(&document).ok())
        });
        let writer = writer.as_ref().ok_or("undecodable")?;
        let event = writer.read(datum, writer).map_err(|_| "undecodable")?;
        Ok((id, datum, event))
    }

    fn read_with_every_version(&mut self, topic: usize, id: u32, datum: &[u8]) {
        let Some(Some(writer)) = self.writers.get(&id) else {
            return;
        };
        if let Some((_, _, readers)) = self.topics.get_mut(topic) {
            for reader in readers {
                match writer.read(datum, &reader.decoder) {
                    Ok(_) => reader.count.decoded += 1,
                    Err(_) => reader.count.failed += 1,
                }
            }
        }
    }

    /// The tallies.
    pub fn finish(mut self) -> SchemaDecoding {
        self.decoding.writers = self
            .by_writer
            .into_iter()
            .map(|((subject, id), records)| WriterCount {
                subject,
                id,
                records,
            })
            .collect();
        self.decoding.readers = self
            .topics
            .into_iter()
            .flat_map(|(_, _, readers)| readers.into_iter().map(|r| r.count))
            .collect();
        self.decoding
    }
}

/// Whether the decoded `event` is the event sent: its id, and the key its payload routes to.
fn is_the_event_sent(event: &serde_json::Value, event_id: &str, key: &[u8]) -> bool {
    if event["event_id"].as_str() != Some(event_id) {
        return false;
    }
    let Ok(parsed) = serde_json::from_value::<EventSchema>(event.clone()) else {
        return false;
    };
    route(&parsed).is_ok_and(|route| route.key.as_deref().map(str::as_bytes) == Some(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_decoded_event_must_carry_the_id_sent_and_route_to_its_key() {
        let event = json!({"event_id":"e-1","event_type":"log_event","event_timestamp":"2026-11-30T12:00:00.000Z","source_system":"s","payload":{"application":"app-1","severity":"info","message":"m"},"metadata":{},"schema_version":"1.0"});
        assert!(is_the_event_sent(&event, "e-1", b"app-1"));
        assert!(!is_the_event_sent(&event, "e-2", b"app-1"));
        assert!(!is_the_event_sent(&event, "e-1", b"app-2"));
    }
}

#[cfg(test)]
mod decoder_tests {
    use super::*;
    use streamproof_platform::events::EventType;
    use streamproof_platform::schema_registry::{write_wire_header, RegistryConnection};
    use streamproof_platform::schemas::{event_schema_document, evolve, SchemaChange};

    const EVENT: &str = r#"{"event_id":"e-1","event_type":"log_event","event_timestamp":"2026-11-30T12:00:00.000Z","source_system":"s","payload":{"application":"app-1","severity":"info","message":"m"},"metadata":{},"schema_version":"1.0"}"#;

    fn version(version: u32, id: u32, document: SchemaDocument) -> RegisteredVersion {
        RegisteredVersion {
            version,
            id,
            schema: document,
        }
    }

    /// A decoder of one topic (log events) with versions 1 (id 10) and `second` (id 11),
    /// whose writer schemas are known without asking a registry.
    fn decoder(second: SchemaChange) -> RecordDecoder {
        let first = event_schema_document(EventType::LogEvent, SchemaKind::Avro);
        let evolved = evolve(&first, &second).unwrap();
        let readers = SchemaReaders {
            // Nothing listens there: every writer the test uses is known already.
            registry: RegistryClient::new(&RegistryConnection::new("http://127.0.0.1:9")),
            subjects: vec![SubjectReaders {
                subject: "raw-logs-value".to_owned(),
                versions: vec![
                    version(1, 10, first.clone()),
                    version(2, 11, evolved.clone()),
                ],
            }],
        };
        let mut decoder = RecordDecoder::new(&readers).unwrap();
        for (id, document) in [(10, first), (11, evolved)] {
            decoder
                .writers
                .insert(id, Some(Decoder::parse(&document).unwrap()));
        }
        decoder
    }

    fn avro_record(id: u32, event: &str) -> Vec<u8> {
        let schema =
            AvroEvent::parse(&event_schema_document(EventType::LogEvent, SchemaKind::Avro).text)
                .unwrap();
        let mut record = Vec::new();
        write_wire_header(&mut record, id);
        schema.encode_json(event.as_bytes(), &mut record).unwrap();
        record
    }

    /// Each version's `(version, decoded, failed)`.
    fn reads(found: &SchemaDecoding) -> Vec<(u32, u64, u64)> {
        found
            .readers
            .iter()
            .map(|r| (r.version, r.decoded, r.failed))
            .collect()
    }

    fn sent(kind: SendKind) -> SentRecord<'static> {
        SentRecord {
            topic: 0,
            kind,
            event_id: "e-1",
        }
    }

    #[test]
    fn every_cause_of_an_undecodable_event_is_counted_apart() {
        let mut decoder = decoder(SchemaChange::AddOptionalField("channel".to_owned()));
        let good = avro_record(10, EVENT);
        assert_eq!(
            decoder.observe(&sent(SendKind::Fresh), b"app-1", &good),
            None
        );
        let mut truncated = good.clone();
        truncated.truncate(good.len() - 4);
        assert_eq!(
            decoder.observe(&sent(SendKind::Fresh), b"app-1", &truncated),
            Some("undecodable")
        );
        assert_eq!(
            decoder.observe(&sent(SendKind::Fresh), b"app-1", EVENT.as_bytes()),
            Some("undecodable"),
            "not in the wire format"
        );
        let mut foreign = good.clone();
        foreign[1..5].copy_from_slice(&99u32.to_be_bytes());
        assert_eq!(
            decoder.observe(&sent(SendKind::Fresh), b"app-1", &foreign),
            Some("foreign_schema")
        );
        let other = avro_record(10, &EVENT.replace("e-1", "e-2"));
        assert_eq!(
            decoder.observe(&sent(SendKind::Duplicate), b"app-1", &other),
            Some("mismatched")
        );
        assert_eq!(
            decoder.observe(&sent(SendKind::Fresh), b"app-9", &good),
            Some("mismatched"),
            "the payload routes to another key"
        );
        assert_eq!(
            decoder.observe(&sent(SendKind::Invalid), b"app-1", &truncated),
            None
        );
        assert_eq!(
            decoder.observe(&sent(SendKind::Invalid), b"app-1", &good),
            None
        );
        let found = decoder.finish();
        assert_eq!(
            (
                found.records,
                found.decoded,
                found.undecodable,
                found.foreign_schema,
                found.mismatched,
                found.invalid_refused,
                found.invalid_matching
            ),
            (8, 1, 2, 1, 2, 1, 1)
        );
        assert_eq!(found.anomalies(), 5);
        // Both versions read the one event decoded as sent.
        assert_eq!(reads(&found), vec![(1, 1, 0), (2, 1, 0)]);
        assert_eq!(
            found
                .writers
                .iter()
                .map(|w| (w.id, w.records))
                .collect::<Vec<_>>(),
            vec![(10, 6), (99, 1)]
        );
    }

    #[test]
    fn a_version_that_cannot_read_old_events_fails_each_read() {
        let mut decoder = decoder(SchemaChange::AddRequiredField("region".to_owned()));
        for _ in 0..3 {
            let record = avro_record(10, EVENT);
            assert_eq!(
                decoder.observe(&sent(SendKind::Fresh), b"app-1", &record),
                None
            );
        }
        let found = decoder.finish();
        assert_eq!(reads(&found), vec![(1, 3, 0), (2, 0, 3)]);
        assert_eq!(found.reader_failures(), 3);
    }
}
