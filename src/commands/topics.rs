//! `topics apply` and `topics describe`.

use anyhow::{Context, Result};
use streamproof_platform::admin::{CreateOutcome, KafkaAdmin, TopicDescription};
use streamproof_platform::topics::{standard_topics, TopicSetOptions};

use super::{block_on, print_json, reachable_connection};
use crate::cli::{ApplyArgs, DescribeArgs};

pub fn apply(args: &ApplyArgs, json: bool) -> Result<()> {
    let connection = reachable_connection(&args.cluster)?;
    let admin = KafkaAdmin::connect(&connection)?;
    let brokers = admin.brokers().context("list the cluster's brokers")?.len();
    let options = TopicSetOptions {
        partitions: args.partitions,
        replication_factor: args.replication_factor,
        min_insync_replicas: args.min_insync_replicas,
        compression_type: args.compression_type.clone(),
    };
    let topics = standard_topics(brokers, &options);
    let mut applied = Vec::new();
    let mut failures = Vec::new();
    for topic in &topics {
        match block_on(admin.create_topic(topic))? {
            Ok(outcome) => applied.push((topic, outcome)),
            Err(error) => failures.push(error.to_string()),
        }
    }
    if json {
        let rows: Vec<_> = applied
            .iter()
            .map(|(topic, outcome)| serde_json::json!({"topic": topic, "outcome": outcome}))
            .collect();
        print_json(&serde_json::json!({"applied": rows, "errors": failures}))?;
    } else {
        for (topic, outcome) in &applied {
            let verb = match outcome {
                CreateOutcome::Created => "created",
                CreateOutcome::AlreadyExists => "exists ",
            };
            println!(
                "{verb}  {:<18} partitions {:>2}  replication {}  min.insync {}  retention {} d",
                topic.name,
                topic.partitions,
                topic.replication_factor,
                topic.min_insync_replicas,
                topic.retention_ms / 86_400_000
            );
        }
    }
    if !failures.is_empty() {
        anyhow::bail!("{}", failures.join("\n"));
    }
    Ok(())
}

pub fn describe(args: &DescribeArgs, json: bool) -> Result<()> {
    let connection = reachable_connection(&args.cluster)?;
    let admin = KafkaAdmin::connect(&connection)?;
    let names = match &args.name {
        Some(name) => vec![name.clone()],
        None => admin.list_topics()?,
    };
    let mut descriptions = Vec::new();
    for name in &names {
        descriptions.push(block_on(admin.describe_topic(name))??);
    }
    if json {
        return print_json(&descriptions);
    }
    for description in &descriptions {
        print_description(description);
    }
    Ok(())
}

fn print_description(description: &TopicDescription) {
    const SHOWN: [&str; 4] = [
        "retention.ms",
        "compression.type",
        "min.insync.replicas",
        "cleanup.policy",
    ];
    println!(
        "{}  partitions {}  replication {}",
        description.name,
        description.partitions.len(),
        description.replication_factor()
    );
    let configs: Vec<String> = SHOWN
        .iter()
        .filter_map(|name| {
            description
                .configs
                .get(*name)
                .map(|v| format!("{name}={v}"))
        })
        .collect();
    println!("  {}", configs.join("  "));
    for partition in &description.partitions {
        println!(
            "  partition {:>2}  leader {:>2}  replicas {:?}  isr {:?}",
            partition.id, partition.leader, partition.replicas, partition.isr
        );
    }
}
