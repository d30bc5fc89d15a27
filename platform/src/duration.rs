//! Durations written as humans write them (`30s`, `5m`, `1h30m`), for serde fields, with an
//! error that says how to write one.

use std::time::Duration;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serializer};

/// Reads `30s`, `5m`, `1h30m`, `250ms`.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(deserializer)
        .map_err(|_| de::Error::custom("write a duration with a unit, e.g. 30s, 5m or 1h30m"))?;
    humantime::parse_duration(&text).map_err(|_| {
        de::Error::custom(format!(
            "`{text}` is not a duration; write a number with a unit, e.g. 30s, 5m or 1h30m"
        ))
    })
}

/// Writes the duration as humantime does (`1m 30s`).
pub fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&humantime::format_duration(*duration).to_string())
}

/// The same for optional durations.
pub mod option {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    /// Reads an optional duration.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        #[derive(Deserialize)]
        struct Wrapped(#[serde(with = "super")] Duration);
        Ok(Option::<Wrapped>::deserialize(deserializer)?.map(|Wrapped(d)| d))
    }

    /// Writes an optional duration.
    pub fn serialize<S: Serializer>(
        duration: &Option<Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match duration {
            Some(duration) => super::serialize(duration, serializer),
            None => serializer.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[derive(serde::Deserialize)]
    struct Holder {
        #[serde(with = "super")]
        value: Duration,
    }

    #[test]
    fn durations_need_a_unit() {
        let parsed: Holder = serde_json::from_str(r#"{"value": "1m 30s"}"#).unwrap();
        assert_eq!(parsed.value, Duration::from_secs(90));
        let error = serde_json::from_str::<Holder>(r#"{"value": "soon"}"#)
            .err()
            .unwrap();
        assert!(
            error.to_string().contains("`soon` is not a duration"),
            "{error}"
        );
    }
}
