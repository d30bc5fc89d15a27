//! A run from scenario to verdict: platform up, topics, load and consumers, drain, verify,
//! result. The only place that knows every crate.

mod assemble;
mod bronze;
mod lakehouse;
pub mod progress;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, Result};
use streamproof_chaos::injector::{Injector, ProducerSwitch, SharedCluster, Targets};
use streamproof_chaos::proxy::{ProxySet, SharedProxies};
use streamproof_chaos::spec::PlatformProcess;
use streamproof_loadgen::control::ProducerControl;
use streamproof_loadgen::{GroupPlan, LoadPlan, RAW_TOPICS};
use streamproof_platform::admin::KafkaAdmin;
use streamproof_platform::connection::KafkaConnection;
use streamproof_platform::profiles::ClientSettings;
use streamproof_platform::runtime::{
    default_cache_root, ClusterSpec, KafkaDistribution, Lifetime, LocalCluster, UpOutcome,
    FLINK_PORTS, PORT_BLOCK,
};
use streamproof_platform::topics::{standard_topics, TopicConfig};
use streamproof_reports::result::RunResult;
use streamproof_verify::gold::{GoldReplay, SendTimes};
use streamproof_verify::kafka::{check_kafka, KafkaCheck};

use crate::scenario::LoadedScenario;
use assemble::{assemble, Assembly};
use bronze::BronzeStage;
use lakehouse::{GoldInputsOfRun, PipelineStage};
use progress::ProgressView;

/// How long a producer may retry a send before reporting it failed, unless the scenario sets
/// `message.timeout.ms` itself: long enough to ride out a broker restart, short enough that a
/// run against a dead cluster ends.
const DEFAULT_MESSAGE_TIMEOUT_MS: &str = "60000";

/// Where and against what to run.
pub struct RunOptions {
    /// Directory for result.json, summary.md and the embedded platform's logs.
    pub out: PathBuf,
    /// An existing cluster instead of the embedded platform.
    pub existing: Option<KafkaConnection>,
    /// Directories of embedded platforms started so far, stopped on Ctrl-C.
    pub started: Arc<Mutex<Vec<PathBuf>>>,
    /// Leave the embedded platform running after the verdict.
    pub keep_platform: bool,
}

/// What the run ran against.
struct Platform {
    kind: &'static str,
    connection: KafkaConnection,
    kafka_version: String,
    /// The embedded cluster; dropping the last reference stops the brokers.
    cluster: Option<SharedCluster>,
    /// Client proxies in front of the brokers, when network faults are planned; dropped
    /// after the cluster.
    proxies: Option<SharedProxies>,
    /// Where the embedded Flink cluster may listen, when the pipeline runs.
    flink_port: u16,
}

/// Runs one scenario to its verdict. Errors are problems of the scenario or environment.
pub fn run_scenario(loaded: &LoadedScenario, options: &RunOptions) -> Result<RunResult> {
    let started_at = chrono::Utc::now();
    let wall = Instant::now();
    std::fs::create_dir_all(&options.out)
        .with_context(|| format!("create the output directory `{}`", options.out.display()))?;
    let platform = start_platform(loaded, options)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("start the async runtime")?;
    let mut result = runtime.block_on(drive(loaded, &platform, options))?;
    if options.keep_platform {
        keep_running(platform);
    }
    result.started_at = streamproof_platform::events::utc_timestamp(started_at);
    result.duration_seconds = wall.elapsed().as_secs_f64();
    Ok(result)
}

fn start_platform(loaded: &LoadedScenario, options: &RunOptions) -> Result<Platform> {
    if let Some(connection) = &options.existing {
        if !loaded.scenario.faults.is_empty() {
            anyhow::bail!(
                "`{}` injects faults, which streamproof only applies to processes it started itself; run it on the embedded platform (without --bootstrap-servers)",
                loaded.file.display()
            );
        }
        if loaded.scenario.platform.pipeline.is_some() {
            // Where Ctrl-C finds the pipeline's Flink cluster (`out/flink`).
            if let Ok(mut started) = options.started.lock() {
                started.push(options.out.join("platform"));
            }
        }
        return Ok(Platform {
            kind: "existing",
            connection: connection.clone(),
            kafka_version: "unknown".to_owned(),
            cluster: None,
            proxies: None,
            flink_port: free_base_port()?,
        });
    }
    let distribution = KafkaDistribution::ensure(&default_cache_root())
        .context("prepare the Kafka distribution")?;
    let base_port = free_base_port()?;
    let spec = ClusterSpec {
        brokers: loaded.scenario.platform.brokers,
        dir: options.out.join("platform"),
        base_port,
        broker_properties: loaded.scenario.platform.broker_properties.clone(),
        proxied: loaded.scenario.faults.iter().any(|f| f.kind().is_network()),
        lifetime: platform_lifetime(options),
        ..ClusterSpec::default()
    };
    let proxies = if spec.proxied {
        let set = ProxySet::start(&spec.proxy_routes()).context("start the broker proxies")?;
        Some(Arc::new(Mutex::new(set)))
    } else {
        None
    };
    if let Ok(mut started) = options.started.lock() {
        started.push(spec.dir.clone());
    }
    eprintln!(
        "starting {} Kafka broker(s) on 127.0.0.1:{}…",
        spec.brokers, spec.base_port
    );
    match LocalCluster::up(&spec, &distribution).context("start the embedded platform")? {
        UpOutcome::Started(cluster) => Ok(Platform {
            kind: "embedded",
            connection: cluster.connection(),
            kafka_version: distribution.version.to_owned(),
            cluster: Some(Arc::new(Mutex::new(cluster))),
            proxies,
            flink_port: base_port + PORT_BLOCK,
        }),
        UpOutcome::AlreadyRunning(state) => anyhow::bail!(
            "a platform is already running in `{}`; choose another --out directory or stop it with `streamproof down --dir {}`",
            state.dir.display(),
            state.dir.display()
        ),
    }
}

/// A run's platform ends with the run, however the run ends (SIGKILL and the OOM killer
/// included), unless the user asked to keep it.
fn platform_lifetime(options: &RunOptions) -> Lifetime {
    if options.keep_platform {
        Lifetime::Kept
    } else {
        Lifetime::EndsWithThisProcess
    }
}

/// Leaves the embedded brokers running for `streamproof down`.
fn keep_running(platform: Platform) {
    if platform.proxies.is_some() {
        eprintln!(
            "note: the client proxies stop with this process; clients of the kept platform reach each broker on its public port + 20"
        );
    }
    let Some(shared) = platform.cluster else {
        return;
    };
    match Arc::try_unwrap(shared).map(Mutex::into_inner) {
        Ok(Ok(cluster)) => {
            let state = cluster.detach();
            eprintln!(
                "the platform keeps running at {}; stop it with `streamproof down --dir {}`",
                state.bootstrap_servers,
                state.dir.display()
            );
        }
        _ => eprintln!("the platform could not be kept running and was stopped"),
    }
}

/// The first block of 40 ports (clients, controllers, and behind proxies the brokers' own
/// client and replication listeners) free on 127.0.0.1 from 19092 up.
/// The generator's producer clients, for client faults.
struct Producers(Arc<ProducerControl>);

impl ProducerSwitch for Producers {
    fn kill(&self) -> Result<String, String> {
        self.0.kill()
    }

    fn start_again(&self) -> Result<String, String> {
        self.0.start_again()
    }

    fn restart(&self) -> Result<String, String> {
        self.0.restart()
    }
}

fn free_base_port() -> Result<u16> {
    // Kafka's ports, then Flink's.
    let block = PORT_BLOCK + FLINK_PORTS;
    (19_092..60_000)
        .step_by(usize::from(block))
        .find(|base| {
            (0..block).all(|offset| TcpListener::bind(("127.0.0.1", base + offset)).is_ok())
        })
        .with_context(|| {
            format!("no free block of {block} ports on 127.0.0.1 between 19092 and 60000")
        })
}

async fn drive(
    loaded: &LoadedScenario,
    platform: &Platform,
    options: &RunOptions,
) -> Result<RunResult> {
    let scenario = &loaded.scenario;
    let out = options.out.as_path();
    let run_id = uuid::Uuid::new_v4().to_string();
    let admin = KafkaAdmin::connect(&platform.connection)?;
    let brokers = admin.brokers().context("list the cluster's brokers")?.len();
    let topics = standard_topics(brokers, &scenario.topics);
    apply_topics(&admin, &topics).await?;

    let producer = producer_settings(loaded)?;
    let groups = consumer_groups(loaded, &run_id)?;
    let pipeline = match &scenario.platform.pipeline {
        Some(section) => Some(tokio::task::block_in_place(|| {
            PipelineStage::start(
                section,
                &platform.connection,
                &run_id,
                out,
                platform.flink_port,
                platform_lifetime(options),
            )
        })?),
        None => None,
    };
    let control = Arc::new(ProducerControl::new(scenario.load.producers));
    let plan = LoadPlan {
        run_id: run_id.clone(),
        seed: scenario.seed,
        connection: platform.connection.clone(),
        producer: producer.clone(),
        load: scenario.load.clone(),
        consumers: groups.clone(),
        drain_timeout: scenario.drain_timeout,
        control: control.clone(),
        observed_groups: pipeline.iter().map(PipelineStage::source_group).collect(),
    };
    eprintln!(
        "running `{}`: {} of load after {} of warmup…",
        scenario.name,
        humantime_serde::re::humantime::format_duration(scenario.load.duration),
        humantime_serde::re::humantime::format_duration(scenario.load.warmup)
    );
    let bronze = match &scenario.platform.copier {
        Some(section) => Some(BronzeStage::start(
            section,
            &platform.connection,
            &run_id,
            out,
        )?),
        None => None,
    };
    let view = ProgressView::new(scenario.load.total());
    let mut injector: Option<Injector> = None;
    let mut start_faults = |start: Instant| {
        if let (Some(cluster), false) = (&platform.cluster, scenario.faults.is_empty()) {
            let targets = Targets {
                cluster: cluster.clone(),
                processes: bronze
                    .as_ref()
                    .map(|stage| (PlatformProcess::Copier, stage.process.clone()))
                    .into_iter()
                    .chain(pipeline.iter().flat_map(PipelineStage::processes))
                    .collect(),
                after_restart: pipeline
                    .iter()
                    .flat_map(PipelineStage::after_restart)
                    .collect(),
                proxies: platform.proxies.clone(),
                producers: Some(Arc::new(Producers(control.clone()))),
            };
            injector = Some(Injector::start(
                targets,
                platform.connection.clone(),
                scenario.faults.clone(),
                start,
                scenario.seed,
            ));
        }
    };
    let outcome =
        streamproof_loadgen::run(plan, &|progress| view.update(progress), &mut start_faults)
            .await
            .context("run the load")?;
    view.finish();
    // Every fault heals before the records are verified.
    let faults = tokio::task::block_in_place(|| injector.map(Injector::finish).unwrap_or_default());

    eprintln!(
        "verifying {} sends against the raw topics…",
        outcome.ledger.len()
    );
    let topic_names: Vec<String> = RAW_TOPICS.iter().map(|t| (*t).to_owned()).collect();
    let findings = tokio::task::block_in_place(|| {
        check_kafka(&KafkaCheck {
            connection: &platform.connection,
            run_id: &run_id,
            topics: &topic_names,
            ledger: &outcome.ledger,
            start: &outcome.start_offsets,
            drain_timeout: scenario.drain_timeout,
            replay: Some(GoldReplay {
                load: &scenario.load,
                seed: scenario.seed,
                run_id: &run_id,
                times: SendTimes::OpenLoop {
                    start_unix_us: outcome.clock.start_unix_us,
                },
            }),
        })
    })
    .context("verify the raw topics")?;
    let bronze_findings = match &bronze {
        Some(stage) => {
            eprintln!("waiting for the copier to catch up, then verifying bronze…");
            tokio::task::block_in_place(|| {
                stage.drain_and_stop(&platform.connection, scenario.drain_timeout);
                stage.verify(
                    &platform.connection,
                    &run_id,
                    &outcome.ledger,
                    &findings.copies,
                    &findings.removed,
                    scenario.drain_timeout,
                )
            })
            .map(|found| Some((stage.mode.clone(), found)))?
        }
        None => None,
    };
    let pipeline_findings = match &pipeline {
        Some(stage) => {
            eprintln!("waiting for the pipeline to catch up, then verifying the lakehouse…");
            Some(tokio::task::block_in_place(|| {
                stage.drain_and_verify(
                    &run_id,
                    &outcome.ledger,
                    &findings.copies,
                    &findings.removed,
                    scenario.drain_timeout,
                    &GoldInputsOfRun {
                        load: &scenario.load,
                        seed: scenario.seed,
                        start_unix_us: outcome.clock.start_unix_us,
                    },
                )
            })?)
        }
        None => None,
    };
    let bronze_findings = match (&pipeline, &pipeline_findings) {
        (Some(stage), Some(found)) => Some((stage.mode(), found.bronze_topic.clone())),
        _ => bronze_findings,
    };
    match pipeline {
        Some(stage) if options.keep_platform => stage.keep_running(),
        pipeline => tokio::task::block_in_place(|| drop(pipeline)),
    }

    Ok(assemble(Assembly {
        loaded,
        run_id,
        platform_kind: platform.kind,
        bootstrap: platform.connection.bootstrap_servers(),
        brokers,
        kafka_version: &platform.kafka_version,
        producer: &producer,
        groups: &groups,
        topics: &topics,
        outcome: &outcome,
        findings: &findings,
        faults: &faults,
        bronze: bronze_findings.as_ref(),
        lakehouse: pipeline_findings.as_ref(),
    }))
}

async fn apply_topics(admin: &KafkaAdmin, topics: &[TopicConfig]) -> Result<()> {
    for topic in topics {
        admin
            .create_topic(topic)
            .await
            .with_context(|| format!("apply topic `{}`", topic.name))?;
    }
    Ok(())
}

fn producer_settings(loaded: &LoadedScenario) -> Result<ClientSettings> {
    let platform = &loaded.scenario.platform;
    let mut settings = platform
        .producer_profile
        .settings_map()
        .with_overrides(
            platform
                .producer_overrides
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        )
        .context("platform.producer_overrides")?;
    if !settings.properties.contains_key("message.timeout.ms") {
        settings.properties.insert(
            "message.timeout.ms".to_owned(),
            DEFAULT_MESSAGE_TIMEOUT_MS.to_owned(),
        );
    }
    Ok(settings)
}

fn consumer_groups(loaded: &LoadedScenario, run_id: &str) -> Result<Vec<GroupPlan>> {
    let platform = &loaded.scenario.platform;
    loaded
        .scenario
        .consumers
        .iter()
        .map(|spec| {
            let profile = spec.profile.unwrap_or(platform.consumer_profile);
            let settings = profile
                .settings_map()
                .with_overrides(
                    platform
                        .consumer_overrides
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str())),
                )
                .and_then(|s| {
                    s.with_overrides(spec.overrides.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                })
                .with_context(|| format!("consumer group `{}` overrides", spec.group))?;
            Ok(GroupPlan {
                group_id: format!("{}-{}", spec.group, &run_id[..8]),
                instances: spec.instances.max(1),
                settings,
            })
        })
        .collect()
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
