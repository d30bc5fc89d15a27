//! Where an event goes: its raw topic by `event_type`, and its partition key by the
//! partitioning strategy (events that must stay in order share a key).

use serde_json::Value;

use crate::events::{EventSchema, EventType, UnknownEventType};

/// The raw topic an event type is published to.
pub fn topic_for(event_type: EventType) -> &'static str {
    match event_type {
        EventType::UserAction => "raw-events",
        EventType::Transaction => "raw-transactions",
        EventType::SystemEvent => "raw-system-events",
        EventType::MetricEvent => "raw-metrics",
        EventType::LogEvent => "raw-logs",
    }
}

/// Payload fields whose value becomes the partition key, in order of preference.
pub fn key_fields(event_type: EventType) -> &'static [&'static str] {
    match event_type {
        EventType::UserAction => &["user_id"],
        EventType::Transaction => &["account_id", "transaction_id"],
        EventType::SystemEvent => &["component"],
        EventType::MetricEvent => &["metric_name"],
        EventType::LogEvent => &["application", "severity"],
    }
}

/// A routed event: the topic it goes to and the key that picks its partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The raw topic.
    pub topic: &'static str,
    /// The partition key; `None` spreads the event over partitions.
    pub key: Option<String>,
}

/// Routes an event by its type and partitioning strategy. Metrics and system events with no
/// key field fall back to their `source_system`, so one source's events still stay together.
pub fn route(event: &EventSchema) -> Result<Route, UnknownEventType> {
    let kind = event.kind()?;
    let from_payload = key_fields(kind)
        .iter()
        .find_map(|field| event.payload.get(*field).and_then(key_text));
    let key = from_payload.or_else(|| {
        matches!(kind, EventType::MetricEvent | EventType::SystemEvent)
            .then(|| event.source_system.clone())
            .filter(|source| !source.is_empty())
    });
    Ok(Route {
        topic: topic_for(kind),
        key,
    })
}

fn key_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Map};

    fn event(event_type: &str, payload: Value) -> EventSchema {
        EventSchema {
            event_id: "6f1c2b8e-2d4a-4c7e-9a0b-1c2d3e4f5a6b".into(),
            event_type: event_type.into(),
            event_timestamp: "2025-12-25T10:30:00Z".into(),
            source_system: "api-server".into(),
            payload: payload.as_object().cloned().unwrap_or_default(),
            metadata: Map::new(),
            schema_version: "1.0".into(),
        }
    }

    #[test]
    fn each_type_goes_to_its_raw_topic() {
        let expected = [
            ("user_action", "raw-events"),
            ("transaction", "raw-transactions"),
            ("system_event", "raw-system-events"),
            ("metric_event", "raw-metrics"),
            ("log_event", "raw-logs"),
        ];
        for (event_type, topic) in expected {
            assert_eq!(route(&event(event_type, json!({}))).unwrap().topic, topic);
        }
    }

    #[test]
    fn keys_follow_the_partitioning_strategy() {
        let key = |t: &str, p: Value| route(&event(t, p)).unwrap().key;
        assert_eq!(
            key("user_action", json!({"user_id": "user-1"})),
            Some("user-1".into())
        );
        assert_eq!(
            key(
                "transaction",
                json!({"account_id": "acc-9", "transaction_id": "t-1"})
            ),
            Some("acc-9".into())
        );
        assert_eq!(
            key("transaction", json!({"transaction_id": "t-1"})),
            Some("t-1".into())
        );
        assert_eq!(
            key("metric_event", json!({"metric_name": "cpu"})),
            Some("cpu".into())
        );
        assert_eq!(
            key("metric_event", json!({})),
            Some("api-server".into()),
            "metrics fall back to their source"
        );
        assert_eq!(
            key(
                "log_event",
                json!({"application": "api", "severity": "warn"})
            ),
            Some("api".into())
        );
        assert_eq!(
            key("log_event", json!({"severity": "warn"})),
            Some("warn".into())
        );
        assert_eq!(key("user_action", json!({"user_id": ""})), None);
    }

    #[test]
    fn unknown_types_cannot_be_routed() {
        assert!(route(&event("click", json!({}))).is_err());
    }
}
