//! Events in the platform's JSON envelope encoded with an Avro schema and decoded again, and
//! JSON events validated against a JSON Schema: what producers and checkers of the `avro`
//! and `json-schema` formats do with a record's value after the wire format's header.

use apache_avro::types::Value as AvroValue;
use apache_avro::Schema;
use serde_json::Value;

/// Why an event could not be encoded, decoded or validated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// A schema document is not usable.
    #[error("the schema is not valid: {0}")]
    Schema(String),
    /// The value is not JSON.
    #[error("the value is not JSON: {0}")]
    NotJson(String),
    /// The event does not match the schema.
    #[error("the event does not match its schema: {0}")]
    Mismatch(String),
    /// The bytes are not a datum of the writer's schema, or cannot be read as the reader's.
    #[error("the value does not decode: {0}")]
    Undecodable(String),
}

/// An Avro schema of an event type, parsed once.
#[derive(Debug, Clone)]
pub struct AvroEvent {
    schema: Schema,
}

impl AvroEvent {
    /// Parses an Avro schema document.
    pub fn parse(text: &str) -> Result<Self, CodecError> {
        Schema::parse_str(text)
            .map(|schema| AvroEvent { schema })
            .map_err(|error| CodecError::Schema(error.to_string()))
    }

    /// The parsed schema.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Appends the Avro binary encoding of the JSON event `json` to `out`; fields the schema
    /// does not name are dropped, fields it names with a default may be absent.
    pub fn encode_json(&self, json: &[u8], out: &mut Vec<u8>) -> Result<(), CodecError> {
        let event: Value =
            serde_json::from_slice(json).map_err(|error| CodecError::NotJson(error.to_string()))?;
        let resolved = AvroValue::from(event)
            .resolve(&self.schema)
            .map_err(|error| CodecError::Mismatch(error.to_string()))?;
        let datum = apache_avro::to_avro_datum(&self.schema, resolved)
            .map_err(|error| CodecError::Mismatch(error.to_string()))?;
        out.extend_from_slice(&datum);
        Ok(())
    }

    /// Decodes `datum`, written with this schema, as `reader` reads it (Avro's schema
    /// resolution), into the JSON envelope. Every byte must be consumed.
    pub fn decode(&self, datum: &[u8], reader: &AvroEvent) -> Result<Value, CodecError> {
        let mut rest = datum;
        let value = apache_avro::from_avro_datum(&self.schema, &mut rest, Some(&reader.schema))
            .map_err(|error| CodecError::Undecodable(error.to_string()))?;
        if !rest.is_empty() {
            return Err(CodecError::Undecodable(format!(
                "{} bytes left after the datum",
                rest.len()
            )));
        }
        Value::try_from(value).map_err(|error| CodecError::Undecodable(error.to_string()))
    }
}

/// A JSON Schema of an event type, compiled once.
pub struct JsonSchemaEvent {
    validator: jsonschema::Validator,
}

impl std::fmt::Debug for JsonSchemaEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JsonSchemaEvent")
    }
}

impl JsonSchemaEvent {
    /// Compiles a JSON Schema document.
    pub fn parse(text: &str) -> Result<Self, CodecError> {
        let document: Value =
            serde_json::from_str(text).map_err(|error| CodecError::Schema(error.to_string()))?;
        jsonschema::validator_for(&document)
            .map(|validator| JsonSchemaEvent { validator })
            .map_err(|error| CodecError::Schema(error.to_string()))
    }

    /// The event in `json`, when it is JSON and valid against the schema.
    pub fn decode(&self, json: &[u8]) -> Result<Value, CodecError> {
        let event: Value =
            serde_json::from_slice(json).map_err(|error| CodecError::NotJson(error.to_string()))?;
        self.validator
            .validate(&event)
            .map_err(|error| CodecError::Mismatch(error.to_string()))?;
        Ok(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::EventType;
    use crate::schemas::{avro_schema, json_schema};

    const TRANSACTION: &str = r#"{"event_id":"9b2f4c1e-0000-4000-8000-000000000001","event_type":"transaction","event_timestamp":"2026-11-30T12:00:00.000Z","source_system":"s","payload":{"account_id":"acct-1","amount":12,"currency":"EUR","transaction_id":"txn-0-1","transaction_type":"payment"},"metadata":{"padding":"xxxx"},"schema_version":"1.0"}"#;

    #[test]
    fn an_event_round_trips_through_avro() {
        let schema = AvroEvent::parse(avro_schema(EventType::Transaction)).unwrap();
        let mut datum = Vec::new();
        schema
            .encode_json(TRANSACTION.as_bytes(), &mut datum)
            .unwrap();
        assert!(
            datum.len() < TRANSACTION.len(),
            "Avro drops the field names"
        );
        let decoded = schema.decode(&datum, &schema).unwrap();
        let mut sent: Value = serde_json::from_str(TRANSACTION).unwrap();
        sent["payload"]["amount"] = Value::from(12.0);
        assert_eq!(decoded, sent);
    }

    #[test]
    fn events_missing_a_required_field_do_not_encode_and_json_does_not_decode() {
        let schema = AvroEvent::parse(avro_schema(EventType::Transaction)).unwrap();
        let mut event: Value = serde_json::from_str(TRANSACTION).unwrap();
        event["payload"] = Value::Object(serde_json::Map::new());
        let mut datum = Vec::new();
        assert!(matches!(
            schema.encode_json(event.to_string().as_bytes(), &mut datum),
            Err(CodecError::Mismatch(_))
        ));
        assert!(matches!(
            schema.decode(TRANSACTION.as_bytes(), &schema),
            Err(CodecError::Undecodable(_))
        ));
    }

    #[test]
    fn json_schema_accepts_the_envelope_and_names_what_is_missing() {
        let schema = JsonSchemaEvent::parse(json_schema(EventType::Transaction)).unwrap();
        assert!(schema.decode(TRANSACTION.as_bytes()).is_ok());
        let mut event: Value = serde_json::from_str(TRANSACTION).unwrap();
        event["payload"].as_object_mut().unwrap().remove("currency");
        let error = schema.decode(event.to_string().as_bytes()).unwrap_err();
        assert!(error.to_string().contains("currency"), "{error}");
        assert!(matches!(
            schema.decode(b"{not json"),
            Err(CodecError::NotJson(_))
        ));
    }
}
