//! The checker: reads what the platform wrote and compares it with the load generator's
//! ledger, with exact counts and example ids per anomaly.
//!
//! - [`kafka::check_kafka`] reads the raw topics with read_committed from the run's start
//!   offsets and computes: lost acknowledgements, phantoms (failed sends that appeared),
//!   duplicates (extra copies of one send), offset consistency (each acknowledged send at the
//!   partition and offset it was acknowledged at), per-key order within a partition, and how
//!   many deliberate duplicates, invalid and late events are present as sent. Records of
//!   other runs or producers are counted as foreign, never as anomalies. It waits up to a
//!   drain timeout for acknowledged records that are not visible yet.
//! - [`lakehouse::Warehouse`] reads the pipeline's tables (bronze, silver, gold) with their
//!   current snapshot's summary: Iceberg from a Hadoop-catalog warehouse directory or a REST
//!   catalog, Paimon from a file system catalog's warehouse directory.
//! - [`bronze::check_bronze`]: the `bronze-events` topic holds each raw record exactly once.
//! - [`pipeline::check_lakehouse`]: `bronze.events` each raw record once, `silver.events`
//!   exactly the valid event ids present in raw, `dlq-events` each invalid record once, and
//!   how soon events became visible in silver; [`gold::verify_gold`]: every closed
//!   `gold.metrics` window equals the windows recomputed by replaying the run's events.
//! - [`expect`] holds a scenario's expectations and [`expect::evaluate`] turns them and the
//!   observations into [`expect::Check`]s with expected and actual values.
//!
//! The ground truth is `streamproof_loadgen::ledger`: this crate reads that contract and the
//! record headers, nothing else of the generator. It never generates load and never formats
//! reports.
#![deny(missing_docs)]

pub mod bronze;
pub mod expect;
pub mod gold;
pub mod kafka;
pub mod lakehouse;
pub mod pipeline;
mod read;
pub mod schema;
pub use read::cost;
pub mod sent;
pub mod summary;
