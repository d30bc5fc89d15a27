//! `up`, `status` and `down`: the embedded local platform.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use streamproof_platform::runtime::{
    default_cache_root, schema_registry_dir, ClusterSpec, ClusterState, FlinkCluster, FlinkSpec,
    Lifetime, LocalCluster, LocalSchemaRegistry, Ownership, RecordedPlatform, Registry,
    SchemaRegistrySpec, Security, StopOutcome, FLINK_PORTS, FLINK_VERSION, PORT_BLOCK,
};
use streamproof_platform::schema_registry::RegistryConnection;

use super::{print_json, stop_on_interrupt};
use crate::cli::{CatalogArg, DownArgs, PipelineEngineArg, SecurityArg, StatusArgs, UpArgs};
use crate::platform_file;
use streamproof_platform::file::{
    FaultsSection, FlinkSection, KafkaSection, LakehouseSection, PlatformFile, ProcessActions,
    SchemaRegistrySection, TopicPolicy, DEFAULT_COMMAND_TIMEOUT,
};
use streamproof_platform::handle::{
    Catalog, KafkaSource, Platform, PlatformSpec, SchemaRegistrySource,
};

pub fn up(args: &UpArgs, json: bool) -> Result<()> {
    let dir = args.dir.dir.clone();
    let spec = PlatformSpec {
        kafka: KafkaSource::Embedded(ClusterSpec {
            brokers: usize::from(args.brokers),
            dir: dir.clone(),
            base_port: args.base_port,
            heap_mb: args.heap_mb,
            // `up` exists to leave the platform running for later commands.
            lifetime: Lifetime::Kept,
            security: match args.security {
                SecurityArg::Plaintext => Security::Plaintext,
                SecurityArg::SaslSsl => Security::SaslSsl,
            },
            ..ClusterSpec::default()
        }),
        flink: args.pipeline.map(|PipelineEngineArg::Flink| FlinkSpec {
            dir: dir.join("flink"),
            base_port: args.base_port + PORT_BLOCK,
            lifetime: Lifetime::Kept,
            rest_catalog: args.catalog == CatalogArg::Rest,
            ..FlinkSpec::default()
        }),
        reuse_running: true,
        remote_flink: None,
        catalog: None,
        schema_registry: args.schema_registry.then(|| {
            SchemaRegistrySource::Embedded(SchemaRegistrySpec {
                lifetime: Lifetime::Kept,
                ..SchemaRegistrySpec::new(
                    schema_registry_dir(&dir),
                    args.base_port + PORT_BLOCK + FLINK_PORTS,
                )
            })
        }),
    };
    stop_on_interrupt(Arc::new(Mutex::new(vec![dir])))?;
    let platform =
        Platform::start(&spec, &default_cache_root()).context("start the local platform")?;
    if let Some(running) = &platform.already_running {
        let secured = !running.client_properties.is_empty();
        if secured != (args.security == SecurityArg::SaslSsl) {
            anyhow::bail!(
                "a {} cluster is already running in `{}`; stop it with `streamproof down --dir {}` to start a {} one",
                if secured { "sasl-ssl" } else { "plaintext" },
                running.dir.display(),
                running.dir.display(),
                if secured { "plaintext" } else { "sasl-ssl" },
            );
        }
    }
    let verb = if platform.already_running.is_some() {
        "already running"
    } else {
        "started"
    };
    let catalog = platform.catalog();
    let registry = platform.schema_registry.clone();
    let kept = platform.keep_running();
    let Some(state) = kept.kafka else {
        anyhow::bail!("the local platform started no brokers");
    };
    let platform_file = state.dir.join("platform.yaml");
    platform_file::write(
        &platform_file,
        &describe(&state, kept.flink.as_ref(), catalog, registry.as_ref()),
    )?;
    if json {
        return print_json(&state);
    }
    if let Some(flink) = &kept.flink {
        println!(
            "Flink {FLINK_VERSION} started: REST {} · SQL Gateway {} · logs {}",
            flink.rest_url(),
            flink.gateway_url(),
            flink.dir.join("log").display()
        );
        if let Catalog::Rest { uri, .. } = flink.catalog() {
            println!("Iceberg REST catalog started: {uri}");
        }
    }
    if let Some(registry) = &registry {
        println!(
            "Schema registry: {} (Confluent-compatible API)",
            registry.url
        );
    }
    println!(
        "Kafka {} {verb}: {} broker(s) at {}",
        state.kafka_version,
        state.brokers.len(),
        state.bootstrap_servers
    );
    for broker in &state.brokers {
        println!(
            "  broker {}  pid {}  port {}  log {}",
            broker.node_id,
            broker.pid,
            broker.port,
            broker.server_log.display()
        );
    }
    println!(
        "Platform file: {} (run a scenario on it with --platform)",
        platform_file.display()
    );
    println!(
        "Stop it with: streamproof down --dir {}",
        state.dir.display()
    );
    Ok(())
}

/// The platform file that reaches what `up` started: the brokers with their client settings
/// (secrets as references to files in the platform directory), Flink and its warehouse.
fn describe(
    state: &ClusterState,
    flink: Option<&FlinkSpec>,
    catalog: Option<Catalog>,
    registry: Option<&RegistryConnection>,
) -> PlatformFile {
    PlatformFile {
        kafka: KafkaSection {
            bootstrap_servers: state.bootstrap_servers.clone(),
            properties: state.client_properties.clone(),
            topics: TopicPolicy::Apply,
        },
        flink: flink.map(|flink| {
            let endpoint = flink.endpoint();
            FlinkSection {
                rest: endpoint.rest_url,
                sql_gateway: endpoint.gateway_url,
                checkpoints: endpoint.checkpoints,
            }
        }),
        lakehouse: catalog.map(LakehouseSection::from),
        schema_registry: registry.map(|registry| SchemaRegistrySection {
            url: registry.url.clone(),
            username: None,
            password: None,
        }),
        faults: broker_command(&state.dir).map(|base| {
            let broker = ProcessActions::acting_through(&base);
            FaultsSection {
                controller: Some(ProcessActions {
                    locate: Some(format!("{base} controller")),
                    ..broker.clone()
                }),
                broker: Some(broker),
                taskmanager: None,
                jobmanager: None,
                command_timeout: DEFAULT_COMMAND_TIMEOUT,
            }
        }),
    }
}

/// `streamproof broker --dir DIR`: with an action and `{id}` appended, the fault commands
/// that reach the brokers `up` started, as a team's own commands reach theirs. None when
/// this program cannot name its own path.
fn broker_command(dir: &Path) -> Option<String> {
    let program = std::env::current_exe().ok()?;
    Some(format!(
        "{} broker --dir {}",
        shell_quoted(&program.display().to_string()),
        shell_quoted(&dir.display().to_string())
    ))
}

/// `text` as one word for `sh`.
fn shell_quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

pub fn status(args: &StatusArgs, json: bool) -> Result<()> {
    if args.all {
        return status_all(json);
    }
    let status = LocalCluster::status(&args.dir.dir)?;
    if json {
        return print_json(&status);
    }
    let state: &ClusterState = &status.state;
    println!(
        "Kafka {} cluster {} at {} (started {})",
        state.kafka_version, state.cluster_id, state.bootstrap_servers, state.started_at
    );
    let recorded = RecordedPlatform::inspect(&state.dir)?;
    println!("  {}", ownership_text(&recorded));
    for broker in &status.brokers {
        let running = if broker.running { "running" } else { "stopped" };
        println!(
            "  broker {}  pid {}  port {}  {running}",
            broker.node_id, broker.pid, broker.port
        );
    }
    match &status.metadata {
        Ok(brokers) => println!(
            "  metadata lists {} broker(s): {}",
            brokers.len(),
            brokers
                .iter()
                .map(|b| format!("{}@{}:{}", b.id, b.host, b.port))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Err(error) => println!("  metadata request failed: {error}"),
    }
    Ok(())
}

pub fn down(args: &DownArgs, json: bool) -> Result<()> {
    let grace = Duration::from_secs(args.grace_secs);
    if args.all {
        return down_all(grace, json);
    }
    let flink = FlinkCluster::down_with_brokers(&args.dir.dir, grace);
    if !json {
        for (process, pid, killed) in &flink {
            let what = if *killed {
                "killed after the grace period"
            } else {
                "stopped"
            };
            println!("  Flink {process}  pid {pid}  {what}");
        }
    }
    let registry = LocalSchemaRegistry::down(&schema_registry_dir(&args.dir.dir), grace);
    if let (Some((pid, killed)), false) = (registry, json) {
        let what = if killed {
            "killed after the grace period"
        } else {
            "stopped"
        };
        println!("  schema registry  pid {pid}  {what}");
    }
    let report = LocalCluster::down(&args.dir.dir, grace)?;
    if json {
        return print_json(&report);
    }
    for (node_id, pid, outcome) in &report.brokers {
        println!("  broker {node_id}  pid {pid}  {}", outcome_text(*outcome));
    }
    println!("Logs kept in {}", report.dir.display());
    if report
        .brokers
        .iter()
        .any(|(_, _, outcome)| *outcome == StopOutcome::StillRunning)
    {
        anyhow::bail!("some brokers could not be stopped");
    }
    Ok(())
}

fn outcome_text(outcome: StopOutcome) -> &'static str {
    match outcome {
        StopOutcome::Graceful => "stopped",
        StopOutcome::Killed => "killed after the grace period",
        StopOutcome::NotRunning => "was not running",
        StopOutcome::StillRunning => "STILL RUNNING",
    }
}

/// Whose a recorded platform is, in words.
fn ownership_text(platform: &RecordedPlatform) -> String {
    let pid = platform.owner.map_or(0, |owner| owner.pid);
    match platform.ownership {
        Ownership::InUse => format!("in use by streamproof pid {pid}"),
        Ownership::Kept => format!("kept running (its streamproof pid {pid} has ended)"),
        Ownership::Orphaned => format!("orphaned: its streamproof pid {pid} is gone"),
        Ownership::Unknown => "owner not recorded".to_owned(),
    }
}

fn status_all(json: bool) -> Result<()> {
    let registry = Registry::from_env();
    let platforms = registry
        .platforms()
        .context("read the platforms recorded on this machine")?;
    if json {
        return print_json(&platforms);
    }
    if platforms.is_empty() {
        println!(
            "No platform started by streamproof is running (recorded in {}).",
            registry.path().display()
        );
        return Ok(());
    }
    for platform in &platforms {
        println!("{}  {}", platform.dir.display(), ownership_text(platform));
        for process in &platform.processes {
            let running = if process.running {
                "running"
            } else {
                "stopped"
            };
            println!("  {}  pid {}  {running}", process.name, process.pid);
        }
    }
    Ok(())
}

fn down_all(grace: Duration, json: bool) -> Result<()> {
    let stops = Registry::from_env()
        .down_unowned(grace)
        .context("stop the platforms whose owner has ended")?;
    let still_running = stops
        .iter()
        .flat_map(|stop| &stop.stopped)
        .any(|process| process.outcome == StopOutcome::StillRunning);
    if json {
        print_json(&stops)?;
    } else if stops.is_empty() {
        println!("No platform started by streamproof is running.");
    } else {
        for stop in &stops {
            println!(
                "{}  {}",
                stop.platform.dir.display(),
                ownership_text(&stop.platform)
            );
            if stop.left_alone {
                println!("  left running: the streamproof process that owns it is still going");
            }
            for process in &stop.stopped {
                println!(
                    "  {}  pid {}  {}",
                    process.name,
                    process.pid,
                    outcome_text(process.outcome)
                );
            }
        }
        let stopped = stops.iter().filter(|stop| !stop.left_alone).count();
        println!("Stopped {stopped} platform(s); their logs are kept in their directories.");
    }
    if still_running {
        anyhow::bail!("some processes could not be stopped");
    }
    Ok(())
}
