//! Finding a table's current metadata, as Iceberg's `HadoopTableOperations` does on a
//! warehouse directory or by asking a REST catalog, and scanning its current snapshot.

use streamproof_platform::handle::{Catalog, TableFormat};
use streamproof_platform::runtime::{get_json, get_json_if_found};

use super::*;

/// The pipeline's tables: a Hadoop catalog's warehouse directory, or a REST catalog whose
/// metadata files are readable from here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warehouse {
    root: PathBuf,
    rest: Option<RestCatalog>,
    format: TableFormat,
}

/// A REST catalog's address and the `warehouse` it is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RestCatalog {
    uri: String,
    warehouse: Option<String>,
    /// The path prefix the catalog's configuration gives, asked once.
    prefix: std::sync::OnceLock<String>,
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
        Warehouse {
            root,
            rest: None,
            format: TableFormat::Iceberg,
        }
    }

    /// The Paimon warehouse at `root` (a directory, or a `file:` URL).
    pub fn paimon(root: impl AsRef<Path>) -> Self {
        Warehouse {
            format: TableFormat::Paimon,
            ..Warehouse::new(root)
        }
    }

    /// The tables' format.
    pub fn table_format(&self) -> TableFormat {
        self.format
    }

    /// The tables of `catalog`.
    pub fn of(catalog: &Catalog) -> Self {
        match catalog {
            Catalog::HadoopWarehouse(dir) => Warehouse::new(dir),
            Catalog::PaimonWarehouse(dir) => Warehouse::paimon(dir),
            Catalog::Rest { uri, warehouse } => Warehouse {
                root: PathBuf::new(),
                rest: Some(RestCatalog {
                    uri: uri.trim_end_matches('/').to_owned(),
                    warehouse: warehouse.clone(),
                    prefix: std::sync::OnceLock::new(),
                }),
                format: TableFormat::Iceberg,
            },
        }
    }

    /// How errors name `namespace.table`: its directory, or the catalog and the name.
    fn table_name(&self, namespace: &str, table: &str) -> Result<String> {
        match &self.rest {
            Some(rest) => Ok(format!("{} {namespace}.{table}", rest.uri)),
            None => Ok(self.table_dir(namespace, table)?.display().to_string()),
        }
    }

    /// The warehouse directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory of `namespace.table`; a dotted namespace is nested directories.
    pub fn table_dir(&self, namespace: &str, table: &str) -> Result<PathBuf> {
        let levels = || namespace.split('.').chain([table]);
        if let Some(level) = levels().find(|level| {
            level.is_empty() || *level == "." || *level == ".." || level.contains(['/', '\\'])
        }) {
            return Err(LakehouseError::Invalid {
                table: format!("{}/{namespace}/{table}", self.root.display()),
                what: format!("`{level}` is not a namespace or table name"),
            });
        }
        Ok(match self.format {
            TableFormat::Iceberg => levels().fold(self.root.clone(), |dir, level| dir.join(level)),
            TableFormat::Paimon => paimon::table_dir(&self.root, namespace, table),
        })
    }

    /// A Paimon table's name (for errors) and directory; [`LakehouseError::NoTable`] when
    /// it has no schema yet.
    fn paimon_table(&self, namespace: &str, table: &str) -> Result<(String, PathBuf)> {
        let dir = self.table_dir(namespace, table)?;
        let name = dir.display().to_string();
        if !dir.join("schema").is_dir() {
            return Err(LakehouseError::NoTable { table: name });
        }
        Ok((name, dir))
    }

    /// Whether the table has at least one metadata version.
    pub fn table_exists(&self, namespace: &str, table: &str) -> Result<bool> {
        Ok(self.current(namespace, table)?.is_some())
    }

    /// The table's current metadata file.
    pub fn metadata_location(&self, namespace: &str, table: &str) -> Result<MetadataLocation> {
        self.current(namespace, table)?
            .ok_or_else(|| LakehouseError::NoTable {
                table: self
                    .table_name(namespace, table)
                    .unwrap_or_else(|_| format!("{namespace}.{table}")),
            })
    }

    /// The current metadata file, `None` when the table does not exist.
    fn current(&self, namespace: &str, table: &str) -> Result<Option<MetadataLocation>> {
        if self.format == TableFormat::Paimon {
            let (name, dir) = self.paimon_table(namespace, table)?;
            return Ok(
                paimon::latest_snapshot(&name, &dir)?.map(|(file, snapshot)| MetadataLocation {
                    version: u64::try_from(snapshot.id).unwrap_or(0),
                    file,
                }),
            );
        }
        match &self.rest {
            Some(rest) => rest.current(namespace, table),
            None => current_metadata(&self.table_dir(namespace, table)?),
        }
    }

    /// The current snapshot's summary, from the metadata only; `None` when the table has no
    /// snapshot yet. A missing table is [`LakehouseError::NoTable`].
    pub fn table_snapshot_summary(
        &self,
        namespace: &str,
        table: &str,
    ) -> Result<Option<SnapshotSummary>> {
        if self.format == TableFormat::Paimon {
            let (name, dir) = self.paimon_table(namespace, table)?;
            return Ok(paimon::latest_snapshot(&name, &dir)?
                .map(|(file, snapshot)| paimon::summary(&file, &snapshot)));
        }
        let name = self.table_name(namespace, table)?;
        let location = self.metadata_location(namespace, table)?;
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
        if self.format == TableFormat::Paimon {
            let (name, dir) = self.paimon_table(namespace, table)?;
            let Some((file, snapshot)) = paimon::latest_snapshot(&name, &dir)? else {
                return Ok(None);
            };
            let files = paimon::live_data_files(&name, &dir, &snapshot)?;
            paimon::scan_files(&name, &files, columns, &mut on_batch)?;
            return Ok(Some(paimon::summary(&file, &snapshot)));
        }
        let name = self.table_name(namespace, table)?;
        let location = self.metadata_location(namespace, table)?;
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
pub(super) fn strip_file_scheme(location: &str) -> Option<&str> {
    let rest = location.strip_prefix("file:")?;
    if let Some(path) = rest.strip_prefix("//") {
        // `file:///p` has an empty authority; `file://host/p` is not local.
        return path.starts_with('/').then_some(path);
    }
    Some(rest)
}

impl RestCatalog {
    /// `{prefix}/` from the catalog's configuration (`GET /v1/config`), or nothing.
    fn ask_prefix(&self) -> std::result::Result<String, String> {
        let config_url = match &self.warehouse {
            Some(warehouse) => format!("{}/v1/config?warehouse={warehouse}", self.uri),
            None => format!("{}/v1/config", self.uri),
        };
        let config = get_json(&config_url)?;
        Ok(config["overrides"]["prefix"]
            .as_str()
            .or_else(|| config["defaults"]["prefix"].as_str())
            .map(|prefix| format!("{prefix}/"))
            .unwrap_or_default())
    }

    /// Asks the catalog for the table's current metadata file (the REST catalog protocol's
    /// `GET /v1/{prefix}/namespaces/{namespace}/tables/{table}`).
    fn current(&self, namespace: &str, table: &str) -> Result<Option<MetadataLocation>> {
        let name = format!("{} {namespace}.{table}", self.uri);
        let http = |what: &str, message: String| LakehouseError::Invalid {
            table: name.clone(),
            what: format!("{what}: {message}"),
        };
        let prefix = match self.prefix.get() {
            Some(prefix) => prefix,
            None => {
                let asked = self
                    .ask_prefix()
                    .map_err(|e| http("ask the catalog for its configuration", e))?;
                self.prefix.get_or_init(|| asked)
            }
        };
        let namespace_path = namespace.replace('.', "%1F");
        let url = format!(
            "{}/v1/{prefix}namespaces/{namespace_path}/tables/{table}",
            self.uri
        );
        let Some(loaded) = get_json_if_found(&url).map_err(|e| http("load the table", e))? else {
            return Ok(None);
        };
        let location = loaded["metadata-location"].as_str().ok_or_else(|| {
            http(
                "load the table",
                "the answer has no metadata-location".to_owned(),
            )
        })?;
        let file = PathBuf::from(strip_file_scheme(location).ok_or_else(|| {
            http(
                "read the table",
                format!("its metadata `{location}` is not a local file"),
            )
        })?);
        let version = file
            .file_name()
            .and_then(|name| name.to_str())
            .and_then(|name| name.split(['-', '.']).next())
            .and_then(|digits| digits.parse().ok())
            .unwrap_or(0);
        Ok(Some(MetadataLocation { version, file }))
    }
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
pub(super) fn run<T: Send>(job: impl FnOnce(&tokio::runtime::Runtime) -> T + Send) -> Result<T> {
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
