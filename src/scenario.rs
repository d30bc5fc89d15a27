//! Scenario files: YAML parsed into typed sections, then checked across fields and against
//! the scenario's own platform; every error, from either stage, located at file:line:column
//! with the field's path and how to fix it.

mod locate;
pub mod schema;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use streamproof_chaos::spec::{FaultSpec, PlatformProcess, Target};
use streamproof_loadgen::spec::{human_duration, property_map, ConsumerGroupSpec, LoadSpec, Rate};
use streamproof_platform::copier::CopierMode;
use streamproof_platform::handle::TableFormat;
use streamproof_platform::pipeline::Guarantee;
use streamproof_platform::problem::PathStep::{Index, Key};
use streamproof_platform::problem::Problem;
use streamproof_platform::profiles::{ConsumerProfile, ProducerProfile};
use streamproof_platform::topics::{standard_topics, TopicSetOptions};
use streamproof_verify::expect::Expectations;

/// A scenario file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name, used in reports and output directories.
    pub name: String,
    /// What the scenario shows.
    #[serde(default)]
    pub description: String,
    /// Seed of every random choice; the same seed sends the same events.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// The platform to run on.
    #[serde(default)]
    pub platform: PlatformSection,
    /// Overrides for the standard topic set.
    #[serde(default)]
    pub topics: TopicSetOptions,
    /// The load.
    pub load: LoadSpec,
    /// Consumer groups that measure end-to-end latency and lag.
    #[serde(default)]
    pub consumers: Vec<ConsumerGroupSpec>,
    /// How the raw topics' values are written (JSON, or Avro or JSON Schema through a
    /// schema registry) and the schema changes made during the load.
    #[serde(default, skip_serializing_if = "schema::SchemaSection::is_default")]
    pub schema: schema::SchemaSection,
    /// Faults injected during the load (embedded platform only).
    #[serde(default)]
    pub faults: Vec<FaultSpec>,
    /// Thresholds of the verdict.
    #[serde(default)]
    pub expect: Expectations,
    /// How long to wait after the load for every acknowledged record to be visible.
    #[serde(default = "default_drain_timeout", with = "human_duration")]
    pub drain_timeout: Duration,
}

fn default_seed() -> u64 {
    1
}

pub(crate) fn default_drain_timeout() -> Duration {
    Duration::from_secs(60)
}

/// The `platform:` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformSection {
    /// Brokers of the embedded platform (ignored with `--bootstrap-servers`).
    #[serde(default = "default_brokers", deserialize_with = "broker_count")]
    pub brokers: usize,
    /// Producer tuning profile.
    #[serde(default = "default_producer_profile")]
    pub producer_profile: ProducerProfile,
    /// Consumer tuning profile of groups that do not name their own.
    #[serde(default = "default_consumer_profile")]
    pub consumer_profile: ConsumerProfile,
    /// Producer properties on top of the profile.
    #[serde(default, deserialize_with = "property_map")]
    pub producer_overrides: BTreeMap<String, String>,
    /// Consumer properties on top of every group's profile.
    #[serde(default, deserialize_with = "property_map")]
    pub consumer_overrides: BTreeMap<String, String>,
    /// Broker properties of the embedded platform (e.g. `unclean.leader.election.enable`).
    #[serde(default, deserialize_with = "property_map")]
    pub broker_properties: BTreeMap<String, String>,
    /// Run the raw → bronze copier during the load and verify bronze.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copier: Option<CopierSection>,
    /// Run the Flink pipeline (raw → bronze → silver → gold, Iceberg and Kafka) and verify
    /// the lakehouse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<PipelineSection>,
}

/// The `platform.pipeline` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineSection {
    /// The stream processor; only `flink`.
    #[serde(default = "default_engine")]
    pub engine: PipelineEngine,
    /// `exactly-once` (aligned checkpoints, transactional Kafka sinks) or `at-least-once`.
    #[serde(default)]
    pub guarantee: Guarantee,
    /// Checkpoint interval (the seed's production default is 60s; short runs need less).
    #[serde(default = "default_checkpoint_interval", with = "human_duration")]
    pub checkpoint_interval: Duration,
    /// How long silver remembers an event id for deduplication.
    #[serde(default = "default_dedup_ttl", with = "human_duration")]
    pub dedup_ttl: Duration,
    /// Gold's tumbling window (the seed's default is 5 minutes; short runs need less).
    #[serde(default = "default_window", with = "human_duration")]
    pub window: Duration,
    /// How far behind the newest event time gold's watermark trails; it must exceed the
    /// longest outage a fault causes, or gold drops the events that arrive after it.
    #[serde(default = "default_watermark_delay", with = "human_duration")]
    pub watermark_delay: Duration,
    /// The lakehouse tables' format: `iceberg` (default) or `paimon`.
    #[serde(default)]
    pub table_format: TableFormat,
}

/// The stream processor of the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PipelineEngine {
    /// Apache Flink, as an embedded session cluster.
    Flink,
}

fn default_engine() -> PipelineEngine {
    PipelineEngine::Flink
}

fn default_checkpoint_interval() -> Duration {
    Duration::from_secs(5)
}

fn default_dedup_ttl() -> Duration {
    Duration::from_secs(3600)
}

fn default_window() -> Duration {
    Duration::from_secs(10)
}

fn default_watermark_delay() -> Duration {
    Duration::from_secs(30)
}

/// The `platform.copier` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CopierSection {
    /// `exactly-once` (transactions) or `at-least-once`.
    pub mode: CopierMode,
    /// Records per batch (per transaction).
    #[serde(default = "default_copier_batch")]
    pub batch: usize,
}

fn default_copier_batch() -> usize {
    500
}

impl Default for PlatformSection {
    fn default() -> Self {
        PlatformSection {
            brokers: default_brokers(),
            producer_profile: default_producer_profile(),
            consumer_profile: default_consumer_profile(),
            producer_overrides: BTreeMap::new(),
            consumer_overrides: BTreeMap::new(),
            broker_properties: BTreeMap::new(),
            copier: None,
            pipeline: None,
        }
    }
}

fn default_brokers() -> usize {
    1
}

fn default_producer_profile() -> ProducerProfile {
    ProducerProfile::Reliability
}

fn default_consumer_profile() -> ConsumerProfile {
    ConsumerProfile::ExactlyOnce
}

fn broker_count<'de, D: Deserializer<'de>>(deserializer: D) -> Result<usize, D::Error> {
    let brokers = usize::deserialize(deserializer)?;
    if (1..=9).contains(&brokers) {
        Ok(brokers)
    } else {
        Err(de::Error::custom(format!(
            "{brokers} brokers is out of range; the embedded platform runs 1 to 9 (use 3 for replication 3)"
        )))
    }
}

/// A scenario that cannot be used, located as precisely as possible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line and column, when known.
    pub location: Option<(usize, usize)>,
    /// What is wrong and how to fix it.
    pub message: String,
    /// The offending lines with a caret under the spot, when known.
    pub snippet: String,
    /// The other problems the checks after parsing found, further down the file, each
    /// located the same way (a parse error comes alone: the parser stops at the first).
    pub others: Vec<ScenarioError>,
}

impl ScenarioError {
    /// An error about the file as a whole.
    pub(crate) fn unlocated(message: String) -> Self {
        ScenarioError {
            file: PathBuf::new(),
            location: None,
            message,
            snippet: String::new(),
            others: Vec::new(),
        }
    }

    /// The parser's error (its own, or one [`locate`] placed), with its location and snippet.
    pub(crate) fn from_parser(error: &serde_saphyr::Error) -> Self {
        let location = error
            .location()
            .map(|l| (l.line() as usize, l.column() as usize))
            .filter(|(line, _)| *line > 0);
        let rendered = error.to_string();
        ScenarioError {
            location,
            message: strip_location(&error.without_snippet().to_string()),
            // The offending lines with a caret, without the parser's own header lines.
            snippet: rendered.lines().skip(2).collect::<Vec<_>>().join("\n"),
            ..ScenarioError::unlocated(String::new())
        }
    }

    pub(crate) fn in_file(mut self, file: &Path) -> Self {
        self.file = file.to_owned();
        self.others = self
            .others
            .into_iter()
            .map(|other| other.in_file(file))
            .collect();
        self
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((line, column)) = self.location {
            write!(f, ":{line}:{column}")?;
        }
        write!(f, ": {}", self.message)?;
        if !self.snippet.is_empty() {
            write!(f, "\n{}", self.snippet)?;
        }
        for other in &self.others {
            write!(f, "\n{other}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioError {}

/// A parsed scenario with where it came from.
#[derive(Debug, Clone)]
pub struct LoadedScenario {
    /// The scenario.
    pub scenario: Scenario,
    /// The file as given.
    pub file: PathBuf,
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
}

impl LoadedScenario {
    /// The scenario as the result describes it, with the file it came from.
    pub fn info(&self) -> streamproof_result::ScenarioInfo {
        let scenario = &self.scenario;
        streamproof_result::ScenarioInfo {
            name: scenario.name.clone(),
            description: scenario.description.clone(),
            file: self.file.display().to_string(),
            sha256: self.sha256.clone(),
            seed: scenario.seed,
            as_run: serde_json::to_value(scenario).unwrap_or_default(),
        }
    }
}

/// Reads, parses and checks a scenario file.
pub fn load(file: &Path) -> Result<LoadedScenario, ScenarioError> {
    let bytes = std::fs::read(file).map_err(|error| {
        ScenarioError::unlocated(format!("cannot read the file: {error}")).in_file(file)
    })?;
    let text = String::from_utf8(bytes.clone()).map_err(|_| {
        ScenarioError::unlocated("is not UTF-8 text; save it as UTF-8".to_owned()).in_file(file)
    })?;
    let scenario = parse(&text).map_err(|error| error.in_file(file))?;
    Ok(LoadedScenario {
        scenario,
        file: file.to_owned(),
        sha256: Sha256::digest(&bytes)
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect(),
    })
}

/// Parses scenario text (the file name is filled in by [`load`]), then checks what no single
/// field shows; every problem of the second stage is located at the value it is about.
pub fn parse(text: &str) -> Result<Scenario, ScenarioError> {
    let scenario: Scenario =
        serde_saphyr::from_str(text).map_err(|error| ScenarioError::from_parser(&error))?;
    let problems: Vec<Problem> = [
        scenario.load.problems(),
        scenario.expect.problems(),
        name_problems(&scenario),
        fault_problems(&scenario),
        pipeline_problems(&scenario),
        scenario.schema.problems(scenario.load.total()),
    ]
    .concat();
    located(text, problems).map(|()| scenario)
}

/// `problems` of the YAML `text` as one error, each at its file:line:column in the order of
/// the file; `Ok` when there are none. The file name is the caller's to fill in.
pub(crate) fn located(text: &str, problems: Vec<Problem>) -> Result<(), ScenarioError> {
    let mut errors: Vec<ScenarioError> = problems
        .into_iter()
        .map(|problem| match locate::locate(text, &problem) {
            Some(error) => ScenarioError::from_parser(&error),
            None => ScenarioError::unlocated(problem.message),
        })
        .collect();
    // In the order of the file, as its reader goes through them.
    errors.sort_by_key(|error| error.location);
    if errors.is_empty() {
        return Ok(());
    }
    let mut first = errors.remove(0);
    first.others = errors;
    Err(first)
}

/// The parser writes "error: line L column C: message" (custom errors also end in "at line
/// L, column C"); the location is shown separately.
fn strip_location(message: &str) -> String {
    let without_word = message.strip_prefix("error: ").unwrap_or(message);
    let text = match without_word
        .strip_prefix("line ")
        .and_then(|rest| rest.split_once(": "))
    {
        Some((_, text)) => text,
        None => without_word,
    };
    match text.rfind(" at line ") {
        Some(index) => text[..index].to_owned(),
        None => text.to_owned(),
    }
}

fn fault_problems(scenario: &Scenario) -> Vec<Problem> {
    let load_end = scenario.load.total();
    let mut problems = Vec::new();
    for (index, fault) in scenario.faults.iter().enumerate() {
        problems.extend(fault.problems(index));
        problems.extend(target_problem(scenario, index, fault));
        if fault.last_heal() > load_end {
            problems.push(Problem::at(
                [Key("faults"), Index(index), Key("at")],
                format!(
                    "faults[{index}] ({}) heals at {}, after the load ends at {}; every fault heals before the drain: fire it earlier or lengthen load.duration",
                    fault.kind(),
                    humantime_serde::re::humantime::format_duration(fault.last_heal()),
                    humantime_serde::re::humantime::format_duration(load_end)
                ),
            ));
        }
    }
    problems
}

/// Whether the scenario's own platform has what a fault targets: a broker id among its
/// brokers, a partition of one of its topics, the copier or the Flink processes it starts.
fn target_problem(scenario: &Scenario, index: usize, fault: &FaultSpec) -> Option<Problem> {
    let platform = &scenario.platform;
    let name = format!("faults[{index}] ({})", fault.kind());
    let message = match fault.resolved_target() {
        Target::Broker(id) if id < 1 || id as usize > platform.brokers => Some(format!(
            "{name} targets broker:{id}, but the platform has {} broker(s) with node ids 1 to {}; name one of them or raise platform.brokers",
            platform.brokers, platform.brokers
        )),
        Target::Leader { topic, partition } => {
            let topics = standard_topics(platform.brokers, &scenario.topics);
            match topics.iter().find(|t| t.name == topic) {
                None => Some(format!(
                    "{name} targets the leader of `{topic}`, which is not one of the platform's topics ({})",
                    topics.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ")
                )),
                Some(found) if partition < 0 || partition >= found.partitions => Some(format!(
                    "{name} targets partition {partition} of `{topic}`, which has partitions 0 to {}",
                    found.partitions - 1
                )),
                Some(_) => None,
            }
        }
        Target::Process(PlatformProcess::Copier) if platform.copier.is_none() => Some(format!(
            "{name} targets the copier, but the scenario runs none; add a platform.copier section"
        )),
        Target::Process(process @ (PlatformProcess::TaskManager | PlatformProcess::JobManager))
            if platform.pipeline.is_none() =>
        {
            Some(format!(
                "{name} targets the {}, but the scenario runs no pipeline; add a platform.pipeline section",
                process.name()
            ))
        }
        _ => None,
    }?;
    Some(Problem::at(
        [Key("faults"), Index(index), Key("target")],
        message,
    ))
}

fn pipeline_problems(scenario: &Scenario) -> Vec<Problem> {
    let platform = &scenario.platform;
    let mut problems = Vec::new();
    if scenario.load.rate == Rate::FindMax
        && (platform.pipeline.is_some() || platform.copier.is_some())
    {
        problems.push(Problem::at(
            [Key("load"), Key("rate")],
            "`rate: find-max` searches the rate the Kafka layer sustains; remove platform.copier and platform.pipeline, or give a fixed rate",
        ));
    }
    if platform.pipeline.is_some() && platform.copier.is_some() {
        problems.push(Problem::at(
            [Key("platform"), Key("pipeline")],
            "platform.copier and platform.pipeline both write bronze-events; keep one of them",
        ));
    }
    if let Some(pipeline) = &platform.pipeline {
        if pipeline.checkpoint_interval < Duration::from_millis(100) {
            problems.push(Problem::at(
                [Key("platform"), Key("pipeline"), Key("checkpoint_interval")],
                "platform.pipeline.checkpoint_interval must be at least 100ms (e.g. `5s`)",
            ));
        }
        if pipeline.window < Duration::from_secs(1) {
            problems.push(Problem::at(
                [Key("platform"), Key("pipeline"), Key("window")],
                "platform.pipeline.window must be at least 1s (e.g. `10s`)",
            ));
        }
        if pipeline.table_format == TableFormat::Paimon
            && pipeline.guarantee == Guarantee::AtLeastOnce
        {
            problems.push(Problem::at(
                [Key("platform"), Key("pipeline"), Key("guarantee")],
                "Paimon's Flink sink commits on exactly-once checkpoints only; use `guarantee: exactly-once` with `table_format: paimon`, or `table_format: iceberg` to compare at-least-once",
            ));
        }
    }
    problems
}

fn name_problems(scenario: &Scenario) -> Vec<Problem> {
    let valid = !scenario.name.is_empty()
        && scenario
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid {
        Vec::new()
    } else {
        vec![Problem::at(
            [Key("name")],
            format!(
                "name `{}` is used in file names; use letters, digits, `-` and `_`, e.g. `smoke`",
                scenario.name
            ),
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "name: tiny\nload:\n  duration: 10s\n  rate: 100\n";

    fn error_of(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn find_max_takes_a_search_and_refuses_the_pipeline() {
        let text = "name: tiny\nload:\n  duration: 10s\n  rate: find-max\n  search: {start: 500, step: 3s}\n";
        let scenario = parse(text).unwrap();
        let search = scenario.load.search.unwrap();
        assert_eq!((search.start, search.step), (500.0, Duration::from_secs(3)));
        let fixed = text.replace("rate: find-max", "rate: 100");
        assert!(error_of(&fixed).contains("load.search only applies to `rate: find-max`"));
        let bad = text.replace("start: 500", "start: 0");
        assert!(error_of(&bad).contains("load.search.start: 0 is not a rate"));
        let piped = format!("{text}platform:\n  copier: {{mode: exactly-once}}\n");
        assert!(error_of(&piped).contains(":4:3: `rate: find-max` searches the rate"));
    }

    #[test]
    fn paimon_tables_take_the_exactly_once_pipeline_only() {
        let text = "name: lake\nplatform:\n  pipeline:\n    table_format: paimon\nload:\n  duration: 10s\n  rate: 100\n";
        let pipeline = parse(text).unwrap().platform.pipeline.unwrap();
        assert_eq!(pipeline.table_format, TableFormat::Paimon);
        let unsafe_profile = text.replace(
            "table_format: paimon",
            "table_format: paimon\n    guarantee: at-least-once",
        );
        let error = error_of(&unsafe_profile);
        assert!(
            error.contains("Paimon's Flink sink commits on exactly-once checkpoints only"),
            "{error}"
        );
        let unknown = text.replace("paimon", "delta");
        assert!(
            error_of(&unknown)
                .contains(":4:19: unknown variant `delta`, expected one of iceberg, paimon"),
            "{}",
            error_of(&unknown)
        );
    }

    #[test]
    fn a_minimal_scenario_gets_every_default() {
        let scenario = parse(MINIMAL).unwrap();
        assert_eq!(scenario.seed, 1);
        assert_eq!(scenario.platform.brokers, 1);
        assert_eq!(
            scenario.platform.producer_profile,
            ProducerProfile::Reliability
        );
        assert_eq!(scenario.drain_timeout, Duration::from_secs(60));
        assert!(scenario.consumers.is_empty());
    }

    #[test]
    fn unknown_fields_name_their_line_column_and_the_valid_fields() {
        let text = "name: tiny\nload:\n  duration: 10s\n  rate: 100\n  ratez: 5\n";
        let error = parse(text).unwrap_err();
        assert_eq!(error.location, Some((5, 3)));
        assert!(
            error
                .message
                .starts_with("unknown field `ratez`, expected one of duration"),
            "{}",
            error.message
        );
        assert!(
            error.snippet.contains("5 |   ratez: 5"),
            "{}",
            error.snippet
        );
    }

    #[test]
    fn bad_values_name_the_spot_and_the_fix() {
        let error =
            error_of("name: tiny\nload:\n  duration: 10s\n  rate: 100\n  duplicates: 1.5\n");
        assert!(
            error.starts_with(":5:15: 1.5 is not a fraction; write a number from 0 to 1"),
            "{error}"
        );
        assert!(error.contains("duplicates: 1.5\n"), "{error}");
        let error = error_of("name: tiny\nload:\n  duration: soon\n  rate: 100\n");
        assert!(
            error.starts_with(":3:13: `soon` is not a duration; write a number with a unit"),
            "{error}"
        );
        let error = error_of(
            "name: tiny\nplatform:\n  producer_profile: turbo\nload:\n  duration: 1s\n  rate: 1\n",
        );
        assert!(
            error.starts_with(":3:21: unknown variant `turbo`, expected one of"),
            "{error}"
        );
        let error =
            error_of("name: tiny\nplatform:\n  brokers: 12\nload:\n  duration: 1s\n  rate: 1\n");
        assert!(
            error.starts_with(":3:12: 12 brokers is out of range"),
            "{error}"
        );
    }

    #[test]
    fn missing_sections_and_cross_field_problems_are_reported() {
        assert!(error_of("name: tiny\n").contains("missing field `load`"));
        let error = error_of(
            "name: tiny\nload:\n  duration: 1s\n  rate: 1\n  duplicates: 0.7\n  invalid: 0.7\n",
        );
        assert!(error.contains("exceed 1"), "{error}");
        let error = error_of("name: my scenario\nload:\n  duration: 1s\n  rate: 1\n");
        assert!(error.contains("use letters, digits"), "{error}");
    }

    #[test]
    fn faults_on_what_the_platform_does_not_have_are_refused_before_anything_starts() {
        let scenario = |platform: &str, target: &str| {
            format!(
                "name: tiny\nplatform:\n{platform}\nload:\n  duration: 30s\n  rate: 1\nfaults:\n  - kind: kill\n    target: {target}\n    at: 5s\n    restart_after: 5s\n"
            )
        };
        let three = "  brokers: 3";
        let error = error_of(&scenario(three, "broker:4"));
        assert!(
            error.contains(
                "targets broker:4, but the platform has 3 broker(s) with node ids 1 to 3"
            ),
            "{error}"
        );
        assert!(parse(&scenario(three, "broker:3")).is_ok());
        let error = error_of(&scenario(three, "leader:raw-nothing/0"));
        assert!(
            error.contains("is not one of the platform's topics"),
            "{error}"
        );
        let error = error_of(&scenario(three, "leader:raw-events/6"));
        assert!(error.contains("which has partitions 0 to 5"), "{error}");
        let error = error_of(&scenario(three, "copier"));
        assert!(error.contains("add a platform.copier section"), "{error}");
        let error = error_of(&scenario(three, "taskmanager"));
        assert!(error.contains("add a platform.pipeline section"), "{error}");
    }

    /// A three-broker scenario whose load lasts 30s, with `faults` as written.
    fn with_faults(faults: &str) -> String {
        format!("name: tiny\nplatform:\n  brokers: 3\nload:\n  duration: 30s\n  rate: 1\nfaults:\n{faults}")
    }

    #[test]
    fn a_fault_on_a_broker_the_platform_lacks_names_the_line_and_column_of_its_target() {
        let error = parse(&with_faults(
            "  - kind: kill\n    target: broker:4\n    at: 5s\n    restart_after: 5s\n",
        ))
        .unwrap_err();
        assert_eq!(error.location, Some((9, 5)), "{error}");
        assert!(
            error
                .message
                .starts_with("faults[0] (kill) targets broker:4, but the platform has 3 broker(s)"),
            "{}",
            error.message
        );
        assert!(
            error.snippet.contains("9 |     target: broker:4"),
            "{}",
            error.snippet
        );
        assert!(
            error.snippet.contains("  |     ^ faults[0]"),
            "{}",
            error.snippet
        );
        assert!(error.others.is_empty());
    }

    #[test]
    fn an_option_of_another_kind_is_a_parse_error_at_its_line_and_column() {
        let error = parse(&with_faults(
            "  - kind: kill\n    target: broker:1\n    at: 5s\n    restart_after: 5s\n    bytes_per_second: 1000\n",
        ))
        .unwrap_err();
        assert_eq!(error.location, Some((12, 5)), "{error}");
        assert_eq!(
            error.message,
            "unknown field `bytes_per_second` for `kind: kill`, expected one of kind, target, at, restart_after, repeat, every"
        );
        assert!(
            error.snippet.contains("12 |     bytes_per_second: 1000"),
            "{}",
            error.snippet
        );
        let error = parse(&with_faults(
            "  - kind: explode\n    target: broker:1\n    at: 5s\n",
        ))
        .unwrap_err();
        assert_eq!(error.location, Some((8, 11)), "{error}");
        assert!(
            error
                .message
                .starts_with("unknown variant `explode`, expected one of kill, pause"),
            "{}",
            error.message
        );
        let error = parse(&with_faults(
            "  - kind: latency\n    target: broker:1\n    at: 5s\n    duration: 5s\n    latency: soon\n",
        ))
        .unwrap_err();
        assert_eq!(error.location, Some((12, 14)), "{error}");
        assert!(
            error.message.starts_with("`soon` is not a duration"),
            "{error}"
        );
    }

    #[test]
    fn a_fault_that_heals_after_the_load_names_the_line_and_column_of_its_at() {
        let error = parse(&with_faults(
            "  - kind: pause\n    target: broker:2\n    at: 25s\n    duration: 10s\n",
        ))
        .unwrap_err();
        assert_eq!(error.location, Some((10, 5)), "{error}");
        assert!(
            error
                .message
                .starts_with("faults[0] (pause) heals at 35s, after the load ends at 30s"),
            "{}",
            error.message
        );
        assert!(
            error.snippet.contains("10 |     at: 25s"),
            "{}",
            error.snippet
        );
    }

    #[test]
    fn every_problem_after_parsing_is_located_in_the_order_of_the_file() {
        let text = format!(
            "{}expect:\n  min_throughput: 2\n",
            with_faults(concat!(
                "  - kind: kill\n    target: copier\n    at: 5s\n    restart_after: 5s\n",
                "  - kind: pause\n    target: broker:1\n    at: 5s\n",
            ))
        )
        .replacen("name: tiny", "name: my scenario", 1);
        let error = parse(&text).unwrap_err();
        let located: Vec<(Option<(usize, usize)>, &str)> = std::iter::once(&error)
            .chain(&error.others)
            .map(|e| (e.location, e.message.split(';').next().unwrap_or_default()))
            .collect();
        assert_eq!(
            located,
            vec![
                (Some((1, 1)), "name `my scenario` is used in file names"),
                (Some((9, 5)), "faults[0] (kill) targets the copier, but the scenario runs none"),
                // An option left out: the fault's entry.
                (Some((12, 5)), "faults[1] (pause) needs `duration` (e.g. `duration: 10s`): every fault heals before the drain"),
                (Some((16, 3)), "expect.min_throughput 2 is a fraction of the target rate"),
            ]
        );
        let shown = error.to_string();
        for spot in [
            ":1:1: name",
            "\n:9:5: faults[0]",
            "\n:12:5: faults[1]",
            "\n:16:3: expect",
        ] {
            assert!(shown.contains(spot), "{spot} in {shown}");
        }
    }

    #[test]
    fn property_values_may_be_numbers_or_booleans() {
        let text = "name: tiny\nplatform:\n  producer_overrides:\n    linger.ms: 5\n    enable.idempotence: true\nload:\n  duration: 1s\n  rate: 1\n";
        let scenario = parse(text).unwrap();
        assert_eq!(scenario.platform.producer_overrides["linger.ms"], "5");
        assert_eq!(
            scenario.platform.producer_overrides["enable.idempotence"],
            "true"
        );
    }

    #[test]
    fn every_shipped_scenario_parses() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let mut files = Vec::new();
        let mut dirs = vec![root];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "yaml") {
                    files.push(path);
                }
            }
        }
        assert!(!files.is_empty());
        for file in files {
            if let Err(error) = load(&file) {
                panic!("{error}");
            }
        }
    }
}
