//! One module per command; each turns parsed arguments into calls on the library crates and
//! prints the outcome.

pub mod broker;
pub mod capacity;
pub mod cluster;
pub mod copier;
pub mod lag;
pub mod plan;
pub mod profiles;
pub mod publish;
pub mod report;
pub mod run;
pub mod schema;
pub mod topics;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::Serialize;
use streamproof_platform::connection::KafkaConnection;
use streamproof_platform::handle::Platform;
use streamproof_platform::runtime::ClusterState;

use crate::cli::ClusterArgs;
use crate::platform_file;

/// The cluster to talk to: the platform file, else the explicit servers, else the local
/// platform in --dir.
pub fn connection(cluster: &ClusterArgs) -> Result<KafkaConnection> {
    if let Some(path) = &cluster.existing.platform {
        return platform_file::load(path)?.connection();
    }
    if let Some(servers) = &cluster.existing.bootstrap_servers {
        return Ok(KafkaConnection::new(servers.as_str()));
    }
    let dir = &cluster.dir.dir;
    match ClusterState::load(dir).context("read the local platform's state")? {
        Some(state) => Ok(state.connection()?),
        None => bail!(
            "no cluster to talk to: start the local platform with `streamproof up` (it records itself in `{}`) or pass --bootstrap-servers",
            dir.display()
        ),
    }
}

/// [`connection`], checked first: a refused password, an untrusted certificate or a listener
/// that does not answer is an error within seconds, naming the listener and the mechanism.
pub fn reachable_connection(cluster: &ClusterArgs) -> Result<KafkaConnection> {
    let connection = connection(cluster)?;
    connection.check_reachable(Duration::from_secs(15))?;
    Ok(connection)
}

/// Splits `NAME=VALUE` overrides.
pub fn parse_overrides(overrides: &[String]) -> Result<Vec<(&str, &str)>> {
    overrides
        .iter()
        .map(|pair| {
            pair.split_once('=')
                .map(|(name, value)| (name.trim(), value.trim()))
                .filter(|(name, _)| !name.is_empty())
                .with_context(|| format!("`{pair}` is not NAME=VALUE, e.g. --set linger.ms=5"))
        })
        .collect()
}

/// Prints `value` as pretty JSON.
pub fn print_json(value: &impl Serialize) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// A tokio runtime for the commands that talk to Kafka's admin API.
pub fn block_on<F: std::future::Future>(future: F) -> Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("start the async runtime")?;
    Ok(runtime.block_on(future))
}

/// Ctrl-C (or SIGTERM) stops every platform recorded in `started` so far (Flink, then the
/// brokers, by their recorded pids), then exits.
pub fn stop_on_interrupt(started: Arc<Mutex<Vec<PathBuf>>>) -> Result<()> {
    ctrlc::set_handler(move || {
        eprintln!("\ninterrupted: stopping the platform started so far");
        if let Ok(dirs) = started.lock() {
            for dir in dirs.iter() {
                Platform::stop_recorded(dir, Duration::from_secs(10));
            }
        }
        std::process::exit(130);
    })
    .context("install the Ctrl-C handler")
}
