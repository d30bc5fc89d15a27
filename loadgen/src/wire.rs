//! Record values in a schema registry's wire format: the generator's JSON events encoded as
//! Avro (or kept as JSON for JSON Schema) behind the magic byte and the id of the schema each
//! raw topic's producers write with. The writer schema of a topic can change mid-run, when a
//! new version is registered; sends after the change carry the new id.

use std::sync::{Arc, RwLock};

use streamproof_platform::schema_registry::write_wire_header;
use streamproof_platform::schemas::AvroEvent;

use crate::ledger::SendKind;

/// The schema a raw topic's producers write with.
#[derive(Debug, Clone)]
pub struct WriterSchema {
    /// The registry's id for it.
    pub id: u32,
    /// The parsed Avro schema (`None` for JSON Schema, whose values stay JSON).
    pub avro: Option<Arc<AvroEvent>>,
}

/// Encodes every send's value for its raw topic; shared by the producer tasks.
#[derive(Debug)]
pub struct WireEncoder {
    /// By raw topic index.
    writers: RwLock<Vec<WriterSchema>>,
}

impl WireEncoder {
    /// An encoder with one writer schema per raw topic, in [`crate::RAW_TOPICS`] order.
    pub fn new(writers: Vec<WriterSchema>) -> Self {
        WireEncoder {
            writers: RwLock::new(writers),
        }
    }

    /// From now on, topic `topic`'s sends are written with `writer`.
    pub fn switch(&self, topic: u8, writer: WriterSchema) {
        if let Ok(mut writers) = self.writers.write() {
            if let Some(slot) = writers.get_mut(usize::from(topic)) {
                *slot = writer;
            }
        }
    }

    /// The id topic `topic`'s sends carry now.
    pub fn writer_id(&self, topic: u8) -> Option<u32> {
        let writers = self.writers.read().ok()?;
        writers.get(usize::from(topic)).map(|w| w.id)
    }

    /// Writes the value of a send of `kind` to topic `topic` whose JSON event is `json`
    /// into `out`. An invalid send that the schema cannot encode goes out as its JSON text
    /// behind the header, as a producer with a broken serializer would send it: bytes that
    /// are not a datum of the schema.
    pub fn encode(&self, topic: u8, kind: SendKind, json: &[u8], out: &mut Vec<u8>) {
        out.clear();
        let Ok(writers) = self.writers.read() else {
            out.extend_from_slice(json);
            return;
        };
        let Some(writer) = writers.get(usize::from(topic)) else {
            out.extend_from_slice(json);
            return;
        };
        write_wire_header(out, writer.id);
        match &writer.avro {
            Some(avro) => {
                let header = out.len();
                if avro.encode_json(json, out).is_err() {
                    debug_assert_eq!(kind, SendKind::Invalid, "a valid event always encodes");
                    out.truncate(header);
                    out.extend_from_slice(json);
                }
            }
            None => out.extend_from_slice(json),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use streamproof_platform::events::EventType;
    use streamproof_platform::schema_registry::split_wire_format;
    use streamproof_platform::schemas::avro_schema;

    const EVENT: &[u8] = br#"{"event_id":"e","event_type":"log_event","event_timestamp":"t","source_system":"s","payload":{"application":"app-1","severity":"info","message":"m"},"metadata":{},"schema_version":"1.0"}"#;

    fn avro_writer(id: u32) -> WriterSchema {
        WriterSchema {
            id,
            avro: Some(Arc::new(
                AvroEvent::parse(avro_schema(EventType::LogEvent)).unwrap(),
            )),
        }
    }

    #[test]
    fn values_carry_the_current_writer_id_and_decode_with_its_schema() {
        let encoder = WireEncoder::new(vec![avro_writer(7); 5]);
        let mut out = Vec::new();
        encoder.encode(4, SendKind::Fresh, EVENT, &mut out);
        let (id, datum) = split_wire_format(&out).unwrap();
        assert_eq!(id, 7);
        let schema = AvroEvent::parse(avro_schema(EventType::LogEvent)).unwrap();
        let decoded = schema.decode(datum, &schema).unwrap();
        assert_eq!(decoded["payload"]["application"], "app-1");
        encoder.switch(4, avro_writer(9));
        encoder.encode(4, SendKind::Fresh, EVENT, &mut out);
        assert_eq!(split_wire_format(&out).unwrap().0, 9);
        assert_eq!(encoder.writer_id(3), Some(7));
    }

    #[test]
    fn an_invalid_event_goes_out_as_bytes_the_schema_cannot_decode() {
        let encoder = WireEncoder::new(vec![avro_writer(3); 5]);
        let mut out = Vec::new();
        encoder.encode(4, SendKind::Invalid, b"{not json", &mut out);
        let (id, datum) = split_wire_format(&out).unwrap();
        assert_eq!((id, datum), (3, &b"{not json"[..]));
        let schema = AvroEvent::parse(avro_schema(EventType::LogEvent)).unwrap();
        assert!(schema.decode(datum, &schema).is_err());
    }

    #[test]
    fn json_schema_values_stay_json_behind_the_header() {
        let encoder = WireEncoder::new(vec![WriterSchema { id: 1, avro: None }; 5]);
        let mut out = Vec::new();
        encoder.encode(0, SendKind::Fresh, EVENT, &mut out);
        assert_eq!(split_wire_format(&out).unwrap(), (1, EVENT));
    }
}
