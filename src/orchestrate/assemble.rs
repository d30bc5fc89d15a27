//! Turns what the load generator measured and the checker found into `result.json`'s form.

use std::collections::BTreeMap;
use std::time::Duration;

use streamproof_chaos::injector::FaultRecord;
use streamproof_chaos::windows::fault_throughput;
use streamproof_loadgen::series::{lag_summary, recovery_window, timeseries};
use streamproof_loadgen::stats::{percentile_curve, summarize};
use streamproof_loadgen::{GroupPlan, LoadOutcome};
use streamproof_platform::profiles::ClientSettings;
use streamproof_platform::topics::TopicConfig;
use streamproof_reports::result::{
    AnomalyExample, Bronze, ConsumerGroupInfo, Generator, Latencies, LatencyDistributions,
    PlatformInfo, RunEnvironment, RunResult, ScenarioInfo, Throughput, TopicInfo, Verdict,
    Verification, VerificationStep, RESULT_VERSION,
};
use streamproof_verify::bronze::BronzeFindings;
use streamproof_verify::expect::{BronzeCounts, LakehouseCounts};

use super::lakehouse::PipelineFindings;
use streamproof_verify::expect::{evaluate, Observed};
use streamproof_verify::kafka::KafkaFindings;

use crate::scenario::LoadedScenario;

/// Everything a result is made of.
pub struct Assembly<'a> {
    pub loaded: &'a LoadedScenario,
    pub run_id: String,
    pub platform_kind: &'a str,
    pub bootstrap: &'a str,
    pub brokers: usize,
    pub kafka_version: &'a str,
    pub producer: &'a ClientSettings,
    pub groups: &'a [GroupPlan],
    pub topics: &'a [TopicConfig],
    pub outcome: &'a LoadOutcome,
    pub findings: &'a KafkaFindings,
    pub faults: &'a [FaultRecord],
    /// The copier's mode and what the bronze check found, when a copier ran.
    pub bronze: Option<&'a (String, BronzeFindings)>,
    /// What the pipeline's verification found, when the pipeline ran.
    pub lakehouse: Option<&'a PipelineFindings>,
}

pub fn assemble(input: Assembly<'_>) -> RunResult {
    let outcome = input.outcome;
    let scenario = &input.loaded.scenario;
    let measured_seconds = outcome.measured_duration.as_secs_f64();
    let achieved_eps = outcome.measured_acked as f64 / measured_seconds;
    let has_consumers = !input.groups.is_empty();
    let end_to_end = has_consumers.then(|| summarize(&outcome.end_to_end));
    let window = recovery_window(
        &outcome.lag,
        scenario.load.warmup,
        scenario.load.total(),
        input.faults,
    );
    let lag = lag_summary(&outcome.lag, &window, outcome.undrained);
    let observed = Observed {
        counts: input.findings.counts,
        drained: input.findings.drained,
        drain_timeout: scenario.drain_timeout,
        target_eps: outcome.target_eps,
        achieved_eps,
        produce: summarize(&outcome.produce),
        end_to_end,
        max_lag: lag.max_records,
        lag_recovery: has_consumers.then(|| lag.recovery_seconds.map(Duration::from_secs_f64)),
        generator: (outcome.generator.kept_up, outcome.generator.note.clone()),
        bronze: input.bronze.map(|(_, found)| bronze_counts(found)),
        fault_throughput: None,
        lakehouse: input.lakehouse.map(|found| LakehouseCounts {
            bronze: bronze_counts(&found.lakehouse.bronze),
            silver_missing: found.lakehouse.silver_missing,
            silver_duplicates: found.lakehouse.silver_duplicates,
            silver_unexpected: found.lakehouse.silver_unexpected,
            dlq_missing: found.lakehouse.dlq_missing,
            dlq_duplicates: found.lakehouse.dlq_duplicates,
            dlq_unexpected: found.lakehouse.dlq_unexpected,
            gold_windows_wrong: found.gold.as_ref().map_or(0, |gold| {
                gold.windows_mismatched
                    + gold.windows_missing
                    + gold.windows_unexpected
                    + gold.windows_duplicated
                    + gold.replay_mismatches
            }),
            gold_late_dropped: found
                .section
                .gold
                .as_ref()
                .map_or(0, |gold| gold.late_dropped),
        }),
        faults_healed: (!input.faults.is_empty()).then(|| {
            let healed = input
                .faults
                .iter()
                .filter(|f| f.applied && f.healed_at_s.is_some())
                .count();
            (healed, input.faults.len())
        }),
    };
    let series = timeseries(outcome, scenario.load.warmup);
    let fault_throughput = fault_throughput(
        &series,
        input.faults,
        scenario.load.warmup,
        scenario.load.total(),
    );
    let observed = Observed {
        fault_throughput: fault_throughput.map(|t| (t.before_faults_eps, t.outside_faults_eps)),
        ..observed
    };
    let checks = evaluate(&scenario.expect, &observed);
    let verdict = if checks.iter().all(|c| c.passed) {
        Verdict::Pass
    } else {
        Verdict::Fail
    };
    RunResult {
        result_version: RESULT_VERSION,
        run_id: input.run_id.clone(),
        streamproof_version: env!("CARGO_PKG_VERSION").to_owned(),
        environment: Some(environment()),
        scenario: ScenarioInfo {
            name: scenario.name.clone(),
            description: scenario.description.clone(),
            file: input.loaded.file.display().to_string(),
            sha256: input.loaded.sha256.clone(),
            seed: scenario.seed,
            as_run: serde_json::to_value(scenario).unwrap_or_default(),
        },
        started_at: String::new(),
        duration_seconds: 0.0,
        platform: platform_info(&input),
        counts: input.findings.counts,
        throughput: Throughput {
            target_eps: outcome.target_eps,
            sent_eps: outcome.measured_sent as f64 / measured_seconds,
            achieved_eps,
            bytes_per_s: outcome.measured_bytes as f64 / measured_seconds,
            measured_seconds,
        },
        latency: Latencies {
            produce: summarize(&outcome.produce),
            produce_uncorrected: summarize(&outcome.service),
            end_to_end,
        },
        latency_distribution: LatencyDistributions {
            produce: percentile_curve(&outcome.produce),
            produce_uncorrected: percentile_curve(&outcome.service),
            end_to_end: percentile_curve(&outcome.end_to_end),
        },
        lag,
        generator: Generator {
            cpu_percent: outcome.generator.cpu_percent,
            cores: outcome.generator.cores,
            schedule_slip_p99_us: outcome.generator.schedule_slip.p99_us,
            schedule_slip_max_us: outcome.generator.schedule_slip.max_us,
            queue_full_waits: outcome.generator.queue_full_waits,
            kept_up: outcome.generator.kept_up,
            note: outcome.generator.note.clone(),
        },
        checks,
        anomalies: anomalies(&input),
        verdict,
        timeseries: series,
        fault_throughput,
        faults: input.faults.to_vec(),
        bronze: input.bronze.map(|(mode, found)| Bronze {
            copier_mode: mode.clone(),
            expected: found.expected,
            present: found.present,
            missing: found.missing,
            duplicates: found.duplicates,
            corrupted: found.corrupted,
            foreign: found.foreign,
        }),
        lakehouse: input.lakehouse.map(|found| found.section.clone()),
        verification: Some(verification(&input)),
    }
}

/// The command line, the build and the host, so a result file explains where it came from.
fn environment() -> RunEnvironment {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let memory_kib: u64 = read("/proc/meminfo")
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    RunEnvironment {
        command_line: std::env::args().collect(),
        git_revision: env!("STREAMPROOF_GIT_REVISION").to_owned(),
        host: read("/proc/sys/kernel/hostname").trim().to_owned(),
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        memory_bytes: memory_kib * 1024,
    }
}

fn bronze_counts(found: &BronzeFindings) -> BronzeCounts {
    BronzeCounts {
        missing: found.missing,
        duplicates: found.duplicates,
        corrupted: found.corrupted,
    }
}

/// What each layer's verification read and cost, in the order the run verified them.
fn verification(input: &Assembly<'_>) -> Verification {
    let raw = VerificationStep {
        layer: "raw".to_owned(),
        seconds: input.findings.read_seconds,
        records_read: input.findings.records_read,
    };
    let bronze_topic = input
        .bronze
        .map(|(_, found)| found)
        .or(input.lakehouse.map(|found| &found.bronze_topic))
        .map(|found| VerificationStep {
            layer: "bronze-events".to_owned(),
            seconds: found.read_seconds,
            records_read: found.records_read,
        });
    let lakehouse = input.lakehouse.into_iter().flat_map(|found| {
        found
            .lakehouse
            .costs
            .iter()
            .cloned()
            .chain(found.gold_cost.clone())
    });
    let steps: Vec<VerificationStep> = std::iter::once(raw)
        .chain(bronze_topic)
        .chain(lakehouse)
        .collect();
    Verification {
        steps,
        raw_partitions: input.findings.partitions.clone(),
    }
}

/// Examples of every anomaly, raw and bronze.
fn anomalies(input: &Assembly<'_>) -> BTreeMap<String, Vec<AnomalyExample>> {
    let mut all: BTreeMap<String, Vec<AnomalyExample>> = input.findings.examples.clone();
    if let Some((_, found)) = input.bronze {
        let bronze = found.examples.clone();
        all.extend(bronze);
    }
    if let Some(found) = input.lakehouse {
        let tables: BTreeMap<String, Vec<AnomalyExample>> = found.lakehouse.bronze.examples.clone();
        all.extend(tables);
        let silver = found.lakehouse.examples.clone();
        all.extend(silver);
    }
    all
}

fn platform_info(input: &Assembly<'_>) -> PlatformInfo {
    let consumed: BTreeMap<&str, u64> = input
        .outcome
        .groups
        .iter()
        .map(|g| (g.group.as_str(), g.consumed))
        .collect();
    PlatformInfo {
        kind: input.platform_kind.to_owned(),
        bootstrap_servers: input.bootstrap.to_owned(),
        brokers: input.brokers,
        kafka_version: input.kafka_version.to_owned(),
        producer_profile: input.producer.profile.clone(),
        producer_properties: input.producer.redacted(),
        consumer_groups: input
            .groups
            .iter()
            .map(|group| ConsumerGroupInfo {
                group: group.group_id.clone(),
                instances: group.instances,
                profile: group.settings.profile.clone(),
                properties: group.settings.redacted(),
                consumed: consumed.get(group.group_id.as_str()).copied().unwrap_or(0),
            })
            .collect(),
        topics: input
            .topics
            .iter()
            .map(|t| TopicInfo {
                name: t.name.clone(),
                partitions: t.partitions,
                replication_factor: t.replication_factor,
                min_insync_replicas: t.min_insync_replicas,
            })
            .collect(),
    }
}
