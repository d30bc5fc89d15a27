//! Points at a value of a scenario file by its path (`faults[2].target`), so that problems
//! found after parsing show file:line:column and the line with a caret exactly as parse
//! errors do.
//!
//! The text is read a second time, down the path only, and the parser is handed an error at
//! the spot: the parser then adds the location and the snippet it gives every error of its
//! own, so the two kinds of error cannot drift apart.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use streamproof_platform::problem::{PathStep, Problem};

/// The parser's error for `problem`, at the key its path ends in (or the entry, for a path
/// that ends in a list index). When part of the path is absent, as for an option left out,
/// the error is at the nearest enclosing value that is present. `None` only when `text` no
/// longer parses, which cannot happen for the text the problem was found in.
pub(super) fn locate(text: &str, problem: &Problem) -> Option<serde_saphyr::Error> {
    let walk = Walk {
        rest: &problem.path,
        message: &problem.message,
    };
    serde_saphyr::with_deserializer_from_str(text, |deserializer| walk.deserialize(deserializer))
        .err()
}

/// Walks down `rest` from the value being read and fails where it ends.
#[derive(Clone, Copy)]
struct Walk<'a> {
    rest: &'a [PathStep],
    message: &'a str,
}

impl Walk<'_> {
    fn fail<E: de::Error>(self) -> Result<(), E> {
        Err(E::custom(self.message))
    }
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some((PathStep::Key(wanted), rest)) = self.rest.split_first() else {
            return self.fail();
        };
        let key = KeyStep {
            wanted,
            fail_with: rest.is_empty().then_some(self.message),
        };
        while let Some(found) = map.next_key_seed(key)? {
            if found {
                return map.next_value_seed(Walk { rest, ..self });
            }
            map.next_value::<IgnoredAny>()?;
        }
        // The key is absent: point at this mapping.
        self.fail()
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Some((PathStep::Index(wanted), rest)) = self.rest.split_first() else {
            return self.fail();
        };
        for _ in 0..*wanted {
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return self.fail();
            }
        }
        match seq.next_element_seed(Walk { rest, ..self })? {
            Some(()) => Ok(()),
            None => self.fail(),
        }
    }

    // A scalar is where the path ends (or a path that goes on below a scalar does).
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.fail()
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.fail()
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.fail()
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.fail()
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.fail()
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.fail()
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.fail()
    }
}

/// One key of a mapping on the way: whether it is the one wanted. When the path ends at it,
/// the error is raised while the key itself is read, which is what makes the parser point at
/// the key (an error raised after it points at the mapping).
#[derive(Clone, Copy)]
struct KeyStep<'a> {
    wanted: &'a str,
    fail_with: Option<&'a str>,
}

impl<'de> DeserializeSeed<'de> for KeyStep<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyStep<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<bool, E> {
        match self.fail_with {
            Some(message) if key == self.wanted => Err(E::custom(message)),
            _ => Ok(key == self.wanted),
        }
    }
}
