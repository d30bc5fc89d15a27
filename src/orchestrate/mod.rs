//! A run from scenario to verdict, as a list of phases: platform, topics, stages, load with
//! faults, verification, result. The only place that knows every crate; each phase is a call
//! into the crate that does the work, and whatever a phase started stops when the run ends,
//! however it ends.

mod assemble;
pub mod plan;
mod schema;
mod search;
mod stages;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, Result};
use streamproof_chaos::commands::FaultCommands;
use streamproof_chaos::proxy::{ProxySet, SharedProxies};
use streamproof_loadgen::spec::Rate;
use streamproof_loadgen::RAW_TOPICS;
use streamproof_platform::admin::KafkaAdmin;
use streamproof_platform::file::TopicPolicy;
use streamproof_platform::handle::{KafkaSource, Platform};
use streamproof_platform::runtime::{default_cache_root, Lifetime};
use streamproof_platform::schema_registry::RegistryConnection;
use streamproof_platform::topics::standard_topics;
use streamproof_reports::result::RunResult;
use streamproof_verify::gold::{GoldReplay, SendTimes};
use streamproof_verify::kafka::{check_kafka, KafkaCheck};

use crate::platform_file::ExistingPlatform;
use crate::scenario::LoadedScenario;
use crate::settings::platform_spec;
use assemble::{assemble, Assembly};
use schema::SchemaRun;
use stages::{Stages, Verified};

/// Where and against what to run.
pub struct RunOptions {
    /// Directory for result.json, summary.md and the embedded platform's logs.
    pub out: PathBuf,
    /// An existing platform instead of the embedded one.
    pub existing: Option<ExistingPlatform>,
    /// Directories of embedded platforms started so far, stopped on Ctrl-C.
    pub started: Arc<Mutex<Vec<PathBuf>>>,
    /// Leave the embedded platform running after the verdict.
    pub keep_platform: bool,
    /// A schema registry that already runs, for formats that register schemas (else one is
    /// started with the platform).
    pub schema_registry: Option<RegistryConnection>,
}

/// The platform of a run, and the client proxies in front of its brokers when network faults
/// are planned (dropped after the platform).
struct RunPlatform {
    platform: Platform,
    proxies: Option<SharedProxies>,
    /// The platform file's commands for the processes streamproof did not start.
    fault_commands: Option<FaultCommands>,
}

/// Runs one scenario to its verdict. Errors are problems of the scenario or environment.
pub fn run_scenario(loaded: &LoadedScenario, options: &RunOptions) -> Result<RunResult> {
    run_scenario_then(loaded, options, |_, _| Ok(())).map(|(result, ())| result)
}

/// [`run_scenario`], then `after` on the platform before it stops (a measurement of what the
/// run left behind).
pub fn run_scenario_then<T>(
    loaded: &LoadedScenario,
    options: &RunOptions,
    after: impl FnOnce(&Platform, &RunResult) -> Result<T>,
) -> Result<(RunResult, T)> {
    let started_at = chrono::Utc::now();
    let wall = Instant::now();
    std::fs::create_dir_all(&options.out)
        .with_context(|| format!("create the output directory `{}`", options.out.display()))?;
    let platform = start_platform(loaded, options)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("start the async runtime")?;
    let mut result = runtime.block_on(async {
        match loaded.scenario.load.rate {
            Rate::FindMax => search::find_max(loaded, &platform, options).await,
            Rate::PerSecond(_) | Rate::Max => drive(loaded, &platform, options).await,
        }
    })?;
    let measured = after(&platform.platform, &result)?;
    if options.keep_platform {
        keep_running(platform);
    }
    result.started_at = streamproof_platform::events::utc_timestamp(started_at);
    result.duration_seconds = wall.elapsed().as_secs_f64();
    Ok((result, measured))
}

/// The platform phase: the embedded brokers (or the existing cluster) and, for a pipeline,
/// an embedded Flink session cluster.
fn start_platform(loaded: &LoadedScenario, options: &RunOptions) -> Result<RunPlatform> {
    if let Some(existing) = &options.existing {
        existing.admit(loaded)?;
    }
    let lifetime = Lifetime::kept_if(options.keep_platform);
    let spec = platform_spec(
        &loaded.scenario,
        options.existing.as_ref(),
        options.schema_registry.as_ref(),
        &options.out,
        lifetime,
    )?;
    let proxies = match &spec.kafka {
        KafkaSource::Embedded(cluster) if cluster.proxied => Some(Arc::new(Mutex::new(
            ProxySet::start(&cluster.proxy_routes()).context("start the broker proxies")?,
        ))),
        _ => None,
    };
    if let Ok(mut started) = options.started.lock() {
        // Ctrl-C finds the brokers there and the pipeline's Flink beside them.
        started.push(options.out.join("platform"));
    }
    spec.describe().iter().for_each(|line| eprintln!("{line}"));
    let platform =
        Platform::start(&spec, &default_cache_root()).context("start the embedded platform")?;
    Ok(RunPlatform {
        platform,
        proxies,
        fault_commands: options
            .existing
            .as_ref()
            .and_then(ExistingPlatform::fault_commands),
    })
}

/// Leaves the embedded platform running for `streamproof down`.
fn keep_running(run: RunPlatform) {
    if run.proxies.is_some() {
        eprintln!(
            "note: the client proxies stop with this process; clients of the kept platform reach each broker on its public port + 20"
        );
    }
    let kept = run.platform.keep_running();
    kept.describe().iter().for_each(|line| eprintln!("{line}"));
}

/// The phases after the platform: topics, stages, load with faults, verification, result.
async fn drive(
    loaded: &LoadedScenario,
    run: &RunPlatform,
    options: &RunOptions,
) -> Result<RunResult> {
    let scenario = &loaded.scenario;
    let connection = &run.platform.connection;
    let run_id = uuid::Uuid::new_v4().to_string();
    crate::metrics::run_started(&run_id, &scenario.name);
    let admin = KafkaAdmin::connect(connection)?;
    let brokers = admin.brokers().context("list the cluster's brokers")?.len();
    let topics = standard_topics(brokers, &scenario.topics);
    let policy = options
        .existing
        .as_ref()
        .map_or(TopicPolicy::Apply, ExistingPlatform::topic_policy);
    match policy {
        TopicPolicy::Existing => admin
            .require_topics(&topics)
            .context("find the standard topics")?,
        TopicPolicy::Apply => admin
            .apply_topics(&topics)
            .await
            .context("apply the standard topics")?,
    }

    let producer = scenario.platform.producer_settings()?;
    let groups = scenario.consumer_groups(&run_id)?;
    let schemas =
        tokio::task::block_in_place(|| SchemaRun::register(&scenario.schema, &run.platform))
            .context("register the event schemas")?;
    let stages =
        tokio::task::block_in_place(|| Stages::start(scenario, &run.platform, &run_id, options))?;
    eprintln!(
        "running `{}`: {} of load after {} of warmup…",
        scenario.name,
        humantime_serde::re::humantime::format_duration(scenario.load.duration),
        humantime_serde::re::humantime::format_duration(scenario.load.warmup)
    );
    let loaded_run = stages
        .load_with_faults(scenario, run, &run_id, &producer, &groups, schemas.as_ref())
        .await?;
    let outcome = &loaded_run.outcome;

    eprintln!(
        "verifying {} sends against the raw topics…",
        outcome.ledger.len()
    );
    let replay = GoldReplay {
        load: &scenario.load,
        seed: scenario.seed,
        run_id: &run_id,
        times: SendTimes::OpenLoop {
            start_unix_us: outcome.clock.start_unix_us,
        },
    };
    let topic_names: Vec<String> = RAW_TOPICS.iter().map(|t| (*t).to_owned()).collect();
    let readers = tokio::task::block_in_place(|| schemas.as_ref().map(|s| s.readers()).transpose())
        .context("read the registered schemas back from the registry")?;
    let findings = tokio::task::block_in_place(|| {
        let mut check = KafkaCheck::of_load(
            connection,
            outcome,
            &topic_names,
            scenario.drain_timeout,
            replay,
        );
        if readers.is_some() {
            // The replay rebuilds JSON; an encoded record is compared through the registry.
            check.replay = None;
            check.schemas = readers.as_ref();
        }
        check_kafka(&check)
    })
    .context("verify the raw topics")?;
    let schema_report = match (&schemas, &readers) {
        (Some(run), Some(readers)) => Some(tokio::task::block_in_place(|| {
            run.report(
                readers,
                loaded_run.schema_changes.clone(),
                findings.schemas.clone().unwrap_or_default(),
            )
        })),
        _ => None,
    };
    let verified: Verified = tokio::task::block_in_place(|| {
        stages.verify(
            &run.platform,
            &run_id,
            outcome,
            &findings,
            &replay,
            scenario,
        )
    })?;
    // The pipeline's checkpoint sampler stops here; Flink stops with the platform (or is
    // kept with it).
    tokio::task::block_in_place(|| drop(stages));

    let result = assemble(Assembly {
        loaded,
        run_id,
        platform: run.platform.info(brokers, &producer, &topics),
        groups: &groups,
        outcome,
        findings: &findings,
        faults: &loaded_run.faults,
        bronze: verified.bronze.as_ref(),
        lakehouse: verified.lakehouse.as_ref(),
        schemas: schema_report,
    });
    crate::metrics::run_ended(&result);
    Ok(result)
}
