//! The reference lakehouse pipeline as Flink SQL (`platform/pipeline/*.sql`) and its
//! submission through the Flink SQL Gateway's REST API:
//!
//! - `catalog.sql`: the Iceberg catalog (a Hadoop catalog on a local warehouse directory,
//!   or a REST catalog; either readable by any Iceberg engine) and the tables `bronze.events`, `silver.events`,
//!   `gold.metrics`;
//! - `bronze.sql`: raw-* topics → `bronze.events` (raw value with its Kafka coordinates and
//!   headers) and the `bronze-events` topic;
//! - `silver.sql`: bronze → validation (the seed's rules), deduplication by event_id (first
//!   wins, state TTL) → `silver.events` and the `silver-events` topic; invalid records →
//!   `dlq-events` with the seed's envelope;
//! - `gold.sql`: silver → event-time tumbling windows per event type and metric →
//!   `gold.metrics` and the `gold-metrics` topic.
//!
//! Exactly-once: checkpoints in EXACTLY_ONCE mode, Kafka sinks with transactions, Iceberg
//! commits on checkpoints. The at-least-once profile switches the checkpoints and the Kafka
//! sinks to at-least-once, so users can compare.
//!
//! This module submits and watches jobs; it never judges what they wrote.

mod gateway;
mod rest;
mod stage;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::handle::{Catalog, TableFormat};
use crate::runtime::REGISTERED_JSON_CLASS;
use crate::schema_registry::RegistryConnection;

pub use gateway::{split_statements, SqlGateway, StatementOutcome};
mod java_client;
pub use java_client::JavaClientProperties;
pub use rest::{CheckpointStats, FlinkRest, JobProgress};
pub use stage::{GoldStop, PipelineStage, PipelineStart, BRONZE_TOPIC, DLQ_TOPIC};

const CATALOG: &str = include_str!("../../pipeline/catalog.sql");
const BRONZE: &str = include_str!("../../pipeline/bronze.sql");
const SILVER: &str = include_str!("../../pipeline/silver.sql");
const GOLD: &str = include_str!("../../pipeline/gold.sql");

/// The pipeline's processing guarantee.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Guarantee {
    /// Checkpoints aligned, Kafka sinks transactional.
    #[default]
    ExactlyOnce,
    /// Checkpoints unaligned-tolerant, Kafka sinks without transactions: replays after a
    /// failure duplicate what the sinks wrote since the last checkpoint.
    AtLeastOnce,
}

/// Where a Flink session cluster answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlinkEndpoint {
    /// Flink's REST API, e.g. `http://127.0.0.1:8081`.
    pub rest_url: String,
    /// The SQL Gateway's REST API, e.g. `http://127.0.0.1:8083`.
    pub gateway_url: String,
    /// Flink's checkpoint directory, when this process can read it (the embedded cluster):
    /// jobs lost with a JobManager restart are resubmitted from there.
    pub checkpoints: Option<PathBuf>,
}

/// What the SQL is rendered with.
#[derive(Debug, Clone)]
pub struct PipelineSettings {
    /// Kafka bootstrap servers.
    pub bootstrap: String,
    /// What else the jobs' Kafka clients need to reach the cluster (security).
    pub kafka: JavaClientProperties,
    /// The Iceberg catalog the jobs write through.
    pub catalog: Catalog,
    /// Checkpoint interval.
    pub checkpoint_interval: Duration,
    /// Processing guarantee.
    pub guarantee: Guarantee,
    /// How long silver remembers an event id for deduplication.
    pub dedup_ttl: Duration,
    /// Gold's tumbling window.
    pub window: Duration,
    /// How far event time may lag behind the newest event before gold closes a window.
    pub watermark_delay: Duration,
    /// Prefix of the Kafka consumer groups and transactional ids (unique per run).
    pub prefix: String,
    /// How the raw topics' values are written.
    pub values: RawValues,
}

/// How the raw topics' values are written, as the pipeline reads them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum RawValues {
    /// The JSON envelope, as UTF-8 text.
    #[default]
    Json,
    /// In a schema registry's wire format (Avro or JSON Schema): kept byte for byte in
    /// bronze, decoded through the registry into the JSON envelope for silver.
    Registered(RegistryConnection),
}

impl PipelineSettings {
    fn variables(&self) -> Vec<(&'static str, String)> {
        let (mode, delivery) = match self.guarantee {
            Guarantee::ExactlyOnce => ("EXACTLY_ONCE", "exactly-once"),
            Guarantee::AtLeastOnce => ("AT_LEAST_ONCE", "at-least-once"),
        };
        vec![
            ("BOOTSTRAP", self.bootstrap.clone()),
            ("KAFKA_PROPERTIES", self.kafka.table_options()),
            (
                "CHECKPOINT_INTERVAL",
                format!("{}ms", self.checkpoint_interval.as_millis()),
            ),
            ("CHECKPOINT_MODE", mode.to_owned()),
            ("DELIVERY", delivery.to_owned()),
            (
                "STATE_TTL",
                format!("{} ms", self.dedup_ttl.as_millis().max(1)),
            ),
            ("WINDOW_SECONDS", self.window.as_secs().max(1).to_string()),
            (
                "WM_DELAY_SECONDS",
                self.watermark_delay.as_secs().to_string(),
            ),
            // Kafka brokers refuse transactions longer than transaction.max.timeout.ms (15 min).
            ("TXN_TIMEOUT_MS", "600000".to_owned()),
            ("PREFIX", self.prefix.clone()),
        ]
        .into_iter()
        .chain(self.table_variables())
        .chain(self.value_variables())
        .collect()
    }

    /// The catalog, the tables' options and how the jobs read a table as a stream, in the
    /// catalog's table format.
    fn table_variables(&self) -> Vec<(&'static str, String)> {
        let options = self.catalog.flink_options();
        match self.catalog.table_format() {
            TableFormat::Iceberg => vec![
                (
                    "CATALOG",
                    format!("'type' = 'iceberg', {options}, 'property-version' = '1'"),
                ),
                (
                    "TABLE_OPTIONS",
                    "'format-version' = '2', 'write.format.default' = 'parquet'".to_owned(),
                ),
                (
                    "STREAM_READ_OPTIONS",
                    "'streaming' = 'true', 'monitor-interval' = '1s', 'starting-strategy' = 'TABLE_SCAN_THEN_INCREMENTAL'".to_owned(),
                ),
                (
                    "SILVER_SOURCE_OPTIONS",
                    format!("'connector' = 'iceberg', 'catalog-name' = 'lake_src', {options}, 'catalog-database' = 'silver', 'catalog-table' = 'events', 'streaming' = 'true', 'monitor-interval' = '1s', 'starting-strategy' = 'TABLE_SCAN_THEN_INCREMENTAL'"),
                ),
            ],
            TableFormat::Paimon => {
                let silver = self
                    .catalog
                    .local_warehouse()
                    .map(|dir| dir.join("silver.db").join("events"))
                    .unwrap_or_default();
                // Append tables, written on checkpoints; read from the full latest snapshot
                // on, then every new one.
                let stream = "'scan.mode' = 'latest-full', 'continuous.discovery-interval' = '1s'";
                vec![
                    ("CATALOG", format!("'type' = 'paimon', {options}")),
                    (
                        "TABLE_OPTIONS",
                        "'bucket' = '-1', 'file.format' = 'parquet'".to_owned(),
                    ),
                    ("STREAM_READ_OPTIONS", stream.to_owned()),
                    (
                        "SILVER_SOURCE_OPTIONS",
                        format!(
                            "'connector' = 'paimon', 'path' = 'file://{}', {stream}",
                            silver.display()
                        ),
                    ),
                ]
            }
        }
    }

    /// How bronze keeps the values and how silver turns them into JSON.
    fn value_variables(&self) -> Vec<(&'static str, String)> {
        match &self.values {
            RawValues::Json => vec![
                ("RAW_SOURCE_COLUMN", "raw_value STRING".to_owned()),
                ("RAW_TEXT", "raw_value".to_owned()),
                ("BRONZE_KAFKA_VALUE_COLUMN", "raw_value STRING".to_owned()),
                ("RAW_KAFKA_VALUE", "raw_value".to_owned()),
                ("FUNCTIONS", String::new()),
                ("EVENT_JSON", "raw_value".to_owned()),
                ("UNDECODED", "FALSE".to_owned()),
            ],
            RawValues::Registered(registry) => {
                let authorization = registry
                    .authorization()
                    .map(|header| format!(", {}", sql_text(&header)))
                    .unwrap_or_default();
                vec![
                    ("RAW_SOURCE_COLUMN", "raw_bytes BYTES".to_owned()),
                    ("RAW_TEXT", "DECODE(raw_bytes, 'ISO-8859-1')".to_owned()),
                    ("BRONZE_KAFKA_VALUE_COLUMN", "raw_value BYTES".to_owned()),
                    ("RAW_KAFKA_VALUE", "raw_bytes".to_owned()),
                    (
                        "FUNCTIONS",
                        format!(
                            "CREATE TEMPORARY SYSTEM FUNCTION streamproof_registered_json AS '{REGISTERED_JSON_CLASS}' LANGUAGE JAVA;"
                        ),
                    ),
                    (
                        "EVENT_JSON",
                        format!(
                            "streamproof_registered_json(ENCODE(raw_value, 'ISO-8859-1'), {}{authorization})",
                            sql_text(&registry.url)
                        ),
                    ),
                    ("UNDECODED", "event_json IS NULL".to_owned()),
                ]
            }
        }
    }

    /// `error` without the secrets the SQL carries (Flink may quote a refused statement).
    pub fn redacted(&self, error: PipelineError) -> PipelineError {
        let authorization = match &self.values {
            RawValues::Registered(registry) => registry.authorization(),
            RawValues::Json => None,
        };
        let redact = |text: String| {
            let text = self.kafka.redact(&text);
            match &authorization {
                Some(secret) => text.replace(secret.as_str(), crate::profiles::REDACTED),
                None => text,
            }
        };
        match error {
            PipelineError::Http { action, message } => PipelineError::Http {
                action: redact(action),
                message: redact(message),
            },
            PipelineError::Statement { statement, cause } => PipelineError::Statement {
                statement: redact(statement),
                cause: redact(cause),
            },
            other => other,
        }
    }

    /// `sql` with every `${NAME}` replaced; an unknown name is an error.
    pub fn render(&self, sql: &str) -> Result<String, PipelineError> {
        let mut text = sql.to_owned();
        for (name, value) in self.variables() {
            text = text.replace(&format!("${{{name}}}"), &value);
        }
        match text.find("${") {
            Some(at) => Err(PipelineError::Template(
                text[at..].chars().take(40).collect(),
            )),
            None => Ok(text),
        }
    }
}

/// `text` as a SQL string literal.
fn sql_text(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Why the pipeline could not be submitted or watched.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// A placeholder in the SQL has no value.
    #[error("the pipeline SQL has a placeholder without a value: `{0}`")]
    Template(String),
    /// The SQL Gateway or Flink's REST API could not be reached.
    #[error("{action}: {message}")]
    Http {
        /// What was being done.
        action: String,
        /// What went wrong.
        message: String,
    },
    /// No such layer in the pipeline.
    #[error("the pipeline has no layer `{0}` (bronze, silver or gold)")]
    UnknownLayer(String),
    /// A submitted job did not get all its tasks running.
    #[error("the {layer} job is {state}, not running: {cause}")]
    NotRunning {
        /// `bronze`, `silver` or `gold`.
        layer: String,
        /// The job's state, with its tasks when they were still starting.
        state: String,
        /// Flink's root exception, or why the wait ended.
        cause: String,
    },
    /// A job could not be stopped with a final savepoint.
    #[error("stopping job {job} with a final savepoint failed: {cause}")]
    Stop {
        /// The job id.
        job: String,
        /// Flink's reason, or why the wait ended.
        cause: String,
    },
    /// Kafka could not be asked where the pipeline's output topics stand.
    #[error("{action}: {message}")]
    Kafka {
        /// What was being done.
        action: String,
        /// What went wrong.
        message: String,
    },
    /// A job lost with a JobManager restart has nothing to restore from.
    #[error("the {layer} job ({job}) completed no checkpoint to restore from")]
    NoCheckpoint {
        /// `bronze`, `silver` or `gold`.
        layer: String,
        /// The lost job's id.
        job: String,
    },
    /// A client setting of the run has no counterpart the pipeline's Java clients take.
    #[error("the Kafka client setting `{setting}` cannot be handed to the pipeline's Flink jobs (they take security.protocol, sasl.mechanisms PLAIN or SCRAM with sasl.username and sasl.password, ssl.ca.location and ssl.endpoint.identification.algorithm); run the pipeline on a cluster reached with those")]
    KafkaSetting {
        /// The librdkafka setting.
        setting: String,
    },
    /// The catalog cannot hold the pipeline's table format.
    #[error("{0}")]
    Catalog(String),
    /// Flink refused a statement.
    #[error("Flink refused the statement `{statement}`: {cause}")]
    Statement {
        /// The start of the statement.
        statement: String,
        /// The root cause Flink reported.
        cause: String,
    },
}

/// The jobs of a submitted pipeline.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PipelineJobs {
    /// Job id per layer (`bronze`, `silver`, `gold`).
    pub jobs: Vec<(String, String)>,
}

/// Creates the catalog and tables, then submits the bronze, silver and gold jobs.
pub fn submit(
    gateway: &SqlGateway,
    settings: &PipelineSettings,
) -> Result<PipelineJobs, PipelineError> {
    gateway
        .execute_script(&settings.render(CATALOG)?, "streamproof-catalog")
        .map_err(|error| settings.redacted(error))?;
    let mut jobs = PipelineJobs::default();
    for (layer, _) in LAYERS {
        if let Some(job) = submit_layer(gateway, settings, layer, None)? {
            jobs.jobs.push((layer.to_owned(), job));
        }
    }
    Ok(jobs)
}

/// The pipeline's layers and their SQL, in submission order.
const LAYERS: [(&str, &str); 3] = [("bronze", BRONZE), ("silver", SILVER), ("gold", GOLD)];

/// Submits one layer's job (`bronze`, `silver` or `gold`), restoring its state from a
/// checkpoint or savepoint directory when given; returns the job id.
pub fn submit_layer(
    gateway: &SqlGateway,
    settings: &PipelineSettings,
    layer: &str,
    restore_from: Option<&Path>,
) -> Result<Option<String>, PipelineError> {
    let sql = LAYERS
        .iter()
        .find(|(name, _)| *name == layer)
        .map(|(_, sql)| *sql)
        .ok_or_else(|| PipelineError::UnknownLayer(layer.to_owned()))?;
    let mut script = String::new();
    if let Some(path) = restore_from {
        script.push_str(&format!(
            "SET 'execution.savepoint.path' = 'file://{}';\n",
            path.display()
        ));
    }
    script.push_str(&settings.render(sql)?);
    let outcomes = gateway
        .execute_script(&script, &format!("streamproof-{layer}"))
        .map_err(|error| settings.redacted(error))?;
    Ok(outcomes.iter().rev().find_map(|o| o.job_id.clone()))
}

/// The newest completed checkpoint of `job` under Flink's checkpoint directory
/// (`<dir>/<job>/chk-<n>` holding `_metadata`), if any.
pub fn latest_checkpoint(checkpoints: &Path, job: &str) -> Option<PathBuf> {
    std::fs::read_dir(checkpoints.join(job))
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let number: u64 = entry
                .file_name()
                .to_str()?
                .strip_prefix("chk-")?
                .parse()
                .ok()?;
            entry
                .path()
                .join("_metadata")
                .is_file()
                .then(|| (number, entry.path()))
        })
        .max_by_key(|(number, _)| *number)
        .map(|(_, path)| path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> PipelineSettings {
        PipelineSettings {
            kafka: JavaClientProperties::default(),
            bootstrap: "127.0.0.1:9092".to_owned(),
            catalog: Catalog::HadoopWarehouse(PathBuf::from("/tmp/warehouse")),
            checkpoint_interval: Duration::from_secs(5),
            guarantee: Guarantee::ExactlyOnce,
            dedup_ttl: Duration::from_secs(3600),
            window: Duration::from_secs(10),
            watermark_delay: Duration::from_secs(30),
            prefix: "run-1".to_owned(),
            values: RawValues::Json,
        }
    }

    #[test]
    fn registered_values_are_kept_as_bytes_and_decoded_through_the_registry() {
        let mut registry = RegistryConnection::new("http://127.0.0.1:8081/apis/ccompat/v7");
        registry.credentials = Some(("ci".to_owned(), "s3cret".to_owned()));
        let registered = PipelineSettings {
            values: RawValues::Registered(registry),
            ..settings()
        };
        let bronze = registered.render(BRONZE).unwrap();
        assert!(bronze.contains("raw_bytes BYTES"), "{bronze}");
        assert!(bronze.contains("DECODE(raw_bytes, 'ISO-8859-1')"));
        let silver = registered.render(SILVER).unwrap();
        assert!(silver.contains(&format!(
            "CREATE TEMPORARY SYSTEM FUNCTION streamproof_registered_json AS '{REGISTERED_JSON_CLASS}'"
        )));
        assert!(silver.contains(
            "streamproof_registered_json(ENCODE(raw_value, 'ISO-8859-1'), 'http://127.0.0.1:8081/apis/ccompat/v7', 'Basic "
        ));
        assert!(silver.contains(
            "WHEN event_json IS NULL THEN 'event: does not match its registered schema'"
        ));
        let error = registered.redacted(PipelineError::Statement {
            statement: silver.clone(),
            cause: "refused".to_owned(),
        });
        assert!(!error.to_string().contains("Basic Y2k6czNjcmV0"), "{error}");
        let plain = settings().render(SILVER).unwrap();
        assert!(plain.contains("raw_value AS event_json"));
        assert!(!plain.contains("streamproof_registered_json"));
    }

    #[test]
    fn every_pipeline_file_renders_and_splits() {
        let settings = settings();
        for sql in [CATALOG, BRONZE, SILVER, GOLD] {
            let text = settings.render(sql).unwrap();
            assert!(text.contains("file:///tmp/warehouse"));
            assert!(!split_statements(&text).is_empty());
        }
        assert!(settings.render("${NOPE}").is_err());
        let rest = PipelineSettings {
            catalog: Catalog::Rest {
                uri: "http://127.0.0.1:8181".to_owned(),
                warehouse: Some("lake".to_owned()),
            },
            ..settings
        };
        for sql in [CATALOG, BRONZE, SILVER, GOLD] {
            let text = rest.render(sql).unwrap();
            assert!(text.contains(
                "'catalog-type' = 'rest', 'uri' = 'http://127.0.0.1:8181', 'warehouse' = 'lake'"
            ));
            assert!(!text.contains("hadoop"));
        }
    }

    #[test]
    fn statement_sets_stay_whole() {
        let sql = "SET 'a' = 'b';\n-- comment;\nEXECUTE STATEMENT SET\nBEGIN\nINSERT INTO x SELECT 1;\nINSERT INTO y SELECT 2;\nEND;\nSELECT 3;";
        let statements = split_statements(sql);
        assert_eq!(statements.len(), 3, "{statements:?}");
        assert!(statements[1].starts_with("EXECUTE STATEMENT SET"));
        assert!(statements[1].ends_with("END"));
        assert_eq!(statements[2], "SELECT 3");
    }

    #[test]
    fn the_newest_checkpoint_with_metadata_is_the_one_to_restore() {
        let dir = tempfile::tempdir().unwrap();
        let job = dir.path().join("job-1");
        for (name, complete) in [
            ("chk-3", true),
            ("chk-12", true),
            ("chk-13", false),
            ("shared", false),
        ] {
            std::fs::create_dir_all(job.join(name)).unwrap();
            if complete {
                std::fs::write(job.join(name).join("_metadata"), b"x").unwrap();
            }
        }
        assert_eq!(
            latest_checkpoint(dir.path(), "job-1"),
            Some(job.join("chk-12"))
        );
        assert_eq!(latest_checkpoint(dir.path(), "job-2"), None);
    }
}
