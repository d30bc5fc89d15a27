//! [`EventProducer`]: validates, routes and publishes events, counting what it sent.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::future::join_all;
use hdrhistogram::Histogram;
use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::util::Timeout;
use serde::Serialize;

use crate::connection::KafkaConnection;
use crate::events::{EventSchema, UnknownEventType, ValidationError};
use crate::profiles::ClientSettings;
use crate::routing::route;

/// Where a published event landed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublishResult {
    /// The raw topic.
    pub topic: String,
    /// Its partition.
    pub partition: i32,
    /// Its offset in that partition.
    pub offset: i64,
}

/// Why an event was not published.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The event failed validation and was not sent.
    #[error("invalid event, not sent: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<ValidationError>),
    /// The event type has no topic.
    #[error(transparent)]
    Unroutable(#[from] UnknownEventType),
    /// The cluster did not acknowledge the event.
    #[error("delivery to `{topic}` failed: {source}")]
    Delivery {
        /// The topic it was sent to.
        topic: String,
        /// The client's error.
        source: KafkaError,
    },
}

/// One event's outcome in a batch.
#[derive(Debug)]
pub struct BatchResult {
    /// The event's id.
    pub event_id: String,
    /// Where it landed, or why it did not.
    pub outcome: Result<PublishResult, PublishError>,
}

impl BatchResult {
    /// Whether the event was acknowledged.
    pub fn success(&self) -> bool {
        self.outcome.is_ok()
    }
}

/// Counts of a producer's work so far.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProducerMetrics {
    /// Events handed to the Kafka client.
    pub sent: u64,
    /// Events the cluster acknowledged.
    pub acked: u64,
    /// Events the cluster or client reported as failed.
    pub failed: u64,
    /// Events refused before sending because they were invalid or unroutable.
    pub rejected: u64,
    /// `failed / sent`, 0 when nothing was sent.
    pub record_error_rate: f64,
    /// Send-to-acknowledgement latency percentiles, microseconds.
    pub latency_p50_us: u64,
    /// 99th percentile.
    pub latency_p99_us: u64,
    /// Largest.
    pub latency_max_us: u64,
}

struct Counters {
    sent: AtomicU64,
    acked: AtomicU64,
    failed: AtomicU64,
    rejected: AtomicU64,
    latency_us: Mutex<Histogram<u64>>,
}

/// Publishes platform events: each is validated, routed to its raw topic with its partition
/// key, and sent; invalid events are never sent.
pub struct EventProducer {
    producer: FutureProducer,
    counters: Counters,
}

impl EventProducer {
    /// A producer on `connection` tuned by `settings` (a profile with overrides).
    pub fn new(
        connection: &KafkaConnection,
        settings: &ClientSettings,
    ) -> Result<Self, KafkaError> {
        let producer = connection.tuned(settings).create()?;
        let histogram = Histogram::new_with_bounds(1, 3_600_000_000, 3)
            .expect("constant histogram bounds are valid");
        Ok(EventProducer {
            producer,
            counters: Counters {
                sent: AtomicU64::new(0),
                acked: AtomicU64::new(0),
                failed: AtomicU64::new(0),
                rejected: AtomicU64::new(0),
                latency_us: Mutex::new(histogram),
            },
        })
    }

    /// Validates, routes and sends one event; returns where it landed.
    pub async fn publish_event(&self, event: &EventSchema) -> Result<PublishResult, PublishError> {
        let errors = event.validate();
        if !errors.is_empty() {
            self.counters.rejected.fetch_add(1, Ordering::Relaxed);
            return Err(PublishError::Invalid(errors));
        }
        let route = route(event).inspect_err(|_| {
            self.counters.rejected.fetch_add(1, Ordering::Relaxed);
        })?;
        let body = event.to_json();
        let mut record = FutureRecord::<str, [u8]>::to(route.topic).payload(&body);
        if let Some(key) = route.key.as_deref() {
            record = record.key(key);
        }
        self.counters.sent.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let delivery = self.producer.send(record, Timeout::Never).await;
        self.record_latency(started.elapsed());
        match delivery {
            Ok(delivery) => {
                self.counters.acked.fetch_add(1, Ordering::Relaxed);
                Ok(PublishResult {
                    topic: route.topic.to_owned(),
                    partition: delivery.partition,
                    offset: delivery.offset,
                })
            }
            Err((source, _)) => {
                self.counters.failed.fetch_add(1, Ordering::Relaxed);
                Err(PublishError::Delivery {
                    topic: route.topic.to_owned(),
                    source,
                })
            }
        }
    }

    /// Publishes every event concurrently; one result per event, in input order.
    pub async fn publish_batch(&self, events: &[EventSchema]) -> Vec<BatchResult> {
        let sends = events.iter().map(|event| async move {
            BatchResult {
                event_id: event.event_id.clone(),
                outcome: self.publish_event(event).await,
            }
        });
        join_all(sends).await
    }

    fn record_latency(&self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        if let Ok(mut histogram) = self.counters.latency_us.lock() {
            histogram.saturating_record(micros.max(1));
        }
    }

    /// Counters and latency so far.
    pub fn metrics(&self) -> ProducerMetrics {
        let sent = self.counters.sent.load(Ordering::Relaxed);
        let failed = self.counters.failed.load(Ordering::Relaxed);
        let (p50, p99, max) = self
            .counters
            .latency_us
            .lock()
            .map(|h| {
                if h.is_empty() {
                    (0, 0, 0)
                } else {
                    (h.value_at_quantile(0.5), h.value_at_quantile(0.99), h.max())
                }
            })
            .unwrap_or_default();
        ProducerMetrics {
            sent,
            acked: self.counters.acked.load(Ordering::Relaxed),
            failed,
            rejected: self.counters.rejected.load(Ordering::Relaxed),
            record_error_rate: if sent == 0 {
                0.0
            } else {
                failed as f64 / sent as f64
            },
            latency_p50_us: p50,
            latency_p99_us: p99,
            latency_max_us: max,
        }
    }

    /// Waits until every in-flight event is acknowledged or failed.
    pub fn flush(&self, timeout: Duration) -> Result<(), KafkaError> {
        self.producer.flush(timeout)
    }
}
