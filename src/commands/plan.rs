//! `plan`: a plan file to a capacity plan calibrated on the cluster, optionally proven.

use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use streamproof_reports::html::render_plan_dir;
use streamproof_reports::result::plan::CapacityPlan;

use super::print_json;
use super::run::{existing_platform, output_dir};
use crate::cli::PlanArgs;
use crate::orchestrate::plan::{make_plan, prove, PlanOptions};
use crate::plan;

/// Makes the plan; `Ok(false)` when `--prove` was given and the proof failed.
pub fn plan(args: &PlanArgs, json: bool) -> Result<bool> {
    let mut loaded = plan::load(&args.plan)?;
    if let Some(counts) = &args.partitions {
        plan::check_partition_counts(counts)
            .map_err(|fix| anyhow::anyhow!("--partitions {fix}"))?;
        loaded.plan.calibration.partitions = counts.clone();
    }
    let existing = existing_platform(&args.existing)?;
    let started = Arc::new(Mutex::new(Vec::new()));
    super::stop_on_interrupt(started.clone())?;
    let name = format!("plan-{}", loaded.plan.name);
    let options = PlanOptions {
        out: output_dir(args.out.as_deref(), &name, false),
        existing,
        started,
    };
    let mut capacity = make_plan(&loaded, &options)?;
    if args.prove {
        capacity.proof = Some(prove(&loaded.plan, &capacity, &options)?);
    }
    let plan_json = options.out.join("plan.json");
    let text = serde_json::to_string_pretty(&capacity).context("serialize the plan")?;
    std::fs::write(&plan_json, text + "\n")
        .with_context(|| format!("write `{}`", plan_json.display()))?;
    let written = render_plan_dir(&options.out, &capacity)?;
    if json {
        print_json(&capacity)?;
    } else {
        print_plan(&capacity, &written.index_html);
    }
    Ok(capacity.proof.as_ref().is_none_or(|proof| proof.proven))
}

fn print_plan(plan: &CapacityPlan, report: &Path) {
    let calibration = &plan.calibration;
    println!(
        "PLAN {}: {:.0} events/s per partition at the objective, cluster ceiling {:.0} events/s, {} broker(s) needed",
        plan.name,
        calibration.partition_throughput_eps,
        calibration.cluster_ceiling_eps,
        plan.brokers.needed
    );
    for topic in &plan.topics {
        println!(
            "  {}: {} partitions × {} replicas for {:.0} events/s, {} stored",
            topic.topic,
            topic.partitions,
            topic.replication_factor,
            topic.planned_eps,
            streamproof_platform::capacity::Bytes(topic.storage_bytes_replicated)
        );
    }
    if let Some(proof) = &plan.proof {
        let verdict = if proof.proven { "PROVEN" } else { "NOT PROVEN" };
        println!("  {verdict} by a run of the plan ({})", proof.result);
        for check in &proof.failed_checks {
            println!("  ✗ {check}");
        }
    }
    println!("  report: {}", report.display());
}
