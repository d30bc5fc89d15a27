//! One value describing what a run talks to: the Kafka connection every client is built
//! from, the embedded brokers when streamproof started them, the Flink session cluster the
//! pipeline's jobs run on, and the lakehouse catalog they write to. `streamproof up` and
//! `streamproof run` start it through [`Platform::start`].

use serde::{Deserialize, Serialize};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::connection::KafkaConnection;
use crate::pipeline::FlinkEndpoint;
use crate::profiles::ClientSettings;
use crate::runtime::{
    schema_registry_dir, ClusterSpec, ClusterState, FlinkCluster, FlinkDistribution, FlinkSpec,
    KafkaDistribution, LocalCluster, LocalSchemaRegistry, RuntimeError, SchemaRegistryDistribution,
    SchemaRegistrySpec, UpOutcome, FLINK_PORTS, FLINK_VERSION, PORT_BLOCK, SCHEMA_REGISTRY_PORTS,
    SCHEMA_REGISTRY_VERSION,
};
use crate::schema_registry::RegistryConnection;
use crate::topics::TopicConfig;
use streamproof_result::PlatformInfo;

/// The embedded brokers, shared by the run that keeps them alive and the faults that act on
/// them.
pub type SharedCluster = Arc<Mutex<LocalCluster>>;

/// Where the Kafka cluster comes from.
#[derive(Debug, Clone)]
pub enum KafkaSource {
    /// Brokers streamproof starts as local processes.
    Embedded(ClusterSpec),
    /// A cluster that already runs.
    Existing(KafkaConnection),
}

/// What to start.
#[derive(Debug, Clone)]
pub struct PlatformSpec {
    /// The Kafka cluster.
    pub kafka: KafkaSource,
    /// An embedded Flink session cluster for the pipeline, when it runs.
    pub flink: Option<FlinkSpec>,
    /// Whether embedded brokers already running in the spec's directory may be used as they
    /// are (`up` reports them) instead of being an error (a run wants a platform of its own).
    pub reuse_running: bool,
    /// A Flink session cluster that already runs (from a platform file), used instead of an
    /// embedded one.
    pub remote_flink: Option<FlinkEndpoint>,
    /// The lakehouse catalog, when a platform file names it; else the embedded Flink's.
    pub catalog: Option<Catalog>,
    /// The schema registry, when the run needs one.
    pub schema_registry: Option<SchemaRegistrySource>,
}

/// Where the schema registry comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaRegistrySource {
    /// A registry streamproof starts beside the embedded brokers.
    Embedded(SchemaRegistrySpec),
    /// A registry that already runs (a platform file's `schema_registry`).
    Existing(RegistryConnection),
}

/// The lakehouse catalog the pipeline's jobs write and the checker reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Catalog {
    /// Iceberg's Hadoop catalog on a local warehouse directory.
    HadoopWarehouse(PathBuf),
    /// Paimon's file system catalog on a local warehouse directory
    /// (`<warehouse>/<database>.db/<table>`).
    PaimonWarehouse(PathBuf),
    /// An Iceberg REST catalog: the jobs commit through it and the checker asks it where each
    /// table's current metadata is (the files it points at must be readable from here).
    Rest {
        /// Its base URI, e.g. `http://iceberg-rest:8181`.
        uri: String,
        /// The `warehouse` the catalog is asked for (a catalog name or a location, as the
        /// catalog understands it), when it needs one.
        warehouse: Option<String>,
    },
}

impl Catalog {
    /// The table format the catalog holds.
    pub fn table_format(&self) -> TableFormat {
        match self {
            Catalog::HadoopWarehouse(_) | Catalog::Rest { .. } => TableFormat::Iceberg,
            Catalog::PaimonWarehouse(_) => TableFormat::Paimon,
        }
    }

    /// The options of an Iceberg catalog in Flink SQL (`'catalog-type' = …, …`), without the
    /// `'type'`; for Paimon, its `'warehouse'`.
    pub fn flink_options(&self) -> String {
        match self {
            Catalog::HadoopWarehouse(dir) => format!(
                "'catalog-type' = 'hadoop', 'warehouse' = 'file://{}'",
                dir.display()
            ),
            Catalog::PaimonWarehouse(dir) => format!("'warehouse' = 'file://{}'", dir.display()),
            Catalog::Rest { uri, warehouse } => {
                let warehouse = warehouse
                    .as_ref()
                    .map(|w| format!(", 'warehouse' = '{}'", w.replace('\'', "''")))
                    .unwrap_or_default();
                format!(
                    "'catalog-type' = 'rest', 'uri' = '{}'{warehouse}",
                    uri.replace('\'', "''")
                )
            }
        }
    }

    /// The warehouse directory streamproof creates before the jobs write into it.
    pub fn local_warehouse(&self) -> Option<&Path> {
        match self {
            Catalog::HadoopWarehouse(dir) | Catalog::PaimonWarehouse(dir) => Some(dir),
            Catalog::Rest { .. } => None,
        }
    }

    /// Where the tables are, as the result shows it: the warehouse directory or the REST URI.
    pub fn location(&self) -> String {
        match self {
            Catalog::HadoopWarehouse(dir) | Catalog::PaimonWarehouse(dir) => {
                dir.display().to_string()
            }
            Catalog::Rest { uri, .. } => uri.clone(),
        }
    }

    /// The same place holding tables of `format`: a warehouse directory holds either; a REST
    /// catalog only Iceberg's.
    pub fn with_table_format(self, format: TableFormat) -> Result<Catalog, String> {
        match (self, format) {
            (Catalog::HadoopWarehouse(dir) | Catalog::PaimonWarehouse(dir), TableFormat::Iceberg) => {
                Ok(Catalog::HadoopWarehouse(dir))
            }
            (Catalog::HadoopWarehouse(dir) | Catalog::PaimonWarehouse(dir), TableFormat::Paimon) => {
                Ok(Catalog::PaimonWarehouse(dir))
            }
            (rest @ Catalog::Rest { .. }, TableFormat::Iceberg) => Ok(rest),
            (Catalog::Rest { uri, .. }, TableFormat::Paimon) => Err(format!(
                "Paimon tables are written to a warehouse directory, but the platform's lakehouse is the Iceberg REST catalog {uri}; name a `lakehouse.warehouse` in the platform file, or run the pipeline with `table_format: iceberg`"
            )),
        }
    }
}

/// The lakehouse table format the pipeline writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TableFormat {
    /// Apache Iceberg (format version 2).
    #[default]
    Iceberg,
    /// Apache Paimon append tables.
    Paimon,
}

impl TableFormat {
    /// The format's name as users write it.
    pub fn name(self) -> &'static str {
        match self {
            TableFormat::Iceberg => "iceberg",
            TableFormat::Paimon => "paimon",
        }
    }
}

/// A running platform. Dropping it stops whatever it started, unless it was kept.
pub struct Platform {
    /// The connection every Kafka client of the run is built from.
    pub connection: KafkaConnection,
    /// `embedded` or `existing`.
    pub kind: &'static str,
    /// The Kafka version, when streamproof started the brokers.
    pub kafka_version: Option<String>,
    /// The embedded Flink session cluster, when one was started. Declared before the
    /// brokers so that it stops first: its jobs read from them.
    pub flink: Option<FlinkCluster>,
    /// The schema registry streamproof started, declared before the brokers so that it stops
    /// before them.
    pub local_schema_registry: Option<LocalSchemaRegistry>,
    /// The embedded brokers, when streamproof started them in this call.
    pub cluster: Option<SharedCluster>,
    /// Embedded brokers found already running (`reuse_running`).
    pub already_running: Option<ClusterState>,
    /// A Flink session cluster streamproof did not start.
    pub remote_flink: Option<FlinkEndpoint>,
    /// The catalog a platform file named.
    pub named_catalog: Option<Catalog>,
    /// Where the run's schema registry answers (started here or named by a platform file).
    pub schema_registry: Option<RegistryConnection>,
}

/// What a kept platform leaves running.
pub struct KeptPlatform {
    /// The brokers, when streamproof started them.
    pub kafka: Option<ClusterState>,
    /// The Flink session cluster, when one was started.
    pub flink: Option<FlinkSpec>,
    /// The schema registry, when one was started.
    pub schema_registry: Option<SchemaRegistrySpec>,
}

impl PlatformSpec {
    /// What starting it will do, one line each, for the user.
    pub fn describe(&self) -> Vec<String> {
        let kafka = match &self.kafka {
            KafkaSource::Embedded(spec) => Some(format!(
                "starting {} Kafka broker(s) on 127.0.0.1:{}…",
                spec.brokers, spec.base_port
            )),
            KafkaSource::Existing(_) => None,
        };
        let flink = self.flink.as_ref().map(|flink| {
            format!(
                "starting Flink {FLINK_VERSION} (JobManager, TaskManager, SQL Gateway) on 127.0.0.1:{}…",
                flink.base_port
            )
        });
        let registry = match &self.schema_registry {
            Some(SchemaRegistrySource::Embedded(spec)) => Some(format!(
                "starting the schema registry (Apicurio Registry {SCHEMA_REGISTRY_VERSION}) on 127.0.0.1:{}…",
                spec.port
            )),
            _ => None,
        };
        kafka.into_iter().chain(flink).chain(registry).collect()
    }
}

impl KeptPlatform {
    /// What keeps running and how to stop it, one line each, for the user.
    pub fn describe(&self) -> Vec<String> {
        let flink = self.flink.as_ref().map(|flink| {
            format!(
                "Flink keeps running: web UI and REST API at {}, SQL Gateway at {}",
                flink.rest_url(),
                flink.gateway_url()
            )
        });
        let kafka = self.kafka.as_ref().map(|state| {
            format!(
                "the platform keeps running at {}; stop it with `streamproof down --dir {}`",
                state.bootstrap_servers,
                state.dir.display()
            )
        });
        let registry = self.schema_registry.as_ref().map(|spec| {
            format!(
                "the schema registry keeps running at {} (Confluent-compatible API)",
                spec.url()
            )
        });
        flink.into_iter().chain(registry).chain(kafka).collect()
    }
}

impl Platform {
    /// Starts the brokers (or connects to the existing cluster), then Flink when asked,
    /// with distributions from `cache_root`.
    pub fn start(spec: &PlatformSpec, cache_root: &Path) -> Result<Self, RuntimeError> {
        let mut platform = match &spec.kafka {
            KafkaSource::Existing(connection) => Platform {
                connection: connection.clone(),
                kind: "existing",
                kafka_version: None,
                cluster: None,
                already_running: None,
                flink: None,
                remote_flink: None,
                named_catalog: None,
                local_schema_registry: None,
                schema_registry: None,
            },
            KafkaSource::Embedded(cluster) => start_brokers(cluster, cache_root, spec)?,
        };
        platform.remote_flink = spec.remote_flink.clone();
        platform.named_catalog = spec.catalog.clone();
        match &spec.schema_registry {
            Some(SchemaRegistrySource::Embedded(registry)) => {
                let distribution = SchemaRegistryDistribution::ensure(cache_root)?;
                let started = LocalSchemaRegistry::start(registry, &distribution)?;
                platform.schema_registry = Some(RegistryConnection::new(&started.url()));
                platform.local_schema_registry = Some(started);
            }
            Some(SchemaRegistrySource::Existing(connection)) => {
                platform.schema_registry = Some(connection.clone());
            }
            None => {}
        }
        if let Some(flink) = &spec.flink {
            let distribution = FlinkDistribution::ensure(cache_root)?;
            platform.flink = Some(FlinkCluster::up(flink, &distribution)?);
        }
        Ok(platform)
    }

    /// The platform as the result describes it: `brokers` in the cluster's metadata, the
    /// producers' settings and the topics as applied (consumer groups are the load's).
    pub fn info(
        &self,
        brokers: usize,
        producer: &ClientSettings,
        topics: &[TopicConfig],
    ) -> PlatformInfo {
        PlatformInfo {
            kind: self.kind.to_owned(),
            bootstrap_servers: self.connection.bootstrap_servers().to_owned(),
            brokers,
            kafka_version: self
                .kafka_version
                .as_deref()
                .unwrap_or("unknown")
                .to_owned(),
            connection_properties: self.connection.redacted(),
            producer_profile: producer.profile.clone(),
            producer_properties: producer.redacted(),
            consumer_groups: Vec::new(),
            topics: topics.iter().map(TopicConfig::info).collect(),
        }
    }

    /// Where the pipeline's Flink session cluster answers: the embedded one, or the one a
    /// platform file named.
    pub fn flink_endpoint(&self) -> Option<FlinkEndpoint> {
        self.flink
            .as_ref()
            .map(|flink| flink.spec.endpoint())
            .or_else(|| self.remote_flink.clone())
    }

    /// The catalog the pipeline writes to: the one a platform file named, else a warehouse
    /// directory beside the embedded Flink's.
    pub fn catalog(&self) -> Option<Catalog> {
        self.named_catalog
            .clone()
            .or_else(|| self.flink.as_ref().map(|flink| flink.spec.catalog()))
    }

    /// Leaves every process streamproof started running for `streamproof down`; those
    /// started to end with this process still do.
    pub fn keep_running(self) -> KeptPlatform {
        let flink = self.flink.map(FlinkCluster::detach);
        let kafka = self.cluster.and_then(|shared| {
            Arc::try_unwrap(shared)
                .ok()
                .and_then(|mutex| mutex.into_inner().ok())
                .map(LocalCluster::detach)
        });
        KeptPlatform {
            kafka: kafka.or(self.already_running),
            flink,
            schema_registry: self.local_schema_registry.map(LocalSchemaRegistry::detach),
        }
    }

    /// Stops what a platform recorded in `dir` (its Flink cluster, then its brokers), by
    /// recorded pid: what Ctrl-C does for every platform started so far.
    pub fn stop_recorded(dir: &Path, grace: Duration) {
        FlinkCluster::down_with_brokers(dir, grace);
        LocalSchemaRegistry::down(&schema_registry_dir(dir), grace);
        if let Ok(canonical) = std::fs::canonicalize(dir) {
            let _ = LocalCluster::down(&canonical, grace);
        }
    }
}

fn start_brokers(
    cluster: &ClusterSpec,
    cache_root: &Path,
    spec: &PlatformSpec,
) -> Result<Platform, RuntimeError> {
    let distribution = KafkaDistribution::ensure(cache_root)?;
    let kafka_version = Some(distribution.version.to_owned());
    match LocalCluster::up(cluster, &distribution)? {
        UpOutcome::Started(started) => Ok(Platform {
            connection: started.connection()?,
            kind: "embedded",
            kafka_version,
            cluster: Some(Arc::new(Mutex::new(started))),
            already_running: None,
            flink: None,
            remote_flink: None,
            named_catalog: None,
            local_schema_registry: None,
            schema_registry: None,
        }),
        UpOutcome::AlreadyRunning(state) if spec.reuse_running => Ok(Platform {
            connection: state.connection()?,
            kind: "embedded",
            kafka_version,
            cluster: None,
            already_running: Some(state),
            flink: None,
            remote_flink: None,
            named_catalog: None,
            local_schema_registry: None,
            schema_registry: None,
        }),
        UpOutcome::AlreadyRunning(state) => Err(RuntimeError::AlreadyRunning { dir: state.dir }),
    }
}

/// The first block of ports (Kafka's clients, controllers and proxied listeners, then
/// Flink's, then the schema registry's) free on 127.0.0.1 from 19092 up.
pub fn free_port_block() -> Result<u16, RuntimeError> {
    let block = PORT_BLOCK + FLINK_PORTS + SCHEMA_REGISTRY_PORTS;
    (19_092..60_000)
        .step_by(usize::from(block))
        .find(|base| {
            (0..block).all(|offset| TcpListener::bind(("127.0.0.1", base + offset)).is_ok())
        })
        .ok_or(RuntimeError::NoFreePorts { block })
}
