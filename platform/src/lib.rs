//! The reference streaming platform that streamproof ships and drives.
//!
//! - [`topics`]: the `<layer>-<data_type>` naming convention, [`topics::TopicConfig`], per-layer
//!   retention and the standard topic set sized to the cluster.
//! - [`events`]: [`events::EventSchema`], the typed events that build it, and validation
//!   that reports every error at once.
//! - [`routing`]: the raw topic and partition key of each event type.
//! - [`schemas`]: the five event schemas as Avro documents, and compatibility checks between
//!   versions of a schema.
//! - [`admin`]: [`admin::KafkaAdmin`], idempotent topic creation, describe, delete, add partitions.
//! - [`producer`]: [`producer::EventProducer`], validate → route → send, with counters.
//! - [`profiles`]: producer and consumer tuning profiles mapped to librdkafka properties.
//! - [`lag`]: a consumer group's lag per partition; [`offsets`]: partition offsets in bulk.
//! - [`capacity`]: the partition, replication and retention-storage formulas.
//! - [`copier`]: the raw → bronze consume-transform-produce stage, exactly-once or at-least-once.
//! - [`handle`]: [`handle::Platform`], what a run talks to: the Kafka connection, the
//!   embedded brokers, the Flink session cluster and the lakehouse catalog, started by `up`
//!   and `run` alike.
//! - [`file`](mod@file): a platform file's sections: an existing Kafka cluster with its client
//!   properties, a Flink session cluster, the lakehouse catalog.
//! - [`secrets`]: `${env:NAME}` and `${file:PATH}` references in client settings.
//! - [`runtime`]: the embedded local platform: Kafka brokers and a Flink session cluster
//!   (JobManager, TaskManager, SQL Gateway) as local processes.
//! - [`pipeline`]: the lakehouse pipeline as Flink SQL (bronze, silver, gold; Iceberg and
//!   Kafka sinks), submitted through the SQL Gateway and watched through Flink's REST API.
//! - [`duration`] and [`problem`]: what every input file shares: durations as humans write
//!   them, and [`problem::Problem`], a value that parsed but cannot be used, with the path to
//!   point at.
//!
//! ```
//! use streamproof_platform::events::{EventHeader, EventSchema, TransactionEvent};
//! use streamproof_platform::routing::route;
//!
//! let event: EventSchema = TransactionEvent {
//!     header: EventHeader::new("payment-gateway", chrono::Utc::now()),
//!     transaction_id: "txn-123".into(),
//!     account_id: Some("acc-7".into()),
//!     amount: 99.99,
//!     currency: "USD".into(),
//!     transaction_type: "payment".into(),
//! }
//! .into();
//! assert!(event.validate().is_empty());
//! let route = route(&event).unwrap();
//! assert_eq!((route.topic, route.key.as_deref()), ("raw-transactions", Some("acc-7")));
//! ```
//!
//! This crate knows nothing of scenarios, load generation, faults, verification or reports;
//! those crates build on it, never the other way round.
#![deny(missing_docs)]

pub mod admin;
pub mod batch;
pub mod capacity;
pub mod connection;
#[cfg(feature = "testcontainers")]
pub mod containers;
pub mod copier;
pub mod duration;
pub mod events;
pub mod file;
pub mod handle;
pub mod lag;
pub mod monitoring;
pub mod offsets;
pub mod pipeline;
pub mod problem;
pub mod producer;
pub mod profiles;
pub mod routing;
pub mod runtime;
pub mod schema_registry;
pub mod schemas;
pub mod secrets;
pub mod topics;
