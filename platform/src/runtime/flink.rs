//! The embedded Flink session cluster: Flink's own distribution (from PyPI's
//! `apache-flink-libraries`, which ships the official jars) plus the Kafka and Iceberg
//! connectors (from Maven Central), cached and reused; a JobManager, a TaskManager and a SQL
//! Gateway as separate processes on 127.0.0.1, so faults can target each; readiness by
//! polling Flink's REST API. Heaps are capped so that three Kafka brokers, the JobManager
//! and the TaskManager fit on a small machine.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::distribution::{last_lines, maven_copy, remove_incomplete, run_tool, COMPLETE_MARKER};
use super::owner::Lifetime;
use super::process::{ManagedProcess, ProcessSpec, RecordedProcess, SharedProcess};
use super::registry::{register_quietly, Registry};
use super::rest_catalog;
use super::toolchain::{java_command, java_major_version};
use super::{io_error, RuntimeError};

/// The Flink version the embedded pipeline runs.
pub const FLINK_VERSION: &str = "1.20.3";

/// Ports a Flink cluster uses from its base port up.
pub const FLINK_PORTS: u16 = 11;

const CONNECTORS_POM: &str = include_str!("../../runtime/flink-connectors-pom.xml");
const GATEWAY_JAR: &str = "flink-sql-gateway-1.20.3.jar";

/// The module access Flink needs under Java 17 (what Flink's own scripts pass).
const JAVA_OPENS: &[&str] = &[
    "--add-exports=java.base/sun.net.util=ALL-UNNAMED",
    "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED",
    "--add-exports=jdk.compiler/com.sun.tools.javac.api=ALL-UNNAMED",
    "--add-exports=jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED",
    "--add-exports=jdk.compiler/com.sun.tools.javac.parser=ALL-UNNAMED",
    "--add-exports=jdk.compiler/com.sun.tools.javac.tree=ALL-UNNAMED",
    "--add-exports=jdk.compiler/com.sun.tools.javac.util=ALL-UNNAMED",
    "--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED",
    "--add-opens=java.base/java.lang=ALL-UNNAMED",
    "--add-opens=java.base/java.net=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
    "--add-opens=java.base/java.text=ALL-UNNAMED",
    "--add-opens=java.base/java.time=ALL-UNNAMED",
    "--add-opens=java.base/java.util=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED",
];

const LOG4J: &str = "rootLogger.level = INFO
rootLogger.appenderRef.file.ref = MainAppender
appender.main.name = MainAppender
appender.main.type = File
appender.main.append = true
appender.main.fileName = ${sys:log.file}
appender.main.layout.type = PatternLayout
appender.main.layout.pattern = %d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-60c %x - %m%n
";

/// Flink's jars and the connectors, ready to run.
#[derive(Debug, Clone)]
pub struct FlinkDistribution {
    /// Flink's `lib/`, `bin/`.
    pub home: PathBuf,
    /// The connector jars (Kafka, Iceberg, Hadoop client, SQL Gateway).
    pub connectors: PathBuf,
    /// The pipeline's own functions and what they need (Apache Avro).
    pub functions: PathBuf,
    /// The java executable.
    pub java: PathBuf,
}

impl FlinkDistribution {
    /// The cached distribution under `cache_root`, fetched first when missing (pip for
    /// Flink, Maven for the connectors).
    pub fn ensure(cache_root: &Path) -> Result<Self, RuntimeError> {
        let found = java_major_version()?;
        if found < 17 {
            return Err(RuntimeError::JavaTooOld {
                command: java_command().display().to_string(),
                found,
                required: 17,
                needed_by: format!("Flink {FLINK_VERSION}"),
            });
        }
        let home = cache_root.join(format!("flink-{FLINK_VERSION}"));
        if !home.join(COMPLETE_MARKER).exists() {
            fetch_flink(cache_root, &home)?;
        }
        let connectors_home = cache_root.join(format!(
            "flink-{FLINK_VERSION}-connectors-{:016x}",
            super::flink_udf::content_hash(CONNECTORS_POM)
        ));
        let connectors = connectors_home.join("jars");
        if !connectors.join(COMPLETE_MARKER).exists() {
            maven_copy(
                &connectors_home,
                CONNECTORS_POM,
                &connectors,
                "the Flink connectors",
            )?;
        }
        let lib = home.join("lib");
        let functions = super::flink_udf::ensure(
            cache_root,
            &format!("{}/*:{}/*", lib.display(), connectors.display()),
        )?;
        Ok(FlinkDistribution {
            home,
            connectors,
            functions,
            java: java_command(),
        })
    }

    /// Every jar of the cluster's class path: Flink's `lib/` and the connectors (the SQL
    /// Gateway's jar only for the gateway).
    fn jars(&self, with_gateway: bool) -> Result<Vec<PathBuf>, RuntimeError> {
        let mut jars = Vec::new();
        for dir in [
            self.home.join("lib"),
            self.connectors.clone(),
            self.functions.clone(),
        ] {
            let entries = std::fs::read_dir(&dir).map_err(io_error("read", &dir))?;
            for entry in entries.flatten() {
                let path = entry.path();
                let name = entry.file_name().to_string_lossy().into_owned();
                let gateway = name == GATEWAY_JAR;
                if name.ends_with(".jar") && (with_gateway || !gateway) {
                    jars.push(path);
                }
            }
        }
        jars.sort();
        Ok(jars)
    }
}

/// Downloads Flink's official jars from PyPI (`apache-flink-libraries` carries `deps/lib`,
/// `deps/bin`, `deps/opt`) and moves them into place.
fn fetch_flink(cache_root: &Path, home: &Path) -> Result<(), RuntimeError> {
    let staging = cache_root.join(format!(
        "flink-{FLINK_VERSION}.partial-{}",
        std::process::id()
    ));
    let download = staging.join("dl");
    std::fs::create_dir_all(&download).map_err(io_error("create", &download))?;
    let python = if which("python3") {
        "python3"
    } else {
        "python"
    };
    run_tool(
        Command::new(python)
            .args([
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--disable-pip-version-check",
            ])
            .arg(format!("apache-flink-libraries=={FLINK_VERSION}"))
            .arg("-d")
            .arg(&download),
        "download Flink from PyPI (python3 -m pip download apache-flink-libraries)",
    )?;
    let archive = download.join(format!("apache-flink-libraries-{FLINK_VERSION}.tar.gz"));
    run_tool(
        Command::new("tar")
            .arg("-xzf")
            .arg(&archive)
            .arg("-C")
            .arg(&download),
        "unpack the Flink archive",
    )?;
    let deps = download.join(format!("apache-flink-libraries-{FLINK_VERSION}/deps"));
    for part in ["lib", "bin", "opt"] {
        let from = deps.join(part);
        let to = staging.join(part);
        std::fs::rename(&from, &to).map_err(io_error("move", &from))?;
    }
    let _ = std::fs::remove_dir_all(&download);
    std::fs::write(staging.join(COMPLETE_MARKER), FLINK_VERSION)
        .map_err(io_error("write", staging.join(COMPLETE_MARKER)))?;
    remove_incomplete(home);
    if std::fs::rename(&staging, home).is_err() {
        // Another process finished first; its copy is as good as ours.
        let _ = std::fs::remove_dir_all(&staging);
    }
    Ok(())
}

fn which(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// How to start a Flink cluster.
#[derive(Debug, Clone)]
pub struct FlinkSpec {
    /// Directory for configuration, logs, checkpoints.
    pub dir: PathBuf,
    /// REST on `base_port`, the SQL Gateway on `base_port + 9`, the rest in between.
    pub base_port: u16,
    /// JobManager process size, MiB.
    pub jobmanager_mb: u32,
    /// TaskManager process size, MiB.
    pub taskmanager_mb: u32,
    /// Task slots of the TaskManager.
    pub slots: u32,
    /// How long each process may take to answer.
    pub startup_timeout: Duration,
    /// Whether the processes end with this process or are kept (`up --pipeline`,
    /// `--keep-platform`); restarts keep it.
    pub lifetime: Lifetime,
    /// Also start an Iceberg REST catalog on `base_port + 10`, through which the jobs commit
    /// instead of the Hadoop catalog.
    pub rest_catalog: bool,
}

impl Default for FlinkSpec {
    fn default() -> Self {
        FlinkSpec {
            dir: PathBuf::from(".streamproof/flink"),
            base_port: 8081,
            jobmanager_mb: 768,
            taskmanager_mb: 1280,
            slots: 4,
            startup_timeout: Duration::from_secs(120),
            lifetime: Lifetime::EndsWithThisProcess,
            rest_catalog: false,
        }
    }
}

impl FlinkSpec {
    /// Flink's REST address.
    pub fn rest_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.base_port)
    }

    /// Where the cluster answers, with its checkpoint directory.
    pub fn endpoint(&self) -> crate::pipeline::FlinkEndpoint {
        crate::pipeline::FlinkEndpoint {
            rest_url: self.rest_url(),
            gateway_url: self.gateway_url(),
            checkpoints: Some(self.dir.join("checkpoints")),
        }
    }

    /// The catalog the pipeline's jobs write through: the REST catalog beside the cluster, or
    /// the Hadoop catalog on the warehouse directory beside it (which both write to).
    pub fn catalog(&self) -> crate::handle::Catalog {
        if self.rest_catalog {
            crate::handle::Catalog::Rest {
                uri: format!("http://127.0.0.1:{}", self.rest_catalog_port()),
                warehouse: None,
            }
        } else {
            crate::handle::Catalog::HadoopWarehouse(self.warehouse())
        }
    }

    /// The warehouse directory beside the cluster's.
    pub fn warehouse(&self) -> PathBuf {
        self.dir.with_file_name("warehouse")
    }

    fn rest_catalog_port(&self) -> u16 {
        self.base_port + 10
    }

    /// The SQL Gateway's REST address.
    pub fn gateway_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.gateway_port())
    }

    fn gateway_port(&self) -> u16 {
        self.base_port + 9
    }

    /// Flink's configuration file.
    fn config(&self) -> String {
        let port = |offset: u16| self.base_port + offset;
        let dir = self.dir.display();
        format!(
            "# Written by streamproof for its embedded Flink cluster.
env.java.opts.all: {opens}
jobmanager.rpc.address: 127.0.0.1
jobmanager.rpc.port: {rpc}
jobmanager.bind-host: 127.0.0.1
blob.server.port: {blob}
taskmanager.host: 127.0.0.1
taskmanager.bind-host: 127.0.0.1
taskmanager.rpc.port: {tm_rpc}
taskmanager.data.port: {tm_data}
metrics.internal.query-service.port: {metrics_low}-{metrics_high}
rest.address: 127.0.0.1
rest.bind-address: 127.0.0.1
rest.port: {rest}
execution.target: remote
jobmanager.memory.process.size: {jm}m
jobmanager.memory.jvm-metaspace.size: 192m
taskmanager.memory.process.size: {tm}m
taskmanager.memory.managed.fraction: 0.1
taskmanager.memory.network.min: 64m
taskmanager.memory.network.max: 64m
taskmanager.numberOfTaskSlots: {slots}
parallelism.default: 1
state.backend.type: hashmap
execution.checkpointing.dir: file://{dir}/checkpoints
execution.checkpointing.savepoint-dir: file://{dir}/savepoints
execution.checkpointing.externalized-checkpoint-retention: RETAIN_ON_CANCELLATION
execution.checkpointing.num-retained: 3
execution.checkpointing.timeout: 60s
restart-strategy.type: fixed-delay
restart-strategy.fixed-delay.attempts: 1000
restart-strategy.fixed-delay.delay: 2s
jobmanager.execution.failover-strategy: region
heartbeat.timeout: 15000
heartbeat.interval: 3000
metrics.fetcher.update-interval: 1000
io.tmp.dirs: {dir}/tmp
classloader.check-leaked-classloader: false
sql-gateway.endpoint.rest.address: 127.0.0.1
sql-gateway.endpoint.rest.bind-address: 127.0.0.1
sql-gateway.endpoint.rest.port: {gateway}
",
            opens = JAVA_OPENS.join(" "),
            rpc = port(1),
            blob = port(2),
            tm_rpc = port(3),
            tm_data = port(4),
            metrics_low = port(5),
            metrics_high = port(8),
            rest = port(0),
            gateway = self.gateway_port(),
            jm = self.jobmanager_mb,
            tm = self.taskmanager_mb,
            slots = self.slots,
        )
    }
}

/// A running embedded Flink cluster; dropping it stops every process it started.
pub struct FlinkCluster {
    /// The JobManager.
    pub jobmanager: SharedProcess,
    /// The TaskManager.
    pub taskmanager: SharedProcess,
    /// The SQL Gateway, through which the pipeline's SQL is submitted.
    pub gateway: SharedProcess,
    /// The Iceberg REST catalog, when the spec asks for one.
    pub catalog: Option<SharedProcess>,
    /// The spec it was started with.
    pub spec: FlinkSpec,
    detached: bool,
}

/// Which Flink process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    JobManager,
    TaskManager,
    Gateway,
    Catalog,
}

impl Role {
    /// In the order they stop.
    const ALL: [Role; 4] = [
        Role::Gateway,
        Role::TaskManager,
        Role::JobManager,
        Role::Catalog,
    ];

    fn name(self) -> &'static str {
        match self {
            Role::JobManager => "jobmanager",
            Role::TaskManager => "taskmanager",
            Role::Gateway => "sql-gateway",
            Role::Catalog => rest_catalog::NAME,
        }
    }
}

fn start_rest_catalog(
    spec: &FlinkSpec,
    distribution: &FlinkDistribution,
) -> Result<ManagedProcess, RuntimeError> {
    let warehouse = spec.warehouse();
    std::fs::create_dir_all(&warehouse).map_err(io_error("create", &warehouse))?;
    let cache_root = distribution.home.parent().unwrap_or(&distribution.home);
    rest_catalog::start(
        &rest_catalog::RestCatalogSpec {
            dir: &spec.dir,
            port: spec.rest_catalog_port(),
            warehouse: &warehouse,
            lifetime: spec.lifetime,
        },
        cache_root,
    )
}

impl FlinkCluster {
    /// Starts the JobManager, then the TaskManager, then the SQL Gateway, each once the one
    /// before answers.
    pub fn up(spec: &FlinkSpec, distribution: &FlinkDistribution) -> Result<Self, RuntimeError> {
        let spec = FlinkSpec {
            dir: absolute(&spec.dir)?,
            ..spec.clone()
        };
        check_ports_free(&spec)?;
        prepare_dir(&spec)?;
        // Started first, it is ready by the time Flink is.
        let catalog = spec
            .rest_catalog
            .then(|| start(&spec, distribution, Role::Catalog))
            .transpose()?;
        let mut jobmanager = start(&spec, distribution, Role::JobManager)?;
        register_quietly(&spec.dir);
        let rest = spec.rest_url();
        wait_until(&spec, &mut jobmanager, Role::JobManager, || {
            get_json(&format!("{rest}/overview")).is_ok()
        })?;
        let mut taskmanager = start(&spec, distribution, Role::TaskManager)?;
        wait_until(&spec, &mut taskmanager, Role::TaskManager, || {
            get_json(&format!("{rest}/overview"))
                .is_ok_and(|o| o["taskmanagers"].as_u64().unwrap_or(0) >= 1)
        })?;
        let mut gateway = start(&spec, distribution, Role::Gateway)?;
        let gateway_url = spec.gateway_url();
        wait_until(&spec, &mut gateway, Role::Gateway, || {
            get_json(&format!("{gateway_url}/v1/info")).is_ok()
        })?;
        let catalog = match catalog {
            Some(mut process) => {
                let config = format!("http://127.0.0.1:{}/v1/config", spec.rest_catalog_port());
                wait_until(&spec, &mut process, Role::Catalog, || {
                    get_json(&config).is_ok()
                })?;
                Some(Arc::new(Mutex::new(process)))
            }
            None => None,
        };
        Ok(FlinkCluster {
            jobmanager: Arc::new(Mutex::new(jobmanager)),
            taskmanager: Arc::new(Mutex::new(taskmanager)),
            gateway: Arc::new(Mutex::new(gateway)),
            catalog,
            spec,
            detached: false,
        })
    }

    /// Leaves every process running after this value is gone; [`FlinkCluster::down`] stops
    /// them later from their pid files. Processes started with
    /// [`Lifetime::EndsWithThisProcess`] still end with this process.
    pub fn detach(mut self) -> FlinkSpec {
        self.detached = true;
        for process in self.processes() {
            if let Ok(mut process) = process.lock() {
                process.detach();
            }
        }
        self.spec.clone()
    }

    /// Every process it started, the gateway first: the order they stop in.
    fn processes(&self) -> impl Iterator<Item = &SharedProcess> {
        [&self.gateway, &self.taskmanager, &self.jobmanager]
            .into_iter()
            .chain(self.catalog.as_ref())
    }

    /// Stops the processes recorded in `dir` (gateway, TaskManager, JobManager, REST
    /// catalog), each only while its recorded pid still runs its marker; returns
    /// `(process, pid, killed)`.
    pub fn down(dir: &Path, grace: Duration) -> Vec<(&'static str, i32, bool)> {
        let stopped = Role::ALL
            .into_iter()
            .filter_map(|role| {
                super::process::stop_recorded(&pid_file(dir, role), grace)
                    .map(|(pid, killed)| (role.name(), pid, killed))
            })
            .collect();
        Registry::from_env().forget_if_idle(dir);
        stopped
    }

    /// [`FlinkCluster::down`] for the Flink cluster kept with the brokers in `platform_dir`:
    /// `streamproof up` starts it inside (`platform_dir/flink`), a run beside it (the run
    /// directory's `flink`).
    pub fn down_with_brokers(
        platform_dir: &Path,
        grace: Duration,
    ) -> Vec<(&'static str, i32, bool)> {
        let mut stopped = FlinkCluster::down(&platform_dir.join("flink"), grace);
        stopped.extend(FlinkCluster::down(
            &platform_dir.with_file_name("flink"),
            grace,
        ));
        stopped
    }

    /// Stops the gateway, the TaskManager and the JobManager (SIGTERM, then SIGKILL).
    pub fn stop(&self) {
        for process in self.processes() {
            if let Ok(mut process) = process.lock() {
                process.stop(Duration::from_secs(15));
            }
        }
        Registry::from_env().forget_if_idle(&self.spec.dir);
    }
}

impl Drop for FlinkCluster {
    fn drop(&mut self) {
        if !self.detached {
            self.stop();
        }
    }
}

fn absolute(dir: &Path) -> Result<PathBuf, RuntimeError> {
    std::fs::create_dir_all(dir).map_err(io_error("create", dir))?;
    std::fs::canonicalize(dir).map_err(io_error("resolve", dir))
}

fn check_ports_free(spec: &FlinkSpec) -> Result<(), RuntimeError> {
    for offset in 0..FLINK_PORTS {
        let port = spec.base_port + offset;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
            return Err(RuntimeError::PortInUse {
                port,
                role: format!("Flink port {offset} of {FLINK_PORTS}"),
            });
        }
    }
    Ok(())
}

fn prepare_dir(spec: &FlinkSpec) -> Result<(), RuntimeError> {
    let conf = spec.dir.join("conf");
    for dir in [
        &conf,
        &spec.dir.join("log"),
        &spec.dir.join("tmp"),
        &spec.dir.join("plugins"),
    ] {
        std::fs::create_dir_all(dir).map_err(io_error("create", dir))?;
    }
    let config = conf.join("config.yaml");
    std::fs::write(&config, spec.config()).map_err(io_error("write", &config))?;
    let log4j = conf.join("log4j.properties");
    std::fs::write(&log4j, LOG4J).map_err(io_error("write", &log4j))?;
    Ok(())
}

/// The JVM flags and dynamic properties Flink derives from its memory settings (Flink's
/// BashJavaUtils, as its own scripts call it).
fn resource_params(
    spec: &FlinkSpec,
    distribution: &FlinkDistribution,
    role: Role,
) -> Result<(Vec<String>, Vec<String>), RuntimeError> {
    let request = match role {
        Role::JobManager => "GET_JM_RESOURCE_PARAMS",
        _ => "GET_TM_RESOURCE_PARAMS",
    };
    let class_path = format!(
        "{}:{}/*",
        distribution.home.join("bin/bash-java-utils.jar").display(),
        distribution.home.join("lib").display()
    );
    let output = run_tool(
        Command::new(&distribution.java)
            .arg("-cp")
            .arg(class_path)
            .arg("org.apache.flink.runtime.util.bash.BashJavaUtils")
            .arg(request)
            .arg("--configDir")
            .arg(spec.dir.join("conf")),
        "compute Flink's memory settings",
    )?;
    let mut results = output
        .lines()
        .filter_map(|line| line.strip_prefix("BASH_JAVA_UTILS_EXEC_RESULT:"))
        .map(|line| {
            line.split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        });
    let jvm = results.next().unwrap_or_default();
    let dynamic = results.next().unwrap_or_default();
    Ok((jvm, dynamic))
}

fn start(
    spec: &FlinkSpec,
    distribution: &FlinkDistribution,
    role: Role,
) -> Result<ManagedProcess, RuntimeError> {
    if role == Role::Catalog {
        return start_rest_catalog(spec, distribution);
    }
    let (jvm, dynamic) = match role {
        Role::Gateway => (
            vec![
                "-Xms128m".to_owned(),
                "-Xmx384m".to_owned(),
                "-XX:MaxMetaspaceSize=256m".to_owned(),
            ],
            Vec::new(),
        ),
        _ => resource_params(spec, distribution, role)?,
    };
    let jars = distribution.jars(role == Role::Gateway)?;
    let class_path = jars
        .iter()
        .map(|jar| jar.display().to_string())
        .collect::<Vec<_>>()
        .join(":");
    // A property naming the role and the cluster directory: the marker that identifies this
    // very process before it is ever signalled.
    let marker = format!("-Dstreamproof.flink={}@{}", role.name(), spec.dir.display());
    let log = spec.dir.join("log").join(format!("{}.log", role.name()));
    let mut args = jvm;
    args.extend(JAVA_OPENS.iter().map(|s| (*s).to_owned()));
    args.extend([
        marker.clone(),
        format!("-Dlog.file={}", log.display()),
        format!(
            "-Dlog4j.configurationFile=file:{}",
            spec.dir.join("conf/log4j.properties").display()
        ),
        "-cp".to_owned(),
        class_path,
    ]);
    let conf = spec.dir.join("conf").display().to_string();
    match role {
        Role::JobManager => args.extend([
            "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint".to_owned(),
            "--configDir".to_owned(),
            conf,
        ]),
        Role::TaskManager => args.extend([
            "org.apache.flink.runtime.taskexecutor.TaskManagerRunner".to_owned(),
            "--configDir".to_owned(),
            conf,
        ]),
        Role::Catalog => unreachable!("the REST catalog is started above"),
        Role::Gateway => args.extend([
            "org.apache.flink.table.gateway.SqlGateway".to_owned(),
            "-Dsql-gateway.endpoint.rest.address=127.0.0.1".to_owned(),
            format!("-Dsql-gateway.endpoint.rest.port={}", spec.gateway_port()),
            "-Drest.address=127.0.0.1".to_owned(),
            format!("-Drest.port={}", spec.base_port),
            "-Dexecution.target=remote".to_owned(),
        ]),
    }
    args.extend(dynamic);
    let env = vec![
        (
            "FLINK_CONF_DIR".to_owned(),
            spec.dir.join("conf").display().to_string(),
        ),
        (
            "FLINK_PLUGINS_DIR".to_owned(),
            spec.dir.join("plugins").display().to_string(),
        ),
        (
            "FLINK_LIB_DIR".to_owned(),
            distribution.home.join("lib").display().to_string(),
        ),
    ];
    let output = spec.dir.join("log").join(format!("{}.out", role.name()));
    ManagedProcess::launch(ProcessSpec {
        dir: Some(spec.dir.clone()),
        env,
        pid_file: Some(pid_file(&spec.dir, role)),
        lifetime: spec.lifetime,
        ..ProcessSpec::new(&distribution.java, args, &marker, &output)
    })
}

fn pid_file(dir: &Path, role: Role) -> PathBuf {
    match role {
        Role::Catalog => rest_catalog::pid_file(dir),
        _ => dir.join(format!("{}.pid", role.name())),
    }
}

/// The Flink processes recorded in `dir`'s pid files, by role name.
pub(crate) fn recorded_flink_processes(dir: &Path) -> Vec<(&'static str, RecordedProcess)> {
    Role::ALL
        .into_iter()
        .filter_map(|role| {
            RecordedProcess::load(&pid_file(dir, role)).map(|recorded| (role.name(), recorded))
        })
        .collect()
}

fn wait_until(
    spec: &FlinkSpec,
    process: &mut ManagedProcess,
    role: Role,
    ready: impl Fn() -> bool,
) -> Result<(), RuntimeError> {
    let started = Instant::now();
    loop {
        if ready() {
            return Ok(());
        }
        let log = spec.dir.join("log").join(format!("{}.log", role.name()));
        if !process.is_running() {
            let tail = std::fs::read_to_string(&log)
                .map(|text| last_lines(&text, 20))
                .unwrap_or_default();
            return Err(RuntimeError::FlinkNotReady {
                role: role.name(),
                reason: "it exited".to_owned(),
                log,
                tail,
            });
        }
        if started.elapsed() > spec.startup_timeout {
            return Err(RuntimeError::FlinkNotReady {
                role: role.name(),
                reason: format!("it did not answer within {:?}", spec.startup_timeout),
                log,
                tail: String::new(),
            });
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// A GET returning JSON, with a short timeout (readiness polls, monitoring).
pub fn get_json(url: &str) -> Result<serde_json::Value, String> {
    short_agent()
        .get(url)
        .call()
        .map_err(|e| e.to_string())?
        .body_mut()
        .read_json::<serde_json::Value>()
        .map_err(|e| e.to_string())
}

/// [`get_json`], with `None` for 404 Not Found (a REST catalog's answer for a table that does
/// not exist yet).
pub fn get_json_if_found(url: &str) -> Result<Option<serde_json::Value>, String> {
    match short_agent().get(url).call() {
        Ok(mut response) => response
            .body_mut()
            .read_json::<serde_json::Value>()
            .map(Some)
            .map_err(|e| e.to_string()),
        Err(ureq::Error::StatusCode(404)) => Ok(None),
        Err(error) => Err(error.to_string()),
    }
}

/// A POST of JSON returning JSON, with the same short timeout (job control).
pub fn post_json(url: &str, body: serde_json::Value) -> Result<serde_json::Value, String> {
    short_agent()
        .post(url)
        .send_json(body)
        .map_err(|e| e.to_string())?
        .body_mut()
        .read_json::<serde_json::Value>()
        .map_err(|e| e.to_string())
}

/// A PATCH without a body whose answer is not read (job cancellation).
pub fn patch(url: &str) -> Result<(), String> {
    short_agent()
        .patch(url)
        .send_empty()
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn short_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into()
}
