//! Helpers shared by the tests that run the `streamproof` binary.
#![allow(dead_code)]

use std::path::Path;
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
