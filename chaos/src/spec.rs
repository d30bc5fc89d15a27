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

/// The kind-specific options as the file spells them: read before the kind may be known, and
/// written back for result.json, which has always shown one flat record per fault.
#[derive(Debug, Default)]
struct KindOptions {
    restart_after: Option<Duration>,
    duration: Option<Duration>,
    latency: Option<Duration>,
    jitter: Option<Duration>,
    bytes_per_second: Option<u64>,
    direction: Option<Direction>,
}

impl KindOptions {
    /// Reads the value of `option` (one of the kind-specific names in [`ALL_FIELDS`]).
    fn read<'de, A: MapAccess<'de>>(&mut self, option: &str, map: &mut A) -> Result<(), A::Error> {
        let duration = |map: &mut A| {
            Ok::<_, A::Error>(map.next_value::<Option<HumanDuration>>()?.map(|d| d.0))
        };
        match option {
            "restart_after" => self.restart_after = duration(map)?,
            "duration" => self.duration = duration(map)?,
            "latency" => self.latency = duration(map)?,
            "jitter" => self.jitter = duration(map)?,
            "bytes_per_second" => self.bytes_per_second = map.next_value()?,
            "direction" => self.direction = Some(map.next_value()?),
            other => return Err(de::Error::unknown_field(other, &ALL_FIELDS)),
        }
        Ok(())
    }

    /// The options given, by name.
    fn given(&self) -> impl Iterator<Item = &'static str> + '_ {
        [
            ("restart_after", self.restart_after.is_some()),
            ("duration", self.duration.is_some()),
            ("latency", self.latency.is_some()),
            ("jitter", self.jitter.is_some()),
            ("bytes_per_second", self.bytes_per_second.is_some()),
            ("direction", self.direction.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, given)| given.then_some(name))
    }

    /// The action of `kind`; only called once every option given is one `kind` takes.
    fn into_action(self, kind: FaultKind) -> FaultAction {
        let direction = self.direction.unwrap_or_default();
        match kind {
            FaultKind::Kill => FaultAction::Kill {
                restart_after: self.restart_after,
            },
            FaultKind::Pause => FaultAction::Pause {
                duration: self.duration,
            },
            FaultKind::Restart => FaultAction::Restart,
            FaultKind::RollingRestart => FaultAction::RollingRestart,
            FaultKind::Latency => FaultAction::Latency {
                duration: self.duration,
                latency: self.latency,
                jitter: self.jitter,
                direction,
            },
            FaultKind::Bandwidth => FaultAction::Bandwidth {
                duration: self.duration,
                bytes_per_second: self.bytes_per_second,
                direction,
            },
            FaultKind::Blackhole => FaultAction::Blackhole {
                duration: self.duration,
                direction,
            },
            FaultKind::Reset => FaultAction::Reset,
            FaultKind::Cut => FaultAction::Cut {
                duration: self.duration,
            },
            FaultKind::Isolate => FaultAction::Isolate {
                duration: self.duration,
            },
        }
    }
}

impl From<&FaultAction> for KindOptions {
    fn from(action: &FaultAction) -> Self {
        let mut options = KindOptions {
            direction: Some(action.direction()),
            ..KindOptions::default()
        };
        match *action {
            FaultAction::Kill { restart_after } => options.restart_after = restart_after,
            FaultAction::Latency {
                duration,
                latency,
                jitter,
                ..
            } => {
                options.duration = duration;
                options.latency = latency;
                options.jitter = jitter;
            }
            FaultAction::Bandwidth {
                duration,
                bytes_per_second,
                ..
            } => {
                options.duration = duration;
                options.bytes_per_second = bytes_per_second;
            }
            FaultAction::Pause { duration }
            | FaultAction::Blackhole { duration, .. }
            | FaultAction::Cut { duration }
            | FaultAction::Isolate { duration } => options.duration = duration,
            FaultAction::Restart | FaultAction::RollingRestart | FaultAction::Reset => {}
        }
        options
    }
}

/// A duration as humans write it, as a value of its own.
#[derive(Deserialize)]
struct HumanDuration(#[serde(with = "duration")] Duration);

/// A field the fault's kind does not take.
fn not_an_option_of<E: de::Error>(field: &str, kind: FaultKind) -> E {
    let valid: Vec<&str> = ["kind", "target", "at"]
        .into_iter()
        .chain(kind.options().iter().copied())
        .chain(["repeat", "every"])
        .collect();
    E::custom(format!(
        "unknown field `{field}` for `kind: {kind}`, expected one of {}",
        valid.join(", ")
    ))
}

/// The name of a field of a fault, refused as it is read when the kind (read before it, as in
/// every shipped scenario) does not take it: an error raised while the key itself is read
/// points at the key's line and column; one raised later would point at the fault's entry.
struct FieldOf(Option<FaultKind>);

impl<'de> DeserializeSeed<'de> for FieldOf {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for FieldOf {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, field: &str) -> Result<String, E> {
        match self.0 {
            Some(kind) if !COMMON_FIELDS.contains(&field) && !kind.takes(field) => {
                Err(not_an_option_of(field, kind))
            }
            _ => Ok(field.to_owned()),
        }
    }
}

impl<'de> Deserialize<'de> for FaultSpec {
    /// Reads the fields one at a time from the parser itself rather than through a buffer (as
    /// `#[serde(tag = "kind")]` would), so an error still points at its line and column.
    /// Duplicate keys are refused by the YAML reader.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FaultSpecVisitor;

        impl<'de> Visitor<'de> for FaultSpecVisitor {
            type Value = FaultSpec;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a fault: `kind`, `target`, `at` and the options of its kind")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FaultSpec, A::Error> {
                let mut kind: Option<FaultKind> = None;
                let mut target = None;
                let mut at = None;
                let mut repeat = None;
                let mut every = None;
                let mut options = KindOptions::default();
                while let Some(field) = map.next_key_seed(FieldOf(kind))? {
                    match field.as_str() {
                        "kind" => kind = Some(map.next_value()?),
                        "target" => target = map.next_value::<Option<Target>>()?,
                        "at" => at = Some(map.next_value::<HumanDuration>()?.0),
                        "repeat" => repeat = Some(map.next_value::<u32>()?),
                        "every" => every = map.next_value::<Option<HumanDuration>>()?.map(|d| d.0),
                        option => options.read(option, &mut map)?,
                    }
                }
                let kind = kind.ok_or_else(|| de::Error::missing_field("kind"))?;
                // Options written above `kind:` are only checked now, at the fault's entry.
                if let Some(option) = options.given().find(|option| !kind.takes(option)) {
                    return Err(not_an_option_of(option, kind));
                }
                Ok(FaultSpec {
                    action: options.into_action(kind),
                    target,
                    at: at.ok_or_else(|| de::Error::missing_field("at"))?,
                    repeat: repeat.unwrap_or(1),
                    every,
                })
            }
        }

        deserializer.deserialize_map(FaultSpecVisitor)
    }
}

impl Serialize for FaultSpec {
    /// The flat record result.json has always carried: every option of the kind that was
    /// given, and a `direction` even for kinds that act both ways.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let human = |duration: Duration| humantime::format_duration(duration).to_string();
        let options = KindOptions::from(&self.action);
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("kind", &self.kind())?;
        if let Some(target) = &self.target {
            map.serialize_entry("target", target)?;
        }
        map.serialize_entry("at", &human(self.at))?;
        let durations = [
            ("restart_after", options.restart_after),
            ("duration", options.duration),
            ("latency", options.latency),
            ("jitter", options.jitter),
        ];
        for (field, value) in durations {
            if let Some(value) = value {
                map.serialize_entry(field, &human(value))?;
            }
        }
        if let Some(bytes_per_second) = options.bytes_per_second {
            map.serialize_entry("bytes_per_second", &bytes_per_second)?;
        }
        map.serialize_entry("direction", &self.action.direction())?;
        map.serialize_entry("repeat", &self.repeat)?;
        if let Some(every) = self.every {
            map.serialize_entry("every", &human(every))?;
        }
        map.end()
    }
}

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
        assert!(kill.problems(0)[0].message.contains("restart_after"));
        let pause = spec(r#"{"kind": "pause", "target": "random", "at": "10s"}"#);
        assert!(pause.problems(0)[0].message.contains("duration"));
        let untargeted = spec(r#"{"kind": "restart", "at": "1s"}"#);
        assert!(untargeted.problems(0)[0]
            .message
            .contains("name it with `target:`"));
        let rolling = spec(r#"{"kind": "rolling-restart", "target": "broker:1", "at": "1s"}"#);
        assert!(rolling.problems(0)[0]
            .message
            .contains("every broker in turn"));
        let fine = spec(
            r#"{"kind": "kill", "target": "leader:raw-events/0", "at": "10s", "restart_after": "5s"}"#,
        );
        assert!(fine.problems(0).is_empty());
        assert_eq!(fine.last_heal(), Duration::from_secs(15));
        let isolate = spec(r#"{"kind": "isolate", "target": "broker:2", "at": "5s"}"#);
        assert!(isolate.problems(0)[0].message.contains("duration"));
        let isolate_producers =
            spec(r#"{"kind": "isolate", "target": "producers", "at": "5s", "duration": "5s"}"#);
        assert!(isolate_producers.problems(0)[0]
            .message
            .contains("not producers"));
        let pause_producers =
            spec(r#"{"kind": "pause", "target": "producers", "at": "5s", "duration": "5s"}"#);
        assert!(pause_producers.problems(0)[0]
            .message
            .contains("cannot act on the producers"));
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
        assert!(overlapping.problems(0)[0]
            .message
            .contains("must not overlap"));
        let no_every = spec(
            r#"{"kind": "pause", "target": "broker:2", "at": "5s", "duration": "2s", "repeat": 2}"#,
        );
        assert!(no_every.problems(0)[0].message.contains("every:"));
    }

    #[test]
    fn each_kind_takes_only_its_own_options() {
        let error = serde_json::from_str::<FaultSpec>(
            r#"{"kind": "kill", "target": "broker:1", "at": "5s", "bytes_per_second": 1000}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.starts_with("unknown field `bytes_per_second` for `kind: kill`, expected one of kind, target, at, restart_after, repeat, every"),
            "{error}"
        );
        // An option written above `kind:` is checked once the kind is known.
        let error = serde_json::from_str::<FaultSpec>(
            r#"{"duration": "5s", "kind": "reset", "target": "broker:1", "at": "5s"}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.starts_with("unknown field `duration` for `kind: reset`"),
            "{error}"
        );
        let error = serde_json::from_str::<FaultSpec>(r#"{"kind": "explode", "at": "5s"}"#)
            .unwrap_err()
            .to_string();
        assert!(error.contains("unknown variant `explode`"), "{error}");
        let error = serde_json::from_str::<FaultSpec>(r#"{"at": "5s", "ratez": 1}"#)
            .unwrap_err()
            .to_string();
        assert!(error.contains("unknown field `ratez`"), "{error}");
        let error = serde_json::from_str::<FaultSpec>(r#"{"target": "broker:1", "at": "5s"}"#)
            .unwrap_err()
            .to_string();
        assert!(error.contains("missing field `kind`"), "{error}");
    }

    #[test]
    fn every_option_a_kind_takes_reaches_its_action() {
        for kind in [
            FaultKind::Kill,
            FaultKind::Pause,
            FaultKind::Restart,
            FaultKind::RollingRestart,
            FaultKind::Latency,
            FaultKind::Bandwidth,
            FaultKind::Blackhole,
            FaultKind::Reset,
            FaultKind::Cut,
            FaultKind::Isolate,
        ] {
            let mut fault = serde_json::json!({"kind": kind, "at": "1s"});
            for option in kind.options() {
                fault[*option] = match *option {
                    "bytes_per_second" => serde_json::json!(1000),
                    "direction" => serde_json::json!("to-client"),
                    _ => serde_json::json!("3s"),
                };
            }
            let action = serde_json::from_value::<FaultSpec>(fault).unwrap().action;
            assert_eq!(action.kind(), kind);
            let written: Vec<&str> = KindOptions::from(&action)
                .given()
                .filter(|option| *option != "direction" || action.direction() != Direction::Both)
                .collect();
            assert_eq!(written, kind.options(), "{kind}");
        }
    }

    #[test]
    fn result_json_keeps_the_flat_record_of_each_fault() {
        let latency = spec(
            r#"{"kind": "latency", "target": "broker:2", "at": "10s", "duration": "15s", "latency": "50ms", "jitter": "20ms"}"#,
        );
        assert_eq!(
            serde_json::to_value(&latency).unwrap(),
            serde_json::json!({
                "kind": "latency", "target": "broker:2", "at": "10s", "duration": "15s",
                "latency": "50ms", "jitter": "20ms", "direction": "both", "repeat": 1
            })
        );
        let kill = spec(
            r#"{"kind": "kill", "target": "copier", "at": "12s", "restart_after": "3s", "repeat": 2, "every": "12s"}"#,
        );
        assert_eq!(
            serde_json::to_value(&kill).unwrap(),
            serde_json::json!({
                "kind": "kill", "target": "copier", "at": "12s", "restart_after": "3s",
                "direction": "both", "repeat": 2, "every": "12s"
            })
        );
        let rolling = spec(r#"{"kind": "rolling-restart", "at": "1m 30s"}"#);
        assert_eq!(
            serde_json::to_value(&rolling).unwrap(),
            serde_json::json!({"kind": "rolling-restart", "at": "1m 30s", "direction": "both", "repeat": 1})
        );
        let bandwidth = spec(
            r#"{"kind": "bandwidth", "target": "broker:1", "at": "1s", "duration": "2s", "bytes_per_second": 5000, "direction": "to-broker"}"#,
        );
        assert_eq!(
            serde_json::to_value(&bandwidth).unwrap()["direction"],
            "to-broker"
        );
        assert_eq!(
            serde_json::from_value::<FaultSpec>(serde_json::to_value(&bandwidth).unwrap()).unwrap(),
            bandwidth
        );
    }
}
