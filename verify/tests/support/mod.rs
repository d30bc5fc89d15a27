//! Writing tiny Iceberg tables the way Flink's Hadoop catalog lays them out, for the tests
//! that read them back (`lakehouse_reader`) or check them (`lakehouse_check`), and fresh
//! topics on the shared test cluster.
// Each test crate compiles this module on its own and uses only part of it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::types::{Decimal128Type, TimestampMicrosecondType};
use arrow_array::{
    ArrayRef, ArrowPrimitiveType, LargeBinaryArray, MapArray, PrimitiveArray, RecordBatch,
    StringArray, StructArray,
};
use arrow_buffer::OffsetBuffer;
use arrow_schema::DataType;
use iceberg::memory::{MemoryCatalogBuilder, MEMORY_CATALOG_WAREHOUSE};
use iceberg::spec::{NestedField, PrimitiveType, Schema, Type};
use iceberg::table::Table;
use iceberg::transaction::{ApplyTransactionAction, Transaction};
use iceberg::writer::base_writer::data_file_writer::DataFileWriterBuilder;
use iceberg::writer::file_writer::location_generator::{
    DefaultFileNameGenerator, DefaultLocationGenerator,
};
use iceberg::writer::file_writer::rolling_writer::RollingFileWriterBuilder;
use iceberg::writer::file_writer::ParquetWriterBuilder;
use iceberg::writer::{IcebergWriter, IcebergWriterBuilder};
use iceberg::{Catalog, CatalogBuilder, MemoryCatalog, NamespaceIdent, TableCreation};
use rdkafka::message::Headers;
use streamproof_loadgen::ledger::RecordMeta;
use streamproof_platform::admin::KafkaAdmin;
use streamproof_platform::connection::KafkaConnection;
use streamproof_platform::topics::{CleanupPolicy, TopicConfig};

pub fn field(id: i32, name: &str, required: bool, ty: Type) -> Arc<NestedField> {
    Arc::new(if required {
        NestedField::required(id, name, ty)
    } else {
        NestedField::optional(id, name, ty)
    })
}

pub fn p(ty: PrimitiveType) -> Type {
    Type::Primitive(ty)
}

pub fn bronze_schema() -> Schema {
    use PrimitiveType::*;
    let headers = iceberg::spec::MapType::new(
        Arc::new(NestedField::map_key_element(9, p(String))),
        Arc::new(NestedField::map_value_element(10, p(Binary), false)),
    );
    Schema::builder()
        .with_fields([
            field(1, "kafka_topic", true, p(String)),
            field(2, "kafka_partition", true, p(Int)),
            field(3, "kafka_offset", true, p(Long)),
            field(4, "kafka_timestamp", false, p(Timestamptz)),
            field(5, "record_key", false, p(String)),
            field(6, "raw_value", false, p(String)),
            field(7, "headers", false, Type::Map(headers)),
            field(8, "ingest_time", true, p(Timestamptz)),
        ])
        .build()
        .expect("bronze schema")
}

/// `silver.events` as `platform/pipeline/catalog.sql` creates it.
pub fn silver_schema() -> Schema {
    use PrimitiveType::*;
    let dec = Decimal {
        precision: 38,
        scale: 9,
    };
    Schema::builder()
        .with_fields([
            field(1, "event_id", true, p(String)),
            field(2, "event_type", true, p(String)),
            field(3, "event_ts", true, p(Timestamptz)),
            field(4, "event_timestamp", true, p(String)),
            field(5, "source_system", true, p(String)),
            field(6, "schema_version", true, p(String)),
            field(7, "metric_name", true, p(String)),
            field(8, "metric_value", false, p(Double)),
            field(9, "metric_value_dec", false, p(dec)),
            field(10, "payload", false, p(String)),
            field(11, "metadata", false, p(String)),
            field(12, "raw_value", true, p(String)),
            field(13, "kafka_topic", true, p(String)),
            field(14, "kafka_partition", true, p(Int)),
            field(15, "kafka_offset", true, p(Long)),
            field(16, "processed_at", true, p(Timestamptz)),
        ])
        .build()
        .expect("silver schema")
}

/// A table of the test warehouse; every commit is published as `vN.metadata.json` plus
/// `version-hint.text`, as Flink's `HadoopTableOperations` does.
pub struct HadoopTable {
    catalog: MemoryCatalog,
    table: Table,
    metadata_dir: PathBuf,
    version: u64,
}

impl HadoopTable {
    pub async fn create(root: &Path, namespace: &str, name: &str, schema: Schema) -> Self {
        // Flink writes `file:/abs/path` locations: do the same.
        let location = format!("file:{}/{namespace}/{name}", root.display());
        let catalog = MemoryCatalogBuilder::default()
            .with_storage_factory(Arc::new(iceberg::io::LocalFsStorageFactory))
            .load(
                "test",
                HashMap::from([(
                    MEMORY_CATALOG_WAREHOUSE.to_owned(),
                    format!("file:{}", root.display()),
                )]),
            )
            .await
            .expect("memory catalog");
        let ns = NamespaceIdent::new(namespace.to_owned());
        catalog
            .create_namespace(&ns, HashMap::new())
            .await
            .expect("namespace");
        let creation = TableCreation::builder()
            .name(name.to_owned())
            .location(location)
            .schema(schema)
            .build();
        let table = catalog
            .create_table(&ns, creation)
            .await
            .expect("create table");
        let mut this = HadoopTable {
            catalog,
            table,
            metadata_dir: root.join(namespace).join(name).join("metadata"),
            version: 0,
        };
        this.publish();
        this
    }

    /// Copies the catalog's newest metadata file to the next `vN.metadata.json` and points
    /// the hint at it.
    fn publish(&mut self) {
        self.version += 1;
        let source = self
            .table
            .metadata_location()
            .expect("metadata location")
            .trim_start_matches("file:")
            .to_owned();
        std::fs::copy(
            &source,
            self.metadata_dir
                .join(format!("v{}.metadata.json", self.version)),
        )
        .expect("copy metadata");
        std::fs::write(
            self.metadata_dir.join("version-hint.text"),
            self.version.to_string(),
        )
        .expect("write hint");
    }

    pub fn arrow_schema(&self) -> Arc<arrow_schema::Schema> {
        Arc::new(
            iceberg::arrow::schema_to_arrow_schema(self.table.metadata().current_schema())
                .expect("arrow schema"),
        )
    }

    /// Appends one data file holding `columns` and publishes the new snapshot.
    pub async fn append(&mut self, columns: Vec<ArrayRef>) {
        let batch = RecordBatch::try_new(self.arrow_schema(), columns).expect("batch");
        let metadata = self.table.metadata();
        let parquet = ParquetWriterBuilder::from_table_properties(
            &metadata.table_properties().expect("properties"),
            metadata.current_schema().clone(),
        );
        let rolling = RollingFileWriterBuilder::new_with_default_file_size(
            parquet,
            self.table.file_io().clone(),
            DefaultLocationGenerator::new(metadata).expect("location generator"),
            DefaultFileNameGenerator::new(
                format!("test-{}", self.version),
                None,
                iceberg::spec::DataFileFormat::Parquet,
            ),
        );
        let mut writer = DataFileWriterBuilder::new(rolling)
            .build(None)
            .await
            .expect("writer");
        writer.write(batch).await.expect("write");
        let files = writer.close().await.expect("close");
        let tx = Transaction::new(&self.table);
        let tx = tx
            .fast_append()
            .add_data_files(files)
            .apply(tx)
            .expect("append");
        self.table = tx.commit(&self.catalog).await.expect("commit");
        self.publish();
    }
}

/// Arrays retyped to the schema's exact types (time zones, decimal precision).
pub fn retyped(schema: &arrow_schema::Schema, columns: Vec<ArrayRef>) -> Vec<ArrayRef> {
    columns
        .into_iter()
        .zip(schema.fields())
        .map(|(column, field)| match field.data_type() {
            DataType::Timestamp(..) => retype::<TimestampMicrosecondType>(&column, field),
            DataType::Decimal128(..) => retype::<Decimal128Type>(&column, field),
            _ => column,
        })
        .collect()
}

fn retype<T: ArrowPrimitiveType>(column: &ArrayRef, field: &arrow_schema::Field) -> ArrayRef {
    let array = column
        .as_any()
        .downcast_ref::<PrimitiveArray<T>>()
        .unwrap_or_else(|| panic!("column `{}` of the expected type", field.name()));
    Arc::new(array.clone().with_data_type(field.data_type().clone()))
}

/// One row's headers: key and value (`None`: a null value).
pub type HeaderRow<'a> = Vec<(&'a str, Option<&'a [u8]>)>;

/// A `headers` map column of the schema's exact type.
pub fn headers_column(map_type: &DataType, rows: &[HeaderRow<'_>]) -> ArrayRef {
    let DataType::Map(entries, sorted) = map_type else {
        panic!("headers is {map_type}");
    };
    let DataType::Struct(fields) = entries.data_type() else {
        panic!("map entries are {}", entries.data_type());
    };
    let keys: Vec<&str> = rows.iter().flatten().map(|(k, _)| *k).collect();
    let values: Vec<Option<&[u8]>> = rows.iter().flatten().map(|(_, v)| *v).collect();
    let values: ArrayRef = match fields[1].data_type() {
        DataType::LargeBinary => Arc::new(LargeBinaryArray::from(values)),
        DataType::Binary => Arc::new(arrow_array::BinaryArray::from(values)),
        other => panic!("header values are {other}"),
    };
    let entries_array = StructArray::new(
        fields.clone(),
        vec![Arc::new(StringArray::from(keys)) as ArrayRef, values],
        None,
    );
    let offsets = OffsetBuffer::from_lengths(rows.iter().map(Vec::len));
    Arc::new(
        MapArray::try_new(entries.clone(), offsets, entries_array, None, *sorted).expect("map"),
    )
}

pub fn as_refs(headers: &[(String, Vec<u8>)]) -> HeaderRow<'_> {
    headers
        .iter()
        .map(|(k, v)| (k.as_str(), Some(v.as_slice())))
        .collect()
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// The headers `RecordMeta::to_headers` gives a Kafka record, as bronze keeps them.
pub fn meta_headers(meta: &RecordMeta) -> Vec<(String, Vec<u8>)> {
    meta.to_headers()
        .iter()
        .map(|h| (h.key.to_owned(), h.value.unwrap_or_default().to_vec()))
        .collect()
}

/// Creates a topic named `prefix-<random>` with `partitions` on the cluster at `bootstrap`.
pub async fn fresh_topic(bootstrap: &str, prefix: &str, partitions: i32) -> String {
    let name = format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let config = TopicConfig {
        name: name.clone(),
        partitions,
        replication_factor: 1,
        retention_ms: 3_600_000,
        compression_type: "producer".into(),
        min_insync_replicas: 1,
        cleanup_policy: CleanupPolicy::Delete,
    };
    let admin =
        KafkaAdmin::connect(&KafkaConnection::new(bootstrap)).expect("connect the admin client");
    admin.create_topic(&config).await.expect("create the topic");
    name
}
