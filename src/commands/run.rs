//! `run` and `validate`: scenario files to verdicts.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use streamproof_platform::connection::KafkaConnection;
use streamproof_platform::schema_registry::RegistryConnection;
use streamproof_reports::result::RunResult;
use streamproof_reports::{html, junit};

use super::print_json;
use crate::cli::{ExistingArgs, RunArgs, ValidateArgs};
use crate::orchestrate::{run_scenario, RunOptions};
use crate::platform_file::{self, ExistingPlatform, LoadedPlatform};
use crate::scenario::{self, LoadedScenario};

fn load_all(files: &[std::path::PathBuf]) -> Result<Vec<LoadedScenario>> {
    files
        .iter()
        .map(|file| scenario::load(file).map_err(anyhow::Error::from))
        .collect()
}

pub fn validate(args: &ValidateArgs) -> Result<()> {
    let platform = args
        .platform
        .as_deref()
        .map(platform_file::load)
        .transpose()?;
    for loaded in load_all(&args.scenarios)? {
        if let Some(platform) = &platform {
            runs_on(&loaded, platform)?;
        }
        println!("{}: ok ({})", loaded.file.display(), loaded.scenario.name);
    }
    if let Some(platform) = &platform {
        println!("{}: ok (platform file)", platform.path.display());
    }
    Ok(())
}

/// Whether the platform file's lakehouse can hold the tables `loaded`'s pipeline writes.
fn runs_on(loaded: &LoadedScenario, platform: &LoadedPlatform) -> Result<()> {
    let pipeline = loaded.scenario.platform.pipeline.as_ref();
    let catalog = platform.file.lakehouse.as_ref().and_then(|l| l.catalog());
    if let (Some(pipeline), Some(catalog)) = (pipeline, catalog) {
        catalog
            .with_table_format(pipeline.table_format)
            .map_err(|why| anyhow::anyhow!("{}: {why}", loaded.file.display()))?;
    }
    Ok(())
}

/// How every run of one invocation is carried out.
pub struct Runner {
    /// Run against this platform instead of the embedded one.
    pub existing: Option<ExistingPlatform>,
    /// Leave the embedded platform running.
    pub keep_platform: bool,
    /// Print results as JSON.
    pub json: bool,
    /// Platforms started so far, stopped on Ctrl-C.
    started: Arc<Mutex<Vec<PathBuf>>>,
    /// The schema registry named on the command line or in the platform file.
    pub schema_registry: Option<RegistryConnection>,
}

impl Runner {
    /// A runner whose embedded platforms Ctrl-C stops.
    pub fn new(
        existing: Option<ExistingPlatform>,
        keep_platform: bool,
        json: bool,
    ) -> Result<Self> {
        let started = Arc::new(Mutex::new(Vec::new()));
        super::stop_on_interrupt(started.clone())?;
        Ok(Runner {
            existing,
            keep_platform,
            json,
            started,
            schema_registry: None,
        })
    }

    /// Runs `loaded` `repeat` times: into `out`, or with repetitions into `out/rep-K`.
    pub fn run_repeated(
        &self,
        loaded: &LoadedScenario,
        out: &Path,
        repeat: u32,
    ) -> Result<Vec<RunResult>> {
        (1..=repeat)
            .map(|repetition| {
                let dir = if repeat > 1 {
                    out.join(format!("rep-{repetition}"))
                } else {
                    out.to_owned()
                };
                self.run_once(loaded, &dir)
            })
            .collect()
    }

    /// Runs `loaded` once and writes result.json, index.html and summary.md into `out`.
    fn run_once(&self, loaded: &LoadedScenario, out: &Path) -> Result<RunResult> {
        let options = RunOptions {
            out: out.to_owned(),
            existing: self.existing.clone(),
            started: self.started.clone(),
            keep_platform: self.keep_platform,
            schema_registry: self.schema_registry.clone(),
        };
        let result = run_scenario(loaded, &options)
            .with_context(|| format!("scenario `{}`", loaded.file.display()))?;
        let index_html = write_reports(out, &result)?;
        if self.json {
            print_json(&result)?;
        } else {
            print_verdict(&result, &index_html);
        }
        Ok(result)
    }
}

/// Writes result.json, index.html and summary.md of a run into `out`; returns index.html.
pub fn write_reports(out: &Path, result: &RunResult) -> Result<PathBuf> {
    result.write(&out.join("result.json"))?;
    Ok(html::render_run_dir(out, result)?.index_html)
}

/// Runs every scenario; `Ok(false)` when an expectation failed.
pub fn run(args: &RunArgs, json: bool) -> Result<bool> {
    // Every file is checked before anything starts.
    let scenarios = load_all(&args.scenarios)?;
    if let Some(addr) = args.metrics_addr {
        crate::metrics::serve(addr)?;
    }
    let existing = existing_platform(&args.existing)?;
    let schema_registry = match &args.schema_registry {
        Some(url) => Some(RegistryConnection::new(url)),
        None => existing
            .as_ref()
            .and_then(ExistingPlatform::schema_registry)
            .transpose()?,
    };
    let mut runner = Runner::new(existing, args.keep_platform, json)?;
    runner.schema_registry = schema_registry;
    let several = scenarios.len() > 1;
    let mut results = Vec::new();
    for loaded in &scenarios {
        let out = output_dir(args.out.as_deref(), &loaded.scenario.name, several);
        results.extend(runner.run_repeated(loaded, &out, args.repeat)?);
    }
    if args.metrics_addr.is_some() {
        crate::metrics::linger(args.metrics_linger);
    }
    if let Some(path) = &args.junit {
        let all: Vec<&RunResult> = results.iter().collect();
        std::fs::write(path, junit::junit_xml(&all))
            .with_context(|| format!("write `{}`", path.display()))?;
    }
    Ok(results.iter().all(RunResult::passed))
}

/// The platform a run goes against when it is not the embedded one: a platform file's, or a
/// cluster given by its bootstrap servers.
pub fn existing_platform(args: &ExistingArgs) -> Result<Option<ExistingPlatform>> {
    if let Some(path) = &args.platform {
        let described = platform_file::load(path)?;
        return Ok(Some(ExistingPlatform {
            connection: described.connection()?,
            described: Some(described),
        }));
    }
    Ok(args
        .bootstrap_servers
        .as_ref()
        .map(|servers| ExistingPlatform {
            connection: KafkaConnection::new(servers.as_str()),
            described: None,
        }))
}

fn print_verdict(result: &RunResult, report: &Path) {
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
    println!("  report: {}", report.display());
}

/// The directory a scenario's results go to: `--out` itself for a single scenario, else a
/// subdirectory per scenario; by default `runs/<name>-<time>`.
pub fn output_dir(out: Option<&Path>, name: &str, several: bool) -> PathBuf {
    let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
    match out {
        Some(dir) if several => dir.join(name),
        Some(dir) => dir.to_owned(),
        None => PathBuf::from("runs").join(format!("{name}-{stamp}")),
    }
}
