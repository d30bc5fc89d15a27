//! A client of a schema registry's Confluent-compatible REST API (Confluent Schema Registry,
//! Apicurio's `ccompat` API, Karapace, Redpanda), and the Confluent wire format records
//! carry: a zero magic byte, the schema id as four big-endian bytes, then the encoded value.
//!
//! This module registers, looks up and checks schemas; it never encodes an event.

use std::time::Duration;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::schemas::CompatibilityLevel;

/// The first byte of every record in the Confluent wire format.
pub const MAGIC_BYTE: u8 = 0;

/// Bytes before the encoded value: the magic byte and the schema id.
pub const WIRE_HEADER_LEN: usize = 5;

/// Writes the wire format's header for schema `id` into `out`, then the caller appends the
/// encoded value.
pub fn write_wire_header(out: &mut Vec<u8>, id: u32) {
    out.push(MAGIC_BYTE);
    out.extend_from_slice(&id.to_be_bytes());
}

/// The schema id and the encoded value of a record in the wire format; `None` when the record
/// does not start with the magic byte and an id.
pub fn split_wire_format(record: &[u8]) -> Option<(u32, &[u8])> {
    if record.len() < WIRE_HEADER_LEN || record[0] != MAGIC_BYTE {
        return None;
    }
    let id = u32::from_be_bytes([record[1], record[2], record[3], record[4]]);
    Some((id, &record[WIRE_HEADER_LEN..]))
}

/// The subject a topic's values are registered under (the topic-name strategy).
pub fn value_subject(topic: &str) -> String {
    format!("{topic}-value")
}

/// The kind of a schema document, as registries name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SchemaKind {
    /// An Avro schema.
    #[serde(rename = "AVRO")]
    Avro,
    /// A JSON Schema.
    #[serde(rename = "JSON")]
    Json,
}

impl SchemaKind {
    /// The registry's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            SchemaKind::Avro => "AVRO",
            SchemaKind::Json => "JSON",
        }
    }
}

/// A schema document and its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaDocument {
    /// Its kind.
    pub kind: SchemaKind,
    /// The document's text.
    pub text: String,
}

/// Where a registry answers and how to authenticate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryConnection {
    /// The base URL of the Confluent-compatible API (e.g. `http://127.0.0.1:8081`, or
    /// Apicurio's `…/apis/ccompat/v7`).
    pub url: String,
    /// HTTP basic credentials, when the registry asks for them.
    pub credentials: Option<(String, String)>,
}

impl RegistryConnection {
    /// A registry at `url` without credentials.
    pub fn new(url: &str) -> Self {
        RegistryConnection {
            url: url.trim_end_matches('/').to_owned(),
            credentials: None,
        }
    }

    /// The HTTP `Authorization` header its credentials make, if any.
    pub fn authorization(&self) -> Option<String> {
        self.credentials.as_ref().map(|(user, password)| {
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            format!("Basic {token}")
        })
    }
}

/// Why a registry request failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The registry could not be reached, or answered something that is not its API.
    #[error("schema registry at {url}: {action} failed: {message}")]
    Unreachable {
        /// The registry's URL.
        url: String,
        /// What was asked.
        action: String,
        /// What went wrong.
        message: String,
    },
    /// The registry refused a new version as incompatible with the subject's history.
    #[error(
        "the schema registry refused the new version of `{subject}` as incompatible: {message}"
    )]
    Incompatible {
        /// The subject.
        subject: String,
        /// The registry's reason.
        message: String,
    },
    /// The registry answered with an error status.
    #[error("schema registry at {url}: {action} answered {status}: {message}")]
    Refused {
        /// The registry's URL.
        url: String,
        /// What was asked.
        action: String,
        /// The HTTP status.
        status: u16,
        /// The registry's message.
        message: String,
    },
}

/// A registered version of a subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredVersion {
    /// The version number in its subject.
    pub version: u32,
    /// The schema id records carry.
    pub id: u32,
    /// The document.
    pub schema: SchemaDocument,
}

/// A blocking client of one registry.
#[derive(Clone)]
pub struct RegistryClient {
    connection: RegistryConnection,
    agent: ureq::Agent,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient")
            .field("url", &self.connection.url)
            .finish()
    }
}

const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

impl RegistryClient {
    /// A client of the registry `connection` describes.
    pub fn new(connection: &RegistryConnection) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(30)))
            .http_status_as_error(false)
            .build()
            .into();
        RegistryClient {
            connection: connection.clone(),
            agent,
        }
    }

    /// The registry's URL.
    pub fn url(&self) -> &str {
        &self.connection.url
    }

    fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), RegistryError> {
        let url = format!("{}{path}", self.connection.url);
        let action = format!("{method} {path}");
        let unreachable = |message: String| RegistryError::Unreachable {
            url: self.connection.url.clone(),
            action: action.clone(),
            message,
        };
        let auth = self.connection.authorization();
        let response = match method {
            "GET" => {
                let mut request = self.agent.get(&url).header("Accept", CONTENT_TYPE);
                if let Some(auth) = &auth {
                    request = request.header("Authorization", auth);
                }
                request.call()
            }
            _ => {
                let mut request = match method {
                    "PUT" => self.agent.put(&url),
                    _ => self.agent.post(&url),
                }
                .header("Accept", CONTENT_TYPE)
                .header("Content-Type", CONTENT_TYPE);
                if let Some(auth) = &auth {
                    request = request.header("Authorization", auth);
                }
                request.send(body.unwrap_or(Value::Null).to_string())
            }
        };
        let mut response = response.map_err(|e| unreachable(e.to_string()))?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|e| unreachable(e.to_string()))?;
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok((status, value))
    }

    fn expect_ok(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, RegistryError> {
        let (status, value) = self.call(method, path, body)?;
        if (200..300).contains(&status) {
            Ok(value)
        } else {
            Err(self.refused(method, path, status, &value))
        }
    }

    fn refused(&self, method: &str, path: &str, status: u16, answer: &Value) -> RegistryError {
        RegistryError::Refused {
            url: self.connection.url.clone(),
            action: format!("{method} {path}"),
            status,
            message: message_of(answer),
        }
    }

    /// Registers `schema` under `subject` (or finds it already registered); returns its id.
    /// A version the subject's compatibility level refuses is [`RegistryError::Incompatible`].
    pub fn register(&self, subject: &str, schema: &SchemaDocument) -> Result<u32, RegistryError> {
        let path = format!("/subjects/{subject}/versions");
        let (status, answer) = self.call("POST", &path, Some(schema_body(schema)))?;
        match status {
            200..=299 => id_of(&answer).ok_or_else(|| self.refused("POST", &path, status, &answer)),
            409 => Err(RegistryError::Incompatible {
                subject: subject.to_owned(),
                message: message_of(&answer),
            }),
            _ => Err(self.refused("POST", &path, status, &answer)),
        }
    }

    /// Sets `subject`'s compatibility level.
    pub fn set_compatibility(
        &self,
        subject: &str,
        level: CompatibilityLevel,
    ) -> Result<(), RegistryError> {
        self.expect_ok(
            "PUT",
            &format!("/config/{subject}"),
            Some(json!({ "compatibility": level.as_str() })),
        )
        .map(|_| ())
    }

    /// `subject`'s compatibility level, as the registry reports it.
    pub fn compatibility(&self, subject: &str) -> Result<String, RegistryError> {
        let answer = self.expect_ok("GET", &format!("/config/{subject}"), None)?;
        Ok(answer["compatibilityLevel"]
            .as_str()
            .or_else(|| answer["compatibility"].as_str())
            .unwrap_or_default()
            .to_owned())
    }

    /// The document registered with `id`.
    pub fn schema_by_id(&self, id: u32) -> Result<SchemaDocument, RegistryError> {
        let answer = self.expect_ok("GET", &format!("/schemas/ids/{id}"), None)?;
        document_of(&answer).ok_or_else(|| RegistryError::Unreachable {
            url: self.connection.url.clone(),
            action: format!("GET /schemas/ids/{id}"),
            message: format!("no schema in the answer: {answer}"),
        })
    }

    /// Every version registered under `subject`, oldest first.
    pub fn versions(&self, subject: &str) -> Result<Vec<RegisteredVersion>, RegistryError> {
        let numbers: Vec<u32> = serde_json::from_value(self.expect_ok(
            "GET",
            &format!("/subjects/{subject}/versions"),
            None,
        )?)
        .unwrap_or_default();
        numbers
            .into_iter()
            .map(|number| {
                let path = format!("/subjects/{subject}/versions/{number}");
                let answer = self.expect_ok("GET", &path, None)?;
                let unreadable = || RegistryError::Unreachable {
                    url: self.connection.url.clone(),
                    action: format!("GET {path}"),
                    message: format!("unexpected answer: {answer}"),
                };
                Ok(RegisteredVersion {
                    version: number,
                    id: id_of(&answer).ok_or_else(unreadable)?,
                    schema: document_of(&answer).ok_or_else(unreadable)?,
                })
            })
            .collect()
    }
}

fn schema_body(schema: &SchemaDocument) -> Value {
    match schema.kind {
        SchemaKind::Avro => json!({ "schema": schema.text }),
        kind => json!({ "schema": schema.text, "schemaType": kind.as_str() }),
    }
}

fn id_of(answer: &Value) -> Option<u32> {
    answer["id"].as_u64().and_then(|id| u32::try_from(id).ok())
}

fn document_of(answer: &Value) -> Option<SchemaDocument> {
    let text = answer["schema"].as_str()?.to_owned();
    let kind = match answer["schemaType"].as_str() {
        Some("JSON") => SchemaKind::Json,
        _ => SchemaKind::Avro,
    };
    Some(SchemaDocument { kind, text })
}

fn message_of(answer: &Value) -> String {
    answer["message"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| answer.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wire_format_carries_the_id_big_endian_after_a_zero_byte() {
        let mut record = Vec::new();
        write_wire_header(&mut record, 0x0102_0304);
        record.extend_from_slice(b"value");
        assert_eq!(&record[..5], &[0, 1, 2, 3, 4]);
        assert_eq!(
            split_wire_format(&record),
            Some((0x0102_0304, &b"value"[..]))
        );
        assert_eq!(split_wire_format(b"{\"json\":1}"), None);
        assert_eq!(split_wire_format(&[0, 0, 1]), None);
    }

    #[test]
    fn avro_documents_are_sent_without_a_type_and_json_schemas_with_one() {
        let avro = SchemaDocument {
            kind: SchemaKind::Avro,
            text: "\"string\"".to_owned(),
        };
        assert_eq!(schema_body(&avro), json!({"schema": "\"string\""}));
        let json_schema = SchemaDocument {
            kind: SchemaKind::Json,
            text: "{}".to_owned(),
        };
        assert_eq!(
            schema_body(&json_schema),
            json!({"schema": "{}", "schemaType": "JSON"})
        );
        assert_eq!(value_subject("raw-events"), "raw-events-value");
    }
}
