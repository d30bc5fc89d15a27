//! `summary.md`: the run in a form that pastes into a pull request.

use std::fmt::Write as _;

use crate::result::{Latency, RunResult, Verdict};

fn ms(micros: u64) -> String {
    format!("{:.2} ms", micros as f64 / 1000.0)
}

fn latency_row(out: &mut String, name: &str, latency: &Latency) {
    let _ = writeln!(
        out,
        "| {name} | {} | {} | {} | {} | {} | {} |",
        latency.count,
        ms(latency.p50_us),
        ms(latency.p90_us),
        ms(latency.p99_us),
        ms(latency.p999_us),
        ms(latency.max_us)
    );
}

/// Renders the Markdown summary of a run.
pub fn summary(result: &RunResult) -> String {
    let mut out = String::new();
    let verdict = match result.verdict {
        Verdict::Pass => "✅ PASS",
        Verdict::Fail => "❌ FAIL",
    };
    let failed = result.checks.iter().filter(|c| !c.passed).count();
    let _ = writeln!(out, "# {verdict}: {}\n", result.scenario.name);
    if !result.scenario.description.is_empty() {
        let _ = writeln!(out, "{}\n", result.scenario.description.trim());
    }
    let _ = writeln!(
        out,
        "{} of {} checks held · run `{}` · {} · {:.0} s · {} {} broker(s) at `{}`\n",
        result.checks.len() - failed,
        result.checks.len(),
        result.run_id,
        result.started_at,
        result.duration_seconds,
        result.platform.kind,
        result.platform.brokers,
        result.platform.bootstrap_servers
    );

    out.push_str("## Checks\n\n| check | expected | actual | |\n| --- | --- | --- | --- |\n");
    for check in &result.checks {
        let mark = if check.passed { "✅" } else { "❌" };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {mark} |",
            check.name, check.expected, check.actual
        );
    }

    let c = &result.counts;
    out.push_str("\n## Counts\n\n| sent | acked | failed | unknown | present | lost | duplicates | phantoms |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n");
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} | {} | {} | {} |",
        c.sent, c.acked, c.failed, c.unknown, c.present, c.lost, c.duplicates, c.phantoms
    );
    let _ = writeln!(
        out,
        "\nDeliberate duplicates {} sent / {} present · invalid {} sent / {} present · late {} · offset mismatches {} · order violations {} · foreign records {}",
        c.deliberate_duplicates_sent,
        c.deliberate_duplicates_present,
        c.invalid_sent,
        c.invalid_present,
        c.late_sent,
        c.offset_mismatches,
        c.order_violations,
        c.foreign
    );

    let t = &result.throughput;
    let target = t.target_eps.map_or_else(
        || "max (closed loop)".to_owned(),
        |eps| format!("{eps:.0} events/s"),
    );
    let _ = writeln!(
        out,
        "\n## Throughput and latency\n\nTarget {target} · achieved {:.0} events/s · {:.2} MB/s over {:.0} s (warmup excluded)\n",
        t.achieved_eps,
        t.bytes_per_s / 1e6,
        t.measured_seconds
    );
    out.push_str("| latency | samples | p50 | p90 | p99 | p99.9 | max |\n| --- | --- | --- | --- | --- | --- | --- |\n");
    latency_row(
        &mut out,
        "produce (from intended send)",
        &result.latency.produce,
    );
    latency_row(
        &mut out,
        "produce (service time, uncorrected)",
        &result.latency.produce_uncorrected,
    );
    if let Some(e2e) = &result.latency.end_to_end {
        latency_row(&mut out, "end to end", e2e);
    }
    if let Some(max) = result.lag.max_records {
        let recovery = result
            .lag
            .recovery_seconds
            .map_or_else(|| "never".to_owned(), |s| format!("{s:.0} s"));
        let _ = writeln!(
            out,
            "\nLag: max {max} records · final {} · back to 0 after {recovery}",
            result.lag.final_records.unwrap_or(0)
        );
    }
    let _ = writeln!(out, "\nGenerator: {}", result.generator.note);

    if !result.anomalies.is_empty() {
        out.push_str("\n## Anomalies (examples)\n\n| anomaly | send id | event id | topic | partition | offset |\n| --- | --- | --- | --- | --- | --- |\n");
        for (anomaly, examples) in &result.anomalies {
            for example in examples {
                let _ = writeln!(
                    out,
                    "| {anomaly} | {} | `{}` | {} | {} | {} |",
                    example.send_id,
                    example.event_id,
                    example.topic,
                    example
                        .partition
                        .map_or_else(|| "-".to_owned(), |p| p.to_string()),
                    example
                        .offset
                        .map_or_else(|| "-".to_owned(), |o| o.to_string()),
                );
            }
        }
    }

    let p = &result.platform;
    let _ = writeln!(
        out,
        "\n## Platform\n\nKafka {} · producer profile `{}`",
        p.kafka_version, p.producer_profile
    );
    let properties: Vec<String> = p
        .producer_properties
        .iter()
        .map(|(k, v)| format!("`{k}={v}`"))
        .collect();
    let _ = writeln!(out, "\nProducer: {}", properties.join(" "));
    for group in &p.consumer_groups {
        let _ = writeln!(
            out,
            "\nConsumer group `{}` ({} × `{}`), consumed {}",
            group.group, group.instances, group.profile, group.consumed
        );
    }
    out
}
