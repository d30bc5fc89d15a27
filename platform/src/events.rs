//! Event schemas: the base [`EventSchema`] every event travels in, the typed events that build
//! it, and validation that reports every problem at once.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

/// The schema version this platform writes and accepts.
pub const SCHEMA_VERSION: &str = "1.0";

/// The largest serialized event the platform accepts (1 MiB, the producers' request limit).
pub const MAX_EVENT_BYTES: usize = 1_048_576;

/// The classification of an event; decides its topic and partition key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    /// Something a user did (`raw-events`, keyed by `user_id`).
    UserAction,
    /// A financial transaction (`raw-transactions`, keyed by `account_id` or `transaction_id`).
    Transaction,
    /// A system event (`raw-system-events`, keyed by `component` or the source system).
    SystemEvent,
    /// A time-series measurement (`raw-metrics`, keyed by `metric_name` or the source system).
    MetricEvent,
    /// An application log line (`raw-logs`, keyed by `application` or `severity`).
    LogEvent,
}

impl EventType {
    /// Every event type.
    pub const ALL: [EventType; 5] = [
        EventType::UserAction,
        EventType::Transaction,
        EventType::SystemEvent,
        EventType::MetricEvent,
        EventType::LogEvent,
    ];

    /// The `event_type` value on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::UserAction => "user_action",
            EventType::Transaction => "transaction",
            EventType::SystemEvent => "system_event",
            EventType::MetricEvent => "metric_event",
            EventType::LogEvent => "log_event",
        }
    }

    /// Payload fields an event of this type must carry.
    pub fn required_payload_fields(self) -> &'static [&'static str] {
        match self {
            EventType::UserAction => &["user_id", "action"],
            EventType::Transaction => &["transaction_id", "amount", "currency", "transaction_type"],
            EventType::SystemEvent => &["component", "status"],
            EventType::MetricEvent => &["metric_name", "metric_value"],
            EventType::LogEvent => &["application", "severity", "message"],
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An `event_type` that is not one of the platform's five.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown event type `{0}` (expected user_action, transaction, system_event, metric_event or log_event)")]
pub struct UnknownEventType(pub String);

impl FromStr for EventType {
    type Err = UnknownEventType;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        EventType::ALL
            .into_iter()
            .find(|t| t.as_str() == value)
            .ok_or_else(|| UnknownEventType(value.to_owned()))
    }
}

/// The envelope every event travels in, field for field as the platform's producers write it.
///
/// Fields are plain strings and JSON maps so that a malformed event can still be represented,
/// validated and reported; [`EventSchema::validate`] says what is wrong with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventSchema {
    /// Unique identifier (a UUID).
    pub event_id: String,
    /// Event classification, see [`EventType`].
    pub event_type: String,
    /// When the event happened: ISO 8601 in UTC.
    pub event_timestamp: String,
    /// The system that emitted the event.
    pub source_system: String,
    /// Event-specific data.
    pub payload: Map<String, Value>,
    /// Additional context (session, correlation ids, ...).
    #[serde(default)]
    pub metadata: Map<String, Value>,
    /// Schema version, [`SCHEMA_VERSION`].
    #[serde(default = "default_schema_version")]
    pub schema_version: String,
}

fn default_schema_version() -> String {
    SCHEMA_VERSION.to_owned()
}

/// One thing wrong with an event. `field` is a JSON path such as `payload.amount`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationError {
    /// The offending field.
    pub field: String,
    /// What is wrong and what is expected instead.
    pub message: String,
}

impl ValidationError {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        ValidationError {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// The current time as the platform writes timestamps: RFC 3339, UTC, millisecond precision.
pub fn utc_timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl EventSchema {
    /// A new event with a fresh UUID v4 id.
    pub fn new(
        event_type: EventType,
        event_timestamp: DateTime<Utc>,
        source_system: impl Into<String>,
        payload: Map<String, Value>,
    ) -> Self {
        EventSchema {
            event_id: Uuid::new_v4().to_string(),
            event_type: event_type.as_str().to_owned(),
            event_timestamp: utc_timestamp(event_timestamp),
            source_system: source_system.into(),
            payload,
            metadata: Map::new(),
            schema_version: SCHEMA_VERSION.to_owned(),
        }
    }

    /// The event type, if it is a known one.
    pub fn kind(&self) -> Result<EventType, UnknownEventType> {
        self.event_type.parse()
    }

    /// The event as JSON bytes, exactly as it is published.
    pub fn to_json(&self) -> Vec<u8> {
        // Serializing a struct of strings and JSON maps cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Every problem with the event; empty when it is valid.
    pub fn validate(&self) -> Vec<ValidationError> {
        let mut errors = Vec::new();
        check_event_id(&self.event_id, &mut errors);
        check_timestamp(&self.event_timestamp, &mut errors);
        if self.source_system.trim().is_empty() {
            errors.push(ValidationError::new(
                "source_system",
                "must name the system that emitted the event",
            ));
        }
        if self.schema_version != SCHEMA_VERSION {
            errors.push(ValidationError::new(
                "schema_version",
                format!(
                    "`{}` is not supported; this platform reads version {SCHEMA_VERSION}",
                    self.schema_version
                ),
            ));
        }
        match self.kind() {
            Ok(kind) => check_payload(kind, &self.payload, &mut errors),
            Err(unknown) => errors.push(ValidationError::new("event_type", unknown.to_string())),
        }
        let size = self.to_json().len();
        if size > MAX_EVENT_BYTES {
            errors.push(ValidationError::new(
                "event",
                format!("is {size} bytes serialized; keep events under {MAX_EVENT_BYTES} bytes (1 MiB) and store large data by reference"),
            ));
        }
        errors
    }
}

fn check_event_id(event_id: &str, errors: &mut Vec<ValidationError>) {
    if Uuid::parse_str(event_id).is_err() {
        errors.push(ValidationError::new(
            "event_id",
            format!("`{event_id}` is not a UUID; use a UUID v4 such as 0b9f5f6e-3c1d-4d1e-9f55-2a3b4c5d6e7f"),
        ));
    }
}

fn check_timestamp(timestamp: &str, errors: &mut Vec<ValidationError>) {
    match DateTime::parse_from_rfc3339(timestamp) {
        Err(_) => errors.push(ValidationError::new(
            "event_timestamp",
            format!("`{timestamp}` is not an ISO 8601 timestamp with a time zone, e.g. 2025-12-25T10:30:00Z"),
        )),
        Ok(parsed) if parsed.offset().local_minus_utc() != 0 => errors.push(ValidationError::new(
            "event_timestamp",
            format!("`{timestamp}` is not in UTC; write timestamps in UTC with a `Z` suffix"),
        )),
        Ok(_) => {}
    }
}

fn check_payload(kind: EventType, payload: &Map<String, Value>, errors: &mut Vec<ValidationError>) {
    for field in kind.required_payload_fields() {
        match payload.get(*field) {
            None | Some(Value::Null) => errors.push(ValidationError::new(
                format!("payload.{field}"),
                format!("is required for {kind} events"),
            )),
            Some(Value::String(text)) if text.trim().is_empty() => errors.push(
                ValidationError::new(format!("payload.{field}"), "must not be empty"),
            ),
            Some(_) => {}
        }
    }
    match kind {
        EventType::Transaction => {
            check_number(payload, "amount", true, errors);
            check_currency(payload, errors);
        }
        EventType::MetricEvent => check_number(payload, "metric_value", false, errors),
        _ => {}
    }
}

fn check_number(
    payload: &Map<String, Value>,
    field: &str,
    must_be_non_negative: bool,
    errors: &mut Vec<ValidationError>,
) {
    let Some(value) = payload.get(field).filter(|v| !v.is_null()) else {
        return;
    };
    match value.as_f64() {
        None => errors.push(ValidationError::new(
            format!("payload.{field}"),
            format!("must be a number, found {value}"),
        )),
        Some(number) if must_be_non_negative && number < 0.0 => errors.push(ValidationError::new(
            format!("payload.{field}"),
            format!("must not be negative, found {number}"),
        )),
        Some(_) => {}
    }
}

fn check_currency(payload: &Map<String, Value>, errors: &mut Vec<ValidationError>) {
    let Some(value) = payload.get("currency").filter(|v| !v.is_null()) else {
        return;
    };
    let is_iso_4217 = value
        .as_str()
        .is_some_and(|code| iso_currency::Currency::from_code(code).is_some());
    if !is_iso_4217 {
        errors.push(ValidationError::new(
            "payload.currency",
            format!("{value} is not an ISO 4217 currency code such as USD, EUR or JPY"),
        ));
    }
}

/// Shared fields of the typed events.
#[derive(Debug, Clone, PartialEq)]
pub struct EventHeader {
    /// Unique identifier (a UUID).
    pub event_id: String,
    /// ISO 8601 UTC timestamp.
    pub event_timestamp: String,
    /// The emitting system.
    pub source_system: String,
    /// Additional context.
    pub metadata: Map<String, Value>,
}

impl EventHeader {
    /// A header with a fresh UUID v4 and the given time.
    pub fn new(source_system: impl Into<String>, at: DateTime<Utc>) -> Self {
        EventHeader {
            event_id: Uuid::new_v4().to_string(),
            event_timestamp: utc_timestamp(at),
            source_system: source_system.into(),
            metadata: Map::new(),
        }
    }

    fn into_schema(self, event_type: EventType, payload: Map<String, Value>) -> EventSchema {
        EventSchema {
            event_id: self.event_id,
            event_type: event_type.as_str().to_owned(),
            event_timestamp: self.event_timestamp,
            source_system: self.source_system,
            payload,
            metadata: self.metadata,
            schema_version: SCHEMA_VERSION.to_owned(),
        }
    }
}

fn payload<const N: usize>(fields: [(&str, Value); N]) -> Map<String, Value> {
    fields
        .into_iter()
        .filter(|(_, value)| !value.is_null())
        .map(|(name, value)| (name.to_owned(), value))
        .collect()
}

/// A user did something: `payload {user_id, action, resource}`.
#[derive(Debug, Clone, PartialEq)]
pub struct UserActionEvent {
    /// Shared fields.
    pub header: EventHeader,
    /// The acting user; the partition key.
    pub user_id: String,
    /// What they did (`login`, `view_product`, `purchase`, ...).
    pub action: String,
    /// What they did it to.
    pub resource: Option<String>,
}

impl From<UserActionEvent> for EventSchema {
    fn from(event: UserActionEvent) -> Self {
        let fields = payload([
            ("user_id", Value::from(event.user_id)),
            ("action", Value::from(event.action)),
            ("resource", event.resource.map_or(Value::Null, Value::from)),
        ]);
        event.header.into_schema(EventType::UserAction, fields)
    }
}

/// Money moved: `payload {transaction_id, account_id, amount, currency, transaction_type}`.
#[derive(Debug, Clone, PartialEq)]
pub struct TransactionEvent {
    /// Shared fields.
    pub header: EventHeader,
    /// The transaction; the partition key when there is no account.
    pub transaction_id: String,
    /// The account; the partition key when present, so an account's transactions stay ordered.
    pub account_id: Option<String>,
    /// Non-negative amount.
    pub amount: f64,
    /// ISO 4217 code.
    pub currency: String,
    /// `purchase`, `payment`, `refund`, ...
    pub transaction_type: String,
}

impl From<TransactionEvent> for EventSchema {
    fn from(event: TransactionEvent) -> Self {
        let fields = payload([
            ("transaction_id", Value::from(event.transaction_id)),
            (
                "account_id",
                event.account_id.map_or(Value::Null, Value::from),
            ),
            ("amount", Value::from(event.amount)),
            ("currency", Value::from(event.currency)),
            ("transaction_type", Value::from(event.transaction_type)),
        ]);
        event.header.into_schema(EventType::Transaction, fields)
    }
}

/// A measurement: `payload {metric_name, metric_value, metric_unit, tags}`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricEvent {
    /// Shared fields.
    pub header: EventHeader,
    /// What was measured; the partition key.
    pub metric_name: String,
    /// The measured value.
    pub metric_value: f64,
    /// Its unit (`milliseconds`, `bytes`, ...).
    pub metric_unit: Option<String>,
    /// Dimensions of the measurement.
    pub tags: Map<String, Value>,
}

impl From<MetricEvent> for EventSchema {
    fn from(event: MetricEvent) -> Self {
        let fields = payload([
            ("metric_name", Value::from(event.metric_name)),
            ("metric_value", Value::from(event.metric_value)),
            (
                "metric_unit",
                event.metric_unit.map_or(Value::Null, Value::from),
            ),
            ("tags", Value::Object(event.tags)),
        ]);
        event.header.into_schema(EventType::MetricEvent, fields)
    }
}

/// Something happened to a system component: `payload {component, status, message}`.
#[derive(Debug, Clone, PartialEq)]
pub struct SystemEvent {
    /// Shared fields.
    pub header: EventHeader,
    /// The component concerned; the partition key.
    pub component: String,
    /// Its new status (`started`, `degraded`, `stopped`, ...).
    pub status: String,
    /// Free-form detail.
    pub message: Option<String>,
}

impl From<SystemEvent> for EventSchema {
    fn from(event: SystemEvent) -> Self {
        let fields = payload([
            ("component", Value::from(event.component)),
            ("status", Value::from(event.status)),
            ("message", event.message.map_or(Value::Null, Value::from)),
        ]);
        event.header.into_schema(EventType::SystemEvent, fields)
    }
}

/// An application log line: `payload {application, severity, message}`.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEvent {
    /// Shared fields.
    pub header: EventHeader,
    /// The logging application; the partition key.
    pub application: String,
    /// `debug`, `info`, `warn`, `error`, ...
    pub severity: String,
    /// The log message.
    pub message: String,
}

impl From<LogEvent> for EventSchema {
    fn from(event: LogEvent) -> Self {
        let fields = payload([
            ("application", Value::from(event.application)),
            ("severity", Value::from(event.severity)),
            ("message", Value::from(event.message)),
        ]);
        event.header.into_schema(EventType::LogEvent, fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn header() -> EventHeader {
        EventHeader {
            event_id: "6f1c2b8e-2d4a-4c7e-9a0b-1c2d3e4f5a6b".into(),
            event_timestamp: "2025-12-25T10:30:00Z".into(),
            source_system: "payment-gateway".into(),
            metadata: Map::new(),
        }
    }

    fn transaction(amount: f64, currency: &str) -> EventSchema {
        TransactionEvent {
            header: header(),
            transaction_id: "txn-123".into(),
            account_id: None,
            amount,
            currency: currency.into(),
            transaction_type: "payment".into(),
        }
        .into()
    }

    fn fields(errors: &[ValidationError]) -> Vec<&str> {
        errors.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn transaction_serializes_to_the_platform_field_names() {
        let json: Value = serde_json::from_slice(&transaction(99.99, "USD").to_json()).unwrap();
        assert_eq!(
            json,
            json!({
                "event_id": "6f1c2b8e-2d4a-4c7e-9a0b-1c2d3e4f5a6b",
                "event_type": "transaction",
                "event_timestamp": "2025-12-25T10:30:00Z",
                "source_system": "payment-gateway",
                "payload": {
                    "transaction_id": "txn-123",
                    "amount": 99.99,
                    "currency": "USD",
                    "transaction_type": "payment"
                },
                "metadata": {},
                "schema_version": "1.0"
            })
        );
    }

    #[test]
    fn typed_events_carry_their_payload_fields() {
        let user: EventSchema = UserActionEvent {
            header: header(),
            user_id: "user-456".into(),
            action: "login".into(),
            resource: Some("dashboard".into()),
        }
        .into();
        assert_eq!(user.event_type, "user_action");
        assert_eq!(user.payload["resource"], "dashboard");

        let metric: EventSchema = MetricEvent {
            header: header(),
            metric_name: "request_latency_ms".into(),
            metric_value: 45.2,
            metric_unit: Some("milliseconds".into()),
            tags: json!({"endpoint": "/api/users", "method": "GET"})
                .as_object()
                .cloned()
                .unwrap(),
        }
        .into();
        assert_eq!(metric.payload["tags"]["method"], "GET");
        assert_eq!(metric.event_type, "metric_event");

        let system: EventSchema = SystemEvent {
            header: header(),
            component: "checkout".into(),
            status: "degraded".into(),
            message: None,
        }
        .into();
        assert!(!system.payload.contains_key("message"));

        let log: EventSchema = LogEvent {
            header: header(),
            application: "api".into(),
            severity: "error".into(),
            message: "timeout".into(),
        }
        .into();
        for event in [user, metric, system, log] {
            assert!(event.validate().is_empty(), "{:?}", event.validate());
        }
    }

    #[test]
    fn a_valid_event_round_trips_through_json() {
        let event = transaction(10.0, "EUR");
        let back: EventSchema = serde_json::from_slice(&event.to_json()).unwrap();
        assert_eq!(back, event);
    }

    #[test]
    fn validation_reports_every_error_not_just_the_first() {
        let mut event = transaction(-5.0, "XYZ");
        event.event_id = "evt-123".into();
        event.event_timestamp = "2025-12-25T10:30:00+02:00".into();
        event.source_system = " ".into();
        event.payload.remove("transaction_type");
        assert_eq!(
            fields(&event.validate()),
            vec![
                "event_id",
                "event_timestamp",
                "source_system",
                "payload.transaction_type",
                "payload.amount",
                "payload.currency"
            ]
        );
    }

    #[test]
    fn unparsable_timestamp_and_unknown_type_are_reported() {
        let mut event = transaction(1.0, "USD");
        event.event_timestamp = "yesterday".into();
        event.event_type = "click".into();
        event.schema_version = "2.0".into();
        assert_eq!(
            fields(&event.validate()),
            vec!["event_timestamp", "schema_version", "event_type"]
        );
    }

    #[test]
    fn wrong_types_in_the_payload_are_reported() {
        let mut event = transaction(1.0, "USD");
        event.payload.insert("amount".into(), json!("12.00"));
        event.payload.insert("currency".into(), json!(840));
        let errors = event.validate();
        assert_eq!(fields(&errors), vec!["payload.amount", "payload.currency"]);
        assert!(errors[0].message.contains("must be a number"));
    }

    #[test]
    fn oversized_events_are_rejected() {
        let mut event = transaction(1.0, "USD");
        event
            .metadata
            .insert("blob".into(), Value::from("x".repeat(MAX_EVENT_BYTES)));
        assert_eq!(fields(&event.validate()), vec!["event"]);
    }

    #[test]
    fn event_types_parse_from_their_wire_names() {
        for kind in EventType::ALL {
            assert_eq!(kind.as_str().parse::<EventType>(), Ok(kind));
        }
        assert!("User_Action".parse::<EventType>().is_err());
    }
}
