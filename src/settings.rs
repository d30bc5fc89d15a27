//! What a scenario asks of the platform, as the crates' settings: the platform to start,
//! the producer profile with its overrides, each consumer group's profile with the
//! platform-wide and the group's own overrides, the copier and the pipeline.

use std::path::Path;

use anyhow::{Context, Result};
use streamproof_loadgen::{GroupPlan, RAW_TOPICS};
use streamproof_platform::connection::KafkaConnection;
use streamproof_platform::copier::CopierConfig;
use streamproof_platform::handle::{
    free_port_block, Catalog, KafkaSource, PlatformSpec, SchemaRegistrySource,
};
use streamproof_platform::pipeline::{
    JavaClientProperties, PipelineError, PipelineSettings, RawValues, BRONZE_TOPIC,
};
use streamproof_platform::profiles::ClientSettings;
use streamproof_platform::runtime::{
    schema_registry_dir, ClusterSpec, FlinkSpec, Lifetime, SchemaRegistrySpec, FLINK_PORTS,
    PORT_BLOCK,
};
use streamproof_platform::schema_registry::RegistryConnection;

use crate::platform_file::ExistingPlatform;
use crate::scenario::{CopierSection, PipelineSection, PlatformSection, Scenario};

/// How long a producer may retry a send before reporting it failed, unless the scenario sets
/// `message.timeout.ms` itself: long enough to ride out a broker restart, short enough that a
/// run against a dead cluster ends.
const DEFAULT_MESSAGE_TIMEOUT_MS: &str = "60000";

fn pairs(map: &std::collections::BTreeMap<String, String>) -> impl Iterator<Item = (&str, &str)> {
    map.iter().map(|(k, v)| (k.as_str(), v.as_str()))
}

impl PlatformSection {
    /// The producers' settings: the profile, then `producer_overrides`.
    pub fn producer_settings(&self) -> Result<ClientSettings> {
        let mut settings = self
            .producer_profile
            .settings_map()
            .with_overrides(pairs(&self.producer_overrides))
            .context("platform.producer_overrides")?;
        settings
            .properties
            .entry("message.timeout.ms".to_owned())
            .or_insert_with(|| DEFAULT_MESSAGE_TIMEOUT_MS.to_owned());
        Ok(settings)
    }

    /// Consumers' settings without a group of their own: the profile, then
    /// `consumer_overrides`.
    pub fn consumer_settings(&self) -> Result<ClientSettings> {
        self.consumer_profile
            .settings_map()
            .with_overrides(pairs(&self.consumer_overrides))
            .context("platform.consumer_overrides")
    }
}

impl Scenario {
    /// Each consumer group of the scenario, named uniquely for `run_id`.
    pub fn consumer_groups(&self, run_id: &str) -> Result<Vec<GroupPlan>> {
        let platform = &self.platform;
        self.consumers
            .iter()
            .map(|spec| {
                let profile = spec.profile.unwrap_or(platform.consumer_profile);
                let settings = profile
                    .settings_map()
                    .with_overrides(pairs(&platform.consumer_overrides))
                    .and_then(|s| s.with_overrides(pairs(&spec.overrides)))
                    .with_context(|| format!("consumer group `{}` overrides", spec.group))?;
                Ok(GroupPlan {
                    group_id: format!("{}-{}", spec.group, &run_id[..8]),
                    instances: spec.instances.max(1),
                    settings,
                })
            })
            .collect()
    }
}

/// The platform a scenario asks for: its embedded brokers (behind proxies when network
/// faults are planned) or `existing`, and an embedded Flink session cluster when it runs the
/// pipeline; from one block of free ports, every process living as `lifetime` says.
pub fn platform_spec(
    scenario: &Scenario,
    existing: Option<&ExistingPlatform>,
    schema_registry: Option<&RegistryConnection>,
    out: &Path,
    lifetime: Lifetime,
) -> Result<PlatformSpec> {
    let base_port = free_port_block()?;
    let described = existing.and_then(|e| e.described.as_ref()).map(|d| &d.file);
    let remote_flink = described
        .and_then(|file| file.flink.as_ref())
        .map(|f| f.endpoint());
    let catalog = described
        .and_then(|file| file.lakehouse.as_ref())
        .and_then(|lakehouse| lakehouse.catalog());
    let kafka = match existing {
        Some(existing) => KafkaSource::Existing(existing.connection.clone()),
        None => KafkaSource::Embedded(ClusterSpec {
            brokers: scenario.platform.brokers,
            dir: out.join("platform"),
            base_port,
            broker_properties: scenario.platform.broker_properties.clone(),
            proxied: scenario.faults.iter().any(|f| f.kind().is_network()),
            lifetime,
            ..ClusterSpec::default()
        }),
    };
    let flink_port = match &kafka {
        KafkaSource::Embedded(_) => base_port + PORT_BLOCK,
        KafkaSource::Existing(_) => base_port,
    };
    let embedded_flink = scenario.platform.pipeline.is_some() && remote_flink.is_none();
    let flink = embedded_flink.then(|| FlinkSpec {
        dir: out.join("flink"),
        base_port: flink_port,
        lifetime,
        ..FlinkSpec::default()
    });
    let needs_registry = scenario.schema.format.schema_kind().is_some();
    let schema_registry = needs_registry.then(|| match schema_registry {
        Some(connection) => SchemaRegistrySource::Existing(connection.clone()),
        None => SchemaRegistrySource::Embedded(SchemaRegistrySpec {
            lifetime,
            ..SchemaRegistrySpec::new(
                schema_registry_dir(&out.join("platform")),
                flink_port + FLINK_PORTS,
            )
        }),
    });
    Ok(PlatformSpec {
        kafka,
        flink,
        reuse_running: false,
        remote_flink,
        catalog,
        schema_registry,
    })
}

impl PipelineSection {
    /// The pipeline's SQL settings for run `run_id` against `connection`, writing through
    /// `catalog`.
    pub fn settings(
        &self,
        connection: &KafkaConnection,
        catalog: Catalog,
        run_id: &str,
        values: RawValues,
    ) -> Result<PipelineSettings, PipelineError> {
        Ok(PipelineSettings {
            bootstrap: connection.bootstrap_servers().to_owned(),
            kafka: JavaClientProperties::from_librdkafka(connection.client_properties())?,
            catalog: catalog
                .with_table_format(self.table_format)
                .map_err(PipelineError::Catalog)?,
            checkpoint_interval: self.checkpoint_interval,
            guarantee: self.guarantee,
            dedup_ttl: self.dedup_ttl,
            window: self.window,
            watermark_delay: self.watermark_delay,
            prefix: format!("streamproof-{}", &run_id[..8]),
            values,
        })
    }
}

impl CopierSection {
    /// The copier of run `run_id` against `connection`: raw to `bronze-events`.
    pub fn config(&self, connection: &KafkaConnection, run_id: &str) -> CopierConfig {
        CopierConfig {
            connection: connection.clone(),
            group: format!("bronze-copier-{}", &run_id[..8]),
            mode: self.mode,
            batch: self.batch,
            inputs: RAW_TOPICS.iter().map(|t| (*t).to_owned()).collect(),
            output: BRONZE_TOPIC.to_owned(),
        }
    }
}
