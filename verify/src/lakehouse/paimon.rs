//! Reading the pipeline's Paimon append tables straight from a file system catalog's
//! warehouse directory, the layout Flink's Paimon connector writes:
//!
//! ```text
//! <warehouse>/<database>.db/<table>/snapshot/LATEST            (a hint: the newest id N)
//! <warehouse>/<database>.db/<table>/snapshot/snapshot-N        (JSON: manifest lists, counts)
//! <warehouse>/<database>.db/<table>/manifest/manifest-list-…   (Avro: the manifests)
//! <warehouse>/<database>.db/<table>/manifest/manifest-…        (Avro: files added, deleted)
//! <warehouse>/<database>.db/<table>/bucket-0/data-….parquet
//! ```
//!
//! A snapshot's files are those its base and delta manifest lists add and do not delete
//! (compaction deletes small files and adds their merge). Only what the pipeline writes is
//! read: unpartitioned append tables in Parquet without deletion vectors; anything else is an
//! error that says so rather than a wrong count.
//!
//! The Rust `paimon` crate reads these tables too, but it switches on serde_json's
//! `arbitrary_precision` for the whole build, which changes how every JSON number in
//! result.json and the scenarios is parsed; the subset here needs only Avro and Parquet,
//! which the checker already links.

use std::collections::BTreeMap;
use std::fs::File;

use apache_avro::types::Value as AvroValue;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;

use super::*;

/// The snapshot file's fields the checker uses (Paimon's `Snapshot` JSON).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PaimonSnapshot {
    pub(super) id: i64,
    base_manifest_list: String,
    delta_manifest_list: String,
    commit_identifier: i64,
    commit_kind: String,
    time_millis: i64,
    total_record_count: Option<u64>,
    delta_record_count: Option<u64>,
}

/// The commit identifier of a bounded job's final commit, not a checkpoint id.
const END_INPUT_IDENTIFIER: i64 = i64::MAX;

/// A manifest entry's kind: the file is added (0) or deleted (1) by the snapshot.
const ADD: i32 = 0;
const DELETE: i32 = 1;

/// The directory of Paimon table `namespace.table`.
pub(super) fn table_dir(root: &Path, namespace: &str, table: &str) -> PathBuf {
    root.join(format!("{namespace}.db")).join(table)
}

/// The newest snapshot of the table in `dir`, `None` when it has none yet (or no table).
pub(super) fn latest_snapshot(name: &str, dir: &Path) -> Result<Option<(PathBuf, PaimonSnapshot)>> {
    let snapshots = dir.join("snapshot");
    // The hint may trail a commit (it is written after the snapshot) or be missing; newer
    // snapshot files win, as in Paimon's own SnapshotManager. An expired snapshot vanishes
    // between listing and reading: the next attempt sees the newer ones.
    for _ in 0..3 {
        let Some(id) = newest_snapshot_id(name, &snapshots)? else {
            return Ok(None);
        };
        let file = snapshots.join(format!("snapshot-{id}"));
        match std::fs::read(&file) {
            Ok(bytes) => {
                let snapshot = serde_json::from_slice(&bytes)
                    .map_err(|e| invalid(name, format!("{}: {e}", file.display())))?;
                return Ok(Some((file, snapshot)));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => return Err(io(name, format!("read {}", file.display()), source)),
        }
    }
    Err(invalid(
        name,
        "its newest snapshot kept disappearing while being read".to_owned(),
    ))
}

fn newest_snapshot_id(name: &str, snapshots: &Path) -> Result<Option<i64>> {
    let entries = match std::fs::read_dir(snapshots) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(io(name, format!("list {}", snapshots.display()), source)),
    };
    Ok(entries
        .flatten()
        .filter_map(|entry| {
            entry
                .file_name()
                .to_str()?
                .strip_prefix("snapshot-")?
                .parse::<i64>()
                .ok()
        })
        .max())
}

/// The snapshot as the checker summarises every table format's.
pub(super) fn summary(file: &Path, snapshot: &PaimonSnapshot) -> SnapshotSummary {
    SnapshotSummary {
        metadata_version: u64::try_from(snapshot.id).unwrap_or(0),
        metadata_file: file.to_path_buf(),
        snapshot_id: snapshot.id,
        sequence_number: snapshot.id,
        committed_at_ms: snapshot.time_millis,
        operation: snapshot.commit_kind.to_ascii_lowercase(),
        total_records: snapshot.total_record_count,
        added_records: snapshot.delta_record_count,
        total_data_files: None,
        total_delete_files: None,
        max_committed_checkpoint_id: (snapshot.commit_identifier != END_INPUT_IDENTIFIER)
            .then_some(snapshot.commit_identifier),
        flink_job_id: None,
    }
}

/// The data files of `snapshot`: every file its manifests add and do not delete.
pub(super) fn live_data_files(
    name: &str,
    dir: &Path,
    snapshot: &PaimonSnapshot,
) -> Result<Vec<PathBuf>> {
    let manifests = dir.join("manifest");
    let mut live: BTreeMap<(i32, String), PathBuf> = BTreeMap::new();
    for list in [&snapshot.base_manifest_list, &snapshot.delta_manifest_list] {
        for manifest in avro_records(name, &manifests.join(list))? {
            let manifest_name = string_field(name, &manifest, "_FILE_NAME")?;
            for entry in avro_records(name, &manifests.join(manifest_name))? {
                let kind = int_field(name, &entry, "_KIND")?;
                let bucket = int_field(name, &entry, "_BUCKET")?;
                if !matches!(field(&entry, "_PARTITION"), Some(AvroValue::Bytes(row)) if is_empty_row(row))
                {
                    return Err(invalid(name, "the table is partitioned; the checker reads the pipeline's unpartitioned tables only".to_owned()));
                }
                let file = field(&entry, "_FILE").ok_or_else(|| missing(name, "_FILE"))?;
                let file_name = string_field(name, file, "_FILE_NAME")?.to_owned();
                let path = match field(file, "_EXTERNAL_PATH").map(unwrap_union) {
                    Some(AvroValue::String(external)) => {
                        PathBuf::from(catalog::strip_file_scheme(external).unwrap_or(external))
                    }
                    _ => dir.join(format!("bucket-{bucket}")).join(&file_name),
                };
                match kind {
                    ADD => {
                        live.insert((bucket, file_name), path);
                    }
                    DELETE => {
                        live.remove(&(bucket, file_name));
                    }
                    other => {
                        return Err(invalid(
                            name,
                            format!("a manifest entry of unknown kind {other}"),
                        ));
                    }
                }
            }
        }
    }
    Ok(live.into_values().collect())
}

/// Reads `columns` of every row of `files`, batch by batch.
pub(super) fn scan_files(
    name: &str,
    files: &[PathBuf],
    columns: &[&str],
    on_batch: &mut impl FnMut(&BatchColumns<'_>) -> Result<()>,
) -> Result<()> {
    for path in files {
        if path.extension().and_then(|e| e.to_str()) != Some("parquet") {
            return Err(invalid(name, format!("{} is not a Parquet file; the checker reads Paimon tables written with file.format = parquet", path.display())));
        }
        let file = File::open(path)
            .map_err(|source| io(name, format!("open {}", path.display()), source))?;
        let parquet =
            |e: parquet::errors::ParquetError| invalid(name, format!("{}: {e}", path.display()));
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(parquet)?;
        let schema = builder.parquet_schema();
        let fields = schema.root_schema().get_fields();
        let indices = columns
            .iter()
            .map(|column| {
                fields
                    .iter()
                    .position(|field| field.name() == *column)
                    .ok_or_else(|| invalid(name, format!("the table has no column `{column}`")))
            })
            .collect::<Result<Vec<_>>>()?;
        let mask = ProjectionMask::roots(schema, indices);
        let reader = builder.with_projection(mask).build().map_err(parquet)?;
        for batch in reader {
            let batch = batch.map_err(|e| invalid(name, format!("{}: {e}", path.display())))?;
            on_batch(&BatchColumns {
                table: name,
                batch: &batch,
            })?;
        }
    }
    Ok(())
}

/// Paimon's serialized empty row (an unpartitioned table's partition): no fields, only the
/// arity header.
fn is_empty_row(row: &[u8]) -> bool {
    row.len() <= 4 || row[..4] == [0, 0, 0, 0]
}

fn avro_records(name: &str, path: &Path) -> Result<Vec<AvroValue>> {
    let file =
        File::open(path).map_err(|source| io(name, format!("open {}", path.display()), source))?;
    let reader = apache_avro::Reader::new(file)
        .map_err(|e| invalid(name, format!("{}: {e}", path.display())))?;
    reader
        .map(|value| value.map_err(|e| invalid(name, format!("{}: {e}", path.display()))))
        .collect()
}

fn field<'v>(record: &'v AvroValue, key: &str) -> Option<&'v AvroValue> {
    match unwrap_union(record) {
        AvroValue::Record(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
        _ => None,
    }
}

fn unwrap_union(value: &AvroValue) -> &AvroValue {
    match value {
        AvroValue::Union(_, inner) => inner,
        other => other,
    }
}

fn string_field<'v>(name: &str, record: &'v AvroValue, key: &str) -> Result<&'v str> {
    match field(record, key).map(unwrap_union) {
        Some(AvroValue::String(text)) => Ok(text),
        _ => Err(missing(name, key)),
    }
}

fn int_field(name: &str, record: &AvroValue, key: &str) -> Result<i32> {
    match field(record, key).map(unwrap_union) {
        Some(AvroValue::Int(n)) => Ok(*n),
        _ => Err(missing(name, key)),
    }
}

fn missing(name: &str, key: &str) -> LakehouseError {
    invalid(name, format!("a manifest record has no `{key}`"))
}

fn invalid(name: &str, what: String) -> LakehouseError {
    LakehouseError::Invalid {
        table: name.to_owned(),
        what,
    }
}

fn io(name: &str, what: String, source: std::io::Error) -> LakehouseError {
    LakehouseError::Io {
        table: name.to_owned(),
        what,
        source,
    }
}
