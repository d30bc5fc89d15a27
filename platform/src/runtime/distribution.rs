//! The Apache Kafka distribution: jars resolved by Maven from the pom shipped in this crate,
//! cached outside the checkout and reused by every run.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::toolchain::{java_command, java_major_version, require_maven};
use super::{io_error, RuntimeError};

/// The Kafka version the local runtime runs.
pub const KAFKA_VERSION: &str = "4.1.1";

/// Kafka 4 brokers need Java 17.
const MIN_JAVA: u32 = 17;

const POM: &str = include_str!("../../runtime/kafka-pom.xml");

/// Marks a complete download; written last, so an interrupted fetch is redone.
/// The file that marks a cached download as whole.
pub(crate) const COMPLETE_MARKER: &str = ".complete";

/// Where streamproof caches downloads: `$STREAMPROOF_CACHE`, else `$XDG_CACHE_HOME/streamproof`,
/// else `~/.cache/streamproof`.
pub fn default_cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("STREAMPROOF_CACHE") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(dir).join("streamproof");
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".cache").join("streamproof")
}

/// A Kafka distribution ready to run: a directory of jars and the `java` to run them with.
#[derive(Debug, Clone)]
pub struct KafkaDistribution {
    /// Kafka version.
    pub version: &'static str,
    /// Directory holding every jar of the broker's class path.
    pub libs: PathBuf,
    /// The java executable.
    pub java: PathBuf,
}

impl KafkaDistribution {
    /// The cached distribution under `cache_root`, fetched with Maven first if it is missing.
    /// Checks that Java is new enough either way.
    pub fn ensure(cache_root: &Path) -> Result<Self, RuntimeError> {
        let found = java_major_version()?;
        if found < MIN_JAVA {
            return Err(RuntimeError::JavaTooOld {
                command: java_command().display().to_string(),
                found,
                required: MIN_JAVA,
                needed_by: format!("Kafka {KAFKA_VERSION}"),
            });
        }
        let home = cache_root.join(format!("kafka-{KAFKA_VERSION}"));
        let libs = home.join("libs");
        if !libs.join(COMPLETE_MARKER).exists() {
            maven_copy(&home, POM, &libs, "fetching Kafka's jars with Maven")?;
        }
        Ok(KafkaDistribution {
            version: KAFKA_VERSION,
            libs,
            java: java_command(),
        })
    }

    /// The class path argument for `java -cp`.
    pub fn class_path(&self) -> String {
        format!("{}/*", self.libs.display())
    }
}

/// Resolves `pom`'s dependencies into `libs` under `home`: into a private directory first,
/// then moved into place, so two processes fetching at once never see a half-filled one.
pub(crate) fn maven_copy(
    home: &Path,
    pom: &str,
    libs: &Path,
    what: &str,
) -> Result<(), RuntimeError> {
    require_maven()?;
    std::fs::create_dir_all(home).map_err(io_error("create cache directory", home))?;
    let pom_file = home.join("pom.xml");
    std::fs::write(&pom_file, pom).map_err(io_error("write", &pom_file))?;
    let pom = pom_file;
    let staging = home.join(format!("libs.partial-{}", std::process::id()));
    let output = Command::new("mvn")
        .args(["-q", "-B", "-f"])
        .arg(&pom)
        .arg("dependency:copy-dependencies")
        .arg(format!("-DoutputDirectory={}", staging.display()))
        .arg("-DincludeScope=runtime")
        .output()
        .map_err(io_error("run mvn in", home))?;
    if !output.status.success() {
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        return Err(RuntimeError::Fetch {
            what: what.to_owned(),
            status: output.status.to_string(),
            output: last_lines(&text, 20),
        });
    }
    std::fs::write(staging.join(COMPLETE_MARKER), what)
        .map_err(io_error("write", staging.join(COMPLETE_MARKER)))?;
    remove_incomplete(libs);
    if std::fs::rename(&staging, libs).is_err() {
        // Another process finished first; its copy is as good as ours.
        let _ = std::fs::remove_dir_all(&staging);
    }
    if libs.join(COMPLETE_MARKER).exists() {
        Ok(())
    } else {
        Err(RuntimeError::Io {
            action: "move the fetched jars to",
            path: libs.to_owned(),
            source: std::io::Error::other("the directory is incomplete; delete it and retry"),
        })
    }
}

/// Removes `dir` when it lacks the marker of a complete download: a leftover of an
/// interrupted fetch that would keep the finished one from moving into place.
pub(crate) fn remove_incomplete(dir: &Path) {
    if dir.exists() && !dir.join(COMPLETE_MARKER).exists() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// The last `count` lines of `text`.
pub(crate) fn last_lines(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(count)..].join("\n")
}

/// The Maven plugin that copies one artifact from Maven Central.
const DEPENDENCY_PLUGIN: &str = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy";

/// Downloads one Maven artifact (`group:artifact:version[:type[:classifier]]`) into `into`.
pub(crate) fn fetch_artifact(artifact: &str, into: &Path, what: &str) -> Result<(), RuntimeError> {
    require_maven()?;
    run_tool(
        Command::new("mvn")
            .args(["-q", "-B", DEPENDENCY_PLUGIN])
            .arg(format!("-Dartifact={artifact}"))
            .arg(format!("-DoutputDirectory={}", into.display())),
        what,
    )
    .map(|_| ())
}

/// Runs one step of fetching or building what the runtime needs; its output, or an error
/// with the end of it.
pub(crate) fn run_tool(command: &mut Command, what: &str) -> Result<String, RuntimeError> {
    let output = command.output().map_err(|source| RuntimeError::Io {
        action: "run",
        path: PathBuf::from(command.get_program()),
        source,
    })?;
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    if output.status.success() {
        Ok(text)
    } else {
        Err(RuntimeError::Fetch {
            what: what.to_owned(),
            status: output.status.to_string(),
            output: last_lines(&text, 20),
        })
    }
}
