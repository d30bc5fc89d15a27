//! Reading and writing platform files (`--platform FILE`): YAML into
//! `streamproof_platform::file::PlatformFile`, every error located at file:line:column like a
//! scenario's, secrets resolved only when a connection is made.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use streamproof_platform::connection::KafkaConnection;
use streamproof_platform::file::PlatformFile;

use crate::scenario::ScenarioError;

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
