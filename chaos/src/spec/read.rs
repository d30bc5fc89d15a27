//! How a fault is read from and written to YAML: key by key, so that an option of another
//! kind fails at its own line and column, and written back as the flat record result.json
//! has always carried.

use super::*;

/// The kind-specific options as the file spells them: read before the kind may be known, and
/// written back for result.json, which has always shown one flat record per fault.
#[derive(Debug, Default)]
pub(super) struct KindOptions {
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
    pub(super) fn given(&self) -> impl Iterator<Item = &'static str> + '_ {
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
