//! The `faults:` section of a scenario: what to break, which broker, when, and for how long.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};
use streamproof_platform::duration;

/// What a fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// SIGKILL the broker, start it again after `restart_after`.
    Kill,
    /// SIGSTOP the broker, SIGCONT after `duration`.
    Pause,
    /// Graceful restart: SIGTERM, wait for the exit, start again.
    Restart,
    /// Graceful restart of every broker in turn, each back in the cluster before the next.
    RollingRestart,
    /// Added latency (and jitter) between clients and the broker, for `duration`.
    Latency,
    /// A bandwidth limit between clients and the broker, for `duration`.
    Bandwidth,
    /// Bytes between clients and the broker vanish, connections stay open, for `duration`.
    Blackhole,
    /// Every open client connection to the broker is reset (instantaneous).
    Reset,
    /// The broker is cut off from clients: connections refused and dropped, for `duration`.
    Cut,
    /// The broker is cut off from its peers (replication and controller links stall both
    /// ways, as in a real network partition) while clients still reach it, for `duration`.
    Isolate,
}

impl FaultKind {
    /// Whether the fault acts on the network between clients and a broker (through the proxy).
    pub fn is_network(self) -> bool {
        matches!(
            self,
            FaultKind::Latency
                | FaultKind::Bandwidth
                | FaultKind::Blackhole
                | FaultKind::Reset
                | FaultKind::Cut
                | FaultKind::Isolate
        )
    }
}

/// Which way network faults apply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// Both ways.
    #[default]
    Both,
    /// Client → broker only.
    ToBroker,
    /// Broker → client only.
    ToClient,
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FaultKind::Kill => "kill",
            FaultKind::Pause => "pause",
            FaultKind::Restart => "restart",
            FaultKind::RollingRestart => "rolling-restart",
            FaultKind::Latency => "latency",
            FaultKind::Bandwidth => "bandwidth",
            FaultKind::Blackhole => "blackhole",
            FaultKind::Reset => "reset",
            FaultKind::Cut => "cut",
            FaultKind::Isolate => "isolate",
        })
    }
}

/// Which broker a fault hits, resolved when the fault fires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `broker:N`: the broker with node id N.
    Broker(i32),
    /// `leader:TOPIC/PARTITION`: whichever broker leads that partition at that moment.
    Leader {
        /// Topic.
        topic: String,
        /// Partition.
        partition: i32,
    },
    /// `controller`: the active KRaft controller.
    Controller,
    /// `random`: a broker drawn with the scenario seed.
    Random,
    /// `all`: every broker in turn (rolling restarts).
    All,
    /// `copier`, `taskmanager`, `jobmanager`: a process of the platform other than a broker.
    Process(PlatformProcess),
    /// `producers`: the load generator's producer clients.
    Producers,
}

/// A process of the platform that faults may kill, pause or restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PlatformProcess {
    /// The raw → bronze copier.
    Copier,
    /// The Flink TaskManager of the pipeline.
    TaskManager,
    /// The Flink JobManager of the pipeline.
    JobManager,
}

impl PlatformProcess {
    /// The name targets use.
    pub fn name(self) -> &'static str {
        match self {
            PlatformProcess::Copier => "copier",
            PlatformProcess::TaskManager => "taskmanager",
            PlatformProcess::JobManager => "jobmanager",
        }
    }
}

/// A target string that names no broker.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("target `{0}` is not one of broker:N, leader:TOPIC/PARTITION, controller, random, all, copier, taskmanager, jobmanager or producers (e.g. `leader:raw-events/0`)")]
pub struct TargetError(String);

impl FromStr for Target {
    type Err = TargetError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || TargetError(text.to_owned());
        match text {
            "controller" => return Ok(Target::Controller),
            "random" => return Ok(Target::Random),
            "all" => return Ok(Target::All),
            "copier" => return Ok(Target::Process(PlatformProcess::Copier)),
            "taskmanager" => return Ok(Target::Process(PlatformProcess::TaskManager)),
            "jobmanager" => return Ok(Target::Process(PlatformProcess::JobManager)),
            "producers" => return Ok(Target::Producers),
            _ => {}
        }
        if let Some(id) = text.strip_prefix("broker:") {
            return id.parse().map(Target::Broker).map_err(|_| error());
        }
        if let Some(rest) = text.strip_prefix("leader:") {
            let (topic, partition) = rest.rsplit_once('/').ok_or_else(error)?;
            let partition = partition.parse().map_err(|_| error())?;
            if topic.is_empty() {
                return Err(error());
            }
            return Ok(Target::Leader {
                topic: topic.to_owned(),
                partition,
            });
        }
        Err(error())
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Broker(id) => write!(f, "broker:{id}"),
            Target::Leader { topic, partition } => write!(f, "leader:{topic}/{partition}"),
            Target::Controller => f.write_str("controller"),
            Target::Random => f.write_str("random"),
            Target::All => f.write_str("all"),
            Target::Process(process) => f.write_str(process.name()),
            Target::Producers => f.write_str("producers"),
        }
    }
}

impl<'de> Deserialize<'de> for Target {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(de::Error::custom)
    }
}

impl Serialize for Target {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// One entry of `faults:`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// What to do.
    pub kind: FaultKind,
    /// Which broker (default `all` for rolling restarts, required otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    /// When, from the start of the load.
    #[serde(with = "duration")]
    pub at: Duration,
    /// For `kill`: how long the broker stays down.
    #[serde(
        default,
        with = "duration::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub restart_after: Option<Duration>,
    /// For `pause`: how long the broker stays stopped.
    #[serde(
        default,
        with = "duration::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub duration: Option<Duration>,
    /// For `latency`: the delay added (each way the fault applies).
    #[serde(
        default,
        with = "duration::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub latency: Option<Duration>,
    /// For `latency`: up to this much more or less, per chunk.
    #[serde(
        default,
        with = "duration::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub jitter: Option<Duration>,
    /// For `bandwidth`: bytes per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_per_second: Option<u64>,
    /// For network faults: which way (default both).
    #[serde(default)]
    pub direction: Direction,
    /// How many times the fault fires (default 1).
    #[serde(default = "one")]
    pub repeat: u32,
    /// Time between repetitions (required when `repeat` > 1).
    #[serde(
        default,
        with = "duration::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub every: Option<Duration>,
}

fn one() -> u32 {
    1
}

impl FaultSpec {
    /// The target, with the kind's default.
    pub fn resolved_target(&self) -> Target {
        match (&self.target, self.kind) {
            (Some(target), _) => target.clone(),
            (None, _) => Target::All,
        }
    }

    /// How long after firing the fault heals, when the kind has a set length.
    pub fn length(&self) -> Duration {
        match self.kind {
            FaultKind::Kill => self.restart_after.unwrap_or_default(),
            FaultKind::Pause
            | FaultKind::Latency
            | FaultKind::Bandwidth
            | FaultKind::Blackhole
            | FaultKind::Cut
            | FaultKind::Isolate => self.duration.unwrap_or_default(),
            FaultKind::Restart | FaultKind::RollingRestart | FaultKind::Reset => Duration::ZERO,
        }
    }

    /// When each repetition fires.
    pub fn firing_times(&self) -> Vec<Duration> {
        let every = self.every.unwrap_or_default();
        (0..self.repeat.max(1))
            .map(|n| self.at + every * n)
            .collect()
    }

    /// Everything wrong with this entry; `index` names it in messages.
    pub fn problems(&self, index: usize) -> Vec<String> {
        let name = format!("faults[{index}] ({})", self.kind);
        let mut problems = Vec::new();
        let target = self.resolved_target();
        match self.kind {
            FaultKind::Kill if self.restart_after.is_none() => problems.push(format!(
                "{name} needs `restart_after` (e.g. `restart_after: 10s`): every fault heals before the drain"
            )),
            FaultKind::Pause
            | FaultKind::Latency
            | FaultKind::Bandwidth
            | FaultKind::Blackhole
            | FaultKind::Cut
            | FaultKind::Isolate
                if self.duration.is_none() =>
            {
                problems.push(format!(
                    "{name} needs `duration` (e.g. `duration: 10s`): every fault heals before the drain"
                ))
            }
            FaultKind::Latency if self.latency.is_none() => problems.push(format!(
                "{name} needs `latency` (e.g. `latency: 50ms`, optionally `jitter: 10ms`)"
            )),
            FaultKind::Bandwidth if self.bytes_per_second.is_none_or(|b| b == 0) => {
                problems.push(format!(
                    "{name} needs `bytes_per_second` above 0 (e.g. `bytes_per_second: 100000`)"
                ))
            }
            _ if self.kind.is_network() && matches!(target, Target::Process(_) | Target::Producers) => {
                problems.push(format!(
                    "{name} acts on a broker's connections; target a broker, not {target}"
                ))
            }
            FaultKind::Pause | FaultKind::RollingRestart if target == Target::Producers => {
                problems.push(format!(
                    "{name} cannot act on the producers; use `kind: kill` (with `restart_after`) or `kind: restart`"
                ))
            }
            FaultKind::RollingRestart if target != Target::All => problems.push(format!(
                "{name} restarts every broker in turn; leave `target` out or write `target: all`"
            )),
            kind if kind != FaultKind::RollingRestart && target == Target::All => {
                problems.push(format!(
                    "{name} hits one broker; name it with `target:` (broker:N, leader:TOPIC/PARTITION, controller or random), or use `kind: rolling-restart`"
                ))
            }
            _ => {}
        }
        if self.repeat > 1 && self.every.is_none() {
            problems.push(format!(
                "{name} repeats {} times; say how often with `every:` (e.g. `every: 20s`)",
                self.repeat
            ));
        }
        if let Some(every) = self.every {
            if self.repeat > 1 && every <= self.length() {
                problems.push(format!(
                    "{name} fires every {} but lasts {}; repetitions must not overlap",
                    humantime::format_duration(every),
                    humantime::format_duration(self.length())
                ));
            }
        }
        problems
    }

    /// When the last repetition heals at the latest (a lower bound for rolling restarts).
    pub fn last_heal(&self) -> Duration {
        self.firing_times()
            .last()
            .map_or(Duration::ZERO, |fire| *fire + self.length())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_and_print() {
        for text in [
            "broker:2",
            "leader:raw-events/3",
            "controller",
            "random",
            "all",
            "copier",
            "taskmanager",
            "jobmanager",
            "producers",
        ] {
            assert_eq!(text.parse::<Target>().unwrap().to_string(), text);
        }
        assert_eq!(
            "leader:raw-events/0".parse::<Target>(),
            Ok(Target::Leader {
                topic: "raw-events".into(),
                partition: 0
            })
        );
        for bad in ["broker:x", "leader:raw-events", "leader:/1", "the-big-one"] {
            assert!(bad.parse::<Target>().is_err(), "{bad}");
        }
    }

    fn spec(json: &str) -> FaultSpec {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn every_fault_must_heal_and_name_its_broker() {
        let kill = spec(r#"{"kind": "kill", "target": "broker:1", "at": "10s"}"#);
        assert!(kill.problems(0)[0].contains("restart_after"));
        let pause = spec(r#"{"kind": "pause", "target": "random", "at": "10s"}"#);
        assert!(pause.problems(0)[0].contains("duration"));
        let untargeted = spec(r#"{"kind": "restart", "at": "1s"}"#);
        assert!(untargeted.problems(0)[0].contains("name it with `target:`"));
        let rolling = spec(r#"{"kind": "rolling-restart", "target": "broker:1", "at": "1s"}"#);
        assert!(rolling.problems(0)[0].contains("every broker in turn"));
        let fine = spec(
            r#"{"kind": "kill", "target": "leader:raw-events/0", "at": "10s", "restart_after": "5s"}"#,
        );
        assert!(fine.problems(0).is_empty());
        assert_eq!(fine.last_heal(), Duration::from_secs(15));
        let isolate = spec(r#"{"kind": "isolate", "target": "broker:2", "at": "5s"}"#);
        assert!(isolate.problems(0)[0].contains("duration"));
        let isolate_producers =
            spec(r#"{"kind": "isolate", "target": "producers", "at": "5s", "duration": "5s"}"#);
        assert!(isolate_producers.problems(0)[0].contains("not producers"));
        let pause_producers =
            spec(r#"{"kind": "pause", "target": "producers", "at": "5s", "duration": "5s"}"#);
        assert!(pause_producers.problems(0)[0].contains("cannot act on the producers"));
        let kill_producers =
            spec(r#"{"kind": "kill", "target": "producers", "at": "5s", "restart_after": "2s"}"#);
        assert!(kill_producers.problems(0).is_empty());
        let kill_jobmanager =
            spec(r#"{"kind": "kill", "target": "jobmanager", "at": "5s", "restart_after": "2s"}"#);
        assert!(kill_jobmanager.problems(0).is_empty());
    }

    #[test]
    fn repetitions_fire_on_schedule_and_must_not_overlap() {
        let repeated = spec(
            r#"{"kind": "pause", "target": "broker:2", "at": "5s", "duration": "2s", "repeat": 3, "every": "10s"}"#,
        );
        assert!(repeated.problems(0).is_empty());
        assert_eq!(
            repeated.firing_times(),
            vec![
                Duration::from_secs(5),
                Duration::from_secs(15),
                Duration::from_secs(25)
            ]
        );
        let overlapping = spec(
            r#"{"kind": "pause", "target": "broker:2", "at": "5s", "duration": "20s", "repeat": 2, "every": "10s"}"#,
        );
        assert!(overlapping.problems(0)[0].contains("must not overlap"));
        let no_every = spec(
            r#"{"kind": "pause", "target": "broker:2", "at": "5s", "duration": "2s", "repeat": 2}"#,
        );
        assert!(no_every.problems(0)[0].contains("every:"));
    }
}
