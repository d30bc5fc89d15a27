//! `schema check` and `schema show`: the platform's Avro schemas and their evolution rules.

use anyhow::{Context, Result};
use streamproof_platform::events::EventType;
use streamproof_platform::schemas::{avro_schema, check_compatibility, CompatibilityLevel};

use super::print_json;
use crate::cli::{SchemaCheckArgs, SchemaShowArgs};

/// `Ok(false)` when NEW may not follow OLD at the level.
pub fn check(args: &SchemaCheckArgs, json: bool) -> Result<bool> {
    let level: CompatibilityLevel = args.level.parse()?;
    let read = |path: &std::path::Path| {
        std::fs::read_to_string(path).with_context(|| format!("read `{}`", path.display()))
    };
    let (old, new) = (read(&args.old)?, read(&args.new)?);
    let failures = check_compatibility(&old, &new, level).with_context(|| {
        format!(
            "compare `{}` with `{}`",
            args.old.display(),
            args.new.display()
        )
    })?;
    if json {
        print_json(&serde_json::json!({
            "level": level.as_str(),
            "compatible": failures.is_empty(),
            "failures": failures
                .iter()
                .map(|f| serde_json::json!({"direction": f.direction, "reason": f.reason}))
                .collect::<Vec<_>>(),
        }))?;
    } else if failures.is_empty() {
        println!(
            "compatible ({level}): `{}` may follow `{}`",
            args.new.display(),
            args.old.display()
        );
    } else {
        println!(
            "incompatible ({level}): `{}` may not follow `{}`",
            args.new.display(),
            args.old.display()
        );
        for failure in &failures {
            println!("  ✗ {}: {}", failure.direction, failure.reason);
        }
    }
    Ok(failures.is_empty())
}

pub fn show(args: &SchemaShowArgs) -> Result<()> {
    let event_type: EventType = args.event_type.parse()?;
    print!("{}", avro_schema(event_type));
    Ok(())
}
