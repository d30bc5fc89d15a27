//! The scenario's `schema:` section: the format of the raw topics' values (plain JSON, or
//! registered Avro or JSON Schema in the Confluent wire format), the compatibility level of
//! their subjects, and the schema changes made during the load.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use streamproof_loadgen::spec::human_duration;
use streamproof_platform::events::EventType;
use streamproof_platform::problem::PathStep::{Index, Key};
use streamproof_platform::problem::Problem;
use streamproof_platform::schema_registry::SchemaKind;
use streamproof_platform::schemas::{
    event_schema_document, evolve, CompatibilityLevel, SchemaChange,
};

/// The `schema:` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaSection {
    /// How the raw topics' values are written.
    #[serde(default)]
    pub format: ValueFormat,
    /// The compatibility level set on every subject.
    #[serde(default)]
    pub compatibility: Compatibility,
    /// New versions registered during the load.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<SchemaChangeSpec>,
}

/// How the raw topics' values are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ValueFormat {
    /// The platform's JSON envelope, no registry.
    #[default]
    Json,
    /// Avro, registered in the schema registry, in the Confluent wire format.
    Avro,
    /// The JSON envelope validated by a registered JSON Schema, in the Confluent wire format.
    JsonSchema,
}

impl ValueFormat {
    /// The registry's kind of schema, for formats that register one.
    pub fn schema_kind(self) -> Option<SchemaKind> {
        match self {
            ValueFormat::Json => None,
            ValueFormat::Avro => Some(SchemaKind::Avro),
            ValueFormat::JsonSchema => Some(SchemaKind::Json),
        }
    }

    /// Its name in scenarios and results.
    pub fn as_str(self) -> &'static str {
        match self {
            ValueFormat::Json => "json",
            ValueFormat::Avro => "avro",
            ValueFormat::JsonSchema => "json-schema",
        }
    }
}

/// A subject's compatibility level, as registries name it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Compatibility {
    /// New readers read old data (the registries' default).
    #[default]
    #[serde(alias = "backward")]
    Backward,
    /// Old readers read new data.
    #[serde(alias = "forward")]
    Forward,
    /// Both.
    #[serde(alias = "full")]
    Full,
    /// No check.
    #[serde(alias = "none")]
    None,
}

impl Compatibility {
    /// As the platform's type.
    pub fn level(self) -> CompatibilityLevel {
        match self {
            Compatibility::Backward => CompatibilityLevel::Backward,
            Compatibility::Forward => CompatibilityLevel::Forward,
            Compatibility::Full => CompatibilityLevel::Full,
            Compatibility::None => CompatibilityLevel::None,
        }
    }
}

/// One `schema.changes` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaChangeSpec {
    /// When, from the start of the load (warmup included).
    #[serde(with = "human_duration")]
    pub at: Duration,
    /// Whose schema changes.
    pub event_type: EventType,
    /// The change.
    pub change: ChangeKind,
    /// The field added or changed.
    pub field: String,
    /// What the registry must answer; by default an optional field is accepted and any other
    /// change refused (accepted at compatibility NONE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<RegistryAnswer>,
}

/// A kind of schema change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    /// A new optional field (null by default).
    AddOptionalField,
    /// A new required field without a default.
    AddRequiredField,
    /// An existing field's type changes.
    ChangeFieldType,
}

/// What the registry answers a new version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RegistryAnswer {
    /// Registered.
    Accepted,
    /// Refused as incompatible.
    Refused,
}

impl RegistryAnswer {
    /// `accepted` or `refused`.
    pub fn as_str(self) -> &'static str {
        match self {
            RegistryAnswer::Accepted => "accepted",
            RegistryAnswer::Refused => "refused",
        }
    }
}

impl SchemaChangeSpec {
    /// The change as the platform applies it.
    pub fn change(&self) -> SchemaChange {
        let field = self.field.clone();
        match self.change {
            ChangeKind::AddOptionalField => SchemaChange::AddOptionalField(field),
            ChangeKind::AddRequiredField => SchemaChange::AddRequiredField(field),
            ChangeKind::ChangeFieldType => SchemaChange::ChangeFieldType(field),
        }
    }

    /// What the registry must answer: as written, else what the level implies.
    pub fn expected(&self, compatibility: Compatibility) -> RegistryAnswer {
        self.expect.unwrap_or(match (self.change, compatibility) {
            (ChangeKind::AddOptionalField, _) | (_, Compatibility::None) => {
                RegistryAnswer::Accepted
            }
            _ => RegistryAnswer::Refused,
        })
    }
}

impl SchemaSection {
    /// Whether it is the default: plain JSON, no changes.
    pub fn is_default(&self) -> bool {
        *self == SchemaSection::default()
    }

    /// Problems no single field shows, each at the field to fix.
    pub fn problems(&self, load_end: Duration) -> Vec<Problem> {
        let mut problems = Vec::new();
        let Some(kind) = self.format.schema_kind() else {
            if !self.changes.is_empty() {
                problems.push(Problem::at(
                    [Key("schema"), Key("changes")],
                    "schema.changes registers new schema versions, which needs a registered format: set schema.format to avro or json-schema",
                ));
            }
            return problems;
        };
        for (index, change) in self.changes.iter().enumerate() {
            if change.at >= load_end {
                problems.push(Problem::at(
                    [Key("schema"), Key("changes"), Index(index), Key("at")],
                    format!(
                        "schema.changes[{index}] is at {}, after the load ends at {}; make it earlier or lengthen load.duration",
                        humantime_serde::re::humantime::format_duration(change.at),
                        humantime_serde::re::humantime::format_duration(load_end)
                    ),
                ));
            }
            let document = event_schema_document(change.event_type, kind);
            if change.field.trim().is_empty() {
                problems.push(Problem::at(
                    [Key("schema"), Key("changes"), Index(index), Key("field")],
                    format!(
                        "schema.changes[{index}].field is empty; name the field to add or change"
                    ),
                ));
            } else if let Err(error) = evolve(&document, &change.change()) {
                problems.push(Problem::at(
                    [Key("schema"), Key("changes"), Index(index), Key("field")],
                    format!(
                        "schema.changes[{index}] cannot change the {} schema: {error}",
                        change.event_type
                    ),
                ));
            }
        }
        problems
    }
}
