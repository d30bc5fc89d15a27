//! Reading and writing platform files (`--platform FILE`): YAML into
//! `streamproof_platform::file::PlatformFile`, every error located at file:line:column like a
//! scenario's, secrets resolved only when a connection is made.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use streamproof_chaos::commands::{CommandTarget, FaultCommands};
use streamproof_chaos::spec::Target;
use streamproof_platform::connection::KafkaConnection;
use streamproof_platform::file::{FaultsSection, PlatformFile, TopicPolicy};
use streamproof_platform::handle::Platform;
use streamproof_platform::pipeline::JavaClientProperties;
use streamproof_platform::problem::PathStep::Key;
use streamproof_platform::problem::Problem;
use streamproof_platform::schema_registry::RegistryConnection;

use crate::scenario::{LoadedScenario, ScenarioError};

/// A platform streamproof did not start.
#[derive(Debug, Clone)]
pub struct ExistingPlatform {
    /// How every client reaches its Kafka cluster.
    pub connection: KafkaConnection,
    /// Its platform file, when one described it (its Flink and catalog; the copier process
    /// is handed the file).
    pub described: Option<LoadedPlatform>,
}

/// How long an existing cluster may take to answer a first metadata request: a refused
/// password or an untrusted certificate must end the run at once, not after a drain timeout.
const REACHABLE_TIMEOUT: Duration = Duration::from_secs(15);

impl ExistingPlatform {
    /// Whether runs may create the standard topics on this cluster.
    pub fn topic_policy(&self) -> TopicPolicy {
        self.described
            .as_ref()
            .map_or(TopicPolicy::Apply, |d| d.file.kafka.topics)
    }

    /// Whether `loaded` can run on this platform: each fault acts on a process the run starts
    /// itself or through a command the platform file gives (network faults need the embedded
    /// platform's proxies), and the cluster answers with the settings given; a refused
    /// password or an untrusted certificate is reported here, within seconds.
    pub fn admit(&self, loaded: &LoadedScenario) -> Result<()> {
        self.admit_faults(loaded)?;
        if loaded.scenario.platform.pipeline.is_some() {
            JavaClientProperties::from_librdkafka(self.connection.client_properties())
                .context("the pipeline's Flink jobs reach Kafka with the platform's settings")?;
            let remote_flink = self
                .described
                .as_ref()
                .is_some_and(|described| described.file.flink.is_some());
            if remote_flink && loaded.scenario.schema.format.schema_kind().is_some() {
                anyhow::bail!(
                    "`{}`: the pipeline decodes schema.format {} with streamproof's own Flink function, which the platform file's Flink cluster does not have; run it on the embedded Flink (leave `flink` out of the platform file) or with schema.format json",
                    loaded.file.display(),
                    loaded.scenario.schema.format.as_str()
                );
            }
        }
        self.connection
            .check_reachable(REACHABLE_TIMEOUT)
            .context("check the platform's Kafka cluster before the run")?;
        Ok(())
    }

    /// The platform file's schema registry, when it names one.
    pub fn schema_registry(&self) -> Option<Result<RegistryConnection>> {
        let section = self.described.as_ref()?.file.schema_registry.as_ref()?;
        Some(
            section
                .connection()
                .context("the platform file's schema_registry"),
        )
    }

    /// The platform file's fault commands, when it has any.
    pub fn fault_commands(&self) -> Option<FaultCommands> {
        let section = self.described.as_ref()?.file.faults.clone()?;
        Some(FaultCommands::new(section))
    }

    /// Every fault's target reachable, each one that is not at its line in the scenario.
    fn admit_faults(&self, loaded: &LoadedScenario) -> Result<(), ScenarioError> {
        let faults = &loaded.scenario.faults;
        if faults.is_empty() {
            return Ok(());
        }
        let commands = self
            .fault_commands()
            .unwrap_or_else(|| FaultCommands::new(FaultsSection::default()));
        let embedded_flink = self
            .described
            .as_ref()
            .is_none_or(|described| described.file.flink.is_none());
        let file = self.described.as_ref().map(|d| d.path.as_path());
        // The run starts the copier, and the Flink processes when no Flink is named.
        let local = |target: &Target| {
            embedded_flink
                && matches!(
                    CommandTarget::of(target),
                    Some(CommandTarget::TaskManager | CommandTarget::JobManager)
                )
        };
        let problems = commands.missing(faults, file, local);
        if problems.is_empty() {
            return Ok(());
        }
        let text = std::fs::read_to_string(&loaded.file).unwrap_or_default();
        crate::scenario::located(&text, problems).map_err(|error| error.in_file(&loaded.file))
    }
}

/// A platform file and where it came from.
#[derive(Debug, Clone)]
pub struct LoadedPlatform {
    /// The file's sections.
    pub file: PlatformFile,
    /// The file, absolute, as another streamproof process is handed it.
    pub path: PathBuf,
}

/// Reads and checks a platform file.
pub fn load(path: &Path) -> Result<LoadedPlatform, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        ScenarioError::unlocated(format!("cannot read the platform file: {error}")).in_file(path)
    })?;
    let file: PlatformFile = serde_saphyr::from_str(&text)
        .map_err(|error| ScenarioError::from_parser(&error).in_file(path))?;
    let mut problems = file
        .faults
        .as_ref()
        .map(FaultCommands::file_problems)
        .unwrap_or_default();
    if file
        .lakehouse
        .as_ref()
        .is_some_and(|l| l.catalog().is_none())
    {
        problems.push(Problem::at(
            [Key("lakehouse")],
            "lakehouse names no catalog: give `rest: URI` (an Iceberg REST catalog) or `warehouse: DIR` (a Hadoop catalog's warehouse directory)",
        ));
    }
    crate::scenario::located(&text, problems).map_err(|error| error.in_file(path))?;
    if file.kafka.bootstrap_servers.trim().is_empty() {
        return Err(ScenarioError::unlocated(
            "kafka.bootstrap_servers is empty; give the cluster's host:port list".to_owned(),
        )
        .in_file(path));
    }
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    Ok(LoadedPlatform { file, path })
}

impl LoadedPlatform {
    /// The Kafka connection the file describes, secrets resolved now.
    pub fn connection(&self) -> Result<KafkaConnection> {
        self.file
            .kafka
            .connection()
            .with_context(|| format!("platform file `{}`", self.path.display()))
    }
}

/// Writes `file` to `path`.
pub fn write(path: &Path, file: &PlatformFile) -> Result<()> {
    let text = serde_saphyr::to_string(file).context("write the platform file as YAML")?;
    let header = "# Written by streamproof: how to reach this platform (docs/platform-file.md).\n";
    std::fs::write(path, format!("{header}{text}"))
        .with_context(|| format!("write `{}`", path.display()))
}

/// How the copier process reaches the cluster: the run's platform file (it resolves the
/// secrets itself, so none is on its command line), else the bootstrap servers.
pub fn copier_connection_args(
    platform: &Platform,
    existing: Option<&ExistingPlatform>,
) -> Vec<String> {
    match existing.and_then(|e| e.described.as_ref()) {
        Some(described) => vec![
            "--platform".to_owned(),
            described.path.display().to_string(),
        ],
        None => vec![
            "--bootstrap-servers".to_owned(),
            platform.connection.bootstrap_servers().to_owned(),
        ],
    }
}
