//! docker-compose.yml, the reference platform for users who have Docker, checked where no
//! Docker engine runs: a compose implementation validates it (with one broker and with three),
//! its effective configuration runs the versions the embedded platform runs, at the addresses
//! platform/docker/platform.yaml gives streamproof, and that platform file is valid for the
//! pipeline scenarios. Needs `docker compose` or `docker-compose` (Debian's package).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{explain, streamproof};
use serde_json::Value;
use streamproof_platform::runtime::{FLINK_VERSION, KAFKA_VERSION, SCHEMA_REGISTRY_VERSION};

const ENV_FILES: [&str; 2] = [
    "platform/docker/one-broker.env",
    "platform/docker/three-brokers.env",
];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `docker compose` when the plugin answers, else `docker-compose`.
fn compose() -> Command {
    let plugin = Command::new("docker")
        .args(["compose", "version"])
        .output()
        .is_ok_and(|output| output.status.success());
    let mut command = if plugin {
        let mut docker = Command::new("docker");
        docker.arg("compose");
        docker
    } else {
        Command::new("docker-compose")
    };
    command.current_dir(repo());
    command
}

/// The effective configuration with `env_file`'s settings, as the compose implementation
/// resolves it (anchors merged, variables substituted).
fn effective(env_file: &str) -> Value {
    let output = compose()
        .args(["--env-file", env_file, "-f", "docker-compose.yml", "config"])
        .output()
        .expect("a compose implementation runs (Debian: apt-get install docker-compose)");
    assert!(output.status.success(), "{}", explain(&output));
    serde_saphyr::from_str(&String::from_utf8_lossy(&output.stdout)).unwrap()
}

fn platform_file() -> Value {
    let text = std::fs::read_to_string(repo().join("platform/docker/platform.yaml")).unwrap();
    serde_saphyr::from_str(&text).unwrap()
}

fn environment<'a>(service: &'a Value, name: &str) -> &'a str {
    service["environment"][name]
        .as_str()
        .unwrap_or_else(|| panic!("{name} in {service:#}"))
}

/// A `key: value` line of Flink's configuration in FLINK_PROPERTIES.
fn flink_setting<'a>(service: &'a Value, key: &str) -> &'a str {
    environment(service, "FLINK_PROPERTIES")
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(": "))
        .unwrap_or_else(|| panic!("{key} in FLINK_PROPERTIES"))
        .trim()
}

fn port_of(address: &str) -> &str {
    address
        .rsplit(':')
        .next()
        .unwrap()
        .split('/')
        .next()
        .unwrap()
}

/// `source:target` volumes of a service.
fn mounts(service: &Value) -> Vec<(String, String)> {
    service["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|volume| match volume {
            Value::String(short) => {
                let mut parts = short.split(':');
                (
                    parts.next().unwrap().to_owned(),
                    parts.next().unwrap().to_owned(),
                )
            }
            long => (
                long["source"].as_str().unwrap().to_owned(),
                long["target"].as_str().unwrap().to_owned(),
            ),
        })
        .collect()
}

/// The value of `name` in an env file, if it sets it.
fn env_setting(env_file: &str, name: &str) -> Option<String> {
    std::fs::read_to_string(repo().join(env_file))
        .unwrap()
        .lines()
        .find_map(|line| Some(line.strip_prefix(name)?.strip_prefix('=')?.to_owned()))
}

#[test]
fn a_compose_implementation_validates_the_file_with_one_broker_and_with_three() {
    for env_file in ENV_FILES {
        let output = compose()
            .args([
                "--env-file",
                env_file,
                "-f",
                "docker-compose.yml",
                "config",
                "-q",
            ])
            .output()
            .expect("a compose implementation runs (Debian: apt-get install docker-compose)");
        assert!(output.status.success(), "{env_file}: {}", explain(&output));
        // The brokers that start (no profile, or one the env file enables) are the quorum's
        // voters, one per node id.
        let profiles = env_setting(env_file, "COMPOSE_PROFILES").unwrap_or_default();
        let config = effective(env_file);
        let starting: Vec<&str> = config["services"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(name, _)| name.starts_with("kafka-"))
            .filter(|(_, service)| {
                service["profiles"].as_array().is_none_or(|wanted| {
                    wanted
                        .iter()
                        .any(|p| profiles.split(',').any(|on| Some(on) == p.as_str()))
                })
            })
            .map(|(_, service)| environment(service, "KAFKA_NODE_ID"))
            .collect();
        let voters = environment(
            &config["services"]["kafka-1"],
            "KAFKA_CONTROLLER_QUORUM_VOTERS",
        );
        let voter_ids: Vec<&str> = voters
            .split(',')
            .map(|voter| voter.split('@').next().unwrap())
            .collect();
        assert_eq!(starting, voter_ids, "{env_file}");
        assert_eq!(
            starting.len(),
            if env_file.contains("three") { 3 } else { 1 },
            "{env_file}"
        );
        let replication = environment(
            &config["services"]["kafka-1"],
            "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
        );
        assert_eq!(replication, starting.len().to_string(), "{env_file}");
    }
}

#[test]
fn the_containers_run_the_embedded_platforms_versions() {
    let config = effective(ENV_FILES[1]);
    let services = &config["services"];
    for broker in ["kafka-1", "kafka-2", "kafka-3"] {
        assert_eq!(
            services[broker]["image"],
            format!("apache/kafka:{KAFKA_VERSION}")
        );
        // A KRaft cluster id is 16 bytes in unpadded base64url: 22 characters.
        let cluster_id = environment(&services[broker], "CLUSTER_ID");
        assert!(
            cluster_id.len() == 22
                && cluster_id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "{cluster_id}"
        );
    }
    assert_eq!(
        services["schema-registry"]["image"],
        format!("apicurio/apicurio-registry:{SCHEMA_REGISTRY_VERSION}")
    );
    // Flink: the image built from the embedded cluster's own connector list.
    let dockerfile =
        std::fs::read_to_string(repo().join("platform/docker/flink.Dockerfile")).unwrap();
    assert!(
        dockerfile.contains(&format!("\nFROM flink:{FLINK_VERSION}-java17\n")),
        "{dockerfile}"
    );
    assert!(dockerfile.contains("COPY platform/runtime/flink-connectors-pom.xml "));
    for role in ["flink-jobmanager", "flink-taskmanager", "flink-sql-gateway"] {
        let service = &services[role];
        assert_eq!(
            service["image"],
            format!("streamproof/flink:{FLINK_VERSION}")
        );
        assert_eq!(
            service["build"]["dockerfile"],
            "platform/docker/flink.Dockerfile"
        );
    }
    // The Iceberg REST catalog: the version of the embedded one.
    let pom =
        std::fs::read_to_string(repo().join("platform/runtime/iceberg-rest-pom.xml")).unwrap();
    let iceberg = pom
        .split("<version>")
        .nth(2)
        .and_then(|rest| rest.split("</version>").next())
        .unwrap();
    assert_eq!(
        services["iceberg-rest"]["image"],
        format!("apache/iceberg-rest-fixture:{iceberg}")
    );
}

#[test]
fn the_platform_file_reaches_each_container_where_it_listens() {
    let config = effective(ENV_FILES[1]);
    let services = &config["services"];
    let platform = platform_file();
    for service in services.as_object().unwrap().values() {
        assert_eq!(service["network_mode"], "host", "{service:#}");
    }

    // Kafka: one bootstrap address per broker, each a broker's advertised listener.
    let bootstrap: Vec<&str> = platform["kafka"]["bootstrap_servers"]
        .as_str()
        .unwrap()
        .split(',')
        .collect();
    let advertised: Vec<String> = ["kafka-1", "kafka-2", "kafka-3"]
        .iter()
        .map(|broker| {
            environment(&services[*broker], "KAFKA_ADVERTISED_LISTENERS")
                .trim_start_matches("PLAINTEXT://")
                .to_owned()
        })
        .collect();
    assert_eq!(bootstrap, advertised);
    let voters = environment(&services["kafka-1"], "KAFKA_CONTROLLER_QUORUM_VOTERS");
    for (node, broker) in ["kafka-1", "kafka-2", "kafka-3"].iter().enumerate() {
        let listeners = environment(&services[*broker], "KAFKA_LISTENERS");
        let controller = listeners
            .split(',')
            .find(|l| l.starts_with("CONTROLLER://"))
            .unwrap();
        let voter = format!(
            "{}@{}",
            node + 1,
            controller.trim_start_matches("CONTROLLER://")
        );
        assert!(voters.split(',').any(|v| v == voter), "{voter} in {voters}");
        assert_eq!(
            environment(&services[*broker], "KAFKA_NODE_ID"),
            (node + 1).to_string()
        );
    }

    // Flink: the REST API and the SQL Gateway.
    let jobmanager = &services["flink-jobmanager"];
    let rest = platform["flink"]["rest"].as_str().unwrap();
    assert_eq!(port_of(rest), flink_setting(jobmanager, "rest.port"));
    let gateway = platform["flink"]["sql_gateway"].as_str().unwrap();
    assert_eq!(
        port_of(gateway),
        flink_setting(jobmanager, "sql-gateway.endpoint.rest.port")
    );

    // The warehouse and the checkpoints: the same path inside the containers that write
    // them as where streamproof reads them.
    let warehouse = platform["lakehouse"]["warehouse"].as_str().unwrap();
    let checkpoints = platform["flink"]["checkpoints"].as_str().unwrap();
    assert_eq!(
        flink_setting(jobmanager, "execution.checkpointing.dir"),
        format!("file://{checkpoints}")
    );
    for role in ["flink-jobmanager", "flink-taskmanager", "flink-sql-gateway"] {
        let mounted = mounts(&services[role]);
        for path in [warehouse, checkpoints] {
            assert!(
                mounted.contains(&(path.to_owned(), path.to_owned())),
                "{role} mounts {path} at {path}: {mounted:?}"
            );
        }
    }
    assert_eq!(
        environment(&services["iceberg-rest"], "CATALOG_WAREHOUSE"),
        format!("file://{warehouse}")
    );

    // The schema registry's API.
    let registry = platform["schema_registry"]["url"].as_str().unwrap();
    let port = registry
        .trim_start_matches("http://127.0.0.1:")
        .split('/')
        .next()
        .unwrap();
    assert_eq!(
        environment(&services["schema-registry"], "QUARKUS_HTTP_PORT"),
        port
    );

    // Prometheus scrapes what `run --metrics-addr` serves, with the repository's config.
    let prometheus = mounts(&services["prometheus"]);
    let config_file = repo().join("platform/monitoring/prometheus.yml");
    assert!(
        prometheus
            .iter()
            .any(|(source, _)| Path::new(source) == config_file),
        "{prometheus:?}"
    );
}

#[test]
fn the_fault_commands_act_on_services_the_file_defines() {
    let config = effective(ENV_FILES[1]);
    let services = config["services"].as_object().unwrap();
    let platform = platform_file();
    let brokers = platform["kafka"]["bootstrap_servers"]
        .as_str()
        .unwrap()
        .split(',')
        .count();
    for (kind, actions) in platform["faults"].as_object().unwrap() {
        let Some(actions) = actions.as_object() else {
            continue;
        };
        for (action, command) in actions {
            let command = command.as_str().unwrap();
            let ids: Vec<String> = if command.contains("{id}") {
                (1..=brokers).map(|id| id.to_string()).collect()
            } else {
                vec![String::new()]
            };
            for id in ids {
                let command = command.replace("{id}", &id);
                let words: Vec<&str> = command.split_whitespace().collect();
                let Some(at) = words.windows(2).position(|w| w == ["docker", "compose"]) else {
                    panic!("{kind}.{action}: `{command}` is not a docker compose command");
                };
                let service = words[at + 2..]
                    .iter()
                    .find(|word| services.contains_key(**word))
                    .unwrap_or_else(|| panic!("{kind}.{action}: `{command}` names no service"));
                assert!(!service.is_empty());
            }
        }
    }
}

#[test]
fn the_platform_file_is_valid_for_every_pipeline_scenario() {
    let scenarios: Vec<PathBuf> = std::fs::read_dir(repo().join("scenarios/pipeline"))
        .unwrap()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    let mut args = vec![
        "validate".to_owned(),
        "--platform".to_owned(),
        repo()
            .join("platform/docker/platform.yaml")
            .display()
            .to_string(),
    ];
    args.extend(scenarios.iter().map(|path| path.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = streamproof(&args);
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("paimon.yaml: ok (pipeline-paimon)"));
}
