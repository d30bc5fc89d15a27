//! The stages a scenario adds to the platform (the raw → bronze copier, or the Flink
//! pipeline), the load with its faults on one clock, and each stage's verification.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use streamproof_chaos::injector::{FaultRecord, Injector, Targets};
use streamproof_chaos::spec::PlatformProcess;
use streamproof_loadgen::control::ProducerControl;
use streamproof_loadgen::{GroupPlan, LoadOutcome, LoadPlan};
use streamproof_platform::copier::CopierStage;
use streamproof_platform::handle::Platform;
use streamproof_platform::pipeline::{PipelineStage, PipelineStart, RawValues};
use streamproof_platform::profiles::ClientSettings;
use streamproof_verify::bronze::{check_copier, BronzeFindings};
use streamproof_verify::gold::GoldReplay;
use streamproof_verify::kafka::KafkaFindings;
use streamproof_verify::pipeline::{verify_pipeline, PipelineFindings, PipelineRun};

use super::schema::{ScheduledChanges, SchemaRun};
use super::{RunOptions, RunPlatform};
use crate::platform_file::copier_connection_args;
use crate::progress::ProgressView;
use crate::scenario::Scenario;
use streamproof_reports::result::schema::SchemaChangeRecord;

/// How the pipeline reads the raw topics' values: JSON, or through the run's registry.
fn raw_values(scenario: &Scenario, platform: &Platform) -> Result<RawValues> {
    if scenario.schema.format.schema_kind().is_none() {
        return Ok(RawValues::Json);
    }
    let registry = platform
        .schema_registry
        .clone()
        .context("the platform has no schema registry for the pipeline to decode with")?;
    Ok(RawValues::Registered(registry))
}

/// The running stages of a run.
pub struct Stages {
    copier: Option<CopierStage>,
    pipeline: Option<PipelineStage>,
}

/// The load as it ran, with the faults fired during it.
pub struct LoadedRun {
    /// What the generator measured, and its ledger.
    pub outcome: LoadOutcome,
    /// Every fault's timeline.
    pub faults: Vec<FaultRecord>,
    /// Every schema change made during the load.
    pub schema_changes: Vec<SchemaChangeRecord>,
}

/// What the stages' verification found.
pub struct Verified {
    /// The copier's mode and the `bronze-events` topic against raw, when a copier ran, or the
    /// pipeline's guarantee and its `bronze-events` topic.
    pub bronze: Option<(String, BronzeFindings)>,
    /// The pipeline's layers, when it ran.
    pub lakehouse: Option<PipelineFindings>,
}

impl Stages {
    /// Starts the scenario's copier process or submits its pipeline to the platform's Flink.
    pub fn start(
        scenario: &Scenario,
        platform: &Platform,
        run_id: &str,
        options: &RunOptions,
    ) -> Result<Self> {
        let copier = match &scenario.platform.copier {
            Some(section) => {
                let exe = std::env::current_exe().context("find the streamproof executable")?;
                let config = section.config(&platform.connection, run_id);
                let reach = copier_connection_args(platform, options.existing.as_ref());
                let stage = CopierStage::start(&config, &exe, &reach, &options.out)
                    .context("start the copier stage")?;
                Some(stage)
            }
            None => None,
        };
        let pipeline = match (&scenario.platform.pipeline, platform.flink_endpoint()) {
            (Some(section), Some(flink)) => {
                let Some(catalog) = platform.catalog() else {
                    anyhow::bail!("the platform has no lakehouse catalog for the pipeline");
                };
                if let Some(warehouse) = catalog.local_warehouse() {
                    std::fs::create_dir_all(warehouse)
                        .with_context(|| format!("create `{}`", warehouse.display()))?;
                }
                eprintln!("submitting the pipeline (bronze, silver, gold) and waiting for every task to run…");
                let stage = PipelineStage::start(PipelineStart {
                    flink: &flink,
                    connection: &platform.connection,
                    settings: section.settings(
                        &platform.connection,
                        catalog,
                        run_id,
                        raw_values(scenario, platform)?,
                    )?,
                    cancel_at_end: platform.flink.is_none() && !options.keep_platform,
                })
                .context("start the pipeline")?;
                Some(stage)
            }
            _ => None,
        };
        Ok(Stages { copier, pipeline })
    }

    /// Runs the load, with the scenario's faults firing on the load's clock.
    pub async fn load_with_faults(
        &self,
        scenario: &Scenario,
        run: &RunPlatform,
        run_id: &str,
        producer: &ClientSettings,
        groups: &[GroupPlan],
        schemas: Option<&Arc<SchemaRun>>,
    ) -> Result<LoadedRun> {
        let control = Arc::new(ProducerControl::new(scenario.load.producers));
        let plan = LoadPlan {
            run_id: run_id.to_owned(),
            seed: scenario.seed,
            connection: run.platform.connection.clone(),
            producer: producer.clone(),
            load: scenario.load.clone(),
            consumers: groups.to_vec(),
            drain_timeout: scenario.drain_timeout,
            control: control.clone(),
            observed_groups: self
                .pipeline
                .iter()
                .map(PipelineStage::source_group)
                .collect(),
            encoder: schemas.map(|run| run.encoder()),
        };
        let view = ProgressView::new(scenario.load.total());
        let mut injector: Option<Injector> = None;
        let mut changes: Option<ScheduledChanges> = None;
        let mut start_faults = |start: Instant| {
            changes = schemas.map(|run| run.start_changes(start));
            if !scenario.faults.is_empty() {
                injector = Some(Injector::start(
                    self.fault_targets(run, &control),
                    run.platform.connection.clone(),
                    scenario.faults.clone(),
                    start,
                    scenario.seed,
                    run_id,
                ));
            }
        };
        let outcome =
            streamproof_loadgen::run(plan, &|progress| view.update(progress), &mut start_faults)
                .await
                .context("run the load")?;
        view.finish();
        // Every fault heals before the records are verified.
        let faults =
            tokio::task::block_in_place(|| injector.map(Injector::finish).unwrap_or_default());
        let schema_changes = tokio::task::block_in_place(|| {
            changes.map(ScheduledChanges::finish).unwrap_or_default()
        });
        Ok(LoadedRun {
            outcome,
            faults,
            schema_changes,
        })
    }

    /// What faults may act on: the embedded brokers and Flink, the copier, the producers,
    /// and through the platform file's commands what streamproof did not start.
    fn fault_targets(&self, run: &RunPlatform, control: &Arc<ProducerControl>) -> Targets {
        Targets::on_platform(
            &run.platform,
            self.copier
                .iter()
                .map(|copier| (PlatformProcess::Copier, copier.process.clone()))
                .collect(),
            self.pipeline
                .iter()
                .filter_map(PipelineStage::after_jobmanager_restart)
                .map(|recovery| (PlatformProcess::JobManager, recovery))
                .collect(),
            run.proxies.clone(),
            control.clone(),
            run.fault_commands.clone(),
        )
    }

    /// Drains each stage and verifies what it wrote against the raw check's findings.
    pub fn verify(
        &self,
        platform: &Platform,
        run_id: &str,
        outcome: &LoadOutcome,
        raw: &KafkaFindings,
        replay: &GoldReplay<'_>,
        scenario: &Scenario,
    ) -> Result<Verified> {
        let mut verified = Verified {
            bronze: None,
            lakehouse: None,
        };
        if let Some(copier) = &self.copier {
            eprintln!("waiting for the copier to catch up, then verifying bronze…");
            copier.drain_and_stop(scenario.drain_timeout);
            let found = check_copier(copier, run_id, &outcome.ledger, raw, scenario.drain_timeout)
                .context("verify bronze")?;
            verified.bronze = Some((copier.mode().to_owned(), found));
        }
        if let Some(stage) = &self.pipeline {
            eprintln!("waiting for the pipeline to catch up, then verifying the lakehouse…");
            let found = verify_pipeline(&PipelineRun {
                stage,
                connection: &platform.connection,
                run_id,
                ledger: &outcome.ledger,
                raw_copies: &raw.copies,
                removed: &raw.removed,
                timeout: scenario.drain_timeout,
                replay,
            })
            .context("verify the pipeline")?;
            verified.bronze = Some((stage.mode(), found.bronze_topic.clone()));
            verified.lakehouse = Some(found);
        }
        Ok(verified)
    }
}
