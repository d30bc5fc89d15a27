//! Turns what the load generator measured and the checker found into `result.json`'s form.

use std::time::Duration;

use streamproof_chaos::injector::FaultRecord;
use streamproof_chaos::windows::{fault_throughput, healed};
use streamproof_loadgen::series::{lag_summary, recovery_window, timeseries};
use streamproof_loadgen::{GroupPlan, LoadOutcome};
use streamproof_reports::result::{
    PlatformInfo, RunEnvironment, RunResult, Verdict, RESULT_VERSION,
};
use streamproof_verify::bronze::BronzeFindings;

use streamproof_verify::expect::{evaluate, Observed};
use streamproof_verify::kafka::KafkaFindings;
use streamproof_verify::pipeline::PipelineFindings;
use streamproof_verify::summary::{anomalies, verification};

use super::schema::schema_counts;
use crate::scenario::LoadedScenario;
use streamproof_reports::result::schema::SchemaReport;

/// Everything a result is made of.
pub struct Assembly<'a> {
    pub loaded: &'a LoadedScenario,
    pub run_id: String,
    /// The platform, but for the consumer groups, which the load adds.
    pub platform: PlatformInfo,
    pub groups: &'a [GroupPlan],
    pub outcome: &'a LoadOutcome,
    pub findings: &'a KafkaFindings,
    pub faults: &'a [FaultRecord],
    /// The copier's mode and what the bronze check found, when a copier ran.
    pub bronze: Option<&'a (String, BronzeFindings)>,
    /// What the pipeline's verification found, when the pipeline ran.
    pub lakehouse: Option<&'a PipelineFindings>,
    /// The schema registry's report, when values carry registered schemas.
    pub schemas: Option<SchemaReport>,
}

pub fn assemble(input: Assembly<'_>) -> RunResult {
    let outcome = input.outcome;
    let scenario = &input.loaded.scenario;
    let has_consumers = !input.groups.is_empty();
    let throughput = outcome.throughput();
    let latency = outcome.latencies(has_consumers);
    let window = recovery_window(
        &outcome.lag,
        scenario.load.warmup,
        scenario.load.total(),
        input.faults,
    );
    let lag = lag_summary(&outcome.lag, &window, outcome.undrained);
    let series = timeseries(outcome, scenario.load.warmup);
    let fault_throughput = fault_throughput(
        &series,
        input.faults,
        scenario.load.warmup,
        scenario.load.total(),
    );
    let bronze_topic = input.bronze.map(|(_, found)| found);
    let observed = Observed {
        counts: input.findings.counts,
        drained: input.findings.drained,
        drain_timeout: scenario.drain_timeout,
        target_eps: outcome.target_eps,
        achieved_eps: throughput.achieved_eps,
        produce: latency.produce,
        end_to_end: latency.end_to_end,
        max_lag: lag.max_records,
        lag_recovery: has_consumers.then(|| lag.recovery_seconds.map(Duration::from_secs_f64)),
        generator: (outcome.generator.kept_up, outcome.generator.note.clone()),
        bronze: bronze_topic.map(BronzeFindings::counts),
        fault_throughput: fault_throughput
            .as_ref()
            .map(|t| (t.before_faults_eps, t.outside_faults_eps)),
        lakehouse: input.lakehouse.map(PipelineFindings::counts),
        faults_healed: healed(input.faults),
        schemas: input.schemas.as_ref().map(schema_counts),
    };
    let checks = evaluate(&scenario.expect, &observed);
    let verdict = Verdict::of(&checks);
    RunResult {
        result_version: RESULT_VERSION,
        run_id: input.run_id.clone(),
        streamproof_version: env!("CARGO_PKG_VERSION").to_owned(),
        environment: Some(RunEnvironment::of_this_process(env!(
            "STREAMPROOF_GIT_REVISION"
        ))),
        scenario: input.loaded.info(),
        started_at: String::new(),
        duration_seconds: 0.0,
        platform: PlatformInfo {
            consumer_groups: input.groups.iter().map(|g| g.info(outcome)).collect(),
            ..input.platform
        },
        counts: input.findings.counts,
        throughput,
        latency,
        latency_distribution: outcome.latency_distribution(),
        lag,
        generator: outcome.generator_section(),
        checks,
        anomalies: anomalies(input.findings, bronze_topic, input.lakehouse),
        verdict,
        timeseries: series,
        fault_throughput,
        faults: input.faults.to_vec(),
        bronze: input.bronze.map(|(mode, found)| found.section(mode)),
        lakehouse: input.lakehouse.map(|found| found.section.clone()),
        verification: Some(verification(input.findings, bronze_topic, input.lakehouse)),
        rate_search: None,
        schemas: input.schemas,
    }
}
