//! `capacity`: the sizing formulas with the user's numbers.

use anyhow::Result;
use streamproof_platform::capacity::{partitions, replication, retention_storage};

use super::print_json;
use crate::cli::CapacityArgs;

pub fn capacity(args: &CapacityArgs, json: bool) -> Result<()> {
    let partition_count = partitions(
        args.target_throughput,
        args.partition_throughput,
        args.consumers,
    )?;
    let replicas = replication(args.brokers);
    let storage = match (args.message_bytes, args.messages_per_day) {
        (Some(bytes), Some(per_day)) => Some((
            retention_storage(bytes, per_day, args.retention_days, None),
            retention_storage(bytes, per_day, args.retention_days, Some(replicas)),
        )),
        _ => None,
    };
    if json {
        return print_json(&serde_json::json!({
            "partitions": partition_count,
            "replication_factor": replicas,
            "retention_bytes": storage.map(|(one, _)| one.0),
            "retention_bytes_replicated": storage.map(|(_, all)| all.0),
        }));
    }
    println!(
        "partitions   max(ceil({} / {}), {}) = {partition_count}",
        args.target_throughput, args.partition_throughput, args.consumers
    );
    println!("replication  min({}, 3) = {replicas}", args.brokers);
    match storage {
        Some((one, all)) => println!(
            "retention    {} B × {} msg/day × {} days = {one} per copy, {all} with {replicas} replicas",
            args.message_bytes.unwrap_or_default(),
            args.messages_per_day.unwrap_or_default(),
            args.retention_days
        ),
        None => println!("retention    pass --message-bytes and --messages-per-day to size storage"),
    }
    Ok(())
}
