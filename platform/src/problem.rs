//! Values of an input file that each parse but cannot be used together (a fault on a broker
//! the platform does not have, fractions that add up to more than 1), found by the checks
//! that run after parsing. Each names the path of the value to point at, so the reader of
//! the file can show file:line:column as it does for parse errors.

/// One step from the top of an input file down to a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathStep {
    /// The value of this key of a mapping.
    Key(&'static str),
    /// This entry of a list, from 0.
    Index(usize),
}

/// A value that parsed but cannot be used, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Problem {
    /// Where the value is, from the top of the file: `faults[2].target` is
    /// `[Key("faults"), Index(2), Key("target")]`. When the value is absent (an option left
    /// out), the nearest enclosing value that is present is meant.
    pub path: Vec<PathStep>,
    /// What is wrong and how to fix it, naming the field as the file spells it.
    pub message: String,
}

impl Problem {
    /// A problem with the value at `path`.
    pub fn at(path: impl Into<Vec<PathStep>>, message: impl Into<String>) -> Self {
        Problem {
            path: path.into(),
            message: message.into(),
        }
    }
}
