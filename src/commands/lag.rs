//! `lag`: the consumer-lag diagnosis, per partition and in total.

use anyhow::Result;
use streamproof_platform::lag::consumer_lag;

use super::{print_json, reachable_connection};
use crate::cli::LagArgs;

pub fn lag(args: &LagArgs, json: bool) -> Result<()> {
    let connection = reachable_connection(&args.cluster)?;
    let topics = (!args.topics.is_empty()).then_some(args.topics.as_slice());
    let report = consumer_lag(&connection, &args.group, topics)?;
    if json {
        return print_json(&report);
    }
    println!(
        "{:<20} {:>9} {:>14} {:>14} {:>10}",
        "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG"
    );
    for partition in &report.partitions {
        let committed = partition
            .committed
            .map_or_else(|| "-".to_owned(), |offset| offset.to_string());
        println!(
            "{:<20} {:>9} {:>14} {:>14} {:>10}",
            partition.topic,
            partition.partition,
            committed,
            partition.high_watermark,
            partition.lag
        );
    }
    println!("group {}: total lag {}", report.group, report.total);
    Ok(())
}
