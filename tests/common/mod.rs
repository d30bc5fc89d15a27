//! Helpers shared by the tests that run the `streamproof` binary.
#![allow(dead_code)]

pub mod records;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};

/// Runs take one at a time: on a two-core machine, concurrent runs starve each other's load
/// generators and the verdict rightly says so.
static ONE_RUN_AT_A_TIME: Mutex<()> = Mutex::new(());

pub fn exclusive() -> MutexGuard<'static, ()> {
    ONE_RUN_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs the binary with `args`, ignoring any cluster the environment names.
pub fn streamproof(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_streamproof"))
        .args(args)
        .env_remove("STREAMPROOF_BOOTSTRAP_SERVERS")
        .output()
        .expect("run streamproof")
}

pub fn explain(output: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

pub fn read_result(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("result.json")).expect("result.json");
    serde_json::from_str(&text).expect("result.json is JSON")
}

/// Bootstrap servers of the shared test cluster `scripts/test` starts.
pub fn bootstrap() -> String {
    std::env::var("STREAMPROOF_TEST_BOOTSTRAP_SERVERS")
        .expect("STREAMPROOF_TEST_BOOTSTRAP_SERVERS is not set: run the tests with `scripts/test`")
}

/// A platform `streamproof up` started in a directory of its own for one test, apart from
/// the shared test cluster; stopped however the test ends.
pub struct UpPlatform {
    dir: tempfile::TempDir,
}

impl UpPlatform {
    /// `up --base-port BASE_PORT --heap-mb 384` with `options` (e.g. `--brokers 3`).
    pub fn start(base_port: &str, options: &[&str]) -> Self {
        let platform = UpPlatform {
            dir: tempfile::tempdir().expect("a temporary directory"),
        };
        let dir = platform.path().display().to_string();
        let args = [
            &[
                "up",
                "--dir",
                &dir,
                "--base-port",
                base_port,
                "--heap-mb",
                "384",
            ],
            options,
        ]
        .concat();
        let output = streamproof(&args);
        assert!(output.status.success(), "{}", explain(&output));
        platform
    }

    /// Its directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The platform file `up` wrote.
    pub fn platform_file(&self) -> PathBuf {
        self.path().join("platform.yaml")
    }
}

impl UpPlatform {
    /// The client password `up --security sasl-ssl` generated.
    pub fn password(&self) -> String {
        std::fs::read_to_string(self.path().join("security/client.password"))
            .expect("the generated password")
            .trim()
            .to_owned()
    }
}

impl Drop for UpPlatform {
    fn drop(&mut self) {
        let _ = streamproof(&["down", "--dir", &self.path().display().to_string()]);
    }
}

/// Every file under `dir` whose bytes contain `needle`.
pub fn files_containing(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if std::fs::read(&path)
                .is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
            {
                found.push(path);
            }
        }
    }
    found
}
