//! The programs the local runtime needs: Java to run Kafka, Maven to fetch it.

use std::path::PathBuf;
use std::process::Command;

use super::RuntimeError;

const JAVA_HINT: &str = "install a Java 17 (or newer) runtime, e.g. `apt install openjdk-17-jre-headless`, and put `java` on PATH or set JAVA_HOME";
const MAVEN_HINT: &str = "install Apache Maven, e.g. `apt install maven`, and put `mvn` on PATH; streamproof uses it to fetch Kafka from Maven Central";

/// The `java` to run: `$JAVA_HOME/bin/java` when JAVA_HOME is set, else `java` on PATH.
pub fn java_command() -> PathBuf {
    std::env::var_os("JAVA_HOME")
        .map(|home| PathBuf::from(home).join("bin").join("java"))
        .filter(|java| java.exists())
        .unwrap_or_else(|| PathBuf::from("java"))
}

/// The major version of [`java_command`], e.g. 17.
pub fn java_major_version() -> Result<u32, RuntimeError> {
    java_major_version_of(&java_command())
}

/// The major version of the `java` at `java`.
fn java_major_version_of(java: &std::path::Path) -> Result<u32, RuntimeError> {
    let output =
        Command::new(java)
            .arg("-version")
            .output()
            .map_err(|_| RuntimeError::ToolMissing {
                tool: "java",
                install_hint: JAVA_HINT,
            })?;
    let banner = String::from_utf8_lossy(&output.stderr);
    parse_java_major(&banner).ok_or(RuntimeError::ToolMissing {
        tool: "java",
        install_hint: JAVA_HINT,
    })
}

/// A `java` of major version `required` or newer: `$STREAMPROOF_REGISTRY_JAVA` when it names
/// one, [`java_command`] when it is new enough, else the newest JDK installed side by side
/// under `/usr/lib/jvm` (Debian's and Temurin's layout). `None` when there is none.
pub fn java_at_least(required: u32) -> Option<(PathBuf, u32)> {
    if let Some(java) = std::env::var_os("STREAMPROOF_REGISTRY_JAVA").map(PathBuf::from) {
        if let Ok(found) = java_major_version_of(&java) {
            if found >= required {
                return Some((java, found));
            }
        }
    }
    let default = java_command();
    if let Ok(found) = java_major_version_of(&default) {
        if found >= required {
            return Some((default, found));
        }
    }
    let installed = std::fs::read_dir("/usr/lib/jvm").ok()?;
    installed
        .flatten()
        .map(|entry| entry.path().join("bin").join("java"))
        .filter(|java| java.exists())
        .filter_map(|java| {
            let found = java_major_version_of(&java).ok()?;
            (found >= required).then_some((java, found))
        })
        .max_by_key(|(_, found)| *found)
}

/// Reads the major version from `java -version` output (`openjdk version "17.0.15"`,
/// `java version "1.8.0_392"`).
fn parse_java_major(banner: &str) -> Option<u32> {
    let quoted = banner.split('"').nth(1)?;
    let mut parts = quoted.split(['.', '_', '-', '+']);
    let first: u32 = parts.next()?.parse().ok()?;
    if first == 1 {
        parts.next()?.parse().ok()
    } else {
        Some(first)
    }
}

/// Fails with an install hint unless `mvn` runs.
pub fn require_maven() -> Result<(), RuntimeError> {
    let runs = Command::new("mvn")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    if runs {
        Ok(())
    } else {
        Err(RuntimeError::ToolMissing {
            tool: "mvn",
            install_hint: MAVEN_HINT,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_versions_parse_old_and_new_banners() {
        assert_eq!(
            parse_java_major("openjdk version \"17.0.15\" 2025-04-15\nOpenJDK Runtime"),
            Some(17)
        );
        assert_eq!(parse_java_major("java version \"1.8.0_392\""), Some(8));
        assert_eq!(
            parse_java_major("openjdk version \"21\" 2023-09-19"),
            Some(21)
        );
        assert_eq!(parse_java_major("command not found"), None);
    }
}
