//! EventProducer against the real test cluster: what is published is what a consumer reads.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::{admin, bootstrap, consumer, payload};
use rdkafka::consumer::Consumer;
use rdkafka::message::OwnedMessage;
use rdkafka::Message;
use streamproof_platform::connection::KafkaConnection;
use streamproof_platform::events::{EventHeader, EventSchema, TransactionEvent, UserActionEvent};
use streamproof_platform::producer::{EventProducer, PublishError};
use streamproof_platform::profiles::ProducerProfile;
use streamproof_platform::topics::{standard_topics, TopicSetOptions};

async fn ensure_standard_topics() {
    let admin = admin();
    for topic in standard_topics(3, &TopicSetOptions::default()) {
        admin.create_topic(&topic).await.unwrap();
    }
}

fn producer() -> EventProducer {
    EventProducer::new(
        &KafkaConnection::new(bootstrap()),
        &ProducerProfile::Reliability.settings_map(),
    )
    .unwrap()
}

fn transaction(account: &str, amount: f64) -> EventSchema {
    TransactionEvent {
        header: EventHeader::new("payment-gateway", chrono::Utc::now()),
        transaction_id: format!("txn-{}", uuid::Uuid::new_v4()),
        account_id: Some(account.to_owned()),
        amount,
        currency: "EUR".into(),
        transaction_type: "payment".into(),
    }
    .into()
}

/// Reads `topic` from the start until every id in `wanted` was seen, then keeps reading for
/// `linger` to catch anything extra; returns records whose event id is in `of_interest`.
fn read_events(
    topic: &str,
    wanted: &HashSet<String>,
    of_interest: &HashSet<String>,
    linger: Duration,
) -> Vec<OwnedMessage> {
    let consumer = consumer(&format!("producer-test-{}", uuid::Uuid::new_v4()));
    consumer.subscribe(&[topic]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = HashSet::new();
    let mut found = Vec::new();
    let mut done_at: Option<Instant> = None;
    while Instant::now() < deadline && done_at.is_none_or(|at| at.elapsed() < linger) {
        if let Some(Ok(message)) = consumer.poll(Duration::from_millis(100)) {
            // Other tests share the raw topics and some of them send records that are not
            // events at all.
            let parsed =
                serde_json::from_slice::<EventSchema>(message.payload().unwrap_or_default());
            let Ok(event) = parsed else { continue };
            if of_interest.contains(&event.event_id) {
                seen.insert(event.event_id.clone());
                found.push(message.detach());
            }
        }
        if done_at.is_none() && wanted.is_subset(&seen) {
            done_at = Some(Instant::now());
        }
    }
    found
}

#[tokio::test]
async fn published_event_reads_back_byte_for_byte_on_the_reported_partition() {
    ensure_standard_topics().await;
    let producer = producer();
    let event = transaction("acc-42", 99.99);
    let result = producer.publish_event(&event).await.unwrap();
    assert_eq!(result.topic, "raw-transactions");

    let ids = HashSet::from([event.event_id.clone()]);
    let records = read_events("raw-transactions", &ids, &ids, Duration::ZERO);
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(payload(record), event.to_json().as_slice());
    assert_eq!(record.partition(), result.partition);
    assert_eq!(record.offset(), result.offset);
    assert_eq!(record.key(), Some("acc-42".as_bytes()));

    let metrics = producer.metrics();
    assert_eq!(
        (
            metrics.sent,
            metrics.acked,
            metrics.failed,
            metrics.rejected
        ),
        (1, 1, 0, 0)
    );
    assert!(metrics.latency_max_us > 0);
}

#[tokio::test]
async fn batch_sends_valid_events_and_never_sends_invalid_ones() {
    ensure_standard_topics().await;
    let producer = producer();
    let mut negative = transaction("acc-1", -3.0);
    negative.payload.insert("currency".into(), "EURO".into());
    let mut bad_id = transaction("acc-1", 5.0);
    bad_id.event_id = "txn-not-a-uuid".into();
    let user: EventSchema = UserActionEvent {
        header: EventHeader::new("web-app", chrono::Utc::now()),
        user_id: "user-7".into(),
        action: "login".into(),
        resource: None,
    }
    .into();
    let batch = vec![
        transaction("acc-1", 1.0),
        negative.clone(),
        transaction("acc-2", 2.0),
        bad_id.clone(),
        user.clone(),
    ];
    let results = producer.publish_batch(&batch).await;
    assert_eq!(
        results.iter().map(|r| r.success()).collect::<Vec<_>>(),
        vec![true, false, true, false, true]
    );
    for (result, event) in results.iter().zip(&batch) {
        assert_eq!(result.event_id, event.event_id);
    }
    match &results[1].outcome {
        Err(PublishError::Invalid(errors)) => {
            let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
            assert_eq!(fields, vec!["payload.amount", "payload.currency"]);
        }
        other => panic!("expected a validation failure, got {other:?}"),
    }
    assert_eq!(results[4].outcome.as_ref().unwrap().topic, "raw-events");

    let sent: HashSet<String> = [&batch[0], &batch[2]]
        .iter()
        .map(|e| e.event_id.clone())
        .collect();
    let all: HashSet<String> = batch.iter().map(|e| e.event_id.clone()).collect();
    let records = read_events("raw-transactions", &sent, &all, Duration::from_secs(2));
    let read_ids: HashSet<String> = records
        .iter()
        .map(|r| {
            serde_json::from_slice::<EventSchema>(payload(r))
                .unwrap()
                .event_id
        })
        .collect();
    assert_eq!(
        read_ids, sent,
        "only the valid transactions reached the topic"
    );
    assert_eq!(records.len(), 2);

    let metrics = producer.metrics();
    assert_eq!((metrics.sent, metrics.acked, metrics.rejected), (3, 3, 2));
}
