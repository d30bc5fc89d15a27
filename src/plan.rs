//! Plan files (`streamproof plan PLAN.yaml`): the workload to size a platform for, its latency
//! objective and how to calibrate; parsed and checked like scenarios, every problem located at
//! file:line:column.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use streamproof_loadgen::search::SearchSpec;
use streamproof_loadgen::spec::human_duration;
use streamproof_platform::events::EventType;
use streamproof_platform::problem::PathStep::{Index, Key};
use streamproof_platform::problem::Problem;
use streamproof_platform::routing::topic_for;
use streamproof_platform::topics::TopicName;

use crate::scenario::{located, PlatformSection, ScenarioError};

/// A plan file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanFile {
    /// Short name, used in reports and output directories.
    pub name: String,
    /// What the plan is for.
    #[serde(default)]
    pub description: String,
    /// The latency objective a rate must meet to count as sustainable.
    pub objective: ObjectiveSection,
    /// Growth factor applied to every target before sizing (1.5 plans for 50% growth).
    #[serde(default = "default_headroom")]
    pub headroom: f64,
    /// The embedded platform to calibrate on (brokers, profiles); with `--platform` or
    /// `--bootstrap-servers` only the profiles apply.
    #[serde(default)]
    pub platform: PlatformSection,
    /// The workload, per topic.
    pub topics: Vec<TopicDemandSection>,
    /// How to calibrate.
    #[serde(default)]
    pub calibration: CalibrationSection,
}

fn default_headroom() -> f64 {
    1.0
}

/// The `objective:` section.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectiveSection {
    /// Produce p99 (intended send → acknowledged), e.g. `50ms`.
    #[serde(default, with = "human_duration::option")]
    pub produce_p99: Option<Duration>,
    /// End-to-end p99 (intended send → consumed), e.g. `200ms`.
    #[serde(default, with = "human_duration::option")]
    pub end_to_end_p99: Option<Duration>,
    /// Share of the offered rate that must be acknowledged (default 0.95).
    #[serde(default = "default_min_throughput")]
    pub min_throughput: f64,
}

fn default_min_throughput() -> f64 {
    0.95
}

/// One topic of the workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicDemandSection {
    /// Topic name, `<layer>-<data type>` (e.g. `raw-events`).
    pub topic: String,
    /// Target events per second (or give `mb_per_s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// Target megabytes (10^6 bytes) per second (or give `rate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mb_per_s: Option<f64>,
    /// Average record size, bytes.
    pub record_bytes: u64,
    /// Consumer groups that read it.
    #[serde(default)]
    pub consumers: Vec<GroupDemand>,
    /// Retention (default: the layer's, e.g. 7 days for raw).
    #[serde(default, with = "human_duration::option")]
    pub retention: Option<Duration>,
}

/// A consumer group of a topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupDemand {
    /// Group name.
    pub group: String,
    /// Instances in the group.
    pub instances: u32,
}

/// The `calibration:` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalibrationSection {
    /// Partition counts to measure, increasing (on an existing cluster: one count).
    #[serde(default = "default_partitions")]
    pub partitions: Vec<u32>,
    /// Load before each step's measured part.
    #[serde(default = "default_warmup", with = "human_duration")]
    pub warmup: Duration,
    /// The rate search run at every partition count.
    #[serde(default)]
    pub search: SearchSpec,
    /// Parallel producers of every step.
    #[serde(default = "default_producers")]
    pub producers: usize,
    /// Longest the catch-up consumers read a backlog.
    #[serde(default = "default_catch_up_budget", with = "human_duration")]
    pub catch_up_budget: Duration,
    /// Consumer outage to plan recovery for.
    #[serde(default = "default_outage", with = "human_duration")]
    pub outage: Duration,
    /// Measured part of the `--prove` run.
    #[serde(default = "default_prove_duration", with = "human_duration")]
    pub prove_duration: Duration,
    /// Load before the `--prove` run's measured part, while every group joins and settles.
    #[serde(default = "default_prove_warmup", with = "human_duration")]
    pub prove_warmup: Duration,
}

fn default_partitions() -> Vec<u32> {
    vec![1, 2, 4]
}

fn default_warmup() -> Duration {
    Duration::from_secs(2)
}

fn default_producers() -> usize {
    1
}

fn default_catch_up_budget() -> Duration {
    Duration::from_secs(30)
}

fn default_outage() -> Duration {
    Duration::from_secs(600)
}

fn default_prove_duration() -> Duration {
    Duration::from_secs(30)
}

fn default_prove_warmup() -> Duration {
    Duration::from_secs(10)
}

impl Default for CalibrationSection {
    fn default() -> Self {
        CalibrationSection {
            partitions: default_partitions(),
            warmup: default_warmup(),
            search: SearchSpec::default(),
            producers: default_producers(),
            catch_up_budget: default_catch_up_budget(),
            outage: default_outage(),
            prove_duration: default_prove_duration(),
            prove_warmup: default_prove_warmup(),
        }
    }
}

impl TopicDemandSection {
    /// Target events per second (from `rate`, or `mb_per_s` and the record size).
    pub fn target_eps(&self) -> f64 {
        match (self.rate, self.mb_per_s) {
            (Some(rate), _) => rate,
            (None, Some(mb)) => mb * 1e6 / self.record_bytes.max(1) as f64,
            (None, None) => 0.0,
        }
    }

    /// Instances of the largest group (1 without groups: some consumer reads every topic).
    pub fn largest_group(&self) -> u32 {
        self.consumers
            .iter()
            .map(|g| g.instances)
            .max()
            .unwrap_or(1)
    }

    /// The event type whose raw topic this is, if it is one.
    pub fn event_type(&self) -> Option<EventType> {
        EventType::ALL
            .into_iter()
            .find(|t| topic_for(*t) == self.topic)
    }
}

impl PlanFile {
    /// The average record size over the workload, weighted by rate.
    pub fn average_record_bytes(&self) -> u64 {
        let total: f64 = self.topics.iter().map(TopicDemandSection::target_eps).sum();
        if total <= 0.0 {
            return 512;
        }
        let weighted: f64 = self
            .topics
            .iter()
            .map(|t| t.target_eps() * t.record_bytes as f64)
            .sum();
        (weighted / total).round().max(1.0) as u64
    }
}

/// A plan file and where it came from.
#[derive(Debug, Clone)]
pub struct LoadedPlan {
    /// The plan.
    pub plan: PlanFile,
    /// The file as given.
    pub file: PathBuf,
}

/// Reads, parses and checks a plan file.
pub fn load(file: &Path) -> Result<LoadedPlan, ScenarioError> {
    let text = std::fs::read_to_string(file).map_err(|error| {
        ScenarioError::unlocated(format!("cannot read the plan file: {error}")).in_file(file)
    })?;
    let plan = parse(&text).map_err(|error| error.in_file(file))?;
    Ok(LoadedPlan {
        plan,
        file: file.to_owned(),
    })
}

/// Parses plan text, then checks what no single field shows.
pub fn parse(text: &str) -> Result<PlanFile, ScenarioError> {
    let plan: PlanFile =
        serde_saphyr::from_str(text).map_err(|error| ScenarioError::from_parser(&error))?;
    let problems = [
        general_problems(&plan),
        topic_problems(&plan),
        calibration_problems(&plan.calibration),
    ]
    .concat();
    located(text, problems).map(|()| plan)
}

fn general_problems(plan: &PlanFile) -> Vec<Problem> {
    let mut problems = Vec::new();
    let name_ok = !plan.name.is_empty()
        && plan
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !name_ok {
        problems.push(Problem::at(
            [Key("name")],
            format!(
                "name `{}` is used in file names; use letters, digits, `-` and `_`, e.g. `orders`",
                plan.name
            ),
        ));
    }
    let objective = &plan.objective;
    if objective.produce_p99.is_none() && objective.end_to_end_p99.is_none() {
        problems.push(Problem::at(
            [Key("objective")],
            "objective needs a latency limit: `produce_p99: 50ms`, `end_to_end_p99: 200ms` or both",
        ));
    }
    if !(objective.min_throughput > 0.0 && objective.min_throughput <= 1.0) {
        problems.push(Problem::at(
            [Key("objective"), Key("min_throughput")],
            format!(
                "objective.min_throughput {} is a share of the offered rate; write a number above 0 and at most 1, e.g. 0.95",
                objective.min_throughput
            ),
        ));
    }
    if !(plan.headroom.is_finite() && (1.0..=100.0).contains(&plan.headroom)) {
        problems.push(Problem::at(
            [Key("headroom")],
            format!(
                "headroom {} is a growth factor; write 1 for none or e.g. 1.5 for 50% growth",
                plan.headroom
            ),
        ));
    }
    if plan.platform.copier.is_some() || plan.platform.pipeline.is_some() {
        problems.push(Problem::at(
            [Key("platform")],
            "a plan calibrates the Kafka cluster; remove platform.copier and platform.pipeline",
        ));
    }
    problems
}

fn topic_problems(plan: &PlanFile) -> Vec<Problem> {
    let mut problems = Vec::new();
    if plan.topics.is_empty() {
        problems.push(Problem::at(
            [Key("topics")],
            "topics needs at least one topic, e.g. `- {topic: raw-events, rate: 10000, record_bytes: 1024}`",
        ));
    }
    for (index, topic) in plan.topics.iter().enumerate() {
        if let Err(error) = topic.topic.parse::<TopicName>() {
            problems.push(Problem::at(
                [Key("topics"), Index(index), Key("topic")],
                format!("{error}; name topics `<layer>-<data type>`, e.g. `raw-events`"),
            ));
        }
        if plan.topics[..index].iter().any(|t| t.topic == topic.topic) {
            problems.push(Problem::at(
                [Key("topics"), Index(index), Key("topic")],
                format!(
                    "topic `{}` is listed twice; list each topic once",
                    topic.topic
                ),
            ));
        }
        let positive = |v: f64| v.is_finite() && v > 0.0;
        match (topic.rate, topic.mb_per_s) {
            (Some(_), Some(_)) | (None, None) => problems.push(Problem::at(
                [Key("topics"), Index(index)],
                format!(
                    "topic `{}` needs its target as exactly one of `rate` (events/s) or `mb_per_s`",
                    topic.topic
                ),
            )),
            (Some(value), None) | (None, Some(value)) if !positive(value) => {
                problems.push(Problem::at(
                    [
                        Key("topics"),
                        Index(index),
                        Key(if topic.rate.is_some() {
                            "rate"
                        } else {
                            "mb_per_s"
                        }),
                    ],
                    format!("{value} is not a target; write a positive number"),
                ))
            }
            _ => {}
        }
        if !(1..=1_000_000).contains(&topic.record_bytes) {
            problems.push(Problem::at(
                [Key("topics"), Index(index), Key("record_bytes")],
                format!(
                    "record_bytes {} is out of range; write the average record size, 1 to 1000000 bytes",
                    topic.record_bytes
                ),
            ));
        }
        for (group_index, group) in topic.consumers.iter().enumerate() {
            if group.instances == 0 {
                problems.push(Problem::at(
                    [
                        Key("topics"),
                        Index(index),
                        Key("consumers"),
                        Index(group_index),
                        Key("instances"),
                    ],
                    "a group needs at least 1 instance",
                ));
            }
        }
    }
    problems
}

/// Partition counts to calibrate at: from 1 to 1024, increasing.
pub fn check_partition_counts(counts: &[u32]) -> Result<(), &'static str> {
    let increasing = counts.windows(2).all(|pair| pair[0] < pair[1]);
    if counts.is_empty() || !increasing || counts.iter().any(|p| !(1..=1024).contains(p)) {
        return Err("lists partition counts from 1 to 1024 in increasing order, e.g. [1, 2, 4, 8]");
    }
    Ok(())
}

fn calibration_problems(calibration: &CalibrationSection) -> Vec<Problem> {
    let mut problems = Vec::new();
    if let Err(fix) = check_partition_counts(&calibration.partitions) {
        problems.push(Problem::at(
            [Key("calibration"), Key("partitions")],
            format!("calibration.partitions {fix}"),
        ));
    }
    for (field, fix) in calibration.search.problems() {
        problems.push(Problem::at(
            [Key("calibration"), Key("search"), Key(field)],
            format!("calibration.search.{field}: {fix}"),
        ));
    }
    if !(1..=64).contains(&calibration.producers) {
        problems.push(Problem::at(
            [Key("calibration"), Key("producers")],
            "calibration.producers is out of range; use 1 to 64 parallel producers",
        ));
    }
    for (field, value) in [
        ("catch_up_budget", calibration.catch_up_budget),
        ("prove_duration", calibration.prove_duration),
    ] {
        if value.is_zero() {
            problems.push(Problem::at(
                [Key("calibration"), Key(field)],
                format!("calibration.{field} must be longer than 0s, e.g. `30s`"),
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "name: orders\nobjective:\n  produce_p99: 50ms\ntopics:\n  - topic: raw-events\n    rate: 20000\n    record_bytes: 1024\n";

    #[test]
    fn a_minimal_plan_takes_the_defaults() {
        let plan = parse(MINIMAL).unwrap();
        assert_eq!(plan.headroom, 1.0);
        assert_eq!(plan.calibration.partitions, vec![1, 2, 4]);
        assert_eq!(plan.topics[0].target_eps(), 20000.0);
        assert_eq!(plan.topics[0].largest_group(), 1);
        assert_eq!(plan.average_record_bytes(), 1024);
    }

    #[test]
    fn problems_are_located_at_their_values() {
        let text = "name: orders\nobjective: {}\nheadroom: 0.5\ntopics:\n  - topic: events\n    rate: 10\n    mb_per_s: 1\n    record_bytes: 0\ncalibration:\n  partitions: [4, 2]\n";
        let error = parse(text).unwrap_err().in_file(Path::new("plan.yaml"));
        let text = error.to_string();
        for expected in [
            "plan.yaml:2:1: objective needs a latency limit",
            "plan.yaml:3:1: headroom 0.5 is a growth factor",
            "plan.yaml:5:5: topic `events` does not start with a layer",
            "exactly one of `rate` (events/s) or `mb_per_s`",
            "plan.yaml:8:5: record_bytes 0 is out of range",
            "plan.yaml:10:3: calibration.partitions lists partition counts",
        ] {
            assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
        }
    }

    #[test]
    fn megabytes_per_second_become_events_per_second() {
        let text = MINIMAL.replace("rate: 20000", "mb_per_s: 10");
        let plan = parse(&text).unwrap();
        assert!((plan.topics[0].target_eps() - 10e6 / 1024.0).abs() < 1e-6);
    }
}
