//! `publish`: one event from the command line, validated, routed and sent.

use std::io::Read;
use std::time::Duration;

use anyhow::{Context, Result};
use streamproof_platform::events::EventSchema;
use streamproof_platform::producer::EventProducer;
use streamproof_platform::profiles::ProducerProfile;

use super::{block_on, parse_overrides, print_json, reachable_connection};
use crate::cli::PublishArgs;

pub fn publish(args: &PublishArgs, json: bool) -> Result<()> {
    let text = match &args.event {
        Some(text) => text.clone(),
        None => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("read the event from stdin")?;
            text
        }
    };
    let event: EventSchema = serde_json::from_str(&text).context(
        "the event is not an event JSON object with event_id, event_type, event_timestamp, source_system and payload",
    )?;
    let settings = args
        .profile
        .parse::<ProducerProfile>()?
        .settings_map()
        .with_overrides(parse_overrides(&args.overrides)?)?;
    let connection = reachable_connection(&args.cluster)?;
    let producer = EventProducer::new(&connection, &settings).context("create the producer")?;
    let result = block_on(async {
        tokio::time::timeout(Duration::from_secs(60), producer.publish_event(&event)).await
    })?
    .context("no acknowledgement within 60 s")??;
    if json {
        return print_json(&result);
    }
    println!(
        "Published {} to {} partition {} at offset {}",
        event.event_id, result.topic, result.partition, result.offset
    );
    Ok(())
}
