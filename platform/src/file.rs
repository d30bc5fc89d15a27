//! A platform file: the existing platform a team runs, described so that the same scenario
//! runs on the embedded platform or on theirs (`--platform FILE`, documented in
//! `docs/platform-file.md`). This module holds its sections and what they resolve to; the
//! command line reads the YAML (with file:line:column errors) and hands the sections here.
//!
//! Secrets are references (`${env:NAME}`, `${file:PATH}`), resolved when a run starts and
//! never written back: what is shown or stored is the file's text, literal secrets redacted.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::connection::KafkaConnection;
use crate::handle::Catalog;
use crate::pipeline::FlinkEndpoint;
use crate::profiles::property_map;
use crate::secrets::SecretError;

/// The whole file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformFile {
    /// The Kafka cluster and how every client reaches it.
    pub kafka: KafkaSection,
    /// A Flink session cluster the pipeline's jobs are submitted to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flink: Option<FlinkSection>,
    /// The lakehouse catalog the jobs write and the checker reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lakehouse: Option<LakehouseSection>,
    /// A schema registry serving the Confluent-compatible REST API, for scenarios whose
    /// format is `avro` or `json-schema`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_registry: Option<SchemaRegistrySection>,
    /// How to act on the platform's processes when a scenario injects faults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faults: Option<FaultsSection>,
}

/// `schema_registry:`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaRegistrySection {
    /// The base URL of its Confluent-compatible API, e.g. `http://schema-registry:8081`.
    pub url: String,
    /// HTTP basic user, when the registry asks for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// HTTP basic password: a literal, or a reference (`${env:NAME}`, `${file:PATH}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

impl SchemaRegistrySection {
    /// The connection, with the password's reference resolved.
    pub fn connection(
        &self,
    ) -> Result<crate::schema_registry::RegistryConnection, crate::secrets::SecretError> {
        let mut connection = crate::schema_registry::RegistryConnection::new(&self.url);
        if let Some(user) = &self.username {
            let password = match &self.password {
                Some(password) => crate::secrets::resolve("schema_registry.password", password)?,
                None => String::new(),
            };
            connection.credentials = Some((user.clone(), password));
        }
        Ok(connection)
    }
}

/// `kafka:`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSection {
    /// Comma-separated `host:port` list.
    pub bootstrap_servers: String,
    /// librdkafka properties every client streamproof creates carries: security, timeouts.
    /// Secret values as references.
    #[serde(default, deserialize_with = "property_map")]
    pub properties: BTreeMap<String, String>,
    /// Whether runs create the standard topics or use those the cluster has.
    #[serde(default, skip_serializing_if = "TopicPolicy::is_default")]
    pub topics: TopicPolicy,
}

/// `kafka.topics`: who provisions the standard topics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TopicPolicy {
    /// streamproof creates missing topics and refuses existing ones whose settings differ.
    #[default]
    Apply,
    /// The cluster's operators provision topics (or the client may not create them): a run
    /// only checks that every standard topic exists, and changes none.
    Existing,
}

impl TopicPolicy {
    fn is_default(&self) -> bool {
        *self == TopicPolicy::Apply
    }
}

/// `flink:`: a session cluster's REST API and SQL Gateway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlinkSection {
    /// Flink's REST address, e.g. `http://flink-jobmanager:8081`.
    pub rest: String,
    /// The SQL Gateway's REST address, e.g. `http://flink-sql-gateway:8083`.
    pub sql_gateway: String,
    /// Flink's checkpoint directory, when streamproof can read it: jobs lost with a
    /// JobManager restart are resubmitted from there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoints: Option<PathBuf>,
}

/// `lakehouse:`: the Iceberg catalog, a Hadoop catalog's warehouse directory or a REST
/// catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LakehouseSection {
    /// An Iceberg REST catalog's base URI, e.g. `http://iceberg-rest:8181`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rest: Option<String>,
    /// Without `rest`: the Hadoop catalog's warehouse directory, which the jobs and
    /// streamproof both reach. With `rest`: the `warehouse` the REST catalog is asked for
    /// (a catalog name or a location, as that catalog understands it), when it needs one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warehouse: Option<String>,
}

/// `faults:`: shell commands that kill, pause, resume, stop and start the platform's
/// processes, per kind of process. Each runs with `sh -c` after `{id}` and `{host}` are
/// replaced by the victim's; it inherits streamproof's environment, so secrets reach it as
/// `$NAME` and never appear in the command as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultsSection {
    /// Brokers, by node id (`{id}`) and advertised host (`{host}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker: Option<ProcessActions>,
    /// The active KRaft controller (`{id}` found by `locate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller: Option<ProcessActions>,
    /// The Flink TaskManager (`{id}`: its resource id, `{host}`: its host, from the REST API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taskmanager: Option<ProcessActions>,
    /// The Flink JobManager (`{host}`: the REST address's host).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jobmanager: Option<ProcessActions>,
    /// How long one command may take before it is stopped and the fault counted as not
    /// applied.
    #[serde(
        default = "default_command_timeout",
        with = "crate::duration",
        skip_serializing_if = "is_default_command_timeout"
    )]
    pub command_timeout: Duration,
}

impl Default for FaultsSection {
    fn default() -> Self {
        FaultsSection {
            broker: None,
            controller: None,
            taskmanager: None,
            jobmanager: None,
            command_timeout: DEFAULT_COMMAND_TIMEOUT,
        }
    }
}

/// The commands for one kind of process; a fault needs those of its kind only (`kill`:
/// kill and start, `pause`: pause and resume, `restart`: stop and start).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessActions {
    /// Ends the process at once (SIGKILL or its like).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kill: Option<String>,
    /// Freezes the process (SIGSTOP or its like).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause: Option<String>,
    /// Lets a paused process go on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<String>,
    /// Stops the process gracefully; returns once it has exited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<String>,
    /// Starts the process again after a kill or a stop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// Controller only: prints the node id of the active controller, which `{id}` becomes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locate: Option<String>,
}

/// What a fault asks of a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessAction {
    /// `kill`.
    Kill,
    /// `pause`.
    Pause,
    /// `resume`.
    Resume,
    /// `stop`.
    Stop,
    /// `start`.
    Start,
    /// `locate`.
    Locate,
}

impl ProcessAction {
    /// The key in the platform file.
    pub fn key(self) -> &'static str {
        match self {
            ProcessAction::Kill => "kill",
            ProcessAction::Pause => "pause",
            ProcessAction::Resume => "resume",
            ProcessAction::Stop => "stop",
            ProcessAction::Start => "start",
            ProcessAction::Locate => "locate",
        }
    }
}

impl ProcessActions {
    /// `BASE kill {id}`, `BASE pause {id}` and so on for every action but `locate`: one
    /// program that takes the action and the process's id.
    pub fn acting_through(base: &str) -> Self {
        let action = |name: &str| Some(format!("{base} {name} {{id}}"));
        ProcessActions {
            kill: action("kill"),
            pause: action("pause"),
            resume: action("resume"),
            stop: action("stop"),
            start: action("start"),
            locate: None,
        }
    }

    /// The command for `action`, when the file gives one.
    pub fn command(&self, action: ProcessAction) -> Option<&str> {
        match action {
            ProcessAction::Kill => self.kill.as_deref(),
            ProcessAction::Pause => self.pause.as_deref(),
            ProcessAction::Resume => self.resume.as_deref(),
            ProcessAction::Stop => self.stop.as_deref(),
            ProcessAction::Start => self.start.as_deref(),
            ProcessAction::Locate => self.locate.as_deref(),
        }
    }

    /// Every command given, with its action.
    pub fn commands(&self) -> impl Iterator<Item = (ProcessAction, &str)> {
        [
            ProcessAction::Kill,
            ProcessAction::Pause,
            ProcessAction::Resume,
            ProcessAction::Stop,
            ProcessAction::Start,
            ProcessAction::Locate,
        ]
        .into_iter()
        .filter_map(|action| Some((action, self.command(action)?)))
    }
}

/// A shell command may take this long unless `faults.command_timeout` says otherwise.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

fn default_command_timeout() -> Duration {
    DEFAULT_COMMAND_TIMEOUT
}

fn is_default_command_timeout(timeout: &Duration) -> bool {
    *timeout == DEFAULT_COMMAND_TIMEOUT
}

impl KafkaSection {
    /// The connection every client of a run is built from, secrets resolved.
    pub fn connection(&self) -> Result<KafkaConnection, SecretError> {
        KafkaConnection::with_properties(self.bootstrap_servers.as_str(), &self.properties)
    }
}

impl LakehouseSection {
    /// The catalog it names; `None` when it names none (neither `rest` nor `warehouse`).
    pub fn catalog(&self) -> Option<Catalog> {
        match (&self.rest, &self.warehouse) {
            (Some(uri), warehouse) => Some(Catalog::Rest {
                uri: uri.trim_end_matches('/').to_owned(),
                warehouse: warehouse.clone(),
            }),
            (None, Some(dir)) => Some(Catalog::HadoopWarehouse(PathBuf::from(dir))),
            (None, None) => None,
        }
    }
}

impl From<Catalog> for LakehouseSection {
    fn from(catalog: Catalog) -> Self {
        match catalog {
            Catalog::HadoopWarehouse(dir) | Catalog::PaimonWarehouse(dir) => LakehouseSection {
                rest: None,
                warehouse: Some(dir.display().to_string()),
            },
            Catalog::Rest { uri, warehouse } => LakehouseSection {
                rest: Some(uri),
                warehouse,
            },
        }
    }
}

impl FlinkSection {
    /// Where the session cluster answers.
    pub fn endpoint(&self) -> FlinkEndpoint {
        FlinkEndpoint {
            rest_url: self.rest.trim_end_matches('/').to_owned(),
            gateway_url: self.sql_gateway.trim_end_matches('/').to_owned(),
            checkpoints: self.checkpoints.clone(),
        }
    }
}
