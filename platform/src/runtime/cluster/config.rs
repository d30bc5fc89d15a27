//! Preparing a broker: free ports, a cluster id, its formatted storage, its command line and
//! its configuration files.

use super::*;

pub(super) fn check_ports_free(spec: &ClusterSpec) -> Result<(), RuntimeError> {
    for index in 0..spec.brokers {
        let node = index + 1;
        let mut ports = vec![
            (
                spec.listen_port(index),
                format!("broker {node} client listener"),
            ),
            (
                spec.controller_listen_port(index),
                format!("broker {node} controller listener"),
            ),
        ];
        if spec.separate_replication() {
            ports.push((
                spec.replication_listen_port(index),
                format!("broker {node} replication listener"),
            ));
        }
        for (port, role) in ports {
            if TcpListener::bind(("127.0.0.1", port)).is_err() {
                return Err(RuntimeError::PortInUse { port, role });
            }
        }
    }
    Ok(())
}

/// A Kafka cluster id: 16 random bytes in URL-safe base64 without padding.
/// Like Kafka's own ids, never starting with `-`, which command lines would take for a flag.
pub(super) fn new_cluster_id() -> String {
    loop {
        let id = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(uuid::Uuid::new_v4().as_bytes());
        if !id.starts_with('-') {
            return id;
        }
    }
}

/// Writes a broker's configs into a fresh directory and formats its storage.
pub(super) fn prepare_broker(
    spec: &ClusterSpec,
    index: usize,
    cluster_id: &str,
    distribution: &KafkaDistribution,
) -> Result<BrokerProcess, RuntimeError> {
    let node_id = index as i32 + 1;
    let home = spec.dir.join(format!("broker-{node_id}"));
    if home.exists() {
        std::fs::remove_dir_all(&home)
            .map_err(io_error("clear the old broker directory", &home))?;
    }
    std::fs::create_dir_all(&home).map_err(io_error("create", &home))?;
    let broker = BrokerProcess {
        node_id,
        pid: 0,
        port: spec.client_port(index),
        controller_port: spec.controller_port(index),
        config: home.join("server.properties"),
        server_log: home.join("server.log"),
        output_log: home.join("stdout.log"),
        data_dir: home.join("data"),
        launch: Vec::new(),
    };
    std::fs::write(&broker.config, server_properties(spec, &broker))
        .map_err(io_error("write", &broker.config))?;
    let log_config = home.join("log4j2.properties");
    std::fs::write(&log_config, log4j2_properties(&broker.server_log))
        .map_err(io_error("write", &log_config))?;
    let output = Command::new(&distribution.java)
        .arg("-Xmx256m")
        .arg(format!(
            "-Dlog4j2.configurationFile={}",
            log_config.display()
        ))
        .arg("-cp")
        .arg(distribution.class_path())
        .args(["kafka.tools.StorageTool", "format", "--ignore-formatted"])
        .arg(format!("--cluster-id={cluster_id}"))
        .arg(format!("--config={}", broker.config.display()))
        .args(scram_users(spec)?)
        .output()
        .map_err(io_error("run Kafka's storage format for", &broker.config))?;
    if !output.status.success() {
        return Err(RuntimeError::Format {
            node_id,
            status: output.status.to_string(),
            output: last_lines(
                &format!(
                    "{}{}",
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                ),
                15,
            ),
        });
    }
    Ok(broker)
}

/// The SCRAM users a secured cluster's storage is formatted with.
fn scram_users(spec: &ClusterSpec) -> Result<Vec<String>, RuntimeError> {
    match spec.security {
        Security::Plaintext => Ok(Vec::new()),
        Security::SaslSsl => Ok(scram_user_args(
            &SecurityFiles::in_dir(&spec.dir).read_password()?,
        )),
    }
}

pub(super) fn broker_command(
    spec: &ClusterSpec,
    broker: &BrokerProcess,
    distribution: &KafkaDistribution,
) -> Command {
    let mut command = Command::new(&distribution.java);
    let home = broker.config.parent().unwrap_or(&spec.dir);
    command
        .arg(format!("-Xms{}m", spec.heap_mb))
        .arg(format!("-Xmx{}m", spec.heap_mb))
        .args([
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
        ])
        .arg(format!(
            "-Dlog4j2.configurationFile={}",
            home.join("log4j2.properties").display()
        ))
        .arg(format!("-Dkafka.logs.dir={}", home.display()))
        .arg("-cp")
        .arg(distribution.class_path())
        .arg("kafka.Kafka")
        .arg(&broker.config)
        .current_dir(home);
    command
}

pub(super) fn server_properties(spec: &ClusterSpec, broker: &BrokerProcess) -> String {
    let voters = (0..spec.brokers)
        .map(|i| format!("{}@127.0.0.1:{}", i + 1, spec.controller_port(i)))
        .collect::<Vec<_>>()
        .join(",");
    let replication = replication_for(spec.brokers);
    let min_insync = min_insync_for(replication);
    let index = (broker.node_id - 1) as usize;
    let client = match spec.security {
        Security::Plaintext => "PLAINTEXT",
        Security::SaslSsl => "SASL_SSL",
    };
    let mut listeners = vec![
        format!("{client}://127.0.0.1:{}", spec.listen_port(index)),
        format!(
            "CONTROLLER://127.0.0.1:{}",
            spec.controller_listen_port(index)
        ),
    ];
    let mut advertised = vec![format!("{client}://127.0.0.1:{}", broker.port)];
    // Behind proxies, replication gets a listener of its own so that client-side network
    // faults do not also cut brokers off from each other, and peers can be cut separately;
    // beside a secured client listener, so that only clients need credentials.
    let inter_broker = if spec.separate_replication() {
        listeners.push(format!(
            "REPLICATION://127.0.0.1:{}",
            spec.replication_listen_port(index)
        ));
        advertised.push(format!(
            "REPLICATION://127.0.0.1:{}",
            spec.replication_port(index)
        ));
        "REPLICATION"
    } else {
        "PLAINTEXT"
    };
    let mut text = String::from("# Written by streamproof for its local cluster.\n");
    let settings = [
        ("process.roles", "broker,controller".to_owned()),
        ("node.id", broker.node_id.to_string()),
        ("controller.quorum.voters", voters),
        ("listeners", listeners.join(",")),
        ("advertised.listeners", advertised.join(",")),
        ("controller.listener.names", "CONTROLLER".to_owned()),
        ("inter.broker.listener.name", inter_broker.to_owned()),
        (
            "listener.security.protocol.map",
            "PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,REPLICATION:PLAINTEXT,CONTROLLER:PLAINTEXT"
                .to_owned(),
        ),
        ("log.dirs", broker.data_dir.display().to_string()),
        // Topics are created explicitly with the platform's settings; a typo must not
        // silently create a one-partition topic.
        ("auto.create.topics.enable", "false".to_owned()),
        ("default.replication.factor", replication.to_string()),
        ("min.insync.replicas", min_insync.to_string()),
        ("offsets.topic.replication.factor", replication.to_string()),
        // Fewer internal partitions than production's 50: the cluster is ready sooner on a
        // small machine and nothing here needs more coordinators.
        ("offsets.topic.num.partitions", "12".to_owned()),
        (
            "transaction.state.log.replication.factor",
            replication.to_string(),
        ),
        ("transaction.state.log.min.isr", min_insync.to_string()),
        ("transaction.state.log.num.partitions", "12".to_owned()),
        ("group.initial.rebalance.delay.ms", "0".to_owned()),
        ("num.network.threads", "2".to_owned()),
        ("num.io.threads", "4".to_owned()),
    ];
    for (name, value) in settings {
        let _ = writeln!(text, "{name}={value}");
    }
    if spec.security == Security::SaslSsl {
        text.push_str("# The secured client listener.\n");
        for (name, value) in SecurityFiles::in_dir(&spec.dir).broker_properties() {
            let _ = writeln!(text, "{name}={value}");
        }
    }
    if !spec.broker_properties.is_empty() {
        text.push_str("# Set by the scenario.\n");
        for (name, value) in &spec.broker_properties {
            let _ = writeln!(text, "{name}={value}");
        }
    }
    text
}

pub(super) fn log4j2_properties(server_log: &Path) -> String {
    format!(
        "status = warn\n\
         appender.server.type = File\n\
         appender.server.name = server\n\
         appender.server.fileName = {}\n\
         appender.server.layout.type = PatternLayout\n\
         appender.server.layout.pattern = [%d] %p %m (%c)%n\n\
         rootLogger.level = info\n\
         rootLogger.appenderRef.server.ref = server\n",
        server_log.display()
    )
}
