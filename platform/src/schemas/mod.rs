//! The platform's five event schemas as Avro documents (`platform/schemas/avro/*.avsc`) and
//! JSON Schema documents (`platform/schemas/json/*.json`); events encoded with them and
//! decoded again; the changes a scenario makes to them mid-run; and the compatibility levels
//! a schema registry enforces between two versions of a schema, checked offline with Avro's
//! own resolution rules.
//!
//! This module only reads, transforms and compares schemas; it never talks to a registry.

use std::fmt;
use std::str::FromStr;

use apache_avro::schema_compatibility::SchemaCompatibility;
use apache_avro::Schema;

use crate::events::EventType;
use crate::schema_registry::{SchemaDocument, SchemaKind};

mod codec;
mod evolve;

pub use codec::{AvroEvent, CodecError, JsonSchemaEvent};
pub use evolve::{evolve, SchemaChange};

/// The Avro schema of an event type, as the repository ships it.
pub fn avro_schema(event_type: EventType) -> &'static str {
    match event_type {
        EventType::UserAction => include_str!("../../schemas/avro/user_action.avsc"),
        EventType::Transaction => include_str!("../../schemas/avro/transaction.avsc"),
        EventType::SystemEvent => include_str!("../../schemas/avro/system_event.avsc"),
        EventType::MetricEvent => include_str!("../../schemas/avro/metric_event.avsc"),
        EventType::LogEvent => include_str!("../../schemas/avro/log_event.avsc"),
    }
}

/// The JSON Schema of an event type, as the repository ships it.
pub fn json_schema(event_type: EventType) -> &'static str {
    match event_type {
        EventType::UserAction => include_str!("../../schemas/json/user_action.json"),
        EventType::Transaction => include_str!("../../schemas/json/transaction.json"),
        EventType::SystemEvent => include_str!("../../schemas/json/system_event.json"),
        EventType::MetricEvent => include_str!("../../schemas/json/metric_event.json"),
        EventType::LogEvent => include_str!("../../schemas/json/log_event.json"),
    }
}

/// The shipped document of `event_type` in `kind`.
pub fn event_schema_document(event_type: EventType, kind: SchemaKind) -> SchemaDocument {
    let text = match kind {
        SchemaKind::Avro => avro_schema(event_type),
        SchemaKind::Json => json_schema(event_type),
    };
    SchemaDocument {
        kind,
        text: text.to_owned(),
    }
}

/// A compatibility level, as schema registries name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompatibilityLevel {
    /// Readers of the new schema read data written with the previous one.
    Backward,
    /// Readers of the previous schema read data written with the new one.
    Forward,
    /// Both.
    Full,
    /// No check.
    None,
}

impl CompatibilityLevel {
    /// The name registries use (`BACKWARD`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            CompatibilityLevel::Backward => "BACKWARD",
            CompatibilityLevel::Forward => "FORWARD",
            CompatibilityLevel::Full => "FULL",
            CompatibilityLevel::None => "NONE",
        }
    }
}

impl fmt::Display for CompatibilityLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CompatibilityLevel {
    type Err = SchemaError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.to_ascii_uppercase().as_str() {
            "BACKWARD" => Ok(CompatibilityLevel::Backward),
            "FORWARD" => Ok(CompatibilityLevel::Forward),
            "FULL" => Ok(CompatibilityLevel::Full),
            "NONE" => Ok(CompatibilityLevel::None),
            _ => Err(SchemaError::UnknownLevel(value.to_owned())),
        }
    }
}

/// Why two schemas could not be compared.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// A schema document is not valid Avro.
    #[error("the {which} schema is not a valid Avro schema: {message}")]
    Invalid {
        /// `old` or `new`.
        which: &'static str,
        /// What the Avro parser said.
        message: String,
    },
    /// A level name that is not one of the four.
    #[error("unknown compatibility level `{0}`; use BACKWARD, FORWARD, FULL or NONE")]
    UnknownLevel(String),
}

/// The outcome of a compatibility check: `None` when compatible, else each direction that
/// failed with Avro's reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incompatibility {
    /// `new schema reading old data` and/or `old schema reading new data`.
    pub direction: &'static str,
    /// Why, as Avro's resolution rules say it.
    pub reason: String,
}

/// Whether `new` may follow `old` at `level`; every direction that fails, with its reason.
pub fn check_compatibility(
    old: &str,
    new: &str,
    level: CompatibilityLevel,
) -> Result<Vec<Incompatibility>, SchemaError> {
    let parse = |text: &str, which: &'static str| {
        Schema::parse_str(text).map_err(|error| SchemaError::Invalid {
            which,
            message: error.to_string(),
        })
    };
    let (old, new) = (parse(old, "old")?, parse(new, "new")?);
    let backward = || readable("new schema reading data written with the old", &old, &new);
    let forward = || readable("old schema reading data written with the new", &new, &old);
    let failures = match level {
        CompatibilityLevel::Backward => vec![backward()],
        CompatibilityLevel::Forward => vec![forward()],
        CompatibilityLevel::Full => vec![backward(), forward()],
        CompatibilityLevel::None => Vec::new(),
    };
    Ok(failures.into_iter().flatten().collect())
}

/// `None` when data written with `writer` can always be read with `reader`.
fn readable(direction: &'static str, writer: &Schema, reader: &Schema) -> Option<Incompatibility> {
    SchemaCompatibility::can_read(writer, reader)
        .err()
        .map(|error| Incompatibility {
            direction,
            reason: error.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user_action_with(extra_payload_field: &str) -> String {
        avro_schema(EventType::UserAction).replacen(
            r#"{
            "name": "user_id","#,
            &format!(
                r#"{extra_payload_field},
          {{
            "name": "user_id","#
            ),
            1,
        )
    }

    #[test]
    fn every_event_schema_parses_and_names_its_required_fields() {
        for event_type in EventType::ALL {
            let text = avro_schema(event_type);
            assert!(Schema::parse_str(text).is_ok(), "{event_type}");
            for field in event_type.required_payload_fields() {
                assert!(
                    text.contains(&format!("\"name\": \"{field}\"")),
                    "{event_type}.{field}"
                );
            }
        }
    }

    #[test]
    fn an_optional_field_with_a_default_is_compatible_both_ways() {
        let old = avro_schema(EventType::UserAction);
        let new =
            user_action_with(r#"{"name": "device", "type": ["null", "string"], "default": null}"#);
        assert_ne!(old, new, "the field was added");
        for level in [
            CompatibilityLevel::Backward,
            CompatibilityLevel::Forward,
            CompatibilityLevel::Full,
        ] {
            assert_eq!(
                check_compatibility(old, &new, level).unwrap(),
                vec![],
                "{level}"
            );
        }
    }

    #[test]
    fn a_required_field_without_a_default_breaks_backward_compatibility() {
        let old = avro_schema(EventType::UserAction);
        let new = user_action_with(r#"{"name": "device", "type": "string"}"#);
        let failures = check_compatibility(old, &new, CompatibilityLevel::Backward).unwrap();
        assert_eq!(failures.len(), 1);
        assert!(failures[0].direction.starts_with("new schema reading"));
        // Old readers skip the new field: forward compatible.
        assert_eq!(
            check_compatibility(old, &new, CompatibilityLevel::Forward).unwrap(),
            vec![]
        );
        assert_eq!(
            check_compatibility(old, &new, CompatibilityLevel::None).unwrap(),
            vec![]
        );
    }

    #[test]
    fn a_type_change_breaks_both_directions() {
        let old = avro_schema(EventType::Transaction);
        let new = old.replacen(
            r#""name": "amount",
            "type": "double""#,
            r#""name": "amount",
            "type": "string""#,
            1,
        );
        assert_ne!(old, new, "the type was changed");
        let failures = check_compatibility(old, &new, CompatibilityLevel::Full).unwrap();
        assert_eq!(failures.len(), 2, "{failures:?}");
    }

    #[test]
    fn invalid_documents_and_levels_are_named() {
        let error = check_compatibility(
            "{",
            avro_schema(EventType::LogEvent),
            CompatibilityLevel::Full,
        )
        .unwrap_err();
        assert!(error
            .to_string()
            .starts_with("the old schema is not a valid Avro schema"));
        assert!("SIDEWAYS".parse::<CompatibilityLevel>().is_err());
        assert_eq!(
            "backward".parse::<CompatibilityLevel>().unwrap(),
            CompatibilityLevel::Backward
        );
    }
}
