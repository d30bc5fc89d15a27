//! `copier`: the raw → bronze stage as a process of its own, so faults can kill it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use streamproof_loadgen::RAW_TOPICS;
use streamproof_platform::copier::{run, CopierConfig, CopierMode};

use super::{connection, print_json};
use crate::cli::CopierArgs;

pub fn copier(args: &CopierArgs, json: bool) -> Result<()> {
    let mode = match args.mode.as_str() {
        "exactly-once" => CopierMode::ExactlyOnce,
        "at-least-once" => CopierMode::AtLeastOnce,
        other => {
            anyhow::bail!("unknown copier mode `{other}`; choose exactly-once or at-least-once")
        }
    };
    let config = CopierConfig {
        connection: connection(&args.cluster)?,
        group: args.group.clone(),
        mode,
        batch: args.batch.max(1),
        inputs: RAW_TOPICS.iter().map(|t| (*t).to_owned()).collect(),
        output: "bronze-events".to_owned(),
    };
    if let Some(addr) = args.metrics_addr {
        crate::metrics::serve(addr)?;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed))
        .context("install the stop handler")?;
    let stats = run(&config, &stop).context("copy raw to bronze")?;
    if json {
        print_json(&stats)?;
    } else {
        eprintln!(
            "copier stopped: {} records in {} batches, {} aborted",
            stats.records, stats.batches, stats.aborted
        );
    }
    Ok(())
}
