//! `run` and `validate`: scenario files to verdicts.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use streamproof_platform::runtime::LocalCluster;
use streamproof_reports::markdown;
use streamproof_reports::result::RunResult;

use super::print_json;
use crate::cli::{RunArgs, ValidateArgs};
use crate::orchestrate::{output_dir, run_scenario, RunOptions};
use crate::scenario::{self, LoadedScenario};

fn load_all(files: &[std::path::PathBuf]) -> Result<Vec<LoadedScenario>> {
    files
        .iter()
        .map(|file| scenario::load(file).map_err(anyhow::Error::from))
        .collect()
}

pub fn validate(args: &ValidateArgs) -> Result<()> {
    for loaded in load_all(&args.scenarios)? {
        println!("{}: ok ({})", loaded.file.display(), loaded.scenario.name);
    }
    Ok(())
}

/// Runs every scenario; `Ok(false)` when an expectation failed.
pub fn run(args: &RunArgs, json: bool) -> Result<bool> {
    // Every file is checked before anything starts.
    let scenarios = load_all(&args.scenarios)?;
    let started = Arc::new(Mutex::new(Vec::new()));
    stop_started_on_interrupt(started.clone())?;
    let several = scenarios.len() > 1;
    let mut all_passed = true;
    for loaded in &scenarios {
        let out = output_dir(args.out.as_deref(), &loaded.scenario.name, several);
        let options = RunOptions {
            out: out.clone(),
            bootstrap_servers: args.bootstrap_servers.clone(),
            started: started.clone(),
            keep_platform: args.keep_platform,
        };
        let result = run_scenario(loaded, &options)
            .with_context(|| format!("scenario `{}`", loaded.file.display()))?;
        result.write(&out.join("result.json"))?;
        let summary_path = out.join("summary.md");
        std::fs::write(&summary_path, markdown::summary(&result))
            .with_context(|| format!("write `{}`", summary_path.display()))?;
        if json {
            print_json(&result)?;
        } else {
            print_verdict(&result, &out);
        }
        all_passed &= result.passed();
    }
    Ok(all_passed)
}

fn print_verdict(result: &RunResult, out: &std::path::Path) {
    let held = result.checks.iter().filter(|c| c.passed).count();
    let verdict = if result.passed() { "PASS" } else { "FAIL" };
    let counts = &result.counts;
    println!(
        "{verdict} {}: {held}/{} checks held · sent {} acked {} present {} lost {} duplicates {} · {:.0} events/s · produce p99 {:.2} ms",
        result.scenario.name,
        result.checks.len(),
        counts.sent,
        counts.acked,
        counts.present,
        counts.lost,
        counts.duplicates,
        result.throughput.achieved_eps,
        result.latency.produce.p99_us as f64 / 1000.0
    );
    for check in result.checks.iter().filter(|c| !c.passed) {
        println!(
            "  ✗ {}: expected {}, got {}",
            check.name, check.expected, check.actual
        );
    }
    println!("  report: {}", out.join("summary.md").display());
}

/// Ctrl-C (or SIGTERM) stops every embedded platform this run started, then exits.
fn stop_started_on_interrupt(started: Arc<Mutex<Vec<std::path::PathBuf>>>) -> Result<()> {
    ctrlc::set_handler(move || {
        eprintln!("\ninterrupted: stopping the embedded platform");
        if let Ok(dirs) = started.lock() {
            for dir in dirs.iter() {
                if let Ok(canonical) = std::fs::canonicalize(dir) {
                    let _ = LocalCluster::down(&canonical, Duration::from_secs(10));
                }
            }
        }
        std::process::exit(130);
    })
    .context("install the Ctrl-C handler")
}
