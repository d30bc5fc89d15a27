//! Reading the reference pipeline's Iceberg tables straight from a Hadoop-catalog warehouse
//! directory, the layout Flink's Iceberg connector writes with `catalog-type = hadoop`:
//!
//! ```text
//! <warehouse>/<namespace>/<table>/metadata/version-hint.text   (N)
//! <warehouse>/<namespace>/<table>/metadata/vN.metadata.json     (current metadata)
//! <warehouse>/<namespace>/<table>/data/*.parquet
//! ```
//!
//! The `iceberg` crate has no Hadoop catalog, so this module finds the current metadata file
//! the way Iceberg's `HadoopTableOperations` does (the hint, then any newer `vN+1` already
//! written, or the highest version listed when the hint is missing or unreadable), loads it
//! as a read-only `StaticTable` and scans the current snapshot with column projection.
//! Flink writes locations as `file:/abs/path` (one slash); the crate's local file system
//! storage accepts that, `file:///abs/path` and plain absolute paths alike.
//!
//! Everything here is blocking. Each call builds its own current-thread tokio runtime and
//! drops it before returning; when called from inside a tokio runtime it runs that runtime
//! on a scoped helper thread instead, so it never panics with "cannot start a runtime from
//! within a runtime" (but it still blocks the calling thread: from async code prefer
//! `spawn_blocking`).
//!
//! Rows are read from one snapshot: the table's current one when the call loaded its
//! metadata. [`TableRows::snapshot`] says which, so counts can be compared with that
//! snapshot's summary without racing a writer that commits in between.

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{
    ArrowPrimitiveType, Decimal128Type, Float64Type, Int32Type, Int64Type, TimestampMicrosecondType,
};
use arrow_array::{Array, ArrayRef, MapArray, PrimitiveArray, RecordBatch};
use futures::TryStreamExt;
use iceberg::io::FileIO;
use iceberg::spec::TableMetadata;
use iceberg::table::{StaticTable, Table};
use iceberg::TableIdent;
use rdkafka::message::{Header, Headers};
use serde::{Deserialize, Serialize};
use streamproof_loadgen::ledger::RecordMeta;

mod catalog;
mod columns;
mod paimon;
#[cfg(test)]
mod tests;

pub use catalog::*;
pub use columns::*;

/// The file naming the current metadata version of a Hadoop-catalog table.
pub const VERSION_HINT: &str = "version-hint.text";

/// Namespace and table of the bronze layer.
pub const BRONZE: (&str, &str) = ("bronze", "events");
/// Namespace and table of the silver layer.
pub const SILVER: (&str, &str) = ("silver", "events");
/// Namespace and table of the gold layer.
pub const GOLD: (&str, &str) = ("gold", "metrics");

/// Snapshot summary property Flink's committer sets to the last checkpoint it committed.
pub const FLINK_MAX_CHECKPOINT: &str = "flink.max-committed-checkpoint-id";

/// Why a table could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LakehouseError {
    /// The table's directory has no metadata version.
    #[error("{table}: no such Iceberg table (no metadata/v*.metadata.json)")]
    NoTable {
        /// The table directory.
        table: String,
    },
    /// A file system operation failed.
    #[error("{table}: {what}: {source}")]
    Io {
        /// The table directory (or warehouse).
        table: String,
        /// What was being done.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The iceberg crate failed (metadata, manifests, data files).
    #[error("{table}: {what}: {source}")]
    Iceberg {
        /// The table directory.
        table: String,
        /// What was being done.
        what: String,
        /// The cause (boxed: the crate's error is large).
        source: Box<iceberg::Error>,
    },
    /// The table's layout, schema or data is not what the reader expects.
    #[error("{table}: {what}")]
    Invalid {
        /// The table directory.
        table: String,
        /// What is wrong.
        what: String,
    },
    /// The runtime that drives the iceberg crate could not start.
    #[error("start a tokio runtime to read the lakehouse: {0}")]
    Runtime(std::io::Error),
}

type Result<T> = std::result::Result<T, LakehouseError>;

/// The current snapshot of a table, from its metadata alone (no data read).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotSummary {
    /// The metadata version N (`vN.metadata.json`).
    pub metadata_version: u64,
    /// The metadata file read.
    pub metadata_file: PathBuf,
    /// The snapshot id.
    pub snapshot_id: i64,
    /// The snapshot's sequence number.
    pub sequence_number: i64,
    /// When the snapshot was committed, ms since the Unix epoch.
    pub committed_at_ms: i64,
    /// The snapshot's operation (`append`, `overwrite`, ...).
    pub operation: String,
    /// `total-records`: rows in the table as of this snapshot (deletes not applied).
    pub total_records: Option<u64>,
    /// `added-records` of this snapshot.
    pub added_records: Option<u64>,
    /// `total-data-files`.
    pub total_data_files: Option<u64>,
    /// `total-delete-files`: non-zero means `total_records` overcounts live rows.
    pub total_delete_files: Option<u64>,
    /// `flink.max-committed-checkpoint-id`, when Flink committed the snapshot.
    pub max_committed_checkpoint_id: Option<i64>,
    /// `flink.job-id`, when Flink committed the snapshot.
    pub flink_job_id: Option<String>,
}

/// Rows read from one snapshot of a table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableRows<R> {
    /// The snapshot read; `None` when the table has no snapshot yet (then `rows` is empty).
    pub snapshot: Option<SnapshotSummary>,
    /// The rows, in scan order (no particular order).
    pub rows: Vec<R>,
}

/// An exact decimal: `unscaled × 10^-scale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Decimal {
    /// The unscaled integer.
    pub unscaled: i128,
    /// Digits after the point.
    pub scale: i8,
}

impl fmt::Display for Decimal {
    /// The exact plain decimal text, e.g. `12.500000000` at scale 9 (no exponent, no rounding).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.unscaled < 0 { "-" } else { "" };
        let digits = self.unscaled.unsigned_abs().to_string();
        if self.scale <= 0 {
            let zeros = "0".repeat(usize::from(self.scale.unsigned_abs()));
            return if self.unscaled == 0 {
                write!(f, "0")
            } else {
                write!(f, "{sign}{digits}{zeros}")
            };
        }
        let scale = usize::from(self.scale.unsigned_abs());
        let padded = format!("{digits:0>width$}", width = scale + 1);
        let (int, frac) = padded.split_at(padded.len() - scale);
        write!(f, "{sign}{int}.{frac}")
    }
}

impl Decimal {
    /// The nearest `f64` (for tolerance comparisons; use the integer for exact ones).
    pub fn to_f64(self) -> f64 {
        self.unscaled as f64 / 10f64.powi(i32::from(self.scale))
    }
}

/// The Kafka headers a bronze row kept (an Iceberg map: one value per key, order not kept).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowHeaders(pub Vec<(String, Option<Vec<u8>>)>);

impl RowHeaders {
    /// The value of header `key`, if present and not null.
    pub fn value(&self, key: &str) -> Option<&[u8]> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.as_deref())
    }

    /// The streamproof headers decoded, as the Kafka checkers decode them.
    pub fn meta(&self) -> Option<RecordMeta> {
        RecordMeta::from_headers(self)
    }
}

impl Headers for RowHeaders {
    fn count(&self) -> usize {
        self.0.len()
    }

    fn try_get(&self, idx: usize) -> Option<Header<'_, &[u8]>> {
        self.0.get(idx).map(|(key, value)| Header {
            key: key.as_str(),
            value: value.as_deref(),
        })
    }
}

/// One row of `bronze.events`: a raw Kafka record and its coordinates.
#[derive(Debug, Clone, PartialEq)]
pub struct BronzeRow {
    /// The raw topic.
    pub topic: String,
    /// Its partition.
    pub partition: i32,
    /// Its offset.
    pub offset: i64,
    /// The record's Kafka timestamp, µs since the epoch.
    pub kafka_timestamp_us: Option<i64>,
    /// The record key as text.
    pub key: Option<String>,
    /// The record value as text (`None` when not read: see [`BronzeRead::raw_value`]).
    pub raw_value: Option<String>,
    /// The streamproof headers decoded (`None`: not a streamproof record, or no headers).
    pub meta: Option<RecordMeta>,
    /// All headers (empty unless [`BronzeRead::headers`]).
    pub headers: RowHeaders,
    /// When bronze ingested it, µs since the epoch.
    pub ingest_time_us: i64,
}

impl BronzeRow {
    /// The `event_id` field of the JSON value, when the value was read and has one (the
    /// fallback when a record carries no streamproof headers).
    pub fn event_id(&self) -> Option<String> {
        self.raw_value.as_deref().and_then(json_event_id)
    }
}

/// The `event_id` string field of a JSON object, if it parses and has one.
pub fn json_event_id(value: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Id {
        event_id: Option<serde_json::Value>,
    }
    match serde_json::from_str::<Id>(value).ok()?.event_id? {
        serde_json::Value::String(id) => Some(id),
        _ => None,
    }
}

/// Which optional parts of a bronze row to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BronzeRead {
    /// Read `raw_value` (the largest column).
    pub raw_value: bool,
    /// Keep every header, not only the decoded [`BronzeRow::meta`].
    pub headers: bool,
}

impl Default for BronzeRead {
    fn default() -> Self {
        BronzeRead {
            raw_value: true,
            headers: false,
        }
    }
}

/// One row of `silver.events`: a valid, deduplicated event. The Kafka coordinates are those
/// of the raw record it came from, so they match the ledger's acknowledged positions.
#[derive(Debug, Clone, PartialEq)]
pub struct SilverRow {
    /// The event id.
    pub event_id: String,
    /// The event type.
    pub event_type: String,
    /// The event time, µs since the epoch.
    pub event_ts_us: i64,
    /// The metric the gold layer aggregates it under.
    pub metric_name: String,
    /// The metric value as a double.
    pub metric_value: Option<f64>,
    /// The metric value, exact.
    pub metric_value_dec: Option<Decimal>,
    /// The raw topic.
    pub topic: String,
    /// Its partition.
    pub partition: i32,
    /// Its offset.
    pub offset: i64,
    /// When silver processed it, µs since the epoch.
    pub processed_at_us: i64,
    /// The raw value (`None` unless asked for).
    pub raw_value: Option<String>,
}

/// One row of `gold.metrics`: one (window, event type, metric) aggregate.
#[derive(Debug, Clone, PartialEq)]
pub struct GoldRow {
    /// Window start, µs since the epoch (a `timestamp` without zone, written in UTC).
    pub window_start_us: i64,
    /// Window end (exclusive), µs since the epoch.
    pub window_end_us: i64,
    /// The event type.
    pub event_type: String,
    /// The metric name.
    pub metric_name: String,
    /// Events in the group.
    pub event_count: i64,
    /// Of those, with a value.
    pub value_count: i64,
    /// Sum of the values as a double.
    pub value_sum: Option<f64>,
    /// Sum of the values, exact.
    pub value_sum_dec: Option<Decimal>,
    /// Mean of the values.
    pub value_avg: Option<f64>,
    /// Smallest value.
    pub value_min: Option<f64>,
    /// Largest value.
    pub value_max: Option<f64>,
    /// When the aggregate was computed, µs since the epoch.
    pub computed_at_us: i64,
}

/// How often keys repeat among rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicates<K> {
    /// Rows counted.
    pub rows: usize,
    /// Distinct keys.
    pub distinct: usize,
    /// Rows beyond the first for their key (`rows - distinct`).
    pub extra_copies: usize,
    /// Every repeated key with its number of rows, in order of first appearance.
    pub repeated: Vec<(K, usize)>,
}

/// Counts the keys `key` gives `rows`.
pub fn duplicates_by<T, K: Eq + Hash + Clone>(
    rows: &[T],
    mut key: impl FnMut(&T) -> K,
) -> Duplicates<K> {
    let mut counts: HashMap<K, (usize, usize)> = HashMap::with_capacity(rows.len());
    for (index, row) in rows.iter().enumerate() {
        counts.entry(key(row)).or_insert((index, 0)).1 += 1;
    }
    let distinct = counts.len();
    let mut repeated: Vec<(usize, K, usize)> = counts
        .into_iter()
        .filter(|(_, (_, n))| *n > 1)
        .map(|(k, (first, n))| (first, k, n))
        .collect();
    repeated.sort_by_key(|(first, _, _)| *first);
    Duplicates {
        rows: rows.len(),
        distinct,
        extra_copies: rows.len() - distinct,
        repeated: repeated.into_iter().map(|(_, k, n)| (k, n)).collect(),
    }
}
