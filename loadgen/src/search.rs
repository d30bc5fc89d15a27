//! The search for the highest rate a platform sustains: rates to try, one after another,
//! each judged by a verified run (its ledger checked, its objective measured) before the
//! next is chosen.
//!
//! The search doubles the rate from `start` until a step fails (or `ceiling` is reached), then
//! halves the interval between the highest sustained and the lowest failed rate until it is
//! narrower than `precision` of the sustained rate, or the step budget is spent. It only
//! chooses rates; running and judging a step is the caller's job.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::spec::human_duration;

/// How to search (a scenario's `load.search`, a plan's `calibration.search`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchSpec {
    /// First rate tried, events per second.
    #[serde(default = "default_start")]
    pub start: f64,
    /// Highest rate tried, events per second.
    #[serde(default = "default_ceiling")]
    pub ceiling: f64,
    /// Stop once the failed and sustained rates are within this fraction of each other.
    #[serde(default = "default_precision")]
    pub precision: f64,
    /// Most steps run.
    #[serde(default = "default_max_steps")]
    pub max_steps: u32,
    /// Measured part of each step (each step also runs the scenario's warmup).
    #[serde(default = "default_step", with = "human_duration")]
    pub step: Duration,
}

fn default_start() -> f64 {
    1000.0
}

fn default_ceiling() -> f64 {
    1_000_000.0
}

fn default_precision() -> f64 {
    0.1
}

fn default_max_steps() -> u32 {
    10
}

fn default_step() -> Duration {
    Duration::from_secs(10)
}

impl Default for SearchSpec {
    fn default() -> Self {
        SearchSpec {
            start: default_start(),
            ceiling: default_ceiling(),
            precision: default_precision(),
            max_steps: default_max_steps(),
            step: default_step(),
        }
    }
}

impl SearchSpec {
    /// What is wrong with the values, each as (field, how to fix it).
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        if !(self.start.is_finite() && self.start >= 1.0) {
            problems.push((
                "start",
                format!(
                    "{} is not a rate; write events per second, at least 1",
                    self.start
                ),
            ));
        }
        if !(self.ceiling.is_finite() && self.ceiling >= self.start) {
            problems.push((
                "ceiling",
                format!(
                    "{} is below start {}; the ceiling is the highest rate to try",
                    self.ceiling, self.start
                ),
            ));
        }
        if !(self.precision > 0.0 && self.precision < 1.0) {
            problems.push((
                "precision",
                format!(
                    "{} is not a fraction; write e.g. 0.1 to stop within 10%",
                    self.precision
                ),
            ));
        }
        if self.max_steps < 2 {
            problems.push(("max_steps", "a search needs at least 2 steps".to_owned()));
        }
        if self.step.is_zero() {
            problems.push(("step", "write a measured duration, e.g. `10s`".to_owned()));
        }
        problems
    }
}

/// The state of a search: the bounds found so far and the steps spent.
#[derive(Debug, Clone)]
pub struct RateSearch {
    spec: SearchSpec,
    sustained: Option<f64>,
    failed: Option<f64>,
    steps: u32,
}

impl RateSearch {
    /// A search that has not run a step yet.
    pub fn new(spec: SearchSpec) -> Self {
        RateSearch {
            spec,
            sustained: None,
            failed: None,
            steps: 0,
        }
    }

    /// The next rate to try, or `None` when the search is over.
    pub fn next_rate(&self) -> Option<f64> {
        if self.steps >= self.spec.max_steps {
            return None;
        }
        match (self.sustained, self.failed) {
            (None, None) => Some(self.spec.start),
            (Some(sustained), None) if sustained >= self.spec.ceiling => None,
            (Some(sustained), None) => Some((sustained * 2.0).min(self.spec.ceiling)),
            // Below the start nothing was sustained: keep halving towards 1 event/s.
            (None, Some(failed)) if failed <= 1.0 => None,
            (None, Some(failed)) => Some((failed / 2.0).max(1.0).round()),
            (Some(sustained), Some(failed)) => {
                if failed - sustained <= sustained * self.spec.precision {
                    None
                } else {
                    Some(((sustained + failed) / 2.0).round())
                }
            }
        }
    }

    /// Records how the step at `rate` went.
    pub fn record(&mut self, rate: f64, sustainable: bool) {
        self.steps += 1;
        if sustainable {
            self.sustained = Some(self.sustained.map_or(rate, |s| s.max(rate)));
        } else {
            self.failed = Some(self.failed.map_or(rate, |f| f.min(rate)));
        }
    }

    /// The highest rate sustained so far.
    pub fn sustained(&self) -> Option<f64> {
        self.sustained
    }

    /// The lowest rate that failed so far.
    pub fn failed(&self) -> Option<f64> {
        self.failed
    }

    /// Whether the search ended within its precision (not by its step budget or the ceiling).
    pub fn converged(&self) -> bool {
        match (self.sustained, self.failed) {
            (Some(sustained), Some(failed)) => {
                failed - sustained <= sustained * self.spec.precision
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a search against a platform that sustains exactly `limit`.
    fn search_with_limit(limit: f64, spec: SearchSpec) -> (RateSearch, Vec<f64>) {
        let mut search = RateSearch::new(spec);
        let mut tried = Vec::new();
        while let Some(rate) = search.next_rate() {
            tried.push(rate);
            search.record(rate, rate <= limit);
        }
        (search, tried)
    }

    #[test]
    fn converges_within_precision_of_the_limit() {
        for limit in [1_500.0, 7_777.0, 40_000.0, 123_456.0] {
            let spec = SearchSpec {
                max_steps: 30,
                ..SearchSpec::default()
            };
            let (search, _) = search_with_limit(limit, spec);
            let found = search.sustained().expect("a rate was sustained");
            assert!(search.converged(), "limit {limit}");
            assert!(
                found <= limit && found >= limit * 0.9,
                "limit {limit}: {found}"
            );
        }
    }

    #[test]
    fn doubles_then_halves_the_interval() {
        let (_, tried) = search_with_limit(5_000.0, SearchSpec::default());
        assert_eq!(&tried[..5], &[1000.0, 2000.0, 4000.0, 8000.0, 6000.0]);
    }

    #[test]
    fn goes_below_the_start_when_the_start_fails() {
        let (search, tried) = search_with_limit(300.0, SearchSpec::default());
        assert_eq!(&tried[..3], &[1000.0, 500.0, 250.0]);
        assert!(search.sustained().unwrap() <= 300.0);
    }

    #[test]
    fn stops_at_the_ceiling_and_at_the_step_budget() {
        let spec = SearchSpec {
            ceiling: 3_000.0,
            ..SearchSpec::default()
        };
        let (search, tried) = search_with_limit(1e9, spec);
        assert_eq!(tried, vec![1000.0, 2000.0, 3000.0]);
        assert!(!search.converged());
        let spec = SearchSpec {
            max_steps: 3,
            ..SearchSpec::default()
        };
        let (_, tried) = search_with_limit(1e9, spec);
        assert_eq!(tried.len(), 3);
    }

    #[test]
    fn bad_values_are_named() {
        let spec = SearchSpec {
            start: 0.0,
            precision: 1.5,
            max_steps: 1,
            ..SearchSpec::default()
        };
        let fields: Vec<&str> = spec.problems().iter().map(|p| p.0).collect();
        assert_eq!(fields, vec!["start", "precision", "max_steps"]);
    }
}
