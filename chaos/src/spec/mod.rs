//! The `faults:` section of a scenario: what to break, which broker, when, and for how long.
//! Each kind takes its own options ([`FaultAction`]); an option of another kind is a parse
//! error that names the fields the kind takes.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use streamproof_platform::duration;
use streamproof_platform::problem::PathStep::{Index, Key};
use streamproof_platform::problem::Problem;

mod read;

/// The `kind:` of a fault: what it does, without its options ([`FaultAction`] has them).
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

    /// The options only this kind takes; every kind also takes [`COMMON_FIELDS`].
    fn options(self) -> &'static [&'static str] {
        match self {
            FaultKind::Kill => &["restart_after"],
            FaultKind::Pause | FaultKind::Cut | FaultKind::Isolate => &["duration"],
            FaultKind::Restart | FaultKind::RollingRestart | FaultKind::Reset => &[],
            FaultKind::Latency => &["duration", "latency", "jitter", "direction"],
            FaultKind::Bandwidth => &["duration", "bytes_per_second", "direction"],
            FaultKind::Blackhole => &["duration", "direction"],
        }
    }

    fn takes(self, option: &str) -> bool {
        self.options().contains(&option)
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

/// One entry of `faults:`: what to break (the kind, with the options of that kind and no
/// other), which target, when, and how often.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultSpec {
    /// What the fault does (`kind:` and its options).
    pub action: FaultAction,
    /// Which broker or process (default `all`, which only rolling restarts accept).
    pub target: Option<Target>,
    /// When, from the start of the load.
    pub at: Duration,
    /// How many times the fault fires (default 1).
    pub repeat: u32,
    /// Time between repetitions (required when `repeat` > 1).
    pub every: Option<Duration>,
}

/// What a fault does: its `kind:` and the options that kind takes, so an option of another
/// kind (a `duration` on a `kill`) cannot be written down at all.
///
/// The options a kind cannot do without are still `Option`s: a fault that leaves one out
/// parses, and [`FaultSpec::problems`] says which one is missing with an example, which
/// reads better than the parser's "missing field".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultAction {
    /// SIGKILL, started again after `restart_after`.
    Kill {
        /// How long the process stays down (required).
        restart_after: Option<Duration>,
    },
    /// SIGSTOP, SIGCONT after `duration`.
    Pause {
        /// How long the process stays stopped (required).
        duration: Option<Duration>,
    },
    /// Graceful restart: SIGTERM, wait for the exit, start again.
    Restart,
    /// Graceful restart of every broker in turn, each back in the cluster before the next.
    RollingRestart,
    /// Added latency (and jitter) between clients and the broker, for `duration`.
    Latency {
        /// How long the fault lasts (required).
        duration: Option<Duration>,
        /// The delay added, each way the fault applies (required).
        latency: Option<Duration>,
        /// Up to this much more or less, per chunk.
        jitter: Option<Duration>,
        /// Which way it applies.
        direction: Direction,
    },
    /// A bandwidth limit between clients and the broker, for `duration`.
    Bandwidth {
        /// How long the fault lasts (required).
        duration: Option<Duration>,
        /// The limit (required, above 0).
        bytes_per_second: Option<u64>,
        /// Which way it applies.
        direction: Direction,
    },
    /// Bytes between clients and the broker vanish, connections stay open, for `duration`.
    Blackhole {
        /// How long the fault lasts (required).
        duration: Option<Duration>,
        /// Which way it applies.
        direction: Direction,
    },
    /// Every open client connection to the broker is reset (instantaneous).
    Reset,
    /// The broker is cut off from clients: connections refused and dropped, for `duration`.
    Cut {
        /// How long the fault lasts (required).
        duration: Option<Duration>,
    },
    /// The broker is cut off from its peers while clients still reach it, for `duration`.
    Isolate {
        /// How long the fault lasts (required).
        duration: Option<Duration>,
    },
}

impl FaultAction {
    /// The `kind:` that names this action.
    pub fn kind(&self) -> FaultKind {
        match self {
            FaultAction::Kill { .. } => FaultKind::Kill,
            FaultAction::Pause { .. } => FaultKind::Pause,
            FaultAction::Restart => FaultKind::Restart,
            FaultAction::RollingRestart => FaultKind::RollingRestart,
            FaultAction::Latency { .. } => FaultKind::Latency,
            FaultAction::Bandwidth { .. } => FaultKind::Bandwidth,
            FaultAction::Blackhole { .. } => FaultKind::Blackhole,
            FaultAction::Reset => FaultKind::Reset,
            FaultAction::Cut { .. } => FaultKind::Cut,
            FaultAction::Isolate { .. } => FaultKind::Isolate,
        }
    }

    /// Which way a network fault applies; kinds without a `direction` act both ways.
    pub fn direction(&self) -> Direction {
        match self {
            FaultAction::Latency { direction, .. }
            | FaultAction::Bandwidth { direction, .. }
            | FaultAction::Blackhole { direction, .. } => *direction,
            _ => Direction::Both,
        }
    }
}

/// The fields every fault takes, whatever its kind.
const COMMON_FIELDS: [&str; 5] = ["kind", "target", "at", "repeat", "every"];

/// Every field some kind takes, for the error about a field no kind takes.
const ALL_FIELDS: [&str; 11] = [
    "kind",
    "target",
    "at",
    "restart_after",
    "duration",
    "latency",
    "jitter",
    "bytes_per_second",
    "direction",
    "repeat",
    "every",
];

impl FaultSpec {
    /// What the fault does.
    pub fn kind(&self) -> FaultKind {
        self.action.kind()
    }

    /// The target, with the default (`all`, every broker in turn).
    pub fn resolved_target(&self) -> Target {
        self.target.clone().unwrap_or(Target::All)
    }

    /// How long after firing the fault heals, when the kind has a set length.
    pub fn length(&self) -> Duration {
        match self.action {
            FaultAction::Kill { restart_after } => restart_after,
            FaultAction::Pause { duration }
            | FaultAction::Latency { duration, .. }
            | FaultAction::Bandwidth { duration, .. }
            | FaultAction::Blackhole { duration, .. }
            | FaultAction::Cut { duration }
            | FaultAction::Isolate { duration } => duration,
            FaultAction::Restart | FaultAction::RollingRestart | FaultAction::Reset => None,
        }
        .unwrap_or_default()
    }

    /// When each repetition fires.
    pub fn firing_times(&self) -> Vec<Duration> {
        let every = self.every.unwrap_or_default();
        (0..self.repeat.max(1))
            .map(|n| self.at + every * n)
            .collect()
    }

    /// Everything wrong with this entry, which is `faults[index]`: an option its kind cannot
    /// do without, a target it cannot act on, repetitions that overlap.
    pub fn problems(&self, index: usize) -> Vec<Problem> {
        let name = format!("faults[{index}] ({})", self.kind());
        let field = |field: &'static str| vec![Key("faults"), Index(index), Key(field)];
        let mut problems: Vec<Problem> = self
            .missing_option(&name)
            .or_else(|| self.unfit_target(&name))
            .map(|(option, message)| Problem::at(field(option), message))
            .into_iter()
            .collect();
        if self.repeat > 1 && self.every.is_none() {
            problems.push(Problem::at(
                field("repeat"),
                format!(
                    "{name} repeats {} times; say how often with `every:` (e.g. `every: 20s`)",
                    self.repeat
                ),
            ));
        }
        if let Some(every) = self.every {
            if self.repeat > 1 && every <= self.length() {
                problems.push(Problem::at(
                    field("every"),
                    format!(
                        "{name} fires every {} but lasts {}; repetitions must not overlap",
                        humantime::format_duration(every),
                        humantime::format_duration(self.length())
                    ),
                ));
            }
        }
        problems
    }

    /// The first option the kind needs that is missing (or 0), and what to write.
    fn missing_option(&self, name: &str) -> Option<(&'static str, String)> {
        match self.action {
            FaultAction::Kill {
                restart_after: None,
            } => Some((
                "restart_after",
                format!("{name} needs `restart_after` (e.g. `restart_after: 10s`): every fault heals before the drain"),
            )),
            FaultAction::Pause { duration: None }
            | FaultAction::Latency { duration: None, .. }
            | FaultAction::Bandwidth { duration: None, .. }
            | FaultAction::Blackhole { duration: None, .. }
            | FaultAction::Cut { duration: None }
            | FaultAction::Isolate { duration: None } => Some((
                "duration",
                format!("{name} needs `duration` (e.g. `duration: 10s`): every fault heals before the drain"),
            )),
            FaultAction::Latency { latency: None, .. } => Some((
                "latency",
                format!("{name} needs `latency` (e.g. `latency: 50ms`, optionally `jitter: 10ms`)"),
            )),
            FaultAction::Bandwidth {
                bytes_per_second: None | Some(0),
                ..
            } => Some((
                "bytes_per_second",
                format!("{name} needs `bytes_per_second` above 0 (e.g. `bytes_per_second: 100000`)"),
            )),
            _ => None,
        }
    }

    /// Why the kind cannot act on the target, if it cannot.
    fn unfit_target(&self, name: &str) -> Option<(&'static str, String)> {
        let kind = self.kind();
        let target = self.resolved_target();
        let message = match kind {
            _ if kind.is_network() && matches!(target, Target::Process(_) | Target::Producers) => {
                format!("{name} acts on a broker's connections; target a broker, not {target}")
            }
            FaultKind::Pause | FaultKind::RollingRestart if target == Target::Producers => format!(
                "{name} cannot act on the producers; use `kind: kill` (with `restart_after`) or `kind: restart`"
            ),
            FaultKind::RollingRestart if target != Target::All => format!(
                "{name} restarts every broker in turn; leave `target` out or write `target: all`"
            ),
            _ if kind != FaultKind::RollingRestart && target == Target::All => format!(
                "{name} hits one broker; name it with `target:` (broker:N, leader:TOPIC/PARTITION, controller or random), or use `kind: rolling-restart`"
            ),
            _ => return None,
        };
        Some(("target", message))
    }

    /// When the last repetition heals at the latest (a lower bound for rolling restarts).
    pub fn last_heal(&self) -> Duration {
        self.firing_times()
            .last()
            .map_or(Duration::ZERO, |fire| *fire + self.length())
    }
}

#[cfg(test)]
mod tests;
