//! `streamproof plan`: calibration runs on the cluster (a rate search at the objective per
//! partition count, then the consumers' catch-up on what the search left in the topic), the
//! plan made from them, and the proving run of the plan's layout. Every run is a scenario,
//! generated and kept in the plan's directory beside its result, so each figure can be re-run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{bail, Context, Result};
use streamproof_loadgen::catch_up::measure_catch_up;
use streamproof_loadgen::spec::{ConsumerGroupSpec, KeySpec, LoadSpec, PayloadBytes, Rate};
use streamproof_platform::capacity::{assemble_plan, PlanInputs, TopicDemand};
use streamproof_platform::events::EventType;
use streamproof_platform::topics::{TopicName, TopicSetOptions};
use streamproof_reports::result::plan::{
    CalibratedOn, CapacityPlan, Objective, PartitionPoint, Proof,
};
use streamproof_reports::result::RunResult;
use streamproof_verify::expect::Expectations;

use super::{run_scenario, run_scenario_then, RunOptions};
use crate::plan::{LoadedPlan, PlanFile, TopicDemandSection};
use crate::platform_file::ExistingPlatform;
use crate::scenario::{self, LoadedScenario, Scenario};

/// The topic every calibration step sends to.
const CALIBRATION_TOPIC: &str = "raw-events";

/// Keys of calibration and proving runs: enough to spread over any partition count.
const KEY_CARDINALITY: u64 = 100_000;

/// Where and against what to plan.
pub struct PlanOptions {
    /// Directory of the plan and its runs.
    pub out: PathBuf,
    /// An existing platform instead of the embedded one.
    pub existing: Option<ExistingPlatform>,
    /// Directories of embedded platforms started so far, stopped on Ctrl-C.
    pub started: Arc<Mutex<Vec<PathBuf>>>,
}

impl PlanOptions {
    fn run_options(&self, dir: &str) -> RunOptions {
        RunOptions {
            out: self.out.join(dir),
            existing: self.existing.clone(),
            started: self.started.clone(),
            keep_platform: false,
            schema_registry: None,
        }
    }
}

/// Calibrates on the cluster and makes the plan.
pub fn make_plan(loaded: &LoadedPlan, options: &PlanOptions) -> Result<CapacityPlan> {
    let plan = &loaded.plan;
    let counts = &plan.calibration.partitions;
    if options.existing.is_some() && counts.len() > 1 {
        bail!(
            "`{}`: on an existing cluster a plan calibrates at one partition count (its raw topics are not re-created); write `calibration.partitions: [N]` or pass `--partitions N` with the partitions `{CALIBRATION_TOPIC}` has or should be created with",
            loaded.file.display()
        );
    }
    let mut points = Vec::new();
    let mut calibrated_on = None;
    for &partitions in counts {
        let (point, on) = calibrate_point(plan, partitions, options)?;
        calibrated_on.get_or_insert(on);
        points.push(point);
    }
    let calibrated_on = calibrated_on.context("the plan has no partition count to calibrate")?;
    let inputs = PlanInputs {
        name: plan.name.clone(),
        streamproof_version: env!("CARGO_PKG_VERSION").to_owned(),
        created_at: streamproof_platform::events::utc_timestamp(chrono::Utc::now()),
        calibrated_on,
        objective: Objective {
            produce_p99_ms: plan.objective.produce_p99.map(millis),
            end_to_end_p99_ms: plan.objective.end_to_end_p99.map(millis),
            min_throughput: plan.objective.min_throughput,
        },
        headroom: plan.headroom,
        record_bytes: plan.average_record_bytes(),
        points,
        demands: demands(plan)?,
        outage_seconds: plan.calibration.outage.as_secs_f64(),
    };
    Ok(assemble_plan(inputs)?)
}

fn millis(duration: std::time::Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// The workload as the formulas take it.
fn demands(plan: &PlanFile) -> Result<Vec<TopicDemand>> {
    plan.topics
        .iter()
        .map(|topic| {
            let layer = topic
                .topic
                .parse::<TopicName>()
                .with_context(|| format!("topic `{}`", topic.topic))?
                .layer();
            let retention_ms = topic.retention.map_or(layer.default_retention_ms(), |r| {
                i64::try_from(r.as_millis()).unwrap_or(i64::MAX)
            });
            Ok(TopicDemand {
                topic: topic.topic.clone(),
                layer: layer.as_str().to_owned(),
                target_eps: topic.target_eps(),
                record_bytes: topic.record_bytes,
                largest_group: topic.largest_group(),
                retention_days: (retention_ms as u64).div_ceil(86_400_000),
            })
        })
        .collect()
}

/// One partition count: the rate search, then the catch-up of what it left in the topic.
fn calibrate_point(
    plan: &PlanFile,
    partitions: u32,
    options: &PlanOptions,
) -> Result<(PartitionPoint, CalibratedOn)> {
    let dir = format!("calibration/p{partitions}");
    eprintln!("calibrating at {partitions} partition(s)…");
    let run_options = options.run_options(&dir);
    let loaded = write_scenario(&run_options.out, &calibration_scenario(plan, partitions))?;
    let consumer_settings = plan.platform.consumer_settings()?;
    let budget = plan.calibration.catch_up_budget;
    let (result, catch_up) = run_scenario_then(&loaded, &run_options, |platform, _| {
        eprintln!("measuring the catch-up of {partitions} consumer(s)…");
        measure_catch_up(
            &platform.connection,
            &consumer_settings,
            CALIBRATION_TOPIC,
            partitions as usize,
            budget,
        )
        .context("measure the consumers' catch-up rate")
    })?;
    crate::commands::run::write_reports(&run_options.out, &result)?;
    let search = result
        .rate_search
        .clone()
        .context("the calibration run searched no rate")?;
    eprintln!(
        "  {partitions} partition(s): {} at the objective, catch-up {:.0} records/s with {} consumer(s)",
        search
            .max_sustainable_eps
            .map_or("no rate held".to_owned(), |r| format!("{r:.0} events/s")),
        catch_up.rate(),
        catch_up.instances
    );
    let point = PartitionPoint {
        partitions,
        sustainable_eps: search.max_sustainable_eps,
        per_partition_eps: search
            .max_sustainable_eps
            .map(|eps| eps / f64::from(partitions)),
        search,
        catch_up_instances: catch_up.instances as u32,
        catch_up_records: catch_up.records,
        catch_up_eps: catch_up.rate(),
        catch_up_drained: catch_up.drained,
        results_dir: dir,
    };
    Ok((point, calibrated_on(plan, &result)))
}

fn calibrated_on(plan: &PlanFile, result: &RunResult) -> CalibratedOn {
    let platform = &result.platform;
    CalibratedOn {
        kind: platform.kind.clone(),
        bootstrap_servers: platform.bootstrap_servers.clone(),
        brokers: platform.brokers as u32,
        producer_profile: platform.producer_profile.clone(),
        consumer_profile: plan.platform.consumer_profile.name().to_owned(),
    }
}

/// The expectations of every planned run: the objective, and nothing lost or duplicated.
fn objective_expectations(plan: &PlanFile) -> Expectations {
    Expectations {
        produce_p99: plan.objective.produce_p99,
        end_to_end_p99: plan.objective.end_to_end_p99,
        min_throughput: Some(plan.objective.min_throughput),
        ..Expectations::default()
    }
}

/// A rate search on `partitions` partitions of the calibration topic, at the plan's average
/// record size, read by the workload's consumer groups with their instances (those beyond
/// the partitions idle, as they would in production), so the sustainable rate includes their
/// fan-out; without groups, by one consumer per partition when the objective limits
/// end-to-end latency.
fn calibration_scenario(plan: &PlanFile, partitions: u32) -> Scenario {
    let calibration = &plan.calibration;
    let mut consumers: Vec<ConsumerGroupSpec> = workload_groups(plan, |_| true)
        .into_iter()
        .map(|(name, instances)| group(name, instances as usize))
        .collect();
    if consumers.is_empty() && plan.objective.end_to_end_p99.is_some() {
        consumers.push(group("calibration", partitions as usize));
    }
    planned_scenario(
        plan,
        PlannedRun {
            name: format!("{}-calibration-p{partitions}", plan.name),
            description: format!(
                "Calibration of plan `{}`: the highest rate at which the objective holds on {partitions} partition(s) of {CALIBRATION_TOPIC}.",
                plan.name
            ),
            partitions,
            duration: calibration.search.step,
            warmup: calibration.warmup,
            rate: Rate::FindMax,
            mix: BTreeMap::from([(EventType::UserAction, 1)]),
            record_bytes: plan.average_record_bytes(),
            search: Some(calibration.search),
            consumers,
        },
    )
}

/// What differs between the runs a plan generates.
struct PlannedRun {
    name: String,
    description: String,
    partitions: u32,
    duration: std::time::Duration,
    warmup: std::time::Duration,
    rate: Rate,
    mix: BTreeMap<EventType, u32>,
    record_bytes: u64,
    search: Option<streamproof_loadgen::search::SearchSpec>,
    consumers: Vec<ConsumerGroupSpec>,
}

/// A run of the plan's platform and producers on `partitions` partitions per topic, with the
/// objective as its expectations.
fn planned_scenario(plan: &PlanFile, run: PlannedRun) -> Scenario {
    Scenario {
        name: run.name,
        description: run.description,
        seed: 1,
        platform: plan.platform.clone(),
        topics: TopicSetOptions {
            partitions: Some(run.partitions as i32),
            ..TopicSetOptions::default()
        },
        load: LoadSpec {
            duration: run.duration,
            warmup: run.warmup,
            rate: run.rate,
            producers: plan.calibration.producers,
            mix: run.mix,
            keys: KeySpec {
                cardinality: KEY_CARDINALITY,
                ..KeySpec::default()
            },
            payload_bytes: PayloadBytes::Fixed(run.record_bytes as usize),
            duplicates: Default::default(),
            invalid: Default::default(),
            late: Default::default(),
            search: run.search,
        },
        consumers: run.consumers,
        schema: Default::default(),
        faults: Vec::new(),
        expect: objective_expectations(plan),
        drain_timeout: scenario::default_drain_timeout(),
    }
}

/// The plan's consumer groups of the topics `pick` accepts, each with its most instances.
fn workload_groups(
    plan: &PlanFile,
    pick: impl Fn(&TopicDemandSection) -> bool,
) -> BTreeMap<&str, u32> {
    let mut groups: BTreeMap<&str, u32> = BTreeMap::new();
    for demand in plan.topics.iter().filter(|t| pick(t)) {
        for g in &demand.consumers {
            let instances = groups.entry(g.group.as_str()).or_default();
            *instances = (*instances).max(g.instances);
        }
    }
    groups
}

fn group(name: &str, instances: usize) -> ConsumerGroupSpec {
    ConsumerGroupSpec {
        group: name.to_owned(),
        instances,
        profile: None,
        overrides: BTreeMap::new(),
    }
}

/// The planned workload on the planned layout: every raw topic of the plan at its planned
/// rate, on the most partitions any of them was given, read by the plan's groups.
fn proof_scenario(plan: &PlanFile, capacity: &CapacityPlan) -> Option<Scenario> {
    let raw: Vec<(EventType, &streamproof_reports::result::plan::TopicPlan)> = plan
        .topics
        .iter()
        .zip(&capacity.topics)
        .filter_map(|(demand, sized)| demand.event_type().map(|t| (t, sized)))
        .collect();
    let partitions = raw.iter().map(|(_, t)| t.partitions).max()?;
    let rate: f64 = raw.iter().map(|(_, t)| t.planned_eps).sum();
    let bytes = raw
        .iter()
        .map(|(_, t)| t.planned_eps * t.record_bytes as f64)
        .sum::<f64>()
        / rate;
    let mix = raw
        .iter()
        .map(|(event_type, t)| (*event_type, t.planned_eps.round().max(1.0) as u32))
        .collect();
    let groups = workload_groups(plan, |topic| topic.event_type().is_some());
    Some(planned_scenario(
        plan,
        PlannedRun {
            name: format!("{}-prove", plan.name),
            description: format!(
                "Proof of plan `{}`: the planned rates ({rate:.0} events/s, headroom {}) on {partitions} partitions per topic.",
                plan.name, plan.headroom
            ),
            partitions,
            duration: plan.calibration.prove_duration,
            warmup: plan.calibration.prove_warmup,
            rate: Rate::PerSecond(rate),
            mix,
            record_bytes: bytes.round().max(1.0) as u64,
            search: None,
            consumers: groups
                .into_iter()
                .map(|(name, instances)| group(name, instances as usize))
                .collect(),
        },
    ))
}

/// Runs the plan's workload on its layout and records whether every expectation held.
pub fn prove(plan: &PlanFile, capacity: &CapacityPlan, options: &PlanOptions) -> Result<Proof> {
    let scenario = proof_scenario(plan, capacity).context(
        "the plan has no raw topic to send to; --prove runs the raw topics' planned rates",
    )?;
    eprintln!(
        "proving the plan: {} at {} partitions…",
        match scenario.load.rate {
            Rate::PerSecond(rate) => format!("{rate:.0} events/s"),
            Rate::Max | Rate::FindMax => "max".to_owned(),
        },
        scenario.topics.partitions.unwrap_or_default()
    );
    let run_options = options.run_options("prove");
    let loaded = write_scenario(&run_options.out, &scenario)?;
    let result = run_scenario(&loaded, &run_options)?;
    crate::commands::run::write_reports(&run_options.out, &result)?;
    Ok(Proof {
        proven: result.passed(),
        scenario: "prove/scenario.yaml".to_owned(),
        result: "prove/result.json".to_owned(),
        failed_checks: result
            .checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| c.name.clone())
            .collect(),
    })
}

/// Writes a generated scenario as `scenario.yaml` in `dir` and loads it back, so it is checked
/// like any scenario file and can be run again as it stands.
fn write_scenario(dir: &Path, scenario: &Scenario) -> Result<LoadedScenario> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("create the directory `{}`", dir.display()))?;
    let file = dir.join("scenario.yaml");
    let text = serde_saphyr::to_string(scenario).context("write the generated scenario")?;
    std::fs::write(&file, text).with_context(|| format!("write `{}`", file.display()))?;
    Ok(scenario::load(&file)?)
}
