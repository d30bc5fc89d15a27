//! `rate: find-max`: the scenario run step after step on one platform, each step a whole
//! verified run at a fixed rate, until the search has bracketed the highest rate at which
//! every expectation holds.

use anyhow::{Context, Result};
use streamproof_loadgen::search::RateSearch;
use streamproof_loadgen::spec::Rate;
use streamproof_reports::result::{self as schema, RunResult, Verdict};
use streamproof_verify::expect::{search_checks, search_step};

use super::{drive, RunOptions, RunPlatform};
use crate::scenario::LoadedScenario;

/// Runs the search and returns the result of the highest step that held (or of the last
/// step), with every step and the search's own checks added.
pub(super) async fn find_max(
    loaded: &LoadedScenario,
    run: &RunPlatform,
    options: &RunOptions,
) -> Result<RunResult> {
    let spec = loaded.scenario.load.search.unwrap_or_default();
    let mut search = RateSearch::new(spec);
    let mut steps = Vec::new();
    let mut kept: Option<RunResult> = None;
    while let Some(rate) = search.next_rate() {
        let number = steps.len() + 1;
        eprintln!("rate search, step {number}: {rate:.0} events/s");
        let step = at_rate(loaded, rate, spec.step);
        let result = drive(&step, run, options).await?;
        let dir = options.out.join("search").join(format!("step-{number:02}"));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("create the directory `{}`", dir.display()))?;
        result.write(&dir.join("result.json"))?;
        let summary = search_step(&result);
        eprintln!(
            "  {} at {rate:.0}/s: {:.0} acknowledged/s, produce p99 {:.1} ms{}",
            if summary.sustainable {
                "held"
            } else {
                "failed"
            },
            summary.achieved_eps,
            summary.produce_p99_us as f64 / 1000.0,
            if summary.failed_checks.is_empty() {
                String::new()
            } else {
                format!(" ({})", summary.failed_checks.join(", "))
            }
        );
        search.record(rate, summary.sustainable);
        let best_so_far = summary.sustainable && search.sustained() == Some(rate);
        if best_so_far || kept.as_ref().is_none_or(|k| !k.passed()) {
            kept = Some(result);
        }
        steps.push(summary);
    }
    let mut result = kept.context("the rate search ran no step")?;
    let outcome = schema::RateSearch {
        max_sustainable_eps: search.sustained(),
        lowest_failed_eps: search.failed(),
        converged: search.converged(),
        precision: spec.precision,
        steps,
    };
    result.checks.extend(search_checks(&outcome));
    result.verdict = Verdict::of(&result.checks);
    result.rate_search = Some(outcome);
    Ok(result)
}

/// The scenario with a fixed rate and the search's step length.
fn at_rate(loaded: &LoadedScenario, rate: f64, step: std::time::Duration) -> LoadedScenario {
    let mut step_scenario = loaded.clone();
    step_scenario.scenario.load.rate = Rate::PerSecond(rate);
    step_scenario.scenario.load.duration = step;
    step_scenario
}
