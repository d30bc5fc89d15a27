//! The changes a scenario makes to an event schema mid-run, applied to a schema document:
//! the seed's compatible change (an optional field added) and the two it warns against (a
//! required field without a default, a type change).

use serde_json::{json, Value};

use super::codec::CodecError;
use crate::schema_registry::{SchemaDocument, SchemaKind};

/// A change to an event schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaChange {
    /// A new optional field (null unless set): readers of either version read both.
    AddOptionalField(String),
    /// A new required field without a default: readers of the new version cannot read
    /// events written before it.
    AddRequiredField(String),
    /// An existing field (of the envelope or the payload) changes type: a string becomes a
    /// number, anything else a string.
    ChangeFieldType(String),
}

impl SchemaChange {
    /// The field it adds or changes.
    pub fn field(&self) -> &str {
        match self {
            SchemaChange::AddOptionalField(field)
            | SchemaChange::AddRequiredField(field)
            | SchemaChange::ChangeFieldType(field) => field,
        }
    }

    /// Its name in scenarios and results (`add-optional-field`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            SchemaChange::AddOptionalField(_) => "add-optional-field",
            SchemaChange::AddRequiredField(_) => "add-required-field",
            SchemaChange::ChangeFieldType(_) => "change-field-type",
        }
    }
}

/// `document` with `change` applied.
pub fn evolve(
    document: &SchemaDocument,
    change: &SchemaChange,
) -> Result<SchemaDocument, CodecError> {
    let mut schema: Value = serde_json::from_str(&document.text)
        .map_err(|error| CodecError::Schema(error.to_string()))?;
    match document.kind {
        SchemaKind::Avro => evolve_avro(&mut schema, change)?,
        SchemaKind::Json => evolve_json_schema(&mut schema, change)?,
    }
    Ok(SchemaDocument {
        kind: document.kind,
        text: serde_json::to_string_pretty(&schema)
            .map_err(|error| CodecError::Schema(error.to_string()))?,
    })
}

fn no_field(field: &str) -> CodecError {
    CodecError::Schema(format!(
        "no field `{field}` in the envelope or the payload to change"
    ))
}

fn evolve_avro(schema: &mut Value, change: &SchemaChange) -> Result<(), CodecError> {
    let fields = schema["fields"]
        .as_array_mut()
        .ok_or_else(|| CodecError::Schema("not an Avro record".to_owned()))?;
    match change {
        SchemaChange::AddOptionalField(name) => {
            fields.push(json!({"name": name, "type": ["null", "string"], "default": null}));
        }
        SchemaChange::AddRequiredField(name) => {
            fields.push(json!({"name": name, "type": "string"}));
        }
        SchemaChange::ChangeFieldType(name) => {
            let field = find_avro_field(fields, name).ok_or_else(|| no_field(name))?;
            let changed = if field["type"] == "string" {
                "long"
            } else {
                "string"
            };
            field["type"] = json!(changed);
            if let Some(object) = field.as_object_mut() {
                object.remove("default");
            }
        }
    }
    Ok(())
}

/// The field named `name` among `fields`, or among the payload record's.
fn find_avro_field<'a>(fields: &'a mut [Value], name: &str) -> Option<&'a mut Value> {
    let position = fields.iter().position(|f| f["name"] == name);
    match position {
        Some(index) => fields.get_mut(index),
        None => fields
            .iter_mut()
            .find(|f| f["name"] == "payload")?
            .get_mut("type")?
            .get_mut("fields")?
            .as_array_mut()?
            .iter_mut()
            .find(|f| f["name"] == name),
    }
}

fn evolve_json_schema(schema: &mut Value, change: &SchemaChange) -> Result<(), CodecError> {
    let not_object = || CodecError::Schema("not a JSON Schema of an object".to_owned());
    match change {
        SchemaChange::AddOptionalField(name) => {
            let properties = schema["properties"]
                .as_object_mut()
                .ok_or_else(not_object)?;
            properties.insert(name.clone(), json!({"type": ["null", "string"]}));
        }
        SchemaChange::AddRequiredField(name) => {
            let properties = schema["properties"]
                .as_object_mut()
                .ok_or_else(not_object)?;
            properties.insert(name.clone(), json!({"type": "string"}));
            match schema["required"].as_array_mut() {
                Some(required) => required.push(json!(name)),
                None => schema["required"] = json!([name]),
            }
        }
        SchemaChange::ChangeFieldType(name) => {
            let in_payload = schema["properties"].get(name).is_none();
            let properties = if in_payload {
                &mut schema["properties"]["payload"]["properties"]
            } else {
                &mut schema["properties"]
            };
            let property = properties.get_mut(name).ok_or_else(|| no_field(name))?;
            let changed = if property["type"] == "string" {
                "number"
            } else {
                "string"
            };
            property["type"] = json!(changed);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::EventType;
    use crate::schemas::{
        check_compatibility, event_schema_document, CompatibilityLevel, JsonSchemaEvent,
    };

    fn avro(change: SchemaChange) -> (String, String) {
        let old = event_schema_document(EventType::Transaction, SchemaKind::Avro);
        let new = evolve(&old, &change).unwrap();
        (old.text, new.text)
    }

    #[test]
    fn avro_changes_have_the_compatibility_the_seed_gives_them() {
        let (old, new) = avro(SchemaChange::AddOptionalField("channel".to_owned()));
        assert!(check_compatibility(&old, &new, CompatibilityLevel::Full)
            .unwrap()
            .is_empty());
        let (old, new) = avro(SchemaChange::AddRequiredField("region".to_owned()));
        assert_eq!(
            check_compatibility(&old, &new, CompatibilityLevel::Backward)
                .unwrap()
                .len(),
            1
        );
        let (old, new) = avro(SchemaChange::ChangeFieldType("amount".to_owned()));
        assert!(
            new.contains("\"amount\",\n              \"type\": \"string\"")
                || new.contains("\"type\": \"string\"")
        );
        assert_eq!(
            check_compatibility(&old, &new, CompatibilityLevel::Full)
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn json_schema_changes_apply_to_the_envelope_and_the_payload() {
        let old = event_schema_document(EventType::Transaction, SchemaKind::Json);
        let required = evolve(&old, &SchemaChange::AddRequiredField("region".to_owned())).unwrap();
        let event = br#"{"event_id":"e","event_type":"transaction","event_timestamp":"t","source_system":"s","payload":{"transaction_id":"t","amount":1.5,"currency":"EUR","transaction_type":"payment"}}"#;
        assert!(JsonSchemaEvent::parse(&old.text)
            .unwrap()
            .decode(event)
            .is_ok());
        assert!(JsonSchemaEvent::parse(&required.text)
            .unwrap()
            .decode(event)
            .is_err());
        let retyped = evolve(&old, &SchemaChange::ChangeFieldType("amount".to_owned())).unwrap();
        assert!(JsonSchemaEvent::parse(&retyped.text)
            .unwrap()
            .decode(event)
            .is_err());
        assert!(evolve(&old, &SchemaChange::ChangeFieldType("nope".to_owned())).is_err());
    }
}
