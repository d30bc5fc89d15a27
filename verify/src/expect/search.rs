//! A `rate: find-max` search judged: each step by its own checks, the search by whether a
//! rate held and whether any step, at any rate, broke a guarantee.

use streamproof_result::{Check, Limit, RateSearch, RunResult, SearchStep, Value};

use super::{check, is_objective};

/// One step as the search records it: sustainable when every check of its run held.
pub fn search_step(result: &RunResult) -> SearchStep {
    let failed_checks: Vec<String> = result
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.name.clone())
        .collect();
    SearchStep {
        run_id: result.run_id.clone(),
        target_eps: result.throughput.target_eps.unwrap_or_default(),
        achieved_eps: result.throughput.achieved_eps,
        produce_p99_us: result.latency.produce.p99_us,
        end_to_end_p99_us: result.latency.end_to_end.map(|l| l.p99_us),
        lost: result.counts.lost,
        duplicates: result.counts.duplicates,
        sustainable: failed_checks.is_empty(),
        failed_checks,
    }
}

/// The search's own checks: a rate held, and no step failed a check that is not an objective
/// (a step that loses or duplicates records is a broken platform, whatever its rate).
pub fn search_checks(search: &RateSearch) -> Vec<Check> {
    let found = search.max_sustainable_eps;
    let broken: Vec<(f64, &str)> = search
        .steps
        .iter()
        .flat_map(|step| {
            step.failed_checks
                .iter()
                .filter(|name| !is_objective(name))
                .map(move |name| (step.target_eps, name.as_str()))
        })
        .collect();
    let broken_text = if broken.is_empty() {
        "none".to_owned()
    } else {
        broken
            .iter()
            .map(|(rate, name)| format!("{name} at {rate:.0}/s"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    vec![
        check(
            "rate_search",
            (
                "a rate at which every expectation held",
                Limit::AtLeast(Value::EventsPerSecond(1.0)),
            ),
            (
                match found {
                    Some(rate) => format!("{rate:.0} events/s"),
                    None => "no step held".to_owned(),
                },
                found.map(Value::EventsPerSecond),
            ),
            found.is_some(),
        ),
        check(
            "rate_search_guarantees",
            (
                "no step broke a guarantee (only objectives may fail above the limit)",
                Limit::Equals(Value::Count(0)),
            ),
            (broken_text, Some(Value::Count(broken.len() as u64))),
            broken.is_empty(),
        ),
    ]
}
