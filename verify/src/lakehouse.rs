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

/// A Hadoop-catalog warehouse directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warehouse {
    root: PathBuf,
}

/// Where a table's current metadata is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataLocation {
    /// The version N.
    pub version: u64,
    /// `<table>/metadata/vN.metadata.json` (or `vN.gz.metadata.json`).
    pub file: PathBuf,
}

impl Warehouse {
    /// The warehouse at `root` (a directory, or a `file:` URL as given to Flink's catalog).
    /// Nothing is read yet.
    pub fn new(root: impl AsRef<Path>) -> Self {
        let root = root.as_ref();
        let root = root
            .to_str()
            .and_then(strip_file_scheme)
            .map(PathBuf::from)
            .unwrap_or_else(|| root.to_path_buf());
        let root = std::path::absolute(&root).unwrap_or(root);
        Warehouse { root }
    }

    /// The warehouse directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory of `namespace.table`; a dotted namespace is nested directories.
    pub fn table_dir(&self, namespace: &str, table: &str) -> Result<PathBuf> {
        let mut dir = self.root.clone();
        for level in namespace.split('.').chain([table]) {
            if level.is_empty() || level == "." || level == ".." || level.contains(['/', '\\']) {
                return Err(LakehouseError::Invalid {
                    table: format!("{}/{namespace}/{table}", self.root.display()),
                    what: format!("`{level}` is not a namespace or table name"),
                });
            }
            dir.push(level);
        }
        Ok(dir)
    }

    /// Whether the table has at least one metadata version.
    pub fn table_exists(&self, namespace: &str, table: &str) -> Result<bool> {
        let dir = self.table_dir(namespace, table)?;
        Ok(current_metadata(&dir)?.is_some())
    }

    /// The table's current metadata file.
    pub fn metadata_location(&self, namespace: &str, table: &str) -> Result<MetadataLocation> {
        let dir = self.table_dir(namespace, table)?;
        current_metadata(&dir)?.ok_or_else(|| LakehouseError::NoTable {
            table: dir.display().to_string(),
        })
    }

    /// The current snapshot's summary, from the metadata only; `None` when the table has no
    /// snapshot yet. A missing table is [`LakehouseError::NoTable`].
    pub fn table_snapshot_summary(
        &self,
        namespace: &str,
        table: &str,
    ) -> Result<Option<SnapshotSummary>> {
        let dir = self.table_dir(namespace, table)?;
        let location = self.metadata_location(namespace, table)?;
        let name = dir.display().to_string();
        run(|runtime| {
            runtime.block_on(async {
                let metadata = load_metadata(&name, &location).await?;
                Ok(summary(&location, &metadata))
            })
        })?
    }

    /// Reads `bronze.events` with the default [`BronzeRead`] (raw value, decoded headers).
    pub fn read_bronze(&self) -> Result<TableRows<BronzeRow>> {
        let mut rows = Vec::new();
        let snapshot = self.visit_bronze(BronzeRead::default(), |row| rows.push(row))?;
        Ok(TableRows { snapshot, rows })
    }

    /// Streams `bronze.events` row by row into `visit` (memory bounded by one batch);
    /// returns the snapshot read.
    pub fn visit_bronze(
        &self,
        read: BronzeRead,
        mut visit: impl FnMut(BronzeRow) + Send,
    ) -> Result<Option<SnapshotSummary>> {
        let mut columns = vec![
            "kafka_topic",
            "kafka_partition",
            "kafka_offset",
            "kafka_timestamp",
            "record_key",
            "headers",
            "ingest_time",
        ];
        if read.raw_value {
            columns.push("raw_value");
        }
        self.scan(BRONZE, &columns, |batch| {
            let topic = batch.strings("kafka_topic")?;
            let partition = batch.primitive::<Int32Type>("kafka_partition")?;
            let offset = batch.primitive::<Int64Type>("kafka_offset")?;
            let timestamp = batch.primitive::<TimestampMicrosecondType>("kafka_timestamp")?;
            let key = batch.strings("record_key")?;
            let headers = batch.headers("headers")?;
            let ingest = batch.primitive::<TimestampMicrosecondType>("ingest_time")?;
            let value = if read.raw_value {
                Some(batch.strings("raw_value")?)
            } else {
                None
            };
            for row in 0..batch.rows() {
                let all = headers.row(row);
                let meta = all.meta();
                visit(BronzeRow {
                    topic: batch.required(&topic, "kafka_topic", row)?.to_owned(),
                    partition: batch.required_value(partition, "kafka_partition", row)?,
                    offset: batch.required_value(offset, "kafka_offset", row)?,
                    kafka_timestamp_us: value_at(timestamp, row),
                    key: key.get(row).map(str::to_owned),
                    raw_value: value.as_ref().and_then(|v| v.get(row)).map(str::to_owned),
                    meta,
                    headers: if read.headers {
                        all
                    } else {
                        RowHeaders::default()
                    },
                    ingest_time_us: batch.required_value(ingest, "ingest_time", row)?,
                });
            }
            Ok(())
        })
    }

    /// Reads `silver.events` without the raw values.
    pub fn read_silver(&self) -> Result<TableRows<SilverRow>> {
        let mut rows = Vec::new();
        let snapshot = self.visit_silver(false, |row| rows.push(row))?;
        Ok(TableRows { snapshot, rows })
    }

    /// Streams `silver.events` row by row into `visit`, with the raw values when
    /// `raw_value`; returns the snapshot read.
    pub fn visit_silver(
        &self,
        raw_value: bool,
        mut visit: impl FnMut(SilverRow) + Send,
    ) -> Result<Option<SnapshotSummary>> {
        let mut columns = vec![
            "event_id",
            "event_type",
            "event_ts",
            "metric_name",
            "metric_value",
            "metric_value_dec",
            "kafka_topic",
            "kafka_partition",
            "kafka_offset",
            "processed_at",
        ];
        if raw_value {
            columns.push("raw_value");
        }
        self.scan(SILVER, &columns, |batch| {
            let event_id = batch.strings("event_id")?;
            let event_type = batch.strings("event_type")?;
            let event_ts = batch.primitive::<TimestampMicrosecondType>("event_ts")?;
            let metric_name = batch.strings("metric_name")?;
            let metric_value = batch.primitive::<Float64Type>("metric_value")?;
            let metric_dec = batch.primitive::<Decimal128Type>("metric_value_dec")?;
            let dec_scale = metric_dec.scale();
            let topic = batch.strings("kafka_topic")?;
            let partition = batch.primitive::<Int32Type>("kafka_partition")?;
            let offset = batch.primitive::<Int64Type>("kafka_offset")?;
            let processed = batch.primitive::<TimestampMicrosecondType>("processed_at")?;
            let value = if raw_value {
                Some(batch.strings("raw_value")?)
            } else {
                None
            };
            for row in 0..batch.rows() {
                visit(SilverRow {
                    event_id: batch.required(&event_id, "event_id", row)?.to_owned(),
                    event_type: batch.required(&event_type, "event_type", row)?.to_owned(),
                    event_ts_us: batch.required_value(event_ts, "event_ts", row)?,
                    metric_name: batch.required(&metric_name, "metric_name", row)?.to_owned(),
                    metric_value: value_at(metric_value, row),
                    metric_value_dec: value_at(metric_dec, row).map(|unscaled| Decimal {
                        unscaled,
                        scale: dec_scale,
                    }),
                    topic: batch.required(&topic, "kafka_topic", row)?.to_owned(),
                    partition: batch.required_value(partition, "kafka_partition", row)?,
                    offset: batch.required_value(offset, "kafka_offset", row)?,
                    processed_at_us: batch.required_value(processed, "processed_at", row)?,
                    raw_value: value.as_ref().and_then(|v| v.get(row)).map(str::to_owned),
                });
            }
            Ok(())
        })
    }

    /// Reads `gold.metrics`.
    pub fn read_gold(&self) -> Result<TableRows<GoldRow>> {
        let columns = [
            "window_start",
            "window_end",
            "event_type",
            "metric_name",
            "event_count",
            "value_count",
            "value_sum",
            "value_sum_dec",
            "value_avg",
            "value_min",
            "value_max",
            "computed_at",
        ];
        let mut rows = Vec::new();
        let snapshot = self.scan(GOLD, &columns, |batch| {
            let start = batch.primitive::<TimestampMicrosecondType>("window_start")?;
            let end = batch.primitive::<TimestampMicrosecondType>("window_end")?;
            let event_type = batch.strings("event_type")?;
            let metric_name = batch.strings("metric_name")?;
            let event_count = batch.primitive::<Int64Type>("event_count")?;
            let value_count = batch.primitive::<Int64Type>("value_count")?;
            let sum = batch.primitive::<Float64Type>("value_sum")?;
            let sum_dec = batch.primitive::<Decimal128Type>("value_sum_dec")?;
            let dec_scale = sum_dec.scale();
            let avg = batch.primitive::<Float64Type>("value_avg")?;
            let min = batch.primitive::<Float64Type>("value_min")?;
            let max = batch.primitive::<Float64Type>("value_max")?;
            let computed = batch.primitive::<TimestampMicrosecondType>("computed_at")?;
            for row in 0..batch.rows() {
                rows.push(GoldRow {
                    window_start_us: batch.required_value(start, "window_start", row)?,
                    window_end_us: batch.required_value(end, "window_end", row)?,
                    event_type: batch.required(&event_type, "event_type", row)?.to_owned(),
                    metric_name: batch.required(&metric_name, "metric_name", row)?.to_owned(),
                    event_count: batch.required_value(event_count, "event_count", row)?,
                    value_count: batch.required_value(value_count, "value_count", row)?,
                    value_sum: value_at(sum, row),
                    value_sum_dec: value_at(sum_dec, row).map(|unscaled| Decimal {
                        unscaled,
                        scale: dec_scale,
                    }),
                    value_avg: value_at(avg, row),
                    value_min: value_at(min, row),
                    value_max: value_at(max, row),
                    computed_at_us: batch.required_value(computed, "computed_at", row)?,
                });
            }
            Ok(())
        })?;
        Ok(TableRows { snapshot, rows })
    }

    /// Scans the current snapshot of `(namespace, table)` with `columns` projected, batch by
    /// batch. Returns the snapshot read; no snapshot means no batches.
    pub fn scan(
        &self,
        (namespace, table): (&str, &str),
        columns: &[&str],
        mut on_batch: impl FnMut(&BatchColumns<'_>) -> Result<()> + Send,
    ) -> Result<Option<SnapshotSummary>> {
        let dir = self.table_dir(namespace, table)?;
        let location = self.metadata_location(namespace, table)?;
        let name = dir.display().to_string();
        let ident = TableIdent::from_strs(namespace.split('.').chain([table]))
            .map_err(iceberg_error(&name, "name the table"))?;
        run(|runtime| {
            runtime.block_on(async {
                let metadata = load_metadata(&name, &location).await?;
                let Some(snapshot) = summary(&location, &metadata) else {
                    return Ok(None);
                };
                let schema = metadata.current_schema();
                if let Some(missing) = columns.iter().find(|c| schema.field_by_name(c).is_none()) {
                    return Err(LakehouseError::Invalid {
                        table: name.clone(),
                        what: format!("the table has no column `{missing}`"),
                    });
                }
                let table = StaticTable::from_metadata(metadata, ident, FileIO::new_with_fs())
                    .await
                    .map_err(iceberg_error(&name, "open the table"))?
                    .into_table();
                scan_table(&name, &table, snapshot.snapshot_id, columns, &mut on_batch).await?;
                Ok(Some(snapshot))
            })
        })?
    }
}

async fn scan_table(
    name: &str,
    table: &Table,
    snapshot_id: i64,
    columns: &[&str],
    on_batch: &mut (impl FnMut(&BatchColumns<'_>) -> Result<()> + Send),
) -> Result<()> {
    let scan = table
        .scan()
        .snapshot_id(snapshot_id)
        .select(columns.iter().copied())
        .build()
        .map_err(iceberg_error(name, "plan the scan"))?;
    let mut batches = scan
        .to_arrow()
        .await
        .map_err(iceberg_error(name, "start reading the data files"))?;
    while let Some(batch) = batches
        .try_next()
        .await
        .map_err(iceberg_error(name, "read the data files"))?
    {
        on_batch(&BatchColumns {
            table: name,
            batch: &batch,
        })?;
    }
    Ok(())
}

async fn load_metadata(name: &str, location: &MetadataLocation) -> Result<TableMetadata> {
    let file = location
        .file
        .to_str()
        .ok_or_else(|| LakehouseError::Invalid {
            table: name.to_owned(),
            what: format!("{} is not UTF-8", location.file.display()),
        })?;
    TableMetadata::read_from(&FileIO::new_with_fs(), file)
        .await
        .map_err(iceberg_error(name, format!("read {file}")))
}

fn summary(location: &MetadataLocation, metadata: &TableMetadata) -> Option<SnapshotSummary> {
    let snapshot = metadata.current_snapshot()?;
    let summary = snapshot.summary();
    let property = |key: &str| summary.additional_properties.get(key);
    let number = |key: &str| property(key).and_then(|v| v.trim().parse::<u64>().ok());
    Some(SnapshotSummary {
        metadata_version: location.version,
        metadata_file: location.file.clone(),
        snapshot_id: snapshot.snapshot_id(),
        sequence_number: snapshot.sequence_number(),
        committed_at_ms: snapshot.timestamp_ms(),
        operation: summary.operation.as_str().to_owned(),
        total_records: number("total-records"),
        added_records: number("added-records"),
        total_data_files: number("total-data-files"),
        total_delete_files: number("total-delete-files"),
        max_committed_checkpoint_id: property(FLINK_MAX_CHECKPOINT)
            .and_then(|v| v.trim().parse().ok()),
        flink_job_id: property("flink.job-id").cloned(),
    })
}

fn iceberg_error(
    table: &str,
    what: impl Into<String>,
) -> impl FnOnce(iceberg::Error) -> LakehouseError {
    let table = table.to_owned();
    let what = what.into();
    move |source| LakehouseError::Iceberg {
        table,
        what,
        source: Box::new(source),
    }
}

/// `file:/p`, `file:///p` → `/p`; `None` for anything else.
fn strip_file_scheme(location: &str) -> Option<&str> {
    let rest = location.strip_prefix("file:")?;
    if let Some(path) = rest.strip_prefix("//") {
        // `file:///p` has an empty authority; `file://host/p` is not local.
        return path.starts_with('/').then_some(path);
    }
    Some(rest)
}

/// Parses the content of `version-hint.text`: one non-negative integer, surrounding
/// whitespace allowed.
pub fn parse_version_hint(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

/// The version N of a Hadoop metadata file name (`vN.metadata.json`, `vN.gz.metadata.json`).
pub fn metadata_file_version(file_name: &str) -> Option<u64> {
    let stem = file_name
        .strip_prefix('v')?
        .strip_suffix(".metadata.json")?;
    let digits = stem.strip_suffix(".gz").unwrap_or(stem);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The current metadata of the table in `table_dir`, found as Iceberg's Hadoop catalog finds
/// it: the version hint, or (missing or unreadable hint) the highest version listed; then
/// any newer versions already written after it. `None` when there is no version at all.
pub fn current_metadata(table_dir: &Path) -> Result<Option<MetadataLocation>> {
    let name = || table_dir.display().to_string();
    let metadata_dir = table_dir.join("metadata");
    if !metadata_dir.is_dir() {
        return Ok(None);
    }
    let hint = match std::fs::read_to_string(metadata_dir.join(VERSION_HINT)) {
        Ok(text) => parse_version_hint(&text),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => {
            return Err(LakehouseError::Io {
                table: name(),
                what: format!("read metadata/{VERSION_HINT}"),
                source,
            })
        }
    };
    let mut version = match hint {
        Some(version) => version,
        None => match highest_listed(&metadata_dir).map_err(|source| LakehouseError::Io {
            table: name(),
            what: "list metadata/".to_owned(),
            source,
        })? {
            Some(version) => version,
            None => return Ok(None),
        },
    };
    while version < u64::MAX && metadata_file(&metadata_dir, version + 1).is_some() {
        version += 1;
    }
    match metadata_file(&metadata_dir, version) {
        Some(file) => Ok(Some(MetadataLocation { version, file })),
        None => Err(LakehouseError::Invalid {
            table: name(),
            what: format!(
                "{VERSION_HINT} names version {version} but \
                 metadata/v{version}.metadata.json is missing"
            ),
        }),
    }
}

fn metadata_file(metadata_dir: &Path, version: u64) -> Option<PathBuf> {
    [
        format!("v{version}.metadata.json"),
        format!("v{version}.gz.metadata.json"),
    ]
    .into_iter()
    .map(|file| metadata_dir.join(file))
    .find(|path| path.is_file())
}

fn highest_listed(metadata_dir: &Path) -> std::io::Result<Option<u64>> {
    let mut highest = None;
    for entry in std::fs::read_dir(metadata_dir)? {
        let entry = entry?;
        if let Some(version) = entry.file_name().to_str().and_then(metadata_file_version) {
            highest = highest.max(Some(version));
        }
    }
    Ok(highest)
}

/// Runs `job` with a fresh current-thread runtime: on this thread, or on a scoped helper
/// thread when this thread is already inside a tokio runtime.
fn run<T: Send>(job: impl FnOnce(&tokio::runtime::Runtime) -> T + Send) -> Result<T> {
    let go = move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .map_err(LakehouseError::Runtime)?;
        Ok(job(&runtime))
    };
    if tokio::runtime::Handle::try_current().is_err() {
        return go();
    }
    std::thread::scope(|scope| match scope.spawn(go).join() {
        Ok(result) => result,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}

/// One record batch of a scan, with typed column access; errors name the table and column.
pub struct BatchColumns<'a> {
    table: &'a str,
    batch: &'a RecordBatch,
}

/// A string column (Utf8, LargeUtf8 or Utf8View).
pub enum Strings<'a> {
    /// `Utf8`.
    Utf8(&'a arrow_array::StringArray),
    /// `LargeUtf8`.
    Large(&'a arrow_array::LargeStringArray),
    /// `Utf8View`.
    View(&'a arrow_array::StringViewArray),
}

impl Strings<'_> {
    /// The value at `row`; `None` when null.
    pub fn get(&self, row: usize) -> Option<&str> {
        match self {
            Strings::Utf8(a) => a.is_valid(row).then(|| a.value(row)),
            Strings::Large(a) => a.is_valid(row).then(|| a.value(row)),
            Strings::View(a) => a.is_valid(row).then(|| a.value(row)),
        }
    }
}

/// A `map<string, binary>` headers column.
pub struct HeaderColumn<'a> {
    map: &'a MapArray,
    keys: Strings<'a>,
    values: Bytes<'a>,
}

enum Bytes<'a> {
    Binary(&'a arrow_array::BinaryArray),
    Large(&'a arrow_array::LargeBinaryArray),
    View(&'a arrow_array::BinaryViewArray),
    Text(Strings<'a>),
}

impl Bytes<'_> {
    fn get(&self, i: usize) -> Option<&[u8]> {
        match self {
            Bytes::Binary(a) => a.is_valid(i).then(|| a.value(i)),
            Bytes::Large(a) => a.is_valid(i).then(|| a.value(i)),
            Bytes::View(a) => a.is_valid(i).then(|| a.value(i)),
            Bytes::Text(s) => s.get(i).map(str::as_bytes),
        }
    }
}

impl HeaderColumn<'_> {
    /// The headers of `row` (empty when the map is null).
    pub fn row(&self, row: usize) -> RowHeaders {
        if self.map.is_null(row) {
            return RowHeaders::default();
        }
        let offsets = self.map.value_offsets();
        let (Some(start), Some(end)) = (offsets.get(row), offsets.get(row + 1)) else {
            return RowHeaders::default();
        };
        let (start, end) = (
            usize::try_from(*start).unwrap_or(0),
            usize::try_from(*end).unwrap_or(0),
        );
        RowHeaders(
            (start..end)
                .filter_map(|i| {
                    let key = self.keys.get(i)?;
                    Some((key.to_owned(), self.values.get(i).map(<[u8]>::to_vec)))
                })
                .collect(),
        )
    }
}

impl<'a> BatchColumns<'a> {
    /// Rows in the batch.
    pub fn rows(&self) -> usize {
        self.batch.num_rows()
    }

    /// The whole batch.
    pub fn batch(&self) -> &'a RecordBatch {
        self.batch
    }

    fn invalid(&self, what: String) -> LakehouseError {
        LakehouseError::Invalid {
            table: self.table.to_owned(),
            what,
        }
    }

    /// The column `name`.
    pub fn column(&self, name: &str) -> Result<&'a ArrayRef> {
        self.batch
            .column_by_name(name)
            .ok_or_else(|| self.invalid(format!("the scan returned no column `{name}`")))
    }

    /// The string column `name`.
    pub fn strings(&self, name: &str) -> Result<Strings<'a>> {
        strings_of(self.column(name)?).ok_or_else(|| self.wrong_type(name, "a string"))
    }

    /// The primitive column `name` of arrow type `T` (timestamps: any zone).
    pub fn primitive<T: ArrowPrimitiveType>(&self, name: &str) -> Result<&'a PrimitiveArray<T>> {
        self.column(name)?
            .as_primitive_opt::<T>()
            .ok_or_else(|| self.wrong_type(name, std::any::type_name::<T>()))
    }

    /// The `map<string, binary>` column `name`.
    pub fn headers(&self, name: &str) -> Result<HeaderColumn<'a>> {
        let wrong = || self.wrong_type(name, "map<string, binary>");
        let map = self.column(name)?.as_map_opt().ok_or_else(wrong)?;
        let keys = strings_of(map.keys()).ok_or_else(wrong)?;
        let values = map.values();
        let values = if let Some(a) = values.as_binary_opt::<i32>() {
            Bytes::Binary(a)
        } else if let Some(a) = values.as_binary_opt::<i64>() {
            Bytes::Large(a)
        } else if let Some(a) = values.as_binary_view_opt() {
            Bytes::View(a)
        } else {
            Bytes::Text(strings_of(values).ok_or_else(wrong)?)
        };
        Ok(HeaderColumn { map, keys, values })
    }

    fn wrong_type(&self, name: &str, wanted: &str) -> LakehouseError {
        let actual = self
            .batch
            .schema_ref()
            .field_with_name(name)
            .map(|f| f.data_type().to_string())
            .unwrap_or_default();
        self.invalid(format!("column `{name}` is {actual}, expected {wanted}"))
    }

    /// The string at `row`, which the schema says is never null.
    pub fn required<'s>(&self, column: &'s Strings<'_>, name: &str, row: usize) -> Result<&'s str> {
        column
            .get(row)
            .ok_or_else(|| self.invalid(format!("row {row}: required column `{name}` is null")))
    }

    /// The value at `row`, which the schema says is never null.
    pub fn required_value<T: ArrowPrimitiveType>(
        &self,
        column: &PrimitiveArray<T>,
        name: &str,
        row: usize,
    ) -> Result<T::Native> {
        value_at(column, row)
            .ok_or_else(|| self.invalid(format!("row {row}: required column `{name}` is null")))
    }
}

fn strings_of(array: &ArrayRef) -> Option<Strings<'_>> {
    if let Some(a) = array.as_string_opt::<i32>() {
        Some(Strings::Utf8(a))
    } else if let Some(a) = array.as_string_opt::<i64>() {
        Some(Strings::Large(a))
    } else {
        array.as_string_view_opt().map(Strings::View)
    }
}

/// The value at `row`; `None` when null or out of range.
pub fn value_at<T: ArrowPrimitiveType>(
    column: &PrimitiveArray<T>,
    row: usize,
) -> Option<T::Native> {
    (row < column.len() && column.is_valid(row)).then(|| column.value(row))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_hints_parse_with_whitespace_only() {
        assert_eq!(parse_version_hint("28"), Some(28));
        assert_eq!(parse_version_hint(" 4\n"), Some(4));
        assert_eq!(parse_version_hint(""), None);
        assert_eq!(parse_version_hint("v4"), None);
        assert_eq!(parse_version_hint("-1"), None);
    }

    #[test]
    fn metadata_file_names_give_their_version() {
        assert_eq!(metadata_file_version("v1.metadata.json"), Some(1));
        assert_eq!(metadata_file_version("v28.metadata.json"), Some(28));
        assert_eq!(metadata_file_version("v3.gz.metadata.json"), Some(3));
        assert_eq!(metadata_file_version("00001-abc.metadata.json"), None);
        assert_eq!(metadata_file_version("v.metadata.json"), None);
        assert_eq!(metadata_file_version("v+1.metadata.json"), None);
        assert_eq!(metadata_file_version("version-hint.text"), None);
        assert_eq!(metadata_file_version("snap-1-1-x.avro"), None);
    }

    #[test]
    fn file_urls_become_paths() {
        assert_eq!(strip_file_scheme("file:/work/w"), Some("/work/w"));
        assert_eq!(strip_file_scheme("file:///work/w"), Some("/work/w"));
        assert_eq!(strip_file_scheme("file://host/w"), None);
        assert_eq!(strip_file_scheme("/work/w"), None);
        assert_eq!(Warehouse::new("file:/work/w").root(), Path::new("/work/w"));
        assert_eq!(
            Warehouse::new("file:///work/w").root(),
            Path::new("/work/w")
        );
        assert_eq!(Warehouse::new("/work/w").root(), Path::new("/work/w"));
        assert!(Warehouse::new("rel").root().is_absolute());
    }

    #[test]
    fn table_dirs_nest_namespaces_and_refuse_escapes() {
        let warehouse = Warehouse::new("/w");
        assert_eq!(
            warehouse.table_dir("bronze", "events").ok(),
            Some(PathBuf::from("/w/bronze/events"))
        );
        assert_eq!(
            warehouse.table_dir("a.b", "t").ok(),
            Some(PathBuf::from("/w/a/b/t"))
        );
        for (ns, table) in [
            ("..", "t"),
            ("a", "../t"),
            ("", "t"),
            ("a..b", "t"),
            ("a", ""),
        ] {
            assert!(
                matches!(
                    warehouse.table_dir(ns, table),
                    Err(LakehouseError::Invalid { .. })
                ),
                "{ns}.{table}"
            );
        }
    }

    fn touch(path: &Path) {
        std::fs::write(path, b"{}").expect("write a test file");
    }

    #[test]
    fn the_current_version_follows_the_hint_then_newer_files() {
        let dir = tempfile::tempdir().expect("temp dir");
        let table = dir.path().join("t");
        assert_eq!(current_metadata(&table).ok(), Some(None));
        let metadata = table.join("metadata");
        std::fs::create_dir_all(&metadata).expect("mkdir");
        assert_eq!(current_metadata(&table).ok(), Some(None));

        for v in 1..=3 {
            touch(&metadata.join(format!("v{v}.metadata.json")));
        }
        std::fs::write(metadata.join(VERSION_HINT), "2\n").expect("hint");
        // v3 exists beyond the hint: a writer committed it and has not updated the hint yet.
        let found = current_metadata(&table).ok().flatten().expect("found");
        assert_eq!(found.version, 3);
        assert_eq!(found.file, metadata.join("v3.metadata.json"));

        // A garbled hint falls back to listing the directory.
        std::fs::write(metadata.join(VERSION_HINT), "").expect("hint");
        assert_eq!(
            current_metadata(&table).ok().flatten().map(|m| m.version),
            Some(3)
        );
        std::fs::remove_file(metadata.join(VERSION_HINT)).expect("rm hint");
        assert_eq!(
            current_metadata(&table).ok().flatten().map(|m| m.version),
            Some(3)
        );

        // Compressed metadata counts as a version.
        touch(&metadata.join("v4.gz.metadata.json"));
        let found = current_metadata(&table).ok().flatten().expect("found");
        assert_eq!(found.version, 4);
        assert_eq!(found.file, metadata.join("v4.gz.metadata.json"));

        // A hint naming a missing version is an error that names the table.
        std::fs::write(metadata.join(VERSION_HINT), "9").expect("hint");
        let error = current_metadata(&table).expect_err("missing v9");
        assert!(error.to_string().contains("v9.metadata.json"), "{error}");
        assert!(
            error.to_string().contains(&table.display().to_string()),
            "{error}"
        );
    }

    #[test]
    fn missing_tables_are_reported_not_read_as_empty() {
        let dir = tempfile::tempdir().expect("temp dir");
        let warehouse = Warehouse::new(dir.path());
        assert!(!warehouse.table_exists("bronze", "events").expect("exists"));
        assert!(matches!(
            warehouse.read_gold(),
            Err(LakehouseError::NoTable { .. })
        ));
        assert!(matches!(
            warehouse.table_snapshot_summary("gold", "metrics"),
            Err(LakehouseError::NoTable { .. })
        ));
    }

    #[test]
    fn decimals_print_exactly() {
        let d = |unscaled, scale| Decimal { unscaled, scale }.to_string();
        assert_eq!(d(12_500_000_000, 9), "12.500000000");
        assert_eq!(d(-1, 9), "-0.000000001");
        assert_eq!(d(0, 9), "0.000000000");
        assert_eq!(d(123, 0), "123");
        assert_eq!(d(123, -2), "12300");
        assert_eq!(d(0, -2), "0");
        assert_eq!(d(i128::MIN, 9).len(), 41);
        assert!(
            (Decimal {
                unscaled: 12_500_000_000,
                scale: 9
            }
            .to_f64()
                - 12.5)
                .abs()
                < 1e-12
        );
    }

    #[test]
    fn headers_decode_like_kafka_headers() {
        let headers = RowHeaders(vec![
            ("streamproof.run".into(), Some(b"run-1".to_vec())),
            ("streamproof.send".into(), Some(b"1099511627781".to_vec())),
            ("streamproof.seq".into(), Some(b"7".to_vec())),
            ("streamproof.intended_us".into(), Some(b"123".to_vec())),
            ("other".into(), None),
        ]);
        let meta = headers.meta().expect("streamproof headers");
        assert_eq!(meta.run_id, "run-1");
        assert_eq!((meta.send_id.task(), meta.send_id.index()), (1, 5));
        assert_eq!(meta.key_seq, 7);
        assert_eq!(headers.value("streamproof.run"), Some(&b"run-1"[..]));
        assert_eq!(headers.value("other"), None);
        assert_eq!(RowHeaders::default().meta(), None);
    }

    #[test]
    fn event_ids_come_from_json_values() {
        assert_eq!(
            json_event_id(r#"{"event_id":"a-b","x":1}"#).as_deref(),
            Some("a-b")
        );
        assert_eq!(json_event_id(r#"{"event_id":5}"#), None);
        assert_eq!(json_event_id("not json"), None);
        assert_eq!(json_event_id("[1]"), None);
    }

    #[test]
    fn duplicates_count_extra_copies_in_first_seen_order() {
        let rows = ["b", "a", "b", "c", "a", "b"];
        let found = duplicates_by(&rows, |r| *r);
        assert_eq!(found.rows, 6);
        assert_eq!(found.distinct, 3);
        assert_eq!(found.extra_copies, 3);
        assert_eq!(found.repeated, vec![("b", 3), ("a", 2)]);
        let none = duplicates_by(&[1, 2, 3], |r| *r);
        assert_eq!((none.extra_copies, none.repeated.len()), (0, 0));
    }

    #[test]
    fn runs_inside_and_outside_a_tokio_runtime() {
        assert_eq!(run(|_| 1).ok(), Some(1));
        let outer = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let inside = outer.block_on(async { run(|rt| rt.block_on(async { 2 })).ok() });
        assert_eq!(inside, Some(2));
    }
}
