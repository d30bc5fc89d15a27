//! The pipeline's function that turns a value in a schema registry's wire format into the
//! platform's JSON envelope (`platform/runtime/flink-udf/RegisteredJson.java`), compiled once
//! against the Flink distribution with Apache Avro from Maven Central, and put on the class
//! path of every Flink process streamproof starts.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::distribution::{fetch_artifact, remove_incomplete, run_tool, COMPLETE_MARKER};
use super::{io_error, RuntimeError};

const SOURCE: &str = include_str!("../../runtime/flink-udf/RegisteredJson.java");
const AVRO: &str = "org.apache.avro:avro:1.11.4";
const JAR: &str = "streamproof-flink-udf.jar";

/// The function's class, as Flink SQL registers it.
pub const REGISTERED_JSON_CLASS: &str = "dev.streamproof.flink.RegisteredJson";

/// The directory of the function's jar and Avro's, built under `cache_root` when missing
/// (a change of the source builds it again). `class_path` is what it compiles against.
pub(crate) fn ensure(cache_root: &Path, class_path: &str) -> Result<PathBuf, RuntimeError> {
    let home = cache_root.join(format!("flink-udf-{:016x}", content_hash(SOURCE)));
    let jars = home.join("jars");
    if jars.join(COMPLETE_MARKER).exists() {
        return Ok(jars);
    }
    let staging = home.join(format!("jars.partial-{}", std::process::id()));
    let classes = home.join(format!("classes.partial-{}", std::process::id()));
    for dir in [&staging, &classes] {
        std::fs::create_dir_all(dir).map_err(io_error("create", dir))?;
    }
    fetch_artifact(
        AVRO,
        &staging,
        "fetching Apache Avro for the pipeline's decoding function with Maven",
    )?;
    let source = home.join("RegisteredJson.java");
    std::fs::write(&source, SOURCE).map_err(io_error("write", &source))?;
    run_tool(
        Command::new(javac())
            .arg("-d")
            .arg(&classes)
            .arg("-cp")
            .arg(format!("{class_path}:{}/*", staging.display()))
            .arg(&source),
        "compiling the pipeline's decoding function (javac; a JDK must be installed)",
    )?;
    run_tool(
        Command::new(jar_tool())
            .arg("cf")
            .arg(staging.join(JAR))
            .arg("-C")
            .arg(&classes)
            .arg("."),
        "packaging the pipeline's decoding function (jar)",
    )?;
    let _ = std::fs::remove_dir_all(&classes);
    std::fs::write(staging.join(COMPLETE_MARKER), REGISTERED_JSON_CLASS)
        .map_err(io_error("write", staging.join(COMPLETE_MARKER)))?;
    remove_incomplete(&jars);
    if std::fs::rename(&staging, &jars).is_err() {
        // Another process finished first; its copy is as good as ours.
        let _ = std::fs::remove_dir_all(&staging);
    }
    Ok(jars)
}

/// `javac` beside the `java` in use, else on PATH.
fn javac() -> PathBuf {
    jdk_tool("javac")
}

fn jar_tool() -> PathBuf {
    jdk_tool("jar")
}

fn jdk_tool(name: &str) -> PathBuf {
    std::env::var_os("JAVA_HOME")
        .map(|home| PathBuf::from(home).join("bin").join(name))
        .filter(|tool| tool.exists())
        .unwrap_or_else(|| PathBuf::from(name))
}

/// FNV-1a of `text`, so that an edited source or dependency list is fetched or built into
/// a cache directory of its own instead of reusing the old one.
pub(crate) fn content_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}
