//! The platform's metric names, as the seed's monitoring section gives them, and the
//! copier's own. Every process of the platform that streamproof runs records under these
//! names through the `metrics` facade; nothing is recorded unless the program installed a
//! recorder (`--metrics-addr`).

/// The seed's produce latency, intended send to acknowledgement, per topic (seconds).
pub const PRODUCER_LATENCY: &str = "kafka_producer_latency_seconds";
/// The seed's consumed records, per topic, consumer group and status (`success`, `error`).
pub const MESSAGES_CONSUMED: &str = "kafka_messages_consumed_total";
/// The copier's batches, per group and outcome (`committed`, `aborted`).
pub const COPIER_BATCHES: &str = "streamproof_copier_batches_total";
