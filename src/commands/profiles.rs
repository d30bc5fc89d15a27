//! `profiles`: the tuning presets and their effective librdkafka properties.

use anyhow::Result;
use streamproof_platform::profiles::{ClientSettings, ConsumerProfile, ProducerProfile};

use super::{parse_overrides, print_json};
use crate::cli::ProfilesArgs;

pub fn profiles(args: &ProfilesArgs, json: bool) -> Result<()> {
    let overrides = parse_overrides(&args.overrides)?;
    let all = ProducerProfile::ALL
        .iter()
        .map(|p| p.settings_map())
        .chain(ConsumerProfile::ALL.iter().map(|p| p.settings_map()));
    let mut shown = Vec::new();
    for settings in all {
        if args
            .name
            .as_ref()
            .is_some_and(|name| *name != settings.profile)
        {
            continue;
        }
        shown.push(settings.with_overrides(overrides.iter().copied())?);
    }
    if shown.is_empty() {
        let names: Vec<&str> = ProducerProfile::ALL
            .iter()
            .map(|p| p.name())
            .chain(ConsumerProfile::ALL.iter().map(|p| p.name()))
            .collect();
        anyhow::bail!(
            "no profile named `{}`; choose one of: {}",
            args.name.as_deref().unwrap_or_default(),
            names.join(", ")
        );
    }
    if json {
        let redacted: Vec<_> = shown
            .iter()
            .map(|s| {
                serde_json::json!({
                    "profile": s.profile, "role": s.role,
                    "properties": s.redacted(), "overridden": s.overridden,
                })
            })
            .collect();
        return print_json(&redacted);
    }
    for settings in &shown {
        print_profile(settings);
    }
    Ok(())
}

fn print_profile(settings: &ClientSettings) {
    let role = format!("{:?}", settings.role).to_lowercase();
    println!("{} ({role})", settings.profile);
    for (name, value) in settings.redacted() {
        let mark = if settings.overridden.contains(&name) {
            "  (override)"
        } else {
            ""
        };
        println!("  {name} = {value}{mark}");
    }
}
