//! A platform file: the existing platform a team runs, described so that the same scenario
//! runs on the embedded platform or on theirs (`--platform FILE`, documented in
//! `docs/platform-file.md`). This module holds its sections and what they resolve to; the
//! command line reads the YAML (with file:line:column errors) and hands the sections here.
//!
//! Secrets are references (`${env:NAME}`, `${file:PATH}`), resolved when a run starts and
//! never written back: what is shown or stored is the file's text, literal secrets redacted.

use std::collections::BTreeMap;
use std::path::PathBuf;

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

/// `lakehouse:`: the Iceberg catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LakehouseSection {
    /// A Hadoop catalog's warehouse directory, which the jobs and streamproof both reach.
    pub warehouse: PathBuf,
}

impl KafkaSection {
    /// The connection every client of a run is built from, secrets resolved.
    pub fn connection(&self) -> Result<KafkaConnection, SecretError> {
        KafkaConnection::with_properties(self.bootstrap_servers.as_str(), &self.properties)
    }
}

impl LakehouseSection {
    /// The catalog it names.
    pub fn catalog(&self) -> Catalog {
        Catalog::HadoopWarehouse(self.warehouse.clone())
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
